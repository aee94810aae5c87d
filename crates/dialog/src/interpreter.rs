//! Runs one call through a dialplan: a sans-IO state machine driven by inputs and time.
//!
//! The call feeds caller keys, playback ends, hang-ups and timer expiries in, with the
//! current `Instant`; the interpreter answers through [`DialplanInterpreter::poll_output`]
//! and names its next deadline through [`DialplanInterpreter::poll_timeout`].

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::format::{Action, Collect, Dialplan, Menu, Prompting};

/// Nodes entered in a row without the caller doing anything before the call is ended as a loop.
const MAX_STEPS_WITHOUT_WAITING: usize = 100;
/// Keys kept for the next menu or collect; later keys are dropped.
const TYPE_AHEAD_LIMIT: usize = 32;
/// The keys of a phone pad, DTMF A-D included.
const DTMF_KEYS: &str = "0123456789*#ABCD";

/// Something that happened on the call, fed to the interpreter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// The caller pressed a key: 0-9, *, #, A-D (others are ignored).
    Digit(char),
    /// The last [`Output::Play`] ended by itself (not sent after [`Output::StopPlayback`]).
    PlaybackFinished,
    /// The caller hung up; the interpreter finishes without asking to hang up.
    CallerHangup,
}

/// What the interpreter asks the call to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Play the files in order, then report [`Input::PlaybackFinished`].
    Play {
        /// WAV files, played one after the other.
        files: Vec<PathBuf>,
        /// Whether a key press stops this playback (the interpreter then sends `StopPlayback`).
        interruptible: bool,
    },
    /// Stop the current playback now; no `PlaybackFinished` is expected for it.
    StopPlayback,
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
    Finished,
}

/// What follows a playback.
#[derive(Debug)]
enum After {
    Goto(String),
    /// A menu or collect prompt ended: wait for keys.
    Listen {
        attempt: u32,
    },
    /// An invalid-input or no-input notice ended: prompt again.
    Retry {
        attempt: u32,
    },
    Hangup(String),
}

impl After {
    /// Whether this playback leads straight to listening, so pending keys make it moot.
    fn leads_to_listening(&self) -> bool {
        matches!(self, After::Listen { .. } | After::Retry { .. })
    }
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
    /// Keys pressed before a menu or collect was ready for them.
    type_ahead: VecDeque<char>,
    outputs: VecDeque<Output>,
    /// Nodes entered since the caller last did something, to stop endless loops.
    steps: usize,
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
            outputs: VecDeque::new(),
            steps: 0,
        }
    }

    /// Enters the start node; later calls do nothing.
    pub fn start(&mut self, now: Instant) {
        if matches!(self.state, State::NotStarted) {
            let start = self.plan.start.clone();
            self.goto(now, start);
        }
    }

    /// Feeds something that happened on the call.
    pub fn handle_input(&mut self, input: Input, now: Instant) {
        self.steps = 0;
        let next = match input {
            Input::CallerHangup => {
                if !matches!(self.state, State::Finished) {
                    self.event(
                        "hangup",
                        json!({ "reason": "caller hung up", "by": "caller" }),
                    );
                    self.state = State::Finished;
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
        };
        if let Some(next) = next {
            self.goto(now, next);
        }
    }

    /// Acts on an expired menu or collect timer; early calls do nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.steps = 0;
        let next = match self.take_state() {
            State::Menu { attempt, deadline } if now >= deadline => self.with_menu(|this, menu| {
                this.event(
                    "menu_timeout",
                    json!({ "node": this.node, "attempt": attempt }),
                );
                let notice = menu.prompting.no_input.clone();
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
                        let notice = collect.prompting.no_input.clone();
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
            other => {
                self.state = other;
                None
            }
        };
        if let Some(next) = next {
            self.goto(now, next);
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called, if at all.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Menu { deadline, .. } | State::Collect { deadline, .. } => Some(deadline),
            _ => None,
        }
    }

    /// The next thing for the call to do; call until `None` after every input.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
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
                play.sounds.clone(),
                play.interruptible,
                After::Goto(play.next.clone()),
            ),
            Action::Menu(_) | Action::Collect(_) => self.prompt(now, 1),
            Action::Goto(target) => Some(target.clone()),
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
            Action::Hangup(hangup) => self.play(
                now,
                hangup.sounds.clone(),
                false,
                After::Hangup(hangup.reason.clone()),
            ),
        }
    }

    /// Starts a playback, or skips it when it has no files or pending keys make it moot.
    fn play(
        &mut self,
        now: Instant,
        files: Vec<PathBuf>,
        interruptible: bool,
        after: After,
    ) -> Option<String> {
        let moot = interruptible && !self.type_ahead.is_empty() && after.leads_to_listening();
        if files.is_empty() || moot {
            return self.after_play(now, after);
        }
        self.outputs.push_back(Output::Play {
            files,
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
            After::Listen { attempt } => self.listen(now, attempt),
            After::Retry { attempt } => self.prompt(now, attempt),
            After::Hangup(reason) => {
                self.hang_up(reason);
                None
            }
        }
    }

    /// Plays the prompt of the current menu or collect for attempt number `attempt`.
    fn prompt(&mut self, now: Instant, attempt: u32) -> Option<String> {
        let plan = Arc::clone(&self.plan);
        let prompting = match plan.nodes.get(&self.node) {
            Some(Action::Menu(menu)) => &menu.prompting,
            Some(Action::Collect(collect)) => &collect.prompting,
            _ => return None,
        };
        self.play(
            now,
            prompting.prompt.clone(),
            prompting.interruptible,
            After::Listen { attempt },
        )
    }

    /// Waits for keys in the current menu or collect, taking any typed ahead first.
    fn listen(&mut self, now: Instant, attempt: u32) -> Option<String> {
        let plan = Arc::clone(&self.plan);
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
            _ => return None,
        };
        while matches!(self.state, State::Menu { .. } | State::Collect { .. }) {
            let key = self.type_ahead.pop_front()?;
            if let Some(next) = self.key(now, key) {
                return Some(next);
            }
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
                let notice = menu.prompting.invalid.clone();
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
            if Some(key) == collect.terminator {
                return this.finish_collect(now, attempt, digits);
            }
            digits.push(key);
            if digits.len() >= collect.max {
                return this.finish_collect(now, attempt, digits);
            }
            this.state = State::Collect {
                attempt,
                digits,
                deadline: now + collect.inter_digit_timeout,
            };
            None
        })
    }

    fn finish_collect(&mut self, now: Instant, attempt: u32, digits: String) -> Option<String> {
        self.with_collect(|this, collect| {
            if digits.len() >= collect.min {
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
            let notice = collect.prompting.invalid.clone();
            this.retry_or_fail(now, attempt, &collect.prompting, "collect_failed", notice)
        })
    }

    /// After a wrong or missing answer: play `notice`, then prompt again or give up.
    fn retry_or_fail(
        &mut self,
        now: Instant,
        attempt: u32,
        prompting: &Prompting,
        failed_kind: &str,
        notice: Vec<PathBuf>,
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
