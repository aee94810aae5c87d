//! The acoustic measures of one utterance: pitch level and spread, level of the voiced frames
//! and speaking rate. These are absolute figures; `baseline.rs` compares them with the caller's
//! own first utterances.

use serde::Serialize;

use crate::decimate::{ANALYSIS_RATE, to_analysis_rate};
use crate::pitch::PitchEstimator;
use crate::speaking_rate::{RateSource, speaking_time, syllables_per_second};

/// Frame step: 10 ms at 8 kHz.
const HOP: usize = 80;
/// Frame length for the level: 25 ms at 8 kHz.
const WINDOW: usize = 200;
/// Frames quieter than this are not speech, whatever else holds.
const SILENCE_FLOOR_DBFS: f32 = -55.0;
/// Frames this far below the utterance's loudest frame are background, not the caller.
const DYNAMIC_RANGE_DB: f32 = 35.0;
/// Frames above this aperiodicity are unvoiced (consonants, breath, noise).
const MAX_APERIODICITY: f32 = 0.3;
/// Fewer voiced frames than this (100 ms) give no pitch or level figures.
const MIN_VOICED_FRAMES: usize = 10;
/// An F0 further than this from the utterance median is a tracking error, folded or dropped.
const OCTAVE_ERROR_SEMITONES: f32 = 8.0;
/// Tracking errors in semitones: F0 taken at 1 (no error), 2, 3, 4 or 5 times or at half its value.
const HARMONIC_ERRORS: [f32; 6] = [0.0, 12.0, 19.02, 24.0, 27.86, -12.0];
/// (P90 − P10) of a normal distribution in standard deviations.
const P10_P90_IN_SIGMAS: f32 = 2.563;

/// What the audio of one utterance says, in absolute terms.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AcousticMeasures {
    /// Length of the audio analysed, ms.
    pub audio_ms: u32,
    /// Voiced (periodic and loud enough) audio, ms.
    pub voiced_ms: u32,
    /// Median F0 of the voiced frames, Hz.
    pub pitch_hz: Option<f32>,
    /// Spread of F0 over the voiced frames, semitones (robust standard deviation from P10–P90).
    pub pitch_spread_semitones: Option<f32>,
    /// RMS level of the voiced frames, dB relative to full scale.
    pub energy_dbfs: Option<f32>,
    /// Syllables per second (needs the text).
    pub speaking_rate: Option<f32>,
    /// Where the speaking time for the rate came from.
    pub rate_source: Option<RateSource>,
    /// Why the audio was not analysed, when it was not (e.g. an unsupported sample rate).
    pub unavailable: Option<String>,
}

impl AcousticMeasures {
    /// Pitch level in semitones above 100 Hz (the scale deviations are measured on).
    pub fn pitch_semitones(&self) -> Option<f32> {
        self.pitch_hz.map(semitones_above_100_hz)
    }
}

/// One analysis frame.
struct Frame {
    dbfs: f32,
    mean_square: f32,
    f0: Option<f32>,
}

/// Measures one utterance: `samples` at `sample_rate` (8 kHz or a multiple), its recognized
/// `text` and word timings `(start_ms, end_ms)` when there are any.
pub fn measure(
    samples: &[i16],
    sample_rate: u32,
    text: &str,
    words: &[(u32, u32)],
) -> AcousticMeasures {
    let without_audio = |unavailable: Option<String>| {
        let timed = speaking_time(words, None);
        AcousticMeasures {
            speaking_rate: timed.and_then(|(ms, _)| syllables_per_second(text, ms)),
            rate_source: timed.map(|(_, source)| source),
            unavailable,
            ..AcousticMeasures::default()
        }
    };
    if samples.is_empty() {
        return without_audio(None);
    }
    let Some(audio) = to_analysis_rate(samples, sample_rate) else {
        return without_audio(Some(format!(
            "sample rate {sample_rate} Hz is not 8 kHz or a multiple of it"
        )));
    };
    let frames = analyse_frames(&audio);
    let ms_per_frame = (HOP * 1_000 / ANALYSIS_RATE as usize) as u32;
    let loudest = frames
        .iter()
        .map(|f| f.dbfs)
        .fold(f32::NEG_INFINITY, f32::max);
    let gate = SILENCE_FLOOR_DBFS.max(loudest - DYNAMIC_RANGE_DB);
    let speech: Vec<usize> = (0..frames.len())
        .filter(|&i| frames[i].dbfs >= gate)
        .collect();
    let voiced: Vec<&Frame> = speech
        .iter()
        .map(|&i| &frames[i])
        .filter(|f| f.f0.is_some())
        .collect();

    let speech_span_ms = match (speech.first(), speech.last()) {
        (Some(&a), Some(&b)) => Some((b - a + 1) as u32 * ms_per_frame),
        _ => None,
    };
    let timed = speaking_time(words, speech_span_ms);
    let mut measures = AcousticMeasures {
        audio_ms: (audio.len() * 1_000 / ANALYSIS_RATE as usize) as u32,
        voiced_ms: voiced.len() as u32 * ms_per_frame,
        speaking_rate: timed.and_then(|(ms, _)| syllables_per_second(text, ms)),
        rate_source: timed.map(|(_, source)| source),
        ..AcousticMeasures::default()
    };
    if voiced.len() >= MIN_VOICED_FRAMES {
        let mean_square = voiced.iter().map(|f| f.mean_square).sum::<f32>() / voiced.len() as f32;
        measures.energy_dbfs = Some(10.0 * mean_square.log10());
        let pitch: Vec<f32> = voiced
            .iter()
            .filter_map(|f| f.f0)
            .map(semitones_above_100_hz)
            .collect();
        if let Some((median, spread)) = pitch_statistics(pitch) {
            measures.pitch_hz = Some(100.0 * 2f32.powf(median / 12.0));
            measures.pitch_spread_semitones = Some(spread);
        }
    }
    measures
}

/// Level and, for periodic frames, F0 of every 10 ms step.
fn analyse_frames(audio: &[f32]) -> Vec<Frame> {
    let mut estimator = PitchEstimator::default();
    let mut frames = Vec::with_capacity(audio.len() / HOP);
    let mut start = 0;
    while start + WINDOW <= audio.len() {
        let window = &audio[start..start + WINDOW];
        let mean_square = window.iter().map(|x| x * x).sum::<f32>() / WINDOW as f32;
        let dbfs = 10.0 * mean_square.max(1e-12).log10();
        // Silent frames are skipped before the costly part: a third of an utterance or more.
        let f0 = (dbfs >= SILENCE_FLOOR_DBFS)
            .then(|| estimator.estimate(&audio[start..]))
            .flatten()
            .filter(|p| p.aperiodicity <= MAX_APERIODICITY)
            .map(|p| p.hz);
        frames.push(Frame {
            dbfs,
            mean_square,
            f0,
        });
        start += HOP;
    }
    frames
}

/// Median and robust spread of frame pitches in semitones, after folding harmonic errors back
/// towards the median (a frame at two to five times or half the F0 of the rest of the utterance
/// is a tracking error, not the voice jumping: on the phone a low voice's first formant can sit
/// on its fourth or fifth harmonic and make the frame look nearly sinusoidal at that harmonic).
fn pitch_statistics(mut pitch: Vec<f32>) -> Option<(f32, f32)> {
    if pitch.len() < MIN_VOICED_FRAMES {
        return None;
    }
    let median = percentile(&mut pitch, 0.5);
    let mut folded: Vec<f32> = pitch
        .into_iter()
        .filter_map(|st| {
            HARMONIC_ERRORS
                .iter()
                .map(|error| st - error)
                .min_by(|a, b| (a - median).abs().total_cmp(&(b - median).abs()))
                .filter(|st| (st - median).abs() <= OCTAVE_ERROR_SEMITONES)
        })
        .collect();
    if folded.len() < MIN_VOICED_FRAMES {
        return None;
    }
    let median = percentile(&mut folded, 0.5);
    let spread = (percentile(&mut folded, 0.9) - percentile(&mut folded, 0.1)) / P10_P90_IN_SIGMAS;
    Some((median, spread))
}

/// The `q` quantile (0..1) by linear interpolation; sorts `values`.
fn percentile(values: &mut [f32], q: f32) -> f32 {
    values.sort_by(f32::total_cmp);
    let position = q * (values.len() - 1) as f32;
    let low = position.floor() as usize;
    let high = (low + 1).min(values.len() - 1);
    values[low] + (values[high] - values[low]) * (position - low as f32)
}

fn semitones_above_100_hz(hz: f32) -> f32 {
    12.0 * (hz / 100.0).log2()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A vowel-like signal at 8 kHz: harmonics 1..20 of an F0 that glides by ±`vibrato`
    /// semitones, at `amplitude` of full scale, with 200 ms of silence on each side.
    fn vowel(f0: f32, vibrato: f32, amplitude: f32, seconds: f32) -> Vec<i16> {
        let n = (seconds * 8_000.0) as usize;
        let silence = vec![0i16; 1_600];
        let mut phase = 0.0f32;
        let voiced = (0..n).map(|i| {
            let t = i as f32 / 8_000.0;
            let hz = f0 * 2f32.powf(vibrato * (2.0 * std::f32::consts::PI * 2.0 * t).sin() / 12.0);
            phase += 2.0 * std::f32::consts::PI * hz / 8_000.0;
            let s: f32 = (1..=20).map(|h| (phase * h as f32).sin() / h as f32).sum();
            (s * amplitude * 32_767.0 / 2.0) as i16
        });
        silence
            .iter()
            .copied()
            .chain(voiced)
            .chain(silence.iter().copied())
            .collect()
    }

    #[test]
    fn steady_vowel_pitch_within_two_percent_and_level_measured() {
        for f0 in [90.0, 130.0, 210.0, 300.0] {
            let m = measure(&vowel(f0, 0.0, 0.3, 1.0), 8_000, "", &[]);
            let hz = m.pitch_hz.unwrap();
            assert!((hz / f0 - 1.0).abs() < 0.02, "{f0}: {hz}");
            assert!(m.pitch_spread_semitones.unwrap() < 0.2);
            assert!((950..=1_050).contains(&m.voiced_ms), "{}", m.voiced_ms);
        }
        let quiet = measure(&vowel(150.0, 0.0, 0.1, 1.0), 8_000, "", &[]);
        let loud = measure(&vowel(150.0, 0.0, 0.4, 1.0), 8_000, "", &[]);
        let gain = loud.energy_dbfs.unwrap() - quiet.energy_dbfs.unwrap();
        assert!((gain - 12.04).abs() < 0.3, "{gain}");
    }

    #[test]
    fn wider_intonation_gives_wider_spread() {
        let flat = measure(&vowel(150.0, 0.5, 0.3, 1.0), 8_000, "", &[]);
        let lively = measure(&vowel(150.0, 4.0, 0.3, 1.0), 8_000, "", &[]);
        assert!(
            lively.pitch_spread_semitones.unwrap() > 3.0 * flat.pitch_spread_semitones.unwrap()
        );
    }

    #[test]
    fn sixteen_khz_gives_the_same_figures() {
        let narrow = vowel(170.0, 1.0, 0.3, 1.0);
        let wide: Vec<i16> = narrow.iter().flat_map(|&s| [s, s]).collect();
        let (a, b) = (
            measure(&narrow, 8_000, "", &[]),
            measure(&wide, 16_000, "", &[]),
        );
        assert!((a.pitch_hz.unwrap() / b.pitch_hz.unwrap() - 1.0).abs() < 0.02);
    }

    #[test]
    fn rate_from_word_timings_or_voiced_span() {
        let audio = vowel(150.0, 0.0, 0.3, 1.0);
        let timed = measure(
            &audio,
            8_000,
            "I want a refund",
            &[(0, 250), (250, 500), (500, 600), (600, 1_000)],
        );
        assert_eq!(timed.speaking_rate, Some(5.0));
        assert_eq!(timed.rate_source, Some(RateSource::WordTimings));
        let spanned = measure(&audio, 8_000, "I want a refund", &[]);
        assert_eq!(spanned.rate_source, Some(RateSource::VoicedSpan));
        assert!((spanned.speaking_rate.unwrap() - 5.0).abs() < 0.3);
    }

    #[test]
    fn silence_and_odd_rates_give_no_figures() {
        let m = measure(&[0; 8_000], 8_000, "", &[]);
        assert_eq!((m.pitch_hz, m.energy_dbfs, m.voiced_ms), (None, None, 0));
        let odd = measure(&[0; 22_050], 22_050, "hello there", &[(0, 500)]);
        assert!(odd.unavailable.is_some());
        assert_eq!(odd.speaking_rate, Some(6.0));
        let text_only = measure(&[], 0, "hello there", &[]);
        assert_eq!(text_only, AcousticMeasures::default());
    }
}
