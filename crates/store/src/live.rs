//! Live updates: what the writer has just committed, broadcast to whoever watches (the web
//! layer's `/api/events`). Sent after the commit, so a watcher never sees what is not stored;
//! a `tokio::sync::broadcast` channel, so a slow watcher loses the oldest updates (and is told
//! how many) instead of ever holding up the writer.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{CallEvent, TranscriptLine};

/// Updates a watcher may fall behind by before it loses the oldest ones.
pub const LIVE_UPDATES_BUFFER: usize = 4096;

/// One committed change, as JSON `{"type": "call_started" | "call_answered" | "call_ended" |
/// "event" | "transcript", "call_id": …, …}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StoreUpdate {
    /// A call's row was inserted.
    CallStarted {
        /// The call.
        call_id: String,
        /// Who called.
        from_uri: String,
        /// What was dialled.
        to_uri: String,
        /// The dialplan serving it.
        dialplan: Option<String>,
        /// When it started.
        started_at: DateTime<Utc>,
    },
    /// A call was answered.
    CallAnswered {
        /// The call.
        call_id: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// A call ended.
    CallEnded {
        /// The call.
        call_id: String,
        /// When.
        at: DateTime<Utc>,
        /// How (`completed`, `caller_hangup`, …).
        outcome: String,
    },
    /// An event was appended to a call's timeline.
    Event(CallEvent),
    /// A line was appended to a call's transcript.
    Transcript(TranscriptLine),
}

impl StoreUpdate {
    /// The call the update is about.
    pub fn call_id(&self) -> &str {
        match self {
            StoreUpdate::CallStarted { call_id, .. }
            | StoreUpdate::CallAnswered { call_id, .. }
            | StoreUpdate::CallEnded { call_id, .. } => call_id,
            StoreUpdate::Event(event) => &event.call_id,
            StoreUpdate::Transcript(line) => &line.call_id,
        }
    }
}
