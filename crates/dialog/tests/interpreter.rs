//! The interpreter in simulated time: menus, collection, type-ahead, variables,
//! conditions, business hours and hang-ups.

#[path = "support/call.rs"]
mod call;
#[path = "support/sounds.rs"]
mod sounds;

use std::time::Duration;

use call::{Call, nodes, utc};
use sounds::parse;

const SECOND: Duration = Duration::from_secs(1);
const MONDAY_NOON: &str = "2026-03-02T12:00:00Z";

const MENU: &str = r#"name = "menu test"
start = "welcome"

[nodes.welcome]
play = { sound = "welcome", next = "menu" }

[nodes.menu]
menu = { prompt = "menu", options = { "1" = "one", "2" = "two" }, timeout = "5s", retries = 2, invalid = "invalid", no_input = "no_input", on_failure = "bye" }

[nodes.one]
play = { sound = "a", next = "menu" }

[nodes.two]
hangup = { reason = "chose two" }

[nodes.bye]
hangup = { sound = "goodbye", reason = "menu failed" }
"#;

fn call(text: &str) -> Call {
    Call::new(parse(text).unwrap(), &[], utc(MONDAY_NOON))
}

/// A call to the menu test plan, waiting in the menu after its prompt.
fn in_menu() -> Call {
    let mut call = call(MENU);
    call.start();
    call.played();
    call.played();
    assert_eq!(call.dialplan.current_node(), "menu");
    call
}

#[test]
fn walks_a_menu() {
    let mut call = call(MENU);
    assert_eq!(call.dialplan.current_node(), "welcome");
    assert_eq!(call.start(), ["> welcome", "play welcome"]);
    assert_eq!(call.dialplan.poll_timeout(), None, "no timer while playing");
    assert_eq!(call.played(), ["> menu", "play menu"]);
    assert_eq!(
        call.dialplan.poll_timeout(),
        None,
        "the timeout starts after the prompt"
    );
    assert!(call.played().is_empty());
    assert_eq!(call.dialplan.poll_timeout(), Some(call.now + 5 * SECOND));
    assert_eq!(
        call.press("1"),
        [
            r#"menu_option {"key":"1","node":"menu","target":"one"}"#,
            "> one",
            "play a"
        ]
    );
    assert_eq!(call.played(), ["> menu", "play menu"]);
    // A key during the prompt stops it and counts.
    assert_eq!(
        call.press("2"),
        [
            "stop",
            r#"menu_option {"key":"2","node":"menu","target":"two"}"#,
            "> two",
            r#"hangup {"by":"dialplan","reason":"chose two"}"#,
            "hangup chose two"
        ]
    );
    assert!(call.dialplan.is_finished());
    assert!(call.press("1").is_empty(), "a finished call ignores keys");
}

#[test]
fn invalid_key_then_valid_key() {
    let mut call = in_menu();
    assert_eq!(
        call.press("7"),
        [
            r#"menu_invalid {"attempt":1,"key":"7","node":"menu"}"#,
            "play invalid"
        ]
    );
    assert_eq!(call.played(), ["play menu"]);
    assert!(call.played().is_empty());
    assert_eq!(nodes(&call.press("1")), ["one"]);
}

#[test]
fn timeouts_and_retries_end_in_on_failure() {
    let mut call = in_menu();
    assert!(call.wait(Duration::from_millis(4999)).is_empty());
    assert_eq!(
        call.wait(Duration::from_millis(1)),
        [
            r#"menu_timeout {"attempt":1,"node":"menu"}"#,
            "play no_input"
        ]
    );
    assert_eq!(call.played(), ["play menu"]);
    call.played();
    assert_eq!(
        call.wait(5 * SECOND),
        [
            r#"menu_timeout {"attempt":2,"node":"menu"}"#,
            "play no_input"
        ]
    );
    call.played();
    call.played();
    // An invalid key uses up the last attempt as a timeout would.
    assert_eq!(
        call.press("*"),
        [
            r#"menu_invalid {"attempt":3,"key":"*","node":"menu"}"#,
            r#"menu_failed {"attempts":3,"node":"menu","target":"bye"}"#,
            "play invalid"
        ]
    );
    assert_eq!(call.played(), ["> bye", "play goodbye (uninterruptible)"]);
    assert!(
        call.press("1").is_empty(),
        "the goodbye cannot be interrupted"
    );
    assert_eq!(
        call.played(),
        [
            r#"hangup {"by":"dialplan","reason":"menu failed"}"#,
            "hangup menu failed"
        ]
    );
    assert!(call.dialplan.is_finished());
    assert_eq!(call.dialplan.poll_timeout(), None);
}

#[test]
fn a_late_playback_report_and_an_early_timeout_are_ignored() {
    let mut call = in_menu();
    assert!(call.played().is_empty());
    call.dialplan.handle_timeout(call.now);
    assert!(call.log().is_empty());
    assert_eq!(call.dialplan.current_node(), "menu");
}

const COLLECT: &str = r#"name = "collect test"
start = "ask"

[vars]
order = ""

[nodes.ask.collect]
prompt = "enter"
var = "order"
min = 4
max = 6
first_digit_timeout = "8s"
inter_digit_timeout = "3s"
retries = 1
invalid = "invalid"
no_input = "no_input"
next = "thanks"
on_failure = "bye"

[nodes.thanks]
play = { sound = "thanks", next = "ask" }

[nodes.bye]
hangup = true
"#;

/// A call to the collect test plan, waiting for the first digit.
fn collecting() -> Call {
    let mut call = call(COLLECT);
    assert_eq!(call.start(), ["> ask", "play enter"]);
    assert!(call.played().is_empty());
    assert_eq!(call.dialplan.poll_timeout(), Some(call.now + 8 * SECOND));
    call
}

#[test]
fn collect_ends_at_the_terminator() {
    let mut call = collecting();
    assert!(call.press("123").is_empty());
    assert_eq!(call.dialplan.poll_timeout(), Some(call.now + 3 * SECOND));
    assert_eq!(
        call.press("4#"),
        [
            r#"digits_collected {"digits":"1234","node":"ask","var":"order"}"#,
            "> thanks",
            "play thanks"
        ]
    );
    assert_eq!(call.dialplan.variables()["order"], "1234");
}

#[test]
fn collect_ends_at_max_length() {
    let mut call = collecting();
    let log = call.press("123456");
    assert_eq!(
        log[0],
        r#"digits_collected {"digits":"123456","node":"ask","var":"order"}"#
    );
    assert_eq!(nodes(&log), ["thanks"]);
}

#[test]
fn too_few_digits_before_the_terminator_is_invalid() {
    let mut call = collecting();
    assert_eq!(
        call.press("12#"),
        [
            r#"collect_invalid {"attempt":1,"digits":"12","node":"ask"}"#,
            "play invalid"
        ]
    );
    assert_eq!(call.played(), ["play enter"]);
    // Keys during the (interruptible) prompt stop it and are collected.
    assert_eq!(call.press("9"), ["stop"]);
    assert_eq!(
        call.press("876#")[0],
        r#"digits_collected {"digits":"9876","node":"ask","var":"order"}"#
    );
}

#[test]
fn inter_digit_timeout_ends_the_input() {
    let mut call = collecting();
    call.press("1234");
    assert!(call.wait(2 * SECOND).is_empty());
    call.press("5");
    assert!(
        call.wait(2 * SECOND).is_empty(),
        "each digit restarts the timer"
    );
    assert_eq!(
        call.wait(SECOND)[0],
        r#"digits_collected {"digits":"12345","node":"ask","var":"order"}"#
    );
}

#[test]
fn inter_digit_timeout_with_too_few_digits_is_invalid() {
    let mut call = collecting();
    call.press("12");
    assert_eq!(
        call.wait(3 * SECOND),
        [
            r#"collect_invalid {"attempt":1,"digits":"12","node":"ask"}"#,
            "play invalid"
        ]
    );
}

#[test]
fn no_digits_retries_then_fails() {
    let mut call = collecting();
    assert_eq!(
        call.wait(8 * SECOND),
        [
            r#"collect_timeout {"attempt":1,"node":"ask"}"#,
            "play no_input"
        ]
    );
    call.played();
    call.played();
    assert_eq!(
        call.wait(8 * SECOND),
        [
            r#"collect_timeout {"attempt":2,"node":"ask"}"#,
            r#"collect_failed {"attempts":2,"node":"ask","target":"bye"}"#,
            "play no_input"
        ]
    );
    assert_eq!(
        call.played(),
        [
            "> bye",
            r#"hangup {"by":"dialplan","reason":"completed"}"#,
            "hangup completed"
        ]
    );
}

const TYPE_AHEAD: &str = r#"name = "type-ahead test"
start = "welcome"

[vars]
order = ""

[nodes.welcome]
play = { sound = "welcome", next = "notice" }

[nodes.notice]
play = { sound = "hold", next = "menu", interruptible = false }

[nodes.menu]
menu = { prompt = "menu", options = { "1" = "ask", "2" = "bye" }, on_failure = "bye" }

[nodes.ask]
collect = { prompt = "enter", var = "order", next = "thanks", on_failure = "bye" }

[nodes.thanks]
play = { sound = "thanks", next = "menu" }

[nodes.bye]
hangup = true
"#;

#[test]
fn type_ahead_skips_prompts_until_a_menu_or_collect_takes_it() {
    let mut call = call(TYPE_AHEAD);
    call.start();
    // A key stops the interruptible greeting; the notice still plays, keys are kept.
    assert_eq!(
        call.press("1"),
        ["stop", "> notice", "play hold (uninterruptible)"]
    );
    assert!(call.press("42#").is_empty());
    let log = call.played();
    assert_eq!(nodes(&log), ["menu", "ask", "thanks"]);
    assert!(
        !log.iter().any(|l| l == "play menu" || l == "play enter"),
        "prompts are skipped: {log:?}"
    );
    assert!(
        log.contains(&r#"digits_collected {"digits":"42","node":"ask","var":"order"}"#.to_string())
    );
    assert_eq!(log.last().unwrap(), "play thanks");
}

#[test]
fn type_ahead_is_dropped_after_an_invalid_key() {
    let mut call = call(TYPE_AHEAD);
    call.start();
    call.played();
    call.press("71");
    let log = call.played();
    assert_eq!(
        log,
        [
            "> menu",
            r#"menu_invalid {"attempt":1,"key":"7","node":"menu"}"#,
            "play menu"
        ]
    );
}

const VARIABLES: &str = r#"name = "variables test"
start = "count"

[vars]
caller = "anonymous"
lang = "en"
rounds = 0
greeting = ""

[nodes.count]
set = { vars = { greeting = "hello ${caller}", lang = "de" }, add = { rounds = 1 }, next = "route" }

[nodes.route]
when = [
  { if = "rounds >= 3", then = "done" },
  { if = "lang == 'de' and greeting starts_with 'hello +49'", then = "count" },
]
else = "other"

[nodes.done]
hangup = { reason = "counted" }

[nodes.other]
hangup = { reason = "other" }
"#;

#[test]
fn set_interpolates_and_conditions_branch() {
    let mut call = Call::new(
        parse(VARIABLES).unwrap(),
        &[("caller", "+4930123")],
        utc(MONDAY_NOON),
    );
    let log = call.start();
    assert_eq!(
        nodes(&log),
        ["count", "route", "count", "route", "count", "route", "done"]
    );
    assert!(log.contains(
        &r#"var_set {"name":"greeting","node":"count","value":"hello +4930123"}"#.to_string()
    ));
    assert!(log.contains(&r#"var_set {"name":"rounds","node":"count","value":"3"}"#.to_string()));
    assert!(log.contains(&r#"condition {"branch":"lang == 'de' and greeting starts_with 'hello +49'","node":"route","target":"count"}"#.to_string()));
    assert!(log.contains(
        &r#"condition {"branch":"rounds >= 3","node":"route","target":"done"}"#.to_string()
    ));
    let vars = call.dialplan.variables();
    assert_eq!(vars["lang"], "de");
    assert_eq!(vars["rounds"], "3");
    assert!(call.dialplan.is_finished());
}

#[test]
fn else_branch_with_default_variables() {
    let mut call = call(VARIABLES);
    let log = call.start();
    assert_eq!(nodes(&log), ["count", "route", "other"]);
    assert!(
        log.contains(&r#"condition {"branch":"else","node":"route","target":"other"}"#.to_string())
    );
}

#[test]
fn a_loop_that_never_waits_is_hung_up() {
    let text = r#"name = "loop"
start = "spin"
[vars]
n = 0
[nodes.spin]
set = { add = { n = 1 }, next = "check" }
[nodes.check]
when = [{ if = "n < 0", then = "end" }]
else = "spin"
[nodes.end]
hangup = true
"#;
    let mut call = call(text);
    let log = call.start();
    assert_eq!(nodes(&log).len(), 100);
    assert!(
        log.last()
            .unwrap()
            .starts_with("hangup dialplan loop: 100 nodes in a row"),
        "{log:?}"
    );
    assert!(call.dialplan.is_finished());
}

#[test]
fn caller_hangup_ends_the_call_quietly() {
    let mut call = in_menu();
    assert_eq!(
        call.caller_hangs_up(),
        [r#"hangup {"by":"caller","reason":"caller hung up"}"#]
    );
    assert!(call.dialplan.is_finished());
    assert_eq!(call.dialplan.poll_timeout(), None);
    assert!(call.caller_hangs_up().is_empty());
}

#[test]
fn hangup_true_ends_at_once() {
    let text = "name = \"h\"\nstart = \"end\"\n[nodes.end]\nhangup = true\n";
    let mut call = call(text);
    assert_eq!(
        call.start(),
        [
            "> end",
            r#"hangup {"by":"dialplan","reason":"completed"}"#,
            "hangup completed"
        ]
    );
    assert!(call.dialplan.is_finished());
}

#[test]
fn sound_lists_play_in_one_go() {
    let text = r#"name = "list"
start = "p"
[nodes.p]
play = { sound = ["a", "b.wav"], next = "end" }
[nodes.end]
hangup = true
"#;
    let mut call = call(text);
    assert_eq!(call.start(), ["> p", "play a,b"]);
}

fn hours_plan(tz: &str, open: &str) -> String {
    format!(
        r#"name = "hours test"
start = "check"
[nodes.check.hours]
timezone = "{tz}"
open = ["{open}"]
closed_dates = ["2026-12-25"]
if_open = "open"
if_closed = "closed"
[nodes.open]
hangup = {{ sound = "open" }}
[nodes.closed]
hangup = {{ sound = "closed" }}
"#
    )
}

/// Whether the hours node found the line open at `wall`, with the event it logged.
fn open_at(plan: &str, wall: &str) -> (bool, String) {
    let mut call = Call::new(parse(plan).unwrap(), &[], utc(wall));
    let log = call.start();
    let event = log
        .iter()
        .find(|l| l.starts_with("hours "))
        .unwrap()
        .clone();
    (nodes(&log)[1] == "open", event)
}

#[test]
fn business_hours_follow_daylight_saving_in_berlin() {
    let plan = hours_plan("Europe/Berlin", "mon-fri 08:00-18:00");
    // Winter time (UTC+1): Friday 27 March 2026.
    assert!(!open_at(&plan, "2026-03-27T06:30:00Z").0, "07:30 CET");
    assert!(open_at(&plan, "2026-03-27T07:30:00Z").0, "08:30 CET");
    assert!(open_at(&plan, "2026-03-27T16:30:00Z").0, "17:30 CET");
    // Summer time (UTC+2) from Sunday 29 March: the same UTC times shift by an hour.
    let (open, event) = open_at(&plan, "2026-03-30T06:30:00Z");
    assert!(open, "08:30 CEST");
    assert_eq!(
        event,
        r#"hours {"local_time":"2026-03-30T08:30:00+02:00","node":"check","open":true,"target":"open","timezone":"Europe/Berlin"}"#
    );
    assert!(!open_at(&plan, "2026-03-30T16:30:00Z").0, "18:30 CEST");
    // Back to winter time on Sunday 25 October.
    assert!(open_at(&plan, "2026-10-26T07:30:00Z").0, "08:30 CET");
    assert!(!open_at(&plan, "2026-10-23T05:30:00Z").0, "07:30 CEST");
    // Weekends and closed dates.
    assert!(!open_at(&plan, "2026-03-28T10:00:00Z").0, "Saturday");
    assert!(
        !open_at(&plan, "2026-12-25T10:00:00Z").0,
        "Christmas, a Friday"
    );
}

#[test]
fn business_hours_follow_daylight_saving_in_new_york() {
    let plan = hours_plan("America/New_York", "mon-fri 09:00-17:00");
    // EST (UTC-5) until Sunday 8 March 2026, then EDT (UTC-4).
    assert!(open_at(&plan, "2026-03-06T14:30:00Z").0, "Friday 09:30 EST");
    assert!(open_at(&plan, "2026-03-06T21:30:00Z").0, "Friday 16:30 EST");
    assert!(open_at(&plan, "2026-03-09T13:30:00Z").0, "Monday 09:30 EDT");
    let (open, event) = open_at(&plan, "2026-03-09T21:30:00Z");
    assert!(!open, "Monday 17:30 EDT");
    assert!(
        event.contains(r#""local_time":"2026-03-09T17:30:00-04:00""#),
        "{event}"
    );
    // Back to EST on Sunday 1 November 2026.
    assert!(open_at(&plan, "2026-10-30T13:30:00Z").0, "Friday 09:30 EDT");
    assert!(
        !open_at(&plan, "2026-11-02T13:30:00Z").0,
        "Monday 08:30 EST"
    );
}

#[test]
fn business_hours_use_simulated_time() {
    let text = r#"name = "sim"
start = "menu"
timezone = "Europe/Berlin"
[nodes.menu]
menu = { prompt = "menu", options = { "0" = "check" }, timeout = "5m", on_failure = "closed" }
[nodes.check]
hours = { open = ["mon-fri 08:00-18:00"], if_open = "open", if_closed = "closed" }
[nodes.open]
hangup = true
[nodes.closed]
hangup = true
"#;
    // 17:59 in Berlin when the call starts; the caller dawdles two minutes.
    let mut call = Call::new(parse(text).unwrap(), &[], utc("2026-03-27T16:59:00Z"));
    call.start();
    call.played();
    assert!(call.wait(2 * 60 * SECOND).is_empty());
    let log = call.press("0");
    assert_eq!(nodes(&log), ["check", "closed"]);
    assert!(
        log[2].contains(r#""local_time":"2026-03-27T18:01:00+01:00""#),
        "{log:?}"
    );
}
