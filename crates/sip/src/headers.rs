//! Typed views of the headers the endpoint acts on: Via, From/To/Contact, CSeq, URIs.

use crate::message::is_token;

/// `;name=value` parameters, in order; a flag parameter has no value.
pub type Params = Vec<(String, Option<String>)>;

/// Looks a parameter up by case-insensitive name.
pub fn param<'a>(params: &'a Params, name: &str) -> Option<Option<&'a str>> {
    params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_deref())
}

/// Parses `;a=b;c` (the leading `;` optional). Whitespace around `;` and `=` is allowed.
pub fn parse_params(s: &str) -> Result<Params, String> {
    let mut out = Params::new();
    for part in s.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = match part.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v.trim().to_string())),
            None => (part, None),
        };
        if !is_token(k) {
            return Err(format!("bad parameter name {k:?}"));
        }
        if let Some(v) = &v {
            let quoted = v.len() >= 2 && v.starts_with('"') && v.ends_with('"');
            if v.is_empty() || (!quoted && v.contains([' ', '"'])) {
                return Err(format!("bad value for parameter {k}"));
            }
        }
        out.push((k.to_string(), v));
    }
    Ok(out)
}

/// A SIP or SIPS URI (other schemes keep only `scheme` and `rest`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uri {
    /// `sip`, `sips`, `tel`, …, lower case.
    pub scheme: String,
    /// User part, still percent-encoded.
    pub user: Option<String>,
    /// Host (IPv6 keeps its brackets).
    pub host: String,
    /// Port if given.
    pub port: Option<u16>,
    /// URI parameters.
    pub params: Params,
    /// Everything after the scheme, for non-SIP schemes and re-serialization.
    pub rest: String,
    /// The URI carries `?header=value` parts.
    pub has_headers: bool,
}

impl Uri {
    /// Parses a URI; SIP/SIPS URIs are split into their parts.
    pub fn parse(s: &str) -> Result<Uri, String> {
        let (scheme, rest) = s
            .split_once(':')
            .ok_or_else(|| format!("URI without scheme: {s:?}"))?;
        if !scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
            || scheme.is_empty()
        {
            return Err(format!("bad URI scheme {scheme:?}"));
        }
        let scheme = scheme.to_ascii_lowercase();
        if rest.contains([' ', '<', '>', '"']) {
            return Err(format!("bad characters in URI {s:?}"));
        }
        let mut uri = Uri {
            scheme: scheme.clone(),
            user: None,
            host: String::new(),
            port: None,
            params: Params::new(),
            rest: rest.to_string(),
            has_headers: false,
        };
        if scheme != "sip" && scheme != "sips" {
            return Ok(uri);
        }
        // The user part may itself hold '?', ';' and ',' (RFC 3261 user-unreserved).
        let (userinfo, hostpart) = match rest.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, rest),
        };
        let (hostpart, headers) = match hostpart.split_once('?') {
            Some((h, _)) => (h, true),
            None => (hostpart, false),
        };
        uri.has_headers = headers;
        if let Some(u) = userinfo {
            let user = u.split(':').next().unwrap_or_default();
            if user.is_empty() {
                return Err("empty user in URI".into());
            }
            uri.user = Some(user.to_string());
        }
        let (hostport, params) = match hostpart.split_once(';') {
            Some((h, p)) => (h, p),
            None => (hostpart, ""),
        };
        uri.params = parse_params(params)?;
        let (host, port) = split_host_port(hostport)?;
        uri.host = host;
        uri.port = port;
        Ok(uri)
    }

    /// The user part with percent-escapes decoded (lossy UTF-8).
    pub fn user_decoded(&self) -> Option<String> {
        self.user.as_deref().map(percent_decode)
    }

    /// RFC 3261 §19.1.4 comparison: decoded user exact, host case-insensitive, same port, and
    /// URI parameters agreeing (the significant ones must be in both).
    pub fn equivalent(&self, other: &Uri) -> bool {
        if self.scheme != other.scheme {
            return false;
        }
        if self.scheme != "sip" && self.scheme != "sips" {
            return self.rest == other.rest;
        }
        const SIGNIFICANT: [&str; 5] = ["user", "ttl", "method", "maddr", "transport"];
        let agrees = |a: &Uri, b: &Uri| {
            a.params.iter().all(|(k, v)| match param(&b.params, k) {
                Some(w) => match (v.as_deref(), w) {
                    (Some(v), Some(w)) => v.eq_ignore_ascii_case(w),
                    (v, w) => v == w,
                },
                None => !SIGNIFICANT.iter().any(|s| s.eq_ignore_ascii_case(k)),
            })
        };
        self.user_decoded() == other.user_decoded()
            && self.host.eq_ignore_ascii_case(&other.host)
            && self.port == other.port
            && agrees(self, other)
            && agrees(other, self)
    }
}

/// Decodes `%XX` escapes; invalid escapes are kept as they are.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Splits `host[:port]`, validating both.
pub fn split_host_port(s: &str) -> Result<(String, Option<u16>), String> {
    let s = s.trim();
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, after) = rest
            .split_once(']')
            .ok_or_else(|| "unclosed IPv6 reference".to_string())?;
        (format!("[{h}]"), after.strip_prefix(':'))
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (s.to_string(), None),
        }
    };
    if host.is_empty()
        || !host.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'[' | b']' | b':' | b'_')
        })
    {
        return Err(format!("bad host {host:?}"));
    }
    let port = match port.map(str::trim) {
        None => None,
        Some(p) => Some(
            p.parse::<u16>()
                .ok()
                .filter(|&p| p > 0)
                .ok_or_else(|| format!("bad port {p:?}"))?,
        ),
    };
    Ok((host, port))
}

/// One Via entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    /// `UDP`, `TCP`, `TLS`, …
    pub transport: String,
    /// sent-by host.
    pub host: String,
    /// sent-by port.
    pub port: Option<u16>,
    /// Via parameters (branch, rport, received, …).
    pub params: Params,
}

impl Via {
    /// Parses `SIP / 2.0 / UDP host:port;params` (LWS around the slashes is legal).
    pub fn parse(s: &str) -> Result<Via, String> {
        let mut parts = s.splitn(3, '/');
        let name = parts.next().unwrap_or_default().trim();
        let version = parts.next().unwrap_or_default().trim();
        let rest = parts.next().ok_or("Via without protocol")?.trim_start();
        if !name.eq_ignore_ascii_case("SIP") || version != "2.0" {
            return Err(format!("bad Via protocol {name}/{version}"));
        }
        let split = rest
            .find(|c: char| c.is_whitespace())
            .ok_or("Via without sent-by")?;
        let transport = rest[..split].to_ascii_uppercase();
        if !is_token(&transport) {
            return Err("bad Via transport".into());
        }
        let after = rest[split..].trim_start();
        let (sent_by, params) = match after.split_once(';') {
            Some((h, p)) => (h, p),
            None => (after, ""),
        };
        let (host, port) = split_host_port(sent_by)?;
        Ok(Via {
            transport,
            host,
            port,
            params: parse_params(params)?,
        })
    }

    /// The branch parameter.
    pub fn branch(&self) -> Option<&str> {
        param(&self.params, "branch").flatten()
    }
}

/// A From, To or Contact value: optional display name, URI, header parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    /// Display name without quotes.
    pub display: Option<String>,
    /// The URI.
    pub uri: Uri,
    /// Header parameters (tag, expires, q, …).
    pub params: Params,
}

impl NameAddr {
    /// Parses `"Name" <uri>;params`, `Name <uri>;params` or a bare `uri;params`.
    pub fn parse(s: &str) -> Result<NameAddr, String> {
        let s = s.trim();
        if s == "*" {
            return Err("wildcard".into());
        }
        if let Some(open) = find_unquoted(s, '<') {
            let display = s[..open].trim();
            let display = if display.is_empty() {
                None
            } else if let Some(q) = display.strip_prefix('"') {
                let inner = q
                    .strip_suffix('"')
                    .filter(|_| display.len() >= 2)
                    .ok_or("unbalanced quotes in display name")?;
                if has_unescaped_quote(inner) {
                    return Err("unbalanced quotes in display name".into());
                }
                Some(inner.replace("\\\"", "\"").replace("\\\\", "\\"))
            } else {
                if !display
                    .split_whitespace()
                    .all(|w| is_token(w) && !w.contains('"'))
                {
                    return Err("display name must be quoted".into());
                }
                Some(display.to_string())
            };
            let close = s[open..].find('>').ok_or("unclosed <")? + open;
            let uri = Uri::parse(&s[open + 1..close])?;
            let params = parse_params(&s[close + 1..])?;
            Ok(NameAddr {
                display,
                uri,
                params,
            })
        } else {
            if s.contains('"') {
                return Err("unbalanced quotes".into());
            }
            // addr-spec form: URI parameters become header parameters (RFC 3261 §20).
            let (uri, params) = match s.split_once(';') {
                Some((u, p)) => (u.trim_end(), p),
                None => (s, ""),
            };
            if uri.contains(char::is_whitespace) {
                return Err("spaces in addr-spec".into());
            }
            if uri.contains('?') {
                return Err("URI with headers must be enclosed in <>".into());
            }
            Ok(NameAddr {
                display: None,
                uri: Uri::parse(uri)?,
                params: parse_params(params)?,
            })
        }
    }

    /// The tag parameter.
    pub fn tag(&self) -> Option<&str> {
        param(&self.params, "tag").flatten()
    }
}

fn find_unquoted(s: &str, target: char) -> Option<usize> {
    let (mut quoted, mut escaped) = (false, false);
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' && quoted {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == target && !quoted {
            return Some(i);
        }
    }
    None
}

fn has_unescaped_quote(s: &str) -> bool {
    let mut escaped = false;
    for c in s.chars() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '"' {
            return true;
        }
    }
    escaped
}

/// The CSeq header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSeq {
    /// Sequence number (< 2^31).
    pub seq: u32,
    /// Method.
    pub method: String,
}

impl CSeq {
    /// Parses `1234 INVITE`.
    pub fn parse(s: &str) -> Result<CSeq, String> {
        let mut it = s.split_whitespace();
        let num = it.next().unwrap_or_default();
        let method = it.next().ok_or("CSeq without method")?;
        if it.next().is_some() || !is_token(method) {
            return Err("malformed CSeq".into());
        }
        let seq = num
            .parse::<u32>()
            .ok()
            .filter(|&n| n < 1 << 31)
            .ok_or("CSeq number out of range")?;
        Ok(CSeq {
            seq,
            method: method.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn via_with_lws() {
        let v = Via::parse(
            "SIP  /   2.0\n /UDP\n    192.0.2.2;branch=390skdjuw"
                .replace('\n', "")
                .as_str(),
        )
        .unwrap();
        assert_eq!(v.transport, "UDP");
        assert_eq!(v.host, "192.0.2.2");
        assert_eq!(v.branch(), Some("390skdjuw"));
        let v = Via::parse("SIP/2.0/TCP [2001:db8::10]:5070;rport;branch=z9hG4bK1").unwrap();
        assert_eq!((v.host.as_str(), v.port), ("[2001:db8::10]", Some(5070)));
        assert_eq!(param(&v.params, "rport"), Some(None));
    }

    #[test]
    fn name_addr_forms() {
        let a = NameAddr::parse(
            r#""J Rosenberg \\\""       <sip:jdrosen@example.com> ; tag = 98asjd8"#,
        )
        .unwrap();
        assert_eq!(a.display.as_deref(), Some("J Rosenberg \\\""));
        assert_eq!(a.tag(), Some("98asjd8"));
        let b = NameAddr::parse("sip:caller@example.net;tag=34525").unwrap();
        assert_eq!(b.uri.user.as_deref(), Some("caller"));
        assert_eq!(b.tag(), Some("34525"));
        assert!(NameAddr::parse(r#""Bob <sip:bob@biloxi.com>;tag=1"#).is_err());
        assert!(NameAddr::parse("Bob Jones, Jr. <sip:bob@biloxi.com>").is_err());
    }

    #[test]
    fn cseq_bounds() {
        assert_eq!(CSeq::parse("0009 INVITE").unwrap().seq, 9);
        assert!(CSeq::parse("36893488147419103232 INVITE").is_err());
        assert!(CSeq::parse("2147483648 INVITE").is_err());
    }

    #[test]
    fn uri_parts() {
        let u = Uri::parse("sip:%75se%72@example.com:5070;transport=tcp").unwrap();
        assert_eq!(u.user_decoded().as_deref(), Some("user"));
        assert_eq!(u.port, Some(5070));
        assert!(Uri::parse("sip:user@example.com:99999").is_err());
    }

    #[test]
    fn uri_equivalence() {
        let eq = |a: &str, b: &str| Uri::parse(a).unwrap().equivalent(&Uri::parse(b).unwrap());
        assert!(eq(
            "sip:%61lice@ATLANTA.com;transport=TCP",
            "sip:alice@AtLanTa.CoM;Transport=tcp"
        ));
        assert!(eq(
            "sip:carol@chicago.com;newparam=5",
            "sip:carol@chicago.com"
        ));
        assert!(!eq("SIP:ALICE@AtLanTa.CoM", "sip:alice@atlanta.com"));
        assert!(!eq("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"));
        assert!(!eq(
            "sip:bob@biloxi.com",
            "sip:bob@biloxi.com;transport=udp"
        ));
        assert!(!eq(
            "sip:carol@chicago.com;security=on",
            "sip:carol@chicago.com;security=off"
        ));
    }
}
