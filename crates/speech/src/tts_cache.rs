//! Disk cache of synthesized sentences: one WAV per sentence, named by a hash of everything the
//! audio depends on, written atomically. Fixed prompts ("Thank you for calling.") are made once.
//! The number of files is bounded: past the limit the least recently used ones are removed.

use sha2::{Digest, Sha256};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::SystemTime;

/// Bump when text preparation or synthesis changes, so old audio is not served for new rules.
const FORMAT_VERSION: &str = "1";

/// A directory of cached sentences.
#[derive(Debug)]
pub(crate) struct TtsCache {
    dir: PathBuf,
    max_entries: usize,
    entries: AtomicUsize,
    /// Makes temporary file names unique between threads of this process.
    next_temp: AtomicU64,
}

impl TtsCache {
    /// Opens (creating) the cache directory, logs its size and trims it to `max_entries`.
    pub fn open(dir: &Path, max_entries: usize) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        let cache = Self {
            dir: dir.to_path_buf(),
            max_entries,
            entries: AtomicUsize::new(0),
            next_temp: AtomicU64::new(0),
        };
        let entries = cache.scan()?;
        let bytes: u64 = entries.iter().map(|(_, size, _)| size).sum();
        cache.entries.store(entries.len(), Ordering::Relaxed);
        tracing::info!(
            dir = %dir.display(),
            entries = entries.len(),
            megabytes = bytes / 1_000_000,
            max_entries,
            "TTS cache opened"
        );
        cache.prune_if_full();
        Ok(cache)
    }

    /// The cache key of a sentence spoken by a voice at a rate.
    pub fn key(voice_id: &str, text: &str, sample_rate: u32) -> String {
        let mut hash = Sha256::new();
        for part in [FORMAT_VERSION, voice_id, &sample_rate.to_string(), text] {
            hash.update(part.as_bytes());
            hash.update([0]);
        }
        hash.finalize()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }

    /// The cached samples for `key`, if present and readable.
    pub fn get(&self, key: &str) -> Option<Vec<i16>> {
        let path = self.path(key);
        let reader = hound::WavReader::open(&path).ok()?;
        let samples = reader.into_samples::<i16>().collect::<Result<Vec<_>, _>>();
        match samples {
            Ok(samples) => {
                // Used now: keeps it away from the next pruning.
                if let Ok(file) = fs::File::options().append(true).open(&path) {
                    let _ = file.set_modified(SystemTime::now());
                }
                Some(samples)
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "damaged TTS cache entry removed");
                let _ = fs::remove_file(&path);
                None
            }
        }
    }

    /// Stores samples under `key`: written to a temporary file and renamed, so a reader never
    /// sees half a file. Failures are logged, not returned: the cache is an optimisation.
    pub fn put(&self, key: &str, sample_rate: u32, samples: &[i16]) {
        let temp = self.dir.join(format!(
            ".{key}.{}.{}.tmp",
            std::process::id(),
            self.next_temp.fetch_add(1, Ordering::Relaxed)
        ));
        let path = self.path(key);
        let existed = path.exists();
        match write_wav(&temp, sample_rate, samples).and_then(|()| fs::rename(&temp, &path)) {
            Ok(()) if !existed => {
                self.entries.fetch_add(1, Ordering::Relaxed);
                self.prune_if_full();
            }
            Ok(()) => {}
            Err(e) => {
                let _ = fs::remove_file(&temp);
                tracing::warn!(path = %path.display(), error = %e, "cannot write TTS cache entry");
            }
        }
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.wav"))
    }

    /// Cached files with their size and last use.
    fn scan(&self) -> io::Result<Vec<(PathBuf, u64, SystemTime)>> {
        let mut entries = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let entry = entry?;
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "wav") {
                let meta = entry.metadata()?;
                let used = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                entries.push((path, meta.len(), used));
            }
        }
        Ok(entries)
    }

    /// Past the limit, removes the least recently used tenth, so pruning is rare.
    fn prune_if_full(&self) {
        if self.entries.load(Ordering::Relaxed) <= self.max_entries {
            return;
        }
        let Ok(mut entries) = self.scan() else {
            return;
        };
        entries.sort_by_key(|(_, _, used)| *used);
        let keep = self.max_entries - self.max_entries / 10;
        let remove = entries.len().saturating_sub(keep);
        for (path, _, _) in entries.iter().take(remove) {
            let _ = fs::remove_file(path);
        }
        self.entries
            .store(entries.len() - remove, Ordering::Relaxed);
        tracing::info!(
            dir = %self.dir.display(),
            removed = remove,
            kept = entries.len() - remove,
            "TTS cache pruned"
        );
    }
}

fn write_wav(path: &Path, sample_rate: u32, samples: &[i16]) -> io::Result<()> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).map_err(io::Error::other)?;
    for &sample in samples {
        writer.write_sample(sample).map_err(io::Error::other)?;
    }
    writer.finalize().map_err(io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_depend_on_voice_text_and_rate() {
        let key = TtsCache::key("voice:abc", "Hello.", 8_000);
        assert_eq!(key.len(), 64);
        assert_eq!(key, TtsCache::key("voice:abc", "Hello.", 8_000));
        assert_ne!(key, TtsCache::key("voice:abd", "Hello.", 8_000));
        assert_ne!(key, TtsCache::key("voice:abc", "Hello!", 8_000));
        assert_ne!(key, TtsCache::key("voice:abc", "Hello.", 16_000));
    }

    #[test]
    fn entries_round_trip_and_the_oldest_are_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let cache = TtsCache::open(dir.path(), 10).unwrap();
        assert!(cache.get("missing").is_none());
        cache.put("first", 8_000, &[1, -2, 3]);
        assert_eq!(cache.get("first"), Some(vec![1, -2, 3]));
        let old = SystemTime::now() - std::time::Duration::from_secs(60);
        fs::File::options()
            .append(true)
            .open(cache.path("first"))
            .unwrap()
            .set_modified(old)
            .unwrap();
        for n in 0..10 {
            cache.put(&format!("k{n}"), 8_000, &[n]);
        }
        // 11 entries > 10: the oldest tenth goes (down to 9), "first" among them.
        assert!(cache.get("first").is_none());
        assert_eq!(cache.get("k9"), Some(vec![9]));
        assert_eq!(cache.scan().unwrap().len(), 9);
        let reopened = TtsCache::open(dir.path(), 10).unwrap();
        assert_eq!(reopened.entries.load(Ordering::Relaxed), 9);
    }
}
