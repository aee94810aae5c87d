//! Audio files for offline transcription: WAV (any rate, bit depth and channel count) and FLAC,
//! recognised by their content, turned into mono 16-bit PCM at the rate the caller wants.

use sb_media::prompt::{PromptError, load_prompt, resample};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Why an audio file could not be read; every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum AudioFileError {
    /// The file could not be opened or read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The audio file.
        path: PathBuf,
        /// What the system reported.
        source: std::io::Error,
    },
    /// Neither a WAV nor a FLAC file.
    #[error("{} is neither a WAV nor a FLAC file", path.display())]
    UnknownFormat {
        /// The audio file.
        path: PathBuf,
    },
    /// A WAV file that could not be decoded or converted.
    #[error(transparent)]
    Wav(#[from] PromptError),
    /// A FLAC file that could not be decoded or converted.
    #[error("cannot decode FLAC {}: {reason}", path.display())]
    Flac {
        /// The audio file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

/// Reads a WAV or FLAC file, mixes it down to mono and resamples it to `sample_rate`.
pub fn read_audio_file(path: &Path, sample_rate: u32) -> Result<Vec<i16>, AudioFileError> {
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut file| file.read_exact(&mut magic))
        .map_err(|source| AudioFileError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    match &magic {
        b"RIFF" | b"RF64" => Ok(load_prompt(path, sample_rate)?),
        b"fLaC" => read_flac(path, sample_rate).map_err(|reason| AudioFileError::Flac {
            path: path.to_path_buf(),
            reason,
        }),
        _ => Err(AudioFileError::UnknownFormat {
            path: path.to_path_buf(),
        }),
    }
}

fn read_flac(path: &Path, sample_rate: u32) -> Result<Vec<i16>, String> {
    let mut reader = claxon::FlacReader::open(path).map_err(|e| e.to_string())?;
    let info = reader.streaminfo();
    let channels = info.channels as usize;
    let scale = 2f64.powi(info.bits_per_sample as i32 - 1);
    let interleaved: Vec<f64> = reader
        .samples()
        .map(|s| s.map(|v| f64::from(v) / scale))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    if channels == 0 || interleaved.len() < channels {
        return Err("the file holds no audio".into());
    }
    if sample_rate == 0 {
        return Err("requested sample rate is 0 Hz".into());
    }
    let mono: Vec<f64> = interleaved
        .chunks_exact(channels)
        .map(|frame| frame.iter().sum::<f64>() / channels as f64)
        .collect();
    let converted = if info.sample_rate == sample_rate {
        mono
    } else {
        resample(&mono, info.sample_rate, sample_rate)?
    };
    Ok(converted
        .iter()
        .map(|&v| (v * 32768.0).round().clamp(-32768.0, 32767.0) as i16)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wav_of_any_layout_becomes_mono_at_the_wanted_rate() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stereo.wav");
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 16_000,
            bits_per_sample: 24,
            sample_format: hound::SampleFormat::Int,
        };
        let mut writer = hound::WavWriter::create(&path, spec).unwrap();
        for _ in 0..16_000 {
            writer.write_sample(1 << 21).unwrap();
            writer.write_sample(1 << 21).unwrap();
        }
        writer.finalize().unwrap();
        let samples = read_audio_file(&path, 8_000).unwrap();
        assert_eq!(samples.len(), 8_000);
        // A constant quarter-scale signal, away from the resampler's edges.
        assert!((i32::from(samples[4_000]) - 8_192).abs() < 64);
    }

    #[test]
    fn other_files_are_refused_with_their_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.txt");
        std::fs::write(&path, "not audio").unwrap();
        let error = read_audio_file(&path, 16_000).unwrap_err();
        assert!(matches!(error, AudioFileError::UnknownFormat { .. }));
        assert!(error.to_string().contains("notes.txt"));
        let missing = read_audio_file(&dir.path().join("gone.flac"), 16_000).unwrap_err();
        assert!(matches!(missing, AudioFileError::Io { .. }));
    }
}
