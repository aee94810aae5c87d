//! Who is asking: a browser session (cookie + CSRF token) or an API token (`Authorization:
//! Bearer`), and what their role lets them read. Every `/api` route but the OpenAPI document
//! and sign-in takes a [`SignedIn`], so an unauthenticated request never reaches a handler.

mod desk;
pub mod first_admin;
mod review;
pub mod secrets;
pub mod sessions;

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, header};
use sb_store::{CallFilter, CallRecord};

use crate::AppState;
use crate::config::{Role, TokenConfig, UserConfig};
use crate::error::ApiError;
use secrets::{same_secret, token_hash, verify_password};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "sb_session";
/// The header unsafe requests of a session carry its CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A user or token, with what its role allows.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    /// User or token name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// For agents: the agent id their calls carry.
    pub agent_id: Option<String>,
}

impl Principal {
    /// A principal; agents get `agent_id`, or their name when it is not given.
    pub fn new(name: &str, role: Role, agent_id: Option<&str>) -> Principal {
        Principal {
            name: name.to_string(),
            role,
            agent_id: (role == Role::Agent).then(|| agent_id.unwrap_or(name).to_string()),
        }
    }

    /// Whether this principal may read `call`: agents only their own.
    pub fn may_read(&self, call: &CallRecord) -> bool {
        match &self.agent_id {
            Some(mine) => call.agent_id.as_deref() == Some(mine.as_str()),
            None => true,
        }
    }

    /// Narrows a list to what this principal may read; asking for another agent is a 403.
    pub fn restrict(&self, filter: &mut CallFilter) -> Result<(), ApiError> {
        let Some(mine) = &self.agent_id else {
            return Ok(());
        };
        if filter.agent_id.as_ref().is_some_and(|asked| asked != mine) {
            return Err(ApiError::forbidden("agents may list only their own calls"));
        }
        filter.agent_id = Some(mine.clone());
        Ok(())
    }
}

/// The configured users and tokens.
#[derive(Debug)]
pub struct Accounts {
    users: Vec<UserConfig>,
    tokens: Vec<TokenConfig>,
}

impl Accounts {
    /// Checks the accounts: unique names, argon2 password hashes, SHA-256 token hashes.
    pub fn new(users: Vec<UserConfig>, tokens: Vec<TokenConfig>) -> Result<Accounts, String> {
        for (i, user) in users.iter().enumerate() {
            if users[..i].iter().any(|u| u.name == user.name) {
                return Err(format!("[[user]] {:?} is configured twice", user.name));
            }
            secrets::check_password_hash(&user.password_hash)
                .map_err(|e| format!("[[user]] {:?}: password_hash is {e}", user.name))?;
        }
        let tokens: Vec<TokenConfig> = tokens
            .into_iter()
            .map(|mut t| {
                t.token_hash.make_ascii_lowercase();
                t
            })
            .collect();
        for token in &tokens {
            let hash = &token.token_hash;
            if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!(
                    "[[token]] {:?}: token_hash must be the token's SHA-256 in hex (64 characters; `switchboard user new-token` makes both)",
                    token.name
                ));
            }
        }
        Ok(Accounts { users, tokens })
    }

    /// The user with this name and password. Takes as long for an unknown name as for a wrong
    /// password, so the answer's timing does not tell which names exist.
    pub async fn sign_in(&self, name: &str, password: &str) -> Option<Principal> {
        static UNKNOWN_USER_HASH: OnceLock<String> = OnceLock::new();
        let user = self.users.iter().find(|u| u.name == name);
        let phc = match user {
            Some(u) => u.password_hash.clone(),
            None => UNKNOWN_USER_HASH
                .get_or_init(|| secrets::hash_password("no such user"))
                .clone(),
        };
        let password = password.to_string();
        // Argon2 takes tens of milliseconds of CPU: not on the async workers.
        let matches = tokio::task::spawn_blocking(move || verify_password(&password, &phc))
            .await
            .unwrap_or(false);
        let user = user.filter(|_| matches)?;
        Some(Principal::new(
            &user.name,
            user.role,
            user.agent_id.as_deref(),
        ))
    }

    /// The token's principal, if the token is configured.
    pub fn by_token(&self, token: &str) -> Option<Principal> {
        let hash = token_hash(token);
        let found = self
            .tokens
            .iter()
            .find(|t| same_secret(&t.token_hash, &hash))?;
        Some(Principal::new(
            &found.name,
            found.role,
            found.agent_id.as_deref(),
        ))
    }
}

/// The principal behind a request, and its session when it came with the cookie.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// Who.
    pub principal: Principal,
    /// The session id (None for a token).
    pub session_id: Option<String>,
    /// The session's CSRF token (None for a token).
    pub csrf_token: Option<String>,
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let token = value
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .ok_or_else(|| {
                    ApiError::unauthorized()
                        .with_detail("Authorization must be `Bearer <token>`".into())
                })?;
            let principal = state
                .accounts
                .by_token(token.trim())
                .ok_or_else(|| ApiError::unauthorized().with_detail("unknown token".into()))?;
            return Ok(SignedIn {
                principal,
                session_id: None,
                csrf_token: None,
            });
        }
        let session_id = session_cookie(parts).ok_or_else(ApiError::unauthorized)?;
        let session = state
            .sessions
            .get(&session_id, Instant::now())
            .ok_or_else(|| {
                ApiError::unauthorized().with_detail("the session ended; sign in again".into())
            })?;
        // Cookies go with cross-site requests too: a change needs proof the page is ours.
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if !same_secret(sent, &session.csrf_token) {
                return Err(ApiError::forbidden(
                    "missing or wrong X-CSRF-Token (the csrf_token POST /api/session returned)",
                ));
            }
        }
        Ok(SignedIn {
            principal: session.principal,
            session_id: Some(session_id),
            csrf_token: Some(session.csrf_token),
        })
    }
}

/// The session id from the `Cookie` headers.
fn session_cookie(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == SESSION_COOKIE).then(|| value.to_string())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(agent: Option<&str>) -> CallRecord {
        CallRecord {
            id: "c".into(),
            from_uri: "sip:a".into(),
            to_uri: "sip:b".into(),
            started_at: chrono::DateTime::UNIX_EPOCH,
            answered_at: None,
            ended_at: None,
            outcome: None,
            dialplan: None,
            recording_path: None,
            intent: None,
            escalated: false,
            max_frustration: None,
            agent_id: agent.map(str::to_string),
        }
    }

    #[test]
    fn agents_read_only_their_calls() {
        let qa = Principal::new("quinn", Role::Qa, Some("ignored"));
        assert_eq!(qa.agent_id, None);
        assert!(qa.may_read(&call(None)) && qa.may_read(&call(Some("a1"))));
        let agent = Principal::new("ann", Role::Agent, None);
        assert!(agent.may_read(&call(Some("ann"))));
        assert!(!agent.may_read(&call(Some("bob"))));
        assert!(!agent.may_read(&call(None)));

        let mut filter = CallFilter::default();
        agent.restrict(&mut filter).unwrap();
        assert_eq!(filter.agent_id.as_deref(), Some("ann"));
        filter.agent_id = Some("bob".into());
        assert_eq!(
            agent.restrict(&mut filter).unwrap_err().status,
            axum::http::StatusCode::FORBIDDEN
        );
        let mut filter = CallFilter {
            agent_id: Some("bob".into()),
            ..CallFilter::default()
        };
        qa.restrict(&mut filter).unwrap();
        assert_eq!(
            filter.agent_id.as_deref(),
            Some("bob"),
            "others may filter by agent"
        );
    }

    #[tokio::test]
    async fn users_sign_in_and_tokens_match_their_hash() {
        let (token, token_hash) = secrets::new_token();
        let accounts = Accounts::new(
            vec![UserConfig {
                name: "ann".into(),
                role: Role::Agent,
                password_hash: secrets::hash_password("pw"),
                agent_id: Some("a7".into()),
            }],
            vec![TokenConfig {
                name: "crm".into(),
                role: Role::Supervisor,
                token_hash: token_hash.to_ascii_uppercase(),
                agent_id: None,
            }],
        )
        .unwrap();
        let ann = accounts.sign_in("ann", "pw").await.unwrap();
        assert_eq!(ann.agent_id.as_deref(), Some("a7"));
        assert!(accounts.sign_in("ann", "PW").await.is_none());
        assert!(accounts.sign_in("bob", "pw").await.is_none());
        assert_eq!(accounts.by_token(&token).unwrap().name, "crm");
        assert!(accounts.by_token("sbt_wrong").is_none());
    }

    #[test]
    fn bad_accounts_are_refused_with_the_reason() {
        let user = |name: &str, hash: &str| UserConfig {
            name: name.into(),
            role: Role::Qa,
            password_hash: hash.into(),
            agent_id: None,
        };
        let err = Accounts::new(vec![user("a", "secret")], vec![]).unwrap_err();
        assert!(err.contains("\"a\": password_hash"), "{err}");
        let phc = secrets::hash_password("x");
        let err = Accounts::new(vec![user("a", &phc), user("a", &phc)], vec![]).unwrap_err();
        assert!(err.contains("twice"), "{err}");
        let token = TokenConfig {
            name: "t".into(),
            role: Role::Qa,
            token_hash: "abc".into(),
            agent_id: None,
        };
        let err = Accounts::new(vec![], vec![token]).unwrap_err();
        assert!(err.contains("SHA-256"), "{err}");
    }
}
