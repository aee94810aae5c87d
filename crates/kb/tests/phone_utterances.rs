//! The demo shop knowledge base with the embedding model, on utterances as callers say them:
//! the issue's own examples are answered, other domains stay out of scope.
//!
//! Needs `models/minilm` (`models/fetch.sh`); skipped without it. Example embeddings come from
//! `var/kb-cache` when a release run has filled it (a debug build embeds 6,700 examples slowly).

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use sb_kb::{Decision, Embedder, Matcher, MatcherOptions, load_dir};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The shop's matcher, built once for all tests of this file (embedding its examples is the
/// slow part).
fn shop() -> Option<&'static Matcher> {
    static SHOP: OnceLock<Option<Matcher>> = OnceLock::new();
    SHOP.get_or_init(build_shop).as_ref()
}

fn build_shop() -> Option<Matcher> {
    let model = repo().join("models/minilm");
    if !model.join("model.safetensors").exists() {
        eprintln!("skipped: no embedding model in {}", model.display());
        return None;
    }
    let kb = load_dir(&repo().join("kb/shop")).expect("the shop loads");
    let embedder = Arc::new(Embedder::load(&model).expect("model loads"));
    let cache = repo().join("var/kb-cache/embeddings.bin");
    Some(Matcher::new(
        kb,
        MatcherOptions {
            embedder: Some(embedder),
            cache: Some(&cache),
            ..MatcherOptions::default()
        },
    ))
}

fn answer(matcher: &Matcher, text: &str) -> Option<String> {
    matcher
        .decide(text)
        .answered()
        .map(|i| matcher.entry(i).id.clone())
}

#[test]
fn the_issues_examples_are_answered() {
    let Some(m) = shop() else { return };
    assert_eq!(
        answer(m, "I was charged twice").as_deref(),
        Some("payment_issue")
    );
    let parcel = answer(m, "my parcel still hasn't shown up");
    assert!(
        matches!(
            parcel.as_deref(),
            Some("track_order" | "delivery_period" | "delivery_options")
        ),
        "{parcel:?}"
    );
    // As a recognizer writes it: no apostrophe, a filler.
    assert_eq!(
        answer(m, "uh my parcel still hasnt shown up"),
        parcel,
        "recognizer spelling"
    );
}

#[test]
fn other_domains_on_the_phone_stay_out_of_scope() {
    let Some(m) = shop() else { return };
    for text in [
        "uh can you tell me a bedtime story",
        "whats the best pizza place in town",
        "um how do i renew my driving licence",
        "my neighbour keeps parking in my spot",
    ] {
        assert_eq!(m.decide(text), Decision::OutOfScope, "{text}");
    }
}
