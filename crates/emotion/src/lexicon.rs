//! A sentiment lexicon: word → valence from −4 (most negative) to +4, in the tab-separated
//! format of VADER's `vader_lexicon.txt` (word, mean rating, then columns we ignore).
//! `models/fetch.sh` installs that file under `models/lexicon/`; it is data, read at start.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Where `models/fetch.sh` puts the lexicon, relative to the repository root.
pub const DEFAULT_LEXICON_PATH: &str = "models/lexicon/vader_lexicon.txt";

/// Why a lexicon could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LexiconError {
    /// The file could not be read.
    #[error("cannot read the sentiment lexicon {path}: {source} (run models/fetch.sh)")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A line is not `word<TAB>valence…`.
    #[error("sentiment lexicon line {line}: expected `word<TAB>valence`, got {text:?}")]
    Format {
        /// 1-based line number.
        line: usize,
        /// The line.
        text: String,
    },
}

/// Word valences, looked up by lower-case word.
#[derive(Debug, Clone, Default)]
pub struct SentimentLexicon {
    valences: HashMap<String, f32>,
}

impl SentimentLexicon {
    /// Reads a lexicon file.
    pub fn load(path: &Path) -> Result<Self, LexiconError> {
        let text = std::fs::read_to_string(path).map_err(|source| LexiconError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Parses lexicon text (blank lines are skipped; anything else must be `word<TAB>valence…`).
    pub fn parse(text: &str) -> Result<Self, LexiconError> {
        let mut valences = HashMap::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() {
                continue;
            }
            let mut columns = line.split('\t');
            let word = columns.next().unwrap_or_default();
            let valence = columns.next().and_then(|v| v.trim().parse::<f32>().ok());
            match valence {
                Some(v) if !word.is_empty() && v.is_finite() => {
                    valences.insert(word.to_lowercase(), v);
                }
                _ => {
                    return Err(LexiconError::Format {
                        line: index + 1,
                        text: line.chars().take(80).collect(),
                    });
                }
            }
        }
        Ok(Self { valences })
    }

    /// The valence of a lower-case word, −4..4.
    pub fn valence(&self, word: &str) -> Option<f32> {
        self.valences.get(word).copied()
    }

    /// Number of words.
    pub fn len(&self) -> usize {
        self.valences.len()
    }

    /// Whether the lexicon has no words.
    pub fn is_empty(&self) -> bool {
        self.valences.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_vader_format() {
        let lexicon =
            SentimentLexicon::parse("angry\t-2.3\t0.64\t[-3, -2]\r\n\r\nGreat\t3.1\t0.7\t[3]\n")
                .unwrap();
        assert_eq!(lexicon.len(), 2);
        assert_eq!(lexicon.valence("angry"), Some(-2.3));
        assert_eq!(lexicon.valence("great"), Some(3.1));
        assert_eq!(lexicon.valence("calm"), None);
    }

    #[test]
    fn bad_lines_and_missing_files_say_where() {
        let err = SentimentLexicon::parse("good\t1.9\nbroken line\n").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
        let err = SentimentLexicon::load(Path::new("/nonexistent/lexicon.txt")).unwrap_err();
        assert!(err.to_string().contains("models/fetch.sh"), "{err}");
    }
}
