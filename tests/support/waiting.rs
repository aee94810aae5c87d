//! More helpers on [`Gateway`]: placing calls with our own caller, finding a call by who made
//! it, and waiting until its timeline shows something.

use std::net::UdpSocket;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::{Gateway, binary};

impl Gateway {
    /// True while the gateway process runs.
    pub fn alive(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().unwrap().is_none())
    }

    /// `sip:100@<gateway>`: the number the example dialplan answers.
    pub fn uri(&self) -> String {
        format!("sip:100@{}", self.addr)
    }

    /// A `switchboard call <uri> ARGS…` command, not yet started (stdout/stderr piped).
    pub fn caller(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(binary());
        cmd.arg("--config")
            .arg(self.config())
            .arg("call")
            .arg(self.uri())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// Runs `switchboard call <uri> ARGS…` to its end.
    pub fn place_call(&self, args: &[&str]) -> Output {
        self.caller(args).output().unwrap()
    }

    /// Calls whose From contains `from`, newest first.
    pub fn calls_from(&self, from: &str) -> Vec<serde_json::Value> {
        serde_json::from_str(&self.cli(&["calls", "list", "--json", "-n", "1000", "--from", from]))
            .unwrap()
    }

    /// Polls the newest call whose From contains `from` until `done(call with events)` holds;
    /// returns it, or panics after `timeout` with what was there.
    pub fn wait_for_call(
        &self,
        from: &str,
        timeout: Duration,
        done: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = Instant::now() + timeout;
        let mut last = serde_json::Value::Null;
        loop {
            if let Some(c) = self.calls_from(from).first() {
                last = self.call(c["id"].as_str().unwrap());
                if done(&last) {
                    return last;
                }
            }
            if Instant::now() > deadline {
                panic!(
                    "the call from {from:?} did not get there within {timeout:?}: {last:#}\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The first of `n` consecutive UDP ports that are all free on every address right now
/// (for peers such as SIPp that bind a block of RTP ports from a base).
pub fn free_udp_ports(n: u16) -> u16 {
    loop {
        let probe = UdpSocket::bind("0.0.0.0:0").unwrap();
        let base = probe.local_addr().unwrap().port() & !1;
        drop(probe);
        if base.checked_add(n).is_none() {
            continue;
        }
        let held: Vec<_> = (base..base + n)
            .map_while(|p| UdpSocket::bind(("0.0.0.0", p)).ok())
            .collect();
        if held.len() == usize::from(n) {
            return base;
        }
    }
}

/// What a finished command printed, for failure messages.
pub fn output_text(out: &Output) -> String {
    format!(
        "status {}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
