//! QA review data (scores, comments), the audit log and the reports, on SQLite always and on
//! PostgreSQL too when `SWITCHBOARD_TEST_POSTGRES_URL` is set.

use chrono::{DateTime, Duration, TimeZone, Utc};
use sb_store::{
    AuditFilter, NewAuditEntry, NewCall, ReportBy, ReportQuery, Score, Store, new_call_id,
};
use serde_json::json;

const POSTGRES_URL_VAR: &str = "SWITCHBOARD_TEST_POSTGRES_URL";

fn t(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).unwrap()
}

async fn sqlite() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!("sqlite:{}", dir.path().join("s.db").display()))
        .await
        .unwrap();
    (dir, store)
}

async fn scores_and_comments(store: &Store) {
    let call = new_call_id();
    let score = |reviewer: &str, total: f64, at: i64| Score {
        call_id: call.clone(),
        reviewer: reviewer.into(),
        answers: json!({"greeting": true, "empathy": 4}),
        total,
        note: Some("fine".into()),
        updated_at: t(at),
    };
    store.put_score(&score("quinn", 83.3, 1_000)).await.unwrap();
    store.put_score(&score("sue", 50.0, 2_000)).await.unwrap();
    // The same reviewer again replaces their score.
    let mut again = score("quinn", 100.0, 3_000);
    again.note = None;
    store.put_score(&again).await.unwrap();
    let scores = store.scores(&call).await.unwrap();
    assert_eq!(scores.len(), 2);
    assert_eq!(scores[0], again, "by reviewer");
    assert_eq!(scores[1].reviewer, "sue");
    let totals = store
        .score_totals(&[call.clone(), "other".into()])
        .await
        .unwrap();
    assert_eq!(
        totals,
        [
            (call.clone(), "quinn".into(), 100.0),
            (call.clone(), "sue".into(), 50.0)
        ]
    );

    let late = store
        .add_comment(
            &call,
            "quinn",
            9_000,
            "said the card number twice",
            t(5_000),
        )
        .await
        .unwrap();
    let early = store
        .add_comment(&call, "sue", 1_500, "good greeting", t(6_000))
        .await
        .unwrap();
    assert!(early.id > late.id);
    let comments = store.comments(&call).await.unwrap();
    assert_eq!(
        comments,
        [early, late],
        "ordered by their moment in the call"
    );
    assert!(store.comments("nothing").await.unwrap().is_empty());
}

async fn audit(store: &Store) {
    let call = new_call_id();
    let user = format!("auditor-{call}");
    for (i, action) in ["view", "listen", "export"].into_iter().enumerate() {
        store
            .append_audit(&NewAuditEntry {
                at: t(10_000 + i as i64),
                user: user.clone(),
                role: "qa".into(),
                action: action.into(),
                call_id: (action != "export").then(|| call.clone()),
                address: Some("127.0.0.1".into()),
                detail: json!({"n": i}),
            })
            .await
            .unwrap();
    }
    let mine = AuditFilter {
        user: Some(user.clone()),
        limit: 10,
        ..AuditFilter::default()
    };
    let all = store.audit_entries(&mine).await.unwrap();
    let actions: Vec<&str> = all.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["export", "listen", "view"], "newest first");
    assert_eq!(all[0].detail, json!({"n": 2}));
    let of_call = AuditFilter {
        call_id: Some(call.clone()),
        ..mine.clone()
    };
    assert_eq!(store.audit_entries(&of_call).await.unwrap().len(), 2);
    let window = AuditFilter {
        since: Some(t(10_001)),
        before: Some(t(10_002)),
        ..mine.clone()
    };
    let in_window = store.audit_entries(&window).await.unwrap();
    assert_eq!(in_window.len(), 1);
    assert_eq!(in_window[0].action, "listen");
    let limited = AuditFilter { limit: 1, ..mine };
    assert_eq!(store.audit_entries(&limited).await.unwrap().len(), 1);
}

/// Calls on two days from `base` (a window no other run uses): a contained bot call, an
/// escalated call an agent answered after 20 s in the queue, an abandoned one, a repeat call
/// from the first caller with a survey answer, and one still running.
async fn report(store: &Store, base: i64) {
    let day = 86_400_000;
    let base = base - base % day;
    let w = store.writer();
    let caller = format!("sip:+1{base}@trunk");
    let call = |id: &str, from: &str, start: i64| NewCall {
        id: id.to_string(),
        from_uri: from.to_string(),
        to_uri: "sip:200@sb".into(),
        dialplan: Some("hotline".into()),
        started_at: t(start),
        recording_path: None,
    };
    let ids: Vec<String> = (0..5).map(|_| new_call_id()).collect();
    let [bot, agent, gone, again, live] = [&ids[0], &ids[1], &ids[2], &ids[3], &ids[4]];
    w.call_started(call(bot, &caller, base + 1_000));
    w.call_answered(bot, t(base + 1_000));
    w.event(
        bot,
        t(base + 2_000),
        "kb_answer",
        json!({"intent": "order_status"}),
    );
    w.call_ended(bot, t(base + 61_000), "completed");

    w.call_started(call(agent, "sip:other@trunk", base + 10_000));
    w.call_answered(agent, t(base + 10_000));
    w.event(
        agent,
        t(base + 11_000),
        "escalated",
        json!({"intent": "billing"}),
    );
    w.event(
        agent,
        t(base + 12_000),
        "queue_entered",
        json!({"queue": "support"}),
    );
    w.event(
        agent,
        t(base + 32_000),
        "agent_answered",
        json!({"agent": "ann"}),
    );
    w.call_agent(agent, "ann");
    w.call_ended(agent, t(base + 130_000), "completed");

    w.call_started(call(gone, "sip:third@trunk", base + 20_000));
    w.call_answered(gone, t(base + 20_000));
    w.event(
        gone,
        t(base + 21_000),
        "queue_entered",
        json!({"queue": "support"}),
    );
    w.call_ended(gone, t(base + 50_000), "caller_hangup");

    w.call_started(call(again, &caller, base + day + 5_000));
    w.call_answered(again, t(base + day + 5_000));
    w.event(
        again,
        t(base + day + 6_000),
        "kb_answer",
        json!({"intent": "order_status"}),
    );
    w.event(
        again,
        t(base + day + 9_000),
        "survey_answer",
        json!({"score": 4}),
    );
    w.call_ended(again, t(base + day + 25_000), "completed");

    w.call_started(call(live, "sip:fifth@trunk", base + day + 7_000));
    w.call_answered(live, t(base + day + 7_000));
    w.flush().await;

    let query = ReportQuery {
        since: t(base),
        before: t(base + 2 * day),
        by: ReportBy::Day,
        repeat_days: 7,
    };
    let report = store.report(&query).await.unwrap();
    let totals = &report.totals;
    assert_eq!(totals.key, "all");
    assert_eq!(totals.calls, 5);
    assert_eq!(totals.contained, 2, "{totals:?}");
    assert_eq!(totals.transferred, 2);
    assert_eq!(totals.queued, 2);
    assert_eq!(totals.abandoned, 1);
    assert_eq!(totals.repeat_callers, 1);
    assert_eq!(totals.satisfaction, Some(4.0));
    assert_eq!(totals.avg_speed_of_answer_secs, Some(20.0));
    // (60 + 120 + 30 + 20) / 4 ended, answered calls.
    assert_eq!(totals.avg_handle_secs, Some(57.5));
    assert_eq!(report.rows.len(), 2);
    let first_day = t(base).format("%Y-%m-%d").to_string();
    assert_eq!(report.rows[0].key, first_day);
    assert_eq!(report.rows[0].calls, 3);
    assert_eq!(report.rows[0].repeat_callers, 0);
    assert_eq!(report.rows[1].calls, 2);
    assert_eq!(report.rows[1].repeat_callers, 1);
    assert_eq!(report.rows[1].satisfaction, Some(4.0));

    let by_intent = store
        .report(&ReportQuery {
            by: ReportBy::Intent,
            repeat_days: 0,
            ..query.clone()
        })
        .await
        .unwrap();
    let keys: Vec<(&str, i64)> = by_intent
        .rows
        .iter()
        .map(|r| (r.key.as_str(), r.calls))
        .collect();
    assert_eq!(keys, [("(none)", 2), ("billing", 1), ("order_status", 2)]);
    assert_eq!(by_intent.totals.repeat_callers, 0, "no window, no repeats");

    let empty = store
        .report(&ReportQuery {
            since: t(base + 10 * day),
            before: t(base + 11 * day),
            ..query
        })
        .await
        .unwrap();
    assert_eq!(empty.totals.calls, 0);
    assert!(empty.rows.is_empty());
}

#[tokio::test]
async fn qa_review_audit_and_reports_sqlite() {
    let (_dir, store) = sqlite().await;
    scores_and_comments(&store).await;
    audit(&store).await;
    report(&store, 1_700_000_000_000).await;
}

#[tokio::test]
async fn qa_review_audit_and_reports_postgres_when_configured() {
    let Ok(url) = std::env::var(POSTGRES_URL_VAR) else {
        println!("skipped: set {POSTGRES_URL_VAR} to run the PostgreSQL tests");
        return;
    };
    let store = Store::open(&url).await.unwrap();
    scores_and_comments(&store).await;
    audit(&store).await;
    // Two days far from other tests' windows (theirs are around now × 10), cleared of what an
    // earlier run of this test left there.
    let base = Utc::now().timestamp_millis() * 20;
    let base = base - base % 86_400_000;
    sqlx::query("DELETE FROM calls WHERE started_at >= $1 AND started_at < $2")
        .bind(base)
        .bind(base + 2 * 86_400_000)
        .execute(store.postgres_pool().unwrap())
        .await
        .unwrap();
    report(&store, base).await;
    store.close().await;
}

#[tokio::test]
async fn a_requeue_counts_as_transferred_and_an_overflow_is_not_abandoned() {
    let (_dir, store) = sqlite().await;
    let w = store.writer();
    let id = new_call_id();
    w.call_started(NewCall {
        id: id.clone(),
        from_uri: "sip:a@b".into(),
        to_uri: "sip:c@d".into(),
        dialplan: None,
        started_at: t(0) + Duration::days(1),
        recording_path: None,
    });
    w.event(&id, t(90_000_000), "requeued", json!({"queue": "billing"}));
    w.event(&id, t(90_001_000), "queue_overflow", json!({}));
    w.flush().await;
    let report = store
        .report(&ReportQuery {
            since: t(0),
            before: t(0) + Duration::days(2),
            by: ReportBy::Day,
            repeat_days: 7,
        })
        .await
        .unwrap();
    assert_eq!(report.totals.transferred, 1);
    assert_eq!(
        report.totals.abandoned, 0,
        "an overflow is not an abandonment"
    );
}
