//! baresip, an independent SIP phone, calls the keypad hotline with a real recorded voice and presses
//! keys on its console (RFC 4733 events): the caller reaches the order-status option, enters an
//! order number, hears the lookup prompt, and the recording holds the caller's speech.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use switchboard_e2e::baresip::Baresip;
use switchboard_e2e::tools::{
    best_envelope_match, dtmf_digits, envelope_db, sox, speech_file, wait_for_event, wav_seconds,
};
use switchboard_e2e::{Gateway, active_seconds, events_of, kinds, wav_channel};

/// The voice baresip sends: "and mister john dashwood had then leisure to consider how much
/// there might be prudently in his power to do for them" (7.1 s).
const VOICE: &str = "librivox/sense_and_sensibility_01_austen_64kb-0870.wav";
/// Silence before the voice, and total length of what baresip plays (it hangs up at the end).
const LEAD_IN: f64 = 0.5;
const CALL_SECONDS: f64 = 20.0;
/// A 20 ms frame whose RMS is above this is not silence.
const ACTIVE_RMS: f64 = 300.0;

#[test]
fn baresip_caller_with_real_speech_enters_an_order_number() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    // 8 kHz mono: half a second of silence, the voice, then silence up to 20 s.
    let voice = dir.path().join("voice.wav");
    let voice_seconds = wav_seconds(&speech_file(VOICE));
    let tail = format!("{:.3}", CALL_SECONDS - LEAD_IN - voice_seconds);
    sox(&[
        speech_file(VOICE).to_str().unwrap(),
        "-r",
        "8000",
        "-c",
        "1",
        "-b",
        "16",
        voice.to_str().unwrap(),
        "pad",
        &LEAD_IN.to_string(),
        &tail,
    ]);

    let gw = Gateway::start("");
    let phone_dir = dir.path().join("baresip");
    std::fs::create_dir(&phone_dir).unwrap();
    let phone = Baresip::dial(&phone_dir, &voice, &format!("sip:100@{}", gw.addr), None);

    // The greeting (~2.8 s) ends and the main menu starts: press 1 a second into it.
    let wait = Duration::from_secs(15);
    wait_for_event(
        &gw,
        "last",
        "node_entered",
        |d| d["node"] == "main_menu",
        wait,
    );
    std::thread::sleep(Duration::from_secs(1));
    phone.type_keys("1");
    // The order-number prompt starts: a moment later key in 2456 and #, half a second apart.
    let at_order = wait_for_event(
        &gw,
        "last",
        "node_entered",
        |d| d["node"] == "order_number",
        wait,
    );
    std::thread::sleep(Duration::from_millis(1500));
    for key in ["2", "4", "5", "6", "#"] {
        phone.type_keys(key);
        std::thread::sleep(Duration::from_millis(500));
    }
    let id = at_order["call"]["id"].as_str().unwrap().to_string();

    // baresip hangs up when its file ends (20 s after answer).
    let calls = gw.wait_for_ended_calls(1, Duration::from_secs(40));
    assert_eq!(calls.len(), 1, "exactly one call: {calls:#?}");
    let call = gw.call(&id);
    let record = &call["call"];
    let events = || format!("events: {:?}\nbaresip log:\n{}", kinds(&call), phone.log());

    // The call record: answered by the hotline, ended by the caller.
    assert_eq!(record["dialplan"], "keypad", "{record:#}");
    assert_eq!(
        record["outcome"],
        "caller_hangup",
        "{record:#}\n{}",
        events()
    );
    assert!(
        record["from_uri"]
            .as_str()
            .unwrap()
            .contains("baresip@127.0.0.1"),
        "the call record names baresip's account as caller: {record:#}"
    );
    assert!(
        !record["answered_at"].is_null() && !record["ended_at"].is_null(),
        "{record:#}"
    );
    let hangups = events_of(&call, "hangup");
    assert_eq!(hangups.len(), 1, "{}", events());
    assert_eq!(hangups[0]["data"]["by"], "caller", "{}", events());

    // Every key arrived once, as an RFC 4733 event, in order; nothing else was detected.
    assert_eq!(
        dtmf_digits(&call, None),
        "12456#",
        "all DTMF keys; {}",
        events()
    );
    assert_eq!(
        dtmf_digits(&call, Some("rfc4733")),
        "12456#",
        "keys via RFC 4733; {}",
        events()
    );

    // The menu took option 1 to the order number, which collected 2456 and moved on to the lookup.
    let options: Vec<_> = events_of(&call, "menu_option")
        .iter()
        .map(|e| e["data"].clone())
        .collect();
    assert_eq!(
        options,
        vec![serde_json::json!({"node": "main_menu", "key": "1", "target": "order_number"})],
        "{}",
        events()
    );
    let collected: Vec<_> = events_of(&call, "digits_collected")
        .iter()
        .map(|e| e["data"].clone())
        .collect();
    assert_eq!(
        collected,
        vec![serde_json::json!({"node": "order_number", "var": "order_number", "digits": "2456"})],
        "{}",
        events()
    );
    let evs = call["events"].as_array().unwrap();
    let seq_of = |kind: &str, node: &str| {
        evs.iter()
            .position(|e| e["kind"] == kind && (e["data"]["node"] == node))
            .unwrap_or_else(|| panic!("no {kind} event for node {node}; {}", events()))
    };
    assert!(
        seq_of("digits_collected", "order_number") < seq_of("node_entered", "order_lookup"),
        "the lookup prompt comes after the number was collected; {}",
        events()
    );

    // The recording: stereo, as long as the call, the caller's side holds the voice, in time
    // with what baresip sent, and nothing but the voice (the prompts are on the other side).
    let wav = PathBuf::from(record["recording_path"].as_str().expect("a recording path"));
    let spec = hound::WavReader::open(&wav).unwrap().spec();
    assert_eq!(spec.channels, 2, "the recording is stereo: {spec:?}");
    let seconds = wav_seconds(&wav);
    assert!(
        (CALL_SECONDS - 1.5..=CALL_SECONDS + 1.5).contains(&seconds),
        "the recording lasts as long as the call ({CALL_SECONDS} s): {seconds:.2} s"
    );
    let (sent_rate, sent) = wav_channel(&voice, 0);
    let (rate, caller) = wav_channel(&wav, 0);
    let (_, gateway) = wav_channel(&wav, 1);
    let sent_active = active_seconds(sent_rate, &sent, ACTIVE_RMS);
    let caller_active = active_seconds(rate, &caller, ACTIVE_RMS);
    let gateway_active = active_seconds(rate, &gateway, ACTIVE_RMS);
    println!(
        "speech sent: {sent_active:.2} s active; recorded caller side: {caller_active:.2} s; gateway side: {gateway_active:.2} s"
    );
    assert!(
        (sent_active * 0.8..=sent_active * 1.2).contains(&caller_active),
        "the caller side of the recording should hold the {sent_active:.2} s of speech baresip sent, \
         it has {caller_active:.2} s above the silence level"
    );
    let (r, lag) = best_envelope_match(
        &envelope_db(sent_rate, &sent),
        &envelope_db(rate, &caller),
        100,
    );
    println!(
        "envelope correlation sent/recorded caller side: {r:.3} at {} ms",
        lag * 20
    );
    assert!(
        r > 0.8,
        "the caller side should follow the speech baresip sent (envelope correlation {r:.3} at {} ms)",
        lag * 20
    );
    let after_voice = ((LEAD_IN + voice_seconds + 1.5) * f64::from(rate)) as usize;
    let late = active_seconds(rate, &caller[after_voice.min(caller.len())..], ACTIVE_RMS);
    assert!(
        late < 0.3,
        "after the voice ended the caller side should be silent, but {late:.2} s are not (the prompts on the wrong channel?)"
    );
    assert!(
        gateway_active > 5.0,
        "the gateway side holds the prompts: only {gateway_active:.2} s are not silent"
    );
    // And the caller heard them: baresip's sndfile module wrote what it decoded.
    let heard = phone
        .heard()
        .unwrap_or_else(|| panic!("baresip wrote no dump-*-dec.wav; its log:\n{}", phone.log()));
    let (heard_rate, heard) = wav_channel(&heard, 0);
    let heard_active = active_seconds(heard_rate, &heard, ACTIVE_RMS);
    println!("baresip heard {heard_active:.2} s of prompts");
    assert!(
        (gateway_active * 0.8..=gateway_active * 1.2).contains(&heard_active),
        "baresip should hear the {gateway_active:.2} s of prompts the gateway recorded sending, heard {heard_active:.2} s"
    );
    println!("baresip test took {:.1} s", started.elapsed().as_secs_f64());
}
