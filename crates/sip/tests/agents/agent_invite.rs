//! Calls to an agent's phone carry context headers, safely.

use std::time::Instant;

use sb_sip::{OutgoingCall, SipEvent};

use crate::support::{OFFER, drain, endpoint, events, phone};

#[test]
fn extra_headers_go_on_the_invite_and_its_retry() {
    let t0 = Instant::now();
    let mut ep = endpoint(31);
    ep.invite(
        t0,
        OutgoingCall {
            target: phone(),
            uri: "sip:1001-0x5@127.0.0.1:5062".into(),
            from: "sip:switchboard@127.0.0.1".into(),
            to: "sip:1001@127.0.0.1".into(),
            offer: OFFER.into(),
            credentials: Some(("1001".into(), "pw".into())),
            extra_headers: vec![
                (
                    "X-Switchboard-Summary".into(),
                    "Order 4512 late,\r\nVia: evil".into(),
                ),
                (
                    "Call-Info".into(),
                    "<http://127.0.0.1:8080/calls/7>;purpose=info".into(),
                ),
                ("via".into(), "SIP/2.0/UDP 6.6.6.6".into()),
                ("Bad Name".into(), "x".into()),
            ],
        },
    );
    let sent = drain(&mut ep);
    let invite = &sent[0];
    assert_eq!(
        invite.header("X-Switchboard-Summary"),
        Some("Order 4512 late,  Via: evil")
    );
    assert_eq!(
        invite.header("Call-Info"),
        Some("<http://127.0.0.1:8080/calls/7>;purpose=info")
    );
    assert_eq!(invite.header_values("Via").len(), 1);
    assert!(!invite.to_string().contains("Bad Name"));
    assert!(invite.header("Allow").unwrap().contains("REFER"));

    // The phone challenges: the retry carries the same headers.
    let mut challenge = sb_sip::SipMessage::response(401, "Unauthorized");
    for name in ["Via", "From", "Call-ID", "CSeq"] {
        challenge.push(name, invite.header(name).unwrap());
    }
    challenge
        .push("To", format!("{};tag=p", invite.header("To").unwrap()))
        .push(
            "WWW-Authenticate",
            "Digest realm=\"phone\", nonce=\"n\", qop=\"auth\"",
        );
    ep.handle_receive(t0, phone(), &challenge.to_bytes());
    let sent = drain(&mut ep);
    let retry = sent
        .iter()
        .find(|m| m.method() == Some("INVITE"))
        .expect("a retry");
    assert!(retry.header("Authorization").is_some());
    assert_eq!(
        retry.header("X-Switchboard-Summary"),
        Some("Order 4512 late,  Via: evil")
    );
    assert!(retry.header("Call-Info").is_some());
    assert!(
        events(&mut ep)
            .iter()
            .all(|e| !matches!(e, SipEvent::Ended { .. }))
    );
}
