//! SIPp, an independent SIP implementation, as a caller: a folder with its pcaps, a run against
//! a gateway on free ports, and a check that every call succeeded.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use crate::{Gateway, free_port, free_udp_ports, have, output_text};

/// A folder to run SIPp in: `pcap` links to the pcaps the `uac_pcap` scenario plays by
/// relative path; SIPp's error and statistics files land here too.
pub fn sipp_dir() -> tempfile::TempDir {
    assert!(
        have("sipp"),
        "sipp is not installed (package sip-tester; `make deps` installs it)"
    );
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("/usr/share/sip-tester", dir.path().join("pcap")).unwrap();
    assert!(
        dir.path().join("pcap/g711a.pcap").exists(),
        "/usr/share/sip-tester/g711a.pcap is missing (package sip-tester)"
    );
    dir
}

/// Runs SIPp in the foreground against the gateway (it exits when `-m` calls are done) on its
/// own free SIP and media ports. Returns its output.
pub fn sipp(dir: &Path, gw: &Gateway, args: &[&str]) -> Output {
    let sip_port = free_port().to_string();
    let media_port = free_udp_ports(8).to_string();
    let started = Instant::now();
    let out = Command::new("sipp")
        .current_dir(dir)
        .arg(gw.addr.to_string())
        .args([
            "-s",
            "100",
            "-i",
            "127.0.0.1",
            "-p",
            &sip_port,
            "-mp",
            &media_port,
        ])
        .args(["-nostdin", "-trace_err", "-timeout", "50", "-timeout_error"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("running sipp");
    eprintln!(
        "sipp {args:?}: {:.1} s, {}",
        started.elapsed().as_secs_f64(),
        out.status
    );
    out
}

/// Everything SIPp left in its folder (error log, …), for failure messages.
pub fn sipp_files(dir: &Path) -> String {
    let mut text = String::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|x| x == "log") {
            text += &format!(
                "--- {}\n{}\n",
                path.display(),
                std::fs::read_to_string(&path).unwrap_or_default()
            );
        }
    }
    text
}

/// Fails unless SIPp exited 0 (every call succeeded), with its files and the gateway log.
pub fn assert_sipp_ok(out: &Output, dir: &Path, gw: &Gateway) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "SIPp reports failed calls (exit 0 = every call succeeded):\n{}\n{}\n--- gateway.log\n{}",
        output_text(out),
        sipp_files(dir),
        gw.log()
    );
}
