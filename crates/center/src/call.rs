//! Calls in the contact center: where each one is, and its place in line.

use std::cmp::Reverse;
use std::collections::HashSet;
use std::time::Instant;

use crate::agent::AgentIndex;
use crate::ids::CallId;
use crate::priority::Priority;
use crate::queue::QueueIndex;
use crate::timers::{Timer, Timers};

/// A call's place in line: higher priority first, then earlier arrival; `seq` keeps calls that
/// arrive at the same instant in the order they came and makes every key unique.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct WaitKey {
    pub priority: Reverse<Priority>,
    pub since: Instant,
    pub seq: u64,
}

/// Where a call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallStage {
    /// In its queue's line.
    Waiting,
    /// Ringing this agent until the ring timeout.
    Ringing { agent: AgentIndex, until: Instant },
    /// Talking to this agent.
    Connected { agent: AgentIndex },
}

/// One call the ACD holds.
pub(crate) struct Call {
    pub id: CallId,
    pub queue: QueueIndex,
    pub key: WaitKey,
    pub stage: CallStage,
    /// When the call joined its current queue (its max wait and answer time count from here).
    pub entered_queue_at: Instant,
    /// Its place in line on joining, for the wait estimate.
    pub place_at_entry: usize,
    /// Agents rung for this call who did not take it; not rung again until the others were.
    pub tried: HashSet<AgentIndex>,
    /// The max wait passed while ringing: overflow if this ring fails.
    pub overflow_due: bool,
    pub max_wait_at: Option<Instant>,
    pub next_announce_at: Option<Instant>,
}

impl Call {
    /// A call arriving now, not in any line yet.
    pub fn new(id: CallId, queue: QueueIndex, key: WaitKey, now: Instant) -> Self {
        Self {
            id,
            queue,
            key,
            stage: CallStage::Waiting,
            entered_queue_at: now,
            place_at_entry: 1,
            tried: HashSet::new(),
            overflow_due: false,
            max_wait_at: None,
            next_announce_at: None,
        }
    }

    /// Cancels every deadline of the call: ring timeout, max wait, announcement.
    pub fn cancel_timers(&mut self, timers: &mut Timers) {
        if let CallStage::Ringing { until, .. } = self.stage {
            timers.cancel(until, Timer::RingTimeout(self.id.clone()));
        }
        if let Some(at) = self.max_wait_at.take() {
            timers.cancel(at, Timer::MaxWait(self.id.clone()));
        }
        if let Some(at) = self.next_announce_at.take() {
            timers.cancel(at, Timer::Announce(self.id.clone()));
        }
    }
}
