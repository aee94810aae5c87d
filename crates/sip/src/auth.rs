//! HTTP digest authentication (RFC 2617 / RFC 3261 §22) with MD5, both sides.

use std::collections::HashMap;

use md5::{Digest, Md5};

use crate::headers::{Params, param};

fn hex_md5(s: &str) -> String {
    let digest = Md5::digest(s.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses `Digest a=b, c="d"` into the scheme and its parameters.
pub fn parse_challenge(value: &str) -> Option<(String, Params)> {
    let value = value.trim();
    let (scheme, rest) = value.split_once(char::is_whitespace)?;
    let mut params = Params::new();
    for part in crate::message::split_list(rest) {
        let (k, v) = part.split_once('=')?;
        params.push((
            k.trim().to_ascii_lowercase(),
            Some(v.trim().trim_matches('"').to_string()),
        ));
    }
    Some((scheme.to_string(), params))
}

fn get<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    param(params, name).flatten()
}

/// What an Authorization header proves to a [`DigestVerifier`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DigestCheck {
    /// A known user answered one of our nonces with the right password.
    Authorized(String),
    /// Not an answer to one of our nonces (absent, malformed, another realm, a foreign nonce):
    /// challenge again.
    Unanswered,
    /// One of our nonces answered by an unknown user or with a wrong password.
    Refused,
}

/// Server side: issues nonces and checks Authorization headers for one realm.
#[derive(Debug, Clone)]
pub struct DigestVerifier {
    realm: String,
    /// User name → password.
    credentials: HashMap<String, String>,
    secret: u64,
    counter: u64,
}

impl DigestVerifier {
    /// A verifier for one credential; `secret` keys the nonces (random per process).
    pub fn new(realm: &str, username: &str, password: &str, secret: u64) -> Self {
        let credentials = HashMap::from([(username.to_string(), password.to_string())]);
        Self::with_credentials(realm, credentials, secret)
    }

    /// A verifier for a table of user name → password.
    pub fn with_credentials(
        realm: &str,
        credentials: HashMap<String, String>,
        secret: u64,
    ) -> Self {
        DigestVerifier {
            realm: realm.to_string(),
            credentials,
            secret,
            counter: 0,
        }
    }

    fn nonce_for(&self, counter: u64) -> String {
        let mac = hex_md5(&format!("{:x}:{counter:x}", self.secret));
        format!("{counter:x}.{}", &mac[..16])
    }

    /// A fresh WWW-Authenticate value.
    pub fn challenge(&mut self) -> String {
        self.counter += 1;
        format!(
            "Digest realm=\"{}\", nonce=\"{}\", algorithm=MD5, qop=\"auth\"",
            self.realm,
            self.nonce_for(self.counter)
        )
    }

    /// True when the Authorization value answers one of our nonces with the right password.
    pub fn verify(&self, method: &str, authorization: &str) -> bool {
        matches!(
            self.check(method, authorization),
            DigestCheck::Authorized(_)
        )
    }

    /// What the Authorization value proves: who answered, or why it does not count.
    pub fn check(&self, method: &str, authorization: &str) -> DigestCheck {
        let Some((scheme, p)) = parse_challenge(authorization) else {
            return DigestCheck::Unanswered;
        };
        if !scheme.eq_ignore_ascii_case("Digest") || get(&p, "realm") != Some(self.realm.as_str()) {
            return DigestCheck::Unanswered;
        }
        let (Some(username), Some(nonce), Some(uri), Some(response)) = (
            get(&p, "username"),
            get(&p, "nonce"),
            get(&p, "uri"),
            get(&p, "response"),
        ) else {
            return DigestCheck::Unanswered;
        };
        let ours = nonce
            .split_once('.')
            .and_then(|(c, _)| u64::from_str_radix(c, 16).ok())
            .is_some_and(|c| self.nonce_for(c) == nonce);
        if !ours {
            return DigestCheck::Unanswered;
        }
        let Some(password) = self.credentials.get(username) else {
            return DigestCheck::Refused;
        };
        let expected = digest_response(
            username,
            password,
            &self.realm,
            method,
            uri,
            nonce,
            get(&p, "qop").zip(get(&p, "nc")).zip(get(&p, "cnonce")),
        );
        if expected.eq_ignore_ascii_case(response) {
            DigestCheck::Authorized(username.to_string())
        } else {
            DigestCheck::Refused
        }
    }
}

fn digest_response(
    user: &str,
    password: &str,
    realm: &str,
    method: &str,
    uri: &str,
    nonce: &str,
    qop: Option<((&str, &str), &str)>,
) -> String {
    let ha1 = hex_md5(&format!("{user}:{realm}:{password}"));
    let ha2 = hex_md5(&format!("{method}:{uri}"));
    match qop {
        Some(((qop, nc), cnonce)) => hex_md5(&format!("{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")),
        None => hex_md5(&format!("{ha1}:{nonce}:{ha2}")),
    }
}

/// Client side: the Authorization value answering a WWW-Authenticate challenge.
pub fn authorize(
    challenge: &str,
    method: &str,
    uri: &str,
    user: &str,
    password: &str,
    cnonce: &str,
) -> Option<String> {
    let (scheme, p) = parse_challenge(challenge)?;
    if !scheme.eq_ignore_ascii_case("Digest") {
        return None;
    }
    let realm = get(&p, "realm")?;
    let nonce = get(&p, "nonce")?;
    let qop = get(&p, "qop").filter(|q| q.split(',').any(|q| q.trim() == "auth"));
    let nc = "00000001";
    let response = digest_response(
        user,
        password,
        realm,
        method,
        uri,
        nonce,
        qop.map(|_| (("auth", nc), cnonce)),
    );
    let mut v = format!(
        "Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", response=\"{response}\", algorithm=MD5"
    );
    if qop.is_some() {
        v.push_str(&format!(", qop=auth, nc={nc}, cnonce=\"{cnonce}\""));
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_answer_verifies() {
        let mut v = DigestVerifier::new("switchboard", "trunk", "s3cret", 42);
        let challenge = v.challenge();
        let auth = authorize(
            &challenge,
            "INVITE",
            "sip:100@127.0.0.1",
            "trunk",
            "s3cret",
            "abc",
        )
        .unwrap();
        assert!(v.verify("INVITE", &auth));
        let wrong = authorize(
            &challenge,
            "INVITE",
            "sip:100@127.0.0.1",
            "trunk",
            "nope",
            "abc",
        )
        .unwrap();
        assert!(!v.verify("INVITE", &wrong));
        let forged = auth.replace(".", "0.");
        assert!(!v.verify("INVITE", &forged));
    }

    #[test]
    fn credential_table_names_the_user_or_refuses() {
        let users = HashMap::from([
            ("1001".to_string(), "pw1".to_string()),
            ("1002".to_string(), "pw2".to_string()),
        ]);
        let mut v = DigestVerifier::with_credentials("agents", users, 7);
        let challenge = v.challenge();
        let answer = |user: &str, pass: &str| {
            authorize(&challenge, "REGISTER", "sip:127.0.0.1", user, pass, "c").unwrap()
        };
        assert_eq!(
            v.check("REGISTER", &answer("1002", "pw2")),
            DigestCheck::Authorized("1002".into())
        );
        assert_eq!(
            v.check("REGISTER", &answer("1002", "pw1")),
            DigestCheck::Refused
        );
        assert_eq!(
            v.check("REGISTER", &answer("9999", "pw1")),
            DigestCheck::Refused
        );
        let other_realm = answer("1001", "pw1").replace("realm=\"agents\"", "realm=\"x\"");
        assert_eq!(v.check("REGISTER", &other_realm), DigestCheck::Unanswered);
        assert_eq!(v.check("REGISTER", "Basic abc"), DigestCheck::Unanswered);
        assert_eq!(v.check("REGISTER", "Digest"), DigestCheck::Unanswered);
    }

    #[test]
    fn rfc2617_example() {
        let r = digest_response(
            "Mufasa",
            "Circle Of Life",
            "testrealm@host.com",
            "GET",
            "/dir/index.html",
            "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            Some((("auth", "00000001"), "0a4f113b")),
        );
        assert_eq!(r, "6629fae49393a05397450978507c4ef1");
    }
}
