//! Speaking rate in syllables per second. Syllables, not words: "I want a refund" and
//! "cancellation" take about the same time, and a rate in words would call the first one fast.

use serde::Serialize;

/// Where the speaking time came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RateSource {
    /// From the first word's start to the last word's end (the recognizer's word timings).
    WordTimings,
    /// From the first to the last voiced frame of the audio (no word timings given).
    VoicedSpan,
}

/// Syllables per second over `speaking_ms`, or `None` when there is nothing to measure
/// (no text, or under a quarter of a second of speech).
pub fn syllables_per_second(text: &str, speaking_ms: u32) -> Option<f32> {
    let syllables = count_syllables(text);
    (syllables > 0 && speaking_ms >= 250).then(|| syllables as f32 * 1_000.0 / speaking_ms as f32)
}

/// The speaking time of an utterance: the span of its word timings when there are any, else the
/// span of its voiced frames.
pub fn speaking_time(
    words: &[(u32, u32)],
    voiced_span_ms: Option<u32>,
) -> Option<(u32, RateSource)> {
    let first = words.iter().map(|w| w.0).min();
    let last = words.iter().map(|w| w.1).max();
    match (first, last) {
        (Some(first), Some(last)) if last > first => Some((last - first, RateSource::WordTimings)),
        _ => voiced_span_ms.map(|ms| (ms, RateSource::VoicedSpan)),
    }
}

/// Estimated syllables in recognized text: vowel groups per word (a silent final "e" does not
/// count, "-le" does), at least one per word; a digit counts as one (ASR writes "4512").
pub fn count_syllables(text: &str) -> usize {
    text.split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .map(|word| {
            let digits = word.chars().filter(char::is_ascii_digit).count();
            if digits > 0 {
                digits
            } else {
                word_syllables(&word.to_lowercase())
            }
        })
        .sum()
}

fn word_syllables(word: &str) -> usize {
    let letters: Vec<char> = word.chars().filter(|c| c.is_alphabetic()).collect();
    let is_vowel = |c: char| matches!(c, 'a' | 'e' | 'i' | 'o' | 'u' | 'y');
    let mut groups = 0;
    let mut previous_vowel = false;
    for &c in &letters {
        let vowel = is_vowel(c);
        if vowel && !previous_vowel {
            groups += 1;
        }
        previous_vowel = vowel;
    }
    let n = letters.len();
    let silent_e =
        n > 2 && letters[n - 1] == 'e' && !is_vowel(letters[n - 2]) && letters[n - 2] != 'l';
    if silent_e && groups > 1 {
        groups -= 1;
    }
    groups.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syllables_of_common_words() {
        for (word, want) in [
            ("I", 1),
            ("want", 1),
            ("refund", 2),
            ("cancellation", 4),
            ("please", 1),
            ("table", 2),
            ("representative", 5),
        ] {
            assert_eq!(count_syllables(word), want, "{word}");
        }
        assert_eq!(count_syllables("my order 4512, please!"), 1 + 2 + 4 + 1);
    }

    #[test]
    fn word_timings_win_over_the_voiced_span() {
        assert_eq!(
            speaking_time(&[(200, 500), (520, 900)], Some(1_500)),
            Some((700, RateSource::WordTimings))
        );
        assert_eq!(
            speaking_time(&[], Some(1_500)),
            Some((1_500, RateSource::VoicedSpan))
        );
        assert_eq!(speaking_time(&[], None), None);
    }

    #[test]
    fn rate_needs_text_and_time() {
        assert_eq!(syllables_per_second("I want a refund", 1_000), Some(5.0));
        assert_eq!(syllables_per_second("", 1_000), None);
        assert_eq!(syllables_per_second("hello", 100), None);
    }
}
