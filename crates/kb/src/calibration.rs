//! Fusion weights and decision thresholds, and the search that calibrates them on held-out
//! examples of the knowledge base itself (never on the evaluation set).
//!
//! A knowledge base may carry its own in a `[matcher]` table (what `switchboard kb calibrate`
//! writes); without one the defaults below apply, which were calibrated on the training
//! split of the demo shop knowledge base.

use serde::{Deserialize, Serialize};

use crate::decision::Decision;

/// How much each ranker counts in the fused score (they need not sum to 1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Weights {
    /// BM25 over stemmed words.
    pub bm25: f32,
    /// Character trigram cosine.
    pub ngram: f32,
    /// Sentence-embedding cosine.
    pub embedding: f32,
}

/// When a ranked score is trusted.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// Below this the best entry is not an answer (out of scope).
    pub answer: f32,
    /// When the second entry is plausible too and this close to the first, ask which.
    pub margin: f32,
    /// From this score up to `answer` the best entry is plausible but not sure: ask whether
    /// it is this one or the runner-up instead of giving up. `None`: no such band.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clarify: Option<f32>,
}

/// Everything the matcher needs beyond the entries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calibration {
    /// Fusion weights with the embedding model.
    pub weights: Weights,
    /// Fusion weights without it (lexical parts only; `embedding` is ignored).
    pub lexical_weights: Weights,
    /// Thresholds of the fused score with embeddings.
    pub smart: Thresholds,
    /// Thresholds of the fused score without embeddings.
    pub smart_lexical: Thresholds,
    /// Thresholds of BM25 alone.
    pub bm25: Thresholds,
    /// Thresholds of trigrams alone.
    pub ngram: Thresholds,
    /// Thresholds of the embedding alone.
    pub embedding: Thresholds,
}

impl Default for Calibration {
    fn default() -> Self {
        Calibration {
            weights: Weights {
                bm25: 0.3,
                ngram: 0.2,
                embedding: 0.5,
            },
            lexical_weights: Weights {
                bm25: 0.6,
                ngram: 0.4,
                embedding: 0.0,
            },
            smart: Thresholds {
                answer: 0.5,
                margin: 0.02,
                clarify: None,
            },
            smart_lexical: Thresholds {
                answer: 0.45,
                margin: 0.02,
                clarify: None,
            },
            bm25: Thresholds {
                answer: 0.45,
                margin: 0.02,
                clarify: None,
            },
            ngram: Thresholds {
                answer: 0.45,
                margin: 0.02,
                clarify: None,
            },
            embedding: Thresholds {
                answer: 0.55,
                margin: 0.02,
                clarify: None,
            },
        }
    }
}

/// A file holding a `[matcher]` table (and possibly entries, read elsewhere).
#[derive(Deserialize)]
struct MatcherFile {
    matcher: Calibration,
    #[serde(rename = "entry")]
    _entries: Option<toml::Value>,
}

impl Calibration {
    /// Reads the `[matcher]` table of a file; the error carries the byte span it is about.
    pub(crate) fn from_toml(text: &str) -> Result<Calibration, (std::ops::Range<usize>, String)> {
        toml::from_str::<MatcherFile>(text)
            .map(|f| f.matcher)
            .map_err(|e| {
                (
                    e.span().unwrap_or(0..0),
                    format!("[matcher]: {}", e.message()),
                )
            })
    }

    /// The `[matcher]` table as TOML text.
    pub fn to_toml(&self) -> String {
        #[derive(Serialize)]
        struct Out<'a> {
            matcher: &'a Calibration,
        }
        toml::to_string(&Out { matcher: self }).unwrap_or_default()
    }
}

/// One calibration query: the per-entry part scores of its best candidates.
pub struct ScoredQuery {
    /// The entry it should match; `None` for an out-of-scope utterance.
    pub expected: Option<usize>,
    /// How much it counts among the queries of its kind (in scope or not).
    pub weight: f32,
    /// Candidate entries with their (bm25, ngram, embedding) scores.
    pub candidates: Vec<(usize, [f32; 3])>,
}

/// What a set of thresholds achieves on the calibration queries.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Outcome {
    /// In-scope queries answered with the right entry, as a fraction.
    pub accuracy: f32,
    /// Out-of-scope queries rejected, as a fraction.
    pub oos_recall: f32,
    /// The objective maximized (see [`objective`]).
    pub objective: f32,
}

/// The objective: mean in-scope utility (right answer 1, a clarifying question that offers the
/// right entry 0.5, wrong answer or rejection 0) plus a quarter of the out-of-scope recall, so
/// rejecting other domains counts but not at any price in answers.
fn objective(
    answered_right: f32,
    clarified_right: f32,
    in_scope: f32,
    rejected: f32,
    oos: f32,
) -> Outcome {
    let accuracy = if in_scope > 0.0 {
        answered_right / in_scope
    } else {
        0.0
    };
    let utility = if in_scope > 0.0 {
        (answered_right + 0.5 * clarified_right) / in_scope
    } else {
        0.0
    };
    let oos_recall = if oos > 0.0 { rejected / oos } else { 0.0 };
    Outcome {
        accuracy,
        oos_recall,
        objective: utility + 0.25 * oos_recall,
    }
}

/// The best two (entry, fused score) of a query under `weights`.
fn top_two(query: &ScoredQuery, weights: [f32; 3]) -> [(usize, f32); 2] {
    let mut best = [(usize::MAX, f32::NEG_INFINITY); 2];
    for &(entry, parts) in &query.candidates {
        let s = parts[0] * weights[0] + parts[1] * weights[1] + parts[2] * weights[2];
        if s > best[0].1 {
            best[1] = best[0];
            best[0] = (entry, s);
        } else if s > best[1].1 {
            best[1] = (entry, s);
        }
    }
    best
}

/// Scores the queries under `weights` and `thresholds` with the decision rule of the matcher.
pub fn evaluate(queries: &[ScoredQuery], weights: [f32; 3], thresholds: Thresholds) -> Outcome {
    let tops: Vec<_> = queries.iter().map(|q| top_two(q, weights)).collect();
    outcome(queries, &tops, thresholds)
}

fn outcome(queries: &[ScoredQuery], tops: &[[(usize, f32); 2]], t: Thresholds) -> Outcome {
    let (mut right, mut clarified, mut in_scope, mut rejected, mut oos) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (q, &[first, second]) in queries.iter().zip(tops) {
        let decision =
            Decision::from_scores(Some(first), Some(second).filter(|s| s.0 != usize::MAX), t);
        let w = q.weight;
        match q.expected {
            Some(want) => {
                in_scope += w;
                match decision {
                    Decision::Answer { entry, .. } if entry == want => right += w,
                    Decision::Clarify { first, second } if first == want || second == want => {
                        clarified += w
                    }
                    _ => {}
                }
            }
            None => {
                oos += w;
                if decision == Decision::OutOfScope {
                    rejected += w;
                }
            }
        }
    }
    objective(right, clarified, in_scope, rejected, oos)
}

/// The thresholds that maximize the objective for fixed weights.
pub fn best_thresholds(queries: &[ScoredQuery], weights: [f32; 3]) -> (Thresholds, Outcome) {
    let tops: Vec<_> = queries.iter().map(|q| top_two(q, weights)).collect();
    let mut best = (
        Thresholds {
            answer: 0.5,
            margin: 0.0,
            clarify: None,
        },
        Outcome {
            objective: f32::NEG_INFINITY,
            ..Outcome::default()
        },
    );
    for a in 5..=95 {
        for m in 0..=10 {
            let t = Thresholds {
                answer: a as f32 / 100.0,
                margin: m as f32 / 100.0,
                clarify: None,
            };
            let o = outcome(queries, &tops, t);
            // Ties go to the lower margin and threshold: fewer questions, fewer rejections.
            if o.objective > best.1.objective + 1e-6 {
                best = (t, o);
            }
        }
    }
    best
}

/// `thresholds` with the clarify band (none, or starting 0.01..0.30 below the answer
/// threshold) that maximizes the objective.
pub fn best_clarify_band(
    queries: &[ScoredQuery],
    weights: [f32; 3],
    thresholds: Thresholds,
) -> (Thresholds, Outcome) {
    let tops: Vec<_> = queries.iter().map(|q| top_two(q, weights)).collect();
    let mut best = (thresholds, outcome(queries, &tops, thresholds));
    for below in 1..=30 {
        let t = Thresholds {
            clarify: Some(thresholds.answer - below as f32 / 100.0),
            ..thresholds
        };
        let o = outcome(queries, &tops, t);
        // Ties go to the narrower band: fewer questions.
        if o.objective > best.1.objective + 1e-6 {
            best = (t, o);
        }
    }
    best
}

/// The weights (a 0.05 grid over the simplex, or over BM25/n-gram only when `lexical`) and
/// thresholds that maximize the objective.
pub fn best_fusion(queries: &[ScoredQuery], lexical: bool) -> (Weights, Thresholds, Outcome) {
    let mut best: Option<(Weights, Thresholds, Outcome)> = None;
    for b in 0..=20 {
        for n in 0..=(20 - b) {
            let e = if lexical { 0 } else { 20 - b - n };
            if lexical && b + n != 20 {
                continue;
            }
            let w = [b as f32 / 20.0, n as f32 / 20.0, e as f32 / 20.0];
            let (t, o) = best_thresholds(queries, w);
            if best
                .as_ref()
                .is_none_or(|(_, _, bo)| o.objective > bo.objective + 1e-6)
            {
                let weights = Weights {
                    bm25: w[0],
                    ngram: w[1],
                    embedding: w[2],
                };
                best = Some((weights, t, o));
            }
        }
    }
    best.expect("the grid is not empty")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matcher_table_round_trips_and_names_bad_keys() {
        let c = Calibration::default();
        assert_eq!(Calibration::from_toml(&c.to_toml()).unwrap(), c);
        let bad = c.to_toml().replace("margin", "margn");
        let (span, message) = Calibration::from_toml(&bad).unwrap_err();
        assert!(message.contains("margn"), "{message}");
        assert!(span.start > 0);
    }

    #[test]
    fn thresholds_separate_answers_from_other_domains() {
        let q = |expected, candidates: Vec<(usize, [f32; 3])>| ScoredQuery {
            expected,
            weight: 1.0,
            candidates,
        };
        let queries = vec![
            q(Some(0), vec![(0, [0.8, 0.7, 0.9]), (1, [0.2, 0.3, 0.4])]),
            q(Some(1), vec![(0, [0.1, 0.3, 0.3]), (1, [0.6, 0.6, 0.7])]),
            q(None, vec![(0, [0.1, 0.2, 0.3]), (1, [0.0, 0.1, 0.2])]),
        ];
        let (t, o) = best_thresholds(&queries, [0.3, 0.2, 0.5]);
        assert_eq!((o.accuracy, o.oos_recall), (1.0, 1.0));
        assert!(t.answer > 0.22 && t.answer <= 0.64, "{t:?}");
        let (_, _, o) = best_fusion(&queries, false);
        assert_eq!(o.accuracy, 1.0);
    }
}
