//! BM25 over the stemmed content words of the examples, scaled to 0..1 so that it can be
//! fused with the other parts and compared against one threshold whatever the utterance.

use std::collections::HashMap;

use crate::normalize::terms;

/// Term-frequency saturation.
const K1: f32 = 1.2;
/// Length normalization.
const B: f32 = 0.75;

/// An inverted index of the examples' terms.
pub struct Bm25Index {
    /// Term → its id.
    term_ids: HashMap<String, u32>,
    /// Per term: (document, term frequency) pairs.
    postings: Vec<Vec<(u32, u16)>>,
    /// Per term: inverse document frequency.
    idf: Vec<f32>,
    /// Per document: length in terms.
    lengths: Vec<u16>,
    average_length: f32,
    /// The idf an unknown word gets: as rare as the rarest known word.
    unknown_idf: f32,
}

impl Bm25Index {
    /// Indexes the documents (examples) in order; document ids are their positions.
    pub fn new<'a>(documents: impl IntoIterator<Item = &'a str>) -> Self {
        let mut term_ids: HashMap<String, u32> = HashMap::new();
        let mut postings: Vec<Vec<(u32, u16)>> = Vec::new();
        let mut lengths = Vec::new();
        for (doc, text) in documents.into_iter().enumerate() {
            let doc_terms = terms(text);
            lengths.push(doc_terms.len().min(u16::MAX as usize) as u16);
            let mut counts: HashMap<&str, u16> = HashMap::new();
            for t in &doc_terms {
                *counts.entry(t).or_default() += 1;
            }
            for (t, count) in counts {
                let next = term_ids.len() as u32;
                let id = *term_ids.entry(t.to_string()).or_insert(next);
                if id as usize == postings.len() {
                    postings.push(Vec::new());
                }
                postings[id as usize].push((doc as u32, count));
            }
        }
        let n = lengths.len().max(1) as f32;
        let idf: Vec<f32> = postings
            .iter()
            .map(|p| (1.0 + (n - p.len() as f32 + 0.5) / (p.len() as f32 + 0.5)).ln())
            .collect();
        let unknown_idf = (1.0 + (n + 0.5) / 1.5).ln();
        let average_length = (lengths.iter().map(|&l| l as f32).sum::<f32>() / n).max(1.0);
        Bm25Index {
            term_ids,
            postings,
            idf,
            lengths,
            average_length,
            unknown_idf,
        }
    }

    /// Adds each document's score for `text` into `scores` (one slot per document), scaled by
    /// the most a document of average length could score: the sum of the query terms' idf.
    /// Unknown words count in that sum, so a question about something else scores low.
    pub fn score_into(&self, text: &str, scores: &mut [f32]) {
        let mut query = terms(text);
        query.sort();
        query.dedup();
        let mut ceiling = 0.0;
        let mut known = Vec::new();
        for t in &query {
            match self.term_ids.get(t) {
                Some(&id) => {
                    ceiling += self.idf[id as usize];
                    known.push(id);
                }
                None => ceiling += self.unknown_idf,
            }
        }
        if known.is_empty() {
            return;
        }
        for id in known {
            let weight = self.idf[id as usize] / ceiling;
            for &(doc, tf) in &self.postings[id as usize] {
                let tf = tf as f32;
                let length = self.lengths[doc as usize] as f32 / self.average_length;
                let saturation = tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * length));
                scores[doc as usize] += weight * saturation;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_rare_words_score_highest() {
        let docs = [
            "where is my order",
            "I want a refund for my order",
            "change my shipping address",
        ];
        let index = Bm25Index::new(docs);
        let mut scores = vec![0.0; 3];
        index.score_into("refund please", &mut scores);
        assert!(scores[1] > scores[0] && scores[1] > scores[2]);
        let mut scores = vec![0.0; 3];
        index.score_into("what is the weather tomorrow", &mut scores);
        assert!(scores.iter().all(|&s| s == 0.0));
        let mut scores = vec![0.0; 3];
        index.score_into("shipping address change", &mut scores);
        assert!(scores[2] > 0.8, "{scores:?}");
    }
}
