//! The shop assistant (`dialplans/assistant.toml`) end to end: a caller asks in their own words
//! (WAVs made with our own `switchboard say`, played by our SIP caller over G.711), the `bot`
//! step understands through the demo knowledge base, fills the order number by voice, confirms
//! it, asks the demo shop and reads the status; an angry caller is handed over with a summary.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use switchboard_e2e::demo_shop::DemoShop;
use switchboard_e2e::tools::{sox, wait_for_event};
use switchboard_e2e::{Gateway, events_of, one_at_a_time, repo, speech_config};

/// The knowledge base settings: the demo shop's, with the example embeddings cached in the
/// clone (the first run embeds them; `crates/kb`'s tests share the same cache).
fn kb_config() -> String {
    format!(
        "\n[kb]\ndir = \"{}\"\nembedding_model = \"{}\"\ncache_dir = \"{}\"\n",
        repo().join("kb/shop").display(),
        repo().join("models/minilm").display(),
        repo().join("var/kb-cache").display(),
    )
}

/// A gateway serving the assistant, its order lookups going to `shop`. The example embeddings
/// are made first by the CLI (minutes on a fresh clone) so the gateway starts at once.
fn assistant(shop: &DemoShop, dir: &Path) -> Gateway {
    let plans = dir.join("dialplans");
    std::fs::create_dir_all(&plans).unwrap();
    let text = std::fs::read_to_string(repo().join("dialplans/assistant.toml"))
        .unwrap()
        .replace("127.0.0.1:8090", &shop.addr);
    std::fs::write(plans.join("assistant.toml"), text).unwrap();
    let gw = Gateway::start_with_default_dialplan(
        &plans,
        "assistant",
        &format!("{}{}", speech_config(), kb_config()),
    );
    assert!(
        gw.log().contains("knowledge base loaded"),
        "the gateway loads the knowledge base:\n{}",
        gw.log()
    );
    gw
}

/// A temp dir, a demo shop and the assistant asking it, the embedding cache filled first.
fn assistant_with_shop() -> (tempfile::TempDir, DemoShop, Gateway) {
    let dir = tempfile::tempdir().unwrap();
    warm_kb_cache(dir.path());
    let shop = DemoShop::start(dir.path());
    let gw = assistant(&shop, dir.path());
    (dir, shop, gw)
}

/// Fills the example embedding cache through `switchboard kb match`, before any gateway waits
/// on it.
fn warm_kb_cache(dir: &Path) {
    let config = dir.join("kb.toml");
    std::fs::write(&config, kb_config()).unwrap();
    let out = std::process::Command::new(switchboard_e2e::binary())
        .arg("--config")
        .arg(&config)
        .args(["kb", "match", "where is my parcel"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "kb match: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The caller's side: `lines` said by our voice at 8 kHz, each after its lead-in silence.
fn caller_audio(gw: &Gateway, dir: &Path, lines: &[(f64, &str)]) -> PathBuf {
    let mut parts = Vec::new();
    for (i, (silence, text)) in lines.iter().enumerate() {
        let said = dir.join(format!("said-{i}.wav"));
        gw.cli(&["say", text, "-o", said.to_str().unwrap(), "--rate", "8000"]);
        let padded = dir.join(format!("part-{i}.wav"));
        sox(&[
            said.to_str().unwrap(),
            padded.to_str().unwrap(),
            "pad",
            &silence.to_string(),
            "0",
        ]);
        parts.push(padded);
    }
    let all = dir.join("caller.wav");
    let mut args: Vec<&str> = parts.iter().map(|p| p.to_str().unwrap()).collect();
    args.push(all.to_str().unwrap());
    sox(&args);
    all
}

/// Calls the assistant playing `audio`; returns the call once `node` was entered.
fn call_until(gw: &Gateway, audio: &Path, node: &str, seconds: u64) -> serde_json::Value {
    let mut caller = gw
        .caller(&[
            "--play",
            audio.to_str().unwrap(),
            "--duration",
            &seconds.to_string(),
        ])
        .spawn()
        .unwrap();
    let found = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_for_event(
            gw,
            "last",
            "node_entered",
            |d| d["node"] == node,
            Duration::from_secs(seconds + 20),
        )
    }))
    .unwrap_or_else(|_| panic!("no node {node}; gateway log:\n{}", gw.log()));
    let _ = caller.kill();
    let _ = caller.wait();
    gw.call(found["call"]["id"].as_str().unwrap())
}

fn context(call: &serde_json::Value) -> String {
    format!(
        "events: {:#}\ntranscript: {:#}",
        call["events"], call["transcript"]
    )
}

#[test]
fn an_order_asked_for_in_own_words_is_looked_up_by_its_spoken_number() {
    let _serial = one_at_a_time();
    let (dir, shop, gw) = assistant_with_shop();
    // The greeting and the question take about 6.5 s; each bot question about 1.5–3 s.
    let audio = caller_audio(
        &gw,
        dir.path(),
        &[
            (8.0, "Where is my parcel?"),
            (3.5, "four five one two"),
            (4.5, "yes"),
        ],
    );
    let call = call_until(&gw, &audio, "order_shipped", 35);
    let answered: Vec<_> = events_of(&call, "kb_answer")
        .iter()
        .map(|e| e["data"]["intent"].clone())
        .collect();
    assert_eq!(
        answered,
        [serde_json::json!("order_status")],
        "the question is understood as order status; {}",
        context(&call)
    );
    let slot = events_of(&call, "slot_value");
    assert!(
        slot.iter()
            .any(|e| e["data"]["value"] == "4512" && e["data"]["by"] == "speech"),
        "the order number is taken from speech; {}",
        context(&call)
    );
    let reply = events_of(&call, "webhook_reply");
    assert_eq!(
        reply
            .first()
            .map(|e| e["data"]["vars"]["order_status"].clone()),
        Some(serde_json::json!("shipped")),
        "the demo shop was asked for order 4512; {}",
        context(&call)
    );
    assert!(
        shop.log().contains("4512"),
        "the shop logged the lookup:\n{}",
        shop.log()
    );
    // The status is read out: the bot's line is in the transcript once it has been said.
    let id = call["call"]["id"].as_str().unwrap();
    let read_out = |call: &serde_json::Value| {
        call["transcript"].as_array().is_some_and(|lines| {
            lines.iter().any(|l| {
                l["speaker"] == "bot"
                    && l["text"]
                        .as_str()
                        .unwrap_or("")
                        .contains("was shipped on Monday")
            })
        })
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut call = gw.call(id);
    while !read_out(&call) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(250));
        call = gw.call(id);
    }
    assert!(
        read_out(&call),
        "the bot reads the status; {}",
        context(&call)
    );
}

#[test]
fn an_angry_caller_asking_for_a_person_is_handed_over_with_a_summary() {
    let _serial = one_at_a_time();
    let (dir, _shop, gw) = assistant_with_shop();
    let audio = caller_audio(
        &gw,
        dir.path(),
        &[(
            8.0,
            "This is ridiculous. My parcel never came and nobody helps me. Get me a real person now!",
        )],
    );
    let call = call_until(&gw, &audio, "transfer", 25);
    let escalated = events_of(&call, "escalated");
    let handoff = &escalated
        .first()
        .unwrap_or_else(|| panic!("the call is escalated; {}", context(&call)))["data"];
    assert_eq!(
        handoff["reason"],
        "asked_for_human",
        "{handoff:#}; {}",
        context(&call)
    );
    let summary = handoff["summary"].as_str().unwrap_or("");
    assert!(
        summary.contains("asked for a human") && summary.contains("ridiculous"),
        "the summary says why and what the caller said: {summary:?}"
    );
    let readings = handoff["frustration"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        readings
            .iter()
            .any(|r| r["score"].as_f64().unwrap_or(0.0) >= 0.5),
        "the handoff carries the caller's frustration: {handoff:#}"
    );
}
