//! `switchboard calls …` and `switchboard dialplan check`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use sb_store::{CallFilter, Store, TranscriptLine};

use crate::config::Config;

/// Validates dialplan files and prints every problem as FILE:LINE:COL: REASON; `queues` are
/// the configured queues their `queue` steps may name.
pub fn check_dialplans(
    files: &[PathBuf],
    sounds: &Path,
    queues: &[String],
) -> anyhow::Result<ExitCode> {
    let queues: Vec<&str> = queues.iter().map(String::as_str).collect();
    let mut bad = 0;
    for file in files {
        let loaded = sb_dialog::Dialplan::load(file, sounds)
            .and_then(|plan| plan.check_queues(&queues).map(|()| plan));
        match loaded {
            Ok(plan) => println!(
                "{}: ok ({} nodes, starts at {:?})",
                file.display(),
                plan.node_names().count(),
                plan.start()
            ),
            Err(errors) => {
                bad += 1;
                println!("{errors}");
            }
        }
    }
    Ok(if bad == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn open(config: &Config) -> anyhow::Result<Store> {
    let url = config.store_url();
    Store::open(&url)
        .await
        .with_context(|| format!("opening the store {url}"))
}

/// Prints the newest calls.
pub async fn list(
    config: &Config,
    limit: u32,
    from: Option<String>,
    to: Option<String>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let store = open(config).await?;
    let filter = CallFilter {
        limit: Some(limit),
        from,
        to,
        ..CallFilter::default()
    };
    let calls = store.list_calls(&filter).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&calls)?);
        return Ok(ExitCode::SUCCESS);
    }
    if calls.is_empty() {
        println!("no calls yet (store: {})", config.store_url());
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<36}  {:<19}  {:>7}  {:<14}  {:<28}  TO",
        "ID", "STARTED (UTC)", "SECONDS", "OUTCOME", "FROM"
    );
    for c in calls {
        let seconds = c
            .ended_at
            .map(|e| {
                format!(
                    "{:.1}",
                    (e - c.started_at).num_milliseconds() as f64 / 1000.0
                )
            })
            .unwrap_or_else(|| "live".into());
        println!(
            "{:<36}  {:<19}  {:>7}  {:<14}  {:<28}  {}",
            c.id,
            c.started_at.format("%Y-%m-%d %H:%M:%S"),
            seconds,
            c.outcome.as_deref().unwrap_or("-"),
            c.from_uri,
            c.to_uri
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints one call and its timeline.
pub async fn show(config: &Config, id: &str, json: bool) -> anyhow::Result<ExitCode> {
    let store = open(config).await?;
    let call = if id == "last" {
        store
            .list_calls(&CallFilter {
                limit: Some(1),
                ..CallFilter::default()
            })
            .await?
            .into_iter()
            .next()
    } else {
        match store.get_call(id).await? {
            Some(c) => Some(c),
            None => {
                let matches: Vec<_> = store
                    .list_calls(&CallFilter {
                        limit: Some(10_000),
                        ..CallFilter::default()
                    })
                    .await?
                    .into_iter()
                    .filter(|c| c.id.starts_with(id))
                    .collect();
                if matches.len() > 1 {
                    bail!(
                        "{id:?} matches {} calls; give more of the id",
                        matches.len()
                    );
                }
                matches.into_iter().next()
            }
        }
    };
    let Some(call) = call else {
        bail!("no call {id:?} in {}", config.store_url());
    };
    let events = store.call_events(&call.id).await?;
    let transcript = store.transcript(&call.id).await?;
    if json {
        let v = serde_json::json!({"call": call, "events": events, "transcript": transcript});
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("call       {}", call.id);
    println!("from       {}", call.from_uri);
    println!("to         {}", call.to_uri);
    println!("dialplan   {}", call.dialplan.as_deref().unwrap_or("-"));
    println!("started    {}", call.started_at.to_rfc3339());
    if let Some(a) = call.answered_at {
        println!("answered   {}", a.to_rfc3339());
    }
    match call.ended_at {
        Some(e) => println!(
            "ended      {} ({:.1} s)",
            e.to_rfc3339(),
            (e - call.started_at).num_milliseconds() as f64 / 1000.0
        ),
        None => println!("ended      - (still running, or the gateway stopped)"),
    }
    println!("outcome    {}", call.outcome.as_deref().unwrap_or("-"));
    for line in agent_lines(&events) {
        println!("agent      {line}");
    }
    println!(
        "recording  {}",
        call.recording_path.as_deref().unwrap_or("-")
    );
    println!("\ntimeline");
    for e in events {
        let offset = (e.at - call.started_at).num_milliseconds() as f64 / 1000.0;
        let data = if e.data.as_object().is_some_and(|o| o.is_empty()) {
            String::new()
        } else {
            e.data.to_string()
        };
        println!("  {offset:>8.3}s  {:<18} {data}", e.kind);
    }
    if !transcript.is_empty() {
        println!("\ntranscript (seconds from the answer)");
        for line in &transcript {
            print_transcript_line(line);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One line per agent who talked with the caller: who, how long the caller waited in which
/// queue before, and how long they talked (`anna: waited 12.4 s in support, talked 95.0 s`).
fn agent_lines(events: &[sb_store::CallEvent]) -> Vec<String> {
    let seconds = |v: &serde_json::Value| v.as_f64().map(|ms| ms / 1000.0);
    let mut lines: Vec<String> = Vec::new();
    let mut queue = None;
    // The agent talking now and since when, until their part ends.
    let mut talking: Option<chrono::DateTime<chrono::Utc>> = None;
    let close = |lines: &mut Vec<String>, talked: f64| {
        if let Some(last) = lines.last_mut() {
            last.push_str(&format!(", talked {talked:.1} s"));
        }
    };
    for e in events {
        match e.kind.as_str() {
            "queue_entered" => queue = e.data["queue"].as_str().map(str::to_string),
            "agent_connected" => {
                lines.push(format!(
                    "{}: waited {:.1} s in {}",
                    e.data["agent"].as_str().unwrap_or("?"),
                    seconds(&e.data["waited_ms"]).unwrap_or(0.0),
                    queue.as_deref().unwrap_or("a queue")
                ));
                talking = Some(e.at);
            }
            "transferred" if e.data["agent"].is_string() => {
                if let Some(since) = talking.take() {
                    close(
                        &mut lines,
                        (e.at - since).num_milliseconds() as f64 / 1000.0,
                    );
                }
                lines.push(format!(
                    "{}: transferred to",
                    e.data["agent"].as_str().unwrap_or("?")
                ));
                talking = Some(e.at);
            }
            "agent_hung_up" | "ended" => {
                if let Some(since) = talking.take() {
                    close(
                        &mut lines,
                        (e.at - since).num_milliseconds() as f64 / 1000.0,
                    );
                }
            }
            _ => {}
        }
    }
    lines
}

/// `   12.340–14.020  caller  order status please  (confidence 0.87, frustration 0.10)`
fn print_transcript_line(line: &TranscriptLine) {
    let mut note = Vec::new();
    if let Some(c) = line.confidence {
        note.push(format!("confidence {c:.2}"));
    }
    if let Some(ms) = line.interrupted_after_ms {
        note.push(format!("interrupted after {:.1} s", ms as f64 / 1000.0));
    }
    let emotion = &line.data["emotion"];
    if let Some(score) = emotion["score"].as_f64() {
        // Cues are stored by name ("asked_for_human"); printed as words.
        let cues: Vec<String> = emotion["cues"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c.as_str())
            .map(|c| c.replace('_', " "))
            .collect();
        match cues.is_empty() {
            true => note.push(format!("frustration {score:.2}")),
            false => note.push(format!("frustration {score:.2}: {}", cues.join(", "))),
        }
    }
    let note = if note.is_empty() {
        String::new()
    } else {
        format!("  ({})", note.join(", "))
    };
    println!(
        "  {:>8.3}–{:<8.3} {:<7} {}{note}",
        line.start_ms as f64 / 1000.0,
        line.end_ms as f64 / 1000.0,
        line.speaker.as_str(),
        line.text
    );
}
