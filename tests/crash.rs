//! `kill -9` of the gateway in the middle of a call: what was logged stays logged, the recording
//! stays a valid WAV, and after a restart the call is closed as `interrupted` and new calls work.

use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use switchboard_e2e::{Gateway, events_of, kinds, output_text};

/// Kills the background caller however the test ends.
struct Caller(Child);

impl Drop for Caller {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// (seq, kind, data) of every event, to compare before and after the kill.
fn event_keys(call: &serde_json::Value) -> Vec<(i64, String, String)> {
    call["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["seq"].as_i64().unwrap_or(-1),
                e["kind"].as_str().unwrap_or_default().to_string(),
                e["data"].to_string(),
            )
        })
        .collect()
}

fn wav_seconds(path: &Path) -> f64 {
    let r = hound::WavReader::open(path)
        .unwrap_or_else(|e| panic!("{} is not a valid WAV: {e}", path.display()));
    let spec = r.spec();
    assert_eq!(spec.channels, 2, "stereo: caller and gateway");
    assert_eq!(spec.bits_per_sample, 16);
    r.duration() as f64 / f64::from(spec.sample_rate)
}

#[test]
fn kill9_mid_call_keeps_the_log_and_a_valid_recording() {
    let mut gw = Gateway::start("");
    let caller = gw
        .caller(&[
            "--dtmf",
            "1",
            "--duration",
            "20",
            "--from",
            "sip:crash-victim@127.0.0.1",
        ])
        .spawn()
        .unwrap();
    let mut caller = Caller(caller);

    // Wait until the call went through the main menu (key 1 at ~3 s after answer).
    let before = gw.wait_for_call("crash-victim", Duration::from_secs(15), |c| {
        !events_of(c, "menu_option").is_empty()
    });
    // Let another couple of recording blocks (one per second of audio) reach the file.
    std::thread::sleep(Duration::from_millis(2000));
    let before = gw.call(before["call"]["id"].as_str().unwrap());
    let id = before["call"]["id"].as_str().unwrap().to_string();
    assert!(
        before["call"]["outcome"].is_null(),
        "the call is still running: {before:#}"
    );
    let answered_at = before["call"]["answered_at"]
        .as_str()
        .expect("answered")
        .to_string();
    let recording = before["call"]["recording_path"]
        .as_str()
        .expect("the call is being recorded")
        .to_string();
    let seen = event_keys(&before);
    eprintln!("events before the kill: {:?}", kinds(&before));

    let killed_at = Instant::now();
    gw.kill9();
    let kill_wall = std::time::SystemTime::now();
    assert!(
        caller.0.try_wait().unwrap().is_none(),
        "the caller still thinks it is in the call"
    );

    // Without a running gateway, the CLI reads the store directly: nothing logged is lost.
    let after_kill = gw.call(&id);
    let kept = event_keys(&after_kill);
    for e in &seen {
        assert!(
            kept.contains(e),
            "event {e:?} seen before the kill is gone: {after_kill:#}"
        );
    }
    assert!(after_kill["call"]["outcome"].is_null(), "{after_kill:#}");

    // The recording is a valid WAV up to its last header update (about once per second).
    let talk = answered_seconds_before(&answered_at, kill_wall);
    let seconds = wav_seconds(Path::new(&recording));
    eprintln!("killed {talk:.2} s after answer; the WAV holds {seconds:.2} s");
    assert!(
        seconds >= talk - 1.5,
        "the WAV holds {seconds:.2} s but the call ran {talk:.2} s before the kill \
         (headers are updated about every second)"
    );
    assert!(
        seconds <= talk + 0.5,
        "{seconds:.2} s recorded in {talk:.2} s?"
    );
    assert!(
        seconds >= 4.0,
        "the menu and the key press are in the recording: {seconds:.2} s"
    );

    // Restart on the same directory: the open call is closed as interrupted.
    gw.spawn();
    eprintln!(
        "restarted {:.1} s after the kill",
        killed_at.elapsed().as_secs_f64()
    );
    let after = gw.call(&id);
    assert_eq!(after["call"]["outcome"], "interrupted", "{after:#}");
    assert!(after["call"]["ended_at"].is_string(), "{after:#}");
    let kept = event_keys(&after);
    for e in &seen {
        assert!(
            kept.contains(e),
            "event {e:?} lost after the restart: {after:#}"
        );
    }
    let repaired = wav_seconds(Path::new(&recording));
    eprintln!("after the restart the WAV holds {repaired:.2} s");
    assert!(
        repaired >= seconds,
        "the repaired WAV ({repaired:.2} s) keeps at least what was readable ({seconds:.2} s)"
    );

    // A new call works on the restarted gateway.
    let out = gw.place_call(&[
        "--dtmf",
        "1",
        "--duration",
        "6",
        "--from",
        "sip:after-crash@127.0.0.1",
    ]);
    assert!(out.status.success(), "{}\n{}", output_text(&out), gw.log());
    let call = gw.wait_for_call("after-crash", Duration::from_secs(10), |c| {
        !c["call"]["outcome"].is_null()
    });
    assert_eq!(call["call"]["outcome"], "caller_hangup", "{call:#}");
    let options = events_of(&call, "menu_option");
    assert_eq!(options.len(), 1, "{call:#}");
    assert_eq!(options[0]["data"]["key"], "1", "{call:#}");

    let _ = caller.0.kill();
}

/// Seconds from `answered_at` (RFC 3339 from the call record) to `until`.
fn answered_seconds_before(answered_at: &str, until: std::time::SystemTime) -> f64 {
    let answered = parse_rfc3339_utc(answered_at);
    until
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        - answered
}

/// `2026-11-21T21:13:17.760Z` → seconds since the epoch (UTC only, as the store writes it).
fn parse_rfc3339_utc(s: &str) -> f64 {
    let s = s.trim_end_matches('Z');
    let (date, time) = s.split_once('T').expect("RFC 3339 date-time");
    let d: Vec<i64> = date.split('-').map(|x| x.parse().unwrap()).collect();
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let t: Vec<i64> = hms.split(':').map(|x| x.parse().unwrap()).collect();
    let frac: f64 = format!("0.{frac}").parse().unwrap();
    // Days from the civil date (Howard Hinnant's algorithm).
    let (y, m, day) = (if d[1] <= 2 { d[0] - 1 } else { d[0] }, d[1], d[2]);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    (days * 86_400 + t[0] * 3600 + t[1] * 60 + t[2]) as f64 + frac
}
