//! The HTTP side: `POST /orders/status` and `GET /healthz`, every request logged.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::orders::OrderBook;

/// The service's routes over `book`.
pub fn router(book: Arc<OrderBook>) -> Router {
    Router::new()
        .route("/orders/status", post(order_status))
        .route("/healthz", get(healthz))
        .layer(middleware::from_fn(log_request))
        .with_state(book)
}

/// Answers `{"order_id": "4512"}` (text or a number) with the order's status.
async fn order_status(
    State(book): State<Arc<OrderBook>>,
    body: Result<Json<Value>, JsonRejection>,
) -> Response {
    let Json(body) = match body {
        Ok(body) => body,
        Err(rejection) => return bad_request(&rejection.body_text()),
    };
    let order_id = match body.get("order_id") {
        Some(Value::String(id)) => id.clone(),
        Some(Value::Number(id)) => id.to_string(),
        _ => return bad_request("the body needs \"order_id\", e.g. {\"order_id\": \"4512\"}"),
    };
    let reply = book.status(&order_id);
    let status = reply["status"].as_str().unwrap_or("-");
    tracing::info!(order_id, found = %reply["found"], status, "order status");
    Json(reply).into_response()
}

async fn healthz(State(book): State<Arc<OrderBook>>) -> Json<Value> {
    Json(json!({ "ok": true, "orders": book.len() }))
}

fn bad_request(message: &str) -> Response {
    tracing::info!(message, "bad request");
    (StatusCode::BAD_REQUEST, Json(json!({ "error": message }))).into_response()
}

/// One log line per request: method, path, status and time taken.
async fn log_request(request: Request, next: Next) -> Response {
    let (method, path) = (request.method().clone(), request.uri().path().to_string());
    let started = Instant::now();
    let response = next.run(request).await;
    tracing::info!(
        %method,
        path,
        status = response.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "request"
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orders::Order;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Serves a one-order book on a free port; sends `request` raw and returns the response.
    async fn exchange(request: String) -> String {
        let order: Order = serde_json::from_value(json!({
            "order_id": "4512", "status": "shipped", "carrier": "DHL",
            "shipped_on": "Monday", "eta": "Tuesday", "items": 2
        }))
        .unwrap();
        let book = Arc::new(OrderBook::new(vec![order]).unwrap());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router(book)).await });
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        response
    }

    fn post(body: &str) -> String {
        format!(
            "POST /orders/status HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    }

    #[tokio::test]
    async fn answers_order_status() {
        let response = exchange(post(r#"{"order_id": "4512", "caller": "x"}"#)).await;
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(response.contains(r#""found":true"#), "{response}");
        assert!(response.contains(r#""carrier":"DHL""#), "{response}");
        let response = exchange(post(r#"{"order_id": 77777}"#)).await;
        assert!(response.contains(r#""found":false"#), "{response}");
    }

    #[tokio::test]
    async fn bad_requests_get_400_with_a_reason() {
        let response = exchange(post(r#"{"order": "4512"}"#)).await;
        assert!(response.starts_with("HTTP/1.1 400"), "{response}");
        assert!(response.contains("order_id"), "{response}");
        let response = exchange(post("not json")).await;
        assert!(response.starts_with("HTTP/1.1 400"), "{response}");
    }

    #[tokio::test]
    async fn health() {
        let response =
            exchange("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".into()).await;
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(response.contains(r#""orders":1"#), "{response}");
    }
}
