//! The agent's leg of a bridged call: the INVITE to the agent's phone, its RTP, the rate
//! conversion between the two legs, and the agent's own speech for the transcript.
//!
//! The call task owns the leg like it owns the caller's: it calls [`AgentLeg::exchange`] on
//! every 20 ms tick once the agent answered, and feeds it the agent's packets and SIP events.

use std::net::SocketAddr;
use std::time::Instant;

use sb_media::{Codec, RateConverter};
use sb_sip::sdp::{self, Direction, Format, LocalSession, SessionDescription};
use sb_sip::{DialogId, OutgoingCall, Peer, SipEvent};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use crate::caller_speech::{CallerSpeech, RecognitionResult, SpeechServices};
use crate::gateway::Services;
use crate::inbound::rand_u32;
use crate::media_session::{MediaParams, MediaSession};

/// Where an agent's phone is reached: a registered contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentContact {
    /// The agent's id in the configuration.
    pub agent: String,
    /// The contact URI the phone registered (the INVITE's Request-URI).
    pub uri: String,
    /// The agent's address of record (the INVITE's To).
    pub aor: String,
    /// Where the phone's REGISTER came from: INVITEs go there.
    pub peer: Peer,
}

/// What the call tells the agent's phone about the caller.
#[derive(Debug, Clone)]
pub struct AgentBriefing {
    /// The caller's URI, shown by the phone as who is calling.
    pub caller: String,
    /// One line: intent, slots, frustration, why the caller was handed over.
    pub summary: String,
    /// Where the agent's desktop finds the call (transcript so far), if the API is served.
    pub link: Option<String>,
}

/// Something from the agent's leg, for the call task.
pub enum AgentInput {
    /// A SIP event of the leg's dialog.
    Sip(SipEvent),
    /// An RTP datagram of `n` bytes (in the caller's buffer) from an address.
    Rtp(usize, SocketAddr),
    /// An RTCP datagram of `n` bytes.
    Rtcp(usize),
    /// A recognition of the agent's speech.
    Recognition(RecognitionResult),
}

/// The longest summary header sent: phones show a line, not a page.
const MAX_SUMMARY: usize = 300;

/// One agent leg, from the INVITE to the hang-up.
pub struct AgentLeg {
    /// The agent being rung or talked to.
    pub agent: String,
    /// The leg's SIP dialog.
    pub dialog: DialogId,
    /// The leg's SIP events.
    pub events: mpsc::UnboundedReceiver<SipEvent>,
    /// RTP socket of the leg.
    pub rtp: UdpSocket,
    /// RTCP socket of the leg.
    pub rtcp: UdpSocket,
    local: LocalSession,
    /// Media once the agent answered, and its codec.
    media: Option<MediaSession>,
    codec: Option<Codec>,
    speech: Option<CallerSpeech>,
    /// Caller rate → agent rate, and back.
    to_agent: Option<RateConverter>,
    from_agent: Option<RateConverter>,
    converted: Vec<i16>,
    agent_audio: Vec<i16>,
    /// Call time (ms from the caller's answer) when the agent answered: the agent's
    /// transcript lines are placed on the call's time line with it.
    pub connected_ms: u64,
    /// When the INVITE went out.
    pub rang_at: Instant,
}

impl AgentLeg {
    /// Rings `contact`: binds the leg's RTP ports and sends the INVITE, offering every codec
    /// the gateway accepts. None when no RTP port is free or the SIP task is gone.
    pub async fn ring(
        svc: &Services,
        contact: &AgentContact,
        briefing: &AgentBriefing,
    ) -> Option<AgentLeg> {
        let (rtp, rtcp) = svc.ports.bind(svc.settings.public_ip).await?;
        let local = LocalSession {
            session_id: u64::from(rand_u32()),
            version: 1,
            address: rtp.local_addr().ok()?,
            formats: svc
                .settings
                .codecs
                .iter()
                .map(|c| Format {
                    payload_type: c.payload_type(),
                    name: c.name().to_string(),
                    clock_rate: 8000,
                })
                .collect(),
            telephone_event: Some(101),
            direction: Direction::SendRecv,
        };
        let mut extra_headers = vec![(
            "X-Switchboard-Summary".to_string(),
            header_text(&briefing.summary),
        )];
        if let Some(link) = &briefing.link {
            extra_headers.push(("Call-Info".to_string(), format!("<{link}>;purpose=info")));
        }
        let (dialog, events) = svc
            .sip
            .invite(OutgoingCall {
                target: contact.peer,
                uri: contact.uri.clone(),
                from: briefing.caller.clone(),
                to: contact.aor.clone(),
                offer: local.to_sdp(),
                credentials: None,
                extra_headers,
            })
            .await?;
        Some(AgentLeg {
            agent: contact.agent.clone(),
            dialog,
            events,
            rtp,
            rtcp,
            local,
            media: None,
            codec: None,
            speech: None,
            to_agent: None,
            from_agent: None,
            converted: Vec::new(),
            agent_audio: Vec::new(),
            connected_ms: 0,
            rang_at: Instant::now(),
        })
    }

    /// The agent answered with `answer`: sets up the leg's media for bridging with a caller
    /// whose audio is at `caller_rate`. Err names what is wrong with the answer.
    pub fn answered(
        &mut self,
        answer: Option<&SessionDescription>,
        caller_rate: u32,
        speech: Option<&SpeechServices>,
        call_id: &str,
        now_ms: u64,
    ) -> Result<&'static str, String> {
        let answer = answer.ok_or("the agent's answer has no SDP")?;
        let preference: Vec<&str> = self.local.formats.iter().map(|f| f.name.as_str()).collect();
        let negotiated = sdp::negotiate(answer, &preference).map_err(str::to_string)?;
        let codec = Codec::from_name(&negotiated.codec.name).ok_or("unknown codec in answer")?;
        let mut media = MediaSession::new(
            MediaParams {
                codec,
                payload_type: negotiated.codec.payload_type,
                telephone_event: negotiated.telephone_event,
                remote: negotiated.remote,
                ssrc: rand_u32(),
            },
            None,
            Instant::now(),
        );
        media.update(negotiated.remote, negotiated.on_hold());
        self.media = Some(media);
        self.codec = Some(codec);
        self.rejoin(caller_rate, speech, call_id, now_ms)
    }

    /// Bridges the answered leg with a caller at `caller_rate` of call `call_id` from `now_ms`
    /// on: the rate conversion both ways and the agent's transcript. An attended transfer
    /// calls it again when the leg moves from a consultation to the caller's call.
    pub fn rejoin(
        &mut self,
        caller_rate: u32,
        speech: Option<&SpeechServices>,
        call_id: &str,
        now_ms: u64,
    ) -> Result<&'static str, String> {
        let codec = self.codec.ok_or("the agent has not answered")?;
        self.to_agent = Some(RateConverter::new(caller_rate, codec.sample_rate())?);
        self.from_agent = Some(RateConverter::new(codec.sample_rate(), caller_rate)?);
        self.speech = speech.and_then(|s| CallerSpeech::new(call_id, s, codec.sample_rate()));
        if let Some(speech) = self.speech.as_mut() {
            speech.transcribe(true);
        }
        self.connected_ms = now_ms;
        Ok(codec.name())
    }

    /// Waits for the leg's next SIP event, datagram or recognition.
    pub async fn next_input(&mut self, buf: &mut [u8], rtcp_buf: &mut [u8]) -> AgentInput {
        let speech = self.speech.as_mut();
        tokio::select! {
            event = self.events.recv() => match event {
                Some(event) => AgentInput::Sip(event),
                None => std::future::pending().await,
            },
            received = self.rtp.recv_from(buf) => match received {
                Ok((n, from)) => AgentInput::Rtp(n, from),
                Err(_) => std::future::pending().await,
            },
            received = self.rtcp.recv_from(rtcp_buf) => match received {
                Ok((n, _)) => AgentInput::Rtcp(n),
                Err(_) => std::future::pending().await,
            },
            result = async {
                match speech {
                    Some(speech) => speech.next_result().await,
                    None => std::future::pending().await,
                }
            } => AgentInput::Recognition(result),
        }
    }

    /// Takes a re-INVITE's new address and hold state; returns the SDP to answer with.
    pub fn reanswer(&mut self, remote: SocketAddr, hold: bool, direction: Direction) -> String {
        if let Some(media) = self.media.as_mut() {
            media.update(remote, hold);
        }
        self.local.version += 1;
        self.local.direction = direction;
        self.local.to_sdp()
    }

    /// Our current SDP, to answer an offerless re-INVITE.
    pub fn local_sdp(&mut self) -> String {
        self.local.version += 1;
        self.local.to_sdp()
    }

    /// The leg's media once answered.
    pub fn media(&mut self) -> Option<&mut MediaSession> {
        self.media.as_mut()
    }

    /// The agent's speech (None before the answer or without speech).
    pub fn speech(&mut self) -> Option<&mut CallerSpeech> {
        self.speech.as_mut()
    }

    /// One bridged 20 ms step: takes the agent's frame, sends `caller_frame` to the agent, and
    /// returns the agent's frame at the caller's rate plus the packet to send the agent.
    pub fn exchange(&mut self, now: Instant, caller_frame: &[i16]) -> (&[i16], Option<Vec<u8>>) {
        let (Some(media), Some(to_agent), Some(from_agent)) = (
            self.media.as_mut(),
            self.to_agent.as_mut(),
            self.from_agent.as_mut(),
        ) else {
            return (&[], None);
        };
        media.receive(now);
        if let Some(speech) = self.speech.as_mut() {
            speech.frame(media.caller_frame());
        }
        self.agent_audio.clear();
        from_agent.process(media.caller_frame(), &mut self.agent_audio);
        self.converted.clear();
        to_agent.process(caller_frame, &mut self.converted);
        let packet = media.send_audio(&self.converted);
        (&self.agent_audio, packet)
    }
}

/// `text` made safe for one SIP header line: no line breaks or control characters, bounded.
fn header_text(text: &str) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match clean.char_indices().nth(MAX_SUMMARY) {
        Some((cut, _)) => format!("{}…", &clean[..cut]),
        None => clean,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_header_is_one_bounded_line() {
        assert_eq!(header_text("billing;\r\nX-Evil: 1"), "billing;  X-Evil: 1");
        let long = "x".repeat(1000);
        assert_eq!(header_text(&long).chars().count(), MAX_SUMMARY + 1);
    }
}
