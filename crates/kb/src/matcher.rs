//! The matcher: every entry's examples indexed once (BM25, trigrams, embeddings), then per
//! utterance a ranking of entries with the score of each part, and a decision.
//!
//! Entries in `exact` or `contains` mode are matched by their rule and, when they match, come
//! before ranked entries: an administrator who wrote a rule meant it. `smart` entries are ranked
//! by the fused score `w_bm25·bm25 + w_ngram·ngram + w_embedding·cosine`, each part being the
//! best over the entry's examples and lying in 0..1.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use crate::bm25::Bm25Index;
use crate::calibration::{Calibration, ScoredQuery, Thresholds, Weights};
use crate::decision::Decision;
use crate::embedding::Embedder;
use crate::embedding_cache::EmbeddingCache;
use crate::entry::{Entry, KeywordRule, KnowledgeBase, MatchMode};
use crate::ngram::NgramIndex;
use crate::normalize::{contains_phrase, normalized, stems};
use crate::query_cache::QueryCache;
use crate::spoken::as_written;
use crate::vectors::VectorIndex;

/// How entries are matched: as each entry says, or all the same way (to measure each part).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Each entry by its own `match` mode (what the bot does).
    PerEntry,
    /// Every entry by exact equality with an example.
    Exact,
    /// Every entry by its keywords, or by containing one of its examples when it has none.
    Contains,
    /// Every entry by BM25 alone.
    Lexical,
    /// Every entry by character trigrams alone.
    Ngram,
    /// Every entry by sentence embeddings alone.
    Embedding,
    /// Every entry by the fused ranker.
    Smart,
}

impl Strategy {
    /// The names the CLI takes.
    pub const NAMES: [&'static str; 6] = [
        "exact",
        "contains",
        "lexical",
        "ngram",
        "embedding",
        "smart",
    ];

    /// Reads a name of [`Strategy::NAMES`].
    pub fn from_name(name: &str) -> Option<Strategy> {
        Some(match name {
            "exact" => Strategy::Exact,
            "contains" => Strategy::Contains,
            "lexical" => Strategy::Lexical,
            "ngram" => Strategy::Ngram,
            "embedding" => Strategy::Embedding,
            "smart" => Strategy::Smart,
            _ => return None,
        })
    }
}

/// The score of each part for one entry (the best over its examples).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Parts {
    /// BM25, scaled to 0..1.
    pub bm25: f32,
    /// Character trigram cosine.
    pub ngram: f32,
    /// Embedding cosine; `None` without the model.
    pub embedding: Option<f32>,
}

/// How a candidate was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// An `exact` entry (or the exact strategy) matched the whole utterance.
    Exact,
    /// A `contains` entry's keywords (or the contains strategy) matched.
    Contains,
    /// The ranker scored it.
    Ranked,
}

/// One entry of a ranking.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// Index into the knowledge base's entries.
    pub entry: usize,
    /// The score the ranking is sorted by (fused, one part, or the rule's coverage).
    pub score: f32,
    /// Every part's score.
    pub parts: Parts,
    /// How it was found.
    pub via: Via,
}

/// The best entries for an utterance, best first.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranking {
    /// Candidates, best first.
    pub candidates: Vec<Candidate>,
    /// Whether the embedding model took part (false: it is missing, lexical parts only).
    pub embedding_used: bool,
}

/// Options for building a matcher.
#[derive(Default)]
pub struct MatcherOptions<'a> {
    /// The embedding model; without it the matcher ranks with the lexical parts only.
    pub embedder: Option<Arc<Embedder>>,
    /// Where example embeddings are cached between runs.
    pub cache: Option<&'a Path>,
    /// Threads for embedding the examples (0 = one per core).
    pub threads: usize,
    /// Called with the number of examples embedded so far and the total.
    pub progress: Option<&'a (dyn Fn(usize, usize) + Sync)>,
}

/// How many recent utterances' embeddings are kept.
const QUERY_CACHE_SIZE: usize = 1024;

/// A knowledge base ready to match utterances; `Send + Sync`, shared by every call.
pub struct Matcher {
    kb: KnowledgeBase,
    calibration: Calibration,
    /// Per indexed example: its entry.
    example_entry: Vec<u32>,
    bm25: Bm25Index,
    ngram: NgramIndex,
    vectors: Option<VectorIndex>,
    embedder: Option<Arc<Embedder>>,
    /// Recently embedded utterances.
    query_cache: QueryCache,
    /// Normalized example → entries, for exact matching.
    exact: HashMap<String, Vec<usize>>,
    /// Per entry: its keyword phrases (stemmed) and rule, or its examples when it has none.
    phrases: Vec<(Vec<Vec<String>>, KeywordRule)>,
}

impl Matcher {
    /// Indexes the knowledge base; embeds the examples (from the cache where it can).
    pub fn new(kb: KnowledgeBase, options: MatcherOptions<'_>) -> Matcher {
        let mut example_entry = Vec::new();
        let mut texts: Vec<&str> = Vec::new();
        let mut exact: HashMap<String, Vec<usize>> = HashMap::new();
        let mut phrases = Vec::with_capacity(kb.entries.len());
        for (i, entry) in kb.entries.iter().enumerate() {
            for example in &entry.examples {
                example_entry.push(i as u32);
                texts.push(example);
                let slot = exact.entry(normalized(example)).or_default();
                if !slot.contains(&i) {
                    slot.push(i);
                }
            }
            phrases.push(match &entry.mode {
                MatchMode::Contains { keywords, rule } => {
                    (keywords.iter().map(|k| stems(k)).collect(), *rule)
                }
                _ => (
                    entry.examples.iter().map(|e| stems(e)).collect(),
                    KeywordRule::Any,
                ),
            });
        }
        let bm25 = Bm25Index::new(texts.iter().copied());
        let ngram = NgramIndex::new(texts.iter().copied());
        let vectors = options.embedder.as_ref().map(|embedder| {
            // Written as the utterances will be (no fillers, contractions spelt out).
            let written: Vec<String> = texts.iter().map(|t| as_written(t)).collect();
            let written: Vec<&str> = written.iter().map(String::as_str).collect();
            let vectors = embed_examples(embedder, &written, &options);
            VectorIndex::new(embedder.dimensions(), &vectors)
        });
        let calibration = kb.calibration.clone().unwrap_or_default();
        Matcher {
            kb,
            calibration,
            example_entry,
            bm25,
            ngram,
            vectors,
            embedder: options.embedder,
            query_cache: QueryCache::new(QUERY_CACHE_SIZE),
            exact,
            phrases,
        }
    }

    /// The knowledge base.
    pub fn kb(&self) -> &KnowledgeBase {
        &self.kb
    }

    /// The entry at `index` (as rankings and decisions give it).
    pub fn entry(&self, index: usize) -> &Entry {
        &self.kb.entries[index]
    }

    /// Whether the embedding model is loaded.
    pub fn has_embeddings(&self) -> bool {
        self.vectors.is_some()
    }

    /// The calibration in use.
    pub fn calibration(&self) -> &Calibration {
        &self.calibration
    }

    /// Replaces the calibration (after `kb calibrate`, or to try other settings).
    pub fn set_calibration(&mut self, calibration: Calibration) {
        self.calibration = calibration;
    }

    /// The `n` best entries for `text`, each entry by its own match mode.
    pub fn rank(&self, text: &str, n: usize) -> Ranking {
        self.rank_with(text, n, Strategy::PerEntry)
    }

    /// The decision for `text`, each entry by its own match mode.
    pub fn decide(&self, text: &str) -> Decision {
        self.decide_with(text, Strategy::PerEntry)
    }

    /// The decision for `text` under `strategy`.
    pub fn decide_with(&self, text: &str, strategy: Strategy) -> Decision {
        let ranking = self.rank_with(text, 2, strategy);
        self.decision(&ranking, strategy)
    }

    /// The decision a ranking (of at least two candidates, when there are) leads to.
    pub fn decision(&self, ranking: &Ranking, strategy: Strategy) -> Decision {
        let mut top = ranking.candidates.iter();
        let (first, second) = (top.next(), top.next());
        match first {
            Some(f) if f.via != Via::Ranked => match second {
                Some(s) if s.via == f.via && s.score >= f.score => Decision::Clarify {
                    first: f.entry,
                    second: s.entry,
                },
                _ => Decision::Answer {
                    entry: f.entry,
                    score: f.score,
                },
            },
            _ => Decision::from_scores(
                first.map(|c| (c.entry, c.score)),
                second.map(|c| (c.entry, c.score)),
                self.thresholds(strategy, ranking.embedding_used),
            ),
        }
    }

    /// The thresholds of a ranked strategy.
    fn thresholds(&self, strategy: Strategy, embedding_used: bool) -> Thresholds {
        let c = &self.calibration;
        match strategy {
            Strategy::Lexical => c.bm25,
            Strategy::Ngram => c.ngram,
            Strategy::Embedding => c.embedding,
            _ if embedding_used => c.smart,
            _ => c.smart_lexical,
        }
    }

    /// The `n` best entries for `text` under `strategy`.
    pub fn rank_with(&self, text: &str, n: usize, strategy: Strategy) -> Ranking {
        let uses_embedding = matches!(
            strategy,
            Strategy::PerEntry | Strategy::Embedding | Strategy::Smart
        );
        let query = if uses_embedding {
            self.embed_query(text)
        } else {
            None
        };
        self.rank_embedded(text, query.as_deref(), n, strategy)
    }

    /// The embedding of an utterance, when the model is loaded (the costly part of matching,
    /// separate so that it can be timed or done once for several rankings). Fillers are
    /// dropped and contractions spelt out first; recent utterances come from a cache.
    pub fn embed_query(&self, text: &str) -> Option<Arc<[f32]>> {
        self.vectors.as_ref()?;
        let embedder = self.embedder.as_ref()?;
        let written = as_written(text);
        Some(
            self.query_cache
                .get_or_insert(&written, || embedder.embed(&written)),
        )
    }

    /// Like [`Matcher::rank_with`], with the utterance's embedding already computed
    /// (`None`: rank without the embedding part).
    pub fn rank_embedded(
        &self,
        text: &str,
        query: Option<&[f32]>,
        n: usize,
        strategy: Strategy,
    ) -> Ranking {
        let mut candidates = match strategy {
            Strategy::Exact => self.exact_hits(text, |_| true),
            Strategy::Contains => self.contains_hits(text, |_| true),
            _ => Vec::new(),
        };
        let mut embedding_used = false;
        if !matches!(strategy, Strategy::Exact | Strategy::Contains) {
            let (parts, used) = self.parts(text, query);
            embedding_used = used;
            if strategy == Strategy::PerEntry {
                candidates.extend(self.exact_hits(text, |e| e.mode == MatchMode::Exact));
                candidates.extend(
                    self.contains_hits(text, |e| matches!(e.mode, MatchMode::Contains { .. })),
                );
            }
            let weights = self.weights(used);
            for (i, p) in parts.iter().enumerate() {
                let score = match strategy {
                    Strategy::Lexical => p.bm25,
                    Strategy::Ngram => p.ngram,
                    Strategy::Embedding => match p.embedding {
                        Some(s) => s,
                        None => continue,
                    },
                    Strategy::PerEntry if self.kb.entries[i].mode != MatchMode::Smart => continue,
                    _ => {
                        weights.bm25 * p.bm25
                            + weights.ngram * p.ngram
                            + weights.embedding * p.embedding.unwrap_or(0.0)
                    }
                };
                if score > 0.0 {
                    candidates.push(Candidate {
                        entry: i,
                        score,
                        parts: *p,
                        via: Via::Ranked,
                    });
                }
            }
        }
        // Rule matches first, then by score; ties by knowledge-base order.
        candidates.sort_by(|a, b| {
            (b.via != Via::Ranked)
                .cmp(&(a.via != Via::Ranked))
                .then(b.score.total_cmp(&a.score))
                .then(a.entry.cmp(&b.entry))
        });
        candidates.truncate(n);
        Ranking {
            candidates,
            embedding_used,
        }
    }

    fn weights(&self, embedding_used: bool) -> Weights {
        if embedding_used {
            self.calibration.weights
        } else {
            self.calibration.lexical_weights
        }
    }

    /// Every entry's part scores, and whether embeddings took part.
    fn parts(&self, text: &str, query: Option<&[f32]>) -> (Vec<Parts>, bool) {
        let examples = self.example_entry.len();
        let mut bm25 = vec![0.0f32; examples];
        let mut ngram = vec![0.0f32; examples];
        self.bm25.score_into(text, &mut bm25);
        self.ngram.score_into(text, &mut ngram);
        let embedding = match (&self.vectors, query) {
            (Some(vectors), Some(query)) => {
                let mut scores = vec![0.0f32; examples];
                vectors.score_into(query, &mut scores);
                Some(scores)
            }
            _ => None,
        };
        let mut parts = vec![
            Parts {
                embedding: embedding.as_ref().map(|_| f32::NEG_INFINITY),
                ..Parts::default()
            };
            self.kb.entries.len()
        ];
        for (x, &entry) in self.example_entry.iter().enumerate() {
            let p = &mut parts[entry as usize];
            p.bm25 = p.bm25.max(bm25[x].min(1.0));
            p.ngram = p.ngram.max(ngram[x].min(1.0));
            if let (Some(best), Some(scores)) = (&mut p.embedding, &embedding) {
                *best = best.max(scores[x]);
            }
        }
        for p in &mut parts {
            if let Some(e) = &mut p.embedding {
                // An entry without examples has no embedding score.
                *e = e.max(0.0);
            }
        }
        (parts, embedding.is_some())
    }

    fn exact_hits(&self, text: &str, wanted: impl Fn(&Entry) -> bool) -> Vec<Candidate> {
        self.exact
            .get(&normalized(text))
            .into_iter()
            .flatten()
            .filter(|&&i| wanted(&self.kb.entries[i]))
            .map(|&entry| Candidate {
                entry,
                score: 1.0,
                parts: Parts::default(),
                via: Via::Exact,
            })
            .collect()
    }

    /// Entries whose phrases the utterance contains; the score is the share of the
    /// utterance's words the longest matching phrase covers.
    fn contains_hits(&self, text: &str, wanted: impl Fn(&Entry) -> bool) -> Vec<Candidate> {
        let heard = stems(text);
        let mut hits = Vec::new();
        for (entry, (phrases, rule)) in self.phrases.iter().enumerate() {
            if phrases.is_empty() || !wanted(&self.kb.entries[entry]) {
                continue;
            }
            let matched: Vec<usize> = phrases
                .iter()
                .filter(|p| contains_phrase(&heard, p))
                .map(Vec::len)
                .collect();
            let ok = match rule {
                KeywordRule::Any => !matched.is_empty(),
                KeywordRule::All => matched.len() == phrases.len(),
            };
            if ok {
                let longest = matched.iter().copied().max().unwrap_or(0);
                hits.push(Candidate {
                    entry,
                    score: longest as f32 / heard.len().max(1) as f32,
                    parts: Parts::default(),
                    via: Via::Contains,
                });
            }
        }
        hits
    }

    /// The part scores of the best candidate entries for `text`, for calibration: the union
    /// of the ten best by each part; `weight` is how much it counts among its kind.
    pub fn scored_query(&self, text: &str, expected: Option<usize>, weight: f32) -> ScoredQuery {
        let query = self.embed_query(text);
        let (parts, _) = self.parts(text, query.as_deref());
        let mut chosen: Vec<usize> = Vec::new();
        for part in 0..3 {
            let value = |p: &Parts| match part {
                0 => p.bm25,
                1 => p.ngram,
                _ => p.embedding.unwrap_or(0.0),
            };
            let mut order: Vec<usize> = (0..parts.len())
                .filter(|&i| self.kb.entries[i].mode == MatchMode::Smart)
                .collect();
            order.sort_by(|&a, &b| value(&parts[b]).total_cmp(&value(&parts[a])));
            chosen.extend(order.into_iter().take(10));
        }
        chosen.sort_unstable();
        chosen.dedup();
        ScoredQuery {
            expected,
            weight,
            candidates: chosen
                .into_iter()
                .map(|i| {
                    let p = parts[i];
                    (i, [p.bm25, p.ngram, p.embedding.unwrap_or(0.0)])
                })
                .collect(),
        }
    }
}

/// The examples' embeddings, from the cache when there and computed (then cached) otherwise.
fn embed_examples(
    embedder: &Embedder,
    texts: &[&str],
    options: &MatcherOptions<'_>,
) -> Vec<Vec<f32>> {
    let mut cache = match options.cache {
        Some(path) => EmbeddingCache::read(path, embedder.fingerprint(), embedder.dimensions()),
        None => EmbeddingCache::new(embedder.fingerprint(), embedder.dimensions()),
    };
    let mut missing: Vec<&str> = texts
        .iter()
        .copied()
        .filter(|t| cache.get(t).is_none())
        .collect();
    missing.sort_unstable();
    missing.dedup();
    if !missing.is_empty() {
        let threads = match options.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let done = std::sync::atomic::AtomicUsize::new(0);
        let total = missing.len();
        let progress = |k: usize| {
            let now = done.fetch_add(k, std::sync::atomic::Ordering::Relaxed) + k;
            if let Some(report) = options.progress {
                report(now, total);
            }
        };
        let vectors = embedder.embed_all(&missing, threads, &progress);
        for (text, v) in missing.iter().zip(vectors) {
            cache.insert(text, v);
        }
        if let Some(path) = options.cache
            && let Err(e) = cache.write(path)
        {
            tracing::warn!("cannot write the embedding cache {}: {e}", path.display());
        }
    }
    texts
        .iter()
        .map(|t| cache.get(t).map(<[f32]>::to_vec).unwrap_or_default())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::load_texts;

    const SHOP: &str = r#"
[[entry]]
id = "track_order"
examples = ["where is my order", "track my parcel", "my package has not arrived", "when will my delivery come"]
answer = "Order ${order_id} is on its way."

[[entry]]
id = "get_refund"
examples = ["I want a refund", "give me my money back", "refund my purchase please"]
answer = "Refunds take five days."

[[entry]]
id = "refund_policy"
examples = ["what is your refund policy", "can I get a refund on sale items"]

[[entry]]
id = "cancel_order"
examples = ["cancel my order", "I want to cancel the order I placed"]

[[entry]]
id = "hours"
match = "exact"
examples = ["opening hours"]

[[entry]]
id = "agent"
match = "contains"
keywords = ["agent", "real person", "human"]
action = { escalate = true }
"#;

    fn matcher() -> Matcher {
        let kb = load_texts([(Path::new("shop.toml"), SHOP)]).unwrap();
        let mut matcher = Matcher::new(kb, MatcherOptions::default());
        let calibration = Calibration {
            lexical_weights: Weights {
                bm25: 0.2,
                ngram: 0.8,
                embedding: 0.0,
            },
            smart_lexical: Thresholds {
                answer: 0.22,
                margin: 0.05,
                clarify: None,
            },
            ..Calibration::default()
        };
        matcher.set_calibration(calibration);
        matcher
    }

    fn answer(matcher: &Matcher, text: &str) -> Option<String> {
        matcher
            .decide(text)
            .answered()
            .map(|i| matcher.entry(i).id.clone())
    }

    #[test]
    fn each_entry_by_its_own_mode() {
        let m = matcher();
        assert_eq!(
            answer(&m, "Where is my order?").as_deref(),
            Some("track_order")
        );
        assert_eq!(answer(&m, "Opening hours!").as_deref(), Some("hours"));
        // An exact entry does not match a longer sentence…
        assert_ne!(
            answer(&m, "what are your opening hours today").as_deref(),
            Some("hours")
        );
        // …a contains entry matches its keywords anywhere, before any ranked entry.
        let ranking = m.rank("I want a refund, let me talk to a real person", 3);
        assert_eq!(m.entry(ranking.candidates[0].entry).id, "agent");
        assert_eq!(ranking.candidates[0].via, Via::Contains);
        assert!(!ranking.embedding_used);
    }

    #[test]
    fn strategies_override_the_modes() {
        let m = matcher();
        let exact = m.decide_with("track my parcel", Strategy::Exact);
        assert_eq!(
            exact.answered().map(|i| m.entry(i).id.as_str()),
            Some("track_order")
        );
        assert_eq!(
            m.decide_with("track my parcel now", Strategy::Exact),
            Decision::OutOfScope
        );
        let contains = m.decide_with("um cancel my order please", Strategy::Contains);
        assert_eq!(
            contains.answered().map(|i| m.entry(i).id.as_str()),
            Some("cancel_order")
        );
        let lexical = m.rank_with("parcel tracking", 1, Strategy::Lexical);
        assert_eq!(m.entry(lexical.candidates[0].entry).id, "track_order");
        assert!(lexical.candidates[0].parts.bm25 > 0.0);
        assert_eq!(lexical.candidates[0].parts.embedding, None);
        // Without the model the embedding strategy has nothing to rank with.
        assert_eq!(
            m.decide_with("where is my order", Strategy::Embedding),
            Decision::OutOfScope
        );
    }

    #[test]
    fn recognition_errors_still_match() {
        let m = matcher();
        for (heard, want) in [
            ("wear is my ordr", "track_order"),
            ("i wanna refnd", "get_refund"),
            ("cancell my oder", "cancel_order"),
            ("my pakage hasnt arived", "track_order"),
        ] {
            assert_eq!(answer(&m, heard).as_deref(), Some(want), "{heard}");
        }
    }

    #[test]
    fn close_candidates_clarify_and_other_domains_are_out_of_scope() {
        let m = matcher();
        // Lexically, "refund policy" is as close to asking for a refund as to the policy.
        match m.decide("refund policy please") {
            Decision::Clarify { first, second } => {
                let mut ids = [m.entry(first).id.as_str(), m.entry(second).id.as_str()];
                ids.sort();
                assert_eq!(ids, ["get_refund", "refund_policy"]);
            }
            other => panic!("expected a question, got {other:?}"),
        }
        for other in [
            "what's the weather like in Paris tomorrow",
            "how do I bake sourdough bread",
            "who won the football last night",
        ] {
            assert_eq!(m.decide(other), Decision::OutOfScope, "{other}");
        }
    }

    #[test]
    fn a_matcher_is_shared_between_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<Matcher>();
    }
}
