//! Text preparation for speech synthesis: sentences (so the first one can play while the rest is
//! made), clauses (so punctuation becomes a pause), and codes read digit by digit.

/// Words whose trailing period is an abbreviation, not the end of a sentence (lowercase, without
/// the period). Dotted forms such as "e.g." and "U.S." are recognised without a list.
const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs", "inc", "ltd", "co", "corp", "dept",
    "approx", "ave", "blvd", "rd", "mt", "ft", "ext", "tel",
];

/// Marks that end a sentence.
const SENTENCE_MARKS: &[char] = &['.', '!', '?', '…'];

/// Closing quotes and brackets that belong to the sentence before them.
const CLOSERS: &[char] = &['"', '\'', ')', ']', '”', '’'];

/// Splits text into sentences, each trimmed and keeping its final punctuation. A period ends a
/// sentence only when whitespace and a word that is not lowercase follow, and the word before it
/// is not an abbreviation ("Mr.", "e.g."); decimals ("3.5") never split. Blank lines also end a
/// sentence.
pub fn split_sentences(text: &str) -> Vec<String> {
    let mut sentences = Vec::new();
    for paragraph in text.split("\n\n").flat_map(|p| p.split("\r\n\r\n")) {
        let paragraph = paragraph.split_whitespace().collect::<Vec<_>>().join(" ");
        let mut start = 0;
        let mut chars = paragraph.char_indices().peekable();
        while let Some((pos, c)) = chars.next() {
            if !SENTENCE_MARKS.contains(&c) {
                continue;
            }
            let mut end = pos + c.len_utf8();
            while let Some(&(next_pos, next)) = chars.peek() {
                if !SENTENCE_MARKS.contains(&next) && !CLOSERS.contains(&next) {
                    break;
                }
                end = next_pos + next.len_utf8();
                chars.next();
            }
            let (before, after) = (&paragraph[start..pos], &paragraph[end..]);
            if ends_sentence(before, after, c) {
                push_trimmed(&mut sentences, &paragraph[start..end]);
                start = end;
            }
        }
        push_trimmed(&mut sentences, &paragraph[start..]);
    }
    sentences
}

fn push_trimmed(out: &mut Vec<String>, piece: &str) {
    let piece = piece.trim();
    if !piece.is_empty() {
        out.push(piece.to_string());
    }
}

/// Whether a sentence mark between `before` and `after` ends the sentence.
fn ends_sentence(before: &str, after: &str, mark: char) -> bool {
    if after.is_empty() {
        return true;
    }
    // No space after the mark: a decimal ("3.5"), a dotted abbreviation ("e.g") or a URL.
    if !after.starts_with(char::is_whitespace) {
        return false;
    }
    let next_word = after.trim_start();
    if next_word.starts_with(char::is_lowercase) {
        return false;
    }
    if mark != '.' {
        return true;
    }
    let last_word = before
        .split_whitespace()
        .last()
        .unwrap_or("")
        .trim_start_matches(['(', '"', '\'', '“', '‘'])
        .to_lowercase();
    let dotted = last_word.contains('.')
        && last_word
            .split('.')
            .all(|part| part.len() <= 2 && part.chars().all(char::is_alphabetic));
    let numbered = last_word == "no" && next_word.starts_with(|c: char| c.is_ascii_digit());
    !(ABBREVIATIONS.contains(&last_word.as_str()) || dotted || numbered)
}

/// A piece of a sentence spoken without a break, and the punctuation that ends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    /// The words of the clause, without the closing punctuation.
    pub text: String,
    /// The punctuation after the clause (`,` `;` `:` `.` `!` `?`), if any; it becomes a pause.
    pub punctuation: Option<char>,
}

/// Splits one sentence into clauses at `,` `;` `:` (followed by a space, so "3,500" and "10:30"
/// stay whole), at spaced dashes, and at the sentence's final mark. A period inside a sentence
/// belongs to an abbreviation and does not split.
pub fn split_clauses(sentence: &str) -> Vec<Clause> {
    let mut clauses = Vec::new();
    let mut current = String::new();
    let mut chars = sentence.chars().peekable();
    while let Some(c) = chars.next() {
        let followed_by_space = chars.peek().is_none_or(|next| next.is_whitespace());
        let punctuation = match c {
            ',' | ';' | ':' | '!' | '?' if followed_by_space => Some(c),
            '.' | '…' if chars.peek().is_none() => Some('.'),
            '-' | '–' | '—' if followed_by_space && current.ends_with(' ') => Some(','),
            _ => None,
        };
        match punctuation {
            Some(mark) => {
                let text = current.trim();
                if !text.is_empty() {
                    clauses.push(Clause {
                        text: text.to_string(),
                        punctuation: Some(mark),
                    });
                }
                current.clear();
            }
            None => current.push(c),
        }
    }
    let text = current.trim();
    if !text.is_empty() {
        clauses.push(Clause {
            text: text.to_string(),
            punctuation: None,
        });
    }
    clauses
}

/// Spells a code character by character ("A-1234" → "A, 1 2 3 4"), for order numbers, phone
/// numbers and codes a listener has to write down. espeak reads a lone "A" as the article
/// unless a break follows, so every letter but a final one is followed by a comma.
pub fn spell_digits(code: &str) -> String {
    let characters: Vec<char> = code.chars().filter(|c| c.is_alphanumeric()).collect();
    let mut spelled = String::new();
    for (index, c) in characters.iter().enumerate() {
        if index > 0 {
            spelled.push(' ');
        }
        spelled.extend(c.to_uppercase());
        if c.is_alphabetic() && index + 1 < characters.len() {
            spelled.push(',');
        }
    }
    spelled
}

/// Rewrites the codes in a sentence so they are read character by character: words that mix
/// letters and digits ("A-1234", "X7"), digit groups joined by dashes ("555-0134"), digit runs
/// of five or more, and numbers with a leading zero. Plain numbers ("42", "2024"), amounts
/// ("3.50", "1,000") and ordinals ("2nd") are left to the phonemizer, which reads them as
/// numbers. No pause is added after a code: the voice swallows a word starting a clause after
/// one ("A, 1 2 3 4, has shipped" was heard as "a ship").
pub fn spell_codes(sentence: &str) -> String {
    sentence
        .split(' ')
        .map(|word| {
            let core = word.trim_end_matches(|c: char| !c.is_alphanumeric());
            let core = core.trim_start_matches(|c: char| !c.is_alphanumeric());
            if is_code(core) {
                word.replacen(core, &spell_digits(core), 1)
            } else {
                word.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn is_code(word: &str) -> bool {
    let digits = word.chars().filter(char::is_ascii_digit).count();
    if digits == 0 || !word.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return false;
    }
    let letters = word.chars().filter(char::is_ascii_alphabetic).count();
    let lower = word.to_ascii_lowercase();
    let ordinal = ["st", "nd", "rd", "th"].iter().any(|suffix| {
        lower
            .strip_suffix(suffix)
            .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()))
    });
    if ordinal {
        return false;
    }
    letters > 0 || word.contains('-') || digits >= 5 || (word.starts_with('0') && digits > 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_split_on_marks_followed_by_a_capital() {
        assert_eq!(
            split_sentences("Thank you for calling. Your order A-1234 has shipped."),
            ["Thank you for calling.", "Your order A-1234 has shipped."]
        );
        assert_eq!(
            split_sentences("Really?! Yes. \"Done.\" Next"),
            ["Really?!", "Yes.", "\"Done.\"", "Next"]
        );
    }

    #[test]
    fn sentences_keep_abbreviations_decimals_and_codes_whole() {
        let text =
            "Mr. Smith paid 3.5 dollars, e.g. for order A-1234. Dr. Who is in. Use No. 5 now.";
        assert_eq!(
            split_sentences(text),
            [
                "Mr. Smith paid 3.5 dollars, e.g. for order A-1234.",
                "Dr. Who is in.",
                "Use No. 5 now."
            ]
        );
        assert_eq!(
            split_sentences("It is 5 p.m. now. Bye"),
            ["It is 5 p.m. now.", "Bye"]
        );
    }

    #[test]
    fn blank_lines_end_sentences_and_single_newlines_do_not() {
        assert_eq!(
            split_sentences("Press 1 for sales\nor 2 for support\n\nGoodbye"),
            ["Press 1 for sales or 2 for support", "Goodbye"]
        );
        assert!(split_sentences("  \n ").is_empty());
    }

    #[test]
    fn clauses_carry_their_punctuation() {
        let clauses = split_clauses("Hello, the total is 3,500 dollars; at 10:30 - sharp.");
        let got: Vec<_> = clauses
            .iter()
            .map(|c| (c.text.as_str(), c.punctuation))
            .collect();
        assert_eq!(
            got,
            [
                ("Hello", Some(',')),
                ("the total is 3,500 dollars", Some(';')),
                ("at 10:30", Some(',')),
                ("sharp", Some('.'))
            ]
        );
        assert_eq!(split_clauses("Mr. Smith")[0].text, "Mr. Smith");
        assert_eq!(split_clauses("no end")[0].punctuation, None);
    }

    #[test]
    fn codes_are_spelled_and_numbers_are_not() {
        assert_eq!(spell_digits("a-1234"), "A, 1 2 3 4");
        assert_eq!(spell_digits("12AB"), "1 2 A, B");
        assert_eq!(
            spell_codes("Your order A-1234 has shipped."),
            "Your order A, 1 2 3 4 has shipped."
        );
        assert_eq!(
            spell_codes("Call 555-0134, ref X7."),
            "Call 5 5 5 0 1 3 4, ref X, 7."
        );
        assert_eq!(
            spell_codes("Code 004512 or 123456"),
            "Code 0 0 4 5 1 2 or 1 2 3 4 5 6"
        );
        let unchanged = "Pay 42 dollars, 3.50 each, 1,000 in 2024 on the 2nd.";
        assert_eq!(spell_codes(unchanged), unchanged);
    }
}
