//! The `webhook` step end to end: a caller keys an order number, the gateway asks a real demo
//! shop process over HTTP, and the call's timeline holds the reply's variables and the branch
//! taken; with the shop not running, the error path is taken within the timeout.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use switchboard_e2e::{Gateway, binary, events_of, repo};

/// The demo shop binary, built beside `switchboard`.
fn demo_shop_binary() -> PathBuf {
    let path = binary().with_file_name("switchboard-demo-shop");
    assert!(
        path.exists(),
        "{} is missing: run `cargo build -p demo-shop` first (make test does)",
        path.display()
    );
    path
}

/// A free loopback TCP port with nothing listening on it.
fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running demo shop, stopped when dropped.
struct DemoShop {
    child: Child,
    /// Where it listens: `127.0.0.1:PORT`.
    addr: String,
    log: PathBuf,
}

impl DemoShop {
    /// Starts the shop with the demo orders on a free port and waits for `/healthz`.
    fn start(dir: &Path) -> DemoShop {
        let port = free_tcp_port();
        let log = dir.join("demo-shop.log");
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(demo_shop_binary())
            .args(["--listen", &format!("127.0.0.1:{port}"), "--orders"])
            .arg(repo().join("demo/orders.json"))
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        let shop = DemoShop {
            child,
            addr: format!("127.0.0.1:{port}"),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !healthy(port) {
            assert!(
                Instant::now() < deadline,
                "the demo shop did not come up:\n{}",
                shop.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        shop
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for DemoShop {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether `GET /healthz` on `port` answers 200.
fn healthy(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let request = "GET /healthz HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n";
    let mut response = String::new();
    stream.write_all(request.as_bytes()).is_ok()
        && stream.read_to_string(&mut response).is_ok()
        && response.starts_with("HTTP/1.1 200")
}

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
