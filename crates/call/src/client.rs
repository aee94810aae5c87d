//! `switchboard call`: a small SIP caller of our own — INVITE, play a WAV, send RFC 4733 digits,
//! record what comes back, hang up.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use sb_media::Codec;
use sb_media::prompt::load_prompt;
use sb_media::recorder::StereoRecorder;
use sb_sip::sdp::{self, Direction, Format, LocalSession};
use sb_sip::{EndCause, EndpointConfig, OutgoingCall, Peer, SipEndpoint, SipEvent, TransportKind};
use tokio::net::UdpSocket;

use crate::inbound::rand_u32;
use crate::media_session::{MediaEvent, MediaParams, MediaSession};
use crate::sip_server::{SipSockets, spawn_sip};

/// What to do on the call.
#[derive(Debug, Clone)]
pub struct CallOptions {
    /// Where the gateway listens.
    pub target: SocketAddr,
    /// Request-URI, e.g. `sip:100@127.0.0.1:5060`.
    pub uri: String,
    /// Our From URI.
    pub from: String,
    /// WAV to play once answered.
    pub play: Option<PathBuf>,
    /// Digits to send (`,` pauses one second).
    pub dtmf: String,
    /// When to start sending digits, after answer.
    pub dtmf_delay: Duration,
    /// Stereo WAV of the call (left: what we heard, right: what we sent).
    pub record: Option<PathBuf>,
    /// Hang up after this long (from answer).
    pub duration: Duration,
    /// Codecs to offer, preferred first.
    pub codecs: Vec<Codec>,
    /// Digest credentials.
    pub credentials: Option<(String, String)>,
}

/// What happened.
#[derive(Debug, Clone)]
pub struct CallReport {
    /// Final status of the INVITE (200 when answered).
    pub status: u16,
    /// Codec used.
    pub codec: Option<&'static str>,
    /// Seconds from answer to the end.
    pub talk_seconds: f64,
    /// Who ended the call.
    pub ended_by: &'static str,
    /// Digits sent.
    pub digits_sent: String,
    /// RTP packets received.
    pub packets_received: u64,
}

/// Places the call and runs it to the end.
pub async fn place_call(opts: CallOptions) -> Result<CallReport, String> {
    let local_ip = local_ip_towards(opts.target).await;
    let udp = UdpSocket::bind(SocketAddr::new(local_ip, 0))
        .await
        .map_err(|e| format!("cannot bind a SIP socket: {e}"))?;
    let sip_addr = udp.local_addr().map_err(|e| e.to_string())?;
    let endpoint = SipEndpoint::new(EndpointConfig {
        public_addr: sip_addr,
        user_agent: format!("switchboard-call/{}", env!("CARGO_PKG_VERSION")),
        allowed_sources: vec![],
        auth: None,
        registrar: None,
        seed: u64::from(rand_u32()) << 32 | u64::from(rand_u32()),
    });
    // Calls to the caller itself are not served: drop them.
    let (unrouted, _) = tokio::sync::mpsc::unbounded_channel();
    let sip = spawn_sip(
        endpoint,
        SipSockets { udp, tcp: None },
        Box::new(|_, _| {}),
        unrouted,
    );
    let rtp = UdpSocket::bind(SocketAddr::new(local_ip, 0))
        .await
        .map_err(|e| format!("cannot bind an RTP socket: {e}"))?;
    let local = LocalSession {
        session_id: u64::from(rand_u32()),
        version: 1,
        address: rtp.local_addr().map_err(|e| e.to_string())?,
        formats: opts
            .codecs
            .iter()
            .map(|c| Format {
                payload_type: c.payload_type(),
                name: c.name().into(),
                clock_rate: 8000,
            })
            .collect(),
        telephone_event: Some(101),
        direction: Direction::SendRecv,
    };
    let (dialog, mut events) = sip
        .invite(OutgoingCall {
            target: Peer {
                transport: TransportKind::Udp,
                addr: opts.target,
            },
            uri: opts.uri.clone(),
            from: opts.from.clone(),
            to: opts.uri.clone(),
            offer: local.to_sdp(),
            credentials: opts.credentials.clone(),
            extra_headers: Vec::new(),
        })
        .await
        .ok_or("the SIP task stopped")?;

    let answer = loop {
        match events.recv().await {
            Some(SipEvent::Progress { code, .. }) => eprintln!("… {code}"),
            Some(SipEvent::Answered { answer, .. }) => break answer,
            Some(SipEvent::Ended { cause, .. }) => {
                let status = match cause {
                    EndCause::Rejected(code) => code,
                    _ => 408,
                };
                return Ok(CallReport {
                    status,
                    codec: None,
                    talk_seconds: 0.0,
                    ended_by: "rejected",
                    digits_sent: String::new(),
                    packets_received: 0,
                });
            }
            Some(_) => {}
            None => return Err("the SIP task stopped".into()),
        }
    };
    let preference: Vec<&str> = opts.codecs.iter().map(|c| c.name()).collect();
    let negotiated = answer
        .as_ref()
        .ok_or("the answer has no SDP".to_string())
        .and_then(|a| sdp::negotiate(a, &preference).map_err(str::to_string))?;
    let codec = Codec::from_name(&negotiated.codec.name).ok_or("unknown codec in answer")?;
    let recorder = match &opts.record {
        Some(path) => Some(
            StereoRecorder::create(path, codec.sample_rate())
                .map_err(|e| format!("{}: {e}", path.display()))?,
        ),
        None => None,
    };
    let mut media = MediaSession::new(
        MediaParams {
            codec,
            payload_type: negotiated.codec.payload_type,
            telephone_event: negotiated.telephone_event,
            remote: negotiated.remote,
            ssrc: rand_u32(),
        },
        recorder,
        Instant::now(),
    );
    if let Some(path) = &opts.play {
        let audio = load_prompt(path, codec.sample_rate()).map_err(|e| e.to_string())?;
        media.play([audio.into()]);
    }
    let answered = Instant::now();
    let end_at = answered + opts.duration;
    let mut digits = DigitSchedule::new(&opts.dtmf, answered + opts.dtmf_delay);
    let mut next_tick = answered;
    let mut buf = vec![0u8; 2048];
    let mut ended_by = "us";
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Some(SipEvent::Ended { .. }) | None => { ended_by = "remote"; break; }
                Some(_) => {}
            },
            received = rtp.recv_from(&mut buf) => {
                if let Ok((n, from)) = received {
                    media.handle_rtp(Instant::now(), from, &buf[..n]);
                }
            }
            _ = tokio::time::sleep_until(next_tick.into()) => {
                let now = Instant::now();
                if now >= end_at { break; }
                if let Some(d) = digits.due(now) {
                    media.send_dtmf(d, Duration::from_millis(160));
                }
                if let Some(packet) = media.tick(now) {
                    let _ = rtp.send_to(&packet, media.remote()).await;
                }
                while let Some(e) = media.poll_event() {
                    if let MediaEvent::Dtmf(d, _) = e { eprintln!("received DTMF {d}"); }
                }
                next_tick += Duration::from_millis(20);
            }
        }
    }
    if ended_by == "us" {
        sip.send(crate::sip_server::SipCommand::Hangup(dialog));
        // Give the BYE a moment to leave (and its 200 to come back).
        let _ = tokio::time::timeout(Duration::from_millis(500), events.recv()).await;
    }
    crate::inbound::finish_recording(media.take_recorder()).await;
    Ok(CallReport {
        status: 200,
        codec: Some(codec.name()),
        talk_seconds: answered.elapsed().as_secs_f64(),
        ended_by,
        digits_sent: digits.sent,
        packets_received: media.packets_received(),
    })
}

/// Sends digits one by one, 400 ms apart; `,` waits a second.
struct DigitSchedule {
    pending: std::collections::VecDeque<char>,
    next: Instant,
    sent: String,
}

impl DigitSchedule {
    fn new(digits: &str, start: Instant) -> Self {
        DigitSchedule {
            pending: digits.chars().collect(),
            next: start,
            sent: String::new(),
        }
    }

    fn due(&mut self, now: Instant) -> Option<char> {
        while now >= self.next {
            let c = self.pending.pop_front()?;
            if c == ',' {
                self.next += Duration::from_secs(1);
                continue;
            }
            self.next = now + Duration::from_millis(400);
            self.sent.push(c);
            return Some(c);
        }
        None
    }
}

/// The local address the OS would use to reach `target`.
async fn local_ip_towards(target: SocketAddr) -> IpAddr {
    let any: SocketAddr = if target.is_ipv4() {
        "0.0.0.0:0".parse().expect("literal")
    } else {
        "[::]:0".parse().expect("literal")
    };
    if let Ok(s) = UdpSocket::bind(any).await
        && s.connect(target).await.is_ok()
        && let Ok(addr) = s.local_addr()
    {
        return addr.ip();
    }
    any.ip()
}
