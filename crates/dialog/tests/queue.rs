//! The `queue` step in simulated time: the caller waits for an agent, talks, and the call goes
//! on or ends when the agent hangs up; an overflow takes `on_overflow`; keys are the agent's;
//! unknown queues and priorities are load errors with the line.

#[path = "support/call.rs"]
mod call;
#[path = "support/sounds.rs"]
mod sounds;

use std::time::Duration;

use call::{Call, nodes, utc};
use sounds::parse;

/// Press 0 for an agent; a survey follows the agent's part; a busy queue leads to a goodbye.
const DESK: &str = r#"name = "desk"
start = "menu"

[vars]
order_number = "4512"
level = ""

[nodes.menu.menu]
prompt = "menu"
options = { "0" = "agent", "1" = "vip" }
on_failure = "bye"

[nodes.agent.queue]
name = "support"
next = "survey"
on_overflow = "busy"

[nodes.vip.queue]
name = "support"
priority = "${level}"
on_overflow = "busy"

[nodes.survey]
say = { text = "Thanks for talking to us.", next = "bye" }

[nodes.busy]
say = { text = "All agents are busy.", next = "bye" }

[nodes.bye]
hangup = true
"#;

fn call(vars: &[(&str, &str)]) -> Call {
    let mut call = Call::new(parse(DESK).unwrap(), vars, utc("2026-03-02T12:00:00Z"));
    call.start();
    call.played();
    call
}

#[test]
fn the_caller_is_queued_connected_and_the_call_goes_on_after_the_agent() {
    let mut call = call(&[]);
    assert_eq!(
        call.press("0"),
        [
            r#"menu_option {"key":"0","node":"menu","target":"agent"}"#,
            "> agent",
            r#"queue_entered {"node":"agent","priority":"general","queue":"support","summary":"asked for an agent at `agent`"}"#,
            r#"queue support general "asked for an agent at `agent`""#,
        ]
    );
    assert_eq!(
        call.dialplan.poll_timeout(),
        None,
        "the queue does the waiting"
    );
    call.wait(Duration::from_secs(40));
    assert!(
        call.press("123").is_empty(),
        "keys while queued are not the dialplan's"
    );
    assert_eq!(
        call.agent_answers("anna"),
        [r#"agent_connected {"agent":"anna","node":"agent","waited_ms":40000}"#]
    );
    call.wait(Duration::from_secs(90));
    assert!(
        call.press("5").is_empty(),
        "keys while talking go to the agent"
    );
    assert_eq!(
        call.agent_hangs_up(),
        [
            r#"agent_hung_up {"node":"agent","talked_ms":90000,"target":"survey"}"#,
            "> survey",
            r#"play "Thanks for talking to us.""#,
        ]
    );
}

#[test]
fn without_next_the_call_ends_with_the_agent() {
    let mut call = call(&[("level", "complaint")]);
    let log = call.press("1");
    assert_eq!(
        log.last().unwrap(),
        r#"queue support complaint "asked for an agent at `vip`""#
    );
    call.agent_answers("bob");
    assert_eq!(
        call.agent_hangs_up(),
        [
            r#"agent_hung_up {"node":"vip","talked_ms":0,"target":null}"#,
            "hangup the agent ended the call",
        ]
    );
    assert!(call.caller_hangs_up().is_empty(), "the call is over");
}

#[test]
fn an_overflow_takes_on_overflow() {
    let mut call = call(&[]);
    call.press("0");
    call.wait(Duration::from_secs(120));
    let log = call.queue_overflows("max_wait", false);
    assert_eq!(
        log[0],
        r#"queue_overflow {"node":"agent","reason":"max_wait","target":"busy","waited_ms":120000}"#
    );
    assert_eq!(nodes(&log), ["busy"]);
    assert!(
        call.agent_answers("late").is_empty(),
        "an agent after the overflow is ignored"
    );
}

#[test]
fn the_priority_comes_from_the_step_else_the_bots_handoff_else_general() {
    for (level, handoff, expected) in [
        ("billing", "complaint", "billing"),
        ("", "complaint", "complaint"),
        ("urgent!", "", "general"),
        ("", "", "general"),
    ] {
        let mut call = call(&[("level", level), ("handoff_priority", handoff)]);
        let log = call.press("1");
        assert!(
            log.last()
                .unwrap()
                .starts_with(&format!("queue support {expected} ")),
            "{level:?}/{handoff:?}: {log:?}"
        );
    }
}

#[test]
fn the_bots_summary_is_handed_to_the_queue() {
    let mut call = call(&[(
        "handoff_summary",
        "order_status; order_number=4512; frustration 0.81",
    )]);
    let log = call.press("0");
    assert_eq!(
        log.last().unwrap(),
        r#"queue support general "order_status; order_number=4512; frustration 0.81""#
    );
}

#[test]
fn a_caller_hanging_up_while_queued_ends_the_dialplan() {
    let mut call = call(&[]);
    call.press("0");
    let log = call.caller_hangs_up();
    assert_eq!(log, [r#"hangup {"by":"caller","reason":"caller hung up"}"#]);
    assert!(call.queue_overflows("max_wait", false).is_empty());
}

#[test]
fn unknown_queues_are_reported_with_their_line_once_the_queues_are_known() {
    let plan = parse(DESK).unwrap();
    assert!(plan.check_queues(&["support", "billing"]).is_ok());
    let errors = plan.check_queues(&["billing"]).unwrap_err().to_string();
    assert!(
        errors.starts_with(
            "test.toml:14:8: unknown queue `support`; the configuration defines: billing"
        ),
        "{errors}"
    );
    assert_eq!(errors.lines().count(), 2, "both steps naming it: {errors}");
    let none = plan.check_queues(&[]).unwrap_err().to_string();
    assert!(
        none.contains("the configuration defines no queues"),
        "{none}"
    );
}

#[test]
fn a_bad_queue_step_is_rejected_at_load_with_the_reason() {
    let bad = DESK
        .replace("on_overflow = \"busy\"\n\n[nodes.vip", "\n[nodes.vip")
        .replace("priority = \"${level}\"", "priority = \"urgent\"");
    let errors = parse(&bad).unwrap_err().to_string();
    assert!(
        errors.contains("node `agent`: `queue` needs `on_overflow`"),
        "{errors}"
    );
    assert!(
        errors.contains("unknown priority `urgent`; use one of complaint, billing, general"),
        "{errors}"
    );
}
