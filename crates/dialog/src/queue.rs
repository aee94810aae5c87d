//! The `queue` step: the caller waits for a human agent. The call does the waiting (the contact
//! center routes, rings and bridges) and reports back: connected, overflowed, or the agent
//! hung up.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{DialplanError, DialplanErrors};
use crate::template::Template;

/// The priority classes a caller can wait in, most urgent first.
pub const PRIORITIES: [&str; 3] = ["complaint", "billing", "general"];
/// The class of callers nothing more is known about.
pub(crate) const DEFAULT_PRIORITY: &str = "general";

/// A `queue` node as written.
#[derive(Debug, Clone)]
pub(crate) struct Queue {
    /// The queue's name in the gateway's configuration.
    pub(crate) name: String,
    /// The priority class; empty or absent: the bot's `handoff_priority`, else general.
    pub(crate) priority: Option<Template>,
    /// Where the call goes once the agent hangs up; absent: the call ends with them.
    pub(crate) next: Option<String>,
    /// Where the call goes when the queue gives up (maximum wait, nobody to take the call).
    pub(crate) on_overflow: String,
    /// Where the call goes when the queue's overflow is `callback` (leave a number); absent:
    /// `on_overflow`.
    pub(crate) on_callback: Option<String>,
}

/// What the call is asked to do by a `queue` step: put the caller in line for an agent.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueRequest {
    /// The queue's name.
    pub queue: String,
    /// One of [`PRIORITIES`].
    pub priority: String,
    /// What the agent should know, one line (the bot's handoff summary, or where the caller
    /// asked for an agent).
    pub summary: String,
    /// The dialplan's variables that have a value (order number, handoff reason, …).
    pub vars: BTreeMap<String, String>,
}

/// Where a dialplan names a queue, for checking the names against the configuration.
#[derive(Debug, Clone)]
pub(crate) struct QueueReference {
    pub(crate) queue: String,
    pub(crate) line: usize,
    pub(crate) column: usize,
}

/// Errors for every queue reference whose name is not among `known`.
pub(crate) fn unknown_queues(
    file: &Path,
    references: &[QueueReference],
    known: &[&str],
) -> Result<(), DialplanErrors> {
    let errors: Vec<DialplanError> = references
        .iter()
        .filter(|r| !known.contains(&r.queue.as_str()))
        .map(|r| DialplanError {
            file: file.to_path_buf(),
            line: r.line,
            column: r.column,
            message: if known.is_empty() {
                format!(
                    "unknown queue `{}`: the configuration defines no queues ([[queue]] in switchboard.toml)",
                    r.queue
                )
            } else {
                format!(
                    "unknown queue `{}`; the configuration defines: {}",
                    r.queue,
                    known.join(", ")
                )
            },
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(DialplanErrors { errors })
    }
}

/// The priority class for a rendered `priority` value and the bot's handoff priority.
pub(crate) fn priority_class(written: &str, handoff: &str) -> String {
    [written, handoff]
        .into_iter()
        .map(|p| p.trim().to_ascii_lowercase())
        .find(|p| PRIORITIES.contains(&p.as_str()))
        .unwrap_or_else(|| DEFAULT_PRIORITY.to_string())
}
