//! What a `bot` step hands over with the caller: a one-line summary and the details, so the
//! person taking the call does not ask everything again.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::bot::{Conversation, KbAnswer};
use crate::escalation::{Reading, Reason};

/// The variables set on escalation.
pub(crate) const REASON_VAR: &str = "handoff_reason";
pub(crate) const INTENT_VAR: &str = "handoff_intent";
pub(crate) const SUMMARY_VAR: &str = "handoff_summary";
pub(crate) const PRIORITY_VAR: &str = "handoff_priority";
/// Readings of the caller's frustration kept for the handoff, the latest last.
pub(crate) const READINGS_KEPT: usize = 10;
/// A trend from this on is called rising in the summary.
const RISING_TREND: f32 = 0.05;

/// A score for the timeline: three decimals, so 0.7 is not logged as 0.699999988079071.
fn rounded(value: f32) -> f64 {
    (f64::from(value) * 1000.0).round() / 1000.0
}

/// The handoff: variables for the dialplan and the `escalated` event's data.
pub(crate) struct Handoff {
    pub(crate) vars: Vec<(String, String)>,
    pub(crate) event: Value,
}

/// The handoff from node `node` to `target`: `intent` is the one in view (this turn's
/// answer, else the one served), `readings` the caller's frustration over the call.
pub(crate) fn handoff(
    node: &str,
    target: &str,
    conversation: &Conversation,
    intent: Option<&KbAnswer>,
    reason: &Reason,
    readings: &[Reading],
) -> Handoff {
    let slots: BTreeMap<&str, &str> = conversation
        .intent()
        .filter(|serving| intent.is_some_and(|i| i.intent == serving.answer.intent))
        .map(|serving| {
            serving
                .values
                .iter()
                .map(|(name, v)| (name.as_str(), v.value.as_str()))
                .collect()
        })
        .unwrap_or_default();
    let name = intent.map_or("", |i| i.intent.as_str());
    let priority = intent.and_then(|i| i.priority.as_deref()).unwrap_or("");
    let mut summary = vec![if name.is_empty() { "no intent" } else { name }.to_string()];
    summary.extend(slots.iter().map(|(k, v)| format!("{k}={v}")));
    if let Some(latest) = readings.last() {
        let rising = if latest.trend >= RISING_TREND {
            " rising"
        } else {
            ""
        };
        summary.push(format!("frustration {:.2}{rising}", latest.score));
    }
    summary.push(reason.describe());
    if let Some(last) = conversation.utterances.back() {
        summary.push(format!("last: '{last}'"));
    }
    let summary = summary.join("; ");
    let event = json!({
        "node": node,
        "reason": reason.kind(),
        "detail": reason.describe(),
        "intent": name,
        "priority": priority,
        "slots": slots,
        "utterances": conversation.utterances,
        "frustration": readings
            .iter()
            .map(|r| json!({ "score": rounded(r.score), "trend": rounded(r.trend), "cues": r.cues }))
            .collect::<Vec<_>>(),
        "answers": conversation
            .told
            .iter()
            .map(|(intent, text)| json!({ "intent": intent, "text": text }))
            .collect::<Vec<_>>(),
        "summary": summary,
        "target": target,
    });
    let vars = [
        (REASON_VAR, reason.kind().to_string()),
        (INTENT_VAR, name.to_string()),
        (SUMMARY_VAR, summary),
        (PRIORITY_VAR, priority.to_string()),
    ]
    .map(|(k, v)| (k.to_string(), v))
    .to_vec();
    Handoff { vars, event }
}
