//! The `webhook` step in simulated time: replies that set variables, the error paths (HTTP
//! status, bad JSON, timeout, no connection), hang-ups while waiting, and its load errors.

#[path = "support/call.rs"]
mod call;
#[path = "support/sounds.rs"]
mod sounds;

use std::time::Duration;

use call::{Call, nodes, utc};
use sb_dialog::WebhookFailure;
use sounds::parse;

const MS: Duration = Duration::from_millis(1);

/// Keys an order number in, asks the shop, and says what it answered.
const SHOP: &str = r#"name = "webhook test"
start = "ask"

[vars]
order_number = ""
caller = ""

[nodes.ask]
collect = { prompt = "enter", var = "order_number", min = 4, max = 8, next = "lookup", on_failure = "bye" }

[nodes.lookup.webhook]
url = "http://shop.test:8090/orders/${order_number}/status"
send = { order_id = "${order_number}", from = "${caller}" }
prefix = "order"
timeout = "2s"
next = "found"
on_error = "sorry"

[nodes.found]
when = [{ if = "order_found == 'true'", then = "status" }]
else = "unknown"

[nodes.status]
say = { text = "Order ${order_number|spell} was ${order_status} with ${order_carrier}.", next = "ask" }

[nodes.unknown]
say = { text = "I could not find that order.", next = "ask" }

[nodes.sorry]
say = { text = "Error ${webhook_error} ${webhook_http_status}.", next = "bye" }

[nodes.bye]
hangup = true
"#;

const SHIPPED: &str = r#"{"found": true, "status": "shipped", "carrier": "DHL", "items": 2}"#;

/// A call to `plan` whose caller keyed 4512: the webhook has just been sent.
fn asking(plan: &str) -> Call {
    let mut call = Call::new(
        parse(plan).unwrap(),
        &[("caller", "sip:alice@x")],
        utc("2026-03-02T12:00:00Z"),
    );
    call.start();
    call.played();
    let log = call.press("4512#");
    assert_eq!(nodes(&log), ["lookup"], "{log:#?}");
    call
}

#[test]
fn a_reply_sets_variables_and_moves_on() {
    let mut call = Call::new(
        parse(SHOP).unwrap(),
        &[("caller", "sip:alice@x")],
        utc("2026-03-02T12:00:00Z"),
    );
    call.start();
    call.played();
    assert_eq!(
        call.press("4512#")[1..],
        [
            "> lookup",
            r#"webhook_sent {"method":"POST","node":"lookup","url":"http://shop.test:8090/orders/4512/status","vars":["from","order_id"]}"#,
            r#"webhook POST http://shop.test:8090/orders/4512/status {"from":"sip:alice@x","order_id":"4512"} within 2s"#,
        ]
    );
    assert_eq!(call.dialplan.poll_timeout(), Some(call.now + 2000 * MS));
    call.wait(120 * MS);
    assert_eq!(
        call.webhook_reply(200, SHIPPED),
        [
            r#"webhook_reply {"latency_ms":120,"node":"lookup","status":200,"target":"found","vars":{"order_carrier":"DHL","order_found":"true","order_items":"2","order_status":"shipped"}}"#,
            "> found",
            r#"condition {"branch":"order_found == 'true'","node":"found","target":"status"}"#,
            "> status",
            r#"play "Order 4 5 1 2 was shipped with DHL.""#,
        ]
    );
    let vars = call.dialplan.variables();
    assert_eq!(vars["webhook_error"], "");
    assert_eq!(vars["webhook_http_status"], "200");
    assert!(
        call.webhook_reply(200, SHIPPED).is_empty(),
        "a second reply is ignored"
    );
}

#[test]
fn a_second_reply_does_not_keep_fields_of_the_first() {
    let mut call = asking(SHOP);
    call.webhook_reply(200, SHIPPED);
    call.played();
    call.played();
    call.press("9999#");
    let log = call.webhook_reply(200, r#"{"found": false}"#);
    assert_eq!(nodes(&log), ["found", "unknown"]);
    let vars = call.dialplan.variables();
    assert_eq!(vars["order_found"], "false");
    assert!(!vars.contains_key("order_carrier"), "{vars:?}");
}

#[test]
fn a_status_other_than_2xx_takes_on_error() {
    let mut call = asking(SHOP);
    assert_eq!(
        call.webhook_reply(503, r#"{"found": true}"#),
        [
            r#"webhook_failed {"detail":"HTTP status 503","error":"http_status","latency_ms":0,"node":"lookup","status":503,"target":"sorry"}"#,
            "> sorry",
            r#"play "Error http_status 503.""#,
        ]
    );
    assert!(!call.dialplan.variables().contains_key("order_found"));
}

#[test]
fn a_reply_that_is_not_a_json_object_takes_on_error() {
    for body in ["<html>busy</html>", "[1, 2]", r#""text""#] {
        let mut call = asking(SHOP);
        let log = call.webhook_reply(200, body);
        assert!(log[0].contains(r#""error":"invalid_reply""#), "{log:#?}");
        assert_eq!(nodes(&log), ["sorry"]);
        assert_eq!(call.dialplan.variables()["webhook_error"], "invalid_reply");
    }
}

#[test]
fn no_reply_within_the_timeout_takes_on_error_and_cancels_the_request() {
    let mut call = asking(SHOP);
    assert!(call.wait(1999 * MS).is_empty());
    assert_eq!(
        call.wait(MS),
        [
            "cancel webhook",
            r#"webhook_failed {"detail":"no reply within 2000 ms","error":"timeout","latency_ms":2000,"node":"lookup","status":null,"target":"sorry"}"#,
            "> sorry",
            r#"play "Error timeout .""#,
        ]
    );
    assert!(
        call.webhook_reply(200, SHIPPED).is_empty(),
        "a late reply is ignored"
    );
    assert!(
        call.webhook_failed(WebhookFailure::Timeout, "late")
            .is_empty(),
        "so is a late failure"
    );
    assert_eq!(call.dialplan.current_node(), "sorry");
    assert_eq!(
        call.played(),
        [
            "> bye",
            "hangup {\"by\":\"dialplan\",\"reason\":\"completed\"}",
            "hangup completed"
        ]
    );
}

#[test]
fn on_timeout_is_taken_for_timeouts_only() {
    let plan = SHOP.replace(
        "on_error = \"sorry\"",
        "on_error = \"sorry\"\non_timeout = \"unknown\"",
    );
    let mut call = asking(&plan);
    let log = call.webhook_failed(WebhookFailure::Timeout, "no reply within 2000 ms");
    assert_eq!(
        nodes(&log),
        ["unknown"],
        "the call's own timeout counts too"
    );
    let mut call = asking(&plan);
    assert_eq!(nodes(&call.wait(2 * Duration::from_secs(1))), ["unknown"]);
    let mut call = asking(&plan);
    assert_eq!(nodes(&call.webhook_reply(500, "")), ["sorry"]);
}

#[test]
fn a_failed_connection_takes_on_error() {
    let mut call = asking(SHOP);
    call.wait(3 * MS);
    assert_eq!(
        call.webhook_failed(WebhookFailure::Connection, "connection refused"),
        [
            r#"webhook_failed {"detail":"connection refused","error":"connection","latency_ms":3,"node":"lookup","status":null,"target":"sorry"}"#,
            "> sorry",
            r#"play "Error connection .""#,
        ]
    );
}

#[test]
fn a_caller_hanging_up_while_waiting_cancels_the_request() {
    let mut call = asking(SHOP);
    assert_eq!(
        call.caller_hangs_up(),
        [
            "cancel webhook",
            r#"hangup {"by":"caller","reason":"caller hung up"}"#
        ]
    );
    assert!(call.dialplan.is_finished());
    assert_eq!(call.dialplan.poll_timeout(), None);
    assert!(call.webhook_reply(200, SHIPPED).is_empty());
    assert!(call.wait(Duration::from_secs(5)).is_empty());
}

#[test]
fn keys_pressed_while_waiting_are_kept_for_the_next_step() {
    let mut call = asking(SHOP);
    assert!(call.press("1234#").is_empty());
    assert_eq!(
        nodes(&call.webhook_reply(200, r#"{"found": false}"#)),
        ["found", "unknown"]
    );
    let log = call.played();
    assert_eq!(nodes(&log), ["ask", "lookup"], "typed ahead: {log:#?}");
    assert_eq!(call.dialplan.variables()["order_number"], "1234");
}

#[test]
fn without_send_every_variable_goes_and_without_set_fields_get_reply_prefix() {
    let plan = r#"name = "t"
start = "lookup"
[vars]
lang = "en"
[nodes.lookup.webhook]
url = "http://127.0.0.1:1/q?x=${lang}"
method = "get"
next = "done"
on_error = "done"
[nodes.done]
say = { text = "${reply_status}", next = "end" }
[nodes.end]
hangup = true
"#;
    let mut call = Call::new(
        parse(plan).unwrap(),
        &[("caller", "a b&c")],
        utc("2026-03-02T12:00:00Z"),
    );
    let log = call.start();
    assert_eq!(
        log[2],
        "webhook GET http://127.0.0.1:1/q?x=en&caller=a%20b%26c&lang=en {\"caller\":\"a b&c\",\"lang\":\"en\"} within 3s"
    );
    let log = call.webhook_reply(200, r#"{"status": "ok"}"#);
    assert_eq!(log.last().unwrap(), r#"play "ok""#);
}

#[test]
fn set_maps_chosen_fields_to_variables() {
    let plan = SHOP.replace(
        "prefix = \"order\"",
        "set = { order_found = \"found\", order_status = \"status\", order_carrier = \"shipment.carrier\" }",
    );
    let mut call = asking(&plan);
    let log = call.webhook_reply(
        200,
        r#"{"found": true, "status": "late", "shipment": {"carrier": "UPS"}, "items": 2}"#,
    );
    assert!(
        log[0].contains(
            r#""vars":{"order_carrier":"UPS","order_found":"true","order_status":"late"}"#
        ),
        "{log:#?}"
    );
    assert_eq!(
        log.last().unwrap(),
        r#"play "Order 4 5 1 2 was late with UPS.""#
    );
}

#[test]
fn a_webhook_retried_for_ever_ends_at_the_loop_limit() {
    let plan = SHOP.replace(
        "on_error = \"sorry\"",
        "on_error = \"lookup\"\non_timeout = \"sorry\"",
    );
    let mut call = asking(&plan);
    let mut failures = 0;
    while !call.dialplan.is_finished() {
        failures += 1;
        assert!(failures <= 100, "no end to the retries");
        let log = call.webhook_failed(WebhookFailure::Connection, "refused");
        if call.dialplan.is_finished() {
            assert!(
                log.last().unwrap().starts_with("hangup dialplan loop"),
                "{log:#?}"
            );
        }
    }
    assert!(failures >= 90, "ended after {failures} tries");
}

/// The (line, message) of every load error of `text`.
fn errors(text: &str) -> Vec<(usize, String)> {
    parse(text)
        .expect_err("the dialplan should be rejected")
        .errors
        .into_iter()
        .map(|e| (e.line, e.message))
        .collect()
}

/// A one-node dialplan whose webhook table holds `body`, leading to `end`.
fn webhook_plan(body: &str) -> String {
    format!(
        "name = \"t\"\nstart = \"hook\"\n[nodes.hook.webhook]\n{body}\n[nodes.end]\nhangup = true\n"
    )
}

#[test]
fn load_errors_name_the_line() {
    let base = "url = \"http://127.0.0.1:8090/x\"\nnext = \"end\"\non_error = \"end\"";
    assert!(parse(&webhook_plan(base)).is_ok());
    let cases = [
        (
            "method = \"PATCH\"",
            "unknown method `PATCH`; use one of POST, PUT, GET",
        ),
        ("timeout = \"31s\"", "`timeout` must be at most 30s"),
        ("timeout = \"3\"", "bad duration `3`"),
        ("send = [\"order\"]", "unknown variable `order`"),
        ("send = \"all\"", "`send` must be a list of variable names"),
        ("set = { a = \"x..y\" }", "`x..y` is not a reply field"),
        ("prefix = \"9x\"", "`prefix` `9x` must be a variable name"),
        (
            "set = { a = \"x\" }\nprefix = \"p\"",
            "`set` and `prefix` exclude each other",
        ),
        (
            "on_timeout = \"ende\"",
            "there is no node `ende`; did you mean `end`?",
        ),
        ("retries = 2", "unknown key `retries` in `webhook`"),
    ];
    for (extra, message) in cases {
        let found = errors(&webhook_plan(&format!("{base}\n{extra}")));
        assert_eq!(found.len(), 1, "{extra}: {found:#?}");
        assert_eq!(found[0].0, 7, "{extra}: {found:#?}");
        assert!(found[0].1.contains(message), "{extra}: {found:#?}");
    }
}

#[test]
fn url_and_required_keys() {
    let found = errors(&webhook_plan(
        "url = \"https://shop.test/x\"\nnext = \"end\"\non_error = \"end\"",
    ));
    assert_eq!(found[0].0, 4);
    assert!(
        found[0].1.contains("https is not supported yet"),
        "{found:#?}"
    );
    let found = errors(&webhook_plan(
        "url = \"shop.test/x\"\nnext = \"end\"\non_error = \"end\"",
    ));
    assert!(found[0].1.contains("must start with http://"), "{found:#?}");
    let found = errors(&webhook_plan(
        "url = \"http://x/${ordr}\"\nnext = \"end\"\non_error = \"end\"",
    ));
    assert!(found[0].1.contains("unknown variable `ordr`"), "{found:#?}");
    let found = errors(&webhook_plan("url = \"http://x/\""));
    let messages: Vec<&str> = found.iter().map(|(_, m)| m.as_str()).collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("`webhook` needs `next`")),
        "{messages:#?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("`webhook` needs `on_error`")),
        "{messages:#?}"
    );
}

#[test]
fn reply_variables_are_known_by_prefix_only() {
    let plan = |text: &str| {
        format!(
            "name = \"t\"\nstart = \"hook\"\n[nodes.hook.webhook]\nurl = \"http://x/\"\nprefix = \"order\"\nnext = \"say\"\non_error = \"say\"\n[nodes.say]\nsay = {{ text = \"{text}\", next = \"end\" }}\n[nodes.end]\nhangup = true\n"
        )
    };
    assert!(
        parse(&plan(
            "${order_status} ${webhook_error} ${webhook_http_status}"
        ))
        .is_ok()
    );
    let found = errors(&plan("${ordr_status}"));
    assert!(
        found[0].1.contains("unknown variable `ordr_status`"),
        "{found:#?}"
    );
    let found = errors(&plan("${order_}"));
    assert!(
        found[0].1.contains("unknown variable `order_`"),
        "{found:#?}"
    );
}
