//! Tone generation: DTMF key tones at a chosen level, twist and frequency error (the test
//! signals of the in-band detector), and any dual tone (ringback, busy).

use std::f64::consts::PI;
use std::time::Duration;

/// Low-group (row) frequencies in Hz, top to bottom of the keypad.
pub(crate) const ROW_HZ: [f64; 4] = [697.0, 770.0, 852.0, 941.0];
/// High-group (column) frequencies in Hz, left to right.
pub(crate) const COL_HZ: [f64; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
/// The keypad, indexed by row then column.
pub(crate) const KEYPAD: [[char; 4]; 4] = [
    ['1', '2', '3', 'A'],
    ['4', '5', '6', 'B'],
    ['7', '8', '9', 'C'],
    ['*', '0', '#', 'D'],
];

/// Peak (on the i16 scale) of a 0 dBm0 sine: G.711 puts a full-scale sine at +3.14 dBm0, so
/// this is 32767 · 10^(−3.14/20), the convention spandsp's tests use too.
const ZERO_DBM0_PEAK: f64 = 22_826.4;

/// Peak amplitude (on the i16 scale) of a sine at `level_dbm0`.
pub fn dbm0_to_amplitude(level_dbm0: f64) -> f64 {
    ZERO_DBM0_PEAK * 10f64.powf(level_dbm0 / 20.0)
}

/// The (low, high) frequencies of a key, lower-case a-d accepted.
pub fn dtmf_frequencies(digit: char) -> Option<(f64, f64)> {
    let digit = digit.to_ascii_uppercase();
    KEYPAD.iter().enumerate().find_map(|(row, keys)| {
        keys.iter()
            .position(|&k| k == digit)
            .map(|col| (ROW_HZ[row], COL_HZ[col]))
    })
}

/// A DTMF key tone. The low-group tone is at `level_dbm0_per_tone`, the high-group tone
/// `twist_db` below it (negative: reverse twist, high group louder); both frequencies are off
/// by the relative `freq_offset` (0.015 = +1.5 %). Empty for a character that is no key.
pub fn dtmf_tone(
    digit: char,
    sample_rate: u32,
    duration: Duration,
    level_dbm0_per_tone: f64,
    twist_db: f64,
    freq_offset: f64,
) -> Vec<i16> {
    let Some((low, high)) = dtmf_frequencies(digit) else {
        return Vec::new();
    };
    dual_tone(
        low * (1.0 + freq_offset),
        high * (1.0 + freq_offset),
        sample_rate,
        duration,
        level_dbm0_per_tone,
        level_dbm0_per_tone - twist_db,
    )
}

/// Two summed sines with their own levels in dBm0, clipped to the i16 range.
pub fn dual_tone(
    low_hz: f64,
    high_hz: f64,
    sample_rate: u32,
    duration: Duration,
    low_dbm0: f64,
    high_dbm0: f64,
) -> Vec<i16> {
    let rate = f64::from(sample_rate);
    let samples = (duration.as_secs_f64() * rate).round() as usize;
    let (a_low, a_high) = (dbm0_to_amplitude(low_dbm0), dbm0_to_amplitude(high_dbm0));
    (0..samples)
        .map(|n| {
            let t = n as f64 / rate;
            let v = a_low * (2.0 * PI * low_hz * t).sin() + a_high * (2.0 * PI * high_hz * t).sin();
            v.round().clamp(-32768.0, 32767.0) as i16
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rms_dbm0(samples: &[i16]) -> f64 {
        let power =
            samples.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / samples.len() as f64;
        let zero_dbm0_power = dbm0_to_amplitude(0.0).powi(2) / 2.0;
        10.0 * (power / zero_dbm0_power).log10()
    }

    #[test]
    fn levels_follow_the_dbm0_convention() {
        // Full scale is +3.14 dBm0 (written in hundredths: clippy takes 3.14 for a bad π).
        let full_scale_centi_dbm0 = 2000.0 * (32767.0 / dbm0_to_amplitude(0.0)).log10();
        assert!(
            (full_scale_centi_dbm0 - 314.0).abs() < 0.1,
            "{full_scale_centi_dbm0}"
        );
        let single = dual_tone(
            1000.0,
            1000.0,
            8000,
            Duration::from_secs(1),
            -10.0,
            f64::NEG_INFINITY,
        );
        assert!((rms_dbm0(&single) + 10.0).abs() < 0.05);
        let pair = dtmf_tone('5', 8000, Duration::from_secs(1), -10.0, 0.0, 0.0);
        assert_eq!(pair.len(), 8000);
        assert!(
            (rms_dbm0(&pair) + 7.0).abs() < 0.1,
            "two tones at -10 sum to -7 dBm0"
        );
    }

    #[test]
    fn keys_map_to_their_frequencies() {
        assert_eq!(dtmf_frequencies('1'), Some((697.0, 1209.0)));
        assert_eq!(dtmf_frequencies('0'), Some((941.0, 1336.0)));
        assert_eq!(dtmf_frequencies('d'), Some((941.0, 1633.0)));
        assert_eq!(dtmf_frequencies('x'), None);
        assert!(dtmf_tone('x', 8000, Duration::from_millis(50), -10.0, 0.0, 0.0).is_empty());
        assert_eq!(
            dtmf_tone('#', 16000, Duration::from_millis(50), -10.0, 0.0, 0.0).len(),
            800
        );
    }
}
