//! The agent desk's agents: `GET /api/agents`, `GET /api/agents/{id}` and
//! `PUT /api/agents/{id}/state` (available or away). The contact center's task owns every
//! agent state; these routes ask it and never keep one of their own.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use sb_call::agent_desk::{AgentView, Presence};
use serde::Deserialize;

use crate::AppState;
use crate::auth::SignedIn;
use crate::error::ApiError;

/// The body of `PUT /api/agents/{id}/state`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StateRequest {
    state: RequestedState,
}

/// The states an agent can ask for; the others follow from calls.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum RequestedState {
    Available,
    Away,
}

/// `GET /api/agents`: every agent (an agent sees only itself).
pub(super) async fn list(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> Result<Json<Vec<AgentView>>, ApiError> {
    let mut agents = state.center()?.agents().await?;
    agents.retain(|agent| signed_in.principal.may_see_agent(&agent.id));
    Ok(Json(agents))
}

/// `GET /api/agents/{id}`
pub(super) async fn detail(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> Result<Json<AgentView>, ApiError> {
    // Refused before looked up, so an agent cannot probe which ids exist.
    signed_in.principal.check_agent_read(&id)?;
    let agents = state.center()?.agents().await?;
    let agent = agents
        .into_iter()
        .find(|agent| agent.id == id)
        .ok_or_else(|| ApiError::unknown_agent(&id))?;
    Ok(Json(agent))
}

/// `PUT /api/agents/{id}/state`: `{"state": "available"}` or `{"state": "away"}`.
pub(super) async fn set_state(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    body: Result<Json<StateRequest>, JsonRejection>,
) -> Result<Json<AgentView>, ApiError> {
    let who = &signed_in.principal;
    who.check_agent_change(&id)?;
    let Json(request) = body.map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "send JSON {\"state\": \"available\"} or {\"state\": \"away\"} with Content-Type: application/json",
        )
        .with_detail(e.body_text().into())
    })?;
    let presence = match request.state {
        RequestedState::Available => Presence::Available,
        RequestedState::Away => Presence::Away,
    };
    let agent = state
        .center()?
        .set_presence(&id, presence, &who.name)
        .await?;
    // There is no audit table yet: the log is the audit trail of who changed whom.
    tracing::info!(
        target: "audit",
        who = %who.name,
        role = %who.role.as_str(),
        via = %if signed_in.session_id.is_some() { "session" } else { "token" },
        agent = %id,
        requested = ?request.state,
        now = ?agent.state,
        "agent state changed through the API"
    );
    Ok(Json(agent))
}
