//! Consultation calls between agents, the first half of an attended transfer: agent A, talking
//! with a caller, calls agent B's id (`sip:ben@gateway`) from the same phone; the gateway rings
//! B's registered phone and bridges the two (a small B2BUA call of its own, not stored as a
//! customer call). When A then transfers the caller with a REFER whose Refer-To carries
//! `Replaces` naming this consultation, the caller's call task takes B's leg over from this
//! task ([`ConsultRegistry::take`]): B keeps talking, now with the caller, without a new ring,
//! so it works with phones that know nothing of `Replaces` (RFC 3891) themselves; A's
//! consultation leg is hung up.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sb_sip::sdp::{self, Direction, Format, LocalSession};
use sb_sip::{DialogId, IncomingCall, SipEvent};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

use crate::agent_leg::{AgentBriefing, AgentContact, AgentInput, AgentLeg};
use crate::gateway::Services;
use crate::inbound::rand_u32;
use crate::media_session::{MediaParams, MediaSession};
use crate::sip_server::{SipCommand, sleep_until};

/// One 20 ms frame.
const FRAME: Duration = Duration::from_millis(20);
/// How long the consulted agent's phone may ring.
const RING_TIMEOUT: Duration = Duration::from_secs(30);

/// The consulted agent's leg, handed to the call that takes it over.
pub struct Consulted {
    /// The consulted agent's id.
    pub agent: String,
    /// Their answered leg.
    pub leg: AgentLeg,
    /// When they answered the consultation.
    pub since: Instant,
}

type Handover = oneshot::Sender<Consulted>;

/// The consultations in progress, by the dialog of the consulting agent's call: where a REFER
/// with `Replaces` finds the leg to take over.
#[derive(Clone, Default)]
pub struct ConsultRegistry {
    running: Arc<Mutex<HashMap<DialogId, mpsc::UnboundedSender<Handover>>>>,
}

impl ConsultRegistry {
    fn insert(&self, dialog: DialogId, tx: mpsc::UnboundedSender<Handover>) {
        self.lock().insert(dialog, tx);
    }

    fn remove(&self, dialog: DialogId) {
        self.lock().remove(&dialog);
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<DialogId, mpsc::UnboundedSender<Handover>>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes the consulted agent's leg from the consultation whose consulting leg is `dialog`;
    /// that consultation ends. None when there is none (ended, or not answered yet).
    pub async fn take(&self, dialog: DialogId) -> Option<Consulted> {
        let tx = self.lock().get(&dialog).cloned()?;
        let (reply, answer) = oneshot::channel();
        tx.send(reply).ok()?;
        answer.await.ok()
    }
}

/// Who consults whom, when this call is a consultation: an INVITE to an agent's id from
/// another agent's registered phone (the From user is an agent signed in from the INVITE's
/// source). The consulted agent's contact is None when they are not signed in.
pub async fn consult_target(
    svc: &Services,
    call: &IncomingCall,
) -> Option<(String, Option<AgentContact>)> {
    let center = svc.center.as_ref()?;
    if !center.is_agent(&call.dialled) {
        return None;
    }
    let from = sb_sip::headers::Uri::parse(call.from.trim_matches(['<', '>']))
        .ok()?
        .user?;
    let consulting = center.contact(&from).await?;
    if consulting.peer.addr != call.source.addr {
        return None;
    }
    Some((from, center.contact(&call.dialled).await))
}

/// Runs a consultation from agent `from` to `target` until either hangs up or a transfer takes
/// the consulted agent over.
pub async fn run_consult(
    call: IncomingCall,
    mut events: mpsc::UnboundedReceiver<SipEvent>,
    svc: Arc<Services>,
    from: String,
    target: Option<AgentContact>,
) {
    let reject = |code: u16, reason: &str| {
        tracing::info!(code, reason, "consultation refused");
        svc.sip
            .send(SipCommand::Reject(call.dialog, code, reason.to_string()));
    };
    let Some(target) = target else {
        return reject(480, "Temporarily Unavailable: the agent is not signed in");
    };
    let Some(offer) = call.offer.as_ref() else {
        return reject(488, "Not Acceptable Here: offerless INVITE");
    };
    let preference: Vec<&str> = svc.settings.codecs.iter().map(|c| c.name()).collect();
    let negotiated = match sdp::negotiate(offer, &preference) {
        Ok(n) => n,
        Err(why) => return reject(488, &format!("Not Acceptable Here: {why}")),
    };
    let Some(codec) = sb_media::Codec::from_name(&negotiated.codec.name) else {
        return reject(488, "Not Acceptable Here");
    };
    let Some((rtp, _rtcp)) = svc.ports.bind(svc.settings.public_ip).await else {
        return reject(503, "Service Unavailable: no RTP port free");
    };
    let Ok(address) = rtp.local_addr() else {
        return reject(503, "Service Unavailable");
    };
    let local = LocalSession {
        session_id: u64::from(rand_u32()),
        version: 1,
        address,
        formats: vec![Format {
            payload_type: negotiated.codec.payload_type,
            name: codec.name().to_string(),
            clock_rate: 8000,
        }],
        telephone_event: negotiated.telephone_event,
        direction: Direction::SendRecv,
    };
    let briefing = AgentBriefing {
        caller: format!("<sip:{from}@{}>", svc.settings.public_ip),
        summary: format!("consultation from {from}"),
        link: None,
    };
    svc.sip.send(SipCommand::Ringing(call.dialog));
    tracing::info!(from, to = target.agent, "consultation: ringing the agent");
    let Some(mut leg) = AgentLeg::ring(&svc, &target, &briefing).await else {
        return reject(503, "Service Unavailable");
    };

    // Until the consulted agent answers: their answer is ours to A.
    let deadline = Instant::now() + RING_TIMEOUT;
    let mut buf = vec![0u8; 2048];
    let mut rtcp_buf = vec![0u8; 1500];
    let rate = codec.sample_rate();
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Some(SipEvent::Ended { .. }) | None => {
                    svc.sip.send(SipCommand::Hangup(leg.dialog));
                    return;
                }
                _ => {}
            },
            input = leg.next_input(&mut buf, &mut rtcp_buf) => match input {
                AgentInput::Sip(SipEvent::Answered { answer, .. }) => {
                    if let Err(why) = leg.answered(answer.as_ref(), rate, None, "consultation", 0) {
                        svc.sip.send(SipCommand::Hangup(leg.dialog));
                        return reject(488, &format!("Not Acceptable Here: {why}"));
                    }
                    break;
                }
                AgentInput::Sip(SipEvent::Ended { .. }) => {
                    return reject(486, "Busy Here: the agent did not take the call");
                }
                _ => {}
            },
            _ = sleep_until(Some(deadline)) => {
                svc.sip.send(SipCommand::Hangup(leg.dialog));
                return reject(480, "Temporarily Unavailable: no answer");
            }
        }
    }
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
    svc.sip
        .send(SipCommand::Answer(call.dialog, local.to_sdp()));
    tracing::info!(from, to = target.agent, "consultation: bridged");
    // The consulted agent is busy for the queues until the consultation ends; a transfer
    // taking them over reports the caller's call instead.
    let talk = format!("consultation {}", call.call_id);
    if let Some(center) = &svc.center {
        center.talking(&target.agent, &talk);
    }

    let (tx, mut handovers) = mpsc::unbounded_channel();
    svc.consults.insert(call.dialog, tx);
    let since = Instant::now();
    let bridge = Bridge {
        svc: &svc,
        dialog: call.dialog,
        rtp,
        media,
        local,
    };
    let handed = bridge
        .run(
            &mut events,
            &mut leg,
            &mut handovers,
            &mut buf,
            &mut rtcp_buf,
        )
        .await;
    svc.consults.remove(call.dialog);
    svc.sip.send(SipCommand::Hangup(call.dialog));
    if let Some(center) = &svc.center {
        center.left(&talk);
    }
    match handed {
        Some(reply) => {
            tracing::info!(
                from,
                to = target.agent,
                "consultation handed over to a transfer"
            );
            let agent = target.agent.clone();
            if let Err(back) = reply.send(Consulted { agent, leg, since }) {
                // The transferring call went away meanwhile: nobody to talk to.
                svc.sip.send(SipCommand::Hangup(back.leg.dialog));
            }
        }
        None => {
            svc.sip.send(SipCommand::Hangup(leg.dialog));
            tracing::info!(from, to = target.agent, "consultation ended");
        }
    }
}

/// The consulting agent's side of the consultation, bridged with the consulted agent's leg.
struct Bridge<'a> {
    svc: &'a Services,
    dialog: DialogId,
    rtp: UdpSocket,
    media: MediaSession,
    local: LocalSession,
}

impl Bridge<'_> {
    /// Bridges until either side hangs up (None) or a transfer asks for the consulted leg
    /// (the handover's reply channel).
    async fn run(
        mut self,
        events: &mut mpsc::UnboundedReceiver<SipEvent>,
        leg: &mut AgentLeg,
        handovers: &mut mpsc::UnboundedReceiver<Handover>,
        buf: &mut [u8],
        rtcp_buf: &mut [u8],
    ) -> Option<Handover> {
        let mut own = vec![0u8; 2048];
        let mut next_tick = Instant::now() + FRAME;
        loop {
            tokio::select! {
                biased;
                reply = handovers.recv() => return reply,
                event = events.recv() => match event {
                    Some(SipEvent::Ended { .. }) | None => return None,
                    Some(SipEvent::ReInvite { offer, .. }) => self.reinvite(offer.as_ref()),
                    _ => {}
                },
                input = leg.next_input(buf, rtcp_buf) => match input {
                    AgentInput::Sip(SipEvent::Ended { .. }) => return None,
                    AgentInput::Rtp(n, from) => {
                        if let Some(media) = leg.media() {
                            media.handle_rtp(Instant::now(), from, &buf[..n]);
                        }
                    }
                    _ => {}
                },
                received = self.rtp.recv_from(&mut own) => {
                    if let Ok((n, from)) = received {
                        self.media.handle_rtp(Instant::now(), from, &own[..n]);
                    }
                }
                _ = tokio::time::sleep_until(next_tick.into()) => {
                    let now = Instant::now();
                    next_tick = (next_tick + FRAME).max(now);
                    self.media.receive(now);
                    let (heard, to_leg) = leg.exchange(now, self.media.caller_frame());
                    let to_own = self.media.send_audio(heard);
                    if let (Some(packet), Some(remote)) = (to_leg, leg.media().map(|m| m.remote())) {
                        let _ = leg.rtp.send_to(&packet, remote).await;
                    }
                    if let Some(packet) = to_own {
                        let _ = self.rtp.send_to(&packet, self.media.remote()).await;
                    }
                }
            }
        }
    }

    /// The consulting agent's phone changed the session (hold, new address).
    fn reinvite(&mut self, offer: Option<&sdp::SessionDescription>) {
        let preference: Vec<&str> = self.svc.settings.codecs.iter().map(|c| c.name()).collect();
        if let Some(Ok(n)) = offer.map(|o| sdp::negotiate(o, &preference)) {
            self.media.update(n.remote, n.on_hold());
            self.local.direction = n.direction;
        }
        self.local.version += 1;
        self.svc
            .sip
            .send(SipCommand::AnswerReinvite(self.dialog, self.local.to_sdp()));
    }
}
