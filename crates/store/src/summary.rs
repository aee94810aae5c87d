//! The call row's summary columns (`intent`, `escalated`, `max_frustration`, and for reports
//! `queued_at`, `agent_answered_at`, `queue_state`, `satisfaction`), kept up to date by the
//! writer from the events and transcript lines it stores, in the same transaction: the QA list
//! and the reports read plain indexed columns instead of searching every call's timeline.

use crate::TranscriptLine;

/// Event kinds whose `data.intent` names what the call is about; the last one named wins.
const INTENT_EVENTS: [&str; 3] = ["kb_answer", "bot_intent", "escalated"];

/// The event kind of a handoff to a person.
const ESCALATED_EVENT: &str = "escalated";

/// The event kind the post-call survey writes: `{"score": 1..5}` (see docs/API.md, reports).
pub const SURVEY_EVENT: &str = "survey_answer";

/// One change to a call's summary columns.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SummaryUpdate {
    Intent(String),
    Escalated,
    Frustration(f64),
    /// The caller entered (or was put back into) a queue at this time (unix ms).
    Queued(i64),
    /// An agent answered at this time (unix ms).
    AgentAnswered(i64),
    /// The queue gave up on the caller (overflow).
    QueueOverflow,
    /// The survey's answer.
    Satisfaction(f64),
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
            SummaryUpdate::Queued(_) => {
                "UPDATE calls SET queued_at = COALESCE(queued_at, $2), queue_state = 'waiting' \
                 WHERE id = $1"
            }
            SummaryUpdate::AgentAnswered(_) => {
                "UPDATE calls SET agent_answered_at = COALESCE(agent_answered_at, $2), \
                 queue_state = 'answered' WHERE id = $1"
            }
            SummaryUpdate::QueueOverflow => {
                "UPDATE calls SET queue_state = 'overflow' WHERE id = $1"
            }
            SummaryUpdate::Satisfaction(_) => "UPDATE calls SET satisfaction = $2 WHERE id = $1",
        }
    }
}

/// What an event logged at `at` (unix ms) changes in its call's summary.
pub(crate) fn from_event(kind: &str, at: i64, data: &serde_json::Value) -> Vec<SummaryUpdate> {
    let mut updates = Vec::new();
    match kind {
        ESCALATED_EVENT => updates.push(SummaryUpdate::Escalated),
        // `requeued`: a transfer to a queue puts the caller back in line.
        "queue_entered" | "requeued" => updates.push(SummaryUpdate::Queued(at)),
        "agent_answered" => updates.push(SummaryUpdate::AgentAnswered(at)),
        "queue_overflow" => updates.push(SummaryUpdate::QueueOverflow),
        SURVEY_EVENT => {
            if let Some(score) = data["score"].as_f64().filter(|s| (1.0..=5.0).contains(s)) {
                updates.push(SummaryUpdate::Satisfaction(score));
            }
        }
        _ => {}
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
            from_event("kb_answer", 0, &json!({"intent": "billing"})),
            [SummaryUpdate::Intent("billing".into())]
        );
        assert_eq!(
            from_event(
                "escalated",
                0,
                &json!({"intent": "", "reason": "frustration"})
            ),
            [SummaryUpdate::Escalated]
        );
        assert_eq!(
            from_event("escalated", 0, &json!({"intent": "refund"})),
            [
                SummaryUpdate::Escalated,
                SummaryUpdate::Intent("refund".into())
            ]
        );
        assert!(from_event("dtmf", 0, &json!({"intent": "x"})).is_empty());
        assert!(from_event("bot_intent", 0, &json!(null)).is_empty());
    }

    #[test]
    fn queue_answer_and_survey_columns_come_from_their_events() {
        assert_eq!(
            from_event("queue_entered", 7, &json!({"queue": "support"})),
            [SummaryUpdate::Queued(7)]
        );
        assert_eq!(
            from_event("agent_answered", 9, &json!({})),
            [SummaryUpdate::AgentAnswered(9)]
        );
        assert_eq!(
            from_event("queue_overflow", 9, &json!({})),
            [SummaryUpdate::QueueOverflow]
        );
        assert_eq!(
            from_event(SURVEY_EVENT, 9, &json!({"score": 4})),
            [SummaryUpdate::Satisfaction(4.0)]
        );
        assert!(from_event(SURVEY_EVENT, 9, &json!({"score": 9})).is_empty());
        assert!(from_event(SURVEY_EVENT, 9, &json!({"score": "good"})).is_empty());
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
