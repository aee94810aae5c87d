//! Helpers shared by the end-to-end tests: build-once binary path, a gateway on free ports with
//! its own store and recordings, and reading what a call left behind.

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A client of the REST API with one set of credentials, and the JSON error check.
pub mod api_client;
/// baresip as a caller with a real voice file, and as a registered agent phone.
pub mod baresip;
pub mod demo_shop;
/// A small HTTP/1.1 client for the gateway's REST API.
pub mod http;
/// The gateway's `/metrics` as a scraper reads it.
pub mod prometheus;
pub mod raw_sip;
/// A caller that sends and times RTP from the test process (barge-in latency).
pub mod rtp_caller;
pub mod sipp;
/// sox, multimon-ng, pocketsphinx speech data, call events while a call runs, envelopes.
pub mod tools;
mod waiting;
pub use waiting::{free_udp_ports, output_text};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(&*std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The `switchboard` binary cargo built for these tests.
pub fn binary() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target"));
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let path = target.join(profile).join("switchboard");
    assert!(
        path.exists(),
        "{} is missing: run `cargo build -p switchboard` first (make test does)",
        path.display()
    );
    path
}

/// A UDP+TCP port pair that is free right now.
pub fn free_port() -> u16 {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A running `switchboard serve` with a private directory.
pub struct Gateway {
    /// The process.
    pub child: Option<Child>,
    /// SIP address (UDP and TCP).
    pub addr: SocketAddr,
    /// Web server address (REST API, live events).
    pub web: SocketAddr,
    /// Private directory: config, database, recordings, log.
    pub dir: tempfile::TempDir,
}

impl Gateway {
    /// Starts a gateway with the example dialplans, the keypad one by default, and `extra`
    /// appended to its config.
    pub fn start(extra: &str) -> Gateway {
        Self::start_with_dialplans(&repo().join("dialplans"), extra)
    }

    /// Starts a gateway serving the dialplans in `dialplans`, `keypad` by default.
    pub fn start_with_dialplans(dialplans: &Path, extra: &str) -> Gateway {
        Self::start_with_default_dialplan(dialplans, "keypad", extra)
    }

    /// Starts a gateway serving the dialplans in `dialplans`, with `default` (a file stem there)
    /// for every dialled number. Speech models are not loaded unless `extra` has a `[speech]`
    /// section: telephony tests don't need them. The web server listens on a free port.
    /// Without `[[queue]]` tables in `extra`, the `support` queue the example dialplans name
    /// is configured, with no agents.
    pub fn start_with_default_dialplan(dialplans: &Path, default: &str, extra: &str) -> Gateway {
        let speech_off = if extra.contains("[speech]") {
            ""
        } else {
            "\n[speech]\nenabled = false\n"
        };
        let queues = if extra.contains("[[queue]]") {
            ""
        } else {
            "\n[[queue]]\nname = \"support\"\nmax_wait_secs = 30\noverflow = \"node:agents_busy\"\n"
        };
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let web: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let rtp = 20_000 + (port % 2000) * 10;
        let config = format!(
            "[sip]\nlisten = \"127.0.0.1:{port}\"\n\n[web]\nlisten = \"{web}\"\n\n[media]\nrtp_ports = [{rtp}, {}]\n\n[dialplans]\ndir = \"{}\"\nsounds_dir = \"{}\"\ndefault = \"{default}\"\n\n[store]\nurl = \"sqlite:{}\"\n\n[recordings]\ndir = \"{}\"\n{speech_off}{extra}{queues}",
            rtp + 4000,
            dialplans.display(),
            repo().join("sounds").display(),
            dir.path().join("switchboard.db").display(),
            dir.path().join("recordings").display(),
        );
        std::fs::write(dir.path().join("switchboard.toml"), config).unwrap();
        let mut gw = Gateway {
            child: None,
            addr: format!("127.0.0.1:{port}").parse().unwrap(),
            web,
            dir,
        };
        gw.spawn();
        gw
    }

    /// (Re)starts the process on the same directory and waits until SIP answers.
    pub fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("gateway.log"))
            .unwrap();
        let child = Command::new(binary())
            .arg("--config")
            .arg(self.config())
            .arg("serve")
            .env("RUST_LOG", "info")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        self.wait_ready();
    }

    /// The config file path.
    pub fn config(&self) -> PathBuf {
        self.dir.path().join("switchboard.toml")
    }

    /// Everything the gateway logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("gateway.log")).unwrap_or_default()
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if self.options_ok() {
                return;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("gateway exited with {status}:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "gateway did not answer OPTIONS within 20 s:\n{}",
            self.log()
        );
    }

    /// Sends an OPTIONS over UDP and returns true on a 200.
    pub fn options_ok(&self) -> bool {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let local = sock.local_addr().unwrap();
        let msg = format!(
            "OPTIONS sip:{a} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK{n}\r\nFrom: <sip:probe@{local}>;tag=1\r\nTo: <sip:{a}>\r\nCall-ID: probe{n}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
            a = self.addr,
            n = std::process::id() as u128 * 1000 + Instant::now().elapsed().as_nanos()
        );
        sock.send_to(msg.as_bytes(), self.addr).unwrap();
        let mut buf = [0u8; 2048];
        matches!(sock.recv_from(&mut buf), Ok((n, _)) if buf[..n].starts_with(b"SIP/2.0 200"))
    }

    /// Runs `switchboard ARGS… --config <ours>` and returns stdout (panics on failure).
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new(binary())
            .arg("--config")
            .arg(self.config())
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "switchboard {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Every call, newest first, as JSON.
    pub fn calls(&self) -> Vec<serde_json::Value> {
        serde_json::from_str(&self.cli(&["calls", "list", "--json", "-n", "1000"])).unwrap()
    }

    /// One call with its events: `{"call": {…}, "events": [{kind, data, …}]}`.
    pub fn call(&self, id: &str) -> serde_json::Value {
        serde_json::from_str(&self.cli(&["calls", "show", id, "--json"])).unwrap()
    }

    /// Waits until `n` calls have ended (outcome set), or panics after `timeout`.
    pub fn wait_for_ended_calls(&self, n: usize, timeout: Duration) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let calls = self.calls();
            let ended = calls.iter().filter(|c| !c["outcome"].is_null()).count();
            if ended >= n {
                return calls;
            }
            if Instant::now() > deadline {
                panic!(
                    "{ended} of {n} calls ended after {timeout:?}: {calls:#?}\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Kills the process with SIGKILL.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Event kinds of a call, in order.
pub fn kinds(call: &serde_json::Value) -> Vec<String> {
    call["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}

/// The events of one kind.
pub fn events_of<'a>(call: &'a serde_json::Value, kind: &str) -> Vec<&'a serde_json::Value> {
    call["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .collect()
}

/// Reads one channel of a stereo WAV (0 = left/caller, 1 = right/gateway).
pub fn wav_channel(path: &Path, channel: usize) -> (u32, Vec<i16>) {
    let mut r = hound::WavReader::open(path)
        .unwrap_or_else(|e| panic!("{} is not a valid WAV: {e}", path.display()));
    let spec = r.spec();
    let samples: Vec<i16> = r.samples::<i16>().map(|s| s.unwrap()).collect();
    let ch = spec.channels as usize;
    (
        spec.sample_rate,
        samples.chunks(ch).map(|f| f[channel.min(ch - 1)]).collect(),
    )
}

/// Seconds of audio whose 20 ms RMS is above `threshold` (not silence).
pub fn active_seconds(rate: u32, samples: &[i16], threshold: f64) -> f64 {
    let frame = (rate / 50) as usize;
    let active = samples
        .chunks(frame)
        .filter(|c| {
            let e: f64 =
                c.iter().map(|&s| f64::from(s) * f64::from(s)).sum::<f64>() / c.len() as f64;
            e.sqrt() > threshold
        })
        .count();
    active as f64 * 0.02
}

/// True when a command exists on PATH.
pub fn have(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

static ONE_SPEECH_TEST_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Speech tests share two CPU cores with the models: hold this so no two time calls at once.
pub fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_SPEECH_TEST_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The `[speech]` section that switches speech on with the models `models/fetch.sh` made; the
/// synthesis cache goes into the gateway's own directory (relative paths are resolved there).
pub fn speech_config() -> String {
    let models = repo().join("models");
    let files = [
        ("whisper_model", models.join("ggml-tiny.en.bin")),
        ("piper_voice", models.join("piper/en_US-joe-medium.onnx")),
        ("onnxruntime", models.join("onnxruntime/libonnxruntime.so")),
        (
            "sentiment_lexicon",
            models.join("lexicon/vader_lexicon.txt"),
        ),
    ];
    let mut section = String::from("\n[speech]\nenabled = true\ntts_cache_dir = \"tts-cache\"\n");
    for (key, path) in files {
        assert!(
            path.exists(),
            "{} is missing: run models/fetch.sh (make test does)",
            path.display()
        );
        section.push_str(&format!("{key} = \"{}\"\n", path.display()));
    }
    section
}
