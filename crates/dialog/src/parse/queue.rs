//! Reads a `queue` step.

use super::{Reader, Value};
use crate::queue::{PRIORITIES, Queue, QueueReference};

impl Reader<'_> {
    pub(super) fn queue(&mut self, value: &Value<'_>) -> Option<Queue> {
        let table = self.table(
            value,
            "queue",
            &["name", "priority", "next", "on_overflow", "on_callback"],
        )?;
        let span = value.span();
        let name = self
            .required(table, span.clone(), "queue", "name")
            .and_then(|v| {
                let name = self.string(v, "name")?;
                if name.trim().is_empty() {
                    self.error(v.span(), "`name` must name a queue of the configuration");
                    return None;
                }
                let (line, column) = self.diag.position(v.span().start);
                self.queues.push(QueueReference {
                    queue: name.clone(),
                    line,
                    column,
                });
                Some(name)
            });
        let priority = self.optional(table.get("priority"), None, |r, v| {
            let text = r.string(v, "priority")?;
            if !text.contains("${") && !PRIORITIES.contains(&text.as_str()) {
                r.error(
                    v.span(),
                    format!(
                        "unknown priority `{text}`; use one of {} or a ${{variable}}",
                        PRIORITIES.join(", ")
                    ),
                );
                return None;
            }
            r.template_text(v, &text, "priority").map(Some)
        });
        let next = self.optional(table.get("next"), None, |r, v| {
            r.target(v, "next").map(Some)
        });
        let on_overflow = self
            .required(table, span, "queue", "on_overflow")
            .and_then(|v| self.target(v, "on_overflow"));
        let on_callback = self.optional(table.get("on_callback"), None, |r, v| {
            r.target(v, "on_callback").map(Some)
        });
        Some(Queue {
            on_callback: on_callback?,
            name: name?,
            priority: priority?,
            next: next?,
            on_overflow: on_overflow?,
        })
    }
}
