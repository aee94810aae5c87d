//! Shared by the ASR and TTS tests: the fetched models, the test recordings, word error rate
//! and telephone-band audio.

#![allow(dead_code)] // each test binary uses its own part of this module

use sb_speech::models::ModelPaths;
use std::path::{Path, PathBuf};

/// The models `models/fetch.sh` put in the repository's `models/` directory; panics with the
/// command to run when they are missing.
pub fn models() -> ModelPaths {
    let dir = Path::new(&*std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo"))
        .join("../../models");
    let paths = ModelPaths::in_dir(&dir);
    let missing = paths.missing();
    assert!(
        missing.is_empty(),
        "speech models missing: {missing:?}\nrun `models/fetch.sh` (or `make test`) first"
    );
    paths
}

/// The LibriVox recordings shipped with pocketsphinx (16 kHz mono) and their transcripts.
pub fn librivox() -> Vec<(PathBuf, String)> {
    let dir = Path::new("/usr/share/pocketsphinx/test/data/librivox");
    let transcription = std::fs::read_to_string(dir.join("transcription"))
        .expect("pocketsphinx test data missing: apt-get install pocketsphinx-en-us");
    transcription
        .lines()
        .filter_map(|line| {
            let (text, id) = line.rsplit_once(" (")?;
            let text = text.replace("<s>", "").replace("</s>", "");
            let id = id.trim_end_matches(')');
            Some((dir.join(format!("{id}.wav")), text.trim().to_string()))
        })
        .collect()
}

/// Lowercase words without punctuation, abbreviations spelled out, digit names as digits; runs
/// of single digits are joined ("one two 3 4" and "1234" are the same number read out).
pub fn normalized_words(text: &str) -> Vec<String> {
    let cleaned: String = text
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '\'' {
                c
            } else {
                ' '
            }
        })
        .collect();
    let mut words: Vec<String> = Vec::new();
    for word in cleaned.split_whitespace() {
        // Spoken forms of the abbreviations Whisper writes.
        const DIGITS: [&str; 10] = [
            "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
        ];
        let word = match word {
            "mr" => "mister",
            "mrs" => "missus",
            "dr" => "doctor",
            other => DIGITS
                .iter()
                .position(|d| *d == other)
                .map_or(other, |digit| &"0123456789"[digit..=digit]),
        };
        let is_digits = word.chars().all(|c| c.is_ascii_digit());
        match words.last_mut() {
            Some(last) if is_digits && last.chars().all(|c| c.is_ascii_digit()) => {
                last.push_str(word)
            }
            _ => words.push(word.to_string()),
        }
    }
    words
}

/// Word edit distance between reference and hypothesis, and the reference's word count.
pub fn word_errors(reference: &str, hypothesis: &str) -> (usize, usize) {
    let reference = normalized_words(reference);
    let hypothesis = normalized_words(hypothesis);
    let mut row: Vec<usize> = (0..=hypothesis.len()).collect();
    for (i, r) in reference.iter().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, h) in hypothesis.iter().enumerate() {
            let substitution = previous + usize::from(r != h);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(previous + 1);
        }
    }
    (row[hypothesis.len()], reference.len())
}

/// 16-bit PCM at `rate` taken through the telephone: down to 8 kHz, G.711 μ-law and back.
pub fn through_ulaw(samples: &[i16], rate: u32) -> Vec<i16> {
    let narrow = sb_media::prompt::resample_i16(samples, rate, 8_000).unwrap();
    narrow
        .iter()
        .map(|&s| sb_media::codec::ulaw_to_linear(sb_media::codec::linear_to_ulaw(s)))
        .collect()
}

/// Root-mean-square level of 10 ms frames in dBFS.
pub fn frame_levels(samples: &[i16], rate: u32) -> Vec<f64> {
    samples
        .chunks(rate as usize / 100)
        .map(|frame| {
            let power = frame
                .iter()
                .map(|&s| (f64::from(s) / 32768.0).powi(2))
                .sum::<f64>()
                / frame.len() as f64;
            10.0 * power.max(1e-12).log10()
        })
        .collect()
}

#[test]
fn word_errors_count_edits_on_normalized_words() {
    assert_eq!(word_errors("Hello, World!", "hello world"), (0, 2));
    assert_eq!(
        word_errors("order A-1234 shipped", "order a 1 2 3 4 shipped"),
        (0, 4)
    );
    assert_eq!(word_errors("Mr. Smith", "mister smith"), (0, 2));
    assert_eq!(word_errors("A-1234", "a one two three four"), (0, 2));
    assert_eq!(word_errors("a b c d", "a x c"), (2, 4));
    assert_eq!(word_errors("a b", ""), (2, 2));
}
