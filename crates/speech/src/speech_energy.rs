//! Whether a clip holds speech at all, judged by its energy over time, and where that speech
//! starts and ends. Whisper invents text for silence and steady noise ("Thank you.", "you"), so
//! such clips never reach it.

/// Frame length: 20 ms at 16 kHz.
const FRAME: usize = 320;
/// Frames quieter than this are silence, whatever the noise floor (dBFS).
const SILENCE_DBFS: f64 = -50.0;
/// How far above the clip's noise floor a frame must rise to count as voiced (dB).
const ABOVE_FLOOR_DB: f64 = 12.0;
/// Less voiced time than this is no speech (a click, a breath, steady noise).
const MIN_VOICED_MS: u64 = 100;
/// Context kept around the voiced part when trimming, so word edges are not cut.
const MARGIN_MS: u64 = 300;

/// What the energy of a 16 kHz clip says about speech in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SpeechEnergy {
    /// Total time of frames well above the noise floor.
    pub voiced_ms: u64,
    /// Sample range worth decoding: the voiced part plus a margin (empty without speech).
    pub span: (usize, usize),
}

impl SpeechEnergy {
    /// Measures a clip of 16 kHz samples in [-1, 1].
    pub fn measure(samples: &[f32]) -> Self {
        let levels: Vec<f64> = samples.chunks(FRAME).map(frame_dbfs).collect();
        let mut sorted = levels.clone();
        sorted.sort_by(f64::total_cmp);
        let floor = sorted
            .get(sorted.len() / 10)
            .copied()
            .unwrap_or(f64::NEG_INFINITY);
        let threshold = (floor + ABOVE_FLOOR_DB).max(SILENCE_DBFS);
        let voiced: Vec<usize> = (0..levels.len())
            .filter(|&i| levels[i] > threshold)
            .collect();
        let voiced_ms = voiced.len() as u64 * 20;
        let span = match (voiced.first(), voiced.last()) {
            (Some(&first), Some(&last)) if voiced_ms >= MIN_VOICED_MS => {
                let margin = (MARGIN_MS * 16) as usize;
                let start = (first * FRAME).saturating_sub(margin);
                let end = ((last + 1) * FRAME + margin).min(samples.len());
                (start, end)
            }
            _ => (0, 0),
        };
        Self { voiced_ms, span }
    }

    /// Whether there is enough voiced time to be worth decoding.
    pub fn has_speech(&self) -> bool {
        self.voiced_ms >= MIN_VOICED_MS
    }
}

fn frame_dbfs(frame: &[f32]) -> f64 {
    let power = frame.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / frame.len() as f64;
    10.0 * power.max(1e-12).log10()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(ms: usize, amplitude: f32) -> Vec<f32> {
        (0..ms * 16)
            .map(|n| amplitude * (n as f32 * 0.2).sin())
            .collect()
    }

    fn noise(ms: usize, amplitude: f32) -> Vec<f32> {
        // A fixed linear congruential sequence: steady, reproducible noise.
        let mut x: u32 = 12345;
        (0..ms * 16)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                amplitude * ((x >> 16) as f32 / 32768.0 - 1.0)
            })
            .collect()
    }

    #[test]
    fn silence_and_steady_noise_hold_no_speech() {
        assert!(!SpeechEnergy::measure(&vec![0.0; 16_000]).has_speech());
        assert!(!SpeechEnergy::measure(&noise(2_000, 0.3)).has_speech());
        assert!(!SpeechEnergy::measure(&[]).has_speech());
    }

    #[test]
    fn bursts_above_the_floor_are_speech_and_set_the_span() {
        let mut clip = noise(1_000, 0.001);
        clip.extend(tone(500, 0.3));
        clip.extend(noise(1_000, 0.001));
        let energy = SpeechEnergy::measure(&clip);
        assert!(energy.has_speech());
        assert_eq!(energy.voiced_ms, 500);
        assert_eq!(energy.span, (16 * 700, 16 * 1_800));
    }
}
