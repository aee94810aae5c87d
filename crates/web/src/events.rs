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
use crate::routes::readable_call;

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
    Ok(upgrade.on_upgrade(move |socket| forward(socket, updates, call)))
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
async fn forward(mut socket: WebSocket, mut updates: Updates, call: Option<String>) {
    loop {
        tokio::select! {
            update = updates.recv() => {
                let text = match update {
                    Ok(update) if call.as_deref().is_some_and(|c| c != update.call_id()) => continue,
                    Ok(update) => match serde_json::to_string(&*update) {
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
}
