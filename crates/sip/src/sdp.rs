//! SDP offer/answer (RFC 3264) for one audio stream: parse, negotiate, build.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

/// Media direction attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// a=sendrecv (the default).
    SendRecv,
    /// a=sendonly (the peer puts us on hold).
    SendOnly,
    /// a=recvonly.
    RecvOnly,
    /// a=inactive.
    Inactive,
}

impl Direction {
    /// The direction an answer takes for this offered direction.
    pub fn answer(self) -> Direction {
        match self {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            d => d,
        }
    }

    fn attribute(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }
}

/// A payload format of the audio stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Format {
    /// RTP payload type.
    pub payload_type: u8,
    /// Encoding name from rtpmap or the static table (`PCMU`, `telephone-event`, …).
    pub name: String,
    /// RTP clock rate.
    pub clock_rate: u32,
}

/// The audio part of a session description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioStream {
    /// Where the peer wants RTP (c= of the media or session, and the m= port).
    pub address: IpAddr,
    /// m= port (0 = stream rejected).
    pub port: u16,
    /// Formats in the peer's order of preference.
    pub formats: Vec<Format>,
    /// Direction.
    pub direction: Direction,
    /// a=ptime, if given.
    pub ptime: Option<u32>,
}

/// A parsed session description: only what a voice gateway needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    /// The first audio stream on RTP/AVP, if any.
    pub audio: Option<AudioStream>,
}

/// The result of negotiating an offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// The audio codec both sides will use.
    pub codec: Format,
    /// Payload type for RFC 4733 events, when the peer offered them.
    pub telephone_event: Option<u8>,
    /// Where to send RTP (before symmetric RTP learns the real source).
    pub remote: SocketAddr,
    /// Direction of our answer.
    pub direction: Direction,
}

impl Negotiated {
    /// True when the peer holds the call (it will not receive our audio).
    pub fn on_hold(&self) -> bool {
        matches!(self.direction, Direction::RecvOnly | Direction::Inactive)
            || self.remote.ip().is_unspecified()
    }
}

fn static_format(pt: u8) -> Option<(&'static str, u32)> {
    Some(match pt {
        0 => ("PCMU", 8000),
        8 => ("PCMA", 8000),
        9 => ("G722", 8000),
        _ => return None,
    })
}

/// Parses an SDP body. Returns an error text for bodies that are not usable SDP.
pub fn parse(body: &[u8]) -> Result<SessionDescription, String> {
    let text = std::str::from_utf8(body).map_err(|_| "SDP is not UTF-8".to_string())?;
    let mut session_addr: Option<IpAddr> = None;
    let mut session_dir = Direction::SendRecv;
    let mut audio: Option<AudioStream> = None;
    let mut audio_addr: Option<IpAddr> = None;
    let mut in_audio = false;
    let mut seen_version = false;
    let mut any_media = false;
    for line in text.lines().map(str::trim_end) {
        if line.is_empty() {
            continue;
        }
        let (kind, value) = line
            .split_once('=')
            .ok_or_else(|| format!("bad SDP line {line:?}"))?;
        match kind {
            "v" => seen_version = value == "0",
            "c" => {
                let addr = parse_connection(value)?;
                if any_media {
                    if in_audio {
                        audio_addr = Some(addr);
                    }
                } else {
                    session_addr = Some(addr);
                }
            }
            "m" => {
                any_media = true;
                in_audio = false;
                let mut parts = value.split_whitespace();
                let media = parts.next().unwrap_or_default();
                let port = parts.next().unwrap_or_default();
                let proto = parts.next().unwrap_or_default();
                if media == "audio" && audio.is_none() && proto.starts_with("RTP/AVP") {
                    let port = port
                        .split('/')
                        .next()
                        .unwrap_or_default()
                        .parse::<u16>()
                        .map_err(|_| format!("bad port in m= line {line:?}"))?;
                    let mut formats = Vec::new();
                    for pt in parts {
                        let pt = pt
                            .parse::<u8>()
                            .ok()
                            .filter(|&p| p < 128)
                            .ok_or_else(|| format!("bad payload type in {line:?}"))?;
                        let (name, clock_rate) = static_format(pt).unwrap_or(("", 0));
                        formats.push(Format {
                            payload_type: pt,
                            name: name.into(),
                            clock_rate,
                        });
                    }
                    audio = Some(AudioStream {
                        address: IpAddr::from([0, 0, 0, 0]),
                        port,
                        formats,
                        direction: session_dir,
                        ptime: None,
                    });
                    in_audio = true;
                }
            }
            "a" => {
                let (attr, arg) = value.split_once(':').unwrap_or((value, ""));
                let dir = match attr {
                    "sendrecv" => Some(Direction::SendRecv),
                    "sendonly" => Some(Direction::SendOnly),
                    "recvonly" => Some(Direction::RecvOnly),
                    "inactive" => Some(Direction::Inactive),
                    _ => None,
                };
                match (in_audio, any_media, dir) {
                    (_, false, Some(d)) => session_dir = d,
                    (true, _, Some(d)) => {
                        if let Some(a) = audio.as_mut() {
                            a.direction = d;
                        }
                    }
                    _ => {}
                }
                if !in_audio {
                    continue;
                }
                let Some(a) = audio.as_mut() else { continue };
                match attr {
                    "rtpmap" => {
                        let (pt, enc) = arg.split_once(' ').unwrap_or((arg, ""));
                        let mut enc = enc.trim().split('/');
                        let name = enc.next().unwrap_or_default();
                        let rate = enc.next().and_then(|r| r.parse().ok()).unwrap_or(0);
                        if let Some(f) = pt
                            .parse::<u8>()
                            .ok()
                            .and_then(|pt| a.formats.iter_mut().find(|f| f.payload_type == pt))
                        {
                            f.name = name.to_string();
                            f.clock_rate = rate;
                        }
                    }
                    "ptime" => a.ptime = arg.trim().parse().ok(),
                    _ => {}
                }
            }
            _ => {}
        }
    }
    if !seen_version {
        return Err("SDP without v=0".into());
    }
    if let Some(a) = audio.as_mut() {
        a.address = audio_addr
            .or(session_addr)
            .ok_or("SDP audio stream without connection address")?;
    }
    Ok(SessionDescription { audio })
}

fn parse_connection(value: &str) -> Result<IpAddr, String> {
    let mut parts = value.split_whitespace();
    let (net, _family, addr) = (parts.next(), parts.next(), parts.next());
    if net != Some("IN") {
        return Err(format!("unsupported c= line {value:?}"));
    }
    let addr = addr
        .unwrap_or_default()
        .split('/')
        .next()
        .unwrap_or_default();
    addr.parse()
        .map_err(|_| format!("c= address is not an IP address: {addr:?}"))
}

/// Picks our preferred codec among those offered. `preference` lists codec names, best first.
pub fn negotiate(
    offer: &SessionDescription,
    preference: &[&str],
) -> Result<Negotiated, &'static str> {
    let audio = offer.audio.as_ref().ok_or("no audio stream offered")?;
    if audio.port == 0 {
        return Err("audio stream rejected (port 0)");
    }
    let codec = preference
        .iter()
        .find_map(|want| {
            audio
                .formats
                .iter()
                .find(|f| f.name.eq_ignore_ascii_case(want) && f.clock_rate == 8000)
        })
        .ok_or("no common audio codec")?;
    let telephone_event = audio
        .formats
        .iter()
        .find(|f| f.name.eq_ignore_ascii_case("telephone-event") && f.clock_rate == 8000)
        .map(|f| f.payload_type);
    Ok(Negotiated {
        codec: codec.clone(),
        telephone_event,
        remote: SocketAddr::new(audio.address, audio.port),
        direction: audio.direction.answer(),
    })
}

/// Our side of a session: what we put into an offer or an answer.
#[derive(Debug, Clone)]
pub struct LocalSession {
    /// Session id for o= (stable for the call).
    pub session_id: u64,
    /// Version for o= (incremented on every change).
    pub version: u64,
    /// Our RTP address.
    pub address: SocketAddr,
    /// Formats to list, in order.
    pub formats: Vec<Format>,
    /// RFC 4733 payload type, if we list telephone-event.
    pub telephone_event: Option<u8>,
    /// Direction.
    pub direction: Direction,
}

impl LocalSession {
    /// Serializes the session description.
    pub fn to_sdp(&self) -> String {
        let ip = self.address.ip();
        let family = if ip.is_ipv4() { "IP4" } else { "IP6" };
        let mut s = String::with_capacity(300);
        let _ = write!(
            s,
            "v=0\r\no=switchboard {} {} IN {family} {ip}\r\ns=switchboard\r\nc=IN {family} {ip}\r\nt=0 0\r\n",
            self.session_id, self.version
        );
        let mut pts: Vec<String> = self
            .formats
            .iter()
            .map(|f| f.payload_type.to_string())
            .collect();
        if let Some(te) = self.telephone_event {
            pts.push(te.to_string());
        }
        let _ = write!(
            s,
            "m=audio {} RTP/AVP {}\r\n",
            self.address.port(),
            pts.join(" ")
        );
        for f in &self.formats {
            let _ = write!(
                s,
                "a=rtpmap:{} {}/{}\r\n",
                f.payload_type, f.name, f.clock_rate
            );
        }
        if let Some(te) = self.telephone_event {
            let _ = write!(
                s,
                "a=rtpmap:{te} telephone-event/8000\r\na=fmtp:{te} 0-16\r\n"
            );
        }
        let _ = write!(s, "a=ptime:20\r\na={}\r\n", self.direction.attribute());
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &str = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 9 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\n";

    #[test]
    fn negotiates_preferred_codec_and_events() {
        let offer = parse(OFFER.as_bytes()).unwrap();
        let n = negotiate(&offer, &["PCMA", "PCMU"]).unwrap();
        assert_eq!(n.codec.name, "PCMA");
        assert_eq!(n.codec.payload_type, 8);
        assert_eq!(n.telephone_event, Some(101));
        assert_eq!(n.remote, "10.0.0.1:4000".parse().unwrap());
        assert!(!n.on_hold());
        let g722 = negotiate(&offer, &["G722", "PCMU"]).unwrap();
        assert_eq!(g722.codec.name, "G722");
    }

    #[test]
    fn no_common_codec_is_an_error() {
        let offer = parse(
            b"v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n",
        )
        .unwrap();
        assert_eq!(negotiate(&offer, &["PCMU"]), Err("no common audio codec"));
    }

    #[test]
    fn hold_and_unhold() {
        let hold = OFFER.replace("a=ptime:20\r\n", "a=ptime:20\r\na=sendonly\r\n");
        let n = negotiate(&parse(hold.as_bytes()).unwrap(), &["PCMU"]).unwrap();
        assert_eq!(n.direction, Direction::RecvOnly);
        assert!(n.on_hold());
        let old_style = OFFER.replace("c=IN IP4 10.0.0.1", "c=IN IP4 0.0.0.0");
        let n = negotiate(&parse(old_style.as_bytes()).unwrap(), &["PCMU"]).unwrap();
        assert!(n.on_hold());
    }

    #[test]
    fn answer_round_trips() {
        let local = LocalSession {
            session_id: 7,
            version: 1,
            address: "127.0.0.1:20000".parse().unwrap(),
            formats: vec![Format {
                payload_type: 0,
                name: "PCMU".into(),
                clock_rate: 8000,
            }],
            telephone_event: Some(101),
            direction: Direction::SendRecv,
        };
        let back = parse(local.to_sdp().as_bytes()).unwrap();
        let n = negotiate(&back, &["PCMU"]).unwrap();
        assert_eq!(n.remote, local.address);
        assert_eq!(n.telephone_event, Some(101));
    }
}
