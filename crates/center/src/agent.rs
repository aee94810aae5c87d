//! Agents: the people who answer queued calls, and what they are doing.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::config::AgentConfig;
use crate::ids::{AgentId, CallId};
use crate::queue::QueueIndex;

/// Position of an agent in the ACD's agent list.
pub(crate) type AgentIndex = usize;

/// What an agent is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentState {
    /// Waiting for a call.
    Available,
    /// The agent's phone rings for this call.
    Ringing(CallId),
    /// Talking on this call.
    OnCall(CallId),
    /// After-call work until this instant, then available.
    WrapUp(Instant),
    /// Logged out or on a break; offered no calls.
    Away,
}

/// What an agent asks for at the agent desk (REST).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// Ready for calls (also ends wrap-up early).
    Available,
    /// No calls, please: at once, or after the current call.
    Away,
}

/// Why an agent's phone did not take a call it was rung for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    /// The phone answered busy (486/600): the agent stays available for other calls.
    Busy,
    /// The agent declined (603): the agent stays available for other calls.
    Declined,
    /// The phone could not be reached (408/480/503, transport error): no calls until it is
    /// reachable again.
    Unreachable,
}

/// A queue an agent serves, and the agent's slot among that queue's members.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Membership {
    pub queue: QueueIndex,
    pub slot: usize,
}

/// One agent's state and counters.
pub(crate) struct Agent {
    pub id: AgentId,
    pub name: String,
    pub skills: BTreeMap<String, u8>,
    pub state: AgentState,
    /// Registered and answering OPTIONS; an unreachable agent is offered no calls.
    pub reachable: bool,
    /// Asked to go away during a call: goes away when it ends instead of wrapping up.
    pub away_after_call: bool,
    pub calls_today: u32,
    pub last_call_ended_at: Option<Instant>,
    /// The queues whose skills the agent has, in config order.
    pub queues: Vec<Membership>,
}

impl Agent {
    /// A new agent: away and unreachable until it logs in and its phone registers.
    pub fn new(config: &AgentConfig) -> Self {
        Self {
            id: config.id.as_str().into(),
            name: config.name.clone(),
            skills: config.skills.clone(),
            state: AgentState::Away,
            reachable: false,
            away_after_call: false,
            calls_today: 0,
            last_call_ended_at: None,
            queues: Vec::new(),
        }
    }

    /// Whether a call may be offered to the agent now.
    pub fn is_free(&self) -> bool {
        self.reachable && matches!(self.state, AgentState::Available)
    }
}
