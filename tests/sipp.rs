//! SIPp, an independent SIP implementation, calls the real gateway over loopback: a call with
//! recorded speech and an RFC 4733 key press, a call over TCP, and a short burst of calls.

use std::path::Path;
use std::time::Duration;

use switchboard_e2e::sipp::{assert_sipp_ok, sipp, sipp_dir};
use switchboard_e2e::{Gateway, active_seconds, events_of, wav_channel};

#[test]
fn sipp_call_with_speech_and_rfc4733_key_is_logged_and_recorded() {
    let gw = Gateway::start("");
    let dir = sipp_dir();
    // uac_pcap: INVITE (PCMA + telephone-event), ACK, 7.08 s of recorded speech, then the RFC 4733
    // events of key 1, then BYE after about 9 s in all.
    let out = sipp(dir.path(), &gw, &["-sn", "uac_pcap", "-m", "1"]);
    assert_sipp_ok(&out, dir.path(), &gw);

    let calls = gw.wait_for_ended_calls(1, Duration::from_secs(10));
    assert_eq!(calls.len(), 1, "one call, one record: {calls:#?}");
    let call = gw.call(calls[0]["id"].as_str().unwrap());
    let record = &call["call"];
    assert_eq!(record["outcome"], "caller_hangup", "SIPp hung up: {call:#}");
    assert_eq!(record["dialplan"], "keypad", "{call:#}");
    assert!(
        record["answered_at"].is_string(),
        "the call was answered: {call:#}"
    );

    let answered = events_of(&call, "answered");
    assert_eq!(answered.len(), 1, "{call:#}");
    assert_eq!(
        answered[0]["data"]["codec"], "PCMA",
        "uac_pcap offers only PCMA: {call:#}"
    );

    let dtmf = events_of(&call, "dtmf");
    assert_eq!(
        dtmf.len(),
        1,
        "SIPp pressed exactly one key (the end packets of one event must not count twice): {call:#}"
    );
    assert_eq!(dtmf[0]["data"]["digit"], "1", "{call:#}");
    assert_eq!(dtmf[0]["data"]["via"], "rfc4733", "{call:#}");

    let options = events_of(&call, "menu_option");
    assert_eq!(options.len(), 1, "{call:#}");
    assert_eq!(options[0]["data"]["key"], "1", "{call:#}");
    assert_eq!(options[0]["data"]["node"], "main_menu", "{call:#}");

    // The recording: left = what SIPp sent (7.08 s of speech, 6.5 s of it above the silence
    // threshold), right = what the gateway played (the greeting, then the menu).
    let path = record["recording_path"]
        .as_str()
        .expect("the call has a recording");
    let (rate, caller) = wav_channel(Path::new(path), 0);
    let (_, gateway) = wav_channel(Path::new(path), 1);
    let seconds = caller.len() as f64 / f64::from(rate);
    // Digital silence in A-law decodes to ±8; speech frames are far above 50 (−56 dBFS).
    let caller_active = active_seconds(rate, &caller, 50.0);
    let gateway_active = active_seconds(rate, &gateway, 50.0);
    eprintln!(
        "recording {seconds:.2} s at {rate} Hz: caller active {caller_active:.2} s, gateway active {gateway_active:.2} s"
    );
    assert!(
        (8.0..12.0).contains(&seconds),
        "the recording covers the ~9 s call: {seconds:.2} s"
    );
    let (gaps, span) = dropouts(rate, &caller, 50.0);
    eprintln!("caller channel: {gaps} of {span} frames inside the speech are digital zero");
    assert!(
        (5.5..=8.0).contains(&caller_active),
        "the caller channel holds the 7.08 s of speech SIPp sent (6.5 s of it not silent), \
         found {caller_active:.2} s of non-silent audio in {path}; {gaps} of the {span} 20 ms \
         frames between the first and the last word are digital zero"
    );
    // G.711 never decodes to exact zero, so an all-zero 20 ms frame between the first and the
    // last word is audio the gateway lost (a jitter-buffer underrun or a cut packet).
    assert!(
        gaps * 20 <= span,
        "{gaps} of the {span} 20 ms frames of the caller's speech are digital silence \
         (more than 5%): caller audio was dropped in {path}"
    );
    assert!(
        gateway_active > 2.0,
        "the gateway channel holds the greeting: {gateway_active:.2} s of non-silent audio in {path}"
    );
    // The greeting starts as soon as the call is answered: the gateway's first second is not silent.
    let first_second = active_seconds(rate, &gateway[..rate as usize], 50.0);
    assert!(
        first_second > 0.5,
        "the greeting starts at answer: {first_second:.2} s of the first second not silent"
    );
}

/// (all-zero 20 ms frames, all frames) between the first and the last frame above `threshold`.
fn dropouts(rate: u32, samples: &[i16], threshold: f64) -> (usize, usize) {
    let frames: Vec<&[i16]> = samples.chunks((rate / 50) as usize).collect();
    let loud = |f: &&[i16]| {
        let e: f64 = f.iter().map(|&s| f64::from(s) * f64::from(s)).sum::<f64>() / f.len() as f64;
        e.sqrt() > threshold
    };
    let (Some(first), Some(last)) = (frames.iter().position(loud), frames.iter().rposition(loud))
    else {
        return (0, 0);
    };
    let span = &frames[first..=last];
    (
        span.iter().filter(|f| f.iter().all(|&s| s == 0)).count(),
        span.len(),
    )
}

#[test]
fn sipp_call_over_tcp_completes() {
    let gw = Gateway::start("");
    let dir = sipp_dir();
    // Scenario uac: INVITE, ACK, a 2 s pause, BYE; one TCP connection for the call.
    let out = sipp(
        dir.path(),
        &gw,
        &["-sn", "uac", "-t", "t1", "-m", "1", "-d", "2000"],
    );
    assert_sipp_ok(&out, dir.path(), &gw);

    let calls = gw.wait_for_ended_calls(1, Duration::from_secs(10));
    assert_eq!(calls.len(), 1, "{calls:#?}");
    let call = gw.call(calls[0]["id"].as_str().unwrap());
    assert_eq!(call["call"]["outcome"], "caller_hangup", "{call:#}");
    assert_eq!(call["call"]["dialplan"], "keypad", "{call:#}");
    let invite = events_of(&call, "invite");
    assert_eq!(invite.len(), 1, "{call:#}");
    assert_eq!(
        invite[0]["data"]["transport"], "TCP",
        "the call came over TCP: {call:#}"
    );
    assert_eq!(
        events_of(&call, "established").len(),
        1,
        "SIPp's ACK over TCP reached the dialog: {call:#}"
    );
}

#[test]
fn sipp_burst_of_twenty_calls_all_succeed() {
    let gw = Gateway::start("");
    let dir = sipp_dir();
    // 10 calls/s, 20 calls in all, at most 20 at once, each held for 1 s.
    let out = sipp(
        dir.path(),
        &gw,
        &[
            "-sn", "uac", "-r", "10", "-m", "20", "-l", "20", "-d", "1000",
        ],
    );
    assert_sipp_ok(&out, dir.path(), &gw);

    let calls = gw.wait_for_ended_calls(20, Duration::from_secs(15));
    assert_eq!(calls.len(), 20, "one record per call, no more: {calls:#?}");
    for c in &calls {
        assert_eq!(c["outcome"], "caller_hangup", "{c:#}");
        assert_eq!(c["dialplan"], "keypad", "{c:#}");
        assert!(c["answered_at"].is_string(), "{c:#}");
    }
    let ids: std::collections::HashSet<_> = calls.iter().map(|c| c["id"].to_string()).collect();
    assert_eq!(ids.len(), 20, "distinct call ids");
}
