//! Signed-in browser sessions, in memory: a random id in an HttpOnly cookie maps to the user
//! and the session's CSRF token. A restart signs everyone out (no session table to leak).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::Principal;
use super::secrets::random_hex;

/// How long a session lasts after sign-in.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// One signed-in browser.
#[derive(Debug, Clone)]
pub struct Session {
    /// Who signed in.
    pub principal: Principal,
    /// What unsafe requests must send in `X-CSRF-Token`.
    pub csrf_token: String,
    expires: Instant,
}

/// Every live session, by id.
#[derive(Debug, Default)]
pub struct Sessions {
    by_id: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    /// Starts a session for `principal`; returns its id and the session.
    pub fn create(&self, principal: Principal, now: Instant) -> (String, Session) {
        let id = random_hex(32);
        let session = Session {
            principal,
            csrf_token: random_hex(32),
            expires: now + SESSION_LIFETIME,
        };
        let mut all = self.by_id.lock().expect("sessions lock");
        all.retain(|_, s| s.expires > now);
        all.insert(id.clone(), session.clone());
        (id, session)
    }

    /// The session with this id, unless it expired.
    pub fn get(&self, id: &str, now: Instant) -> Option<Session> {
        let all = self.by_id.lock().expect("sessions lock");
        all.get(id).filter(|s| s.expires > now).cloned()
    }

    /// Ends a session.
    pub fn remove(&self, id: &str) {
        self.by_id.lock().expect("sessions lock").remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Role;

    #[test]
    fn sessions_expire_and_end() {
        let sessions = Sessions::default();
        let now = Instant::now();
        let who = Principal::new("ann", Role::Qa, None);
        let (id, session) = sessions.create(who, now);
        assert_eq!(session.csrf_token.len(), 64);
        assert!(sessions.get(&id, now + Duration::from_secs(60)).is_some());
        assert!(sessions.get(&id, now + SESSION_LIFETIME).is_none());
        assert!(sessions.get("other", now).is_none());
        sessions.remove(&id);
        assert!(sessions.get(&id, now).is_none());
    }
}
