//! Qualify: OPTIONS to a phone, reachable on any response, unreachable after 64·T1.

use std::time::{Duration, Instant};

use sb_sip::{Peer, SipEvent, TransportKind};

use crate::support::{drain, endpoint, events, phone, respond};

#[test]
fn any_response_means_reachable_once() {
    let t0 = Instant::now();
    let mut ep = endpoint(11);
    let id = ep.qualify(t0, phone(), "sip:1001-0x5@127.0.0.1:5062");
    let mut sent = std::iter::from_fn(|| ep.poll_transmit()).collect::<Vec<_>>();
    assert_eq!(sent.len(), 1);
    let transmit = sent.remove(0);
    assert_eq!(transmit.to, phone());
    let options = sb_sip::message::parse(&transmit.data).unwrap();
    assert_eq!(options.method(), Some("OPTIONS"));
    assert_eq!(
        options.to_string().lines().next(),
        Some("OPTIONS sip:1001-0x5@127.0.0.1:5062 SIP/2.0")
    );
    assert_eq!(options.header("To"), Some("<sip:1001-0x5@127.0.0.1:5062>"));
    assert_eq!(options.header("CSeq"), Some("1 OPTIONS"));
    assert!(options.header("From").unwrap().contains(";tag="));

    // Not answered in T1: sent again.
    ep.handle_timeout(t0 + Duration::from_millis(500));
    assert_eq!(drain(&mut ep).len(), 1);
    // A 404 still proves the phone is there.
    let answer = respond(&options, 404, "Not Found");
    ep.handle_receive(t0 + Duration::from_millis(620), phone(), &answer);
    let ev = events(&mut ep);
    assert!(
        matches!(&ev[..], [SipEvent::Qualified { id: got, reachable: true, rtt: Some(rtt) }]
            if *got == id && *rtt == Duration::from_millis(620)),
        "{ev:?}"
    );
    ep.handle_receive(t0 + Duration::from_millis(700), phone(), &answer);
    ep.handle_timeout(t0 + Duration::from_secs(40));
    assert!(events(&mut ep).is_empty(), "reported once");
    assert!(drain(&mut ep).is_empty(), "no more retransmissions");
    assert_eq!(ep.transaction_count(), 0);
}

#[test]
fn silence_means_unreachable_after_64_t1() {
    let t0 = Instant::now();
    let mut ep = endpoint(12);
    let id = ep.qualify(t0, phone(), "sip:1001@127.0.0.1:5062");
    let tcp = Peer {
        transport: TransportKind::Tcp,
        addr: "127.0.0.1:5070".parse().unwrap(),
    };
    let over_tcp = ep.qualify(t0, tcp, "sip:1002@127.0.0.1:5070;transport=tcp");
    assert_eq!(drain(&mut ep).len(), 2);
    let mut udp_retransmits = 0;
    let mut t = t0;
    while t < t0 + Duration::from_secs(32) {
        assert!(events(&mut ep).is_empty(), "nothing before 64·T1");
        t = ep.poll_timeout().unwrap();
        ep.handle_timeout(t);
        for sent in std::iter::from_fn(|| ep.poll_transmit()) {
            assert_eq!(sent.to, phone(), "TCP is not retransmitted");
            udp_retransmits += 1;
        }
    }
    assert_eq!(t, t0 + Duration::from_secs(32));
    // Timer E: 0.5, 1.5, 3.5, 7.5 s, then every 4 s up to 31.5 s.
    assert_eq!(udp_retransmits, 10);
    let ev = events(&mut ep);
    let unreachable: Vec<_> = ev
        .iter()
        .map(|e| match e {
            SipEvent::Qualified {
                id,
                reachable: false,
                rtt: None,
            } => *id,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(unreachable, vec![id, over_tcp]);
    assert_eq!(ep.poll_timeout(), None);
    assert_eq!(ep.transaction_count(), 0);
}

#[test]
fn a_malformed_uri_is_unreachable_at_once() {
    let t0 = Instant::now();
    let mut ep = endpoint(13);
    let id = ep.qualify(t0, phone(), "sip:1001@127.0.0.1\r\nX-Injected: 1");
    assert!(drain(&mut ep).is_empty());
    assert!(matches!(
        &events(&mut ep)[..],
        [SipEvent::Qualified { id: got, reachable: false, rtt: None }] if *got == id
    ));
    let _ = ep.qualify(t0, phone(), "no scheme");
    assert!(drain(&mut ep).is_empty());
}
