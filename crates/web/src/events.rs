//! `GET /api/events`: a WebSocket streaming what the store commits, as JSON text messages
//! (`call_started`, `call_answered`, `call_ended`, `event`, `transcript`; see
//! `sb_store::StoreUpdate`), optionally for one call (`?call=ID`).
//!
//! Each socket has its own broadcast receiver: a client that reads slowly falls behind alone,
//! and is told with `{"type": "lagged", "missed": N}` when updates were dropped for it; the store
//! writer never waits for anyone.

use axum::extract::rejection::QueryRejection;
use axum::extract::ws::{
    Message, WebSocket, WebSocketUpgrade, rejection::WebSocketUpgradeRejection,
};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use sb_store::StoreUpdate;
use serde_json::json;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

use crate::AppState;
use crate::auth::SignedIn;
use crate::error::ApiError;
use crate::routes::{pii, readable_call};

type Updates = broadcast::Receiver<std::sync::Arc<StoreUpdate>>;

/// `GET /api/events[?call=ID]`
pub(crate) async fn stream(
    State(state): State<AppState>,
    signed_in: SignedIn,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let call = call_parameter(query)?;
    if signed_in.session_id.is_some() && !same_origin(&headers) {
        // The cookie rides along with a WebSocket opened by any site's page.
        return Err(ApiError::forbidden(
            "a WebSocket opened from another site's page is refused",
        ));
    }
    match &call {
        Some(id) => {
            readable_call(&state, &signed_in.principal, id).await?;
        }
        None if signed_in.principal.agent_id.is_some() => {
            return Err(ApiError::forbidden(
                "agents watch one of their calls at a time: add ?call=ID",
            ));
        }
        None => {}
    }
    let upgrade = upgrade.map_err(|e| {
        ApiError::new(
            e.status(),
            "/api/events is a WebSocket: connect with a WebSocket client",
        )
        .with_detail(e.body_text().into())
    })?;
    // Subscribed before the 101 goes out: whatever is committed after the client sees it
    // connected reaches the client.
    let updates = state.store.subscribe();
    let clear = signed_in.principal.views_pii(&state.pii_roles);
    Ok(upgrade.on_upgrade(move |socket| forward(socket, updates, call, clear)))
}

/// The `call` parameter, the only one there is.
fn call_parameter(
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Option<String>, ApiError> {
    let Query(pairs) = query?;
    let mut call = None;
    for (name, value) in pairs {
        if name != "call" || call.is_some() || value.is_empty() {
            return Err(ApiError::bad_parameter(
                &name,
                &value,
                "/api/events takes one parameter, `call`, once, with a call id",
            ));
        }
        call = Some(value);
    }
    Ok(call)
}

/// Whether the `Origin` header (sent by browsers) names the host the request came to.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, host)| host);
    host.is_some() && origin_host == host
}

/// Sends the updates (of one call, if `call` is set) until the client goes or the store stops.
/// An update as JSON: transcript lines with their `pii` spans, and for a watcher without
/// `view_pii` (`clear` false) their text and the events' data masked, as the call detail
/// shows them.
fn update_json(update: &StoreUpdate, clear: bool) -> Result<String, serde_json::Error> {
    let mut value = serde_json::to_value(update)?;
    match update {
        StoreUpdate::Transcript(line) => {
            let (text, spans) = pii::line_text(line, clear);
            if !clear && !spans.is_empty() {
                value["data"]["words"] = serde_json::Value::Null;
            }
            value["text"] = text.into();
            value["pii"] = serde_json::to_value(spans)?;
        }
        StoreUpdate::Event(_) if !clear => pii::mask_json(&mut value["data"]),
        _ => {}
    }
    serde_json::to_string(&value)
}

async fn forward(mut socket: WebSocket, mut updates: Updates, call: Option<String>, clear: bool) {
    loop {
        tokio::select! {
            update = updates.recv() => {
                let text = match update {
                    Ok(update) if call.as_deref().is_some_and(|c| c != update.call_id()) => continue,
                    Ok(update) => match update_json(&update, clear) {
                        Ok(text) => text,
                        Err(e) => {
                            tracing::error!(error = %e, "cannot serialize a store update");
                            continue;
                        }
                    },
                    Err(RecvError::Lagged(missed)) => {
                        json!({ "type": "lagged", "missed": missed }).to_string()
                    }
                    Err(RecvError::Closed) => break,
                };
                if socket.send(Message::Text(text.into())).await.is_err() {
                    break;
                }
            }
            incoming = socket.recv() => match incoming {
                // The client has nothing to say; reading keeps pings answered.
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_must_match_the_host() {
        let headers = |pairs: &[(header::HeaderName, &str)]| {
            let mut h = HeaderMap::new();
            for (name, value) in pairs {
                h.insert(name, value.parse().unwrap());
            }
            h
        };
        assert!(same_origin(&headers(&[(header::HOST, "127.0.0.1:8080")])));
        assert!(same_origin(&headers(&[
            (header::HOST, "127.0.0.1:8080"),
            (header::ORIGIN, "http://127.0.0.1:8080")
        ])));
        assert!(!same_origin(&headers(&[
            (header::HOST, "127.0.0.1:8080"),
            (header::ORIGIN, "https://evil.example")
        ])));
        assert!(!same_origin(&headers(&[(header::ORIGIN, "http://x")])));
    }

    #[test]
    fn watchers_without_view_pii_get_masked_lines_and_event_data() {
        let line = StoreUpdate::Transcript(sb_store::TranscriptLine {
            call_id: "c".into(),
            speaker: sb_store::Speaker::Caller,
            start_ms: 0,
            end_ms: 1000,
            text: "it is 4111111111111111".into(),
            confidence: None,
            interrupted_after_ms: None,
            data: json!({"words": [{"word": "4111111111111111"}]}),
        });
        let masked: serde_json::Value =
            serde_json::from_str(&update_json(&line, false).unwrap()).unwrap();
        assert_eq!(masked["text"], "it is [card ••••1111]");
        assert_eq!(masked["pii"][0]["kind"], "card");
        assert!(masked["data"]["words"].is_null());
        let clear: serde_json::Value =
            serde_json::from_str(&update_json(&line, true).unwrap()).unwrap();
        assert_eq!(clear["text"], "it is 4111111111111111");
        assert_eq!(clear["pii"][0]["start"], 6);
        let event = StoreUpdate::Event(sb_store::CallEvent {
            call_id: "c".into(),
            seq: 1,
            at: chrono::DateTime::UNIX_EPOCH,
            kind: "slot_value".into(),
            data: json!({"value": "jane@example.com"}),
        });
        assert!(update_json(&event, false).unwrap().contains("[email]"));
        assert!(
            update_json(&event, true)
                .unwrap()
                .contains("jane@example.com")
        );
    }
}
