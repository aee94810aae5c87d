//! `/healthz` (the process answers) and `/readyz` (and so do the store and, when configured,
//! the contact center): for load balancers and orchestrators, so no sign-in.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::ApiError;

/// A store that takes longer than this to answer `SELECT 1` is not ready.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// `GET /healthz`
pub(crate) async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /readyz`: 200 once the store answers a query and the contact center (if configured)
/// runs, 503 otherwise.
pub(crate) async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let not_ready = |detail: String| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the call store does not answer",
        )
        .with_detail(detail.into())
    };
    match tokio::time::timeout(READY_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(not_ready(e.to_string())),
        Err(_) => return Err(not_ready(format!("no answer within {READY_TIMEOUT:?}"))),
    }
    // Agents cannot be reached through the desk until the gateway has started the center.
    if state.center.is_some() {
        state.center()?;
    }
    Ok(Json(json!({ "status": "ready" })))
}
