//! The caller's time with the contact center: waiting in a queue (music, announcements),
//! the agent's phone ringing, and the bridge to the agent once they answer: both directions
//! of audio, keys relayed, hold, and either side's hang-up.

use std::sync::Arc;
use std::time::Instant;

use sb_dialog::{Input, PromptItem, QueueRequest};
use sb_sip::sdp;
use sb_sip::{EndCause, SipEvent};
use sb_store::{Speaker, TranscriptLine};
use serde_json::json;
use tokio::sync::mpsc;

use super::CallLoop;
use crate::agent_leg::{AgentBriefing, AgentInput, AgentLeg};
use crate::caller_speech::{CallerEvent, RecognitionResult};
use crate::contact_center::{CenterEvent, NotAnswered};
use crate::sip_server::SipCommand;

/// The caller's place with the contact center, from the queue step to the end of the talk.
pub(super) struct QueuePlace {
    /// The center's word on this call; None once the center let the call go (a transfer to a
    /// person takes it out of the routing).
    pub(super) events: Option<mpsc::UnboundedReceiver<CenterEvent>>,
    pub(super) request: QueueRequest,
    /// Music on hold, at the caller's rate (None: silence).
    music: Option<Arc<[i16]>>,
    entered: Instant,
    /// The agent answered: the caller is bridged.
    pub(super) talking: bool,
    /// The agent put the caller on hold.
    pub(super) held: bool,
}

/// Waits for the next thing from the agent's leg (pending forever without one).
pub(super) async fn next_agent_input(
    agent: &mut Option<AgentLeg>,
    buf: &mut [u8],
    rtcp_buf: &mut [u8],
) -> AgentInput {
    match agent.as_mut() {
        Some(leg) => leg.next_input(buf, rtcp_buf).await,
        None => std::future::pending().await,
    }
}

/// Waits for the center's next word on the queued call (pending forever when not queued).
pub(super) async fn next_center_event(queue: &mut Option<QueuePlace>) -> Option<CenterEvent> {
    match queue.as_mut().and_then(|place| place.events.as_mut()) {
        Some(events) => events.recv().await,
        None => std::future::pending().await,
    }
}

impl CallLoop<'_> {
    /// The dialplan's queue step: in line with the center, music until an agent answers.
    pub(super) fn enter_queue(&mut self, now: Instant, request: QueueRequest) {
        let Some(center) = self.svc.center.as_ref() else {
            tracing::warn!(
                queue = request.queue,
                "a queue step, but no queues are configured"
            );
            let reason = "no queues are configured".to_string();
            let overflow = Input::QueueOverflow {
                reason,
                node: None,
                callback: false,
            };
            self.dialplan.handle_input(overflow, now);
            return;
        };
        let (tx, rx) = mpsc::unbounded_channel();
        center.enqueue(self.id, &request.queue, &request.priority, tx);
        tracing::info!(
            queue = request.queue,
            priority = request.priority,
            "caller queued"
        );
        let music = self.svc.center_music(&request.queue).and_then(|path| {
            match self.svc.prompts.get(&path, self.media.sample_rate()) {
                Ok(music) => Some(music),
                Err(e) => {
                    tracing::warn!(error = %e, "no music on hold");
                    None
                }
            }
        });
        self.queue = Some(QueuePlace {
            events: Some(rx),
            request,
            music,
            entered: now,
            talking: false,
            held: false,
        });
        self.hold_music();
    }

    /// Plays the music on hold again if the caller is waiting and nothing else plays.
    pub(super) fn hold_music(&mut self) {
        let Some(place) = &self.queue else { return };
        let waiting = !place.talking || place.held;
        if waiting
            && !self.media.is_playing()
            && let Some(music) = &place.music
        {
            self.interruptible = false;
            self.media.play([music.clone()]);
        }
    }

    /// Whether the call is with the center (waiting or talking): prompts ending are the
    /// center's business then, not the dialplan's.
    pub(super) fn with_center(&self) -> bool {
        self.queue.is_some()
    }

    /// Acts on the center's decision for this call.
    pub(super) async fn center_event(&mut self, event: Option<CenterEvent>) {
        let now = Instant::now();
        let Some(event) = event else {
            if let Some(place) = self.queue.as_mut() {
                place.events = None;
                if place.talking {
                    // The center let the call go (a transfer to a person): nothing more to hear.
                    return;
                }
            }
            // The center stopped (shutdown): an overflow, so the caller is not left waiting.
            return self.overflow(now, "the contact center stopped".to_string(), None, false);
        };
        match event {
            CenterEvent::Ring(contact) => {
                if self.agent.is_some() {
                    tracing::warn!(
                        agent = contact.agent,
                        "asked to ring a second agent at once"
                    );
                    return;
                }
                let briefing = self.briefing();
                self.log(
                    "agent_ringing",
                    json!({"agent": contact.agent, "contact": contact.uri,
                           "address": contact.peer.addr.to_string()}),
                );
                tracing::info!(
                    agent = contact.agent,
                    contact = contact.uri,
                    "ringing agent"
                );
                match AgentLeg::ring(self.svc, &contact, &briefing).await {
                    Some(leg) => self.agent = Some(leg),
                    None => {
                        tracing::warn!(agent = contact.agent, "cannot ring the agent: no RTP port");
                        if let Some(center) = &self.svc.center {
                            center.not_answered(self.id, &contact.agent, NotAnswered::Unreachable);
                        }
                    }
                }
            }
            CenterEvent::CancelRing { agent } => {
                let ringing = self
                    .agent
                    .as_mut()
                    .is_some_and(|leg| leg.agent == agent && leg.media().is_none());
                if ringing && let Some(leg) = self.agent.take() {
                    self.svc.sip.send(SipCommand::Hangup(leg.dialog));
                    self.log("agent_ring_cancelled", json!({"agent": agent}));
                    tracing::info!(agent, "no answer: ringing stopped");
                }
            }
            CenterEvent::Waiting {
                position,
                estimated_wait,
            } => {
                self.log(
                    "queue_position",
                    json!({"position": position, "estimated_wait_s": estimated_wait.as_secs()}),
                );
                let minutes = estimated_wait.as_secs().div_ceil(60).max(1);
                let text = match (position, minutes) {
                    (1, _) => "You are next in line. Thank you for waiting.".to_string(),
                    (_, 1) => {
                        format!("You are number {position} in line. The wait is about one minute.")
                    }
                    _ => format!(
                        "You are number {position} in line. The wait is about {minutes} minutes."
                    ),
                };
                if self.queue.as_ref().is_some_and(|p| !p.talking) {
                    self.media.stop_playback();
                    let playing = self
                        .voice
                        .play(vec![PromptItem::Say(text)], &mut self.media);
                    self.voice_notes();
                    if !playing {
                        self.hold_music();
                    }
                }
            }
            CenterEvent::Moved { queue } => {
                tracing::info!(queue, "waiting on in the overflow queue");
                self.log("queue_moved", json!({"queue": queue}));
            }
            CenterEvent::Overflow {
                reason,
                node,
                callback,
            } => self.overflow(now, reason, node, callback),
        }
    }

    /// The queue gave up: ringing stops, the dialplan takes its overflow path.
    fn overflow(&mut self, now: Instant, reason: String, node: Option<String>, callback: bool) {
        if let Some(leg) = self.agent.take() {
            self.svc.sip.send(SipCommand::Hangup(leg.dialog));
        }
        if self.queue.take().is_some() {
            self.media.stop_playback();
            tracing::info!(reason, "queue overflow");
            let overflow = Input::QueueOverflow {
                reason,
                node,
                callback,
            };
            self.dialplan.handle_input(overflow, now);
            self.drain_dialplan(now);
        }
    }

    /// What the agent's phone is told about the caller.
    pub(super) fn briefing(&self) -> AgentBriefing {
        let mut summary = self
            .queue
            .as_ref()
            .map(|p| p.request.summary.clone())
            .unwrap_or_default();
        if let Some(score) = self.frustration_score
            && !summary.contains("frustration")
        {
            summary.push_str(&format!("; frustration {score:.2}"));
        }
        AgentBriefing {
            caller: self.caller_uri.clone(),
            summary,
            link: self.svc.call_link(self.id),
        }
    }

    /// Acts on something from the agent's leg.
    pub(super) async fn agent_input(&mut self, input: AgentInput, buf: &[u8], rtcp_buf: &[u8]) {
        let now = Instant::now();
        match input {
            AgentInput::Sip(SipEvent::Refer {
                refer_to, replaces, ..
            }) => {
                let Some(leg) = self.agent.as_ref() else {
                    return;
                };
                let (dialog, agent) = (leg.dialog, leg.agent.clone());
                match replaces {
                    Some(replaces) => {
                        self.attended_transfer(now, dialog, &agent, &refer_to, replaces)
                            .await;
                    }
                    None => self.refer(now, dialog, &agent, &refer_to).await,
                }
            }
            AgentInput::Sip(event) => self.agent_sip_event(now, event),
            AgentInput::Rtp(n, from) => {
                if let Some(media) = self.agent.as_mut().and_then(|leg| leg.media()) {
                    media.handle_rtp(now, from, &buf[..n]);
                }
                self.agent_media_events(now);
            }
            AgentInput::Rtcp(n) => {
                if let Some(media) = self.agent.as_mut().and_then(|leg| leg.media()) {
                    media.handle_rtcp(now, &rtcp_buf[..n]);
                }
            }
            AgentInput::Recognition(result) => {
                if let Some(speech) = self.agent.as_mut().and_then(|leg| leg.speech()) {
                    match result {
                        RecognitionResult::Turn(result) => speech.recognized(result),
                        RecognitionResult::Early(result) => speech.early_recognized(result, false),
                    }
                }
                self.agent_speech_events();
            }
        }
    }

    fn agent_sip_event(&mut self, now: Instant, event: SipEvent) {
        let Some(leg) = self.agent.as_ref() else {
            return;
        };
        let (agent, dialog) = (leg.agent.clone(), leg.dialog);
        match event {
            SipEvent::Progress { code, .. } => {
                self.log("agent_progress", json!({"agent": agent, "code": code}));
            }
            SipEvent::Answered { answer, .. } => {
                let now_ms = self.call_ms(now);
                let rate = self.media.sample_rate();
                let speech = self.svc.speech.as_ref();
                let answered = self
                    .agent
                    .as_mut()
                    .map(|leg| leg.answered(answer.as_ref(), rate, speech, self.id, now_ms));
                match answered {
                    Some(Ok(codec)) => self.agent_answered(now, &agent, codec),
                    Some(Err(why)) => {
                        tracing::warn!(agent, why, "agent's answer unusable: hanging up that leg");
                        self.log("agent_failed", json!({"agent": agent, "reason": why}));
                        self.agent = None;
                        self.svc.sip.send(SipCommand::Hangup(dialog));
                        if let Some(center) = &self.svc.center {
                            center.not_answered(self.id, &agent, NotAnswered::Unreachable);
                        }
                    }
                    None => {}
                }
            }
            SipEvent::Ended { .. } if self.transfer.is_some() => {
                // The first agent hung up while the transfer target rings: the target decides.
                self.agent = None;
                self.log(
                    "agent_hangup",
                    json!({"agent": agent, "by": "agent", "during": "transfer"}),
                );
            }
            SipEvent::Ended { cause, .. } => {
                let connected_ms = self
                    .agent
                    .take()
                    .and_then(|mut leg| leg.media().is_some().then_some(leg.connected_ms));
                if let Some(connected_ms) = connected_ms {
                    let talked_ms = self.call_ms(now).saturating_sub(connected_ms);
                    self.agent_hung_up(now, &agent, talked_ms);
                } else {
                    let why = match cause {
                        EndCause::Rejected(486 | 600 | 603) => NotAnswered::Declined,
                        _ => NotAnswered::Unreachable,
                    };
                    let code = match cause {
                        EndCause::Rejected(code) => Some(code),
                        _ => None,
                    };
                    self.log(
                        "agent_not_answered",
                        json!({"agent": agent, "code": code, "cause": format!("{cause:?}")}),
                    );
                    tracing::info!(agent, ?cause, "agent did not answer");
                    if let Some(center) = &self.svc.center {
                        center.not_answered(self.id, &agent, why);
                    }
                }
            }
            SipEvent::ReInvite { offer, .. } => {
                let preference: Vec<&str> =
                    self.svc.settings.codecs.iter().map(|c| c.name()).collect();
                let negotiated = offer.as_ref().map(|o| sdp::negotiate(o, &preference));
                let Some(leg) = self.agent.as_mut() else {
                    return;
                };
                match negotiated {
                    Some(Ok(n)) => {
                        let hold = n.on_hold();
                        let sdp = leg.reanswer(n.remote, hold, n.direction);
                        self.svc.sip.send(SipCommand::AnswerReinvite(dialog, sdp));
                        self.agent_hold(hold);
                    }
                    _ => {
                        let sdp = leg.local_sdp();
                        self.svc.sip.send(SipCommand::AnswerReinvite(dialog, sdp));
                    }
                }
            }
            SipEvent::InfoDtmf { digit, .. } => self.relay_to_caller(digit),
            SipEvent::Established { .. }
            | SipEvent::Refer { .. }
            | SipEvent::IncomingCall(_)
            | SipEvent::Registration { .. }
            | SipEvent::Qualified { .. } => {}
        }
    }

    fn agent_answered(&mut self, now: Instant, agent: &str, codec: &str) {
        let waited_ms = self.queue.as_ref().map_or(0, |p| {
            now.saturating_duration_since(p.entered).as_millis() as u64
        });
        if let Some(place) = self.queue.as_mut() {
            place.talking = true;
        }
        if let Some(center) = &self.svc.center {
            center.answered(self.id, agent);
        }
        let now_ms = self.call_ms(now);
        let lines = self.voice.stop(&mut self.media, now_ms);
        self.bot_lines(lines);
        self.media.stop_playback();
        self.svc.store.call_agent(self.id, agent);
        self.log(
            "agent_answered",
            json!({"agent": agent, "codec": codec, "waited_ms": waited_ms}),
        );
        tracing::info!(agent, codec, waited_ms, "agent answered: bridged");
        self.dialplan.handle_input(
            Input::AgentConnected {
                agent: agent.to_string(),
            },
            now,
        );
        self.drain_dialplan(now);
    }

    pub(super) fn agent_hung_up(&mut self, now: Instant, agent: &str, talked_ms: u64) {
        tracing::info!(agent, talked_ms, "agent hung up");
        self.log(
            "agent_hangup",
            json!({"agent": agent, "by": "agent", "talked_ms": talked_ms}),
        );
        self.queue = None;
        if let Some(center) = &self.svc.center {
            center.left(self.id);
        }
        self.dialplan.handle_input(Input::AgentHungUp, now);
        self.drain_dialplan(now);
    }

    fn agent_hold(&mut self, hold: bool) {
        let Some(place) = self.queue.as_mut() else {
            return;
        };
        if place.held == hold {
            return;
        }
        place.held = hold;
        self.log(if hold { "agent_hold" } else { "agent_unhold" }, json!({}));
        if hold {
            self.hold_music();
        } else {
            self.media.stop_playback();
        }
    }

    /// A key the agent pressed, sent on to the caller.
    fn relay_to_caller(&mut self, digit: char) {
        self.log("dtmf", json!({"digit": digit.to_string(), "from": "agent"}));
        self.media
            .send_dtmf(digit, std::time::Duration::from_millis(100));
    }

    /// A key the caller pressed while bridged, sent on to the agent; false when not bridged.
    pub(super) fn relay_to_agent(&mut self, digit: char) -> bool {
        if !self.queue.as_ref().is_some_and(|p| p.talking) {
            return false;
        }
        if let Some(media) = self.agent.as_mut().and_then(|leg| leg.media()) {
            media.send_dtmf(digit, std::time::Duration::from_millis(100));
        }
        true
    }

    fn agent_media_events(&mut self, _now: Instant) {
        let mut digits = Vec::new();
        if let Some(media) = self.agent.as_mut().and_then(|leg| leg.media()) {
            while let Some(event) = media.poll_event() {
                if let crate::media_session::MediaEvent::Dtmf(digit, _) = event {
                    digits.push(digit);
                }
            }
        }
        for digit in digits {
            self.relay_to_caller(digit);
        }
    }

    /// Writes what the agent said to the transcript.
    pub(super) fn agent_speech_events(&mut self) {
        let Some(leg) = self.agent.as_mut() else {
            return;
        };
        let offset = leg.connected_ms;
        let agent = leg.agent.clone();
        let mut lines = Vec::new();
        while let Some(event) = leg.speech().and_then(|s| s.poll_event()) {
            match event {
                CallerEvent::Recognized {
                    start_ms,
                    end_ms,
                    recognition,
                    ..
                } if !recognition.text.is_empty() => {
                    lines.push(TranscriptLine {
                        call_id: self.id.to_string(),
                        speaker: Speaker::Agent,
                        start_ms: start_ms + offset,
                        end_ms: end_ms + offset,
                        text: recognition.text,
                        confidence: Some(recognition.confidence),
                        interrupted_after_ms: None,
                        data: json!({"words": recognition.words, "agent": agent}),
                    });
                }
                CallerEvent::Unrecognized { error, .. } => {
                    tracing::warn!(%error, "agent speech not recognized");
                }
                _ => {}
            }
        }
        for line in lines {
            tracing::info!(text = %line.text, "agent said");
            self.svc.store.transcript_line(line);
        }
    }

    /// One bridged 20 ms step: the caller's frame goes to the agent, the agent's to the caller
    /// (unless music or an announcement plays). Returns the packets for caller and agent.
    pub(super) fn bridge_tick(&mut self, now: Instant) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
        let talking = self.queue.as_ref().is_some_and(|p| p.talking);
        let Some(leg) = self.agent.as_mut().filter(|_| talking) else {
            return (self.media.send(), None);
        };
        let (agent_frame, to_agent) = leg.exchange(now, self.media.caller_frame());
        let to_caller = if self.media.is_playing() {
            self.media.send()
        } else {
            self.media.send_audio(agent_frame)
        };
        (to_caller, to_agent)
    }

    /// The call is over: the agent's leg is hung up and the center told.
    pub(super) fn leave_center(&mut self) {
        if let Some(leg) = self.other.take() {
            self.svc.sip.send(SipCommand::Hangup(leg.dialog));
        }
        if let Some(mut leg) = self.agent.take() {
            self.svc.sip.send(SipCommand::Hangup(leg.dialog));
            let talked_ms = leg.media().is_some().then(|| {
                self.call_ms(Instant::now())
                    .saturating_sub(leg.connected_ms)
            });
            self.log(
                "agent_hangup",
                json!({"agent": leg.agent, "by": "gateway", "talked_ms": talked_ms}),
            );
        }
        if self.queue.take().is_some()
            && let Some(center) = &self.svc.center
        {
            center.left(self.id);
        }
    }
}
