//! What a recognizer writes turned back into what the examples look like: callers say "uh" and
//! "um", and recognizers write contractions without their apostrophe ("hasnt", "whats"), which
//! the embedding model reads as other words. Applied to the utterance before it is embedded;
//! the lexical rankers skip fillers as stopwords and drop apostrophes anyway.

/// Hesitations that carry no meaning.
pub const FILLERS: [&str; 10] = [
    "uh", "uhm", "um", "umm", "er", "erm", "hmm", "mm", "ah", "eh",
];

/// Contractions as recognizers write them, and as written text has them. Only forms that are
/// not also ordinary words ("its", "id", "well" and "were" stay as they are).
const CONTRACTIONS: [(&str, &str); 26] = [
    ("dont", "don't"),
    ("doesnt", "doesn't"),
    ("didnt", "didn't"),
    ("cant", "can't"),
    ("wont", "won't"),
    ("isnt", "isn't"),
    ("wasnt", "wasn't"),
    ("arent", "aren't"),
    ("hasnt", "hasn't"),
    ("havent", "haven't"),
    ("hadnt", "hadn't"),
    ("couldnt", "couldn't"),
    ("wouldnt", "wouldn't"),
    ("shouldnt", "shouldn't"),
    ("im", "i'm"),
    ("ive", "i've"),
    ("youre", "you're"),
    ("whats", "what's"),
    ("wheres", "where's"),
    ("hows", "how's"),
    ("theres", "there's"),
    ("thats", "that's"),
    ("wanna", "want to"),
    ("gonna", "going to"),
    ("gotta", "got to"),
    ("lemme", "let me"),
];

/// `text` without fillers and with contractions spelt as in writing; other words unchanged.
pub fn as_written(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for word in text.split_whitespace() {
        let bare = word.trim_matches(|c: char| !c.is_alphanumeric());
        let lower = bare.to_lowercase();
        if FILLERS.contains(&lower.as_str()) {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        match CONTRACTIONS.iter().find(|(from, _)| *from == lower) {
            // Keep any punctuation around the word ("dont," → "don't,").
            Some((_, to)) => out.push_str(&word.replacen(bare, to, 1)),
            None => out.push_str(word),
        }
    }
    if out.is_empty() {
        // Only hesitation: embed it as said rather than an empty sentence.
        return text.trim().to_string();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fillers_go_and_contractions_get_their_apostrophe() {
        assert_eq!(
            as_written("uh my parcel still hasnt shown up"),
            "my parcel still hasn't shown up"
        );
        assert_eq!(
            as_written("Um, whats the status, I dont know"),
            "what's the status, I don't know"
        );
        assert_eq!(as_written("i wanna cancel"), "i want to cancel");
        // Ordinary words that look like contractions are left alone.
        assert_eq!(as_written("its order id"), "its order id");
        assert_eq!(as_written("uh um"), "uh um");
    }
}
