//! Runs one call through a dialplan: a sans-IO state machine driven by inputs and time.
//!
//! The call feeds caller keys, speech results, playback ends, hang-ups and timer expiries in,
//! with the current `Instant`; the interpreter answers through
//! [`DialplanInterpreter::poll_output`] and names its next deadline through
//! [`DialplanInterpreter::poll_timeout`].

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::bot::{Conversation, Understanding};
use crate::callback::CallbackRequest;
use crate::escalation::Reading;
use crate::format::{Action, Collect, Dialplan, Expect, Listen, Menu, PromptPart, Prompting};
use crate::handoff::READINGS_KEPT;
use crate::queue::QueueRequest;
use crate::understand::{Match, best_option, sounds_finished, spoken_digits, yes_or_no};
use crate::webhook::{
    self, BadReply, ReplyVars, Webhook, WebhookFailure, WebhookRequest, reply_variables,
};

mod bot_step;
mod callback_step;
mod queue_step;

/// Nodes entered in a row without the caller doing anything before the call is ended as a loop.
const MAX_STEPS_WITHOUT_WAITING: usize = 100;
/// How long past `max_speech` the recognizer may take once the caller started speaking; after
/// that speech counts as unavailable, so a lost result never leaves a call waiting for ever.
const RECOGNIZER_GRACE: Duration = Duration::from_secs(10);
/// Keys kept for the next menu or collect; later keys are dropped.
const TYPE_AHEAD_LIMIT: usize = 32;
/// The keys of a phone pad, DTMF A-D included.
const DTMF_KEYS: &str = "0123456789*#ABCD";

/// Something that happened on the call, fed to the interpreter.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// The caller pressed a key: 0-9, *, #, A-D (others are ignored).
    Digit(char),
    /// The last [`Output::Play`] ended by itself (not sent after [`Output::StopPlayback`]).
    PlaybackFinished,
    /// The caller began speaking, confirmed by voice activity detection, while listening.
    SpeechStarted,
    /// The caller's turn as recognized; only sent between [`Output::Listen`] and
    /// [`Output::StopListening`].
    Utterance {
        /// The words heard, as the recognizer wrote them.
        text: String,
        /// The recognizer's confidence, from 0 to 1.
        confidence: f32,
    },
    /// Speech recognition cannot give a result for this turn: overloaded, timed out or failed.
    SpeechUnavailable,
    /// The reply to the last [`Output::Webhook`], whatever its status.
    WebhookReply {
        /// The HTTP status code.
        status: u16,
        /// The body, as text.
        body: String,
    },
    /// The last [`Output::Webhook`] brought no reply.
    WebhookFailed {
        /// Why.
        kind: WebhookFailure,
        /// What happened, for the timeline.
        detail: String,
    },
    /// What the knowledge base made of the text of the last [`Output::Understand`].
    Understood(Understanding),
    /// How frustrated the caller sounds, read from their latest utterance; sent by the call
    /// after each `Utterance` (before or after the `Understood` of the same turn).
    Frustration {
        /// The frustration score, 0 to 1.
        score: f32,
        /// Its trend: the change per utterance (above 0: getting worse).
        trend: f32,
        /// The cues that fired, by their names (`asked_for_human`, `negative_words`, …).
        cues: Vec<String>,
    },
    /// An agent answered the caller queued by the last [`Output::Queue`].
    AgentConnected {
        /// The agent's id.
        agent: String,
    },
    /// The queue of the last [`Output::Queue`] gave up on the caller (maximum wait, no agent).
    QueueOverflow {
        /// Why, for the timeline.
        reason: String,
        /// The node the queue's configuration names (`overflow = "node:…"`); the step's
        /// `on_overflow` when absent or not in this dialplan.
        node: Option<String>,
        /// The queue's overflow is "leave a callback number": on to the step's `on_callback`.
        callback: bool,
    },
    /// The agent connected by [`Input::AgentConnected`] hung up; the caller is still there.
    AgentHungUp,
    /// The caller hung up; the interpreter finishes without asking to hang up.
    CallerHangup,
}

/// One piece of a prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptItem {
    /// A WAV file.
    Sound(PathBuf),
    /// Text to speak, its variables already filled in.
    Say(String),
}

/// What kind of answer the caller is expected to give, so the call can judge the end of a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnContext {
    /// Words: a choice among options, or free text.
    General,
    /// A short yes or no.
    YesNo,
    /// A number, often said with pauses between digits.
    Digits,
}

/// How to listen for the caller's next turn.
#[derive(Debug, Clone, PartialEq)]
pub struct ListenRequest {
    /// The kind of answer expected.
    pub context: TurnContext,
    /// Silence that ends the turn, when the step overrides the call's default.
    pub end_silence: Option<Duration>,
    /// The longest turn; the recognizer then takes what it has.
    pub max_speech: Duration,
    /// The options' phrases, to prime the recognizer.
    pub hints: Vec<String>,
}

/// What the interpreter asks the call to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Play the items in order, then report [`Input::PlaybackFinished`].
    Play {
        /// Sounds and spoken text, played one after the other.
        items: Vec<PromptItem>,
        /// Whether the caller can cut this playback short by a key or by speaking (the
        /// interpreter then sends `StopPlayback`).
        interruptible: bool,
    },
    /// Stop the current playback now; no `PlaybackFinished` is expected for it.
    StopPlayback,
    /// Listen for the caller's turn, during and after the playback that follows: report
    /// [`Input::SpeechStarted`], then one [`Input::Utterance`] or [`Input::SpeechUnavailable`].
    Listen(ListenRequest),
    /// Stop listening; sent after every `Listen` once its turn is over, answered or not.
    StopListening,
    /// Send an HTTP request, then report [`Input::WebhookReply`] or [`Input::WebhookFailed`].
    Webhook(WebhookRequest),
    /// Abandon the request of the last `Webhook` (timed out, or the caller hung up); nothing
    /// more is expected for it.
    CancelWebhook,
    /// Ask the knowledge base what `text` (the caller's words in a `bot` step) is about, then
    /// report [`Input::Understood`]; a reply that takes longer than the step's
    /// `understand_timeout` is ignored, the turn counting as not understood.
    Understand {
        /// The caller's words as recognized.
        text: String,
    },
    /// Start or stop recording a transcript of everything the caller says.
    Transcribe {
        /// Whether transcribing is on from now.
        enabled: bool,
    },
    /// Put the caller in line for an agent, then report [`Input::AgentConnected`] and
    /// [`Input::AgentHungUp`], or [`Input::QueueOverflow`]. Keys and speech are the agent's
    /// business meanwhile: the interpreter ignores them.
    Queue(QueueRequest),
    /// Store a request to call the caller back; the dialplan has moved on already.
    Callback(CallbackRequest),
    /// Hang up the call.
    Hangup {
        /// Why, for the call record.
        reason: String,
    },
    /// A step of the dialplan, for the call timeline.
    Event(DialplanEvent),
}

/// A step of the dialplan for the call timeline, e.g. `node_entered` with `{"node": "menu"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DialplanEvent {
    /// What happened, e.g. `node_entered` or `menu_option`.
    pub kind: String,
    /// The details, a JSON object whose fields depend on `kind`.
    pub data: Value,
}

#[derive(Debug)]
enum State {
    NotStarted,
    /// Between nodes, inside one call into the interpreter.
    Moving,
    Playing {
        after: After,
        interruptible: bool,
    },
    Menu {
        attempt: u32,
        deadline: Instant,
    },
    Collect {
        attempt: u32,
        digits: String,
        deadline: Instant,
    },
    /// A listen step waits for speech or keys; without a deadline while the caller speaks.
    Listen {
        attempt: u32,
        /// Keys gathered so far, for `expect = "digits"`.
        digits: String,
        deadline: Option<Instant>,
    },
    /// A webhook step waits for the reply.
    Webhook {
        sent: Instant,
        deadline: Instant,
    },
    /// A bot step waits for the caller's answer to its question; without a deadline while the
    /// caller speaks.
    BotListen {
        /// Keys gathered so far, for a digits slot.
        digits: String,
        deadline: Option<Instant>,
    },
    /// A bot step waits for the knowledge base's reading of `text`.
    BotUnderstand {
        text: String,
        deadline: Instant,
    },
    /// A queue step waits for an agent.
    Queued {
        since: Instant,
    },
    /// The caller talks with an agent.
    WithAgent {
        since: Instant,
    },
    Finished,
}

/// What follows a playback.
#[derive(Debug)]
enum After {
    Goto(String),
    /// A menu, collect or listen prompt ended: wait for the answer.
    Wait {
        attempt: u32,
    },
    /// An invalid-input or no-input notice ended: prompt again.
    Retry {
        attempt: u32,
    },
    Hangup(String),
}

impl After {
    /// Whether this playback leads straight to waiting for an answer, so pending keys make it moot.
    fn leads_to_waiting(&self) -> bool {
        matches!(self, After::Wait { .. } | After::Retry { .. })
    }
}

/// The speech turn being listened for, from `Output::Listen` to `Output::StopListening`.
#[derive(Debug, Default)]
struct Turn {
    /// When to stop waiting for the recognizer; set once the caller starts speaking.
    give_up_at: Option<Instant>,
    /// A result that came while a prompt that must play to the end was playing.
    held: Option<Heard>,
}

/// What the recognizer made of the caller's turn.
#[derive(Debug)]
enum Heard {
    Utterance {
        text: String,
        confidence: f32,
    },
    /// No result; `timed_out` when the interpreter gave up waiting rather than the call saying so.
    Unavailable {
        timed_out: bool,
    },
}

/// How the caller gave an answer, for the timeline.
enum Said<'a> {
    Speech(&'a str),
    Key(char),
    Keys(&'a str),
}

impl Said<'_> {
    /// `data` with `by` and what was said or pressed added.
    fn describe(&self, mut data: Value) -> Value {
        let (by, field, value) = match self {
            Said::Speech(text) => ("speech", "text", text.to_string()),
            Said::Key(key) => ("key", "key", key.to_string()),
            Said::Keys(digits) => ("key", "digits", digits.to_string()),
        };
        data["by"] = json!(by);
        data[field] = json!(value);
        data
    }
}

/// The turn context that suits what a listen step expects.
fn turn_context(expect: &Expect) -> TurnContext {
    match expect {
        Expect::Text { .. } | Expect::Options(_) => TurnContext::General,
        Expect::YesNo { .. } => TurnContext::YesNo,
        Expect::Digits { .. } => TurnContext::Digits,
    }
}

/// A confidence for the timeline: three decimals, so 0.9 is not logged as 0.8999999761581421.
fn rounded(confidence: f32) -> f64 {
    (f64::from(confidence) * 1000.0).round() / 1000.0
}

/// One call's walk through a dialplan; sans-IO, all time is passed in.
#[derive(Debug)]
pub struct DialplanInterpreter {
    plan: Arc<Dialplan>,
    vars: BTreeMap<String, String>,
    /// The wall-clock time at `epoch`, so business hours follow simulated time too.
    wall_clock: DateTime<Utc>,
    epoch: Instant,
    node: String,
    state: State,
    /// Keys pressed before a menu, collect or listen was ready for them.
    type_ahead: VecDeque<char>,
    /// The speech turn of the current listen step, while one is listened for.
    turn: Option<Turn>,
    outputs: VecDeque<Output>,
    /// Nodes entered since the caller last did something, to stop endless loops.
    steps: usize,
    /// Variables made from the fields of webhook replies, by prefix; the next reply with the
    /// same prefix clears them.
    from_replies: BTreeMap<String, Vec<String>>,
    /// What each bot step remembers, by node, kept when the call leaves the step.
    conversations: BTreeMap<String, Conversation>,
    /// The caller's latest frustration readings, oldest first.
    readings: VecDeque<Reading>,
    /// The queue the caller last waited in, for a `callback` step that names none.
    last_queue: Option<String>,
}

impl DialplanInterpreter {
    /// A call about to enter `plan`; `vars` override its defaults; `wall_clock` is the time at `now`.
    pub fn new(
        plan: Arc<Dialplan>,
        vars: impl IntoIterator<Item = (String, String)>,
        wall_clock: DateTime<Utc>,
        now: Instant,
    ) -> Self {
        let mut all = plan.vars.clone();
        all.extend(vars);
        Self {
            node: plan.start.clone(),
            plan,
            vars: all,
            wall_clock,
            epoch: now,
            state: State::NotStarted,
            type_ahead: VecDeque::new(),
            turn: None,
            outputs: VecDeque::new(),
            steps: 0,
            from_replies: BTreeMap::new(),
            conversations: BTreeMap::new(),
            readings: VecDeque::new(),
            last_queue: None,
        }
    }

    /// Enters the start node, transcribing from the start if the plan says so; later calls do nothing.
    pub fn start(&mut self, now: Instant) {
        if matches!(self.state, State::NotStarted) {
            if self.plan.transcribe {
                self.event("transcribe", json!({ "enabled": true }));
                self.outputs.push_back(Output::Transcribe { enabled: true });
            }
            let start = self.plan.start.clone();
            self.goto(now, start);
        }
    }

    /// Feeds something that happened on the call.
    pub fn handle_input(&mut self, input: Input, now: Instant) {
        // A reply of a business system is not the caller acting: a webhook retried in a loop
        // must still end at the loop limit.
        if !matches!(
            input,
            Input::WebhookReply { .. }
                | Input::WebhookFailed { .. }
                | Input::Understood(_)
                | Input::Frustration { .. }
        ) {
            self.steps = 0;
        }
        let next = match input {
            Input::CallerHangup => {
                if matches!(self.state, State::Webhook { .. }) {
                    self.outputs.push_back(Output::CancelWebhook);
                }
                if !matches!(self.state, State::Finished) {
                    self.event(
                        "hangup",
                        json!({ "reason": "caller hung up", "by": "caller" }),
                    );
                    self.state = State::Finished;
                    self.turn = None;
                }
                None
            }
            Input::PlaybackFinished => match self.take_state() {
                State::Playing { after, .. } => self.after_play(now, after),
                other => {
                    // A late report of a playback already stopped: nothing to do.
                    self.state = other;
                    None
                }
            },
            Input::Digit(key) => {
                let key = key.to_ascii_uppercase();
                if DTMF_KEYS.contains(key) {
                    self.key(now, key)
                } else {
                    None
                }
            }
            Input::SpeechStarted => self.speech_started(now),
            Input::Utterance { text, confidence } => {
                self.heard(now, Heard::Utterance { text, confidence })
            }
            Input::SpeechUnavailable => self.heard(now, Heard::Unavailable { timed_out: false }),
            Input::WebhookReply { status, body } => self.webhook_reply(now, status, &body),
            Input::WebhookFailed { kind, detail } => {
                self.webhook_failed(now, kind.as_str(), &detail, None)
            }
            Input::Understood(understanding) => self.bot_understood(now, understanding),
            Input::AgentConnected { agent } => self.agent_connected(now, agent),
            Input::QueueOverflow {
                reason,
                node,
                callback,
            } => self.queue_overflow(now, reason, node, callback),
            Input::AgentHungUp => self.agent_hung_up(now),
            Input::Frustration { score, trend, cues } => {
                if self.readings.len() == READINGS_KEPT {
                    self.readings.pop_front();
                }
                self.readings.push_back(Reading { score, trend, cues });
                self.bot_reading()
            }
        };
        if let Some(next) = next {
            self.goto(now, next);
        }
    }

    /// Acts on an expired timer; early calls do nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.steps = 0;
        let recognizer_overdue = self
            .turn
            .as_ref()
            .and_then(|turn| turn.give_up_at)
            .is_some_and(|at| now >= at);
        let next = if recognizer_overdue {
            if let Some(turn) = &mut self.turn {
                turn.give_up_at = None;
            }
            self.heard(now, Heard::Unavailable { timed_out: true })
        } else {
            self.state_timeout(now)
        };
        if let Some(next) = next {
            self.goto(now, next);
        }
    }

    /// Acts on the deadline of the state, if it has passed.
    fn state_timeout(&mut self, now: Instant) -> Option<String> {
        match self.take_state() {
            State::Menu { attempt, deadline } if now >= deadline => self.with_menu(|this, menu| {
                this.event(
                    "menu_timeout",
                    json!({ "node": this.node, "attempt": attempt }),
                );
                let notice = &menu.prompting.no_input;
                this.retry_or_fail(now, attempt, &menu.prompting, "menu_failed", notice)
            }),
            State::Collect {
                attempt,
                digits,
                deadline,
            } if now >= deadline => {
                if digits.is_empty() {
                    self.with_collect(|this, collect| {
                        this.event(
                            "collect_timeout",
                            json!({ "node": this.node, "attempt": attempt }),
                        );
                        let notice = &collect.prompting.no_input;
                        this.retry_or_fail(
                            now,
                            attempt,
                            &collect.prompting,
                            "collect_failed",
                            notice,
                        )
                    })
                } else {
                    // A pause after some digits ends the input, like the terminator.
                    self.finish_collect(now, attempt, digits)
                }
            }
            State::Listen {
                attempt,
                digits,
                deadline: Some(deadline),
            } if now >= deadline => {
                self.end_turn();
                if digits.is_empty() {
                    self.with_listen(|this, listen| this.listen_no_input(now, attempt, listen))
                } else {
                    self.finish_listen_digits(now, attempt, digits)
                }
            }
            State::BotListen {
                digits,
                deadline: Some(deadline),
            } if now >= deadline => self.bot_listen_timeout(now, digits),
            State::BotUnderstand { text, deadline } if now >= deadline => {
                self.bot_understand_timeout(now, &text)
            }
            State::Webhook { sent, deadline } if now >= deadline => {
                self.outputs.push_back(Output::CancelWebhook);
                self.state = State::Webhook { sent, deadline };
                let detail = self.with_webhook(|_, hook| {
                    Some(format!("no reply within {} ms", hook.timeout.as_millis()))
                });
                self.webhook_failed(now, "timeout", &detail.unwrap_or_default(), None)
            }
            other => {
                self.state = other;
                None
            }
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called, if at all.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let state = match self.state {
            State::Menu { deadline, .. }
            | State::Collect { deadline, .. }
            | State::Webhook { deadline, .. }
            | State::BotUnderstand { deadline, .. } => Some(deadline),
            State::Listen { deadline, .. } | State::BotListen { deadline, .. } => deadline,
            _ => None,
        };
        let recognizer = self.turn.as_ref().and_then(|turn| turn.give_up_at);
        state.into_iter().chain(recognizer).min()
    }

    /// The next thing for the call to do; call until `None` after every input.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// Whether `text`, heard early at a pause in the caller's turn, already answers the turn
    /// listened for as it stands: an option or a yes/no that matches, a number as long as it
    /// can be, or free text that reads as a finished sentence. The call then ends the turn
    /// without waiting out the rest of the end-of-turn silence.
    pub fn answers_turn(&self, text: &str, confidence: f32) -> bool {
        if let Some(Action::Bot(bot)) = self.plan.nodes.get(&self.node) {
            return self.bot_answers_turn(bot, text, confidence);
        }
        let Some(Action::Listen(listen)) = self.plan.nodes.get(&self.node) else {
            return false;
        };
        if self.turn.is_none() || confidence < listen.min_confidence || text.trim().is_empty() {
            return false;
        }
        match &listen.expect {
            Expect::Text { .. } => sounds_finished(text),
            Expect::Options(options) => matches!(
                best_option(text, options.iter().map(|o| o.phrases.as_slice())),
                Match::Option(_)
            ),
            Expect::YesNo { .. } => yes_or_no(text).is_some(),
            Expect::Digits { entry, .. } => spoken_digits(text).len() == entry.max,
        }
    }

    /// The call's variables: the dialplan's defaults, those given at start, and those set since.
    pub fn variables(&self) -> &BTreeMap<String, String> {
        &self.vars
    }

    /// The node the call is in (the start node before [`start`](Self::start)).
    pub fn current_node(&self) -> &str {
        &self.node
    }

    /// Whether the call has ended, by the dialplan or by the caller.
    pub fn is_finished(&self) -> bool {
        matches!(self.state, State::Finished)
    }

    fn take_state(&mut self) -> State {
        std::mem::replace(&mut self.state, State::Moving)
    }

    fn event(&mut self, kind: &str, data: Value) {
        self.outputs.push_back(Output::Event(DialplanEvent {
            kind: kind.to_string(),
            data,
        }));
    }

    fn wall_time(&self, now: Instant) -> DateTime<Utc> {
        let delta = if now >= self.epoch {
            TimeDelta::from_std(now - self.epoch)
        } else {
            TimeDelta::from_std(self.epoch - now).map(|d| -d)
        };
        delta
            .ok()
            .and_then(|d| self.wall_clock.checked_add_signed(d))
            .unwrap_or(self.wall_clock)
    }

    /// Runs `f` with the current node's menu; `None` if the node is not a menu.
    fn with_menu(&mut self, f: impl FnOnce(&mut Self, &Menu) -> Option<String>) -> Option<String> {
        // A clone of the Arc lets the node be read while the interpreter changes.
        let plan = Arc::clone(&self.plan);
        match plan.nodes.get(&self.node) {
            Some(Action::Menu(menu)) => f(self, menu),
            _ => None,
        }
    }

    /// Runs `f` with the current node's listen; `None` if the node is not a listen.
    fn with_listen(
        &mut self,
        f: impl FnOnce(&mut Self, &Listen) -> Option<String>,
    ) -> Option<String> {
        let plan = Arc::clone(&self.plan);
        match plan.nodes.get(&self.node) {
            Some(Action::Listen(listen)) => f(self, listen),
            _ => None,
        }
    }

    /// Runs `f` with the current node's webhook; `None` if the node is not a webhook.
    fn with_webhook<T>(&mut self, f: impl FnOnce(&mut Self, &Webhook) -> Option<T>) -> Option<T> {
        let plan = Arc::clone(&self.plan);
        match plan.nodes.get(&self.node) {
            Some(Action::Webhook(hook)) => f(self, hook),
            _ => None,
        }
    }

    /// Runs `f` with the current node's collect; `None` if the node is not a collect.
    fn with_collect(
        &mut self,
        f: impl FnOnce(&mut Self, &Collect) -> Option<String>,
    ) -> Option<String> {
        let plan = Arc::clone(&self.plan);
        match plan.nodes.get(&self.node) {
            Some(Action::Collect(collect)) => f(self, collect),
            _ => None,
        }
    }

    /// Enters `target` and the nodes after it until one waits for the caller or the call ends.
    fn goto(&mut self, now: Instant, target: String) {
        let mut next = Some(target);
        while let Some(name) = next.take() {
            if self.steps >= MAX_STEPS_WITHOUT_WAITING {
                self.hang_up(format!(
                    "dialplan loop: {MAX_STEPS_WITHOUT_WAITING} nodes in a row without waiting for the caller (at `{name}`)"
                ));
                return;
            }
            self.steps += 1;
            next = self.enter(now, name);
        }
    }

    /// Runs node `name`; returns the node to enter next if it does not wait.
    fn enter(&mut self, now: Instant, name: String) -> Option<String> {
        let plan = Arc::clone(&self.plan);
        let Some(action) = plan.nodes.get(&name) else {
            // Validation makes this impossible; end the call rather than panic.
            self.hang_up(format!("dialplan error: no node `{name}`"));
            return None;
        };
        self.node = name;
        self.state = State::Moving;
        self.event("node_entered", json!({ "node": self.node }));
        match action {
            Action::Play(play) => self.play(
                now,
                &play.prompt,
                play.interruptible,
                After::Goto(play.next.clone()),
            ),
            Action::Menu(_) | Action::Collect(_) | Action::Listen(_) => self.prompt(now, 1),
            Action::Goto(target) => Some(target.clone()),
            Action::Transcribe(transcribe) => {
                self.event(
                    "transcribe",
                    json!({ "node": self.node, "enabled": transcribe.enabled }),
                );
                self.outputs.push_back(Output::Transcribe {
                    enabled: transcribe.enabled,
                });
                Some(transcribe.next.clone())
            }
            Action::Set(set) => {
                // Every value is computed from the variables as they were on entry.
                let mut values: Vec<(String, String)> = set
                    .vars
                    .iter()
                    .map(|(name, template)| (name.clone(), template.render(&self.vars)))
                    .collect();
                values.extend(set.add.iter().map(|(name, amount)| {
                    let current = self
                        .vars
                        .get(name)
                        .and_then(|v| v.trim().parse::<i64>().ok())
                        .unwrap_or(0);
                    (name.clone(), current.saturating_add(*amount).to_string())
                }));
                for (name, value) in values {
                    self.event(
                        "var_set",
                        json!({ "node": self.node, "name": name, "value": value }),
                    );
                    self.vars.insert(name, value);
                }
                Some(set.next.clone())
            }
            Action::When(when) => {
                let (branch, target) = when
                    .cases
                    .iter()
                    .find(|(condition, _)| condition.evaluate(&self.vars))
                    .map_or(("else", &when.otherwise), |(condition, target)| {
                        (condition.source(), target)
                    });
                self.event(
                    "condition",
                    json!({ "node": self.node, "branch": branch, "target": target }),
                );
                Some(target.clone())
            }
            Action::Hours(hours) => {
                let (open, local) = hours.schedule.check(self.wall_time(now));
                let target = if open {
                    &hours.if_open
                } else {
                    &hours.if_closed
                };
                self.event(
                    "hours",
                    json!({
                        "node": self.node,
                        "open": open,
                        "local_time": local.to_rfc3339_opts(SecondsFormat::Secs, false),
                        "timezone": hours.schedule.tz.name(),
                        "target": target,
                    }),
                );
                Some(target.clone())
            }
            Action::Webhook(hook) => {
                let request = hook.request(&self.vars);
                self.event(
                    "webhook_sent",
                    json!({
                        "node": self.node,
                        "method": request.method.as_str(),
                        "url": request.url,
                        "vars": request.fields.keys().collect::<Vec<_>>(),
                    }),
                );
                self.state = State::Webhook {
                    sent: now,
                    deadline: now + request.timeout,
                };
                self.outputs.push_back(Output::Webhook(request));
                None
            }
            Action::Hangup(hangup) => self.play(
                now,
                &hangup.prompt,
                false,
                After::Hangup(hangup.reason.clone()),
            ),
            Action::Bot(bot) => self.bot_enter(now, bot),
            Action::Queue(queue) => self.queue_enter(now, queue),
            Action::Callback(callback) => self.callback_enter(callback),
        }
    }

    /// The reply to the current webhook: its variables and `next`, or the error path.
    fn webhook_reply(&mut self, now: Instant, status: u16, body: &str) -> Option<String> {
        let State::Webhook { sent, .. } = self.state else {
            // Not waiting for a reply (a late one, after a timeout): ignored.
            return None;
        };
        let plan = Arc::clone(&self.plan);
        let Some(Action::Webhook(hook)) = plan.nodes.get(&self.node) else {
            return None;
        };
        let vars = match reply_variables(&hook.reply, status, body) {
            Ok(vars) => vars,
            Err(bad) => {
                let status = matches!(bad, BadReply::Status(_)).then_some(status);
                return self.webhook_failed(now, bad.kind(), &bad.detail(), status);
            }
        };
        self.state = State::Moving;
        if let ReplyVars::Prefixed(prefix) = &hook.reply {
            // Fields of an earlier reply that this one lacks must not pass for this one's.
            let names = vars.iter().map(|(name, _)| name.clone()).collect();
            for stale in self
                .from_replies
                .insert(prefix.clone(), names)
                .unwrap_or_default()
            {
                self.vars.remove(&stale);
            }
        }
        self.vars.insert(webhook::ERROR_VAR.into(), String::new());
        self.vars
            .insert(webhook::STATUS_VAR.into(), status.to_string());
        self.vars.extend(vars.iter().cloned());
        self.event(
            "webhook_reply",
            json!({
                "node": self.node,
                "status": status,
                "latency_ms": now.saturating_duration_since(sent).as_millis() as u64,
                "vars": vars.into_iter().collect::<BTreeMap<_, _>>(),
                "target": hook.next,
            }),
        );
        Some(hook.next.clone())
    }

    /// The current webhook failed with error `kind`: `webhook_error` is set, then the error path.
    fn webhook_failed(
        &mut self,
        now: Instant,
        kind: &str,
        detail: &str,
        status: Option<u16>,
    ) -> Option<String> {
        let State::Webhook { sent, .. } = self.state else {
            // Not waiting for a reply (a late failure, after a timeout): ignored.
            return None;
        };
        self.state = State::Moving;
        self.with_webhook(|this, hook| {
            let target = match (&hook.on_timeout, kind) {
                (Some(on_timeout), "timeout") => on_timeout,
                _ => &hook.on_error,
            };
            this.vars
                .insert(webhook::ERROR_VAR.into(), kind.to_string());
            this.vars.insert(
                webhook::STATUS_VAR.into(),
                status.map(|s| s.to_string()).unwrap_or_default(),
            );
            this.event(
                "webhook_failed",
                json!({
                    "node": this.node,
                    "error": kind,
                    "detail": detail,
                    "status": status,
                    "latency_ms": now.saturating_duration_since(sent).as_millis() as u64,
                    "target": target,
                }),
            );
            Some(target.clone())
        })
    }

    /// Whether pending keys make a playback moot: it could be cut short and they answer it.
    fn skips_prompt(&self, interruptible: bool, after: &After) -> bool {
        interruptible && !self.type_ahead.is_empty() && after.leads_to_waiting()
    }

    /// The prompt with its text filled in; text that comes out empty is left out.
    fn render(&self, prompt: &[PromptPart]) -> Vec<PromptItem> {
        prompt
            .iter()
            .filter_map(|part| match part {
                PromptPart::Sound(file) => Some(PromptItem::Sound(file.clone())),
                PromptPart::Say(template) => {
                    let text = template.render(&self.vars);
                    (!text.trim().is_empty()).then_some(PromptItem::Say(text))
                }
            })
            .collect()
    }

    /// Starts a playback, or skips it when it has nothing to play or pending keys make it moot.
    fn play(
        &mut self,
        now: Instant,
        prompt: &[PromptPart],
        interruptible: bool,
        after: After,
    ) -> Option<String> {
        let items = self.render(prompt);
        self.play_items(now, items, interruptible, after)
    }

    /// Starts playing `items`, or skips them when there are none or pending keys make them moot.
    fn play_items(
        &mut self,
        now: Instant,
        items: Vec<PromptItem>,
        interruptible: bool,
        after: After,
    ) -> Option<String> {
        if items.is_empty() || self.skips_prompt(interruptible, &after) {
            return self.after_play(now, after);
        }
        self.outputs.push_back(Output::Play {
            items,
            interruptible,
        });
        self.state = State::Playing {
            after,
            interruptible,
        };
        None
    }

    fn after_play(&mut self, now: Instant, after: After) -> Option<String> {
        match after {
            After::Goto(next) => Some(next),
            After::Wait { attempt } => self.wait_for_answer(now, attempt),
            After::Retry { attempt } => self.prompt(now, attempt),
            After::Hangup(reason) => {
                self.hang_up(reason);
                None
            }
        }
    }

    /// Plays the prompt of the current menu, collect or listen for attempt number `attempt`;
    /// a listen starts listening first, so the caller can answer while it plays.
    fn prompt(&mut self, now: Instant, attempt: u32) -> Option<String> {
        let plan = Arc::clone(&self.plan);
        let after = After::Wait { attempt };
        let prompting = match plan.nodes.get(&self.node) {
            Some(Action::Menu(menu)) => &menu.prompting,
            Some(Action::Collect(collect)) => &collect.prompting,
            Some(Action::Listen(listen)) => {
                if !listen.digits {
                    // Keys typed ahead were meant for a step that takes keys; this one ignores them.
                    self.type_ahead.clear();
                }
                if listen.speech && !self.skips_prompt(listen.prompting.interruptible, &after) {
                    self.begin_turn(listen, attempt);
                }
                &listen.prompting
            }
            _ => return None,
        };
        self.play(now, &prompting.prompt, prompting.interruptible, after)
    }

    /// Asks the call to listen for the caller's turn in the current listen step.
    fn begin_turn(&mut self, listen: &Listen, attempt: u32) {
        self.event(
            "listen_started",
            json!({ "node": self.node, "attempt": attempt }),
        );
        self.listen_for(ListenRequest {
            context: turn_context(&listen.expect),
            end_silence: listen.end_silence,
            max_speech: listen.max_speech,
            hints: listen.hints.clone(),
        });
    }

    /// Asks the call to listen for one turn of the caller.
    fn listen_for(&mut self, request: ListenRequest) {
        self.outputs.push_back(Output::Listen(request));
        self.turn = Some(Turn::default());
    }

    /// Ends the speech turn, if one is listened for.
    fn end_turn(&mut self) {
        if self.turn.take().is_some() {
            self.outputs.push_back(Output::StopListening);
        }
    }

    /// Waits for the answer in the current menu, collect or listen, taking keys typed ahead and
    /// speech heard during the prompt first.
    fn wait_for_answer(&mut self, now: Instant, attempt: u32) -> Option<String> {
        let plan = Arc::clone(&self.plan);
        let speaking = self
            .turn
            .as_ref()
            .is_some_and(|turn| turn.give_up_at.is_some());
        self.state = match plan.nodes.get(&self.node) {
            Some(Action::Menu(menu)) => State::Menu {
                attempt,
                deadline: now + menu.timeout,
            },
            Some(Action::Collect(collect)) => State::Collect {
                attempt,
                digits: String::new(),
                deadline: now + collect.first_digit_timeout,
            },
            // The no-input timer waits while the caller speaks.
            Some(Action::Listen(listen)) => State::Listen {
                attempt,
                digits: String::new(),
                deadline: (!speaking).then(|| now + listen.timeout),
            },
            Some(Action::Bot(bot)) => State::BotListen {
                digits: String::new(),
                deadline: (!speaking).then(|| now + bot.timeout),
            },
            _ => return None,
        };
        while matches!(
            self.state,
            State::Menu { .. }
                | State::Collect { .. }
                | State::Listen { .. }
                | State::BotListen { .. }
        ) {
            let Some(key) = self.type_ahead.pop_front() else {
                break;
            };
            if let Some(next) = self.key(now, key) {
                return Some(next);
            }
        }
        let waiting_bot = matches!(self.state, State::BotListen { .. });
        if (waiting_bot || matches!(self.state, State::Listen { .. }))
            && let Some(heard) = self.turn.as_mut().and_then(|turn| turn.held.take())
        {
            self.state = State::Moving;
            return if waiting_bot {
                self.bot_heard(now, heard)
            } else {
                self.understand(now, attempt, heard)
            };
        }
        None
    }

    fn remember(&mut self, key: char) {
        if self.type_ahead.len() < TYPE_AHEAD_LIMIT {
            self.type_ahead.push_back(key);
        }
    }

    /// A key from the caller (or from the type-ahead buffer).
    fn key(&mut self, now: Instant, key: char) -> Option<String> {
        let ignores_keys = match self.plan.nodes.get(&self.node) {
            Some(Action::Listen(listen)) => !listen.digits,
            Some(Action::Bot(bot)) => !self.bot_takes_keys(bot),
            _ => false,
        };
        if ignores_keys {
            // A step that takes no keys now ignores them, even as barge-in.
            return None;
        }
        match self.take_state() {
            State::Playing {
                after,
                interruptible: true,
            } => {
                self.remember(key);
                self.outputs.push_back(Output::StopPlayback);
                self.after_play(now, after)
            }
            State::Playing {
                after,
                interruptible: false,
            } => {
                self.remember(key);
                self.state = State::Playing {
                    after,
                    interruptible: false,
                };
                None
            }
            State::Menu { attempt, .. } => self.menu_key(now, key, attempt),
            State::Collect {
                attempt, digits, ..
            } => self.collect_key(now, key, attempt, digits),
            State::Listen {
                attempt, digits, ..
            } => self.listen_key(now, key, attempt, digits),
            State::BotListen { digits, .. } => self.bot_key(now, key, digits),
            // Keys pressed while a business system answers are for the step after it.
            waiting @ State::Webhook { .. } => {
                self.remember(key);
                self.state = waiting;
                None
            }
            other => {
                self.state = other;
                None
            }
        }
    }

    fn menu_key(&mut self, now: Instant, key: char, attempt: u32) -> Option<String> {
        // The caller acted: whatever follows is not a loop of the dialplan's own.
        self.steps = 0;
        self.with_menu(|this, menu| match menu.options.get(&key) {
            Some(target) => {
                this.event(
                    "menu_option",
                    json!({ "node": this.node, "key": key.to_string(), "target": target }),
                );
                Some(target.clone())
            }
            None => {
                this.event(
                    "menu_invalid",
                    json!({ "node": this.node, "key": key.to_string(), "attempt": attempt }),
                );
                // Keys typed after a wrong one were meant for a menu the caller is not in.
                this.type_ahead.clear();
                let notice = &menu.prompting.invalid;
                this.retry_or_fail(now, attempt, &menu.prompting, "menu_failed", notice)
            }
        })
    }

    fn collect_key(
        &mut self,
        now: Instant,
        key: char,
        attempt: u32,
        mut digits: String,
    ) -> Option<String> {
        self.steps = 0;
        self.with_collect(|this, collect| {
            if Some(key) == collect.entry.terminator {
                return this.finish_collect(now, attempt, digits);
            }
            digits.push(key);
            if digits.len() >= collect.entry.max {
                return this.finish_collect(now, attempt, digits);
            }
            this.state = State::Collect {
                attempt,
                digits,
                deadline: now + collect.entry.inter_digit_timeout,
            };
            None
        })
    }

    fn finish_collect(&mut self, now: Instant, attempt: u32, digits: String) -> Option<String> {
        self.with_collect(|this, collect| {
            if collect.entry.accepts(&digits) {
                this.event(
                    "digits_collected",
                    json!({ "node": this.node, "var": collect.var, "digits": digits }),
                );
                this.vars.insert(collect.var.clone(), digits);
                return Some(collect.next.clone());
            }
            this.event(
                "collect_invalid",
                json!({ "node": this.node, "digits": digits, "attempt": attempt }),
            );
            this.type_ahead.clear();
            let notice = &collect.prompting.invalid;
            this.retry_or_fail(now, attempt, &collect.prompting, "collect_failed", notice)
        })
    }

    /// The caller started speaking: barge-in on an interruptible prompt, and no more no-input timer.
    fn speech_started(&mut self, now: Instant) -> Option<String> {
        let max_speech = match self.plan.nodes.get(&self.node) {
            Some(Action::Listen(listen)) => listen.max_speech,
            Some(Action::Bot(bot)) => bot.max_speech,
            _ => return None,
        };
        let turn = self.turn.as_mut()?;
        if turn.give_up_at.is_some() {
            // Speech within the same turn: keep the first deadline, so the turn still ends.
            return None;
        }
        turn.give_up_at = Some(now + max_speech + RECOGNIZER_GRACE);
        self.event("speech_started", json!({ "node": self.node }));
        match self.take_state() {
            State::Playing {
                after,
                interruptible: true,
            } => {
                self.outputs.push_back(Output::StopPlayback);
                self.after_play(now, after)
            }
            State::Listen {
                attempt, digits, ..
            } => {
                self.state = State::Listen {
                    attempt,
                    digits,
                    deadline: None,
                };
                None
            }
            State::BotListen { digits, .. } => {
                self.state = State::BotListen {
                    digits,
                    deadline: None,
                };
                None
            }
            // A prompt that must play to the end plays on; the call keeps listening.
            other => {
                self.state = other;
                None
            }
        }
    }

    /// A result from the recognizer for the current turn; ignored when no turn is listened for.
    fn heard(&mut self, now: Instant, heard: Heard) -> Option<String> {
        // Without a turn the result is late, for a turn already over: ignored.
        self.turn.as_ref()?;
        if let Heard::Utterance { text, confidence } = &heard {
            let data =
                json!({ "node": self.node, "text": text, "confidence": rounded(*confidence) });
            self.event("utterance", data);
        }
        match self.take_state() {
            State::Playing {
                after,
                interruptible,
            } => {
                // The answer counts once the prompt is over; an interruptible one is cut short.
                if let Some(turn) = &mut self.turn {
                    turn.held = Some(heard);
                }
                if interruptible {
                    self.outputs.push_back(Output::StopPlayback);
                    self.after_play(now, after)
                } else {
                    self.state = State::Playing {
                        after,
                        interruptible,
                    };
                    None
                }
            }
            State::Listen { attempt, .. } => self.understand(now, attempt, heard),
            State::BotListen { .. } => self.bot_heard(now, heard),
            other => {
                self.state = other;
                None
            }
        }
    }

    /// Acts on the recognizer's result: an answer, a retry, or the overload path.
    fn understand(&mut self, now: Instant, attempt: u32, heard: Heard) -> Option<String> {
        self.end_turn();
        self.with_listen(|this, listen| match heard {
            Heard::Unavailable { timed_out } => {
                this.event(
                    "speech_unavailable",
                    json!({
                        "node": this.node,
                        "attempt": attempt,
                        "timed_out": timed_out,
                        "target": listen.on_overload,
                    }),
                );
                match &listen.on_overload {
                    Some(target) => Some(target.clone()),
                    None => this.listen_no_input(now, attempt, listen),
                }
            }
            Heard::Utterance { text, confidence } => {
                this.utterance(now, attempt, listen, &text, confidence)
            }
        })
    }

    fn utterance(
        &mut self,
        now: Instant,
        attempt: u32,
        listen: &Listen,
        text: &str,
        confidence: f32,
    ) -> Option<String> {
        if text.trim().is_empty() {
            // Voice without words (a cough, a noise) is no answer at all.
            return self.listen_no_input(now, attempt, listen);
        }
        let said = Said::Speech(text);
        if confidence < listen.min_confidence {
            let data = json!({ "reason": "low confidence" });
            return self.listen_no_match(now, attempt, listen, said, data);
        }
        match &listen.expect {
            Expect::Text { next } => self.listen_answer(listen, said, text.to_string(), next),
            Expect::Options(options) => {
                match best_option(text, options.iter().map(|o| o.phrases.as_slice())) {
                    Match::Option(i) => {
                        let option = &options[i];
                        self.listen_option(listen, &option.name, said, text, &option.next)
                    }
                    Match::Ambiguous(tied) => {
                        let names: Vec<&str> =
                            tied.iter().map(|&i| options[i].name.as_str()).collect();
                        let data = json!({ "reason": "ambiguous", "options": names });
                        self.listen_no_match(now, attempt, listen, said, data)
                    }
                    Match::None => {
                        let data = json!({ "reason": "no option" });
                        self.listen_no_match(now, attempt, listen, said, data)
                    }
                }
            }
            Expect::YesNo { yes, no } => match yes_or_no(text) {
                Some(true) => self.listen_option(listen, "yes", said, "yes", yes),
                Some(false) => self.listen_option(listen, "no", said, "no", no),
                None => {
                    let data = json!({ "reason": "not yes or no" });
                    self.listen_no_match(now, attempt, listen, said, data)
                }
            },
            Expect::Digits { entry, next } => {
                let digits = spoken_digits(text);
                if entry.accepts(&digits) {
                    self.listen_answer(listen, said, digits, next)
                } else {
                    let data = json!({ "reason": "wrong number of digits", "digits": digits });
                    self.listen_no_match(now, attempt, listen, said, data)
                }
            }
        }
    }

    fn listen_key(
        &mut self,
        now: Instant,
        key: char,
        attempt: u32,
        mut digits: String,
    ) -> Option<String> {
        self.steps = 0;
        // From the first key on, the step takes keys only.
        self.end_turn();
        self.with_listen(|this, listen| match &listen.expect {
            Expect::Options(options) => match options.iter().find(|o| o.key == Some(key)) {
                Some(option) => {
                    let value = key.to_string();
                    this.listen_option(listen, &option.name, Said::Key(key), &value, &option.next)
                }
                None => {
                    let data = json!({ "reason": "no option" });
                    this.listen_no_match(now, attempt, listen, Said::Key(key), data)
                }
            },
            Expect::YesNo { yes, no } => match key {
                '1' => this.listen_option(listen, "yes", Said::Key(key), "yes", yes),
                '2' => this.listen_option(listen, "no", Said::Key(key), "no", no),
                _ => {
                    let data = json!({ "reason": "not yes or no" });
                    this.listen_no_match(now, attempt, listen, Said::Key(key), data)
                }
            },
            Expect::Digits { entry, .. } => {
                if Some(key) == entry.terminator {
                    return this.finish_listen_digits(now, attempt, digits);
                }
                digits.push(key);
                if digits.len() >= entry.max {
                    return this.finish_listen_digits(now, attempt, digits);
                }
                this.state = State::Listen {
                    attempt,
                    digits,
                    deadline: Some(now + entry.inter_digit_timeout),
                };
                None
            }
            // Free text takes no keys; `key` drops them before they get here.
            Expect::Text { .. } => None,
        })
    }

    /// Keys of a digit listen are complete: the answer, or a retry when too few or too many.
    fn finish_listen_digits(
        &mut self,
        now: Instant,
        attempt: u32,
        digits: String,
    ) -> Option<String> {
        self.with_listen(|this, listen| {
            let Expect::Digits { entry, next } = &listen.expect else {
                return None;
            };
            if entry.accepts(&digits) {
                this.listen_answer(listen, Said::Keys(&digits), digits.clone(), next)
            } else {
                let data = json!({ "reason": "wrong number of digits" });
                this.listen_no_match(now, attempt, listen, Said::Keys(&digits), data)
            }
        })
    }

    /// The caller chose `option`; `value` goes into the step's variable.
    fn listen_option(
        &mut self,
        listen: &Listen,
        option: &str,
        said: Said<'_>,
        value: &str,
        target: &str,
    ) -> Option<String> {
        let data = json!({ "node": self.node, "option": option, "target": target });
        self.event("listen_option", said.describe(data));
        if let Some(var) = &listen.var {
            self.vars.insert(var.clone(), value.to_string());
        }
        Some(target.to_string())
    }

    /// The caller gave free text or digits, `value`, stored in the step's variable.
    fn listen_answer(
        &mut self,
        listen: &Listen,
        said: Said<'_>,
        value: String,
        target: &str,
    ) -> Option<String> {
        let data =
            json!({ "node": self.node, "var": listen.var, "value": value, "target": target });
        self.event("listen_value", said.describe(data));
        if let Some(var) = &listen.var {
            self.vars.insert(var.clone(), value);
        }
        Some(target.to_string())
    }

    /// An answer that fits nothing: the `no_match` notice, then ask again or give up.
    fn listen_no_match(
        &mut self,
        now: Instant,
        attempt: u32,
        listen: &Listen,
        said: Said<'_>,
        mut data: Value,
    ) -> Option<String> {
        data["node"] = json!(self.node);
        data["attempt"] = json!(attempt);
        self.event("listen_no_match", said.describe(data));
        // Keys typed after a wrong answer were meant for a step the caller is not in.
        self.type_ahead.clear();
        let notice = &listen.prompting.invalid;
        self.retry_or_fail(now, attempt, &listen.prompting, "listen_failed", notice)
    }

    /// No answer in time: the `no_input` notice, then ask again or give up.
    fn listen_no_input(&mut self, now: Instant, attempt: u32, listen: &Listen) -> Option<String> {
        self.event(
            "listen_no_input",
            json!({ "node": self.node, "attempt": attempt }),
        );
        let notice = &listen.prompting.no_input;
        self.retry_or_fail(now, attempt, &listen.prompting, "listen_failed", notice)
    }

    /// After a wrong or missing answer: play `notice`, then prompt again or give up.
    fn retry_or_fail(
        &mut self,
        now: Instant,
        attempt: u32,
        prompting: &Prompting,
        failed_kind: &str,
        notice: &[PromptPart],
    ) -> Option<String> {
        if attempt <= prompting.retries {
            return self.play(
                now,
                notice,
                prompting.interruptible,
                After::Retry {
                    attempt: attempt + 1,
                },
            );
        }
        self.event(
            failed_kind,
            json!({ "node": self.node, "attempts": attempt, "target": prompting.on_failure }),
        );
        self.play(
            now,
            notice,
            prompting.interruptible,
            After::Goto(prompting.on_failure.clone()),
        )
    }

    fn hang_up(&mut self, reason: String) {
        self.event("hangup", json!({ "reason": reason, "by": "dialplan" }));
        self.outputs.push_back(Output::Hangup { reason });
        self.type_ahead.clear();
        self.state = State::Finished;
    }
}
