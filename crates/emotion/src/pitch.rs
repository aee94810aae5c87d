//! Fundamental frequency (F0) of one frame by the YIN method (de Cheveigné and Kawahara, 2002):
//! the lag at which the frame best matches itself, found on the cumulative-mean-normalized
//! difference function.
//!
//! On the phone the fundamental itself is mostly gone (the band starts near 300 Hz), but the
//! waveform still repeats once per glottal period because the harmonics above 300 Hz are
//! multiples of F0; YIN measures that repetition, not the fundamental's energy, so it works on the
//! phone band as it is. The whole band is used: low-passing at 1 kHz (a common step against
//! formant errors) made it worse here, because for a low voice it leaves one or two strong
//! harmonics near the first formant and the frame looks like a sine at that harmonic (on 8 kHz
//! μ-law copies of the LibriVox recordings, 22 % of the voiced frames then disagreed with the
//! wideband original by more than 6 %, against 14 % without it). Such harmonic errors remain
//! the main failure: a frame whose lag two to five times longer matches clearly better is taken
//! at that lag, and what is left is folded back by the utterance-level statistics in
//! `acoustic.rs`.

use crate::decimate::ANALYSIS_RATE;

/// Lowest F0 searched (deep male voices reach about 70 Hz).
pub const MIN_F0_HZ: f32 = 65.0;
/// Highest F0 searched (raised female and child voices reach about 450 Hz).
pub const MAX_F0_HZ: f32 = 500.0;
/// Window of the difference function (25 ms at 8 kHz): more than one period of
/// [`MIN_F0_HZ`].
pub const WINDOW: usize = 200;
/// First dip of the normalized difference below this is taken as the period.
const DIP_THRESHOLD: f32 = 0.1;
/// A frame this periodic at the chosen lag keeps it (a clean voice).
const CLEARLY_PERIODIC: f32 = 0.05;
/// Otherwise a lag two to five times longer replaces it when its normalized difference is below
/// this share.
const SUBHARMONIC_RATIO: f32 = 0.5;

/// Lags searched, in samples at 8 kHz.
const MIN_LAG: usize = (ANALYSIS_RATE as f32 / MAX_F0_HZ) as usize;
const MAX_LAG: usize = (ANALYSIS_RATE as f32 / MIN_F0_HZ) as usize + 1;
/// Samples one estimate needs from the frame start.
pub const FRAME_SPAN: usize = WINDOW + MAX_LAG + 2;

/// One frame's estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PitchEstimate {
    /// F0 in Hz.
    pub hz: f32,
    /// Normalized difference at the chosen lag: 0 for a perfectly periodic frame, near 1 for
    /// noise. Frames above about 0.3 are not voiced.
    pub aperiodicity: f32,
}

/// YIN with its scratch buffer, reused frame after frame.
pub struct PitchEstimator {
    difference: Vec<f32>,
}

impl Default for PitchEstimator {
    fn default() -> Self {
        Self {
            difference: vec![0.0; MAX_LAG + 2],
        }
    }
}

impl PitchEstimator {
    /// The F0 of the frame starting at `frame[0]` (8 kHz, at least [`FRAME_SPAN`] samples).
    pub fn estimate(&mut self, frame: &[f32]) -> Option<PitchEstimate> {
        if frame.len() < FRAME_SPAN {
            return None;
        }
        let window = &frame[..WINDOW];
        let d = &mut self.difference;
        d[0] = 1.0;
        let mut running_sum = 0.0f32;
        for lag in 1..=MAX_LAG + 1 {
            let raw = squared_distance(window, &frame[lag..lag + WINDOW]);
            running_sum += raw;
            d[lag] = if running_sum > 0.0 {
                raw * lag as f32 / running_sum
            } else {
                1.0
            };
        }
        let first = first_dip(d).or_else(|| deepest(d))?;
        let mut best = parabolic_minimum(d, first);
        if best.1 > CLEARLY_PERIODIC {
            for multiple in 2..=5 {
                if let Some(longer) = deepest_near(d, multiple * first)
                    && let candidate = parabolic_minimum(d, longer)
                    && candidate.1 < SUBHARMONIC_RATIO * best.1
                {
                    best = candidate;
                }
            }
        }
        Some(PitchEstimate {
            hz: ANALYSIS_RATE as f32 / best.0,
            aperiodicity: best.1.max(0.0),
        })
    }
}

/// Σ (a − b)², in eight independent sums so that the compiler can use vector instructions
/// (one running sum would fix the order of the additions).
fn squared_distance(a: &[f32], b: &[f32]) -> f32 {
    let mut sums = [0.0f32; 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a8
        .remainder()
        .iter()
        .zip(b8.remainder())
        .map(|(x, y)| (x - y) * (x - y))
        .sum();
    for (x, y) in a8.zip(b8) {
        for k in 0..8 {
            let diff = x[k] - y[k];
            sums[k] += diff * diff;
        }
    }
    sums.iter().sum::<f32>() + tail
}

/// The first lag whose normalized difference drops below the threshold, walked down to the
/// bottom of that dip (the smallest such lag is the period, not one of its multiples).
fn first_dip(d: &[f32]) -> Option<usize> {
    let mut lag = (MIN_LAG..=MAX_LAG).find(|&l| d[l] < DIP_THRESHOLD)?;
    while lag < MAX_LAG && d[lag + 1] < d[lag] {
        lag += 1;
    }
    Some(lag)
}

/// The lag of the global minimum, for frames with no dip below the threshold (weakly voiced;
/// the caller decides with the aperiodicity).
fn deepest(d: &[f32]) -> Option<usize> {
    (MIN_LAG..=MAX_LAG).min_by(|&a, &b| d[a].total_cmp(&d[b]))
}

/// The lowest point within one sample of `lag`, if `lag` is in the searched range.
fn deepest_near(d: &[f32], lag: usize) -> Option<usize> {
    (lag - 1..=lag + 1)
        .filter(|&l| l <= MAX_LAG)
        .min_by(|&a, &b| d[a].total_cmp(&d[b]))
}

/// Sub-sample lag and value of the minimum, by a parabola through `lag` and its neighbours
/// (compared at integer lags, a period of 44.4 samples would look worse than one of 88.9).
fn parabolic_minimum(d: &[f32], lag: usize) -> (f32, f32) {
    let (a, b, c) = (d[lag - 1], d[lag], d[lag + 1]);
    let curvature = a - 2.0 * b + c;
    if curvature <= f32::EPSILON {
        return (lag as f32, b);
    }
    let offset = (0.5 * (a - c) / curvature).clamp(-1.0, 1.0);
    (lag as f32 + offset, b - 0.25 * (a - c) * offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Harmonics `first..=last` of `f0` with falling amplitude, at 8 kHz.
    fn harmonics(f0: f32, first: u32, last: u32, samples: usize) -> Vec<f32> {
        (0..samples)
            .map(|n| {
                let t = n as f32 / ANALYSIS_RATE as f32;
                (first..=last)
                    .map(|h| (2.0 * std::f32::consts::PI * f0 * h as f32 * t).sin() / h as f32)
                    .sum::<f32>()
                    * 0.2
            })
            .collect()
    }

    fn estimate(x: &[f32]) -> PitchEstimate {
        PitchEstimator::default()
            .estimate(&x[800..])
            .expect("voiced")
    }

    #[test]
    fn pure_tones_are_measured_within_one_percent() {
        for f0 in [80.0, 110.0, 150.0, 220.0, 330.0, 440.0] {
            let got = estimate(&harmonics(f0, 1, 1, 1_600));
            assert!((got.hz / f0 - 1.0).abs() < 0.01, "{f0} Hz: got {}", got.hz);
            assert!(got.aperiodicity < 0.05);
        }
    }

    #[test]
    fn a_missing_fundamental_is_still_found_within_two_percent() {
        // The phone band removes everything below 300 Hz: a 100 Hz voice keeps harmonics 3..30.
        for f0 in [95.0f32, 120.0, 180.0, 240.0] {
            let first = (300.0 / f0).ceil() as u32;
            let got = estimate(&harmonics(f0, first, (3_400.0 / f0) as u32, 1_600));
            assert!((got.hz / f0 - 1.0).abs() < 0.02, "{f0} Hz: got {}", got.hz);
        }
    }

    #[test]
    fn noise_is_aperiodic() {
        let mut seed = 12_345u32;
        let noise: Vec<f32> = (0..1_600)
            .map(|_| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
            })
            .collect();
        assert!(estimate(&noise).aperiodicity > 0.3);
    }

    #[test]
    fn short_frames_give_nothing() {
        assert!(PitchEstimator::default().estimate(&[0.0; 50]).is_none());
    }
}
