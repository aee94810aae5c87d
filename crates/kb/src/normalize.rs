//! Text normalization shared by every matcher: words, light stems, and the content words that
//! the lexical rankers index.
//!
//! Callers and recognizers write the same request many ways ("I'd like to cancel", "id like 2
//! cancell"): lower case, apostrophes dropped, a few chat and dictation spellings mapped to
//! their word, and suffixes folded so "cancelled", "canceling" and "cancel" meet.

use crate::spoken::FILLERS;

/// Words that carry no topic; the lexical rankers skip them (the embedding sees everything).
const STOPWORDS: [&str; 48] = [
    "a", "an", "the", "i", "me", "my", "mine", "we", "our", "you", "your", "it", "its", "this",
    "that", "these", "those", "is", "am", "are", "was", "were", "be", "been", "to", "of", "in",
    "on", "at", "for", "with", "from", "by", "and", "or", "so", "do", "does", "did", "im", "ive",
    "id", "can", "could", "would", "will", "there", "some",
];

/// Chat and dictation spellings mapped to the word they stand for.
const SPELLINGS: [(&str, &str); 9] = [
    ("u", "you"),
    ("ur", "your"),
    ("r", "are"),
    ("pls", "please"),
    ("plz", "please"),
    ("thx", "thanks"),
    ("wanna", "want"),
    ("acct", "account"),
    ("2", "to"),
];

/// The words of `text`: lower case, apostrophes removed, other punctuation separating words.
pub fn words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if c.is_alphanumeric() {
            word.extend(c.to_lowercase());
        } else if c == '\'' || c == '’' {
            // "I'd" becomes "id", as a recognizer may also write it.
        } else if !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    for w in &mut words {
        if let Some((_, to)) = SPELLINGS.iter().find(|(from, _)| from == w) {
            *w = (*to).to_string();
        }
    }
    words
}

/// The words joined by single spaces: what `exact` entries compare.
pub fn normalized(text: &str) -> String {
    words(text).join(" ")
}

/// A word folded to a rough stem, the same for every inflection of it:
/// "orders", "ordering", "ordered" → "order"; "shipping" → "ship"; "changes" → "chang".
pub fn stem(word: &str) -> String {
    if word.len() <= 3 || word.chars().any(|c| c.is_ascii_digit()) {
        return word.to_string();
    }
    let mut stem = if let Some(base) = word.strip_suffix("ies") {
        format!("{base}y")
    } else if ["sses", "shes", "ches", "xes", "zes"]
        .iter()
        .any(|s| word.ends_with(s))
    {
        word[..word.len() - 2].to_string()
    } else if word.ends_with('s') && !["ss", "us", "is"].iter().any(|s| word.ends_with(s)) {
        word[..word.len() - 1].to_string()
    } else {
        word.to_string()
    };
    for suffix in ["ing", "ed"] {
        if let Some(base) = stem.strip_suffix(suffix).filter(|b| b.len() >= 3) {
            stem = base.to_string();
            // "applied" → "appli" → "apply", like "applies" → "apply".
            if let Some(base) = stem.strip_suffix('i') {
                stem = format!("{base}y");
            }
            break;
        }
    }
    // The silent e and doubled final consonants come and go with suffixes
    // ("change"/"changing", "cancel"/"cancelled"): drop them everywhere.
    if stem.len() > 3 && stem.ends_with('e') {
        stem.pop();
    }
    let bytes = stem.as_bytes();
    if stem.len() > 3 {
        let (a, b) = (bytes[bytes.len() - 2], bytes[bytes.len() - 1]);
        if a == b && !b"aeiou".contains(&b) {
            stem.pop();
        }
    }
    stem
}

/// The stemmed words of `text`, stopwords included: what keyword phrases are matched against.
pub fn stems(text: &str) -> Vec<String> {
    words(text).iter().map(|w| stem(w)).collect()
}

/// The stemmed content words of `text` (stopwords and fillers dropped): what the lexical
/// rankers index.
pub fn terms(text: &str) -> Vec<String> {
    words(text)
        .iter()
        .filter(|w| !STOPWORDS.contains(&w.as_str()) && !FILLERS.contains(&w.as_str()))
        .map(|w| stem(w))
        .collect()
}

/// Whether `phrase` (stemmed words) appears in `heard` (stemmed words) as a whole, in order.
pub fn contains_phrase(heard: &[String], phrase: &[String]) -> bool {
    !phrase.is_empty() && heard.windows(phrase.len()).any(|w| w == phrase)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_lower_case_without_punctuation() {
        assert_eq!(
            words("  I'd like, ORDER-status!"),
            ["id", "like", "order", "status"]
        );
        assert_eq!(
            words("can u help w/ ur acct"),
            ["can", "you", "help", "w", "your", "account"]
        );
        assert_eq!(
            normalized("Track my order, please."),
            "track my order please"
        );
    }

    #[test]
    fn inflections_share_a_stem() {
        for group in [
            &["order", "orders", "ordered", "ordering"][..],
            &[
                "cancel",
                "cancels",
                "cancelled",
                "canceled",
                "cancelling",
                "canceling",
            ],
            &["ship", "shipping", "shipped", "ships"],
            &["change", "changes", "changed", "changing"],
            &["invoice", "invoices"],
            &["apply", "applies", "applied"],
            &["address", "addresses"],
            &["bill", "billing", "bills"],
        ] {
            let stems: Vec<String> = group.iter().map(|w| stem(w)).collect();
            assert!(
                stems.iter().all(|s| *s == stems[0]),
                "{group:?} → {stems:?}"
            );
        }
        assert_eq!(stem("need"), "need");
        assert_eq!(stem("2024"), "2024");
    }

    #[test]
    fn terms_skip_stopwords_and_phrases_match_in_order() {
        assert_eq!(
            terms("uh I want to um track my orders"),
            ["want", "track", "order"]
        );
        let heard = stems("could you cancel my last order");
        assert!(contains_phrase(&heard, &stems("cancel")));
        assert!(contains_phrase(&heard, &stems("last orders")));
        assert!(!contains_phrase(&heard, &stems("order last")));
        assert!(!contains_phrase(&heard, &[]));
    }
}
