//! Streaming sample-rate conversion between the two rates calls run at (8 and 16 kHz), for
//! bridging a G.711 leg with a G.722 leg frame by frame.
//!
//! rubato converts whole prompts well; a bridge needs 20 ms in, 20 ms out with the filter state
//! carried across frames and no added buffering, which a fixed 2:1 half-band filter gives.

use std::collections::VecDeque;
use std::f64::consts::PI;

/// Taps of the low-pass filter at 16 kHz: about 1 ms of delay, over 60 dB stop-band.
const TAPS: usize = 31;

/// How a converter changes the rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Same,
    /// 8 → 16 kHz: a zero between samples, then the low-pass filter.
    Up,
    /// 16 → 8 kHz: the low-pass filter, then every second sample.
    Down,
}

/// Converts a stream of 16-bit samples from one rate to another, one frame at a time.
#[derive(Debug, Clone)]
pub struct RateConverter {
    direction: Direction,
    taps: Vec<f64>,
    /// The latest input at 16 kHz (after zero-stuffing when going up), newest last.
    history: VecDeque<f64>,
}

impl RateConverter {
    /// A converter from `from` Hz to `to` Hz; equal rates pass samples through. Only 8000 and
    /// 16000 are supported (the rates of G.711 and G.722).
    pub fn new(from: u32, to: u32) -> Result<Self, String> {
        let direction = match (from, to) {
            _ if from == to => Direction::Same,
            (8000, 16000) => Direction::Up,
            (16000, 8000) => Direction::Down,
            _ => return Err(format!("cannot convert {from} Hz to {to} Hz")),
        };
        Ok(RateConverter {
            direction,
            taps: half_band(),
            history: std::iter::repeat_n(0.0, TAPS).collect(),
        })
    }

    /// Converts `input`, appending the result to `out` (twice or half as many samples).
    pub fn process(&mut self, input: &[i16], out: &mut Vec<i16>) {
        match self.direction {
            Direction::Same => out.extend_from_slice(input),
            Direction::Up => {
                for &sample in input {
                    // Zero-stuffing halves the level; the gain of 2 restores it.
                    self.push(2.0 * f64::from(sample));
                    out.push(self.filtered());
                    self.push(0.0);
                    out.push(self.filtered());
                }
            }
            Direction::Down => {
                for pair in input.chunks(2) {
                    for &sample in pair {
                        self.push(f64::from(sample));
                    }
                    out.push(self.filtered());
                }
            }
        }
    }

    fn push(&mut self, value: f64) {
        self.history.pop_front();
        self.history.push_back(value);
    }

    fn filtered(&self) -> i16 {
        let sum: f64 = self
            .history
            .iter()
            .zip(self.taps.iter().rev())
            .map(|(x, h)| x * h)
            .sum();
        sum.round().clamp(f64::from(i16::MIN), f64::from(i16::MAX)) as i16
    }
}

/// A Blackman-windowed sinc low-pass at a quarter of the 16 kHz rate (4 kHz), unity gain.
fn half_band() -> Vec<f64> {
    let middle = (TAPS - 1) as f64 / 2.0;
    let taps: Vec<f64> = (0..TAPS)
        .map(|n| {
            let x = n as f64 - middle;
            let sinc = if x == 0.0 {
                0.5
            } else {
                (PI * x / 2.0).sin() / (PI * x)
            };
            let phase = 2.0 * PI * n as f64 / (TAPS - 1) as f64;
            let window = 0.42 - 0.5 * phase.cos() + 0.08 * (2.0 * phase).cos();
            sinc * window
        })
        .collect();
    let sum: f64 = taps.iter().sum();
    taps.into_iter().map(|t| t / sum).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f64, rate: u32, samples: usize) -> Vec<i16> {
        (0..samples)
            .map(|i| (8000.0 * (2.0 * PI * freq * i as f64 / f64::from(rate)).sin()) as i16)
            .collect()
    }

    fn rms(samples: &[i16]) -> f64 {
        (samples.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / samples.len() as f64).sqrt()
    }

    /// Runs `input` through in 20 ms frames, as a bridge does.
    fn framed(converter: &mut RateConverter, input: &[i16], frame: usize) -> Vec<i16> {
        let mut out = Vec::new();
        for chunk in input.chunks(frame) {
            converter.process(chunk, &mut out);
        }
        out
    }

    #[test]
    fn a_tone_keeps_its_level_and_pitch_up_and_down() {
        let narrow = tone(1000.0, 8000, 8000);
        let wide = framed(&mut RateConverter::new(8000, 16000).unwrap(), &narrow, 160);
        assert_eq!(wide.len(), 16000);
        let expected = tone(1000.0, 16000, 16000);
        let ratio = rms(&wide[800..]) / rms(&expected[800..]);
        assert!((0.95..1.05).contains(&ratio), "level up: {ratio}");
        let back = framed(&mut RateConverter::new(16000, 8000).unwrap(), &wide, 320);
        assert_eq!(back.len(), 8000);
        let ratio = rms(&back[800..]) / rms(&narrow[800..]);
        assert!((0.95..1.05).contains(&ratio), "level down: {ratio}");
        // Same pitch: the zero crossings per second of a 1 kHz tone.
        let crossings = back[800..]
            .windows(2)
            .filter(|w| (w[0] < 0) != (w[1] < 0))
            .count();
        assert!((1750..1850).contains(&crossings), "{crossings}");
    }

    #[test]
    fn wideband_content_above_4_khz_does_not_fold_into_the_narrow_band() {
        let high = tone(6000.0, 16000, 16000);
        let narrow = framed(&mut RateConverter::new(16000, 8000).unwrap(), &high, 320);
        let ratio = rms(&narrow[800..]) / rms(&high[800..]);
        assert!(ratio < 0.01, "6 kHz should be filtered out, kept {ratio}");
    }

    #[test]
    fn equal_rates_pass_through_and_other_rates_are_refused() {
        let input = tone(440.0, 8000, 160);
        let mut out = Vec::new();
        RateConverter::new(8000, 8000)
            .unwrap()
            .process(&input, &mut out);
        assert_eq!(out, input);
        assert!(RateConverter::new(8000, 22050).is_err());
    }
}
