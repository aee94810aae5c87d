//! The write side: a cheap handle that queues, and one task that commits (see the crate doc).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::live::{LIVE_UPDATES_BUFFER, StoreUpdate};
use crate::summary::{self, SummaryUpdate};
use crate::{CallEvent, Pool, TranscriptLine, with_pool};

/// Most operations committed in one transaction; more queued ones go in the next.
pub const MAX_BATCH: usize = 1024;

/// A warning is logged each time this many more operations are waiting for the writer.
pub const BACKLOG_WARN_EVERY: usize = 10_000;

/// Back-off between attempts of an operation that failed with a transient error.
const RETRY_DELAYS: [Duration; 3] = [
    Duration::from_millis(50),
    Duration::from_millis(250),
    Duration::from_secs(1),
];

/// A call as it starts: what [`StoreWriter::call_started`] inserts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewCall {
    pub id: String,
    pub from_uri: String,
    pub to_uri: String,
    pub dialplan: Option<String>,
    pub started_at: DateTime<Utc>,
    pub recording_path: Option<String>,
}

#[derive(Debug)]
enum Op {
    CallStarted(NewCall),
    CallAnswered {
        id: String,
        at: i64,
    },
    Event {
        call_id: String,
        at: i64,
        kind: String,
        data: serde_json::Value,
    },
    CallEnded {
        id: String,
        at: i64,
        outcome: String,
    },
    RecordingPath {
        id: String,
        path: String,
    },
    Agent {
        id: String,
        agent_id: String,
    },
    Transcript(TranscriptLine),
    Callback {
        call_id: String,
        at: i64,
        number: String,
        queue: Option<String>,
        summary: String,
    },
}

impl Op {
    fn name(&self) -> &'static str {
        match self {
            Op::CallStarted(_) => "call_started",
            Op::CallAnswered { .. } => "call_answered",
            Op::Event { .. } => "event",
            Op::CallEnded { .. } => "call_ended",
            Op::RecordingPath { .. } => "recording_path",
            Op::Agent { .. } => "agent",
            Op::Transcript(_) => "transcript_line",
            Op::Callback { .. } => "callback",
        }
    }

    fn call_id(&self) -> &str {
        match self {
            Op::CallStarted(c) => &c.id,
            Op::CallAnswered { id, .. }
            | Op::CallEnded { id, .. }
            | Op::RecordingPath { id, .. }
            | Op::Agent { id, .. } => id,
            Op::Event { call_id, .. } | Op::Callback { call_id, .. } => call_id,
            Op::Transcript(line) => &line.call_id,
        }
    }

    /// The changes to the call's summary columns that go with this operation.
    fn summary_updates(&self) -> Vec<SummaryUpdate> {
        match self {
            Op::Event { kind, at, data, .. } => summary::from_event(kind, *at, data),
            Op::Transcript(line) => summary::from_transcript(line).into_iter().collect(),
            _ => Vec::new(),
        }
    }

    /// What watchers are told once this operation is committed; `seq` is the event's number.
    /// Recording paths and agents are not announced (an event says what happened).
    fn live_update(&self, seq: Option<i64>) -> Option<StoreUpdate> {
        let time = DateTime::from_timestamp_millis;
        Some(match self {
            Op::CallStarted(c) => StoreUpdate::CallStarted {
                call_id: c.id.clone(),
                from_uri: c.from_uri.clone(),
                to_uri: c.to_uri.clone(),
                dialplan: c.dialplan.clone(),
                started_at: c.started_at,
            },
            Op::CallAnswered { id, at } => StoreUpdate::CallAnswered {
                call_id: id.clone(),
                at: time(*at)?,
            },
            Op::Event {
                call_id,
                at,
                kind,
                data,
            } => StoreUpdate::Event(CallEvent {
                call_id: call_id.clone(),
                seq: seq?,
                at: time(*at)?,
                kind: kind.clone(),
                data: data.clone(),
            }),
            Op::CallEnded { id, at, outcome } => StoreUpdate::CallEnded {
                call_id: id.clone(),
                at: time(*at)?,
                outcome: outcome.clone(),
            },
            Op::RecordingPath { .. } | Op::Agent { .. } | Op::Callback { .. } => return None,
            Op::Transcript(line) => StoreUpdate::Transcript(line.clone()),
        })
    }
}

enum Msg {
    Op(Op),
    Flush(oneshot::Sender<()>),
}

#[derive(Debug, Default)]
struct Counters {
    /// Operations sent and not yet committed (or given up on).
    queued: AtomicUsize,
    /// Operations that could not be written, ever.
    failed: AtomicU64,
}

/// Queues writes for the store's writer task. Cheap to clone; every method returns at once and
/// never blocks. Failures are logged (`tracing::error!`) and counted, never silent.
#[derive(Debug, Clone)]
pub struct StoreWriter {
    tx: mpsc::UnboundedSender<Msg>,
    counters: Arc<Counters>,
    updates: broadcast::Sender<Arc<StoreUpdate>>,
}

impl StoreWriter {
    /// Starts the writer task on the current tokio runtime. It runs until every handle is
    /// dropped, and commits everything queued before it stops.
    pub(crate) fn spawn(pool: Pool) -> StoreWriter {
        let (tx, rx) = mpsc::unbounded_channel();
        let counters = Arc::new(Counters::default());
        let (updates, _) = broadcast::channel(LIVE_UPDATES_BUFFER);
        tokio::spawn(run(pool, rx, counters.clone(), updates.clone()));
        StoreWriter {
            tx,
            counters,
            updates,
        }
    }

    /// Every change committed from now on, in commit order (see [`crate::live`]).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<StoreUpdate>> {
        self.updates.subscribe()
    }

    /// Inserts the call's row.
    pub fn call_started(&self, call: NewCall) {
        self.send(Op::CallStarted(call));
    }

    /// Sets the call's answer time (the first answer wins).
    pub fn call_answered(&self, id: &str, at: DateTime<Utc>) {
        self.send(Op::CallAnswered {
            id: id.to_string(),
            at: at.timestamp_millis(),
        });
    }

    /// Appends an event to the call's timeline; it gets the next `seq` of that call.
    pub fn event(&self, call_id: &str, at: DateTime<Utc>, kind: &str, data: serde_json::Value) {
        self.send(Op::Event {
            call_id: call_id.to_string(),
            at: at.timestamp_millis(),
            kind: kind.to_string(),
            data,
        });
    }

    /// Sets the call's end time and outcome (the first end wins).
    pub fn call_ended(&self, id: &str, at: DateTime<Utc>, outcome: &str) {
        self.send(Op::CallEnded {
            id: id.to_string(),
            at: at.timestamp_millis(),
            outcome: outcome.to_string(),
        });
    }

    /// Sets (or replaces) the call's recording path, for recordings started after the call.
    pub fn recording_path(&self, id: &str, path: &str) {
        self.send(Op::RecordingPath {
            id: id.to_string(),
            path: path.to_string(),
        });
    }

    /// Sets (or replaces) the agent who took the call: agents may read only calls with their id.
    pub fn call_agent(&self, id: &str, agent_id: &str) {
        self.send(Op::Agent {
            id: id.to_string(),
            agent_id: agent_id.to_string(),
        });
    }

    /// Stores a request to call `number` back, left on call `call_id` at `at`.
    pub fn callback_requested(
        &self,
        call_id: &str,
        at: DateTime<Utc>,
        number: &str,
        queue: Option<&str>,
        summary: &str,
    ) {
        self.send(Op::Callback {
            call_id: call_id.to_string(),
            at: at.timestamp_millis(),
            number: number.to_string(),
            queue: queue.map(str::to_string),
            summary: summary.to_string(),
        });
    }

    /// Appends a line to the call's transcript; it gets the next `seq` of that call's transcript.
    pub fn transcript_line(&self, line: TranscriptLine) {
        self.send(Op::Transcript(line));
    }

    /// Resolves once everything queued before this call is committed (or, for an operation
    /// that failed for good, given up on and logged).
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Msg::Flush(done)).is_err() || wait.await.is_err() {
            tracing::error!("store writer task is gone; cannot flush");
        }
    }

    /// Operations queued and not yet committed.
    pub fn queued(&self) -> usize {
        self.counters.queued.load(Ordering::Relaxed)
    }

    /// Operations that could not be written (each was logged as an error).
    pub fn failed_writes(&self) -> u64 {
        self.counters.failed.load(Ordering::Relaxed)
    }

    fn send(&self, op: Op) {
        let queued = self.counters.queued.fetch_add(1, Ordering::Relaxed) + 1;
        if queued.is_multiple_of(BACKLOG_WARN_EVERY) {
            tracing::warn!(queued, "store writer is falling behind");
        }
        if let Err(mpsc::error::SendError(Msg::Op(op))) = self.tx.send(Msg::Op(op)) {
            self.counters.queued.fetch_sub(1, Ordering::Relaxed);
            self.counters.failed.fetch_add(1, Ordering::Relaxed);
            tracing::error!(
                op = op.name(),
                call_id = op.call_id(),
                ?op,
                "store writer task is gone; write lost"
            );
        }
    }
}

async fn run(
    pool: Pool,
    mut rx: mpsc::UnboundedReceiver<Msg>,
    counters: Arc<Counters>,
    updates: broadcast::Sender<Arc<StoreUpdate>>,
) {
    let mut ops = Vec::new();
    let mut flushes = Vec::new();
    while let Some(first) = rx.recv().await {
        // Take what is already queued, without waiting for more.
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            match msg {
                Msg::Op(op) => ops.push(op),
                Msg::Flush(done) => flushes.push(done),
            }
            if ops.len() < MAX_BATCH {
                next = rx.try_recv().ok();
            }
        }
        if !ops.is_empty() {
            commit(&pool, &ops, &counters, &updates).await;
            counters.queued.fetch_sub(ops.len(), Ordering::Relaxed);
            ops.clear();
        }
        for done in flushes.drain(..) {
            let _ = done.send(());
        }
    }
    tracing::debug!("store writer stopped");
}

const INSERT_CALL: &str = "INSERT INTO calls \
    (id, from_uri, to_uri, started_at, dialplan, recording_path) VALUES ($1, $2, $3, $4, $5, $6)";
const UPDATE_ANSWERED: &str =
    "UPDATE calls SET answered_at = $2 WHERE id = $1 AND answered_at IS NULL";
const UPDATE_ENDED: &str =
    "UPDATE calls SET ended_at = $2, outcome = $3 WHERE id = $1 AND ended_at IS NULL";
const UPDATE_RECORDING: &str = "UPDATE calls SET recording_path = $2 WHERE id = $1";
const UPDATE_AGENT: &str = "UPDATE calls SET agent_id = $2 WHERE id = $1";
const INSERT_CALLBACK: &str = "INSERT INTO callbacks (id, call_id, number, queue, summary, requested_at) \
     VALUES ($1, $2, $3, $4, $5, $6)";
/// The next `seq` is computed in the same statement, under the writer's transaction: no
/// in-memory counter to lose, and correct after a restart. It relies on one writer per call
/// (one owner per call; all clones of a `StoreWriter` share one task): two stores writing the
/// same call at once could collide on the primary key, which is then logged as a failed write.
/// The `seq` comes back for the live update.
const INSERT_EVENT: &str = "INSERT INTO call_events (call_id, seq, at, kind, data) \
    SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4 FROM call_events WHERE call_id = $1 \
    RETURNING seq";

/// Same `seq` technique as [`INSERT_EVENT`], per call's transcript.
const INSERT_TRANSCRIPT: &str = "INSERT INTO transcript_lines \
    (call_id, seq, speaker, start_ms, end_ms, text, confidence, interrupted_after_ms, data) \
    SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4, $5, $6, $7, $8 \
    FROM transcript_lines WHERE call_id = $1";

/// Applies one operation and its summary updates on `$conn` (a pool or `&mut *transaction`, of
/// either backend); evaluates to `Result<Option<i64>, sqlx::Error>`, the `seq` of an event.
macro_rules! apply {
    ($conn:expr, $op:expr) => {
        async {
            let op: &Op = $op;
            let mut seq = None;
            let rows = match op {
                Op::CallStarted(c) => sqlx::query(INSERT_CALL)
                    .bind(c.id.as_str())
                    .bind(c.from_uri.as_str())
                    .bind(c.to_uri.as_str())
                    .bind(c.started_at.timestamp_millis())
                    .bind(c.dialplan.as_deref())
                    .bind(c.recording_path.as_deref())
                    .execute($conn)
                    .await?
                    .rows_affected(),
                Op::CallAnswered { id, at } => sqlx::query(UPDATE_ANSWERED)
                    .bind(id.as_str())
                    .bind(*at)
                    .execute($conn)
                    .await?
                    .rows_affected(),
                Op::Event {
                    call_id,
                    at,
                    kind,
                    data,
                } => {
                    let inserted: i64 = sqlx::query_scalar(INSERT_EVENT)
                        .bind(call_id.as_str())
                        .bind(*at)
                        .bind(kind.as_str())
                        .bind(data.to_string())
                        .fetch_one($conn)
                        .await?;
                    seq = Some(inserted);
                    1
                }
                Op::CallEnded { id, at, outcome } => sqlx::query(UPDATE_ENDED)
                    .bind(id.as_str())
                    .bind(*at)
                    .bind(outcome.as_str())
                    .execute($conn)
                    .await?
                    .rows_affected(),
                Op::RecordingPath { id, path } => sqlx::query(UPDATE_RECORDING)
                    .bind(id.as_str())
                    .bind(path.as_str())
                    .execute($conn)
                    .await?
                    .rows_affected(),
                Op::Agent { id, agent_id } => sqlx::query(UPDATE_AGENT)
                    .bind(id.as_str())
                    .bind(agent_id.as_str())
                    .execute($conn)
                    .await?
                    .rows_affected(),
                Op::Callback {
                    call_id,
                    at,
                    number,
                    queue,
                    summary,
                } => sqlx::query(INSERT_CALLBACK)
                    .bind(crate::new_call_id())
                    .bind(call_id.as_str())
                    .bind(number.as_str())
                    .bind(queue.as_deref())
                    .bind(summary.as_str())
                    .bind(*at)
                    .execute($conn)
                    .await?
                    .rows_affected(),
                Op::Transcript(line) => sqlx::query(INSERT_TRANSCRIPT)
                    .bind(line.call_id.as_str())
                    .bind(line.speaker.as_str())
                    .bind(line.start_ms as i64)
                    .bind(line.end_ms as i64)
                    .bind(line.text.as_str())
                    .bind(line.confidence.map(f64::from))
                    .bind(line.interrupted_after_ms.map(|ms| ms as i64))
                    .bind(line.data.to_string())
                    .execute($conn)
                    .await?
                    .rows_affected(),
            };
            if rows == 0 {
                tracing::warn!(
                    op = op.name(),
                    call_id = op.call_id(),
                    "store write matched no call (unknown id, or already answered/ended)"
                );
            }
            for update in op.summary_updates() {
                let query = sqlx::query(update.sql()).bind(op.call_id());
                let query = match &update {
                    SummaryUpdate::Intent(intent) => query.bind(intent.as_str()),
                    SummaryUpdate::Escalated | SummaryUpdate::QueueOverflow => query,
                    SummaryUpdate::Frustration(score) | SummaryUpdate::Satisfaction(score) => {
                        query.bind(*score)
                    }
                    SummaryUpdate::Queued(at) | SummaryUpdate::AgentAnswered(at) => query.bind(*at),
                };
                query.execute($conn).await?;
            }
            Ok::<Option<i64>, sqlx::Error>(seq)
        }
        .await
    };
}

/// Tells watchers about a committed operation; costs nothing while nobody watches, and never
/// waits (see [`crate::live`]).
fn publish(updates: &broadcast::Sender<Arc<StoreUpdate>>, op: &Op, seq: Option<i64>) {
    if updates.receiver_count() == 0 {
        return;
    }
    if let Some(update) = op.live_update(seq) {
        // Only fails when every watcher has just gone.
        let _ = updates.send(Arc::new(update));
    }
}

/// Commits `ops` in one transaction; if that fails, replays them one by one, retrying
/// transient errors. Watchers hear of each operation once it is committed.
async fn commit(
    pool: &Pool,
    ops: &[Op],
    counters: &Counters,
    updates: &broadcast::Sender<Arc<StoreUpdate>>,
) {
    let batch: Result<Vec<Option<i64>>, sqlx::Error> = with_pool!(pool, |p| {
        async {
            let mut tx = p.begin().await?;
            let mut seqs = Vec::with_capacity(ops.len());
            for op in ops {
                seqs.push(apply!(&mut *tx, op)?);
            }
            tx.commit().await?;
            Ok(seqs)
        }
        .await
    });
    let e = match batch {
        Ok(seqs) => {
            for (op, seq) in ops.iter().zip(seqs) {
                publish(updates, op, seq);
            }
            return;
        }
        Err(e) => e,
    };
    if ops.len() > 1 {
        tracing::warn!(error = %e, ops = ops.len(),
            "store batch failed; rolled back, writing its operations one by one");
    }
    // A lone operation already had its first attempt.
    let mut first_error = (ops.len() == 1).then_some(e);
    for op in ops {
        let mut attempt = 0;
        loop {
            // Its own transaction: a retry must not repeat an insert whose summary update failed.
            let res = match first_error.take() {
                Some(e) => Err(e),
                None => with_pool!(pool, |p| {
                    async {
                        let mut tx = p.begin().await?;
                        let seq = apply!(&mut *tx, op)?;
                        tx.commit().await?;
                        Ok(seq)
                    }
                    .await
                }),
            };
            match res {
                Ok(seq) => {
                    publish(updates, op, seq);
                    break;
                }
                Err(err) if is_transient(&err) && attempt < RETRY_DELAYS.len() => {
                    tracing::warn!(error = %err, op = op.name(), call_id = op.call_id(),
                        "store write failed; retrying");
                    tokio::time::sleep(RETRY_DELAYS[attempt]).await;
                    attempt += 1;
                }
                Err(err) => {
                    counters.failed.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(error = %err, op = op.name(), call_id = op.call_id(), ?op,
                        "store write failed; operation lost");
                    break;
                }
            }
        }
    }
}

/// Errors worth retrying: lost connections, pool exhaustion, busy/locked SQLite, PostgreSQL
/// serialization failures, deadlocks, shutdowns and connection errors.
fn is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut => true,
        sqlx::Error::Database(db) => {
            let Some(code) = db.code() else { return false };
            if let Ok(sqlite_code) = code.parse::<i32>() {
                // SQLITE_BUSY = 5, SQLITE_LOCKED = 6 (extended codes keep them in the low byte).
                matches!(sqlite_code & 0xff, 5 | 6)
            } else {
                code == "40001"
                    || code == "40P01"
                    || code.starts_with("08")
                    || code == "57P01"
                    || code == "57P03"
                    || code == "53300"
            }
        }
        _ => false,
    }
}
