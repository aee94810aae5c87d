//! Voice activity detection on 20 ms frames: webrtc-vad (libfvad) decides; an energy floor keeps
//! line hiss and comfort noise out, a background check keeps loud steady noise out, and a
//! pure-tone check keeps key tones and test tones out. Measurements are in docs/VAD.md.

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};
use std::collections::VecDeque;
use std::sync::Arc;
use webrtc_vad::{SampleRate, Vad, VadMode};

/// Frames quieter than this are never speech (dBFS: RMS relative to a full-scale square wave,
/// so a full-scale sine is −3 dBFS). Telephone speech sits around −20 to −35 dBFS; μ-law idle
/// noise, line hiss and comfort noise sit below −55 dBFS.
pub const SPEECH_FLOOR_DBFS: f64 = -50.0;

/// The background level is the quietest frame of this many recent frames (3 s): long enough
/// to reach a pause in fluent speech, short enough to follow a caller into a noisier room.
const BACKGROUND_FRAMES: usize = 150;

/// Speech rises at least this far above the background. webrtc-vad calls steady white noise
/// of −25 dBFS and louder speech in every mode (docs/VAD.md); such noise stays within a dB or
/// two of its own minimum, while speech in it is louder than the noise alone.
const ABOVE_BACKGROUND_DB: f64 = 3.0;

/// How readily webrtc-vad calls a frame speech (its "mode"): higher modes miss more speech
/// and let less noise through.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Aggressiveness {
    /// Mode 0: lets the most speech through.
    Quality,
    /// Mode 1.
    LowBitrate,
    /// Mode 2: our default (docs/VAD.md).
    #[default]
    Aggressive,
    /// Mode 3: rejects the most noise.
    VeryAggressive,
}

impl Aggressiveness {
    fn mode(self) -> VadMode {
        match self {
            Aggressiveness::Quality => VadMode::Quality,
            Aggressiveness::LowBitrate => VadMode::LowBitrate,
            Aggressiveness::Aggressive => VadMode::Aggressive,
            Aggressiveness::VeryAggressive => VadMode::VeryAggressive,
        }
    }
}

/// Why a voice activity detector cannot be built.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum VadError {
    /// Only the telephone (8 kHz) and wideband (16 kHz) rates are supported.
    #[error("voice activity detection works at 8000 or 16000 Hz, not {0} Hz")]
    UnsupportedRate(u32),
}

/// What a frame was judged to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameKind {
    /// Speech.
    Speech,
    /// webrtc-vad found no voice.
    NoVoice,
    /// Quieter than [`SPEECH_FLOOR_DBFS`].
    BelowFloor,
    /// No louder than the line's steady background noise.
    Background,
    /// One or two pure tones (DTMF, dial, test or fax tone) that webrtc-vad took for voice.
    Tone,
}

/// The verdict on one frame and its level.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FrameActivity {
    /// What the frame is.
    pub kind: FrameKind,
    /// RMS level of the frame in dBFS (−inf for digital silence).
    pub level_dbfs: f64,
}

impl FrameActivity {
    /// Whether the frame is speech.
    pub fn is_speech(&self) -> bool {
        self.kind == FrameKind::Speech
    }
}

/// Speech / non-speech decisions for a stream of 20 ms frames at 8 or 16 kHz.
pub struct VoiceActivityDetector {
    vad: OwnedVad,
    sample_rate: u32,
    frame_len: usize,
    /// Levels of the last [`BACKGROUND_FRAMES`] frames, newest last.
    recent_levels: VecDeque<f64>,
    tones: PureToneDetector,
}

impl VoiceActivityDetector {
    /// A detector for `sample_rate` (8000 or 16000 Hz).
    pub fn new(sample_rate: u32, aggressiveness: Aggressiveness) -> Result<Self, VadError> {
        let rate = match sample_rate {
            8000 => SampleRate::Rate8kHz,
            16000 => SampleRate::Rate16kHz,
            other => return Err(VadError::UnsupportedRate(other)),
        };
        let frame_len = (sample_rate / 50) as usize;
        Ok(VoiceActivityDetector {
            vad: OwnedVad(Vad::new_with_rate_and_mode(rate, aggressiveness.mode())),
            sample_rate,
            frame_len,
            recent_levels: VecDeque::with_capacity(BACKGROUND_FRAMES),
            tones: PureToneDetector::new(sample_rate, frame_len),
        })
    }

    /// Samples per second.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Samples in one 20 ms frame (160 at 8 kHz, 320 at 16 kHz).
    pub fn frame_len(&self) -> usize {
        self.frame_len
    }

    /// Judges the next frame of the stream.
    ///
    /// # Panics
    /// If `frame` is not exactly [`Self::frame_len`] samples: the media path always hands over
    /// 20 ms frames, anything else is a bug in the caller.
    pub fn classify(&mut self, frame: &[i16]) -> FrameActivity {
        assert_eq!(
            frame.len(),
            self.frame_len,
            "voice activity detection takes 20 ms frames ({} samples at {} Hz)",
            self.frame_len,
            self.sample_rate
        );
        let level_dbfs = level_dbfs(frame);
        // Every frame goes through webrtc-vad, floor or not, so its noise model keeps adapting
        // and its hangover sees an unbroken stream.
        let voice = self
            .vad
            .0
            .is_voice_segment(frame)
            .expect("frame length checked above");
        if self.recent_levels.len() == BACKGROUND_FRAMES {
            self.recent_levels.pop_front();
        }
        self.recent_levels.push_back(level_dbfs);
        let background = self
            .recent_levels
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min);
        let audible = level_dbfs >= SPEECH_FLOOR_DBFS;
        let above_background = level_dbfs >= background + ABOVE_BACKGROUND_DB;
        let tone = self.tones.push(frame, audible && voice && above_background);
        let kind = if !audible {
            FrameKind::BelowFloor
        } else if !voice {
            FrameKind::NoVoice
        } else if !above_background {
            FrameKind::Background
        } else if tone {
            FrameKind::Tone
        } else {
            FrameKind::Speech
        };
        FrameActivity { kind, level_dbfs }
    }
}

/// The RMS level of `samples` in dBFS (full-scale square wave = 0 dBFS).
pub fn level_dbfs(samples: &[i16]) -> f64 {
    let energy: f64 = samples.iter().map(|&s| f64::from(s).powi(2)).sum();
    let power = energy / samples.len().max(1) as f64;
    10.0 * (power / (32768.0 * 32768.0)).log10()
}

/// libfvad's state behind webrtc-vad's raw pointer.
struct OwnedVad(Vad);

// SAFETY: `Vad` holds the only pointer to a heap block (`struct Fvad`) that libfvad allocates
// in `fvad_new` and frees in `fvad_free`. libfvad keeps no global or thread-local mutable state
// (fvad.c and vad/*.c only have `static const` tables), `Vad` is not `Clone` and never hands the
// pointer out, so the block is owned exclusively and may move to another thread with its owner.
// `Sync` is not claimed: processing mutates the block.
unsafe impl Send for OwnedVad {}

/// Below this frequency the tone check ignores the spectrum: mains hum, DC and the nasal
/// murmurs of speech (nearly pure lines around 250 Hz) live there, signalling tones do not.
const TONE_BAND_LOW_HZ: f32 = 250.0;

/// Share of the in-band energy that two spectral lines must hold for a frame to be a tone.
/// Measured (docs/VAD.md): DTMF, 1 kHz, dial, ringback and busy tones ≥ 0.9996 even through
/// μ-law; speech frames of the test recordings ≤ 0.994.
const TONE_LINE_SHARE: f32 = 0.995;

/// Finds frames whose energy sits in one or two pure spectral lines. webrtc-vad calls DTMF and
/// steady test tones speech; speech never concentrates its energy that narrowly, even vowels
/// spread it over several harmonics and formants. Looks at the last two frames (40 ms) so the
/// lines are narrow enough to tell apart from a strong harmonic.
struct PureToneDetector {
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    previous: Vec<i16>,
    input: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
    power: Vec<f32>,
    /// First bin at or above [`TONE_BAND_LOW_HZ`].
    low_bin: usize,
    /// Half-width of a Hann window's main lobe in bins: the spread of one pure line.
    line_half_width: usize,
}

impl PureToneDetector {
    fn new(sample_rate: u32, frame_len: usize) -> Self {
        let window_len = 2 * frame_len;
        let fft_len = window_len.next_power_of_two();
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(fft_len);
        let window = (0..window_len)
            .map(|n| {
                let phase = 2.0 * std::f32::consts::PI * (n as f32 + 0.5) / window_len as f32;
                0.5 - 0.5 * phase.cos()
            })
            .collect();
        let bin_hz = sample_rate as f32 / fft_len as f32;
        PureToneDetector {
            window,
            previous: vec![0; frame_len],
            input: fft.make_input_vec(),
            spectrum: fft.make_output_vec(),
            scratch: fft.make_scratch_vec(),
            power: vec![0.0; fft.complex_len()],
            low_bin: (TONE_BAND_LOW_HZ / bin_hz).ceil() as usize,
            line_half_width: (2 * fft_len).div_ceil(window_len),
            fft,
        }
    }

    /// Takes the next frame; says whether it is a tone, judged only when `candidate` (the FFT
    /// is not worth running on frames that cannot be speech anyway).
    fn push(&mut self, frame: &[i16], candidate: bool) -> bool {
        let tone = candidate && self.is_tone(frame);
        self.previous.copy_from_slice(frame);
        tone
    }

    fn is_tone(&mut self, frame: &[i16]) -> bool {
        let samples = self.previous.iter().chain(frame);
        for ((slot, &s), w) in self.input.iter_mut().zip(samples).zip(&self.window) {
            *slot = f32::from(s) * w;
        }
        self.input[self.window.len()..].fill(0.0);
        self.fft
            .process_with_scratch(&mut self.input, &mut self.spectrum, &mut self.scratch)
            .expect("buffers made by the plan");
        for (p, c) in self.power.iter_mut().zip(&self.spectrum) {
            *p = c.norm_sqr();
        }
        self.power[..self.low_bin].fill(0.0);
        let total: f32 = self.power.iter().sum();
        if total <= 0.0 {
            return false;
        }
        let mut in_lines = 0.0;
        for _ in 0..2 {
            let peak = (0..self.power.len())
                .max_by(|&a, &b| self.power[a].total_cmp(&self.power[b]))
                .unwrap_or(0);
            let lo = peak.saturating_sub(self.line_half_width);
            let hi = (peak + self.line_half_width + 1).min(self.power.len());
            in_lines += self.power[lo..hi].iter().sum::<f32>();
            self.power[lo..hi].fill(0.0);
        }
        in_lines >= TONE_LINE_SHARE * total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn assert_send<T: Send>() {}

    #[test]
    fn detector_can_move_to_another_task() {
        assert_send::<VoiceActivityDetector>();
    }

    #[test]
    fn only_telephone_and_wideband_rates() {
        assert!(VoiceActivityDetector::new(8000, Aggressiveness::Quality).is_ok());
        assert!(VoiceActivityDetector::new(16000, Aggressiveness::VeryAggressive).is_ok());
        assert_eq!(
            VoiceActivityDetector::new(44100, Aggressiveness::Aggressive).err(),
            Some(VadError::UnsupportedRate(44100))
        );
    }

    #[test]
    fn frame_length_follows_rate() {
        let vad = VoiceActivityDetector::new(8000, Aggressiveness::default()).unwrap();
        assert_eq!(vad.frame_len(), 160);
        let vad = VoiceActivityDetector::new(16000, Aggressiveness::default()).unwrap();
        assert_eq!(vad.frame_len(), 320);
    }

    #[test]
    #[should_panic(expected = "20 ms frames")]
    fn wrong_frame_length_is_a_caller_bug() {
        let mut vad = VoiceActivityDetector::new(8000, Aggressiveness::default()).unwrap();
        vad.classify(&[0; 240]);
    }

    #[test]
    fn levels_in_dbfs() {
        assert_eq!(level_dbfs(&[i16::MIN; 160]), 0.0);
        let sine: Vec<i16> = (0..160)
            .map(|n| (32767.0 * (2.0 * std::f64::consts::PI * n as f64 / 16.0).sin()) as i16)
            .collect();
        assert!((level_dbfs(&sine) + 3.01).abs() < 0.01);
        assert_eq!(level_dbfs(&[0; 160]), f64::NEG_INFINITY);
    }

    #[test]
    fn digital_silence_is_below_the_floor() {
        let mut vad = VoiceActivityDetector::new(8000, Aggressiveness::default()).unwrap();
        for _ in 0..10 {
            assert_eq!(vad.classify(&[0; 160]).kind, FrameKind::BelowFloor);
        }
    }

    #[test]
    fn key_tones_are_tones_not_speech() {
        for rate in [8000, 16000] {
            for digit in ['1', '5', '9', '0', '*', '#', 'D'] {
                let mut vad = VoiceActivityDetector::new(rate, Aggressiveness::Quality).unwrap();
                let silence = vec![0; vad.frame_len()];
                for _ in 0..25 {
                    vad.classify(&silence);
                }
                let tone = sb_media::dtmf::dtmf_tone(
                    digit,
                    rate,
                    Duration::from_millis(200),
                    -8.0,
                    2.0,
                    0.0,
                );
                let kinds: Vec<FrameKind> = tone
                    .chunks_exact(vad.frame_len())
                    .map(|frame| vad.classify(frame).kind)
                    .collect();
                // The first frame shares its 40 ms window with the silence before the tone.
                assert!(
                    kinds[1..].iter().all(|&k| k == FrameKind::Tone),
                    "{digit} at {rate} Hz: {kinds:?}"
                );
            }
        }
    }

    #[test]
    fn steady_loud_noise_is_background() {
        let mut vad = VoiceActivityDetector::new(8000, Aggressiveness::default()).unwrap();
        // A 500 Hz square wave at about −20 dBFS: a buzz webrtc-vad may take for voice.
        let buzz: Vec<i16> = (0..160)
            .map(|n| if n % 16 < 8 { 3000 } else { -3000 })
            .collect();
        let kinds: Vec<FrameKind> = (0..100).map(|_| vad.classify(&buzz).kind).collect();
        assert!(kinds.iter().all(|&k| k != FrameKind::Speech), "{kinds:?}");
    }
}
