//! The speech-recognition worker pool: one Whisper model shared by a few OS threads, a bounded
//! two-priority queue in front of them, and back-pressure that answers at once ("overloaded")
//! instead of letting a caller wait past its deadline.

pub use crate::asr_queue::AsrPriority;
use crate::asr_queue::{JobQueue, Pushed, Queued};
use crate::recognizer::{Recognizer, WHISPER_RATE};
use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use whisper_rs::{WhisperContext, WhisperContextParameters};

/// How the ASR pool is set up.
#[derive(Debug, Clone)]
pub struct AsrPoolConfig {
    /// Whisper model in ggml format.
    pub model: PathBuf,
    /// Decoder threads, each running one job at a time on one core.
    pub workers: usize,
    /// Jobs that may wait; more are refused with [`AsrError::Overloaded`].
    pub queue_capacity: usize,
    /// Longest a job may take from submission to result, waiting included.
    pub timeout: Duration,
    /// Shrink Whisper's encoder window to the clip length (about 4× faster on short clips).
    pub use_short_audio_ctx: bool,
}

impl AsrPoolConfig {
    /// Defaults for a model: a worker per core, 64 waiting jobs, 10 s per job, short window.
    pub fn new(model: impl Into<PathBuf>) -> Self {
        Self {
            model: model.into(),
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            queue_capacity: 64,
            timeout: Duration::from_secs(10),
            use_short_audio_ctx: true,
        }
    }
}

/// A clip to transcribe.
#[derive(Debug, Clone)]
pub struct AsrRequest {
    /// The call (or batch) the clip belongs to, for [`AsrPool::cancel_call`].
    pub call: String,
    /// Mono PCM.
    pub samples: Vec<i16>,
    /// Rate of `samples` in Hz (resampled to 16 kHz for Whisper).
    pub sample_rate: u32,
    /// Live calls are served before batch work.
    pub priority: AsrPriority,
    /// Words likely to be said (the menu's options), to bias recognition.
    pub initial_prompt: Option<String>,
}

/// What was said.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Recognition {
    /// The transcript; empty when the clip held no speech.
    pub text: String,
    /// Mean probability of the transcript's tokens, 0..1 (0 for no speech).
    pub confidence: f32,
    /// The words with their times in the clip.
    pub words: Vec<WordTiming>,
    /// Length of the clip.
    pub audio_ms: u64,
    /// Time spent decoding (not waiting).
    pub decode_ms: u64,
}

impl Recognition {
    /// The result for a clip without speech.
    pub(crate) fn empty(audio_ms: u64, decode_ms: u64) -> Self {
        Self {
            text: String::new(),
            confidence: 0.0,
            words: Vec::new(),
            audio_ms,
            decode_ms,
        }
    }
}

/// One recognised word, without punctuation, and where it is in the clip.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct WordTiming {
    /// The word.
    pub word: String,
    /// Start, from the beginning of the clip.
    pub start_ms: u64,
    /// End, from the beginning of the clip.
    pub end_ms: u64,
    /// Mean probability of the word's tokens, 0..1.
    pub probability: f32,
}

/// Why a recognition did not happen.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AsrError {
    /// The queue is full or the job could not finish within its timeout; retry later or fall
    /// back (DTMF menu, "please hold").
    #[error("speech recognition is overloaded: the job would not finish in time")]
    Overloaded,
    /// The job did not finish within the pool's timeout.
    #[error("speech recognition timed out")]
    Timeout,
    /// The job was cancelled ([`AsrPool::cancel_call`]).
    #[error("speech recognition was cancelled")]
    Cancelled,
    /// The pool has shut down.
    #[error("speech recognition pool has shut down")]
    Shutdown,
    /// The request cannot be processed (empty audio, zero sample rate).
    #[error("invalid speech recognition request: {0}")]
    Invalid(String),
    /// The model could not be loaded or failed while decoding.
    #[error("speech recognition model error: {0}")]
    Model(String),
}

/// Counters of the pool since it started.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct AsrStats {
    /// Jobs decoded (including those whose result nobody wanted any more).
    pub jobs_done: u64,
    /// Jobs refused with [`AsrError::Overloaded`].
    pub overloads: u64,
    /// Jobs that ran out of time.
    pub timeouts: u64,
    /// Jobs cancelled while queued or running.
    pub cancelled: u64,
    /// Recent mean decode time (exponential average), the basis of the overload estimate.
    pub mean_decode_ms: f64,
    /// Decode time of the last job.
    pub last_decode_ms: u64,
}

/// Weight of the newest decode time in the running mean.
const MEAN_WEIGHT: f64 = 0.2;

/// The ASR worker pool. Cheap to clone; the workers stop when the last clone is dropped.
#[derive(Clone)]
pub struct AsrPool {
    handle: Arc<PoolHandle>,
}

/// Owned by the pool's clones only (not by workers or tickets), so its drop means "no more
/// submissions" and stops the workers.
struct PoolHandle {
    shared: Arc<Shared>,
}

impl Drop for PoolHandle {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.shutdown = true;
        while let Some(job) = state.queue.pop() {
            let _ = job.item.reply.send(Err(AsrError::Shutdown));
        }
        drop(state);
        self.shared.work_ready.notify_all();
    }
}

struct Shared {
    state: Mutex<State>,
    work_ready: Condvar,
    workers: usize,
    timeout: Duration,
    next_id: AtomicU64,
}

struct State {
    queue: JobQueue<Job>,
    /// Jobs being decoded, by id: their call, and whether their result is unwanted.
    running: HashMap<u64, RunningJob>,
    stats: AsrStats,
    shutdown: bool,
}

struct RunningJob {
    call: String,
    cancelled: bool,
}

struct Job {
    samples: Vec<i16>,
    sample_rate: u32,
    prompt: Option<String>,
    submitted: Instant,
    deadline: Instant,
    reply: oneshot::Sender<Result<Recognition, AsrError>>,
}

impl AsrPool {
    /// Loads the model once and starts the workers, each with its own decoder state.
    pub fn start(config: AsrPoolConfig) -> Result<AsrPool, AsrError> {
        if config.workers == 0 || config.queue_capacity == 0 {
            return Err(AsrError::Invalid(
                "the pool needs at least one worker and one queue slot".into(),
            ));
        }
        whisper_rs::install_logging_hooks();
        let started = Instant::now();
        let context =
            WhisperContext::new_with_params(&config.model, WhisperContextParameters::default())
                .map_err(|e| {
                    AsrError::Model(format!(
                        "cannot load Whisper model {}: {e}",
                        config.model.display()
                    ))
                })?;
        let recognizers = (0..config.workers)
            .map(|_| Recognizer::new(&context, config.use_short_audio_ctx))
            .collect::<Result<Vec<_>, _>>()?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                queue: JobQueue::new(config.queue_capacity),
                running: HashMap::new(),
                stats: AsrStats::default(),
                shutdown: false,
            }),
            work_ready: Condvar::new(),
            workers: config.workers,
            timeout: config.timeout,
            next_id: AtomicU64::new(1),
        });
        for (index, recognizer) in recognizers.into_iter().enumerate() {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name(format!("asr-{index}"))
                .spawn(move || run_worker(&shared, recognizer))
                .map_err(|e| AsrError::Model(format!("cannot start an ASR worker: {e}")))?;
        }
        tracing::info!(
            model = %config.model.display(),
            workers = config.workers,
            short_audio_ctx = config.use_short_audio_ctx,
            load_ms = started.elapsed().as_millis() as u64,
            "ASR pool started"
        );
        Ok(AsrPool {
            handle: Arc::new(PoolHandle { shared }),
        })
    }

    /// Queues a clip without blocking. Refused at once with [`AsrError::Overloaded`] when the
    /// queue is full or the jobs ahead would keep this one past the timeout.
    pub fn submit(&self, request: AsrRequest) -> Result<AsrTicket, AsrError> {
        if request.sample_rate == 0 {
            return Err(AsrError::Invalid("sample rate is 0 Hz".into()));
        }
        let shared = &self.handle.shared;
        let now = Instant::now();
        let deadline = now + shared.timeout;
        let (reply, receiver) = oneshot::channel();
        let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
        let mut state = shared.lock();
        if state.shutdown {
            return Err(AsrError::Shutdown);
        }
        let mean = Duration::from_secs_f64(state.stats.mean_decode_ms / 1000.0);
        let ahead = state.queue.ahead_of(request.priority) as u32;
        let expected = mean * ahead / shared.workers as u32 + mean;
        if expected > shared.timeout {
            state.stats.overloads += 1;
            sb_metrics::asr_result("overloaded", None);
            return Err(AsrError::Overloaded);
        }
        let job = Queued {
            id,
            call: request.call,
            item: Job {
                samples: request.samples,
                sample_rate: request.sample_rate,
                prompt: request.initial_prompt,
                submitted: now,
                deadline,
                reply,
            },
        };
        match state.queue.push(job, request.priority) {
            Pushed::Queued => {}
            Pushed::Displaced(batch) => {
                state.stats.overloads += 1;
                sb_metrics::asr_result("overloaded", None);
                let _ = batch.item.reply.send(Err(AsrError::Overloaded));
            }
            Pushed::Full(_) => {
                state.stats.overloads += 1;
                sb_metrics::asr_result("overloaded", None);
                return Err(AsrError::Overloaded);
            }
        }
        sb_metrics::asr_queue_depth(state.queue.len());
        drop(state);
        shared.work_ready.notify_one();
        Ok(AsrTicket {
            id,
            receiver,
            deadline,
            timer: None,
            shared: Arc::clone(shared),
            finished: false,
        })
    }

    /// Drops the call's queued jobs and discards the result of its running ones; their tickets
    /// resolve to [`AsrError::Cancelled`].
    pub fn cancel_call(&self, call: &str) {
        let mut guard = self.handle.shared.lock();
        let state = &mut *guard;
        let removed = state.queue.remove_call(call);
        sb_metrics::asr_queue_depth(state.queue.len());
        state.stats.cancelled += removed.len() as u64;
        for job in removed {
            let _ = job.item.reply.send(Err(AsrError::Cancelled));
        }
        for running in state.running.values_mut() {
            if running.call == call && !running.cancelled {
                running.cancelled = true;
                state.stats.cancelled += 1;
            }
        }
    }

    /// Jobs waiting for a worker.
    pub fn queue_depth(&self) -> usize {
        self.handle.shared.lock().queue.len()
    }

    /// Counters since the pool started.
    pub fn stats(&self) -> AsrStats {
        self.handle.shared.lock().stats
    }
}

impl std::fmt::Debug for AsrPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsrPool")
            .field("workers", &self.handle.shared.workers)
            .field("queue_depth", &self.queue_depth())
            .finish()
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Workers never panic while holding the lock; recover the state if one did.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forgets a job nobody waits for any more: out of the queue, or its result discarded.
    fn abandon(&self, id: u64) {
        let mut state = self.lock();
        if state.queue.remove(id).is_none()
            && let Some(running) = state.running.get_mut(&id)
        {
            running.cancelled = true;
        }
    }
}

fn run_worker(shared: &Shared, mut recognizer: Recognizer) {
    loop {
        let job = {
            let mut state = shared.lock();
            loop {
                if state.shutdown {
                    return;
                }
                if let Some(job) = state.queue.pop() {
                    sb_metrics::asr_queue_depth(state.queue.len());
                    break job;
                }
                state = shared
                    .work_ready
                    .wait(state)
                    .unwrap_or_else(|p| p.into_inner());
            }
        };
        let Queued {
            id,
            call,
            item: job,
        } = job;
        if job.reply.is_closed() {
            sb_metrics::asr_result("cancelled", None);
            continue;
        }
        if Instant::now() >= job.deadline {
            shared.lock().stats.timeouts += 1;
            sb_metrics::asr_result("timeout", None);
            let _ = job.reply.send(Err(AsrError::Timeout));
            continue;
        }
        shared.lock().running.insert(
            id,
            RunningJob {
                call,
                cancelled: false,
            },
        );
        let result = transcribe(&mut recognizer, &job);
        let mut state = shared.lock();
        let cancelled = state.running.remove(&id).is_some_and(|r| r.cancelled);
        if let Ok(recognition) = &result {
            let stats = &mut state.stats;
            stats.jobs_done += 1;
            stats.last_decode_ms = recognition.decode_ms;
            stats.mean_decode_ms = if stats.jobs_done == 1 {
                recognition.decode_ms as f64
            } else {
                stats.mean_decode_ms * (1.0 - MEAN_WEIGHT)
                    + recognition.decode_ms as f64 * MEAN_WEIGHT
            };
        }
        drop(state);
        let outcome = match (&result, cancelled) {
            (_, true) => "cancelled",
            (Ok(_), false) => "ok",
            (Err(_), false) => "failed",
        };
        sb_metrics::asr_result(outcome, Some(job.submitted.elapsed()));
        let _ = job.reply.send(if cancelled {
            Err(AsrError::Cancelled)
        } else {
            result
        });
    }
}

/// Brings the clip to 16 kHz floats and decodes it.
fn transcribe(recognizer: &mut Recognizer, job: &Job) -> Result<Recognition, AsrError> {
    let samples: Vec<f64> = job
        .samples
        .iter()
        .map(|&s| f64::from(s) / 32768.0)
        .collect();
    let samples = if job.sample_rate == WHISPER_RATE || samples.is_empty() {
        samples
    } else {
        sb_media::prompt::resample(&samples, job.sample_rate, WHISPER_RATE)
            .map_err(AsrError::Invalid)?
    };
    let samples: Vec<f32> = samples.iter().map(|&s| s as f32).collect();
    recognizer.recognize(&samples, job.prompt.as_deref())
}

/// A queued recognition: await it for the result. Dropping it cancels the job.
pub struct AsrTicket {
    id: u64,
    receiver: oneshot::Receiver<Result<Recognition, AsrError>>,
    deadline: Instant,
    /// Created on first poll, so tickets can be made outside a Tokio runtime.
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
    shared: Arc<Shared>,
    finished: bool,
}

impl Future for AsrTicket {
    type Output = Result<Recognition, AsrError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if let Poll::Ready(result) = Pin::new(&mut this.receiver).poll(cx) {
            this.finished = true;
            return Poll::Ready(result.unwrap_or(Err(AsrError::Shutdown)));
        }
        let deadline = this.deadline;
        let timer = this
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline.into())));
        if timer.as_mut().poll(cx).is_ready() {
            this.finished = true;
            this.shared.abandon(this.id);
            this.shared.lock().stats.timeouts += 1;
            return Poll::Ready(Err(AsrError::Timeout));
        }
        Poll::Pending
    }
}

impl Drop for AsrTicket {
    fn drop(&mut self) {
        if !self.finished {
            self.shared.abandon(self.id);
        }
    }
}

impl std::fmt::Debug for AsrTicket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsrTicket").field("id", &self.id).finish()
    }
}
