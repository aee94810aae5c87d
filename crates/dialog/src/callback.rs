//! The `callback` step: the caller leaves a number (or keeps the one they call from) and an
//! agent calls back later, instead of waiting on. The call stores the request; the dialplan
//! goes on at `next` (typically "we will call you back", then goodbye).

use std::collections::BTreeMap;

use crate::template::Template;

/// Fewest digits a callback number has (shorter ones are extensions or typing mistakes).
const MIN_DIGITS: usize = 3;
/// Most digits of a phone number (E.164 allows 15; a little slack for national prefixes).
const MAX_DIGITS: usize = 18;

/// A `callback` node as written.
#[derive(Debug, Clone)]
pub(crate) struct Callback {
    /// The number to call back; empty or absent: the number the caller calls from.
    pub(crate) number: Option<Template>,
    /// The queue whose agents call back; absent: the queue the caller last waited in.
    pub(crate) queue: Option<String>,
    /// Where the call goes once the request is taken.
    pub(crate) next: String,
    /// Where the call goes when there is no usable number (absent: `next`).
    pub(crate) on_invalid: Option<String>,
}

/// What the call is asked to store by a `callback` step.
#[derive(Debug, Clone, PartialEq)]
pub struct CallbackRequest {
    /// The number to call, digits with an optional leading `+`.
    pub number: String,
    /// The queue whose agents should call back (None: the dialplan never queued the caller
    /// and named none).
    pub queue: Option<String>,
    /// What the agent should know, one line (as the queue step's summary).
    pub summary: String,
    /// The dialplan's variables that have a value.
    pub vars: BTreeMap<String, String>,
}

/// The callback number in `entered` (digits typed or spoken, separators allowed), else the
/// user part of the caller's address `caller` (`sip:+15550100@trunk`): None when neither holds
/// a plausible phone number.
pub(crate) fn callback_number(entered: &str, caller: &str) -> Option<String> {
    phone_number(entered).or_else(|| {
        let user = caller
            .trim_start_matches('<')
            .split_once(':')
            .map_or(caller, |(_, rest)| rest);
        let user = user.split(['@', ';', '>']).next().unwrap_or("");
        phone_number(user)
    })
}

/// `text` as a phone number (digits, optional leading `+`; spaces, dashes, dots and
/// parentheses dropped), if it is one.
fn phone_number(text: &str) -> Option<String> {
    let text = text.trim();
    let (plus, rest) = match text.strip_prefix('+') {
        Some(rest) => ("+", rest),
        None => ("", text),
    };
    let mut digits = String::with_capacity(rest.len());
    for c in rest.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' | '(' | ')' => {}
            _ => return None,
        }
    }
    (MIN_DIGITS..=MAX_DIGITS)
        .contains(&digits.len())
        .then(|| format!("{plus}{digits}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entered_number_wins_over_the_callers() {
        assert_eq!(
            callback_number("555 0199", "sip:+15550100@trunk").as_deref(),
            Some("5550199")
        );
        assert_eq!(
            callback_number("+44 (20) 7946-0958", "sip:100@x").as_deref(),
            Some("+442079460958")
        );
    }

    #[test]
    fn without_an_entry_the_callers_number_is_used() {
        for caller in [
            "sip:+15550100@trunk",
            "<sip:+15550100@trunk;user=phone>",
            "tel:+15550100",
            "sips:+15550100@trunk:5061",
        ] {
            assert_eq!(
                callback_number("", caller).as_deref(),
                Some("+15550100"),
                "{caller}"
            );
        }
    }

    #[test]
    fn no_plausible_number_is_none() {
        assert_eq!(
            callback_number("12", "sip:anonymous@anonymous.invalid"),
            None
        );
        assert_eq!(callback_number("", "sip:alice@example.com"), None);
        assert_eq!(callback_number("1234567890123456789", "sip:x@y"), None);
        assert_eq!(callback_number("55a5", "sip:4@y"), None);
        assert_eq!(callback_number("", ""), None);
    }
}
