//! The inbound call task: one task owns one call — its SIP dialog (through the SIP task), its
//! RTP sockets, media, dialplan and recording — and logs every step to the store as it happens.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use sb_dialog::{DialplanInterpreter, Input, Output, PromptItem};
use sb_emotion::{FrustrationReading, FrustrationTracker, UtteranceObservation};
use sb_media::recorder::StereoRecorder;
use sb_sip::sdp::{self, Direction, Format, LocalSession};
use sb_sip::{EndCause, IncomingCall, SipEvent};
use sb_speech::asr::Recognition;
use sb_store::{NewCall, Speaker, TranscriptLine};
use serde_json::json;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tracing::Instrument;

use crate::agent_leg::AgentLeg;
use crate::bot_voice::{BotVoice, SpokenLine, VoiceNote};
use crate::caller_speech::{CallerEvent, CallerSpeech, RecognitionResult};
use crate::gateway::Services;
use crate::media_session::{DtmfSource, MediaEvent, MediaParams, MediaSession};
use crate::pending_input::{PendingInput, next_input};
use crate::sip_server::{SipCommand, sleep_until};

mod agent_bridge;
mod transfer;

const FRAME: Duration = Duration::from_millis(20);
const RTCP_INTERVAL: Duration = Duration::from_secs(5);
/// Most frames taken from the caller at once after a stall (1 s); older audio is lost anyway.
const MAX_CATCH_UP_FRAMES: u128 = 50;

/// Starts the task of a new inbound call; its log lines carry the call id.
pub fn spawn_inbound(
    call: IncomingCall,
    events: mpsc::UnboundedReceiver<SipEvent>,
    svc: Arc<Services>,
) {
    let id = sb_store::new_call_id();
    let span = tracing::info_span!("call", id = %id, from = %call.from, to = %call.to);
    tokio::spawn(run_inbound(id, call, events, svc).instrument(span));
}

/// Runs one inbound call to its end.
async fn run_inbound(
    id: String,
    call: IncomingCall,
    events: mpsc::UnboundedReceiver<SipEvent>,
    svc: Arc<Services>,
) {
    let store = svc.store.clone();
    let plan = svc.dialplans.for_number(&call.dialled);
    let recording: PathBuf = svc.settings.recordings_dir.join(format!("{id}.wav"));
    store.call_started(NewCall {
        id: id.clone(),
        from_uri: call.from.clone(),
        to_uri: call.to.clone(),
        dialplan: plan.as_ref().map(|p| p.name().to_string()),
        started_at: Utc::now(),
        recording_path: None,
    });
    let log = |kind: &str, data: serde_json::Value| store.event(&id, Utc::now(), kind, data);
    log(
        "invite",
        json!({"from": call.from, "to": call.to, "dialled": call.dialled,
               "source": call.source.addr.to_string(),
               "transport": format!("{:?}", call.source.transport).to_uppercase(),
               "sip_call_id": call.call_id}),
    );
    tracing::info!(source = %call.source.addr, "incoming call");

    let reject = |code: u16, reason: &str, outcome: &str| {
        svc.sip
            .send(SipCommand::Reject(call.dialog, code, reason.to_string()));
        store.event(
            &id,
            Utc::now(),
            "rejected",
            json!({"code": code, "reason": reason}),
        );
        store.call_ended(&id, Utc::now(), outcome);
        sb_metrics::call_finished(outcome);
        tracing::info!(code, reason, "call rejected");
    };
    let Some(plan) = plan else {
        return reject(404, "Not Found: no dialplan for this number", "rejected");
    };
    let Some(offer) = call.offer.as_ref() else {
        return reject(488, "Not Acceptable Here: offerless INVITE", "rejected");
    };
    let preference: Vec<&str> = svc.settings.codecs.iter().map(|c| c.name()).collect();
    let negotiated = match sdp::negotiate(offer, &preference) {
        Ok(n) => n,
        Err(why) => {
            return reject(488, &format!("Not Acceptable Here: {why}"), "rejected");
        }
    };
    let codec =
        sb_media::Codec::from_name(&negotiated.codec.name).expect("negotiated from our list");
    let Some((rtp, rtcp)) = svc.ports.bind(svc.settings.public_ip).await else {
        return reject(503, "Service Unavailable: no RTP port free", "failed");
    };
    let local_rtp = rtp.local_addr().expect("bound socket");
    let mut local = LocalSession {
        session_id: u64::from(rand_u32()),
        version: 1,
        address: local_rtp,
        formats: vec![Format {
            payload_type: negotiated.codec.payload_type,
            name: codec.name().to_string(),
            clock_rate: 8000,
        }],
        telephone_event: negotiated.telephone_event,
        direction: negotiated.direction,
    };

    let recorder = match StereoRecorder::create(&recording, codec.sample_rate()) {
        Ok(r) => {
            store.recording_path(&id, &recording.to_string_lossy());
            Some(r)
        }
        Err(e) => {
            tracing::warn!(error = %e, path = %recording.display(), "cannot record this call");
            None
        }
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
    media.update(negotiated.remote, negotiated.on_hold());

    svc.sip.send(SipCommand::Ringing(call.dialog));
    svc.sip
        .send(SipCommand::Answer(call.dialog, local.to_sdp()));
    store.call_answered(&id, Utc::now());
    sb_metrics::call_started();
    log(
        "answered",
        json!({"codec": codec.name(), "telephone_event": negotiated.telephone_event,
               "remote_rtp": negotiated.remote.to_string(), "local_rtp": local_rtp.to_string(),
               "dialplan": plan.name()}),
    );
    tracing::info!(codec = codec.name(), dialplan = plan.name(), "answered");

    let start = Instant::now();
    let vars = [
        ("caller".to_string(), call.from.clone()),
        ("dialled".to_string(), call.dialled.clone()),
        ("call_id".to_string(), id.clone()),
    ];
    let mut dialplan = DialplanInterpreter::new(plan.clone(), vars, Utc::now(), start);
    dialplan.start(start);

    let caller = svc
        .speech
        .as_ref()
        .and_then(|speech| CallerSpeech::new(&id, speech, codec.sample_rate()));
    let mut call_task = CallLoop {
        id: &id,
        svc: &svc,
        dialog: call.dialog,
        media,
        dialplan,
        voice: BotVoice::new(svc.speech.as_ref().map(|s| s.tts.clone()), &svc.prompts),
        frustration: svc
            .speech
            .as_ref()
            .map(|speech| FrustrationTracker::new(speech.emotion.clone())),
        no_match: false,
        caller,
        interruptible: false,
        paused: false,
        stopped_by: "dtmf",
        rtp,
        rtcp,
        outcome: None,
        established: false,
        started: start,
        webhook: None,
        understanding: None,
        caller_uri: call.from.clone(),
        frustration_score: None,
        queue: None,
        agent: None,
        other: None,
        transfer: None,
    };
    let outcome = call_task.run(events, start, &mut local).await;
    call_task.leave_center();
    call_task.finish_speech().await;
    let seconds = finish_recording(call_task.media.take_recorder()).await;
    store.event(
        &id,
        Utc::now(),
        "ended",
        json!({"outcome": outcome, "recording_seconds": seconds,
               "rtp_packets_received": call_task.media.packets_received()}),
    );
    store.call_ended(&id, Utc::now(), &outcome);
    sb_metrics::call_ended(&outcome);
    tracing::info!(outcome, "call ended");
}

struct CallLoop<'a> {
    id: &'a str,
    svc: &'a Services,
    dialog: sb_sip::DialogId,
    media: MediaSession,
    dialplan: DialplanInterpreter,
    voice: BotVoice<'a>,
    /// The caller's speech (None when speech is off or unavailable for this call).
    caller: Option<CallerSpeech>,
    /// The caller's frustration over the call, a reading per utterance (with speech).
    frustration: Option<FrustrationTracker>,
    /// The dialplan could not match the caller's last answer (a cue of frustration).
    no_match: bool,
    /// Whether the prompt playing now may be cut short by the caller.
    interruptible: bool,
    /// The prompt is paused because the caller may be starting to talk.
    paused: bool,
    /// What stops the current prompt when the dialplan says so: "dtmf" or "speech".
    stopped_by: &'static str,
    rtp: UdpSocket,
    rtcp: UdpSocket,
    outcome: Option<String>,
    established: bool,
    started: Instant,
    /// The dialplan's HTTP request in flight, if any; dropping it abandons the request.
    webhook: Option<PendingInput>,
    /// The knowledge base's matching for the dialplan's `bot` step, while it runs.
    understanding: Option<PendingInput>,
    /// The caller's URI (From), shown to agents.
    caller_uri: String,
    /// The caller's latest frustration score, for the agent's briefing.
    frustration_score: Option<f32>,
    /// The caller's place with the contact center, from a queue step to the end of the talk.
    queue: Option<agent_bridge::QueuePlace>,
    /// The agent's leg, from ringing to hang-up.
    agent: Option<AgentLeg>,
    /// A second agent leg: a transfer's target ringing, or the first agent leaving after one.
    other: Option<AgentLeg>,
    /// The transfer under way, if any.
    transfer: Option<transfer::Transfer>,
}

impl CallLoop<'_> {
    fn log(&self, kind: &str, data: serde_json::Value) {
        self.svc.store.event(self.id, Utc::now(), kind, data);
    }

    /// Milliseconds since the answer: the time base of transcripts and the recording.
    fn call_ms(&self, now: Instant) -> u64 {
        now.duration_since(self.started).as_millis() as u64
    }

    fn bot_lines(&self, lines: Vec<SpokenLine>) {
        for line in lines {
            self.svc.store.transcript_line(TranscriptLine {
                call_id: self.id.to_string(),
                speaker: Speaker::Bot,
                start_ms: line.start_ms,
                end_ms: line.end_ms,
                text: line.text,
                confidence: None,
                interrupted_after_ms: line.interrupted_after_ms,
                data: line.data,
            });
        }
    }

    fn voice_notes(&mut self) {
        for note in self.voice.take_notes() {
            match note {
                VoiceNote::PromptError { file, error } => {
                    tracing::warn!(%error, file, "prompt missing");
                    self.log("prompt_error", json!({"file": file, "error": error}));
                }
                VoiceNote::TtsError { text, error } => {
                    tracing::warn!(%error, "speech synthesis failed");
                    self.log("tts_error", json!({"text": text, "error": error}));
                }
                VoiceNote::TtsUnavailable { text } => {
                    self.log("tts_unavailable", json!({"text": text}));
                }
            }
        }
    }

    /// After the call: what the bot was saying is written as cut short, and turns still at the
    /// recognizer are awaited (bounded by the recognizer's timeout) so the transcript is whole.
    async fn finish_speech(&mut self) {
        let now_ms = self.call_ms(Instant::now());
        let lines = self.voice.stop(&mut self.media, now_ms);
        self.bot_lines(lines);
        if let Some(caller) = self.caller.as_mut() {
            caller.hang_up();
        }
        self.caller_events(Instant::now());
        while let Some(caller) = self.caller.as_mut() {
            if caller.turns_pending() == 0 {
                break;
            }
            let result = caller.next_recognition().await;
            caller.recognized(result);
            self.caller_events(Instant::now());
        }
    }

    /// Acts on a result from the recognizer. An early one that already answers the dialplan's
    /// question ends the caller's turn at the pause.
    fn recognition_result(&mut self, result: RecognitionResult) {
        let Some(caller) = self.caller.as_mut() else {
            return;
        };
        match result {
            RecognitionResult::Turn(result) => caller.recognized(result),
            RecognitionResult::Early(result) => {
                let answers = matches!(&result,
                    Ok(r) if self.dialplan.answers_turn(&r.text, r.confidence));
                if answers {
                    tracing::debug!("the answer is complete: the turn ends at the pause");
                }
                caller.early_recognized(result, answers);
            }
        }
        self.caller_events(Instant::now());
    }

    /// Scores the caller's frustration on a recognized utterance (None without speech).
    fn frustration(
        &mut self,
        recognition: &Recognition,
        audio: &[i16],
        sample_rate: u32,
    ) -> Option<FrustrationReading> {
        let tracker = self.frustration.as_mut()?;
        let words: Vec<(u32, u32)> = recognition
            .words
            .iter()
            .map(|w| (w.start_ms as u32, w.end_ms as u32))
            .collect();
        let reading = tracker.observe(&UtteranceObservation {
            samples: audio,
            sample_rate,
            words: &words,
            text: &recognition.text,
            asr_confidence: Some(recognition.confidence),
            no_match: self.no_match,
        });
        self.frustration_score = Some(reading.score);
        let cues: Vec<&str> = reading.cues.iter().map(|c| c.label()).collect();
        tracing::info!(
            score = reading.score,
            trend = reading.trend,
            ?cues,
            "caller frustration"
        );
        Some(reading)
    }

    /// Hands the caller's frame of this tick to the turn detector and acts on what it found.
    fn caller_frame(&mut self, now: Instant) {
        if let Some(caller) = self.caller.as_mut() {
            caller.frame(self.media.caller_frame());
        }
        self.caller_events(now);
    }

    fn caller_events(&mut self, now: Instant) {
        while let Some(event) = self.caller.as_mut().and_then(|c| c.poll_event()) {
            match event {
                CallerEvent::MaybeSpeaking => {
                    let listening = self.caller.as_ref().is_some_and(|c| c.is_listening());
                    if listening && self.interruptible && self.media.is_playing() {
                        self.paused = true;
                        self.media.set_paused(true);
                    }
                }
                CallerEvent::NotSpeaking => {
                    if self.paused {
                        self.paused = false;
                        self.media.set_paused(false);
                    }
                }
                CallerEvent::SpeechStarted { at_ms } => {
                    tracing::debug!(at_ms, "caller speaking");
                    self.stopped_by = "speech";
                    self.dialplan.handle_input(Input::SpeechStarted, now);
                    self.drain_dialplan(now);
                    if self.paused {
                        self.paused = false;
                        self.media.set_paused(false);
                    }
                }
                CallerEvent::Recognized {
                    start_ms,
                    end_ms,
                    recognition,
                    audio,
                    sample_rate,
                    for_listen,
                } => {
                    tracing::info!(text = %recognition.text, confidence = recognition.confidence,
                        decode_ms = recognition.decode_ms, "caller said");
                    self.log(
                        "recognized",
                        json!({"text": recognition.text, "confidence": recognition.confidence,
                               "start_ms": start_ms, "end_ms": end_ms,
                               "audio_ms": recognition.audio_ms, "decode_ms": recognition.decode_ms}),
                    );
                    // The dialplan first: whether it understood is one of the emotion cues.
                    self.no_match = false;
                    if for_listen {
                        self.dialplan.handle_input(
                            Input::Utterance {
                                text: recognition.text.clone(),
                                confidence: recognition.confidence,
                            },
                            now,
                        );
                        self.drain_dialplan(now);
                    }
                    if !recognition.text.is_empty() {
                        let emotion = self.frustration(&recognition, &audio, sample_rate);
                        if let (true, Some(reading)) = (for_listen, &emotion) {
                            // The bot step weighs it when deciding whether to hand over.
                            let cues = reading
                                .cues
                                .iter()
                                .filter_map(|c| serde_json::to_value(c).ok())
                                .filter_map(|v| v.as_str().map(str::to_string))
                                .collect();
                            self.dialplan.handle_input(
                                Input::Frustration {
                                    score: reading.score,
                                    trend: reading.trend,
                                    cues,
                                },
                                now,
                            );
                            self.drain_dialplan(now);
                        }
                        self.svc.store.transcript_line(TranscriptLine {
                            call_id: self.id.to_string(),
                            speaker: Speaker::Caller,
                            start_ms,
                            end_ms,
                            text: recognition.text,
                            confidence: Some(recognition.confidence),
                            interrupted_after_ms: None,
                            data: json!({"words": recognition.words, "emotion": emotion}),
                        });
                    }
                }
                CallerEvent::Unrecognized { error, for_listen } => {
                    tracing::warn!(%error, "speech not recognized");
                    self.log("asr_error", json!({"error": error.to_string()}));
                    if for_listen {
                        self.dialplan.handle_input(Input::SpeechUnavailable, now);
                        self.drain_dialplan(now);
                    }
                }
            }
        }
    }

    async fn run(
        &mut self,
        mut events: mpsc::UnboundedReceiver<SipEvent>,
        start: Instant,
        local: &mut LocalSession,
    ) -> String {
        let mut next_tick = start + FRAME;
        let mut next_rtcp = start + RTCP_INTERVAL;
        let max_end = start + self.svc.settings.max_duration;
        let mut buf = vec![0u8; 2048];
        let mut rtcp_buf = vec![0u8; 1500];
        let mut agent_buf = vec![0u8; 2048];
        let mut agent_rtcp_buf = vec![0u8; 1500];
        let mut other_buf = vec![0u8; 2048];
        let mut other_rtcp_buf = vec![0u8; 1500];
        self.drain_dialplan(Instant::now());
        while self.outcome.is_none() {
            let dialplan_deadline = self.dialplan.poll_timeout();
            tokio::select! {
                biased;
                event = events.recv() => match event {
                    Some(e) => self.sip_event(e, local),
                    None => self.outcome = Some("shutdown".into()),
                },
                _ = tokio::time::sleep_until(next_tick.into()) => {
                    let now = Instant::now();
                    // A clock, not a loop: the next frame is due 20 ms after this one was due.
                    // After a long stall the frames missed are taken from the caller without
                    // sending a burst, so the caller's side stays on the wall clock.
                    next_tick += FRAME;
                    if now > next_tick + 5 * FRAME {
                        let missed = (now - next_tick).as_millis() / FRAME.as_millis();
                        for _ in 0..missed.min(MAX_CATCH_UP_FRAMES) {
                            self.media.catch_up(now);
                            self.caller_frame(now);
                        }
                        next_tick = now + FRAME;
                    }
                    // The caller's frame first: a barge-in pauses the bot's very next frame.
                    self.media.receive(now);
                    self.caller_frame(now);
                    self.check_transfer(now);
                    let (to_caller, to_agent) = self.bridge_tick(now);
                    if let Some(packet) = to_caller {
                        let _ = self.rtp.send_to(&packet, self.media.remote()).await;
                    }
                    if let (Some(packet), Some(leg)) = (to_agent, self.agent.as_mut()) {
                        let remote = leg.media().map(|m| m.remote());
                        if let Some(remote) = remote {
                            let _ = leg.rtp.send_to(&packet, remote).await;
                        }
                        self.agent_speech_events();
                    }
                    let now_ms = self.call_ms(now);
                    let lines = self.voice.finished_lines(&self.media, now_ms);
                    self.bot_lines(lines);
                    self.media_events(now);
                    if now >= next_rtcp {
                        next_rtcp += RTCP_INTERVAL;
                        let wall = std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .unwrap_or_default();
                        let report = self.media.rtcp_report(now, wall);
                        let _ = self.rtcp.send_to(&report, self.media.rtcp_remote()).await;
                        if let Some(leg) = self.agent.as_mut()
                            && let Some(media) = leg.media()
                        {
                            let (report, to) = (media.rtcp_report(now, wall), media.rtcp_remote());
                            let _ = leg.rtcp.send_to(&report, to).await;
                        }
                        self.check_timeouts(now, max_end);
                    }
                }
                received = self.rtp.recv_from(&mut buf) => {
                    if let Ok((n, from)) = received {
                        self.media.handle_rtp(Instant::now(), from, &buf[..n]);
                        self.media_events(Instant::now());
                    }
                }
                sentence = self.voice.next_sentence() => {
                    self.voice.sentence(sentence, &mut self.media);
                    self.voice_notes();
                }
                result = next_result(&mut self.caller) => {
                    self.recognition_result(result);
                }
                event = agent_bridge::next_center_event(&mut self.queue) => {
                    self.center_event(event).await;
                }
                input = agent_bridge::next_agent_input(&mut self.agent, &mut agent_buf, &mut agent_rtcp_buf) => {
                    self.agent_input(input, &agent_buf, &agent_rtcp_buf).await;
                }
                input = agent_bridge::next_agent_input(&mut self.other, &mut other_buf, &mut other_rtcp_buf) => {
                    self.other_input(input);
                }
                received = self.rtcp.recv_from(&mut rtcp_buf) => {
                    if let Ok((n, _)) = received {
                        self.media.handle_rtcp(Instant::now(), &rtcp_buf[..n]);
                    }
                }
                understood = next_input(&mut self.understanding) => {
                    self.understanding = None;
                    let now = Instant::now();
                    self.dialplan.handle_input(understood, now);
                    self.drain_dialplan(now);
                }
                reply = next_input(&mut self.webhook) => {
                    self.webhook = None;
                    match &reply {
                        Input::WebhookReply { status, .. } => tracing::info!(status, "webhook reply"),
                        Input::WebhookFailed { kind, detail } => {
                            tracing::warn!(?kind, detail, "webhook failed");
                        }
                        _ => {}
                    }
                    let now = Instant::now();
                    self.dialplan.handle_input(reply, now);
                    self.drain_dialplan(now);
                }
                _ = sleep_until(dialplan_deadline) => {
                    let now = Instant::now();
                    self.dialplan.handle_timeout(now);
                    self.drain_dialplan(now);
                }
            }
        }
        self.outcome.clone().unwrap_or_default()
    }

    fn check_timeouts(&mut self, now: Instant, max_end: Instant) {
        let heard = self.media.last_packet().unwrap_or(self.started);
        if now.duration_since(heard) > self.svc.settings.rtp_timeout {
            tracing::info!("no RTP from the caller: hanging up");
            self.log(
                "rtp_timeout",
                json!({"seconds": self.svc.settings.rtp_timeout.as_secs()}),
            );
            self.hangup("rtp_timeout");
        } else if now >= max_end {
            tracing::info!("maximum call duration reached");
            self.log(
                "max_duration",
                json!({"seconds": self.svc.settings.max_duration.as_secs()}),
            );
            self.hangup("max_duration");
        }
    }

    fn hangup(&mut self, outcome: &str) {
        self.svc.sip.send(SipCommand::Hangup(self.dialog));
        self.outcome = Some(outcome.to_string());
    }

    fn sip_event(&mut self, event: SipEvent, local: &mut LocalSession) {
        let now = Instant::now();
        match event {
            SipEvent::Established { .. } => {
                if !self.established {
                    self.established = true;
                    self.log("established", json!({}));
                }
            }
            SipEvent::InfoDtmf { digit, .. } => self.digit(now, digit, DtmfSource::Info),
            SipEvent::ReInvite { offer, .. } => {
                let preference = [local.formats[0].name.as_str()];
                match offer.as_ref().map(|o| sdp::negotiate(o, &preference)) {
                    Some(Ok(n)) => {
                        let hold = n.on_hold();
                        self.media.update(n.remote, hold);
                        local.version += 1;
                        local.direction = n.direction;
                        self.svc
                            .sip
                            .send(SipCommand::AnswerReinvite(self.dialog, local.to_sdp()));
                        self.log(
                            if hold { "hold" } else { "unhold" },
                            json!({"remote_rtp": n.remote.to_string()}),
                        );
                        tracing::info!(hold, "re-INVITE answered");
                    }
                    None => {
                        // An offerless re-INVITE: offer what we have (answer comes in the ACK).
                        local.version += 1;
                        local.direction = Direction::SendRecv;
                        self.svc
                            .sip
                            .send(SipCommand::AnswerReinvite(self.dialog, local.to_sdp()));
                    }
                    Some(Err(why)) => {
                        self.svc.sip.send(SipCommand::RejectReinvite(
                            self.dialog,
                            488,
                            format!("Not Acceptable Here: {why}"),
                        ));
                        self.log("reinvite_rejected", json!({"reason": why}));
                    }
                }
            }
            SipEvent::Ended { cause, .. } => {
                let outcome = match cause {
                    EndCause::RemoteBye => "caller_hangup",
                    EndCause::Cancelled => "cancelled",
                    EndCause::Timeout => "no_ack",
                    EndCause::LocalHangup => "completed",
                    EndCause::Rejected(_) => "rejected",
                };
                self.leave_center();
                self.dialplan.handle_input(Input::CallerHangup, now);
                self.drain_dialplan(now);
                self.outcome = Some(outcome.to_string());
            }
            SipEvent::IncomingCall(_)
            | SipEvent::Progress { .. }
            | SipEvent::Answered { .. }
            | SipEvent::Refer { .. }
            | SipEvent::Registration { .. }
            | SipEvent::Qualified { .. } => {}
        }
    }

    fn media_events(&mut self, now: Instant) {
        while let Some(event) = self.media.poll_event() {
            match event {
                MediaEvent::Dtmf(digit, source) => self.digit(now, digit, source),
                MediaEvent::PlaybackFinished if self.with_center() => self.hold_music(),
                MediaEvent::PlaybackFinished => {
                    self.dialplan.handle_input(Input::PlaybackFinished, now);
                    self.drain_dialplan(now);
                }
                MediaEvent::RemoteLearned(addr) => {
                    self.log("rtp_source", json!({"address": addr.to_string()}));
                }
            }
        }
    }

    fn digit(&mut self, now: Instant, digit: char, source: DtmfSource) {
        tracing::info!(%digit, via = source.as_str(), "DTMF");
        self.log(
            "dtmf",
            json!({"digit": digit.to_string(), "via": source.as_str()}),
        );
        if self.relay_to_agent(digit) {
            return;
        }
        self.stopped_by = "dtmf";
        self.dialplan.handle_input(Input::Digit(digit), now);
        self.drain_dialplan(now);
    }

    fn drain_dialplan(&mut self, now: Instant) {
        while let Some(output) = self.dialplan.poll_output() {
            match output {
                Output::Play {
                    items,
                    interruptible,
                } => {
                    let described: Vec<String> = items
                        .iter()
                        .map(|item| match item {
                            PromptItem::Sound(f) => f
                                .file_stem()
                                .unwrap_or_default()
                                .to_string_lossy()
                                .into_owned(),
                            PromptItem::Say(text) => format!("say: {text}"),
                        })
                        .collect();
                    self.log(
                        "play",
                        json!({"prompts": described, "interruptible": interruptible}),
                    );
                    self.interruptible = interruptible;
                    let playing = self.voice.play(items, &mut self.media);
                    self.voice_notes();
                    if !playing {
                        self.dialplan.handle_input(Input::PlaybackFinished, now);
                    }
                }
                Output::StopPlayback => {
                    if self.media.is_playing() {
                        let now_ms = self.call_ms(now);
                        let lines = self.voice.stop(&mut self.media, now_ms);
                        self.bot_lines(lines);
                        self.paused = false;
                        self.log("playback_stopped", json!({"by": self.stopped_by}));
                    }
                }
                Output::Listen(request) => match self.caller.as_mut() {
                    Some(caller) => caller.listen(request),
                    None => {
                        self.log("speech_off", json!({}));
                        self.dialplan.handle_input(Input::SpeechUnavailable, now);
                    }
                },
                Output::StopListening => {
                    if let Some(caller) = self.caller.as_mut() {
                        caller.stop_listening();
                    }
                }
                Output::Webhook(request) => {
                    tracing::info!(method = request.method.as_str(), url = %request.url, "webhook");
                    self.webhook = Some(self.svc.webhooks.send(request));
                }
                Output::CancelWebhook => self.webhook = None,
                Output::Understand { text } => {
                    self.understanding = Some(match &self.svc.knowledge {
                        Some(kb) => kb.understand(text),
                        None => {
                            tracing::warn!(
                                "a bot step asks the knowledge base, but none is loaded ([kb] dir)"
                            );
                            crate::understanding::not_understood()
                        }
                    });
                }
                Output::Transcribe { enabled } => {
                    if let Some(caller) = self.caller.as_mut() {
                        caller.transcribe(enabled);
                    }
                }
                Output::Queue(request) => self.enter_queue(now, request),
                Output::Callback(request) => {
                    tracing::info!(
                        number = request.number,
                        queue = request.queue,
                        "callback requested"
                    );
                    self.svc.store.callback_requested(
                        self.id,
                        Utc::now(),
                        &request.number,
                        request.queue.as_deref(),
                        &request.summary,
                    );
                }
                Output::Hangup { reason } => {
                    self.log("hangup", json!({"by": "gateway", "reason": reason}));
                    if self.outcome.is_none() {
                        self.hangup("completed");
                    }
                }
                Output::Event(e) => {
                    self.no_match |=
                        matches!(e.kind.as_str(), "listen_no_match" | "bot_not_understood");
                    self.log(&e.kind, e.data)
                }
            }
        }
    }
}

/// Waits for the recognizer's next result for the caller (pending forever without speech).
async fn next_result(caller: &mut Option<CallerSpeech>) -> RecognitionResult {
    match caller.as_mut() {
        Some(caller) => caller.next_result().await,
        None => std::future::pending().await,
    }
}

/// Finishes a recording on the blocking pool (it fsyncs); returns its length in seconds.
pub async fn finish_recording(recorder: Option<StereoRecorder>) -> Option<f64> {
    let rec = recorder?;
    match tokio::task::spawn_blocking(move || rec.finish()).await {
        Ok(Ok(info)) => Some(info.duration.as_secs_f64()),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "could not finish recording");
            None
        }
        Err(e) => {
            tracing::warn!(error = %e, "recording task failed");
            None
        }
    }
}

/// A random 32-bit value for SSRCs and SDP session ids.
pub fn rand_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    h.finish() as u32
}

/// Binds an even RTP port and the RTCP port above it.
pub async fn bind_pair(ip: std::net::IpAddr, port: u16) -> Option<(UdpSocket, UdpSocket)> {
    let rtp = UdpSocket::bind(SocketAddr::new(ip, port)).await.ok()?;
    let rtcp = UdpSocket::bind(SocketAddr::new(ip, port + 1)).await.ok()?;
    Some((rtp, rtcp))
}
