//! sb-store against a real SQLite file (and PostgreSQL when `SWITCHBOARD_TEST_POSTGRES_URL` is set).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use sb_store::{
    Backend, CallFilter, NewCall, OUTCOME_INTERRUPTED, Speaker, Store, StoreWriter, TranscriptLine,
    new_call_id,
};
use serde_json::json;

const POSTGRES_URL_VAR: &str = "SWITCHBOARD_TEST_POSTGRES_URL";
const CRASH_CHILD_VAR: &str = "SB_STORE_CRASH_CHILD_DB";
const CHILD_FLUSHED: &str = "SB_STORE_CHILD_FLUSHED";
/// Events the crash child commits (flush) before it says so.
const FLUSHED: usize = 300;

fn sqlite_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite:{}", dir.path().join("switchboard.db").display())
}

async fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&sqlite_url(&dir)).await.unwrap();
    (dir, store)
}

fn t(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).unwrap()
}

fn new_call(id: &str, from: &str, to: &str, started_at: DateTime<Utc>) -> NewCall {
    NewCall {
        id: id.to_string(),
        from_uri: from.to_string(),
        to_uri: to.to_string(),
        dialplan: Some("support".to_string()),
        started_at,
        recording_path: None,
    }
}

/// A whole call with its events, read back. Runs on any backend.
async fn round_trip(store: &Store) {
    let w = store.writer();
    let id = new_call_id();
    let start = t(1_700_000_000_123);
    w.call_started(NewCall {
        id: id.clone(),
        from_uri: "sip:+15550001@trunk.example".into(),
        to_uri: "sip:100@switchboard".into(),
        dialplan: Some("main-menu".into()),
        started_at: start,
        recording_path: Some("/var/rec/x.wav".into()),
    });
    w.event(&id, start, "invite", json!({"codec": "PCMU"}));
    w.call_answered(&id, t(1_700_000_000_500));
    w.event(&id, t(1_700_000_000_500), "answered", json!(null));
    // Same millisecond: seq keeps the order.
    for i in 0..5 {
        w.event(
            &id,
            t(1_700_000_001_000),
            "dtmf",
            json!({"digit": i.to_string()}),
        );
    }
    w.event(
        &id,
        t(1_700_000_002_000),
        "utterance",
        json!({"text": "héllo \"world\"", "conf": 0.93}),
    );
    w.call_ended(&id, t(1_700_000_003_000), "completed");
    w.flush().await;

    let call = store.get_call(&id).await.unwrap().expect("call stored");
    assert_eq!(call.id, id);
    assert_eq!(call.from_uri, "sip:+15550001@trunk.example");
    assert_eq!(call.to_uri, "sip:100@switchboard");
    assert_eq!(call.started_at, start);
    assert_eq!(call.answered_at, Some(t(1_700_000_000_500)));
    assert_eq!(call.ended_at, Some(t(1_700_000_003_000)));
    assert_eq!(call.outcome.as_deref(), Some("completed"));
    assert_eq!(call.dialplan.as_deref(), Some("main-menu"));
    assert_eq!(call.recording_path.as_deref(), Some("/var/rec/x.wav"));

    let events = store.call_events(&id).await.unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "invite",
            "answered",
            "dtmf",
            "dtmf",
            "dtmf",
            "dtmf",
            "dtmf",
            "utterance"
        ]
    );
    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=8).collect::<Vec<_>>());
    assert!(events.iter().all(|e| e.call_id == id));
    assert_eq!(events[0].at, start);
    assert_eq!(events[0].data, json!({"codec": "PCMU"}));
    assert_eq!(events[1].data, json!(null));
    let digits: Vec<&str> = events[2..7]
        .iter()
        .map(|e| e.data["digit"].as_str().unwrap())
        .collect();
    assert_eq!(digits, ["0", "1", "2", "3", "4"]);
    assert_eq!(
        events[7].data,
        json!({"text": "héllo \"world\"", "conf": 0.93})
    );

    let after = store.call_events_after(&id, 6).await.unwrap();
    assert_eq!(after.iter().map(|e| e.seq).collect::<Vec<_>>(), [7, 8]);

    transcript_round_trip(store, &id).await;

    assert_eq!(store.get_call("no-such-call").await.unwrap(), None);
    assert!(store.call_events("no-such-call").await.unwrap().is_empty());
    assert!(store.transcript("no-such-call").await.unwrap().is_empty());
    assert_eq!(w.failed_writes(), 0);
    assert_eq!(w.queued(), 0);
}

/// Transcript lines come back in speaking order (start time), with every field intact, even
/// when a bot line cut short is written after the caller's line that interrupted it.
async fn transcript_round_trip(store: &Store, id: &str) {
    let w = store.writer();
    let caller = TranscriptLine {
        call_id: id.to_string(),
        speaker: Speaker::Caller,
        start_ms: 2_300,
        end_ms: 3_900,
        text: "order status, please".into(),
        confidence: Some(0.875),
        interrupted_after_ms: None,
        data: json!({"words": [{"word": "order", "start_ms": 2300, "end_ms": 2610}]}),
    };
    let bot = TranscriptLine {
        call_id: id.to_string(),
        speaker: Speaker::Bot,
        start_ms: 500,
        end_ms: 2_400,
        text: "Welcome to the hotline. How can I help?".into(),
        confidence: None,
        interrupted_after_ms: Some(1_900),
        data: json!({}),
    };
    w.transcript_line(caller.clone());
    w.transcript_line(bot.clone());
    w.flush().await;
    assert_eq!(store.transcript(id).await.unwrap(), [bot, caller]);
}

/// 200 concurrent calls × 20 events: all present, each call's events in its own order.
async fn concurrent_calls(store: &Store) {
    const CALLS: usize = 200;
    const EVENTS: usize = 20;
    let base = Utc::now();
    let mut tasks = Vec::new();
    for c in 0..CALLS {
        let w: StoreWriter = store.writer();
        tasks.push(tokio::spawn(async move {
            let id = new_call_id();
            w.call_started(new_call(&id, &format!("sip:{c}@a"), "sip:b@c", base));
            for i in 0..EVENTS {
                w.event(&id, Utc::now(), "tick", json!({"call": c, "i": i}));
                if i.is_multiple_of(3) {
                    tokio::task::yield_now().await;
                }
            }
            w.call_ended(&id, Utc::now(), "completed");
            id
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap());
    }
    store.writer().flush().await;
    for (c, id) in ids.iter().enumerate() {
        let events = store.call_events(id).await.unwrap();
        assert_eq!(events.len(), EVENTS, "call {c}");
        for (i, e) in events.iter().enumerate() {
            assert_eq!(e.seq, i as i64 + 1);
            assert_eq!(e.data, json!({"call": c, "i": i}));
        }
        let call = store.get_call(id).await.unwrap().unwrap();
        assert_eq!(call.outcome.as_deref(), Some("completed"));
    }
    assert_eq!(store.writer().failed_writes(), 0);
}

#[tokio::test]
async fn round_trip_sqlite() {
    let (_dir, store) = temp_store().await;
    assert_eq!(store.backend(), Backend::Sqlite);
    round_trip(&store).await;
}

#[tokio::test]
async fn round_trip_in_memory() {
    let store = Store::open("sqlite::memory:").await.unwrap();
    round_trip(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_sqlite() {
    let (_dir, store) = temp_store().await;
    concurrent_calls(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_when_configured() {
    let Ok(url) = std::env::var(POSTGRES_URL_VAR) else {
        println!("skipped: set {POSTGRES_URL_VAR} to run the PostgreSQL tests");
        return;
    };
    let store = Store::open(&url).await.unwrap();
    assert_eq!(store.backend(), Backend::Postgres);
    // Migrations are idempotent on PostgreSQL too.
    let again = Store::open(&url).await.unwrap();
    round_trip(&again).await;
    round_trip(&store).await;
    concurrent_calls(&store).await;
    // Filters compile and run on PostgreSQL (the table may hold other tests' calls).
    let id = new_call_id();
    let w = store.writer();
    w.call_started(new_call(&id, "sip:PG_Filter%Test@x", "sip:y@z", Utc::now()));
    w.call_ended(&id, Utc::now(), "pg-filter-test");
    w.flush().await;
    let found = store
        .list_calls(&CallFilter {
            from: Some("pg_filter%t".into()),
            to: Some("Y@Z".into()),
            outcome: Some("pg-filter-test".into()),
            since: Some(Utc::now() - chrono::Duration::minutes(5)),
            before: Some(Utc::now() + chrono::Duration::minutes(5)),
            limit: Some(10),
            ..CallFilter::default()
        })
        .await
        .unwrap();
    assert!(found.iter().any(|c| c.id == id));
    store.close().await;
}

#[tokio::test]
async fn list_filters() {
    let (_dir, store) = temp_store().await;
    let w = store.writer();
    let calls = [
        (
            "c1",
            "sip:+15550001@trunk",
            "sip:100@sb",
            1_000,
            Some("completed"),
        ),
        (
            "c2",
            "sip:+15550002@trunk",
            "sip:200@sb",
            2_000,
            Some("abandoned"),
        ),
        (
            "c3",
            "sip:Alice@Example.com",
            "sip:100@sb",
            3_000,
            Some("completed"),
        ),
        ("c4", "sip:bob_1%@example.com", "sip:300@sb", 4_000, None),
        (
            "c5",
            "sip:+15550001@trunk",
            "sip:200@sb",
            5_000,
            Some("completed"),
        ),
    ];
    for (id, from, to, start, outcome) in calls {
        w.call_started(new_call(id, from, to, t(start)));
        if let Some(outcome) = outcome {
            w.call_ended(id, t(start + 500), outcome);
        }
    }
    w.flush().await;
    let ids =
        |calls: Vec<sb_store::CallRecord>| calls.into_iter().map(|c| c.id).collect::<Vec<_>>();
    let list = |f: CallFilter| {
        let store = store.clone();
        async move { ids(store.list_calls(&f).await.unwrap()) }
    };

    assert_eq!(
        list(CallFilter::default()).await,
        ["c5", "c4", "c3", "c2", "c1"]
    );
    assert_eq!(
        list(CallFilter {
            limit: Some(2),
            ..Default::default()
        })
        .await,
        ["c5", "c4"]
    );
    assert_eq!(
        list(CallFilter {
            from: Some("5550001".into()),
            ..Default::default()
        })
        .await,
        ["c5", "c1"]
    );
    // Case-insensitive substring.
    assert_eq!(
        list(CallFilter {
            from: Some("alice@example".into()),
            ..Default::default()
        })
        .await,
        ["c3"]
    );
    // LIKE wildcards in the needle are literal.
    assert_eq!(
        list(CallFilter {
            from: Some("b_1%".into()),
            ..Default::default()
        })
        .await,
        ["c4"]
    );
    assert!(
        list(CallFilter {
            from: Some("b%1".into()),
            ..Default::default()
        })
        .await
        .is_empty()
    );
    assert!(
        list(CallFilter {
            from: Some("_".into()),
            ..Default::default()
        })
        .await
            == ["c4"]
    );
    assert_eq!(
        list(CallFilter {
            to: Some("sip:100".into()),
            ..Default::default()
        })
        .await,
        ["c3", "c1"]
    );
    assert_eq!(
        list(CallFilter {
            outcome: Some("completed".into()),
            ..Default::default()
        })
        .await,
        ["c5", "c3", "c1"]
    );
    assert_eq!(
        list(CallFilter {
            since: Some(t(3_000)),
            ..Default::default()
        })
        .await,
        ["c5", "c4", "c3"]
    );
    assert_eq!(
        list(CallFilter {
            before: Some(t(3_000)),
            ..Default::default()
        })
        .await,
        ["c2", "c1"]
    );
    assert_eq!(
        list(CallFilter {
            to: Some("200".into()),
            outcome: Some("completed".into()),
            since: Some(t(1_500)),
            limit: Some(5),
            ..Default::default()
        })
        .await,
        ["c5"]
    );
    assert!(
        list(CallFilter {
            outcome: Some("nope".into()),
            ..Default::default()
        })
        .await
        .is_empty()
    );
}

#[tokio::test]
async fn flush_means_committed_and_visible_to_other_connections() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&sqlite_url(&dir)).await.unwrap();
    // A second, independent pool on the same file: sees only committed data.
    let other = Store::open(&sqlite_url(&dir)).await.unwrap();
    let w = store.writer();

    // Flushing with nothing queued returns at once.
    tokio::time::timeout(Duration::from_secs(1), w.flush())
        .await
        .unwrap();

    let id = new_call_id();
    w.call_started(new_call(&id, "a", "b", Utc::now()));
    for i in 0..100 {
        w.event(&id, Utc::now(), "e", json!(i));
    }
    // Several flushes in flight at once all resolve.
    let w2 = w.clone();
    let w3 = store.writer();
    tokio::join!(w.flush(), w2.flush(), w3.flush());
    assert_eq!(w.queued(), 0);
    assert_eq!(other.call_events(&id).await.unwrap().len(), 100);

    // No timed delay: without any flush, a lone event is committed promptly.
    w.event(&id, Utc::now(), "lone", json!({}));
    let begun = Instant::now();
    loop {
        if other.call_events(&id).await.unwrap().len() == 101 {
            break;
        }
        assert!(
            begun.elapsed() < Duration::from_secs(2),
            "lone event not committed within 2 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    // Dropping every handle still commits what was queued (the writer drains before stopping).
    w.event(&id, Utc::now(), "last", json!({}));
    drop((w, w2, w3));
    store.close().await;
    let events = other.call_events(&id).await.unwrap();
    assert_eq!(events.last().unwrap().kind, "last");
}

#[tokio::test]
async fn a_bad_write_does_not_take_its_batch_down() {
    let (_dir, store) = temp_store().await;
    let w = store.writer();
    let id = new_call_id();
    // Queued together, so committed in one batch: the duplicate id fails, the rest must stay.
    w.call_started(new_call(&id, "first", "b", t(1_000)));
    w.event(&id, t(1_001), "one", json!(1));
    w.call_started(new_call(&id, "duplicate", "b", t(2_000)));
    w.event(&id, t(1_002), "two", json!(2));
    w.call_ended(&id, t(3_000), "completed");
    w.flush().await;
    assert_eq!(w.failed_writes(), 1);
    let call = store.get_call(&id).await.unwrap().unwrap();
    assert_eq!(call.from_uri, "first");
    assert_eq!(call.outcome.as_deref(), Some("completed"));
    let kinds: Vec<String> = store
        .call_events(&id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["one", "two"]);

    // An event for a call whose row is missing is still kept; updates of unknown calls are no-ops.
    w.event("orphan", t(5), "x", json!({}));
    w.call_answered("orphan", t(6));
    w.call_ended("orphan", t(7), "completed");
    w.flush().await;
    assert_eq!(store.call_events("orphan").await.unwrap().len(), 1);
    assert_eq!(w.failed_writes(), 1);
}

#[tokio::test]
async fn first_answer_and_first_end_win_and_recording_path_updates() {
    let (_dir, store) = temp_store().await;
    let w = store.writer();
    w.call_started(new_call("c", "a", "b", t(1_000)));
    w.call_answered("c", t(2_000));
    w.call_answered("c", t(2_500));
    w.recording_path("c", "/rec/c.wav");
    w.call_ended("c", t(3_000), "completed");
    w.call_ended("c", t(4_000), "failed");
    w.flush().await;
    let call = store.get_call("c").await.unwrap().unwrap();
    assert_eq!(call.answered_at, Some(t(2_000)));
    assert_eq!(call.ended_at, Some(t(3_000)));
    assert_eq!(call.outcome.as_deref(), Some("completed"));
    assert_eq!(call.recording_path.as_deref(), Some("/rec/c.wav"));
}

#[tokio::test]
async fn close_interrupted_calls_closes_only_open_calls() {
    let (_dir, store) = temp_store().await;
    let w = store.writer();
    w.call_started(new_call("done", "a", "b", t(1_000)));
    w.call_ended("done", t(2_000), "completed");
    w.call_started(new_call("open-2", "a", "b", t(3_000)));
    w.call_started(new_call("open-1", "a", "b", t(2_500)));
    w.call_answered("open-1", t(2_600));
    w.flush().await;

    let closed = store.close_interrupted_calls(t(9_000)).await.unwrap();
    let ids: Vec<&str> = closed.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["open-1", "open-2"]);
    assert!(
        closed
            .iter()
            .all(|c| c.ended_at == Some(t(9_000))
                && c.outcome.as_deref() == Some(OUTCOME_INTERRUPTED))
    );
    assert_eq!(closed[0].answered_at, Some(t(2_600)));
    let done = store.get_call("done").await.unwrap().unwrap();
    assert_eq!(done.outcome.as_deref(), Some("completed"));
    assert_eq!(
        store
            .list_calls(&CallFilter {
                outcome: Some(OUTCOME_INTERRUPTED.into()),
                ..Default::default()
            })
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(
        store
            .close_interrupted_calls(t(10_000))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn open_creates_directories_and_migrates_idempotently() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/c/switchboard.db");
    for url in [
        format!("sqlite://{}", path.display()),
        format!("sqlite:{}", path.display()),
    ] {
        let store = Store::open(&url).await.unwrap();
        let w = store.writer();
        w.call_started(new_call(&new_call_id(), "a", "b", Utc::now()));
        w.flush().await;
        store.close().await;
    }
    assert!(path.exists());
    let store = Store::open(&format!("sqlite:{}", path.display()))
        .await
        .unwrap();
    assert_eq!(
        store
            .list_calls(&CallFilter::default())
            .await
            .unwrap()
            .len(),
        2
    );
    let pool = store.sqlite_pool().unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(sync, 1, "synchronous=NORMAL");

    assert!(Store::open("mysql://nope").await.is_err());
}

#[tokio::test]
async fn records_serialize_to_json() {
    let (_dir, store) = temp_store().await;
    let w = store.writer();
    w.call_started(new_call("c", "sip:a", "sip:b", t(1_700_000_000_000)));
    w.event("c", t(1_700_000_000_001), "dtmf", json!({"digit": "5"}));
    w.flush().await;
    let call = serde_json::to_value(store.get_call("c").await.unwrap().unwrap()).unwrap();
    assert_eq!(call["id"], "c");
    assert_eq!(call["from_uri"], "sip:a");
    assert_eq!(call["started_at"], "2023-11-14T22:13:20Z");
    assert_eq!(call["ended_at"], serde_json::Value::Null);
    let event = serde_json::to_value(&store.call_events("c").await.unwrap()[0]).unwrap();
    assert_eq!(event["seq"], 1);
    assert_eq!(event["kind"], "dtmf");
    assert_eq!(event["data"]["digit"], "5");
}

/// Crash durability: a child process (this test binary, re-executed) logs events, flushes,
/// says so, and keeps logging; we SIGKILL it mid-stream and reopen the database.
#[test]
fn kill_9_loses_no_flushed_event() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CRASH_CHILD_VAR, &db)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines_tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if lines_tx.send(line.unwrap_or_default()).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let call_id = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                if let Some(rest) = line.split(CHILD_FLUSHED).nth(1) {
                    break rest.trim().to_string();
                }
            }
            Err(e) => {
                let _ = child.kill();
                panic!("child never reported a flush: {e}");
            }
        }
    };
    // Let it keep writing (unflushed batches in flight), then kill -9.
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap(); // SIGKILL on Unix
    let status = child.wait().unwrap();
    assert!(!status.success());

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = Store::open(&format!("sqlite:{}", db.display()))
            .await
            .unwrap();
        let pool = store.sqlite_pool().unwrap();
        let check: String = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(check, "ok");

        let events = store.call_events(&call_id).await.unwrap();
        assert!(
            events.len() >= FLUSHED,
            "only {} of {FLUSHED} flushed events",
            events.len()
        );
        for (i, e) in events.iter().enumerate() {
            assert_eq!(e.seq, i as i64 + 1);
            assert_eq!(e.data, json!({"i": i}));
        }
        println!(
            "{} events survived kill -9 ({FLUSHED} flushed before it)",
            events.len()
        );

        let call = store.get_call(&call_id).await.unwrap().unwrap();
        assert_eq!(call.ended_at, None);
        let closed = store.close_interrupted_calls(Utc::now()).await.unwrap();
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0].id, call_id);
        assert_eq!(closed[0].outcome.as_deref(), Some(OUTCOME_INTERRUPTED));
    });
}

/// The child half of `kill_9_loses_no_flushed_event`; a no-op unless that test started it.
#[tokio::test]
async fn crash_child() {
    let Some(db) = std::env::var_os(CRASH_CHILD_VAR) else {
        return;
    };
    let store = Store::open(&format!("sqlite:{}", db.to_string_lossy()))
        .await
        .unwrap();
    let w = store.writer();
    let id = new_call_id();
    w.call_started(new_call(&id, "sip:crash@a", "sip:b@c", Utc::now()));
    let mut i = 0usize;
    while i < FLUSHED {
        w.event(&id, Utc::now(), "tick", json!({"i": i}));
        i += 1;
        if i.is_multiple_of(7) {
            tokio::task::yield_now().await;
        }
    }
    w.flush().await;
    println!("{CHILD_FLUSHED} {id}");
    loop {
        for _ in 0..50 {
            w.event(&id, Utc::now(), "tick", json!({"i": i}));
            i += 1;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}
