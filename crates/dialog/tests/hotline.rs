//! The shipped speech example, dialplans/hotline.toml, against the real prompts in sounds/.

#[path = "support/call.rs"]
mod call;

use std::path::{Path, PathBuf};
use std::time::Duration;

use call::{Call, nodes, utc};
use chrono::{DateTime, Utc};
use sb_dialog::Dialplan;

const MAIN_MENU: &str =
    r#"play "How can I help? You can say order status, billing, or agent. Or press 1, 2 or 0.""#;

fn root() -> PathBuf {
    Path::new(&*std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo")).join("../..")
}

fn hotline() -> Dialplan {
    let root = root();
    Dialplan::load(&root.join("dialplans/hotline.toml"), &root.join("sounds"))
        .unwrap_or_else(|e| panic!("hotline.toml does not load:\n{e}"))
}

/// A hotline call at `wall`, through the notice and greeting, the main menu's prompt over.
fn in_main_menu(wall: DateTime<Utc>) -> Call {
    let mut call = Call::new(hotline(), &[], wall);
    assert_eq!(
        call.start(),
        [
            r#"transcribe {"enabled":true}"#,
            "transcribe on",
            "> notice",
            r#"play "This call may be recorded for quality purposes." (uninterruptible)"#
        ]
    );
    assert_eq!(
        call.played(),
        [
            "> greeting",
            r#"play "Welcome to the Example Shop hotline.""#
        ]
    );
    assert_eq!(
        call.played(),
        [
            "> main_menu",
            r#"listen_started {"attempt":1,"node":"main_menu"}"#,
            "listen General",
            MAIN_MENU
        ]
    );
    assert!(call.played().is_empty());
    call
}

const MONDAY_10: &str = "2026-05-18T08:00:00Z";
const SATURDAY_11: &str = "2026-05-16T09:00:00Z";

#[test]
fn validates() {
    let plan = hotline();
    assert_eq!(plan.name(), "hotline");
    assert_eq!(plan.start(), "notice");
    assert_eq!(
        plan.node_names().collect::<Vec<_>>(),
        [
            "agent",
            "agents_busy",
            "billing",
            "book_callback",
            "callback_booked",
            "callback_invalid",
            "confirm_order",
            "confirm_order_keys",
            "goodbye",
            "goodbye_after_agent",
            "greeting",
            "leave_number",
            "main_menu",
            "main_menu_keys",
            "notice",
            "order_cancelled",
            "order_delayed",
            "order_delivered",
            "order_lookup",
            "order_number",
            "order_number_keys",
            "order_processing",
            "order_result",
            "order_shipped",
            "order_system_down",
            "order_unknown",
            "transfer"
        ]
    );
}

#[test]
fn the_notice_plays_to_the_end_and_keys_typed_meanwhile_choose_from_the_menu() {
    let mut call = Call::new(hotline(), &[], utc(MONDAY_10));
    call.start();
    assert!(call.press("2").is_empty());
    assert!(
        call.speaks().is_empty(),
        "nothing listens during the notice"
    );
    call.played();
    let log = call.played();
    assert_eq!(nodes(&log), ["main_menu", "billing"]);
    assert!(
        !log.iter()
            .any(|l| l == "listen General" || l.starts_with("listen_started")),
        "the menu is answered before it listens: {log:?}"
    );
}

#[test]
fn an_order_number_said_and_confirmed() {
    let mut call = in_main_menu(utc(MONDAY_10));
    let log = call.says("Where is my order?");
    assert_eq!(nodes(&log), ["order_number"]);
    call.played();
    let log = call.says("It's four five one two.");
    assert_eq!(nodes(&log), ["confirm_order"]);
    assert_eq!(
        log.last().unwrap(),
        r#"play "I heard 4 5 1 2, is that right?""#
    );
    call.played();
    let log = call.says("Yes, that's right.");
    assert_eq!(nodes(&log), ["order_lookup"]);
    assert_eq!(
        log.last().unwrap(),
        r#"webhook POST http://127.0.0.1:8090/orders/status {"order_id":"4512"} within 3s"#
    );
    assert_eq!(call.dialplan.variables()["order_number"], "4512");
    let reply = r#"{"found": true, "order_id": "4512", "status": "shipped", "carrier": "DHL",
                    "shipped_on": "Monday", "eta": "Tuesday", "items": 2}"#;
    let log = call.webhook_reply(200, reply);
    assert_eq!(nodes(&log), ["order_result", "order_shipped"]);
    assert_eq!(
        log.last().unwrap(),
        r#"play "Order 4 5 1 2 was shipped on Monday with DHL and should arrive Tuesday.""#
    );
    assert_eq!(call.played().last().unwrap(), MAIN_MENU);
}

#[test]
fn the_order_system_finds_nothing_or_does_not_answer() {
    let mut call = in_main_menu(utc(MONDAY_10));
    call.press("1");
    call.played();
    call.press("9999#");
    call.played();
    call.says("yes");
    let log = call.webhook_reply(200, r#"{"found": false, "order_id": "9999"}"#);
    assert_eq!(
        log.last().unwrap(),
        r#"play "I could not find order 9 9 9 9. Please check the number in your confirmation email.""#
    );
    call.played();
    call.press("1");
    call.played();
    call.press("4512#");
    call.played();
    call.says("yes");
    let log = call.wait(Duration::from_secs(3));
    assert!(log.contains(&"cancel webhook".to_string()), "{log:#?}");
    assert_eq!(
        log.last().unwrap(),
        r#"play "Sorry, our order system is not answering. Please try again later.""#
    );
}

#[test]
fn a_wrong_order_number_is_asked_again() {
    let mut call = in_main_menu(utc(MONDAY_10));
    call.press("1");
    call.played();
    call.says("double four one two");
    call.played();
    assert_eq!(nodes(&call.says("no")), ["order_number"]);
    call.played();
    // Typed this time, during the prompt.
    call.press("4512#");
    assert_eq!(call.dialplan.current_node(), "confirm_order");
    assert_eq!(call.dialplan.variables()["order_number"], "4512");
}

#[test]
fn billing_and_closed_agents_lead_back_to_the_menu() {
    let mut call = in_main_menu(utc(SATURDAY_11));
    assert_eq!(
        nodes(&call.says("A question about my invoice")),
        ["billing"]
    );
    assert_eq!(
        call.played(),
        [
            "> main_menu",
            r#"listen_started {"attempt":1,"node":"main_menu"}"#,
            "listen General",
            MAIN_MENU
        ]
    );
    call.played();
    let log = call.says("I want to speak to a person");
    assert_eq!(nodes(&log), ["transfer"]);
    assert_eq!(nodes(&call.played()), ["agent"]);
    let mut call = in_main_menu(utc(MONDAY_10));
    assert_eq!(nodes(&call.press("0")), ["transfer"]);
}

#[test]
fn an_unclear_answer_is_asked_again() {
    let mut call = in_main_menu(utc(MONDAY_10));
    let log = call.says("a refund for my order");
    assert!(log[3].starts_with("listen_no_match"), "{log:?}");
    assert!(log[3].contains(r#""reason":"ambiguous""#), "{log:?}");
    assert_eq!(log.last().unwrap(), r#"play "Sorry, I did not get that.""#);
    assert_eq!(call.played().last().unwrap(), MAIN_MENU);
}

#[test]
fn silence_ends_with_goodbye() {
    let mut call = in_main_menu(utc(MONDAY_10));
    for _ in 0..2 {
        assert_eq!(
            call.wait(Duration::from_secs(6)).last().unwrap(),
            r#"play "Sorry, I did not hear anything.""#
        );
        call.played();
        call.played();
    }
    let log = call.wait(Duration::from_secs(6));
    assert!(
        log.contains(
            &r#"listen_failed {"attempts":3,"node":"main_menu","target":"goodbye"}"#.to_string()
        ),
        "{log:?}"
    );
    assert_eq!(
        call.played(),
        ["> goodbye", "play goodbye (uninterruptible)"]
    );
}

#[test]
fn without_speech_recognition_the_keypad_menu_takes_over() {
    let mut call = in_main_menu(utc(MONDAY_10));
    assert_eq!(nodes(&call.speech_unavailable()), ["main_menu_keys"]);
    call.played();
    call.press("1");
    call.played();
    let log = call.press("4512#");
    assert_eq!(nodes(&log), ["order_lookup"], "keys need no confirmation");
    // Speech fails while confirming: confirm by keys.
    let mut call = in_main_menu(utc(MONDAY_10));
    call.says("order status");
    call.played();
    call.says("four five one two");
    call.played();
    assert_eq!(
        call.speech_unavailable().last().unwrap(),
        r#"play "If 4 5 1 2 is right, press 1. To enter it again, press 2.""#
    );
    assert_eq!(nodes(&call.press("2")), ["order_number_keys"]);
}
