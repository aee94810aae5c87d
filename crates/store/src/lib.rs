//! Switchboard's store: calls and their append-only event timeline (SQLite or PostgreSQL).
//!
//! # What is stored
//!
//! * `calls`: one row per call (id, from, to, start/answer/end times, outcome, dialplan,
//!   recording path), inserted when the call starts and updated when it is answered and ends.
//! * `call_events`: an append-only timeline, one row per event (`seq`, time, kind, JSON data),
//!   written as the event happens, not at hang-up. `seq` numbers one call's events from 1.
//! * `transcript_lines`: what was said, line by line, with full-text search over the text (an
//!   FTS5 table on SQLite, a GIN index on PostgreSQL).
//! * Summary columns on `calls` (`intent`, `escalated`, `max_frustration`, `agent_id`) that the
//!   writer keeps up to date from the events and lines it stores (`summary.rs`), so the QA list
//!   filters on indexed columns; and for the reports `queued_at`, `agent_answered_at`,
//!   `queue_state` and `satisfaction` (`report.rs` defines what they count).
//! * QA review: `call_scores` (one per reviewer per call), `call_comments` (anchored to a
//!   moment of the call), and the `audit_log` of who viewed, listened to or exported a call
//!   (`qa.rs`; written directly, not through the background writer, see there).
//!
//! Every committed change is also broadcast to watchers ([`Store::subscribe`], `live.rs`).
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
//! no dialect-specific functions, except full-text search (FTS5 `MATCH` on SQLite, `@@` on
//! PostgreSQL). Migrations are embedded from `crates/store/migrations/{sqlite,postgres}` and
//! applied by `sqlx::migrate!` at [`Store::open`] (idempotent). Full-text search made version 3
//! dialect-specific, so the folder was split in two; versions 1 and 2 are byte-for-byte the
//! same in both, so their checksums still match databases created before the split.

mod callbacks;
mod live;
mod qa;
mod report;
mod summary;
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

pub use callbacks::{Callback, CallbackStatus};
pub use live::{LIVE_UPDATES_BUFFER, StoreUpdate};
pub use qa::{AuditEntry, AuditFilter, Comment, NewAuditEntry, Score};
pub use report::{Report, ReportBy, ReportQuery, ReportRow};
pub use summary::SURVEY_EVENT;
pub use writer::{BACKLOG_WARN_EVERY, MAX_BATCH, NewCall, StoreWriter};

/// How long an SQLite connection waits for a lock before giving up with `SQLITE_BUSY`.
pub const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Outcome written by [`Store::close_interrupted_calls`].
pub const OUTCOME_INTERRUPTED: &str = "interrupted";

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

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
#[derive(Debug, Clone, PartialEq, Serialize)]
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
    /// The intent the bot named last (`kb_answer`, `bot_intent`, `escalated` events).
    pub intent: Option<String>,
    /// Whether the bot handed the caller over to a person.
    pub escalated: bool,
    /// The highest frustration score (0..1) of the caller's transcript lines.
    pub max_frustration: Option<f64>,
    /// The human agent who took the call.
    pub agent_id: Option<String>,
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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
    /// Exact dialplan name.
    pub dialplan: Option<String>,
    /// Exact intent (the call's `intent` column).
    pub intent: Option<String>,
    /// Only calls handed over to a person (`true`) or only the others (`false`).
    pub escalated: Option<bool>,
    /// Calls whose caller reached at least this frustration score.
    pub min_frustration: Option<f64>,
    /// Calls whose transcript has every word of this text (stemmed, any order).
    pub text: Option<String>,
    /// Exact agent id.
    pub agent_id: Option<String>,
    /// Calls listed after this one in newest-first order (keyset paging).
    pub after: Option<CallCursor>,
}

/// A call's place in the newest-first order: where the next page starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallCursor {
    /// The call's start time.
    pub started_at: DateTime<Utc>,
    /// The call's id (breaks ties between calls started in the same millisecond).
    pub id: String,
}

impl CallCursor {
    /// The cursor that continues after `call`.
    pub fn after(call: &CallRecord) -> CallCursor {
        CallCursor {
            started_at: call.started_at,
            id: call.id.clone(),
        }
    }
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

const CALL_COLUMNS: &str = "id, from_uri, to_uri, started_at, answered_at, ended_at, outcome, \
    dialplan, recording_path, intent, escalated, max_frustration, agent_id";
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
    intent: Option<String>,
    escalated: bool,
    max_frustration: Option<f64>,
    agent_id: Option<String>,
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
    Float(f64),
    Bool(bool),
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
            intent: r.intent,
            escalated: r.escalated,
            max_frustration: r.max_frustration,
            agent_id: r.agent_id,
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
        match &pool {
            Pool::Sqlite(p) => {
                SQLITE_MIGRATOR.run(p).await?;
                // Table statistics for the query planner (sampled, so quick on a big file):
                // without them SQLite may walk the newest-first index for a filter that a
                // table scan answers several times faster.
                sqlx::query("PRAGMA optimize=0x10002").execute(p).await?;
            }
            Pool::Postgres(p) => POSTGRES_MIGRATOR.run(p).await?,
        }
        let writer = StoreWriter::spawn(pool.clone());
        tracing::debug!(backend = ?backend_of(&pool), "store opened");
        Ok(Store { pool, writer })
    }

    /// The write side: cheap to clone, hand one to every call task.
    pub fn writer(&self) -> StoreWriter {
        self.writer.clone()
    }

    /// Every change committed from now on, in commit order (see [`StoreUpdate`]).
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<std::sync::Arc<StoreUpdate>> {
        self.writer.subscribe()
    }

    /// Whether the database answers a query (readiness).
    pub async fn ping(&self) -> Result<()> {
        let _: i32 = with_pool!(&self.pool, |p| {
            sqlx::query_scalar("SELECT 1").fetch_one(p).await
        })?;
        Ok(())
    }

    /// Which database this store is on.
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
        // A text search on SQLite walks the newest-first index (it covers `search_key`) and
        // stops once the page is full: a common word never makes it sort every matching call.
        let table = match (&self.pool, &filter.text) {
            (Pool::Sqlite(_), Some(_)) => "calls INDEXED BY calls_newest",
            _ => "calls",
        };
        let mut sql = format!("SELECT {CALL_COLUMNS} FROM {table} WHERE 1 = 1");
        let mut binds = Vec::new();
        // Appends ` AND template`, each `?` in it becoming the next `$n` placeholder.
        let mut cond = |sql: &mut String, template: &str, values: Vec<Bind>| {
            sql.push_str(" AND ");
            let mut parts = template.split('?');
            sql.push_str(parts.next().unwrap_or_default());
            for (part, value) in parts.zip(values) {
                binds.push(value);
                sql.push_str(&format!("${}{part}", binds.len()));
            }
        };
        let text = |s: &str| vec![Bind::Text(s.to_string())];
        if let Some(from) = &filter.from {
            cond(
                &mut sql,
                r"lower(from_uri) LIKE ? ESCAPE '\'",
                text(&like_pattern(from)),
            );
        }
        if let Some(to) = &filter.to {
            cond(
                &mut sql,
                r"lower(to_uri) LIKE ? ESCAPE '\'",
                text(&like_pattern(to)),
            );
        }
        if let Some(outcome) = &filter.outcome {
            cond(&mut sql, "outcome = ?", text(outcome));
        }
        if let Some(since) = filter.since {
            let since = Bind::Int(since.timestamp_millis());
            cond(&mut sql, "started_at >= ?", vec![since]);
        }
        if let Some(before) = filter.before {
            let before = Bind::Int(before.timestamp_millis());
            cond(&mut sql, "started_at < ?", vec![before]);
        }
        if let Some(dialplan) = &filter.dialplan {
            cond(&mut sql, "dialplan = ?", text(dialplan));
        }
        if let Some(intent) = &filter.intent {
            cond(&mut sql, "intent = ?", text(intent));
        }
        if let Some(escalated) = filter.escalated {
            cond(&mut sql, "escalated = ?", vec![Bind::Bool(escalated)]);
        }
        if let Some(min) = filter.min_frustration {
            cond(&mut sql, "max_frustration >= ?", vec![Bind::Float(min)]);
        }
        if let Some(words) = &filter.text {
            match self.pool {
                Pool::Sqlite(_) => cond(
                    &mut sql,
                    "search_key IN (SELECT rowid >> 20 FROM transcript_search \
                     WHERE transcript_search MATCH ?)",
                    text(&fts5_query(words)),
                ),
                Pool::Postgres(_) => cond(
                    &mut sql,
                    "id IN (SELECT call_id FROM transcript_lines \
                     WHERE to_tsvector('english', text) @@ plainto_tsquery('english', ?))",
                    text(words),
                ),
            }
        }
        if let Some(agent) = &filter.agent_id {
            cond(&mut sql, "agent_id = ?", text(agent));
        }
        if let Some(after) = &filter.after {
            let values = vec![
                Bind::Int(after.started_at.timestamp_millis()),
                Bind::Text(after.id.clone()),
            ];
            cond(&mut sql, "(started_at, id) < (?, ?)", values);
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
                    Bind::Float(f) => q.bind(*f),
                    Bind::Bool(b) => q.bind(*b),
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

/// An FTS5 query asking for every word of `text` (like PostgreSQL's `plainto_tsquery`): each
/// word quoted, so no user text is read as FTS5 syntax. No words: a query that matches nothing.
fn fts5_query(text: &str) -> String {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| format!("\"{w}\""))
        .collect();
    if words.is_empty() {
        return "\"\"".to_string();
    }
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fts5_queries_quote_every_word() {
        assert_eq!(fts5_query("order 4512"), r#""order" "4512""#);
        assert_eq!(fts5_query("don't AND (x"), r#""don" "t" "AND" "x""#);
        assert_eq!(fts5_query(" \"*- "), r#""""#);
    }

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
