//! The `queue` step in the interpreter: the caller waits for an agent, talks with them, and the
//! call goes on at `next` (or ends) when the agent hangs up, or at `on_overflow` when the queue
//! gives up.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use serde_json::json;

use super::{DialplanInterpreter, Output, State};
use crate::format::Action;
use crate::handoff::{PRIORITY_VAR, SUMMARY_VAR};
use crate::queue::{Queue, QueueRequest, priority_class};

impl DialplanInterpreter {
    /// Enters a queue step: asks the call to queue the caller.
    pub(super) fn queue_enter(&mut self, now: Instant, queue: &Queue) -> Option<String> {
        let written = queue
            .priority
            .as_ref()
            .map(|t| t.render(&self.vars))
            .unwrap_or_default();
        let handoff = self.vars.get(PRIORITY_VAR).cloned().unwrap_or_default();
        let priority = priority_class(&written, &handoff);
        let (summary, vars) = self.handoff_context();
        self.event(
            "queue_entered",
            json!({ "node": self.node, "queue": queue.name, "priority": priority, "summary": summary }),
        );
        self.state = State::Queued { since: now };
        self.last_queue = Some(queue.name.clone());
        self.outputs.push_back(Output::Queue(QueueRequest {
            queue: queue.name.clone(),
            priority,
            summary,
            vars,
        }));
        None
    }

    /// An agent took the call: the dialplan waits until they hang up.
    pub(super) fn agent_connected(&mut self, now: Instant, agent: String) -> Option<String> {
        let State::Queued { since } = self.state else {
            return None;
        };
        self.event(
            "agent_connected",
            json!({
                "node": self.node,
                "agent": agent,
                "waited_ms": now.saturating_duration_since(since).as_millis() as u64,
            }),
        );
        self.state = State::WithAgent { since: now };
        None
    }

    /// The queue gave up on the caller: on to `node` if this dialplan has it, else the step's
    /// `on_callback` when the queue offers a callback and the step has one, else its
    /// `on_overflow`.
    pub(super) fn queue_overflow(
        &mut self,
        now: Instant,
        reason: String,
        node: Option<String>,
        callback: bool,
    ) -> Option<String> {
        let State::Queued { since } = self.state else {
            return None;
        };
        let step_target = self.with_queue(|queue| match (&queue.on_callback, callback) {
            (Some(on_callback), true) => on_callback.clone(),
            _ => queue.on_overflow.clone(),
        })?;
        let target = node
            .filter(|n| self.plan.nodes.contains_key(n))
            .unwrap_or(step_target);
        self.event(
            "queue_overflow",
            json!({
                "node": self.node,
                "reason": reason,
                "waited_ms": now.saturating_duration_since(since).as_millis() as u64,
                "target": target,
            }),
        );
        self.state = State::Moving;
        Some(target)
    }

    /// The agent hung up: on to the step's `next`, or the call ends.
    pub(super) fn agent_hung_up(&mut self, now: Instant) -> Option<String> {
        let State::WithAgent { since } = self.state else {
            return None;
        };
        let next = self.with_queue(|queue| queue.next.clone());
        let talked_ms = now.saturating_duration_since(since).as_millis() as u64;
        self.event(
            "agent_hung_up",
            json!({ "node": self.node, "talked_ms": talked_ms, "target": next }),
        );
        match next.flatten() {
            Some(target) => {
                self.state = State::Moving;
                Some(target)
            }
            None => {
                self.outputs.push_back(Output::Hangup {
                    reason: "the agent ended the call".to_string(),
                });
                self.state = State::Finished;
                None
            }
        }
    }

    /// What an agent should know about the caller: the bot's handoff summary (or where the
    /// caller asked for an agent) and the variables that have a value.
    pub(super) fn handoff_context(&self) -> (String, BTreeMap<String, String>) {
        let summary = match self.vars.get(SUMMARY_VAR).filter(|s| !s.is_empty()) {
            Some(summary) => summary.clone(),
            None => format!("asked for an agent at `{}`", self.node),
        };
        let vars = self
            .vars
            .iter()
            .filter(|(_, value)| !value.is_empty())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        (summary, vars)
    }

    fn with_queue<T>(&self, f: impl FnOnce(&Queue) -> T) -> Option<T> {
        let plan = Arc::clone(&self.plan);
        match plan.nodes.get(&self.node) {
            Some(Action::Queue(queue)) => Some(f(queue)),
            _ => None,
        }
    }
}
