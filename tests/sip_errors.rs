//! Hand-written SIP over UDP against the real gateway: the error responses a trunk sees for
//! offers and requests it cannot serve, an in-dialog hold / INFO DTMF / BYE sequence, and the
//! trunk's access control (source networks, digest authentication).

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use switchboard_e2e::raw_sip::{
    RawDialog, RawSip, body, final_response, header, headers, sdp_offer, status, statuses,
};
use switchboard_e2e::{Gateway, events_of, output_text};

const WAIT: Duration = Duration::from_secs(5);

/// The methods an Allow header lists, upper-cased.
fn allowed(msg: &str) -> Vec<String> {
    headers(msg, "Allow")
        .iter()
        .flat_map(|v| v.split(','))
        .map(|m| m.trim().to_ascii_uppercase())
        .filter(|m| !m.is_empty())
        .collect()
}

/// Sends an INVITE and ACKs its final response; returns (the request, all responses).
fn invite(dialog: &mut RawDialog, ctype: &str, sdp: &str) -> (String, Vec<String>) {
    let req = dialog.request("INVITE", "", ctype, sdp);
    let got = dialog.sip.transaction(&req, WAIT);
    if let Some(fin) = final_response(&got)
        && status(fin).is_some_and(|s| s >= 300)
    {
        dialog.ack(fin, Some(&req));
    }
    (req, got)
}

#[test]
fn invite_offering_only_g729_is_rejected_with_488() {
    let gw = Gateway::start("");
    let sip = RawSip::new(gw.addr);
    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut d = RawDialog::new(&sip, "g729-only");
    let offer = sdp_offer(
        rtp.local_addr().unwrap(),
        "18",
        &["18 G729/8000"],
        "sendrecv",
    );
    let (_, got) = invite(&mut d, "application/sdp", &offer);
    let codes = statuses(&got);
    assert_eq!(
        codes.last(),
        Some(&488),
        "no common codec → 488 Not Acceptable Here: {got:#?}"
    );
    assert!(!codes.contains(&200), "{got:#?}");
    // The rejected attempt is in the call log as such.
    let call = gw.wait_for_call("g729-only", WAIT, |c| !c["call"]["outcome"].is_null());
    assert_eq!(call["call"]["outcome"], "rejected", "{call:#}");
    assert!(call["call"]["answered_at"].is_null(), "{call:#}");
    let rejected = events_of(&call, "rejected");
    assert_eq!(rejected.len(), 1, "{call:#}");
    assert_eq!(rejected[0]["data"]["code"], 488, "{call:#}");
}

#[test]
fn invite_with_unknown_body_type_is_rejected_with_415_and_accept() {
    let gw = Gateway::start("");
    let sip = RawSip::new(gw.addr);
    let mut d = RawDialog::new(&sip, "unknown-body");
    let (_, got) = invite(
        &mut d,
        "application/unknownformat",
        "<xml>not sdp</xml>\r\n",
    );
    let fin = final_response(&got).unwrap_or_else(|| panic!("no final response: {got:#?}"));
    assert_eq!(status(fin), Some(415), "{fin}");
    let accept = header(fin, "Accept").unwrap_or_else(|| panic!("415 without Accept: {fin}"));
    assert!(
        accept.to_ascii_lowercase().contains("application/sdp"),
        "Accept names what we take: {fin}"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        gw.calls_from("unknown-body")
            .iter()
            .all(|c| c["answered_at"].is_null()),
        "nothing was answered"
    );
}

#[test]
fn bye_for_an_unknown_dialog_gets_481() {
    let gw = Gateway::start("");
    let sip = RawSip::new(gw.addr);
    let mut d = RawDialog::new(&sip, "stray-bye");
    d.to = format!("<sip:100@{}>;tag=never-issued", gw.addr);
    let got = d.send("BYE", "", "", "");
    assert_eq!(statuses(&got), vec![481], "{got:#?}");
    assert!(gw.options_ok());
}

#[test]
fn subscribe_gets_405_with_allow() {
    let gw = Gateway::start("");
    let sip = RawSip::new(gw.addr);
    let mut d = RawDialog::new(&sip, "subscriber");
    let got = d.send("SUBSCRIBE", "Event: presence\r\nExpires: 60\r\n", "", "");
    assert_eq!(statuses(&got), vec![405], "{got:#?}");
    let methods = allowed(&got[0]);
    for m in ["INVITE", "ACK", "BYE", "CANCEL", "OPTIONS"] {
        assert!(
            methods.contains(&m.to_string()),
            "Allow lists {m}: {}",
            got[0]
        );
    }
    assert!(!methods.contains(&"SUBSCRIBE".to_string()), "{}", got[0]);
}

#[test]
fn options_gets_200_with_allow() {
    let gw = Gateway::start("");
    let sip = RawSip::new(gw.addr);
    let mut d = RawDialog::new(&sip, "pinger");
    let got = d.send("OPTIONS", "Accept: application/sdp\r\n", "", "");
    assert_eq!(statuses(&got), vec![200], "{got:#?}");
    let methods = allowed(&got[0]);
    for m in ["INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "INFO"] {
        assert!(
            methods.contains(&m.to_string()),
            "Allow lists {m}: {}",
            got[0]
        );
    }
    assert!(gw.calls().is_empty(), "OPTIONS is not a call");
}

/// RTP datagrams arriving on `rtp` within `window`.
fn rtp_packets(rtp: &UdpSocket, window: Duration) -> usize {
    let deadline = Instant::now() + window;
    let mut buf = [0u8; 2048];
    let mut n = 0;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return n;
        }
        rtp.set_read_timeout(Some(left)).unwrap();
        match rtp.recv_from(&mut buf) {
            Ok(_) => n += 1,
            Err(_) => return n,
        }
    }
}

#[test]
fn hold_info_dtmf_and_bye_in_an_answered_call() {
    let gw = Gateway::start("");
    let sip = RawSip::new(gw.addr);
    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let rtp_addr = rtp.local_addr().unwrap();
    let mut d = RawDialog::new(&sip, "hold-info-bye");

    // INVITE → 100, 180, 200 with an SDP answer; ACK.
    let offer = sdp_offer(
        rtp_addr,
        "0 101",
        &["0 PCMU/8000", "101 telephone-event/8000"],
        "sendrecv",
    );
    let (_, got) = invite(&mut d, "application/sdp", &offer);
    let ok = final_response(&got).unwrap_or_else(|| panic!("no answer: {got:#?}"));
    assert_eq!(status(ok), Some(200), "{got:#?}");
    assert!(
        body(ok).contains("m=audio"),
        "the 200 carries the SDP answer: {ok}"
    );
    assert!(header(ok, "Contact").is_some(), "{ok}");
    d.learn(ok);
    d.ack(ok, None);
    let call = gw.wait_for_call("hold-info-bye", WAIT, |c| {
        !events_of(c, "established").is_empty()
    });
    let id = call["call"]["id"].as_str().unwrap().to_string();
    // The greeting flows to the address of our offer.
    assert!(
        rtp_packets(&rtp, Duration::from_millis(500)) >= 10,
        "the gateway sends RTP (50 packets/s) before the hold"
    );

    // re-INVITE with a=sendonly: we put the gateway on hold.
    let hold_offer = sdp_offer(
        rtp_addr,
        "0 101",
        &["0 PCMU/8000", "101 telephone-event/8000"],
        "sendonly",
    );
    let req = d.request("INVITE", "", "application/sdp", &hold_offer);
    let got = sip.transaction(&req, WAIT);
    let ok = final_response(&got).unwrap_or_else(|| panic!("no answer to the re-INVITE: {got:#?}"));
    assert_eq!(status(ok), Some(200), "{got:#?}");
    let answer = body(ok);
    assert!(
        answer.lines().any(|l| l.trim() == "a=recvonly"),
        "the answer to a=sendonly is a=recvonly:\n{answer}"
    );
    d.ack(ok, None);
    let call = gw.wait_for_call("hold-info-bye", WAIT, |c| !events_of(c, "hold").is_empty());
    assert_eq!(call["call"]["id"], id.as_str());
    // On hold the gateway must not send media (it answered recvonly).
    rtp_packets(&rtp, Duration::from_millis(200));
    let during_hold = rtp_packets(&rtp, Duration::from_millis(600));
    assert_eq!(during_hold, 0, "RTP packets sent during hold");

    // SIP INFO with application/dtmf-relay: key 1.
    let got = d.send(
        "INFO",
        "",
        "application/dtmf-relay",
        "Signal=1\r\nDuration=160\r\n",
    );
    assert_eq!(statuses(&got), vec![200], "{got:#?}");
    let call = gw.wait_for_call("hold-info-bye", WAIT, |c| !events_of(c, "dtmf").is_empty());
    let dtmf = events_of(&call, "dtmf");
    assert_eq!(dtmf.len(), 1, "{call:#}");
    assert_eq!(dtmf[0]["data"]["digit"], "1", "{call:#}");
    assert_eq!(dtmf[0]["data"]["via"], "info", "{call:#}");

    // BYE → 200, the call ends as hung up by the caller.
    let got = d.send("BYE", "", "", "");
    assert_eq!(statuses(&got), vec![200], "{got:#?}");
    let call = gw.wait_for_call("hold-info-bye", WAIT, |c| !c["call"]["outcome"].is_null());
    assert_eq!(call["call"]["outcome"], "caller_hangup", "{call:#}");
    assert_eq!(call["call"]["id"], id.as_str());
    assert_eq!(gw.calls().len(), 1, "one call record");
}

#[test]
fn trunk_source_not_allowed_gets_403_and_no_call() {
    let gw = Gateway::start("[trunk]\nallowed_sources = [\"10.0.0.0/8\"]\n");
    let sip = RawSip::new(gw.addr);
    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut d = RawDialog::new(&sip, "outsider");
    let offer = sdp_offer(rtp.local_addr().unwrap(), "0", &["0 PCMU/8000"], "sendrecv");
    let (_, got) = invite(&mut d, "application/sdp", &offer);
    assert_eq!(statuses(&got), vec![403], "{got:#?}");
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        gw.calls().is_empty(),
        "a refused source leaves no call: {:#?}",
        gw.calls()
    );
    // Our own caller is refused too.
    let out = gw.place_call(&["--duration", "2"]);
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out));
    assert!(gw.calls().is_empty(), "{:#?}", gw.calls());
}

#[test]
fn trunk_digest_authentication() {
    let gw = Gateway::start("[trunk]\nusername = \"trunk\"\npassword = \"pw\"\n");
    let sip = RawSip::new(gw.addr);
    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();

    // Without credentials: 401 with a Digest challenge.
    let mut d = RawDialog::new(&sip, "no-credentials");
    let offer = sdp_offer(rtp.local_addr().unwrap(), "0", &["0 PCMU/8000"], "sendrecv");
    let (_, got) = invite(&mut d, "application/sdp", &offer);
    assert_eq!(statuses(&got), vec![401], "{got:#?}");
    let challenge = header(&got[0], "WWW-Authenticate")
        .unwrap_or_else(|| panic!("401 without WWW-Authenticate: {}", got[0]));
    assert!(challenge.starts_with("Digest "), "{challenge}");
    assert!(
        challenge.contains("realm=") && challenge.contains("nonce="),
        "{challenge}"
    );

    // A wrong password is refused: exit code 1 and no answered call.
    let out = gw.place_call(&[
        "--user",
        "trunk",
        "--password",
        "wrong",
        "--duration",
        "2",
        "--from",
        "sip:wrong-password@127.0.0.1",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out));
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        gw.calls().iter().all(|c| c["answered_at"].is_null()),
        "nothing answered: {:#?}",
        gw.calls()
    );

    // The right credentials get through.
    let out = gw.place_call(&[
        "--user",
        "trunk",
        "--password",
        "pw",
        "--duration",
        "2",
        "--from",
        "sip:right-password@127.0.0.1",
    ]);
    assert!(out.status.success(), "{}\n{}", output_text(&out), gw.log());
    let call = gw.wait_for_call("right-password", WAIT, |c| !c["call"]["outcome"].is_null());
    assert!(call["call"]["answered_at"].is_string(), "{call:#}");
    assert_eq!(call["call"]["outcome"], "caller_hangup", "{call:#}");
    assert_eq!(call["call"]["dialplan"], "keypad", "{call:#}");
    let answered: Vec<_> = gw
        .calls()
        .into_iter()
        .filter(|c| c["answered_at"].is_string())
        .collect();
    assert_eq!(
        answered.len(),
        1,
        "only the authenticated call was answered: {answered:#?}"
    );
}
