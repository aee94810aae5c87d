//! The per-call frustration tracker: the cues of each caller utterance combined into a score
//! 0..1, smoothed over the call, with its trend.
//!
//! Each cue has a strength 0..1 (how clearly it is there) and a weight (how much it alone says
//! about frustration). They combine like independent pieces of evidence ("noisy-OR"):
//! `score = 1 − Π (1 − weight × strength)`. One strong cue gives about its weight; every further
//! cue adds to what is left, and the score never leaves 0..1.

use std::sync::Arc;

use serde::Serialize;

use crate::acoustic::{AcousticMeasures, measure};
use crate::baseline::{CallerBaseline, Deviation};
use crate::cue::Cue;
use crate::lexical::{LexicalCues, lexical_cues};
use crate::lexicon::SentimentLexicon;
use crate::repetition::RequestHistory;
use crate::text::words;

/// A cue is listed in a reading when its strength reaches this.
const FIRES_AT: f32 = 0.5;

/// How much each cue alone can raise the score (0..1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CueWeights {
    /// Louder and higher than the baseline: the classic sign of anger.
    pub raised_voice: f32,
    /// Faster than the baseline: also excitement or hurry, so worth less.
    pub fast_speech: f32,
    /// Wider pitch swings than the baseline: also plain liveliness.
    pub agitated_intonation: f32,
    /// Negative sentiment words.
    pub negative_words: f32,
    /// Swearing.
    pub profanity: f32,
    /// Asking for a person: a caller who wants out of the bot.
    pub asked_for_human: f32,
    /// Saying the same thing again.
    pub repeated_request: f32,
    /// The bot not understanding, turn after turn.
    pub not_understood: f32,
    /// The recognizer unsure, turn after turn (mumbling, noise, or shouting into the phone).
    pub low_confidence: f32,
}

impl Default for CueWeights {
    fn default() -> Self {
        Self {
            raised_voice: 0.7,
            fast_speech: 0.3,
            agitated_intonation: 0.3,
            negative_words: 0.6,
            profanity: 0.7,
            asked_for_human: 0.6,
            repeated_request: 0.5,
            not_understood: 0.5,
            low_confidence: 0.3,
        }
    }
}

impl CueWeights {
    /// The weight of one cue.
    pub fn weight(&self, cue: Cue) -> f32 {
        match cue {
            Cue::RaisedVoice => self.raised_voice,
            Cue::FastSpeech => self.fast_speech,
            Cue::AgitatedIntonation => self.agitated_intonation,
            Cue::NegativeWords => self.negative_words,
            Cue::Profanity => self.profanity,
            Cue::AskedForHuman => self.asked_for_human,
            Cue::RepeatedRequest => self.repeated_request,
            Cue::NotUnderstood => self.not_understood,
            Cue::LowConfidence => self.low_confidence,
        }
    }
}

/// Settings of a tracker.
#[derive(Debug, Clone)]
pub struct FrustrationConfig {
    /// The sentiment lexicon (shared by all calls); `None` turns the sentiment cue off and every
    /// reading says so (`lexical.lexicon_available`).
    pub lexicon: Option<Arc<SentimentLexicon>>,
    /// How many of the caller's first usable utterances make the acoustic baseline.
    pub baseline_utterances: usize,
    /// Recognition confidence below this is low.
    pub low_confidence: f32,
    /// Weight of the newest score in the smoothed score (exponential moving average).
    pub smoothing: f32,
    /// Utterances the trend is fitted over.
    pub trend_window: usize,
    /// The weight of each cue.
    pub weights: CueWeights,
}

impl Default for FrustrationConfig {
    fn default() -> Self {
        Self {
            lexicon: None,
            baseline_utterances: 2,
            low_confidence: 0.5,
            smoothing: 0.5,
            trend_window: 4,
            weights: CueWeights::default(),
        }
    }
}

/// One caller utterance as the call saw it.
#[derive(Debug, Clone, Copy, Default)]
pub struct UtteranceObservation<'a> {
    /// The caller's audio of the utterance (may be empty: then only the words count).
    pub samples: &'a [i16],
    /// Rate of `samples`: 8 kHz or a multiple (16 kHz for G.722).
    pub sample_rate: u32,
    /// Word timings from the recognizer, `(start_ms, end_ms)` within `samples`.
    pub words: &'a [(u32, u32)],
    /// The recognized text.
    pub text: &'a str,
    /// The recognizer's confidence 0..1, when there is one.
    pub asr_confidence: Option<f32>,
    /// Whether the dialogue could not match this turn to anything.
    pub no_match: bool,
}

/// The acoustic side of a reading.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AcousticCues {
    /// Absolute measures of this utterance.
    #[serde(flatten)]
    pub measures: AcousticMeasures,
    /// This utterance against the caller's baseline (`None` while there is no baseline).
    pub vs_baseline: Option<Deviation>,
}

/// The dialogue side of a reading.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DialogueCues {
    /// The recognizer's confidence for this turn.
    pub asr_confidence: Option<f32>,
    /// Turns in a row, this one included, that the dialogue could not match.
    pub no_match_streak: u32,
    /// Turns in a row, this one included, with low recognition confidence.
    pub low_confidence_streak: u32,
}

/// The score split by where its evidence came from (each the noisy-OR of its own cues).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct ScoreParts {
    /// From the voice (raised voice, fast speech, agitated intonation).
    pub voice: f32,
    /// From the words (negative words, profanity, asked for a human, repeated request).
    pub words: f32,
    /// From the dialogue (not understood, low confidence).
    pub dialogue: f32,
}

/// The result for one caller utterance.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FrustrationReading {
    /// Index of the utterance in the call (0 = the caller's first).
    pub utterance: usize,
    /// Frustration of this utterance, 0..1.
    pub score: f32,
    /// The score smoothed over the call (exponential moving average).
    pub smoothed: f32,
    /// Slope of the score over the last few utterances, per utterance (> 0: getting worse).
    pub trend: f32,
    /// The cues that fired, strongest contribution first.
    pub cues: Vec<Cue>,
    /// The score by source.
    pub parts: ScoreParts,
    /// Voice measures.
    pub acoustic: AcousticCues,
    /// Word cues.
    pub lexical: LexicalCues,
    /// Dialogue cues.
    pub dialogue: DialogueCues,
}

/// Follows one caller through one call.
#[derive(Debug)]
pub struct FrustrationTracker {
    config: FrustrationConfig,
    baseline: CallerBaseline,
    history: RequestHistory,
    recent_scores: Vec<f32>,
    smoothed: Option<f32>,
    no_match_streak: u32,
    low_confidence_streak: u32,
    utterances: usize,
}

impl FrustrationTracker {
    /// A tracker for a new call.
    pub fn new(config: FrustrationConfig) -> Self {
        Self {
            baseline: CallerBaseline::new(config.baseline_utterances),
            config,
            history: RequestHistory::default(),
            recent_scores: Vec::new(),
            smoothed: None,
            no_match_streak: 0,
            low_confidence_streak: 0,
            utterances: 0,
        }
    }

    /// Whether the acoustic baseline has all its utterances (before that, later utterances are
    /// compared with what it has so far; the first one with nothing).
    pub fn baseline_complete(&self) -> bool {
        self.baseline.is_complete()
    }

    /// Reads the next caller utterance.
    pub fn observe(&mut self, utterance: &UtteranceObservation<'_>) -> FrustrationReading {
        let index = self.utterances;
        self.utterances += 1;

        let measures = measure(
            utterance.samples,
            utterance.sample_rate,
            utterance.text,
            utterance.words,
        );
        let acoustic = AcousticCues {
            vs_baseline: self.baseline.compare_and_learn(&measures),
            measures,
        };
        let tokens = words(utterance.text);
        let mut lexical = lexical_cues(&tokens, self.config.lexicon.as_deref());
        lexical.repetition = self.history.compare_and_remember(index, &tokens);
        let dialogue = self.dialogue_cues(utterance);

        let strengths = strengths(&acoustic, &lexical, &dialogue);
        let weights = &self.config.weights;
        let evidence = |filter: &dyn Fn(Cue) -> bool| {
            1.0 - strengths
                .iter()
                .filter(|(cue, _)| filter(*cue))
                .map(|&(cue, s)| 1.0 - weights.weight(cue) * s)
                .product::<f32>()
        };
        let score = evidence(&|_| true);
        let parts = ScoreParts {
            voice: evidence(&Cue::is_acoustic),
            words: evidence(&|c| {
                matches!(
                    c,
                    Cue::NegativeWords | Cue::Profanity | Cue::AskedForHuman | Cue::RepeatedRequest
                )
            }),
            dialogue: evidence(&|c| matches!(c, Cue::NotUnderstood | Cue::LowConfidence)),
        };
        let mut fired: Vec<(Cue, f32)> = strengths
            .iter()
            .filter(|(_, s)| *s >= FIRES_AT)
            .map(|&(cue, s)| (cue, weights.weight(cue) * s))
            .collect();
        fired.sort_by(|a, b| b.1.total_cmp(&a.1));

        let smoothed = match self.smoothed {
            Some(previous) => previous + self.config.smoothing * (score - previous),
            None => score,
        };
        self.smoothed = Some(smoothed);
        self.recent_scores.push(score);
        let window = self.config.trend_window.max(2);
        if self.recent_scores.len() > window {
            self.recent_scores.remove(0);
        }

        FrustrationReading {
            utterance: index,
            score,
            smoothed,
            trend: slope(&self.recent_scores),
            cues: fired.into_iter().map(|(cue, _)| cue).collect(),
            parts,
            acoustic,
            lexical,
            dialogue,
        }
    }

    fn dialogue_cues(&mut self, utterance: &UtteranceObservation<'_>) -> DialogueCues {
        let streak = |counter: &mut u32, now: bool| {
            *counter = if now { *counter + 1 } else { 0 };
            *counter
        };
        let low = utterance
            .asr_confidence
            .is_some_and(|c| c < self.config.low_confidence);
        DialogueCues {
            asr_confidence: utterance.asr_confidence,
            no_match_streak: streak(&mut self.no_match_streak, utterance.no_match),
            low_confidence_streak: streak(&mut self.low_confidence_streak, low),
        }
    }
}

/// How clearly each cue is there, 0..1.
fn strengths(
    acoustic: &AcousticCues,
    lexical: &LexicalCues,
    dialogue: &DialogueCues,
) -> [(Cue, f32); 9] {
    let deviation = acoustic.vs_baseline.as_ref();
    [
        (Cue::RaisedVoice, deviation.map_or(0.0, raised_voice)),
        (
            Cue::FastSpeech,
            deviation
                .and_then(|d| d.rate_ratio)
                .map_or(0.0, |r| ramp(r, 1.15, 1.5)),
        ),
        (
            Cue::AgitatedIntonation,
            deviation
                .and_then(|d| d.pitch_spread_ratio)
                .map_or(0.0, |r| ramp(r, 1.3, 2.0)),
        ),
        (Cue::NegativeWords, ramp(lexical.negativity, 0.05, 0.6)),
        (
            Cue::Profanity,
            if lexical.profanity.is_empty() {
                0.0
            } else {
                1.0
            },
        ),
        (
            Cue::AskedForHuman,
            if lexical.human_request.is_some() {
                1.0
            } else {
                0.0
            },
        ),
        (
            Cue::RepeatedRequest,
            lexical
                .repetition
                .map_or(0.0, |r| ramp(r.similarity, 0.3, 0.6)),
        ),
        (
            Cue::NotUnderstood,
            ramp(dialogue.no_match_streak as f32, 0.0, 2.0),
        ),
        (
            Cue::LowConfidence,
            ramp(dialogue.low_confidence_streak as f32, 0.0, 2.0),
        ),
    ]
}

/// Level and pitch up together, in typical-variation units: both must be up (a higher pitch at
/// the same level is a question or a smile, a higher level alone a closer microphone).
fn raised_voice(d: &Deviation) -> f32 {
    let up: Vec<f32> = [d.energy_z, d.pitch_z]
        .into_iter()
        .flatten()
        .map(|z| z.min(4.0))
        .collect();
    let Some(least) = up.iter().copied().reduce(f32::min) else {
        return 0.0;
    };
    let mean = up.iter().sum::<f32>() / up.len() as f32;
    ramp(mean, 1.0, 2.5) * ramp(least, 0.25, 0.75)
}

/// 0 below `low`, 1 above `high`, linear between.
fn ramp(x: f32, low: f32, high: f32) -> f32 {
    ((x - low) / (high - low)).clamp(0.0, 1.0)
}

/// Least-squares slope of `y` over its index (0 for fewer than two points).
fn slope(y: &[f32]) -> f32 {
    let n = y.len() as f32;
    if y.len() < 2 {
        return 0.0;
    }
    let mean_x = (n - 1.0) / 2.0;
    let mean_y = y.iter().sum::<f32>() / n;
    let (mut cov, mut var) = (0.0, 0.0);
    for (i, v) in y.iter().enumerate() {
        let dx = i as f32 - mean_x;
        cov += dx * (v - mean_y);
        var += dx * dx;
    }
    cov / var
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lexicon() -> Arc<SentimentLexicon> {
        Arc::new(
            SentimentLexicon::parse("ridiculous\t-1.5\nterrible\t-2.1\ngreat\t3.1\nhappy\t2.7\n")
                .unwrap(),
        )
    }

    fn tracker() -> FrustrationTracker {
        FrustrationTracker::new(FrustrationConfig {
            lexicon: Some(lexicon()),
            ..FrustrationConfig::default()
        })
    }

    fn say(tracker: &mut FrustrationTracker, text: &str) -> FrustrationReading {
        tracker.observe(&UtteranceObservation {
            text,
            ..UtteranceObservation::default()
        })
    }

    #[test]
    fn neutral_words_score_zero_and_negative_words_score_higher() {
        let mut t = tracker();
        let neutral = say(&mut t, "I would like to check my order status");
        assert_eq!(neutral.score, 0.0);
        assert!(neutral.cues.is_empty());
        let negative = say(
            &mut tracker(),
            "this is ridiculous, the service is terrible",
        );
        assert!(negative.score > 0.4, "{negative:?}");
        assert_eq!(negative.cues, [Cue::NegativeWords]);
        assert_eq!(negative.lexical.negative_words, ["ridiculous", "terrible"]);
    }

    #[test]
    fn negation_of_a_positive_word_counts_as_negative() {
        let happy = say(&mut tracker(), "I am happy with the delivery");
        let unhappy = say(&mut tracker(), "I am not happy with the delivery");
        assert_eq!(happy.score, 0.0);
        assert!(unhappy.score > 0.2, "{unhappy:?}");
    }

    #[test]
    fn asking_for_a_human_fires_and_scores() {
        let r = say(&mut tracker(), "just put me through to a real person");
        assert_eq!(r.cues, [Cue::AskedForHuman]);
        assert!((r.score - 0.6).abs() < 1e-6);
    }

    #[test]
    fn a_repeated_request_fires_on_the_repeat_only() {
        let mut t = tracker();
        assert!(
            say(&mut t, "I was charged twice for my order")
                .cues
                .is_empty()
        );
        let again = say(&mut t, "you charged me twice for the order");
        assert_eq!(again.cues, [Cue::RepeatedRequest]);
        assert_eq!(again.lexical.repetition.unwrap().of_utterance, 0);
    }

    #[test]
    fn repeated_no_match_and_low_confidence_build_up_and_reset() {
        let mut t = tracker();
        let turn = |t: &mut FrustrationTracker, no_match: bool, confidence: f32| {
            t.observe(&UtteranceObservation {
                text: "mumble",
                no_match,
                asr_confidence: Some(confidence),
                ..UtteranceObservation::default()
            })
        };
        let first = turn(&mut t, true, 0.3);
        assert_eq!(first.cues, [Cue::NotUnderstood, Cue::LowConfidence]);
        let second = turn(&mut t, true, 0.3);
        assert!(second.score > first.score);
        assert_eq!(second.dialogue.no_match_streak, 2);
        assert!(second.trend > 0.0);
        let understood = turn(&mut t, false, 0.9);
        assert_eq!(understood.dialogue.no_match_streak, 0);
        assert!(
            understood.smoothed > understood.score,
            "the smoothed score decays slowly"
        );
    }

    #[test]
    fn several_cues_add_up_but_stay_below_one() {
        let r = say(
            &mut tracker(),
            "this is f***ing ridiculous, get me a manager",
        );
        assert_eq!(r.cues.len(), 3);
        assert_eq!(r.cues[0], Cue::Profanity);
        assert!(r.score > 0.85 && r.score < 1.0, "{}", r.score);
        assert!((r.parts.words - r.score).abs() < 1e-6);
        assert_eq!(r.parts.voice, 0.0);
    }

    #[test]
    fn without_a_lexicon_everything_else_still_works() {
        let mut t = FrustrationTracker::new(FrustrationConfig::default());
        let r = say(&mut t, "this is ridiculous, operator!");
        assert!(!r.lexical.lexicon_available);
        assert_eq!(r.cues, [Cue::AskedForHuman]);
    }

    #[test]
    fn readings_serialize_to_json() {
        let r = say(&mut tracker(), "agent please");
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["cues"][0], "asked_for_human");
        assert_eq!(json["lexical"]["human_request"], "agent");
        assert!(json["acoustic"]["pitch_hz"].is_null());
    }

    #[test]
    fn slope_of_scores() {
        assert_eq!(slope(&[0.5]), 0.0);
        assert!((slope(&[0.0, 0.2, 0.4, 0.6]) - 0.2).abs() < 1e-6);
        assert!(slope(&[0.8, 0.4]) < 0.0);
    }
}
