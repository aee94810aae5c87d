//! One Whisper decoder: a clip in, text with word timings and a confidence out. Each ASR worker
//! thread owns one (a `WhisperState` over the shared model).

use crate::asr::{AsrError, Recognition, WordTiming};
use crate::speech_energy::SpeechEnergy;
use std::time::Instant;
use whisper_rs::{FullParams, SamplingStrategy, WhisperContext, WhisperState};

/// Whisper's input rate.
pub(crate) const WHISPER_RATE: u32 = 16_000;
/// Clips are padded with silence to this length. With a shortened encoder window, one-word
/// clips padded to 1–3 s made tiny.en loop ("No? No? No? …") or mishear; 5 s is reliable.
const MIN_SAMPLES: usize = 5 * WHISPER_RATE as usize;
/// Silence put before a clip that starts right on speech (the energy span's margin).
const LEAD_IN_SAMPLES: usize = WHISPER_RATE as usize * 3 / 10;
/// Longest clip a shortened encoder window is used for; Whisper's window is 30 s.
const MAX_SHORT_CTX_SAMPLES: usize = 28 * WHISPER_RATE as usize;

/// What Whisper says for audio without words; dropped when the audio energy agrees there was
/// little speech (lowercase, without punctuation).
const HALLUCINATIONS: &[&str] = &[
    "you",
    "thank you",
    "thanks",
    "thank you very much",
    "thanks for watching",
    "thank you for watching",
    "thank you so much for watching",
    "please subscribe",
    "bye",
    "the end",
    "so",
    "uh",
    "um",
    "hmm",
];
/// Below this much voiced time a known hallucination is taken for one.
const HALLUCINATION_VOICED_MS: u64 = 400;

/// A Whisper decoder with its own state.
pub(crate) struct Recognizer {
    state: WhisperState,
    /// First special token: every id from here up is a control or timestamp token.
    first_special: i32,
    short_audio_ctx: bool,
}

impl Recognizer {
    /// A decoder over the shared model.
    pub fn new(context: &WhisperContext, short_audio_ctx: bool) -> Result<Self, AsrError> {
        let state = context
            .create_state()
            .map_err(|e| AsrError::Model(format!("cannot create a Whisper state: {e}")))?;
        Ok(Self {
            state,
            first_special: context.token_eot(),
            short_audio_ctx,
        })
    }

    /// Transcribes 16 kHz samples in [-1, 1]; `prompt` biases the vocabulary (menu options).
    pub fn recognize(
        &mut self,
        samples: &[f32],
        prompt: Option<&str>,
    ) -> Result<Recognition, AsrError> {
        let started = Instant::now();
        let audio_ms = samples.len() as u64 * 1000 / u64::from(WHISPER_RATE);
        let energy = SpeechEnergy::measure(samples);
        if !energy.has_speech() {
            return Ok(Recognition::empty(audio_ms, 0));
        }
        let (start, end) = energy.span;
        // A clip that opens right on speech comes back empty from Whisper ("four five one
        // two" cut at its onset: nothing; with 300 ms of silence first: "4 5 1 2").
        let lead_in = if start == 0 { LEAD_IN_SAMPLES } else { 0 };
        let mut clip = vec![0.0; lead_in];
        clip.extend_from_slice(&samples[start..end]);
        if clip.len() < MIN_SAMPLES {
            clip.resize(MIN_SAMPLES, 0.0);
        }

        let mut params = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
        params.set_n_threads(1);
        params.set_language(Some("en"));
        params.set_no_context(true);
        params.set_token_timestamps(true);
        params.set_suppress_blank(true);
        params.set_suppress_nst(true);
        params.set_max_tokens(max_tokens(end - start));
        params.set_print_progress(false);
        params.set_print_realtime(false);
        params.set_print_special(false);
        params.set_print_timestamps(false);
        if let Some(prompt) = prompt.filter(|p| !p.trim().is_empty()) {
            params.set_initial_prompt(prompt);
        }
        if self.short_audio_ctx && clip.len() <= MAX_SHORT_CTX_SAMPLES {
            params.set_audio_ctx(short_audio_ctx(clip.len()));
        }
        self.state
            .full(params, &clip)
            .map_err(|e| AsrError::Model(format!("Whisper failed: {e}")))?;

        let to_ms = |samples: usize| samples as i64 * 1000 / i64::from(WHISPER_RATE);
        let mut words = self.words(to_ms(start) - to_ms(lead_in), to_ms(end) as u64);
        drop_padding_loop(&mut words);
        collapse_repeats(&mut words);
        let decode_ms = started.elapsed().as_millis() as u64;
        let recognition = recognition(words, audio_ms, decode_ms);
        if energy.voiced_ms < HALLUCINATION_VOICED_MS
            && HALLUCINATIONS.contains(&normalize(&recognition.text).as_str())
        {
            return Ok(Recognition::empty(audio_ms, decode_ms));
        }
        Ok(recognition)
    }

    /// Reads the decoded tokens as words, their times shifted by `offset_ms` (negative when
    /// silence was put before the audio), kept in order
    /// and before `clip_end_ms` (where the real audio given to Whisper ends and padding begins).
    fn words(&self, offset_ms: i64, clip_end_ms: u64) -> Vec<DecodedWord> {
        let mut words: Vec<DecodedWord> = Vec::new();
        for segment in self.state.as_iter() {
            for index in 0..segment.n_tokens() {
                let Some(token) = segment.get_token(index) else {
                    continue;
                };
                if token.token_id() >= self.first_special {
                    continue;
                }
                let Ok(piece) = token.to_str_lossy() else {
                    continue;
                };
                let data = token.token_data();
                // Whisper's token times are in centiseconds from the start of what it was given.
                let at = |t: i64| (offset_ms + t.max(0) * 10).max(0) as u64;
                let start_ms = at(data.t0).min(clip_end_ms);
                let end_ms = at(data.t1).min(clip_end_ms);
                let starts_word = piece.starts_with(' ') && piece.contains(char::is_alphanumeric);
                match words.last_mut() {
                    Some(word) if !starts_word => word.extend(&piece, end_ms, data.p),
                    // Punctuation before the first word carries nothing.
                    None if !piece.contains(char::is_alphanumeric) => {}
                    previous => {
                        // A word Whisper placed in the padding is clamped to the clip's end:
                        // let it start where the previous word ended instead of lasting 0 ms.
                        let start_ms = match previous {
                            Some(w) if start_ms >= end_ms => w.end_ms,
                            Some(w) => start_ms.max(w.end_ms),
                            None => start_ms,
                        };
                        words.push(DecodedWord {
                            text: piece.to_string(),
                            start_ms,
                            end_ms: end_ms.max(start_ms),
                            probability_sum: data.p,
                            tokens: 1,
                            in_padding: at(data.t0) >= clip_end_ms,
                        });
                    }
                }
            }
        }
        words
    }
}

/// A word as decoded: its text with spacing and punctuation, times and token probabilities.
#[derive(Debug, Clone)]
struct DecodedWord {
    text: String,
    start_ms: u64,
    end_ms: u64,
    probability_sum: f32,
    tokens: u32,
    /// Whisper placed its start at or after the end of the real audio, in the padding.
    in_padding: bool,
}

impl DecodedWord {
    /// Adds a token that continues the word (or punctuation after it).
    fn extend(&mut self, piece: &str, end_ms: u64, probability: f32) {
        // A looping decoder repeats punctuation (". . . ."): keep one.
        let punctuation_only = !piece.contains(char::is_alphanumeric);
        if !(punctuation_only && self.text.ends_with(piece)) {
            self.text.push_str(piece);
        }
        self.end_ms = self.end_ms.max(end_ms);
        self.probability_sum += probability;
        self.tokens += 1;
    }

    /// The word without spacing or surrounding punctuation, lowercase: for comparisons.
    fn key(&self) -> String {
        bare_word(&self.text).to_lowercase()
    }
}

/// The word without surrounding spaces and punctuation ("Dashwood," → "Dashwood").
fn bare_word(text: &str) -> &str {
    text.trim().trim_matches(|c: char| !c.is_alphanumeric())
}

/// On band-limited (phone) audio Whisper sometimes decodes the utterance again in the padding
/// after it ("2 9 3 4 0. 2 9 3 4 0. 2 9 …", or cut short: "4 5 1 2. 4"). A tail of words that
/// all lie in the padding is dropped when it starts the sentence over after its full stop, or
/// when two or more of them repeat, word for word, the words one period before them. Real speech
/// said twice keeps its own timings inside the audio, so "five five" stays.
fn drop_padding_loop(words: &mut Vec<DecodedWord>) {
    let padded = words.iter().rev().take_while(|w| w.in_padding).count();
    let n = words.len();
    for tail in (2..=padded).rev() {
        let from = n - tail;
        let repeats = |period: usize| (from..n).all(|j| words[j].key() == words[j - period].key());
        if (1..=from).any(repeats) {
            words.truncate(from);
            return;
        }
    }
    // A loop cut short: after a full stop, the padding starts the utterance over ("4 5 1 2. 4").
    for tail in (1..=padded.min(n / 2)).rev() {
        let from = n - tail;
        let restarts = (0..tail).all(|k| words[from + k].key() == words[k].key());
        if restarts && words[from - 1].text.trim_end().ends_with(['.', '?', '!']) {
            words.truncate(from);
            return;
        }
    }
}

/// Whisper sometimes loops on short clips ("No? No? No? No?"): a word or phrase of up to four
/// words said three or more times in a row is kept once. Twice ("no, no") is left alone.
fn collapse_repeats(words: &mut Vec<DecodedWord>) {
    let mut i = 0;
    while i < words.len() {
        for n in 1..=4 {
            let same =
                |a: usize, b: usize| (0..n).all(|k| words[a + k].key() == words[b + k].key());
            let mut copies = 1;
            while i + (copies + 1) * n <= words.len() && same(i, i + copies * n) {
                copies += 1;
            }
            if copies >= 3 {
                words.drain(i + n..i + copies * n);
                break;
            }
        }
        i += 1;
    }
}

/// The result from decoded words: text as Whisper wrote it, words without punctuation, and
/// the mean probability of all their tokens as confidence.
fn recognition(words: Vec<DecodedWord>, audio_ms: u64, decode_ms: u64) -> Recognition {
    let text: String = words.iter().map(|w| w.text.as_str()).collect();
    let tokens: u32 = words.iter().map(|w| w.tokens).sum();
    let probability: f32 = words.iter().map(|w| w.probability_sum).sum();
    Recognition {
        text: text.trim().to_string(),
        confidence: if tokens == 0 {
            0.0
        } else {
            probability / tokens as f32
        },
        words: words
            .iter()
            .filter(|w| !bare_word(&w.text).is_empty())
            .map(|w| WordTiming {
                word: bare_word(&w.text).to_string(),
                start_ms: w.start_ms,
                end_ms: w.end_ms,
                probability: w.probability_sum / w.tokens as f32,
            })
            .collect(),
        audio_ms,
        decode_ms,
    }
}

/// Most tokens a clip of `samples` can need: fast speech is about five tokens a second, and
/// the cap keeps a looping decoder from running for seconds.
fn max_tokens(samples: usize) -> i32 {
    16 + (samples * 8 / WHISPER_RATE as usize) as i32
}

/// Encoder frames for a clip: 50 per second plus a margin (Whisper's full window is 1500).
fn short_audio_ctx(samples: usize) -> i32 {
    let frames = (samples * 50).div_ceil(WHISPER_RATE as usize) + 64;
    frames.min(1500) as i32
}

/// Lowercase words without punctuation, for comparing texts.
pub(crate) fn normalize(text: &str) -> String {
    text.to_lowercase()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '\'' {
                c
            } else {
                ' '
            }
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_context_grows_with_the_clip_and_stops_at_the_window() {
        assert_eq!(short_audio_ctx(16_000), 114);
        assert_eq!(short_audio_ctx(5 * 16_000), 314);
        assert_eq!(short_audio_ctx(40 * 16_000), 1500);
    }

    #[test]
    fn normalized_text_has_no_case_or_punctuation() {
        assert_eq!(normalize(" Thank you. "), "thank you");
        assert_eq!(normalize("It's A-1234, OK?"), "it's a 1234 ok");
    }

    fn word(text: &str, start_ms: u64) -> DecodedWord {
        DecodedWord {
            text: text.into(),
            start_ms,
            end_ms: start_ms + 100,
            probability_sum: 1.6,
            tokens: 2,
            in_padding: false,
        }
    }

    #[test]
    fn words_lose_punctuation_and_confidence_averages_tokens() {
        let words = vec![word(" Order", 0), word(" shipped.", 100)];
        let result = recognition(words, 1_000, 5);
        assert_eq!(result.text, "Order shipped.");
        assert_eq!(result.words[1].word, "shipped");
        assert!((result.words[1].probability - 0.8).abs() < 1e-6);
        assert!((result.confidence - 0.8).abs() < 1e-6);
    }

    #[test]
    fn loops_are_kept_once_and_doubles_stay() {
        let texts =
            |words: &[DecodedWord]| words.iter().map(|w| w.text.clone()).collect::<String>();
        let mut looped: Vec<_> = [" No?", " No?", " No?", " No?"]
            .iter()
            .map(|t| word(t, 0))
            .collect();
        collapse_repeats(&mut looped);
        assert_eq!(texts(&looped), " No?");
        let mut phrase: Vec<_> = [
            " press", " one,", " press", " one,", " press", " one.", " Bye",
        ]
        .iter()
        .map(|t| word(t, 0))
        .collect();
        collapse_repeats(&mut phrase);
        assert_eq!(texts(&phrase), " press one, Bye");
        let mut dots = word(" soon", 0);
        for _ in 0..5 {
            dots.extend(" .", 100, 0.5);
        }
        assert_eq!(dots.text, " soon .");
        let mut double: Vec<_> = [" no,", " no"].iter().map(|t| word(t, 0)).collect();
        collapse_repeats(&mut double);
        assert_eq!(double.len(), 2);
    }

    #[test]
    fn a_repeat_decoded_in_the_padding_is_dropped_but_speech_said_twice_stays() {
        let texts =
            |words: &[DecodedWord]| words.iter().map(|w| w.text.clone()).collect::<String>();
        let padded = |text: &str| DecodedWord {
            in_padding: true,
            ..word(text, 1_900)
        };
        let mut looped = vec![word(" 2", 280), word(" 9", 1_000), word(" 3", 1_590)];
        for (i, digit) in [" 4", " 0.", " 2", " 9", " 3", " 4", " 0.", " 2"]
            .iter()
            .enumerate()
        {
            looped.push(if i < 2 {
                word(digit, 1_900)
            } else {
                padded(digit)
            });
        }
        drop_padding_loop(&mut looped);
        assert_eq!(texts(&looped), " 2 9 3 4 0.");

        let mut twice = vec![word(" five", 0), word(" five", 400), padded(" please")];
        drop_padding_loop(&mut twice);
        assert_eq!(twice.len(), 3, "a real double and one word at the end stay");
        let mut restart = vec![
            word(" 4", 0),
            word(" 5", 300),
            word(" 1", 600),
            word(" 2.", 900),
        ];
        restart.push(padded(" 4"));
        drop_padding_loop(&mut restart);
        assert_eq!(
            texts(&restart),
            " 4 5 1 2.",
            "a loop cut short after the full stop"
        );
        let mut not_a_restart = vec![word(" no", 0), padded(" no")];
        drop_padding_loop(&mut not_a_restart);
        assert_eq!(
            not_a_restart.len(),
            2,
            "no full stop before it: a real double"
        );
        let mut not_a_repeat = vec![word(" order", 0), padded(" status"), padded(" please")];
        drop_padding_loop(&mut not_a_repeat);
        assert_eq!(
            not_a_repeat.len(),
            3,
            "words in the padding that repeat nothing stay"
        );
    }
}
