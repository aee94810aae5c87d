//! The contact center's task: it owns the routing core (`sb_center::Acd`) and the agents'
//! registered phones, and talks with the call tasks through channels: a call asks to be
//! queued, the center tells it which agent's phone to ring, when to stop ringing, where it
//! stands in line, and when the queue gives up.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::agent_leg::AgentContact;

/// What the center tells a queued call.
#[derive(Debug, Clone, PartialEq)]
pub enum CenterEvent {
    /// Ring this agent's phone.
    Ring(AgentContact),
    /// Stop ringing this agent (no answer in time).
    CancelRing {
        /// The agent.
        agent: String,
    },
    /// The caller's place in line, for an announcement.
    Waiting {
        /// 1 = next.
        position: usize,
        /// How long the caller will likely wait still.
        estimated_wait: Duration,
    },
    /// The queue gives up on the caller.
    Overflow {
        /// Why, for the timeline (`max_wait`, `no_agents`, …).
        reason: String,
    },
}

/// Why an agent did not take a call they were rung for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotAnswered {
    /// The phone said busy or declined.
    Declined,
    /// The phone could not be reached (no response, error).
    Unreachable,
}

/// What a call tells the center.
#[derive(Debug)]
enum CenterCommand {
    Enqueue {
        call: String,
        queue: String,
        priority: String,
        events: mpsc::UnboundedSender<CenterEvent>,
    },
    Answered {
        call: String,
        agent: String,
    },
    NotAnswered {
        call: String,
        agent: String,
        why: NotAnswered,
    },
    /// The call left: abandoned while waiting or ringing, or the talk is over.
    Left {
        call: String,
    },
}

/// A cheap handle on the center's task.
#[derive(Debug, Clone)]
pub struct CenterHandle {
    tx: mpsc::UnboundedSender<CenterCommand>,
    /// Each queue's music on hold.
    music: Arc<HashMap<String, PathBuf>>,
}

impl CenterHandle {
    /// The music on hold of `queue`, if it has one.
    pub fn music(&self, queue: &str) -> Option<PathBuf> {
        self.music.get(queue).cloned()
    }

    /// Puts `call` in line in `queue`; the center's decisions for it come on `events`.
    pub fn enqueue(
        &self,
        call: &str,
        queue: &str,
        priority: &str,
        events: mpsc::UnboundedSender<CenterEvent>,
    ) {
        self.send(CenterCommand::Enqueue {
            call: call.to_string(),
            queue: queue.to_string(),
            priority: priority.to_string(),
            events,
        });
    }

    /// The agent rung for `call` answered.
    pub fn answered(&self, call: &str, agent: &str) {
        self.send(CenterCommand::Answered {
            call: call.to_string(),
            agent: agent.to_string(),
        });
    }

    /// The agent rung for `call` did not take it.
    pub fn not_answered(&self, call: &str, agent: &str, why: NotAnswered) {
        self.send(CenterCommand::NotAnswered {
            call: call.to_string(),
            agent: agent.to_string(),
            why,
        });
    }

    /// `call` left the center: hung up while waiting or ringing, or its talk is over.
    pub fn left(&self, call: &str) {
        self.send(CenterCommand::Left {
            call: call.to_string(),
        });
    }

    fn send(&self, command: CenterCommand) {
        // A closed center means shutdown: the call ends anyway.
        let _ = self.tx.send(command);
    }
}
