//! The `callback` step in simulated time: a queue whose overflow is "leave a callback number"
//! takes the caller to `on_callback`, where they key in a number (or keep the one they call
//! from) and the call is asked to store the request.

#[path = "support/call.rs"]
mod call;
#[path = "support/sounds.rs"]
mod sounds;

use std::time::Duration;

use call::{Call, nodes, utc};
use sounds::parse;

const DESK: &str = r#"name = "desk"
start = "agent"

[nodes.agent.queue]
name = "support"
on_overflow = "busy"
on_callback = "leave_number"

[nodes.leave_number.collect]
prompt = { say = "Key in the number we should call, then hash. Just hash keeps this one." }
var = "callback_number"
min = 0
max = 15
next = "book"
on_failure = "book"

[nodes.book.callback]
number = "${callback_number}"
next = "booked"
on_invalid = "no_number"

[nodes.booked]
say = { text = "We will call you back.", next = "bye" }

[nodes.no_number]
say = { text = "Sorry, we cannot call that number.", next = "bye" }

[nodes.busy]
say = { text = "All agents are busy.", next = "bye" }

[nodes.bye]
hangup = true
"#;

fn queued(caller: &str) -> Call {
    let mut call = Call::new(
        parse(DESK).unwrap(),
        &[("caller", caller), ("order_number", "4512")],
        utc("2026-03-02T12:00:00Z"),
    );
    call.start();
    call.wait(Duration::from_secs(60));
    call
}

#[test]
fn a_callback_overflow_takes_on_callback_and_stores_the_keyed_number() {
    let mut call = queued("sip:+15550100@trunk");
    let log = call.queue_overflows("max wait in support: callback", true);
    assert_eq!(nodes(&log), ["leave_number"]);
    call.played();
    let log = call.press("555 0199#".replace(' ', "").as_str());
    assert!(
        log.contains(
            &r#"callback_requested {"node":"book","number":"5550199","queue":"support"}"#
                .to_string()
        ),
        "{log:?}"
    );
    assert!(
        log.contains(&r#"callback 5550199 support "asked for an agent at `book`""#.to_string()),
        "{log:?}"
    );
    assert_eq!(nodes(&log), ["book", "booked"]);
}

#[test]
fn just_hash_keeps_the_callers_number() {
    let mut call = queued("<sip:+15550100@trunk;user=phone>");
    call.queue_overflows("callback", true);
    call.played();
    let log = call.press("#");
    assert!(
        log.iter()
            .any(|l| l.starts_with("callback +15550100 support ")),
        "{log:?}"
    );
}

#[test]
fn an_anonymous_caller_without_a_number_takes_on_invalid() {
    let mut call = queued("sip:anonymous@anonymous.invalid");
    call.queue_overflows("callback", true);
    call.played();
    let log = call.press("#");
    assert!(
        log.iter().any(|l| l.starts_with("callback_refused ")),
        "{log:?}"
    );
    assert!(!log.iter().any(|l| l.starts_with("callback ")), "{log:?}");
    assert_eq!(nodes(&log), ["book", "no_number"]);
}

#[test]
fn other_overflows_still_take_on_overflow() {
    let mut call = queued("sip:+15550100@trunk");
    let log = call.queue_overflows("max_wait", false);
    assert_eq!(nodes(&log), ["busy"]);
}

#[test]
fn a_callback_step_is_checked_at_load() {
    let bad = DESK.replace("next = \"booked\"", "next = \"bookd\"");
    let errors = parse(&bad).unwrap_err().to_string();
    assert!(errors.contains("bookd"), "{errors}");
    let bad = DESK.replace("number = \"${callback_number}\"", "numbr = \"1\"");
    let errors = parse(&bad).unwrap_err().to_string();
    assert!(errors.contains("numbr"), "{errors}");
    let plan = parse(&DESK.replace(
        "[nodes.book.callback]",
        "[nodes.book.callback]\nqueue = \"sales\"",
    ))
    .unwrap();
    let errors = plan.check_queues(&["support"]).unwrap_err().to_string();
    assert!(errors.contains("unknown queue `sales`"), "{errors}");
}
