//! Whole SIP exchanges against the sans-IO endpoint, in simulated time.

use std::time::{Duration, Instant};

use sb_sip::message::parse;
use sb_sip::{
    DialogId, EndCause, EndpointConfig, OutgoingCall, Peer, SipEndpoint, SipEvent, SipMessage,
    TransportKind, TrunkAuth,
};

const OFFER: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n";

fn caller() -> Peer {
    Peer {
        transport: TransportKind::Udp,
        addr: "127.0.0.1:5062".parse().unwrap(),
    }
}

fn config(seed: u64) -> EndpointConfig {
    EndpointConfig {
        public_addr: "127.0.0.1:5060".parse().unwrap(),
        user_agent: "switchboard-test".into(),
        allowed_sources: vec![],
        auth: None,
        registrar: None,
        seed,
    }
}

fn invite(branch: &str, call_id: &str) -> Vec<u8> {
    format!(
        "INVITE sip:100@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5062;branch={branch}\r\nFrom: <sip:alice@127.0.0.1>;tag=a1\r\nTo: <sip:100@127.0.0.1>\r\nCall-ID: {call_id}\r\nCSeq: 1 INVITE\r\nContact: <sip:alice@127.0.0.1:5062>\r\nMax-Forwards: 70\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{OFFER}",
        OFFER.len()
    )
    .into_bytes()
}

fn drain(ep: &mut SipEndpoint) -> Vec<SipMessage> {
    std::iter::from_fn(|| ep.poll_transmit())
        .map(|t| parse(&t.data).expect("we only send valid SIP"))
        .collect()
}

fn events(ep: &mut SipEndpoint) -> Vec<SipEvent> {
    std::iter::from_fn(|| ep.poll_event()).collect()
}

fn codes(msgs: &[SipMessage]) -> Vec<u16> {
    msgs.iter().filter_map(|m| m.status()).collect()
}

fn in_dialog(method: &str, to: &str, cseq: u32, branch: &str, body: (&str, &str)) -> Vec<u8> {
    let (ctype, body) = body;
    let ctype = if ctype.is_empty() {
        String::new()
    } else {
        format!("Content-Type: {ctype}\r\n")
    };
    format!(
        "{method} sip:switchboard@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5062;branch={branch}\r\nFrom: <sip:alice@127.0.0.1>;tag=a1\r\nTo: {to}\r\nCall-ID: c1\r\nCSeq: {cseq} {method}\r\nMax-Forwards: 70\r\n{ctype}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Answers an INVITE and returns the dialog and the To header (with our tag).
fn answered_call(ep: &mut SipEndpoint, t0: Instant) -> (DialogId, String) {
    ep.handle_receive(t0, caller(), &invite("z9hG4bKinv1", "c1"));
    assert_eq!(codes(&drain(ep)), vec![100]);
    let Some(SipEvent::IncomingCall(call)) = ep.poll_event() else {
        panic!("no call offered")
    };
    assert_eq!(call.dialled, "100");
    assert_eq!(
        call.offer.as_ref().unwrap().audio.as_ref().unwrap().port,
        4000
    );
    ep.ringing(t0, call.dialog);
    ep.answer(
        t0,
        call.dialog,
        "v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 5000 RTP/AVP 0\r\n".into(),
    );
    let sent = drain(ep);
    assert_eq!(codes(&sent), vec![180, 200]);
    let ok = &sent[1];
    assert!(ok.header("Contact").is_some());
    assert!(!ok.body.is_empty());
    let to = ok.header("To").unwrap().to_string();
    assert!(to.contains("tag="));
    (call.dialog, to)
}

#[test]
fn inbound_call_answer_ack_and_remote_bye() {
    let t0 = Instant::now();
    let mut ep = SipEndpoint::new(config(1));
    let (id, to) = answered_call(&mut ep, t0);
    // No ACK yet: the 200 is retransmitted after T1.
    ep.handle_timeout(t0 + Duration::from_millis(501));
    assert_eq!(codes(&drain(&mut ep)), vec![200]);
    ep.handle_receive(
        t0 + Duration::from_millis(600),
        caller(),
        &in_dialog("ACK", &to, 1, "z9hG4bKack1", ("", "")),
    );
    assert!(matches!(events(&mut ep)[..], [SipEvent::Established { dialog, .. }] if dialog == id));
    ep.handle_timeout(t0 + Duration::from_secs(5));
    assert!(drain(&mut ep).is_empty(), "no retransmission after ACK");
    ep.handle_receive(
        t0 + Duration::from_secs(6),
        caller(),
        &in_dialog("BYE", &to, 2, "z9hG4bKbye1", ("", "")),
    );
    assert_eq!(codes(&drain(&mut ep)), vec![200]);
    assert!(matches!(
        &events(&mut ep)[..],
        [SipEvent::Ended {
            cause: EndCause::RemoteBye,
            ..
        }]
    ));
    // A retransmitted BYE gets the same 200, not a 481.
    ep.handle_receive(
        t0 + Duration::from_secs(7),
        caller(),
        &in_dialog("BYE", &to, 2, "z9hG4bKbye1", ("", "")),
    );
    assert_eq!(codes(&drain(&mut ep)), vec![200]);
    ep.handle_timeout(t0 + Duration::from_secs(60));
    assert_eq!(ep.dialog_count(), 0);
    assert_eq!(ep.transaction_count(), 0, "transactions are forgotten");
}

#[test]
fn missing_ack_ends_the_call_with_bye() {
    let t0 = Instant::now();
    let mut ep = SipEndpoint::new(config(2));
    let (id, _) = answered_call(&mut ep, t0);
    let mut retransmits = 0;
    let mut t = t0;
    while t < t0 + Duration::from_secs(40) {
        t += Duration::from_millis(100);
        ep.handle_timeout(t);
        retransmits += codes(&drain(&mut ep)).iter().filter(|&&c| c == 200).count();
    }
    assert!(
        (7..=11).contains(&retransmits),
        "{retransmits} retransmissions"
    );
    let ev = events(&mut ep);
    assert!(
        ev.iter().any(
            |e| matches!(e, SipEvent::Ended { dialog, cause: EndCause::Timeout } if *dialog == id)
        ),
        "{ev:?}"
    );
}

#[test]
fn cancel_before_answer() {
    let t0 = Instant::now();
    let mut ep = SipEndpoint::new(config(3));
    ep.handle_receive(t0, caller(), &invite("z9hG4bKinv2", "c2"));
    drain(&mut ep);
    let cancel = String::from_utf8(invite("z9hG4bKinv2", "c2"))
        .unwrap()
        .replace("INVITE sip", "CANCEL sip")
        .replace("1 INVITE", "1 CANCEL");
    let cancel =
        cancel.split("Content-Type").next().unwrap().to_string() + "Content-Length: 0\r\n\r\n";
    ep.handle_receive(t0, caller(), cancel.as_bytes());
    assert_eq!(codes(&drain(&mut ep)), vec![200, 487]);
    let ev = events(&mut ep);
    assert!(matches!(
        ev.last(),
        Some(SipEvent::Ended {
            cause: EndCause::Cancelled,
            ..
        })
    ));
    // CANCEL for a transaction we do not know.
    let stray = cancel.replace("z9hG4bKinv2", "z9hG4bKnope");
    ep.handle_receive(t0, caller(), stray.as_bytes());
    assert_eq!(codes(&drain(&mut ep)), vec![481]);
}

#[test]
fn reinvite_hold_info_dtmf_and_unknown_dialog() {
    let t0 = Instant::now();
    let mut ep = SipEndpoint::new(config(4));
    let (id, to) = answered_call(&mut ep, t0);
    ep.handle_receive(
        t0,
        caller(),
        &in_dialog("ACK", &to, 1, "z9hG4bKa", ("", "")),
    );
    events(&mut ep);
    let hold = format!("{OFFER}a=sendonly\r\n");
    ep.handle_receive(
        t0,
        caller(),
        &in_dialog("INVITE", &to, 2, "z9hG4bKre", ("application/sdp", &hold)),
    );
    assert_eq!(codes(&drain(&mut ep)), vec![100]);
    let ev = events(&mut ep);
    let Some(SipEvent::ReInvite {
        offer: Some(offer), ..
    }) = ev.first()
    else {
        panic!("{ev:?}")
    };
    let n = sb_sip::sdp::negotiate(offer, &["PCMU"]).unwrap();
    assert!(n.on_hold());
    ep.answer_reinvite(
        t0,
        id,
        "v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 5000 RTP/AVP 0\r\na=recvonly\r\n".into(),
    );
    assert_eq!(codes(&drain(&mut ep)), vec![200]);
    ep.handle_receive(
        t0,
        caller(),
        &in_dialog("ACK", &to, 2, "z9hG4bKa2", ("", "")),
    );
    ep.handle_receive(
        t0,
        caller(),
        &in_dialog(
            "INFO",
            &to,
            3,
            "z9hG4bKi",
            ("application/dtmf-relay", "Signal=5\r\nDuration=160\r\n"),
        ),
    );
    assert_eq!(codes(&drain(&mut ep)), vec![200]);
    let ev = events(&mut ep);
    assert!(
        ev.iter()
            .any(|e| matches!(e, SipEvent::InfoDtmf { digit: '5', .. })),
        "{ev:?}"
    );
    ep.handle_receive(
        t0,
        caller(),
        &in_dialog("INFO", &to, 4, "z9hG4bKi2", ("text/plain", "hello")),
    );
    assert_eq!(codes(&drain(&mut ep)), vec![415]);
    ep.handle_receive(
        t0,
        caller(),
        &in_dialog(
            "BYE",
            "<sip:100@127.0.0.1>;tag=unknown",
            5,
            "z9hG4bKb",
            ("", ""),
        ),
    );
    assert_eq!(codes(&drain(&mut ep)), vec![481]);
    ep.hangup(t0, id);
    let sent = drain(&mut ep);
    assert_eq!(sent[0].method(), Some("BYE"));
    assert!(sent[0].header("To").unwrap().contains("tag=a1"));
}

#[test]
fn codecs_and_content_types_are_checked() {
    let t0 = Instant::now();
    let mut ep = SipEndpoint::new(config(5));
    let bad_type = String::from_utf8(invite("z9hG4bKx1", "c5"))
        .unwrap()
        .replace("application/sdp", "application/unknownformat");
    ep.handle_receive(t0, caller(), bad_type.as_bytes());
    let sent = drain(&mut ep);
    assert_eq!(codes(&sent), vec![415]);
    assert_eq!(sent[0].header("Accept"), Some("application/sdp"));
    let options = "OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKo\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: o1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
    ep.handle_receive(t0, caller(), options.as_bytes());
    let sent = drain(&mut ep);
    assert_eq!(codes(&sent), vec![200]);
    assert!(sent[0].header("Allow").unwrap().contains("INVITE"));
    let subscribe = options.replace("OPTIONS", "SUBSCRIBE");
    ep.handle_receive(t0, caller(), subscribe.as_bytes());
    assert_eq!(codes(&drain(&mut ep)), vec![405]);
}

#[test]
fn trunk_access_control() {
    let t0 = Instant::now();
    let mut cfg = config(6);
    cfg.allowed_sources = vec![("10.0.0.0".parse().unwrap(), 8)];
    let mut ep = SipEndpoint::new(cfg);
    ep.handle_receive(t0, caller(), &invite("z9hG4bKac", "c6"));
    assert_eq!(codes(&drain(&mut ep)), vec![403]);
    assert!(events(&mut ep).is_empty());

    let mut cfg = config(7);
    cfg.auth = Some(TrunkAuth {
        realm: "switchboard".into(),
        username: "trunk".into(),
        password: "pw".into(),
    });
    let mut server = SipEndpoint::new(cfg);
    let mut client = SipEndpoint::new(config(8));
    let server_peer = Peer {
        transport: TransportKind::Udp,
        addr: "127.0.0.1:5060".parse().unwrap(),
    };
    let id = client.invite(
        t0,
        OutgoingCall {
            target: server_peer,
            uri: "sip:100@127.0.0.1:5060".into(),
            from: "sip:caller@127.0.0.1".into(),
            to: "sip:100@127.0.0.1".into(),
            offer: OFFER.into(),
            credentials: Some(("trunk".into(), "pw".into())),
            extra_headers: Vec::new(),
        },
    );
    // Shuttle messages between the two endpoints until quiet.
    let mut answered = false;
    for _ in 0..10 {
        for t in std::iter::from_fn(|| client.poll_transmit()).collect::<Vec<_>>() {
            server.handle_receive(t0, caller(), &t.data);
        }
        while let Some(ev) = server.poll_event() {
            if let SipEvent::IncomingCall(c) = ev {
                server.answer(t0, c.dialog, OFFER.into());
            }
        }
        for t in std::iter::from_fn(|| server.poll_transmit()).collect::<Vec<_>>() {
            client.handle_receive(t0, server_peer, &t.data);
        }
        while let Some(ev) = client.poll_event() {
            if let SipEvent::Answered { dialog, answer } = ev {
                assert_eq!(dialog, id);
                assert!(answer.is_some());
                answered = true;
            }
        }
    }
    assert!(answered, "the digest retry was accepted");
}

include!("data/rfc4475_expected.rs");

#[test]
fn every_rfc4475_message_gets_the_right_answer() {
    let dir = std::path::Path::new(&*std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo"))
        .join("../../../shared/testdata/rfc4475");
    let mut ep = SipEndpoint::new(config(9));
    let mut wrong = Vec::new();
    for (name, expected) in TORTURE {
        let data = std::fs::read(dir.join(format!("{name}.dat")))
            .unwrap_or_else(|e| panic!("{name}.dat in ../shared/testdata/rfc4475: {e}"));
        ep.handle_receive(Instant::now(), caller(), &data);
        let got = drain(&mut ep).first().and_then(|m| m.status());
        if got != *expected {
            wrong.push(format!("{name}: expected {expected:?}, got {got:?}"));
        }
        events(&mut ep);
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    let files = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "dat")
        })
        .count();
    assert_eq!(
        files,
        TORTURE.len(),
        "every file in the directory is in the table"
    );
}
