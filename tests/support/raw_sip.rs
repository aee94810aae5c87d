//! Hand-written SIP over UDP: for the tests that poke the gateway's SIP edge directly (torture
//! messages, error responses, in-dialog requests) instead of going through a full SIP stack.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// A UDP socket on loopback that talks SIP to one gateway.
pub struct RawSip {
    /// The socket (bound to 127.0.0.1, ephemeral port).
    pub sock: UdpSocket,
    /// Our address, for Via and Contact.
    pub local: SocketAddr,
    /// The gateway's SIP address.
    pub gateway: SocketAddr,
    counter: AtomicU32,
}

impl RawSip {
    /// A fresh socket for talking to `gateway`.
    pub fn new(gateway: SocketAddr) -> RawSip {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        let local = sock.local_addr().unwrap();
        RawSip {
            sock,
            local,
            gateway,
            counter: AtomicU32::new(0),
        }
    }

    /// A branch parameter (RFC 3261 magic cookie) never used before by this socket.
    pub fn branch(&self) -> String {
        format!(
            "z9hG4bK{}x{}x{}",
            self.local.port(),
            std::process::id(),
            self.counter.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// A Call-ID / tag token never used before by this socket.
    pub fn token(&self, prefix: &str) -> String {
        format!(
            "{prefix}-{}-{}-{}",
            self.local.port(),
            std::process::id(),
            self.counter.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// Sends one datagram to the gateway.
    pub fn send(&self, data: impl AsRef<[u8]>) {
        self.sock.send_to(data.as_ref(), self.gateway).unwrap();
    }

    /// The next datagram, if one arrives within `timeout` (lossy UTF-8).
    pub fn recv(&self, timeout: Duration) -> Option<String> {
        self.sock
            .set_read_timeout(Some(timeout.max(Duration::from_millis(1))))
            .unwrap();
        let mut buf = vec![0u8; 65_536];
        match self.sock.recv_from(&mut buf) {
            Ok((n, _)) => Some(String::from_utf8_lossy(&buf[..n]).into_owned()),
            Err(_) => None,
        }
    }

    /// Every datagram that arrives within `window` from now.
    pub fn recv_for(&self, window: Duration) -> Vec<String> {
        let deadline = Instant::now() + window;
        let mut got = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return got;
            }
            match self.recv(left) {
                Some(m) => got.push(m),
                None => return got,
            }
        }
    }

    /// Sends `request` and collects the responses to it (same Call-ID and CSeq) until a final
    /// one arrives or `timeout` passes. Messages for other transactions are skipped.
    pub fn transaction(&self, request: &str, timeout: Duration) -> Vec<String> {
        let call_id = header(request, "Call-ID").unwrap_or_default().to_string();
        let cseq = header(request, "CSeq").unwrap_or_default().to_string();
        self.send(request);
        let deadline = Instant::now() + timeout;
        let mut got: Vec<String> = Vec::new();
        while let Some(m) = self.recv(deadline.saturating_duration_since(Instant::now())) {
            let ours = status(&m).is_some()
                && header(&m, "Call-ID") == Some(call_id.as_str())
                && header(&m, "CSeq") == Some(cseq.as_str());
            if !ours {
                continue;
            }
            // A retransmitted final response (the 2xx of an INVITE before our ACK) is not news.
            if got.iter().any(|g| g == &m) {
                continue;
            }
            let fin = status(&m).is_some_and(|s| s >= 200);
            got.push(m);
            if fin {
                break;
            }
        }
        got
    }
}

/// The status code of a response (`None` for requests and garbage).
pub fn status(msg: &str) -> Option<u16> {
    msg.strip_prefix("SIP/2.0 ")?.get(..3)?.parse().ok()
}

/// The status codes of several responses.
pub fn statuses(msgs: &[String]) -> Vec<u16> {
    msgs.iter().filter_map(|m| status(m)).collect()
}

/// The last final response (status >= 200) of a list.
pub fn final_response(msgs: &[String]) -> Option<&String> {
    msgs.iter()
        .rev()
        .find(|m| status(m).is_some_and(|s| s >= 200))
}

const COMPACT: &[(&str, &str)] = &[
    ("call-id", "i"),
    ("from", "f"),
    ("to", "t"),
    ("via", "v"),
    ("contact", "m"),
    ("content-type", "c"),
    ("content-length", "l"),
    ("supported", "k"),
];

/// The value of the first header called `name` (case-insensitive, compact forms too), trimmed.
/// Folded continuation lines are not joined (the gateway does not send them).
pub fn header<'a>(msg: &'a str, name: &str) -> Option<&'a str> {
    headers(msg, name).into_iter().next()
}

/// Every value of header `name`, in order.
pub fn headers<'a>(msg: &'a str, name: &str) -> Vec<&'a str> {
    let lname = name.to_ascii_lowercase();
    let compact = COMPACT
        .iter()
        .find(|(long, _)| *long == lname)
        .map(|(_, c)| *c);
    let head = msg.split("\r\n\r\n").next().unwrap_or_default();
    head.split("\r\n")
        .skip(1)
        .filter_map(|line| {
            let (n, v) = line.split_once(':')?;
            let n = n.trim().to_ascii_lowercase();
            (n == lname || Some(n.as_str()) == compact).then_some(v.trim())
        })
        .collect()
}

/// The body after the blank line.
pub fn body(msg: &str) -> &str {
    msg.split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default()
}

/// A minimal SDP offer from `rtp` with the given payload types and rtpmap lines, e.g.
/// `sdp_offer(addr, "0 101", &["0 PCMU/8000", "101 telephone-event/8000"], "sendrecv")`.
pub fn sdp_offer(
    rtp: SocketAddr,
    payload_types: &str,
    rtpmaps: &[&str],
    direction: &str,
) -> String {
    let mut s = format!(
        "v=0\r\no=test 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\nm=audio {port} RTP/AVP {payload_types}\r\n",
        ip = rtp.ip(),
        port = rtp.port()
    );
    for m in rtpmaps {
        s.push_str(&format!("a=rtpmap:{m}\r\n"));
    }
    if !direction.is_empty() {
        s.push_str(&format!("a={direction}\r\n"));
    }
    s
}

/// One dialog we drive by hand as the caller (UAC side): INVITE, ACK, in-dialog requests.
pub struct RawDialog<'a> {
    /// The socket.
    pub sip: &'a RawSip,
    /// Call-ID.
    pub call_id: String,
    /// Our From header value (with tag).
    pub from: String,
    /// The To header value: without tag until the gateway answered, then with its tag.
    pub to: String,
    /// Request-URI of the INVITE (and of in-dialog requests until a Contact is learned).
    pub target: String,
    /// Our last CSeq number.
    pub cseq: u32,
}

impl<'a> RawDialog<'a> {
    /// A dialog from `user` to extension `100` on the gateway.
    pub fn new(sip: &'a RawSip, user: &str) -> RawDialog<'a> {
        RawDialog {
            call_id: sip.token(user),
            from: format!("<sip:{user}@{}>;tag={}", sip.local, sip.token("tag")),
            to: format!("<sip:100@{}>", sip.gateway),
            target: format!("sip:100@{}", sip.gateway),
            cseq: 0,
            sip,
        }
    }

    /// A request in this dialog with the next CSeq (or `cseq` for ACK), Content-Type and body.
    pub fn request(
        &mut self,
        method: &str,
        extra_headers: &str,
        ctype: &str,
        body: &str,
    ) -> String {
        if method != "ACK" {
            self.cseq += 1;
        }
        let ctype = if ctype.is_empty() {
            String::new()
        } else {
            format!("Content-Type: {ctype}\r\n")
        };
        format!(
            "{method} {target} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch={branch}\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {call_id}\r\nCSeq: {cseq} {method}\r\nContact: <sip:caller@{local}>\r\nMax-Forwards: 70\r\n{extra_headers}{ctype}Content-Length: {len}\r\n\r\n{body}",
            target = self.target,
            local = self.sip.local,
            branch = self.sip.branch(),
            from = self.from,
            to = self.to,
            call_id = self.call_id,
            cseq = self.cseq,
            len = body.len(),
        )
    }

    /// Sends a request and returns the responses to it (until the final one).
    pub fn send(
        &mut self,
        method: &str,
        extra_headers: &str,
        ctype: &str,
        body: &str,
    ) -> Vec<String> {
        let req = self.request(method, extra_headers, ctype, body);
        self.sip.transaction(&req, Duration::from_secs(5))
    }

    /// Learns the gateway's tag (and Contact) from a 2xx, so later requests are in the dialog.
    pub fn learn(&mut self, response: &str) {
        if let Some(to) = header(response, "To") {
            self.to = to.to_string();
        }
        if let Some(contact) = header(response, "Contact") {
            let uri = contact
                .trim_start_matches('<')
                .split('>')
                .next()
                .unwrap_or(contact);
            self.target = uri.to_string();
        }
    }

    /// ACKs a final response to the INVITE with CSeq `cseq`. For a non-2xx the ACK belongs to
    /// the INVITE transaction (same branch as `invite`), for a 2xx it is a new transaction.
    pub fn ack(&self, response: &str, invite: Option<&str>) {
        let to = header(response, "To").unwrap_or(&self.to);
        let cseq: u32 = header(response, "CSeq")
            .and_then(|c| c.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(self.cseq);
        let (target, branch) = match invite {
            Some(inv) => (
                inv.split_whitespace()
                    .nth(1)
                    .unwrap_or(&self.target)
                    .to_string(),
                header(inv, "Via")
                    .and_then(|v| v.split("branch=").nth(1))
                    .map(|b| b.split(';').next().unwrap_or(b).to_string())
                    .unwrap_or_else(|| self.sip.branch()),
            ),
            None => (self.target.clone(), self.sip.branch()),
        };
        let ack = format!(
            "ACK {target} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch={branch}\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {call_id}\r\nCSeq: {cseq} ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
            local = self.sip.local,
            from = self.from,
            call_id = self.call_id,
        );
        self.sip.send(ack);
    }
}
