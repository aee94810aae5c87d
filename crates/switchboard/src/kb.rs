//! `switchboard kb …`: import, export, match, evaluate, calibrate and check a knowledge base.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Subcommand;
use sb_kb::csv_io::{Columns, LabeledRow, read_labeled, write_examples};
use sb_kb::{Decision, Embedder, KnowledgeBase, Matcher, MatcherOptions, Strategy, Via};

use crate::config::Config;

/// `switchboard kb` subcommands.
#[derive(Subcommand)]
pub enum KbCommand {
    /// Add labeled utterances from a CSV file as examples of the entries named by their intent.
    ///
    /// The header names the columns: the text in `text` or `utterance`, the intent in `intent`,
    /// optionally `category` (pick others with the options). Examples already present are
    /// skipped, rows labeled `oos` or without intent too. New intents become new entries in
    /// imported.toml with an empty answer (`kb check` lists them until you write one).
    Import {
        /// The CSV file.
        #[arg(long)]
        csv: PathBuf,
        #[command(flatten)]
        kb: KbDir,
        #[command(flatten)]
        columns: ColumnArgs,
    },
    /// Write every example as `text,intent,category` CSV.
    Export {
        #[command(flatten)]
        kb: KbDir,
        /// Output file (default: standard output).
        #[arg(long)]
        csv: Option<PathBuf>,
    },
    /// Show the best entries for an utterance, the score of each part, and the decision.
    Match {
        /// What the caller said.
        text: String,
        #[command(flatten)]
        kb: KbDir,
        /// How many entries to show.
        #[arg(short = 'n', default_value_t = 5)]
        top: usize,
    },
    /// Measure the matcher on labeled utterances: per-intent precision and recall, the most
    /// confused pairs, out-of-scope recall, latency, and last `accuracy: 0.XXX`.
    ///
    /// A row counts as correct when the decision answers with its intent; a row labeled `oos`
    /// (or without intent) when the decision is out of scope. A clarifying question counts as
    /// not correct (it is reported on its own line).
    Eval {
        /// The labeled CSV file.
        #[arg(long)]
        csv: PathBuf,
        #[command(flatten)]
        kb: KbDir,
        #[command(flatten)]
        columns: ColumnArgs,
        /// entry: each entry by its own match mode; or every entry by exact, contains,
        /// lexical (BM25), ngram, embedding or smart (fused).
        #[arg(long, default_value = "entry", value_parser = ["entry", "exact", "contains", "lexical", "ngram", "embedding", "smart"])]
        mode: String,
    },
    /// Find the fusion weights and thresholds for this knowledge base on its own examples
    /// (every fifth held out) and write them to matcher.toml in it.
    Calibrate {
        #[command(flatten)]
        kb: KbDir,
        /// Labeled utterances (CSV, `text`/`intent` columns; repeatable): rows labeled `oos` or
        /// without intent are out of scope and must be rejected, the others are questions in
        /// the callers' own words that count as much as all held-out examples together. Never
        /// your evaluation set.
        #[arg(long = "questions", alias = "oos", value_name = "CSV")]
        questions: Vec<PathBuf>,
        /// Print the result without writing matcher.toml.
        #[arg(long)]
        dry_run: bool,
    },
    /// Validate the files (FILE:LINE: REASON for each problem) and list entries without answer.
    Check {
        #[command(flatten)]
        kb: KbDir,
    },
}

/// The knowledge base to work on.
#[derive(clap::Args)]
pub struct KbDir {
    /// Knowledge-base directory (default: `[kb] dir` of the config, kb/shop).
    #[arg(long = "kb")]
    dir: Option<PathBuf>,
}

/// Column names of a labeled CSV file.
#[derive(clap::Args)]
pub struct ColumnArgs {
    /// Column holding the utterance (default: text, else utterance).
    #[arg(long)]
    text_column: Option<String>,
    /// Column holding the intent (default: intent).
    #[arg(long)]
    intent_column: Option<String>,
    /// Column holding the category (default: category, if present).
    #[arg(long)]
    category_column: Option<String>,
}

impl ColumnArgs {
    fn columns(&self) -> Columns {
        Columns {
            text: self.text_column.clone(),
            intent: self.intent_column.clone(),
            category: self.category_column.clone(),
        }
    }
}

/// Runs a `kb` subcommand.
pub fn run(config: &Config, command: KbCommand) -> anyhow::Result<ExitCode> {
    match command {
        KbCommand::Import { csv, kb, columns } => {
            import(&kb_dir(config, &kb), &csv, &columns.columns())
        }
        KbCommand::Export { kb, csv } => export(&kb_dir(config, &kb), csv.as_deref()),
        KbCommand::Match { text, kb, top } => {
            let matcher = build_matcher(config, &load(&kb_dir(config, &kb))?)?;
            show_match(&matcher, &text, top);
            Ok(ExitCode::SUCCESS)
        }
        KbCommand::Eval {
            csv,
            kb,
            columns,
            mode,
        } => {
            let rows = read_csv(&csv, &columns.columns())?;
            let matcher = build_matcher(config, &load(&kb_dir(config, &kb))?)?;
            let strategy = match mode.as_str() {
                "entry" => Strategy::PerEntry,
                name => Strategy::from_name(name).context("unknown mode")?,
            };
            eval(&matcher, &rows, strategy);
            Ok(ExitCode::SUCCESS)
        }
        KbCommand::Calibrate {
            kb,
            questions,
            dry_run,
        } => calibrate(config, &kb_dir(config, &kb), &questions, dry_run),
        KbCommand::Check { kb } => check(&kb_dir(config, &kb)),
    }
}

fn kb_dir(config: &Config, kb: &KbDir) -> PathBuf {
    kb.dir
        .clone()
        .unwrap_or_else(|| config.path(&config.kb.dir))
}

fn load(dir: &Path) -> anyhow::Result<KnowledgeBase> {
    sb_kb::load_dir(dir).map_err(|e| anyhow::anyhow!("{e}"))
}

fn read_csv(path: &Path, columns: &Columns) -> anyhow::Result<Vec<LabeledRow>> {
    let file = std::fs::File::open(path).with_context(|| path.display().to_string())?;
    read_labeled(std::io::BufReader::new(file), columns)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// A progress bar for `total` steps, drawn only when there are many (and on a terminal).
fn progress_bar(total: usize, what: &str) -> Option<indicatif::ProgressBar> {
    (total >= 200).then(|| {
        let bar = indicatif::ProgressBar::new(total as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(&format!(
                "{{bar:40}} {{pos}}/{{len}} {what}  {{elapsed_precise}} (eta {{eta}})"
            ))
            .expect("literal template"),
        );
        bar
    })
}

/// The embedding model of the config, or `None` with a warning (lexical matching only).
fn embedder(config: &Config) -> Option<Arc<Embedder>> {
    let dir = config.path(&config.kb.embedding_model);
    match Embedder::load(&dir) {
        Ok(e) => Some(Arc::new(e)),
        Err(e) => {
            eprintln!(
                "warning: no embedding model ({e}); matching with BM25 and n-grams only (run models/fetch.sh)"
            );
            None
        }
    }
}

/// Where example embeddings are cached: one file for every knowledge base (keyed by text and
/// model), so that knowledge bases sharing examples share the work.
fn cache_path(config: &Config) -> PathBuf {
    config.path(&config.kb.cache_dir).join("embeddings.bin")
}

/// The knowledge base for the calls' `bot` steps: `[kb] dir` with its matcher, or None when
/// that directory does not exist. The first start embeds every example (minutes for the demo
/// shop); later starts read them from `[kb] cache_dir`.
pub async fn load_for_calls(
    config: &Config,
) -> anyhow::Result<Option<sb_call::understanding::KnowledgeBase>> {
    let dir = config.path(&config.kb.dir);
    if !dir.is_dir() {
        tracing::info!(dir = %dir.display(), "no knowledge base: `bot` steps understand nothing");
        return Ok(None);
    }
    let config = config.clone();
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let kb = load(&dir)?;
        tracing::info!(dir = %dir.display(), entries = kb.entries.len(), "loading the knowledge base");
        let matcher = build_matcher(&config, &kb)?;
        if !matcher.has_embeddings() {
            tracing::warn!("knowledge base without sentence embeddings: lexical matching only (run models/fetch.sh)");
        }
        tracing::info!(load_ms = started.elapsed().as_millis() as u64, "knowledge base loaded");
        Ok(Some(sb_call::understanding::KnowledgeBase::new(matcher)))
    })
    .await
    .context("loading the knowledge base")?
}

fn build_matcher(config: &Config, kb: &KnowledgeBase) -> anyhow::Result<Matcher> {
    let embedder = embedder(config);
    let cache = cache_path(config);
    let bar = std::sync::Mutex::new(None::<indicatif::ProgressBar>);
    let progress = |done: usize, total: usize| {
        let mut bar = bar.lock().unwrap_or_else(|e| e.into_inner());
        if bar.is_none() {
            *bar = progress_bar(total, "examples embedded");
        }
        if let Some(bar) = bar.as_ref() {
            bar.set_position(done as u64);
        }
    };
    let matcher = Matcher::new(
        kb.clone(),
        MatcherOptions {
            embedder,
            cache: Some(&cache),
            threads: 0,
            progress: Some(&progress),
        },
    );
    if let Some(bar) = bar.into_inner().unwrap_or_else(|e| e.into_inner()) {
        bar.finish_and_clear();
    }
    Ok(matcher)
}

fn import(dir: &Path, csv: &Path, columns: &Columns) -> anyhow::Result<ExitCode> {
    let rows = read_csv(csv, columns)?;
    std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
    let kb = load(dir)?;
    let report = sb_kb::import::import(dir, &kb, &rows).map_err(|e| anyhow::anyhow!(e))?;
    for (id, n) in &report.added {
        println!("{id}: {n} example(s) added");
    }
    for (id, n) in &report.created {
        println!(
            "{id}: new entry in {} with {n} example(s); write its answer",
            sb_kb::import::IMPORT_FILE
        );
    }
    println!(
        "{} row(s) read: {} added to {} entries, {} new entries, {} already present, {} out of scope skipped",
        rows.len(),
        report
            .added
            .values()
            .chain(report.created.values())
            .sum::<usize>(),
        report.added.len(),
        report.created.len(),
        report.duplicates,
        report.out_of_scope
    );
    // The files were written by us; make sure they still load.
    load(dir)?;
    Ok(ExitCode::SUCCESS)
}

fn export(dir: &Path, csv: Option<&Path>) -> anyhow::Result<ExitCode> {
    let kb = load(dir)?;
    let count = match csv {
        Some(path) if path != Path::new("-") => {
            let file = std::fs::File::create(path).with_context(|| path.display().to_string())?;
            let n = write_examples(&kb, std::io::BufWriter::new(file))
                .map_err(|e| anyhow::anyhow!(e))?;
            eprintln!(
                "{n} examples of {} entries written to {}",
                kb.entries.len(),
                path.display()
            );
            n
        }
        _ => write_examples(&kb, std::io::stdout().lock()).map_err(|e| anyhow::anyhow!(e))?,
    };
    if count == 0 {
        eprintln!("the knowledge base has no examples");
    }
    Ok(ExitCode::SUCCESS)
}

fn check(dir: &Path) -> anyhow::Result<ExitCode> {
    let kb = match sb_kb::load_dir(dir) {
        Ok(kb) => kb,
        Err(errors) => {
            println!("{errors}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let examples: usize = kb.entries.iter().map(|e| e.examples.len()).sum();
    let missing: Vec<_> = kb.without_answer().collect();
    for entry in &missing {
        println!(
            "{}:{}: entry `{}` has no answer",
            entry.file.display(),
            entry.line,
            entry.id
        );
    }
    println!(
        "{}: {} entries, {} examples{}, {} without answer",
        dir.display(),
        kb.entries.len(),
        examples,
        if kb.calibration.is_some() {
            ", calibrated"
        } else {
            ""
        },
        missing.len()
    );
    Ok(if missing.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn via_name(via: Via) -> &'static str {
    match via {
        Via::Exact => "exact",
        Via::Contains => "contains",
        Via::Ranked => "ranked",
    }
}

fn describe(matcher: &Matcher, decision: Decision) -> String {
    match decision {
        Decision::Answer { entry, score } => {
            format!("answer {} ({score:.3})", matcher.entry(entry).id)
        }
        Decision::Clarify { first, second } => format!(
            "clarify: {} or {}?",
            matcher.entry(first).id,
            matcher.entry(second).id
        ),
        Decision::OutOfScope => "out of scope (not understood)".into(),
    }
}

fn show_match(matcher: &Matcher, text: &str, top: usize) {
    let ranking = matcher.rank(text, top.max(2));
    println!(
        "{:>2}  {:<28} {:>6} {:>6} {:>6} {:>6}  via",
        "#", "entry", "score", "bm25", "ngram", "embed"
    );
    for (i, c) in ranking.candidates.iter().take(top).enumerate() {
        let embed = c
            .parts
            .embedding
            .map_or("-".to_string(), |e| format!("{e:.3}"));
        println!(
            "{:>2}  {:<28} {:>6.3} {:>6.3} {:>6.3} {:>6}  {}",
            i + 1,
            matcher.entry(c.entry).id,
            c.score,
            c.parts.bm25,
            c.parts.ngram,
            embed,
            via_name(c.via)
        );
    }
    if !ranking.embedding_used {
        println!("(embedding model not used: lexical parts only)");
    }
    println!(
        "decision: {}",
        describe(matcher, matcher.decision(&ranking, Strategy::PerEntry))
    );
}

/// The value at quantile `q` of sorted `values`.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn eval(matcher: &Matcher, rows: &[LabeledRow], strategy: Strategy) {
    let index: HashMap<&str, usize> = matcher
        .kb()
        .entries
        .iter()
        .enumerate()
        .map(|(i, e)| (e.id.as_str(), i))
        .collect();
    let bar = progress_bar(rows.len(), "utterances");
    // Per intent: (rows, right); per answered entry: (answers, right).
    let mut recall: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut precision: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut confusions: HashMap<(String, String), usize> = HashMap::new();
    let (mut right, mut oos_rows, mut oos_right, mut clarified) = (0, 0, 0, 0);
    let (mut total_ms, mut embed_ms) = (Vec::new(), Vec::new());
    let mut unknown_intents: BTreeMap<String, usize> = BTreeMap::new();
    let mut embedding_used = false;
    for row in rows {
        let start = Instant::now();
        let uses_embedding = matches!(
            strategy,
            Strategy::PerEntry | Strategy::Embedding | Strategy::Smart
        );
        let query = if uses_embedding {
            matcher.embed_query(&row.text)
        } else {
            None
        };
        let embedded = start.elapsed();
        let ranking = matcher.rank_embedded(&row.text, query.as_deref(), 2, strategy);
        let decision = matcher.decision(&ranking, strategy);
        total_ms.push(start.elapsed().as_secs_f64() * 1e3);
        embed_ms.push(embedded.as_secs_f64() * 1e3);
        embedding_used |= ranking.embedding_used;
        if let Some(bar) = &bar {
            bar.inc(1);
        }
        let got = decision.answered().map(|i| matcher.entry(i).id.clone());
        if matches!(decision, Decision::Clarify { .. }) {
            clarified += 1;
        }
        if row.is_out_of_scope() {
            oos_rows += 1;
            if decision == Decision::OutOfScope {
                oos_right += 1;
                right += 1;
            } else {
                let what = got.clone().unwrap_or_else(|| "(clarify)".into());
                *confusions.entry(("oos".into(), what)).or_default() += 1;
            }
        } else {
            if !index.contains_key(row.intent.as_str()) {
                *unknown_intents.entry(row.intent.clone()).or_default() += 1;
            }
            let r = recall.entry(row.intent.clone()).or_default();
            r.0 += 1;
            if got.as_deref() == Some(row.intent.as_str()) {
                r.1 += 1;
                right += 1;
            } else {
                let what = match decision {
                    Decision::Clarify { .. } => "(clarify)".to_string(),
                    Decision::OutOfScope => "(out of scope)".to_string(),
                    Decision::Answer { .. } => got.clone().unwrap_or_default(),
                };
                *confusions.entry((row.intent.clone(), what)).or_default() += 1;
            }
        }
        if let Some(got) = got {
            let p = precision.entry(got.clone()).or_default();
            p.0 += 1;
            if got == row.intent {
                p.1 += 1;
            }
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    println!(
        "{:<32} {:>9} {:>7} {:>7}",
        "intent", "precision", "recall", "rows"
    );
    for (intent, (n, ok)) in &recall {
        let (answered, answered_ok) = precision.get(intent).copied().unwrap_or_default();
        println!(
            "{intent:<32} {:>9.3} {:>7.3} {n:>7}",
            ratio(answered_ok, answered),
            ratio(*ok, *n)
        );
    }
    for (intent, n) in &unknown_intents {
        println!("note: intent `{intent}` ({n} rows) has no entry in the knowledge base");
    }
    let mut pairs: Vec<_> = confusions.into_iter().collect();
    pairs.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    println!("top confusions (expected -> got: rows):");
    for ((expected, got), n) in pairs.iter().take(10) {
        println!("  {expected} -> {got}: {n}");
    }
    total_ms.sort_by(f64::total_cmp);
    embed_ms.sort_by(f64::total_cmp);
    println!(
        "latency_ms: p50 {:.2} p99 {:.2} per utterance (query embedding: p50 {:.2} p99 {:.2})",
        quantile(&total_ms, 0.5),
        quantile(&total_ms, 0.99),
        quantile(&embed_ms, 0.5),
        quantile(&embed_ms, 0.99)
    );
    if !embedding_used
        && matches!(
            strategy,
            Strategy::PerEntry | Strategy::Smart | Strategy::Embedding
        )
    {
        println!("embedding: not used (model missing): lexical parts only");
    }
    println!("clarify: {clarified} ({:.3})", ratio(clarified, rows.len()));
    println!("oos_recall: {:.3}", ratio(oos_right, oos_rows));
    println!("accuracy: {:.3}", ratio(right, rows.len()));
}

fn calibrate(
    config: &Config,
    dir: &Path,
    labeled: &[PathBuf],
    dry_run: bool,
) -> anyhow::Result<ExitCode> {
    let kb = load(dir)?;
    if kb.entries.is_empty() {
        bail!("{}: no entries to calibrate", dir.display());
    }
    let (mut oos, mut questions) = (Vec::new(), Vec::new());
    for path in labeled {
        for row in read_csv(path, &Columns::default())? {
            if row.is_out_of_scope() {
                oos.push(row.text);
            } else {
                questions.push((row.text, row.intent));
            }
        }
    }
    let cache = cache_path(config);
    let bar = std::sync::Mutex::new(None::<indicatif::ProgressBar>);
    let progress = |done: usize, total: usize| {
        let mut bar = bar.lock().unwrap_or_else(|e| e.into_inner());
        if bar.is_none() {
            *bar = progress_bar(total, "examples");
        }
        if let Some(bar) = bar.as_ref() {
            bar.set_position(done as u64);
        }
    };
    let report = sb_kb::calibrate::calibrate_with_questions(
        &kb,
        &oos,
        &questions,
        MatcherOptions {
            embedder: embedder(config),
            cache: Some(&cache),
            threads: 0,
            progress: Some(&progress),
        },
        &progress,
    );
    if let Some(bar) = bar.into_inner().unwrap_or_else(|e| e.into_inner()) {
        bar.finish_and_clear();
    }
    println!(
        "held out {} examples, {} out-of-scope utterances",
        report.questions, report.out_of_scope
    );
    println!("{:<16} {:>9} {:>11}", "part", "accuracy", "oos_recall");
    let parts = [
        ("smart", report.smart),
        ("smart (lexical)", Some(report.smart_lexical)),
        ("bm25", Some(report.bm25)),
        ("ngram", Some(report.ngram)),
        ("embedding", report.embedding),
    ];
    for (name, outcome) in parts {
        if let Some(o) = outcome {
            println!("{name:<16} {:>9.3} {:>11.3}", o.accuracy, o.oos_recall);
        }
    }
    let text = format!(
        "# Written by `switchboard kb calibrate` (every fifth example held out{}).\n{}",
        if report.out_of_scope > 0 {
            ", plus out-of-scope utterances"
        } else {
            ""
        },
        report.calibration.to_toml()
    );
    print!("{text}");
    if !dry_run {
        let path = dir.join("matcher.toml");
        std::fs::write(&path, text).with_context(|| path.display().to_string())?;
        eprintln!("written to {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
