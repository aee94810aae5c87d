//! Human agents with real SIP phones: two baresip instances register as agents with different
//! skills; a baresip caller presses 0 in the keypad hotline; the skilled agent's phone rings
//! with the caller's context, answers, and both sides hear each other (a tone each); the call
//! record shows the queue wait, the agent and the talk time. An agent who does not answer is
//! skipped for the next; with nobody signed in the caller hears the place in line and then the
//! overflow path.

use std::f64::consts::PI;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use switchboard_e2e::api_client::{Client, assert_error, new_token};
use switchboard_e2e::baresip::Baresip;
use switchboard_e2e::prometheus::{sample, scrape};
use switchboard_e2e::tools::{sox, speech_file, wait_for_event};
use switchboard_e2e::{
    Gateway, active_seconds, events_of, kinds, one_at_a_time, speech_config, wav_channel,
};

/// The caller's and the agent's tones: each side's audio is recognizable in the other's ear.
const CALLER_HZ: f64 = 600.0;
const AGENT_HZ: f64 = 1500.0;
const BEN_HZ: f64 = 1100.0;

/// Queues and agents: only Anna has the `support` skill; Ben does billing.
fn center(ring_timeout: u32, anna_answers_first: bool) -> String {
    let (anna, ben) = if anna_answers_first {
        ("support = 9", "billing = 5")
    } else {
        ("support = 9", "support = 5")
    };
    format!(
        "[[queue]]\nname = \"support\"\nskills = [\"support\"]\nring_timeout_secs = {ring_timeout}\n\
         max_wait_secs = 40\noverflow = \"node:agents_busy\"\nmusic = \"hold_music.wav\"\nwrap_up_secs = 2\n\n\
         [[agent]]\nid = \"anna\"\nname = \"Anna\"\npassword = \"anna-pw\"\nskills = {{ {anna} }}\n\n\
         [[agent]]\nid = \"ben\"\nname = \"Ben\"\npassword = \"ben-pw\"\nskills = {{ {ben} }}\n"
    )
}

/// The keypad hotline with `center`'s queues and agents.
fn gateway(center: &str) -> Gateway {
    Gateway::start(center)
}

/// A mono 8 kHz WAV of a tone at `hz`, `seconds` long, at a moderate level.
fn tone(path: &Path, hz: f64, seconds: f64) -> PathBuf {
    sox(&[
        "-n",
        "-r",
        "8000",
        "-c",
        "1",
        "-b",
        "16",
        path.to_str().unwrap(),
        "synth",
        &format!("{seconds}"),
        "sine",
        &format!("{hz}"),
        "vol",
        "0.3",
    ]);
    path.to_path_buf()
}

/// Power of `hz` in `samples` (Goertzel), relative to the total power: near 1 for a pure tone.
fn tone_share(rate: u32, samples: &[i16], hz: f64) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let w = 2.0 * PI * hz / f64::from(rate);
    let (mut s1, mut s2) = (0.0, 0.0);
    for &x in samples {
        let s = f64::from(x) + 2.0 * w.cos() * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    let power = s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2;
    let total: f64 = samples.iter().map(|&x| f64::from(x).powi(2)).sum();
    if total == 0.0 {
        0.0
    } else {
        2.0 * power / (samples.len() as f64 * total)
    }
}

/// Waits until the gateway log says `agent` signed in.
fn wait_signed_in(gw: &Gateway, agent: &str, phone: &Baresip) {
    let deadline = Instant::now() + Duration::from_secs(15);
    let needle = format!("agent signed in (phone registered) agent={agent}");
    while !gw.log().contains(&needle) {
        assert!(
            Instant::now() < deadline,
            "{agent} did not sign in; gateway log:\n{}\nphone log:\n{}",
            gw.log(),
            phone.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// An agent phone for `user` in its own folder under `dir`.
fn agent_phone(dir: &Path, gw: &Gateway, user: &str, answers: bool, tone_wav: &Path) -> Baresip {
    agent_phone_with_codec(dir, gw, user, answers, tone_wav, None)
}

/// An agent phone that accepts only `codec` (all it has when None).
fn agent_phone_with_codec(
    dir: &Path,
    gw: &Gateway,
    user: &str,
    answers: bool,
    tone_wav: &Path,
    codec: Option<&str>,
) -> Baresip {
    let folder = dir.join(user);
    std::fs::create_dir_all(&folder).unwrap();
    let password = format!("{user}-pw");
    let phone = Baresip::agent(
        &folder,
        tone_wav,
        (user, &password),
        gw.addr,
        answers,
        codec,
    );
    wait_signed_in(gw, user, &phone);
    phone
}

/// A baresip caller that dials the keypad hotline, presses 0 once the menu plays, and hangs up
/// when its `seconds` of tone end.
fn caller_presses_zero(dir: &Path, gw: &Gateway, seconds: f64) -> (Baresip, String) {
    caller_with_codec_presses_zero(dir, gw, seconds, None)
}

/// The same, offering only `codec`.
fn caller_with_codec_presses_zero(
    dir: &Path,
    gw: &Gateway,
    seconds: f64,
    codec: Option<&str>,
) -> (Baresip, String) {
    let folder = dir.join("caller");
    std::fs::create_dir_all(&folder).unwrap();
    let wav = tone(&dir.join("caller.wav"), CALLER_HZ, seconds);
    let phone = Baresip::dial(&folder, &wav, &format!("sip:100@{}", gw.addr), codec);
    let call = wait_for_event(
        gw,
        "last",
        "node_entered",
        |d| d["node"] == "main_menu",
        Duration::from_secs(15),
    );
    std::thread::sleep(Duration::from_millis(500));
    phone.type_keys("0");
    (phone, call["call"]["id"].as_str().unwrap().to_string())
}

#[test]
fn the_skilled_agent_rings_answers_and_both_sides_hear_each_other() {
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(&center(10, true));
    let agent_tone = tone(&dir.path().join("agent.wav"), AGENT_HZ, 80.0);
    let anna = agent_phone(dir.path(), &gw, "anna", true, &agent_tone);
    let ben = agent_phone(dir.path(), &gw, "ben", true, &agent_tone);

    let (caller, id) = caller_presses_zero(dir.path(), &gw, 22.0);
    let call = wait_for_event(
        &gw,
        &id,
        "agent_answered",
        |_| true,
        Duration::from_secs(20),
    );
    let answered = &events_of(&call, "agent_answered")[0]["data"];
    assert_eq!(answered["agent"], "anna", "the agent with the skill");
    let waited = answered["waited_ms"].as_u64().unwrap();
    assert!(
        waited < 5000,
        "an idle agent rings at once: waited {waited} ms"
    );

    // The caller's file ends and baresip hangs up: the agent's leg ends too.
    let calls = gw.wait_for_ended_calls(1, Duration::from_secs(40));
    assert_eq!(calls.len(), 1);
    let call = gw.call(&id);
    let context = || {
        format!(
            "events: {:?}\ngateway log:\n{}\nanna:\n{}",
            kinds(&call),
            gw.log(),
            anna.log()
        )
    };
    assert_eq!(call["call"]["outcome"], "caller_hangup", "{}", context());
    let ringing: Vec<_> = events_of(&call, "agent_ringing")
        .iter()
        .map(|e| e["data"]["agent"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(
        ringing,
        ["anna"],
        "only the skilled agent rings; {}",
        context()
    );
    assert!(
        !ben.log().contains("INVITE sip:ben"),
        "Ben (billing only) is never rung:\n{}",
        ben.log()
    );
    let hangup = &events_of(&call, "agent_hangup")[0]["data"];
    assert_eq!(hangup["agent"], "anna", "{}", context());
    let talked = hangup["talked_ms"].as_u64().unwrap_or(0);
    assert!(talked > 5000, "talk time recorded: {hangup}");
    let entered = &events_of(&call, "queue_entered")[0]["data"];
    assert_eq!(entered["queue"], "support");

    // The INVITE to Anna's phone carried the caller's context and the caller's identity.
    let trace = anna.log();
    assert!(
        trace.contains("X-Switchboard-Summary: asked for an agent at `agent`"),
        "the summary header reached the phone:\n{trace}"
    );
    assert!(trace.contains("From: <sip:baresip@127.0.0.1>"), "{trace}");
    assert!(
        trace.contains(&format!("/api/calls/{id}>;purpose=info")),
        "a link to the call in the API (Call-Info):\n{trace}"
    );
    assert_eq!(
        call["call"]["agent_id"], "anna",
        "the call record names the agent"
    );

    // Audio: the recording's caller channel is the caller's tone, the other the agent's while
    // bridged; each phone heard the other's tone.
    let recording = PathBuf::from(call["call"]["recording_path"].as_str().unwrap());
    let (rate, left) = wav_channel(&recording, 0);
    let (_, right) = wav_channel(&recording, 1);
    // The last seconds before the caller hung up were talk.
    let end = right.len().saturating_sub(rate as usize);
    let talk = end.saturating_sub(3 * rate as usize)..end;
    assert!(
        tone_share(rate, &left[talk.clone()], CALLER_HZ) > 0.8,
        "the caller's channel holds the caller"
    );
    let agent_share = tone_share(rate, &right[talk], AGENT_HZ);
    assert!(
        agent_share > 0.8,
        "the other channel holds the agent while bridged: {agent_share:.2}; {}",
        context()
    );
    let heard_by_agent = anna.heard().expect("Anna's phone dumped what it heard");
    let (agent_rate, heard) = wav_channel(&heard_by_agent, 0);
    let middle = heard.len() / 3..2 * heard.len() / 3;
    let share = tone_share(agent_rate, &heard[middle], CALLER_HZ);
    assert!(share > 0.6, "Anna heard the caller: {share:.2}");
    let heard_by_caller = caller.heard().expect("the caller dumped what it heard");
    let (caller_rate, heard) = wav_channel(&heard_by_caller, 0);
    let last = heard.len().saturating_sub(3 * caller_rate as usize)..heard.len();
    let share = tone_share(caller_rate, &heard[last], AGENT_HZ);
    assert!(share > 0.6, "the caller heard Anna: {share:.2}");
}

#[test]
fn an_agent_who_does_not_answer_is_skipped_for_the_next() {
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(&center(3, false));
    let agent_tone = tone(&dir.path().join("agent.wav"), AGENT_HZ, 80.0);
    // Anna is the more skilled, so she rings first, but her phone only rings.
    let _anna = agent_phone(dir.path(), &gw, "anna", false, &agent_tone);
    let _ben = agent_phone(dir.path(), &gw, "ben", true, &agent_tone);

    let (_caller, id) = caller_presses_zero(dir.path(), &gw, 16.0);
    let call = wait_for_event(
        &gw,
        &id,
        "agent_answered",
        |_| true,
        Duration::from_secs(25),
    );
    let sequence: Vec<String> = call["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            matches!(
                e["kind"].as_str(),
                Some("agent_ringing" | "agent_ring_cancelled" | "agent_answered")
            )
        })
        .map(|e| {
            format!(
                "{} {}",
                e["kind"].as_str().unwrap(),
                e["data"]["agent"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        sequence,
        [
            "agent_ringing anna",
            "agent_ring_cancelled anna",
            "agent_ringing ben",
            "agent_answered ben"
        ],
        "events: {:?}",
        kinds(&call)
    );
}

#[test]
fn with_nobody_signed_in_the_caller_hears_the_place_in_line_then_the_overflow() {
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(
        "[[queue]]\nname = \"support\"\nmax_wait_secs = 7\noverflow = \"node:agents_busy\"\n\
         announce_every_secs = 3\nmusic = \"hold_music.wav\"\n",
    );
    let (_caller, id) = caller_presses_zero(dir.path(), &gw, 25.0);
    let call = wait_for_event(
        &gw,
        &id,
        "node_entered",
        |d| d["node"] == "agents_busy",
        Duration::from_secs(30),
    );
    let positions = events_of(&call, "queue_position");
    assert!(
        !positions.is_empty() && positions.iter().all(|p| p["data"]["position"] == 1),
        "announcements of the caller's place: {positions:?}"
    );
    let overflow = &events_of(&call, "queue_overflow")[0]["data"];
    let waited = overflow["waited_ms"].as_u64().unwrap();
    assert!(
        (6500..10_000).contains(&waited),
        "overflow after the max wait of 7 s: {overflow}"
    );
    assert_eq!(overflow["target"], "agents_busy");
    let metrics = scrape(&gw);
    assert_eq!(
        sample(
            &metrics,
            "switchboard_queue_wait_seconds_count",
            &[("queue", "support"), ("ended", "overflow")]
        ),
        Some(1.0),
        "{metrics}"
    );
    assert_eq!(
        sample(
            &metrics,
            "switchboard_queue_callers_waiting",
            &[("queue", "support")]
        ),
        Some(0.0),
        "{metrics}"
    );
}

#[test]
fn a_callback_overflow_stores_the_number_the_caller_keys_in() {
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let (token, token_entry) = new_token("desk", "agent");
    let gw = gateway(&format!(
        "[[queue]]\nname = \"support\"\nmax_wait_secs = 4\noverflow = \"callback\"\n\n{token_entry}"
    ));
    let (caller, id) = caller_presses_zero(dir.path(), &gw, 40.0);
    wait_for_event(
        &gw,
        &id,
        "node_entered",
        |d| d["node"] == "leave_number",
        Duration::from_secs(20),
    );
    std::thread::sleep(Duration::from_secs(1));
    caller.type_keys("5550199#");
    let call = wait_for_event(
        &gw,
        &id,
        "callback_requested",
        |_| true,
        Duration::from_secs(20),
    );
    let requested = &events_of(&call, "callback_requested")[0]["data"];
    assert_eq!(requested["number"], "5550199", "{requested}");
    assert_eq!(requested["queue"], "support", "{requested}");
    let overflow = &events_of(&call, "queue_overflow")[0]["data"];
    assert_eq!(overflow["target"], "leave_number", "{overflow}");

    // The agents' work list has it, with what they need to know, until one marks it done.
    let desk = Client::token(&gw, &token);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let pending = loop {
        let list = desk.json("/api/callbacks?status=pending");
        if let Some(first) = list["callbacks"].as_array().and_then(|l| l.first()) {
            break first.clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no callback stored: {list}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(pending["call_id"], id.as_str(), "{pending}");
    assert_eq!(pending["number"], "5550199", "{pending}");
    assert_eq!(pending["queue"], "support", "{pending}");
    assert!(
        pending["summary"]
            .as_str()
            .unwrap()
            .contains("asked for an agent"),
        "{pending}"
    );
    let path = format!("/api/callbacks/{}", pending["id"].as_str().unwrap());
    let done = desk.put_json(&path, &serde_json::json!({ "status": "done" }));
    assert_eq!(done.status, 200, "{}", done.json());
    assert_eq!(done.json()["status"], "done");
    let wrong = desk.put_json(&path, &serde_json::json!({ "status": "called" }));
    assert_error(&wrong, 400, "`status` must be one of pending, done, failed");
    assert_eq!(
        desk.json("/api/callbacks?status=pending")["callbacks"],
        serde_json::json!([])
    );

    // The caller hears the confirmation and the gateway hangs up.
    let calls = gw.wait_for_ended_calls(1, Duration::from_secs(20));
    assert_eq!(calls[0]["outcome"], "completed", "{:?}", calls[0]);
}

#[test]
fn with_speech_on_the_agents_words_are_transcribed_and_calls_show_tells_the_agent_part() {
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(&format!("{}{}", center(10, true), speech_config()));
    // Anna says a sentence a second after answering, then her phone hangs up.
    let said = dir.path().join("anna-says.wav");
    let source = speech_file("librivox/sense_and_sensibility_01_austen_64kb-0880.wav");
    sox(&[
        source.to_str().unwrap(),
        "-r",
        "8000",
        "-c",
        "1",
        "-b",
        "16",
        said.to_str().unwrap(),
        "pad",
        "1",
        "3",
    ]);
    let _anna = agent_phone(dir.path(), &gw, "anna", true, &said);
    let (_caller, id) = caller_presses_zero(dir.path(), &gw, 30.0);
    let call = wait_for_event(&gw, &id, "agent_hung_up", |_| true, Duration::from_secs(40));
    assert_eq!(
        events_of(&call, "agent_connected")[0]["data"]["agent"],
        "anna"
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let agent_line = loop {
        let call = gw.call(&id);
        let lines = call["transcript"].as_array().cloned().unwrap_or_default();
        if let Some(line) = lines.iter().find(|l| l["speaker"] == "agent") {
            break line.clone();
        }
        assert!(Instant::now() < deadline, "no agent line: {call:#}");
        std::thread::sleep(Duration::from_millis(300));
    };
    let text = agent_line["text"].as_str().unwrap().to_lowercase();
    assert!(
        text.contains("ill") && text.contains("young man"),
        "whisper heard anna say \"he was not an ill disposed young man\": {agent_line}"
    );
    assert_eq!(agent_line["data"]["agent"], "anna", "{agent_line}");
    // Agent lines are on the call's time base: after the caller pressed 0 and waited.
    assert!(
        agent_line["start_ms"].as_u64().unwrap() > 1000,
        "{agent_line}"
    );

    let shown = gw.cli(&["calls", "show", &id]);
    assert!(
        shown
            .lines()
            .any(|l| l.starts_with("agent      anna: waited ")
                && l.contains(" s in support, talked ")),
        "{shown}"
    );
    assert!(
        shown
            .lines()
            .any(|l| l.contains("  agent  ") && l.to_lowercase().contains("young man")),
        "{shown}"
    );
}

#[test]
fn the_agent_puts_the_caller_on_hold_with_music_and_takes_them_back_and_keys_cross_the_bridge() {
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(&center(10, true));
    let agent_tone = tone(&dir.path().join("agent.wav"), AGENT_HZ, 80.0);
    let anna = agent_phone(dir.path(), &gw, "anna", true, &agent_tone);
    let (caller, id) = caller_presses_zero(dir.path(), &gw, 24.0);
    wait_for_event(
        &gw,
        &id,
        "agent_answered",
        |_| true,
        Duration::from_secs(20),
    );
    std::thread::sleep(Duration::from_secs(2));
    anna.type_keys("/hold\n");
    wait_for_event(&gw, &id, "agent_hold", |_| true, Duration::from_secs(10));
    std::thread::sleep(Duration::from_secs(4));
    anna.type_keys("/resume\n");
    wait_for_event(&gw, &id, "agent_unhold", |_| true, Duration::from_secs(10));

    // Keys cross the bridge: Anna's 5 is relayed to the caller, the caller's 7 goes to Anna
    // rather than to the dialplan. (baresip does not log the RFC 4733 events it receives, so
    // the gateway's timeline is what shows the relay.)
    anna.type_keys("5");
    wait_for_event(
        &gw,
        &id,
        "dtmf",
        |d| d["digit"] == "5" && d["from"] == "agent",
        Duration::from_secs(5),
    );
    caller.type_keys("7");
    let call = wait_for_event(
        &gw,
        &id,
        "dtmf",
        |d| d["digit"] == "7",
        Duration::from_secs(5),
    );
    assert!(
        events_of(&call, "menu_option")
            .iter()
            .all(|e| e["data"]["key"] != "7"),
        "the caller's key went to the agent, not the menu"
    );

    let calls = gw.wait_for_ended_calls(1, Duration::from_secs(40));
    assert_eq!(calls.len(), 1);
    let call = gw.call(&id);
    let answered =
        chrono::DateTime::parse_from_rfc3339(call["call"]["answered_at"].as_str().unwrap())
            .unwrap();
    let offset = |kind: &str| {
        let at = events_of(&call, kind)[0]["at"].as_str().unwrap();
        let at = chrono::DateTime::parse_from_rfc3339(at).unwrap();
        (at - answered).num_milliseconds() as f64 / 1000.0
    };
    let (held, resumed) = (offset("agent_hold"), offset("agent_unhold"));
    assert!(
        resumed - held > 3.0,
        "held {held:.1} s → resumed {resumed:.1} s"
    );
    // What the caller was sent (the recording's second channel): music while held, Anna after.
    let recording = PathBuf::from(call["call"]["recording_path"].as_str().unwrap());
    let (rate, sent) = wav_channel(&recording, 1);
    let span = |from: f64, to: f64| {
        let at = |t: f64| ((t * rate as f64) as usize).min(sent.len());
        &sent[at(from)..at(to)]
    };
    let while_held = span(held + 0.5, resumed - 0.5);
    assert!(
        tone_share(rate, while_held, AGENT_HZ) < 0.2,
        "the caller does not hear Anna while held"
    );
    assert!(
        active_seconds(rate, while_held, 300.0) > (resumed - held - 1.0) * 0.5,
        "the caller hears music on hold (plucked notes with quiet tails), not silence"
    );
    let after = span(resumed + 0.5, resumed + 2.5);
    let share = tone_share(rate, after, AGENT_HZ);
    assert!(share > 0.8, "Anna again after resuming: {share:.2}");
}

/// The SIP messages (headers) in a baresip trace whose start line begins with `start`.
fn traced(log: &str, start: &str) -> Vec<String> {
    log.replace("\r\n", "\n")
        .split("\n\n")
        .filter(|m| m.lines().any(|l| l.trim_start().starts_with(start)))
        .map(str::to_string)
        .collect()
}

/// A header's value in one traced SIP message.
fn traced_header<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    message.lines().find_map(|l| {
        let (n, v) = l.trim().split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// The `tag` parameter of a From or To header value.
fn tag_of(value: &str) -> Option<&str> {
    value.split(';').find_map(|p| p.trim().strip_prefix("tag="))
}

#[test]
fn an_attended_transfer_hands_the_caller_to_the_consulted_agent() {
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(&center(10, true));
    let anna_tone = tone(&dir.path().join("anna.wav"), AGENT_HZ, 80.0);
    let ben_tone = tone(&dir.path().join("ben.wav"), BEN_HZ, 80.0);
    let anna = agent_phone(dir.path(), &gw, "anna", true, &anna_tone);
    let ben = agent_phone(dir.path(), &gw, "ben", true, &ben_tone);
    let (caller, id) = caller_presses_zero(dir.path(), &gw, 30.0);
    wait_for_event(
        &gw,
        &id,
        "agent_answered",
        |d| d["agent"] == "anna",
        Duration::from_secs(20),
    );

    // Anna consults Ben: a second call from her phone to his id, bridged by the gateway.
    std::thread::sleep(Duration::from_secs(1));
    anna.type_keys(&format!("/dial sip:ben@{}\n", gw.addr));
    let deadline = Instant::now() + Duration::from_secs(15);
    let (call_id, from_tag, to_tag) = loop {
        let log = anna.log();
        let consult = traced(&log, "INVITE sip:ben@").into_iter().find_map(|m| {
            let call_id = traced_header(&m, "Call-ID")?.to_string();
            let from_tag = tag_of(traced_header(&m, "From")?)?.to_string();
            Some((call_id, from_tag))
        });
        let answered = consult.and_then(|(call_id, from_tag)| {
            let to_tag = traced(&log, "SIP/2.0 200")
                .into_iter()
                .filter(|m| traced_header(m, "Call-ID") == Some(call_id.as_str()))
                .find_map(|m| tag_of(traced_header(&m, "To")?).map(str::to_string))?;
            Some((call_id, from_tag, to_tag))
        });
        if let Some(found) = answered {
            break found;
        }
        assert!(
            Instant::now() < deadline,
            "Ben never answered Anna's consultation.\nanna:\n{log}\nben:\n{}\ngateway:\n{}",
            ben.log(),
            gw.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    std::thread::sleep(Duration::from_secs(2));

    // Anna goes back to the caller's line and transfers it, replacing the consultation.
    anna.type_keys("/line 1\n");
    std::thread::sleep(Duration::from_millis(300));
    anna.type_keys(&format!(
        "/transfer sip:ben@{}?Replaces={call_id}%3Bto-tag%3D{to_tag}%3Bfrom-tag%3D{from_tag}\n",
        gw.addr
    ));
    let call = wait_for_event(
        &gw,
        &id,
        "transferred",
        |d| d["agent"] == "ben",
        Duration::from_secs(15),
    );
    let transferred = &events_of(&call, "transferred")[0]["data"];
    assert_eq!(transferred["attended"], true, "{transferred}");
    assert!(
        transferred["consulted_ms"].as_u64().unwrap() >= 1500,
        "{transferred}"
    );
    let hangups: Vec<_> = events_of(&call, "agent_hangup")
        .iter()
        .map(|e| e["data"]["agent"].clone())
        .collect();
    assert!(hangups.contains(&serde_json::json!("anna")), "{hangups:?}");

    let calls = gw.wait_for_ended_calls(1, Duration::from_secs(40));
    assert_eq!(calls.len(), 1, "the consultation is no call of its own");
    let call = gw.call(&id);
    assert_eq!(call["call"]["agent_id"], "ben", "{:?}", kinds(&call));
    // The caller talked with Ben at the end, without a new ring on his phone.
    let heard = caller.heard().expect("the caller dumped what it heard");
    let (rate, heard) = wav_channel(&heard, 0);
    let last = heard.len().saturating_sub(3 * rate as usize)..heard.len();
    let share = tone_share(rate, &heard[last], BEN_HZ);
    assert!(share > 0.6, "the caller heard Ben: {share:.2}");
    assert_eq!(
        traced(&ben.log(), "INVITE sip:ben-").len(),
        1,
        "Ben's phone rang once, for the consultation:\n{}",
        ben.log()
    );
}

/// Anna answers the caller, then transfers them from her phone (REFER) to `target`.
fn anna_transfers_to(
    target: &dyn Fn(&Gateway) -> String,
    caller_seconds: f64,
) -> (Gateway, String, Baresip, Baresip, Baresip) {
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(&center(10, true));
    let agent_tone = tone(&dir.path().join("agent.wav"), AGENT_HZ, 80.0);
    let anna = agent_phone(dir.path(), &gw, "anna", true, &agent_tone);
    let ben = agent_phone(dir.path(), &gw, "ben", true, &agent_tone);
    let (caller, id) = caller_presses_zero(dir.path(), &gw, caller_seconds);
    wait_for_event(
        &gw,
        &id,
        "agent_answered",
        |_| true,
        Duration::from_secs(20),
    );
    std::thread::sleep(Duration::from_secs(2));
    anna.type_keys(&format!("/transfer {}\n", target(&gw)));
    std::mem::forget(dir);
    (gw, id, anna, ben, caller)
}

#[test]
fn a_blind_transfer_from_the_agent_phone_reaches_the_second_agent() {
    let _serial = one_at_a_time();
    let (gw, id, anna, ben, _caller) =
        anna_transfers_to(&|gw| format!("sip:ben@{}", gw.addr), 30.0);
    let call = wait_for_event(
        &gw,
        &id,
        "transferred",
        |d| d["agent"] == "ben",
        Duration::from_secs(20),
    );
    let requested = &events_of(&call, "transfer_requested")[0]["data"];
    assert_eq!(requested["agent"], "anna", "{requested}");
    let calls = gw.wait_for_ended_calls(1, Duration::from_secs(40));
    assert_eq!(calls.len(), 1);
    let call = gw.call(&id);
    let hangups: Vec<String> = events_of(&call, "agent_hangup")
        .iter()
        .map(|e| e["data"]["agent"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(
        hangups.contains(&"anna".to_string()) && hangups.contains(&"ben".to_string()),
        "Anna left after the transfer, Ben at the end: {:?}\ngateway:\n{}",
        kinds(&call),
        gw.log()
    );
    drop(anna);
    let heard = ben.heard().expect("Ben's phone dumped what it heard");
    let (rate, heard) = wav_channel(&heard, 0);
    let middle = heard.len() / 3..2 * heard.len() / 3;
    let share = tone_share(rate, &heard[middle], CALLER_HZ);
    assert!(share > 0.6, "Ben talked with the caller: {share:.2}");
}

#[test]
fn a_transfer_to_a_dead_uri_returns_the_caller_to_the_first_agent() {
    let _serial = one_at_a_time();
    let dead = switchboard_e2e::free_port();
    let (gw, id, anna, _ben, caller) =
        anna_transfers_to(&|_| format!("sip:nobody@127.0.0.1:{dead}"), 40.0);
    let call = wait_for_event(
        &gw,
        &id,
        "transfer_failed",
        |_| true,
        Duration::from_secs(30),
    );
    assert!(
        events_of(&call, "transferred").is_empty(),
        "nobody took the call: {:?}",
        kinds(&call)
    );
    let calls = gw.wait_for_ended_calls(1, Duration::from_secs(40));
    assert_eq!(calls.len(), 1);
    let call = gw.call(&id);
    assert_eq!(
        call["call"]["outcome"],
        "caller_hangup",
        "{:?}\nanna:\n{}",
        kinds(&call),
        anna.log()
    );
    let last = events_of(&call, "agent_hangup");
    assert_eq!(
        last.last().unwrap()["data"]["agent"],
        "anna",
        "the call ended with Anna: {:?}\nanna:\n{}",
        kinds(&call),
        anna.log()
    );
    // Back together: the last seconds the caller heard are Anna's tone.
    let heard = caller.heard().expect("the caller dumped what it heard");
    let (rate, heard) = wav_channel(&heard, 0);
    let last = heard.len().saturating_sub(3 * rate as usize)..heard.len();
    let share = tone_share(rate, &heard[last], AGENT_HZ);
    assert!(share > 0.6, "the caller is back with Anna: {share:.2}");
}

#[test]
fn a_pcma_caller_and_a_g722_agent_hear_each_other_through_transcoding() {
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(&center(10, true));
    let agent_tone = tone(&dir.path().join("agent.wav"), AGENT_HZ, 80.0);
    let anna = agent_phone_with_codec(
        dir.path(),
        &gw,
        "anna",
        true,
        &agent_tone,
        Some("G722/16000/1"),
    );
    let (caller, id) = caller_with_codec_presses_zero(dir.path(), &gw, 20.0, Some("PCMA"));
    wait_for_event(
        &gw,
        &id,
        "agent_answered",
        |_| true,
        Duration::from_secs(20),
    );
    gw.wait_for_ended_calls(1, Duration::from_secs(40));
    let call = gw.call(&id);
    assert_eq!(events_of(&call, "answered")[0]["data"]["codec"], "PCMA");
    assert_eq!(
        events_of(&call, "agent_answered")[0]["data"]["codec"],
        "G722",
        "{:?}\nanna:\n{}",
        kinds(&call),
        anna.log()
    );
    let (rate, heard) = wav_channel(&anna.heard().expect("Anna's dump"), 0);
    assert_eq!(rate, 16000, "Anna's phone runs wideband");
    let middle = heard.len() / 3..2 * heard.len() / 3;
    let share = tone_share(rate, &heard[middle], CALLER_HZ);
    assert!(share > 0.6, "Anna heard the caller at 16 kHz: {share:.2}");
    let (rate, heard) = wav_channel(&caller.heard().expect("the caller's dump"), 0);
    let last = heard.len().saturating_sub(3 * rate as usize)..heard.len();
    let share = tone_share(rate, &heard[last], AGENT_HZ);
    assert!(share > 0.6, "the caller heard Anna at 8 kHz: {share:.2}");
}
