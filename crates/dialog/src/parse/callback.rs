//! Reads a `callback` step.

use super::{Reader, Value};
use crate::callback::Callback;
use crate::queue::QueueReference;

impl Reader<'_> {
    pub(super) fn callback(&mut self, value: &Value<'_>) -> Option<Callback> {
        let table = self.table(
            value,
            "callback",
            &["number", "queue", "next", "on_invalid"],
        )?;
        let span = value.span();
        let number = self.optional(table.get("number"), None, |r, v| {
            let text = r.string(v, "number")?;
            r.template_text(v, &text, "number").map(Some)
        });
        let queue = self.optional(table.get("queue"), None, |r, v| {
            let name = r.string(v, "queue")?;
            if name.trim().is_empty() {
                r.error(v.span(), "`queue` must name a queue of the configuration");
                return None;
            }
            let (line, column) = r.diag.position(v.span().start);
            r.queues.push(QueueReference {
                queue: name.clone(),
                line,
                column,
            });
            Some(Some(name))
        });
        let next = self
            .required(table, span, "callback", "next")
            .and_then(|v| self.target(v, "next"));
        let on_invalid = self.optional(table.get("on_invalid"), None, |r, v| {
            r.target(v, "on_invalid").map(Some)
        });
        Some(Callback {
            number: number?,
            queue: queue?,
            next: next?,
            on_invalid: on_invalid?,
        })
    }
}
