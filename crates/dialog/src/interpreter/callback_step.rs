//! The `callback` step in the interpreter: takes the number to call back (entered, or the
//! caller's own), asks the call to store the request, and moves on at once.

use serde_json::json;

use super::{DialplanInterpreter, Output};
use crate::callback::{Callback, CallbackRequest, callback_number};

impl DialplanInterpreter {
    /// Enters a callback step.
    pub(super) fn callback_enter(&mut self, callback: &Callback) -> Option<String> {
        let entered = callback
            .number
            .as_ref()
            .map(|t| t.render(&self.vars))
            .unwrap_or_default();
        let caller = self.vars.get("caller").cloned().unwrap_or_default();
        let Some(number) = callback_number(&entered, &caller) else {
            self.event(
                "callback_refused",
                json!({ "node": self.node, "entered": entered, "reason": "no usable phone number" }),
            );
            return Some(
                callback
                    .on_invalid
                    .clone()
                    .unwrap_or_else(|| callback.next.clone()),
            );
        };
        let queue = callback.queue.clone().or_else(|| self.last_queue.clone());
        let (summary, vars) = self.handoff_context();
        self.event(
            "callback_requested",
            json!({ "node": self.node, "number": number, "queue": queue }),
        );
        self.outputs.push_back(Output::Callback(CallbackRequest {
            number,
            queue,
            summary,
            vars,
        }));
        Some(callback.next.clone())
    }
}
