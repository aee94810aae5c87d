//! Sentiment of recognized text from a word lexicon, with the rules that matter in speech:
//! negation ("not happy"), intensifiers ("really bad"), and "but", after which the caller says
//! what they actually mean. Capitals and "!!!" carry emphasis in writing but not in ASR output,
//! so they are not used.

use crate::lexicon::SentimentLexicon;
use crate::phrases::{DOWNTONERS, INTENSIFIERS, TASK_WORDS, is_negation};

/// A negation this many words before a sentiment word flips it.
const NEGATION_REACH: usize = 3;
/// A negated word keeps this share of its valence, with the sign turned: "not good" is bad, but
/// less bad than "bad".
const NEGATED: f32 = -0.6;
/// Multipliers of an intensifier or a downtoner right before a word (up to two of them).
const INTENSIFIED: f32 = 1.3;
const DOWNTONED: f32 = 0.7;
/// Weights of the words before and after the last "but".
const BEFORE_BUT: f32 = 0.5;
const AFTER_BUT: f32 = 1.5;
/// Summed valence at which the sentiment reaches tanh(1) ≈ 0.76: about two clearly negative
/// words.
const VALENCE_SCALE: f32 = 4.0;

/// The sentiment of one utterance.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sentiment {
    /// −1 (very negative) .. 1 (very positive); 0 without sentiment words.
    pub valence: f32,
    /// The words that pulled the valence down, in order.
    pub negative_words: Vec<String>,
}

/// Scores the words of one utterance with `lexicon`.
pub fn sentiment(words: &[String], lexicon: &SentimentLexicon) -> Sentiment {
    let last_but = words.iter().rposition(|w| w == "but");
    let mut total = 0.0;
    let mut negative_words = Vec::new();
    for (i, word) in words.iter().enumerate() {
        if is_negation(word) || TASK_WORDS.contains(&word.as_str()) {
            continue;
        }
        let Some(mut valence) = lexicon.valence(word) else {
            continue;
        };
        for modifier in words[i.saturating_sub(2)..i].iter().map(String::as_str) {
            if INTENSIFIERS.contains(&modifier) {
                valence *= INTENSIFIED;
            } else if DOWNTONERS.contains(&modifier) {
                valence *= DOWNTONED;
            }
        }
        if words[i.saturating_sub(NEGATION_REACH)..i]
            .iter()
            .any(|w| is_negation(w))
        {
            valence *= NEGATED;
        }
        valence *= match last_but {
            Some(b) if i < b => BEFORE_BUT,
            Some(b) if i > b => AFTER_BUT,
            _ => 1.0,
        };
        if valence < 0.0 {
            negative_words.push(word.clone());
        }
        total += valence;
    }
    Sentiment {
        valence: (total / VALENCE_SCALE).tanh(),
        negative_words,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::words;

    fn lexicon() -> SentimentLexicon {
        SentimentLexicon::parse(
            "happy\t2.7\nbad\t-2.5\nterrible\t-2.1\ngood\t1.9\nhelp\t1.7\nuseless\t-1.8\nno\t-1.2\n",
        )
        .unwrap()
    }

    fn valence(text: &str) -> f32 {
        sentiment(&words(text), &lexicon()).valence
    }

    #[test]
    fn negative_words_score_below_neutral_ones() {
        assert_eq!(valence("I would like to check my order"), 0.0);
        assert!(valence("this is terrible, your service is useless") < -0.6);
        assert_eq!(
            sentiment(&words("terrible and useless"), &lexicon()).negative_words,
            ["terrible", "useless"]
        );
    }

    #[test]
    fn negation_turns_the_sign() {
        assert!(valence("I am not happy") < 0.0);
        assert!(valence("I'm not happy at all") < 0.0);
        assert!(valence("that's not bad") > 0.0);
        assert!(valence("not bad").abs() < valence("bad").abs());
    }

    #[test]
    fn intensifiers_and_but() {
        assert!(valence("really bad") < valence("bad"));
        assert!(valence("a bit bad") > valence("bad"));
        // What follows "but" is what the caller means.
        assert!(valence("the app is good but the delivery was terrible") < 0.0);
        assert!(valence("the delivery was terrible but you were good") > 0.0);
    }

    #[test]
    fn task_words_are_neutral() {
        assert_eq!(valence("no, I need help with my order"), 0.0);
    }
}
