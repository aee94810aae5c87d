//! Every API error is JSON: `{"error": "<what went wrong, for a person>", "detail": <what
//! exactly, or null>}` with the fitting 4xx (or 5xx when the store fails).

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sb_call::agent_desk::DeskError;
use serde_json::{Value, json};

/// An error answer of the API.
#[derive(Debug)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// What went wrong, in a sentence.
    pub error: String,
    /// What exactly (the parameter and value at fault, …), or null.
    pub detail: Value,
}

impl ApiError {
    /// An error with a status, a message and no detail.
    pub fn new(status: StatusCode, error: impl Into<String>) -> ApiError {
        ApiError {
            status,
            error: error.into(),
            detail: Value::Null,
        }
    }

    /// The same error with `detail`.
    pub fn with_detail(mut self, detail: Value) -> ApiError {
        self.detail = detail;
        self
    }

    /// 400 for a query parameter: names it and echoes the value.
    pub fn bad_parameter(name: &str, value: &str, error: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, error)
            .with_detail(json!({ "parameter": name, "value": value }))
    }

    /// 404 for a call id nobody stored.
    pub fn unknown_call(id: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "no call with this id")
            .with_detail(json!({ "id": id }))
    }

    /// 404 for an agent id no `[[agent]]` has.
    pub fn unknown_agent(id: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "no agent with this id")
            .with_detail(json!({ "id": id }))
    }

    /// 401: no valid session cookie or token.
    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "sign in first (POST /api/session) or send Authorization: Bearer <token>",
        )
    }

    /// 403: signed in, but not allowed.
    pub fn forbidden(why: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, why)
    }
}

/// Store failures are the server's fault: logged, and answered with 500 without internals.
impl From<sb_store::StoreError> for ApiError {
    fn from(e: sb_store::StoreError) -> ApiError {
        tracing::error!(error = %e, "store query failed");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "the call store failed")
    }
}

/// The contact center's refusals: an unknown agent is a 404, a stopped center a 503.
impl From<DeskError> for ApiError {
    fn from(e: DeskError) -> ApiError {
        match e {
            DeskError::UnknownAgent(id) => ApiError::unknown_agent(&id),
            DeskError::Stopped => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        }
    }
}

/// A query string that does not decode into name/value pairs.
impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "the query string cannot be read")
            .with_detail(e.body_text().into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.error, "detail": self.detail });
        (self.status, Json(body)).into_response()
    }
}
