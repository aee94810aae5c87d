//! `/api/session`: sign in with a name and password (POST), see who is signed in (GET), sign out
//! (DELETE). The session id travels only in an HttpOnly, SameSite=Strict cookie; the CSRF token
//! comes back in the body for the page to send in `X-CSRF-Token`.

use std::time::Instant;

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::sessions::SESSION_LIFETIME;
use crate::auth::{Principal, SESSION_COOKIE, SignedIn};
use crate::error::ApiError;

/// The body of `POST /api/session`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SignInRequest {
    name: String,
    password: String,
}

/// `POST /api/session`
pub(super) async fn sign_in(
    State(state): State<AppState>,
    body: Result<Json<SignInRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(request) = body.map_err(|e| {
        ApiError::new(
            e.status(),
            "send JSON {\"name\": …, \"password\": …} with Content-Type: application/json",
        )
        .with_detail(e.body_text().into())
    })?;
    let principal = state
        .accounts
        .sign_in(&request.name, &request.password)
        .await
        .ok_or_else(|| {
            tracing::info!(name = %request.name, "sign-in refused");
            ApiError::new(StatusCode::UNAUTHORIZED, "wrong name or password")
        })?;
    tracing::info!(name = %principal.name, role = principal.role.as_str(), "signed in");
    let (id, session) = state.sessions.create(principal, Instant::now());
    let secure = if state.secure_cookies { "; Secure" } else { "" };
    let cookie = format!(
        "{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        SESSION_LIFETIME.as_secs()
    );
    let body = who(&session.principal, Some(&session.csrf_token), "session");
    Ok(([(header::SET_COOKIE, cookie)], Json(body)).into_response())
}

/// `GET /api/session`: who is signed in, and the session's CSRF token (for a page reloaded).
pub(super) async fn current(signed_in: SignedIn) -> Json<Value> {
    let via = if signed_in.session_id.is_some() {
        "session"
    } else {
        "token"
    };
    Json(who(
        &signed_in.principal,
        signed_in.csrf_token.as_deref(),
        via,
    ))
}

/// `DELETE /api/session`
pub(super) async fn sign_out(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> Result<Response, ApiError> {
    let id = signed_in.session_id.ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "signed in with a token: there is no session to end",
        )
    })?;
    state.sessions.remove(&id);
    let expired = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, expired)]).into_response())
}

fn who(principal: &Principal, csrf_token: Option<&str>, via: &str) -> Value {
    json!({
        "name": principal.name,
        "role": principal.role.as_str(),
        "agent_id": principal.agent_id,
        "csrf_token": csrf_token,
        "via": via,
    })
}
