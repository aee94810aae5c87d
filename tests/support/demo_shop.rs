//! The demo order-status service (crates/demo-shop) as a test peer: started on a free port,
//! stopped when dropped.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::{binary, repo};

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
pub fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running demo shop, stopped when dropped.
pub struct DemoShop {
    child: Child,
    /// Where it listens: `127.0.0.1:PORT`.
    pub addr: String,
    log: PathBuf,
}

impl DemoShop {
    /// Starts the shop with the demo orders on a free port and waits for `/healthz`.
    pub fn start(dir: &Path) -> DemoShop {
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

    /// What the shop logged so far (one line per request).
    pub fn log(&self) -> String {
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
