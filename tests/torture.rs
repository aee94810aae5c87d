//! The RFC 4475 SIP torture messages, sent to the running gateway over UDP: each gets the answer
//! the SIP crate's own table test expects (or none where none may be sent), and afterwards the
//! gateway still runs, answers OPTIONS and takes a call through its menu.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use switchboard_e2e::raw_sip::{RawSip, header, status};
use switchboard_e2e::{Gateway, events_of, output_text, repo};

// The expected answers, shared with the SIP crate's own table test.
include!("../crates/sip/tests/data/rfc4475_expected.rs");

/// How long to listen for the answers to one message.
const WINDOW: Duration = Duration::from_millis(300);

/// The Call-ID of a raw message (first `Call-ID`/`i` header), trimmed.
fn call_id_of(msg: &str) -> Option<String> {
    header(msg, "Call-ID").map(str::to_string)
}

fn cseq_method(msg: &str) -> Option<String> {
    header(msg, "CSeq").and_then(|c| c.split_whitespace().nth(1).map(str::to_string))
}

#[test]
fn rfc4475_torture_messages_get_the_right_answers_and_the_gateway_survives() {
    let mut gw = Gateway::start("");
    let dir = repo().join("../shared/testdata/rfc4475");
    let files = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
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
        "every .dat in {} is in the table",
        dir.display()
    );

    let sip = RawSip::new(gw.addr);
    let mut wrong = Vec::new();
    // Call-ID → message name, for recognising retransmitted INVITE final responses (they are
    // resent until an ACK that we do not send) when they arrive during a later message's window.
    let mut sent_call_ids: HashMap<String, &str> = HashMap::new();
    let started = Instant::now();
    for &(name, expected) in TORTURE {
        let data = std::fs::read(dir.join(format!("{name}.dat")))
            .unwrap_or_else(|e| panic!("{name}.dat: {e}"));
        let text = String::from_utf8_lossy(&data).into_owned();
        let own_call_id = call_id_of(&text);
        sip.send(&data);
        let mut first: Option<u16> = None;
        for msg in sip.recv_for(WINDOW) {
            let Some(code) = status(&msg) else {
                wrong.push(format!(
                    "{name}: the gateway sent something that is not a SIP response: {:?}",
                    msg.lines().next().unwrap_or_default()
                ));
                continue;
            };
            let cid = call_id_of(&msg);
            let earlier = cid
                .as_ref()
                .filter(|c| Some(*c) != own_call_id.as_ref())
                .and_then(|c| sent_call_ids.get(c));
            if let Some(earlier) = earlier {
                // Only a final response to an earlier INVITE may come again.
                if !(code >= 200 && cseq_method(&msg).as_deref() == Some("INVITE")) {
                    wrong.push(format!(
                        "{name}: late or unexpected {code} for {earlier}: {:?}",
                        msg.lines().take(8).collect::<Vec<_>>()
                    ));
                }
                continue;
            }
            if first.is_none() {
                first = Some(code);
            }
        }
        eprintln!("{name:<11} expected {expected:?}, got {first:?}");
        if first != expected {
            wrong.push(format!("{name}: expected {expected:?}, got {first:?}"));
        }
        if let Some(c) = own_call_id {
            sent_call_ids.insert(c, name);
        }
        assert!(
            gw.alive(),
            "the gateway died after {name}.dat:\n{}",
            gw.log()
        );
    }
    eprintln!(
        "{} messages in {:.1} s",
        TORTURE.len(),
        started.elapsed().as_secs_f64()
    );

    assert!(
        gw.alive(),
        "the gateway process is still running:\n{}",
        gw.log()
    );
    assert!(
        !gw.log().contains("panicked"),
        "no task panicked:\n{}",
        gw.log()
    );
    assert!(gw.options_ok(), "the gateway still answers OPTIONS");
    assert!(
        wrong.is_empty(),
        "{wrong:#?}\n--- gateway.log\n{}",
        gw.log()
    );

    // A whole call still works: greeting, main menu, key 1 → order status.
    let out = gw.place_call(&[
        "--dtmf",
        "1",
        "--duration",
        "6",
        "--from",
        "sip:after-torture@127.0.0.1",
    ]);
    assert!(out.status.success(), "{}", output_text(&out));
    let call = gw.wait_for_call("after-torture", Duration::from_secs(10), |c| {
        !c["call"]["outcome"].is_null()
    });
    let options = events_of(&call, "menu_option");
    assert_eq!(options.len(), 1, "{call:#}");
    assert_eq!(options[0]["data"]["key"], "1", "{call:#}");
    assert_eq!(options[0]["data"]["node"], "main_menu", "{call:#}");
    assert!(gw.alive(), "{}", gw.log());
}
