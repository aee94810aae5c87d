//! The ACD's pending deadlines, earliest first.

use std::collections::BTreeSet;
use std::time::Instant;

use crate::agent::AgentIndex;
use crate::ids::CallId;

/// What happens at a deadline.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Timer {
    /// The agent rung for the call did not answer within the queue's ring timeout.
    RingTimeout(CallId),
    /// The call has waited its queue's max wait.
    MaxWait(CallId),
    /// Time to tell the waiting caller their place in line.
    Announce(CallId),
    /// The agent's after-call work time is over.
    WrapUpEnd(AgentIndex),
}

/// Deadlines ordered by time; a set rather than a heap so a deadline can be cancelled.
#[derive(Default)]
pub(crate) struct Timers {
    pending: BTreeSet<(Instant, Timer)>,
}

impl Timers {
    /// Adds a deadline.
    pub fn schedule(&mut self, at: Instant, timer: Timer) {
        self.pending.insert((at, timer));
    }

    /// Removes a deadline, if it is still pending.
    pub fn cancel(&mut self, at: Instant, timer: Timer) {
        self.pending.remove(&(at, timer));
    }

    /// The earliest deadline.
    pub fn next(&self) -> Option<Instant> {
        self.pending.first().map(|(at, _)| *at)
    }

    /// Takes the earliest deadline if it is due at `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<(Instant, Timer)> {
        if self.next()? <= now {
            self.pending.pop_first()
        } else {
            None
        }
    }
}
