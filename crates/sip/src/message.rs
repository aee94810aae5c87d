//! SIP messages: a strict parser (RFC 3261 §7, §25) and a serializer.
//!
//! Parsing keeps every header as text and checks the framing (start line, header syntax,
//! Content-Length); the per-header grammar is checked by [`crate::validate`]. The two steps are
//! split so that a message with a bad header can still be answered with a 400.

use std::fmt::{self, Write as _};

/// Longest message we accept; UDP datagrams are smaller, TCP streams are cut here.
pub const MAX_MESSAGE_SIZE: usize = 65_535;

/// The first line of a SIP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartLine {
    /// `METHOD Request-URI SIP/2.0`.
    Request {
        /// Method token, case-sensitive as RFC 3261 requires.
        method: String,
        /// Request-URI, unparsed.
        uri: String,
        /// Protocol version, e.g. `SIP/2.0`.
        version: String,
    },
    /// `SIP/2.0 Status-Code Reason-Phrase`.
    Response {
        /// Status code.
        code: u16,
        /// Reason phrase (may be empty).
        reason: String,
    },
}

/// One header line after unfolding; `name` is the canonical long form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Canonical name (`Via`, `Call-ID`, …) or the name as received for unknown headers.
    pub name: String,
    /// Value with surrounding whitespace removed.
    pub value: String,
}

/// A parsed SIP request or response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipMessage {
    /// Request or status line.
    pub start: StartLine,
    /// Headers in the order received.
    pub headers: Vec<Header>,
    /// Body, exactly Content-Length bytes.
    pub body: Vec<u8>,
}

/// Why a datagram or stream chunk is not a SIP message at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Human-readable reason, used as the 400 reason phrase when an answer is possible.
    pub reason: String,
    /// The message as far as it could be read, so a 400 can copy Via/From/To/Call-ID/CSeq.
    pub partial: Option<Box<SipMessage>>,
    /// The SIP version was not 2.0 (answer 505 instead of 400).
    pub bad_version: bool,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for ParseError {}

fn error(reason: impl Into<String>, partial: Option<SipMessage>) -> ParseError {
    ParseError {
        reason: reason.into(),
        partial: partial.map(Box::new),
        bad_version: false,
    }
}

/// Expands RFC 3261 compact header names and canonicalises the case of known ones.
pub fn canonical_name(name: &str) -> String {
    const KNOWN: &[&str] = &[
        "Accept",
        "Accept-Encoding",
        "Accept-Language",
        "Allow",
        "Authorization",
        "Call-ID",
        "Contact",
        "Content-Disposition",
        "Content-Encoding",
        "Content-Length",
        "Content-Type",
        "CSeq",
        "Date",
        "Event",
        "Expires",
        "From",
        "Max-Forwards",
        "Proxy-Authenticate",
        "Proxy-Authorization",
        "Proxy-Require",
        "Record-Route",
        "Refer-To",
        "Referred-By",
        "Require",
        "Route",
        "Server",
        "Subject",
        "Supported",
        "To",
        "Unsupported",
        "User-Agent",
        "Via",
        "WWW-Authenticate",
    ];
    let compact = match name.to_ascii_lowercase().as_str() {
        "i" => Some("Call-ID"),
        "m" => Some("Contact"),
        "e" => Some("Content-Encoding"),
        "l" => Some("Content-Length"),
        "c" => Some("Content-Type"),
        "f" => Some("From"),
        "s" => Some("Subject"),
        "k" => Some("Supported"),
        "t" => Some("To"),
        "v" => Some("Via"),
        "o" => Some("Event"),
        "r" => Some("Refer-To"),
        "b" => Some("Referred-By"),
        _ => None,
    };
    if let Some(c) = compact {
        return c.to_string();
    }
    KNOWN
        .iter()
        .find(|k| k.eq_ignore_ascii_case(name))
        .map(|k| k.to_string())
        .unwrap_or_else(|| name.to_string())
}

/// RFC 3261 `token` characters.
pub fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
                )
        })
}

/// Finds the end of the header section: the index just past the blank line.
pub fn header_end(data: &[u8]) -> Option<usize> {
    data.windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 4)
}

/// Length of the first complete message at the start of a TCP stream buffer, if it is all there.
/// Leading CRLFs (keep-alives) count as a zero-length message of that many bytes.
pub fn frame_length(buf: &[u8]) -> Result<Option<usize>, ParseError> {
    let skip = buf
        .iter()
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .count();
    if skip > 0 {
        return Ok(Some(skip));
    }
    let Some(end) = header_end(buf) else {
        if buf.len() > MAX_MESSAGE_SIZE {
            return Err(error("Message Too Large", None));
        }
        return Ok(None);
    };
    let head = String::from_utf8_lossy(&buf[..end]);
    let length = head
        .split("\r\n")
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| canonical_name(k.trim()) == "Content-Length")
        .map(|(_, v)| parse_content_length(v));
    match length {
        Some(Some(len)) if buf.len() >= end + len => Ok(Some(end + len)),
        Some(Some(_)) => Ok(None),
        // A stream cannot be framed without a valid Content-Length (RFC 3261 §18.3).
        _ => Err(error("Missing or bad Content-Length on a stream", None)),
    }
}

/// Parses one complete message (a UDP datagram, or a frame cut from a TCP stream).
pub fn parse(data: &[u8]) -> Result<SipMessage, ParseError> {
    if data.len() > MAX_MESSAGE_SIZE {
        return Err(error("Message Too Large", None));
    }
    // A datagram ends the message, so a missing final blank line is tolerated there.
    let end = match header_end(data) {
        Some(end) => end,
        None if data.ends_with(b"\r\n") => data.len() + 2,
        None => return Err(error("Missing blank line after headers", None)),
    };
    let head_len = end.min(data.len() + 2) - 4;
    let head = String::from_utf8_lossy(&data[..head_len]);
    let mut lines = head.split("\r\n");
    let first = lines.next().unwrap_or_default();

    let mut headers: Vec<Header> = Vec::new();
    let mut header_error: Option<String> = None;
    for line in lines {
        if line.starts_with([' ', '\t']) {
            match headers.last_mut() {
                Some(h) => {
                    let cont = line.trim();
                    if !cont.is_empty() {
                        if !h.value.is_empty() {
                            h.value.push(' ');
                        }
                        h.value.push_str(cont);
                    }
                }
                None => {
                    header_error.get_or_insert_with(|| "Folded line before any header".into());
                }
            }
            continue;
        }
        match line.split_once(':') {
            Some((name, value)) => {
                let name = name.trim_end_matches([' ', '\t']);
                if !is_token(name) {
                    header_error.get_or_insert_with(|| format!("Bad header name {name:?}"));
                    continue;
                }
                headers.push(Header {
                    name: canonical_name(name),
                    value: value.trim().to_string(),
                });
            }
            None => {
                header_error.get_or_insert_with(|| format!("Header line without colon: {line:?}"));
            }
        }
    }

    let (start, start_error, bad_version) = parse_start_line(first);
    let mut message = SipMessage {
        start: start.unwrap_or(StartLine::Request {
            method: String::new(),
            uri: String::new(),
            version: String::new(),
        }),
        headers,
        body: Vec::new(),
    };
    if let Some(reason) = start_error {
        return Err(ParseError {
            reason,
            partial: Some(Box::new(message)),
            bad_version,
        });
    }
    if let Some(reason) = header_error {
        return Err(error(reason, Some(message)));
    }

    let available = data.get(end..).unwrap_or_default();
    let lengths = message.header_values("Content-Length");
    match lengths.as_slice() {
        [] => message.body = available.to_vec(),
        [one] => match parse_content_length(one) {
            Some(len) if len <= available.len() => message.body = available[..len].to_vec(),
            Some(_) => return Err(error("Content-Length larger than message", Some(message))),
            None => return Err(error("Bad Content-Length", Some(message))),
        },
        _ => return Err(error("Multiple Content-Length headers", Some(message))),
    }
    Ok(message)
}

/// Parses a Content-Length value: decimal digits only, within the message size limit.
pub fn parse_content_length(value: &str) -> Option<usize> {
    let v = value.trim();
    if v.is_empty() || v.len() > 10 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse::<usize>().ok().filter(|&n| n <= MAX_MESSAGE_SIZE)
}

fn parse_start_line(line: &str) -> (Option<StartLine>, Option<String>, bool) {
    if let Some(rest) = line.strip_prefix("SIP/") {
        // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase
        let mut parts = rest.splitn(3, ' ');
        let version = parts.next().unwrap_or_default();
        let code = parts.next().unwrap_or_default();
        let reason = parts.next().unwrap_or_default().to_string();
        if version != "2.0" {
            return (None, Some("Version Not Supported".into()), true);
        }
        return match code.parse::<u16>() {
            Ok(c) if (100..700).contains(&c) && code.len() == 3 => {
                (Some(StartLine::Response { code: c, reason }), None, false)
            }
            _ => (None, Some(format!("Bad status code {code:?}")), false),
        };
    }
    let parts: Vec<&str> = line.split(' ').collect();
    if parts.len() != 3 || parts.iter().any(|p| p.is_empty()) {
        // Keep the method so the request can still be answered with a 400.
        let method = parts
            .first()
            .copied()
            .filter(|m| is_token(m))
            .unwrap_or_default();
        let start = StartLine::Request {
            method: method.to_string(),
            uri: String::new(),
            version: String::new(),
        };
        return (
            Some(start),
            Some("Malformed Request-Line (need METHOD SP URI SP SIP/2.0)".into()),
            false,
        );
    }
    let (method, uri, version) = (parts[0], parts[1], parts[2]);
    let start = StartLine::Request {
        method: method.to_string(),
        uri: uri.to_string(),
        version: version.to_string(),
    };
    if !is_token(method) {
        return (Some(start), Some(format!("Bad method {method:?}")), false);
    }
    if !version.eq_ignore_ascii_case("SIP/2.0") {
        return (Some(start), Some("Version Not Supported".into()), true);
    }
    if uri.contains(['<', '>', '"', '\t']) || !uri.contains(':') {
        return (
            Some(start),
            Some(format!("Malformed Request-URI {uri:?}")),
            false,
        );
    }
    (Some(start), None, false)
}

/// Splits a header value at commas that are outside quotes and angle brackets.
pub fn split_list(value: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut quoted, mut angle, mut escaped) = (false, false, false);
    let mut start = 0;
    for (i, c) in value.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' if !quoted && !angle => {
                out.push(value[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(value[start..].trim());
    out.retain(|s| !s.is_empty());
    out
}

impl SipMessage {
    /// Builds a request with no headers.
    pub fn request(method: &str, uri: &str) -> Self {
        SipMessage {
            start: StartLine::Request {
                method: method.to_string(),
                uri: uri.to_string(),
                version: "SIP/2.0".into(),
            },
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Builds a response with no headers.
    pub fn response(code: u16, reason: &str) -> Self {
        SipMessage {
            start: StartLine::Response {
                code,
                reason: reason.to_string(),
            },
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// The request method, or None for a response.
    pub fn method(&self) -> Option<&str> {
        match &self.start {
            StartLine::Request { method, .. } => Some(method),
            StartLine::Response { .. } => None,
        }
    }

    /// The status code, or None for a request.
    pub fn status(&self) -> Option<u16> {
        match &self.start {
            StartLine::Response { code, .. } => Some(*code),
            StartLine::Request { .. } => None,
        }
    }

    /// The first value of a header (canonical name), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    /// All header lines with that name, unsplit.
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
            .collect()
    }

    /// All comma-separated elements of a list header, across its lines.
    pub fn header_list(&self, name: &str) -> Vec<&str> {
        self.header_values(name)
            .into_iter()
            .flat_map(split_list)
            .collect()
    }

    /// Appends a header.
    pub fn push(&mut self, name: &str, value: impl Into<String>) -> &mut Self {
        self.headers.push(Header {
            name: name.to_string(),
            value: value.into(),
        });
        self
    }

    /// Replaces every header of that name by one value (or appends it).
    pub fn set(&mut self, name: &str, value: impl Into<String>) -> &mut Self {
        self.remove(name);
        self.push(name, value)
    }

    /// Removes every header of that name.
    pub fn remove(&mut self, name: &str) {
        self.headers.retain(|h| !h.name.eq_ignore_ascii_case(name));
    }

    /// Sets the body and its Content-Type (Content-Length is written on serialization).
    pub fn set_body(&mut self, content_type: &str, body: Vec<u8>) {
        self.set("Content-Type", content_type);
        self.body = body;
    }

    /// Serializes with a correct Content-Length.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut s = String::with_capacity(512 + self.body.len());
        match &self.start {
            StartLine::Request {
                method,
                uri,
                version,
            } => {
                let _ = write!(s, "{method} {uri} {version}\r\n");
            }
            StartLine::Response { code, reason } => {
                let _ = write!(s, "SIP/2.0 {code} {reason}\r\n");
            }
        }
        for h in self
            .headers
            .iter()
            .filter(|h| !h.name.eq_ignore_ascii_case("Content-Length"))
        {
            let _ = write!(s, "{}: {}\r\n", h.name, h.value);
        }
        let _ = write!(s, "Content-Length: {}\r\n\r\n", self.body.len());
        let mut out = s.into_bytes();
        out.extend_from_slice(&self.body);
        out
    }
}

impl fmt::Display for SipMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.to_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_folded_and_compact_headers() {
        let raw = b"INVITE sip:bob@example.com SIP/2.0\r\nv: SIP/2.0/UDP a.example;branch=z9hG4bK1\r\nSubject: one\r\n two\r\nl: 4\r\n\r\nbodyEXTRA";
        let m = parse(raw).unwrap();
        assert_eq!(m.method(), Some("INVITE"));
        assert_eq!(
            m.header("Via"),
            Some("SIP/2.0/UDP a.example;branch=z9hG4bK1")
        );
        assert_eq!(m.header("subject"), Some("one two"));
        assert_eq!(m.body, b"body");
    }

    #[test]
    fn rejects_bad_framing() {
        assert!(parse(b"INVITE sip:a@b SIP/2.0").is_err());
        let e = parse(b"INVITE sip:a@b SIP/7.0\r\nCall-ID: x\r\n\r\n").unwrap_err();
        assert!(e.bad_version);
        let e = parse(b"INVITE  sip:a@b SIP/2.0\r\nCall-ID: x\r\n\r\n").unwrap_err();
        assert!(e.reason.contains("Request-Line"), "{e}");
        let e = parse(b"INVITE sip:a@b SIP/2.0\r\nl: 10\r\n\r\nab").unwrap_err();
        assert!(e.reason.contains("larger"));
        let e = parse(b"INVITE sip:a@b SIP/2.0\r\nl: -1\r\n\r\n").unwrap_err();
        assert!(e.reason.contains("Content-Length"));
        let e = parse(b"INVITE sip:a@b SIP/2.0\r\nl: 0\r\nContent-Length: 0\r\n\r\n").unwrap_err();
        assert!(e.reason.contains("Multiple"));
        assert!(parse(b"SIP/2.0 4294967301 big\r\nCall-ID: x\r\n\r\n").is_err());
    }

    #[test]
    fn frames_a_stream() {
        let one = b"OPTIONS sip:a@b SIP/2.0\r\nl: 3\r\n\r\nabc";
        let mut stream = b"\r\n\r\n".to_vec();
        stream.extend_from_slice(one);
        stream.extend_from_slice(b"OPTIONS sip:a@b SIP/2.0\r\n");
        assert_eq!(frame_length(&stream), Ok(Some(4)));
        assert_eq!(frame_length(&stream[4..]), Ok(Some(one.len())));
        assert_eq!(frame_length(&stream[4 + one.len()..]), Ok(None));
        assert!(frame_length(b"OPTIONS sip:a@b SIP/2.0\r\n\r\n").is_err());
    }

    #[test]
    fn splits_lists_outside_quotes_and_brackets() {
        assert_eq!(
            split_list(r#""a, b" <sip:x@y;p=1,2>, <sip:z@w>"#),
            vec![r#""a, b" <sip:x@y;p=1,2>"#, "<sip:z@w>"]
        );
    }

    #[test]
    fn round_trips() {
        let mut m = SipMessage::response(200, "OK");
        m.push("Call-ID", "abc");
        m.set_body("application/sdp", b"v=0\r\n".to_vec());
        let back = parse(&m.to_bytes()).unwrap();
        assert_eq!(back.status(), Some(200));
        assert_eq!(back.header("Content-Length"), Some("5"));
        assert_eq!(back.body, b"v=0\r\n");
    }
}
