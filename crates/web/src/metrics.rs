//! `GET /metrics`: the gateway's operational metrics in the Prometheus text format (see
//! `sb_metrics` for the list). No sign-in, like the health checks: scrapers rarely carry
//! credentials, and the numbers hold no caller data (labels are codes, outcomes and queue
//! names). Put the port behind a firewall or proxy when that matters.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::error::ApiError;

/// The content type Prometheus scrapers expect for the text format.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `GET /metrics`
pub(crate) async fn render(State(state): State<AppState>) -> Response {
    match &state.metrics {
        Some(metrics) => {
            ([(header::CONTENT_TYPE, PROMETHEUS_TEXT)], metrics.render()).into_response()
        }
        None => ApiError::new(
            StatusCode::NOT_FOUND,
            "metrics are not recorded in this process",
        )
        .into_response(),
    }
}
