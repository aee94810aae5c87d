//! `GET /api/openapi.json`: the API described in OpenAPI 3.1, a static file kept beside the code
//! (the end-to-end test calls every operation in it).

use axum::http::header;
use axum::response::IntoResponse;

/// The document.
const OPENAPI_JSON: &str = include_str!("../openapi.json");

/// `GET /api/openapi.json` (no sign-in: it describes, it does not reveal).
pub(crate) async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_openapi_3_1_json() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI_JSON).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        assert!(doc["paths"]["/api/calls/{id}/recording"]["get"].is_object());
    }
}
