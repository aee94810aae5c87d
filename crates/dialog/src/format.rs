//! The dialplan as loaded: nodes and their actions, every reference, sound and variable checked.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::bot::Bot;
use crate::callback::Callback;
use crate::condition::Condition;
use crate::error::{DialplanError, DialplanErrors};
use crate::hours::Schedule;
use crate::queue::{Queue, QueueReference, unknown_queues};
use crate::template::Template;
use crate::webhook::Webhook;

/// A validated dialplan: a graph of named nodes, each doing one thing.
#[derive(Debug, Clone)]
pub struct Dialplan {
    pub(crate) name: String,
    pub(crate) start: String,
    pub(crate) vars: BTreeMap<String, String>,
    /// Whether to transcribe everything the caller says from the start of the call.
    pub(crate) transcribe: bool,
    pub(crate) nodes: BTreeMap<String, Action>,
    /// The file it was read from.
    pub(crate) file: PathBuf,
    /// The queues its `queue` steps name.
    pub(crate) queues: Vec<QueueReference>,
}

/// What a node does.
#[derive(Debug, Clone)]
pub(crate) enum Action {
    /// `play` and `say` nodes.
    Play(Play),
    Menu(Menu),
    Collect(Collect),
    Listen(Listen),
    Goto(String),
    Set(Set),
    When(When),
    Hours(Hours),
    Transcribe(Transcribe),
    Webhook(Webhook),
    Hangup(Hangup),
    /// A conversation with the knowledge base behind it; boxed, as it is much larger.
    Bot(Box<Bot>),
    Queue(Queue),
    Callback(Callback),
}

/// One piece of a prompt as written: a sound file, or text to speak once filled in.
#[derive(Debug, Clone)]
pub(crate) enum PromptPart {
    Sound(PathBuf),
    Say(Template),
}

/// Plays a prompt, then moves on.
#[derive(Debug, Clone)]
pub(crate) struct Play {
    pub(crate) prompt: Vec<PromptPart>,
    pub(crate) interruptible: bool,
    pub(crate) next: String,
}

/// Settings shared by menus, digit collection and listening: prompting, retrying, giving up.
#[derive(Debug, Clone)]
pub(crate) struct Prompting {
    pub(crate) prompt: Vec<PromptPart>,
    pub(crate) interruptible: bool,
    pub(crate) retries: u32,
    /// Played after a wrong answer: `invalid` in menus and collects, `no_match` in listens.
    pub(crate) invalid: Vec<PromptPart>,
    pub(crate) no_input: Vec<PromptPart>,
    pub(crate) on_failure: String,
}

/// One key chooses the next node.
#[derive(Debug, Clone)]
pub(crate) struct Menu {
    pub(crate) prompting: Prompting,
    pub(crate) options: BTreeMap<char, String>,
    pub(crate) timeout: Duration,
}

/// Several keys are gathered into a variable.
#[derive(Debug, Clone)]
pub(crate) struct Collect {
    pub(crate) prompting: Prompting,
    pub(crate) var: String,
    pub(crate) entry: DigitEntry,
    pub(crate) first_digit_timeout: Duration,
    pub(crate) next: String,
}

/// How a digit string is entered and when it is complete, for `collect` and digit `listen`s.
#[derive(Debug, Clone)]
pub(crate) struct DigitEntry {
    pub(crate) min: usize,
    pub(crate) max: usize,
    pub(crate) terminator: Option<char>,
    pub(crate) inter_digit_timeout: Duration,
}

impl DigitEntry {
    /// Whether `digits` is a complete entry by length.
    pub(crate) fn accepts(&self, digits: &str) -> bool {
        (self.min..=self.max).contains(&digits.len())
    }
}

/// Asks a question and understands the answer, spoken or keyed.
#[derive(Debug, Clone)]
pub(crate) struct Listen {
    pub(crate) prompting: Prompting,
    /// Whether to ask the call to recognize speech.
    pub(crate) speech: bool,
    /// Whether keys answer too; when not, keys are ignored during the step.
    pub(crate) digits: bool,
    pub(crate) expect: Expect,
    pub(crate) end_silence: Option<Duration>,
    /// How long to wait for the caller after the prompt.
    pub(crate) timeout: Duration,
    pub(crate) max_speech: Duration,
    pub(crate) min_confidence: f32,
    /// Receives the answer: the text heard, the key pressed, `yes`/`no`, or the digits.
    pub(crate) var: Option<String>,
    /// Where to go when speech recognition is unavailable; `None` treats it as no input.
    pub(crate) on_overload: Option<String>,
    /// Words to prime the recognizer with: the options' phrases.
    pub(crate) hints: Vec<String>,
}

/// What answer a listen step expects, and where each answer leads.
#[derive(Debug, Clone)]
pub(crate) enum Expect {
    /// Any words: stored in the variable.
    Text { next: String },
    /// One of several options, by phrase or key.
    Options(Vec<ListenOption>),
    /// Yes or no; keys 1 and 2 answer too.
    YesNo { yes: String, no: String },
    /// A number, spoken or keyed.
    Digits { entry: DigitEntry, next: String },
}

/// One answer of a listen step with options.
#[derive(Debug, Clone)]
pub(crate) struct ListenOption {
    pub(crate) name: String,
    /// Phrases and keywords, each as stemmed words.
    pub(crate) phrases: Vec<Vec<String>>,
    pub(crate) key: Option<char>,
    pub(crate) next: String,
}

/// Turns the transcript of the caller's speech on or off, then moves on.
#[derive(Debug, Clone)]
pub(crate) struct Transcribe {
    pub(crate) enabled: bool,
    pub(crate) next: String,
}

/// Assigns variables, then moves on.
#[derive(Debug, Clone)]
pub(crate) struct Set {
    pub(crate) vars: Vec<(String, Template)>,
    pub(crate) add: Vec<(String, i64)>,
    pub(crate) next: String,
}

/// Goes to the target of the first condition that holds, else to `otherwise`.
#[derive(Debug, Clone)]
pub(crate) struct When {
    pub(crate) cases: Vec<(Condition, String)>,
    pub(crate) otherwise: String,
}

/// Branches on business hours.
#[derive(Debug, Clone)]
pub(crate) struct Hours {
    pub(crate) schedule: Schedule,
    pub(crate) if_open: String,
    pub(crate) if_closed: String,
}

/// Ends the call, after an optional goodbye.
#[derive(Debug, Clone)]
pub(crate) struct Hangup {
    pub(crate) prompt: Vec<PromptPart>,
    pub(crate) reason: String,
}

impl Dialplan {
    /// Reads and validates the dialplan at `path`; sounds are looked up in `sounds_dir`.
    pub fn load(path: &Path, sounds_dir: &Path) -> Result<Dialplan, DialplanErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| DialplanErrors {
            errors: vec![DialplanError {
                file: path.to_path_buf(),
                line: 1,
                column: 1,
                message: format!("cannot read the dialplan: {e}"),
            }],
        })?;
        Self::parse(&text, path, sounds_dir)
    }

    /// Validates dialplan `text`; `file` names it in errors; sounds are looked up in `sounds_dir`.
    pub fn parse(text: &str, file: &Path, sounds_dir: &Path) -> Result<Dialplan, DialplanErrors> {
        crate::parse::parse(text, file, sounds_dir)
    }

    /// The dialplan's `name`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The node a call starts in.
    pub fn start(&self) -> &str {
        &self.start
    }

    /// Checks that every queue a `queue` step names is among `known` (the configured queues);
    /// the errors point at the names in the file.
    pub fn check_queues(&self, known: &[&str]) -> Result<(), DialplanErrors> {
        unknown_queues(&self.file, &self.queues, known)
    }

    /// The names of all nodes, sorted.
    pub fn node_names(&self) -> impl Iterator<Item = &str> {
        self.nodes.keys().map(String::as_str)
    }
}
