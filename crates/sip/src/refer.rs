//! Call transfer: the Replaces header (RFC 3891) and the target of a REFER (RFC 3515).

use crate::headers::{NameAddr, param, parse_params, percent_decode};

/// The dialog a Replaces header names, seen from the user agent that receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replaces {
    /// Call-ID of the dialog to replace.
    pub call_id: String,
    /// The receiver's own tag in that dialog.
    pub to_tag: String,
    /// The other side's tag in that dialog.
    pub from_tag: String,
    /// Only an early (unanswered) dialog may be replaced.
    pub early_only: bool,
}

impl Replaces {
    /// Parses `call-id;to-tag=a;from-tag=b[;early-only]`.
    pub fn parse(value: &str) -> Result<Replaces, String> {
        let (call_id, params) = value.split_once(';').unwrap_or((value, ""));
        let call_id = call_id.trim();
        if call_id.is_empty() || call_id.contains(char::is_whitespace) {
            return Err("bad Call-ID in Replaces".into());
        }
        let params = parse_params(params)?;
        let tag = |name: &str| {
            param(&params, name)
                .flatten()
                .map(str::to_string)
                .ok_or_else(|| format!("Replaces without {name}"))
        };
        Ok(Replaces {
            call_id: call_id.to_string(),
            to_tag: tag("to-tag")?,
            from_tag: tag("from-tag")?,
            early_only: param(&params, "early-only").is_some(),
        })
    }
}

/// What a Refer-To header asks for: the URI to call and the dialog that call replaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferTarget {
    /// The URI to send the INVITE to, without its embedded headers.
    pub uri: String,
    /// The `Replaces` embedded in the URI (attended transfer), URL-decoded.
    pub replaces: Option<Replaces>,
}

impl ReferTarget {
    /// Parses a Refer-To value such as `<sip:bob@example.com?Replaces=abc%3Bto-tag%3D1%3Bfrom-tag%3D2>`.
    /// Some phones (baresip) send the URI bare, headers and all; with one URI in the header
    /// and no parameters after it, that is unambiguous, so it is read as if in `<>`.
    pub fn parse(value: &str) -> Result<ReferTarget, String> {
        let value = value.trim();
        let bare_with_headers = !value.contains(['<', ';', '"', ' ']) && value.contains('?');
        let target = if bare_with_headers {
            NameAddr::parse(&format!("<{value}>"))?
        } else {
            NameAddr::parse(value)?
        };
        let full = format!("{}:{}", target.uri.scheme, target.uri.rest);
        let (uri, headers) = full.split_once('?').unwrap_or((&full, ""));
        let mut replaces = None;
        for header in headers.split('&').filter(|h| !h.is_empty()) {
            let (name, value) = header.split_once('=').unwrap_or((header, ""));
            if name.eq_ignore_ascii_case("Replaces") {
                replaces = Some(Replaces::parse(&percent_decode(value))?);
            }
        }
        Ok(ReferTarget {
            uri: uri.to_string(),
            replaces,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_header() {
        let r = Replaces::parse("425928@bobster.example.org;to-tag=7743;from-tag=6472").unwrap();
        assert_eq!(r.call_id, "425928@bobster.example.org");
        assert_eq!((r.to_tag.as_str(), r.from_tag.as_str()), ("7743", "6472"));
        assert!(!r.early_only);
        assert!(
            Replaces::parse("a;from-tag=1;to-tag=2;early-only")
                .unwrap()
                .early_only
        );
        assert!(Replaces::parse("a;to-tag=2").is_err());
        assert!(Replaces::parse(";to-tag=2;from-tag=1").is_err());
        assert!(Replaces::parse("").is_err());
    }

    #[test]
    fn refer_to_with_embedded_replaces() {
        let t = ReferTarget::parse(
            "<sip:dave@denver.example.org;transport=tcp?Replaces=12345%40192.168.118.3%3Bto-tag%3D12345%3Bfrom-tag%3D5FFE-3994>",
        )
        .unwrap();
        assert_eq!(t.uri, "sip:dave@denver.example.org;transport=tcp");
        let r = t.replaces.unwrap();
        assert_eq!(r.call_id, "12345@192.168.118.3");
        assert_eq!(
            (r.to_tag.as_str(), r.from_tag.as_str()),
            ("12345", "5FFE-3994")
        );
        let plain = ReferTarget::parse("sip:carol@chicago.example.com").unwrap();
        assert_eq!(plain.uri, "sip:carol@chicago.example.com");
        assert!(plain.replaces.is_none());
        assert!(ReferTarget::parse("<sip:a@b?Replaces=x%3Bto-tag%3D1>").is_err());
        // baresip's bare form, and one that stays ambiguous (a parameter after the headers).
        let bare =
            ReferTarget::parse("sip:ben@10.0.0.1:5060?Replaces=c1%3Bto-tag%3Dt%3Bfrom-tag%3Df")
                .unwrap();
        assert_eq!(bare.uri, "sip:ben@10.0.0.1:5060");
        assert_eq!(bare.replaces.unwrap().call_id, "c1");
        assert!(
            ReferTarget::parse("sip:ben@x?Replaces=c1%3Bto-tag%3Dt%3Bfrom-tag%3Df;p=1").is_err()
        );
        assert!(ReferTarget::parse("<garbage").is_err());
        assert!(ReferTarget::parse("").is_err());
    }
}
