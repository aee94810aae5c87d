//! QA review through the REST API of the real binary on its real SQLite file: the scorecard,
//! scoring and reading back, comments, every 4xx with its JSON error, personal data masked for
//! the qa role (and its recording bleeped) but clear for a supervisor, the audit log after
//! listening and exporting, the CSV export, and the reports.
//!
//! Calls are written into the gateway's database by the store's own writer (the code path the
//! gateway uses), with a recording made here, as `tests/api.rs` does for speech calls.

use std::path::Path;

use chrono::{Duration, Utc};
use sb_store::{NewCall, Speaker, Store, TranscriptLine};
use serde_json::{Value, json};
use switchboard_e2e::Gateway;
use switchboard_e2e::api_client::{Client, assert_error, new_token, offline_cli};

const QA_PASSWORD: &str = "qa reviewer's passphrase";
const AGENT_PASSWORD: &str = "agent ann's passphrase";

/// What the caller said on the seeded call: a Luhn-valid card number and an e-mail address,
/// then a 4-digit order number that must stay visible.
const PII_LINE: &str = "my card is 4111 1111 1111 1111 and my email is jane@example.com";
const ORDER_LINE: &str = "it is about order 4512";

const SCORECARD: &str = r#"
[scorecard]
name = "Support QA"

[[scorecard.criterion]]
id = "greeting"
label = "Greeted the caller and gave their name"
kind = "yes_no"
weight = 1

[[scorecard.criterion]]
id = "empathy"
label = "Showed empathy"
kind = "scale"
weight = 2
"#;

/// A gateway with the example scorecard, a QA user (`quinn`), an agent (`ann`) and a
/// supervisor token; returns it and the token.
fn gateway() -> (Gateway, String) {
    let qa_hash = offline_cli(&["user", "hash-password"], QA_PASSWORD);
    let agent_hash = offline_cli(&["user", "hash-password"], AGENT_PASSWORD);
    let (token, entry) = new_token("crm", "supervisor");
    let accounts = format!(
        "{SCORECARD}\n[[user]]\nname = \"quinn\"\nrole = \"qa\"\npassword_hash = \"{}\"\n\n[[user]]\nname = \"ann\"\nrole = \"agent\"\npassword_hash = \"{}\"\n\n{entry}",
        qa_hash.trim(),
        agent_hash.trim()
    );
    (Gateway::start(&accounts), token)
}

/// The seeded calls' ids.
struct Seeded {
    /// Ann's call: the card number and e-mail, a recording, queued 20 s before she answered.
    ann: String,
    /// Bob's call, answered by the bot and then by Bob.
    bob: String,
}

/// 12 s of stereo 8 kHz: a 300 Hz tone on both channels (so a bleep shows as a change).
fn write_recording(path: &Path) {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..8000 * 12 {
        let v = (3000.0 * (2.0 * std::f64::consts::PI * 300.0 * i as f64 / 8000.0).sin()) as i16;
        w.write_sample(v).unwrap();
        w.write_sample(v / 2).unwrap();
    }
    w.finalize().unwrap();
}

fn seed(gw: &Gateway) -> Seeded {
    let url = format!("sqlite:{}", gw.dir.path().join("switchboard.db").display());
    let recordings = gw.dir.path().join("recordings");
    std::fs::create_dir_all(&recordings).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = Store::open(&url).await.unwrap();
        let w = store.writer();
        let (ann, bob) = (sb_store::new_call_id(), sb_store::new_call_id());
        let wav = recordings.join(format!("{ann}.wav"));
        write_recording(&wav);
        let now = Utc::now();
        for (i, id) in [&ann, &bob].into_iter().enumerate() {
            let started_at = now - Duration::minutes(5 - i as i64);
            w.call_started(NewCall {
                id: id.clone(),
                from_uri: format!("sip:+1555000{i}@trunk.example"),
                to_uri: "sip:200@switchboard".into(),
                dialplan: Some("assistant".into()),
                started_at,
                recording_path: (i == 0).then(|| wav.display().to_string()),
            });
            w.call_answered(id, started_at);
            w.call_ended(id, started_at + Duration::seconds(12), "completed");
        }
        let line = |id: &str, start_ms: u64, end_ms: u64, text: &str| TranscriptLine {
            call_id: id.to_string(),
            speaker: Speaker::Caller,
            start_ms,
            end_ms,
            text: text.into(),
            confidence: Some(0.9),
            interrupted_after_ms: None,
            data: json!({"words": text.split(' ').map(|w| json!({"word": w})).collect::<Vec<_>>()}),
        };
        w.transcript_line(line(&ann, 2000, 6000, PII_LINE));
        w.transcript_line(line(&ann, 7000, 8000, ORDER_LINE));
        let t = now - Duration::minutes(5);
        w.event(
            &ann,
            t,
            "escalated",
            json!({"intent": "billing", "summary": "card 4111111111111111"}),
        );
        w.event(
            &ann,
            t + Duration::seconds(1),
            "queue_entered",
            json!({"queue": "support"}),
        );
        w.event(
            &ann,
            t + Duration::seconds(21),
            "agent_answered",
            json!({"agent": "ann"}),
        );
        w.call_agent(&ann, "ann");
        w.event(&bob, now, "kb_answer", json!({"intent": "order_status"}));
        w.call_agent(&bob, "bob");
        w.flush().await;
        store.close().await;
        Seeded { ann, bob }
    })
}

#[test]
fn scoring_and_commenting_with_every_error() {
    let (gw, token) = gateway();
    let Seeded { ann: call, bob } = seed(&gw);
    let quinn = Client::sign_in(&gw, "quinn", QA_PASSWORD);
    let ann = Client::sign_in(&gw, "ann", AGENT_PASSWORD);
    let boss = Client::token(&gw, &token);

    let card = quinn.json("/api/scorecard");
    assert_eq!(card["name"], "Support QA");
    assert_eq!(
        card["criteria"],
        json!([
            {"id": "greeting", "label": "Greeted the caller and gave their name", "kind": "yes_no", "weight": 1.0},
            {"id": "empathy", "label": "Showed empathy", "kind": "scale", "weight": 2.0},
        ])
    );

    // Score, read back, replace.
    let scores = format!("/api/calls/{call}/scores");
    let answer = quinn.put_json(
        &scores,
        &json!({"answers": {"greeting": true, "empathy": 4}, "note": "kind, but slow"}),
    );
    assert_eq!(answer.status, 200, "{}", answer.json());
    let mine = answer.json();
    assert_eq!(mine["reviewer"], "quinn");
    assert_eq!(mine["total"], 83.3);
    assert_eq!(mine["note"], "kind, but slow");
    assert!(mine["updated_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(quinn.json(&scores)["scores"], json!([mine]));
    let again = quinn.put_json(
        &scores,
        &json!({"answers": {"greeting": true, "empathy": 5}}),
    );
    assert_eq!(again.json()["total"], 100.0);
    let boss_score = boss.put_json(
        &scores,
        &json!({"answers": {"greeting": false, "empathy": 1}}),
    );
    assert_eq!(boss_score.json()["total"], 0.0);
    let all = quinn.json(&scores)["scores"].as_array().unwrap().clone();
    let totals: Vec<(&str, f64)> = all
        .iter()
        .map(|s| {
            (
                s["reviewer"].as_str().unwrap(),
                s["total"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        totals,
        [("crm", 0.0), ("quinn", 100.0)],
        "one score per reviewer"
    );
    assert!(
        all[1]["note"].is_null(),
        "a new score replaces the note too"
    );
    // Agents read the scores of their own calls.
    assert_eq!(ann.json(&scores)["scores"].as_array().unwrap().len(), 2);

    for (body, says) in [
        (
            json!({"answers": {"greeting": true, "empathy": 4, "tone": 3}}),
            "criterion `tone`: no such criterion",
        ),
        (
            json!({"answers": {"greeting": true}}),
            "criterion `empathy`: no answer given",
        ),
        (
            json!({"answers": {"greeting": "yes", "empathy": 4}}),
            "criterion `greeting`: must be true or false",
        ),
        (
            json!({"answers": {"greeting": true, "empathy": 6}}),
            "criterion `empathy`: must be a whole number from 1 to 5",
        ),
        (
            json!({"answers": {"greeting": true, "empathy": 0}}),
            "from 1 to 5",
        ),
        (
            json!({"answers": {"greeting": true, "empathy": 2.5}}),
            "whole number",
        ),
        (json!({"answers": []}), "send JSON"),
        (json!({"answers": {}, "stars": 5}), "send JSON"),
        (json!({"greeting": true}), "send JSON"),
    ] {
        let answer = quinn.put_json(&scores, &body);
        assert_error(&answer, 400, says);
        if says.starts_with("criterion") {
            assert!(answer.json()["detail"]["problems"].is_array());
        }
    }
    let not_json = quinn.send(
        "PUT",
        &scores,
        &[("Content-Type", "application/json")],
        b"{",
    );
    assert_error(&not_json, 400, "send JSON");
    let good = json!({"answers": {"greeting": true, "empathy": 3}});
    assert_error(
        &quinn.put_json("/api/calls/nope/scores", &good),
        404,
        "no call",
    );
    assert_error(&quinn.get("/api/calls/nope/scores"), 404, "no call");
    assert_error(&ann.put_json(&scores, &good), 403, "agents may not score");
    let bobs_scores = format!("/api/calls/{bob}/scores");
    assert_error(&ann.get(&bobs_scores), 403, "not one of yours");

    // Comments, ordered by their moment in the call.
    let comments = format!("/api/calls/{call}/comments");
    let post = |who: &Client, path: &str, body: Value| {
        let headers = [("Content-Type", "application/json")];
        who.send("POST", path, &headers, body.to_string().as_bytes())
    };
    let made = post(
        &quinn,
        &comments,
        json!({"at_ms": 3000, "text": "read the card back: fail"}),
    );
    assert_eq!(made.status, 201, "{}", made.json());
    let late = made.json();
    assert_eq!(late["author"], "quinn");
    assert_eq!(late["at_ms"], 3000);
    let early = post(
        &ann,
        &comments,
        json!({"at_ms": 500, "text": "  caller was upset  "}),
    );
    assert_eq!(
        early.status,
        201,
        "any reader may comment: {}",
        early.json()
    );
    assert_eq!(early.json()["text"], "caller was upset");
    let listed = quinn.json(&comments)["comments"].clone();
    assert_eq!(listed, json!([early.json(), late]));
    for (body, says) in [
        (json!({"at_ms": 1000, "text": "   "}), "text is empty"),
        (
            json!({"at_ms": 1000, "text": "x".repeat(4001)}),
            "longer than 4000",
        ),
        (
            json!({"at_ms": -1, "text": "x"}),
            "from 0 to its duration 12000 ms",
        ),
        (
            json!({"at_ms": 12001, "text": "x"}),
            "from 0 to its duration 12000 ms",
        ),
        (json!({"at_ms": "soon", "text": "x"}), "send JSON"),
        (json!({"text": "x"}), "send JSON"),
    ] {
        assert_error(&post(&quinn, &comments, body), 400, says);
    }
    let ok = json!({"at_ms": 1, "text": "x"});
    assert_error(
        &post(&quinn, "/api/calls/nope/comments", ok.clone()),
        404,
        "no call",
    );
    let bobs_comments = format!("/api/calls/{bob}/comments");
    assert_error(&post(&ann, &bobs_comments, ok), 403, "not one of yours");
    assert_error(&ann.get(&bobs_comments), 403, "not one of yours");
    // A session's unsafe request needs its CSRF token.
    let mut no_csrf = Client::sign_in(&gw, "quinn", QA_PASSWORD);
    no_csrf.credentials.truncate(1);
    assert_error(&no_csrf.put_json(&scores, &good), 403, "CSRF");
}

/// The recording's samples.
fn samples(wav: &[u8]) -> Vec<i16> {
    hound::WavReader::new(std::io::Cursor::new(wav))
        .unwrap()
        .samples::<i16>()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn redaction_audit_export_and_reports() {
    let (gw, token) = gateway();
    let Seeded { ann: call, bob } = seed(&gw);
    let quinn = Client::sign_in(&gw, "quinn", QA_PASSWORD);
    let ann = Client::sign_in(&gw, "ann", AGENT_PASSWORD);
    let boss = Client::token(&gw, &token);
    let detail = format!("/api/calls/{call}");

    // The qa role sees the card and the e-mail masked, the order number clear.
    let masked = quinn.json(&detail);
    let line = &masked["transcript"][0];
    let text = line["text"].as_str().unwrap();
    assert_eq!(text, "my card is [card ••••1111] and my email is [email]");
    let chars: Vec<char> = text.chars().collect();
    let shown: Vec<String> = line["pii"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            chars[s["start"].as_u64().unwrap() as usize..s["end"].as_u64().unwrap() as usize]
                .iter()
                .collect()
        })
        .collect();
    assert_eq!(shown, ["[card ••••1111]", "[email]"]);
    assert_eq!(line["pii"][0]["kind"], "card");
    assert_eq!(line["pii"][1]["kind"], "email");
    assert!(
        line["words"].is_null(),
        "word timings would spell the number out"
    );
    assert_eq!(masked["transcript"][1]["text"], ORDER_LINE);
    assert_eq!(masked["transcript"][1]["pii"], json!([]));
    assert!(
        !masked.to_string().contains("4111"),
        "no digits of the card anywhere: {masked}"
    );
    assert_eq!(masked["handoff"]["summary"], "card [card ••••1111]");

    // A supervisor sees it all, spans at the original offsets, at the same times.
    let clear = boss.json(&detail);
    let clear_line = &clear["transcript"][0];
    assert_eq!(clear_line["text"], PII_LINE);
    assert_eq!(clear_line["pii"][0]["start"], 11);
    assert_eq!(clear_line["pii"][0]["end"], 30);
    for i in 0..2 {
        for key in ["start_ms", "end_ms"] {
            assert_eq!(clear_line["pii"][i][key], line["pii"][i][key]);
        }
    }
    let card_ms = (
        line["pii"][0]["start_ms"].as_u64().unwrap(),
        line["pii"][0]["end_ms"].as_u64().unwrap(),
    );
    assert!(
        2000 < card_ms.0 && card_ms.0 < card_ms.1 && card_ms.1 < 6000,
        "{card_ms:?}"
    );
    // Searching for the number would tell the qa role which calls hold it.
    assert_error(&quinn.get("/api/calls?q=4111111111111111"), 403, "view_pii");
    assert_error(
        &quinn.get("/api/calls?q=4111%201111%201111%201111"),
        403,
        "view_pii",
    );
    assert_eq!(boss.ids("q=4111%201111%201111%201111"), [call.as_str()]);

    // The qa role's recording differs from the supervisor's in the bleeped spans only.
    let recording = format!("{detail}/recording");
    let original = boss.get(&recording);
    assert_eq!(original.status, 200);
    let on_disk = std::fs::read(gw.dir.path().join(format!("recordings/{call}.wav"))).unwrap();
    assert_eq!(original.body, on_disk);
    let bleeped = quinn.get(&recording);
    assert_eq!(bleeped.status, 200);
    assert_ne!(bleeped.body, original.body);
    let (a, b) = (samples(&original.body), samples(&bleeped.body));
    assert_eq!(a.len(), b.len());
    let spans: Vec<(u64, u64)> = line["pii"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["start_ms"].as_u64().unwrap(),
                s["end_ms"].as_u64().unwrap(),
            )
        })
        .collect();
    let ms = |i: usize| (i / 2) as u64 * 1000 / 8000;
    let (mut inside, mut changed_inside) = (0, 0);
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        let t = ms(i);
        let near = spans.iter().any(|(s, e)| t + 201 >= *s && t <= e + 201);
        if !near {
            assert_eq!(x, y, "changed outside the spans at {t} ms");
        }
        if spans.iter().any(|(s, e)| (*s..*e).contains(&t)) {
            inside += 1;
            changed_inside += usize::from(x != y);
        }
    }
    assert!(
        changed_inside * 10 >= inside * 9,
        "{changed_inside} of {inside} changed"
    );
    // Ranges work on the bleeped copy too.
    let part = quinn.send("GET", &recording, &[("Range", "bytes=0-99")], b"");
    assert_eq!(part.status, 206);
    assert_eq!(part.body, &bleeped.body[..100]);
    assert!(gw.dir.path().join("recordings/redacted").is_dir());

    // The audit log: one listen per user and call however many range requests, a view each.
    let entries = |query: &str| boss.json(&format!("/api/audit?{query}"))["entries"].clone();
    let of_call = entries(&format!("call={call}"));
    let mut seen: Vec<(String, String)> = of_call
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["user"].as_str().unwrap().into(),
                e["action"].as_str().unwrap().into(),
            )
        })
        .collect();
    seen.sort();
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(u, a)| (u.to_string(), a.to_string()))
            .collect()
    };
    assert_eq!(
        seen,
        pairs(&[
            ("crm", "listen"),
            ("crm", "view"),
            ("quinn", "listen"),
            ("quinn", "view")
        ])
    );
    let listen = of_call
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["user"] == "quinn" && e["action"] == "listen")
        .unwrap();
    assert_eq!(listen["address"], "127.0.0.1");
    assert_eq!(listen["role"], "qa");
    assert_error(&quinn.get("/api/audit"), 403, "admin and supervisor");
    assert_error(&ann.get("/api/audit"), 403, "admin and supervisor");
    assert_error(&boss.get("/api/audit?limit=0"), 400, "from 1 to 1000");
    assert_error(&boss.get("/api/audit?since=x"), 400, "unknown parameter");

    // Export: CSV with every call, the reviewers' totals and their mean; audited.
    let scores = format!("/api/calls/{call}/scores");
    quinn.put_json(
        &scores,
        &json!({"answers": {"greeting": true, "empathy": 4}}),
    );
    boss.put_json(
        &scores,
        &json!({"answers": {"greeting": false, "empathy": 5}}),
    );
    let csv_answer = quinn.get("/api/export?format=csv");
    assert_eq!(csv_answer.status, 200);
    assert_eq!(
        csv_answer.header("content-type"),
        Some("text/csv; charset=utf-8")
    );
    let disposition = csv_answer.header("content-disposition").unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"calls-") && disposition.ends_with(".csv\"")
    );
    let mut reader = csv::Reader::from_reader(&csv_answer.body[..]);
    let header = reader.headers().unwrap().clone();
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    let scored = rows.iter().find(|r| r[column("id")] == *call).unwrap();
    assert_eq!(&scored[column("reviewers")], "crm=66.7; quinn=83.3");
    assert_eq!(&scored[column("mean_score")], "75.0");
    assert_eq!(&scored[column("agent_id")], "ann");
    let other = rows.iter().find(|r| r[column("id")] == *bob).unwrap();
    assert_eq!(&other[column("mean_score")], "");
    let as_json = boss.get("/api/export?format=json&agent=ann");
    assert_eq!(as_json.status, 200);
    let exported = as_json.json()["calls"].clone();
    assert_eq!(exported.as_array().unwrap().len(), 1);
    assert_eq!(exported[0]["mean_score"], 75.0);
    assert_eq!(
        exported[0]["scores"][1],
        json!({"reviewer": "quinn", "total": 83.3})
    );
    let agents = ann.get("/api/export?format=json").json();
    let theirs: Vec<&str> = agents["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(theirs, [call.as_str()], "agents export only their calls");
    assert_error(&quinn.get("/api/export?format=xml"), 400, "csv or json");
    assert_error(&quinn.get("/api/export"), 400, "csv or json");
    assert_error(&quinn.get("/api/export?format=csv&limit=0"), 400, "limit");
    assert_error(
        &ann.get("/api/export?format=csv&agent=bob"),
        403,
        "own calls",
    );
    let exports = entries("user=quinn");
    let export = exports
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "export")
        .expect("the export is audited");
    assert_eq!(export["detail"]["count"], 2);
    assert_eq!(export["detail"]["format"], "csv");
    assert!(export["call_id"].is_null());

    // Reports: supervisors only, strict parameters.
    let report = boss.json("/api/reports?by=day");
    assert_eq!(report["by"], "day");
    let totals = &report["totals"];
    assert_eq!(totals["calls"], 2);
    // Both calls reached a person (Bob took his): none was contained.
    assert_eq!(totals["transferred"], 2);
    assert_eq!(totals["transfer_rate"], 1.0);
    assert_eq!(totals["contained"], 0);
    assert_eq!(totals["containment_rate"], 0.0);
    assert_eq!(totals["queued"], 1);
    assert_eq!(totals["abandoned"], 0);
    assert_eq!(totals["abandonment_rate"], 0.0);
    assert_eq!(totals["repeat_callers"], 0);
    assert_eq!(totals["avg_speed_of_answer_secs"], 20.0);
    assert_eq!(totals["avg_handle_secs"], 12.0);
    assert!(totals["satisfaction"].is_null());
    let by_intent = boss.json("/api/reports?by=intent&repeat_days=0");
    let keys: Vec<&str> = by_intent["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["billing", "order_status"]);
    assert_error(&quinn.get("/api/reports"), 403, "admin and supervisor");
    assert_error(&ann.get("/api/reports"), 403, "admin and supervisor");
    for (query, says) in [
        ("by=week", "day or intent"),
        ("repeat_days=-1", "from 0 to 365"),
        ("from=yesterday", "RFC 3339"),
        (
            "from=2030-01-01T00:00:00Z&to=2029-01-01T00:00:00Z",
            "later than",
        ),
        ("by=day&by=intent", "given twice"),
    ] {
        let answer = boss.get(&format!("/api/reports?{query}"));
        assert_error(&answer, 400, says);
        assert!(answer.json()["detail"]["parameter"].is_string());
    }
}
