//! The bleeped copy of a recording for roles without `view_pii`: a 1 kHz tone over every span
//! of personal data, on every channel, made once into `redacted/` beside the recording and
//! served from there (with the same range support as the original).
//!
//! The copy's name carries a fingerprint of the original's size and modification time and of
//! the spans, so a recording still being written, or a transcript that gained a line, gets a
//! fresh copy; older copies of the same call are removed.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::auth::secrets::random_hex;

/// Tone frequency.
pub const TONE_HZ: f64 = 1000.0;
/// Tone level, as a share of full scale.
pub const TONE_LEVEL: f64 = 0.3;
/// Added before and after each span: the span's times are estimates (proportional to the
/// characters of its line), so the tone covers a little more.
pub const MARGIN_MS: u64 = 200;

/// The bleeped copy of `recording` for `spans` (ms from the recording's start), made if it is
/// not there yet. Blocking: run it on the blocking pool.
pub fn bleeped_copy(recording: &Path, spans: &[(u64, u64)]) -> std::io::Result<PathBuf> {
    let meta = std::fs::metadata(recording)?;
    let modified = meta
        .modified()?
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let mut hash = Sha256::new();
    hash.update(meta.len().to_le_bytes());
    hash.update(modified.to_le_bytes());
    for (start, end) in spans {
        hash.update(start.to_le_bytes());
        hash.update(end.to_le_bytes());
    }
    let fingerprint: String = hash.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let stem = recording
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "recording".into());
    let dir = recording
        .parent()
        .unwrap_or(Path::new("."))
        .join("redacted");
    let target = dir.join(format!("{stem}-{fingerprint}.wav"));
    if target.is_file() {
        return Ok(target);
    }
    std::fs::create_dir_all(&dir)?;
    // Written aside and renamed: a concurrent request never serves half a file.
    let partial = dir.join(format!("{stem}-{fingerprint}.{}.partial", random_hex(8)));
    bleep(recording, &partial, spans).map_err(std::io::Error::other)?;
    std::fs::rename(&partial, &target)?;
    for entry in std::fs::read_dir(&dir)?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let old_copy = name.starts_with(&format!("{stem}-")) && name.ends_with(".wav");
        if old_copy && entry.path() != target {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    Ok(target)
}

/// Copies the WAV `source` to `target` with the tone over `spans` (plus [`MARGIN_MS`]).
pub fn bleep(source: &Path, target: &Path, spans: &[(u64, u64)]) -> Result<(), hound::Error> {
    let mut reader = hound::WavReader::open(source)?;
    let spec = reader.spec();
    let rate = u64::from(spec.sample_rate.max(1));
    let channels = usize::from(spec.channels.max(1));
    let ranges: Vec<(u64, u64)> = spans
        .iter()
        .map(|(s, e)| {
            let start = s.saturating_sub(MARGIN_MS) * rate / 1000;
            (start, (e + MARGIN_MS) * rate / 1000)
        })
        .collect();
    let tone = |frame: u64| {
        let in_span = ranges.iter().any(|(s, e)| (*s..*e).contains(&frame));
        in_span.then(|| {
            let phase = 2.0 * std::f64::consts::PI * TONE_HZ * frame as f64 / rate as f64;
            TONE_LEVEL * phase.sin()
        })
    };
    let mut writer = hound::WavWriter::create(target, spec)?;
    match spec.sample_format {
        hound::SampleFormat::Float => {
            for (i, sample) in reader.samples::<f32>().enumerate() {
                let frame = (i / channels) as u64;
                let value = tone(frame).map(|t| t as f32);
                writer.write_sample(value.unwrap_or(sample?))?;
            }
        }
        hound::SampleFormat::Int => {
            let full = f64::from((1u32 << (spec.bits_per_sample.clamp(8, 32) - 1)) - 1);
            for (i, sample) in reader.samples::<i32>().enumerate() {
                let frame = (i / channels) as u64;
                let value = tone(frame).map(|t| (t * full) as i32);
                writer.write_sample(value.unwrap_or(sample?))?;
            }
        }
    }
    writer.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stereo(path: &Path, seconds: u32) {
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 8000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(path, spec).unwrap();
        for i in 0..8000 * seconds {
            w.write_sample((i % 100) as i16).unwrap();
            w.write_sample(-((i % 50) as i16)).unwrap();
        }
        w.finalize().unwrap();
    }

    fn samples(path: &Path) -> Vec<i16> {
        hound::WavReader::open(path)
            .unwrap()
            .samples::<i16>()
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn the_tone_covers_the_spans_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let original = dir.path().join("call.wav");
        stereo(&original, 3);
        let copy = bleeped_copy(&original, &[(1000, 1500)]).unwrap();
        assert!(copy.starts_with(dir.path().join("redacted")));
        let (a, b) = (samples(&original), samples(&copy));
        assert_eq!(a.len(), b.len());
        let frame_ms = |i: usize| (i / 2) as u64 * 1000 / 8000;
        for (i, (x, y)) in a.iter().zip(&b).enumerate() {
            let ms = frame_ms(i);
            if !(800..1700).contains(&ms) {
                assert_eq!(x, y, "unchanged outside the span, sample {i}");
            }
        }
        let peak = b
            .iter()
            .enumerate()
            .filter(|(i, _)| (1000..1500).contains(&frame_ms(*i)))
            .map(|(_, s)| s.unsigned_abs())
            .max()
            .unwrap();
        assert!(peak > 9000, "a loud tone in the span: {peak}");
        // Made once; other spans make another copy and retire the first.
        assert_eq!(bleeped_copy(&original, &[(1000, 1500)]).unwrap(), copy);
        let other = bleeped_copy(&original, &[(0, 100)]).unwrap();
        assert_ne!(other, copy);
        assert!(!copy.exists() && other.exists());
    }
}
