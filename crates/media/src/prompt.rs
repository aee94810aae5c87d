//! Prompts: WAV files from `sounds/` or an operator, in whatever format they were saved, turned
//! into mono PCM at the call's rate, and cached so each file is decoded once per rate.

use rubato::{FftFixedIn, Resampler};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// Why a prompt could not be loaded; every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    /// Missing, unreadable or not a WAV file hound understands.
    #[error("cannot read prompt {}: {source}", path.display())]
    Read {
        /// The prompt file.
        path: PathBuf,
        /// What hound reported.
        source: hound::Error,
    },
    /// A WAV the media path cannot use.
    #[error("prompt {}: {reason}", path.display())]
    Unsupported {
        /// The prompt file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The resampler refused the conversion.
    #[error("cannot resample prompt {} from {from} Hz to {to} Hz: {reason}", path.display())]
    Resample {
        /// The prompt file.
        path: PathBuf,
        /// The file's rate.
        from: u32,
        /// The requested rate.
        to: u32,
        /// What rubato reported.
        reason: String,
    },
}

/// Reads a WAV (any rate, mono or multichannel, integer or float samples), mixes it down to mono
/// and resamples it to `sample_rate`.
pub fn load_prompt(path: &Path, sample_rate: u32) -> Result<Vec<i16>, PromptError> {
    let read_error = |source| PromptError::Read {
        path: path.to_path_buf(),
        source,
    };
    let unsupported = |reason: String| PromptError::Unsupported {
        path: path.to_path_buf(),
        reason,
    };
    let mut reader = hound::WavReader::open(path).map_err(read_error)?;
    let spec = reader.spec();
    let samples: Vec<f64> = match spec.sample_format {
        hound::SampleFormat::Int => {
            let scale = 2f64.powi(i32::from(spec.bits_per_sample) - 1);
            reader
                .samples::<i32>()
                .map(|s| s.map(|v| f64::from(v) / scale))
                .collect::<Result<_, _>>()
                .map_err(read_error)?
        }
        hound::SampleFormat::Float => reader
            .samples::<f32>()
            .map(|s| s.map(f64::from))
            .collect::<Result<_, _>>()
            .map_err(read_error)?,
    };
    let channels = usize::from(spec.channels);
    if channels == 0 || samples.len() < channels {
        return Err(unsupported("the file holds no audio".into()));
    }
    if sample_rate == 0 {
        return Err(unsupported("requested sample rate is 0 Hz".into()));
    }
    let mono: Vec<f64> = samples
        .chunks_exact(channels)
        .map(|frame| frame.iter().sum::<f64>() / channels as f64)
        .collect();
    let resampled = if spec.sample_rate == sample_rate {
        mono
    } else {
        resample(&mono, spec.sample_rate, sample_rate).map_err(|reason| PromptError::Resample {
            path: path.to_path_buf(),
            from: spec.sample_rate,
            to: sample_rate,
            reason,
        })?
    };
    Ok(resampled
        .iter()
        .map(|&v| (v * 32768.0).round().clamp(-32768.0, 32767.0) as i16)
        .collect())
}

/// Resamples 16-bit PCM with [`resample`]; returns the input unchanged when the rates match.
pub fn resample_i16(input: &[i16], from: u32, to: u32) -> Result<Vec<i16>, String> {
    if from == to {
        return Ok(input.to_vec());
    }
    let samples: Vec<f64> = input.iter().map(|&s| f64::from(s) / 32768.0).collect();
    Ok(resample(&samples, from, to)?
        .iter()
        .map(|&v| (v * 32768.0).round().clamp(-32768.0, 32767.0) as i16)
        .collect())
}

/// Whole-buffer resampling with rubato's FFT resampler (synchronous, band-limited), trimmed of
/// its delay so the output lines up with the input.
pub fn resample(input: &[f64], from: u32, to: u32) -> Result<Vec<f64>, String> {
    const CHUNK: usize = 1024;
    let mut resampler = FftFixedIn::<f64>::new(from as usize, to as usize, CHUNK, 2, 1)
        .map_err(|e| e.to_string())?;
    let delay = resampler.output_delay();
    let wanted = (input.len() as u64 * u64::from(to)).div_ceil(u64::from(from)) as usize;
    let mut out = Vec::with_capacity(wanted + delay + CHUNK);
    let mut pos = 0;
    while input.len() - pos >= resampler.input_frames_next() {
        let next = pos + resampler.input_frames_next();
        let chunk = resampler
            .process(&[&input[pos..next]], None)
            .map_err(|e| e.to_string())?;
        out.extend_from_slice(&chunk[0]);
        pos = next;
    }
    // rubato takes an empty slice for a disabled channel: an exhausted input is `None`.
    let rest = &input[pos..];
    let tail = if rest.is_empty() {
        resampler.process_partial::<&[f64]>(None, None)
    } else {
        resampler.process_partial(Some(&[rest]), None)
    }
    .map_err(|e| e.to_string())?;
    out.extend_from_slice(&tail[0]);
    while out.len() < wanted + delay {
        let flushed = resampler
            .process_partial::<&[f64]>(None, None)
            .map_err(|e| e.to_string())?;
        if flushed[0].is_empty() {
            break;
        }
        out.extend_from_slice(&flushed[0]);
    }
    out.drain(..delay.min(out.len()));
    out.truncate(wanted);
    Ok(out)
}

/// Decoded prompts shared by all calls, keyed by file and rate; a file changed on disk is
/// decoded again. Locked only while looking up and inserting, never while decoding.
#[derive(Debug, Default)]
pub struct PromptCache {
    entries: Mutex<HashMap<(PathBuf, u32), CachedPrompt>>,
}

#[derive(Debug)]
struct CachedPrompt {
    modified: Option<SystemTime>,
    samples: Arc<[i16]>,
}

impl PromptCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The prompt at `path` as mono PCM at `sample_rate`, decoded on first use.
    pub fn get(&self, path: &Path, sample_rate: u32) -> Result<Arc<[i16]>, PromptError> {
        let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        let key = (path.to_path_buf(), sample_rate);
        if let Some(hit) = self.lock().get(&key)
            && hit.modified.is_some()
            && hit.modified == modified
        {
            return Ok(Arc::clone(&hit.samples));
        }
        let samples: Arc<[i16]> = load_prompt(path, sample_rate)?.into();
        let entry = CachedPrompt {
            modified,
            samples: Arc::clone(&samples),
        };
        self.lock().insert(key, entry);
        Ok(samples)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(PathBuf, u32), CachedPrompt>> {
        // A panic elsewhere while holding the lock cannot leave the map half-updated.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::tone_share;
    use std::f64::consts::PI;

    fn write_wav(path: &Path, spec: hound::WavSpec, frames: usize, freq: f64) {
        let mut writer = hound::WavWriter::create(path, spec).unwrap();
        for n in 0..frames {
            let v = 0.5 * (2.0 * PI * freq * n as f64 / f64::from(spec.sample_rate)).sin();
            for _ in 0..spec.channels {
                match spec.sample_format {
                    hound::SampleFormat::Float => writer.write_sample(v as f32).unwrap(),
                    hound::SampleFormat::Int => {
                        let scale = 2f64.powi(i32::from(spec.bits_per_sample) - 1);
                        writer.write_sample((v * scale) as i32).unwrap();
                    }
                }
            }
        }
        writer.finalize().unwrap();
    }

    fn int_spec(rate: u32, channels: u16, bits: u16) -> hound::WavSpec {
        hound::WavSpec {
            channels,
            sample_rate: rate,
            bits_per_sample: bits,
            sample_format: hound::SampleFormat::Int,
        }
    }

    #[test]
    fn loads_every_common_format_at_the_requested_rate() {
        let dir = tempfile::tempdir().unwrap();
        let float_stereo = hound::WavSpec {
            channels: 2,
            sample_rate: 48000,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        let cases = [
            int_spec(8000, 1, 16),
            int_spec(16000, 1, 16),
            int_spec(22050, 1, 16),
            int_spec(44100, 2, 16),
            int_spec(48000, 2, 24),
            float_stereo,
        ];
        for (i, spec) in cases.into_iter().enumerate() {
            let path = dir.path().join(format!("p{i}.wav"));
            write_wav(&path, spec, spec.sample_rate as usize / 2, 440.0);
            for target in [8000, 16000] {
                let pcm = load_prompt(&path, target).unwrap();
                let expected = target as usize / 2;
                assert!(
                    pcm.len().abs_diff(expected) <= 1,
                    "{spec:?} → {target}: {} samples",
                    pcm.len()
                );
                let body = &pcm[pcm.len() / 10..pcm.len() * 9 / 10];
                assert!(
                    tone_share(body, 440.0, target) > 0.98,
                    "{spec:?} → {target}"
                );
                let peak = body.iter().map(|s| s.unsigned_abs()).max().unwrap();
                assert!((15_500..=17_300).contains(&peak), "level kept: peak {peak}");
            }
        }
    }

    #[test]
    fn downsampling_removes_what_the_new_rate_cannot_carry() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hiss.wav");
        write_wav(&path, int_spec(48000, 1, 16), 24000, 6000.0);
        let pcm = load_prompt(&path, 8000).unwrap();
        let peak = pcm[400..3600]
            .iter()
            .map(|s| s.unsigned_abs())
            .max()
            .unwrap();
        assert!(
            peak < 200,
            "6 kHz must not alias into 8 kHz audio, peak {peak}"
        );
    }

    #[test]
    fn errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.wav");
        let err = load_prompt(&missing, 8000).unwrap_err();
        assert!(matches!(err, PromptError::Read { .. }));
        assert!(err.to_string().contains("nope.wav"), "{err}");
        let text = dir.path().join("text.wav");
        std::fs::write(&text, b"this is not a wav file at all").unwrap();
        let err = load_prompt(&text, 8000).unwrap_err();
        assert!(err.to_string().contains("text.wav"), "{err}");
        let empty = dir.path().join("empty.wav");
        write_wav(&empty, int_spec(8000, 1, 16), 0, 440.0);
        let err = load_prompt(&empty, 8000).unwrap_err();
        assert!(
            err.to_string().contains("empty.wav") && err.to_string().contains("no audio"),
            "{err}"
        );
    }

    #[test]
    fn cache_decodes_once_per_file_and_rate_and_notices_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("welcome.wav");
        write_wav(&path, int_spec(16000, 1, 16), 8000, 440.0);
        let cache = PromptCache::new();
        let a = cache.get(&path, 8000).unwrap();
        let b = cache.get(&path, 8000).unwrap();
        assert!(Arc::ptr_eq(&a, &b), "second get is served from the cache");
        let wide = cache.get(&path, 16000).unwrap();
        assert_eq!((a.len(), wide.len()), (4000, 8000));
        write_wav(&path, int_spec(16000, 1, 16), 16000, 440.0);
        let later = SystemTime::now() + std::time::Duration::from_secs(5);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(later)
            .unwrap();
        let c = cache.get(&path, 8000).unwrap();
        assert_eq!(c.len(), 8000, "the rewritten file was decoded again");
        std::fs::remove_file(&path).unwrap();
        assert!(
            cache.get(&path, 8000).is_err(),
            "a deleted prompt is an error, not stale audio"
        );
    }

    #[test]
    fn cache_is_shareable_between_call_tasks() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<PromptCache>();
    }

    #[test]
    fn pcm_of_any_length_resamples_including_whole_chunks() {
        for len in [0, 1, 1023, 1024, 2048, 22_050] {
            let input = vec![1000i16; len];
            let out = resample_i16(&input, 22_050, 8_000).unwrap();
            assert_eq!(out.len(), (len * 8_000).div_ceil(22_050), "{len} samples");
        }
        assert_eq!(resample_i16(&[1, 2, 3], 8_000, 8_000).unwrap(), [1, 2, 3]);
    }
}
