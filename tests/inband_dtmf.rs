//! In-band DTMF through the whole gateway: key tones made by sox (not by our own tone code),
//! interleaved with real recorded speech, are sent as the caller's audio over G.711; the
//! gateway must report exactly the keys that were pressed, via its in-band detector, and none
//! for the speech. The edge cases come from the reception spec in TESTING.md: 40 ms tones with
//! 50 ms pauses, 8 dB normal and 4 dB reverse twist, −26 dBm0 per tone, 15 dB S/N white noise,
//! ±1.5 % frequency error (must detect) and ±3.5 % (must not). multimon-ng, an independent
//! decoder, reads the same file as a check that the file holds the keys we think it does.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use switchboard_e2e::tools::{
    all_speech_files, dtmf_digits, multimon_dtmf, require_tool, sox, speech_file, wav_seconds,
};
use switchboard_e2e::{Gateway, active_seconds, events_of, kinds, wav_channel};

/// The test dialplan: collects every key, 20 at a time, until the caller hangs up. The prompt
/// goes out to the caller and cannot disturb detection of what comes in.
const KEYS_DIALPLAN: &str = r#"# Test dialplan: every key the caller sends is collected, 20 at a time, until the caller hangs up.
name = "keys"
start = "keys"

[vars]
keys = ""

[nodes.keys.collect]
prompt = "no_input"
var = "keys"
min = 1
max = 20
terminator = ""
first_digit_timeout = "2m"
inter_digit_timeout = "2m"
retries = 0
next = "keys"
on_failure = "keys"
"#;

/// Low-group (row) and high-group (column) frequencies of a key.
fn frequencies(key: char) -> (f64, f64) {
    const ROWS: [f64; 4] = [697.0, 770.0, 852.0, 941.0];
    const COLS: [f64; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
    const PAD: [&str; 4] = ["123A", "456B", "789C", "*0#D"];
    for (r, keys) in PAD.iter().enumerate() {
        if let Some(c) = keys.find(key) {
            return (ROWS[r], COLS[c]);
        }
    }
    panic!("{key} is not a DTMF key")
}

/// Peak amplitude (full scale = 1) of a sine at `dbm0`: G.711 puts a full-scale sine at
/// +3.14 dBm0 (the convention spandsp's tests use), so 0 dBm0 is 10^(−3.14/20) ≈ 0.696 and
/// −26 dBm0 ≈ 0.0349.
fn amplitude(dbm0: f64) -> f64 {
    #[allow(clippy::approx_constant)] // a level in dB that happens to look like π
    const FULL_SCALE_DBM0: f64 = 3.14;
    10f64.powf((dbm0 - FULL_SCALE_DBM0) / 20.0)
}

/// A run of key presses, all made the same way.
struct KeyRun {
    what: &'static str,
    keys: &'static str,
    tone_ms: u32,
    pause_ms: u32,
    low_dbm0: f64,
    high_dbm0: f64,
    /// Both frequencies are multiplied by this (1.015 = +1.5 %).
    freq: f64,
    /// White noise over the whole run (pauses included), this many dB below the key's power.
    noise_snr_db: Option<f64>,
    /// The spec says the gateway must report these keys (false: must not).
    detect: bool,
    /// multimon-ng finds these (measured with multimon-ng 1.2.0; see `sequence`).
    multimon: bool,
}

enum Piece {
    Silence(f64),
    Speech(&'static str),
    Keys(KeyRun),
}

const NOMINAL: f64 = -10.0;

fn keys(what: &'static str, keys: &'static str, tone_ms: u32, pause_ms: u32) -> KeyRun {
    KeyRun {
        what,
        keys,
        tone_ms,
        pause_ms,
        low_dbm0: NOMINAL,
        high_dbm0: NOMINAL,
        freq: 1.0,
        noise_snr_db: None,
        detect: true,
        multimon: true,
    }
}

/// The caller's audio: silence, key runs and real speech between them.
fn sequence() -> Vec<Piece> {
    use Piece::*;
    vec![
        Silence(1.0),
        Keys(keys(
            "all 16 keys, 70 ms tone / 70 ms pause, −10 dBm0 per tone",
            "123A456B789C*0#D",
            70,
            70,
        )),
        Speech("librivox/sense_and_sensibility_01_austen_64kb-0880.wav"),
        Keys(keys(
            "shortest key: 40 ms tone / 50 ms pause",
            "2580",
            40,
            50,
        )),
        Keys(keys(
            "the same key twice, 40 ms tone / 50 ms pause",
            "33",
            40,
            50,
        )),
        Speech("librivox/sense_and_sensibility_01_austen_64kb-0930.wav"),
        // multimon-ng 1.2.0 misses keys with 6 dB or more normal twist: not in its share.
        Keys(KeyRun {
            high_dbm0: NOMINAL - 8.0,
            multimon: false,
            ..keys("normal twist 8 dB (high group −18 dBm0)", "147", 100, 100)
        }),
        Keys(KeyRun {
            high_dbm0: NOMINAL + 4.0,
            ..keys("reverse twist 4 dB (high group −6 dBm0)", "369", 100, 100)
        }),
        Speech("cards/001.wav"),
        Speech("cards/003.wav"),
        Keys(KeyRun {
            low_dbm0: -26.0,
            high_dbm0: -26.0,
            ..keys("low level: −26 dBm0 per tone", "085", 100, 100)
        }),
        Keys(KeyRun {
            noise_snr_db: Some(15.0),
            ..keys("white noise at 15 dB S/N", "7*9#", 100, 100)
        }),
        Speech("librivox/sense_and_sensibility_01_austen_64kb-0890.wav"),
        // multimon-ng 1.2.0 misses keys 1.5 % off: not in its share.
        Keys(KeyRun {
            freq: 1.015,
            multimon: false,
            ..keys("frequencies +1.5 %", "26", 100, 100)
        }),
        Keys(KeyRun {
            freq: 0.985,
            multimon: false,
            ..keys("frequencies −1.5 %", "48", 100, 100)
        }),
        // Out of tolerance: not a key (multimon-ng does not report them either).
        Keys(KeyRun {
            freq: 1.035,
            detect: false,
            multimon: false,
            ..keys("frequencies +3.5 % (no key)", "1", 100, 100)
        }),
        Keys(KeyRun {
            freq: 0.965,
            detect: false,
            multimon: false,
            ..keys("frequencies −3.5 % (no key)", "5", 100, 100)
        }),
        Speech("cards/005.wav"),
        Silence(1.0),
    ]
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn silence(out: &Path, seconds: f64) {
    sox(&[
        "-D",
        "-n",
        "-r",
        "8000",
        "-c",
        "1",
        "-b",
        "16",
        s(out),
        "trim",
        "0",
        &format!("{seconds:.4}"),
    ]);
}

/// A speech file as 8 kHz mono, as loud as G.711 carries without clipping (peak −3 dBFS): the
/// hardest case for talk-off.
fn speech(out: &Path, relative: &str) {
    sox(&[
        s(&speech_file(relative)),
        "-r",
        "8000",
        "-c",
        "1",
        "-b",
        "16",
        s(out),
        "gain",
        "-n",
        "-3",
    ]);
}

/// A run of keys: pause, tone, pause, tone, …, pause; with noise mixed over all of it.
fn key_run(dir: &Path, name: &str, k: &KeyRun) -> PathBuf {
    let pause = dir.join(format!("{name}-pause.wav"));
    silence(&pause, f64::from(k.pause_ms) / 1000.0);
    let (a_low, a_high) = (amplitude(k.low_dbm0), amplitude(k.high_dbm0));
    let mut parts = vec![pause.clone()];
    for (i, key) in k.keys.chars().enumerate() {
        let (low, high) = frequencies(key);
        let tone = dir.join(format!("{name}-{i}.wav"));
        sox(&[
            "-D",
            "-r",
            "8000",
            "-c",
            "2",
            "-n",
            "-b",
            "16",
            "-c",
            "1",
            s(&tone),
            "synth",
            &format!("{:.4}", f64::from(k.tone_ms) / 1000.0),
            "sine",
            &format!("{:.3}", low * k.freq),
            "sine",
            &format!("{:.3}", high * k.freq),
            "remix",
            &format!("1v{a_low:.6},2v{a_high:.6}"),
        ]);
        parts.push(tone);
        parts.push(pause.clone());
    }
    let run = dir.join(format!("{name}.wav"));
    let mut args: Vec<&str> = parts.iter().map(|p| s(p)).collect();
    args.push(s(&run));
    sox(&args);
    let Some(snr) = k.noise_snr_db else {
        return run;
    };
    // Power of the key (both tones) over power of the noise = snr. sox's white noise is uniform
    // in ±vol, so its RMS is vol/√3.
    let key_rms = ((a_low * a_low + a_high * a_high) / 2.0).sqrt();
    let vol = 3f64.sqrt() * key_rms / 10f64.powf(snr / 20.0);
    let noise = dir.join(format!("{name}-noise.wav"));
    sox(&[
        "-D",
        "-n",
        "-r",
        "8000",
        "-c",
        "1",
        "-b",
        "16",
        s(&noise),
        "synth",
        &format!("{:.4}", wav_seconds(&run)),
        "whitenoise",
        "vol",
        &format!("{vol:.6}"),
    ]);
    let noisy = dir.join(format!("{name}-noisy.wav"));
    sox(&[
        "-D",
        "-m",
        "-v",
        "1",
        s(&run),
        "-v",
        "1",
        s(&noise),
        s(&noisy),
    ]);
    noisy
}

/// Writes the caller's audio to `dir/seq.wav`; returns it with the keys the gateway must report
/// and the share of them multimon-ng reports.
fn build_sequence(dir: &Path) -> (PathBuf, String, String) {
    let (mut expected, mut multimon) = (String::new(), String::new());
    let mut parts = Vec::new();
    for (i, piece) in sequence().iter().enumerate() {
        let name = format!("p{i:02}");
        match piece {
            Piece::Silence(sec) => {
                let p = dir.join(format!("{name}.wav"));
                silence(&p, *sec);
                parts.push(p);
            }
            Piece::Speech(rel) => {
                let p = dir.join(format!("{name}.wav"));
                speech(&p, rel);
                parts.push(p);
            }
            Piece::Keys(k) => {
                parts.push(key_run(dir, &name, k));
                println!(
                    "  {:<55} {:<17} {}",
                    k.what,
                    k.keys,
                    if k.detect {
                        ""
                    } else {
                        "(must not be reported)"
                    }
                );
                if k.detect {
                    expected.push_str(k.keys);
                }
                if k.multimon {
                    multimon.push_str(k.keys);
                }
            }
        }
    }
    let seq = dir.join("seq.wav");
    let mut args: Vec<&str> = parts.iter().map(|p| s(p)).collect();
    args.push(s(&seq));
    sox(&args);
    (seq, expected, multimon)
}

/// Starts a gateway on the keys dialplan, plays `wav` to it with our caller offering only
/// `codec`, and returns the ended call (with events) and the gateway.
fn call_with(wav: &Path, codec: &str) -> (Gateway, serde_json::Value) {
    let plans = tempfile::tempdir().unwrap();
    std::fs::write(plans.path().join("keys.toml"), KEYS_DIALPLAN).unwrap();
    let gw = Gateway::start_with_default_dialplan(plans.path(), "keys", "");
    let seconds = wav_seconds(wav).ceil() as u64 + 2;
    let out = gw.cli(&[
        "call",
        &format!("sip:100@{}", gw.addr),
        "--play",
        s(wav),
        "--duration",
        &seconds.to_string(),
        "--codecs",
        codec,
    ]);
    println!("caller: {}", out.trim());
    gw.wait_for_ended_calls(1, Duration::from_secs(15));
    let call = gw.call("last");
    let answered = events_of(&call, "answered");
    assert_eq!(
        answered.len(),
        1,
        "events: {:?}\n{}",
        kinds(&call),
        gw.log()
    );
    assert_eq!(
        answered[0]["data"]["codec"], codec,
        "the call ran on the codec offered"
    );
    assert_eq!(call["call"]["dialplan"], "keys", "{:#}", call["call"]);
    (gw, call)
}

fn keys_through_gateway(codec: &str) {
    let started = Instant::now();
    require_tool("multimon-ng", "multimon-ng");
    let dir = tempfile::tempdir().unwrap();
    println!("key runs in the caller's audio:");
    let (seq, expected, multimon_share) = build_sequence(dir.path());
    println!(
        "audio: {:.1} s; keys to report: {expected}",
        wav_seconds(&seq)
    );

    // The reference decoder reads the file we send: it must find the keys we put in (its share).
    let reference = multimon_dtmf(&seq);
    println!("multimon-ng, sent file:      {reference}");

    let (_gw, call) = call_with(&seq, codec);
    let inband = dtmf_digits(&call, Some("inband"));
    let all = dtmf_digits(&call, None);
    println!("gateway in-band keys ({codec}): {inband}");
    println!("expected:                    {expected}");

    // What the gateway heard, as recorded: multimon-ng on its caller channel.
    let recording = PathBuf::from(
        call["call"]["recording_path"]
            .as_str()
            .expect("a recording"),
    );
    let (rate, caller) = wav_channel(&recording, 0);
    let caller_wav = dir.path().join("recorded-caller.wav");
    let mut w = hound::WavWriter::create(
        &caller_wav,
        hound::WavSpec {
            channels: 1,
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        },
    )
    .unwrap();
    caller.iter().for_each(|&x| w.write_sample(x).unwrap());
    w.finalize().unwrap();
    let reference_recorded = multimon_dtmf(&caller_wav);
    println!("multimon-ng, recording:      {reference_recorded}");

    assert_eq!(
        reference, multimon_share,
        "multimon-ng should find its share of the keys in the file we send (else the test signal is wrong)"
    );
    assert_eq!(
        inband, expected,
        "the gateway's in-band detector over {codec} should report exactly the keys pressed: \
         none missing, none extra from speech or noise, none for the ±3.5 % tones"
    );
    assert_eq!(
        all, expected,
        "no key should arrive any other way than in-band"
    );
    let collected: Vec<String> = events_of(&call, "digits_collected")
        .iter()
        .map(|e| e["data"]["digits"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        collected.first().map(String::as_str),
        Some(&expected[..20]),
        "the dialplan's collect node should receive the in-band keys as input (first 20); all collected: {collected:?}"
    );
    assert_eq!(
        reference_recorded, multimon_share,
        "the caller side of the recording should carry the keys as multimon-ng finds them in the sent file"
    );
    println!("{codec} run took {:.1} s", started.elapsed().as_secs_f64());
}

#[test]
fn inband_keys_over_pcmu() {
    keys_through_gateway("PCMU");
}

#[test]
fn inband_keys_over_pcma() {
    keys_through_gateway("PCMA");
}

/// Talk-off: all the real speech there is (librivox and cards, about 34 s), at the loudest level
/// G.711 carries, must not produce a single key.
#[test]
fn speech_alone_produces_no_keys() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let mut parts = Vec::new();
    for (i, file) in all_speech_files().iter().enumerate() {
        let p = dir.path().join(format!("s{i:02}.wav"));
        sox(&[
            s(file),
            "-r",
            "8000",
            "-c",
            "1",
            "-b",
            "16",
            s(&p),
            "gain",
            "-n",
            "-3",
        ]);
        parts.push(p);
    }
    let speech_wav = dir.path().join("speech.wav");
    let mut args: Vec<&str> = parts.iter().map(|p| s(p)).collect();
    args.push(s(&speech_wav));
    sox(&args);
    let seconds = wav_seconds(&speech_wav);
    println!(
        "speech: {} files, {seconds:.1} s; multimon-ng finds {:?} in it",
        parts.len(),
        multimon_dtmf(&speech_wav)
    );

    let (gw, call) = call_with(&speech_wav, "PCMU");
    // The speech did reach the gateway: the caller side of the recording holds it.
    let (sent_rate, sent) = wav_channel(&speech_wav, 0);
    let recording = PathBuf::from(
        call["call"]["recording_path"]
            .as_str()
            .expect("a recording"),
    );
    let (rate, caller) = wav_channel(&recording, 0);
    let (sent_active, heard_active) = (
        active_seconds(sent_rate, &sent, 300.0),
        active_seconds(rate, &caller, 300.0),
    );
    println!("speech active: sent {sent_active:.1} s, recorded caller side {heard_active:.1} s");
    assert!(
        heard_active > 0.8 * sent_active,
        "the caller side of the recording should hold the {sent_active:.1} s of speech sent, has {heard_active:.1} s:\n{}",
        gw.log()
    );
    let dtmf = events_of(&call, "dtmf");
    assert!(
        dtmf.is_empty(),
        "speech alone must not produce keys (talk-off), but the gateway reported {:?}: {dtmf:#?}",
        dtmf_digits(&call, None)
    );
    println!("talk-off run took {:.1} s", started.elapsed().as_secs_f64());
}
