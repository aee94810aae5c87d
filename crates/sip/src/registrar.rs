//! The registrar agents' phones sign in with (RFC 3261 §10.3): digest authentication per user,
//! contact bindings per address-of-record, Call-ID/CSeq ordering and expiry.
//!
//! Sans-IO like the endpoint that owns it: a REGISTER and the time go in, the response to send
//! and the bindings that changed come out; the endpoint does the transaction around it.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::auth::{DigestCheck, DigestVerifier};
use crate::endpoint::Peer;
use crate::headers::{NameAddr, param};
use crate::message::SipMessage;
use crate::validate::RequestInfo;

/// Most contacts one user may register; more would only grow memory for an authenticated user.
pub const MAX_BINDINGS_PER_USER: usize = 10;

/// Settings of the registrar.
#[derive(Debug, Clone)]
pub struct RegistrarConfig {
    /// Realm of the digest challenge.
    pub realm: String,
    /// User name (the user part of the address-of-record) → password.
    pub users: HashMap<String, String>,
    /// Shortest registration accepted; a shorter one gets 423 with Min-Expires.
    pub min_expires: Duration,
    /// Used when the REGISTER names no expiry.
    pub default_expires: Duration,
    /// Longer registrations are shortened to this.
    pub max_expires: Duration,
}

impl RegistrarConfig {
    /// A registrar for these users with 60 s / 1 h / 2 h as minimum, default and maximum expiry.
    pub fn new(realm: &str, users: HashMap<String, String>) -> Self {
        RegistrarConfig {
            realm: realm.to_string(),
            users,
            min_expires: Duration::from_secs(60),
            default_expires: Duration::from_secs(3600),
            max_expires: Duration::from_secs(7200),
        }
    }
}

/// One contact a user's phone registered.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    /// The contact URI as registered: the Request-URI for calls to this phone.
    pub contact: String,
    /// Where the REGISTER came from; requests to the phone go there (NAT, loopback).
    pub source: Peer,
    /// When the binding lapses unless refreshed.
    pub expires_at: Instant,
    /// Preference among the user's contacts (0 to 1), when the phone gave one.
    pub q: Option<f32>,
    /// The REGISTER that last set it, for the ordering rule of §10.3 step 7.
    call_id: String,
    cseq: u32,
}

/// The response one REGISTER gets, and the bindings it changed.
#[derive(Debug)]
pub(crate) struct RegisterOutcome {
    pub code: u16,
    pub reason: String,
    pub headers: Vec<(&'static str, String)>,
    /// The user whose bindings changed, with the new list.
    pub changed: Option<(String, Vec<Binding>)>,
}

impl RegisterOutcome {
    fn reply(code: u16, reason: &str) -> Self {
        RegisterOutcome {
            code,
            reason: reason.to_string(),
            headers: Vec::new(),
            changed: None,
        }
    }
}

/// Bindings per user and the verifier of their passwords.
#[derive(Debug)]
pub(crate) struct Registrar {
    config: RegistrarConfig,
    verifier: DigestVerifier,
    bindings: HashMap<String, Vec<Binding>>,
}

/// One Contact of a REGISTER, read and checked.
struct ContactRequest {
    uri: crate::headers::Uri,
    text: String,
    expires: u64,
    q: Option<f32>,
}

impl Registrar {
    /// A registrar; `secret` keys its nonces.
    pub fn new(config: RegistrarConfig, secret: u64) -> Self {
        let verifier =
            DigestVerifier::with_credentials(&config.realm, config.users.clone(), secret);
        Registrar {
            config,
            verifier,
            bindings: HashMap::new(),
        }
    }

    /// The user's current bindings (empty for an unknown or unregistered user).
    pub fn bindings(&self, user: &str) -> &[Binding] {
        self.bindings.get(user).map(Vec::as_slice).unwrap_or(&[])
    }

    /// When the next binding lapses.
    pub fn next_expiry(&self) -> Option<Instant> {
        self.bindings.values().flatten().map(|b| b.expires_at).min()
    }

    /// Drops lapsed bindings; returns each user whose bindings changed, with what is left.
    pub fn expire(&mut self, now: Instant) -> Vec<(String, Vec<Binding>)> {
        let mut changed = Vec::new();
        for (user, list) in &mut self.bindings {
            let before = list.len();
            list.retain(|b| b.expires_at > now);
            if list.len() != before {
                changed.push((user.clone(), list.clone()));
            }
        }
        self.bindings.retain(|_, list| !list.is_empty());
        changed
    }

    /// Processes one validated REGISTER that came from `source`.
    pub fn handle_register(
        &mut self,
        now: Instant,
        source: Peer,
        msg: &SipMessage,
        info: &RequestInfo,
    ) -> RegisterOutcome {
        let user = match self.authenticate(msg) {
            Ok(user) => user,
            Err(outcome) => return outcome,
        };
        // §10.3 step 4: an authenticated user may only change its own address-of-record.
        if info.to.uri.user_decoded().as_deref() != Some(user.as_str()) {
            return RegisterOutcome::reply(403, "Forbidden: not your address-of-record");
        }
        // Lapsed bindings whose timer has not run yet count as gone.
        let old: Vec<Binding> = self
            .bindings(&user)
            .iter()
            .filter(|b| b.expires_at > now)
            .cloned()
            .collect();
        let new = match self.updated_bindings(now, source, msg, info, &old) {
            Ok(new) => new,
            Err(outcome) => return outcome,
        };
        if new.len() > MAX_BINDINGS_PER_USER {
            return RegisterOutcome::reply(403, "Forbidden: too many contacts");
        }
        let mut outcome = RegisterOutcome::reply(200, "OK");
        outcome.headers = new
            .iter()
            .map(|b| {
                let remaining = b.expires_at.saturating_duration_since(now).as_secs();
                let q = b.q.map(|q| format!(";q={q:.3}")).unwrap_or_default();
                ("Contact", format!("<{}>;expires={remaining}{q}", b.contact))
            })
            .collect();
        if new != self.bindings(&user) {
            outcome.changed = Some((user.clone(), new.clone()));
        }
        if new.is_empty() {
            self.bindings.remove(&user);
        } else {
            self.bindings.insert(user, new);
        }
        outcome
    }

    /// The authenticated user, or the 401/403 to send.
    fn authenticate(&mut self, msg: &SipMessage) -> Result<String, RegisterOutcome> {
        let mut refused = false;
        for value in msg.header_values("Authorization") {
            match self.verifier.check("REGISTER", value) {
                DigestCheck::Authorized(user) => return Ok(user),
                DigestCheck::Refused => refused = true,
                DigestCheck::Unanswered => {}
            }
        }
        if refused {
            // Same answer for an unknown user and a wrong password: no user enumeration.
            return Err(RegisterOutcome::reply(403, "Forbidden"));
        }
        let mut outcome = RegisterOutcome::reply(401, "Unauthorized");
        outcome
            .headers
            .push(("WWW-Authenticate", self.verifier.challenge()));
        Err(outcome)
    }

    /// The user's bindings after the request's Contacts (§10.3 steps 6 and 7), or the failure.
    fn updated_bindings(
        &self,
        now: Instant,
        source: Peer,
        msg: &SipMessage,
        info: &RequestInfo,
        old: &[Binding],
    ) -> Result<Vec<Binding>, RegisterOutcome> {
        let contacts = msg.header_list("Contact");
        let expires_header = msg.header("Expires").and_then(|e| e.parse::<u64>().ok());
        let (call_id, seq) = (info.call_id.as_str(), info.cseq.seq);
        // A binding from this Call-ID may only be changed by a later CSeq.
        let out_of_order = |b: &Binding| b.call_id == call_id && seq <= b.cseq;
        let abort = || RegisterOutcome::reply(500, "Server Internal Error: CSeq out of order");
        if contacts.contains(&"*") {
            if contacts.len() != 1 || expires_header != Some(0) {
                return Err(RegisterOutcome::reply(
                    400,
                    "Bad Request: Contact * needs Expires: 0 and no other Contact",
                ));
            }
            if old.iter().any(out_of_order) {
                return Err(abort());
            }
            return Ok(Vec::new());
        }
        let requests = contacts
            .iter()
            .map(|c| self.contact_request(c, expires_header))
            .collect::<Result<Vec<_>, _>>()?;
        let min = self.config.min_expires.as_secs();
        if requests.iter().any(|r| r.expires > 0 && r.expires < min) {
            let mut outcome = RegisterOutcome::reply(423, "Interval Too Brief");
            outcome.headers.push(("Min-Expires", min.to_string()));
            return Err(outcome);
        }
        let max = self.config.max_expires.as_secs().max(min);
        let mut new = old.to_vec();
        for r in requests {
            let existing = |b: &Binding| {
                crate::headers::Uri::parse(&b.contact).is_ok_and(|u| u.equivalent(&r.uri))
            };
            if old.iter().any(|b| existing(b) && out_of_order(b)) {
                return Err(abort());
            }
            new.retain(|b| !existing(b));
            if r.expires > 0 {
                new.push(Binding {
                    contact: r.text,
                    source,
                    expires_at: now + Duration::from_secs(r.expires.min(max)),
                    q: r.q,
                    call_id: call_id.to_string(),
                    cseq: seq,
                });
            }
        }
        Ok(new)
    }

    /// Reads one Contact value: its URI, the expiry it asks for and its q.
    fn contact_request(
        &self,
        value: &str,
        expires_header: Option<u64>,
    ) -> Result<ContactRequest, RegisterOutcome> {
        let bad = |why: &str| RegisterOutcome::reply(400, &format!("Bad Contact: {why}"));
        let contact = NameAddr::parse(value).map_err(|e| bad(&e))?;
        if contact.uri.scheme != "sip" && contact.uri.scheme != "sips" {
            return Err(bad("not a SIP URI"));
        }
        let expires = match param(&contact.params, "expires") {
            Some(v) => v
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or_else(|| bad("expires"))?,
            None => expires_header.unwrap_or_else(|| {
                let min = self.config.min_expires.as_secs();
                let default = self.config.default_expires.as_secs();
                default.max(min)
            }),
        };
        let q = match param(&contact.params, "q") {
            Some(v) => Some(
                v.and_then(|v| v.parse::<f32>().ok())
                    .filter(|q| (0.0..=1.0).contains(q))
                    .ok_or_else(|| bad("q"))?,
            ),
            None => None,
        };
        Ok(ContactRequest {
            text: format!("{}:{}", contact.uri.scheme, contact.uri.rest),
            uri: contact.uri,
            expires,
            q,
        })
    }
}
