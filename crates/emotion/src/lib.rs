//! Emotion cues of a caller and a frustration score per utterance (sans-IO: samples and text
//! in, a [`FrustrationReading`] out; no threads, no clock, deterministic).
//!
//! ```
//! use sb_emotion::{Cue, FrustrationConfig, FrustrationTracker, UtteranceObservation};
//!
//! let mut tracker = FrustrationTracker::new(FrustrationConfig::default());
//! let reading = tracker.observe(&UtteranceObservation {
//!     text: "I want to talk to a real person",
//!     ..UtteranceObservation::default()
//! });
//! assert_eq!(reading.cues, [Cue::AskedForHuman]);
//! ```
//!
//! How the cues are measured and combined is described in `docs/EMOTION.md`.

pub mod acoustic;
pub mod baseline;
pub mod cue;
mod decimate;
pub mod frustration;
pub mod lexical;
pub mod lexicon;
mod phrases;
pub mod pitch;
pub mod repetition;
mod sentiment;
pub mod speaking_rate;
mod text;

pub use acoustic::AcousticMeasures;
pub use baseline::Deviation;
pub use cue::Cue;
pub use frustration::{
    AcousticCues, CueWeights, DialogueCues, FrustrationConfig, FrustrationReading,
    FrustrationTracker, ScoreParts, UtteranceObservation,
};
pub use lexical::LexicalCues;
pub use lexicon::{DEFAULT_LEXICON_PATH, LexiconError, SentimentLexicon};
