//! External audio tools and data the media tests use (sox, multimon-ng, the real recorded speech
//! of pocketsphinx-testdata) and readers for what a call left behind: its keys, its events while
//! it runs, and the loudness envelope of a recording. A missing tool fails the test with a
//! message; it never passes silently.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::{Gateway, binary, have};

/// Where Debian's `pocketsphinx-testdata` puts its recordings.
pub const SPEECH_DATA: &str = "/usr/share/pocketsphinx/test/data";

/// Fails the test unless `cmd` is on PATH.
pub fn require_tool(cmd: &str, package: &str) {
    assert!(
        have(cmd),
        "`{cmd}` is not installed (Debian package {package}): `make test` installs it"
    );
}

/// A file of pocketsphinx-testdata, e.g. `librivox/sense_and_sensibility_01_austen_64kb-0870.wav`.
pub fn speech_file(relative: &str) -> PathBuf {
    let path = Path::new(SPEECH_DATA).join(relative);
    assert!(
        path.exists(),
        "{} is missing (Debian package pocketsphinx-testdata): `make test` installs it",
        path.display()
    );
    path
}

/// Every real speech recording: `librivox/*.wav` then `cards/*.wav`, sorted (about 34 s).
pub fn all_speech_files() -> Vec<PathBuf> {
    let mut all = Vec::new();
    for folder in ["librivox", "cards"] {
        let dir = speech_file(folder);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "wav"))
            .collect();
        files.sort();
        assert!(!files.is_empty(), "no WAV files in {}", dir.display());
        all.extend(files);
    }
    all
}

/// Runs `sox -R ARGS…` (repeatable: fixed seed for noise and dither) and panics on failure.
pub fn sox<S: AsRef<OsStr>>(args: &[S]) {
    require_tool("sox", "sox");
    let out = Command::new("sox").arg("-R").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "sox {:?} failed: {}",
        args.iter()
            .map(|a| a.as_ref().to_string_lossy())
            .collect::<Vec<_>>(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Length of a WAV file in seconds.
pub fn wav_seconds(path: &Path) -> f64 {
    let r = hound::WavReader::open(path)
        .unwrap_or_else(|e| panic!("{} is not a valid WAV: {e}", path.display()));
    f64::from(r.duration()) / f64::from(r.spec().sample_rate)
}

/// The keys multimon-ng (an independent DTMF decoder) finds in a WAV file, in order.
pub fn multimon_dtmf(path: &Path) -> String {
    require_tool("multimon-ng", "multimon-ng");
    let out = Command::new("multimon-ng")
        .args(["-t", "wav", "-c", "-a", "DTMF"])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "multimon-ng on {} failed: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("DTMF: "))
        .map(str::trim)
        .collect()
}

/// The keys of a call's `dtmf` events, in order; only those detected `via` the given way
/// (`rfc4733`, `inband`, `info`) unless `None`.
pub fn dtmf_digits(call: &serde_json::Value, via: Option<&str>) -> String {
    crate::events_of(call, "dtmf")
        .iter()
        .filter(|e| via.is_none_or(|v| e["data"]["via"] == v))
        .map(|e| e["data"]["digit"].as_str().unwrap_or("?"))
        .collect()
}

/// `calls show ID --json`, or `None` while there is no such call yet.
pub fn try_call(gw: &Gateway, id: &str) -> Option<serde_json::Value> {
    let out = Command::new(binary())
        .arg("--config")
        .arg(gw.config())
        .args(["calls", "show", id, "--json"])
        .output()
        .unwrap();
    if !out.status.success() {
        return None;
    }
    serde_json::from_slice(&out.stdout).ok()
}

/// Waits until call `id` (or "last") has an event of `kind` whose data satisfies `test`, and
/// returns the call; panics with the call so far and the gateway log after `timeout`.
pub fn wait_for_event(
    gw: &Gateway,
    id: &str,
    kind: &str,
    test: impl Fn(&serde_json::Value) -> bool,
    timeout: Duration,
) -> serde_json::Value {
    let deadline = Instant::now() + timeout;
    loop {
        let call = try_call(gw, id);
        if let Some(call) = &call
            && crate::events_of(call, kind)
                .iter()
                .any(|e| test(&e["data"]))
        {
            return call.clone();
        }
        if Instant::now() > deadline {
            panic!(
                "no `{kind}` event as expected in call {id} after {timeout:?}; the call so far: {call:#?}\ngateway log:\n{}",
                gw.log()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Loudness envelope: the level of each 20 ms frame in dB (RMS on the i16 scale), floored at
/// 20 dB (RMS 10), so that silence and dither all read the same.
pub fn envelope_db(rate: u32, samples: &[i16]) -> Vec<f64> {
    let frame = (rate / 50) as usize;
    samples
        .chunks(frame)
        .map(|c| {
            let power = c.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / c.len() as f64;
            (10.0 * power.max(1e-9).log10()).max(20.0)
        })
        .collect()
}

/// The best Pearson correlation between envelope `sent` and envelope `heard` delayed by 0 to
/// `max_lag` frames, with that lag: how well what arrived follows what was sent.
pub fn best_envelope_match(sent: &[f64], heard: &[f64], max_lag: usize) -> (f64, usize) {
    let mut best = (f64::MIN, 0);
    for lag in 0..=max_lag.min(heard.len().saturating_sub(1)) {
        let n = sent.len().min(heard.len() - lag);
        if n < 10 {
            break;
        }
        let (a, b) = (&sent[..n], &heard[lag..lag + n]);
        let (ma, mb) = (
            a.iter().sum::<f64>() / n as f64,
            b.iter().sum::<f64>() / n as f64,
        );
        let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
        let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
        let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
        let r = if va > 0.0 && vb > 0.0 {
            cov / (va * vb).sqrt()
        } else {
            0.0
        };
        if r > best.0 {
            best = (r, lag);
        }
    }
    best
}
