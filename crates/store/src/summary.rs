//! The call row's summary columns (`intent`, `escalated`, `max_frustration`), kept up to date by
//! the writer from the events and transcript lines it stores, in the same transaction: the QA
//! list filters on plain indexed columns instead of searching every call's timeline.

use crate::TranscriptLine;

/// Event kinds whose `data.intent` names what the call is about; the last one named wins.
const INTENT_EVENTS: [&str; 3] = ["kb_answer", "bot_intent", "escalated"];

/// The event kind of a handoff to a person.
const ESCALATED_EVENT: &str = "escalated";

/// One change to a call's summary columns.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SummaryUpdate {
    Intent(String),
    Escalated,
    Frustration(f64),
}

impl SummaryUpdate {
    /// The statement: `$1` is the call id, `$2` the value where there is one.
    pub(crate) fn sql(&self) -> &'static str {
        match self {
            SummaryUpdate::Intent(_) => "UPDATE calls SET intent = $2 WHERE id = $1",
            SummaryUpdate::Escalated => "UPDATE calls SET escalated = TRUE WHERE id = $1",
            SummaryUpdate::Frustration(_) => {
                "UPDATE calls SET max_frustration = $2 WHERE id = $1 \
                 AND (max_frustration IS NULL OR max_frustration < $2)"
            }
        }
    }
}

/// What an event changes in its call's summary.
pub(crate) fn from_event(kind: &str, data: &serde_json::Value) -> Vec<SummaryUpdate> {
    let mut updates = Vec::new();
    if kind == ESCALATED_EVENT {
        updates.push(SummaryUpdate::Escalated);
    }
    if INTENT_EVENTS.contains(&kind) {
        match data["intent"].as_str() {
            Some(intent) if !intent.is_empty() => {
                updates.push(SummaryUpdate::Intent(intent.to_string()))
            }
            _ => {}
        }
    }
    updates
}

/// What a transcript line changes in its call's summary: its frustration score, if it has one.
pub(crate) fn from_transcript(line: &TranscriptLine) -> Option<SummaryUpdate> {
    line.data["emotion"]["score"]
        .as_f64()
        .map(SummaryUpdate::Frustration)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn intents_and_handoffs_come_from_bot_events() {
        assert_eq!(
            from_event("kb_answer", &json!({"intent": "billing"})),
            [SummaryUpdate::Intent("billing".into())]
        );
        assert_eq!(
            from_event("escalated", &json!({"intent": "", "reason": "frustration"})),
            [SummaryUpdate::Escalated]
        );
        assert_eq!(
            from_event("escalated", &json!({"intent": "refund"})),
            [
                SummaryUpdate::Escalated,
                SummaryUpdate::Intent("refund".into())
            ]
        );
        assert!(from_event("dtmf", &json!({"intent": "x"})).is_empty());
        assert!(from_event("bot_intent", &json!(null)).is_empty());
    }

    #[test]
    fn frustration_comes_from_the_lines_emotion() {
        let line = |data| TranscriptLine {
            call_id: "c".into(),
            speaker: crate::Speaker::Caller,
            start_ms: 0,
            end_ms: 1,
            text: "hello".into(),
            confidence: None,
            interrupted_after_ms: None,
            data,
        };
        assert_eq!(
            from_transcript(&line(json!({"emotion": {"score": 0.75}}))),
            Some(SummaryUpdate::Frustration(0.75))
        );
        assert_eq!(from_transcript(&line(json!({"emotion": null}))), None);
        assert_eq!(from_transcript(&line(json!({}))), None);
    }
}
