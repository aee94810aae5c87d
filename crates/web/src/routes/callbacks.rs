//! `GET /api/callbacks` and `PUT /api/callbacks/{id}`: the callback work list (callers who
//! left a number instead of waiting) and marking a request done or failed. Agents work the
//! list, so they see every request; QA reads it; only QA may not change it.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use sb_store::{Callback, CallbackStatus};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::SignedIn;
use crate::config::Role;
use crate::error::ApiError;

/// Most requests one answer lists.
const MAX_LIMIT: u32 = 500;

/// The query of `GET /api/callbacks`.
#[derive(Debug, Deserialize)]
pub(super) struct ListQuery {
    status: Option<String>,
    queue: Option<String>,
    limit: Option<u32>,
}

/// `GET /api/callbacks?status=pending&queue=support&limit=100`: oldest first.
pub(super) async fn list(
    State(state): State<AppState>,
    _signed_in: SignedIn,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(query) = query?;
    let status = query.status.as_deref().map(parse_status).transpose()?;
    let limit = match query.limit {
        None => 100,
        Some(n @ 1..=MAX_LIMIT) => n,
        Some(n) => {
            return Err(ApiError::bad_parameter(
                "limit",
                &n.to_string(),
                format!("`limit` must be between 1 and {MAX_LIMIT}"),
            ));
        }
    };
    let callbacks = state
        .store
        .callbacks(status, query.queue.as_deref(), limit)
        .await?;
    Ok(Json(json!({ "callbacks": callbacks })))
}

/// The body of `PUT /api/callbacks/{id}`.
#[derive(Debug, Deserialize)]
pub(super) struct Update {
    status: String,
}

/// `PUT /api/callbacks/{id}` with `{"status": "done"}` (or `failed`, or `pending` again).
pub(super) async fn update(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    body: Result<Json<Update>, JsonRejection>,
) -> Result<Json<Callback>, ApiError> {
    let who = &signed_in.principal;
    if who.role == Role::Qa {
        return Err(ApiError::forbidden(
            "the qa role may not change callback requests",
        ));
    }
    let Json(update) = body.map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "send JSON {\"status\": \"done\"} with Content-Type: application/json",
        )
        .with_detail(e.body_text().into())
    })?;
    let status = parse_status(&update.status)?;
    let callback = state
        .store
        .set_callback_status(&id, status)
        .await?
        .ok_or_else(|| {
            ApiError::new(StatusCode::NOT_FOUND, "no such callback request")
                .with_detail(json!({ "id": id }))
        })?;
    tracing::info!(
        target: "audit",
        who = %who.name,
        role = %who.role.as_str(),
        callback = %id,
        status = status.as_str(),
        "callback request updated through the API"
    );
    Ok(Json(callback))
}

fn parse_status(text: &str) -> Result<CallbackStatus, ApiError> {
    CallbackStatus::from_name(text).ok_or_else(|| {
        let known: Vec<&str> = CallbackStatus::ALL.iter().map(|s| s.as_str()).collect();
        ApiError::bad_parameter(
            "status",
            text,
            format!("`status` must be one of {}", known.join(", ")),
        )
    })
}
