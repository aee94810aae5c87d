//! The dialplan as loaded: nodes and their actions, every reference and sound checked.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::condition::Condition;
use crate::error::{DialplanError, DialplanErrors};
use crate::hours::Schedule;
use crate::template::Template;

/// A validated dialplan: a graph of named nodes, each doing one thing.
#[derive(Debug, Clone)]
pub struct Dialplan {
    pub(crate) name: String,
    pub(crate) start: String,
    pub(crate) vars: BTreeMap<String, String>,
    pub(crate) nodes: BTreeMap<String, Action>,
}

/// What a node does.
#[derive(Debug, Clone)]
pub(crate) enum Action {
    Play(Play),
    Menu(Menu),
    Collect(Collect),
    Goto(String),
    Set(Set),
    When(When),
    Hours(Hours),
    Hangup(Hangup),
}

/// Plays sounds, then moves on.
#[derive(Debug, Clone)]
pub(crate) struct Play {
    pub(crate) sounds: Vec<PathBuf>,
    pub(crate) interruptible: bool,
    pub(crate) next: String,
}

/// Settings shared by menus and digit collection: prompting, retrying, giving up.
#[derive(Debug, Clone)]
pub(crate) struct Prompting {
    pub(crate) prompt: Vec<PathBuf>,
    pub(crate) interruptible: bool,
    pub(crate) retries: u32,
    pub(crate) invalid: Vec<PathBuf>,
    pub(crate) no_input: Vec<PathBuf>,
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
    pub(crate) min: usize,
    pub(crate) max: usize,
    pub(crate) terminator: Option<char>,
    pub(crate) first_digit_timeout: Duration,
    pub(crate) inter_digit_timeout: Duration,
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
    pub(crate) sounds: Vec<PathBuf>,
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

    /// The names of all nodes, sorted.
    pub fn node_names(&self) -> impl Iterator<Item = &str> {
        self.nodes.keys().map(String::as_str)
    }
}
