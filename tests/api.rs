//! The REST API and live events against the real binary and its real SQLite file: SIPp and our
//! own caller place calls while a WebSocket watches; then the list with each filter (one value
//! that matches, one that does not), the detail, the recording with HTTP ranges, every route of
//! the OpenAPI document, sign-in with sessions, CSRF and tokens, the agent's limits, and every
//! error path answered with a clear JSON error.
//!
//! Transcripts, intents, escalations and frustration scores come from speech calls, which take
//! a minute of model time each; here such calls are written into the gateway's database by
//! the store's own writer (`sb_store::StoreWriter`, the code path the gateway uses), and the
//! API reads them back like any call.

use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sb_store::{NewCall, Speaker, Store, TranscriptLine};
use serde_json::{Value, json};
use switchboard_e2e::api_client::{Client, assert_error, new_token, offline_cli};
use switchboard_e2e::sipp::{assert_sipp_ok, sipp, sipp_dir};
use switchboard_e2e::{Gateway, output_text};
use tungstenite::client::IntoClientRequest;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

const QA_PASSWORD: &str = "qa reviewer's passphrase";
const AGENT_PASSWORD: &str = "agent ann's passphrase";

/// A gateway with a QA user, an agent (`ann`) and a supervisor token made by the CLI helpers;
/// returns it and the token.
fn gateway_with_accounts() -> (Gateway, String) {
    let qa_hash = offline_cli(&["user", "hash-password"], &format!("{QA_PASSWORD}\n"));
    let agent_hash = offline_cli(&["user", "hash-password"], AGENT_PASSWORD);
    let (token, entry) = new_token("crm", "supervisor");
    let accounts = format!(
        "\n[[user]]\nname = \"quinn\"\nrole = \"qa\"\npassword_hash = \"{}\"\n\n[[user]]\nname = \"ann\"\nrole = \"agent\"\npassword_hash = \"{}\"\n\n{entry}",
        qa_hash.trim(),
        agent_hash.trim()
    );
    (Gateway::start(&accounts), token)
}

type Events = WebSocket<MaybeTlsStream<TcpStream>>;

/// Opens `/api/events{query}` with the given credentials; Err(status) when refused.
fn connect_events(web: SocketAddr, query: &str, header: (&str, &str)) -> Result<Events, u16> {
    let mut req = format!("ws://{web}/api/events{query}")
        .into_client_request()
        .unwrap();
    let name: tungstenite::http::HeaderName = header.0.parse().unwrap();
    req.headers_mut().insert(name, header.1.parse().unwrap());
    match tungstenite::connect(req) {
        Ok((mut socket, _)) => {
            if let MaybeTlsStream::Plain(s) = socket.get_mut() {
                s.set_read_timeout(Some(Duration::from_millis(200)))
                    .unwrap();
            }
            Ok(socket)
        }
        Err(tungstenite::Error::Http(answer)) => Err(answer.status().as_u16()),
        Err(e) => panic!("connecting to /api/events: {e}"),
    }
}

/// The next JSON message, or None if none comes within the socket's read timeout.
fn next_update(socket: &mut Events) -> Option<Value> {
    loop {
        match socket.read() {
            Ok(Message::Text(text)) => return Some(serde_json::from_str(&text).unwrap()),
            Ok(_) => continue,
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return None;
            }
            Err(e) => panic!("reading /api/events: {e}"),
        }
    }
}

/// Messages until `done(message)` holds (that one included), or panics after `timeout`.
fn updates_until(
    socket: &mut Events,
    timeout: Duration,
    done: impl Fn(&Value) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + timeout;
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        if let Some(update) = next_update(socket) {
            let finished = done(&update);
            seen.push(update);
            if finished {
                return seen;
            }
        }
    }
    panic!("the awaited update did not come within {timeout:?}; got {seen:#?}");
}

#[test]
fn real_calls_through_the_api_live_events_and_recording() {
    let (gw, token) = gateway_with_accounts();
    let admin = Client::token(&gw, &token);
    let auth = format!("Bearer {token}");
    let mut everything = connect_events(gw.web, "", ("Authorization", &auth)).unwrap();

    // SIPp: PCMA speech, then key 1, BYE after about 9 s.
    let dir = sipp_dir();
    let (sipp_out, mut seen) = std::thread::scope(|scope| {
        let sipp_run = scope.spawn(|| sipp(dir.path(), &gw, &["-sn", "uac_pcap", "-m", "1"]));
        let started = updates_until(&mut everything, Duration::from_secs(10), |u| {
            u["type"] == "call_started"
        });
        let sipp_call = started.last().unwrap()["call_id"]
            .as_str()
            .unwrap()
            .to_string();
        // While it runs: a socket for that call only, and a second caller beside it.
        let mut one = connect_events(
            gw.web,
            &format!("?call={sipp_call}"),
            ("Authorization", &auth),
        )
        .unwrap();
        let ours = gw.place_call(&["--dtmf", "2", "--duration", "2"]);
        assert!(ours.status.success(), "{}", output_text(&ours));
        let sipp_out = sipp_run.join().unwrap();
        let only = updates_until(&mut one, Duration::from_secs(15), |u| {
            u["type"] == "call_ended"
        });
        assert!(
            only.iter().all(|u| u["call_id"] == sipp_call.as_str()),
            "?call= keeps other calls out: {only:#?}"
        );
        assert!(
            only.iter()
                .any(|u| u["kind"] == "dtmf" && u["data"]["digit"] == "1"),
            "{only:#?}"
        );
        (sipp_out, started)
    });
    assert_sipp_ok(&sipp_out, dir.path(), &gw);

    // The unfiltered socket saw both calls start, run and end, each call's events in order,
    // and what it was told is what the store holds.
    let sipp_call = seen.last().unwrap()["call_id"]
        .as_str()
        .unwrap()
        .to_string();
    seen.extend(updates_until(
        &mut everything,
        Duration::from_secs(15),
        |u| u["type"] == "call_ended" && u["call_id"] == sipp_call.as_str(),
    ));
    while let Some(more) = next_update(&mut everything) {
        seen.push(more);
    }
    let calls = admin.json("/api/calls")["calls"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(calls.len(), 2, "{calls:#?}");
    let ours_id = calls
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .find(|id| *id != sipp_call)
        .unwrap()
        .to_string();
    for id in [&sipp_call, &ours_id] {
        let of_call: Vec<&Value> = seen
            .iter()
            .filter(|u| u["call_id"] == id.as_str())
            .collect();
        let types: Vec<&str> = of_call
            .iter()
            .map(|u| u["type"].as_str().unwrap())
            .collect();
        assert_eq!(types.first(), Some(&"call_started"), "{types:?}");
        assert_eq!(types.last(), Some(&"call_ended"), "{types:?}");
        assert!(types.contains(&"call_answered"), "{types:?}");
        let streamed: Vec<&Value> = of_call
            .iter()
            .filter(|u| u["type"] == "event")
            .copied()
            .collect();
        let stored = admin.json(&format!("/api/calls/{id}"))["events"].clone();
        let stored = stored.as_array().unwrap();
        assert_eq!(
            streamed.len(),
            stored.len(),
            "every event, live: {streamed:#?}"
        );
        for (live, kept) in streamed.iter().zip(stored) {
            for key in ["seq", "at", "kind", "data"] {
                assert_eq!(live[key], kept[key], "{live} vs {kept}");
            }
        }
    }

    // The list: newest first, every field.
    let sipp_row = calls
        .iter()
        .find(|c| c["id"] == sipp_call.as_str())
        .unwrap();
    assert_eq!(calls[0]["id"], ours_id.as_str(), "newest first");
    assert_eq!(sipp_row["caller"], "sipp", "{sipp_row}");
    assert_eq!(sipp_row["dialled"], "100", "{sipp_row}");
    assert_eq!(sipp_row["dialplan"], "keypad");
    assert_eq!(sipp_row["outcome"], "caller_hangup");
    assert_eq!(sipp_row["escalated"], false);
    assert_eq!(sipp_row["intent"], Value::Null);
    assert!(
        sipp_row["duration_ms"].as_i64().unwrap() > 7000,
        "{sipp_row}"
    );
    assert!(sipp_row["answered_at"].is_string());
    let recording_url = format!("/api/calls/{sipp_call}/recording");
    assert_eq!(sipp_row["recording_url"], recording_url.as_str());

    // Each filter: a value that finds the SIPp call, one that does not.
    let started: DateTime<Utc> = sipp_row["started_at"].as_str().unwrap().parse().unwrap();
    let rfc = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let second = chrono::Duration::seconds(1);
    let cases = [
        (
            format!(
                "from={}&to={}",
                rfc(started - second),
                rfc(started + second)
            ),
            true,
        ),
        (
            format!("from={}", rfc(started + chrono::Duration::hours(1))),
            false,
        ),
        ("caller=SIPP".into(), true),
        ("caller=%2B15559999".into(), false),
        ("dialled=100".into(), true),
        ("dialled=999".into(), false),
        ("dialplan=keypad".into(), true),
        ("dialplan=assistant".into(), false),
        ("outcome=caller_hangup".into(), true),
        ("outcome=rejected".into(), false),
        ("escalated=false".into(), true),
        ("escalated=true".into(), false),
        ("intent=billing".into(), false),
        ("min_frustration=0.6".into(), false),
        ("q=parcel".into(), false),
        ("agent=ann".into(), false),
    ];
    for (query, finds) in cases {
        let ids = admin.ids(&query);
        assert_eq!(ids.contains(&sipp_call), finds, "?{query} → {ids:?}");
    }
    let first = admin.json("/api/calls?limit=1");
    let next = first["next_cursor"]
        .as_str()
        .expect("a second page")
        .to_string();
    let second_page = admin.json(&format!("/api/calls?limit=1&cursor={next}"));
    assert_eq!(second_page["calls"][0]["id"], sipp_call.as_str());
    assert_eq!(second_page["next_cursor"], Value::Null, "the last page");

    // The detail: record, timeline in order, no transcript on a keypad call, no handoff.
    let detail = admin.json(&format!("/api/calls/{sipp_call}"));
    assert_eq!(detail["call"]["id"], sipp_call.as_str());
    let kinds: Vec<&str> = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"invite"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"ended"), "{kinds:?}");
    assert!(kinds.contains(&"dtmf"), "{kinds:?}");
    let seqs: Vec<i64> = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
    assert_eq!(detail["transcript"], json!([]));
    assert_eq!(detail["handoff"], Value::Null);

    // The recording: whole, a range, an open range, and a range past the end.
    let file = std::fs::read(gw.dir.path().join(format!("recordings/{sipp_call}.wav"))).unwrap();
    let whole = admin.get(&recording_url);
    assert_eq!(whole.status, 200);
    assert_eq!(whole.header("accept-ranges"), Some("bytes"));
    assert!(
        whole.header("content-type").unwrap().starts_with("audio/"),
        "{:?}",
        whole.headers
    );
    assert_eq!(whole.body, file, "the file as it is on disk");
    let part = admin.send("GET", &recording_url, &[("Range", "bytes=0-43")], b"");
    assert_eq!(part.status, 206);
    let size = file.len();
    assert_eq!(
        part.header("content-range"),
        Some(format!("bytes 0-43/{size}").as_str())
    );
    assert_eq!(part.body, &file[..44], "the WAV header");
    assert!(part.body.starts_with(b"RIFF"));
    let tail = admin.send("GET", &recording_url, &[("Range", "bytes=1000-")], b"");
    assert_eq!(tail.status, 206);
    assert_eq!(tail.body, &file[1000..]);
    let past = admin.send(
        "GET",
        &recording_url,
        &[("Range", &format!("bytes={size}-"))],
        b"",
    );
    assert_error(&past, 416, "range");
    assert_eq!(
        past.header("content-range"),
        Some(format!("bytes */{size}").as_str())
    );

    every_documented_operation_answers(&gw, &admin, &sipp_call);
}

/// Every operation in `/api/openapi.json` (fetched without credentials) answers with one of
/// the statuses documented for it.
fn every_documented_operation_answers(gw: &Gateway, admin: &Client, call: &str) {
    let doc = Client::anonymous(gw).json("/api/openapi.json");
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let mut checked = 0;
    for (path, operations) in doc["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            let method = method.to_uppercase();
            let url = path.replace("{id}", call);
            let (headers, body): (Vec<(&str, &str)>, &[u8]) = match (method.as_str(), path.as_str())
            {
                ("POST", "/api/session") => (
                    vec![("Content-Type", "application/json")],
                    br#"{"name": "quinn", "password": "qa reviewer's passphrase"}"#,
                ),
                _ => (Vec::new(), b""),
            };
            let answer = admin.send(&method, &url, &headers, body);
            let documented = &operation["responses"][answer.status.to_string()];
            assert!(
                documented.is_object(),
                "{method} {path} answered {} which the document does not list",
                answer.status
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 25, "operations in the document");
}

/// Calls written into the gateway's database by the store's writer, as speech calls leave
/// them: returns (angry billing call handed over, calm order-status call taken by agent `ann`,
/// a third call of agent `bob`), oldest first.
fn seed_speech_calls(gw: &Gateway) -> [String; 3] {
    let url = format!("sqlite:{}", gw.dir.path().join("switchboard.db").display());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = Store::open(&url).await.unwrap();
        let w = store.writer();
        let ids = [
            sb_store::new_call_id(),
            sb_store::new_call_id(),
            sb_store::new_call_id(),
        ];
        let now = Utc::now();
        for (i, id) in ids.iter().enumerate() {
            let started_at = now - chrono::Duration::minutes(10 - i as i64);
            w.call_started(NewCall {
                id: id.clone(),
                from_uri: format!("sip:+1555000{i}@trunk.example"),
                to_uri: "sip:200@switchboard".into(),
                dialplan: Some("assistant".into()),
                started_at,
                recording_path: None,
            });
            w.call_answered(id, started_at);
            w.call_ended(id, started_at + chrono::Duration::seconds(40), "completed");
        }
        let [angry, calm, bobs] = &ids;
        let line = |id: &str, start_ms: u64, text: &str, score: f64| TranscriptLine {
            call_id: id.to_string(),
            speaker: Speaker::Caller,
            start_ms,
            end_ms: start_ms + 1500,
            text: text.into(),
            confidence: Some(0.9),
            interrupted_after_ms: None,
            data: json!({"words": [], "emotion": {"score": score, "cues": ["negative_words"]}}),
        };
        w.event(
            angry,
            now,
            "kb_answer",
            json!({"intent": "billing", "score": 0.8}),
        );
        w.transcript_line(line(
            angry,
            3000,
            "I was charged twice on my last invoice",
            0.35,
        ));
        w.transcript_line(line(
            angry,
            9000,
            "This is ridiculous, get me a person now",
            0.82,
        ));
        w.event(
            angry,
            now,
            "escalated",
            json!({"reason": "frustration", "intent": "billing", "slots": {},
                   "summary": "billing; frustration 0.82 rising; asked for a human"}),
        );
        w.event(
            calm,
            now,
            "bot_intent",
            json!({"intent": "order_status", "slots": {"order": "4512"}}),
        );
        w.transcript_line(line(calm, 3000, "Where is my parcel, order 4512?", 0.05));
        w.call_agent(calm, "ann");
        w.call_agent(bobs, "bob");
        w.flush().await;
        store.close().await;
        ids
    })
}

#[test]
fn speech_call_filters_handoff_and_the_agents_limits() {
    let (gw, token) = gateway_with_accounts();
    let seeded = seed_speech_calls(&gw);
    let [angry, calm, bobs] = seeded.each_ref().map(String::as_str);
    let qa = Client::sign_in(&gw, "quinn", QA_PASSWORD);
    assert_eq!(qa.ids(""), [bobs, calm, angry]);
    for (query, expected) in [
        ("intent=billing", vec![angry]),
        ("intent=refund", vec![]),
        ("escalated=true", vec![angry]),
        ("escalated=false", vec![bobs, calm]),
        ("min_frustration=0.6", vec![angry]),
        ("min_frustration=0.9", vec![]),
        ("q=invoices", vec![angry]),
        ("q=parcel+4512", vec![calm]),
        ("q=banana", vec![]),
        ("q=charged&escalated=false", vec![]),
        ("agent=ann", vec![calm]),
        ("caller=%2B15550001", vec![calm]),
    ] {
        assert_eq!(qa.ids(query), expected, "?{query}");
    }
    // Three pages of one.
    let mut pages = Vec::new();
    let mut query = "limit=1".to_string();
    loop {
        let page = qa.json(&format!("/api/calls?{query}"));
        pages.push(page["calls"][0]["id"].as_str().unwrap().to_string());
        match page["next_cursor"].as_str() {
            Some(cursor) => query = format!("limit=1&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(pages, [bobs, calm, angry]);

    let detail = qa.json(&format!("/api/calls/{angry}"));
    assert_eq!(detail["call"]["intent"], "billing");
    assert_eq!(detail["call"]["escalated"], true);
    assert_eq!(detail["call"]["max_frustration"], 0.82);
    assert_eq!(detail["call"]["recording_url"], Value::Null);
    let handoff = &detail["handoff"];
    assert_eq!(handoff["reason"], "frustration", "{detail:#}");
    assert!(
        handoff["summary"]
            .as_str()
            .unwrap()
            .contains("asked for a human")
    );
    assert!(handoff["at"].is_string());
    let frustration: Vec<&Value> = detail["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| &l["frustration"])
        .collect();
    assert_eq!(
        frustration,
        [&json!(0.35), &json!(0.82)],
        "emotion per line"
    );
    assert_eq!(
        detail["transcript"][1]["emotion"]["cues"][0],
        "negative_words"
    );
    assert_error(
        &qa.get(&format!("/api/calls/{angry}/recording")),
        404,
        "no recording",
    );

    // Agent ann: her call only.
    let ann = Client::sign_in(&gw, "ann", AGENT_PASSWORD);
    assert_eq!(ann.ids(""), [calm]);
    assert_eq!(ann.ids("agent=ann"), [calm]);
    assert_eq!(
        ann.json(&format!("/api/calls/{calm}"))["call"]["agent_id"],
        "ann"
    );
    for other in [bobs, angry] {
        assert_error(
            &ann.get(&format!("/api/calls/{other}")),
            403,
            "not one of yours",
        );
        assert_error(
            &ann.get(&format!("/api/calls/{other}/recording")),
            403,
            "not one of yours",
        );
    }
    assert_error(&ann.get("/api/calls?agent=bob"), 403, "only their own");
    let cookie = ann.credentials[0].1.as_str();
    assert_eq!(
        connect_events(gw.web, "", ("Cookie", cookie)).err(),
        Some(403),
        "agents name a call"
    );
    assert_eq!(
        connect_events(gw.web, &format!("?call={bobs}"), ("Cookie", cookie)).err(),
        Some(403)
    );
    assert!(connect_events(gw.web, &format!("?call={calm}"), ("Cookie", cookie)).is_ok());

    // The supervisor token sees everything.
    assert_eq!(Client::token(&gw, &token).ids("").len(), 3);
}

#[test]
fn bad_requests_get_clear_json_errors() {
    let (gw, token) = gateway_with_accounts();
    let anyone = Client::anonymous(&gw);
    let admin = Client::token(&gw, &token);

    assert_eq!(anyone.json("/healthz")["status"], "ok");
    assert_eq!(anyone.json("/readyz")["status"], "ready");

    for path in [
        "/api/calls",
        "/api/calls/x",
        "/api/calls/x/recording",
        "/api/events",
        "/api/session",
    ] {
        assert_error(&anyone.get(path), 401, "sign in");
    }
    let forged = Client::token(&gw, "sbt_0123456789");
    assert_error(&forged.get("/api/calls"), 401, "sign in");
    let basic = anyone.send("GET", "/api/calls", &[("Authorization", "Basic YTpi")], b"");
    assert_error(&basic, 401, "sign in");
    assert_eq!(
        connect_events(gw.web, "", ("Authorization", "Bearer nope")).err(),
        Some(401)
    );

    for (query, parameter, says) in [
        ("from=yesterday", "from", "RFC 3339"),
        ("to=2025-13-01T00:00:00Z", "to", "RFC 3339"),
        (
            "from=2025-02-01T00:00:00Z&to=2025-01-01T00:00:00Z",
            "to",
            "later than",
        ),
        ("escalated=yes", "escalated", "true or false"),
        ("min_frustration=high", "min_frustration", "from 0 to 1"),
        ("min_frustration=1.5", "min_frustration", "from 0 to 1"),
        ("limit=500", "limit", "from 1 to 200"),
        ("limit=-1", "limit", "from 1 to 200"),
        ("cursor=page2", "cursor", "next_cursor"),
        ("colour=red", "colour", "unknown parameter"),
        ("outcome=a&outcome=b", "outcome", "twice"),
    ] {
        let answer = admin.get(&format!("/api/calls?{query}"));
        assert_error(&answer, 400, says);
        assert_eq!(answer.json()["detail"]["parameter"], parameter, "?{query}");
    }

    assert_error(
        &admin.get("/api/calls/0190dead-beef"),
        404,
        "no call with this id",
    );
    assert_error(
        &admin.get("/api/calls/0190dead-beef/recording"),
        404,
        "no call with this id",
    );
    assert_eq!(
        connect_events(
            gw.web,
            "?call=0190dead-beef",
            ("Authorization", &format!("Bearer {token}"))
        )
        .err(),
        Some(404)
    );
    assert_eq!(
        connect_events(
            gw.web,
            "?calls=x",
            ("Authorization", &format!("Bearer {token}"))
        )
        .err(),
        Some(400)
    );
    assert_error(&admin.get("/api/events"), 400, "WebSocket");
    assert_error(&admin.get("/api/nothing"), 404, "no such route");
    assert_error(&admin.send("POST", "/api/calls", &[], b""), 405, "method");
}

#[test]
fn sign_in_sessions_csrf_and_tokens() {
    let (gw, token) = gateway_with_accounts();
    let anyone = Client::anonymous(&gw);
    let sign_in = |body: &str, content_type: &str| {
        anyone.send(
            "POST",
            "/api/session",
            &[("Content-Type", content_type)],
            body.as_bytes(),
        )
    };
    assert_error(
        &sign_in(
            r#"{"name": "quinn", "password": "guess"}"#,
            "application/json",
        ),
        401,
        "wrong name or password",
    );
    assert_error(
        &sign_in(
            r#"{"name": "nobody", "password": "guess"}"#,
            "application/json",
        ),
        401,
        "wrong name or password",
    );
    assert_error(
        &sign_in("name=quinn", "application/x-www-form-urlencoded"),
        415,
        "send JSON",
    );
    assert_error(&sign_in("{not json", "application/json"), 400, "send JSON");
    assert_error(
        &sign_in(r#"{"name": "quinn"}"#, "application/json"),
        422,
        "send JSON",
    );

    let body = json!({ "name": "quinn", "password": QA_PASSWORD }).to_string();
    let signed_in = sign_in(&body, "application/json");
    assert_eq!(signed_in.status, 200);
    let cookie = signed_in.header("set-cookie").unwrap();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP on loopback: {cookie}"
    );
    assert_eq!(signed_in.json()["role"], "qa");

    let qa = Client::sign_in(&gw, "quinn", QA_PASSWORD);
    let me = qa.json("/api/session");
    assert_eq!(
        (me["name"].as_str(), me["via"].as_str()),
        (Some("quinn"), Some("session"))
    );
    assert_eq!(me["csrf_token"], qa.credentials[1].1.as_str());
    let cookie_only = Client {
        web: gw.web,
        credentials: vec![qa.credentials[0].clone()],
    };
    assert_error(
        &cookie_only.send("DELETE", "/api/session", &[], b""),
        403,
        "X-CSRF-Token",
    );
    let wrong = cookie_only.send("DELETE", "/api/session", &[("X-CSRF-Token", "0000")], b"");
    assert_error(&wrong, 403, "X-CSRF-Token");
    let cross_site = connect_events(gw.web, "", ("Cookie", &qa.credentials[0].1));
    assert!(cross_site.is_ok(), "same origin (no Origin header)");
    let signed_out = qa.send("DELETE", "/api/session", &[], b"");
    assert_eq!(signed_out.status, 204);
    assert!(
        signed_out
            .header("set-cookie")
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_error(&qa.get("/api/calls"), 401, "sign in");

    let crm = Client::token(&gw, &token);
    let me = crm.json("/api/session");
    assert_eq!(
        (me["role"].as_str(), me["via"].as_str()),
        (Some("supervisor"), Some("token"))
    );
    assert_error(&crm.send("DELETE", "/api/session", &[], b""), 400, "token");
}

#[test]
fn first_start_admin_password_is_printed_kept_and_works() {
    let mut gw = Gateway::start("");
    let log = gw.log();
    let file = gw.dir.path().join("var/admin-password");
    let password = std::fs::read_to_string(&file).unwrap().trim().to_string();
    assert!(
        log.contains(&format!("sign in:   admin / {password}")),
        "printed at start-up:\n{log}"
    );
    let admin = Client::sign_in(&gw, "admin", &password);
    assert_eq!(admin.json("/api/session")["role"], "admin");
    gw.kill9();
    gw.spawn();
    assert_eq!(
        std::fs::read_to_string(&file).unwrap().trim(),
        password,
        "kept across restarts"
    );
    Client::sign_in(&gw, "admin", &password);
}
