//! Slot values: what an intent of a `bot` step needs from the caller (an order number, a date,
//! an amount, a yes or no), read from what the caller said or keyed, checked against the
//! slot's limits, and read back for a confirmation.

use chrono::{Datelike, Duration as Days, NaiveDate, Weekday};

use crate::format::{DigitEntry, PromptPart};
use crate::understand::{TEENS, UNITS, is_number, spoken_digits, words, yes_or_no};

/// One value an intent needs, as written under `slots.NAME`.
#[derive(Debug, Clone)]
pub(crate) struct Slot {
    /// The variable that receives the value.
    pub(crate) name: String,
    pub(crate) kind: SlotKind,
    /// The question asking for it.
    pub(crate) ask: Vec<PromptPart>,
    /// Played before asking again after a value that is not valid; empty: the step's `no_match`.
    pub(crate) invalid: Vec<PromptPart>,
    /// Whether to read the value back ("I heard 4 5 1 2, is that right?") before taking it.
    pub(crate) confirm: bool,
}

/// The type of a slot and its limits.
#[derive(Debug, Clone)]
pub(crate) enum SlotKind {
    /// A digit string (spoken or keyed) whose length is within the entry's `min`..=`max`.
    Digits(DigitEntry),
    /// `yes` or `no`.
    YesNo,
    /// A calendar date, stored as `YYYY-MM-DD`.
    Date,
    /// Money, stored with two decimals (`25.50`); limits in cents.
    Amount {
        min_cents: Option<i64>,
        max_cents: Option<i64>,
    },
}

/// The slot types as written after `type =`.
pub(crate) const SLOT_TYPES: [&str; 4] = ["digits", "yes_no", "date", "amount"];

/// Why an answer to a slot question is not taken, for the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Invalid {
    /// Nothing of the slot's type was heard.
    NoValue,
    /// A value outside the slot's limits; the value as read.
    OutOfRange(String),
}

impl Invalid {
    /// The reason for the timeline.
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            Invalid::NoValue => "no value",
            Invalid::OutOfRange(_) => "out of range",
        }
    }
}

impl SlotKind {
    /// Whether the answer to this slot's question can be keyed.
    pub(crate) fn takes_keys(&self) -> bool {
        matches!(self, SlotKind::Digits(_) | SlotKind::YesNo)
    }

    /// The value in `text`, the caller's answer to this slot's question.
    pub(crate) fn read(&self, text: &str, today: NaiveDate) -> Result<String, Invalid> {
        let value = match self {
            SlotKind::Digits(entry) => {
                let digits = spoken_digits(text);
                return match digits.len() {
                    0 => Err(Invalid::NoValue),
                    _ if entry.accepts(&digits) => Ok(digits),
                    _ => Err(Invalid::OutOfRange(digits)),
                };
            }
            SlotKind::YesNo => yes_or_no(text).map(|yes| if yes { "yes" } else { "no" }.into()),
            SlotKind::Date => parse_date(text, today).map(|d| d.format("%Y-%m-%d").to_string()),
            SlotKind::Amount { .. } => parse_amount(text, false).map(cents_text),
        };
        let value = value.ok_or(Invalid::NoValue)?;
        if self.within_limits(&value) {
            Ok(value)
        } else {
            Err(Invalid::OutOfRange(value))
        }
    }

    /// A valid value mentioned in passing in `text`, an utterance not asked for this slot
    /// ("where is order 4512"); stricter than [`read`](Self::read): digits must form one run
    /// of number words of an accepted length, an amount needs a currency, and yes or no is
    /// never taken from a question.
    pub(crate) fn find(&self, text: &str, today: NaiveDate) -> Option<String> {
        let value = match self {
            SlotKind::Digits(entry) => {
                return number_runs(text)
                    .into_iter()
                    .map(|run| spoken_digits(&run))
                    .find(|digits| entry.accepts(digits));
            }
            SlotKind::YesNo => None,
            SlotKind::Date => parse_date(text, today).map(|d| d.format("%Y-%m-%d").to_string()),
            SlotKind::Amount { .. } => parse_amount(text, true).map(cents_text),
        }?;
        self.within_limits(&value).then_some(value)
    }

    /// The value of a digits slot entered by keys, if valid.
    pub(crate) fn keyed(&self, digits: &str) -> Result<String, Invalid> {
        match self {
            SlotKind::Digits(entry) if entry.accepts(digits) => Ok(digits.to_string()),
            SlotKind::Digits(_) if digits.is_empty() => Err(Invalid::NoValue),
            SlotKind::Digits(_) => Err(Invalid::OutOfRange(digits.to_string())),
            SlotKind::YesNo => match digits {
                "1" => Ok("yes".into()),
                "2" => Ok("no".into()),
                _ => Err(Invalid::NoValue),
            },
            _ => Err(Invalid::NoValue),
        }
    }

    fn within_limits(&self, value: &str) -> bool {
        match self {
            SlotKind::Amount {
                min_cents,
                max_cents,
            } => {
                let cents = text_cents(value);
                min_cents.is_none_or(|min| cents >= min) && max_cents.is_none_or(|max| cents <= max)
            }
            _ => true,
        }
    }

    /// The value as it is read back to the caller: digits one by one, dates in words.
    pub(crate) fn spoken(&self, value: &str) -> String {
        match self {
            SlotKind::Digits(_) => value
                .chars()
                .map(String::from)
                .collect::<Vec<_>>()
                .join(" "),
            SlotKind::Date => NaiveDate::parse_from_str(value, "%Y-%m-%d")
                .map(|d| d.format("%A, %B %-d, %Y").to_string())
                .unwrap_or_else(|_| value.to_string()),
            SlotKind::YesNo | SlotKind::Amount { .. } => value.to_string(),
        }
    }
}

/// The runs of consecutive number words in `text` ("order 4512 and 7788" → "4512", "7788").
fn number_runs(text: &str) -> Vec<String> {
    let mut runs = Vec::new();
    let mut run: Vec<String> = Vec::new();
    for word in words(text) {
        // "oh" inside a run is zero ("four oh five"); alone it is an interjection.
        let oh = matches!(word.as_str(), "oh" | "o") && !run.is_empty();
        if is_number(&word) || oh {
            run.push(word);
        } else if !run.is_empty() {
            runs.push(std::mem::take(&mut run).join(" "));
        }
    }
    if !run.is_empty() {
        runs.push(run.join(" "));
    }
    runs
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];
const WEEKDAYS: [(&str, Weekday); 7] = [
    ("monday", Weekday::Mon),
    ("tuesday", Weekday::Tue),
    ("wednesday", Weekday::Wed),
    ("thursday", Weekday::Thu),
    ("friday", Weekday::Fri),
    ("saturday", Weekday::Sat),
    ("sunday", Weekday::Sun),
];
const ORDINALS: [&str; 19] = [
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
    "eleventh",
    "twelfth",
    "thirteenth",
    "fourteenth",
    "fifteenth",
    "sixteenth",
    "seventeenth",
    "eighteenth",
    "nineteenth",
];

/// 1..=19 from a cardinal word.
fn one_to_nineteen(word: &str) -> Option<usize> {
    let at = UNITS.iter().chain(TEENS.iter()).position(|w| *w == word)?;
    (at > 0).then_some(at)
}

/// 1..=19 from an ordinal or cardinal word.
fn small_number(word: &str) -> Option<u32> {
    let at = ORDINALS
        .iter()
        .position(|w| *w == word)
        .map(|i| i + 1)
        .or_else(|| one_to_nineteen(word))?;
    Some(at as u32)
}

/// A day of the month at `words[at..]`: "3", "3rd", "third", "twenty first", "thirtieth";
/// the day and the words it took.
fn day_of_month(words: &[String], at: usize) -> Option<(u32, usize)> {
    let word = words.get(at)?.as_str();
    let numeral = word.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    if !numeral.is_empty() && numeral.len() <= 2 && numeral.chars().all(|c| c.is_ascii_digit()) {
        let suffix = &word[numeral.len()..];
        if ["", "st", "nd", "rd", "th"].contains(&suffix) {
            return numeral.parse().ok().map(|day| (day, 1));
        }
        return None;
    }
    let tens = match word {
        "twenty" | "twentieth" => 20,
        "thirty" | "thirtieth" => 30,
        _ => return small_number(word).map(|day| (day, 1)),
    };
    match words.get(at + 1).and_then(|w| small_number(w)) {
        Some(unit) if unit < 10 && !word.ends_with("ieth") => Some((tens + unit, 2)),
        _ => Some((tens, 1)),
    }
}

/// A date in `text`, relative to `today` where it is relative: "today", "tomorrow",
/// "yesterday", "the day after tomorrow", "(on|next|last) Monday", "March 3rd", "the third
/// of March", "3/3" (month/day), "3/3/2026", "2026-03-03". A month and day without a year
/// are in the current year.
pub(crate) fn parse_date(text: &str, today: NaiveDate) -> Option<NaiveDate> {
    for token in text.split_whitespace() {
        let token = token.trim_matches(|c: char| !c.is_ascii_alphanumeric());
        if let Ok(date) = NaiveDate::parse_from_str(token, "%Y-%m-%d") {
            return Some(date);
        }
        let parts: Vec<&str> = token.split('/').collect();
        if let [month, day, rest @ ..] = parts.as_slice()
            && rest.len() <= 1
        {
            let year = match rest.first() {
                Some(y) if y.len() == 2 => y.parse::<i32>().ok().map(|y| 2000 + y),
                Some(y) => y.parse().ok(),
                None => Some(today.year()),
            };
            if let (Ok(month), Ok(day), Some(year)) = (month.parse(), day.parse(), year) {
                return NaiveDate::from_ymd_opt(year, month, day);
            }
        }
    }
    let words = words(text);
    let joined = words.join(" ");
    for (phrase, offset) in [
        ("day after tomorrow", 2),
        ("day before yesterday", -2),
        ("tomorrow", 1),
        ("today", 0),
        ("yesterday", -1),
    ] {
        if joined.contains(phrase) {
            return today.checked_add_signed(Days::days(offset));
        }
    }
    for (i, word) in words.iter().enumerate() {
        if let Some(month) = MONTHS.iter().position(|m| m == word) {
            let month = month as u32 + 1;
            // "March 3rd", "March the third"; else "the third of March".
            let after = usize::from(words.get(i + 1).is_some_and(|w| w == "the"));
            let (day, year_at) = match day_of_month(&words, i + 1 + after) {
                Some((day, used)) => (day, i + 1 + after + used),
                None => {
                    let before = i.checked_sub(1).filter(|&b| words[b] == "of");
                    let found = before.and_then(|b| {
                        [2, 1]
                            .into_iter()
                            .filter_map(|back| b.checked_sub(back))
                            .find_map(|start| {
                                day_of_month(&words, start).filter(|(_, used)| start + used == b)
                            })
                    });
                    (found?.0, i + 1)
                }
            };
            let year = words
                .get(year_at)
                .filter(|y| y.len() == 4)
                .and_then(|y| y.parse().ok())
                .unwrap_or(today.year());
            return NaiveDate::from_ymd_opt(year, month, day);
        }
        if let Some((_, weekday)) = WEEKDAYS.iter().find(|(name, _)| name == word) {
            let ahead =
                (weekday.num_days_from_monday() + 7 - today.weekday().num_days_from_monday()) % 7;
            let offset = match i.checked_sub(1).map(|b| words[b].as_str()) {
                Some("last") => i64::from(ahead) - 7,
                Some("next") if ahead == 0 => 7,
                _ => i64::from(ahead),
            };
            return today.checked_add_signed(Days::days(offset));
        }
    }
    None
}

/// One piece of a spoken amount.
#[derive(Debug, Clone, Copy, PartialEq)]
enum AmountPart {
    /// A number, in cents.
    Number(i64),
    /// A numeral with decimals: already an amount, in cents.
    Decimal(i64),
    /// dollars, euros, pounds, bucks (or a currency sign before a number).
    Major,
    /// cents, pence.
    Minor,
    /// "point", before decimals said digit by digit.
    Point,
    Other,
}

/// The pieces of a spoken or written amount: numbers (number words merged), currencies.
fn amount_parts(text: &str) -> Vec<AmountPart> {
    let lower = text.to_lowercase();
    let mut tokens: Vec<String> = Vec::new();
    for raw in lower.split_whitespace() {
        let mut token = raw.trim_end_matches(['.', ',', '?', '!', ';', ':']);
        if let Some(rest) = token.strip_prefix(['$', '€', '£']) {
            tokens.push("dollars".into());
            token = rest;
        }
        let numeral = token.replace(',', "");
        if !numeral.is_empty() && numeral.chars().all(|c| c.is_ascii_digit() || c == '.') {
            tokens.push(numeral);
        } else {
            tokens.extend(words(token));
        }
    }
    let mut parts = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let token = tokens[i].as_str();
        if let Some((value, used)) = cardinal(&tokens[i..]) {
            parts.push(AmountPart::Number(value * 100));
            i += used;
            continue;
        }
        if token == "and" {
            // "twenty dollars and fifty cents": a joint, not a piece.
            i += 1;
            continue;
        }
        parts.push(match token {
            "dollar" | "dollars" | "buck" | "bucks" | "euro" | "euros" | "pound" | "pounds" => {
                AmountPart::Major
            }
            "cent" | "cents" | "penny" | "pence" => AmountPart::Minor,
            "point" => AmountPart::Point,
            _ => match token.split_once('.') {
                Some((whole, fraction)) if fraction.len() <= 2 && !fraction.is_empty() => {
                    let whole: i64 = whole.parse().unwrap_or(0);
                    let fraction: i64 = format!("{fraction:0<2}").parse().unwrap_or(0);
                    AmountPart::Decimal(whole * 100 + fraction)
                }
                _ => AmountPart::Other,
            },
        });
        i += 1;
    }
    parts
}

/// A whole number at the start of `tokens`, in words ("one hundred and twenty five") or a
/// numeral; the number and the tokens it took. "twenty five fifty" stops before "fifty".
fn cardinal(tokens: &[String]) -> Option<(i64, usize)> {
    let first = tokens.first()?;
    if !first.is_empty() && first.chars().all(|c| c.is_ascii_digit()) {
        return first.parse().ok().map(|n| (n, 1));
    }
    let (mut total, mut current, mut used) = (0i64, 0i64, 0usize);
    let mut last_was_unit = false;
    let mut i = 0;
    while let Some(word) = tokens.get(i).map(String::as_str) {
        let next_is_number = tokens.get(i + 1).is_some_and(|w| word_value(w).is_some());
        match word {
            "a" if matches!(
                tokens.get(i + 1).map(String::as_str),
                Some("hundred" | "thousand")
            ) =>
            {
                current = 1;
            }
            "and" if used > 0 && next_is_number => {}
            "hundred" if used > 0 => current = current.max(1) * 100,
            "thousand" if used > 0 => {
                total += current.max(1) * 1000;
                current = 0;
            }
            _ => match word_value(word) {
                Some(v) if v >= 20 && current % 100 == 0 => current += v,
                Some(v)
                    if v < 10 && !last_was_unit && (current % 100 == 0 || current % 10 == 0) =>
                {
                    current += v
                }
                Some(v) if (10..20).contains(&v) && current % 100 == 0 => current += v,
                _ => break,
            },
        }
        last_was_unit = word_value(word).is_some_and(|v| v < 20);
        i += 1;
        used = i;
    }
    (used > 0).then_some((total + current, used))
}

/// The value of one number word below a hundred (zero included).
fn word_value(word: &str) -> Option<i64> {
    const TENS: [&str; 8] = [
        "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
    ];
    if word == "zero" {
        return Some(0);
    }
    if let Some(n) = one_to_nineteen(word) {
        return Some(n as i64);
    }
    TENS.iter()
        .position(|w| *w == word)
        .map(|at| (at as i64 + 2) * 10)
}

/// An amount in cents from "$25.50", "25.50 dollars", "twenty five dollars fifty", "twenty
/// five dollars and fifty cents", "fifty cents", "twenty five point five", "twenty five
/// fifty" (dollars and cents); a bare number is whole dollars. With `needs_currency` only
/// amounts that name a currency count ("I was charged 30 dollars", not "order 30").
pub(crate) fn parse_amount(text: &str, needs_currency: bool) -> Option<i64> {
    let parts = amount_parts(text);
    let start = parts
        .iter()
        .position(|p| matches!(p, AmountPart::Number(_) | AmountPart::Decimal(_)))?;
    let currency = parts[..start].last() == Some(&AmountPart::Major)
        || parts[start..]
            .iter()
            .any(|p| matches!(p, AmountPart::Major | AmountPart::Minor));
    if needs_currency && !currency {
        return None;
    }
    let rest = &parts[start + 1..];
    let cents_after = |rest: &[AmountPart]| match rest {
        [AmountPart::Number(c), ..] if *c < 100 * 100 => Some(*c / 100),
        _ => None,
    };
    match (parts[start], rest) {
        (AmountPart::Decimal(cents), _) => Some(cents),
        (AmountPart::Number(cents), [AmountPart::Minor, ..]) => Some(cents / 100),
        (AmountPart::Number(whole), [AmountPart::Major, tail @ ..]) => {
            Some(whole + cents_after(tail).unwrap_or(0))
        }
        (AmountPart::Number(whole), [AmountPart::Point, tail @ ..]) => {
            // Decimals said digit by digit: "point five zero".
            let digits: String = tail
                .iter()
                .map_while(|p| match p {
                    AmountPart::Number(n) if *n < 1000 => char::from_digit((*n / 100) as u32, 10),
                    _ => None,
                })
                .take(2)
                .collect();
            let fraction: i64 = format!("{digits:0<2}").parse().unwrap_or(0);
            Some(whole + fraction)
        }
        (AmountPart::Number(whole), tail) => Some(whole + cents_after(tail).unwrap_or(0)),
        _ => None,
    }
}

/// Cents as the text a variable holds: `2550` → `25.50`.
fn cents_text(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// The cents of a text made by [`cents_text`].
fn text_cents(text: &str) -> i64 {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, "0"));
    whole.parse::<i64>().unwrap_or(0) * 100 + fraction.parse::<i64>().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// Monday, 2 March 2026.
    fn monday() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()
    }

    fn date(text: &str) -> Option<String> {
        parse_date(text, monday()).map(|d| d.to_string())
    }

    #[test]
    fn relative_and_calendar_dates() {
        assert_eq!(date("tomorrow please").as_deref(), Some("2026-03-03"));
        assert_eq!(date("It was yesterday.").as_deref(), Some("2026-03-01"));
        assert_eq!(
            date("the day after tomorrow").as_deref(),
            Some("2026-03-04")
        );
        assert_eq!(date("on Friday").as_deref(), Some("2026-03-06"));
        assert_eq!(date("on Monday").as_deref(), Some("2026-03-02"));
        assert_eq!(date("next Monday").as_deref(), Some("2026-03-09"));
        assert_eq!(date("last Saturday").as_deref(), Some("2026-02-28"));
        assert_eq!(date("March 3rd").as_deref(), Some("2026-03-03"));
        assert_eq!(date("on March the third").as_deref(), Some("2026-03-03"));
        assert_eq!(
            date("the twenty first of May").as_deref(),
            Some("2026-05-21")
        );
        assert_eq!(date("3rd of March 2027").as_deref(), Some("2027-03-03"));
        assert_eq!(date("December 31 2025").as_deref(), Some("2025-12-31"));
        assert_eq!(date("3/3").as_deref(), Some("2026-03-03"));
        assert_eq!(date("on 12/24/25.").as_deref(), Some("2025-12-24"));
        assert_eq!(date("2026-04-30").as_deref(), Some("2026-04-30"));
        for none in ["February 30th", "some day", "may I ask something", "13/40"] {
            assert_eq!(date(none), None, "{none}");
        }
    }

    #[test]
    fn amounts_spoken_and_written() {
        let amount = |text: &str| parse_amount(text, false).map(cents_text);
        assert_eq!(amount("$25.50").as_deref(), Some("25.50"));
        assert_eq!(amount("it was 25.5 dollars").as_deref(), Some("25.50"));
        assert_eq!(
            amount("twenty five dollars fifty").as_deref(),
            Some("25.50")
        );
        assert_eq!(
            amount("twenty five dollars and fifty cents").as_deref(),
            Some("25.50")
        );
        assert_eq!(amount("twenty five fifty").as_deref(), Some("25.50"));
        assert_eq!(amount("fifty cents").as_deref(), Some("0.50"));
        assert_eq!(amount("twenty five point five").as_deref(), Some("25.50"));
        assert_eq!(
            amount("a hundred and twenty dollars").as_deref(),
            Some("120.00")
        );
        assert_eq!(
            amount("one thousand two hundred euros").as_deref(),
            Some("1200.00")
        );
        assert_eq!(amount("$1,200").as_deref(), Some("1200.00"));
        assert_eq!(amount("forty").as_deref(), Some("40.00"));
        assert_eq!(amount("no idea"), None);
        assert_eq!(parse_amount("order 30 please", true), None);
        assert_eq!(
            parse_amount("I was charged 30 dollars twice", true),
            Some(3000)
        );
    }

    fn digits(min: usize, max: usize) -> SlotKind {
        SlotKind::Digits(DigitEntry {
            min,
            max,
            terminator: Some('#'),
            inter_digit_timeout: Duration::from_secs(3),
        })
    }

    #[test]
    fn slot_values_asked_for_and_mentioned_in_passing() {
        let order = digits(4, 8);
        assert_eq!(
            order.read("double five one two", monday()),
            Ok("5512".into())
        );
        assert_eq!(
            order.read("four five", monday()),
            Err(Invalid::OutOfRange("45".into()))
        );
        assert_eq!(order.read("I don't know", monday()), Err(Invalid::NoValue));
        assert_eq!(
            order.find("I ordered two things, where is order 4512", monday()),
            Some("4512".into())
        );
        assert_eq!(order.find("where is my order", monday()), None);
        assert_eq!(order.keyed("4512"), Ok("4512".into()));
        assert_eq!(SlotKind::YesNo.keyed("2"), Ok("no".into()));
        assert_eq!(SlotKind::YesNo.find("yes, where is it", monday()), None);
        let refund = SlotKind::Amount {
            min_cents: Some(100),
            max_cents: Some(50_000),
        };
        assert_eq!(refund.read("twelve dollars", monday()), Ok("12.00".into()));
        assert_eq!(
            refund.read("nine hundred dollars", monday()),
            Err(Invalid::OutOfRange("900.00".into()))
        );
        assert_eq!(order.spoken("4512"), "4 5 1 2");
        assert_eq!(
            SlotKind::Date.spoken("2026-03-03"),
            "Tuesday, March 3, 2026"
        );
    }
}
