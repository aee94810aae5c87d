//! Finding and masking personal data in transcript text (sans-IO: text in, spans out).
//!
//! What counts:
//!
//! * **card**: 13–19 digits, in groups separated by single spaces or dashes, passing the Luhn
//!   check; masked as `[card ••••1234]` (the last four, as receipts print them).
//! * **number**: any other run of 6 or more digits (phone, account, IBAN-like numbers), digits
//!   and spelled-out digit words alike ("four five one two nine nine", as recognizers often
//!   write read-out numbers), groups joined by a space, a dash or ", "; masked as `••••`.
//! * **email**: `local@domain.tld`; masked as `[email]`.
//!
//! What does not: runs under 6 digits (the demo's 4-digit order numbers, "3 pm", "10:30",
//! "$20"), amounts after a currency sign ("$1 250 000"), dates written `2025-01-31` or
//! `31-01-2025`, decimals ("1.5"), and digits joined by a bare comma ("1,200").
//!
//! Offsets are in characters (Unicode scalar values), not bytes.

use serde::Serialize;

/// What kind of personal data a span holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PiiKind {
    /// A Luhn-valid card number.
    Card,
    /// Another long number (6+ digits).
    Number,
    /// An e-mail address.
    Email,
}

/// Personal data at characters `start..end` of a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PiiSpan {
    /// First character.
    pub start: usize,
    /// One past the last character.
    pub end: usize,
    /// What it is.
    pub kind: PiiKind,
}

/// The shortest digit run that counts as personal data.
pub const MIN_NUMBER_DIGITS: usize = 6;
/// The card number lengths (ISO/IEC 7812).
pub const CARD_DIGITS: std::ops::RangeInclusive<usize> = 13..=19;

const DIGIT_WORDS: [(&str, u8); 11] = [
    ("zero", 0),
    ("oh", 0),
    ("one", 1),
    ("two", 2),
    ("three", 3),
    ("four", 4),
    ("five", 5),
    ("six", 6),
    ("seven", 7),
    ("eight", 8),
    ("nine", 9),
];

/// Every span of personal data in `text`, in order, not overlapping.
pub fn detect(text: &str) -> Vec<PiiSpan> {
    let chars: Vec<char> = text.chars().collect();
    let mut spans = emails(&chars);
    spans.extend(numbers(&chars, &spans));
    spans.sort_by_key(|s| s.start);
    spans
}

/// `text` with every span replaced by its mask, and the spans' places in the masked text.
pub fn mask(text: &str, spans: &[PiiSpan]) -> (String, Vec<PiiSpan>) {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut out_len = 0;
    let mut masked = Vec::with_capacity(spans.len());
    let mut at = 0;
    for span in spans {
        let kept: String = chars[at..span.start].iter().collect();
        out_len += span.start - at;
        out.push_str(&kept);
        let replacement = match span.kind {
            PiiKind::Card => {
                let digits: String = chars[span.start..span.end]
                    .iter()
                    .filter(|c| c.is_ascii_digit())
                    .collect();
                format!("[card ••••{}]", &digits[digits.len().saturating_sub(4)..])
            }
            PiiKind::Number => "••••".to_string(),
            PiiKind::Email => "[email]".to_string(),
        };
        let len = replacement.chars().count();
        masked.push(PiiSpan {
            start: out_len,
            end: out_len + len,
            kind: span.kind,
        });
        out.push_str(&replacement);
        out_len += len;
        at = span.end;
    }
    out.extend(&chars[at..]);
    (out, masked)
}

/// Whether `digits` passes the Luhn check.
pub fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if !i.is_multiple_of(2) {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    !digits.is_empty() && sum.is_multiple_of(10)
}

fn is_local_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "._%+-".contains(c)
}

fn is_domain_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '.'
}

/// `local@domain.tld` around each `@`.
fn emails(chars: &[char]) -> Vec<PiiSpan> {
    let mut spans = Vec::new();
    for (at, _) in chars.iter().enumerate().filter(|(_, c)| **c == '@') {
        let mut start = at;
        while start > 0 && is_local_char(chars[start - 1]) {
            start -= 1;
        }
        // A sentence's full stop is not part of the address.
        while start < at && chars[start] == '.' {
            start += 1;
        }
        let mut end = at + 1;
        while end < chars.len() && is_domain_char(chars[end]) {
            end += 1;
        }
        while end > at + 1 && matches!(chars[end - 1], '.' | '-') {
            end -= 1;
        }
        let domain: String = chars[at + 1..end].iter().collect();
        let tld_ok = domain.rsplit_once('.').is_some_and(|(host, tld)| {
            !host.is_empty() && tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic())
        });
        let overlaps = spans.last().is_some_and(|s: &PiiSpan| s.end > start);
        if start < at && tld_ok && !overlaps {
            spans.push(PiiSpan {
                start,
                end,
                kind: PiiKind::Email,
            });
        }
    }
    spans
}

/// A word of the text: characters `start..end`, and its digits if it is a number or a digit
/// word.
struct Token {
    start: usize,
    end: usize,
    digits: Option<Vec<u8>>,
    numeral: bool,
}

fn tokens(chars: &[char]) -> Vec<Token> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_alphanumeric() {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && chars[i].is_alphanumeric() {
            i += 1;
        }
        let word: String = chars[start..i].iter().collect();
        let numeral = word.chars().all(|c| c.is_ascii_digit());
        let digits = if numeral {
            Some(word.bytes().map(|b| b - b'0').collect())
        } else {
            let lower = word.to_lowercase();
            DIGIT_WORDS
                .iter()
                .find(|(w, _)| *w == lower)
                .map(|(_, d)| vec![*d])
        };
        out.push(Token {
            start,
            end: i,
            digits,
            numeral,
        });
    }
    out
}

/// Whether the characters between two digit tokens keep them in one number: a space, a dash,
/// ", " or " - " (at most three characters, no bare comma as in "1,200").
fn joins(gap: &[char]) -> bool {
    let text: String = gap.iter().collect();
    matches!(text.as_str(), " " | "-" | ", " | " - " | "  ")
}

fn numbers(chars: &[char], emails: &[PiiSpan]) -> Vec<PiiSpan> {
    let in_email = |t: &Token| emails.iter().any(|e| t.start < e.end && e.start < t.end);
    let tokens: Vec<Token> = tokens(chars).into_iter().filter(|t| !in_email(t)).collect();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if tokens[i].digits.is_none() {
            i += 1;
            continue;
        }
        let mut j = i + 1;
        while j < tokens.len()
            && tokens[j].digits.is_some()
            && joins(&chars[tokens[j - 1].end..tokens[j].start])
        {
            j += 1;
        }
        if let Some(span) = classify(chars, &tokens[i..j]) {
            spans.push(span);
        }
        i = j;
    }
    spans
}

/// What a run of digit tokens is, if it is personal data.
fn classify(chars: &[char], run: &[Token]) -> Option<PiiSpan> {
    let (first, last) = (run.first()?, run.last()?);
    let digits: Vec<u8> = run
        .iter()
        .flat_map(|t| t.digits.iter().flatten().copied())
        .collect();
    if digits.len() < MIN_NUMBER_DIGITS {
        return None;
    }
    // An amount: "$1 250 000".
    if first.start > 0 && "$€£¥".contains(chars[first.start - 1]) {
        return None;
    }
    let all_numerals = run.iter().all(|t| t.numeral);
    if all_numerals && is_date(chars, run) {
        return None;
    }
    let kind = if all_numerals && CARD_DIGITS.contains(&digits.len()) && luhn(&digits) {
        PiiKind::Card
    } else {
        PiiKind::Number
    };
    Some(PiiSpan {
        start: first.start,
        end: last.end,
        kind,
    })
}

/// `2025-01-31` or `31-01-2025`: three dash-joined numerals shaped like a date.
fn is_date(chars: &[char], run: &[Token]) -> bool {
    let [a, b, c] = run else {
        return false;
    };
    let len = |t: &Token| t.end - t.start;
    let dashes = chars[a.end..b.start] == ['-'] && chars[b.end..c.start] == ['-'];
    let shape = (len(a), len(b), len(c));
    dashes && (shape == (4, 2, 2) || (len(a) <= 2 && len(b) <= 2 && len(c) == 4))
}

/// The share of a line's time a span takes, for a text of `chars` characters spoken from
/// `start_ms` to `end_ms`: proportional to the characters before and through it.
pub fn span_times(span: &PiiSpan, chars: usize, start_ms: u64, end_ms: u64) -> (u64, u64) {
    let length = end_ms.saturating_sub(start_ms);
    let at =
        |offset: usize| start_ms + (length as u128 * offset as u128 / chars.max(1) as u128) as u64;
    (at(span.start), at(span.end))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kinds and texts found.
    fn found(text: &str) -> Vec<(PiiKind, String)> {
        let chars: Vec<char> = text.chars().collect();
        detect(text)
            .into_iter()
            .map(|s| (s.kind, chars[s.start..s.end].iter().collect()))
            .collect()
    }

    fn masked(text: &str) -> String {
        mask(text, &detect(text)).0
    }

    #[test]
    fn luhn_valid_and_invalid() {
        let digits = |s: &str| s.bytes().map(|b| b - b'0').collect::<Vec<u8>>();
        assert!(luhn(&digits("4111111111111111")));
        assert!(luhn(&digits("5500005555555559")));
        assert!(luhn(&digits("378282246310005")));
        assert!(luhn(&digits("79927398713")));
        assert!(!luhn(&digits("4111111111111112")));
        assert!(!luhn(&digits("79927398710")));
        assert!(!luhn(&[]));
    }

    #[test]
    fn card_numbers_inside_sentences() {
        use PiiKind::*;
        assert_eq!(
            found("my card is 4111 1111 1111 1111 thanks"),
            [(Card, "4111 1111 1111 1111".into())]
        );
        assert_eq!(
            found("It's 4111-1111-1111-1111."),
            [(Card, "4111-1111-1111-1111".into())]
        );
        assert_eq!(
            found("4111111111111111"),
            [(Card, "4111111111111111".into())]
        );
        assert_eq!(
            found("amex 3782 822463 10005 ok"),
            [(Card, "3782 822463 10005".into())]
        );
        assert_eq!(
            masked("my card is 4111 1111 1111 1111 thanks"),
            "my card is [card ••••1111] thanks"
        );
    }

    #[test]
    fn a_luhn_invalid_long_number_is_still_masked_as_a_number() {
        assert_eq!(
            found("card 4111 1111 1111 1112"),
            [(PiiKind::Number, "4111 1111 1111 1112".into())]
        );
        assert_eq!(masked("card 4111 1111 1111 1112"), "card ••••");
    }

    #[test]
    fn long_numbers_and_spoken_digits() {
        use PiiKind::*;
        assert_eq!(
            found("call me on 555-123-4567"),
            [(Number, "555-123-4567".into())]
        );
        assert_eq!(
            found("account 12345678, please"),
            [(Number, "12345678".into())]
        );
        assert_eq!(
            found("it is four five one two nine nine and"),
            [(Number, "four five one two nine nine".into())]
        );
        assert_eq!(
            found("Four, five, 1, 2, oh, seven."),
            [(Number, "Four, five, 1, 2, oh, seven".into())]
        );
        assert_eq!(masked("pin 123456"), "pin ••••");
    }

    #[test]
    fn no_false_positives() {
        for text in [
            "Where is my parcel, order 4512?",
            "order number 4 5 1 2",
            "four five one two",
            "see you at 3 pm",
            "at 10:30 tomorrow",
            "it costs $20",
            "it costs $1 250 000 in total",
            "that is 1,200 dollars",
            "on 2025-01-31 or 31-01-2025",
            "version 1.5.12.3",
            "I want one, maybe two",
            "one two three four five",
            "someone at the office",
            "rate me @ 5",
        ] {
            assert_eq!(found(text), [], "{text}");
        }
    }

    #[test]
    fn email_addresses() {
        use PiiKind::*;
        assert_eq!(
            found("write to jane.doe+shop@example.co.uk."),
            [(Email, "jane.doe+shop@example.co.uk".into())]
        );
        assert_eq!(found("a@b.c is not one"), []);
        assert_eq!(found("@example.com"), []);
        assert_eq!(masked("mail bob@mail.example.com now"), "mail [email] now");
    }

    #[test]
    fn spans_in_the_masked_text_point_at_the_masks() {
        let text = "café 4111111111111111 or ann@x.org";
        let spans = detect(text);
        assert_eq!(spans.len(), 2);
        assert_eq!(
            (spans[0].start, spans[0].end),
            (5, 21),
            "characters, not bytes"
        );
        let (out, moved) = mask(text, &spans);
        assert_eq!(out, "café [card ••••1111] or [email]");
        let chars: Vec<char> = out.chars().collect();
        let shown: Vec<String> = moved
            .iter()
            .map(|s| chars[s.start..s.end].iter().collect())
            .collect();
        assert_eq!(shown, ["[card ••••1111]", "[email]"]);
    }

    #[test]
    fn span_times_are_proportional() {
        let span = PiiSpan {
            start: 10,
            end: 20,
            kind: PiiKind::Number,
        };
        assert_eq!(span_times(&span, 40, 1000, 5000), (2000, 3000));
        assert_eq!(span_times(&span, 0, 1000, 1000), (1000, 1000));
    }
}
