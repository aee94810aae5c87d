//! Packet loss concealment: fills a lost frame with the last good one, fading out so a burst of
//! losses turns into silence instead of a buzzing loop.

/// How long repetition lasts before it has faded to silence.
const FADE_FRAMES: usize = 3;

/// Turns [`crate::Playout::Lost`] into PCM for one decoded stream.
#[derive(Debug)]
pub struct Concealer {
    last: Vec<i16>,
    frame_len: usize,
    concealed: usize,
}

impl Concealer {
    /// A concealer for frames of `samples_per_frame` samples (used until a real frame is seen).
    pub fn new(samples_per_frame: usize) -> Self {
        Concealer {
            last: Vec::new(),
            frame_len: samples_per_frame,
            concealed: 0,
        }
    }

    /// Remembers a frame that was decoded from a real packet; the next loss repeats it.
    pub fn remember(&mut self, decoded: &[i16]) {
        self.last.clear();
        self.last.extend_from_slice(decoded);
        self.concealed = 0;
    }

    /// Appends one frame of concealment: the last good frame, fading linearly from full level to
    /// silence over 60 ms of consecutive losses; silence after that or if no frame was seen.
    pub fn conceal(&mut self, out: &mut Vec<i16>) {
        let len = if self.last.is_empty() {
            self.frame_len
        } else {
            self.last.len()
        };
        let fade_len = (FADE_FRAMES * len) as f32;
        let start = self.concealed * len;
        out.extend((0..len).map(|i| {
            let gain = 1.0 - (start + i) as f32 / fade_len;
            match self.last.get(i) {
                Some(&s) if gain > 0.0 => (f32::from(s) * gain).round() as i16,
                _ => 0,
            }
        }));
        self.concealed = self.concealed.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn losses_repeat_the_last_frame_fading_to_silence_within_60_ms() {
        let mut concealer = Concealer::new(160);
        concealer.remember(&[1000; 160]);
        let mut out = Vec::new();
        for _ in 0..5 {
            concealer.conceal(&mut out);
        }
        assert_eq!(out.len(), 800);
        assert_eq!(out[0], 1000, "starts at the last frame's level");
        assert!(
            out.windows(2).take(480).all(|w| w[1] <= w[0]),
            "fades monotonically"
        );
        assert!(
            (640..680).contains(&out[160]),
            "a third down after one frame: {}",
            out[160]
        );
        assert!(out[479] <= 10);
        assert!(out[480..].iter().all(|&s| s == 0), "silence after 60 ms");
    }

    #[test]
    fn a_good_frame_restarts_the_fade_and_no_history_means_silence() {
        let mut concealer = Concealer::new(320);
        let mut out = Vec::new();
        concealer.conceal(&mut out);
        assert_eq!(out, vec![0; 320]);
        let wave: Vec<i16> = (0..320)
            .map(|i| if i % 2 == 0 { 5000 } else { -5000 })
            .collect();
        concealer.remember(&wave);
        for _ in 0..4 {
            concealer.conceal(&mut Vec::new());
        }
        concealer.remember(&wave);
        out.clear();
        concealer.conceal(&mut out);
        assert_eq!(out[0], 5000, "full level again after a real frame");
        assert!(out[1] <= -4990);
    }
}
