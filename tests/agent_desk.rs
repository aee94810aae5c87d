//! The agent desk's REST endpoints against the real binary. An agent's phone (baresip)
//! registers and the agent shows signed in and available; set away, a caller who presses 0
//! waits in the queue instead of ringing it; set available, the phone rings at once. Then every
//! refusal: each role's limits, CSRF, bad bodies, unknown agents, no sign-in.

use std::process::Child;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchboard_e2e::api_client::{Client, assert_error, new_token, offline_cli};
use switchboard_e2e::baresip::Baresip;
use switchboard_e2e::tools::wait_for_event;
use switchboard_e2e::{Gateway, events_of, repo};

const ANNA_PASSWORD: &str = "anna's desk passphrase";
const QA_PASSWORD: &str = "quinn's review passphrase";

/// One queue, agents Anna and Ben (phones `<id>-pw`), and their desk accounts: Anna signs in
/// as an agent, Quinn as QA; returns the gateway and a supervisor token.
fn gateway_with_desk() -> (Gateway, String) {
    let anna_hash = offline_cli(&["user", "hash-password"], ANNA_PASSWORD);
    let qa_hash = offline_cli(&["user", "hash-password"], QA_PASSWORD);
    let (token, token_entry) = new_token("boss", "supervisor");
    let config = format!(
        "[[queue]]\nname = \"support\"\nskills = [\"support\"]\nring_timeout_secs = 30\n\
         max_wait_secs = 60\noverflow = \"node:agents_busy\"\nwrap_up_secs = 2\n\n\
         [[agent]]\nid = \"anna\"\nname = \"Anna\"\npassword = \"anna-pw\"\nskills = {{ support = 9 }}\n\n\
         [[agent]]\nid = \"ben\"\nname = \"Ben\"\npassword = \"ben-pw\"\nskills = {{ support = 5 }}\n\n\
         [[user]]\nname = \"anna\"\nrole = \"agent\"\npassword_hash = \"{}\"\n\n\
         [[user]]\nname = \"quinn\"\nrole = \"qa\"\npassword_hash = \"{}\"\n\n{token_entry}",
        anna_hash.trim(),
        qa_hash.trim(),
    );
    (Gateway::start(&config), token)
}

/// Polls `GET path` until `done(answer)` holds; returns that answer, or panics after `timeout`.
fn poll(client: &Client, path: &str, timeout: Duration, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        let answer = client.json(path);
        if done(&answer) {
            return answer;
        }
        assert!(
            Instant::now() < deadline,
            "GET {path} still answers {answer:#} after {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Our own caller, killed when dropped so a failing test leaves no call running.
struct Caller(Child);

impl Drop for Caller {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn an_away_agent_is_not_rung_until_set_available() {
    let (gw, token) = gateway_with_desk();
    let boss = Client::token(&gw, &token);
    let anna = Client::sign_in(&gw, "anna", ANNA_PASSWORD);
    let dir = tempfile::tempdir().unwrap();
    let hold = repo().join("sounds/hold_music.wav");
    let phone = Baresip::agent(dir.path(), &hold, ("anna", "anna-pw"), gw.addr, false, None);

    // Registering the phone signs Anna in.
    let me = poll(&anna, "/api/agents/anna", Duration::from_secs(15), |a| {
        a["signed_in"] == true
    });
    assert_eq!(me["state"], "available", "{me:#}\nphone:\n{}", phone.log());
    assert_eq!(me["reachable"], true, "{me:#}");
    assert_eq!(me["name"], "Anna");
    assert_eq!(me["skills"], json!({ "support": 9 }));
    assert_eq!(me["queues"], json!(["support"]));
    assert_eq!(me["calls_today"], 0);
    assert_eq!(me["call"], Value::Null);
    assert_eq!(me["seconds_since_last_call"], Value::Null);
    let everyone = boss.json("/api/agents");
    let ids: Vec<&str> = everyone
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["anna", "ben"], "config order");
    assert_eq!(everyone[1]["signed_in"], false, "Ben has no phone");
    assert_eq!(everyone[1]["state"], "away");
    let mine = anna.json("/api/agents");
    assert_eq!(
        mine.as_array().unwrap().len(),
        1,
        "an agent sees itself: {mine}"
    );

    // Anna takes a break: the answer and every later read say so, and the log keeps who did it.
    let away = anna.put_json("/api/agents/anna/state", &json!({ "state": "away" }));
    assert_eq!(away.status, 200, "{}", away.json());
    assert_eq!(away.json()["state"], "away");
    assert_eq!(anna.json("/api/agents/anna")["state"], "away");
    let log = gw.log();
    assert!(
        log.contains("audit: agent state changed through the API who=anna role=agent via=session agent=anna requested=Away"),
        "an audit line:\n{log}"
    );
    assert!(
        log.contains("agent state set at the agent desk agent=anna requested_by=anna"),
        "the center's line:\n{log}"
    );

    // A caller who asks for an agent waits: nobody free may take the call.
    let _caller = Caller(
        gw.caller(&["--dtmf", "0", "--dtmf-delay", "3.5", "--duration", "40"])
            .spawn()
            .unwrap(),
    );
    let entered = wait_for_event(
        &gw,
        "last",
        "queue_entered",
        |_| true,
        Duration::from_secs(20),
    );
    let id = entered["call"]["id"].as_str().unwrap().to_string();
    let queues = poll(&boss, "/api/queues", Duration::from_secs(5), |q| {
        q[0]["waiting"].as_array().is_some_and(|w| !w.is_empty())
    });
    let support = &queues[0];
    assert_eq!(support["name"], "support");
    assert_eq!(support["waiting"][0]["call"], id.as_str(), "{support:#}");
    assert_eq!(support["waiting"][0]["position"], 1);
    assert_eq!(support["waiting"][0]["priority"], 10, "general");
    assert_eq!(support["ringing"], json!([]), "the away agent is not rung");
    assert_eq!(support["agents_by_state"]["away"], 2, "{support:#}");
    assert!(events_of(&gw.call(&id), "agent_ringing").is_empty());

    // The supervisor sets Anna available: she is rung for the waiting call at once.
    let back = boss.put_json("/api/agents/anna/state", &json!({ "state": "available" }));
    assert_eq!(back.status, 200, "{}", back.json());
    let back = back.json();
    assert_eq!(back["state"], "ringing", "{back:#}");
    assert_eq!(back["call"], id.as_str());
    wait_for_event(
        &gw,
        &id,
        "agent_ringing",
        |d| d["agent"] == "anna",
        Duration::from_secs(10),
    );
    let support = &boss.json("/api/queues")[0];
    assert_eq!(support["waiting"], json!([]), "{support:#}");
    assert_eq!(support["ringing"][0]["call"], id.as_str(), "{support:#}");
    assert_eq!(support["ringing"][0]["agent"], "anna");
    assert!(
        gw.log()
            .contains("who=boss role=supervisor via=token agent=anna"),
        "the supervisor's change is audited too"
    );
}

#[test]
fn every_refusal_is_a_clear_json_error() {
    let (gw, token) = gateway_with_desk();
    let boss = Client::token(&gw, &token);
    let anna = Client::sign_in(&gw, "anna", ANNA_PASSWORD);
    let quinn = Client::sign_in(&gw, "quinn", QA_PASSWORD);
    let anyone = Client::anonymous(&gw);
    let away = json!({ "state": "away" });

    for path in ["/api/agents", "/api/agents/anna", "/api/queues"] {
        assert_error(&anyone.get(path), 401, "sign in");
    }
    assert_error(
        &anyone.put_json("/api/agents/anna/state", &away),
        401,
        "sign in",
    );

    // An agent: only itself, no queues; an unknown id is refused like another agent's.
    assert_error(&anna.get("/api/agents/ben"), 403, "only themselves");
    assert_error(&anna.get("/api/agents/nobody"), 403, "only themselves");
    assert_error(&anna.get("/api/queues"), 403, "queues");
    assert_error(
        &anna.put_json("/api/agents/ben/state", &away),
        403,
        "only their own state",
    );
    // QA reads everything and changes nothing.
    assert_eq!(quinn.json("/api/agents").as_array().unwrap().len(), 2);
    assert_eq!(quinn.json("/api/queues")[0]["name"], "support");
    assert_error(
        &quinn.put_json("/api/agents/anna/state", &away),
        403,
        "qa role",
    );

    // A session must prove the page is ours on a change.
    let cookie_only = Client {
        web: gw.web,
        credentials: vec![anna.credentials[0].clone()],
    };
    assert_error(
        &cookie_only.put_json("/api/agents/anna/state", &away),
        403,
        "X-CSRF-Token",
    );

    // Unknown agents.
    let unknown = boss.get("/api/agents/nobody");
    assert_error(&unknown, 404, "no agent with this id");
    assert_eq!(unknown.json()["detail"]["id"], "nobody");
    assert_error(
        &boss.put_json("/api/agents/nobody/state", &away),
        404,
        "no agent with this id",
    );

    // Bodies that are not {"state": "available" | "away"}: 400 naming the problem.
    let json_header = [("Content-Type", "application/json")];
    for (body, names) in [
        (r#"{"state": "on_call"}"#, "unknown variant `on_call`"),
        ("{}", "missing field `state`"),
        (
            r#"{"state": "away", "why": "lunch"}"#,
            "unknown field `why`",
        ),
        ("away", "expected value"),
    ] {
        let answer = anna.send(
            "PUT",
            "/api/agents/anna/state",
            &json_header,
            body.as_bytes(),
        );
        assert_error(&answer, 400, "send JSON");
        let detail = answer.json()["detail"].to_string();
        assert!(detail.contains(names), "{body}: {detail}");
    }
    let untyped = anna.send(
        "PUT",
        "/api/agents/anna/state",
        &[],
        away.to_string().as_bytes(),
    );
    assert_error(&untyped, 400, "Content-Type: application/json");
    assert_eq!(
        anna.json("/api/agents/anna")["state"],
        "away",
        "refused changes changed nothing (no phone: away)"
    );
}
