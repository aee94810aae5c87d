//! What the caller says on a call: every 20 ms frame goes through the turn detector; a finished
//! turn goes to the recognizer pool when the dialplan listens or the call is transcribed; the
//! results come back in the order the caller spoke.

use std::collections::VecDeque;
use std::future::pending;

use sb_dialog::{ListenRequest, TurnContext};
use sb_speech::asr::{AsrError, AsrPool, AsrPriority, AsrRequest, AsrTicket, Recognition};
use sb_speech::turn::{TurnConfig, TurnDetector, TurnEvent, Utterance};

/// The speech models every call shares: loaded once, used by all calls.
#[derive(Debug, Clone)]
pub struct SpeechServices {
    /// Speech to text.
    pub asr: AsrPool,
    /// Text to speech.
    pub tts: sb_speech::tts::TtsPool,
    /// End-of-turn and barge-in settings.
    pub turn: TurnConfig,
    /// How each call scores its caller's frustration (the lexicon is shared).
    pub emotion: sb_emotion::FrustrationConfig,
}

/// What the caller's side of the conversation reports to the call task.
#[derive(Debug)]
pub enum CallerEvent {
    /// The caller may be starting to talk (a voiced frame): an interruptible prompt pauses.
    MaybeSpeaking,
    /// It was not speech after all (too short): a paused prompt goes on.
    NotSpeaking,
    /// The caller is talking (speech lasted the minimum): barge-in.
    SpeechStarted {
        /// Onset, in ms from the answer.
        at_ms: u64,
    },
    /// A turn was recognized.
    Recognized {
        /// Turn start and end, in ms from the answer.
        start_ms: u64,
        end_ms: u64,
        /// What the recognizer heard.
        recognition: Recognition,
        /// The turn's audio (word timings are relative to its start).
        audio: Vec<i16>,
        /// Rate of `audio`.
        sample_rate: u32,
        /// The turn answers the dialplan's `listen`.
        for_listen: bool,
    },
    /// A turn could not be recognized (pool overloaded, timed out, failed).
    Unrecognized {
        /// Why.
        error: AsrError,
        /// The turn answers the dialplan's `listen`.
        for_listen: bool,
    },
}

/// A result from the recognizer, for [`CallerSpeech::recognized`] or
/// [`CallerSpeech::early_recognized`].
pub enum RecognitionResult {
    /// The oldest finished turn's.
    Turn(Result<Recognition, AsrError>),
    /// The turn in progress, recognized at a pause.
    Early(Result<Recognition, AsrError>),
}

/// A turn at the recognizer.
struct PendingTurn {
    start_ms: u64,
    end_ms: u64,
    for_listen: bool,
    result: TurnResult,
    audio: Vec<i16>,
    sample_rate: u32,
}

/// A listen turn sent to the recognizer early, at a pause (see `TurnEvent::MayEnd`).
struct EarlyTurn {
    /// End of the audio sent: the turn's end if the caller does not go on.
    end_ms: u64,
    result: TurnResult,
}

/// A recognition on its way, or already back.
enum TurnResult {
    Waiting(AsrTicket),
    /// Back; taken (None) once reported.
    Ready(Option<Result<Recognition, AsrError>>),
}

impl TurnResult {
    /// The result (pending forever once taken).
    async fn wait(&mut self) -> Result<Recognition, AsrError> {
        match self {
            TurnResult::Waiting(ticket) => ticket.await,
            TurnResult::Ready(result) => match result.take() {
                Some(result) => result,
                None => pending().await,
            },
        }
    }
}

/// The caller's side of one call (see the module doc).
pub struct CallerSpeech {
    call_id: String,
    asr: AsrPool,
    turn_config: TurnConfig,
    detector: TurnDetector,
    listening: Option<ListenRequest>,
    transcribing: bool,
    maybe_speaking: bool,
    /// Onset of the turn in progress, for the transcript (the turn's audio starts earlier,
    /// with the pre-roll).
    onset_ms: Option<u64>,
    early: Option<EarlyTurn>,
    pending: VecDeque<PendingTurn>,
    events: VecDeque<CallerEvent>,
}

impl CallerSpeech {
    /// Speech handling for a call whose caller audio is at `sample_rate`.
    pub fn new(call_id: &str, services: &SpeechServices, sample_rate: u32) -> Option<Self> {
        let detector = match TurnDetector::new(
            sample_rate,
            services.turn.clone(),
            turn_context(TurnContext::General),
        ) {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, sample_rate, "no turn detection on this call");
                return None;
            }
        };
        Some(CallerSpeech {
            call_id: call_id.to_string(),
            asr: services.asr.clone(),
            turn_config: services.turn.clone(),
            detector,
            listening: None,
            transcribing: false,
            maybe_speaking: false,
            onset_ms: None,
            early: None,
            pending: VecDeque::new(),
            events: VecDeque::new(),
        })
    }

    /// The dialplan listens for one turn.
    pub fn listen(&mut self, request: ListenRequest) {
        let mut config = self.turn_config.clone();
        if let Some(silence) = request.end_silence {
            config.end_silence = silence;
            config.yes_no_end_silence = silence;
            config.digits_end_silence = silence;
        }
        config.max_utterance = request.max_speech;
        if let Err(e) = self.detector.set_config(config) {
            tracing::warn!(error = %e, "listen step's turn settings rejected; keeping the defaults");
        }
        self.detector.set_context(turn_context(request.context));
        self.listening = Some(request);
    }

    /// The dialplan stopped listening.
    pub fn stop_listening(&mut self) {
        self.listening = None;
        // The call's own settings were accepted when the call started.
        let _ = self.detector.set_config(self.turn_config.clone());
    }

    /// Transcribe everything the caller says (not only `listen` turns).
    pub fn transcribe(&mut self, enabled: bool) {
        self.transcribing = enabled;
    }

    /// True while the dialplan listens.
    pub fn is_listening(&self) -> bool {
        self.listening.is_some()
    }

    /// One 20 ms frame of the caller's audio.
    pub fn frame(&mut self, samples: &[i16]) {
        let event = self.detector.push_frame(samples);
        let voiced = self.detector.speech_possible();
        if voiced != self.maybe_speaking && !matches!(event, Some(TurnEvent::SpeechStarted { .. }))
        {
            self.maybe_speaking = voiced;
            self.events.push_back(if voiced {
                CallerEvent::MaybeSpeaking
            } else {
                CallerEvent::NotSpeaking
            });
        }
        match event {
            Some(TurnEvent::SpeechStarted { at_ms }) => {
                self.maybe_speaking = false;
                self.onset_ms = Some(at_ms);
                self.events.push_back(CallerEvent::SpeechStarted { at_ms });
            }
            Some(TurnEvent::MayEnd(utterance)) => {
                // Only a listen turn is worth the early work: the caller is waiting for it.
                if self.listening.is_some()
                    && let Ok(ticket) = self.asr.submit(self.request(&utterance, true))
                {
                    self.early = Some(EarlyTurn {
                        end_ms: utterance.end_ms,
                        result: TurnResult::Waiting(ticket),
                    });
                }
            }
            Some(TurnEvent::TurnEnded(utterance)) => self.turn_ended(utterance),
            None => {}
        }
    }

    /// A turn is over: its recognition is queued, reusing the early one made of the same audio.
    fn turn_ended(&mut self, utterance: Utterance) {
        let start_ms = self.onset_ms.take().unwrap_or(utterance.start_ms);
        let for_listen = self.listening.is_some();
        let early = self.early.take();
        if !for_listen && !self.transcribing {
            return;
        }
        let result = match early {
            Some(early) if early.end_ms == utterance.end_ms => Ok(early.result),
            _ => self
                .asr
                .submit(self.request(&utterance, for_listen))
                .map(TurnResult::Waiting),
        };
        match result {
            Ok(result) => self.pending.push_back(PendingTurn {
                start_ms,
                end_ms: utterance.end_ms,
                for_listen,
                result,
                audio: utterance.samples,
                sample_rate: utterance.sample_rate,
            }),
            Err(error) => self
                .events
                .push_back(CallerEvent::Unrecognized { error, for_listen }),
        }
    }

    /// Waits for the next result from the recognizer: the oldest finished turn's, or the early
    /// one of the turn in progress (pending forever when there is none).
    pub async fn next_result(&mut self) -> RecognitionResult {
        let early = &mut self.early;
        let turns = &mut self.pending;
        let early = async move {
            match early {
                Some(EarlyTurn {
                    result: TurnResult::Waiting(ticket),
                    ..
                }) => ticket.await,
                _ => pending().await,
            }
        };
        let turn = async move {
            match turns.front_mut() {
                Some(turn) => turn.result.wait().await,
                None => pending().await,
            }
        };
        tokio::select! {
            biased;
            result = turn => RecognitionResult::Turn(result),
            result = early => RecognitionResult::Early(result),
        }
    }

    /// Takes an early result from [`CallerSpeech::next_result`]. When it already
    /// `answers_turn` (the dialplan says so) and the caller is still pausing, the turn ends
    /// now instead of after the whole end-of-turn silence; otherwise it is kept for the end.
    pub fn early_recognized(&mut self, result: Result<Recognition, AsrError>, answers_turn: bool) {
        let Some(early) = self.early.as_mut() else {
            return;
        };
        early.result = TurnResult::Ready(Some(result));
        if answers_turn && let Some(utterance) = self.detector.end_now() {
            self.turn_ended(utterance);
        }
    }

    /// The call is over: a turn the caller was still speaking is recognized too (when the
    /// call is transcribed), so their last words reach the transcript.
    pub fn hang_up(&mut self) {
        self.listening = None;
        if let Some(utterance) = self.detector.flush() {
            self.turn_ended(utterance);
        }
    }

    /// A recognition request for a turn's audio.
    fn request(&self, utterance: &Utterance, for_listen: bool) -> AsrRequest {
        let hints = self
            .listening
            .as_ref()
            .map(|l| l.hints.join(", "))
            .filter(|h| !h.is_empty());
        AsrRequest {
            call: self.call_id.clone(),
            samples: utterance.samples.clone(),
            sample_rate: utterance.sample_rate,
            priority: if for_listen {
                AsrPriority::Live
            } else {
                AsrPriority::Batch
            },
            initial_prompt: hints,
        }
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<CallerEvent> {
        self.events.pop_front()
    }

    /// Waits for the oldest turn at the recognizer (pending forever when there is none).
    pub async fn next_recognition(&mut self) -> Result<Recognition, AsrError> {
        match self.pending.front_mut() {
            Some(turn) => turn.result.wait().await,
            None => pending().await,
        }
    }

    /// Takes a turn's result from [`CallerSpeech::next_result`] or
    /// [`CallerSpeech::next_recognition`] (it is for the oldest turn).
    pub fn recognized(&mut self, result: Result<Recognition, AsrError>) {
        let Some(turn) = self.pending.pop_front() else {
            return;
        };
        self.events.push_back(match result {
            Ok(recognition) => CallerEvent::Recognized {
                start_ms: turn.start_ms,
                end_ms: turn.end_ms,
                recognition,
                audio: turn.audio,
                sample_rate: turn.sample_rate,
                for_listen: turn.for_listen,
            },
            Err(error) => CallerEvent::Unrecognized {
                error,
                for_listen: turn.for_listen,
            },
        });
    }

    /// Turns sent to the recognizer and not back yet.
    pub fn turns_pending(&self) -> usize {
        self.pending.len()
    }
}

impl Drop for CallerSpeech {
    fn drop(&mut self) {
        self.asr.cancel_call(&self.call_id);
    }
}

/// The turn detector's name for what the dialplan expects.
fn turn_context(context: TurnContext) -> sb_speech::turn::TurnContext {
    match context {
        TurnContext::General => sb_speech::turn::TurnContext::General,
        TurnContext::YesNo => sb_speech::turn::TurnContext::YesNo,
        TurnContext::Digits => sb_speech::turn::TurnContext::Digits,
    }
}
