//! The `webhook` step end to end: a caller keys an order number, the gateway asks a real demo
//! shop process over HTTP, and the call's timeline holds the reply's variables and the branch
//! taken; with the shop not running, the error path is taken within the timeout.

use std::process::{Command, Stdio};
use std::time::Duration;

use switchboard_e2e::demo_shop::{DemoShop, free_tcp_port};
use switchboard_e2e::{Gateway, binary, events_of, repo};

/// A gateway whose only dialplan is the keyed order-status test plan asking `shop` (host:port).
fn gateway(shop: &str) -> (Gateway, tempfile::TempDir) {
    let plans = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(repo().join("tests/data/webhook/order_status.toml"))
        .unwrap()
        .replace("SHOP_ADDR", shop);
    std::fs::write(plans.path().join("order_status.toml"), text).unwrap();
    let gw = Gateway::start_with_default_dialplan(plans.path(), "order_status", "");
    (gw, plans)
}

/// Calls the gateway and keys `keys` a second after the answer; returns the finished call.
fn call_with_keys(gw: &Gateway, keys: &str, calls_before: usize) -> serde_json::Value {
    let out = Command::new(binary())
        .arg("call")
        .arg(format!("sip:100@{}", gw.addr))
        .args(["--dtmf", keys, "--dtmf-delay", "1", "--duration", "10"])
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let calls = gw.wait_for_ended_calls(calls_before + 1, Duration::from_secs(15));
    gw.call(calls[0]["id"].as_str().unwrap())
}

/// The nodes the call entered, in order.
fn nodes(call: &serde_json::Value) -> Vec<String> {
    events_of(call, "node_entered")
        .iter()
        .map(|e| e["data"]["node"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_gateway_asks_the_demo_shop_and_branches_on_its_reply() {
    let dir = tempfile::tempdir().unwrap();
    let shop = DemoShop::start(dir.path());
    let (gw, _plans) = gateway(&shop.addr);

    let call = call_with_keys(&gw, "4512#", 0);
    let sent = events_of(&call, "webhook_sent");
    assert_eq!(sent.len(), 1, "{call:#}");
    assert_eq!(
        sent[0]["data"]["url"],
        format!("http://{}/orders/status", shop.addr)
    );
    let replies = events_of(&call, "webhook_reply");
    assert_eq!(replies.len(), 1, "{call:#}\n{}", gw.log());
    let reply = &replies[0]["data"];
    assert_eq!(reply["status"], 200);
    assert_eq!(reply["vars"]["order_found"], "true");
    assert_eq!(reply["vars"]["order_status"], "shipped");
    assert_eq!(reply["vars"]["order_carrier"], "DHL");
    assert_eq!(reply["vars"]["order_eta"], "Tuesday");
    assert!(reply["latency_ms"].as_u64().unwrap() < 2000, "{reply}");
    assert_eq!(
        nodes(&call),
        [
            "order_number",
            "order_lookup",
            "order_result",
            "order_known"
        ]
    );
    let hangups = events_of(&call, "hangup");
    assert_eq!(hangups[0]["data"]["reason"], "order found", "{call:#}");

    let call = call_with_keys(&gw, "9999#", 1);
    let replies = events_of(&call, "webhook_reply");
    assert_eq!(
        replies[0]["data"]["vars"]["order_found"], "false",
        "{call:#}"
    );
    assert_eq!(nodes(&call).last().unwrap(), "order_unknown");

    let log = shop.log();
    assert!(
        log.contains("order_id=\"4512\"") && log.contains("order_id=\"9999\""),
        "the shop logs each request:\n{log}"
    );
}

#[test]
fn without_the_shop_the_error_path_is_taken_at_once() {
    let (gw, _plans) = gateway(&format!("127.0.0.1:{}", free_tcp_port()));
    let call = call_with_keys(&gw, "4512#", 0);
    let failures = events_of(&call, "webhook_failed");
    assert_eq!(failures.len(), 1, "{call:#}\n{}", gw.log());
    let failure = &failures[0]["data"];
    assert_eq!(failure["error"], "connection", "{failure}");
    assert!(
        failure["latency_ms"].as_u64().unwrap() < 2000,
        "a refused connection fails before the timeout: {failure}"
    );
    assert_eq!(failure["target"], "order_system_down");
    assert!(events_of(&call, "webhook_reply").is_empty());
    assert_eq!(nodes(&call).last().unwrap(), "order_system_down");
    let hangups = events_of(&call, "hangup");
    assert_eq!(hangups[0]["data"]["reason"], "order system down");
}
