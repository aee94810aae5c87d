//! Fills an SQLite store with synthetic calls for the QA API benchmark (`bench/qa_api.py`): by
//! default 100,000 calls over the last 60 days with 10 transcript lines each (1,000,000 lines).
//!
//!     cargo run --release -p sb-store --example fill_store -- sqlite:/tmp/qa.db
//!     cargo run --release -p sb-store --example fill_store -- URL --calls 1000 --lines 10
//!
//! Rows are written as the store's writer leaves them (call rows with their summary and report
//! columns, numbered events and transcript lines, the search index filled by the migration's
//! trigger), but in bulk: a thousand calls per transaction, many rows per statement. FTS5
//! flushes its pending index data at every statement, so one-row inserts cost about 0.4–0.9 ms
//! a line once the index holds a million (plenty for live calls, but the writer's path took
//! most of an hour for this store on 2 cores); 2,000 rows per statement cost 0.01 ms a line.
//!
//! A fifth of the calls are handed to agents (escalated, queued, answered or abandoned), callers
//! come from a pool of 30,000 numbers (so some call again within days), 1 % of the calls have a
//! card number or an e-mail address said on them, and every tenth has a survey answer.
//! Progress goes to standard error.

use std::time::Instant;

use chrono::{Duration, Utc};
use sb_store::{Store, new_call_id};
use serde_json::json;
use sqlx::{QueryBuilder, Sqlite};

/// A small deterministic generator (xorshift64*): the same arguments give the same store.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const INTENTS: [&str; 6] = [
    "order_status",
    "billing",
    "refund",
    "delivery",
    "opening_hours",
    "complaint",
];
const DIALPLANS: [&str; 3] = ["hotline", "assistant", "keypad"];
const CALLER_SAYS: [&str; 12] = [
    "hi I am calling about my order {n} it has not arrived yet",
    "I was charged twice on my last invoice",
    "can I get a refund for the blender I returned",
    "where is my parcel the tracking page says delayed",
    "what time do you open on saturday",
    "this is ridiculous I have been waiting for a week",
    "I want to speak to a person please",
    "the delivery driver left it at the wrong address",
    "my discount code does not work at checkout",
    "yes that is right order {n}",
    "no that is not what I asked",
    "thanks that helps a lot",
];
const BOT_SAYS: [&str; 8] = [
    "Thanks for calling. How can I help you today?",
    "Let me look up order {n} for you.",
    "Your parcel is on its way and should arrive tomorrow.",
    "I am sorry about that. Let me get someone who can help.",
    "Your refund was issued and takes three to five days.",
    "We are open from nine to six on weekdays and ten to four on Saturdays.",
    "Could you give me your order number please?",
    "Is there anything else I can help you with?",
];
const PII_SAYS: [&str; 2] = [
    "my card number is 4111 1111 1111 1111",
    "you can email me at jane.doe@example.com",
];

fn text(rng: &mut Rng, template: &str) -> String {
    template.replace("{n}", &(1000 + rng.below(9000)).to_string())
}

struct Args {
    url: String,
    calls: u64,
    lines: u64,
}

fn args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let url = it
        .next()
        .ok_or("usage: fill_store URL [--calls N] [--lines PER_CALL]")?;
    let mut parsed = Args {
        url,
        calls: 100_000,
        lines: 10,
    };
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let n: u64 = value
            .parse()
            .map_err(|_| format!("{flag}: {value:?} is not a whole number"))?;
        match flag.as_str() {
            "--calls" => parsed.calls = n,
            "--lines" => parsed.lines = n.max(2),
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    Ok(parsed)
}

/// One call row with the columns the writer keeps.
struct CallRow {
    id: String,
    from_uri: String,
    dialplan: &'static str,
    started_at: i64,
    answered_at: i64,
    ended_at: i64,
    outcome: &'static str,
    intent: &'static str,
    escalated: bool,
    max_frustration: f64,
    agent_id: Option<String>,
    queued_at: Option<i64>,
    agent_answered_at: Option<i64>,
    queue_state: Option<&'static str>,
    satisfaction: Option<f64>,
}

/// (call, seq, at, kind, data)
type EventRow = (String, i64, i64, &'static str, String);
/// (call, seq, speaker, start, end, text, confidence, data)
type LineRow = (
    String,
    i64,
    &'static str,
    i64,
    i64,
    String,
    Option<f64>,
    String,
);

/// Rows per statement, under SQLite's 32,766 bound variables.
const ROWS_PER_STATEMENT: usize = 2000;
/// Calls per transaction.
const CALLS_PER_TRANSACTION: u64 = 1000;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = args()?;
    let store = Store::open(&args.url).await?;
    let pool = store
        .sqlite_pool()
        .ok_or("the generator writes SQLite stores only")?
        .clone();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let span_ms = Duration::days(60).num_milliseconds();
    let first = (Utc::now() - Duration::days(60)).timestamp_millis();
    let started = Instant::now();
    let step = (args.calls / 20).max(1);
    let (mut calls, mut events, mut lines) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..args.calls {
        let id = new_call_id();
        let start = first + span_ms * i as i64 / args.calls.max(1) as i64;
        let answered = start + 300 + rng.below(700) as i64;
        let intent = rng.pick(&INTENTS);
        let mut event = |at: i64, kind: &'static str, data: serde_json::Value| {
            let seq = events
                .iter()
                .rev()
                .take_while(|e: &&EventRow| e.0 == id)
                .count() as i64
                + 1;
            events.push((id.clone(), seq, at, kind, data.to_string()));
        };
        event(answered + 1500, "bot_intent", json!({"intent": intent}));
        let mut ms = 0;
        let mut max_frustration: f64 = 0.0;
        let pii_line = rng.chance(1).then(|| rng.below(args.lines));
        for n in 0..args.lines {
            let caller_turn = n % 2 == 1;
            let line_text = match (caller_turn, pii_line == Some(n)) {
                (true, true) => rng.pick(&PII_SAYS).to_string(),
                (true, false) => {
                    let template = rng.pick(&CALLER_SAYS);
                    text(&mut rng, template)
                }
                (false, _) => {
                    let template = rng.pick(&BOT_SAYS);
                    text(&mut rng, template)
                }
            };
            let length = 1500 + rng.below(3000);
            let frustration = rng.below(100) as f64 / 100.0;
            let (speaker, confidence, data) = if caller_turn {
                max_frustration = max_frustration.max(frustration);
                (
                    "caller",
                    Some(0.9),
                    json!({"emotion": {"score": frustration}}),
                )
            } else {
                ("bot", None, json!({}))
            };
            lines.push((
                id.clone(),
                n as i64 + 1,
                speaker,
                ms as i64,
                (ms + length) as i64,
                line_text,
                confidence,
                data.to_string(),
            ));
            ms += length + 300;
        }
        let talk_end = answered + ms as i64;
        let mut row = CallRow {
            id: id.clone(),
            from_uri: format!("sip:+{}@trunk.example", 15_550_000_000 + rng.below(30_000)),
            dialplan: rng.pick(&DIALPLANS),
            started_at: start,
            answered_at: answered,
            ended_at: talk_end,
            outcome: "completed",
            intent,
            escalated: false,
            max_frustration,
            agent_id: None,
            queued_at: None,
            agent_answered_at: None,
            queue_state: None,
            satisfaction: None,
        };
        if rng.chance(20) {
            row.escalated = true;
            event(
                talk_end,
                "escalated",
                json!({"intent": intent, "reason": "asked"}),
            );
            let queued = talk_end + 200;
            event(queued, "queue_entered", json!({"queue": "support"}));
            row.queued_at = Some(queued);
            if rng.chance(85) {
                let at = queued + 5_000 + rng.below(90_000) as i64;
                let agent = format!("agent{}", rng.below(20));
                event(at, "agent_answered", json!({"agent": agent}));
                row.agent_id = Some(agent);
                row.agent_answered_at = Some(at);
                row.queue_state = Some("answered");
                row.ended_at = at + 60_000 + rng.below(300_000) as i64;
            } else {
                row.queue_state = Some("waiting");
                row.ended_at = queued + rng.below(120_000) as i64;
                row.outcome = "caller_hangup";
            }
        } else if !rng.chance(80) {
            row.outcome = "caller_hangup";
        }
        if rng.chance(10) {
            let score = 1 + rng.below(5);
            event(row.ended_at, "survey_answer", json!({"score": score}));
            row.satisfaction = Some(score as f64);
        }
        event(row.ended_at, "ended", json!({"outcome": row.outcome}));
        calls.push(row);
        if (i + 1) % CALLS_PER_TRANSACTION == 0 || i + 1 == args.calls {
            write(&pool, &calls, &events, &lines).await?;
            calls.clear();
            events.clear();
            lines.clear();
        }
        if (i + 1) % step == 0 || i + 1 == args.calls {
            let secs = started.elapsed().as_secs_f64();
            eprintln!(
                "{:>3} %  {} calls, {} lines  ({:.0} calls/s, {:.0} s)",
                (i + 1) * 100 / args.calls,
                i + 1,
                (i + 1) * args.lines,
                (i + 1) as f64 / secs,
                secs
            );
        }
    }
    sqlx::query("PRAGMA optimize=0x10002")
        .execute(&pool)
        .await?;
    store.close().await;
    eprintln!(
        "done: {} calls, {} transcript lines in {:.0} s",
        args.calls,
        args.calls * args.lines,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// One transaction: the calls, then their events and lines (the search index trigger needs
/// the call row).
async fn write(
    pool: &sqlx::SqlitePool,
    calls: &[CallRow],
    events: &[EventRow],
    lines: &[LineRow],
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    for chunk in calls.chunks(ROWS_PER_STATEMENT / 2) {
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO calls (id, from_uri, to_uri, started_at, answered_at, ended_at, outcome, \
             dialplan, intent, escalated, max_frustration, agent_id, queued_at, \
             agent_answered_at, queue_state, satisfaction) ",
        );
        q.push_values(chunk, |mut b, c| {
            b.push_bind(&c.id)
                .push_bind(&c.from_uri)
                .push_bind("sip:200@switchboard")
                .push_bind(c.started_at)
                .push_bind(c.answered_at)
                .push_bind(c.ended_at)
                .push_bind(c.outcome)
                .push_bind(c.dialplan)
                .push_bind(c.intent)
                .push_bind(c.escalated)
                .push_bind(c.max_frustration)
                .push_bind(&c.agent_id)
                .push_bind(c.queued_at)
                .push_bind(c.agent_answered_at)
                .push_bind(c.queue_state)
                .push_bind(c.satisfaction);
        });
        q.build().execute(&mut *tx).await?;
    }
    for chunk in events.chunks(ROWS_PER_STATEMENT) {
        let mut q: QueryBuilder<Sqlite> =
            QueryBuilder::new("INSERT INTO call_events (call_id, seq, at, kind, data) ");
        q.push_values(chunk, |mut b, e| {
            b.push_bind(&e.0)
                .push_bind(e.1)
                .push_bind(e.2)
                .push_bind(e.3)
                .push_bind(&e.4);
        });
        q.build().execute(&mut *tx).await?;
    }
    for chunk in lines.chunks(ROWS_PER_STATEMENT) {
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO transcript_lines (call_id, seq, speaker, start_ms, end_ms, text, \
             confidence, interrupted_after_ms, data) ",
        );
        q.push_values(chunk, |mut b, l| {
            b.push_bind(&l.0)
                .push_bind(l.1)
                .push_bind(l.2)
                .push_bind(l.3)
                .push_bind(l.4)
                .push_bind(&l.5)
                .push_bind(l.6)
                .push_bind(None::<i64>)
                .push_bind(&l.7);
        });
        q.build().execute(&mut *tx).await?;
    }
    tx.commit().await
}
