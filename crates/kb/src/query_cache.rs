//! Recently embedded utterances: callers repeat themselves ("agent", "yes", "where is my
//! order") and a bot re-ranks the same text (match, then clarify), so the forward pass —
//! most of the cost of matching — is skipped for text seen lately.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A bounded least-recently-used map from utterance to embedding, shared between calls.
pub struct QueryCache {
    capacity: usize,
    inner: Mutex<Slots>,
}

#[derive(Default)]
struct Slots {
    /// Text → (embedding, last use).
    map: HashMap<String, (Arc<[f32]>, u64)>,
    clock: u64,
}

impl QueryCache {
    /// A cache holding at most `capacity` embeddings (0: nothing is kept).
    pub fn new(capacity: usize) -> Self {
        QueryCache {
            capacity,
            inner: Mutex::new(Slots::default()),
        }
    }

    /// The embedding of `text` from the cache, or computed by `embed` and remembered.
    pub fn get_or_insert(&self, text: &str, embed: impl FnOnce() -> Vec<f32>) -> Arc<[f32]> {
        if let Some(found) = self.lock().touch(text) {
            return found;
        }
        // Computed outside the lock: other calls keep matching meanwhile.
        let vector: Arc<[f32]> = embed().into();
        if self.capacity > 0 {
            let mut slots = self.lock();
            if slots.map.len() >= self.capacity
                && let Some(oldest) = slots
                    .map
                    .iter()
                    .min_by_key(|(_, (_, used))| *used)
                    .map(|(k, _)| k.clone())
            {
                slots.map.remove(&oldest);
            }
            slots.clock += 1;
            let now = slots.clock;
            slots.map.insert(text.to_string(), (vector.clone(), now));
        }
        vector
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slots> {
        // A panic elsewhere cannot leave the map inconsistent: keep using it.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Slots {
    fn touch(&mut self, text: &str) -> Option<Arc<[f32]>> {
        self.clock += 1;
        let now = self.clock;
        let (vector, used) = self.map.get_mut(text)?;
        *used = now;
        Some(vector.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_most_recently_used() {
        let cache = QueryCache::new(2);
        let calls = std::cell::Cell::new(0);
        let embed = |x: f32| {
            calls.set(calls.get() + 1);
            vec![x]
        };
        cache.get_or_insert("a", || embed(1.0));
        cache.get_or_insert("b", || embed(2.0));
        assert_eq!(&*cache.get_or_insert("a", || embed(9.0)), &[1.0]);
        cache.get_or_insert("c", || embed(3.0)); // evicts "b", used least recently
        assert_eq!(calls.get(), 3);
        assert_eq!(&*cache.get_or_insert("a", || embed(9.0)), &[1.0]);
        assert_eq!(&*cache.get_or_insert("b", || embed(2.5)), &[2.5]);
        assert_eq!(calls.get(), 4);
    }
}
