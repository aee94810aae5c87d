//! Request validation: turns a parsed request into [`RequestInfo`] or the response it deserves.

use crate::headers::{CSeq, NameAddr, Uri, Via};
use crate::message::SipMessage;

/// The fields of a valid request that the endpoint works with.
#[derive(Debug, Clone)]
pub struct RequestInfo {
    /// Method.
    pub method: String,
    /// Parsed Request-URI.
    pub uri: Uri,
    /// Every Via, topmost first.
    pub vias: Vec<Via>,
    /// From header.
    pub from: NameAddr,
    /// To header.
    pub to: NameAddr,
    /// Call-ID.
    pub call_id: String,
    /// CSeq.
    pub cseq: CSeq,
    /// Max-Forwards (70 when absent, as from an RFC 2543 element).
    pub max_forwards: u32,
    /// First Contact, if any.
    pub contact: Option<NameAddr>,
}

/// Why a request cannot be processed: the status to answer with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Status code (400, 416, 483, 505, …).
    pub code: u16,
    /// Reason phrase saying what was wrong.
    pub reason: String,
}

impl Rejection {
    /// A 400 with the given reason.
    pub fn bad(reason: impl Into<String>) -> Self {
        Rejection {
            code: 400,
            reason: reason.into(),
        }
    }
}

fn single<'a>(m: &'a SipMessage, name: &str) -> Result<&'a str, Rejection> {
    match m.header_values(name).as_slice() {
        [one] => Ok(one),
        [] => Err(Rejection::bad(format!("Missing {name}"))),
        _ => Err(Rejection::bad(format!("Multiple {name} headers"))),
    }
}

/// Checks every header the endpoint relies on; the first problem found is returned.
pub fn validate_request(m: &SipMessage) -> Result<RequestInfo, Rejection> {
    let method = m.method().unwrap_or_default().to_string();
    let vias = m
        .header_list("Via")
        .into_iter()
        .map(Via::parse)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Rejection::bad(format!("Bad Via: {e}")))?;
    if vias.is_empty() {
        return Err(Rejection::bad("Missing Via"));
    }
    let from = NameAddr::parse(single(m, "From")?)
        .map_err(|e| Rejection::bad(format!("Bad From: {e}")))?;
    let to =
        NameAddr::parse(single(m, "To")?).map_err(|e| Rejection::bad(format!("Bad To: {e}")))?;
    let call_id = single(m, "Call-ID")?.to_string();
    if call_id.is_empty() || call_id.contains(char::is_whitespace) {
        return Err(Rejection::bad("Bad Call-ID"));
    }
    let cseq =
        CSeq::parse(single(m, "CSeq")?).map_err(|e| Rejection::bad(format!("Bad CSeq: {e}")))?;
    if cseq.method != method {
        return Err(Rejection::bad("CSeq method does not match the request"));
    }
    let max_forwards = match m.header_values("Max-Forwards").as_slice() {
        [] => 70,
        [one] => one
            .parse::<u32>()
            .ok()
            .filter(|&n| n <= 255)
            .ok_or_else(|| Rejection::bad("Bad Max-Forwards"))?,
        _ => return Err(Rejection::bad("Multiple Max-Forwards headers")),
    };
    if let Some(expires) = m.header("Expires")
        && expires.parse::<u32>().is_err()
    {
        return Err(Rejection::bad("Bad Expires"));
    }
    if let Some(date) = m.header("Date")
        && !date.trim_end().ends_with("GMT")
    {
        return Err(Rejection::bad("Date must be in GMT"));
    }
    let mut contact = None;
    for value in m.header_list("Contact") {
        if value == "*" && method == "REGISTER" {
            continue;
        }
        let c = NameAddr::parse(value).map_err(|e| Rejection::bad(format!("Bad Contact: {e}")))?;
        if let Some(Some(exp)) = crate::headers::param(&c.params, "expires")
            && exp.parse::<u32>().is_err()
        {
            return Err(Rejection::bad("Bad Contact expires"));
        }
        contact.get_or_insert(c);
    }
    if !m.body.is_empty() && m.header("Content-Type").is_none() {
        return Err(Rejection::bad("Body without Content-Type"));
    }
    let raw_uri = match &m.start {
        crate::message::StartLine::Request { uri, .. } => uri.as_str(),
        crate::message::StartLine::Response { .. } => "",
    };
    let uri = Uri::parse(raw_uri).map_err(|e| Rejection::bad(format!("Bad Request-URI: {e}")))?;
    if !matches!(uri.scheme.as_str(), "sip" | "sips" | "tel") {
        return Err(Rejection {
            code: 416,
            reason: "Unsupported URI Scheme".into(),
        });
    }
    if uri.has_headers {
        return Err(Rejection::bad("Request-URI must not carry headers"));
    }
    Ok(RequestInfo {
        method,
        uri,
        vias,
        from,
        to,
        call_id,
        cseq,
        max_forwards,
        contact,
    })
}
