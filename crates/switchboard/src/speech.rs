//! The speech models from the config (`[speech]`), and `switchboard transcribe` / `switchboard say`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use sb_call::SpeechServices;
use sb_emotion::{FrustrationConfig, SentimentLexicon};
use sb_speech::asr::{AsrPool, AsrPoolConfig, AsrPriority, AsrRequest};
use sb_speech::audio_file::read_audio_file;
use sb_speech::tts::{TtsPool, TtsPoolConfig};
use sb_speech::turn::TurnConfig;

use crate::config::{Config, SpeechConfig};

/// Whisper's input rate: files are read at this rate for transcription.
const WHISPER_RATE: u32 = 16_000;

/// Checks that the model files exist, naming what is missing and how to get it.
fn check_files(config: &Config, files: &[(&str, &Path)]) -> anyhow::Result<()> {
    let missing: Vec<String> = files
        .iter()
        .map(|(key, p)| (key, config.path(p)))
        .filter(|(_, p)| !p.exists())
        .map(|(key, p)| format!("  [speech] {key} = {}", p.display()))
        .collect();
    if !missing.is_empty() {
        bail!(
            "speech model files are missing:\n{}\nRun `models/fetch.sh` (or `make run`) to fetch \
             them, or set `[speech] enabled = false` to run without speech.",
            missing.join("\n")
        );
    }
    Ok(())
}

fn asr_config(config: &Config) -> AsrPoolConfig {
    let speech = &config.speech;
    let mut asr = AsrPoolConfig::new(config.path(&speech.whisper_model));
    if speech.asr_workers > 0 {
        asr.workers = speech.asr_workers;
    }
    asr.queue_capacity = speech.asr_queue;
    asr.timeout = Duration::from_millis(speech.asr_timeout_ms);
    asr
}

fn tts_config(config: &Config) -> TtsPoolConfig {
    let speech = &config.speech;
    let mut tts = TtsPoolConfig::new(
        config.path(&speech.piper_voice),
        config.path(&speech.onnxruntime),
    );
    tts.espeak_data = config.path(&speech.espeak_data);
    tts.workers = speech.tts_workers.max(1);
    tts.cache_dir =
        (!speech.tts_cache_dir.as_os_str().is_empty()).then(|| config.path(&speech.tts_cache_dir));
    tts
}

/// The end-of-turn settings from `[speech]`.
pub fn turn_config(speech: &SpeechConfig) -> TurnConfig {
    TurnConfig {
        min_speech: Duration::from_millis(speech.barge_in_min_speech_ms),
        end_silence: Duration::from_millis(speech.end_silence_ms),
        yes_no_end_silence: Duration::from_millis(speech.yes_no_end_silence_ms),
        digits_end_silence: Duration::from_millis(speech.digits_end_silence_ms),
        ..TurnConfig::default()
    }
}

/// The frustration score's settings, with the sentiment lexicon when it is there.
fn frustration_config(config: &Config) -> FrustrationConfig {
    let path = config.path(&config.speech.sentiment_lexicon);
    let lexicon = match SentimentLexicon::load(&path) {
        Ok(lexicon) => Some(Arc::new(lexicon)),
        Err(e) => {
            tracing::warn!(error = %e, "frustration scores go without the sentiment cue (run models/fetch.sh)");
            None
        }
    };
    FrustrationConfig {
        lexicon,
        ..FrustrationConfig::default()
    }
}

fn start_asr(config: &Config) -> anyhow::Result<AsrPool> {
    check_files(config, &[("whisper_model", &config.speech.whisper_model)])?;
    AsrPool::start(asr_config(config)).context("starting speech recognition")
}

fn start_tts(config: &Config) -> anyhow::Result<TtsPool> {
    check_files(
        config,
        &[
            ("piper_voice", &config.speech.piper_voice),
            ("onnxruntime", &config.speech.onnxruntime),
        ],
    )?;
    TtsPool::start(tts_config(config)).context("starting speech synthesis")
}

/// Loads both models once for the whole gateway (None when `[speech] enabled = false`).
pub async fn load(config: &Config) -> anyhow::Result<Option<SpeechServices>> {
    if !config.speech.enabled {
        tracing::info!("speech is off ([speech] enabled = false): say/listen take their fallbacks");
        return Ok(None);
    }
    let config = config.clone();
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let asr = start_asr(&config)?;
        let tts = start_tts(&config)?;
        tracing::info!(
            load_ms = started.elapsed().as_millis() as u64,
            "speech models loaded"
        );
        Ok(Some(SpeechServices {
            asr,
            tts,
            turn: turn_config(&config.speech),
            emotion: frustration_config(&config),
        }))
    })
    .await
    .context("loading speech models")?
}

/// `switchboard transcribe FILE…`: one line of text per file (or JSON with word timings).
pub async fn transcribe(
    config: &Config,
    files: &[PathBuf],
    json: bool,
) -> anyhow::Result<ExitCode> {
    let asr = {
        let config = config.clone();
        tokio::task::spawn_blocking(move || start_asr(&config)).await??
    };
    let progress = (files.len() > 1).then(|| {
        let bar = indicatif::ProgressBar::new(files.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} files  {elapsed_precise} (eta {eta})",
            )
            .expect("literal template"),
        );
        bar
    });
    let mut failed = 0;
    for file in files {
        let result = transcribe_one(&asr, file).await;
        let line = match result {
            Ok(r) if json => serde_json::to_string(&serde_json::json!({
                "file": file, "text": r.text, "confidence": r.confidence, "words": r.words,
                "audio_ms": r.audio_ms, "decode_ms": r.decode_ms,
            }))?,
            Ok(r) if files.len() > 1 => format!("{}: {}", file.display(), r.text),
            Ok(r) => r.text,
            Err(e) => {
                failed += 1;
                let message = format!("error: {}: {e:#}", file.display());
                match &progress {
                    Some(bar) => bar.suspend(|| eprintln!("{message}")),
                    None => eprintln!("{message}"),
                }
                if let Some(bar) = &progress {
                    bar.inc(1);
                }
                continue;
            }
        };
        match &progress {
            Some(bar) => {
                bar.suspend(|| println!("{line}"));
                bar.inc(1);
            }
            None => println!("{line}"),
        }
    }
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn transcribe_one(asr: &AsrPool, file: &Path) -> anyhow::Result<sb_speech::asr::Recognition> {
    let path = file.to_path_buf();
    let samples = tokio::task::spawn_blocking(move || read_audio_file(&path, WHISPER_RATE))
        .await?
        .context("reading the audio")?;
    // Files wait their turn rather than being refused: submit again while the queue is full.
    loop {
        let request = AsrRequest {
            call: "cli".into(),
            samples: samples.clone(),
            sample_rate: WHISPER_RATE,
            priority: AsrPriority::Batch,
            initial_prompt: None,
        };
        match asr.submit(request) {
            Ok(ticket) => return Ok(ticket.await?),
            Err(sb_speech::asr::AsrError::Overloaded) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// `switchboard say TEXT -o OUT.wav`: synthesizes text with the configured voice.
pub async fn say(
    config: &Config,
    text: &str,
    out: &Path,
    rate: Option<u32>,
) -> anyhow::Result<ExitCode> {
    if text.trim().is_empty() {
        bail!("nothing to say: the text is empty");
    }
    let config = config.clone();
    let text = text.to_string();
    let out = out.to_path_buf();
    tokio::task::spawn_blocking(move || -> anyhow::Result<ExitCode> {
        let tts = start_tts(&config)?;
        let rate = rate.unwrap_or(22_050);
        let samples = tts.synthesize(&text, rate).context("synthesizing")?;
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut writer = hound::WavWriter::create(&out, spec)
            .with_context(|| format!("creating {}", out.display()))?;
        for s in &samples {
            writer.write_sample(*s)?;
        }
        writer.finalize()?;
        eprintln!(
            "wrote {} ({:.2} s at {rate} Hz, voice {})",
            out.display(),
            samples.len() as f64 / f64::from(rate),
            tts.voice_name()
        );
        Ok(ExitCode::SUCCESS)
    })
    .await?
}
