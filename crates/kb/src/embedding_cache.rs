//! Example embeddings kept on disk between runs: embedding thousands of examples takes a
//! minute, a knowledge base edit changes only a few of them.
//!
//! Format (little-endian): magic `SBKBEMB1`, model fingerprint u64, dimensions u32, count u32,
//! then per text: FNV-1a hash of the text u64 and the vector as f32s.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::Path;

use crate::embedding::fnv1a;

const MAGIC: &[u8; 8] = b"SBKBEMB1";

/// Vectors by text hash, for one model.
pub struct EmbeddingCache {
    fingerprint: u64,
    dimensions: usize,
    vectors: HashMap<u64, Vec<f32>>,
}

impl EmbeddingCache {
    /// An empty cache for the model with this fingerprint and vector length.
    pub fn new(fingerprint: u64, dimensions: usize) -> Self {
        EmbeddingCache {
            fingerprint,
            dimensions,
            vectors: HashMap::new(),
        }
    }

    /// Reads a cache file; a missing, damaged or other-model file gives an empty cache.
    pub fn read(path: &Path, fingerprint: u64, dimensions: usize) -> Self {
        let mut cache = Self::new(fingerprint, dimensions);
        let Ok(mut file) = std::fs::File::open(path) else {
            return cache;
        };
        let mut bytes = Vec::new();
        if file.read_to_end(&mut bytes).is_err() || bytes.len() < 24 || &bytes[..8] != MAGIC {
            return cache;
        }
        let u64_at = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().unwrap_or_default());
        let u32_at = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().unwrap_or_default());
        if u64_at(8) != fingerprint || u32_at(16) as usize != dimensions {
            return cache;
        }
        let count = u32_at(20) as usize;
        let record = 8 + 4 * dimensions;
        if bytes.len() != 24 + count * record {
            return cache;
        }
        for r in bytes[24..].chunks_exact(record) {
            let key = u64::from_le_bytes(r[..8].try_into().unwrap_or_default());
            let v = r[8..]
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            cache.vectors.insert(key, v);
        }
        cache
    }

    /// The cached vector of `text`.
    pub fn get(&self, text: &str) -> Option<&[f32]> {
        self.vectors.get(&fnv1a(text.as_bytes())).map(Vec::as_slice)
    }

    /// Remembers the vector of `text`.
    pub fn insert(&mut self, text: &str, vector: Vec<f32>) {
        debug_assert_eq!(vector.len(), self.dimensions);
        self.vectors.insert(fnv1a(text.as_bytes()), vector);
    }

    /// Writes the cache (to a temporary file first, then renamed over `path`).
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut bytes = Vec::with_capacity(24 + self.vectors.len() * (8 + 4 * self.dimensions));
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&self.fingerprint.to_le_bytes());
        bytes.extend_from_slice(&(self.dimensions as u32).to_le_bytes());
        bytes.extend_from_slice(&(self.vectors.len() as u32).to_le_bytes());
        for (key, v) in &self.vectors {
            bytes.extend_from_slice(&key.to_le_bytes());
            for x in v {
                bytes.extend_from_slice(&x.to_le_bytes());
            }
        }
        let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
        std::fs::File::create(&tmp)?.write_all(&bytes)?;
        std::fs::rename(tmp, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_model_check() {
        let path = std::env::temp_dir().join(format!("sb-kb-cache-{}.bin", std::process::id()));
        let mut cache = EmbeddingCache::new(7, 2);
        cache.insert("hello", vec![0.5, -0.25]);
        cache.write(&path).unwrap();
        assert_eq!(
            EmbeddingCache::read(&path, 7, 2).get("hello"),
            Some(&[0.5, -0.25][..])
        );
        assert_eq!(EmbeddingCache::read(&path, 8, 2).get("hello"), None);
        std::fs::remove_file(&path).unwrap();
    }
}
