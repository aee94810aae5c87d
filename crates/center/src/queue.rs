//! Queues: their settings, the agents who can serve them, and their line of waiting calls.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::agent::AgentIndex;
use crate::call::WaitKey;
use crate::config::{OverflowTarget, QueueConfig};
use crate::estimate::WaitEstimate;
use crate::ids::{CallId, QueueId};
use crate::strategy::Strategy;

/// Position of a queue in the ACD's queue list.
pub(crate) type QueueIndex = usize;

/// An agent with the queue's skills, and its summed level in them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Member {
    pub agent: AgentIndex,
    pub level: u32,
}

/// One queue at run time.
pub(crate) struct Queue {
    pub id: QueueId,
    pub strategy: Strategy,
    pub ring_timeout: Duration,
    pub max_wait: Option<Duration>,
    pub overflow: Option<OverflowTarget>,
    pub announce_every: Option<Duration>,
    pub wrap_up: Duration,
    pub music: Option<String>,
    /// Agents with the skills, in config order (round robin goes through them in this order).
    pub members: Vec<Member>,
    /// The member slot the round-robin turn continues from.
    pub round_robin_next: usize,
    /// Waiting calls (not ringing), in the order they are to be answered.
    pub waiting: BTreeMap<WaitKey, CallId>,
    pub wait_estimate: WaitEstimate,
}

impl Queue {
    /// A queue from its config, without members yet.
    pub fn new(config: &QueueConfig) -> Self {
        Self {
            id: config.name.as_str().into(),
            strategy: config.strategy,
            ring_timeout: Duration::from_secs(config.ring_timeout_secs),
            max_wait: config.max_wait_secs.map(Duration::from_secs),
            overflow: config.overflow.clone(),
            announce_every: config.announce_every_secs.map(Duration::from_secs),
            wrap_up: Duration::from_secs(config.wrap_up_secs),
            music: config.music.clone(),
            members: Vec::new(),
            round_robin_next: 0,
            waiting: BTreeMap::new(),
            wait_estimate: WaitEstimate::default(),
        }
    }

    /// The 1-based place in line of a call with this key (waiting or about to wait).
    pub fn position_of(&self, key: WaitKey) -> usize {
        self.waiting.range(..key).count() + 1
    }
}
