//! What can be wrong with the config, and with an input the ACD cannot apply.

use std::fmt;

use crate::ids::CallId;

/// One problem in the `[[queue]]` and `[[agent]]` sections.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// Two queues have the same name.
    #[error("duplicate queue name `{0}`")]
    DuplicateQueue(String),
    /// Two agents have the same id.
    #[error("duplicate agent id `{0}`")]
    DuplicateAgent(String),
    /// A queue overflows to a queue that does not exist.
    #[error("queue `{queue}`: overflow to unknown queue `{target}`")]
    UnknownOverflowQueue {
        /// The queue whose `overflow` is wrong.
        queue: String,
        /// The name it gives.
        target: String,
    },
    /// Queues overflow into each other in a circle: a caller would be passed around forever.
    #[error("overflow cycle: {}", .0.join(" → "))]
    OverflowCycle(Vec<String>),
    /// Any other problem with one queue.
    #[error("queue `{queue}`: {problem}")]
    Queue {
        /// The queue.
        queue: String,
        /// What is wrong, for the administrator.
        problem: String,
    },
    /// Any other problem with one agent.
    #[error("agent `{agent}`: {problem}")]
    Agent {
        /// The agent.
        agent: String,
        /// What is wrong, for the administrator.
        problem: String,
    },
}

/// Every problem found in the config, displayed one a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// An input the ACD cannot apply; the state is unchanged. The REST layer answers it with a 4xx,
/// the call task with hanging up the leg it concerns (e.g. an answer that came too late).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AcdError {
    /// No queue has this name.
    #[error("unknown queue `{0}`")]
    UnknownQueue(String),
    /// No agent has this id.
    #[error("unknown agent `{0}`")]
    UnknownAgent(String),
    /// The ACD does not hold this call (never arrived, or already gone).
    #[error("unknown call `{0}`")]
    UnknownCall(String),
    /// A call arrived under an id the ACD already holds.
    #[error("call `{0}` is already in the contact center")]
    DuplicateCall(CallId),
    /// An answer or rejection from an agent the call is not ringing (the ring was cancelled).
    #[error("call `{call}` is not ringing agent `{agent}`")]
    NotRinging {
        /// The call.
        call: String,
        /// The agent.
        agent: String,
    },
    /// `call_ended` for a call no agent has answered.
    #[error("call `{0}` is not connected to an agent")]
    NotConnected(String),
}

/// A priority that is neither a class name nor a number from 0 to 255.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown priority `{0}`: expected complaint, billing, general or a number from 0 to 255")]
pub struct UnknownPriority(pub String);
