//! `GET /api/calls` (the filtered, paged list) and `GET /api/calls/{id}` (one call with its
//! timeline, transcript and handoff).

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use chrono::{DateTime, Utc};
use sb_store::{CallEvent, CallRecord, Speaker, TranscriptLine};
use serde::Serialize;
use serde_json::{Value, json};

use super::list_query::{self, ListQuery};
use super::pii::{self, PiiView};
use crate::AppState;
use crate::audit::ClientAddr;
use crate::auth::{Principal, SignedIn};
use crate::error::ApiError;

/// The event kind whose data is the bot's handoff summary.
const HANDOFF_EVENT: &str = "escalated";

/// A call as the API shows it, in the list, the detail and the export.
#[derive(Debug, Serialize)]
pub(super) struct CallView<'a> {
    id: &'a str,
    started_at: DateTime<Utc>,
    answered_at: Option<DateTime<Utc>>,
    ended_at: Option<DateTime<Utc>>,
    /// From the start to the end; null while the call runs.
    duration_ms: Option<i64>,
    /// The user part of the From URI (the caller's number).
    caller: &'a str,
    /// The user part of the To URI (the number dialled).
    dialled: &'a str,
    from_uri: &'a str,
    to_uri: &'a str,
    dialplan: Option<&'a str>,
    outcome: Option<&'a str>,
    intent: Option<&'a str>,
    escalated: bool,
    max_frustration: Option<f64>,
    agent_id: Option<&'a str>,
    recording_url: Option<String>,
}

impl<'a> CallView<'a> {
    pub(super) fn of(call: &'a CallRecord) -> CallView<'a> {
        CallView {
            id: &call.id,
            started_at: call.started_at,
            answered_at: call.answered_at,
            ended_at: call.ended_at,
            duration_ms: call
                .ended_at
                .map(|end| (end - call.started_at).num_milliseconds()),
            caller: sip_user(&call.from_uri),
            dialled: sip_user(&call.to_uri),
            from_uri: &call.from_uri,
            to_uri: &call.to_uri,
            dialplan: call.dialplan.as_deref(),
            outcome: call.outcome.as_deref(),
            intent: call.intent.as_deref(),
            escalated: call.escalated,
            max_frustration: call.max_frustration,
            agent_id: call.agent_id.as_deref(),
            recording_url: call
                .recording_path
                .as_ref()
                .map(|_| format!("/api/calls/{}/recording", call.id)),
        }
    }
}

/// A transcript line as the API shows it: the emotion reading lifted out of `data`, personal
/// data found in the text (masked for roles without `view_pii`).
#[derive(Debug, Serialize)]
struct LineView<'a> {
    speaker: Speaker,
    start_ms: u64,
    end_ms: u64,
    text: String,
    /// Personal data in `text` (offsets in the text shown).
    pii: Vec<PiiView>,
    confidence: Option<f32>,
    interrupted_after_ms: Option<u64>,
    /// The frustration score 0..1 of a caller line, when it was scored.
    frustration: Option<f64>,
    /// The whole emotion reading (cues, parts), or null.
    emotion: &'a Value,
    /// Word timings, or null (also when masked text has personal data: the words would
    /// spell it out).
    words: &'a Value,
}

impl<'a> LineView<'a> {
    fn of(line: &'a TranscriptLine, clear: bool) -> LineView<'a> {
        let emotion = &line.data["emotion"];
        let (text, pii) = pii::line_text(line, clear);
        let words = if clear || pii.is_empty() {
            &line.data["words"]
        } else {
            &Value::Null
        };
        LineView {
            speaker: line.speaker,
            start_ms: line.start_ms,
            end_ms: line.end_ms,
            text,
            pii,
            confidence: line.confidence,
            interrupted_after_ms: line.interrupted_after_ms,
            frustration: emotion["score"].as_f64(),
            emotion,
            words,
        }
    }
}

/// `sip:+15550001@trunk;user=phone` → `+15550001`; a URI without a user part stays whole.
fn sip_user(uri: &str) -> &str {
    let rest = ["sip:", "sips:", "tel:"]
        .iter()
        .find_map(|scheme| uri.strip_prefix(scheme))
        .unwrap_or(uri);
    let end = rest.find(['@', ';']).unwrap_or(rest.len());
    if end == 0 { uri } else { &rest[..end] }
}

/// `GET /api/calls`
pub(super) async fn list(
    State(state): State<AppState>,
    signed_in: SignedIn,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(pairs) = query?;
    let ListQuery { mut filter, limit } = list_query::parse(&pairs)?;
    let who = &signed_in.principal;
    who.restrict(&mut filter)?;
    pii::check_search(&filter, who.views_pii(&state.pii_roles))?;
    // One more than asked: whether it comes tells whether there is a next page.
    filter.limit = Some(limit + 1);
    let mut calls = state.store.list_calls(&filter).await?;
    let more = calls.len() > limit as usize;
    calls.truncate(limit as usize);
    let next_cursor = calls.last().filter(|_| more).map(list_query::cursor);
    let views: Vec<CallView> = calls.iter().map(CallView::of).collect();
    Ok(Json(json!({ "calls": views, "next_cursor": next_cursor })))
}

/// `GET /api/calls/{id}`: personal data masked for roles without `view_pii`, in the
/// transcript and in the events' data; audited as a `view`.
pub(super) async fn detail(
    State(state): State<AppState>,
    signed_in: SignedIn,
    addr: ClientAddr,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let who = &signed_in.principal;
    let call = readable_call(&state, who, &id).await?;
    let (mut events, transcript) =
        tokio::try_join!(state.store.call_events(&id), state.store.transcript(&id))?;
    let clear = who.views_pii(&state.pii_roles);
    if !clear {
        // Slots, collected digits, webhook replies and summaries may repeat what was said.
        for event in &mut events {
            pii::mask_json(&mut event.data);
        }
    }
    let handoff = events
        .iter()
        .rev()
        .find(|e| e.kind == HANDOFF_EVENT)
        .map(handoff);
    let lines: Vec<LineView> = transcript.iter().map(|l| LineView::of(l, clear)).collect();
    state.audit_once(who, "view", &id, addr).await;
    Ok(Json(json!({
        "call": CallView::of(&call),
        "events": events,
        "transcript": lines,
        "handoff": handoff,
    })))
}

/// The handoff summary: the `escalated` event's data with its time.
fn handoff(event: &CallEvent) -> Value {
    let mut summary = match &event.data {
        Value::Object(fields) => fields.clone(),
        other => [("data".to_string(), other.clone())].into_iter().collect(),
    };
    summary.insert("at".into(), json!(event.at));
    Value::Object(summary)
}

/// The call with this id, if it exists (404) and `principal` may read it (403).
pub(crate) async fn readable_call(
    state: &AppState,
    principal: &Principal,
    id: &str,
) -> Result<CallRecord, ApiError> {
    let call = state
        .store
        .get_call(id)
        .await?
        .ok_or_else(|| ApiError::unknown_call(id))?;
    if !principal.may_read(&call) {
        return Err(
            ApiError::forbidden("this call is not one of yours").with_detail(json!({ "id": id }))
        );
    }
    Ok(call)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_come_from_the_user_part() {
        assert_eq!(sip_user("sip:+15550001@trunk;user=phone"), "+15550001");
        assert_eq!(sip_user("sips:200@sb"), "200");
        assert_eq!(sip_user("tel:+44123;ext=1"), "+44123");
        assert_eq!(sip_user("sip:trunk.example"), "trunk.example");
        assert_eq!(sip_user("sip:@x"), "sip:@x");
    }

    #[test]
    fn the_handoff_is_the_event_data_with_its_time() {
        let event = CallEvent {
            call_id: "c".into(),
            seq: 9,
            at: DateTime::UNIX_EPOCH,
            kind: HANDOFF_EVENT.into(),
            data: json!({"reason": "frustration", "summary": "billing"}),
        };
        let h = handoff(&event);
        assert_eq!(h["reason"], "frustration");
        assert_eq!(h["at"], "1970-01-01T00:00:00Z");
    }
}
