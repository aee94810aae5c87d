//! The cues that can fire on an utterance, named for the handoff summary and the QA timeline.

use serde::Serialize;

/// One reason the score went up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cue {
    /// Louder and higher than the caller's baseline.
    RaisedVoice,
    /// Faster than the caller's baseline.
    FastSpeech,
    /// Wider pitch swings than the caller's baseline.
    AgitatedIntonation,
    /// Negative sentiment in the words.
    NegativeWords,
    /// Swearing.
    Profanity,
    /// Asked for an agent, a human, a manager.
    AskedForHuman,
    /// Said the same thing as earlier in the call.
    RepeatedRequest,
    /// The bot did not understand this turn or the ones before.
    NotUnderstood,
    /// The recognizer was unsure of this turn or the ones before.
    LowConfidence,
}

impl Cue {
    /// Words for a person reading a summary: "raised voice", "asked for a human", …
    pub fn label(self) -> &'static str {
        match self {
            Cue::RaisedVoice => "raised voice",
            Cue::FastSpeech => "speaking fast",
            Cue::AgitatedIntonation => "agitated intonation",
            Cue::NegativeWords => "negative words",
            Cue::Profanity => "profanity",
            Cue::AskedForHuman => "asked for a human",
            Cue::RepeatedRequest => "repeated request",
            Cue::NotUnderstood => "not understood",
            Cue::LowConfidence => "low recognition confidence",
        }
    }

    /// Whether the cue comes from the voice (and so needs the caller's baseline).
    pub fn is_acoustic(self) -> bool {
        matches!(
            self,
            Cue::RaisedVoice | Cue::FastSpeech | Cue::AgitatedIntonation
        )
    }
}

impl std::fmt::Display for Cue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}
