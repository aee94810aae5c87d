//! The shipped keys-only example, dialplans/keypad.toml, against the real prompts in sounds/.

#[path = "support/call.rs"]
mod call;

use std::path::{Path, PathBuf};
use std::time::Duration;

use call::{Call, nodes, utc};
use chrono::{DateTime, TimeDelta, Utc};
use sb_dialog::Dialplan;

fn root() -> PathBuf {
    Path::new(&*std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo")).join("../..")
}

fn keypad() -> Dialplan {
    let root = root();
    Dialplan::load(&root.join("dialplans/keypad.toml"), &root.join("sounds"))
        .unwrap_or_else(|e| panic!("keypad.toml does not load:\n{e}"))
}

/// A keypad call at `wall`, greeted and waiting in the main menu.
fn in_main_menu(wall: DateTime<Utc>) -> Call {
    let mut call = Call::new(keypad(), &[("caller", "+4930123456")], wall);
    assert_eq!(call.start(), ["> greeting", "play welcome"]);
    assert_eq!(call.played(), ["> main_menu", "play main_menu"]);
    assert!(call.played().is_empty());
    assert_eq!(call.dialplan.current_node(), "main_menu");
    call
}

#[test]
fn validates() {
    let plan = keypad();
    assert_eq!(plan.name(), "keypad");
    assert_eq!(plan.start(), "greeting");
    assert_eq!(
        plan.node_names().collect::<Vec<_>>(),
        [
            "agent",
            "agents_busy",
            "billing",
            "book_callback",
            "callback_booked",
            "callback_invalid",
            "goodbye",
            "goodbye_after_agent",
            "greeting",
            "leave_number",
            "main_menu",
            "order_lookup",
            "order_number",
            "transfer"
        ]
    );
}

#[test]
fn order_status_billing_and_closed_agents_lead_back_to_the_menu() {
    // Saturday 11:00 in Berlin: agents are off.
    let mut call = in_main_menu(utc("2026-05-16T09:00:00Z"));
    let mut walked = Vec::new();
    let mut step = |log: Vec<String>| {
        walked.extend(nodes(&log).into_iter().map(String::from));
        log
    };

    step(call.press("1"));
    step(call.played());
    let log = step(call.press("2456#"));
    assert!(
        log.contains(
            &r#"digits_collected {"digits":"2456","node":"order_number","var":"order_number"}"#
                .to_string()
        )
    );
    assert_eq!(log.last().unwrap(), "play order_lookup");
    step(call.played());
    assert_eq!(call.dialplan.variables()["order_number"], "2456");

    // Billing, pressed during the menu prompt.
    assert_eq!(
        step(call.press("2"))[..2],
        [
            "stop".to_string(),
            r#"menu_option {"key":"2","node":"main_menu","target":"billing"}"#.to_string()
        ]
    );
    step(call.played());
    step(call.played());

    // An agent: nobody answers in time, back to the menu.
    step(call.press("0"));
    step(call.played());
    step(call.queue_overflows("max_wait", false));
    step(call.played());
    step(call.played());

    // 9 repeats the menu.
    assert_eq!(step(call.press("9")).last().unwrap(), "play main_menu");

    assert_eq!(
        walked,
        [
            "order_number",
            "order_lookup",
            "main_menu",
            "billing",
            "main_menu",
            "transfer",
            "agent",
            "agents_busy",
            "main_menu",
            "main_menu"
        ]
    );
}

#[test]
fn zero_queues_the_caller_for_an_agent_and_ends_after_them() {
    let mut call = in_main_menu(utc("2026-05-18T08:00:00Z"));
    assert_eq!(nodes(&call.press("0")), ["transfer"]);
    assert_eq!(
        call.played().last().unwrap(),
        r#"queue support general "asked for an agent at `agent`""#
    );
    call.agent_answers("anna");
    assert_eq!(nodes(&call.agent_hangs_up()), ["goodbye_after_agent"]);
    assert_eq!(
        call.played().last().unwrap(),
        "hangup the agent ended the call"
    );
    assert!(call.dialplan.is_finished());
}

#[test]
fn a_busy_queue_leads_back_to_the_menu() {
    let mut call = in_main_menu(utc("2026-05-18T08:00:00Z"));
    call.press("0");
    call.played();
    assert_eq!(
        nodes(&call.queue_overflows("max_wait", false)),
        ["agents_busy"]
    );
    assert_eq!(nodes(&call.played()), ["main_menu"]);
}

#[test]
fn a_short_order_number_is_asked_again() {
    let mut call = in_main_menu(utc("2026-05-18T08:00:00Z"));
    call.press("1");
    call.played();
    assert_eq!(
        call.press("12#"),
        [
            r#"collect_invalid {"attempt":1,"digits":"12","node":"order_number"}"#,
            "play invalid_order"
        ]
    );
    assert_eq!(call.played(), ["play enter_order"]);
}

#[test]
fn silence_ends_with_goodbye() {
    let mut call = in_main_menu(utc("2026-05-18T08:00:00Z"));
    for _ in 0..2 {
        assert_eq!(
            call.wait(Duration::from_secs(5)).last().unwrap(),
            "play no_input"
        );
        call.played();
        call.played();
    }
    call.wait(Duration::from_secs(5));
    assert_eq!(
        call.played(),
        ["> goodbye", "play goodbye (uninterruptible)"]
    );
    assert_eq!(
        call.played().last().unwrap(),
        "hangup no valid choice in the main menu"
    );
}

#[test]
fn the_menu_answers_at_every_hour_of_the_week() {
    let monday = utc("2026-03-23T00:00:00Z");
    // Two weeks, across the start of summer time in Berlin.
    for hour in 0..24 * 14 {
        let wall = monday + TimeDelta::hours(hour) + TimeDelta::minutes(17);
        let mut call = in_main_menu(wall);
        assert_eq!(nodes(&call.press("2")), ["billing"], "at {wall}");
    }
}

#[test]
fn the_caller_may_hang_up_while_typing() {
    let mut call = in_main_menu(utc("2026-05-18T08:00:00Z"));
    call.press("1");
    call.played();
    call.press("24");
    assert_eq!(
        call.caller_hangs_up(),
        [r#"hangup {"by":"caller","reason":"caller hung up"}"#]
    );
    assert!(call.dialplan.is_finished());
    assert_eq!(
        call.dialplan.variables()["order_number"],
        "",
        "nothing half-typed is kept"
    );
}

#[test]
fn a_callback_overflow_takes_the_callers_number() {
    let mut call = in_main_menu(utc("2026-05-18T08:00:00Z"));
    call.press("0");
    call.played();
    assert_eq!(
        nodes(&call.queue_overflows("max wait in support: callback", true)),
        ["leave_number"]
    );
    call.played();
    let log = call.press("5550199#");
    assert!(
        log.iter()
            .any(|l| l.starts_with("callback 5550199 support ")),
        "{log:?}"
    );
    assert_eq!(nodes(&log), ["book_callback", "callback_booked"]);
}
