//! Fills a store with synthetic calls for the QA API benchmark (`bench/qa_api.py`): by default
//! 100,000 calls over the last 60 days with 10 transcript lines each (1,000,000 lines), written
//! through the store's own writer, so the summary columns, the search index and the report
//! columns are what the gateway would leave.
//!
//!     cargo run --release -p sb-store --example fill_store -- sqlite:/tmp/qa.db
//!     cargo run --release -p sb-store --example fill_store -- URL --calls 1000 --lines 10
//!
//! A fifth of the calls are handed to agents (escalated, queued, answered or abandoned), callers
//! come from a pool of 30,000 numbers (so some call again within days), 1 % of the calls have a
//! card number or an e-mail address said on them, and every tenth has a survey answer.
//! Progress goes to standard error.

use std::time::Instant;

use chrono::{Duration, Utc};
use sb_store::{NewCall, Speaker, Store, TranscriptLine, new_call_id};
use serde_json::json;

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

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = args()?;
    let store = Store::open(&args.url).await?;
    let w = store.writer();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let span_ms = Duration::days(60).num_milliseconds();
    let first = Utc::now() - Duration::days(60);
    let started = Instant::now();
    let step = (args.calls / 20).max(1);
    for i in 0..args.calls {
        let id = new_call_id();
        let start = first + Duration::milliseconds(span_ms * i as i64 / args.calls.max(1) as i64);
        let caller = 15_550_000_000 + rng.below(30_000);
        w.call_started(NewCall {
            id: id.clone(),
            from_uri: format!("sip:+{caller}@trunk.example"),
            to_uri: "sip:200@switchboard".into(),
            dialplan: Some(rng.pick(&DIALPLANS).to_string()),
            started_at: start,
            recording_path: None,
        });
        let answered = start + Duration::milliseconds(300 + rng.below(700) as i64);
        w.call_answered(&id, answered);
        let intent = rng.pick(&INTENTS);
        let at = |ms: u64| answered + Duration::milliseconds(ms as i64);
        w.event(&id, at(1500), "bot_intent", json!({"intent": intent}));
        let mut ms = 0;
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
            w.transcript_line(TranscriptLine {
                call_id: id.clone(),
                speaker: if caller_turn {
                    Speaker::Caller
                } else {
                    Speaker::Bot
                },
                start_ms: ms,
                end_ms: ms + length,
                text: line_text,
                confidence: caller_turn.then_some(0.9),
                interrupted_after_ms: None,
                data: if caller_turn {
                    json!({"emotion": {"score": frustration}})
                } else {
                    json!({})
                },
            });
            ms += length + 300;
        }
        let mut end = at(ms);
        let outcome = if rng.chance(20) {
            w.event(
                &id,
                at(ms),
                "escalated",
                json!({"intent": intent, "reason": "asked"}),
            );
            w.event(
                &id,
                at(ms + 200),
                "queue_entered",
                json!({"queue": "support"}),
            );
            if rng.chance(85) {
                let waited = 5_000 + rng.below(90_000);
                let agent = format!("agent{}", rng.below(20));
                w.event(
                    &id,
                    at(ms + 200 + waited),
                    "agent_answered",
                    json!({"agent": agent}),
                );
                w.call_agent(&id, &agent);
                end = at(ms + 200 + waited + 60_000 + rng.below(300_000));
                "completed"
            } else {
                end = at(ms + 200 + rng.below(120_000));
                "caller_hangup"
            }
        } else if rng.chance(80) {
            "completed"
        } else {
            "caller_hangup"
        };
        if rng.chance(10) {
            w.event(
                &id,
                end,
                "survey_answer",
                json!({"score": 1 + rng.below(5)}),
            );
        }
        w.call_ended(&id, end, outcome);
        // Keeps the writer's queue (and memory) bounded.
        if (i + 1) % 500 == 0 {
            w.flush().await;
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
    w.flush().await;
    if w.failed_writes() > 0 {
        return Err(format!("{} writes failed (see the log)", w.failed_writes()).into());
    }
    store.close().await;
    eprintln!(
        "done: {} calls, {} transcript lines in {:.0} s",
        args.calls,
        args.calls * args.lines,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
