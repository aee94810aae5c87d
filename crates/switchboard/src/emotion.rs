//! `switchboard emotion`: the frustration reading of recorded caller utterances, or of text
//! lines (for checking the cues and for `bench/emotion.py`).

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use sb_emotion::{
    DEFAULT_LEXICON_PATH, FrustrationConfig, FrustrationReading, FrustrationTracker,
    SentimentLexicon, UtteranceObservation,
};
use sb_speech::audio_file::read_audio_file;

use crate::config::Config;

/// The rate utterances are analysed at (the phone's).
const ANALYSIS_RATE: u32 = 8_000;

/// Arguments of `switchboard emotion`.
#[derive(clap::Args)]
#[command(after_help = "\
Examples:
  switchboard emotion calm.wav angry.wav --text 'where is my parcel' --text 'agent, now!'
  switchboard emotion --calls lines.tsv     # one call per line, utterances separated by tabs")]
pub struct EmotionArgs {
    /// The caller's utterances of one call, in order (WAV or FLAC, any rate); the first ones
    /// are the caller's baseline.
    files: Vec<PathBuf>,
    /// The recognized text of each file, in the same order (repeat the option).
    #[arg(long)]
    text: Vec<String>,
    /// Text only: every line of FILE is one call, its utterances separated by tabs ("-" reads
    /// standard input). Prints one JSON array of readings per line.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["files", "text"])]
    calls: Option<PathBuf>,
    /// The sentiment lexicon (default: models/lexicon/vader_lexicon.txt beside the config).
    #[arg(long)]
    lexicon: Option<PathBuf>,
    /// One JSON object per utterance (the reading, plus the file and the analysis time).
    #[arg(long)]
    json: bool,
}

/// Runs `switchboard emotion`.
pub async fn run(config: &Config, args: EmotionArgs) -> anyhow::Result<ExitCode> {
    let lexicon_path = args
        .lexicon
        .clone()
        .unwrap_or_else(|| config.path(Path::new(DEFAULT_LEXICON_PATH)));
    let lexicon = match SentimentLexicon::load(&lexicon_path) {
        Ok(lexicon) => Some(Arc::new(lexicon)),
        // An explicit lexicon must load; the default one is optional (the cue is then off).
        Err(e) if args.lexicon.is_some() => return Err(e.into()),
        Err(e) => {
            eprintln!("warning: {e}; the negative-words cue is off");
            None
        }
    };
    let config = FrustrationConfig {
        lexicon,
        ..FrustrationConfig::default()
    };
    match &args.calls {
        Some(path) => score_text_calls(config, path),
        None => score_files(config, &args),
    }
}

/// The utterances in `args.files` as one call.
fn score_files(config: FrustrationConfig, args: &EmotionArgs) -> anyhow::Result<ExitCode> {
    if args.files.is_empty() {
        bail!("no utterances: give WAV files, or --calls FILE for text");
    }
    if args.text.len() > args.files.len() {
        bail!("{} texts for {} files", args.text.len(), args.files.len());
    }
    let mut tracker = FrustrationTracker::new(config);
    let mut out = std::io::stdout().lock();
    for (i, file) in args.files.iter().enumerate() {
        let samples = read_audio_file(file, ANALYSIS_RATE)
            .with_context(|| format!("reading {}", file.display()))?;
        let text = args.text.get(i).map_or("", String::as_str);
        let started = Instant::now();
        let reading = tracker.observe(&UtteranceObservation {
            samples: &samples,
            sample_rate: ANALYSIS_RATE,
            text,
            ..UtteranceObservation::default()
        });
        let analysis_us = started.elapsed().as_micros() as u64;
        if args.json {
            let mut line = serde_json::to_value(&reading)?;
            line["file"] = serde_json::json!(file);
            line["analysis_us"] = serde_json::json!(analysis_us);
            writeln!(out, "{line}")?;
        } else {
            writeln!(out, "{}: {}", file.display(), describe(&reading))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Every line of `path` as one call of text-only utterances (tab-separated).
fn score_text_calls(config: FrustrationConfig, path: &Path) -> anyhow::Result<ExitCode> {
    let input: Box<dyn BufRead> = if path == Path::new("-") {
        Box::new(std::io::stdin().lock())
    } else {
        let file =
            std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        Box::new(std::io::BufReader::new(file))
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for line in input.lines() {
        let line = line?;
        let mut tracker = FrustrationTracker::new(config.clone());
        let readings: Vec<FrustrationReading> = line
            .split('\t')
            .map(|text| {
                tracker.observe(&UtteranceObservation {
                    text,
                    ..UtteranceObservation::default()
                })
            })
            .collect();
        writeln!(out, "{}", serde_json::to_string(&readings)?)?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// One line for a person: the score, the cues, and the voice against the baseline.
fn describe(r: &FrustrationReading) -> String {
    let cues: Vec<&str> = r.cues.iter().map(|c| c.label()).collect();
    let mut line = format!(
        "frustration {:.2} (smoothed {:.2}, trend {:+.2})  cues: {}",
        r.score,
        r.smoothed,
        r.trend,
        if cues.is_empty() {
            "none".to_string()
        } else {
            cues.join(", ")
        }
    );
    let m = &r.acoustic.measures;
    if let (Some(pitch), Some(level)) = (m.pitch_hz, m.energy_dbfs) {
        line += &format!("  |  pitch {pitch:.0} Hz, level {level:.1} dBFS");
    }
    if let Some(rate) = m.speaking_rate {
        line += &format!(", {rate:.1} syllables/s");
    }
    match &r.acoustic.vs_baseline {
        Some(d) => {
            let signed =
                |v: Option<f32>, unit: &str| v.map_or("?".into(), |v| format!("{v:+.1} {unit}"));
            line += &format!(
                "  |  vs baseline: pitch {}, level {}",
                signed(d.pitch_semitones, "st"),
                signed(d.energy_db, "dB")
            );
            if let Some(ratio) = d.rate_ratio {
                line += &format!(", rate ×{ratio:.2}");
            }
        }
        None => line += "  |  (baseline)",
    }
    line
}
