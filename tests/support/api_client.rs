//! The REST API as the end-to-end tests use it: a client holding one set of credentials (none,
//! a bearer token, or a signed-in session with its CSRF token), the check every JSON error
//! must pass, and the binary's offline `user …` commands that make accounts.

use std::net::SocketAddr;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::http::{Response, request};
use crate::{Gateway, binary, output_text};

/// Makes an API token with `switchboard user new-token NAME --role ROLE`; returns the token
/// and the `[[token]]` entry to append to a config.
pub fn new_token(name: &str, role: &str) -> (String, String) {
    let made = offline_cli(&["user", "new-token", name, "--role", role], "");
    let token = made
        .lines()
        .find_map(|l| l.strip_prefix("token: "))
        .expect("new-token prints the token")
        .to_string();
    let entry = made[made.find("[[token]]").expect("and its config entry")..].to_string();
    (token, entry)
}

/// Runs the binary without a gateway (`user …` commands), `stdin` piped in; returns stdout.
pub fn offline_cli(args: &[&str], stdin: &str) -> String {
    let mut child = Command::new(binary())
        .args(["--config", "/dev/null"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", output_text(&out));
    String::from_utf8(out.stdout).unwrap()
}

/// Requests with one set of credentials.
pub struct Client {
    /// The web server.
    pub web: SocketAddr,
    /// Headers sent with every request: `Authorization`, or `Cookie` then `X-CSRF-Token`.
    pub credentials: Vec<(String, String)>,
}

impl Client {
    /// A client without credentials.
    pub fn anonymous(gw: &Gateway) -> Client {
        Client {
            web: gw.web,
            credentials: Vec::new(),
        }
    }

    /// A client sending `Authorization: Bearer <token>`.
    pub fn token(gw: &Gateway, token: &str) -> Client {
        Client {
            web: gw.web,
            credentials: vec![("Authorization".into(), format!("Bearer {token}"))],
        }
    }

    /// Signs in; the client then sends the session cookie and the CSRF token.
    pub fn sign_in(gw: &Gateway, name: &str, password: &str) -> Client {
        let body = json!({ "name": name, "password": password }).to_string();
        let answer = Client::anonymous(gw).send(
            "POST",
            "/api/session",
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        );
        assert_eq!(answer.status, 200, "{}", answer.json());
        let cookie = answer.header("set-cookie").unwrap();
        let session = cookie.split(';').next().unwrap().to_string();
        let csrf = answer.json()["csrf_token"].as_str().unwrap().to_string();
        Client {
            web: gw.web,
            credentials: vec![("Cookie".into(), session), ("X-CSRF-Token".into(), csrf)],
        }
    }

    /// Sends a request with the credentials and `headers`.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        let mut all: Vec<(&str, &str)> = self
            .credentials
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        all.extend_from_slice(headers);
        request(self.web, method, path, &all, body)
    }

    /// GET.
    pub fn get(&self, path: &str) -> Response {
        self.send("GET", path, &[], b"")
    }

    /// PUT with a JSON body.
    pub fn put_json(&self, path: &str, body: &Value) -> Response {
        let headers = [("Content-Type", "application/json")];
        self.send("PUT", path, &headers, body.to_string().as_bytes())
    }

    /// GET, asserting 200 and a JSON body.
    pub fn json(&self, path: &str) -> Value {
        let answer = self.get(path);
        assert_eq!(answer.status, 200, "GET {path}: {}", answer.json());
        answer.json()
    }

    /// The ids of the calls `GET /api/calls?query` lists.
    pub fn ids(&self, query: &str) -> Vec<String> {
        self.json(&format!("/api/calls?{query}"))["calls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect()
    }
}

/// Asserts a JSON error: the status, `error` containing `says`, and a `detail` key.
pub fn assert_error(answer: &Response, status: u16, says: &str) {
    let body = answer.json();
    assert_eq!(answer.status, status, "{body}");
    assert_eq!(
        answer.header("content-type"),
        Some("application/json"),
        "{body}"
    );
    assert!(
        body["error"].as_str().is_some_and(|e| e.contains(says)),
        "expected an error saying {says:?}: {body}"
    );
    assert!(body.get("detail").is_some(), "{body}");
}
