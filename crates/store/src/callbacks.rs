//! Callback requests: a caller left a number instead of waiting for an agent. The call's
//! writer inserts them (`StoreWriter::callback_requested`); agents and supervisors read the
//! work list and mark requests done.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{Result, Store, from_millis, with_pool};

/// Where a callback request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackStatus {
    /// Nobody has called back yet.
    Pending,
    /// An agent called back and reached the caller.
    Done,
    /// Called back without reaching anyone, and given up.
    Failed,
}

impl CallbackStatus {
    /// Every status, in the order a request goes through them.
    pub const ALL: [CallbackStatus; 3] = [Self::Pending, Self::Done, Self::Failed];

    /// Its stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }

    /// The status stored as `name`, if it is one.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// A callback request as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Callback {
    /// Its id.
    pub id: String,
    /// The call it was left on.
    pub call_id: String,
    /// The number to call: digits with an optional leading `+`.
    pub number: String,
    /// The queue whose agents should call back.
    pub queue: Option<String>,
    /// What the agent should know (the handoff summary).
    pub summary: String,
    /// When the caller left it.
    pub requested_at: DateTime<Utc>,
    /// `pending`, `done` or `failed`.
    pub status: String,
}

#[derive(sqlx::FromRow)]
struct CallbackRow {
    id: String,
    call_id: String,
    number: String,
    queue: Option<String>,
    summary: String,
    requested_at: i64,
    status: String,
}

impl CallbackRow {
    fn into_callback(self) -> Result<Callback> {
        Ok(Callback {
            requested_at: from_millis(self.requested_at)?,
            id: self.id,
            call_id: self.call_id,
            number: self.number,
            queue: self.queue,
            summary: self.summary,
            status: self.status,
        })
    }
}

const COLUMNS: &str = "id, call_id, number, queue, summary, requested_at, status";

impl Store {
    /// Callback requests, oldest first: those with `status` (all when None), of `queue` (any
    /// when None), at most `limit`.
    pub async fn callbacks(
        &self,
        status: Option<CallbackStatus>,
        queue: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Callback>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM callbacks \
             WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR queue = $2) \
             ORDER BY requested_at, id LIMIT $3"
        );
        let rows: Vec<CallbackRow> = with_pool!(&self.pool, |p| {
            sqlx::query_as(&sql)
                .bind(status.map(CallbackStatus::as_str))
                .bind(queue)
                .bind(i64::from(limit))
                .fetch_all(p)
                .await?
        });
        rows.into_iter().map(CallbackRow::into_callback).collect()
    }

    /// The callback requests left on one call.
    pub async fn call_callbacks(&self, call_id: &str) -> Result<Vec<Callback>> {
        let sql =
            format!("SELECT {COLUMNS} FROM callbacks WHERE call_id = $1 ORDER BY requested_at, id");
        let rows: Vec<CallbackRow> = with_pool!(&self.pool, |p| {
            sqlx::query_as(&sql).bind(call_id).fetch_all(p).await?
        });
        rows.into_iter().map(CallbackRow::into_callback).collect()
    }

    /// Sets a request's status; None when there is no such request.
    pub async fn set_callback_status(
        &self,
        id: &str,
        status: CallbackStatus,
    ) -> Result<Option<Callback>> {
        let status = status.as_str();
        let sql = "UPDATE callbacks SET status = $2 WHERE id = $1";
        let updated = with_pool!(&self.pool, |p| {
            sqlx::query(sql)
                .bind(id)
                .bind(status)
                .execute(p)
                .await?
                .rows_affected()
        });
        if updated == 0 {
            return Ok(None);
        }
        let sql = format!("SELECT {COLUMNS} FROM callbacks WHERE id = $1");
        let row: Option<CallbackRow> = with_pool!(&self.pool, |p| {
            sqlx::query_as(&sql).bind(id).fetch_optional(p).await?
        });
        row.map(CallbackRow::into_callback).transpose()
    }
}
