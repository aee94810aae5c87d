//! How the web layer reaches the contact center. The web server starts before the gateway (so
//! health checks answer while models load, and agents' phones can be given links into the
//! API), and the center's task is spawned with the gateway: its handle arrives in a slot
//! filled once the gateway is up.

use std::sync::{Arc, OnceLock};

use axum::http::StatusCode;
use sb_call::contact_center::CenterHandle;

use crate::AppState;
use crate::error::ApiError;

/// The contact center's handle, filled once the gateway has started it.
#[derive(Debug, Clone, Default)]
pub struct CenterSlot(Arc<OnceLock<CenterHandle>>);

impl CenterSlot {
    /// Puts the running center's handle in the slot (a second call changes nothing).
    pub fn fill(&self, center: CenterHandle) {
        let _ = self.0.set(center);
    }

    /// The center, once it runs; 503 before it started or after it stopped.
    fn running(&self) -> Result<&CenterHandle, ApiError> {
        match self.0.get() {
            Some(center) if center.is_running() => Ok(center),
            Some(_) => Err(unavailable("the contact center is not running")),
            None => Err(unavailable("the contact center is starting")),
        }
    }
}

impl AppState {
    /// The contact center; 503 when none is configured, or it is not running.
    pub(crate) fn center(&self) -> Result<&CenterHandle, ApiError> {
        self.center
            .as_ref()
            .ok_or_else(|| {
                unavailable("no contact center is configured (no [[queue]] in the config)")
            })?
            .running()
    }
}

/// 503: the center cannot answer now.
fn unavailable(why: &str) -> ApiError {
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, why)
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    use super::*;
    use crate::auth::Accounts;
    use crate::auth::secrets::new_token;
    use crate::config::{Role, TokenConfig};

    /// What `uri` answers (status, the JSON's `error`) on a server whose center is `center`.
    async fn answer(center: Option<CenterSlot>, uri: &str) -> (StatusCode, String) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("calls.db").display());
        let (token, token_hash) = new_token();
        let tokens = vec![TokenConfig {
            name: "boss".into(),
            role: Role::Supervisor,
            token_hash,
            agent_id: None,
        }];
        let state = AppState {
            store: sb_store::Store::open(&url).await.unwrap(),
            accounts: Arc::new(Accounts::new(Vec::new(), tokens).unwrap()),
            sessions: Arc::default(),
            secure_cookies: false,
            center,
            metrics: None,
            scorecard: Arc::default(),
            pii_roles: Arc::new([]),
            audit_windows: Arc::default(),
        };
        let request = Request::get(uri)
            .header("Authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        let response = crate::routes::router(state).oneshot(request).await.unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        (
            status,
            json["error"].as_str().unwrap_or_default().to_string(),
        )
    }

    #[tokio::test]
    async fn without_a_running_center_the_desk_answers_503_and_readyz_waits() {
        let (status, error) = answer(None, "/api/agents").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(error.contains("no contact center is configured"), "{error}");
        assert_eq!(answer(None, "/readyz").await.0, StatusCode::OK);

        let starting = Some(CenterSlot::default());
        let (status, error) = answer(starting.clone(), "/api/queues").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(error.contains("starting"), "{error}");
        let (status, error) = answer(starting, "/readyz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(error.contains("starting"), "{error}");
    }
}
