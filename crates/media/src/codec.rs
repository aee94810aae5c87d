//! Audio codecs negotiated on SIP trunks: G.711 μ-law and A-law (our own, table driven) and
//! G.722 at 64 kbit/s (ezk-g722's translation of libg722).

use ezk_g722::libg722::{Bitrate, decoder::Decoder as G722Dec, encoder::Encoder as G722Enc};

/// Length of one packetisation interval, the frame size every part of the media path works in.
pub const FRAME_MS: u32 = 20;

/// A payload format the gateway can send and receive.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Codec {
    /// G.711 μ-law (North America, Japan).
    Pcmu,
    /// G.711 A-law (rest of the world).
    Pcma,
    /// G.722 wideband (16 kHz audio, 64 kbit/s).
    G722,
}

impl Codec {
    /// Static RTP payload type from RFC 3551.
    pub fn payload_type(self) -> u8 {
        match self {
            Codec::Pcmu => 0,
            Codec::Pcma => 8,
            Codec::G722 => 9,
        }
    }

    /// Encoding name as written in SDP `a=rtpmap`.
    pub fn name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
            Codec::G722 => "G722",
        }
    }

    /// RTP timestamp clock: 8000 for all three, G.722 included (RFC 3551 keeps its historic 8 kHz
    /// clock although the audio is sampled at 16 kHz).
    pub fn rtp_clock_rate(self) -> u32 {
        8000
    }

    /// Rate of the PCM this codec carries.
    pub fn sample_rate(self) -> u32 {
        match self {
            Codec::Pcmu | Codec::Pcma => 8000,
            Codec::G722 => 16000,
        }
    }

    /// PCM samples in one 20 ms frame at [`Codec::sample_rate`].
    pub fn samples_per_frame(self) -> usize {
        (self.sample_rate() * FRAME_MS / 1000) as usize
    }

    /// RTP timestamp units covered by one 20 ms frame.
    pub fn timestamp_step(self) -> u32 {
        self.rtp_clock_rate() * FRAME_MS / 1000
    }

    /// The codec for a static payload type, `None` for dynamic or unknown ones.
    pub fn from_payload_type(pt: u8) -> Option<Codec> {
        match pt {
            0 => Some(Codec::Pcmu),
            8 => Some(Codec::Pcma),
            9 => Some(Codec::G722),
            _ => None,
        }
    }

    /// The codec for an SDP encoding name, ignoring case as SDP requires.
    pub fn from_name(name: &str) -> Option<Codec> {
        [Codec::Pcmu, Codec::Pcma, Codec::G722]
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(name))
    }
}

/// Turns PCM at the codec's sample rate into RTP payload bytes.
pub struct Encoder {
    state: EncoderState,
}

enum EncoderState {
    Pcmu,
    Pcma,
    G722 {
        encoder: Box<G722Enc>,
        /// G.722 codes sample pairs: an odd sample waits for its partner in the next call.
        carry: Option<i16>,
    },
}

impl Encoder {
    /// A fresh encoder (G.722 keeps adaptive state, so use one per stream).
    pub fn new(codec: Codec) -> Self {
        let state = match codec {
            Codec::Pcmu => EncoderState::Pcmu,
            Codec::Pcma => EncoderState::Pcma,
            Codec::G722 => EncoderState::G722 {
                encoder: Box::new(G722Enc::new(Bitrate::Mode1_64000, false, false)),
                carry: None,
            },
        };
        Encoder { state }
    }

    /// Appends the encoding of `pcm` to `out`.
    pub fn encode(&mut self, pcm: &[i16], out: &mut Vec<u8>) {
        match &mut self.state {
            EncoderState::Pcmu => out.extend(pcm.iter().map(|&s| linear_to_ulaw(s))),
            EncoderState::Pcma => out.extend(pcm.iter().map(|&s| linear_to_alaw(s))),
            EncoderState::G722 { encoder, carry } => {
                let mut input = Vec::with_capacity(pcm.len() + 1);
                input.extend(carry.take());
                input.extend_from_slice(pcm);
                if input.len() % 2 == 1 {
                    *carry = input.pop();
                }
                out.extend_from_slice(&encoder.encode(&input));
            }
        }
    }
}

/// Turns RTP payload bytes back into PCM at the codec's sample rate.
pub struct Decoder {
    state: DecoderState,
}

enum DecoderState {
    Pcmu,
    Pcma,
    G722(Box<G722Dec>),
}

impl Decoder {
    /// A fresh decoder (G.722 keeps adaptive state, so use one per stream).
    pub fn new(codec: Codec) -> Self {
        let state = match codec {
            Codec::Pcmu => DecoderState::Pcmu,
            Codec::Pcma => DecoderState::Pcma,
            Codec::G722 => {
                DecoderState::G722(Box::new(G722Dec::new(Bitrate::Mode1_64000, false, false)))
            }
        };
        Decoder { state }
    }

    /// Appends the PCM decoded from `payload` to `out`; any byte string is valid input.
    pub fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) {
        match &mut self.state {
            DecoderState::Pcmu => out.extend(payload.iter().map(|&b| ULAW_TO_LINEAR[b as usize])),
            DecoderState::Pcma => out.extend(payload.iter().map(|&b| ALAW_TO_LINEAR[b as usize])),
            DecoderState::G722(decoder) => out.extend_from_slice(&decoder.decode(payload)),
        }
    }
}

const ULAW_BIAS: i32 = 0x84;
const ULAW_CLIP: i32 = 32635;

/// G.711 μ-law compression (the classic biased-segment algorithm on 16-bit input).
pub fn linear_to_ulaw(sample: i16) -> u8 {
    let mut magnitude = i32::from(sample);
    let sign = if magnitude < 0 {
        magnitude = -magnitude;
        0x80
    } else {
        0
    };
    let biased = magnitude.min(ULAW_CLIP) + ULAW_BIAS;
    // The bias puts the top bit at position 7..=14: that position is the segment.
    let segment = (31 - biased.leading_zeros() as i32) - 7;
    let mantissa = (biased >> (segment + 3)) & 0x0F;
    !(sign | (segment << 4) | mantissa) as u8
}

/// G.711 μ-law expansion.
pub fn ulaw_to_linear(code: u8) -> i16 {
    ULAW_TO_LINEAR[code as usize]
}

/// G.711 A-law compression (ITU-T G.711 segments, on 16-bit input).
pub fn linear_to_alaw(sample: i16) -> u8 {
    let (mask, magnitude) = if sample >= 0 {
        (0xD5, i32::from(sample))
    } else {
        // One's complement keeps the negative range symmetric with the positive one.
        (0x55, -i32::from(sample) - 1)
    };
    let segment = (31 - (magnitude | 0xFF).leading_zeros() as i32) - 7;
    let shift = if segment == 0 { 4 } else { segment + 3 };
    let code = (segment << 4) | ((magnitude >> shift) & 0x0F);
    (code ^ mask) as u8
}

/// G.711 A-law expansion.
pub fn alaw_to_linear(code: u8) -> i16 {
    ALAW_TO_LINEAR[code as usize]
}

const fn ulaw_expand(code: u8) -> i16 {
    let code = !code;
    let segment = ((code >> 4) & 0x07) as i32;
    let mantissa = (code & 0x0F) as i32;
    let magnitude = (((mantissa << 3) + ULAW_BIAS) << segment) - ULAW_BIAS;
    if code & 0x80 != 0 {
        -magnitude as i16
    } else {
        magnitude as i16
    }
}

const fn alaw_expand(code: u8) -> i16 {
    let code = code ^ 0x55;
    let segment = ((code & 0x70) >> 4) as i32;
    let mut magnitude = ((code & 0x0F) as i32) << 4;
    magnitude = if segment == 0 {
        magnitude + 8
    } else {
        (magnitude + 0x108) << (segment - 1)
    };
    if code & 0x80 != 0 {
        magnitude as i16
    } else {
        -magnitude as i16
    }
}

/// Decoding is per byte on the receive path: a table lookup is the cheapest form.
static ULAW_TO_LINEAR: [i16; 256] = {
    let mut table = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = ulaw_expand(i as u8);
        i += 1;
    }
    table
};
static ALAW_TO_LINEAR: [i16; 256] = {
    let mut table = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = alaw_expand(i as u8);
        i += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::tone_share;
    use std::f64::consts::PI;

    fn sine(freq: f64, rate: u32, amplitude: f64, samples: usize) -> Vec<i16> {
        (0..samples)
            .map(|n| (amplitude * (2.0 * PI * freq * n as f64 / f64::from(rate)).sin()) as i16)
            .collect()
    }

    #[test]
    fn codec_parameters_follow_rfc_3551() {
        assert_eq!(Codec::Pcmu.payload_type(), 0);
        assert_eq!(Codec::Pcma.payload_type(), 8);
        assert_eq!(Codec::G722.payload_type(), 9);
        assert_eq!(Codec::G722.rtp_clock_rate(), 8000);
        assert_eq!(Codec::G722.sample_rate(), 16000);
        assert_eq!(Codec::G722.samples_per_frame(), 320);
        assert_eq!(Codec::Pcma.samples_per_frame(), 160);
        assert_eq!(Codec::G722.timestamp_step(), 160);
        for codec in [Codec::Pcmu, Codec::Pcma, Codec::G722] {
            assert_eq!(Codec::from_payload_type(codec.payload_type()), Some(codec));
            assert_eq!(Codec::from_name(&codec.name().to_lowercase()), Some(codec));
        }
        assert_eq!(Codec::from_payload_type(101), None);
        assert_eq!(Codec::from_name("opus"), None);
        assert_eq!(Codec::from_name("g722"), Some(Codec::G722));
    }

    #[test]
    fn g711_known_vectors() {
        assert_eq!(linear_to_ulaw(0), 0xFF);
        assert_eq!(ulaw_to_linear(0xFF), 0);
        assert_eq!(ulaw_to_linear(0x7F), 0);
        assert_eq!(linear_to_ulaw(i16::MAX), 0x80);
        assert_eq!(linear_to_ulaw(i16::MIN), 0x00);
        assert_eq!(ulaw_to_linear(0x80), 32124);
        assert_eq!(ulaw_to_linear(0x00), -32124);
        assert_eq!(linear_to_alaw(0), 0xD5);
        assert_eq!(alaw_to_linear(0xD5), 8);
        assert_eq!(alaw_to_linear(0x55), -8);
        assert_eq!(linear_to_alaw(i16::MAX), 0xAA);
        assert_eq!(linear_to_alaw(i16::MIN), 0x2A);
        assert_eq!(alaw_to_linear(0xAA), 32256);
        assert_eq!(alaw_to_linear(0x2A), -32256);
    }

    #[test]
    fn g711_every_code_survives_decode_then_encode() {
        for code in 0..=255u8 {
            assert_eq!(
                linear_to_alaw(alaw_to_linear(code)),
                code,
                "A-law {code:#04x}"
            );
            // μ-law has two zeros (0x7F and 0xFF); both decode to 0 which encodes as 0xFF.
            if code != 0x7F {
                assert_eq!(
                    linear_to_ulaw(ulaw_to_linear(code)),
                    code,
                    "μ-law {code:#04x}"
                );
            }
        }
    }

    #[test]
    fn g711_round_trip_error_is_within_half_a_segment_step() {
        for sample in (i16::MIN..=i16::MAX).step_by(7) {
            let magnitude = i32::from(sample).abs();
            // Step size doubles per segment; 1/16 of the magnitude bounds half a step, plus slack
            // for the small-signal segment.
            let bound = magnitude / 16 + 16;
            let u = i32::from(ulaw_to_linear(linear_to_ulaw(sample)));
            let a = i32::from(alaw_to_linear(linear_to_alaw(sample)));
            let clip = 32635.min(magnitude);
            assert!(
                (u - i32::from(sample).signum() * clip).abs() <= bound,
                "μ {sample} → {u}"
            );
            assert!((a - i32::from(sample)).abs() <= bound, "A {sample} → {a}");
        }
    }

    #[test]
    fn g711_encoder_and_decoder_append() {
        for codec in [Codec::Pcmu, Codec::Pcma] {
            let pcm = sine(1000.0, 8000, 8000.0, 160);
            let mut payload = vec![0xAB];
            Encoder::new(codec).encode(&pcm, &mut payload);
            assert_eq!(payload.len(), 161);
            let mut decoded = vec![7];
            Decoder::new(codec).decode(&payload[1..], &mut decoded);
            assert_eq!(decoded.len(), 161);
            assert_eq!(decoded[0], 7);
            assert!(tone_share(&decoded[1..], 1000.0, 8000) > 0.99);
        }
    }

    #[test]
    fn g722_round_trip_keeps_the_tone() {
        let pcm = sine(1000.0, 16000, 10000.0, 16000 / 5);
        let mut encoder = Encoder::new(Codec::G722);
        let mut decoder = Decoder::new(Codec::G722);
        let mut decoded = Vec::new();
        for frame in pcm.chunks(320) {
            let mut payload = Vec::new();
            encoder.encode(frame, &mut payload);
            assert_eq!(payload.len(), 160, "64 kbit/s is one byte per two samples");
            decoder.decode(&payload, &mut decoded);
        }
        assert_eq!(decoded.len(), pcm.len());
        // Skip the codec's start-up while its adaptive quantisers settle.
        let settled = &decoded[1600..];
        assert!(tone_share(settled, 1000.0, 16000) > 0.95);
        let rms = (settled.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>()
            / settled.len() as f64)
            .sqrt();
        let expected = 10000.0 / 2f64.sqrt();
        assert!((rms / expected - 1.0).abs() < 0.1, "level kept: rms {rms}");
    }

    #[test]
    fn g722_carries_odd_samples_to_the_next_call() {
        let pcm = sine(500.0, 16000, 8000.0, 321);
        let mut encoder = Encoder::new(Codec::G722);
        let mut payload = Vec::new();
        encoder.encode(&pcm[..161], &mut payload);
        assert_eq!(payload.len(), 80);
        encoder.encode(&pcm[161..], &mut payload);
        assert_eq!(payload.len(), 160, "the carried sample completed a pair");
    }

    #[test]
    fn g722_decoder_accepts_any_bytes() {
        let mut decoder = Decoder::new(Codec::G722);
        let garbage: Vec<u8> = (0..=255).collect();
        let mut out = Vec::new();
        decoder.decode(&garbage, &mut out);
        assert_eq!(out.len(), 512);
    }
}
