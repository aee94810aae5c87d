//! Making sense of what the recognizer heard: option phrases, yes or no, spoken digits.
//!
//! All of it works on words: lower case, punctuation dropped (`that's` → `thats`), so that
//! "Order status!" and "order status" are the same answer.

/// Words the caller may say for yes, after normalizing.
const YES: [&str; 15] = [
    "yes",
    "yeah",
    "yep",
    "yup",
    "yea",
    "ya",
    "correct",
    "sure",
    "right",
    "ok",
    "okay",
    "affirmative",
    "absolutely",
    "exactly",
    "indeed",
];
/// Words the caller may say for no, after normalizing.
const NO: [&str; 6] = ["no", "nope", "nah", "wrong", "incorrect", "negative"];
/// Words that turn a following yes word into a no: "not right", "isn't correct".
const NEGATIONS: [&str; 2] = ["not", "isnt"];
pub(crate) const UNITS: [&str; 10] = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
];
pub(crate) const TEENS: [&str; 10] = [
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
/// Tens from twenty, at index 2 for twenty.
const TENS: [&str; 10] = [
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];

/// The words of `text`: lower case, apostrophes removed, other punctuation separating words.
pub(crate) fn words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if c.is_alphanumeric() {
            word.extend(c.to_lowercase());
        } else if c == '\'' || c == '’' {
            // "that's" is one word, like "thats" as a recognizer may also write it.
        } else if !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// A word reduced to a rough stem, so "orders", "ordered" and "order" compare equal.
fn stem(word: &str) -> String {
    if word.chars().all(|c| c.is_ascii_digit()) {
        return word.to_string();
    }
    let mut stem = if let Some(base) = word.strip_suffix("ies").filter(|b| b.len() >= 2) {
        format!("{base}y")
    } else if ["sses", "shes", "ches", "xes"]
        .iter()
        .any(|s| word.ends_with(s))
    {
        word[..word.len() - 2].to_string()
    } else if word.len() > 3
        && word.ends_with('s')
        && !["ss", "us", "is"].iter().any(|s| word.ends_with(s))
    {
        word[..word.len() - 1].to_string()
    } else {
        word.to_string()
    };
    for suffix in ["ing", "ed"] {
        if let Some(base) = stem.strip_suffix(suffix).filter(|b| b.len() >= 3) {
            stem = base.to_string();
            break;
        }
    }
    stem
}

/// The stemmed words of a phrase or an utterance, as option matching compares them.
pub(crate) fn stemmed_words(text: &str) -> Vec<String> {
    words(text).iter().map(|w| stem(w)).collect()
}

/// The outcome of matching an utterance against the options of a listen step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Match {
    /// The option at this index, by its longest matching phrase.
    Option(usize),
    /// Several options match equally well (their indexes): the caller is asked again.
    Ambiguous(Vec<usize>),
    /// No option matches.
    None,
}

/// Matches `text` against options given as lists of stemmed phrases; the longest phrase wins.
pub(crate) fn best_option<'a>(
    text: &str,
    options: impl IntoIterator<Item = &'a [Vec<String>]>,
) -> Match {
    let heard = stemmed_words(text);
    let mut best = 0;
    let mut winners = Vec::new();
    for (index, phrases) in options.into_iter().enumerate() {
        let longest = phrases
            .iter()
            .filter(|phrase| {
                !phrase.is_empty() && heard.windows(phrase.len()).any(|w| w == *phrase)
            })
            .map(Vec::len)
            .max()
            .unwrap_or(0);
        if longest > best {
            best = longest;
            winners = vec![index];
        } else if longest == best && longest > 0 {
            winners.push(index);
        }
    }
    match winners.as_slice() {
        [] => Match::None,
        [one] => Match::Option(*one),
        _ => Match::Ambiguous(winners),
    }
}

/// Words a sentence does not end on: a transcript ending on one was cut at a pause.
const CONTINUATIONS: [&str; 33] = [
    "and", "or", "but", "so", "because", "if", "then", "that", "which", "who", "to", "of", "for",
    "with", "in", "on", "at", "from", "about", "the", "a", "an", "my", "your", "our", "their",
    "his", "her", "its", "i", "um", "uh", "er",
];

/// Whether a transcript of free speech reads as a finished sentence: it ends with a full
/// stop, a question or an exclamation mark (not an ellipsis, which Whisper writes for a voice
/// that trails off) and not on a word that needs more after it ("… and my").
pub(crate) fn sounds_finished(text: &str) -> bool {
    let text = text.trim_end();
    let closed = text.ends_with(['.', '?', '!']) && !text.ends_with("..") && !text.ends_with('…');
    closed
        && words(text)
            .last()
            .is_some_and(|w| !CONTINUATIONS.contains(&w.as_str()))
}

/// Whether `text` says yes (`Some(true)`), no (`Some(false)`), or neither or both (`None`).
pub(crate) fn yes_or_no(text: &str) -> Option<bool> {
    let words = words(text);
    let (mut yes, mut no) = (false, false);
    let mut i = 0;
    while i < words.len() {
        let word = words[i].as_str();
        if NEGATIONS.contains(&word) {
            // A negated yes is a no, not both.
            no = true;
            if words
                .get(i + 1)
                .is_some_and(|next| YES.contains(&next.as_str()))
            {
                i += 1;
            }
        } else if YES.contains(&word) {
            yes = true;
        } else if NO.contains(&word) {
            no = true;
        }
        i += 1;
    }
    match (yes, no) {
        (true, false) => Some(true),
        (false, true) => Some(false),
        _ => None,
    }
}

/// The digit of a number word or a one-digit numeral; "oh" only with `oh_is_zero`.
fn digit(word: &str, oh_is_zero: bool) -> Option<char> {
    if let Some(value) = UNITS.iter().position(|u| *u == word) {
        return char::from_digit(value as u32, 10);
    }
    match word {
        "oh" | "o" | "nought" if oh_is_zero => Some('0'),
        _ if word.len() == 1 => word.chars().next().filter(char::is_ascii_digit),
        _ => None,
    }
}

/// Whether `word` is any number word or numeral (but not "oh", which is also an interjection).
pub(crate) fn is_number(word: &str) -> bool {
    digit(word, false).is_some()
        || TEENS.contains(&word)
        || TENS[2..].contains(&word)
        || matches!(word, "double" | "triple")
        || (!word.is_empty() && word.chars().all(|c| c.is_ascii_digit()))
}

/// Whether the "oh" at `at` reads as zero: the nearest word other than "oh" on either side
/// is a number ("four oh five", "oh oh seven"), so an opening "oh, it is …" is not.
fn oh_among_numbers(words: &[String], at: usize) -> bool {
    let not_oh = |w: &&String| !matches!(w.as_str(), "oh" | "o" | "nought");
    let before = words[..at].iter().rev().find(not_oh);
    let after = words[at + 1..].iter().find(not_oh);
    before.is_some_and(|w| is_number(w)) || after.is_some_and(|w| is_number(w))
}

/// The digits spoken in `text`: "four five one two", "4512", "double five", "oh seven",
/// "twenty twenty four"; other words are skipped.
pub(crate) fn spoken_digits(text: &str) -> String {
    let words = words(text);
    let mut digits = String::new();
    let mut i = 0;
    while i < words.len() {
        let word = words[i].as_str();
        let next = words.get(i + 1).map(String::as_str);
        if let Some(times) = match word {
            "double" => Some(2),
            "triple" => Some(3),
            _ => None,
        } && let Some(d) = next.and_then(|n| digit(n, true))
        {
            digits.extend(std::iter::repeat_n(d, times));
            i += 2;
            continue;
        }
        if let Some(tens) = TENS[2..].iter().position(|t| *t == word) {
            digits.push(char::from_digit(tens as u32 + 2, 10).unwrap_or('0'));
            match next.and_then(|n| digit(n, false)).filter(|d| *d != '0') {
                Some(unit) => {
                    digits.push(unit);
                    i += 2;
                }
                None => {
                    digits.push('0');
                    i += 1;
                }
            }
            continue;
        }
        if let Some(teen) = TEENS.iter().position(|t| *t == word) {
            digits.push_str(&(teen + 10).to_string());
        } else if let Some(d) = digit(word, false) {
            digits.push(d);
        } else if digit(word, true).is_some() && oh_among_numbers(&words, i) {
            digits.push('0');
        } else if word.chars().all(|c| c.is_ascii_digit()) {
            digits.push_str(word);
        }
        i += 1;
    }
    digits
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phrases(options: &[&[&str]]) -> Vec<Vec<Vec<String>>> {
        options
            .iter()
            .map(|o| o.iter().map(|p| stemmed_words(p)).collect())
            .collect()
    }

    fn best(text: &str, options: &[Vec<Vec<String>>]) -> Match {
        best_option(text, options.iter().map(Vec::as_slice))
    }

    #[test]
    fn words_are_lower_case_without_punctuation() {
        assert_eq!(
            words("  That's right,   ORDER-status!"),
            ["thats", "right", "order", "status"]
        );
        assert_eq!(
            stemmed_words("tracking my parcels"),
            ["track", "my", "parcel"]
        );
        assert_eq!(
            stemmed_words("orders ordered status invoices"),
            ["order", "order", "status", "invoice"]
        );
        assert_eq!(
            stemmed_words("deliveries boxes 2024"),
            ["delivery", "box", "2024"]
        );
    }

    #[test]
    fn the_longest_phrase_wins_and_ties_are_ambiguous() {
        let options = phrases(&[
            &["order status", "where is my order", "order"],
            &["billing", "invoice"],
            &["agent"],
        ]);
        assert_eq!(best("Order status, please.", &options), Match::Option(0));
        assert_eq!(best("I'd like my invoices", &options), Match::Option(1));
        assert_eq!(best("uh, where is my order?", &options), Match::Option(0));
        assert_eq!(
            best("the billing of my order", &options),
            Match::Ambiguous(vec![0, 1])
        );
        assert_eq!(
            best("order status of my billing", &options),
            Match::Option(0)
        );
        assert_eq!(best("hello", &options), Match::None);
        assert_eq!(best("", &options), Match::None);
        // A phrase must appear as a whole, in order.
        assert_eq!(best("status of the order", &options), Match::Option(0));
        assert_eq!(best("status", &options), Match::None);
    }

    #[test]
    fn yes_and_no() {
        for yes in ["Yes.", "yeah", "Yep, that's right", "correct", "sure", "OK"] {
            assert_eq!(yes_or_no(yes), Some(true), "{yes}");
        }
        for no in [
            "No.",
            "nope",
            "that's not right",
            "wrong",
            "incorrect",
            "It isn't correct",
        ] {
            assert_eq!(yes_or_no(no), Some(false), "{no}");
        }
        for neither in ["maybe", "", "yes no", "no, that's right", "four five"] {
            assert_eq!(yes_or_no(neither), None, "{neither}");
        }
    }

    #[test]
    fn spoken_digits_in_many_forms() {
        assert_eq!(spoken_digits("my order is four five one two"), "4512");
        assert_eq!(spoken_digits("4512"), "4512");
        assert_eq!(spoken_digits("4,512."), "4512");
        assert_eq!(spoken_digits("double five seven"), "557");
        assert_eq!(spoken_digits("triple 0 1"), "0001");
        assert_eq!(spoken_digits("four oh five"), "405");
        assert_eq!(spoken_digits("oh oh seven"), "007");
        assert_eq!(spoken_digits("oh, it is four five"), "45");
        assert_eq!(spoken_digits("twenty twenty four"), "2024");
        assert_eq!(spoken_digits("forty"), "40");
        assert_eq!(spoken_digits("nine eleven"), "911");
        assert_eq!(spoken_digits("four-five one two"), "4512");
        assert_eq!(spoken_digits("I don't know"), "");
    }

    #[test]
    fn a_sentence_is_finished_by_its_end_mark_and_last_word() {
        assert!(sounds_finished("I'd like to know where my parcel is."));
        assert!(sounds_finished("Where is it? "));
        assert!(!sounds_finished("I'd like to know where my"));
        assert!(!sounds_finished("I was charged and."));
        assert!(!sounds_finished("Well, I think..."));
        assert!(!sounds_finished("Well, I think…"));
        assert!(!sounds_finished("."));
    }
}
