//! What the QA views ask of the store: summary columns the writer keeps from events and
//! transcript lines, the list filters on them, full-text search, keyset paging, live updates,
//! and the upgrade of a version-2 database. SQLite always; PostgreSQL too when
//! `SWITCHBOARD_TEST_POSTGRES_URL` is set.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use sb_store::{
    CallCursor, CallFilter, NewCall, Speaker, Store, StoreUpdate, TranscriptLine, new_call_id,
};
use serde_json::json;

const POSTGRES_URL_VAR: &str = "SWITCHBOARD_TEST_POSTGRES_URL";

fn t(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).unwrap()
}

fn caller_line(call_id: &str, text: &str, frustration: Option<f64>) -> TranscriptLine {
    TranscriptLine {
        call_id: call_id.to_string(),
        speaker: Speaker::Caller,
        start_ms: 1000,
        end_ms: 2000,
        text: text.to_string(),
        confidence: Some(0.9),
        interrupted_after_ms: None,
        data: json!({"emotion": frustration.map(|score| json!({"score": score}))}),
    }
}

/// Three calls with unique ids (the PostgreSQL database may hold other runs' calls), started
/// at `base`, +1 s, +2 s: a billing call that was escalated by an angry caller, an order-status
/// call, and a keypad call with no bot at all. Returns their ids, oldest first.
async fn three_calls(store: &Store, base: i64) -> [String; 3] {
    let w = store.writer();
    let ids = [new_call_id(), new_call_id(), new_call_id()];
    for (i, (id, dialplan)) in ids
        .iter()
        .zip(["assistant", "assistant", "keypad"])
        .enumerate()
    {
        w.call_started(NewCall {
            id: id.clone(),
            from_uri: format!("sip:+1555000{i}@trunk"),
            to_uri: "sip:200@sb".into(),
            dialplan: Some(dialplan.into()),
            started_at: t(base + 1000 * i as i64),
            recording_path: None,
        });
    }
    let [angry, calm, keypad] = &ids;
    w.event(
        angry,
        t(base + 10),
        "kb_answer",
        json!({"intent": "billing"}),
    );
    w.transcript_line(caller_line(
        angry,
        "I was charged twice on my invoices",
        Some(0.4),
    ));
    w.transcript_line(caller_line(
        angry,
        "This is ridiculous, get me a person",
        Some(0.85),
    ));
    w.transcript_line(caller_line(angry, "hello?", Some(0.2)));
    w.event(
        angry,
        t(base + 20),
        "escalated",
        json!({"intent": "", "reason": "frustration", "summary": "billing; frustration 0.85"}),
    );
    w.event(
        calm,
        t(base + 1010),
        "bot_intent",
        json!({"intent": "order_status", "slots": {"order": "4512"}}),
    );
    w.transcript_line(caller_line(calm, "Where is my order 4512?", Some(0.1)));
    w.event(keypad, t(base + 2010), "dtmf", json!({"digit": "1"}));
    w.call_agent(calm, "a7");
    w.call_ended(keypad, t(base + 2500), "completed");
    w.flush().await;
    ids
}

/// The filters and search on any backend; `base` keeps this run's calls apart from others'.
async fn filters_and_search(store: &Store, base: i64) {
    let ids_made = three_calls(store, base).await;
    let [angry, calm, keypad] = ids_made.each_ref().map(String::as_str);
    let window = CallFilter {
        since: Some(t(base)),
        before: Some(t(base + 3000)),
        ..CallFilter::default()
    };
    let ids = |filter: CallFilter| async move {
        store
            .list_calls(&filter)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.id)
            .collect::<Vec<_>>()
    };

    let record = store.get_call(angry).await.unwrap().unwrap();
    assert_eq!(record.intent.as_deref(), Some("billing"), "{record:?}");
    assert!(record.escalated);
    assert_eq!(record.max_frustration, Some(0.85), "the highest line wins");
    let record = store.get_call(keypad).await.unwrap().unwrap();
    assert_eq!(
        (record.intent, record.escalated, record.max_frustration),
        (None, false, None)
    );

    assert_eq!(
        ids(window.clone()).await,
        [keypad, calm, angry],
        "newest first"
    );
    let cases: [(CallFilter, Vec<&str>); 13] = [
        (
            CallFilter {
                agent_id: Some("a7".into()),
                ..window.clone()
            },
            vec![calm],
        ),
        (
            CallFilter {
                intent: Some("billing".into()),
                ..window.clone()
            },
            vec![angry],
        ),
        (
            CallFilter {
                intent: Some("refund".into()),
                ..window.clone()
            },
            vec![],
        ),
        (
            CallFilter {
                escalated: Some(true),
                ..window.clone()
            },
            vec![angry],
        ),
        (
            CallFilter {
                escalated: Some(false),
                ..window.clone()
            },
            vec![keypad, calm],
        ),
        (
            CallFilter {
                min_frustration: Some(0.6),
                ..window.clone()
            },
            vec![angry],
        ),
        (
            CallFilter {
                min_frustration: Some(0.9),
                ..window.clone()
            },
            vec![],
        ),
        (
            CallFilter {
                dialplan: Some("keypad".into()),
                ..window.clone()
            },
            vec![keypad],
        ),
        (
            CallFilter {
                text: Some("invoice charged".into()),
                ..window.clone()
            },
            vec![angry],
        ),
        (
            CallFilter {
                text: Some("ORDERS".into()),
                ..window.clone()
            },
            vec![calm],
        ),
        (
            CallFilter {
                text: Some("order invoice".into()),
                ..window.clone()
            },
            vec![],
        ),
        (
            CallFilter {
                text: Some("\"ridiculous\" (*".into()),
                ..window.clone()
            },
            vec![angry],
        ),
        (
            CallFilter {
                text: Some("?!".into()),
                ..window.clone()
            },
            vec![],
        ),
    ];
    for (filter, expected) in cases {
        assert_eq!(ids(filter.clone()).await, expected, "{filter:?}");
    }

    // Keyset paging: two pages of one, then the rest; none repeated, none skipped.
    let first = store
        .list_calls(&CallFilter {
            limit: Some(1),
            ..window.clone()
        })
        .await
        .unwrap();
    let rest = ids(CallFilter {
        after: Some(CallCursor::after(&first[0])),
        ..window.clone()
    })
    .await;
    assert_eq!(first[0].id, keypad);
    assert_eq!(rest, [calm, angry]);
}

#[tokio::test]
async fn summary_columns_filters_and_search_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!("sqlite:{}", dir.path().join("s.db").display()))
        .await
        .unwrap();
    filters_and_search(&store, 1_700_000_000_000).await;
}

#[tokio::test]
async fn summary_columns_filters_and_search_postgres_when_configured() {
    let Ok(url) = std::env::var(POSTGRES_URL_VAR) else {
        println!("skipped: set {POSTGRES_URL_VAR} to run the PostgreSQL tests");
        return;
    };
    let store = Store::open(&url).await.unwrap();
    // A window of time no other run uses.
    let base = Utc::now().timestamp_millis() * 10;
    filters_and_search(&store, base).await;
    store.close().await;
}

#[tokio::test]
async fn watchers_see_committed_changes_in_order() {
    let store = Store::open("sqlite::memory:").await.unwrap();
    let mut updates = store.subscribe();
    let w = store.writer();
    w.call_started(NewCall {
        id: "c".into(),
        from_uri: "sip:a@x".into(),
        to_uri: "sip:b@y".into(),
        dialplan: None,
        started_at: t(1_000),
        recording_path: None,
    });
    w.call_answered("c", t(1_100));
    w.event("c", t(1_200), "dtmf", json!({"digit": "5"}));
    w.event("c", t(1_300), "dtmf", json!({"digit": "6"}));
    w.transcript_line(caller_line("c", "hello", None));
    w.recording_path("c", "/x.wav");
    w.call_agent("c", "a7");
    w.call_ended("c", t(2_000), "completed");
    let mut kinds = Vec::new();
    for _ in 0..6 {
        let update = tokio::time::timeout(Duration::from_secs(5), updates.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(update.call_id(), "c");
        let json = serde_json::to_value(&*update).unwrap();
        kinds.push(json["type"].as_str().unwrap().to_string());
        if let StoreUpdate::Event(event) = &*update {
            // What a watcher is told is what is stored.
            let stored = store.call_events("c").await.unwrap();
            assert!(stored.contains(event), "{event:?} not in {stored:?}");
        }
    }
    assert_eq!(
        kinds,
        [
            "call_started",
            "call_answered",
            "event",
            "event",
            "transcript",
            "call_ended"
        ],
        "in commit order; recording paths and agents are not announced"
    );
}

#[tokio::test]
async fn a_slow_watcher_lags_without_holding_up_the_writer() {
    let store = Store::open("sqlite::memory:").await.unwrap();
    let mut idle = store.subscribe();
    let w = store.writer();
    let count = sb_store::LIVE_UPDATES_BUFFER + 100;
    for i in 0..count {
        w.event("c", t(i as i64), "tick", json!(i));
    }
    w.flush().await;
    assert_eq!(store.call_events("c").await.unwrap().len(), count);
    match idle.recv().await {
        Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
            assert_eq!(missed, 100)
        }
        other => panic!("expected a lag, got {other:?}"),
    }
}

/// A database made by version 2 (the two first migrations, copied from the SQLite folder) with
/// a call in it gets version 3, with its summary columns and search filled in from history.
#[tokio::test]
async fn a_version_2_database_is_upgraded_and_backfilled() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("v2-migrations");
    std::fs::create_dir(&old).unwrap();
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
    for file in ["0001_calls_and_events.sql", "0002_transcript_lines.sql"] {
        std::fs::copy(here.join(file), old.join(file)).unwrap();
    }
    let path = dir.path().join("old.db");
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    sqlx::migrate::Migrator::new(old.as_path())
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    for sql in [
        "INSERT INTO calls (id, from_uri, to_uri, started_at) VALUES ('old', 'sip:a', 'sip:b', 1)",
        r#"INSERT INTO call_events VALUES ('old', 1, 1, 'kb_answer', '{"intent":"billing"}')"#,
        r#"INSERT INTO call_events VALUES ('old', 2, 2, 'escalated', '{"intent":""}')"#,
        r#"INSERT INTO transcript_lines VALUES ('old', 1, 'caller', 0, 1, 'my refund please', 0.9, NULL, '{"emotion":{"score":0.7}}')"#,
    ] {
        sqlx::query(sql).execute(&pool).await.unwrap();
    }
    pool.close().await;

    let store = Store::open(&format!("sqlite:{}", path.display()))
        .await
        .unwrap();
    let call = store.get_call("old").await.unwrap().unwrap();
    assert_eq!(call.intent.as_deref(), Some("billing"));
    assert!(call.escalated);
    assert_eq!(call.max_frustration, Some(0.7));
    let found = store
        .list_calls(&CallFilter {
            text: Some("refunds".into()),
            ..CallFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "old lines are searchable");
}
