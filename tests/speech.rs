//! Speech end to end, with the real models: a real voice (LibriVox, from Debian's
//! pocketsphinx-testdata) dictated by baresip over G.711 ends up in the call's transcript with
//! the right words at the right time; a spoken menu choice takes the hotline's `billing` or
//! `order status` option; and `switchboard transcribe` / `switchboard say` on the command line.
//!
//! The tests of this file run one at a time: each loads Whisper and piper, and on a small
//! machine several at once would only measure each other.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use switchboard_e2e::baresip::Baresip;
use switchboard_e2e::tools::{sox, speech_file, wait_for_event, wav_seconds};
use switchboard_e2e::{
    Gateway, binary, events_of, kinds, one_at_a_time, output_text, repo, speech_config, wav_channel,
};

/// Read by a man, 7.1 s: "and mister john dashwood had then leisure to consider how much there
/// might be prudently in his power to do for them".
const DICTATED: &str = "sense_and_sensibility_01_austen_64kb-0870";
/// Two for the command line: "had he married a more a amiable woman he might have been made
/// still more respectable than he was" (6.1 s; the reader repeats "a") and "he might even have
/// been made amiable himself" (3.3 s).
const CLI_FILES: [&str; 2] = [
    "sense_and_sensibility_01_austen_64kb-0920",
    "sense_and_sensibility_01_austen_64kb-0930",
];
/// The word error rate we accept from Whisper tiny.en on these clips.
const MAX_WER: f64 = 0.25;
/// Silence before the dictated voice.
const LEAD_IN: f64 = 3.0;
/// A 20 ms frame whose RMS is above this is not silence.
const ACTIVE_RMS: f64 = 300.0;
/// What dictation.toml says first (not interruptible).
const GREETING: &str = "Welcome.";

/// A config file with only the speech section, for the command-line tests.
fn cli_config(dir: &Path) -> PathBuf {
    let path = dir.join("switchboard.toml");
    std::fs::write(&path, speech_config()).unwrap();
    path
}

/// Runs `switchboard --config CONFIG ARGS…`.
fn switchboard(config: &Path, args: &[&str]) -> Output {
    Command::new(binary())
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .unwrap()
}

/// The reference text of a LibriVox clip, from pocketsphinx-testdata's `transcription` file
/// (`<s> words </s> (file id)`).
fn reference(id: &str) -> String {
    let all = std::fs::read_to_string(speech_file("librivox/transcription")).unwrap();
    let line = all
        .lines()
        .find(|l| l.trim_end().ends_with(&format!("({id})")))
        .unwrap_or_else(|| panic!("no reference text for {id} in:\n{all}"));
    line.replace("<s>", "")
        .split("</s>")
        .next()
        .unwrap()
        .trim()
        .to_string()
}

/// Words for comparing transcripts: lower case, punctuation dropped (hyphens split words,
/// apostrophes go), and the titles Whisper abbreviates written out.
fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .replace(['-', '—'], " ")
        .split_whitespace()
        .map(|w| {
            w.chars()
                .filter(|c| c.is_alphanumeric())
                .collect::<String>()
        })
        .filter(|w| !w.is_empty())
        .map(|w| match w.as_str() {
            "mr" => "mister".to_string(),
            "mrs" => "missus".to_string(),
            "dr" => "doctor".to_string(),
            _ => w,
        })
        .collect()
}

/// Word error rate: the word-level edit distance (substitutions, insertions, deletions) from
/// the reference to the hypothesis, divided by the number of reference words.
fn wer(reference: &str, hypothesis: &str) -> f64 {
    let (r, h) = (words(reference), words(hypothesis));
    assert!(!r.is_empty(), "empty reference text");
    let mut row: Vec<usize> = (0..=h.len()).collect();
    for (i, rw) in r.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, hw) in h.iter().enumerate() {
            let substitute = diagonal + usize::from(rw != hw);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[h.len()] as f64 / r.len() as f64
}

#[test]
fn wer_counts_word_edits_and_ignores_case_and_punctuation() {
    assert_eq!(
        wer(
            "he was not an ill disposed young man",
            "He was not an ill-disposed young man."
        ),
        0.0
    );
    assert_eq!(wer("and mister john", "And Mr. John"), 0.0);
    // One substitution, one deletion, one insertion over four words.
    assert_eq!(wer("a b c d", "a x c"), 0.5);
    assert_eq!(wer("a b c d", "a b c d e"), 0.25);
    assert_eq!(wer("a b", ""), 1.0);
}

/// The transcript lines of a call by one speaker (`caller` or `bot`).
fn lines<'a>(call: &'a serde_json::Value, speaker: &str) -> Vec<&'a serde_json::Value> {
    call["transcript"]
        .as_array()
        .unwrap_or_else(|| panic!("`calls show --json` has no transcript array: {call:#}"))
        .iter()
        .filter(|l| l["speaker"] == speaker)
        .collect()
}

/// Start of the first 20 ms frame louder than [`ACTIVE_RMS`], in ms from the file's start.
fn speech_onset_ms(path: &Path) -> u64 {
    let (rate, samples) = wav_channel(path, 0);
    let frame = (rate / 50) as usize;
    let index = samples
        .chunks(frame)
        .position(|c| switchboard_e2e::rtp_caller::rms(c) > ACTIVE_RMS)
        .unwrap_or_else(|| panic!("no speech in {}", path.display()));
    index as u64 * 20
}

/// baresip dictates a LibriVox sentence over `codec` after 3 s of silence; the transcript has it.
fn dictation_over(codec: &str) {
    let _serial = one_at_a_time();
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    // 8 kHz mono: 3 s of silence, the voice, then silence (baresip hangs up when the file ends,
    // which must be after the dialplan's goodbye).
    let voice = dir.path().join("voice.wav");
    let source = speech_file(&format!("librivox/{DICTATED}.wav"));
    let tail = format!("{:.3}", 30.0 - LEAD_IN - wav_seconds(&source));
    sox(&[
        source.to_str().unwrap(),
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
    let onset_ms = speech_onset_ms(&voice);

    let gw = Gateway::start_with_default_dialplan(
        &repo().join("tests/data/speech"),
        "dictation",
        &speech_config(),
    );
    let phone_dir = dir.path().join("baresip");
    std::fs::create_dir(&phone_dir).unwrap();
    let phone = Baresip::dial(
        &phone_dir,
        &voice,
        &format!("sip:100@{}", gw.addr),
        Some(&codec.to_lowercase()),
    );

    // The dialplan hangs up after the goodbye that follows the dictation.
    let calls = gw.wait_for_ended_calls(1, Duration::from_secs(60));
    let id = calls[0]["id"].as_str().unwrap().to_string();
    let call = gw.call(&id);
    let context = || {
        format!(
            "events: {:#}\ntranscript: {:#}\nbaresip log:\n{}\ngateway log:\n{}",
            call["events"],
            call["transcript"],
            phone.log(),
            gw.log()
        )
    };
    let answered = events_of(&call, "answered");
    assert_eq!(
        answered.first().map(|e| &e["data"]["codec"]),
        Some(&serde_json::json!(codec)),
        "the call should run on {codec}; {}",
        context()
    );
    assert_eq!(
        call["call"]["outcome"],
        "completed",
        "the dialplan should have taken the dictation and said goodbye; {}",
        context()
    );

    // The caller's words: one line with the sentence, recognized well, at the time it was said.
    let expected = reference(DICTATED);
    let caller = lines(&call, "caller");
    let best = caller
        .iter()
        .min_by(|a, b| {
            let (wa, wb) = (
                wer(&expected, a["text"].as_str().unwrap_or("")),
                wer(&expected, b["text"].as_str().unwrap_or("")),
            );
            wa.total_cmp(&wb)
        })
        .unwrap_or_else(|| panic!("no caller line in the transcript; {}", context()));
    let text = best["text"].as_str().unwrap();
    let error_rate = wer(&expected, text);
    let start_ms = best["start_ms"].as_i64().unwrap();
    let confidence = best["confidence"].as_f64().unwrap_or(0.0);
    eprintln!(
        "{codec}: WER {error_rate:.3} confidence {confidence:.2}, heard {text:?} at {start_ms} ms \
         (speech sent from {onset_ms} ms after the answer)"
    );
    assert!(
        error_rate <= MAX_WER,
        "the transcript should say {expected:?}, it says {text:?} (WER {error_rate:.3} > {MAX_WER}); {}",
        context()
    );
    assert!(
        confidence > 0.5,
        "the recognizer should be confident of {text:?}: confidence {confidence}; {}",
        context()
    );
    assert!(
        (start_ms - onset_ms as i64).abs() <= 600,
        "the caller line should start when the speech reached the gateway, about {onset_ms} ms \
         after the answer (±600 ms), it starts at {start_ms} ms; {}",
        context()
    );
    assert!(
        best["end_ms"].as_i64().unwrap() > start_ms,
        "the caller line ends after it starts: {best:#}"
    );
    // The listen step took the same words.
    let values = events_of(&call, "listen_value");
    assert!(
        values.iter().any(|e| e["data"]["var"] == "message"
            && wer(&expected, e["data"]["value"].as_str().unwrap_or("")) <= MAX_WER),
        "the listen step should have put the sentence into `message`; {}",
        context()
    );

    // The bot's words: the greeting first, played in full, before the caller spoke.
    let bot = lines(&call, "bot");
    let greeting = bot
        .first()
        .unwrap_or_else(|| panic!("no bot line in the transcript; {}", context()));
    assert_eq!(greeting["text"], GREETING, "{}", context());
    assert!(
        greeting["interrupted_after_ms"].is_null(),
        "the greeting cannot be interrupted: {greeting:#}"
    );
    let (g_start, g_end) = (
        greeting["start_ms"].as_i64().unwrap(),
        greeting["end_ms"].as_i64().unwrap(),
    );
    assert!(
        0 <= g_start && g_start < g_end && g_end < start_ms,
        "the greeting is played after the answer and before the caller speaks: {greeting:#}; \
         caller from {start_ms} ms"
    );
    assert!(
        bot.iter().any(|l| l["text"] == "Thank you. Goodbye."),
        "the goodbye is in the transcript; {}",
        context()
    );
    eprintln!(
        "dictation over {codec} took {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn baresip_dictation_over_pcmu_is_transcribed() {
    dictation_over("PCMU");
}

#[test]
fn baresip_dictation_over_pcma_is_transcribed() {
    dictation_over("PCMA");
}

/// Seconds of silence before the caller speaks in the hotline: the notice (about 3 s) and the
/// greeting (about 2 s) have played and the main menu's prompt (about 6 s) is under way: it
/// starts about 6.2 s after the answer here, synthesis included.
const MENU_LEAD_IN: f64 = 9.0;

/// Our own caller says `phrase` into the hotline's main menu; the option it names is taken, and
/// the caller's line carries a frustration score with `cue` among its cues, if given.
fn spoken_menu_choice(phrase: &str, option: &str, target: &str, cue: Option<&str>) {
    let _serial = one_at_a_time();
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let gw = Gateway::start_with_default_dialplan(
        &repo().join("dialplans"),
        "hotline",
        &speech_config(),
    );
    // The phrase in the gateway's own voice at 8 kHz, after the lead-in silence.
    let said = dir.path().join("said.wav");
    gw.cli(&[
        "say",
        phrase,
        "-o",
        said.to_str().unwrap(),
        "--rate",
        "8000",
    ]);
    let voice = dir.path().join("voice.wav");
    sox(&[
        said.to_str().unwrap(),
        voice.to_str().unwrap(),
        "pad",
        &MENU_LEAD_IN.to_string(),
        "0",
    ]);
    let from = format!("sip:menu-{option}@localhost");
    let mut caller = gw
        .caller(&[
            "--play",
            voice.to_str().unwrap(),
            "--duration",
            "20",
            "--from",
            &from,
        ])
        .spawn()
        .unwrap();

    let call = wait_for_event(
        &gw,
        "last",
        "node_entered",
        |d| d["node"] == target,
        Duration::from_secs(40),
    );
    let _ = caller.kill();
    let _ = caller.wait();
    let id = call["call"]["id"].as_str().unwrap().to_string();
    // The transcript line is written with the recognition, before the option is taken.
    let call = gw.call(&id);
    let context = || {
        format!(
            "events: {:?}\n{:#}\ntranscript: {:#}",
            kinds(&call),
            call["events"],
            call["transcript"]
        )
    };
    assert!(
        call["call"]["from_uri"]
            .as_str()
            .unwrap()
            .contains(&format!("menu-{option}")),
        "the call found is ours: {:#}",
        call["call"]
    );
    let options: Vec<_> = events_of(&call, "listen_option")
        .iter()
        .map(|e| e["data"].clone())
        .collect();
    assert_eq!(options.len(), 1, "one choice was made; {}", context());
    let choice = &options[0];
    assert_eq!(
        (
            &choice["node"],
            &choice["option"],
            &choice["by"],
            &choice["target"]
        ),
        (
            &serde_json::json!("main_menu"),
            &serde_json::json!(option),
            &serde_json::json!("speech"),
            &serde_json::json!(target)
        ),
        "saying {phrase:?} in the main menu chooses {option}; {}",
        context()
    );
    // The caller spoke during the main menu's prompt, not before it (else the test proves
    // nothing about the menu): listening had started when the speech began.
    let evs = call["events"].as_array().unwrap();
    let listening = evs
        .iter()
        .position(|e| e["kind"] == "listen_started" && e["data"]["node"] == "main_menu")
        .unwrap_or_else(|| panic!("the main menu never listened; {}", context()));
    let spoke = evs
        .iter()
        .position(|e| e["kind"] == "speech_started")
        .unwrap_or_else(|| panic!("no speech_started; {}", context()));
    assert!(
        listening < spoke,
        "the caller should speak while the main menu listens (raise MENU_LEAD_IN if the \
         prompts came late); {}",
        context()
    );
    // The transcript has the caller's words the choice was made on, when they were said.
    let chosen_on = choice["text"].as_str().unwrap_or_default();
    let heard = lines(&call, "caller");
    let line = heard
        .iter()
        .find(|l| l["text"] == chosen_on)
        .unwrap_or_else(|| {
            panic!(
                "the transcript should have the caller saying {chosen_on:?}; {}",
                context()
            )
        });
    let expected_ms = (MENU_LEAD_IN * 1000.0) as i64 + speech_onset_ms(&said) as i64;
    let start_ms = line["start_ms"].as_i64().unwrap();
    assert!(
        (start_ms - expected_ms).abs() <= 600,
        "the caller line should start about {expected_ms} ms after the answer (±600 ms), when \
         the phrase was played: {line:#}"
    );
    assert!(
        line["confidence"].as_f64().is_some_and(|c| c > 0.0),
        "the caller line has the recognizer's confidence: {line:#}"
    );
    let emotion = &line["data"]["emotion"];
    let score = emotion["score"].as_f64().unwrap_or(-1.0);
    assert!(
        (0.0..=1.0).contains(&score),
        "the caller line has a frustration score 0..1: {line:#}"
    );
    let cues = emotion["cues"].as_array().cloned().unwrap_or_default();
    if let Some(cue) = cue {
        assert!(
            cues.iter().any(|c| c == cue),
            "saying {phrase:?} should fire the {cue} cue: {emotion:#}"
        );
    } else {
        assert!(
            score < 0.5,
            "a calm menu choice should not score as frustrated: {emotion:#}"
        );
    }
    eprintln!(
        "menu choice {phrase:?}: heard {chosen_on:?} at {start_ms} ms (played from \
         {expected_ms} ms; the menu prompt started at {} ms), took {:.1} s",
        lines(&call, "bot")
            .iter()
            .find(|l| l["text"]
                .as_str()
                .unwrap_or("")
                .starts_with("How can I help"))
            .map_or("?".to_string(), |l| l["start_ms"].to_string()),
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn saying_billing_please_takes_the_billing_option() {
    spoken_menu_choice("billing please", "billing", "billing", None);
}

#[test]
fn saying_order_status_takes_the_order_status_option() {
    spoken_menu_choice("order status", "order_status", "order_number", None);
}

#[test]
fn asking_for_a_human_takes_the_agent_option_and_is_a_frustration_cue() {
    spoken_menu_choice(
        "I want to speak to a person.",
        "agent",
        "transfer",
        Some("asked_for_human"),
    );
}

#[test]
fn transcribe_and_say_on_the_command_line() {
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let config = cli_config(dir.path());
    let files: Vec<PathBuf> = CLI_FILES
        .iter()
        .map(|id| speech_file(&format!("librivox/{id}.wav")))
        .collect();
    let paths: Vec<&str> = files.iter().map(|f| f.to_str().unwrap()).collect();

    // One line per file, "FILE: text", with the right words.
    let out = switchboard(&config, &[&["transcribe"], &paths[..]].concat());
    assert!(out.status.success(), "{}", output_text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let printed: Vec<&str> = stdout.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        printed.len(),
        2,
        "two lines for two files: {}",
        output_text(&out)
    );
    for ((id, path), line) in CLI_FILES.iter().zip(&paths).zip(&printed) {
        let text = line
            .strip_prefix(&format!("{path}: "))
            .unwrap_or_else(|| panic!("the line should start with the file name {path}: {line:?}"));
        let error_rate = wer(&reference(id), text);
        eprintln!("transcribe {id}: WER {error_rate:.3}: {text:?}");
        assert!(
            error_rate <= MAX_WER,
            "{id}: expected {:?}, got {text:?} (WER {error_rate:.3})",
            reference(id)
        );
    }

    // --json: one object per file, whose words have times in order and inside the clip.
    let out = switchboard(&config, &[&["transcribe", "--json"], &paths[..]].concat());
    assert!(out.status.success(), "{}", output_text(&out));
    let objects: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert_eq!(objects.len(), 2, "{}", output_text(&out));
    for (id, obj) in CLI_FILES.iter().zip(&objects) {
        let audio_ms = obj["audio_ms"].as_u64().unwrap();
        let ws = obj["words"].as_array().unwrap();
        let joined: Vec<&str> = ws.iter().map(|w| w["word"].as_str().unwrap()).collect();
        assert!(
            wer(&reference(id), &joined.join(" ")) <= MAX_WER,
            "{id}: the words should spell the sentence: {joined:?}"
        );
        assert!(
            wer(&reference(id), obj["text"].as_str().unwrap()) <= MAX_WER,
            "{id}: {obj:#}"
        );
        let mut previous = (0, 0);
        for w in ws {
            let (start, end) = (
                w["start_ms"].as_u64().unwrap(),
                w["end_ms"].as_u64().unwrap(),
            );
            assert!(
                start <= end && start >= previous.0 && end >= previous.1 && end <= audio_ms + 100,
                "{id}: word timings should be in order and inside the {audio_ms} ms clip: {w} after {previous:?}\n{obj:#}"
            );
            previous = (start, end);
        }
        assert!(
            previous.1 > audio_ms / 2,
            "{id}: the words should cover the clip ({audio_ms} ms), the last ends at {} ms",
            previous.1
        );
    }

    // A missing file: a clear error naming it, and a failure exit.
    let missing = dir.path().join("no-such-file.wav");
    let out = switchboard(&config, &["transcribe", missing.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && stderr.contains("error")
            && stderr.contains(missing.to_str().unwrap()),
        "transcribing a missing file should fail and name it: {}",
        output_text(&out)
    );

    // Nothing to say: a clear error, and no file.
    let wav = dir.path().join("empty.wav");
    let out = switchboard(&config, &["say", "", "-o", wav.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("empty"),
        "saying empty text should fail and say why: {}",
        output_text(&out)
    );
    assert!(!wav.exists(), "no WAV is written for empty text");
}
