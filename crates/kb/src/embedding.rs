//! Sentence embeddings with all-MiniLM-L6-v2: WordPiece tokens → BERT → mean pooling → unit
//! length, so that a dot product is the cosine similarity.

use std::path::Path;

use crate::bert::Bert;
use crate::wordpiece::WordPiece;

/// The model's training length (sentence-transformers' `max_seq_length`).
const MAX_TOKENS: usize = 256;

/// A loaded embedding model; `Send + Sync`, shared by every call.
pub struct Embedder {
    tokenizer: WordPiece,
    bert: Bert,
    /// Identifies the weights, so cached example vectors of another model are not reused.
    fingerprint: u64,
}

impl Embedder {
    /// Loads `tokenizer.json`, `config.json` and `model.safetensors` from `dir` (`models/minilm`).
    pub fn load(dir: &Path) -> Result<Embedder, String> {
        let tokenizer = WordPiece::load(&dir.join("tokenizer.json"))?;
        let bert = Bert::load(dir)?;
        let weights = dir.join("model.safetensors");
        let meta =
            std::fs::metadata(&weights).map_err(|e| format!("{}: {e}", weights.display()))?;
        let config = std::fs::read(dir.join("config.json")).unwrap_or_default();
        let fingerprint = fnv1a(&[&config[..], &meta.len().to_le_bytes()].concat());
        Ok(Embedder {
            tokenizer,
            bert,
            fingerprint,
        })
    }

    /// Length of the vectors.
    pub fn dimensions(&self) -> usize {
        self.bert.hidden_size()
    }

    /// Identifies the model for caches.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// The unit-length embedding of `text`.
    pub fn embed(&self, text: &str) -> Vec<f32> {
        let ids = self
            .tokenizer
            .encode(text, MAX_TOKENS.min(self.bert.max_positions));
        let mut v = self.bert.mean_pooled(&ids);
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
        for x in &mut v {
            *x /= norm;
        }
        v
    }

    /// Embeddings of many texts, on `threads` threads (loading a knowledge base).
    pub fn embed_all(
        &self,
        texts: &[&str],
        threads: usize,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Vec<Vec<f32>> {
        let threads = threads.clamp(1, texts.len().max(1));
        let chunk = texts.len().div_ceil(threads).max(1);
        let mut out: Vec<Vec<f32>> = Vec::with_capacity(texts.len());
        std::thread::scope(|scope| {
            let workers: Vec<_> = texts
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        part.iter()
                            .map(|t| {
                                let v = self.embed(t);
                                progress(1);
                                v
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            for worker in workers {
                out.extend(worker.join().expect("embedding worker panicked"));
            }
        });
        out
    }
}

/// 64-bit FNV-1a: a stable hash for cache keys (std's hasher may change between releases).
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The model fetched by `models/fetch.sh`, if it is there.
    fn embedder() -> Option<Embedder> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/minilm");
        if !dir.join("model.safetensors").exists() {
            eprintln!(
                "skipped: no embedding model in {} (run models/fetch.sh)",
                dir.display()
            );
            return None;
        }
        Some(Embedder::load(&dir).expect("model loads"))
    }

    #[test]
    fn matches_a_reference_forward_pass() {
        let Some(embedder) = embedder() else { return };
        // Token ids from the reference tokenizer (the `tokenizers` library on the same
        // tokenizer.json) and leading values from an independent NumPy forward pass.
        let cases: [(&str, &[u32], [f32; 4]); 3] = [
            (
                "Where is my parcel?",
                &[101, 2073, 2003, 2026, 20463, 1029, 102],
                [0.03395, -0.01403, 0.04374, -0.02395],
            ),
            (
                "my package hasn't arrived yet",
                &[101, 2026, 7427, 8440, 1005, 1056, 3369, 2664, 102],
                [-0.08239, -0.01667, 0.01383, 0.02946],
            ),
            (
                "I'd like a refund, café résumé!",
                &[
                    101, 1045, 1005, 1040, 2066, 1037, 25416, 8630, 1010, 7668, 13746, 999, 102,
                ],
                [-0.10173, 0.00699, 0.06683, 0.06644],
            ),
        ];
        for (text, ids, head) in cases {
            assert_eq!(embedder.tokenizer.encode(text, MAX_TOKENS), ids, "{text}");
            let v = embedder.embed(text);
            for (got, want) in v.iter().zip(head) {
                assert!(
                    (got - want).abs() < 1e-4,
                    "{text}: {:?} vs {head:?}",
                    &v[..4]
                );
            }
        }
        let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
        let parcel = embedder.embed("Where is my parcel?");
        let package = embedder.embed("my package hasn't arrived yet");
        let weather = embedder.embed("What's the weather like in Paris tomorrow?");
        assert!((dot(&parcel, &package) - 0.514).abs() < 2e-3);
        assert!((dot(&parcel, &weather) - 0.114).abs() < 2e-3);
    }
}
