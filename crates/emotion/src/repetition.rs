//! Repeated requests: a caller who says the same thing again was not served the first time.
//! Two utterances are compared by their content words (function words left out, inflections
//! merged), so "I want a refund" and "refund, please" are the same request.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::phrases::FUNCTION_WORDS;
use crate::text::stem;

/// Earlier utterances kept for comparison (a long call compares with its recent past only).
const REMEMBERED: usize = 30;

/// The earlier utterance this one repeats most.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Repetition {
    /// Index of the earlier utterance in the call (0 = the caller's first).
    pub of_utterance: usize,
    /// Shared content words / all content words of both (Jaccard), 0..1.
    pub similarity: f32,
}

/// The content words of the caller's earlier utterances.
#[derive(Debug, Default)]
pub struct RequestHistory {
    earlier: Vec<(usize, BTreeSet<String>)>,
}

impl RequestHistory {
    /// Compares `words` (utterance number `index`) with the earlier utterances, then remembers
    /// them. `None` when nothing earlier shares a content word.
    pub fn compare_and_remember(&mut self, index: usize, words: &[String]) -> Option<Repetition> {
        let content: BTreeSet<String> = words
            .iter()
            .filter(|w| !FUNCTION_WORDS.contains(&w.as_str()))
            .map(|w| stem(w).to_string())
            .collect();
        let best = self
            .earlier
            .iter()
            .map(|(i, earlier)| {
                let shared = content.intersection(earlier).count();
                let all = content.union(earlier).count();
                Repetition {
                    of_utterance: *i,
                    similarity: if all == 0 {
                        0.0
                    } else {
                        shared as f32 / all as f32
                    },
                }
            })
            .filter(|r| r.similarity > 0.0)
            .max_by(|a, b| a.similarity.total_cmp(&b.similarity));
        if !content.is_empty() {
            if self.earlier.len() == REMEMBERED {
                self.earlier.remove(0);
            }
            self.earlier.push((index, content));
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::words;

    #[test]
    fn the_same_request_in_other_words_is_a_repetition() {
        let mut history = RequestHistory::default();
        assert_eq!(
            history.compare_and_remember(0, &words("I want a refund")),
            None
        );
        assert!(
            history
                .compare_and_remember(1, &words("what is your address"))
                .is_none()
        );
        let again = history
            .compare_and_remember(2, &words("Refund, please!"))
            .unwrap();
        assert_eq!(again.of_utterance, 0);
        assert_eq!(again.similarity, 1.0);
    }

    #[test]
    fn a_different_request_on_the_same_order_is_not() {
        let mut history = RequestHistory::default();
        history.compare_and_remember(0, &words("I want to cancel my order"));
        let other = history
            .compare_and_remember(1, &words("I want to change my order"))
            .unwrap();
        assert!(other.similarity < 0.4, "{other:?}");
    }

    #[test]
    fn yes_and_no_are_never_repetitions() {
        let mut history = RequestHistory::default();
        history.compare_and_remember(0, &words("yes"));
        assert_eq!(history.compare_and_remember(1, &words("yes please")), None);
    }
}
