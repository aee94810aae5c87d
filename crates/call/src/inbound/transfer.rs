//! Transfers the agent starts from their phone (REFER). Attended: the agent consulted a
//! colleague first (a consultation call, `consult.rs`) and the REFER's Refer-To replaces that
//! consultation; the colleague's leg is taken over and bridged with the caller at once. Blind:
//! to a queue, to another agent by id, or to any SIP URI. The caller hears music meanwhile. A transfer to a person keeps the
//! first agent's leg until the target answers, so a failed transfer (no answer, busy, a dead
//! URI) returns the caller to the first agent instead of dropping them; if that agent hung up
//! meanwhile, the caller goes back to the queue.
//!
//! A failure is not reported to the first agent's phone with a final NOTIFY: phones such as
//! baresip end the call on a failed-transfer NOTIFY, which would drop the caller we just kept.
//! The timeline records it (`transfer_failed`), and the agent hears the caller again.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use sb_sip::headers::Uri;
use sb_sip::{DialogId, EndCause, Peer, Replaces, SipEvent, TransportKind};
use serde_json::json;

use super::CallLoop;
use crate::agent_leg::{AgentContact, AgentInput, AgentLeg};
use crate::consult::Consulted;
use crate::contact_center::CenterHandle;
use crate::sip_server::SipCommand;

/// How long a transfer target may ring before the caller goes back to the first agent.
pub(super) const TRANSFER_RING_TIMEOUT: Duration = Duration::from_secs(15);

/// A transfer in progress.
pub(super) struct Transfer {
    /// The first agent's leg, which asked for the transfer and hears how it goes.
    from: DialogId,
    /// Where to, as the agent wrote it.
    to: String,
    /// When the caller goes back to the first agent if the target has not answered.
    deadline: Instant,
}

/// Where a REFER sends the caller.
enum Target {
    Queue(String),
    Person(AgentContact),
}

impl CallLoop<'_> {
    /// The agent on leg `from` asked to transfer the caller to `refer_to`.
    pub(super) async fn refer(
        &mut self,
        now: Instant,
        from: DialogId,
        agent: &str,
        refer_to: &str,
    ) {
        self.log(
            "transfer_requested",
            json!({"agent": agent, "to": refer_to}),
        );
        tracing::info!(agent, to = refer_to, "transfer requested");
        if self.transfer.is_some() || self.other.is_some() {
            return self.refuse_transfer(from, 491, "Request Pending: a transfer is under way");
        }
        let target = match transfer_target(self.svc.center.clone(), refer_to).await {
            Ok(target) => target,
            Err(why) => {
                self.log("transfer_failed", json!({"to": refer_to, "reason": why}));
                return self.refuse_transfer(from, 404, "Not Found");
            }
        };
        match target {
            Target::Queue(queue) => {
                if let Some(center) = &self.svc.center {
                    center.transfer(self.id, &queue);
                }
                self.svc
                    .sip
                    .send(SipCommand::NotifyRefer(from, 200, "OK".to_string()));
                self.release_first_agent();
                if let Some(place) = self.queue.as_mut() {
                    place.talking = false;
                }
                self.log("transferred", json!({"agent": agent, "queue": queue}));
                tracing::info!(queue, "transferred to a queue: the caller waits there");
                self.hold_music();
            }
            Target::Person(contact) => {
                let briefing = self.briefing();
                self.log(
                    "agent_ringing",
                    json!({"agent": contact.agent, "contact": contact.uri, "transfer": true,
                           "address": contact.peer.addr.to_string()}),
                );
                match AgentLeg::ring(self.svc, &contact, &briefing).await {
                    Some(leg) => {
                        self.svc
                            .sip
                            .send(SipCommand::NotifyRefer(from, 100, "Trying".to_string()));
                        self.other = Some(leg);
                        self.transfer = Some(Transfer {
                            from,
                            to: refer_to.to_string(),
                            deadline: now + TRANSFER_RING_TIMEOUT,
                        });
                        // The caller waits with music while the target rings.
                        if let Some(place) = self.queue.as_mut() {
                            place.talking = false;
                        }
                        self.hold_music();
                    }
                    None => self.refuse_transfer(from, 503, "Service Unavailable"),
                }
            }
        }
    }

    /// The first agent is done after a transfer: their leg is hung up.
    fn release_first_agent(&mut self) {
        let first = self.agent.take();
        self.agent_leaving(first);
    }

    fn agent_leaving(&mut self, leg: Option<AgentLeg>) {
        if let Some(leg) = leg {
            self.svc.sip.send(SipCommand::Hangup(leg.dialog));
            self.log(
                "agent_hangup",
                json!({"agent": leg.agent, "by": "gateway", "after": "transfer"}),
            );
        }
    }

    fn refuse_transfer(&mut self, from: DialogId, code: u16, reason: &str) {
        self.svc
            .sip
            .send(SipCommand::NotifyRefer(from, code, reason.to_string()));
    }

    /// Something from the second leg: the transfer target ringing, or the first agent leaving.
    pub(super) fn other_input(&mut self, input: AgentInput) {
        let now = Instant::now();
        let AgentInput::Sip(event) = input else {
            // The second leg has no media before it becomes the agent's leg.
            return;
        };
        let Some(leg) = self.other.as_ref() else {
            return;
        };
        let (target, dialog) = (leg.agent.clone(), leg.dialog);
        let Some(transfer) = &self.transfer else {
            return;
        };
        let from = transfer.from;
        match event {
            SipEvent::Answered { answer, .. } => {
                let now_ms = self.call_ms(now);
                let rate = self.media.sample_rate();
                let speech = self.svc.speech.as_ref();
                let answered = self
                    .other
                    .as_mut()
                    .map(|leg| leg.answered(answer.as_ref(), rate, speech, self.id, now_ms));
                match answered {
                    Some(Ok(codec)) => {
                        let to = self.transfer.take().map(|t| t.to).unwrap_or_default();
                        self.transfer_answered(from, &target, codec, json!({"to": to}));
                    }
                    Some(Err(why)) => {
                        self.svc.sip.send(SipCommand::Hangup(dialog));
                        self.transfer_failed(&why);
                    }
                    None => {}
                }
            }
            SipEvent::Ended { cause, .. } => {
                let why = match cause {
                    EndCause::Rejected(code) => format!("the target answered {code}"),
                    other => format!("{other:?}"),
                };
                self.transfer_failed(&why);
            }
            SipEvent::Progress { code, .. } => {
                self.log("agent_progress", json!({"agent": target, "code": code}));
            }
            _ => {}
        }
    }

    /// The agent on leg `from` consulted a colleague and now hands the caller over:
    /// `replaces` names the consultation (the agent's own call to the colleague).
    pub(super) async fn attended_transfer(
        &mut self,
        now: Instant,
        from: DialogId,
        agent: &str,
        refer_to: &str,
        replaces: Replaces,
    ) {
        self.log(
            "transfer_requested",
            json!({"agent": agent, "to": refer_to, "attended": true}),
        );
        tracing::info!(agent, to = refer_to, "attended transfer requested");
        if self.transfer.is_some() || self.other.is_some() {
            return self.refuse_transfer(from, 491, "Request Pending: a transfer is under way");
        }
        let consulted = match self.svc.sip.find_dialog(replaces).await {
            Some(dialog) => self.svc.consults.take(dialog).await,
            None => None,
        };
        let Some(Consulted {
            agent: target,
            mut leg,
            since,
        }) = consulted
        else {
            let why = "the consultation it replaces is not (or no longer) running";
            self.log("transfer_failed", json!({"to": refer_to, "reason": why}));
            return self.refuse_transfer(from, 481, "Call/Transaction Does Not Exist");
        };
        let rate = self.media.sample_rate();
        let now_ms = self.call_ms(now);
        match leg.rejoin(rate, self.svc.speech.as_ref(), self.id, now_ms) {
            Ok(codec) => {
                self.other = Some(leg);
                let consulted_ms = now.saturating_duration_since(since).as_millis() as u64;
                let details =
                    json!({"to": refer_to, "attended": true, "consulted_ms": consulted_ms});
                self.transfer_answered(from, &target, codec, details);
            }
            Err(why) => {
                self.svc.sip.send(SipCommand::Hangup(leg.dialog));
                self.log("transfer_failed", json!({"to": refer_to, "reason": why}));
                self.refuse_transfer(from, 488, "Not Acceptable Here");
            }
        }
    }

    /// The target took the caller: they talk, the first agent is let go. `details` go into
    /// the `transferred` event.
    fn transfer_answered(
        &mut self,
        from: DialogId,
        target: &str,
        codec: &str,
        details: serde_json::Value,
    ) {
        self.svc
            .sip
            .send(SipCommand::NotifyRefer(from, 200, "OK".to_string()));
        let first = std::mem::replace(&mut self.agent, self.other.take());
        self.agent_leaving(first);
        // The first agent's part of the call is over for the contact center.
        if let Some(center) = &self.svc.center {
            center.left(self.id);
        }
        if let Some(place) = self.queue.as_mut() {
            place.talking = true;
            place.held = false;
        }
        self.media.stop_playback();
        self.svc.store.call_agent(self.id, target);
        // An agent reached by id is busy with this call until it leaves the center.
        if let Some(center) = self.svc.center.as_ref().filter(|c| c.is_agent(target)) {
            center.talking(target, self.id);
        }
        let mut event = json!({"agent": target, "codec": codec});
        if let (Some(event), Some(details)) = (event.as_object_mut(), details.as_object()) {
            event.extend(details.clone());
        }
        self.log("transferred", event);
        tracing::info!(
            agent = target,
            "transfer answered: bridged to the new agent"
        );
    }

    /// The target did not take the call: back to the first agent.
    pub(super) fn transfer_failed(&mut self, why: &str) {
        let Some(transfer) = self.transfer.take() else {
            return;
        };
        if let Some(leg) = self.other.take() {
            self.svc.sip.send(SipCommand::Hangup(leg.dialog));
        }
        self.log("transfer_failed", json!({"to": transfer.to, "reason": why}));
        if self.agent.is_none() {
            // The first agent already hung up: the caller goes back to the queue.
            tracing::info!(
                to = transfer.to,
                why,
                "transfer failed and the first agent is gone: back to the queue"
            );
            let queue = self.queue.as_ref().map(|p| p.request.queue.clone());
            if let (Some(center), Some(queue)) = (&self.svc.center, queue) {
                center.transfer(self.id, &queue);
                self.log("requeued", json!({"queue": queue}));
            }
            return self.hold_music();
        }
        tracing::info!(
            to = transfer.to,
            why,
            "transfer failed: the caller is back with the agent"
        );
        if let Some(place) = self.queue.as_mut() {
            place.talking = true;
        }
        self.media.stop_playback();
    }

    /// Gives up a transfer whose target rang too long.
    pub(super) fn check_transfer(&mut self, now: Instant) {
        if self.transfer.as_ref().is_some_and(|t| now >= t.deadline) {
            self.transfer_failed("no answer in time");
        }
    }
}

/// A queue by name, an agent by id, or a SIP URI with an IP address.
async fn transfer_target(center: Option<CenterHandle>, refer_to: &str) -> Result<Target, String> {
    let text = refer_to.trim().trim_start_matches('<');
    let text = text.split(['>', '?']).next().unwrap_or(text);
    let uri = Uri::parse(text).map_err(|e| format!("bad Refer-To: {e}"))?;
    let user = uri.user.clone().unwrap_or_default();
    if let Some(center) = &center {
        if center.has_queue(&user) {
            return Ok(Target::Queue(user));
        }
        if let Some(contact) = center.contact(&user).await {
            return Ok(Target::Person(contact));
        }
    }
    let host = uri.host.trim_matches(['[', ']']);
    let ip: IpAddr = host
        .parse()
        .map_err(|_| format!("`{host}` is no IP address (names are not resolved)"))?;
    let addr = SocketAddr::new(ip, uri.port.unwrap_or(5060));
    Ok(Target::Person(AgentContact {
        agent: text.to_string(),
        uri: text.to_string(),
        aor: text.to_string(),
        peer: Peer {
            transport: TransportKind::Udp,
            addr,
        },
    }))
}
