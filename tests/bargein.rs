//! Barge-in measured from outside, on the test's own clock: a caller made of raw SIP and a UDP
//! socket in this process (tests/support/rtp_caller.rs) talks over a long prompt and notes when
//! each of its packets left and when each of the gateway's arrived, with their loudness.
//!
//! - onset: when the first packet of the caller's speech (RMS above [`SPEECH_RMS`], and the two
//!   after it too, so that a click is not speech) was sent;
//! - stop: when the last packet of the bot's voice arrived after the onset (before the bot is
//!   silent for [`SILENCE_GAP`]).
//!
//! An interruptible prompt must stop within [`MAX_LATENCY`] of the onset; one with
//! `interruptible = false` must go on talking.

use std::time::{Duration, Instant};

use switchboard_e2e::rtp_caller::{CallMedia, RtpCaller, StartAudio, read_8khz_wav};
use switchboard_e2e::{Gateway, events_of, kinds, one_at_a_time, repo, speech_config};

/// A 20 ms packet louder than this (RMS on the i16 scale, about −40 dBFS) holds speech.
const SPEECH_RMS: f64 = 300.0;
/// The bot has stopped once it is this long without a loud packet.
const SILENCE_GAP: Duration = Duration::from_millis(300);
/// The bound: from the caller's first word to the bot's last sound.
const MAX_LATENCY: Duration = Duration::from_millis(100);
/// The caller is silent this long after the prompt starts, then speaks.
const SILENCE_BEFORE: f64 = 3.5;
/// What the caller says, made with `switchboard say` at 8 kHz: synthetic speech starts cleanly
/// (the first loud frame is the first word), where a recording may begin with a breath or a
/// click that blurs the onset.
const PHRASE: &str = "I am calling about my invoice from last week";
/// The prompt of both dialplans (one sentence, about 12 s).
const PROMPT_START: &str = "Thank you for calling the example shop";

/// What was measured on one call.
struct Measured {
    call: serde_json::Value,
    /// When the bot's prompt was first heard.
    prompt_start: Instant,
    /// When the caller's first loud packet was sent.
    onset: Instant,
    /// When the bot's last loud packet after the onset arrived.
    stop: Instant,
    /// Share of the bot's packets in the second before the onset that were loud.
    talking_before: f64,
    /// Share of the bot's packets from 0.2 to 1.2 s after the onset that were loud.
    talking_after: f64,
    /// Both directions around the onset, for failure messages.
    trace: String,
}

impl Measured {
    fn latency(&self) -> Duration {
        self.stop.saturating_duration_since(self.onset)
    }

    /// Milliseconds from the prompt's start to the caller's first word.
    fn onset_ms(&self) -> u64 {
        self.onset.duration_since(self.prompt_start).as_millis() as u64
    }
}

/// Calls dialplan `dialplan` (a file of tests/data/speech), is silent for 3.5 s after the
/// prompt starts, says the phrase, and measures what came back.
fn talk_over_prompt(dialplan: &str) -> Measured {
    let dir = tempfile::tempdir().unwrap();
    let gw = Gateway::start_with_default_dialplan(
        &repo().join("tests/data/speech"),
        dialplan,
        &speech_config(),
    );
    let phrase = dir.path().join("phrase.wav");
    gw.cli(&[
        "say",
        PHRASE,
        "-o",
        phrase.to_str().unwrap(),
        "--rate",
        "8000",
    ]);
    let mut audio = vec![0i16; (SILENCE_BEFORE * 8000.0) as usize];
    audio.extend(read_8khz_wav(&phrase));

    let mut caller = RtpCaller::dial(gw.addr, "bargein", audio, StartAudio::WhenHeard(SPEECH_RMS));
    // The dialplan says goodbye and hangs up once it has the answer.
    let hung_up = caller.wait_for_hangup(Duration::from_secs(60));
    let media = caller.hang_up();
    let calls = gw.wait_for_ended_calls(1, Duration::from_secs(20));
    let call = gw.call(calls[0]["id"].as_str().unwrap());
    assert!(
        hung_up,
        "the gateway should hang up after the answer; events: {:?}\n{}",
        kinds(&call),
        gw.log()
    );
    measure(&media, call)
}

fn measure(media: &CallMedia, call: serde_json::Value) -> Measured {
    let loud = |rms: f64| rms > SPEECH_RMS;
    let prompt_start = media
        .received
        .iter()
        .find(|p| loud(p.rms))
        .unwrap_or_else(|| panic!("the bot never spoke; events: {:?}", kinds(&call)))
        .at;
    let onset = media
        .sent
        .windows(3)
        .find(|w| w.iter().all(|p| loud(p.rms)))
        .expect("the caller's phrase was never sent")[0]
        .at;
    let loud_share = |from: Instant, to: Instant| {
        let window: Vec<_> = media
            .received
            .iter()
            .filter(|p| p.at >= from && p.at < to)
            .collect();
        window.iter().filter(|p| loud(p.rms)).count() as f64 / window.len().max(1) as f64
    };
    let talking_before = loud_share(onset - Duration::from_secs(1), onset);
    let talking_after = loud_share(
        onset + Duration::from_millis(200),
        onset + Duration::from_millis(1200),
    );
    let mut stop = onset;
    for p in media.received.iter().filter(|p| p.at > onset) {
        if p.at.duration_since(stop) >= SILENCE_GAP {
            break;
        }
        if loud(p.rms) {
            stop = p.at;
        }
    }
    let around = |at: Instant| {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        if at >= onset {
            ms(at - onset)
        } else {
            -ms(onset - at)
        }
    };
    let window = |at: Instant| (-100.0..=400.0).contains(&around(at));
    let trace = format!(
        "packets around the onset (ms from it: RMS)\n  sent:     {}\n  received: {}",
        media
            .sent
            .iter()
            .filter(|p| window(p.at))
            .map(|p| format!("{:.0}:{:.0}", around(p.at), p.rms))
            .collect::<Vec<_>>()
            .join(" "),
        media
            .received
            .iter()
            .filter(|p| window(p.at))
            .map(|p| format!("{:.0}:{:.0}", around(p.at), p.rms))
            .collect::<Vec<_>>()
            .join(" ")
    );
    // Where the bot was quiet, and where packets were late, from the prompt's start on.
    let from_prompt: Vec<_> = media
        .received
        .iter()
        .filter(|p| p.at >= prompt_start)
        .collect();
    let mut quiet = (Duration::ZERO, 0.0);
    let mut late = (Duration::ZERO, 0.0);
    let mut last_loud = prompt_start;
    for pair in from_prompt.windows(2) {
        let gap = pair[1].at - pair[0].at;
        if gap > late.0 {
            late = (gap, around(pair[0].at));
        }
        if loud(pair[1].rms) {
            if pair[1].at - last_loud > quiet.0 {
                quiet = (pair[1].at - last_loud, around(last_loud));
            }
            last_loud = pair[1].at;
        }
    }
    let trace = format!(
        "{trace}\n  longest bot silence from the prompt's start: {:?} from {:.0} ms; longest gap \
         between arrivals: {:?} from {:.0} ms",
        quiet.0, quiet.1, late.0, late.1
    );
    Measured {
        call,
        prompt_start,
        onset,
        stop,
        talking_before,
        talking_after,
        trace,
    }
}

/// The bot's transcript line of the long prompt.
fn prompt_line(call: &serde_json::Value) -> serde_json::Value {
    call["transcript"]
        .as_array()
        .unwrap_or_else(|| panic!("no transcript in {call:#}"))
        .iter()
        .find(|l| {
            l["speaker"] == "bot" && l["text"].as_str().unwrap_or("").starts_with(PROMPT_START)
        })
        .unwrap_or_else(|| panic!("no bot line for the prompt: {:#}", call["transcript"]))
        .clone()
}

fn check_talking_before(m: &Measured) {
    let ahead = m.onset.duration_since(m.prompt_start);
    assert!(
        ahead >= Duration::from_secs(2) && m.talking_before >= 0.5,
        "the bot should be mid-sentence when the caller starts: the prompt started {ahead:?} \
         before and {:.0} % of the last second's packets were loud",
        m.talking_before * 100.0
    );
}

#[test]
fn speaking_stops_an_interruptible_prompt_within_100_ms() {
    let _serial = one_at_a_time();
    let started = Instant::now();
    let m = talk_over_prompt("bargein");
    let call = &m.call;
    let context = || {
        format!(
            "events: {:#}\ntranscript: {:#}",
            call["events"], call["transcript"]
        )
    };
    let latency = m.latency();
    eprintln!(
        "barge-in latency (caller's first loud packet sent → bot's last loud packet received): \
         {} ms; bot talking before the onset: {:.0} % of packets, after: {:.0} %; onset {} ms \
         into the prompt",
        latency.as_millis(),
        m.talking_before * 100.0,
        m.talking_after * 100.0,
        m.onset_ms()
    );
    eprintln!("{}", m.trace);
    check_talking_before(&m);
    assert!(
        latency <= MAX_LATENCY,
        "the prompt should stop within {MAX_LATENCY:?} of the caller's first word, it went on \
         for {latency:?}\n{}\n{}",
        m.trace,
        context()
    );
    // And it stays stopped (a pause that resumes would be heard as a stutter); the caller is
    // still talking then, so nothing else is said either.
    assert!(
        m.talking_after <= 0.1,
        "the bot should stay quiet after the barge-in, but {:.0} % of its packets from 0.2 to \
         1.2 s after the caller's first word were loud\n{}",
        m.talking_after * 100.0,
        m.trace
    );
    let stopped: Vec<_> = events_of(call, "playback_stopped")
        .iter()
        .map(|e| e["data"].clone())
        .collect();
    assert_eq!(
        stopped,
        vec![serde_json::json!({"by": "speech"})],
        "the timeline shows the prompt stopped by speech; {}",
        context()
    );
    // The transcript says how much of the prompt the caller heard.
    let line = prompt_line(call);
    let heard_ms = line["interrupted_after_ms"]
        .as_u64()
        .unwrap_or_else(|| panic!("the prompt's line should be marked interrupted: {line:#}"));
    let onset_ms = m.onset_ms();
    eprintln!(
        "transcript: interrupted_after_ms {heard_ms}, caller's first word {onset_ms} ms into the prompt"
    );
    assert!(
        heard_ms.abs_diff(onset_ms) <= 300,
        "interrupted_after_ms ({heard_ms}) should be the time from the prompt's start to the \
         caller's first word ({onset_ms} ms), ±300 ms: {line:#}"
    );
    // The caller's words answered the question.
    assert!(
        events_of(call, "listen_value")
            .iter()
            .any(|e| e["data"]["var"] == "reason"
                && !e["data"]["value"].as_str().unwrap_or("").is_empty()),
        "the caller's answer went into `reason`; {}",
        context()
    );
    eprintln!(
        "barge-in test took {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn speaking_does_not_stop_a_prompt_that_is_not_interruptible() {
    let _serial = one_at_a_time();
    let started = Instant::now();
    let m = talk_over_prompt("bargein_not_interruptible");
    let call = &m.call;
    let context = || {
        format!(
            "events: {:#}\ntranscript: {:#}",
            call["events"], call["transcript"]
        )
    };
    let went_on = m.latency();
    eprintln!(
        "not interruptible: bot went on talking {} ms after the caller's first word ({:.0} % of \
         packets loud from 0.2 to 1.2 s after it)\n{}",
        went_on.as_millis(),
        m.talking_after * 100.0,
        m.trace
    );
    check_talking_before(&m);
    // Judged by the share of loud packets rather than by the first gap: a voice may pause
    // between words, and that is not the prompt stopping.
    assert!(
        m.talking_after >= 0.5,
        "a prompt with interruptible = false should go on when the caller speaks, but only \
         {:.0} % of the bot's packets from 0.2 to 1.2 s after the caller's first word were \
         loud (it went on {went_on:?})\n{}\n{}",
        m.talking_after * 100.0,
        m.trace,
        context()
    );
    assert!(
        events_of(call, "playback_stopped").is_empty(),
        "nothing stopped the prompt; {}",
        context()
    );
    let line = prompt_line(call);
    assert!(
        line["interrupted_after_ms"].is_null(),
        "the prompt was played in full: {line:#}"
    );
    // The caller was heard all the same, and answered once the prompt was over.
    assert!(
        events_of(call, "listen_value")
            .iter()
            .any(|e| e["data"]["var"] == "reason"
                && !e["data"]["value"].as_str().unwrap_or("").is_empty()),
        "the caller's answer went into `reason`; {}",
        context()
    );
    eprintln!(
        "no-barge-in test took {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
