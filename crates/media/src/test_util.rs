//! Helpers shared by the unit tests: a small deterministic PRNG and white noise.

/// SplitMix64: tiny, deterministic, good enough for test noise and fuzzing.
pub struct Prng(u64);

impl Prng {
    pub fn new(seed: u64) -> Self {
        Prng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller).
    pub fn gaussian(&mut self) -> f64 {
        let u1 = self.next_f64().max(f64::MIN_POSITIVE);
        let u2 = self.next_f64();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

/// Mean power of a signal.
pub fn power(samples: &[i16]) -> f64 {
    samples.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / samples.len().max(1) as f64
}

/// Adds white Gaussian noise `snr_db` below the signal's own power.
pub fn add_noise(signal: &[i16], snr_db: f64, rng: &mut Prng) -> Vec<i16> {
    let sigma = (power(signal) / 10f64.powf(snr_db / 10.0)).sqrt();
    signal
        .iter()
        .map(|&s| {
            (f64::from(s) + sigma * rng.gaussian())
                .round()
                .clamp(-32768.0, 32767.0) as i16
        })
        .collect()
}

/// Share of the signal's power at `freq` (1.0 for a pure tone at that frequency).
pub fn tone_share(signal: &[i16], freq: f64, rate: u32) -> f64 {
    let w = 2.0 * std::f64::consts::PI * freq / f64::from(rate);
    let (mut re, mut im, mut total) = (0.0, 0.0, 0.0);
    for (n, &s) in signal.iter().enumerate() {
        let s = f64::from(s);
        re += s * (w * n as f64).cos();
        im -= s * (w * n as f64).sin();
        total += s * s;
    }
    2.0 * (re * re + im * im) / (signal.len() as f64 * total)
}
