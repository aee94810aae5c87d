//! The sans-IO SIP endpoint: transactions and dialogs for a back-to-back user agent.
//!
//! Bytes and time go in (`handle_receive`, `handle_timeout`, commands); datagrams to send,
//! call events and the next timer come out (`poll_transmit`, `poll_event`, `poll_timeout`).
//! Nothing here touches a socket or a clock, so whole calls run in unit tests.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use crate::auth::{self, DigestVerifier};
use crate::headers::NameAddr;
use crate::message::{self, SipMessage};
use crate::qualify::{Qualifier, QualifyId};
use crate::refer::{ReferTarget, Replaces};
use crate::registrar::{Binding, Registrar, RegistrarConfig};
use crate::sdp::{self, SessionDescription};
use crate::validate::{Rejection, RequestInfo, validate_request};

/// RFC 3261 timer T1 (round-trip estimate).
pub const T1: Duration = Duration::from_millis(500);
/// RFC 3261 timer T2 (maximum retransmit interval for non-INVITE requests and responses).
pub const T2: Duration = Duration::from_secs(4);
/// How long answered transactions are remembered to absorb retransmissions (64·T1).
pub const TRANSACTION_LIFETIME: Duration = Duration::from_secs(32);

/// Methods we accept (the Allow header), without and with the registrar.
const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, REFER";
const ALLOW_WITH_REGISTER: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, REFER, REGISTER";
/// Option tags we implement: a Require naming any other gets 420.
const SUPPORTED: &str = "replaces";
/// How long a REFER's implicit subscription lasts while the transfer is in progress.
const REFER_SUBSCRIPTION_EXPIRES: &str = "active;expires=60";
/// Headers the endpoint writes itself; an extra header with one of these names is dropped.
const MANAGED_HEADERS: [&str; 11] = [
    "Via",
    "Max-Forwards",
    "From",
    "To",
    "Call-ID",
    "CSeq",
    "Contact",
    "Allow",
    "Authorization",
    "Content-Type",
    "Content-Length",
];

/// The transport a message came over or goes out on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportKind {
    /// UDP datagrams.
    Udp,
    /// A TCP connection, identified by the peer address.
    Tcp,
}

impl TransportKind {
    fn via_name(self) -> &'static str {
        match self {
            TransportKind::Udp => "UDP",
            TransportKind::Tcp => "TCP",
        }
    }
}

/// The other end of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Peer {
    /// Transport.
    pub transport: TransportKind,
    /// Remote address (source of what we received, destination of what we send).
    pub addr: SocketAddr,
}

/// A message to put on the wire.
#[derive(Debug, Clone)]
pub struct Transmit {
    /// Where to send it.
    pub to: Peer,
    /// The serialized message.
    pub data: Vec<u8>,
}

/// Handle of one dialog (one call leg).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DialogId(pub u64);

impl std::fmt::Display for DialogId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "d{}", self.0)
    }
}

/// Why a dialog ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndCause {
    /// The remote side sent BYE.
    RemoteBye,
    /// We hung up (BYE or CANCEL sent).
    LocalHangup,
    /// The caller cancelled before answer.
    Cancelled,
    /// We rejected the call, or the callee rejected ours, with this status.
    Rejected(u16),
    /// Our 200 OK was never acknowledged, or our INVITE never answered.
    Timeout,
}

/// An inbound call offered to the application.
#[derive(Debug, Clone)]
pub struct IncomingCall {
    /// The new dialog.
    pub dialog: DialogId,
    /// SIP Call-ID.
    pub call_id: String,
    /// From URI (as text, e.g. `sip:alice@example.com`).
    pub from: String,
    /// To URI.
    pub to: String,
    /// User part of the Request-URI (the dialled number), decoded.
    pub dialled: String,
    /// The SDP offer, if the INVITE had one.
    pub offer: Option<SessionDescription>,
    /// Where the INVITE came from.
    pub source: Peer,
    /// The dialog this call takes over (attended transfer, RFC 3891); it matched one of ours,
    /// found with [`SipEndpoint::dialog_for`].
    pub replaces: Option<Replaces>,
}

/// What the endpoint reports to the application.
#[derive(Debug, Clone)]
pub enum SipEvent {
    /// A new inbound INVITE passed access control and validation.
    IncomingCall(IncomingCall),
    /// Our 2xx was acknowledged; `answer` is the SDP in the ACK (late offer).
    Established {
        /// Dialog.
        dialog: DialogId,
        /// SDP answer carried by the ACK, if any.
        answer: Option<SessionDescription>,
    },
    /// A re-INVITE (hold, unhold, new address): answer with [`SipEndpoint::answer_reinvite`].
    ReInvite {
        /// Dialog.
        dialog: DialogId,
        /// The new offer (None for an offerless re-INVITE).
        offer: Option<SessionDescription>,
    },
    /// A DTMF digit sent with SIP INFO.
    InfoDtmf {
        /// Dialog.
        dialog: DialogId,
        /// The digit.
        digit: char,
    },
    /// A provisional response to our INVITE.
    Progress {
        /// Dialog.
        dialog: DialogId,
        /// Status code (180, 183, …).
        code: u16,
    },
    /// Our INVITE was answered.
    Answered {
        /// Dialog.
        dialog: DialogId,
        /// The SDP answer.
        answer: Option<SessionDescription>,
    },
    /// The dialog is over; exactly one per dialog.
    Ended {
        /// Dialog.
        dialog: DialogId,
        /// Why.
        cause: EndCause,
    },
    /// A user's registrar bindings changed (register, refresh, unregister, expiry).
    Registration {
        /// The user (address-of-record user part).
        user: String,
        /// Every binding the user has now; empty when signed out.
        bindings: Vec<Binding>,
    },
    /// The outcome of [`SipEndpoint::qualify`]; exactly one per request.
    Qualified {
        /// The request.
        id: QualifyId,
        /// Any response came back (even a 4xx or 5xx).
        reachable: bool,
        /// Time from the first transmission to the response.
        rtt: Option<Duration>,
    },
    /// The remote side asks to transfer the call (REFER, accepted with 202): report progress
    /// with [`SipEndpoint::notify_refer`].
    Refer {
        /// Dialog the REFER came in.
        dialog: DialogId,
        /// Where to send the new call (the Refer-To URI without embedded headers).
        refer_to: String,
        /// The dialog the new call replaces (attended transfer), from the Refer-To URI.
        replaces: Option<Replaces>,
        /// The Referred-By URI, if given.
        referred_by: Option<String>,
    },
}

/// Digest credentials a trunk must present.
#[derive(Debug, Clone)]
pub struct TrunkAuth {
    /// Realm in our challenge.
    pub realm: String,
    /// Expected user name.
    pub username: String,
    /// Password.
    pub password: String,
}

/// Static settings of an endpoint.
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    /// The address we advertise in Via and Contact.
    pub public_addr: SocketAddr,
    /// Sent as User-Agent / Server.
    pub user_agent: String,
    /// Source networks allowed to send INVITEs (`(network, prefix length)`); empty allows all.
    pub allowed_sources: Vec<(IpAddr, u8)>,
    /// Digest authentication required for INVITEs, if set.
    pub auth: Option<TrunkAuth>,
    /// Accept REGISTER from these users, if set (otherwise REGISTER gets 405).
    pub registrar: Option<RegistrarConfig>,
    /// Seed for tags, branches and nonces.
    pub seed: u64,
}

/// Parameters of an outbound call.
#[derive(Debug, Clone)]
pub struct OutgoingCall {
    /// Where to send the INVITE.
    pub target: Peer,
    /// Request-URI.
    pub uri: String,
    /// Our From URI.
    pub from: String,
    /// To URI.
    pub to: String,
    /// SDP offer.
    pub offer: String,
    /// Credentials for a digest challenge (user, password).
    pub credentials: Option<(String, String)>,
    /// More headers for the INVITE (name, value), e.g. `Call-Info`; control characters in values
    /// become spaces, and names the endpoint writes itself (Via, To, CSeq, …) are dropped.
    pub extra_headers: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Uas,
    Uac,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DialogState {
    /// INVITE received or sent, no final response yet.
    Early,
    /// Final 2xx sent/received, waiting for ACK (UAS) or ACK sent (UAC).
    Confirmed,
}

/// A response we retransmit until it is acknowledged (INVITE 2xx and non-2xx, RFC 3261 §13.3.1.4).
#[derive(Debug)]
struct PendingAck {
    data: Vec<u8>,
    interval: Duration,
    next: Instant,
    give_up: Instant,
    cseq: u32,
    success: bool,
}

/// A request we retransmit until a response arrives (UDP only).
#[derive(Debug)]
struct PendingRequest {
    branch: String,
    method: String,
    data: Vec<u8>,
    interval: Duration,
    next: Option<Instant>,
    give_up: Instant,
}

#[derive(Debug)]
struct Dialog {
    role: Role,
    state: DialogState,
    call_id: String,
    local_tag: String,
    /// Our identity header value (with tag).
    local: String,
    /// The remote identity header value (with tag, once known).
    remote: String,
    remote_target: String,
    route_set: Vec<String>,
    local_cseq: u32,
    remote_cseq: u32,
    peer: Peer,
    /// The INVITE we are answering (UAS) while it has no final response.
    invite: Option<SipMessage>,
    invite_branch: String,
    /// A re-INVITE waiting for the application's answer.
    reinvite: Option<SipMessage>,
    pending_ack: Option<PendingAck>,
    /// Our INVITE / BYE / CANCEL in flight (UAC side or our BYE).
    pending_request: Option<PendingRequest>,
    /// The original INVITE we sent (UAC), for CANCEL and auth retry.
    sent_invite: Option<SipMessage>,
    credentials: Option<(String, String)>,
    /// Extra headers of our INVITE (UAC), already sanitized.
    extra_headers: Vec<(String, String)>,
    auth_tried: bool,
    hangup_requested: bool,
    ended: bool,
    /// REFERs accepted so far: the second and later need an id in their NOTIFY's Event.
    refers_accepted: u32,
    /// The Event value of the REFER subscription still waiting for a final NOTIFY.
    refer_event: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct TxKey {
    branch: String,
    method: String,
    /// Call-ID and sent-by guard against peers that reuse branch values.
    call_id: String,
    sent_by: String,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    Dialog(DialogId),
    ForgetTransaction(u64),
}

/// The endpoint state machine. See the module docs.
pub struct SipEndpoint {
    config: EndpointConfig,
    verifier: Option<DigestVerifier>,
    registrar: Option<Registrar>,
    qualifier: Qualifier,
    rng: u64,
    next_dialog: u64,
    dialogs: HashMap<DialogId, Dialog>,
    /// (Call-ID, local tag) → dialog.
    by_tags: HashMap<(String, String), DialogId>,
    /// INVITE server transactions → dialog, for CANCEL, retransmissions and non-2xx ACK.
    invite_tx: HashMap<TxKey, DialogId>,
    /// Client transactions (our requests) → dialog.
    client_tx: HashMap<String, DialogId>,
    /// Final responses to non-INVITE requests, replayed on retransmission.
    answered: HashMap<TxKey, (Vec<u8>, u64)>,
    answered_ids: HashMap<u64, TxKey>,
    next_answered: u64,
    timers: BinaryHeap<Reverse<(Instant, Timer)>>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<SipEvent>,
}

fn transaction_key(info: &RequestInfo) -> TxKey {
    let top = &info.vias[0];
    let branch = match top.branch() {
        Some(b) if b.starts_with("z9hG4bK") && b.len() > 7 => b.to_string(),
        // RFC 2543 peers: identify the transaction by what stays the same on retransmission.
        _ => format!(
            "2543:{}:{}:{}:{}",
            info.call_id,
            info.cseq.seq,
            info.from.tag().unwrap_or_default(),
            top.host
        ),
    };
    let method = match info.method.as_str() {
        "ACK" => "INVITE".to_string(),
        m => m.to_string(),
    };
    TxKey {
        branch,
        method,
        call_id: info.call_id.clone(),
        sent_by: format!("{}:{}", top.host, top.port.unwrap_or(0)),
    }
}

fn in_network(addr: IpAddr, (net, prefix): (IpAddr, u8)) -> bool {
    match (addr, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let bits = u32::from(prefix.min(32));
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let bits = u32::from(prefix.min(128));
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

fn uri_text(a: &NameAddr) -> String {
    format!(
        "{}:{}",
        a.uri.scheme,
        a.uri.rest.split(';').next().unwrap_or_default()
    )
}

impl SipEndpoint {
    /// A new endpoint.
    pub fn new(config: EndpointConfig) -> Self {
        let verifier = config.auth.as_ref().map(|a| {
            DigestVerifier::new(&a.realm, &a.username, &a.password, config.seed ^ 0x5bd1e995)
        });
        let registrar = config
            .registrar
            .clone()
            .map(|r| Registrar::new(r, config.seed ^ 0x27d4_eb2f_1656_67c5));
        SipEndpoint {
            rng: config.seed | 1,
            config,
            verifier,
            registrar,
            qualifier: Qualifier::default(),
            next_dialog: 1,
            dialogs: HashMap::new(),
            by_tags: HashMap::new(),
            invite_tx: HashMap::new(),
            client_tx: HashMap::new(),
            answered: HashMap::new(),
            answered_ids: HashMap::new(),
            next_answered: 0,
            timers: BinaryHeap::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// Number of dialogs alive (for metrics and leak tests).
    pub fn dialog_count(&self) -> usize {
        self.dialogs.len()
    }

    /// Number of remembered transactions (for leak tests).
    pub fn transaction_count(&self) -> usize {
        self.answered.len()
            + self.invite_tx.len()
            + self.client_tx.len()
            + self.qualifier.in_flight()
    }

    /// A user's current registrar bindings (empty when unknown, signed out or no registrar).
    pub fn bindings(&self, user: &str) -> &[Binding] {
        self.registrar
            .as_ref()
            .map(|r| r.bindings(user))
            .unwrap_or(&[])
    }

    /// Our dialog a Replaces header names (its Call-ID, our tag, the remote tag when known).
    pub fn dialog_for(&self, replaces: &Replaces) -> Option<DialogId> {
        let key = (replaces.call_id.clone(), replaces.to_tag.clone());
        let id = *self.by_tags.get(&key)?;
        let d = self.dialogs.get(&id)?;
        // An early dialog we started has no remote tag yet (call pickup matches it all the same).
        let remote_tag = NameAddr::parse(&d.remote)
            .ok()
            .and_then(|a| a.tag().map(str::to_string));
        remote_tag
            .is_none_or(|t| t == replaces.from_tag)
            .then_some(id)
    }

    fn allow(&self) -> &'static str {
        if self.registrar.is_some() {
            ALLOW_WITH_REGISTER
        } else {
            ALLOW
        }
    }

    fn random(&mut self) -> u64 {
        // xorshift64*: tags and branches only need to be unique, not secret.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn token(&mut self) -> String {
        format!("{:012x}", self.random() & 0xffff_ffff_ffff)
    }

    fn branch(&mut self) -> String {
        format!("z9hG4bK{}", self.token())
    }

    /// Next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// Next event for the application.
    pub fn poll_event(&mut self) -> Option<SipEvent> {
        self.events.pop_front()
    }

    /// When `handle_timeout` should be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let timers = self.timers.peek().map(|Reverse((t, _))| *t);
        let expiry = self.registrar.as_ref().and_then(Registrar::next_expiry);
        [timers, expiry, self.qualifier.next_timeout()]
            .into_iter()
            .flatten()
            .min()
    }

    fn send(&mut self, to: Peer, msg: &SipMessage) -> Vec<u8> {
        let data = msg.to_bytes();
        self.transmits.push_back(Transmit {
            to,
            data: data.clone(),
        });
        data
    }

    fn schedule(&mut self, at: Instant, timer: Timer) {
        self.timers.push(Reverse((at, timer)));
    }

    /// Feeds one received datagram or TCP frame.
    pub fn handle_receive(&mut self, now: Instant, from: Peer, data: &[u8]) {
        let msg = match message::parse(data) {
            Ok(m) => m,
            Err(e) => return self.answer_unparsable(from, e),
        };
        if msg.status().is_some() {
            self.handle_response(now, msg);
            return;
        }
        let info = match validate_request(&msg) {
            Ok(info) => info,
            Err(rejection) => {
                if msg.method() != Some("ACK") {
                    self.reply_raw(from, &msg, rejection.code, &rejection.reason, &[]);
                }
                return;
            }
        };
        self.handle_request(now, from, msg, info);
    }

    fn answer_unparsable(&mut self, from: Peer, e: message::ParseError) {
        let Some(partial) = e.partial else { return };
        // A response needs Via, From, To, Call-ID and CSeq to be routable; and never answer an ACK.
        let routable = ["Via", "From", "To", "Call-ID", "CSeq"]
            .iter()
            .all(|h| partial.header(h).is_some());
        if !routable || partial.method().is_none_or(|m| m == "ACK" || m.is_empty()) {
            return;
        }
        let code = if e.bad_version { 505 } else { 400 };
        self.reply_raw(from, &partial, code, &e.reason, &[]);
    }

    /// A response built from the request's raw headers (also for requests that failed validation).
    fn response_to(
        &self,
        req: &SipMessage,
        code: u16,
        reason: &str,
        to_tag: Option<&str>,
    ) -> SipMessage {
        let mut r = SipMessage::response(code, reason);
        for via in req.header_values("Via") {
            r.push("Via", via);
        }
        for name in ["From", "Call-ID", "CSeq"] {
            if let Some(v) = req.header(name) {
                r.push(name, v);
            }
        }
        if let Some(to) = req.header("To") {
            let has_tag = NameAddr::parse(to).is_ok_and(|t| t.tag().is_some());
            match to_tag {
                Some(tag) if !has_tag => r.push("To", format!("{to};tag={tag}")),
                _ => r.push("To", to),
            };
        }
        r.push("Server", self.config.user_agent.as_str());
        r
    }

    fn reply_raw(
        &mut self,
        to: Peer,
        req: &SipMessage,
        code: u16,
        reason: &str,
        extra: &[(&str, String)],
    ) -> Vec<u8> {
        let tag = if code > 100 { Some(self.token()) } else { None };
        let mut r = self.response_to(req, code, reason, tag.as_deref());
        for (k, v) in extra {
            r.push(k, v.clone());
        }
        self.send(to, &r)
    }

    /// Replies to a request and remembers the answer for retransmissions (and, for an INVITE,
    /// to absorb its ACK).
    #[allow(clippy::too_many_arguments)] // the transaction's parts, kept apart for the callers
    fn reply_final(
        &mut self,
        now: Instant,
        to: Peer,
        req: &SipMessage,
        key: TxKey,
        code: u16,
        reason: &str,
        extra: &[(&str, String)],
    ) {
        let data = self.reply_raw(to, req, code, reason, extra);
        let id = self.next_answered;
        self.next_answered += 1;
        self.answered.insert(key.clone(), (data, id));
        self.answered_ids.insert(id, key);
        self.schedule(now + TRANSACTION_LIFETIME, Timer::ForgetTransaction(id));
    }

    fn handle_request(&mut self, now: Instant, from: Peer, msg: SipMessage, info: RequestInfo) {
        let key = transaction_key(&info);
        if let Some((data, _)) = self.answered.get(&key) {
            if info.method == "ACK" {
                // The ACK of a non-2xx final response we sent: the transaction is complete.
                return;
            }
            let data = data.clone();
            self.transmits.push_back(Transmit { to: from, data });
            return;
        }
        if info.method == "ACK" {
            self.handle_ack(now, &msg, &info, &key);
            return;
        }
        if info.method == "CANCEL" {
            self.handle_cancel(now, from, &msg, &info, key);
            return;
        }
        if info.method == "INVITE"
            && let Some(&id) = self.invite_tx.get(&key)
        {
            // Retransmitted INVITE: repeat our last response (the 2xx is retransmitted by its timer).
            if let Some(d) = self.dialogs.get(&id) {
                let data = d.pending_ack.as_ref().map(|p| p.data.clone());
                match data {
                    Some(data) => self.transmits.push_back(Transmit { to: from, data }),
                    None => {
                        self.reply_raw(from, &msg, 100, "Trying", &[]);
                    }
                }
            }
            return;
        }
        let unsupported: Vec<&str> = msg
            .header_list("Require")
            .into_iter()
            .filter(|tag| !SUPPORTED.split(", ").any(|s| s.eq_ignore_ascii_case(tag)))
            .collect();
        if !unsupported.is_empty() && info.method != "CANCEL" {
            let extra = [("Unsupported", unsupported.join(", "))];
            self.reply_final(now, from, &msg, key, 420, "Bad Extension", &extra);
            return;
        }
        if info.max_forwards == 0 && info.method != "OPTIONS" {
            self.reply_final(now, from, &msg, key, 483, "Too Many Hops", &[]);
            return;
        }
        if let Some(local_tag) = info.to.tag() {
            let dialog = self
                .by_tags
                .get(&(info.call_id.clone(), local_tag.to_string()))
                .copied();
            match dialog {
                Some(id) => self.handle_in_dialog(now, from, msg, info, key, id),
                None if info.method == "OPTIONS" => self.answer_options(now, from, &msg, key),
                None => self.reply_final(
                    now,
                    from,
                    &msg,
                    key,
                    481,
                    "Call/Transaction Does Not Exist",
                    &[],
                ),
            }
            return;
        }
        match info.method.as_str() {
            "INVITE" => self.handle_invite(now, from, msg, info, key),
            "OPTIONS" => self.answer_options(now, from, &msg, key),
            "BYE" | "INFO" => self.reply_final(
                now,
                from,
                &msg,
                key,
                481,
                "Call/Transaction Does Not Exist",
                &[],
            ),
            "REGISTER" if self.registrar.is_some() => {
                self.handle_register(now, from, &msg, &info, key)
            }
            "REGISTER" | "SUBSCRIBE" | "NOTIFY" | "REFER" | "MESSAGE" | "UPDATE" | "PRACK"
            | "PUBLISH" => {
                let allow = [("Allow", self.allow().to_string())];
                self.reply_final(now, from, &msg, key, 405, "Method Not Allowed", &allow);
            }
            _ => {
                let allow = [("Allow", self.allow().to_string())];
                self.reply_final(now, from, &msg, key, 501, "Not Implemented", &allow);
            }
        }
    }

    fn handle_register(
        &mut self,
        now: Instant,
        from: Peer,
        msg: &SipMessage,
        info: &RequestInfo,
        key: TxKey,
    ) {
        let Some(registrar) = self.registrar.as_mut() else {
            return;
        };
        let outcome = registrar.handle_register(now, from, msg, info);
        self.reply_final(
            now,
            from,
            msg,
            key,
            outcome.code,
            &outcome.reason,
            &outcome.headers,
        );
        if let Some((user, bindings)) = outcome.changed {
            self.events
                .push_back(SipEvent::Registration { user, bindings });
        }
    }

    fn answer_options(&mut self, now: Instant, from: Peer, msg: &SipMessage, key: TxKey) {
        let extra = [
            ("Allow", self.allow().to_string()),
            ("Accept", "application/sdp".to_string()),
            ("Supported", SUPPORTED.to_string()),
        ];
        self.reply_final(now, from, msg, key, 200, "OK", &extra);
    }

    /// Checks the body of an INVITE/re-INVITE; Err is the rejection to send.
    fn offer_of(msg: &SipMessage) -> Result<Option<SessionDescription>, Rejection> {
        let accept = msg.header_list("Accept");
        let sdp_acceptable = accept.is_empty()
            || accept.iter().any(|a| {
                let a = a.to_ascii_lowercase();
                a.starts_with("application/sdp")
                    || a.starts_with("*/*")
                    || a.starts_with("application/*")
            });
        if !sdp_acceptable {
            return Err(Rejection {
                code: 406,
                reason: "Not Acceptable: our answer is application/sdp".into(),
            });
        }
        if msg.body.is_empty() {
            return Ok(None);
        }
        let content_type = msg
            .header("Content-Type")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let body = if content_type.starts_with("application/sdp") {
            msg.body.clone()
        } else if content_type.starts_with("multipart/mixed") {
            multipart_sdp(msg.header("Content-Type").unwrap_or_default(), &msg.body).ok_or(
                Rejection {
                    code: 415,
                    reason: "Unsupported Media Type: no application/sdp part".into(),
                },
            )?
        } else {
            return Err(Rejection {
                code: 415,
                reason: "Unsupported Media Type".into(),
            });
        };
        if let Some(enc) = msg.header("Content-Encoding")
            && !enc.eq_ignore_ascii_case("identity")
        {
            return Err(Rejection {
                code: 415,
                reason: "Unsupported Content-Encoding".into(),
            });
        }
        sdp::parse(&body).map(Some).map_err(|e| Rejection {
            code: 400,
            reason: format!("Bad SDP: {e}"),
        })
    }

    fn handle_invite(
        &mut self,
        now: Instant,
        from: Peer,
        msg: SipMessage,
        info: RequestInfo,
        key: TxKey,
    ) {
        let allowed = self.config.allowed_sources.is_empty()
            || self
                .config
                .allowed_sources
                .iter()
                .any(|&net| in_network(from.addr.ip(), net));
        if !allowed {
            self.reply_final(
                now,
                from,
                &msg,
                key,
                403,
                "Forbidden: source not allowed",
                &[],
            );
            return;
        }
        if let Some(verifier) = self.verifier.as_mut() {
            let ok = msg
                .header_values("Authorization")
                .iter()
                .any(|a| verifier.verify("INVITE", a));
            if !ok {
                let challenge = verifier.challenge();
                let extra = [("WWW-Authenticate", challenge)];
                self.reply_final(now, from, &msg, key, 401, "Unauthorized", &extra);
                return;
            }
        }
        let replaces = match self.replaces_of(&msg) {
            Ok(r) => r,
            Err(r) => {
                self.reply_final(now, from, &msg, key, r.code, &r.reason, &[]);
                return;
            }
        };
        let offer = match Self::offer_of(&msg) {
            Ok(o) => o,
            Err(r) => {
                let extra: Vec<(&str, String)> = match r.code {
                    415 | 406 => vec![("Accept", "application/sdp".into())],
                    _ => vec![],
                };
                self.reply_final(now, from, &msg, key, r.code, &r.reason, &extra);
                return;
            }
        };
        self.reply_raw(from, &msg, 100, "Trying", &[]);
        let id = DialogId(self.next_dialog);
        self.next_dialog += 1;
        let local_tag = self.token();
        let to_value = msg.header("To").unwrap_or_default();
        let dialog = Dialog {
            role: Role::Uas,
            state: DialogState::Early,
            call_id: info.call_id.clone(),
            local_tag: local_tag.clone(),
            local: format!("{to_value};tag={local_tag}"),
            remote: msg.header("From").unwrap_or_default().to_string(),
            remote_target: info
                .contact
                .as_ref()
                .map(uri_text)
                .unwrap_or_else(|| uri_text(&info.from)),
            route_set: msg
                .header_list("Record-Route")
                .into_iter()
                .map(str::to_string)
                .collect(),
            local_cseq: (self.random() % 10_000) as u32 + 1,
            remote_cseq: info.cseq.seq,
            peer: from,
            invite: Some(msg),
            invite_branch: key.branch.clone(),
            reinvite: None,
            pending_ack: None,
            pending_request: None,
            sent_invite: None,
            credentials: None,
            extra_headers: Vec::new(),
            auth_tried: false,
            hangup_requested: false,
            ended: false,
            refers_accepted: 0,
            refer_event: None,
        };
        self.by_tags.insert((info.call_id.clone(), local_tag), id);
        self.invite_tx.insert(key, id);
        self.dialogs.insert(id, dialog);
        self.events.push_back(SipEvent::IncomingCall(IncomingCall {
            dialog: id,
            call_id: info.call_id,
            from: uri_text(&info.from),
            to: uri_text(&info.to),
            dialled: info.uri.user_decoded().unwrap_or_default(),
            offer,
            source: from,
            replaces,
        }));
    }

    /// The INVITE's Replaces header when it names a dialog it may replace (RFC 3891 §3);
    /// Err is the rejection to send.
    fn replaces_of(&self, msg: &SipMessage) -> Result<Option<Replaces>, Rejection> {
        let reject = |code: u16, reason: &str| Rejection {
            code,
            reason: reason.to_string(),
        };
        let replaces = match msg.header_values("Replaces").as_slice() {
            [] => return Ok(None),
            [one] => {
                Replaces::parse(one).map_err(|e| reject(400, &format!("Bad Replaces: {e}")))?
            }
            _ => return Err(reject(400, "Multiple Replaces headers")),
        };
        let dialog = self
            .dialog_for(&replaces)
            .and_then(|id| self.dialogs.get(&id));
        match dialog {
            None => Err(reject(481, "Call/Transaction Does Not Exist")),
            Some(d) if d.ended => Err(reject(603, "Decline: that call is over")),
            Some(d) if d.state == DialogState::Early && d.role == Role::Uas => {
                Err(reject(481, "Call/Transaction Does Not Exist"))
            }
            Some(d) if d.state == DialogState::Confirmed && replaces.early_only => {
                Err(reject(486, "Busy Here"))
            }
            Some(_) => Ok(Some(replaces)),
        }
    }

    fn handle_cancel(
        &mut self,
        now: Instant,
        from: Peer,
        msg: &SipMessage,
        info: &RequestInfo,
        key: TxKey,
    ) {
        let invite_key = TxKey {
            method: "INVITE".into(),
            ..key.clone()
        };
        let Some(&id) = self.invite_tx.get(&invite_key) else {
            self.reply_final(
                now,
                from,
                msg,
                key,
                481,
                "Call/Transaction Does Not Exist",
                &[],
            );
            return;
        };
        self.reply_final(now, from, msg, key, 200, "OK", &[]);
        let _ = info;
        let early = self
            .dialogs
            .get(&id)
            .is_some_and(|d| d.state == DialogState::Early && d.invite.is_some());
        if early {
            self.final_response(now, id, 487, "Request Terminated", None);
            self.end(id, EndCause::Cancelled);
        }
    }

    fn handle_ack(&mut self, now: Instant, msg: &SipMessage, info: &RequestInfo, key: &TxKey) {
        let id = self.invite_tx.get(key).copied().or_else(|| {
            info.to
                .tag()
                .and_then(|t| self.by_tags.get(&(info.call_id.clone(), t.to_string())))
                .copied()
        });
        let Some(id) = id else { return };
        let Some(d) = self.dialogs.get_mut(&id) else {
            return;
        };
        let Some(p) = d.pending_ack.as_ref() else {
            return;
        };
        if p.cseq != info.cseq.seq {
            return;
        }
        let success = p.success;
        d.pending_ack = None;
        if success {
            let answer = if msg.body.is_empty() {
                None
            } else {
                sdp::parse(&msg.body).ok()
            };
            self.events
                .push_back(SipEvent::Established { dialog: id, answer });
            let _ = now;
        } else {
            self.forget_dialog(id);
        }
    }

    fn handle_in_dialog(
        &mut self,
        now: Instant,
        from: Peer,
        msg: SipMessage,
        info: RequestInfo,
        key: TxKey,
        id: DialogId,
    ) {
        let Some(d) = self.dialogs.get_mut(&id) else {
            return;
        };
        if info.cseq.seq < d.remote_cseq && info.method != "ACK" {
            self.reply_final(
                now,
                from,
                &msg,
                key,
                500,
                "Server Internal Error: CSeq out of order",
                &[],
            );
            return;
        }
        d.remote_cseq = info.cseq.seq;
        if let Some(c) = &info.contact {
            d.remote_target = uri_text(c);
        }
        match info.method.as_str() {
            "BYE" => {
                self.reply_final(now, from, &msg, key, 200, "OK", &[]);
                if let Some(d) = self.dialogs.get(&id)
                    && d.state == DialogState::Early
                    && d.invite.is_some()
                {
                    self.final_response(now, id, 487, "Request Terminated", None);
                }
                self.end(id, EndCause::RemoteBye);
                self.forget_dialog(id);
            }
            "INVITE" => {
                if d.reinvite.is_some() || d.pending_ack.is_some() || d.invite.is_some() {
                    self.reply_final(now, from, &msg, key, 491, "Request Pending", &[]);
                    return;
                }
                match Self::offer_of(&msg) {
                    Ok(offer) => {
                        self.reply_raw(from, &msg, 100, "Trying", &[]);
                        self.invite_tx.insert(key, id);
                        if let Some(d) = self.dialogs.get_mut(&id) {
                            d.reinvite = Some(msg);
                        }
                        self.events
                            .push_back(SipEvent::ReInvite { dialog: id, offer });
                    }
                    Err(r) => self.reply_final(now, from, &msg, key, r.code, &r.reason, &[]),
                }
            }
            "INFO" => {
                let ctype = msg
                    .header("Content-Type")
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                let body = String::from_utf8_lossy(&msg.body).into_owned();
                let digit = if ctype.starts_with("application/dtmf-relay") {
                    body.lines()
                        .filter_map(|l| l.split_once('='))
                        .find(|(k, _)| k.trim().eq_ignore_ascii_case("signal"))
                        .and_then(|(_, v)| v.trim().chars().next())
                } else if ctype.starts_with("application/dtmf") {
                    body.trim().chars().next()
                } else {
                    None
                };
                let digit = digit
                    .map(|c| c.to_ascii_uppercase())
                    .filter(|c| c.is_ascii_digit() || matches!(c, '*' | '#' | 'A'..='D'));
                match digit {
                    Some(digit) => {
                        self.reply_final(now, from, &msg, key, 200, "OK", &[]);
                        self.events
                            .push_back(SipEvent::InfoDtmf { dialog: id, digit });
                    }
                    None if msg.body.is_empty() => {
                        self.reply_final(now, from, &msg, key, 200, "OK", &[])
                    }
                    None => {
                        let accept = [(
                            "Accept",
                            "application/dtmf-relay, application/dtmf".to_string(),
                        )];
                        self.reply_final(
                            now,
                            from,
                            &msg,
                            key,
                            415,
                            "Unsupported Media Type",
                            &accept,
                        )
                    }
                }
            }
            "OPTIONS" => self.answer_options(now, from, &msg, key),
            "REFER" => self.handle_refer(now, from, &msg, &info, key, id),
            // We never subscribe, so no NOTIFY belongs to a subscription of ours (RFC 6665 §4.1.3).
            "NOTIFY" => self.reply_final(
                now,
                from,
                &msg,
                key,
                481,
                "Subscription Does Not Exist",
                &[],
            ),
            _ => {
                let allow = [("Allow", self.allow().to_string())];
                self.reply_final(now, from, &msg, key, 405, "Method Not Allowed", &allow);
            }
        }
    }

    /// Accepts a transfer request in a confirmed dialog (RFC 3515) and reports it.
    fn handle_refer(
        &mut self,
        now: Instant,
        from: Peer,
        msg: &SipMessage,
        info: &RequestInfo,
        key: TxKey,
        id: DialogId,
    ) {
        let confirmed = self
            .dialogs
            .get(&id)
            .is_some_and(|d| d.state == DialogState::Confirmed && !d.ended);
        if !confirmed {
            let reason = "Forbidden: the call is not established";
            self.reply_final(now, from, msg, key, 403, reason, &[]);
            return;
        }
        let target = match msg.header_list("Refer-To").as_slice() {
            [one] => ReferTarget::parse(one).map_err(|e| format!("Bad Refer-To: {e}")),
            _ => Err("REFER needs exactly one Refer-To".to_string()),
        };
        let target = match target {
            Ok(t) => t,
            Err(reason) => {
                self.reply_final(now, from, msg, key, 400, &reason, &[]);
                return;
            }
        };
        let referred_by = msg
            .header("Referred-By")
            .and_then(|v| NameAddr::parse(v).ok())
            .map(|a| uri_text(&a));
        let contact = [("Contact", self.contact(from.transport))];
        self.reply_final(now, from, msg, key, 202, "Accepted", &contact);
        if let Some(d) = self.dialogs.get_mut(&id) {
            d.refers_accepted += 1;
            d.refer_event = Some(if d.refers_accepted == 1 {
                "refer".to_string()
            } else {
                format!("refer;id={}", info.cseq.seq)
            });
        }
        self.events.push_back(SipEvent::Refer {
            dialog: id,
            refer_to: target.uri,
            replaces: target.replaces,
            referred_by,
        });
    }

    /// Reports a transfer's progress to the side that sent the REFER: an in-dialog NOTIFY whose
    /// body is the status line of the new call (`code` 100 to 699); a final code (200 and up)
    /// ends the implicit subscription. Does nothing when no REFER is waiting for an outcome.
    pub fn notify_refer(&mut self, now: Instant, dialog: DialogId, code: u16, reason: &str) {
        let Some(d) = self.dialogs.get_mut(&dialog) else {
            return;
        };
        if d.ended {
            return;
        }
        let terminated = code >= 200;
        let event = if terminated {
            d.refer_event.take()
        } else {
            d.refer_event.clone()
        };
        let Some(event) = event else { return };
        let Some((mut m, peer, branch)) = self.in_dialog_request(dialog, "NOTIFY") else {
            return;
        };
        let state = if terminated {
            "terminated;reason=noresource"
        } else {
            REFER_SUBSCRIPTION_EXPIRES
        };
        m.push("Event", event)
            .push("Subscription-State", state)
            .push("Contact", self.contact(peer.transport));
        let status = format!("SIP/2.0 {code} {}\r\n", without_controls(reason));
        m.set_body("message/sipfrag;version=2.0", status.into_bytes());
        self.start_client_request(now, dialog, peer, m, branch, "NOTIFY");
    }

    fn contact(&self, transport: TransportKind) -> String {
        let t = match transport {
            TransportKind::Udp => "",
            TransportKind::Tcp => ";transport=tcp",
        };
        format!("<sip:switchboard@{}{t}>", self.config.public_addr)
    }

    /// Sends a final (or 18x) response to the pending INVITE or re-INVITE of a UAS dialog.
    fn final_response(
        &mut self,
        now: Instant,
        id: DialogId,
        code: u16,
        reason: &str,
        sdp: Option<String>,
    ) {
        let Some(d) = self.dialogs.get_mut(&id) else {
            return;
        };
        let provisional = code < 200;
        let req = if provisional {
            d.invite.clone()
        } else if d.invite.is_some() {
            d.invite.take()
        } else {
            d.reinvite.take()
        };
        let Some(req) = req else { return };
        let (peer, tag) = (d.peer, d.local_tag.clone());
        if (200..300).contains(&code) {
            d.state = DialogState::Confirmed;
        }
        let mut r = self.response_to(&req, code, reason, Some(&tag));
        if code < 300 {
            r.push("Contact", self.contact(peer.transport));
            r.push("Allow", self.allow());
            for rr in req.header_values("Record-Route") {
                r.push("Record-Route", rr);
            }
        }
        if let Some(sdp) = sdp {
            r.set_body("application/sdp", sdp.into_bytes());
        }
        let data = self.send(peer, &r);
        if provisional {
            return;
        }
        let cseq = crate::headers::CSeq::parse(req.header("CSeq").unwrap_or_default())
            .map(|c| c.seq)
            .unwrap_or_default();
        if let Some(d) = self.dialogs.get_mut(&id) {
            // Over TCP only the 2xx is retransmitted end to end; a reliable transport needs no more.
            let interval = if peer.transport == TransportKind::Tcp && code >= 300 {
                TRANSACTION_LIFETIME
            } else {
                T1
            };
            d.pending_ack = Some(PendingAck {
                data,
                interval,
                next: now + interval,
                give_up: now + TRANSACTION_LIFETIME,
                cseq,
                success: code < 300,
            });
        }
        self.schedule(now + T1.min(TRANSACTION_LIFETIME), Timer::Dialog(id));
    }

    /// Sends 180 Ringing.
    pub fn ringing(&mut self, now: Instant, id: DialogId) {
        self.final_response(now, id, 180, "Ringing", None);
    }

    /// Answers an inbound call with our SDP (an answer, or an offer if the INVITE had none).
    pub fn answer(&mut self, now: Instant, id: DialogId, sdp: String) {
        self.final_response(now, id, 200, "OK", Some(sdp));
    }

    /// Rejects an inbound call that has not been answered.
    pub fn reject(&mut self, now: Instant, id: DialogId, code: u16, reason: &str) {
        let pending = self.dialogs.get(&id).is_some_and(|d| d.invite.is_some());
        if pending {
            self.final_response(now, id, code, reason, None);
            self.end(id, EndCause::Rejected(code));
        }
    }

    /// Answers a pending re-INVITE with our SDP.
    pub fn answer_reinvite(&mut self, now: Instant, id: DialogId, sdp: String) {
        self.final_response(now, id, 200, "OK", Some(sdp));
    }

    /// Rejects a pending re-INVITE (the dialog continues with the old session).
    pub fn reject_reinvite(&mut self, now: Instant, id: DialogId, code: u16, reason: &str) {
        self.final_response(now, id, code, reason, None);
    }

    /// Ends a dialog from our side: BYE when established, CANCEL or a 480 before.
    pub fn hangup(&mut self, now: Instant, id: DialogId) {
        let Some(d) = self.dialogs.get_mut(&id) else {
            return;
        };
        if d.ended {
            return;
        }
        d.hangup_requested = true;
        match (d.role, d.state) {
            (Role::Uas, DialogState::Early) => {
                self.final_response(now, id, 480, "Temporarily Unavailable", None);
                self.end(id, EndCause::LocalHangup);
            }
            (Role::Uac, DialogState::Early) => {
                self.send_cancel(now, id);
                self.end(id, EndCause::LocalHangup);
            }
            (_, DialogState::Confirmed) => {
                self.send_in_dialog(now, id, "BYE");
                self.end(id, EndCause::LocalHangup);
            }
        }
    }

    fn end(&mut self, id: DialogId, cause: EndCause) {
        if let Some(d) = self.dialogs.get_mut(&id)
            && !d.ended
        {
            d.ended = true;
            self.events.push_back(SipEvent::Ended { dialog: id, cause });
        }
    }

    /// Drops the dialog once nothing is left to retransmit or absorb.
    fn forget_dialog(&mut self, id: DialogId) {
        let busy = self
            .dialogs
            .get(&id)
            .is_some_and(|d| !d.ended || d.pending_ack.is_some() || d.pending_request.is_some());
        if busy {
            return;
        }
        if let Some(d) = self.dialogs.remove(&id) {
            self.by_tags.remove(&(d.call_id, d.local_tag));
            self.invite_tx.retain(|_, v| *v != id);
            self.client_tx.retain(|_, v| *v != id);
        }
    }

    fn via(&mut self, transport: TransportKind) -> (String, String) {
        let branch = self.branch();
        (
            format!(
                "SIP/2.0/{} {};branch={branch};rport",
                transport.via_name(),
                self.config.public_addr
            ),
            branch,
        )
    }

    fn send_in_dialog(&mut self, now: Instant, id: DialogId, method: &str) {
        if let Some((m, peer, branch)) = self.in_dialog_request(id, method) {
            self.start_client_request(now, id, peer, m, branch, method);
        }
    }

    /// A request in the dialog (next CSeq, route set), with the peer and branch to send it with.
    fn in_dialog_request(
        &mut self,
        id: DialogId,
        method: &str,
    ) -> Option<(SipMessage, Peer, String)> {
        let peer = self.dialogs.get(&id)?.peer;
        let (via, branch) = self.via(peer.transport);
        let d = self.dialogs.get_mut(&id)?;
        d.local_cseq += 1;
        let mut m = SipMessage::request(method, &d.remote_target);
        m.push("Via", via)
            .push("Max-Forwards", "70")
            .push("From", d.local.clone())
            .push("To", d.remote.clone())
            .push("Call-ID", d.call_id.clone())
            .push("CSeq", format!("{} {method}", d.local_cseq));
        let routes: Vec<String> = match d.role {
            Role::Uas => d.route_set.clone(),
            Role::Uac => d.route_set.iter().rev().cloned().collect(),
        };
        for r in routes {
            m.push("Route", r);
        }
        m.push("User-Agent", self.config.user_agent.as_str());
        Some((m, peer, branch))
    }

    fn start_client_request(
        &mut self,
        now: Instant,
        id: DialogId,
        peer: Peer,
        m: SipMessage,
        branch: String,
        method: &str,
    ) {
        let data = self.send(peer, &m);
        let next = (peer.transport == TransportKind::Udp).then_some(now + T1);
        self.client_tx.insert(branch.clone(), id);
        if let Some(d) = self.dialogs.get_mut(&id) {
            d.pending_request = Some(PendingRequest {
                branch,
                method: method.to_string(),
                data,
                interval: T1,
                next,
                give_up: now + TRANSACTION_LIFETIME,
            });
        }
        self.schedule(
            next.unwrap_or(now + TRANSACTION_LIFETIME),
            Timer::Dialog(id),
        );
    }

    fn send_cancel(&mut self, now: Instant, id: DialogId) {
        let Some(d) = self.dialogs.get(&id) else {
            return;
        };
        let Some(invite) = d.sent_invite.clone() else {
            return;
        };
        let peer = d.peer;
        let uri = request_uri(&invite);
        let mut m = SipMessage::request("CANCEL", &uri);
        for name in ["Via", "Max-Forwards", "From", "To", "Call-ID"] {
            if let Some(v) = invite.header(name) {
                m.push(name, v);
            }
        }
        let seq = invite
            .header("CSeq")
            .and_then(|c| c.split_whitespace().next())
            .unwrap_or("1");
        m.push("CSeq", format!("{seq} CANCEL"));
        let data = self.send(peer, &m);
        let _ = (now, data);
    }

    /// Places an outbound call; events report its progress.
    pub fn invite(&mut self, now: Instant, call: OutgoingCall) -> DialogId {
        let id = DialogId(self.next_dialog);
        self.next_dialog += 1;
        let local_tag = self.token();
        let call_id = format!("{}@switchboard", self.token());
        let local = format!("<{}>;tag={local_tag}", call.from);
        let dialog = Dialog {
            role: Role::Uac,
            state: DialogState::Early,
            call_id: call_id.clone(),
            local_tag: local_tag.clone(),
            local,
            remote: format!("<{}>", call.to),
            remote_target: call.uri.clone(),
            route_set: Vec::new(),
            local_cseq: 1,
            remote_cseq: 0,
            peer: call.target,
            invite: None,
            invite_branch: String::new(),
            reinvite: None,
            pending_ack: None,
            pending_request: None,
            sent_invite: None,
            credentials: call.credentials.clone(),
            extra_headers: call
                .extra_headers
                .iter()
                .filter_map(|(name, value)| extra_header(name, value))
                .collect(),
            auth_tried: false,
            hangup_requested: false,
            ended: false,
            refers_accepted: 0,
            refer_event: None,
        };
        self.dialogs.insert(id, dialog);
        self.by_tags.insert((call_id, local_tag), id);
        self.send_invite(now, id, call.offer.into_bytes(), None);
        id
    }

    fn send_invite(
        &mut self,
        now: Instant,
        id: DialogId,
        sdp: Vec<u8>,
        authorization: Option<String>,
    ) {
        let Some(d) = self.dialogs.get(&id) else {
            return;
        };
        let peer = d.peer;
        let (via, branch) = self.via(peer.transport);
        let contact = self.contact(peer.transport);
        let allow = self.allow();
        let Some(d) = self.dialogs.get_mut(&id) else {
            return;
        };
        let mut m = SipMessage::request("INVITE", &d.remote_target);
        m.push("Via", via)
            .push("Max-Forwards", "70")
            .push("From", d.local.clone())
            .push("To", d.remote.clone())
            .push("Call-ID", d.call_id.clone())
            .push("CSeq", format!("{} INVITE", d.local_cseq))
            .push("Contact", contact)
            .push("Allow", allow)
            .push("User-Agent", self.config.user_agent.as_str());
        for (name, value) in &d.extra_headers {
            m.push(name, value.clone());
        }
        if let Some(a) = authorization {
            m.push("Authorization", a);
        }
        m.set_body("application/sdp", sdp);
        d.sent_invite = Some(m.clone());
        d.invite_branch = branch.clone();
        self.start_client_request(now, id, peer, m, branch, "INVITE");
    }

    fn handle_response(&mut self, now: Instant, msg: SipMessage) {
        let Some(code) = msg.status() else { return };
        let branch = msg
            .header("Via")
            .and_then(|v| crate::headers::Via::parse(v).ok())
            .and_then(|v| v.branch().map(str::to_string));
        let Some(branch) = branch else { return };
        if let Some(result) = self.qualifier.handle_response(now, &branch) {
            self.events.push_back(result);
            return;
        }
        let Some(&id) = self.client_tx.get(&branch) else {
            return;
        };
        let method = crate::headers::CSeq::parse(msg.header("CSeq").unwrap_or_default())
            .map(|c| c.method)
            .unwrap_or_default();
        let Some(d) = self.dialogs.get_mut(&id) else {
            return;
        };
        if method != "INVITE" {
            // BYE/CANCEL answered: nothing more to retransmit.
            if code >= 200
                && d.pending_request
                    .as_ref()
                    .is_some_and(|p| p.branch == branch)
            {
                d.pending_request = None;
                self.client_tx.remove(&branch);
                self.forget_dialog(id);
            }
            return;
        }
        let to = msg.header("To").unwrap_or_default().to_string();
        if let Some(p) = d.pending_request.as_mut().filter(|p| p.branch == branch) {
            p.next = None;
        }
        if code < 200 {
            if !d.hangup_requested {
                self.events
                    .push_back(SipEvent::Progress { dialog: id, code });
            }
            return;
        }
        d.pending_request = None;
        if code < 300 {
            let first = d.state == DialogState::Early;
            d.state = DialogState::Confirmed;
            d.remote = to;
            if let Some(c) = msg.header("Contact").and_then(|c| NameAddr::parse(c).ok()) {
                d.remote_target = uri_text(&c);
            }
            if first {
                d.route_set = msg
                    .header_list("Record-Route")
                    .into_iter()
                    .map(str::to_string)
                    .collect();
            }
            self.send_ack(id, &msg, true);
            if first {
                let answer = sdp::parse(&msg.body).ok();
                if self.dialogs.get(&id).is_some_and(|d| d.hangup_requested) {
                    // Answered after we gave up: confirm and hang up at once.
                    self.send_in_dialog(now, id, "BYE");
                } else {
                    self.events
                        .push_back(SipEvent::Answered { dialog: id, answer });
                }
            }
            return;
        }
        self.send_ack(id, &msg, false);
        let challenge = msg
            .header("WWW-Authenticate")
            .or_else(|| msg.header("Proxy-Authenticate"))
            .map(str::to_string);
        let d = self.dialogs.get_mut(&id).expect("dialog checked above");
        if let (Some(ch), Some((user, pass)), false) =
            (challenge, d.credentials.clone(), d.auth_tried)
            && matches!(code, 401 | 407)
            && !d.hangup_requested
        {
            d.auth_tried = true;
            d.local_cseq += 1;
            let uri = d.remote_target.clone();
            let sdp = d
                .sent_invite
                .as_ref()
                .map(|m| m.body.clone())
                .unwrap_or_default();
            let cnonce = self.token();
            let header = auth::authorize(&ch, "INVITE", &uri, &user, &pass, &cnonce);
            self.send_invite(now, id, sdp, header);
            return;
        }
        self.end(id, EndCause::Rejected(code));
        self.client_tx.remove(&branch);
        self.forget_dialog(id);
    }

    /// Asks whether `uri` answers at `target` (an out-of-dialog OPTIONS); the outcome comes as
    /// one [`SipEvent::Qualified`]. A malformed `uri` is reported unreachable at once.
    pub fn qualify(&mut self, now: Instant, target: Peer, uri: &str) -> QualifyId {
        let id = self.qualifier.next_id();
        if crate::headers::Uri::parse(uri).is_err() || uri.contains(char::is_control) {
            self.events.push_back(SipEvent::Qualified {
                id,
                reachable: false,
                rtt: None,
            });
            return id;
        }
        let (via, branch) = self.via(target.transport);
        let (tag, call_id) = (self.token(), self.token());
        let mut m = SipMessage::request("OPTIONS", uri);
        m.push("Via", via)
            .push("Max-Forwards", "70")
            .push(
                "From",
                format!("<sip:switchboard@{}>;tag={tag}", self.config.public_addr),
            )
            .push("To", format!("<{uri}>"))
            .push("Call-ID", format!("{call_id}@switchboard"))
            .push("CSeq", "1 OPTIONS")
            .push("Contact", self.contact(target.transport))
            .push("Accept", "application/sdp")
            .push("User-Agent", self.config.user_agent.as_str());
        let data = self.send(target, &m);
        self.qualifier.start(now, id, branch, target, data);
        id
    }

    fn send_ack(&mut self, id: DialogId, resp: &SipMessage, success: bool) {
        let Some(d) = self.dialogs.get(&id) else {
            return;
        };
        let peer = d.peer;
        let invite = d.sent_invite.clone();
        let (via, _) = self.via(peer.transport);
        let Some(d) = self.dialogs.get(&id) else {
            return;
        };
        let seq = resp
            .header("CSeq")
            .and_then(|c| c.split_whitespace().next())
            .unwrap_or("1")
            .to_string();
        let uri = if success {
            d.remote_target.clone()
        } else {
            invite
                .as_ref()
                .map(request_uri)
                .unwrap_or_else(|| d.remote_target.clone())
        };
        let mut m = SipMessage::request("ACK", &uri);
        // A non-2xx ACK belongs to the INVITE transaction (same branch); a 2xx ACK is new.
        let via = if success {
            via
        } else {
            invite
                .as_ref()
                .and_then(|i| i.header("Via"))
                .unwrap_or_default()
                .to_string()
        };
        m.push("Via", via)
            .push("Max-Forwards", "70")
            .push("From", d.local.clone())
            .push("To", resp.header("To").unwrap_or_default())
            .push("Call-ID", d.call_id.clone())
            .push("CSeq", format!("{seq} ACK"));
        if success {
            for r in d.route_set.iter().rev() {
                m.push("Route", r.clone());
            }
        }
        self.send(peer, &m);
    }

    /// Runs due timers: retransmissions, ACK and response time-outs, transaction clean-up,
    /// registrar expiry, qualify time-outs.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(registrar) = self.registrar.as_mut() {
            for (user, bindings) in registrar.expire(now) {
                self.events
                    .push_back(SipEvent::Registration { user, bindings });
            }
        }
        self.qualifier
            .handle_timeout(now, &mut self.transmits, &mut self.events);
        while let Some(Reverse((at, _))) = self.timers.peek() {
            if *at > now {
                break;
            }
            let Some(Reverse((_, timer))) = self.timers.pop() else {
                break;
            };
            match timer {
                Timer::ForgetTransaction(n) => {
                    if let Some(key) = self.answered_ids.remove(&n) {
                        self.answered.remove(&key);
                    }
                }
                Timer::Dialog(id) => self.dialog_timer(now, id),
            }
        }
    }

    fn dialog_timer(&mut self, now: Instant, id: DialogId) {
        let Some(d) = self.dialogs.get_mut(&id) else {
            return;
        };
        let mut resend = Vec::new();
        let mut next: Option<Instant> = None;
        let mut timed_out_ack = false;
        let mut timed_out_request = None;
        if let Some(p) = d.pending_ack.as_mut() {
            if now >= p.give_up {
                timed_out_ack = p.success;
                d.pending_ack = None;
            } else {
                if now >= p.next {
                    resend.push(p.data.clone());
                    p.interval = (p.interval * 2).min(T2);
                    p.next = now + p.interval;
                }
                next = Some(p.next.min(p.give_up));
            }
        }
        if let Some(p) = d.pending_request.as_mut() {
            if now >= p.give_up {
                timed_out_request = Some(p.method.clone());
                d.pending_request = None;
            } else {
                if let Some(n) = p.next.filter(|&n| now >= n) {
                    let _ = n;
                    resend.push(p.data.clone());
                    p.interval = if p.method == "INVITE" {
                        p.interval * 2
                    } else {
                        (p.interval * 2).min(T2)
                    };
                    p.next = Some(now + p.interval);
                }
                let due = p.next.unwrap_or(p.give_up).min(p.give_up);
                next = Some(next.map_or(due, |n| n.min(due)));
            }
        }
        let peer = d.peer;
        for data in resend {
            self.transmits.push_back(Transmit { to: peer, data });
        }
        if let Some(n) = next {
            self.schedule(n, Timer::Dialog(id));
        }
        if timed_out_ack {
            // RFC 3261 §13.3.1.4: no ACK for our 2xx — the session is not established.
            self.send_in_dialog(now, id, "BYE");
            self.end(id, EndCause::Timeout);
        }
        if let Some(method) = timed_out_request
            && method == "INVITE"
        {
            self.end(id, EndCause::Timeout);
        }
        self.forget_dialog(id);
    }
}

/// An extra header as it may go on the wire: a token name we do not write ourselves, and a value
/// on one line (a newline would let the value inject headers).
fn extra_header(name: &str, value: &str) -> Option<(String, String)> {
    let managed = MANAGED_HEADERS
        .iter()
        .any(|m| m.eq_ignore_ascii_case(&message::canonical_name(name)));
    (message::is_token(name) && !managed).then(|| (name.to_string(), without_controls(value)))
}

/// The text with control characters (CR, LF, …) replaced by spaces, trimmed.
fn without_controls(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

fn request_uri(m: &SipMessage) -> String {
    match &m.start {
        message::StartLine::Request { uri, .. } => uri.clone(),
        message::StartLine::Response { .. } => String::new(),
    }
}

/// Extracts the application/sdp part of a multipart/mixed body.
fn multipart_sdp(content_type: &str, body: &[u8]) -> Option<Vec<u8>> {
    let boundary = content_type.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_string())
    })?;
    let text = String::from_utf8_lossy(body);
    let delimiter = format!("--{boundary}");
    for part in text.split(delimiter.as_str()).skip(1) {
        let part = part.strip_prefix("\r\n").unwrap_or(part);
        let (head, content) = part.split_once("\r\n\r\n")?;
        let is_sdp = head.lines().any(|l| {
            l.split_once(':').is_some_and(|(k, v)| {
                k.trim().eq_ignore_ascii_case("content-type")
                    && v.trim().to_ascii_lowercase().starts_with("application/sdp")
            })
        });
        if is_sdp {
            return Some(content.trim_end_matches("\r\n").as_bytes().to_vec());
        }
    }
    None
}
