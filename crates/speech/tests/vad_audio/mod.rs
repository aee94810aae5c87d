//! Real recordings and what a phone line does to them, for the VAD and end-of-turn tests.

use sb_media::codec::{Codec, Decoder, Encoder};
use std::path::{Path, PathBuf};

/// Debian's pocketsphinx-testdata (scripts/install-deps.sh installs it): 16 kHz 16-bit mono.
pub const DATA: &str = "/usr/share/pocketsphinx/test/data";

/// The LibriVox sentences, one sentence per file.
#[allow(dead_code)] // the turn tests use them; the VAD measurement takes every recording
pub const SENTENCES: [&str; 5] = [
    "librivox/sense_and_sensibility_01_austen_64kb-0870.wav",
    "librivox/sense_and_sensibility_01_austen_64kb-0880.wav",
    "librivox/sense_and_sensibility_01_austen_64kb-0890.wav",
    "librivox/sense_and_sensibility_01_austen_64kb-0920.wav",
    "librivox/sense_and_sensibility_01_austen_64kb-0930.wav",
];

/// Every recording of the set: read sentences, card names, digit strings, commands.
pub const ALL_RECORDINGS: [&str; 14] = [
    "librivox/sense_and_sensibility_01_austen_64kb-0870.wav",
    "librivox/sense_and_sensibility_01_austen_64kb-0880.wav",
    "librivox/sense_and_sensibility_01_austen_64kb-0890.wav",
    "librivox/sense_and_sensibility_01_austen_64kb-0920.wav",
    "librivox/sense_and_sensibility_01_austen_64kb-0930.wav",
    "cards/001.wav",
    "cards/002.wav",
    "cards/003.wav",
    "cards/004.wav",
    "cards/005.wav",
    "numbers.raw",
    "tidigits/dhd.2934z.raw",
    "goforward.raw",
    "something.raw",
];

/// Samples per 20 ms frame.
pub fn frame_len(rate: u32) -> usize {
    (rate / 50) as usize
}

/// A recording at 16 kHz (`.raw` files are headerless s16le).
pub fn recording(name: &str) -> Vec<i16> {
    let path = Path::new(DATA).join(name);
    assert!(
        path.exists(),
        "{} is missing: install pocketsphinx-testdata (scripts/install-deps.sh)",
        path.display()
    );
    if name.ends_with(".raw") {
        let bytes = std::fs::read(&path).unwrap();
        bytes
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect()
    } else {
        sb_media::prompt::load_prompt(&path, 16000).unwrap()
    }
}

/// 16 kHz audio as a caller's phone delivers it: band-limited to 300–3400 Hz, resampled to
/// 8 kHz (rubato, through sb_media's prompt loader) and sent through G.711 μ-law.
pub fn phone_line(audio_16k: &[i16]) -> Vec<i16> {
    let mut high_pass = Biquad::butterworth(BiquadKind::HighPass, 300.0, 16000.0);
    let mut low_pass = Biquad::butterworth(BiquadKind::LowPass, 3400.0, 16000.0);
    let band: Vec<i16> = audio_16k
        .iter()
        .map(|&s| to_i16(low_pass.run(high_pass.run(f64::from(s)))))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("line.wav");
    write_wav(&wav, &band, 16000);
    let narrow = sb_media::prompt::load_prompt(&wav, 8000).unwrap();
    let mut payload = Vec::new();
    Encoder::new(Codec::Pcmu).encode(&narrow, &mut payload);
    let mut out = Vec::new();
    Decoder::new(Codec::Pcmu).decode(&payload, &mut out);
    out
}

/// The recording at `rate`: as recorded for 16 kHz, through [`phone_line`] for 8 kHz.
pub fn at_rate(audio_16k: &[i16], rate: u32) -> Vec<i16> {
    match rate {
        16000 => audio_16k.to_vec(),
        8000 => phone_line(audio_16k),
        other => panic!("no phone line at {other} Hz"),
    }
}

/// Writes 16-bit mono PCM as a WAV file.
pub fn write_wav(path: &PathBuf, samples: &[i16], rate: u32) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    for &s in samples {
        writer.write_sample(s).unwrap();
    }
    writer.finalize().unwrap();
}

fn to_i16(v: f64) -> i16 {
    v.round().clamp(-32768.0, 32767.0) as i16
}

enum BiquadKind {
    HighPass,
    LowPass,
}

/// Second-order Butterworth section (RBJ cookbook), enough to shape a telephone band.
struct Biquad {
    b: [f64; 3],
    a: [f64; 2],
    x: [f64; 2],
    y: [f64; 2],
}

impl Biquad {
    fn butterworth(kind: BiquadKind, corner_hz: f64, rate: f64) -> Self {
        let w0 = 2.0 * std::f64::consts::PI * corner_hz / rate;
        let alpha = w0.sin() / (2.0 * std::f64::consts::FRAC_1_SQRT_2);
        let cos = w0.cos();
        let a0 = 1.0 + alpha;
        let b = match kind {
            BiquadKind::LowPass => [(1.0 - cos) / 2.0, 1.0 - cos, (1.0 - cos) / 2.0],
            BiquadKind::HighPass => [(1.0 + cos) / 2.0, -(1.0 + cos), (1.0 + cos) / 2.0],
        };
        Biquad {
            b: b.map(|v| v / a0),
            a: [-2.0 * cos / a0, (1.0 - alpha) / a0],
            x: [0.0; 2],
            y: [0.0; 2],
        }
    }

    fn run(&mut self, x: f64) -> f64 {
        let y = self.b[0] * x + self.b[1] * self.x[0] + self.b[2] * self.x[1]
            - self.a[0] * self.y[0]
            - self.a[1] * self.y[1];
        self.x = [x, self.x[0]];
        self.y = [y, self.y[0]];
        y
    }
}

/// SplitMix64 with Box–Muller on top: deterministic Gaussian noise for the tests.
pub struct Noise(u64);

impl Noise {
    pub fn new(seed: u64) -> Self {
        Noise(seed)
    }

    fn next_unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn gaussian(&mut self) -> f64 {
        let u1 = self.next_unit().max(f64::MIN_POSITIVE);
        let u2 = self.next_unit();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// `len` samples of white Gaussian noise at `level_dbfs` RMS.
    pub fn white(&mut self, len: usize, level_dbfs: f64) -> Vec<i16> {
        let sigma = 32768.0 * 10f64.powf(level_dbfs / 20.0);
        (0..len).map(|_| to_i16(sigma * self.gaussian())).collect()
    }

    /// `audio` with white noise at `level_dbfs` added.
    pub fn added_to(&mut self, audio: &[i16], level_dbfs: f64) -> Vec<i16> {
        let noise = self.white(audio.len(), level_dbfs);
        audio
            .iter()
            .zip(noise)
            .map(|(&s, n)| s.saturating_add(n))
            .collect()
    }
}

/// Per-frame RMS levels in dBFS.
pub fn frame_levels(audio: &[i16], rate: u32) -> Vec<f64> {
    audio
        .chunks_exact(frame_len(rate))
        .map(sb_speech::vad::level_dbfs)
        .collect()
}

/// Reference label of one 20 ms frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reference {
    /// Clearly speech: loud relative to both the recording's noise floor and its peak.
    Speech,
    /// Clearly not speech: more than [`COLLAR_FRAMES`] from any speech frame.
    NonSpeech,
    /// Word edges, soft consonants and short gaps: not scored.
    Unscored,
}

/// Frames either side of reference speech that are not scored (200 ms), as in NIST's
/// collar-based scoring: the exact edge of a word is a matter of opinion.
pub const COLLAR_FRAMES: usize = 10;
/// A speech frame rises this far above the recording's noise floor (its 10th percentile)…
pub const ABOVE_NOISE_DB: f64 = 15.0;
/// …and is no more than this far below the recording's loudest frame.
pub const BELOW_PEAK_DB: f64 = 35.0;

/// Labels the frames of a clean recording (as recorded, or through the phone line) by energy:
/// speech where it is [`ABOVE_NOISE_DB`] over the noise floor and within [`BELOW_PEAK_DB`] of
/// the peak.
pub fn reference_labels(clean: &[i16], rate: u32) -> Vec<Reference> {
    let levels = frame_levels(clean, rate);
    let mut sorted = levels.clone();
    sorted.sort_by(f64::total_cmp);
    let floor = sorted[sorted.len() / 10];
    let peak = sorted[sorted.len() - 1];
    let threshold = (floor + ABOVE_NOISE_DB).max(peak - BELOW_PEAK_DB);
    let speech: Vec<bool> = levels.iter().map(|&l| l >= threshold).collect();
    (0..levels.len())
        .map(|i| {
            let lo = i.saturating_sub(COLLAR_FRAMES);
            let hi = (i + COLLAR_FRAMES + 1).min(levels.len());
            if speech[i] {
                Reference::Speech
            } else if speech[lo..hi].iter().any(|&s| s) {
                Reference::Unscored
            } else {
                Reference::NonSpeech
            }
        })
        .collect()
}

/// Mean power of the reference speech frames of a 16 kHz recording in dBFS (the "active
/// speech level").
pub fn active_level_dbfs(clean_16k: &[i16]) -> f64 {
    let labels = reference_labels(clean_16k, 16000);
    let (energy, count) = clean_16k
        .chunks_exact(frame_len(16000))
        .zip(&labels)
        .filter(|(_, l)| **l == Reference::Speech)
        .fold((0.0, 0usize), |(e, n), (frame, _)| {
            (
                e + frame.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>(),
                n + frame.len(),
            )
        });
    10.0 * (energy / count as f64 / (32768.0 * 32768.0)).log10()
}

/// Speech start and end in ms: first and last reference speech frame.
pub fn speech_span_ms(clean: &[i16], rate: u32) -> (u64, u64) {
    let labels = reference_labels(clean, rate);
    let first = labels.iter().position(|&l| l == Reference::Speech).unwrap();
    let last = labels
        .iter()
        .rposition(|&l| l == Reference::Speech)
        .unwrap();
    (first as u64 * 20, (last as u64 + 1) * 20)
}
