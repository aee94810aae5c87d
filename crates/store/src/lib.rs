//! Switchboard's store: calls and their append-only event timeline (SQLite or PostgreSQL).
//!
//! # What is stored
//!
//! * `calls`: one row per call (id, from, to, start/answer/end times, outcome, dialplan,
//!   recording path), inserted when the call starts and updated when it is answered and ends.
//! * `call_events`: an append-only timeline, one row per event (`seq`, time, kind, JSON data),
//!   written as the event happens, not at hang-up. `seq` numbers one call's events from 1.
//!
//! Times are stored as unix milliseconds (sub-millisecond parts are dropped), so what is read
//! back is the written time truncated to the millisecond.
//!
//! # Writes: one background writer per [`Store`]
//!
//! Call tasks never touch the database. They hold a [`StoreWriter`] whose methods only push a
//! message onto a channel and return. One tokio task owns the write side: it waits for the first
//! queued message, takes whatever else is already queued (up to [`MAX_BATCH`]) and commits it
//! in **one transaction** right away. There is no timer: an idle writer commits a lone event
//! within a millisecond or so, a busy one batches naturally (the more is queued, the bigger the
//! transaction, the fewer fsyncs). [`StoreWriter::flush`] resolves once everything queued before
//! it is committed.
//!
//! The channel is **unbounded**. A bounded channel would force a choice between blocking the
//! call task (which must never wait on the database) and dropping events (which must never
//! happen). Memory is the bound instead: an event is a few hundred bytes, so even a stalled
//! database for minutes under heavy load costs megabytes. The backlog is visible
//! ([`StoreWriter::queued`]) and logged as a warning every [`BACKLOG_WARN_EVERY`] queued items.
//!
//! Failed writes are never silent: if a batch fails, its transaction is rolled back and its
//! operations are replayed one by one (so one bad row, e.g. a duplicate call id, cannot take
//! the rest of the batch with it); transient errors (busy database, lost connection) are retried
//! with back-off; whatever still fails is logged with `tracing::error!` and counted
//! ([`StoreWriter::failed_writes`]).
//!
//! # Durability
//!
//! SQLite runs in WAL mode with `synchronous=NORMAL`: a committed transaction is in the WAL file
//! (in the OS page cache at least) when the commit returns, so killing the gateway, even with
//! `kill -9`, loses nothing that was committed; the next open replays the WAL. (A power cut may
//! lose the last few transactions but never corrupts the database; `synchronous=FULL` would
//! close that gap at the price of one fsync per commit.) With the writer committing right away,
//! an event is durable within milliseconds of being logged.
//!
//! # One code path for SQLite and PostgreSQL
//!
//! Options were sqlx's `Any` driver or a small enum over the two native pools. This crate uses
//! **the enum** (`Pool`) plus a macro (`with_pool!`) that expands one body of code for each
//! arm, so every query is written once and compiled for both databases. Reasons:
//!
//! * The SQLite connection setup this store depends on (WAL, `synchronous`, busy timeout,
//!   create-if-missing) is typed configuration on `SqliteConnectOptions`; through `Any` it would
//!   be URL parameters and hand-run PRAGMAs after connect.
//! * `Any` needs a run-time driver registry and supports only a lowest-common set of types; the
//!   multi-node work planned for PostgreSQL (`LISTEN/NOTIFY`, `FOR UPDATE SKIP LOCKED` leases)
//!   wants the native `PgPool`, which the enum hands out as is.
//! * Errors keep their native codes, which the writer uses to tell transient from permanent.
//!
//! The SQL text itself is portable: `$1`-style placeholders (PostgreSQL's syntax, which SQLite
//! and sqlx's SQLite driver also accept), times as `BIGINT` unix milliseconds, JSON as `TEXT`,
//! no dialect-specific functions. Migrations (embedded from `crates/store/migrations`, applied
//! by `sqlx::migrate!` at [`Store::open`], idempotent) are likewise shared; if a later migration
//! ever needs dialect-specific SQL, split the folder in two, copying the existing files
//! byte-for-byte so their checksums still match.

mod writer;

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use writer::{BACKLOG_WARN_EVERY, MAX_BATCH, NewCall, StoreWriter};

/// How long an SQLite connection waits for a lock before giving up with `SQLITE_BUSY`.
pub const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Outcome written by [`Store::close_interrupted_calls`].
pub const OUTCOME_INTERRUPTED: &str = "interrupted";

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Errors of the store's reads, opening and recovery. (Writes through [`StoreWriter`] do not
/// return errors; they log them.)
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("invalid store URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("cannot create the database directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("bad value in the database: {0}")]
    Corrupt(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The two native pools. Code that must run on both uses [`with_pool!`].
#[derive(Debug, Clone)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs one body of code against whichever pool `$pool` (a `&Pool`) holds: `$p` is bound to
/// `&SqlitePool` or `&PgPool`. The body is compiled once per backend.
macro_rules! with_pool {
    ($pool:expr, |$p:ident| $body:expr) => {
        match $pool {
            $crate::Pool::Sqlite($p) => $body,
            $crate::Pool::Postgres($p) => $body,
        }
    };
}
pub(crate) use with_pool;

/// One call, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallRecord {
    pub id: String,
    pub from_uri: String,
    pub to_uri: String,
    pub started_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub outcome: Option<String>,
    pub dialplan: Option<String>,
    pub recording_path: Option<String>,
}

/// One entry of a call's timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallEvent {
    pub call_id: String,
    /// 1, 2, 3, … within the call, in the order the events were logged.
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub kind: String,
    pub data: serde_json::Value,
}

/// Who said a transcript line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Speaker {
    /// The person who called in (or was called, for outbound calls).
    Caller,
    /// Switchboard's own voice.
    Bot,
    /// A human agent bridged to the call.
    Agent,
}

impl Speaker {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Speaker::Caller => "caller",
            Speaker::Bot => "bot",
            Speaker::Agent => "agent",
        }
    }

    fn parse(s: &str) -> Result<Speaker> {
        match s {
            "caller" => Ok(Speaker::Caller),
            "bot" => Ok(Speaker::Bot),
            "agent" => Ok(Speaker::Agent),
            other => Err(StoreError::Corrupt(format!(
                "unknown transcript speaker {other:?}"
            ))),
        }
    }
}

/// One line of a call's transcript: who said what, when (milliseconds from the answer).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TranscriptLine {
    pub call_id: String,
    pub speaker: Speaker,
    pub start_ms: u64,
    pub end_ms: u64,
    pub text: String,
    /// Recognizer confidence 0..1; `None` for the bot's own words.
    pub confidence: Option<f32>,
    /// For bot lines the caller interrupted: how much was played before it stopped.
    pub interrupted_after_ms: Option<u64>,
    /// Word timings and other details, as JSON.
    pub data: serde_json::Value,
}

/// Which calls [`Store::list_calls`] returns. `Default` is "all calls, newest first".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CallFilter {
    /// At most this many calls (none: no limit).
    pub limit: Option<u32>,
    /// Substring of the caller URI/number (case-insensitive for ASCII).
    pub from: Option<String>,
    /// Substring of the callee URI/number (case-insensitive for ASCII).
    pub to: Option<String>,
    /// Exact outcome, e.g. `"completed"` or `"interrupted"`.
    pub outcome: Option<String>,
    /// Calls started at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Calls started strictly before this time (for paging back through history).
    pub before: Option<DateTime<Utc>>,
}

/// A new, time-ordered call id (UUID v7 as a string: sorts by creation time).
pub fn new_call_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Handle to the database: reads, recovery, and the [`StoreWriter`] for writes.
/// Cheap to clone; all clones share one pool and one writer task.
#[derive(Debug, Clone)]
pub struct Store {
    pool: Pool,
    writer: StoreWriter,
}

const CALL_COLUMNS: &str =
    "id, from_uri, to_uri, started_at, answered_at, ended_at, outcome, dialplan, recording_path";
const EVENT_COLUMNS: &str = "call_id, seq, at, kind, data";

#[derive(sqlx::FromRow)]
struct CallRow {
    id: String,
    from_uri: String,
    to_uri: String,
    started_at: i64,
    answered_at: Option<i64>,
    ended_at: Option<i64>,
    outcome: Option<String>,
    dialplan: Option<String>,
    recording_path: Option<String>,
}

#[derive(sqlx::FromRow)]
struct TranscriptRow {
    call_id: String,
    speaker: String,
    start_ms: i64,
    end_ms: i64,
    text: String,
    confidence: Option<f64>,
    interrupted_after_ms: Option<i64>,
    data: String,
}

impl TryFrom<TranscriptRow> for TranscriptLine {
    type Error = StoreError;
    fn try_from(r: TranscriptRow) -> Result<Self> {
        let millis = |v: i64| {
            u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("negative time {v} ms")))
        };
        Ok(TranscriptLine {
            speaker: Speaker::parse(&r.speaker)?,
            start_ms: millis(r.start_ms)?,
            end_ms: millis(r.end_ms)?,
            confidence: r.confidence.map(|c| c as f32),
            interrupted_after_ms: r.interrupted_after_ms.map(millis).transpose()?,
            data: serde_json::from_str(&r.data).unwrap_or(serde_json::Value::String(r.data)),
            call_id: r.call_id,
            text: r.text,
        })
    }
}

#[derive(sqlx::FromRow)]
struct EventRow {
    call_id: String,
    seq: i64,
    at: i64,
    kind: String,
    data: String,
}

/// A bind value of a query built at run time.
enum Bind {
    Text(String),
    Int(i64),
}

fn from_millis(ms: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp {ms} ms is out of range")))
}

fn opt_from_millis(ms: Option<i64>) -> Result<Option<DateTime<Utc>>> {
    ms.map(from_millis).transpose()
}

impl TryFrom<CallRow> for CallRecord {
    type Error = StoreError;
    fn try_from(r: CallRow) -> Result<Self> {
        Ok(CallRecord {
            started_at: from_millis(r.started_at)?,
            answered_at: opt_from_millis(r.answered_at)?,
            ended_at: opt_from_millis(r.ended_at)?,
            id: r.id,
            from_uri: r.from_uri,
            to_uri: r.to_uri,
            outcome: r.outcome,
            dialplan: r.dialplan,
            recording_path: r.recording_path,
        })
    }
}

impl TryFrom<EventRow> for CallEvent {
    type Error = StoreError;
    fn try_from(r: EventRow) -> Result<Self> {
        let data = match serde_json::from_str(&r.data) {
            Ok(v) => v,
            Err(e) => {
                // Only reachable if something else wrote the row; keep the text, don't fail the
                // whole timeline.
                tracing::warn!(call_id = %r.call_id, seq = r.seq, error = %e,
                    "call event data is not valid JSON; returning it as a string");
                serde_json::Value::String(r.data)
            }
        };
        Ok(CallEvent {
            at: from_millis(r.at)?,
            call_id: r.call_id,
            seq: r.seq,
            kind: r.kind,
            data,
        })
    }
}

fn calls_from_rows(rows: Vec<CallRow>) -> Result<Vec<CallRecord>> {
    rows.into_iter().map(CallRecord::try_from).collect()
}

fn events_from_rows(rows: Vec<EventRow>) -> Result<Vec<CallEvent>> {
    rows.into_iter().map(CallEvent::try_from).collect()
}

/// Where a store URL points.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    SqliteFile(PathBuf),
    SqliteMemory,
    Postgres,
}

fn parse_url(url: &str) -> Result<Target> {
    let invalid = |reason: &str| StoreError::InvalidUrl {
        url: url.to_string(),
        reason: reason.to_string(),
    };
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Target::Postgres);
    }
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| invalid("expected sqlite:PATH, sqlite://PATH or postgres://…"))?;
    let path = match rest.split_once('?') {
        Some((path, query)) => {
            tracing::warn!(url, query, "ignoring the query part of an SQLite store URL");
            path
        }
        None => rest,
    };
    if path.is_empty() {
        return Err(invalid("no database file path"));
    }
    if path == ":memory:" {
        return Ok(Target::SqliteMemory);
    }
    Ok(Target::SqliteFile(PathBuf::from(path)))
}

fn sqlite_options() -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(SQLITE_BUSY_TIMEOUT)
        .foreign_keys(true)
}

impl Store {
    /// Opens (creating if needed) the database and brings its schema up to date.
    ///
    /// * `sqlite:PATH` or `sqlite://PATH` (so `sqlite:///abs/path` is absolute): the file and its
    ///   parent directory are created if missing. `sqlite::memory:` gives a private in-memory
    ///   database (one connection; for tests).
    /// * `postgres://…` or `postgresql://…`: the database must exist.
    ///
    /// Starts the writer task, so it must be called inside a tokio runtime.
    pub async fn open(url: &str) -> Result<Store> {
        let pool = match parse_url(url)? {
            Target::SqliteFile(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                        path: dir.to_path_buf(),
                        source,
                    })?;
                }
                let options = sqlite_options().filename(&path).create_if_missing(true);
                let pool = SqlitePoolOptions::new()
                    .max_connections(8)
                    .connect_with(options)
                    .await?;
                Pool::Sqlite(pool)
            }
            Target::SqliteMemory => {
                let options = SqliteConnectOptions::from_str("sqlite::memory:")?
                    .busy_timeout(SQLITE_BUSY_TIMEOUT)
                    .foreign_keys(true);
                // Every connection would get its own empty database: keep exactly one, forever.
                let pool = SqlitePoolOptions::new()
                    .min_connections(1)
                    .max_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .connect_with(options)
                    .await?;
                Pool::Sqlite(pool)
            }
            Target::Postgres => {
                let options = PgConnectOptions::from_str(url)?;
                let pool = PgPoolOptions::new()
                    .max_connections(10)
                    .connect_with(options)
                    .await?;
                Pool::Postgres(pool)
            }
        };
        with_pool!(&pool, |p| MIGRATOR.run(p).await)?;
        let writer = StoreWriter::spawn(pool.clone());
        tracing::debug!(backend = ?backend_of(&pool), "store opened");
        Ok(Store { pool, writer })
    }

    /// The write side: cheap to clone, hand one to every call task.
    pub fn writer(&self) -> StoreWriter {
        self.writer.clone()
    }

    pub fn backend(&self) -> Backend {
        backend_of(&self.pool)
    }

    /// The native SQLite pool, if this store is on SQLite (for later features and tests).
    pub fn sqlite_pool(&self) -> Option<&SqlitePool> {
        match &self.pool {
            Pool::Sqlite(p) => Some(p),
            Pool::Postgres(_) => None,
        }
    }

    /// The native PostgreSQL pool, if this store is on PostgreSQL.
    pub fn postgres_pool(&self) -> Option<&PgPool> {
        match &self.pool {
            Pool::Postgres(p) => Some(p),
            Pool::Sqlite(_) => None,
        }
    }

    /// Calls matching `filter`, newest first.
    pub async fn list_calls(&self, filter: &CallFilter) -> Result<Vec<CallRecord>> {
        let mut sql = format!("SELECT {CALL_COLUMNS} FROM calls WHERE 1 = 1");
        let mut binds = Vec::new();
        let mut cond = |sql: &mut String, template: &str, bind: Bind| {
            binds.push(bind);
            sql.push_str(" AND ");
            sql.push_str(&template.replace('?', &format!("${}", binds.len())));
        };
        if let Some(from) = &filter.from {
            cond(
                &mut sql,
                r"lower(from_uri) LIKE ? ESCAPE '\'",
                Bind::Text(like_pattern(from)),
            );
        }
        if let Some(to) = &filter.to {
            cond(
                &mut sql,
                r"lower(to_uri) LIKE ? ESCAPE '\'",
                Bind::Text(like_pattern(to)),
            );
        }
        if let Some(outcome) = &filter.outcome {
            cond(&mut sql, "outcome = ?", Bind::Text(outcome.clone()));
        }
        if let Some(since) = filter.since {
            cond(
                &mut sql,
                "started_at >= ?",
                Bind::Int(since.timestamp_millis()),
            );
        }
        if let Some(before) = filter.before {
            cond(
                &mut sql,
                "started_at < ?",
                Bind::Int(before.timestamp_millis()),
            );
        }
        sql.push_str(" ORDER BY started_at DESC, id DESC");
        if let Some(limit) = filter.limit {
            binds.push(Bind::Int(i64::from(limit)));
            sql.push_str(&format!(" LIMIT ${}", binds.len()));
        }
        let rows: Vec<CallRow> = with_pool!(&self.pool, |p| {
            let mut q = sqlx::query_as(&sql);
            for b in &binds {
                q = match b {
                    Bind::Text(s) => q.bind(s.as_str()),
                    Bind::Int(i) => q.bind(*i),
                };
            }
            q.fetch_all(p).await
        })?;
        calls_from_rows(rows)
    }

    /// One call by id.
    pub async fn get_call(&self, id: &str) -> Result<Option<CallRecord>> {
        let sql = format!("SELECT {CALL_COLUMNS} FROM calls WHERE id = $1");
        let row: Option<CallRow> = with_pool!(&self.pool, |p| {
            sqlx::query_as(&sql).bind(id).fetch_optional(p).await
        })?;
        row.map(CallRecord::try_from).transpose()
    }

    /// A call's whole timeline, in order (`seq` ascending).
    pub async fn call_events(&self, call_id: &str) -> Result<Vec<CallEvent>> {
        self.call_events_after(call_id, 0).await
    }

    /// A call's events with `seq > after_seq`, in order: lets a live view poll for what is new.
    pub async fn call_events_after(&self, call_id: &str, after_seq: i64) -> Result<Vec<CallEvent>> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM call_events WHERE call_id = $1 AND seq > $2 ORDER BY seq"
        );
        let rows: Vec<EventRow> = with_pool!(&self.pool, |p| {
            sqlx::query_as(&sql)
                .bind(call_id)
                .bind(after_seq)
                .fetch_all(p)
                .await
        })?;
        events_from_rows(rows)
    }

    /// A call's transcript in the order it was spoken (start time, then the order written).
    pub async fn transcript(&self, call_id: &str) -> Result<Vec<TranscriptLine>> {
        let sql = "SELECT call_id, speaker, start_ms, end_ms, text, confidence, \
                   interrupted_after_ms, data FROM transcript_lines WHERE call_id = $1 \
                   ORDER BY start_ms, seq";
        let rows: Vec<TranscriptRow> = with_pool!(&self.pool, |p| {
            sqlx::query_as(sql).bind(call_id).fetch_all(p).await
        })?;
        rows.into_iter().map(TranscriptLine::try_from).collect()
    }

    /// Start-up recovery after a crash: every call without an end time is marked ended at `at`
    /// with outcome [`OUTCOME_INTERRUPTED`]. Returns those calls (oldest first) so the caller
    /// can repair their recordings.
    ///
    /// Run it before taking calls: it closes *every* open call in the database. (With several
    /// gateway nodes on one PostgreSQL, calls will need an owning node column first.)
    pub async fn close_interrupted_calls(&self, at: DateTime<Utc>) -> Result<Vec<CallRecord>> {
        let sql = format!(
            "UPDATE calls SET ended_at = $1, outcome = $2 WHERE ended_at IS NULL \
             RETURNING {CALL_COLUMNS}"
        );
        let rows: Vec<CallRow> = with_pool!(&self.pool, |p| {
            sqlx::query_as(&sql)
                .bind(at.timestamp_millis())
                .bind(OUTCOME_INTERRUPTED)
                .fetch_all(p)
                .await
        })?;
        let mut calls = calls_from_rows(rows)?;
        calls.sort_by(|a, b| (a.started_at, &a.id).cmp(&(b.started_at, &b.id)));
        if !calls.is_empty() {
            tracing::warn!(
                count = calls.len(),
                "closed calls interrupted by a crash or kill"
            );
        }
        Ok(calls)
    }

    /// Commits everything queued so far, then closes the pool. Writes queued afterwards (through
    /// other clones of the writer) fail and are logged.
    pub async fn close(&self) {
        self.writer.flush().await;
        with_pool!(&self.pool, |p| p.close().await);
    }
}

fn backend_of(pool: &Pool) -> Backend {
    match pool {
        Pool::Sqlite(_) => Backend::Sqlite,
        Pool::Postgres(_) => Backend::Postgres,
    }
}

/// `%needle%` for a case-insensitive `LIKE … ESCAPE '\'`, with `%`, `_` and `\` taken literally.
fn like_pattern(needle: &str) -> String {
    let mut p = String::with_capacity(needle.len() + 2);
    p.push('%');
    for c in needle.to_ascii_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_store_urls() {
        assert_eq!(
            parse_url("sqlite:data/switchboard.db").unwrap(),
            Target::SqliteFile("data/switchboard.db".into())
        );
        assert_eq!(
            parse_url("sqlite://data/x.db").unwrap(),
            Target::SqliteFile("data/x.db".into())
        );
        assert_eq!(
            parse_url("sqlite:///var/lib/sb/x.db").unwrap(),
            Target::SqliteFile("/var/lib/sb/x.db".into())
        );
        assert_eq!(
            parse_url("sqlite://x.db?mode=rwc").unwrap(),
            Target::SqliteFile("x.db".into())
        );
        assert_eq!(parse_url("sqlite::memory:").unwrap(), Target::SqliteMemory);
        assert_eq!(
            parse_url("postgres://u@localhost/sb").unwrap(),
            Target::Postgres
        );
        assert_eq!(
            parse_url("postgresql://localhost/sb").unwrap(),
            Target::Postgres
        );
        assert!(matches!(
            parse_url("sqlite:"),
            Err(StoreError::InvalidUrl { .. })
        ));
        assert!(matches!(
            parse_url("mysql://x"),
            Err(StoreError::InvalidUrl { .. })
        ));
        assert!(matches!(
            parse_url("x.db"),
            Err(StoreError::InvalidUrl { .. })
        ));
    }

    #[test]
    fn like_pattern_escapes_wildcards() {
        assert_eq!(like_pattern("+1555"), "%+1555%");
        assert_eq!(like_pattern("A_b%c\\"), r"%a\_b\%c\\%");
    }

    #[test]
    fn call_ids_are_uuid_v7_and_sort_by_time() {
        let a = new_call_id();
        std::thread::sleep(Duration::from_millis(2));
        let b = new_call_id();
        assert_eq!(uuid::Uuid::parse_str(&a).unwrap().get_version_num(), 7);
        assert!(a < b);
    }
}
