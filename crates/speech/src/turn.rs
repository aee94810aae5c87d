//! End-of-turn detection: when the caller starts talking (barge-in) and when they have finished
//! their turn, from 20 ms frames of their audio. Sans-IO: time is the count of frames pushed.
//!
//! A turn starts once `min_speech` has passed with at least 80 % of it speech (clicks, coughs
//! and key tones do not qualify) and ends after a silence whose length depends on what the bot asked for, and on how the caller
//! talks: someone reading digits one by one pauses between groups, so that cadence stretches
//! the silence to the digits one. Measurements behind the constants are in docs/VAD.md.

use crate::vad::{Aggressiveness, FrameActivity, VadError, VoiceActivityDetector};
use std::collections::VecDeque;
use std::time::Duration;

/// Length of one frame: the detector's clock tick.
const FRAME_MS: u64 = 20;
/// Share of the first `min_speech` after an onset that must be speech (N-of-M smoothing): a
/// soft consonant that webrtc-vad misses must not delay barge-in.
const ONSET_SPEECH_PERCENT: u64 = 80;
/// A gap this long before the onset is confirmed drops it (the sound was a click or a cough).
const ONSET_MAX_GAP_MS: u64 = 60;
/// Inside a turn, frames this far below its loudest frame are silence whatever webrtc-vad
/// says: they are its hangover (60–140 ms) and the room's reverberation, and counting them as
/// speech would delay every end of turn by as much.
const TURN_DYNAMIC_RANGE_DB: f64 = 30.0;
/// After a pause, speech counts as resumed only after this much of it in a row; a lone
/// speech frame in a pause is a click or a noise false alarm.
const RESUME_MS: u64 = 40;
/// Silence kept after the last speech in an utterance's samples: webrtc-vad misses soft word
/// endings by up to 250 ms at 8 kHz (docs/VAD.md), and the recogniser should hear them.
const TRAILING_SILENCE_MS: u64 = 300;
/// A pause at least this long separates two bursts of speech for the cadence. Pauses inside
/// fluent phrases (stop closures, breaths) stayed below it on the test recordings.
const CADENCE_PAUSE_MS: u64 = 200;
/// Bursts of this length are the size of a spoken digit or a short group of them.
const DIGIT_BURST_MS: std::ops::RangeInclusive<u64> = 150..=700;
/// This many digit-sized bursts in a row make a digit-reading cadence.
const CADENCE_BURSTS: u32 = 3;

/// What the bot just asked for: the kind of answer decides how long a pause ends it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TurnContext {
    /// An open question.
    #[default]
    General,
    /// A yes/no question: short answers, answer fast.
    YesNo,
    /// A number (account, card, order): callers pause between groups of digits.
    Digits,
}

/// Timing of turn detection.
#[derive(Clone, Debug, PartialEq)]
pub struct TurnConfig {
    /// Speech needed before a turn (and barge-in) starts; 80 % of its frames must be speech.
    pub min_speech: Duration,
    /// Silence that ends a turn in [`TurnContext::General`].
    pub end_silence: Duration,
    /// Silence that ends a turn in [`TurnContext::YesNo`].
    pub yes_no_end_silence: Duration,
    /// Silence that ends a turn in [`TurnContext::Digits`], or in a general turn read with a
    /// digit cadence.
    pub digits_end_silence: Duration,
    /// Longest turn: a turn this long ends even while the caller talks.
    pub max_utterance: Duration,
    /// Audio kept from before the start of speech, so the first syllable is whole.
    pub pre_roll: Duration,
    /// webrtc-vad mode.
    pub vad_aggressiveness: Aggressiveness,
}

impl TurnConfig {
    /// Checks that the timings can work (the errors [`TurnDetector::new`] would give).
    pub fn validate(&self) -> Result<(), TurnError> {
        FrameLimits::of(self).map(|_| ())
    }
}

impl Default for TurnConfig {
    fn default() -> Self {
        TurnConfig {
            min_speech: Duration::from_millis(200),
            end_silence: Duration::from_millis(700),
            yes_no_end_silence: Duration::from_millis(450),
            digits_end_silence: Duration::from_millis(1600),
            max_utterance: Duration::from_secs(20),
            pre_roll: Duration::from_millis(300),
            vad_aggressiveness: Aggressiveness::default(),
        }
    }
}

/// Why a turn detector cannot be built.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TurnError {
    /// The sample rate is not supported.
    #[error(transparent)]
    Vad(#[from] VadError),
    /// A timing that cannot work.
    #[error("turn config: {0}")]
    Config(&'static str),
}

/// What a frame changed.
#[derive(Clone, Debug, PartialEq)]
pub enum TurnEvent {
    /// The caller started talking (confirmed `min_speech` later); `at_ms` is the onset.
    SpeechStarted {
        /// Position of the first speech frame, in ms since the detector was created.
        at_ms: u64,
    },
    /// The caller paused long enough that the turn may be over: this is the audio the turn
    /// will have if the silence lasts until the end-of-turn threshold. Recognizing it now hides
    /// the recognizer's time inside that wait; if the caller goes on, it is simply stale.
    MayEnd(Utterance),
    /// The caller's turn is over.
    TurnEnded(Utterance),
}

/// Why a turn ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TurnEndReason {
    /// The caller fell silent long enough.
    Silence,
    /// The turn reached `max_utterance`.
    MaxLength,
}

/// The audio of one turn.
#[derive(Clone, Debug, PartialEq)]
pub struct Utterance {
    /// Position of the first sample, in ms since the detector was created (the onset minus the
    /// pre-roll that was available).
    pub start_ms: u64,
    /// Position just after the last sample.
    pub end_ms: u64,
    /// Samples per second.
    pub sample_rate: u32,
    /// Pre-roll, speech and up to 300 ms of the silence after it.
    pub samples: Vec<i16>,
    /// Why the turn ended.
    pub reason: TurnEndReason,
}

/// Finds the start and the end of the caller's turns in a stream of 20 ms frames.
pub struct TurnDetector {
    vad: VoiceActivityDetector,
    aggressiveness: Aggressiveness,
    limits: FrameLimits,
    context: TurnContext,
    phase: Phase,
    /// Index of the next frame.
    next_frame: u64,
    /// Recent audio: the pre-roll while idle, everything since the pre-roll during a turn.
    held: VecDeque<i16>,
    /// Frame index of `held[0]`.
    held_from: u64,
}

/// [`TurnConfig`] in frames.
struct FrameLimits {
    min_speech: u64,
    end_silence: u64,
    yes_no_end_silence: u64,
    digits_end_silence: u64,
    max_utterance: u64,
    pre_roll: u64,
}

impl FrameLimits {
    /// The config's timings rounded up to whole frames, if they can work.
    fn of(config: &TurnConfig) -> Result<Self, TurnError> {
        let frames = |d: Duration| (d.as_millis() as u64).div_ceil(FRAME_MS);
        let limits = FrameLimits {
            min_speech: frames(config.min_speech),
            end_silence: frames(config.end_silence),
            yes_no_end_silence: frames(config.yes_no_end_silence),
            digits_end_silence: frames(config.digits_end_silence),
            max_utterance: frames(config.max_utterance),
            pre_roll: frames(config.pre_roll),
        };
        let end_silences = [
            limits.end_silence,
            limits.yes_no_end_silence,
            limits.digits_end_silence,
        ];
        if limits.min_speech == 0 {
            Err(TurnError::Config("min_speech must be at least 20 ms"))
        } else if end_silences.contains(&0) {
            Err(TurnError::Config("end silences must be at least 20 ms"))
        } else if limits.max_utterance <= limits.min_speech {
            Err(TurnError::Config("max_utterance must exceed min_speech"))
        } else {
            Ok(limits)
        }
    }
}

enum Phase {
    /// No speech.
    Idle,
    /// Speech seen, not yet confirmed; given up after `2 × min_speech` without confirmation.
    Onset {
        start: u64,
        speech_frames: u64,
        gap: u64,
    },
    /// In a turn.
    Speaking(Turn),
}

/// A confirmed turn in progress.
struct Turn {
    onset: u64,
    loudest_dbfs: f64,
    /// Frame index just after the last speech frame.
    speech_end: u64,
    /// First frame of a run of speech inside a pause, not yet long enough to end it.
    resuming_from: Option<u64>,
    /// First frame of the current burst (speech between pauses of [`CADENCE_PAUSE_MS`]).
    burst_start: u64,
    /// The current burst was ended by a pause and counted.
    burst_counted: bool,
    /// Digit-sized bursts in a row so far.
    digit_bursts: u32,
    /// The caller reads digits: stays set for the rest of the turn.
    digit_cadence: bool,
}

impl TurnDetector {
    /// A detector for audio at `sample_rate` (8000 or 16000 Hz), starting in `context`.
    pub fn new(
        sample_rate: u32,
        config: TurnConfig,
        context: TurnContext,
    ) -> Result<Self, TurnError> {
        Ok(TurnDetector {
            limits: FrameLimits::of(&config)?,
            vad: VoiceActivityDetector::new(sample_rate, config.vad_aggressiveness)?,
            aggressiveness: config.vad_aggressiveness,
            context,
            phase: Phase::Idle,
            next_frame: 0,
            held: VecDeque::new(),
            held_from: 0,
        })
    }

    /// Replaces the timings; a turn in progress goes on under the new ones. A new webrtc-vad
    /// mode starts webrtc-vad afresh. An invalid config leaves the old one in place.
    pub fn set_config(&mut self, config: TurnConfig) -> Result<(), TurnError> {
        self.limits = FrameLimits::of(&config)?;
        if config.vad_aggressiveness != self.aggressiveness {
            self.vad =
                VoiceActivityDetector::new(self.vad.sample_rate(), config.vad_aggressiveness)?;
            self.aggressiveness = config.vad_aggressiveness;
        }
        Ok(())
    }

    /// Sets what the bot just asked for; applies to a turn in progress too.
    pub fn set_context(&mut self, context: TurnContext) {
        self.context = context;
    }

    /// Drops any partial turn and the pre-roll (listening stopped); the clock keeps running.
    pub fn reset(&mut self) {
        self.phase = Phase::Idle;
        self.held.clear();
        self.held_from = self.next_frame;
    }

    /// Whether the caller is in a confirmed turn (between `SpeechStarted` and `TurnEnded`).
    pub fn in_speech(&self) -> bool {
        matches!(self.phase, Phase::Speaking(_))
    }

    /// Whether speech was heard that is not a turn yet: a start being confirmed (a prompt may
    /// pause). False again once `SpeechStarted` is reported or the sound is dropped.
    pub fn speech_possible(&self) -> bool {
        matches!(self.phase, Phase::Onset { .. })
    }

    /// Ends the turn now if the caller is pausing after speech, with the audio that
    /// [`TurnEvent::MayEnd`] offered for this pause; `None` (nothing changes) otherwise.
    /// The call uses it when the early recognition is already a complete answer, so a caller
    /// who said "billing" does not wait out the whole end-of-turn silence.
    pub fn end_now(&mut self) -> Option<Utterance> {
        let trailing = TRAILING_SILENCE_MS / FRAME_MS;
        let Phase::Speaking(turn) = &self.phase else {
            return None;
        };
        let pausing = turn.resuming_from.is_none() && self.next_frame >= turn.speech_end + trailing;
        if !pausing {
            return None;
        }
        let end = turn.speech_end + trailing;
        let utterance = self.end_turn(end, TurnEndReason::Silence);
        self.keep_only_pre_roll();
        Some(utterance)
    }

    /// Ends a turn in progress because the audio ends (the call is over): its audio up to the
    /// last frame pushed, with at most the usual trailing silence. An onset not yet confirmed
    /// is dropped.
    pub fn flush(&mut self) -> Option<Utterance> {
        let Phase::Speaking(turn) = &self.phase else {
            self.reset();
            return None;
        };
        let end = (turn.speech_end + TRAILING_SILENCE_MS / FRAME_MS).min(self.next_frame);
        let utterance = self.end_turn(end, TurnEndReason::Silence);
        self.reset();
        Some(utterance)
    }

    /// Takes the next 20 ms frame (160 samples at 8 kHz, 320 at 16 kHz).
    ///
    /// # Panics
    /// If the frame has another length: the media path always hands over 20 ms frames.
    pub fn push_frame(&mut self, frame: &[i16]) -> Option<TurnEvent> {
        let activity = self.vad.classify(frame);
        let index = self.next_frame;
        self.next_frame += 1;
        self.held.extend(frame);
        let event = match std::mem::replace(&mut self.phase, Phase::Idle) {
            Phase::Idle => self.idle(index, activity),
            Phase::Onset {
                start,
                speech_frames,
                gap,
            } => self.onset(index, activity, start, speech_frames, gap),
            Phase::Speaking(turn) => self.speaking(index, activity, turn),
        };
        if matches!(self.phase, Phase::Idle) {
            self.keep_only_pre_roll();
        }
        event
    }

    fn idle(&mut self, index: u64, activity: FrameActivity) -> Option<TurnEvent> {
        if activity.is_speech() {
            return self.onset(index, activity, index, 0, 0);
        }
        None
    }

    fn onset(
        &mut self,
        index: u64,
        activity: FrameActivity,
        start: u64,
        speech_frames: u64,
        gap: u64,
    ) -> Option<TurnEvent> {
        let (speech_frames, gap) = if activity.is_speech() {
            (speech_frames + 1, 0)
        } else {
            (speech_frames, gap + 1)
        };
        let elapsed = index + 1 - start;
        let confirmed = elapsed >= self.limits.min_speech
            && speech_frames * 100 >= ONSET_SPEECH_PERCENT * elapsed;
        if !confirmed {
            let alive = gap * FRAME_MS <= ONSET_MAX_GAP_MS && elapsed < 2 * self.limits.min_speech;
            if alive {
                self.phase = Phase::Onset {
                    start,
                    speech_frames,
                    gap,
                };
            } else if activity.is_speech() {
                // Too sparse to confirm: the speech goes on, so try again from here.
                return self.onset(index, activity, index, 0, 0);
            }
            return None;
        }
        self.phase = Phase::Speaking(Turn {
            onset: start,
            loudest_dbfs: self.loudest_since(start),
            speech_end: index + 1 - gap,
            resuming_from: None,
            burst_start: start,
            burst_counted: false,
            digit_bursts: 0,
            digit_cadence: false,
        });
        Some(TurnEvent::SpeechStarted {
            at_ms: start * FRAME_MS,
        })
    }

    fn speaking(
        &mut self,
        index: u64,
        activity: FrameActivity,
        mut turn: Turn,
    ) -> Option<TurnEvent> {
        if activity.is_speech() {
            turn.loudest_dbfs = turn.loudest_dbfs.max(activity.level_dbfs);
        }
        let speech = activity.is_speech()
            && activity.level_dbfs >= turn.loudest_dbfs - TURN_DYNAMIC_RANGE_DB;
        if speech && turn.speech_end == index {
            turn.speech_end = index + 1;
        } else if speech {
            let from = *turn.resuming_from.get_or_insert(index);
            if (index + 1 - from) * FRAME_MS >= RESUME_MS {
                turn.resume(from, index + 1);
            }
        } else {
            turn.resuming_from = None;
        }

        if index + 1 - turn.onset >= self.limits.max_utterance {
            return Some(TurnEvent::TurnEnded(
                self.end_turn(index + 1, TurnEndReason::MaxLength),
            ));
        }
        let silence = index + 1 - turn.speech_end;
        if silence * FRAME_MS >= CADENCE_PAUSE_MS && !turn.burst_counted {
            turn.count_burst();
        }
        let trailing = TRAILING_SILENCE_MS / FRAME_MS;
        let end_silence = self.end_silence(&turn);
        if silence >= end_silence {
            let end = (turn.speech_end + trailing).min(index + 1);
            return Some(TurnEvent::TurnEnded(
                self.end_turn(end, TurnEndReason::Silence),
            ));
        }
        let may_end = silence == trailing && end_silence > trailing;
        let end = turn.speech_end + trailing;
        self.phase = Phase::Speaking(turn);
        may_end.then(|| TurnEvent::MayEnd(self.utterance_until(end, TurnEndReason::Silence)))
    }

    /// Silence, in frames, that ends `turn` now.
    fn end_silence(&self, turn: &Turn) -> u64 {
        match self.context {
            TurnContext::General if turn.digit_cadence => self.limits.digits_end_silence,
            TurnContext::General => self.limits.end_silence,
            TurnContext::YesNo => self.limits.yes_no_end_silence,
            TurnContext::Digits => self.limits.digits_end_silence,
        }
    }

    /// Ends the turn with the audio held up to frame `end` (exclusive).
    fn end_turn(&mut self, end: u64, reason: TurnEndReason) -> Utterance {
        self.phase = Phase::Idle;
        self.utterance_until(end, reason)
    }

    /// The audio held up to frame `end` (exclusive).
    fn utterance_until(&self, end: u64, reason: TurnEndReason) -> Utterance {
        let frame_len = self.vad.frame_len();
        let len = (end - self.held_from) as usize * frame_len;
        Utterance {
            start_ms: self.held_from * FRAME_MS,
            end_ms: end * FRAME_MS,
            sample_rate: self.vad.sample_rate(),
            samples: self.held.iter().take(len).copied().collect(),
            reason,
        }
    }

    /// Loudest frame held from frame `start` on.
    fn loudest_since(&self, start: u64) -> f64 {
        let frame_len = self.vad.frame_len();
        let skip = (start - self.held_from) as usize * frame_len;
        let samples: Vec<i16> = self.held.iter().skip(skip).copied().collect();
        samples
            .chunks_exact(frame_len)
            .map(crate::vad::level_dbfs)
            .fold(f64::NEG_INFINITY, f64::max)
    }

    fn keep_only_pre_roll(&mut self) {
        let frame_len = self.vad.frame_len() as u64;
        let held_frames = self.held.len() as u64 / frame_len;
        if held_frames > self.limits.pre_roll {
            let drop = held_frames - self.limits.pre_roll;
            self.held.drain(..(drop * frame_len) as usize);
            self.held_from += drop;
        }
    }
}

impl Turn {
    /// Speech came back at frame `from` after a pause and lasts up to `end`.
    fn resume(&mut self, from: u64, end: u64) {
        if self.burst_counted {
            self.burst_start = from;
            self.burst_counted = false;
        }
        self.speech_end = end;
        self.resuming_from = None;
    }

    /// A pause of [`CADENCE_PAUSE_MS`] ended the current burst: does it keep a digit cadence?
    fn count_burst(&mut self) {
        self.burst_counted = true;
        let length_ms = (self.speech_end - self.burst_start) * FRAME_MS;
        if DIGIT_BURST_MS.contains(&length_ms) {
            self.digit_bursts += 1;
            self.digit_cadence |= self.digit_bursts >= CADENCE_BURSTS;
        } else if length_ms > *DIGIT_BURST_MS.end() {
            self.digit_bursts = 0;
        }
        // Shorter bursts (a click, a breath) neither make nor break the cadence.
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>() {}

    #[test]
    fn detector_can_move_to_another_task() {
        assert_send::<TurnDetector>();
    }

    #[test]
    fn impossible_configs_are_refused() {
        let new = |config| TurnDetector::new(8000, config, TurnContext::General).err();
        let zero = Duration::ZERO;
        assert_eq!(
            new(TurnConfig {
                min_speech: zero,
                ..TurnConfig::default()
            }),
            Some(TurnError::Config("min_speech must be at least 20 ms"))
        );
        assert_eq!(
            new(TurnConfig {
                yes_no_end_silence: zero,
                ..TurnConfig::default()
            }),
            Some(TurnError::Config("end silences must be at least 20 ms"))
        );
        assert_eq!(
            new(TurnConfig {
                max_utterance: Duration::from_millis(200),
                ..TurnConfig::default()
            }),
            Some(TurnError::Config("max_utterance must exceed min_speech"))
        );
        assert_eq!(
            TurnDetector::new(11025, TurnConfig::default(), TurnContext::General).err(),
            Some(TurnError::Vad(VadError::UnsupportedRate(11025)))
        );
    }

    #[test]
    fn silence_is_no_turn() {
        let mut detector =
            TurnDetector::new(16000, TurnConfig::default(), TurnContext::General).unwrap();
        for _ in 0..500 {
            assert_eq!(detector.push_frame(&[0; 320]), None);
            assert!(!detector.in_speech());
        }
    }

    /// A turn that has just confirmed speech at frame 0.
    fn turn() -> Turn {
        Turn {
            onset: 0,
            loudest_dbfs: -20.0,
            speech_end: 0,
            resuming_from: None,
            burst_start: 0,
            burst_counted: false,
            digit_bursts: 0,
            digit_cadence: false,
        }
    }

    /// Feeds bursts of the given lengths (ms), each followed by a counted pause.
    fn bursts(turn: &mut Turn, lengths_ms: &[u64]) {
        for &ms in lengths_ms {
            let start = turn.speech_end + 10;
            turn.resume(start, start + ms / FRAME_MS);
            turn.count_burst();
        }
    }

    #[test]
    fn three_digit_sized_bursts_in_a_row_make_a_cadence() {
        let mut turn = turn();
        turn.burst_counted = true;
        bursts(&mut turn, &[400, 300]);
        assert!(!turn.digit_cadence);
        bursts(&mut turn, &[560]);
        assert!(turn.digit_cadence);
        // It stays for the rest of the turn.
        bursts(&mut turn, &[2400]);
        assert!(turn.digit_cadence);
    }

    #[test]
    fn a_phrase_breaks_the_run_and_a_click_does_not_count() {
        let mut turn = turn();
        turn.burst_counted = true;
        bursts(&mut turn, &[400, 400, 1500, 400, 400]);
        assert!(!turn.digit_cadence, "the phrase restarted the count");
        bursts(&mut turn, &[100, 400]);
        assert!(
            turn.digit_cadence,
            "the 100 ms click neither counted nor broke the run"
        );
    }

    #[test]
    fn only_a_pause_ends_a_burst() {
        let mut turn = turn();
        turn.speech_end = 20;
        // Speech back after a short gap (no pause counted): the same burst goes on.
        turn.resume(22, 40);
        assert_eq!(turn.burst_start, 0);
        turn.count_burst();
        assert_eq!(turn.digit_bursts, 0, "an 800 ms burst is no digit");
        turn.resume(60, 70);
        assert_eq!(turn.burst_start, 60);
    }
}
