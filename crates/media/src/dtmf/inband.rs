//! In-band DTMF detection on decoded audio, for trunks that send keys as tones.
//!
//! The classic block design (Goertzel filters over ~12.75 ms blocks, a digit needs two
//! consecutive agreeing blocks and ends after two disagreeing ones), with checks that keep speech
//! from passing as a key (talk-off):
//! 1. level: both tones above the sensitivity floor;
//! 2. relative peak: the chosen row and column stand out from the other rows and columns;
//! 3. frequency: each tone's frequency, measured from its phase advance between the two halves
//!    of the block, is within the ±1.5 % a key may be off and well short of ±3.5 %;
//! 4. twist: the two tones' levels, fitted by least squares at the measured frequencies, differ
//!    by no more than the allowed normal/reverse twist;
//! 5. purity: the two fitted tones carry nearly all of the block's energy, and what is left has
//!    no strong second harmonic of either tone (voiced speech has harmonics, keys do not).

use super::tone::{COL_HZ, KEYPAD, ROW_HZ, dbm0_to_amplitude};
use std::f64::consts::PI;

/// Block length at 8 kHz: 102 samples put a Goertzel bin on each DTMF frequency well enough and
/// fit twice into the 40 ms shortest key.
const BLOCK_AT_8K: usize = 102;
/// Sensitivity floor per tone: keys must be found down to −26 dBm0 with 8 dB of twist.
const MIN_TONE_DBM0: f64 = -38.0;
/// Other rows (columns) must be this much weaker than the chosen one (a cheap first cut: the
/// block is short, so a strong tone leaks into neighbouring bins by up to about −5 dB).
const RELATIVE_PEAK_DB: f64 = 4.0;
/// Largest accepted frequency error: between the ±1.5 % that must pass and ±3.5 % that must not.
const MAX_FREQ_ERROR: f64 = 0.025;
/// Low group louder than high group by at most this (spec: 8 dB, plus measuring margin).
const MAX_NORMAL_TWIST_DB: f64 = 9.0;
/// High group louder than low group by at most this (spec: 4 dB, plus measuring margin).
const MAX_REVERSE_TWIST_DB: f64 = 5.0;
/// Share of the block's energy the two tones must carry: 15 dB S/N still gives about 0.97, a
/// block only partly covered by a tone scores its coverage, so a 20 ms blip (at best two blocks
/// 78 % covered) is rejected, and speech never came above 0.6 in the talk-off recordings.
const MIN_TONE_SHARE: f64 = 0.85;
/// What is left after removing the tones may hold at most this much at a tone's 2nd harmonic,
/// relative to the tone.
const MAX_SECOND_HARMONIC_DB: f64 = -12.0;

/// Finds DTMF keys in PCM at 8 or 16 kHz, reporting each press once.
#[derive(Debug)]
pub struct InbandDtmfDetector {
    rate: f64,
    block_len: usize,
    block: Vec<f64>,
    min_tone_power: f64,
    last_hit: Option<char>,
    in_digit: Option<char>,
}

impl InbandDtmfDetector {
    /// A detector for PCM at `sample_rate` (8000 and 16000 are the rates the media path uses;
    /// the block scales with the rate so the analysis keeps the same duration).
    pub fn new(sample_rate: u32) -> Self {
        let block_len = (BLOCK_AT_8K * sample_rate as usize / 8000).max(2) & !1;
        InbandDtmfDetector {
            rate: f64::from(sample_rate),
            block_len,
            block: Vec::with_capacity(block_len),
            min_tone_power: dbm0_to_amplitude(MIN_TONE_DBM0).powi(2) / 2.0,
            last_hit: None,
            in_digit: None,
        }
    }

    /// Feeds audio; returns the keys whose press was recognised within it.
    pub fn process(&mut self, samples: &[i16]) -> Vec<char> {
        let mut digits = Vec::new();
        for &sample in samples {
            self.block.push(f64::from(sample));
            if self.block.len() == self.block_len {
                let hit = self.classify_block();
                self.block.clear();
                digits.extend(self.track(hit));
            }
        }
        digits
    }

    /// Debounces block results: two agreeing blocks start a key, two that disagree with it end
    /// it, so one disturbed block neither splits a key nor creates one.
    fn track(&mut self, hit: Option<char>) -> Option<char> {
        let mut started = None;
        if hit != self.in_digit && self.last_hit != self.in_digit {
            let new = if hit.is_some() && hit == self.last_hit {
                hit
            } else {
                None
            };
            started = new;
            self.in_digit = new;
        }
        self.last_hit = hit;
        started
    }

    fn classify_block(&mut self) -> Option<char> {
        let n = self.block.len() as f64;
        let mean = self.block.iter().sum::<f64>() / n;
        self.block.iter_mut().for_each(|s| *s -= mean);
        let x = &self.block;
        let total_power = x.iter().map(|s| s * s).sum::<f64>() / n;
        if total_power < 2.0 * self.min_tone_power {
            return None;
        }
        let rows = ROW_HZ.map(|f| goertzel_power(x, f, self.rate));
        let cols = COL_HZ.map(|f| goertzel_power(x, f, self.rate));
        let (row, row_power) = strongest(&rows);
        let (col, col_power) = strongest(&cols);
        if row_power < self.min_tone_power || col_power < self.min_tone_power {
            return None;
        }
        let peak_ratio = db_to_ratio(-RELATIVE_PEAK_DB);
        let stands_out = |powers: &[f64; 4], best: usize| {
            powers
                .iter()
                .enumerate()
                .all(|(i, &p)| i == best || p <= powers[best] * peak_ratio)
        };
        if !stands_out(&rows, row) || !stands_out(&cols, col) {
            return None;
        }
        let (row_error, col_error) = frequency_errors(x, ROW_HZ[row], COL_HZ[col], self.rate)?;
        let (row_hz, col_hz) = (ROW_HZ[row] + row_error, COL_HZ[col] + col_error);
        let off = |measured: f64, nominal: f64| (measured / nominal - 1.0).abs() > MAX_FREQ_ERROR;
        if off(row_hz, ROW_HZ[row]) || off(col_hz, COL_HZ[col]) {
            return None;
        }
        let fit = fit_two_tones(x, row_hz, col_hz, self.rate)?;
        let twist_db = 10.0 * (fit.low_power / fit.high_power).log10();
        if !(-MAX_REVERSE_TWIST_DB..=MAX_NORMAL_TWIST_DB).contains(&twist_db) {
            return None;
        }
        if fit.low_power + fit.high_power < MIN_TONE_SHARE * total_power {
            return None;
        }
        let harmonic_ratio = db_to_ratio(MAX_SECOND_HARMONIC_DB);
        let nyquist = self.rate / 2.0;
        for (hz, power) in [(row_hz, fit.low_power), (col_hz, fit.high_power)] {
            if 2.0 * hz < nyquist
                && goertzel_power(&fit.residual, 2.0 * hz, self.rate) > power * harmonic_ratio
            {
                return None;
            }
        }
        Some(KEYPAD[row][col])
    }
}

fn db_to_ratio(db: f64) -> f64 {
    10f64.powf(db / 10.0)
}

fn strongest(powers: &[f64; 4]) -> (usize, f64) {
    powers.iter().copied().enumerate().fold(
        (0, f64::MIN),
        |best, (i, p)| if p > best.1 { (i, p) } else { best },
    )
}

/// Power of the `freq` component, scaled so a sine of amplitude A reads A²/2.
fn goertzel_power(x: &[f64], freq: f64, rate: f64) -> f64 {
    let coeff = 2.0 * (2.0 * PI * freq / rate).cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &v in x {
        let s0 = v + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let n = x.len() as f64;
    2.0 * (s1 * s1 + s2 * s2 - coeff * s1 * s2) / (n * n)
}

/// How far (Hz) each of the two tones is from the given nominal frequencies: a joint
/// least-squares fit on each half of the block gives each tone's phase, and a tone off by `e` Hz
/// advances 2π·e·half/rate between the halves. Fitting both tones (and so the negative-frequency
/// image of each) keeps the strong tone from biasing the weak one's phase.
fn frequency_errors(x: &[f64], low_hz: f64, high_hz: f64, rate: f64) -> Option<(f64, f64)> {
    let half = x.len() / 2;
    let first = fit_coefficients(&x[..half], 0, low_hz, high_hz, rate)?;
    let second = fit_coefficients(&x[half..2 * half], half, low_hz, high_hz, rate)?;
    // a·cos(wn) + b·sin(wn) = R·cos(wn − θ): the tone's phase is −θ = atan2(−b, a).
    let advance = |a1: f64, b1: f64, a2: f64, b2: f64| {
        let (re, im) = (a2 * a1 + b2 * b1, a1 * b2 - a2 * b1);
        -im.atan2(re)
    };
    let scale = rate / (2.0 * PI * half as f64);
    Some((
        advance(first[0], first[1], second[0], second[1]) * scale,
        advance(first[2], first[3], second[2], second[3]) * scale,
    ))
}

struct TwoToneFit {
    low_power: f64,
    high_power: f64,
    residual: Vec<f64>,
}

/// Least-squares fit of two sines at known frequencies (joint, because over one short block the
/// two are not orthogonal); `None` if the system is degenerate.
fn fit_two_tones(x: &[f64], low_hz: f64, high_hz: f64, rate: f64) -> Option<TwoToneFit> {
    let c = fit_coefficients(x, 0, low_hz, high_hz, rate)?;
    let basis = TwoToneBasis::new(low_hz, high_hz, rate);
    let residual = x
        .iter()
        .enumerate()
        .map(|(n, &v)| {
            let b = basis.at(n);
            v - (0..4).map(|i| c[i] * b[i]).sum::<f64>()
        })
        .collect();
    Some(TwoToneFit {
        low_power: (c[0] * c[0] + c[1] * c[1]) / 2.0,
        high_power: (c[2] * c[2] + c[3] * c[3]) / 2.0,
        residual,
    })
}

/// cos and sin of both tones at a sample index.
struct TwoToneBasis {
    low: f64,
    high: f64,
}

impl TwoToneBasis {
    fn new(low_hz: f64, high_hz: f64, rate: f64) -> Self {
        TwoToneBasis {
            low: 2.0 * PI * low_hz / rate,
            high: 2.0 * PI * high_hz / rate,
        }
    }

    fn at(&self, n: usize) -> [f64; 4] {
        let n = n as f64;
        let (low_sin, low_cos) = (self.low * n).sin_cos();
        let (high_sin, high_cos) = (self.high * n).sin_cos();
        [low_cos, low_sin, high_cos, high_sin]
    }
}

/// Coefficients of cos/sin of both tones that best match `x`, whose first sample has index
/// `start` (so phases of different stretches share one time origin).
fn fit_coefficients(
    x: &[f64],
    start: usize,
    low_hz: f64,
    high_hz: f64,
    rate: f64,
) -> Option<[f64; 4]> {
    let basis = TwoToneBasis::new(low_hz, high_hz, rate);
    let mut gram = [[0.0; 4]; 4];
    let mut rhs = [0.0; 4];
    for (k, &v) in x.iter().enumerate() {
        let b = basis.at(start + k);
        for i in 0..4 {
            rhs[i] += b[i] * v;
            for j in 0..4 {
                gram[i][j] += b[i] * b[j];
            }
        }
    }
    solve4(gram, rhs)
}

/// Gaussian elimination with partial pivoting on a 4×4 system.
fn solve4(mut a: [[f64; 4]; 4], mut b: [f64; 4]) -> Option<[f64; 4]> {
    for col in 0..4 {
        let pivot = (col..4).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-9 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        let pivot_row = a[col];
        for row in col + 1..4 {
            let factor = a[row][col] / pivot_row[col];
            for (value, pivot_value) in a[row].iter_mut().zip(pivot_row).skip(col) {
                *value -= factor * pivot_value;
            }
            b[row] -= factor * b[col];
        }
    }
    let mut out = [0.0; 4];
    for row in (0..4).rev() {
        let tail: f64 = (row + 1..4).map(|k| a[row][k] * out[k]).sum();
        out[row] = (b[row] - tail) / a[row][row];
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::super::tone::{dtmf_frequencies, dtmf_tone, dual_tone};
    use super::*;
    use crate::codec::{Codec, Decoder, Encoder};
    use crate::prompt::load_prompt;
    use crate::test_util::{Prng, add_noise};
    use std::path::PathBuf;
    use std::time::Duration;

    const KEYS: &str = "123A456B789C*0#D";
    const RATES: [u32; 2] = [8000, 16000];

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn silence(rate: u32, duration: Duration) -> Vec<i16> {
        vec![0; (duration.as_secs_f64() * f64::from(rate)).round() as usize]
    }

    /// A key sequence: lead-in, then each key's tone followed by a pause.
    fn sequence(
        rate: u32,
        keys: &str,
        tone: Duration,
        pause: Duration,
        make: impl Fn(char) -> Vec<i16>,
    ) -> Vec<i16> {
        let mut signal = silence(rate, ms(60));
        for key in keys.chars() {
            let burst = make(key);
            assert_eq!(burst.len(), silence(rate, tone).len());
            signal.extend(burst);
            signal.extend(silence(rate, pause));
        }
        signal.extend(silence(rate, ms(100)));
        signal
    }

    fn plain(rate: u32, tone: Duration, level: f64) -> impl Fn(char) -> Vec<i16> {
        move |key| dtmf_tone(key, rate, tone, level, 0.0, 0.0)
    }

    fn detect(rate: u32, signal: &[i16]) -> String {
        let mut detector = InbandDtmfDetector::new(rate);
        // 20 ms frames, as the media path delivers them.
        signal
            .chunks(rate as usize / 50)
            .flat_map(|frame| detector.process(frame))
            .collect()
    }

    #[test]
    fn every_key_is_found_at_both_rates() {
        for rate in RATES {
            let signal = sequence(rate, KEYS, ms(50), ms(50), plain(rate, ms(50), -10.0));
            assert_eq!(detect(rate, &signal), KEYS, "{rate} Hz");
        }
    }

    #[test]
    fn chunking_of_the_input_does_not_matter() {
        let signal = sequence(8000, "159#", ms(60), ms(60), plain(8000, ms(60), -10.0));
        for chunk in [1, 37, 102, 1000, signal.len()] {
            let mut detector = InbandDtmfDetector::new(8000);
            let got: String = signal
                .chunks(chunk)
                .flat_map(|c| detector.process(c))
                .collect();
            assert_eq!(got, "159#", "chunks of {chunk}");
        }
    }

    #[test]
    fn a_40_ms_tone_is_found_at_any_block_alignment() {
        for rate in RATES {
            let block = 102 * rate as usize / 8000;
            for shift in (0..block).step_by(5) {
                let mut signal = vec![0; shift];
                signal.extend(sequence(
                    rate,
                    "7",
                    ms(40),
                    ms(50),
                    plain(rate, ms(40), -10.0),
                ));
                assert_eq!(detect(rate, &signal), "7", "{rate} Hz, shifted {shift}");
            }
        }
    }

    #[test]
    fn a_20_ms_blip_is_not_a_key() {
        for rate in RATES {
            let block = 102 * rate as usize / 8000;
            for shift in (0..block).step_by(5) {
                let mut signal = vec![0; shift];
                signal.extend(sequence(
                    rate,
                    "7",
                    ms(20),
                    ms(50),
                    plain(rate, ms(20), -10.0),
                ));
                assert_eq!(detect(rate, &signal), "", "{rate} Hz, shifted {shift}");
            }
        }
    }

    #[test]
    fn a_50_ms_pause_separates_repeats_of_one_key() {
        for rate in RATES {
            let block = 102 * rate as usize / 8000;
            for shift in (0..block).step_by(17) {
                let mut signal = vec![0; shift];
                signal.extend(sequence(
                    rate,
                    "55555",
                    ms(40),
                    ms(50),
                    plain(rate, ms(40), -10.0),
                ));
                assert_eq!(detect(rate, &signal), "55555", "{rate} Hz, shifted {shift}");
            }
        }
    }

    #[test]
    fn ten_keys_per_second_are_all_found() {
        for rate in RATES {
            let keys = "1234567890*#ABCD1234";
            let signal = sequence(rate, keys, ms(50), ms(50), plain(rate, ms(50), -10.0));
            assert_eq!(
                signal.len(),
                silence(rate, ms(2160)).len(),
                "20 keys in 2 s (plus lead-in/out)"
            );
            assert_eq!(detect(rate, &signal), keys, "{rate} Hz");
        }
    }

    #[test]
    fn normal_twist_of_8_db_and_reverse_twist_of_4_db_are_accepted() {
        for rate in RATES {
            for twist in [8.0, -4.0] {
                let make = |key| dtmf_tone(key, rate, ms(50), -10.0, twist, 0.0);
                let signal = sequence(rate, KEYS, ms(50), ms(50), make);
                assert_eq!(detect(rate, &signal), KEYS, "{rate} Hz, twist {twist} dB");
            }
        }
    }

    #[test]
    fn excessive_twist_is_rejected() {
        for rate in RATES {
            for twist in [14.0, -10.0] {
                let make = |key| dtmf_tone(key, rate, ms(50), -6.0, twist, 0.0);
                let signal = sequence(rate, KEYS, ms(50), ms(50), make);
                assert_eq!(detect(rate, &signal), "", "{rate} Hz, twist {twist} dB");
            }
        }
    }

    #[test]
    fn keys_are_found_with_white_noise_15_db_below_them() {
        let mut rng = Prng::new(15);
        for rate in RATES {
            for level in [-10.0, -26.0] {
                for round in 0..3 {
                    let make = |key| dtmf_tone(key, rate, ms(50), level, 0.0, 0.0);
                    let clean = sequence(rate, KEYS, ms(50), ms(50), make);
                    // S/N measured against the tones alone (the whole dual tone, the harder reading).
                    let tone_power =
                        crate::test_util::power(&dtmf_tone('5', rate, ms(50), level, 0.0, 0.0));
                    let noise_sigma = (tone_power / 10f64.powf(1.5)).sqrt();
                    let noisy: Vec<i16> = clean
                        .iter()
                        .map(|&s| (f64::from(s) + noise_sigma * rng.gaussian()).round() as i16)
                        .collect();
                    assert_eq!(
                        detect(rate, &noisy),
                        KEYS,
                        "{rate} Hz, {level} dBm0, round {round}"
                    );
                }
            }
        }
    }

    #[test]
    fn white_noise_alone_gives_no_keys() {
        let mut rng = Prng::new(3);
        for rate in RATES {
            for level in [100.0, 1000.0, 8000.0] {
                let noise: Vec<i16> = (0..rate * 10)
                    .map(|_| (level * rng.gaussian()).clamp(-32768.0, 32767.0) as i16)
                    .collect();
                assert_eq!(detect(rate, &noise), "", "{rate} Hz, σ {level}");
            }
        }
    }

    #[test]
    fn keys_are_found_down_to_minus_26_dbm0_per_tone_even_through_a_codec() {
        for rate in RATES {
            let signal = sequence(rate, KEYS, ms(50), ms(50), plain(rate, ms(50), -26.0));
            assert_eq!(detect(rate, &signal), KEYS, "{rate} Hz");
        }
        for codec in [Codec::Pcmu, Codec::Pcma, Codec::G722] {
            let rate = codec.sample_rate();
            let signal = sequence(rate, KEYS, ms(50), ms(50), plain(rate, ms(50), -26.0));
            let mut encoder = Encoder::new(codec);
            let mut decoder = Decoder::new(codec);
            let mut decoded = Vec::new();
            for frame in signal.chunks(codec.samples_per_frame()) {
                let mut payload = Vec::new();
                encoder.encode(frame, &mut payload);
                decoder.decode(&payload, &mut decoded);
            }
            assert_eq!(detect(rate, &decoded), KEYS, "{codec:?}");
        }
    }

    #[test]
    fn tones_far_below_the_floor_are_ignored() {
        for rate in RATES {
            let signal = sequence(rate, KEYS, ms(50), ms(50), plain(rate, ms(50), -45.0));
            assert_eq!(detect(rate, &signal), "", "{rate} Hz");
        }
    }

    /// Key tones with the low and high tone each off by its own relative error.
    fn offset_keys(rate: u32, low_offset: f64, high_offset: f64) -> Vec<i16> {
        let make = |key| {
            let (low, high) = dtmf_frequencies(key).unwrap();
            dual_tone(
                low * (1.0 + low_offset),
                high * (1.0 + high_offset),
                rate,
                ms(50),
                -10.0,
                -10.0,
            )
        };
        sequence(rate, KEYS, ms(50), ms(50), make)
    }

    #[test]
    fn frequency_error_of_1_5_percent_is_accepted() {
        for rate in RATES {
            for (low, high) in [
                (0.015, 0.0),
                (-0.015, 0.0),
                (0.0, 0.015),
                (0.0, -0.015),
                (0.015, 0.015),
                (-0.015, -0.015),
                (0.015, -0.015),
                (-0.015, 0.015),
            ] {
                assert_eq!(
                    detect(rate, &offset_keys(rate, low, high)),
                    KEYS,
                    "{rate} Hz, {low}/{high}"
                );
            }
        }
    }

    #[test]
    fn frequency_error_of_3_5_percent_is_rejected() {
        for rate in RATES {
            for (low, high) in [(0.035, 0.0), (-0.035, 0.0), (0.0, 0.035), (0.0, -0.035)] {
                assert_eq!(
                    detect(rate, &offset_keys(rate, low, high)),
                    "",
                    "{rate} Hz, {low}/{high}"
                );
            }
        }
    }

    #[test]
    fn tone_pairs_with_strong_second_harmonics_are_rejected() {
        for rate in RATES {
            let with_harmonics = |harmonic_db: f64| {
                let make = |key| {
                    let (low, high) = dtmf_frequencies(key).unwrap();
                    let tones = dtmf_tone(key, rate, ms(50), -10.0, 0.0, 0.0);
                    let level = -10.0 + harmonic_db;
                    let harmonics = dual_tone(2.0 * low, 2.0 * high, rate, ms(50), level, level);
                    tones.iter().zip(&harmonics).map(|(a, b)| a + b).collect()
                };
                detect(rate, &sequence(rate, KEYS, ms(50), ms(50), make))
            };
            // 10 dB down still leaves the pair 90 % of the energy: only the harmonic check
            // tells this from a clean key.
            assert_eq!(with_harmonics(-10.0), "", "{rate} Hz");
            assert_eq!(
                with_harmonics(-25.0),
                KEYS,
                "{rate} Hz: weak harmonics are tolerated"
            );
        }
    }

    /// The recorded speech of pocketsphinx-testdata at `rate`, named: the librivox and cards
    /// WAVs, plus the raw 16 kHz files (one of them is someone reading out numbers).
    fn speech(rate: u32) -> Vec<(String, Vec<i16>)> {
        let root = PathBuf::from("/usr/share/pocketsphinx/test/data");
        assert!(
            root.is_dir(),
            "{} is missing: install the Debian package pocketsphinx-testdata (make test installs it)",
            root.display()
        );
        let mut files = Vec::new();
        for dir in ["librivox", "cards"] {
            for entry in std::fs::read_dir(root.join(dir)).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_some_and(|e| e == "wav") {
                    files.push(path);
                }
            }
        }
        files.sort();
        assert!(
            files.len() >= 10,
            "expected the librivox and cards WAVs, found {files:?}"
        );
        let scratch = tempfile::tempdir().unwrap();
        for name in ["goforward", "numbers", "something"] {
            let bytes = std::fs::read(root.join(format!("{name}.raw"))).unwrap();
            let wav = scratch.path().join(format!("{name}.wav"));
            let spec = hound::WavSpec {
                channels: 1,
                sample_rate: 16000,
                bits_per_sample: 16,
                sample_format: hound::SampleFormat::Int,
            };
            let mut writer = hound::WavWriter::create(&wav, spec).unwrap();
            for pair in bytes.chunks_exact(2) {
                writer
                    .write_sample(i16::from_le_bytes([pair[0], pair[1]]))
                    .unwrap();
            }
            writer.finalize().unwrap();
            files.push(wav);
        }
        files
            .iter()
            .map(|path| {
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                (name, load_prompt(path, rate).unwrap())
            })
            .collect()
    }

    fn gain(signal: &[i16], factor: f64) -> Vec<i16> {
        signal
            .iter()
            .map(|&s| (f64::from(s) * factor).round().clamp(-32768.0, 32767.0) as i16)
            .collect()
    }

    #[test]
    fn speech_gives_no_false_keys() {
        for rate in RATES {
            let mut seconds = 0.0;
            for (name, speech) in speech(rate) {
                seconds += speech.len() as f64 / f64::from(rate);
                // Quiet, as recorded, and loud (clipping) talkers.
                for factor in [0.3, 1.0, 4.0] {
                    let got = detect(rate, &gain(&speech, factor));
                    assert_eq!(got, "", "{name} at {rate} Hz, gain {factor}");
                }
            }
            assert!(seconds > 40.0, "all of the recorded speech: {seconds:.0} s");
        }
    }

    #[test]
    fn keys_between_and_over_speech_come_out_right() {
        let mut rng = Prng::new(99);
        for rate in RATES {
            for (i, (name, recorded)) in speech(rate).into_iter().enumerate() {
                let keys: String = (0..6)
                    .map(|k| KEYS.as_bytes()[(i * 5 + k * 3) % 16] as char)
                    .collect();
                // Keys over the talk, 10 dB above the loudest 70 ms of it.
                let window = rate as usize * 7 / 100;
                let loudest = recorded
                    .chunks(window / 2)
                    .collect::<Vec<_>>()
                    .windows(2)
                    .map(|w| crate::test_util::power(&[w[0], w[1]].concat()))
                    .fold(0.0, f64::max);
                let tone_power =
                    crate::test_util::power(&dtmf_tone('1', rate, ms(70), -10.0, 0.0, 0.0));
                let mut mixed = gain(&recorded, (tone_power / loudest / 10.0).sqrt());
                let spacing = mixed.len() / (keys.len() + 1);
                for (k, key) in keys.chars().enumerate() {
                    let tone = dtmf_tone(key, rate, ms(70), -10.0, 0.0, 0.0);
                    let at = spacing * (k + 1) + (rng.next_u32() as usize % 50);
                    for (sample, &t) in mixed[at..].iter_mut().zip(&tone) {
                        *sample = sample.saturating_add(t);
                    }
                }
                assert_eq!(detect(rate, &mixed), keys, "{name} at {rate} Hz");
                // And keys in the speech's own gaps at its recorded level: speech, key, speech, …
                let mut spliced = Vec::new();
                for (k, key) in keys.chars().enumerate() {
                    let part = recorded.len() / keys.len();
                    spliced.extend_from_slice(&recorded[k * part..(k + 1) * part]);
                    spliced.extend(silence(rate, ms(50)));
                    spliced.extend(add_noise(
                        &dtmf_tone(key, rate, ms(60), -10.0, 0.0, 0.0),
                        30.0,
                        &mut rng,
                    ));
                    spliced.extend(silence(rate, ms(50)));
                }
                assert_eq!(detect(rate, &spliced), keys, "{name} spliced at {rate} Hz");
            }
        }
    }
}
