//! The HTTP routes, and the JSON answers for paths and methods that are not routes.

mod agents;
mod audit;
mod callbacks;
mod calls;
mod export;
mod list_query;
mod openapi;
pub(crate) mod pii;
mod queues;
mod recording;
mod reports;
mod review;
mod session;

use axum::Router;
use axum::http::{StatusCode, Uri};
use axum::routing::{get, put};

use crate::error::ApiError;
use crate::{AppState, events, health, metrics};

pub(crate) use calls::readable_call;

/// Every route (the OpenAPI document in `src/openapi.json` describes the same set).
pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .merge(crate::ui::router())
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::render))
        .route("/api/openapi.json", get(openapi::document))
        .route(
            "/api/session",
            get(session::current)
                .post(session::sign_in)
                .delete(session::sign_out),
        )
        .route("/api/calls", get(calls::list))
        .route("/api/calls/{id}", get(calls::detail))
        .route("/api/calls/{id}/recording", get(recording::stream))
        .route(
            "/api/calls/{id}/scores",
            get(review::scores).put(review::put_score),
        )
        .route(
            "/api/calls/{id}/comments",
            get(review::comments).post(review::add_comment),
        )
        .route("/api/scorecard", get(review::scorecard))
        .route("/api/export", get(export::export))
        .route("/api/reports", get(reports::report))
        .route("/api/audit", get(audit::list))
        .route("/api/events", get(events::stream))
        .route("/api/agents", get(agents::list))
        .route("/api/agents/{id}", get(agents::detail))
        .route("/api/agents/{id}/state", put(agents::set_state))
        .route("/api/queues", get(queues::list))
        .route("/api/callbacks", get(callbacks::list))
        .route("/api/callbacks/{id}", put(callbacks::update))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no such route (see /api/openapi.json)",
    )
    .with_detail(uri.path().into())
}

async fn method_not_allowed(uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "this route does not take that method (see /api/openapi.json)",
    )
    .with_detail(uri.path().into())
}
