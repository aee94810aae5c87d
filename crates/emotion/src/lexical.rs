//! What the words of one utterance say: sentiment, swearing, asking for a person, repeating.

use serde::Serialize;

use crate::lexicon::SentimentLexicon;
use crate::phrases::{
    CONNECT_VERBS, HUMAN_WORDS, PERSON_WORDS, PROFANITY, REAL_WORDS, is_negation,
};
use crate::repetition::Repetition;
use crate::sentiment::sentiment;

/// The lexical cues of one utterance.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LexicalCues {
    /// Whether a sentiment lexicon was loaded; without it `valence` and `negativity` are 0.
    pub lexicon_available: bool,
    /// −1 (very negative) .. 1 (very positive).
    pub valence: f32,
    /// The negative part of the valence, 0..1.
    pub negativity: f32,
    /// Words that pulled the valence down.
    pub negative_words: Vec<String>,
    /// Swear words.
    pub profanity: Vec<String>,
    /// The words that asked for a person ("agent", "real person"), if any.
    pub human_request: Option<String>,
    /// The earlier utterance this one repeats most, if it shares content words with any.
    pub repetition: Option<Repetition>,
}

/// The cues of `words` that need no history (repetition is filled in by the tracker).
pub fn lexical_cues(words: &[String], lexicon: Option<&SentimentLexicon>) -> LexicalCues {
    let sentiment = lexicon.map(|l| sentiment(words, l)).unwrap_or_default();
    LexicalCues {
        lexicon_available: lexicon.is_some(),
        valence: sentiment.valence,
        negativity: (-sentiment.valence).max(0.0),
        negative_words: sentiment.negative_words,
        profanity: words
            .iter()
            .filter(|w| PROFANITY.contains(&w.as_str()) || is_censored(w))
            .cloned()
            .collect(),
        human_request: human_request(words),
        repetition: None,
    }
}

/// A word the recognizer censored with asterisks ("f***").
fn is_censored(word: &str) -> bool {
    word.contains('*') && word.chars().any(char::is_alphabetic)
}

/// The words asking for a person: a word that means one on its own ("agent", "manager"), or
/// "person"/"someone" after "real"/"live" or after "talk to"/"speak with"; not when negated
/// ("I don't need an agent").
fn human_request(words: &[String]) -> Option<String> {
    let negated = |i: usize| words[i.saturating_sub(3)..i].iter().any(|w| is_negation(w));
    words.iter().enumerate().find_map(|(i, word)| {
        let before = &words[i.saturating_sub(3)..i];
        let found = if HUMAN_WORDS.contains(&word.as_str()) {
            let real = i
                .checked_sub(1)
                .filter(|&j| REAL_WORDS.contains(&words[j].as_str()));
            Some(real.map_or(word.clone(), |j| format!("{} {word}", words[j])))
        } else if PERSON_WORDS.contains(&word.as_str()) {
            let real = i
                .checked_sub(1)
                .filter(|&j| REAL_WORDS.contains(&words[j].as_str()));
            let connect = before.iter().any(|w| CONNECT_VERBS.contains(&w.as_str()));
            match real {
                Some(j) => Some(format!("{} {word}", words[j])),
                None => connect.then(|| word.clone()),
            }
        } else {
            None
        };
        found.filter(|_| !negated(i))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::words;

    fn cues(text: &str) -> LexicalCues {
        lexical_cues(&words(text), None)
    }

    #[test]
    fn asking_for_a_human() {
        for (text, phrase) in [
            ("Agent!", "agent"),
            ("let me talk to a real person", "real person"),
            ("can I speak to someone please", "someone"),
            ("get me your manager", "manager"),
            ("representative", "representative"),
            ("operator operator", "operator"),
            ("I want a human", "human"),
        ] {
            assert_eq!(cues(text).human_request.as_deref(), Some(phrase), "{text}");
        }
        for text in [
            "someone charged my card twice",
            "I don't need an agent",
            "my order for a person in Ohio",
            "track my parcel",
        ] {
            assert_eq!(cues(text).human_request, None, "{text}");
        }
    }

    #[test]
    fn swearing_including_censored_words() {
        assert_eq!(cues("where is my damn parcel").profanity, ["damn"]);
        assert_eq!(cues("this is f***ing ridiculous").profanity, ["f***ing"]);
        assert!(cues("where is my parcel").profanity.is_empty());
    }

    #[test]
    fn without_a_lexicon_the_other_cues_still_work() {
        let c = cues("this bloody thing, get me an agent");
        assert!(!c.lexicon_available);
        assert_eq!((c.valence, c.negativity), (0.0, 0.0));
        assert_eq!(c.profanity, ["bloody"]);
        assert_eq!(c.human_request.as_deref(), Some("agent"));
    }
}
