//! Switchboard's contact center: agents, skills, queues and the routing decision.
//!
//! [`Acd`] (automatic call distribution) is a sans-IO core in the style of str0m's `Rtc`: the
//! gateway tells it what happened (`call_arrived`, `agent_answered`, `handle_timeout`, …) with
//! the current `Instant`, takes its decisions with [`Acd::poll_output`] and sleeps until
//! [`Acd::poll_timeout`]. It never reads the clock, so a whole day of routing runs in a unit
//! test. Queues and agents come from the `[[queue]]` and `[[agent]]` sections of the config
//! ([`CenterConfig`]), checked completely by [`CenterConfig::validate`].
//!
//! Routing rules, in short:
//!
//! - A queue's line is ordered by [`Priority`], then arrival time. An agent serving several
//!   queues takes the first call among all their lines; a call rings the agent its queue's
//!   [`Strategy`] picks among the free agents with the queue's skills.
//! - After every input no call waits while a free, reachable agent who could take it exists.
//! - A ring that fails (timeout, rejection, the agent leaving) puts the call back at the head of
//!   its line. It rings agents who have not had it first; it rings one who has only when no
//!   other is free, rather than wait beside a free agent.
//! - A call overflowing to another queue keeps its arrival time there (it has waited that
//!   long); its max wait and announcements start over.
//! - The announced wait is the caller's position times the queue's recent wait per place in
//!   line (the moving average over its last 20 answered calls; 30 s before the first).

#![warn(missing_docs)]

mod acd;
mod agent;
mod call;
mod config;
mod error;
mod estimate;
mod ids;
mod priority;
mod queue;
mod snapshot;
mod strategy;
mod timers;

pub use acd::{Acd, AcdOutput};
pub use agent::{AgentState, Presence, RejectReason};
pub use config::{AgentConfig, CenterConfig, OverflowTarget, QueueConfig};
pub use error::{AcdError, ConfigError, ConfigErrors, UnknownPriority};
pub use ids::{AgentId, CallId, QueueId};
pub use priority::Priority;
pub use snapshot::{AgentSnapshot, QueueAgent, QueueSnapshot, RingingCall, WaitingCall};
pub use strategy::Strategy;
