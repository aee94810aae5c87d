//! The BERT uncased tokenizer (normalizer, pre-tokenizer, WordPiece) that all-MiniLM-L6-v2
//! was trained with, read from the model's `tokenizer.json`.

use std::collections::HashMap;
use std::path::Path;

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Words longer than this (in characters) become one unknown token, as in BERT.
const MAX_WORD_CHARS: usize = 100;

/// Text → token ids, `[CLS] … [SEP]`.
pub struct WordPiece {
    vocab: HashMap<String, u32>,
    cls: u32,
    sep: u32,
    unk: u32,
}

impl WordPiece {
    /// Reads the vocabulary of a WordPiece `tokenizer.json`.
    pub fn load(path: &Path) -> Result<WordPiece, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let vocab = json["model"]["vocab"]
            .as_object()
            .ok_or_else(|| format!("{}: no WordPiece vocabulary", path.display()))?
            .iter()
            .filter_map(|(token, id)| Some((token.clone(), u32::try_from(id.as_u64()?).ok()?)))
            .collect();
        WordPiece::from_vocab(vocab).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// A tokenizer over this vocabulary (which must hold `[CLS]`, `[SEP]` and `[UNK]`).
    pub fn from_vocab(vocab: HashMap<String, u32>) -> Result<WordPiece, String> {
        let special = |name: &str| {
            vocab
                .get(name)
                .copied()
                .ok_or_else(|| format!("vocabulary has no {name}"))
        };
        Ok(WordPiece {
            cls: special("[CLS]")?,
            sep: special("[SEP]")?,
            unk: special("[UNK]")?,
            vocab,
        })
    }

    /// Token ids of `text` with `[CLS]` first and `[SEP]` last, at most `max_len` in all.
    pub fn encode(&self, text: &str, max_len: usize) -> Vec<u32> {
        let mut ids = vec![self.cls];
        for word in pre_tokenize(&normalize(text)) {
            self.word_pieces(&word, &mut ids);
        }
        ids.truncate(max_len.max(2) - 1);
        ids.push(self.sep);
        ids
    }

    /// Greedy longest-match-first split of one word into vocabulary pieces.
    fn word_pieces(&self, word: &str, ids: &mut Vec<u32>) {
        let chars: Vec<(usize, char)> = word.char_indices().collect();
        if chars.len() > MAX_WORD_CHARS {
            ids.push(self.unk);
            return;
        }
        let mut pieces = Vec::new();
        let mut start = 0;
        let mut candidate = String::new();
        while start < chars.len() {
            let mut end = chars.len();
            let mut found = None;
            while end > start {
                let from = chars[start].0;
                let to = chars.get(end).map_or(word.len(), |c| c.0);
                candidate.clear();
                if start > 0 {
                    candidate.push_str("##");
                }
                candidate.push_str(&word[from..to]);
                if let Some(&id) = self.vocab.get(&candidate) {
                    found = Some(id);
                    break;
                }
                end -= 1;
            }
            match found {
                Some(id) => pieces.push(id),
                None => {
                    // One unknown piece makes the whole word unknown, as in BERT.
                    ids.push(self.unk);
                    return;
                }
            }
            start = end;
        }
        ids.extend(pieces);
    }
}

/// BERT's normalizer: control characters dropped, whitespace unified, CJK characters spaced,
/// lower case with accents stripped.
fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '\0' || c == '\u{fffd}' || (c.is_control() && !c.is_whitespace()) {
            continue;
        }
        if c.is_whitespace() {
            out.push(' ');
        } else if is_cjk(c) {
            out.push(' ');
            out.push(c);
            out.push(' ');
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out.nfd().filter(|c| !is_combining_mark(*c)).collect()
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x20000..=0x2A6DF | 0x2A700..=0x2B73F
        | 0x2B740..=0x2B81F | 0x2B820..=0x2CEAF | 0xF900..=0xFAFF | 0x2F800..=0x2FA1F)
}

/// Punctuation as BERT splits it: every non-alphanumeric ASCII sign, and Unicode punctuation.
fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(c,
            '\u{2010}'..='\u{2027}' | '\u{2030}'..='\u{205E}' | '\u{3000}'..='\u{303F}'
            | '¡' | '§' | '«' | '¶' | '·' | '»' | '¿')
}

/// Splits on whitespace and around each punctuation character.
fn pre_tokenize(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if c.is_whitespace() || is_punctuation(c) {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            if is_punctuation(c) {
                words.push(c.to_string());
            }
        } else {
            word.push(c);
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokenizer() -> WordPiece {
        let vocab = [
            "[CLS]", "[SEP]", "[UNK]", "cancel", "##led", "my", "order", "!", "cafe", "un",
            "##want", "##ed",
        ];
        WordPiece::from_vocab(
            vocab
                .iter()
                .enumerate()
                .map(|(i, t)| (t.to_string(), i as u32))
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn splits_words_into_pieces() {
        let t = tokenizer();
        assert_eq!(t.encode("Cancelled my ORDER!", 64), [0, 3, 4, 5, 6, 7, 1]);
        assert_eq!(t.encode("unwanted café", 64), [0, 9, 10, 11, 8, 1]);
        assert_eq!(t.encode("my xyz order", 64), [0, 5, 2, 6, 1]);
        assert_eq!(t.encode("my order my order", 4), [0, 5, 6, 1]);
    }
}
