//! Dialplans as an administrator meets them: `dialplan check`, and editing a dialplan under a
//! running gateway (a broken edit keeps the old version running and the log says why).

use std::process::Command;
use std::time::{Duration, Instant};

use switchboard_e2e::{Gateway, binary, events_of, repo};

#[test]
fn dialplan_check_names_file_line_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.toml");
    let text = std::fs::read_to_string(repo().join("dialplans/hotline.toml")).unwrap();
    let line = text
        .lines()
        .position(|l| l.contains("\"billing\""))
        .expect("hotline routes a key to billing")
        + 1;
    std::fs::write(&broken, text.replacen("\"billing\"", "\"billng\"", 1)).unwrap();
    let out = Command::new(binary())
        .arg("--config")
        .arg(repo().join("switchboard.toml"))
        .args(["dialplan", "check"])
        .arg(&broken)
        .arg(repo().join("dialplans/hotline.toml"))
        .arg("--sounds")
        .arg(repo().join("sounds"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!("{}:{line}:", broken.display())),
        "expected {}:{line}: in {stdout}",
        broken.display()
    );
    assert!(stdout.contains("billng"), "{stdout}");
    assert!(stdout.contains("hotline.toml: ok"), "{stdout}");
}

#[test]
fn dialplan_check_rejects_a_queue_the_config_does_not_define() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("switchboard.toml");
    std::fs::write(
        &config,
        "[[queue]]\nname = \"billing\"\nskills = [\"billing\"]\n",
    )
    .unwrap();
    let plan = repo().join("dialplans/hotline.toml");
    let text = std::fs::read_to_string(&plan).unwrap();
    let line = text
        .lines()
        .position(|l| l.trim_start().starts_with("name = \"support\""))
        .expect("hotline queues callers in support")
        + 1;
    let out = Command::new(binary())
        .arg("--config")
        .arg(&config)
        .args(["dialplan", "check"])
        .arg(&plan)
        .arg("--sounds")
        .arg(repo().join("sounds"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!("hotline.toml:{line}:"))
            && stdout.contains("unknown queue `support`"),
        "expected hotline.toml:{line}: unknown queue `support` in {stdout}"
    );
}

#[test]
fn a_broken_edit_keeps_the_old_dialplan_running() {
    let plans = tempfile::tempdir().unwrap();
    let file = plans.path().join("keypad.toml");
    let good = std::fs::read_to_string(repo().join("dialplans/keypad.toml")).unwrap();
    std::fs::write(&file, &good).unwrap();
    let gw = Gateway::start_with_dialplans(plans.path(), "");

    std::fs::write(&file, good.replacen("start = ", "start_node = ", 1)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !gw.log().contains("dialplan rejected") {
        assert!(
            Instant::now() < deadline,
            "no rejection logged:\n{}",
            gw.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let log = gw.log();
    assert!(
        log.contains("keypad.toml:"),
        "the log names the file and line:\n{log}"
    );
    assert!(log.contains("keeping the previous version"), "{log}");

    // Calls still run the previous, valid version.
    let out = Command::new(binary())
        .arg("call")
        .arg(format!("sip:100@{}", gw.addr))
        .args(["--dtmf", "1", "--dtmf-delay", "3.5", "--duration", "6"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let calls = gw.wait_for_ended_calls(1, Duration::from_secs(10));
    let call = gw.call(calls[0]["id"].as_str().unwrap());
    let options = events_of(&call, "menu_option");
    assert_eq!(options.len(), 1, "{call:#}");
    assert_eq!(options[0]["data"]["key"], "1");

    // Fixing the file loads it.
    std::fs::write(&file, format!("{good}\n# edited by the administrator\n")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !gw.log().contains("dialplan reloaded") {
        assert!(Instant::now() < deadline, "no reload logged:\n{}", gw.log());
        std::thread::sleep(Duration::from_millis(200));
    }
}
