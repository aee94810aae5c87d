//! `GET /api/queues`: each queue's waiting and ringing calls and its agents, for supervisors
//! and QA (not agents).

use axum::Json;
use axum::extract::State;
use sb_call::agent_desk::QueueView;

use crate::AppState;
use crate::auth::SignedIn;
use crate::error::ApiError;

/// `GET /api/queues`
pub(super) async fn list(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> Result<Json<Vec<QueueView>>, ApiError> {
    signed_in.principal.check_queue_read()?;
    Ok(Json(state.center()?.queues().await?))
}
