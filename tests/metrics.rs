//! `/metrics` as an operator's Prometheus scrapes it: calls by outcome, SIP responses by code,
//! RTP reception, after real calls through the gateway.

use std::net::UdpSocket;
use std::process::Command;
use std::time::Duration;

use switchboard_e2e::prometheus::{sample, scrape};
use switchboard_e2e::raw_sip::{RawDialog, RawSip, final_response, sdp_offer, status};
use switchboard_e2e::{Gateway, binary};

#[test]
fn metrics_count_calls_sip_responses_and_rtp() {
    let gw = Gateway::start("");
    let before = scrape(&gw);
    assert_eq!(
        sample(&before, "switchboard_calls_total", &[]),
        None,
        "{before}"
    );

    // A trunk offering only G.729 gets 488: counted by its code.
    let sip = RawSip::new(gw.addr);
    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut dialog = RawDialog::new(&sip, "metrics-488");
    let offer = sdp_offer(
        rtp.local_addr().unwrap(),
        "18",
        &["18 G729/8000"],
        "sendrecv",
    );
    let invite = dialog.request("INVITE", "", "application/sdp", &offer);
    let got = sip.transaction(&invite, Duration::from_secs(5));
    let refused = final_response(&got).expect("a final response");
    assert_eq!(status(refused), Some(488));
    dialog.ack(refused, Some(&invite));

    // A real call with audio both ways, longer than one RTCP interval.
    let out = Command::new(binary())
        .arg("call")
        .arg(format!("sip:100@{}", gw.addr))
        .args(["--dtmf", "1", "--dtmf-delay", "3.5", "--duration", "7"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let calls = gw.wait_for_ended_calls(2, Duration::from_secs(10));
    let answered = calls
        .iter()
        .find(|c| c["outcome"] != "rejected")
        .expect("the answered call");
    let outcome = answered["outcome"].as_str().unwrap();

    let text = scrape(&gw);
    let value = |name: &str, labels: &[(&str, &str)]| sample(&text, name, labels);
    assert_eq!(
        value("switchboard_calls_total", &[("outcome", "rejected")]),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value("switchboard_calls_total", &[("outcome", outcome)]),
        Some(1.0),
        "{text}"
    );
    assert_eq!(value("switchboard_calls_active", &[]), Some(0.0), "{text}");
    assert!(
        value(
            "switchboard_sip_responses_total",
            &[("code", "488"), ("direction", "sent")]
        ) >= Some(1.0),
        "{text}"
    );
    assert!(
        value(
            "switchboard_sip_responses_total",
            &[("code", "200"), ("direction", "sent")]
        ) >= Some(2.0),
        "the call's 200 and the BYE's 200: {text}"
    );
    // 7 s of 20 ms packets: about 350, counted whether or not the last report was partial.
    let received = value("switchboard_rtp_packets_received_total", &[]).unwrap_or(0.0);
    assert!((300.0..=400.0).contains(&received), "{text}");
    assert_eq!(
        value("switchboard_rtp_packets_lost_total", &[]),
        Some(0.0),
        "loopback loses nothing: {text}"
    );
    let jitter_samples = value("switchboard_rtp_jitter_seconds_count", &[]).unwrap_or(0.0);
    assert!(
        jitter_samples >= 2.0,
        "one per RTCP interval and at the end: {text}"
    );
    assert!(
        value("switchboard_rtp_jitter_seconds_bucket", &[("le", "0.02")]) >= Some(jitter_samples),
        "loopback jitter stays under 20 ms: {text}"
    );
    assert!(text.contains("# HELP switchboard_calls_total"), "{text}");
}
