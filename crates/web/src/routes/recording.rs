//! `GET /api/calls/{id}/recording`: the call's WAV with HTTP range requests (206 with
//! Content-Range, Accept-Ranges, 416 for a range past the end), so a browser's audio player can
//! seek. tower-http's `ServeFile` does the range arithmetic; a recording still being written is
//! served up to what is on disk.
//!
//! Roles without `view_pii` get the bleeped copy (`crate::bleep`) when the transcript has
//! personal data. Listening is audited once per user, call and 10 minutes (a player's range
//! requests are one listen).

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tower::ServiceExt;
use tower_http::services::ServeFile;

use std::path::PathBuf;

use crate::AppState;
use crate::audit::ClientAddr;
use crate::auth::SignedIn;
use crate::bleep;
use crate::error::ApiError;
use crate::routes::pii;
use crate::routes::readable_call;

/// `GET /api/calls/{id}/recording`
pub(super) async fn stream(
    State(state): State<AppState>,
    signed_in: SignedIn,
    addr: ClientAddr,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    let who = &signed_in.principal;
    let call = readable_call(&state, who, &id).await?;
    let path = call.recording_path.ok_or_else(|| {
        ApiError::new(StatusCode::NOT_FOUND, "this call has no recording")
            .with_detail(json!({ "id": id }))
    })?;
    if !std::path::Path::new(&path).is_file() {
        tracing::warn!(call = %id, path, "recording file is missing");
        return Err(
            ApiError::new(StatusCode::NOT_FOUND, "the recording file is missing")
                .with_detail(json!({ "id": id })),
        );
    }
    let path = if who.views_pii(&state.pii_roles) {
        PathBuf::from(path)
    } else {
        bleeped(&state, &id, PathBuf::from(path)).await?
    };
    state.audit_once(who, "listen", &id, addr).await;
    let range = request.headers().get(header::RANGE).cloned();
    let response = ServeFile::new(&path)
        .oneshot(request)
        .await
        .map(|r| r.map(Body::new))
        .unwrap_or_else(|never| match never {});
    if response.status() != StatusCode::RANGE_NOT_SATISFIABLE {
        return Ok(response);
    }
    // Keep `Content-Range: bytes */<size>`, say why in JSON.
    let mut error = ApiError::new(
        StatusCode::RANGE_NOT_SATISFIABLE,
        "the requested range is not within the recording (one range, inside its size)",
    )
    .with_detail(json!({ "range": range.as_ref().and_then(|r| r.to_str().ok()) }))
    .into_response();
    if let Some(size) = response.headers().get(header::CONTENT_RANGE) {
        error
            .headers_mut()
            .insert(header::CONTENT_RANGE, size.clone());
    }
    Ok(error)
}

/// The recording to serve a role without `view_pii`: the original when the transcript has no
/// personal data, else its bleeped copy (made on the blocking pool the first time).
async fn bleeped(state: &AppState, id: &str, original: PathBuf) -> Result<PathBuf, ApiError> {
    let spans = pii::recording_spans(&state.store.transcript(id).await?);
    if spans.is_empty() {
        return Ok(original);
    }
    let made = tokio::task::spawn_blocking(move || bleep::bleeped_copy(&original, &spans)).await;
    match made {
        Ok(Ok(path)) => Ok(path),
        failed => {
            // Never fall back to the original: that would play the personal data.
            tracing::error!(call = %id, error = ?failed, "cannot make the bleeped recording");
            Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the recording could not be prepared with personal data bleeped",
            )
            .with_detail(json!({ "id": id })))
        }
    }
}
