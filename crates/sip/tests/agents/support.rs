//! Helpers shared by the agent tests: a phone on loopback, an endpoint with a registrar, and
//! literal SIP messages the way baresip writes them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

use sb_sip::auth::authorize;
use sb_sip::message::parse;
use sb_sip::{
    DialogId, EndpointConfig, Peer, RegistrarConfig, SipEndpoint, SipEvent, SipMessage,
    TransportKind,
};

pub const OFFER: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";

/// The agent's phone.
pub fn phone() -> Peer {
    Peer {
        transport: TransportKind::Udp,
        addr: "127.0.0.1:5062".parse().unwrap(),
    }
}

/// Settings with a registrar that knows 1001 and 1002.
pub fn config(seed: u64) -> EndpointConfig {
    let users = HashMap::from([
        ("1001".to_string(), "pw1".to_string()),
        ("1002".to_string(), "pw2".to_string()),
    ]);
    EndpointConfig {
        public_addr: "127.0.0.1:5060".parse().unwrap(),
        user_agent: "switchboard-test".into(),
        allowed_sources: vec![],
        auth: None,
        registrar: Some(RegistrarConfig::new("agents", users)),
        seed,
    }
}

/// An endpoint with [`config`].
pub fn endpoint(seed: u64) -> SipEndpoint {
    SipEndpoint::new(config(seed))
}

pub fn drain(ep: &mut SipEndpoint) -> Vec<SipMessage> {
    std::iter::from_fn(|| ep.poll_transmit())
        .map(|t| parse(&t.data).expect("we only send valid SIP"))
        .collect()
}

pub fn events(ep: &mut SipEndpoint) -> Vec<SipEvent> {
    std::iter::from_fn(|| ep.poll_event()).collect()
}

pub fn codes(msgs: &[SipMessage]) -> Vec<u16> {
    msgs.iter().filter_map(|m| m.status()).collect()
}

/// The one response the endpoint sent.
pub fn only_response(ep: &mut SipEndpoint) -> SipMessage {
    let mut sent = drain(ep);
    assert_eq!(sent.len(), 1, "{sent:?}");
    sent.remove(0)
}

/// A REGISTER for `user` as baresip sends it; `headers` are added as they are (Contact, Expires,
/// Authorization, …).
pub fn register(user: &str, call_id: &str, cseq: u32, headers: &[String]) -> Vec<u8> {
    // Every REGISTER is a new transaction, even one repeating a CSeq on purpose.
    static BRANCH: AtomicU32 = AtomicU32::new(0);
    let branch = BRANCH.fetch_add(1, Ordering::Relaxed);
    let extra: String = headers.iter().map(|h| format!("{h}\r\n")).collect();
    format!(
        "REGISTER sip:127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKr{branch};rport\r\n{extra}Max-Forwards: 70\r\nTo: <sip:{user}@127.0.0.1:5060>\r\nFrom: <sip:{user}@127.0.0.1:5060>;tag=a8a92bd5\r\nCall-ID: {call_id}\r\nCSeq: {cseq} REGISTER\r\nUser-Agent: baresip v1.0.0 (x86_64/linux)\r\nAllow: INVITE,ACK,BYE,CANCEL,OPTIONS,NOTIFY,SUBSCRIBE,INFO,MESSAGE,REFER\r\nContent-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

/// Gets a challenge with an unauthenticated REGISTER and returns the Authorization header line
/// answering it; the endpoint accepts the nonce for later requests too.
pub fn credentials(ep: &mut SipEndpoint, now: Instant, user: &str, password: &str) -> String {
    ep.handle_receive(now, phone(), &register(user, "challenge", 1, &[]));
    let r = only_response(ep);
    assert_eq!(r.status(), Some(401));
    let challenge = r.header("WWW-Authenticate").expect("a challenge");
    assert!(challenge.contains("realm=\"agents\""), "{challenge}");
    let answer = authorize(
        challenge,
        "REGISTER",
        "sip:127.0.0.1:5060",
        user,
        password,
        "c1",
    )
    .expect("a digest challenge");
    format!("Authorization: {answer}")
}

/// A response to a request we sent, as the phone would answer.
pub fn respond(req: &SipMessage, code: u16, reason: &str) -> Vec<u8> {
    let mut r = SipMessage::response(code, reason);
    for name in ["Via", "From", "Call-ID", "CSeq"] {
        r.push(name, req.header(name).unwrap());
    }
    r.push("To", format!("{};tag=phone", req.header("To").unwrap()));
    r.to_bytes()
}

/// An in-dialog request from the phone on the call set up by [`answered_call`].
pub fn from_phone(method: &str, to: &str, cseq: u32, headers: &[&str]) -> Vec<u8> {
    let extra: String = headers.iter().map(|h| format!("{h}\r\n")).collect();
    format!(
        "{method} sip:switchboard@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK{method}{cseq}\r\nFrom: <sip:1001@127.0.0.1>;tag=a1\r\nTo: {to}\r\nCall-ID: c1\r\nCSeq: {cseq} {method}\r\nMax-Forwards: 70\r\nContact: <sip:1001@127.0.0.1:5062>\r\n{extra}Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

/// An INVITE from the phone with Call-ID `call_id` and the extra header lines.
pub fn invite(call_id: &str, headers: &[&str]) -> Vec<u8> {
    let extra: String = headers.iter().map(|h| format!("{h}\r\n")).collect();
    format!(
        "INVITE sip:200@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKi{call_id}\r\nFrom: <sip:1001@127.0.0.1>;tag=a1\r\nTo: <sip:200@127.0.0.1>\r\nCall-ID: {call_id}\r\nCSeq: 1 INVITE\r\nContact: <sip:1001@127.0.0.1:5062>\r\nMax-Forwards: 70\r\n{extra}Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{OFFER}",
        OFFER.len()
    )
    .into_bytes()
}

/// A call from the phone (Call-ID c1), answered and acknowledged: the dialog and the To header
/// (with our tag) for in-dialog requests.
pub fn answered_call(ep: &mut SipEndpoint, now: Instant) -> (DialogId, String) {
    ep.handle_receive(now, phone(), &invite("c1", &[]));
    let Some(SipEvent::IncomingCall(call)) = ep.poll_event() else {
        panic!("no call offered")
    };
    assert!(call.replaces.is_none());
    ep.answer(now, call.dialog, OFFER.into());
    let ok = drain(ep).pop().unwrap();
    assert_eq!(ok.status(), Some(200));
    let to = ok.header("To").unwrap().to_string();
    ep.handle_receive(now, phone(), &from_phone("ACK", &to, 1, &[]));
    assert!(matches!(events(ep)[..], [SipEvent::Established { .. }]));
    (call.dialog, to)
}
