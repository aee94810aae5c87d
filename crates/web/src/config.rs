//! The web layer's part of the configuration file: `[web]`, `[[user]]`, `[[token]]` (and
//! `[scorecard]`, in `scorecard.rs`).

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Deserializer};

/// The address the web server listens on unless configured otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// `[web]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebConfig {
    /// Address of the REST API, WebSocket and health endpoints; `""` or `"off"` (None) disables
    /// the web server.
    #[serde(deserialize_with = "deserialize_listen")]
    pub listen: Option<SocketAddr>,
    /// Where the generated first-start admin password is kept (only while no `[[user]]` is
    /// configured); `""` generates none.
    pub admin_password_file: PathBuf,
    /// Roles that see personal data (card numbers, long numbers, e-mail addresses) in
    /// transcripts and recordings; the others get them masked and bleeped.
    pub pii_roles: Vec<Role>,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            listen: Some(DEFAULT_LISTEN.parse().expect("literal")),
            admin_password_file: "var/admin-password".into(),
            pii_roles: vec![Role::Admin, Role::Supervisor],
        }
    }
}

/// What a signed-in user or token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything.
    Admin,
    /// Every call, and (later) reports and supervision.
    Supervisor,
    /// Every call, for review.
    Qa,
    /// Only the calls the agent took.
    Agent,
}

impl Role {
    /// The name used in the config and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Supervisor => "supervisor",
            Role::Qa => "qa",
            Role::Agent => "agent",
        }
    }
}

/// `[[user]]`: someone who signs in with a password.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// Sign-in name.
    pub name: String,
    /// What the user may do.
    pub role: Role,
    /// Argon2 PHC string (`switchboard user hash-password` makes one).
    pub password_hash: String,
    /// For the agent role: the agent id the user's calls carry (default: the name).
    pub agent_id: Option<String>,
}

/// `[[token]]`: an integration that sends `Authorization: Bearer <token>`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// Name, for logs.
    pub name: String,
    /// What the token may do.
    pub role: Role,
    /// SHA-256 of the token, hex (`switchboard user new-token` makes a token and its hash).
    pub token_hash: String,
    /// For the agent role: the agent id (default: the name).
    pub agent_id: Option<String>,
}

/// Reads a listen address: `host:port`, or `""`/`"off"` for none.
pub fn parse_listen(text: &str) -> Result<Option<SocketAddr>, String> {
    match text.trim() {
        "" | "off" => Ok(None),
        addr => addr.parse().map(Some).map_err(|_| {
            format!("{addr:?} is not an address like \"{DEFAULT_LISTEN}\" (or \"off\")")
        }),
    }
}

fn deserialize_listen<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SocketAddr>, D::Error> {
    let text = String::deserialize(d)?;
    parse_listen(&text).map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses_and_off() {
        assert_eq!(parse_listen("off").unwrap(), None);
        assert_eq!(parse_listen("").unwrap(), None);
        assert_eq!(
            parse_listen("0.0.0.0:9000").unwrap(),
            Some("0.0.0.0:9000".parse().unwrap())
        );
        assert!(parse_listen("8080").unwrap_err().contains("not an address"));
    }
}
