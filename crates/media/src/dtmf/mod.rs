//! DTMF in the three forms a call meets it: RFC 4733 telephone events, in-band tones, and the
//! tone generator used to make them.

mod inband;
mod rfc4733;
mod tone;

pub use inband::InbandDtmfDetector;
pub use rfc4733::{DtmfEventPacket, Rfc4733Receiver, Rfc4733Sender};
pub use tone::{dbm0_to_amplitude, dtmf_frequencies, dtmf_tone, dual_tone};

/// A character that is not one of the sixteen DTMF keys.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("'{0}' is not a DTMF key (0-9, *, #, A-D)")]
pub struct InvalidDigit(pub char);

/// RFC 4733 event code of a key (0-9, * = 10, # = 11, A-D = 12-15); lower-case a-d accepted.
pub fn event_code(digit: char) -> Option<u8> {
    match digit.to_ascii_uppercase() {
        d @ '0'..='9' => Some(d as u8 - b'0'),
        '*' => Some(10),
        '#' => Some(11),
        d @ 'A'..='D' => Some(d as u8 - b'A' + 12),
        _ => None,
    }
}

/// The key for an RFC 4733 event code, `None` for the non-DTMF events (flash, tones, …).
pub fn event_digit(code: u8) -> Option<char> {
    match code {
        0..=9 => Some(char::from(b'0' + code)),
        10 => Some('*'),
        11 => Some('#'),
        12..=15 => Some(char::from(b'A' + code - 12)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_codes_cover_the_sixteen_keys_both_ways() {
        let keys = "0123456789*#ABCD";
        for (code, key) in keys.chars().enumerate() {
            assert_eq!(event_code(key), Some(code as u8));
            assert_eq!(event_digit(code as u8), Some(key));
        }
        assert_eq!(event_code('b'), Some(13));
        assert_eq!(event_code('E'), None);
        assert_eq!(event_digit(16), None);
    }
}
