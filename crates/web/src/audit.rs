//! The audit log's writing side: who viewed a call's detail, listened to its recording or
//! exported calls, when and from which address.
//!
//! A player fetches a recording in many range requests, and a page may reload a detail every
//! few seconds, so views and listens are logged once per user, call and
//! [`AUDIT_WINDOW`]; exports every time. The windows are kept in memory: one node logs at most
//! one entry per window, a restart at most one more.
//!
//! A failed audit write does not fail the request (the reviewer did nothing wrong) but is
//! logged as a warning, so it is never silent.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use chrono::Utc;
use sb_store::NewAuditEntry;
use serde_json::Value;

use crate::AppState;
use crate::auth::Principal;

/// One view or listen entry per user and call within this time.
pub const AUDIT_WINDOW: Duration = Duration::from_secs(600);

/// The client's address as the socket sees it (a proxy's address when behind one: forwarded
/// headers are not trusted, anyone can write them).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientAddr(pub Option<SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let addr = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0);
        Ok(ClientAddr(addr))
    }
}

/// The last audited (user, action, call) moments.
#[derive(Debug, Default)]
pub(crate) struct Windows {
    last: Mutex<HashMap<(String, &'static str, String), Instant>>,
}

impl Windows {
    /// Whether `user` doing `action` to `call` at `now` starts a new window (and if so, marks
    /// it).
    pub(crate) fn opens(&self, user: &str, action: &'static str, call: &str, now: Instant) -> bool {
        let mut last = self.last.lock().expect("audit windows lock");
        if last.len() > 10_000 {
            last.retain(|_, at| now.duration_since(*at) < AUDIT_WINDOW);
        }
        let key = (user.to_string(), action, call.to_string());
        match last.get(&key) {
            Some(at) if now.duration_since(*at) < AUDIT_WINDOW => false,
            _ => {
                last.insert(key, now);
                true
            }
        }
    }
}

impl AppState {
    /// Logs `action` by `who`, once per [`AUDIT_WINDOW`] for each call.
    pub(crate) async fn audit_once(
        &self,
        who: &Principal,
        action: &'static str,
        call: &str,
        addr: ClientAddr,
    ) {
        if self
            .audit_windows
            .opens(&who.name, action, call, Instant::now())
        {
            self.audit(who, action, Some(call), addr, Value::Null).await;
        }
    }

    /// Logs `action` by `who`; a failure is logged, not returned.
    pub(crate) async fn audit(
        &self,
        who: &Principal,
        action: &str,
        call: Option<&str>,
        addr: ClientAddr,
        detail: Value,
    ) {
        let entry = NewAuditEntry {
            at: Utc::now(),
            user: who.name.clone(),
            role: who.role.as_str().to_string(),
            action: action.to_string(),
            call_id: call.map(str::to_string),
            address: addr.0.map(|a| a.ip().to_string()),
            detail,
        };
        if let Err(e) = self.store.append_audit(&entry).await {
            tracing::warn!(error = %e, user = %entry.user, action, call = ?entry.call_id,
                "could not write the audit log entry");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_entry_per_user_action_and_call_per_window() {
        let windows = Windows::default();
        let t0 = Instant::now();
        assert!(windows.opens("quinn", "listen", "c1", t0));
        assert!(!windows.opens("quinn", "listen", "c1", t0 + Duration::from_secs(5)));
        assert!(windows.opens("quinn", "view", "c1", t0), "another action");
        assert!(windows.opens("quinn", "listen", "c2", t0), "another call");
        assert!(windows.opens("sue", "listen", "c1", t0), "another user");
        assert!(windows.opens("quinn", "listen", "c1", t0 + AUDIT_WINDOW));
    }
}
