//! Drives an interpreter in simulated time and logs its outputs as short lines.

// Each test binary that includes this file uses only some of the helpers.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sb_dialog::{
    Candidate, Dialplan, DialplanInterpreter, Input, KbAnswer, Output, PromptItem, Understanding,
    WebhookFailure,
};

/// One simulated call.
pub struct Call {
    pub dialplan: DialplanInterpreter,
    pub now: Instant,
}

/// A wall-clock time such as `2026-03-27T16:59:00Z`.
pub fn utc(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

/// The nodes entered, in order, from a log.
pub fn nodes(log: &[String]) -> Vec<&str> {
    log.iter().filter_map(|l| l.strip_prefix("> ")).collect()
}

impl Call {
    /// A call into `plan` with extra variables, at wall-clock time `wall`.
    pub fn new(plan: Dialplan, vars: &[(&str, &str)], wall: DateTime<Utc>) -> Self {
        let now = Instant::now();
        let vars = vars.iter().map(|(k, v)| (k.to_string(), v.to_string()));
        Self {
            dialplan: DialplanInterpreter::new(Arc::new(plan), vars, wall, now),
            now,
        }
    }

    /// Starts the call.
    pub fn start(&mut self) -> Vec<String> {
        self.dialplan.start(self.now);
        self.log()
    }

    /// Presses each key of `keys` in turn, at the same instant.
    pub fn press(&mut self, keys: &str) -> Vec<String> {
        for key in keys.chars() {
            self.dialplan.handle_input(Input::Digit(key), self.now);
        }
        self.log()
    }

    /// Reports the end of the current playback.
    pub fn played(&mut self) -> Vec<String> {
        self.dialplan
            .handle_input(Input::PlaybackFinished, self.now);
        self.log()
    }

    /// The caller starts speaking.
    pub fn speaks(&mut self) -> Vec<String> {
        self.dialplan.handle_input(Input::SpeechStarted, self.now);
        self.log()
    }

    /// The recognizer reports the caller's turn as `text`, with `confidence`.
    pub fn heard(&mut self, text: &str, confidence: f32) -> Vec<String> {
        let text = text.to_string();
        self.dialplan
            .handle_input(Input::Utterance { text, confidence }, self.now);
        self.log()
    }

    /// The caller says `text` (speech starts, then is recognized with confidence 0.9).
    pub fn says(&mut self, text: &str) -> Vec<String> {
        let mut log = self.speaks();
        log.extend(self.heard(text, 0.9));
        log
    }

    /// Speech recognition is unavailable for this turn.
    pub fn speech_unavailable(&mut self) -> Vec<String> {
        self.dialplan
            .handle_input(Input::SpeechUnavailable, self.now);
        self.log()
    }

    /// The business system answers the pending webhook with `status` and `body`.
    pub fn webhook_reply(&mut self, status: u16, body: &str) -> Vec<String> {
        let body = body.to_string();
        self.dialplan
            .handle_input(Input::WebhookReply { status, body }, self.now);
        self.log()
    }

    /// The pending webhook brought no reply.
    pub fn webhook_failed(&mut self, kind: WebhookFailure, detail: &str) -> Vec<String> {
        let detail = detail.to_string();
        self.dialplan
            .handle_input(Input::WebhookFailed { kind, detail }, self.now);
        self.log()
    }

    /// The knowledge base's reading of the last `Understand`.
    pub fn understood(&mut self, understanding: Understanding) -> Vec<String> {
        self.dialplan
            .handle_input(Input::Understood(understanding), self.now);
        self.log()
    }

    /// The knowledge base answers with entry `intent`, saying `answer`.
    pub fn kb_answers(&mut self, intent: &str, answer: &str) -> Vec<String> {
        self.understood(Understanding::Answer(kb_answer(intent, answer)))
    }

    /// The knowledge base finds nothing that fits.
    pub fn kb_finds_nothing(&mut self) -> Vec<String> {
        self.understood(Understanding::NotUnderstood)
    }

    /// The caller's frustration reading for the latest utterance.
    pub fn frustration(&mut self, score: f32, trend: f32, cues: &[&str]) -> Vec<String> {
        let cues = cues.iter().map(|c| c.to_string()).collect();
        self.dialplan
            .handle_input(Input::Frustration { score, trend, cues }, self.now);
        self.log()
    }

    /// Agent `agent` answers the queued caller.
    pub fn agent_answers(&mut self, agent: &str) -> Vec<String> {
        let agent = agent.to_string();
        self.dialplan
            .handle_input(Input::AgentConnected { agent }, self.now);
        self.log()
    }

    /// The queue gives up on the caller (`callback`: its overflow is "leave a number").
    pub fn queue_overflows(&mut self, reason: &str, callback: bool) -> Vec<String> {
        let overflow = Input::QueueOverflow {
            reason: reason.to_string(),
            node: None,
            callback,
        };
        self.dialplan.handle_input(overflow, self.now);
        self.log()
    }

    /// The agent hangs up.
    pub fn agent_hangs_up(&mut self) -> Vec<String> {
        self.dialplan.handle_input(Input::AgentHungUp, self.now);
        self.log()
    }

    /// The caller hangs up.
    pub fn caller_hangs_up(&mut self) -> Vec<String> {
        self.dialplan.handle_input(Input::CallerHangup, self.now);
        self.log()
    }

    /// Lets `duration` pass, firing every timer that falls due on the way.
    pub fn wait(&mut self, duration: Duration) -> Vec<String> {
        let end = self.now + duration;
        while let Some(due) = self.dialplan.poll_timeout().filter(|&due| due <= end) {
            self.now = due;
            self.dialplan.handle_timeout(self.now);
        }
        self.now = end;
        self.log()
    }

    /// Drains the outputs: `> node` for node entries, `play a,"spoken text"`, `stop`,
    /// `listen Context`, `stop listening`, `transcribe on|off`, `webhook METHOD url {fields}
    /// within 3s`, `cancel webhook`, `queue NAME priority "summary"`, `hangup reason`, and `kind {json}` for other events.
    pub fn log(&mut self) -> Vec<String> {
        let mut log = Vec::new();
        while let Some(output) = self.dialplan.poll_output() {
            log.push(match output {
                Output::Play {
                    items,
                    interruptible,
                } => {
                    let stems: Vec<_> = items
                        .iter()
                        .map(|item| match item {
                            PromptItem::Sound(f) => {
                                f.file_stem().unwrap().to_string_lossy().into_owned()
                            }
                            PromptItem::Say(text) => format!("{text:?}"),
                        })
                        .collect();
                    let note = if interruptible {
                        ""
                    } else {
                        " (uninterruptible)"
                    };
                    format!("play {}{note}", stems.join(","))
                }
                Output::StopPlayback => "stop".to_string(),
                Output::Listen(request) => format!("listen {:?}", request.context),
                Output::StopListening => "stop listening".to_string(),
                Output::Transcribe { enabled } => {
                    format!("transcribe {}", if enabled { "on" } else { "off" })
                }
                Output::Webhook(request) => format!(
                    "webhook {} {} {} within {:?}",
                    request.method.as_str(),
                    request.url,
                    serde_json::json!(request.fields),
                    request.timeout
                ),
                Output::CancelWebhook => "cancel webhook".to_string(),
                Output::Understand { text } => format!("understand {text:?}"),
                Output::Queue(request) => format!(
                    "queue {} {} {:?}",
                    request.queue, request.priority, request.summary
                ),
                Output::Callback(request) => format!(
                    "callback {} {} {:?}",
                    request.number,
                    request.queue.as_deref().unwrap_or("-"),
                    request.summary
                ),
                Output::Hangup { reason } => format!("hangup {reason}"),
                Output::Event(e) if e.kind == "node_entered" => {
                    format!("> {}", e.data["node"].as_str().unwrap())
                }
                Output::Event(e) => format!("{} {}", e.kind, e.data),
            });
        }
        log
    }
}

/// A knowledge-base answer with score 0.9 and no priority class.
pub fn kb_answer(intent: &str, answer: &str) -> KbAnswer {
    KbAnswer {
        intent: intent.to_string(),
        answer: answer.to_string(),
        score: 0.9,
        priority: None,
    }
}

/// One of two entries to choose from, named `label`.
pub fn candidate(label: &str, intent: &str, answer: &str) -> Candidate {
    Candidate {
        label: label.to_string(),
        answer: kb_answer(intent, answer),
    }
}
