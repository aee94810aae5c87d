//! What the bot does with a ranking: answer, ask which of two, or say it did not understand.

use crate::calibration::Thresholds;

/// The outcome of matching one utterance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    /// Answer with this entry (an index into the knowledge base's entries).
    Answer {
        /// The entry.
        entry: usize,
        /// Its score.
        score: f32,
    },
    /// Two entries are close and both plausible: ask the caller which one they mean.
    Clarify {
        /// The better-scoring entry.
        first: usize,
        /// The runner-up.
        second: usize,
    },
    /// Nothing matches well enough: re-prompt (and escalate after repeated failures).
    OutOfScope,
}

impl Decision {
    /// The entry answered with, if any.
    pub fn answered(&self) -> Option<usize> {
        match self {
            Decision::Answer { entry, .. } => Some(*entry),
            _ => None,
        }
    }

    /// Decides from the best two (entry, score) of a calibrated score.
    pub fn from_scores(
        first: Option<(usize, f32)>,
        second: Option<(usize, f32)>,
        thresholds: Thresholds,
    ) -> Decision {
        let Some((entry, score)) = first else {
            return Decision::OutOfScope;
        };
        if score < thresholds.answer {
            // Plausible but unsure: ask rather than give up, when there is a runner-up to offer.
            return match (thresholds.clarify, second) {
                (Some(clarify), Some((other, _))) if score >= clarify => Decision::Clarify {
                    first: entry,
                    second: other,
                },
                _ => Decision::OutOfScope,
            };
        }
        match second {
            Some((other, s)) if s >= thresholds.answer && score - s < thresholds.margin => {
                Decision::Clarify {
                    first: entry,
                    second: other,
                }
            }
            _ => Decision::Answer { entry, score },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Thresholds = Thresholds {
        answer: 0.5,
        margin: 0.05,
        clarify: None,
    };

    #[test]
    fn answer_clarify_or_out_of_scope() {
        assert_eq!(
            Decision::from_scores(Some((3, 0.8)), Some((1, 0.6)), T),
            Decision::Answer {
                entry: 3,
                score: 0.8
            }
        );
        assert_eq!(
            Decision::from_scores(Some((3, 0.8)), Some((1, 0.78)), T),
            Decision::Clarify {
                first: 3,
                second: 1
            }
        );
        // A close runner-up that is itself implausible does not make a question.
        assert_eq!(
            Decision::from_scores(Some((3, 0.52)), Some((1, 0.49)), T).answered(),
            Some(3)
        );
        assert_eq!(
            Decision::from_scores(Some((3, 0.4)), None, T),
            Decision::OutOfScope
        );
        assert_eq!(Decision::from_scores(None, None, T), Decision::OutOfScope);
    }

    #[test]
    fn an_unsure_score_asks_within_the_band() {
        let t = Thresholds {
            clarify: Some(0.4),
            ..T
        };
        assert_eq!(
            Decision::from_scores(Some((3, 0.45)), Some((1, 0.2)), t),
            Decision::Clarify {
                first: 3,
                second: 1
            }
        );
        assert_eq!(
            Decision::from_scores(Some((3, 0.35)), Some((1, 0.2)), t),
            Decision::OutOfScope
        );
        assert_eq!(
            Decision::from_scores(Some((3, 0.45)), None, t),
            Decision::OutOfScope
        );
    }
}
