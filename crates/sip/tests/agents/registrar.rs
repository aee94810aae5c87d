//! The registrar: digest per user, bindings, ordering, expiry.

use std::time::{Duration, Instant};

use sb_sip::{SipEvent, TransportKind};

use crate::support::{config, credentials, endpoint, events, only_response, phone, register};

const CONTACT: &str = "<sip:1001-0x564b1fc57a70@127.0.0.1:5062>";

#[test]
fn challenge_then_authorized_register_lists_the_contact() {
    let t0 = Instant::now();
    let mut ep = endpoint(1);
    let auth = credentials(&mut ep, t0, "1001", "pw1");
    assert!(events(&mut ep).is_empty(), "a challenge changes nothing");
    let contact = format!("Contact: {CONTACT};expires=600");
    ep.handle_receive(t0, phone(), &register("1001", "r1", 2, &[contact, auth]));
    let ok = only_response(&mut ep);
    assert_eq!(ok.status(), Some(200));
    assert_eq!(
        ok.header_values("Contact"),
        vec!["<sip:1001-0x564b1fc57a70@127.0.0.1:5062>;expires=600"]
    );
    let ev = events(&mut ep);
    let [SipEvent::Registration { user, bindings }] = &ev[..] else {
        panic!("{ev:?}")
    };
    assert_eq!(user, "1001");
    assert_eq!(bindings.len(), 1);
    assert_eq!(
        bindings[0].contact,
        "sip:1001-0x564b1fc57a70@127.0.0.1:5062"
    );
    assert_eq!(bindings[0].source, phone());
    assert_eq!(bindings[0].expires_at, t0 + Duration::from_secs(600));
    assert_eq!(bindings[0].q, None);
    assert_eq!(ep.bindings("1001"), &bindings[..]);

    // A refresh from another source port (a NAT rebinding) moves where calls go.
    let moved = sb_sip::Peer {
        transport: TransportKind::Tcp,
        addr: "127.0.0.1:40000".parse().unwrap(),
    };
    let t1 = t0 + Duration::from_secs(300);
    let contact = format!("Contact: {CONTACT}");
    let headers = [
        contact,
        "Expires: 600".into(),
        credentials(&mut ep, t1, "1001", "pw1"),
    ];
    ep.handle_receive(t1, moved, &register("1001", "r1", 3, &headers));
    assert_eq!(only_response(&mut ep).status(), Some(200));
    assert!(matches!(
        &events(&mut ep)[..],
        [SipEvent::Registration { .. }]
    ));
    assert_eq!(ep.bindings("1001")[0].source, moved);
    assert_eq!(
        ep.bindings("1001")[0].expires_at,
        t1 + Duration::from_secs(600)
    );

    // REGISTER without Contact asks for the bindings: remaining time, no change.
    let t2 = t1 + Duration::from_secs(100);
    let auth = credentials(&mut ep, t2, "1001", "pw1");
    ep.handle_receive(t2, phone(), &register("1001", "r1", 4, &[auth]));
    let ok = only_response(&mut ep);
    assert_eq!(
        ok.header("Contact"),
        Some(&*format!("{CONTACT};expires=500"))
    );
    assert!(events(&mut ep).is_empty());
}

#[test]
fn wrong_password_unknown_user_and_foreign_record_are_forbidden() {
    let t0 = Instant::now();
    let mut ep = endpoint(2);
    let contact = format!("Contact: {CONTACT}");
    for (user, password) in [("1001", "nope"), ("9999", "pw1")] {
        let auth = credentials(&mut ep, t0, user, password);
        ep.handle_receive(
            t0,
            phone(),
            &register(user, user, 2, &[contact.clone(), auth]),
        );
        let r = only_response(&mut ep);
        assert_eq!(
            (r.status(), r.header("WWW-Authenticate")),
            (Some(403), None)
        );
    }
    // 1002's password does not let anyone register 1001's phone.
    let auth = credentials(&mut ep, t0, "1002", "pw2");
    ep.handle_receive(t0, phone(), &register("1001", "x", 2, &[contact, auth]));
    assert_eq!(only_response(&mut ep).status(), Some(403));
    assert!(events(&mut ep).is_empty());
    assert!(ep.bindings("1001").is_empty());
    // An answer to a nonce we never gave is challenged again.
    let forged = "Authorization: Digest username=\"1001\", realm=\"agents\", nonce=\"1.0000000000000000\", uri=\"sip:127.0.0.1:5060\", response=\"00\"";
    ep.handle_receive(t0, phone(), &register("1001", "y", 2, &[forged.into()]));
    assert_eq!(only_response(&mut ep).status(), Some(401));
}

#[test]
fn two_contacts_then_one_removed_then_all() {
    let t0 = Instant::now();
    let mut ep = endpoint(3);
    let auth = credentials(&mut ep, t0, "1002", "pw2");
    let headers = [
        "Contact: <sip:1002@127.0.0.1:5062>;expires=120, <sip:1002@127.0.0.1:5064;transport=tcp>;q=0.5".to_string(),
        "Expires: 3600".into(),
        auth.clone(),
    ];
    ep.handle_receive(t0, phone(), &register("1002", "r2", 1, &headers));
    let ok = only_response(&mut ep);
    assert_eq!(
        ok.header_values("Contact"),
        vec![
            "<sip:1002@127.0.0.1:5062>;expires=120",
            "<sip:1002@127.0.0.1:5064;transport=tcp>;expires=3600;q=0.500",
        ]
    );
    assert_eq!(ep.bindings("1002")[1].q, Some(0.5));
    assert!(matches!(
        &events(&mut ep)[..],
        [SipEvent::Registration { .. }]
    ));

    // Expiry 0 on one contact (written differently, same URI) removes just that one.
    let t1 = t0 + Duration::from_secs(10);
    let headers = [
        "Contact: <sip:1002@127.0.0.1:5064;TRANSPORT=TCP>;expires=0".to_string(),
        auth.clone(),
    ];
    ep.handle_receive(t1, phone(), &register("1002", "r2", 2, &headers));
    let ok = only_response(&mut ep);
    assert_eq!(
        ok.header_values("Contact"),
        vec!["<sip:1002@127.0.0.1:5062>;expires=110"]
    );
    let ev = events(&mut ep);
    assert!(
        matches!(&ev[..], [SipEvent::Registration { bindings, .. }] if bindings.len() == 1),
        "{ev:?}"
    );

    // `*` needs Expires: 0 and no other contact.
    for (cseq, bad) in [
        vec!["Contact: *".to_string(), "Expires: 60".into()],
        vec!["Contact: *".to_string()],
        vec![
            "Contact: *, <sip:1002@127.0.0.1:5062>".to_string(),
            "Expires: 0".into(),
        ],
    ]
    .into_iter()
    .enumerate()
    {
        let headers: Vec<String> = bad.into_iter().chain([auth.clone()]).collect();
        ep.handle_receive(
            t1,
            phone(),
            &register("1002", "r2", 3 + cseq as u32, &headers),
        );
        assert_eq!(only_response(&mut ep).status(), Some(400));
    }
    let headers = ["Contact: *".to_string(), "Expires: 0".into(), auth];
    ep.handle_receive(t1, phone(), &register("1002", "other-call-id", 1, &headers));
    let ok = only_response(&mut ep);
    assert_eq!((ok.status(), ok.header("Contact")), (Some(200), None));
    let ev = events(&mut ep);
    assert!(
        matches!(&ev[..], [SipEvent::Registration { user, bindings }] if user == "1002" && bindings.is_empty()),
        "{ev:?}"
    );
    assert!(ep.bindings("1002").is_empty());
}

#[test]
fn too_brief_gets_423_and_too_long_is_shortened() {
    let t0 = Instant::now();
    let mut ep = endpoint(4);
    let auth = credentials(&mut ep, t0, "1001", "pw1");
    let headers = [format!("Contact: {CONTACT};expires=30"), auth.clone()];
    ep.handle_receive(t0, phone(), &register("1001", "r4", 1, &headers));
    let r = only_response(&mut ep);
    assert_eq!(r.status(), Some(423));
    assert_eq!(r.header("Min-Expires"), Some("60"));
    assert!(ep.bindings("1001").is_empty());

    let headers = [
        format!("Contact: {CONTACT}"),
        "Expires: 86400".into(),
        auth.clone(),
    ];
    ep.handle_receive(t0, phone(), &register("1001", "r4", 2, &headers));
    let ok = only_response(&mut ep);
    assert_eq!(
        ok.header("Contact"),
        Some(&*format!("{CONTACT};expires=7200"))
    );

    // No expiry named: the default hour.
    let headers = [format!("Contact: {CONTACT}"), auth];
    ep.handle_receive(t0, phone(), &register("1001", "r4", 3, &headers));
    let ok = only_response(&mut ep);
    assert_eq!(
        ok.header("Contact"),
        Some(&*format!("{CONTACT};expires=3600"))
    );
}

#[test]
fn bindings_lapse_in_handle_timeout() {
    let t0 = Instant::now();
    let mut ep = endpoint(5);
    let auth = credentials(&mut ep, t0, "1001", "pw1");
    let headers = [format!("Contact: {CONTACT};expires=60"), auth];
    ep.handle_receive(t0, phone(), &register("1001", "r5", 1, &headers));
    assert_eq!(only_response(&mut ep).status(), Some(200));
    events(&mut ep);
    // The 401 and 200 are remembered for 32 s, then only the binding is left to time.
    ep.handle_timeout(t0 + Duration::from_secs(40));
    assert_eq!(ep.poll_timeout(), Some(t0 + Duration::from_secs(60)));
    ep.handle_timeout(t0 + Duration::from_secs(59));
    assert!(events(&mut ep).is_empty());
    ep.handle_timeout(t0 + Duration::from_secs(60));
    let ev = events(&mut ep);
    assert!(
        matches!(&ev[..], [SipEvent::Registration { user, bindings }] if user == "1001" && bindings.is_empty()),
        "{ev:?}"
    );
    assert!(ep.bindings("1001").is_empty());
    assert_eq!(ep.poll_timeout(), None);
    assert_eq!(ep.transaction_count(), 0);
}

#[test]
fn out_of_order_cseq_is_rejected() {
    let t0 = Instant::now();
    let mut ep = endpoint(6);
    let auth = credentials(&mut ep, t0, "1001", "pw1");
    let register_with = |call_id: &str, cseq: u32, expires: u32| {
        let headers = [
            format!("Contact: {CONTACT};expires={expires}"),
            auth.clone(),
        ];
        register("1001", call_id, cseq, &headers)
    };
    ep.handle_receive(t0, phone(), &register_with("r6", 10, 600));
    assert_eq!(only_response(&mut ep).status(), Some(200));
    events(&mut ep);
    for (cseq, expires) in [(9, 0), (10, 0), (9, 900)] {
        ep.handle_receive(t0, phone(), &register_with("r6", cseq, expires));
        assert_eq!(only_response(&mut ep).status(), Some(500), "CSeq {cseq}");
    }
    assert!(events(&mut ep).is_empty());
    assert_eq!(ep.bindings("1001").len(), 1);
    // Another Call-ID (the phone restarted) may use any CSeq.
    ep.handle_receive(t0, phone(), &register_with("r6-restart", 1, 0));
    assert_eq!(only_response(&mut ep).status(), Some(200));
    assert!(ep.bindings("1001").is_empty());
}

#[test]
fn allow_names_register_only_with_a_registrar() {
    let t0 = Instant::now();
    let options = b"OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKo\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: o1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
    let mut ep = endpoint(7);
    ep.handle_receive(t0, phone(), options);
    let ok = only_response(&mut ep);
    assert_eq!(
        ok.header("Allow"),
        Some("INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, REFER, REGISTER")
    );
    assert_eq!(ok.header("Supported"), Some("replaces"));

    let mut config = config(8);
    config.registrar = None;
    let mut ep = sb_sip::SipEndpoint::new(config);
    let contact = format!("Contact: {CONTACT}");
    ep.handle_receive(t0, phone(), &register("1001", "r7", 1, &[contact]));
    let r = only_response(&mut ep);
    assert_eq!(r.status(), Some(405));
    assert!(!r.header("Allow").unwrap().contains("REGISTER"));
}

#[test]
fn malformed_contacts_get_400() {
    let t0 = Instant::now();
    let mut ep = endpoint(9);
    let auth = credentials(&mut ep, t0, "1001", "pw1");
    for contact in [
        "Contact: <sip:1001@127.0.0.1>;q=2",
        "Contact: <sip:1001@127.0.0.1>;q=NaN",
        "Contact: <tel:+15551234>",
        "Contact: <sip:1001@127.0.0.1>;expires=soon",
        "Contact: <sip:1001@127.0.0.1>;expires",
        "Contact: <sip:1001@127.0.0.1",
    ] {
        let headers = [contact.to_string(), auth.clone()];
        ep.handle_receive(t0, phone(), &register("1001", "r9", 1, &headers));
        assert_eq!(only_response(&mut ep).status(), Some(400), "{contact}");
    }
    assert!(events(&mut ep).is_empty());
}
