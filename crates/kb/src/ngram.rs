//! Character trigram similarity: a misrecognized or misspelt word ("refnd", "adress",
//! "cancelation") still shares most of its trigrams with the right one, where whole-word
//! matching sees nothing in common.

use std::collections::HashMap;

use crate::normalize::words;

/// TF-IDF weighted trigram vectors of the examples, as an inverted index for cosine scoring.
pub struct NgramIndex {
    gram_ids: HashMap<[u8; 3], u32>,
    /// Per trigram: (document, weight in the document's unit vector).
    postings: Vec<Vec<(u32, f32)>>,
    idf: Vec<f32>,
    unknown_idf: f32,
}

/// The trigrams of each word of `text`, padded with a space at each end so that
/// word starts and ends count ("ord", " or", "er ").
fn trigrams(text: &str) -> HashMap<[u8; 3], f32> {
    let mut grams = HashMap::new();
    for word in words(text) {
        let mut padded = Vec::with_capacity(word.len() + 2);
        padded.push(b' ');
        // Non-ASCII letters fold to one byte each; trigrams only need to be consistent.
        padded.extend(
            word.chars()
                .map(|c| if c.is_ascii() { c as u8 } else { b'#' }),
        );
        padded.push(b' ');
        for w in padded.windows(3) {
            *grams.entry([w[0], w[1], w[2]]).or_insert(0.0) += 1.0;
        }
    }
    grams
}

impl NgramIndex {
    /// Indexes the documents (examples) in order; document ids are their positions.
    pub fn new<'a>(documents: impl IntoIterator<Item = &'a str>) -> Self {
        let grams: Vec<HashMap<[u8; 3], f32>> = documents.into_iter().map(trigrams).collect();
        let mut gram_ids: HashMap<[u8; 3], u32> = HashMap::new();
        let mut df: Vec<u32> = Vec::new();
        for doc in &grams {
            for gram in doc.keys() {
                let next = gram_ids.len() as u32;
                let id = *gram_ids.entry(*gram).or_insert(next);
                if id as usize == df.len() {
                    df.push(0);
                }
                df[id as usize] += 1;
            }
        }
        let n = grams.len().max(1) as f32;
        let idf: Vec<f32> = df.iter().map(|&d| (n / d as f32).ln() + 1.0).collect();
        let mut postings = vec![Vec::new(); idf.len()];
        for (doc, doc_grams) in grams.iter().enumerate() {
            let weighted: Vec<(u32, f32)> = doc_grams
                .iter()
                .map(|(g, &tf)| {
                    let id = gram_ids[g];
                    (id, tf.sqrt() * idf[id as usize])
                })
                .collect();
            let norm = weighted.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
            for (id, w) in weighted {
                postings[id as usize].push((doc as u32, w / norm));
            }
        }
        NgramIndex {
            gram_ids,
            postings,
            idf,
            unknown_idf: n.ln() + 1.0,
        }
    }

    /// Adds each document's cosine similarity with `text` into `scores`.
    pub fn score_into(&self, text: &str, scores: &mut [f32]) {
        let grams = trigrams(text);
        let mut known = Vec::with_capacity(grams.len());
        let mut norm = 0.0;
        for (g, &tf) in &grams {
            let (id, idf) = match self.gram_ids.get(g) {
                Some(&id) => (Some(id), self.idf[id as usize]),
                None => (None, self.unknown_idf),
            };
            let w = tf.sqrt() * idf;
            norm += w * w;
            if let Some(id) = id {
                known.push((id, w));
            }
        }
        if known.is_empty() {
            return;
        }
        let norm = norm.sqrt();
        for (id, w) in known {
            let w = w / norm;
            for &(doc, dw) in &self.postings[id as usize] {
                scores[doc as usize] += w * dw;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misspellings_stay_close() {
        let index = NgramIndex::new(["cancel my order", "refund my payment", "change address"]);
        let mut scores = vec![0.0; 3];
        index.score_into("cancell my ordr", &mut scores);
        assert!(scores[0] > 0.5 && scores[0] > 2.0 * scores[1], "{scores:?}");
        let mut scores = vec![0.0; 3];
        index.score_into("refnd", &mut scores);
        assert!(scores[1] > scores[0] && scores[1] > scores[2], "{scores:?}");
        let mut scores = vec![0.0; 3];
        index.score_into("cancel my order", &mut scores);
        assert!((scores[0] - 1.0).abs() < 1e-4);
    }
}
