//! Transfers from the agent's phone: REFER with NOTIFY progress, INVITE with Replaces.

use std::time::Instant;

use sb_sip::{Replaces, SipEvent};

use crate::support::{
    answered_call, codes, drain, endpoint, events, from_phone, invite, only_response, phone,
    respond,
};

const REFER_TO: &str = "Refer-To: <sip:1002@127.0.0.1;transport=tcp?Replaces=c2%40127.0.0.1%3Bto-tag%3Dt2%3Bfrom-tag%3Df2>";

#[test]
fn refer_is_accepted_reported_and_notified() {
    let t0 = Instant::now();
    let mut ep = endpoint(21);
    let (id, to) = answered_call(&mut ep, t0);
    let referred_by = "Referred-By: \"Agent\" <sip:1001@127.0.0.1;x=1>";
    ep.handle_receive(
        t0,
        phone(),
        &from_phone("REFER", &to, 2, &[REFER_TO, referred_by]),
    );
    let accepted = only_response(&mut ep);
    assert_eq!(accepted.status(), Some(202));
    assert!(accepted.header("Contact").is_some());
    let ev = events(&mut ep);
    let [
        SipEvent::Refer {
            dialog,
            refer_to,
            replaces,
            referred_by,
        },
    ] = &ev[..]
    else {
        panic!("{ev:?}")
    };
    assert_eq!(*dialog, id);
    assert_eq!(refer_to, "sip:1002@127.0.0.1;transport=tcp");
    assert_eq!(
        replaces.as_ref(),
        Some(&Replaces {
            call_id: "c2@127.0.0.1".into(),
            to_tag: "t2".into(),
            from_tag: "f2".into(),
            early_only: false,
        })
    );
    assert_eq!(referred_by.as_deref(), Some("sip:1001@127.0.0.1"));

    ep.notify_refer(t0, id, 100, "Trying");
    let notify = only_response(&mut ep);
    assert_eq!(notify.method(), Some("NOTIFY"));
    assert_eq!(notify.header("Event"), Some("refer"));
    assert_eq!(
        notify.header("Subscription-State"),
        Some("active;expires=60")
    );
    assert_eq!(
        notify.header("Content-Type"),
        Some("message/sipfrag;version=2.0")
    );
    assert_eq!(notify.body, b"SIP/2.0 100 Trying\r\n");
    assert_eq!(notify.header("To"), Some("<sip:1001@127.0.0.1>;tag=a1"));
    assert_eq!(notify.header("From"), Some(&*to));
    assert_eq!(notify.header("Call-ID"), Some("c1"));
    assert!(notify.header("Contact").is_some());
    assert!(
        notify
            .to_string()
            .starts_with("NOTIFY sip:1001@127.0.0.1:5062 SIP/2.0")
    );
    ep.handle_receive(t0, phone(), &respond(&notify, 200, "OK"));

    ep.notify_refer(t0, id, 200, "OK");
    let last = only_response(&mut ep);
    assert_eq!(
        last.header("Subscription-State"),
        Some("terminated;reason=noresource")
    );
    assert_eq!(last.body, b"SIP/2.0 200 OK\r\n");
    let seq = |m: &sb_sip::SipMessage| {
        m.header("CSeq")
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse::<u32>()
            .unwrap()
    };
    assert_eq!(seq(&last), seq(&notify) + 1);
    ep.handle_receive(t0, phone(), &respond(&last, 200, "OK"));
    ep.notify_refer(t0, id, 200, "OK");
    assert!(drain(&mut ep).is_empty(), "the subscription is over");

    // A second REFER in the dialog: its NOTIFYs carry its CSeq as id.
    let blind = "Refer-To: sip:1002@127.0.0.1";
    ep.handle_receive(t0, phone(), &from_phone("REFER", &to, 3, &[blind]));
    assert_eq!(codes(&drain(&mut ep)), vec![202]);
    assert!(matches!(
        &events(&mut ep)[..],
        [SipEvent::Refer {
            replaces: None,
            referred_by: None,
            ..
        }]
    ));
    ep.notify_refer(t0, id, 503, "Service Unavailable");
    let notify = only_response(&mut ep);
    assert_eq!(notify.header("Event"), Some("refer;id=3"));
    assert_eq!(notify.body, b"SIP/2.0 503 Service Unavailable\r\n");
}

#[test]
fn bad_refers_and_unsupported_in_dialog_requests() {
    let t0 = Instant::now();
    let mut ep = endpoint(22);
    let (_, to) = answered_call(&mut ep, t0);
    let cases: [(&[&str], u16); 3] = [
        (&[], 400),
        (&[REFER_TO, "Refer-To: <sip:1002@127.0.0.1>"], 400),
        (
            &["Refer-To: <sip:1002@127.0.0.1?Replaces=c2%3Bto-tag%3Dt2>"],
            400,
        ),
    ];
    for (cseq, (headers, code)) in cases.into_iter().enumerate() {
        ep.handle_receive(
            t0,
            phone(),
            &from_phone("REFER", &to, 2 + cseq as u32, headers),
        );
        assert_eq!(codes(&drain(&mut ep)), vec![code], "{headers:?}");
    }
    ep.handle_receive(
        t0,
        phone(),
        &from_phone("NOTIFY", &to, 10, &["Event: talk"]),
    );
    assert_eq!(codes(&drain(&mut ep)), vec![481]);
    ep.handle_receive(
        t0,
        phone(),
        &from_phone("SUBSCRIBE", &to, 11, &["Event: dialog"]),
    );
    let r = only_response(&mut ep);
    assert_eq!(r.status(), Some(405));
    assert!(r.header("Allow").unwrap().contains("REFER"));
    assert!(events(&mut ep).is_empty());

    // Outside a dialog REFER is not allowed, and an unknown dialog does not exist.
    let outside = String::from_utf8(from_phone(
        "REFER",
        "<sip:switchboard@127.0.0.1>",
        1,
        &[REFER_TO],
    ))
    .unwrap()
    .replace("Call-ID: c1", "Call-ID: other");
    ep.handle_receive(t0, phone(), outside.as_bytes());
    assert_eq!(codes(&drain(&mut ep)), vec![405]);
    let unknown = outside
        .replace(
            "<sip:switchboard@127.0.0.1>",
            "<sip:switchboard@127.0.0.1>;tag=gone",
        )
        .replace("REFER1", "REFER2");
    ep.handle_receive(t0, phone(), unknown.as_bytes());
    assert_eq!(codes(&drain(&mut ep)), vec![481]);
}

#[test]
fn refer_before_answer_is_refused() {
    let t0 = Instant::now();
    let mut ep = endpoint(23);
    ep.handle_receive(t0, phone(), &invite("c1", &[]));
    let Some(SipEvent::IncomingCall(call)) = ep.poll_event() else {
        panic!("no call")
    };
    ep.ringing(t0, call.dialog);
    let ringing = drain(&mut ep).pop().unwrap();
    let to = ringing.header("To").unwrap().to_string();
    ep.handle_receive(t0, phone(), &from_phone("REFER", &to, 2, &[REFER_TO]));
    assert_eq!(codes(&drain(&mut ep)), vec![403]);
    ep.notify_refer(t0, call.dialog, 200, "OK");
    assert!(drain(&mut ep).is_empty(), "no subscription, no NOTIFY");
}

#[test]
fn invite_with_replaces_names_our_dialog() {
    let t0 = Instant::now();
    let mut ep = endpoint(24);
    let (id, to) = answered_call(&mut ep, t0);
    let our_tag = to.rsplit("tag=").next().unwrap().to_string();
    let replaces = format!("Replaces: c1;to-tag={our_tag};from-tag=a1");
    ep.handle_receive(
        t0,
        phone(),
        &invite("c2", &[&replaces, "Require: replaces"]),
    );
    assert_eq!(codes(&drain(&mut ep)), vec![100]);
    let ev = events(&mut ep);
    let [SipEvent::IncomingCall(call)] = &ev[..] else {
        panic!("{ev:?}")
    };
    let r = call.replaces.as_ref().expect("Replaces surfaced");
    assert_eq!(
        (r.call_id.as_str(), r.to_tag.as_str(), r.from_tag.as_str()),
        ("c1", &*our_tag, "a1")
    );
    assert_eq!(ep.dialog_for(r), Some(id));

    let cases = [
        (
            "c3",
            format!("Replaces: nope;to-tag={our_tag};from-tag=a1"),
            481,
        ),
        (
            "c4",
            format!("Replaces: c1;to-tag={our_tag};from-tag=other"),
            481,
        ),
        (
            "c5",
            format!("Replaces: c1;to-tag={our_tag};from-tag=a1;early-only"),
            486,
        ),
        ("c6", "Replaces: c1;to-tag=x".to_string(), 400),
    ];
    for (call_id, header, code) in cases {
        ep.handle_receive(t0, phone(), &invite(call_id, &[&header]));
        assert_eq!(codes(&drain(&mut ep)), vec![code], "{header}");
    }
    ep.handle_receive(t0, phone(), &invite("c7", &["Require: 100rel"]));
    assert_eq!(codes(&drain(&mut ep)), vec![420]);
    assert!(events(&mut ep).is_empty());
}
