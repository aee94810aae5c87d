//! Performs the dialplan's `webhook` requests over HTTP/1.1, off the call loop.
//!
//! hyper-util's client, not reqwest: the gateway needs plain HTTP/1.1 requests only, hyper is
//! already built for the demo shop's axum, and it adds seconds to the build where reqwest with
//! rustls added well over a minute here (TLS is left to a local proxy for now).

use std::time::Duration;

use crate::pending_input::PendingInput;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::header::{ACCEPT, CONTENT_TYPE, USER_AGENT};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use sb_dialog::{Input, WebhookFailure, WebhookMethod, WebhookRequest};

/// Replies larger than this are not read: a status answer is a few hundred bytes.
const MAX_REPLY_BYTES: usize = 1 << 20;
/// Idle connections to a business system are kept this long, for the next call's request.
const KEEP_IDLE: Duration = Duration::from_secs(30);

/// The HTTP client all calls share (its connection pool included).
#[derive(Debug, Clone)]
pub struct WebhookClient {
    client: Client<HttpConnector, Full<Bytes>>,
    user_agent: String,
}

impl WebhookClient {
    /// A client that names itself `user_agent`.
    pub fn new(user_agent: &str) -> Self {
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(KEEP_IDLE)
            .build(HttpConnector::new());
        Self {
            client,
            user_agent: user_agent.to_string(),
        }
    }

    /// Starts `request` on its own task; its reply (or failure) is the dialplan's next input.
    pub fn send(&self, request: WebhookRequest) -> PendingInput {
        let this = self.clone();
        let task = tokio::spawn(async move {
            let timeout = request.timeout;
            match tokio::time::timeout(timeout, this.exchange(&request)).await {
                Ok(Ok((status, body))) => Input::WebhookReply { status, body },
                Ok(Err((kind, detail))) => Input::WebhookFailed { kind, detail },
                Err(_) => Input::WebhookFailed {
                    kind: WebhookFailure::Timeout,
                    detail: format!("no reply within {} ms", timeout.as_millis()),
                },
            }
        });
        PendingInput::new(task, |e| Input::WebhookFailed {
            kind: WebhookFailure::Connection,
            detail: format!("the request task failed: {e}"),
        })
    }

    /// Sends the request and reads the whole reply: status and body.
    async fn exchange(
        &self,
        request: &WebhookRequest,
    ) -> Result<(u16, String), (WebhookFailure, String)> {
        let (method, body) = match request.method {
            WebhookMethod::Get => (hyper::Method::GET, Vec::new()),
            WebhookMethod::Post => (hyper::Method::POST, json_body(request)),
            WebhookMethod::Put => (hyper::Method::PUT, json_body(request)),
        };
        let mut builder = hyper::Request::builder()
            .method(method)
            .uri(&request.url)
            .header(ACCEPT, "application/json")
            .header(USER_AGENT, &self.user_agent);
        if !body.is_empty() {
            builder = builder.header(CONTENT_TYPE, "application/json");
        }
        let http_request = builder
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| (WebhookFailure::Connection, format!("bad request: {e}")))?;
        let response = self
            .client
            .request(http_request)
            .await
            .map_err(|e| (WebhookFailure::Connection, causes(&e)))?;
        let status = response.status().as_u16();
        let body = Limited::new(response.into_body(), MAX_REPLY_BYTES)
            .collect()
            .await
            .map_err(|e| {
                let why = format!("cannot read the reply: {e}");
                (WebhookFailure::InvalidReply, why)
            })?
            .to_bytes();
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }
}

/// The fields as a JSON object.
fn json_body(request: &WebhookRequest) -> Vec<u8> {
    serde_json::to_vec(&request.fields).unwrap_or_default()
}

/// An error and its causes, which hold the useful part ("Connection refused").
fn causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;
    use tokio::task::JoinHandle;

    fn request(url: String, timeout: Duration) -> WebhookRequest {
        WebhookRequest {
            method: WebhookMethod::Post,
            url,
            fields: BTreeMap::from([("order_id".to_string(), "4512".to_string())]),
            timeout,
        }
    }

    /// A one-shot HTTP server: returns what it received after answering with `response`.
    async fn server(response: &'static str) -> (String, JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/orders/status", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut received = Vec::new();
            let mut buf = [0u8; 4096];
            // Headers, then the 17-byte body.
            while !String::from_utf8_lossy(&received).contains("}") {
                let n = stream.read(&mut buf).await.unwrap();
                received.extend_from_slice(&buf[..n]);
            }
            stream.write_all(response.as_bytes()).await.unwrap();
            String::from_utf8(received).unwrap()
        });
        (url, task)
    }

    #[tokio::test]
    async fn posts_the_fields_as_json_and_returns_status_and_body() {
        let (url, server) = server(
            "HTTP/1.1 404 Not Found\r\nContent-Length: 15\r\nConnection: close\r\n\r\n{\"found\":false}",
        )
        .await;
        let client = WebhookClient::new("Switchboard/test");
        let reply = client
            .send(request(url, Duration::from_secs(5)))
            .input()
            .await;
        assert_eq!(
            reply,
            Input::WebhookReply {
                status: 404,
                body: "{\"found\":false}".into()
            }
        );
        let received = server.await.unwrap();
        assert!(
            received.starts_with("POST /orders/status HTTP/1.1\r\n"),
            "{received}"
        );
        assert!(
            received.contains("content-type: application/json"),
            "{received}"
        );
        assert!(
            received.contains("user-agent: Switchboard/test"),
            "{received}"
        );
        assert!(received.ends_with("{\"order_id\":\"4512\"}"), "{received}");
    }

    #[tokio::test]
    async fn a_closed_port_is_a_connection_failure() {
        let port = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/x");
        let client = WebhookClient::new("t");
        let reply = client
            .send(request(url, Duration::from_secs(5)))
            .input()
            .await;
        let Input::WebhookFailed { kind, detail } = reply else {
            panic!("{reply:?}");
        };
        assert_eq!(kind, WebhookFailure::Connection);
        assert!(detail.to_lowercase().contains("refused"), "{detail}");
    }

    #[tokio::test]
    async fn a_silent_server_is_a_timeout() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/x", listener.local_addr().unwrap());
        let client = WebhookClient::new("t");
        let started = std::time::Instant::now();
        let reply = client
            .send(request(url, Duration::from_millis(300)))
            .input()
            .await;
        assert!(
            matches!(
                reply,
                Input::WebhookFailed {
                    kind: WebhookFailure::Timeout,
                    ..
                }
            ),
            "{reply:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(2));
        drop(listener);
    }
}
