//! Bringing audio to the 8 kHz analysis rate: every call is analysed the way the phone carries
//! it, so a G.722 (16 kHz) caller and a G.711 (8 kHz) caller get comparable figures.

/// The rate every acoustic measure is computed at.
pub const ANALYSIS_RATE: u32 = 8_000;

/// Samples as f32 in -1..1 at [`ANALYSIS_RATE`], or `None` when `sample_rate` is not a whole
/// multiple of it (16, 24, 32, 48 kHz are; 22.05 and 44.1 kHz are not).
pub fn to_analysis_rate(samples: &[i16], sample_rate: u32) -> Option<Vec<f32>> {
    if sample_rate == 0 || !sample_rate.is_multiple_of(ANALYSIS_RATE) {
        return None;
    }
    let factor = (sample_rate / ANALYSIS_RATE) as usize;
    let input: Vec<f32> = samples.iter().map(|&s| f32::from(s) / 32_768.0).collect();
    if factor == 1 {
        return Some(input);
    }
    let taps = low_pass_taps(factor);
    let half = taps.len() / 2;
    // Zeros on both sides, so that every output is one straight dot product.
    let mut padded = vec![0.0f32; input.len() + taps.len()];
    padded[half..half + input.len()].copy_from_slice(&input);
    let out = (0..input.len() / factor)
        .map(|i| dot(&taps, &padded[i * factor..i * factor + taps.len()]))
        .collect();
    Some(out)
}

/// Σ a·b in eight independent sums (so that the compiler can use vector instructions).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut sums = [0.0f32; 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a8
        .remainder()
        .iter()
        .zip(b8.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a8.zip(b8) {
        for k in 0..8 {
            sums[k] += x[k] * y[k];
        }
    }
    sums.iter().sum::<f32>() + tail
}

/// A windowed-sinc low-pass at 3.7 kHz for decimating by `factor` (Blackman window, unity gain
/// at DC): aliasing above the telephone band must not fold back onto the voice harmonics.
fn low_pass_taps(factor: usize) -> Vec<f32> {
    let len = 24 * factor + 1;
    let cutoff = 3_700.0 / (ANALYSIS_RATE as f64 * factor as f64);
    let mid = (len / 2) as f64;
    let mut taps: Vec<f64> = (0..len)
        .map(|n| {
            let x = n as f64 - mid;
            let sinc = if x == 0.0 {
                2.0 * cutoff
            } else {
                (2.0 * std::f64::consts::PI * cutoff * x).sin() / (std::f64::consts::PI * x)
            };
            let phase = 2.0 * std::f64::consts::PI * n as f64 / (len - 1) as f64;
            sinc * (0.42 - 0.5 * phase.cos() + 0.08 * (2.0 * phase).cos())
        })
        .collect();
    let sum: f64 = taps.iter().sum();
    taps.iter_mut().for_each(|t| *t /= sum);
    taps.into_iter().map(|t| t as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f64, rate: u32, seconds: f64) -> Vec<i16> {
        (0..(rate as f64 * seconds) as usize)
            .map(|n| {
                (10_000.0 * (2.0 * std::f64::consts::PI * freq * n as f64 / rate as f64).sin())
                    as i16
            })
            .collect()
    }

    fn rms(x: &[f32]) -> f32 {
        (x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32).sqrt()
    }

    #[test]
    fn keeps_the_voice_band_and_removes_what_would_alias() {
        let voice = to_analysis_rate(&tone(1_000.0, 16_000, 0.5), 16_000).unwrap();
        assert_eq!(voice.len(), 4_000);
        let expected = 10_000.0 / 32_768.0 / 2f32.sqrt();
        assert!((rms(&voice[100..3_900]) / expected - 1.0).abs() < 0.02);
        let high = to_analysis_rate(&tone(6_000.0, 16_000, 0.5), 16_000).unwrap();
        assert!(
            rms(&high[100..3_900]) < expected * 0.01,
            "6 kHz must not fold to 2 kHz"
        );
    }

    #[test]
    fn rates_that_are_not_multiples_of_8_khz_are_refused() {
        assert!(to_analysis_rate(&[0; 100], 22_050).is_none());
        assert!(to_analysis_rate(&[0; 100], 0).is_none());
        assert_eq!(to_analysis_rate(&[16_384; 4], 8_000).unwrap(), vec![0.5; 4]);
    }
}
