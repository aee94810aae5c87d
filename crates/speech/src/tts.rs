//! The speech-synthesis worker pool: a piper voice on a few OS threads, text spoken sentence by
//! sentence so the first sentence can play while the rest is made, and a disk cache so fixed
//! prompts are synthesized once.

use crate::models::voice_config_path;
use crate::phonemes;
use crate::text::{spell_codes, split_sentences};
use crate::tts_cache::TtsCache;
use piper_rs::{ModelConfig, Piper};
use sha2::{Digest, Sha256};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;
use tokio::sync::mpsc;

/// Silence after every sentence but the last, so sentences played back to back sound like
/// speech and not like a list.
const SENTENCE_GAP_MS: u64 = 250;
/// Peak level synthesized audio is scaled to (piper normalises every utterance to its peak),
/// leaving headroom for the resampler.
const PEAK: f32 = 0.9;

/// How the TTS pool is set up.
#[derive(Debug, Clone)]
pub struct TtsPoolConfig {
    /// Piper voice (`.onnx`), with its `.onnx.json` beside it.
    pub voice: PathBuf,
    /// The ONNX Runtime shared library (`libonnxruntime.so`, version 1.24).
    pub onnxruntime: PathBuf,
    /// Directory holding `espeak-ng-data`.
    pub espeak_data: PathBuf,
    /// Synthesis threads, each running one sentence at a time on one core.
    pub workers: usize,
    /// Where synthesized sentences are kept between runs (`None`: no cache).
    pub cache_dir: Option<PathBuf>,
    /// Most sentences kept in the cache; the least recently used go first.
    pub cache_max_entries: usize,
}

impl TtsPoolConfig {
    /// Defaults for a voice: Debian's espeak-ng data, a worker per core, no cache.
    pub fn new(voice: impl Into<PathBuf>, onnxruntime: impl Into<PathBuf>) -> Self {
        Self {
            voice: voice.into(),
            onnxruntime: onnxruntime.into(),
            espeak_data: PathBuf::from("/usr/lib/x86_64-linux-gnu"),
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cache_dir: None,
            cache_max_entries: 10_000,
        }
    }
}

/// One spoken sentence.
#[derive(Debug, Clone, PartialEq)]
pub struct SpokenSentence {
    /// The sentence as written.
    pub text: String,
    /// Mono PCM at the requested rate, ending in a short pause unless it is the last sentence.
    pub samples: Arc<[i16]>,
}

/// Why speech could not be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TtsError {
    /// ONNX Runtime could not be loaded.
    #[error("cannot load ONNX Runtime: {0}")]
    Runtime(String),
    /// The voice or its configuration could not be loaded.
    #[error("cannot load the piper voice: {0}")]
    Voice(String),
    /// espeak-ng could not turn the text into phonemes.
    #[error("cannot phonemize text: {0}")]
    Phonemes(String),
    /// The voice model failed.
    #[error("speech synthesis failed: {0}")]
    Synthesis(String),
    /// The request cannot be served (zero workers or sample rate).
    #[error("invalid speech synthesis request: {0}")]
    Invalid(String),
    /// The pool has shut down.
    #[error("speech synthesis pool has shut down")]
    Shutdown,
}

/// The TTS worker pool. Cheap to clone; the workers stop when the last clone is dropped.
#[derive(Clone)]
pub struct TtsPool {
    handle: Arc<PoolHandle>,
}

/// Owned by the pool's clones only, so its drop stops the workers.
struct PoolHandle {
    shared: Arc<Shared>,
}

impl Drop for PoolHandle {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.shutdown = true;
        for job in state.jobs.drain(..) {
            job.sender.send(Err(TtsError::Shutdown));
        }
        drop(state);
        self.shared.work_ready.notify_all();
    }
}

struct Shared {
    state: Mutex<State>,
    work_ready: Condvar,
    voice_name: String,
    /// Voice file name and configuration hash: what the audio depends on besides the text.
    voice_id: String,
    voice_rate: u32,
    espeak_voice: String,
    cache: Option<TtsCache>,
}

struct State {
    /// Texts being spoken; a worker takes one, makes its next sentence and puts it back at the
    /// end, so a long text does not hold up the first sentence of another call.
    jobs: VecDeque<SpeakJob>,
    shutdown: bool,
}

struct SpeakJob {
    sentences: VecDeque<String>,
    sample_rate: u32,
    sender: Delivery,
}

/// Where a job's sentences go: an async stream, or a thread blocked in
/// [`TtsPool::synthesize`] (which must work inside a runtime too, without Tokio's blocking
/// receive that panics there).
enum Delivery {
    Stream(mpsc::UnboundedSender<Result<SpokenSentence, TtsError>>),
    Blocking(std::sync::mpsc::Sender<Result<SpokenSentence, TtsError>>),
}

impl Delivery {
    fn send(&self, sentence: Result<SpokenSentence, TtsError>) {
        // A receiver that is gone no longer wants the sentence.
        match self {
            Delivery::Stream(sender) => {
                let _ = sender.send(sentence);
            }
            Delivery::Blocking(sender) => {
                let _ = sender.send(sentence);
            }
        }
    }

    /// Whether nobody listens any more (a blocked synthesize call always listens).
    fn is_closed(&self) -> bool {
        match self {
            Delivery::Stream(sender) => sender.is_closed(),
            Delivery::Blocking(_) => false,
        }
    }
}

/// A worker's own copy of the voice (an ONNX session runs one inference at a time).
struct Voice {
    piper: Piper,
}

impl TtsPool {
    /// Loads ONNX Runtime, espeak-ng and the voice (read once, one session per worker, built in
    /// parallel), opens the cache and starts the workers.
    pub fn start(config: TtsPoolConfig) -> Result<TtsPool, TtsError> {
        if config.workers == 0 {
            return Err(TtsError::Invalid(
                "the pool needs at least one worker".into(),
            ));
        }
        let started = Instant::now();
        ort::init_from(&config.onnxruntime)
            .map_err(|e| TtsError::Runtime(format!("{}: {e}", config.onnxruntime.display())))?
            .with_name("switchboard-tts")
            .commit();
        phonemes::init(&config.espeak_data).map_err(TtsError::Phonemes)?;

        let config_path = voice_config_path(&config.voice);
        let voice_json = std::fs::read_to_string(&config_path)
            .map_err(|e| TtsError::Voice(format!("{}: {e}", config_path.display())))?;
        let voice_config = parse_voice_config(&voice_json)?;
        let model = Arc::new(
            std::fs::read(&config.voice)
                .map_err(|e| TtsError::Voice(format!("{}: {e}", config.voice.display())))?,
        );
        let file_name = config
            .voice
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let voice_name = file_name.trim_end_matches(".onnx").to_string();
        let config_hash: String = Sha256::digest(voice_json.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let cache = match &config.cache_dir {
            Some(dir) => Some(TtsCache::open(dir, config.cache_max_entries).map_err(|e| {
                TtsError::Invalid(format!("cannot open TTS cache {}: {e}", dir.display()))
            })?),
            None => None,
        };
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                jobs: VecDeque::new(),
                shutdown: false,
            }),
            work_ready: Condvar::new(),
            voice_name,
            voice_id: format!("{file_name}:{config_hash}"),
            voice_rate: voice_config.audio.sample_rate,
            espeak_voice: voice_config.espeak.voice.clone(),
            cache,
        });
        let handle = Arc::new(PoolHandle {
            shared: Arc::clone(&shared),
        });

        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        for index in 0..config.workers {
            let shared = Arc::clone(&shared);
            let model = Arc::clone(&model);
            let voice_json = voice_json.clone();
            let ready_tx = ready_tx.clone();
            std::thread::Builder::new()
                .name(format!("tts-{index}"))
                .spawn(move || match load_voice(&model, &voice_json) {
                    Ok(voice) => {
                        drop(model);
                        let _ = ready_tx.send(Ok(()));
                        run_worker(&shared, voice);
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                })
                .map_err(|e| TtsError::Voice(format!("cannot start a TTS worker: {e}")))?;
        }
        drop(ready_tx);
        for _ in 0..config.workers {
            // A worker that died before reporting closes the channel: report that as a failure.
            ready_rx
                .recv()
                .map_err(|_| TtsError::Voice("a TTS worker stopped while loading".into()))??;
        }
        tracing::info!(
            voice = %shared.voice_name,
            workers = config.workers,
            rate = shared.voice_rate,
            load_ms = started.elapsed().as_millis() as u64,
            "TTS pool started"
        );
        Ok(TtsPool { handle })
    }

    /// Speaks `text` at `sample_rate`: sentences arrive one by one, the first as soon as it is
    /// made (or read from the cache). Dropping the stream stops the rest.
    pub fn speak(&self, text: &str, sample_rate: u32) -> SpeechStream {
        let (sender, receiver) = mpsc::unbounded_channel();
        self.queue(text, sample_rate, Delivery::Stream(sender));
        SpeechStream { receiver }
    }

    /// Speaks the whole text and returns it as one buffer, for the command line. Blocks the
    /// calling thread until the text is done.
    pub fn synthesize(&self, text: &str, sample_rate: u32) -> Result<Vec<i16>, TtsError> {
        let (sender, receiver) = std::sync::mpsc::channel();
        self.queue(text, sample_rate, Delivery::Blocking(sender));
        let mut samples = Vec::new();
        for sentence in receiver {
            samples.extend_from_slice(&sentence?.samples);
        }
        Ok(samples)
    }

    /// Hands a text to the workers (or answers at once when there is nothing to make).
    fn queue(&self, text: &str, sample_rate: u32, sender: Delivery) {
        let sentences: VecDeque<String> = split_sentences(text).into();
        if sample_rate == 0 {
            sender.send(Err(TtsError::Invalid("sample rate is 0 Hz".into())));
        } else if !sentences.is_empty() {
            let shared = &self.handle.shared;
            shared.lock().jobs.push_back(SpeakJob {
                sentences,
                sample_rate,
                sender,
            });
            shared.work_ready.notify_one();
        }
    }

    /// The voice's name (its file name without `.onnx`).
    pub fn voice_name(&self) -> &str {
        &self.handle.shared.voice_name
    }
}

impl std::fmt::Debug for TtsPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TtsPool")
            .field("voice", &self.voice_name())
            .finish()
    }
}

/// The sentences of one text, as they are made.
#[derive(Debug)]
pub struct SpeechStream {
    receiver: mpsc::UnboundedReceiver<Result<SpokenSentence, TtsError>>,
}

impl SpeechStream {
    /// The next sentence, or `None` when the text is done (or failed: the error comes first).
    pub async fn next(&mut self) -> Option<Result<SpokenSentence, TtsError>> {
        self.receiver.recv().await
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Workers never panic while holding the lock; recover the state if one did.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A sentence's audio at `sample_rate`, from the cache or freshly made (and then cached).
    fn sentence_audio(
        &self,
        voice: &mut Voice,
        text: &str,
        sample_rate: u32,
    ) -> Result<Vec<i16>, TtsError> {
        let key = TtsCache::key(&self.voice_id, text, sample_rate);
        if let Some(samples) = self.cache.as_ref().and_then(|cache| cache.get(&key)) {
            sb_metrics::tts_cached();
            return Ok(samples);
        }
        let started = Instant::now();
        let phonemes = phonemes::phonemize(&spell_codes(text), &self.espeak_voice)
            .map_err(TtsError::Phonemes)?;
        let (audio, _) = voice
            .piper
            .create(&phonemes, true, None, None, None, None)
            .map_err(|e| TtsError::Synthesis(e.to_string()))?;
        let peak = audio.iter().fold(0.01f32, |max, s| max.max(s.abs()));
        let scaled: Vec<f64> = audio.iter().map(|&s| f64::from(s * PEAK / peak)).collect();
        let resampled = if self.voice_rate == sample_rate {
            scaled
        } else {
            sb_media::prompt::resample(&scaled, self.voice_rate, sample_rate)
                .map_err(TtsError::Synthesis)?
        };
        let samples: Vec<i16> = resampled
            .iter()
            .map(|&v| (v * 32768.0).round().clamp(-32768.0, 32767.0) as i16)
            .collect();
        sb_metrics::tts_synthesized(started.elapsed());
        tracing::debug!(
            text,
            phonemes,
            audio_ms = samples.len() as u64 * 1000 / u64::from(sample_rate),
            synth_ms = started.elapsed().as_millis() as u64,
            "sentence synthesized"
        );
        if let Some(cache) = &self.cache {
            cache.put(&key, sample_rate, &samples);
        }
        Ok(samples)
    }
}

fn run_worker(shared: &Shared, mut voice: Voice) {
    loop {
        let mut job = {
            let mut state = shared.lock();
            loop {
                if state.shutdown {
                    return;
                }
                if let Some(job) = state.jobs.pop_front() {
                    break job;
                }
                state = shared
                    .work_ready
                    .wait(state)
                    .unwrap_or_else(|p| p.into_inner());
            }
        };
        // Nobody listens any more (barge-in, hang-up): drop the rest of the text.
        if job.sender.is_closed() {
            continue;
        }
        let Some(text) = job.sentences.pop_front() else {
            continue;
        };
        match shared.sentence_audio(&mut voice, &text, job.sample_rate) {
            Ok(mut samples) => {
                if !job.sentences.is_empty() {
                    let gap = SENTENCE_GAP_MS * u64::from(job.sample_rate) / 1000;
                    samples.resize(samples.len() + gap as usize, 0);
                }
                let sentence = SpokenSentence {
                    text,
                    samples: samples.into(),
                };
                job.sender.send(Ok(sentence));
            }
            Err(e) => {
                tracing::warn!(error = %e, text, "TTS failed");
                job.sender.send(Err(e));
                job.sentences.clear();
            }
        }
        if !job.sentences.is_empty() {
            shared.lock().jobs.push_back(job);
            shared.work_ready.notify_one();
        }
    }
}

fn parse_voice_config(json: &str) -> Result<ModelConfig, TtsError> {
    serde_json::from_str(json).map_err(|e| TtsError::Voice(format!("bad voice configuration: {e}")))
}

/// Builds a worker's session: one intra-op thread without spinning, since the pool already
/// runs one worker per core.
fn load_voice(model: &[u8], voice_json: &str) -> Result<Voice, TtsError> {
    let config = parse_voice_config(voice_json)?;
    let voice_error =
        |e: ort::Error<ort::session::builder::SessionBuilder>| TtsError::Voice(e.to_string());
    let session = ort::session::Session::builder()
        .map_err(|e| TtsError::Voice(e.to_string()))?
        .with_intra_threads(1)
        .map_err(voice_error)?
        .with_inter_threads(1)
        .map_err(voice_error)?
        .with_intra_op_spinning(false)
        .map_err(voice_error)?
        .commit_from_memory(model)
        .map_err(|e| TtsError::Voice(e.to_string()))?;
    Ok(Voice {
        piper: Piper::from_session(session, config),
    })
}
