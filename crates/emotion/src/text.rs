//! Words of recognized text, as the lexical cues see them.

/// Lower-case words of `text`: letters, digits and inner apostrophes ("don't" stays one word);
/// `*` is kept so that a censored word from the recognizer ("f***ing") stays recognizable.
pub fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .replace(['\u{2019}', '\u{2018}'], "'")
        .split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '*'))
        .map(|w| w.trim_matches('\''))
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .map(str::to_string)
        .collect()
}

/// A rough stem for comparing two requests: "charged" and "charges" both become "charg".
pub fn stem(word: &str) -> &str {
    let word = word.strip_suffix("'s").unwrap_or(word);
    for suffix in ["ing", "ed", "es", "s"] {
        if let Some(stem) = word.strip_suffix(suffix)
            && stem.len() >= 3
        {
            return stem;
        }
    }
    word
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_a_reader_would() {
        assert_eq!(
            words("Agent! I don’t want THIS, it's f***ing 'broken'."),
            [
                "agent", "i", "don't", "want", "this", "it's", "f***ing", "broken"
            ]
        );
        assert!(words(" ... ?! ").is_empty());
    }

    #[test]
    fn stems_merge_inflections() {
        assert_eq!(stem("charged"), stem("charges"));
        assert_eq!(stem("ordering"), "order");
        assert_eq!(stem("bus"), "bus");
        assert_eq!(stem("order's"), "order");
    }
}
