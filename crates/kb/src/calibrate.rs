//! Calibrating a knowledge base on itself: every fifth example of each smart entry is held
//! out as a question, the matcher is built on the other four fifths, and the weights and
//! thresholds that answer the held-out questions best (and reject the out-of-scope
//! utterances given) are kept. The evaluation set is never used.
//!
//! A knowledge base's examples are often uniform (written, complete sentences) while callers
//! are not: labeled questions in the callers' own words can be given too, and then count as
//! much as all the held-out examples together, so that the thresholds suit both.

use crate::calibration::{
    Calibration, Outcome, ScoredQuery, best_clarify_band, best_fusion, best_thresholds,
};
use crate::entry::{KnowledgeBase, MatchMode};
use crate::matcher::{Matcher, MatcherOptions};

/// Every how many examples one is held out.
const HOLD_OUT_EVERY: usize = 5;

/// The calibration found and what it achieves on the held-out questions.
#[derive(Debug, Clone)]
pub struct CalibrationReport {
    /// The settings to use.
    pub calibration: Calibration,
    /// Held-out examples and labeled questions (in scope).
    pub questions: usize,
    /// Out-of-scope utterances.
    pub out_of_scope: usize,
    /// Fused, with embeddings (`None` without the model).
    pub smart: Option<Outcome>,
    /// Fused, lexical parts only.
    pub smart_lexical: Outcome,
    /// BM25 alone.
    pub bm25: Outcome,
    /// Trigrams alone.
    pub ngram: Outcome,
    /// Embedding alone (`None` without the model).
    pub embedding: Option<Outcome>,
}

/// Calibrates `kb` against its own held-out examples, labeled `questions` (text, entry id) in
/// the callers' own words (questions naming no entry of `kb` are skipped) and the out-of-scope
/// utterances `oos`.
pub fn calibrate_with_questions(
    kb: &KnowledgeBase,
    oos: &[String],
    questions: &[(String, String)],
    options: MatcherOptions<'_>,
    progress: &dyn Fn(usize, usize),
) -> CalibrationReport {
    let mut reduced = kb.clone();
    let mut held_out = Vec::new();
    for (i, entry) in reduced.entries.iter_mut().enumerate() {
        if entry.mode != MatchMode::Smart || entry.examples.len() < 2 {
            continue;
        }
        let (keep, hold): (Vec<_>, Vec<_>) = entry
            .examples
            .drain(..)
            .enumerate()
            .partition(|(k, _)| k % HOLD_OUT_EVERY != HOLD_OUT_EVERY - 1);
        entry.examples = keep.into_iter().map(|(_, e)| e).collect();
        held_out.extend(hold.into_iter().map(|(_, e)| (e, Some(i))));
    }
    let examples = held_out.len();
    held_out.extend(questions.iter().filter_map(|(text, id)| {
        let entry = kb.entries.iter().position(|e| &e.id == id)?;
        Some((text.clone(), Some(entry)))
    }));
    let asked = held_out.len() - examples;
    held_out.extend(oos.iter().map(|t| (t.clone(), None)));
    let matcher = Matcher::new(reduced, options);
    let total = held_out.len();
    let queries: Vec<ScoredQuery> = held_out
        .iter()
        .enumerate()
        .map(|(k, (text, expected))| {
            progress(k + 1, total);
            // The held-out examples as one group, the callers' questions as another.
            let weight = match (k < examples, asked) {
                (_, 0) => 1.0,
                (true, _) => 1.0 / examples.max(1) as f32,
                (false, _) if expected.is_some() => 1.0 / asked as f32,
                _ => 1.0,
            };
            matcher.scored_query(text, *expected, weight)
        })
        .collect();
    let mut calibration = Calibration::default();
    let (weights, thresholds, smart_lexical) = best_fusion(&queries, true);
    calibration.lexical_weights = weights;
    calibration.smart_lexical = thresholds;
    let (bm25, bm25_outcome) = best_thresholds(&queries, [1.0, 0.0, 0.0]);
    let (ngram, ngram_outcome) = best_thresholds(&queries, [0.0, 1.0, 0.0]);
    calibration.bm25 = bm25;
    calibration.ngram = ngram;
    let (mut smart, mut embedding_outcome) = (None, None);
    if matcher.has_embeddings() {
        let (weights, thresholds, _) = best_fusion(&queries, false);
        let w = [weights.bm25, weights.ngram, weights.embedding];
        let (thresholds, outcome) = best_clarify_band(&queries, w, thresholds);
        calibration.weights = weights;
        calibration.smart = thresholds;
        smart = Some(outcome);
        let (embedding, outcome) = best_thresholds(&queries, [0.0, 0.0, 1.0]);
        calibration.embedding = embedding;
        embedding_outcome = Some(outcome);
    }
    CalibrationReport {
        calibration,
        questions: total - oos.len(),
        out_of_scope: oos.len(),
        smart,
        smart_lexical,
        bm25: bm25_outcome,
        ngram: ngram_outcome,
        embedding: embedding_outcome,
    }
}
