//! Reads the TOML text into a [`Dialplan`], reporting every problem with its place.
//!
//! The text is parsed into toml's spanned document tree (`DeTable`) and walked by hand
//! rather than through serde derive: serde stops at the first error, and administrators
//! should see all of them at once.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono_tz::Tz;
use toml::Spanned;
use toml::de::{DeString, DeTable, DeValue};

use crate::condition::Condition;
use crate::error::{Diagnostics, DialplanErrors};
use crate::format::{
    Action, Collect, Dialplan, DigitEntry, Expect, Hangup, Hours, Listen, ListenOption, Menu, Play,
    PromptPart, Prompting, Set, Transcribe, When,
};
use crate::hours::{Schedule, parse_closed, parse_open};
use crate::queue::QueueReference;
use crate::template::{Template, is_variable_name};
use crate::understand::{stemmed_words, words};
use crate::validate::{Graph, GraphNode, suggestion};
use crate::webhook::{self, ReplyVars, Webhook, WebhookMethod};

mod bot;
mod callback;
mod queue;

type Span = Range<usize>;
type Value<'i> = Spanned<DeValue<'i>>;
type Key<'i> = Spanned<DeString<'i>>;

/// The action keys of a node; a node has exactly one.
const ACTIONS: [&str; 15] = [
    "play",
    "menu",
    "collect",
    "goto",
    "set",
    "when",
    "hours",
    "hangup",
    "say",
    "listen",
    "transcribe",
    "webhook",
    "bot",
    "queue",
    "callback",
];
/// The keys a caller can press.
const DTMF_KEYS: &str = "0123456789*#ABCD";
const PROMPTING_KEYS: [&str; 6] = [
    "prompt",
    "interruptible",
    "retries",
    "invalid",
    "no_input",
    "on_failure",
];
/// The keys of a `listen` step; its wrong-answer notice is `no_match`.
const LISTEN_KEYS: [&str; 23] = [
    "prompt",
    "interruptible",
    "retries",
    "no_match",
    "no_input",
    "on_failure",
    "speech",
    "digits",
    "expect",
    "end_silence",
    "timeout",
    "max_speech",
    "min_confidence",
    "var",
    "on_overload",
    "options",
    "next",
    "yes",
    "no",
    "min",
    "max",
    "terminator",
    "inter_digit_timeout",
];
/// The answers a `listen` step can expect, as written after `expect =`.
const EXPECTS: [&str; 3] = ["phrase", "yes_no", "digits"];
/// Keys of a `listen` step that belong to one kind of `expect` only.
const EXPECT_ONLY_KEYS: [(&str, &str); 7] = [
    ("options", "phrase"),
    ("yes", "yes_no"),
    ("no", "yes_no"),
    ("min", "digits"),
    ("max", "digits"),
    ("terminator", "digits"),
    ("inter_digit_timeout", "digits"),
];

/// Parses and validates a dialplan; see [`Dialplan::parse`].
pub(crate) fn parse(
    text: &str,
    file: &Path,
    sounds_dir: &Path,
) -> Result<Dialplan, DialplanErrors> {
    let mut diag = Diagnostics::new(file, text);
    let (root, syntax_errors) = DeTable::parse_recoverable(text);
    if !syntax_errors.is_empty() {
        // What the parser recovered is a guess; checking it would add confusing errors.
        for e in &syntax_errors {
            diag.error(
                e.span().unwrap_or(0..0),
                format!("invalid TOML: {}", e.message()),
            );
        }
        return diag.finish(None);
    }
    let mut reader = Reader {
        diag,
        sounds_dir,
        graph: Graph::default(),
        node: String::new(),
        queues: Vec::new(),
    };
    let plan = reader.document(&root);
    let Reader {
        mut diag,
        graph,
        queues,
        ..
    } = reader;
    graph.check(&mut diag);
    diag.finish(plan.map(|plan| Dialplan {
        file: file.to_path_buf(),
        queues,
        ..plan
    }))
}

/// Parses `500ms`, `5s` or `2m`: a whole number and a unit, more than zero.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || {
        format!(
            "bad duration `{text}`; write a whole number and a unit: \"500ms\", \"5s\" or \"1m\""
        )
    };
    let trimmed = text.trim();
    let digits = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(digits);
    let number: u64 = number.parse().map_err(|_| bad())?;
    let duration = match unit.trim() {
        "ms" => Duration::from_millis(number),
        "s" => Duration::from_secs(number),
        "m" | "min" => Duration::from_secs(number.checked_mul(60).ok_or_else(bad)?),
        _ => return Err(bad()),
    };
    if duration.is_zero() {
        return Err(format!("duration `{text}` must be more than zero"));
    }
    Ok(duration)
}

fn describe(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

fn is_node_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Whether some option of a listen step has a key.
fn keyed(expect: &Expect) -> bool {
    matches!(expect, Expect::Options(options) if options.iter().any(|o| o.key.is_some()))
}

/// What the options of one listen step have claimed so far.
#[derive(Default)]
struct Seen {
    /// Each phrase (as stemmed words) and the option it belongs to.
    phrases: BTreeMap<Vec<String>, String>,
    keys: BTreeMap<char, String>,
    /// The phrases as written, for the recognizer.
    hints: Vec<String>,
}

/// Walks the document tree, building the dialplan and the graph the validator checks.
struct Reader<'a> {
    diag: Diagnostics<'a>,
    sounds_dir: &'a Path,
    graph: Graph,
    /// The node being read, for messages and for recording its edges.
    node: String,
    /// Every queue named, checked against the configuration once it is known.
    queues: Vec<QueueReference>,
}

impl Reader<'_> {
    /// Prefix for messages: which node (or the top level) they are about.
    fn context(&self) -> String {
        if self.node.is_empty() {
            "dialplan".to_string()
        } else {
            format!("node `{}`", self.node)
        }
    }

    fn error(&mut self, span: Span, message: impl std::fmt::Display) {
        let message = format!("{}: {message}", self.context());
        self.diag.error(span, message);
    }

    fn type_error(&mut self, value: &Value<'_>, key: &str, expected: &str) {
        let found = describe(value.get_ref());
        self.error(
            value.span(),
            format!("`{key}` must be {expected}, found {found}"),
        );
    }

    /// The span of byte `offset` inside a string value, when the source spells it plainly.
    fn inside(&self, value: &Value<'_>, text: &str, offset: usize) -> Span {
        let span = value.span();
        let source = self.diag.text().get(span.clone()).unwrap_or("");
        let plain = source.len() == text.len() + 2 && source.get(1..source.len() - 1) == Some(text);
        let start = if plain {
            span.start + 1 + offset
        } else {
            span.start
        };
        start..start
    }

    /// A table whose keys are all in `allowed`; unknown keys are reported.
    fn table<'t, 'i>(
        &mut self,
        value: &'t Value<'i>,
        key: &str,
        allowed: &[&str],
    ) -> Option<&'t DeTable<'i>> {
        let DeValue::Table(table) = value.get_ref() else {
            self.type_error(value, key, "a table");
            return None;
        };
        for (k, _) in table.iter() {
            if !allowed.contains(&k.get_ref().as_ref()) {
                self.error(
                    k.span(),
                    format!(
                        "unknown key `{}` in `{key}`; expected one of: {}",
                        k.get_ref(),
                        allowed.join(", ")
                    ),
                );
            }
        }
        Some(table)
    }

    fn required<'t, 'i>(
        &mut self,
        table: &'t DeTable<'i>,
        span: Span,
        what: &str,
        key: &str,
    ) -> Option<&'t Value<'i>> {
        let value = table.get(key);
        if value.is_none() {
            self.error(span, format!("`{what}` needs `{key}`"));
        }
        value
    }

    /// Reads an optional value: `default` when absent, `None` when present but bad.
    fn optional<'i, T>(
        &mut self,
        value: Option<&Value<'i>>,
        default: T,
        read: impl FnOnce(&mut Self, &Value<'i>) -> Option<T>,
    ) -> Option<T> {
        match value {
            None => Some(default),
            Some(value) => read(self, value),
        }
    }

    fn string(&mut self, value: &Value<'_>, key: &str) -> Option<String> {
        match value.get_ref() {
            DeValue::String(s) => Some(s.to_string()),
            _ => {
                self.type_error(value, key, "a string");
                None
            }
        }
    }

    fn boolean(&mut self, value: &Value<'_>, key: &str) -> Option<bool> {
        let found = value.get_ref().as_bool();
        if found.is_none() {
            self.type_error(value, key, "true or false");
        }
        found
    }

    fn integer(&mut self, value: &Value<'_>, key: &str) -> Option<i64> {
        let found = value
            .get_ref()
            .as_integer()
            .and_then(|i| i64::from_str_radix(i.as_str(), i.radix()).ok());
        if found.is_none() {
            self.type_error(value, key, "a whole number");
        }
        found
    }

    fn count(&mut self, value: &Value<'_>, key: &str) -> Option<u32> {
        let number = self.integer(value, key)?;
        let count = u32::try_from(number).ok();
        if count.is_none() {
            self.error(
                value.span(),
                format!("`{key}` must be a whole number from 0 up, found {number}"),
            );
        }
        count
    }

    fn duration(&mut self, value: &Value<'_>, key: &str) -> Option<Duration> {
        let text = self.string(value, key)?;
        match parse_duration(&text) {
            Ok(duration) => Some(duration),
            Err(message) => {
                self.error(value.span(), format!("`{key}`: {message}"));
                None
            }
        }
    }

    fn dtmf_key(&mut self, text: &str, span: Span, what: &str) -> Option<char> {
        let mut chars = text.chars();
        match (chars.next().map(|c| c.to_ascii_uppercase()), chars.next()) {
            (Some(c), None) if DTMF_KEYS.contains(c) => Some(c),
            _ => {
                self.error(
                    span,
                    format!("{what} `{text}` is not a phone key; use one of 0-9, *, #, A-D"),
                );
                None
            }
        }
    }

    /// A node name that must exist; recorded as an edge of the current node.
    fn target(&mut self, value: &Value<'_>, key: &str) -> Option<String> {
        let target = self.string(value, key)?;
        if let Some(node) = self.graph.nodes.get_mut(&self.node) {
            node.edges.push((target.clone(), value.span()));
        }
        Some(target)
    }

    /// A variable name to be assigned; recorded as declared.
    fn variable(&mut self, name: &str, span: Span) -> Option<String> {
        if !is_variable_name(name) {
            self.error(
                span,
                format!("`{name}` is not a variable name (letters, digits and _, not starting with a digit)"),
            );
            return None;
        }
        self.graph.declared.insert(name.to_string());
        Some(name.to_string())
    }

    /// A prompt: a sound name, `{ say = "text" }`, or a non-empty list mixing them.
    fn prompt(&mut self, value: &Value<'_>, key: &str) -> Option<Vec<PromptPart>> {
        let items: Vec<&Value<'_>> = match value.get_ref() {
            DeValue::String(_) | DeValue::Table(_) => vec![value],
            DeValue::Array(items) if !items.is_empty() => items.iter().collect(),
            _ => {
                self.type_error(
                    value,
                    key,
                    "a sound name, { say = \"…\" }, or a non-empty list of them",
                );
                return None;
            }
        };
        let mut parts = Some(Vec::new());
        for item in items {
            let part = match item.get_ref() {
                DeValue::Table(_) => self
                    .table(item, key, &["say"])
                    .and_then(|t| {
                        // A misspelt `say` was just reported as unknown, with `say` named.
                        if t.is_empty() {
                            self.error(item.span(), format!("`{key}` needs `say`"));
                        }
                        t.get("say")
                    })
                    .and_then(|text| self.say_text(text, "say"))
                    .map(PromptPart::Say),
                DeValue::String(_) => self.sound(item, key).map(PromptPart::Sound),
                _ => {
                    self.type_error(item, key, "a sound name or { say = \"…\" }");
                    None
                }
            };
            parts = parts.zip(part).map(|(mut parts, part)| {
                parts.push(part);
                parts
            });
        }
        parts
    }

    /// Text to speak, with `${var}` placeholders; it must say something.
    fn say_text(&mut self, value: &Value<'_>, key: &str) -> Option<Template> {
        let text = self.string(value, key)?;
        if text.trim().is_empty() {
            self.error(
                value.span(),
                format!("`{key}` is empty; write the text to speak"),
            );
            return None;
        }
        self.template_text(value, &text, key)
    }

    fn sound(&mut self, value: &Value<'_>, key: &str) -> Option<PathBuf> {
        let stem = self.string(value, key)?;
        let relative = Path::new(&stem);
        let escapes = relative.is_absolute()
            || relative
                .components()
                .any(|c| !matches!(c, std::path::Component::Normal(_)));
        if stem.trim().is_empty() || escapes {
            self.error(
                value.span(),
                format!("sound `{stem}` must name a file inside the sounds folder"),
            );
            return None;
        }
        let name = if stem.ends_with(".wav") {
            stem.clone()
        } else {
            format!("{stem}.wav")
        };
        let file = self.sounds_dir.join(name);
        if !file.is_file() {
            self.error(
                value.span(),
                format!("sound `{stem}`: no file {}", file.display()),
            );
            return None;
        }
        Some(file)
    }

    fn document(&mut self, root: &Spanned<DeTable<'_>>) -> Option<Dialplan> {
        let (table, span) = (root.get_ref(), root.span());
        for (k, _) in table.iter() {
            if !["name", "start", "timezone", "transcribe", "vars", "nodes"]
                .contains(&k.get_ref().as_ref())
            {
                self.error(
                    k.span(),
                    format!(
                        "unknown key `{}`; expected name, start, timezone, transcribe, [vars] or [nodes.NAME]",
                        k.get_ref()
                    ),
                );
            }
        }
        let name = self
            .required(table, span.clone(), "dialplan", "name")
            .and_then(|v| self.string(v, "name"));
        let start = self.required(table, span.clone(), "dialplan", "start");
        let start = start.and_then(|v| {
            let start = self.string(v, "start")?;
            self.graph.start = Some((start.clone(), v.span()));
            Some(start)
        });
        // Outer None: the zone is bad (already reported); inner None: no default zone.
        let timezone = self.optional(table.get("timezone"), None, |r, v| r.timezone(v).map(Some));
        let transcribe = self.optional(table.get("transcribe"), false, |r, v| {
            r.boolean(v, "transcribe")
        });
        let vars = self.optional(table.get("vars"), BTreeMap::new(), Self::vars);
        let nodes = match table.get("nodes") {
            Some(nodes) => self.nodes(nodes, timezone),
            None => {
                self.error(0..0, "no nodes; add at least one [nodes.NAME] table");
                None
            }
        };
        Some(Dialplan {
            name: name?,
            start: start?,
            vars: vars?,
            transcribe: transcribe?,
            nodes: nodes?,
            file: PathBuf::new(),
            queues: Vec::new(),
        })
    }

    fn timezone(&mut self, value: &Value<'_>) -> Option<Tz> {
        let name = self.string(value, "timezone")?;
        let tz = name.parse::<Tz>().ok();
        if tz.is_none() {
            self.error(
                value.span(),
                format!("unknown time zone `{name}`; use an IANA name such as \"Europe/Berlin\""),
            );
        }
        tz
    }

    fn vars(&mut self, value: &Value<'_>) -> Option<BTreeMap<String, String>> {
        let DeValue::Table(table) = value.get_ref() else {
            self.type_error(value, "vars", "a table");
            return None;
        };
        let mut vars = Some(BTreeMap::new());
        for (key, value) in table.iter() {
            let name = self.variable(key.get_ref(), key.span());
            let value = self.literal(value, key.get_ref());
            vars = match (vars, name, value) {
                (Some(mut vars), Some(name), Some(value)) => {
                    vars.insert(name, value);
                    Some(vars)
                }
                _ => None,
            };
        }
        vars
    }

    /// A plain value given as a string, number or boolean, kept as text.
    fn literal(&mut self, value: &Value<'_>, key: &str) -> Option<String> {
        match value.get_ref() {
            DeValue::String(s) => Some(s.to_string()),
            DeValue::Integer(_) => self.integer(value, key).map(|i| i.to_string()),
            DeValue::Float(f) => Some(f.as_str().to_string()),
            DeValue::Boolean(b) => Some(b.to_string()),
            _ => {
                self.type_error(value, key, "text, a number or a boolean");
                None
            }
        }
    }

    fn nodes(
        &mut self,
        value: &Value<'_>,
        default_tz: Option<Option<Tz>>,
    ) -> Option<BTreeMap<String, Action>> {
        let DeValue::Table(table) = value.get_ref() else {
            self.type_error(value, "nodes", "a table of [nodes.NAME] tables");
            return None;
        };
        if table.is_empty() {
            self.error(
                value.span(),
                "no nodes; add at least one [nodes.NAME] table",
            );
            return None;
        }
        let mut nodes = Some(BTreeMap::new());
        for (key, value) in table.iter() {
            let name = key.get_ref().to_string();
            self.node = name.clone();
            let named = is_node_name(&name);
            if !named {
                self.error(key.span(), "node names take letters, digits, _ and - only");
            }
            self.graph.nodes.insert(
                name.clone(),
                GraphNode {
                    span: key.span(),
                    edges: Vec::new(),
                    moves_on_at_once: false,
                },
            );
            let action = self.node(key, value, default_tz);
            nodes = match (nodes, action) {
                (Some(mut nodes), Some(action)) if named => {
                    nodes.insert(name, action);
                    Some(nodes)
                }
                _ => None,
            };
        }
        self.node.clear();
        nodes
    }

    fn node(
        &mut self,
        key: &Key<'_>,
        value: &Value<'_>,
        default_tz: Option<Option<Tz>>,
    ) -> Option<Action> {
        let DeValue::Table(table) = value.get_ref() else {
            self.graph.incomplete = true;
            self.error(
                value.span(),
                format!(
                    "must be a table, found {}; write [nodes.{}] with one action",
                    describe(value.get_ref()),
                    key.get_ref()
                ),
            );
            return None;
        };
        let mut actions: Vec<(&Key<'_>, &Value<'_>)> = Vec::new();
        let mut unknown = false;
        for (k, v) in table.iter() {
            if ACTIONS.contains(&k.get_ref().as_ref()) {
                actions.push((k, v));
            } else if k.get_ref() != "else" {
                unknown = true;
                self.error(
                    k.span(),
                    format!(
                        "unknown key `{}`; a node has one action: {}",
                        k.get_ref(),
                        ACTIONS.join(", ")
                    ),
                );
            }
        }
        actions.sort_by_key(|(k, _)| k.span().start);
        let Some(&(first, _)) = actions.first() else {
            // A misspelt action was just reported; saying "no action" too adds nothing.
            if !unknown {
                self.error(
                    key.span(),
                    format!("has no action; give it one of: {}", ACTIONS.join(", ")),
                );
            }
            self.graph.incomplete = true;
            return None;
        };
        if let Some((second, _)) = actions.get(1) {
            self.error(
                second.span(),
                format!(
                    "has two actions, `{}` and `{}`; a node does one thing, chain nodes with `next`",
                    first.get_ref(),
                    second.get_ref()
                ),
            );
        }
        let otherwise = table.get_key_value("else");
        if let Some((else_key, _)) =
            otherwise.filter(|_| !actions.iter().any(|(k, _)| k.get_ref() == "when"))
        {
            self.error(else_key.span(), "`else` belongs to a `when` node");
        }
        if let Some(node) = self.graph.nodes.get_mut(&self.node) {
            // Only unconditional moves can be proven to loop forever at load time.
            node.moves_on_at_once = actions.len() == 1
                && matches!(first.get_ref().as_ref(), "goto" | "set" | "transcribe");
        }
        // Every action is read, even a second one, so that all its problems are reported.
        let mut read = actions
            .iter()
            .map(|(kind, value)| {
                let action = self.action(
                    kind.get_ref(),
                    value,
                    otherwise.map(|(_, v)| v),
                    key,
                    default_tz,
                );
                let edges_known = self
                    .graph
                    .nodes
                    .get(&self.node)
                    .is_some_and(|n| !n.edges.is_empty());
                if action.is_none() && !edges_known && kind.get_ref() != "hangup" {
                    // Where this node leads is unknown, so reachability cannot be judged.
                    self.graph.incomplete = true;
                }
                action
            })
            .collect::<Vec<_>>();
        match read.len() {
            1 => read.pop().flatten(),
            _ => None,
        }
    }

    fn action(
        &mut self,
        kind: &str,
        value: &Value<'_>,
        otherwise: Option<&Value<'_>>,
        key: &Key<'_>,
        default_tz: Option<Option<Tz>>,
    ) -> Option<Action> {
        match kind {
            "play" => self.play(value).map(Action::Play),
            "say" => self.say(value).map(Action::Play),
            "menu" => self.menu(value).map(Action::Menu),
            "collect" => self.collect(value).map(Action::Collect),
            "listen" => self.listen(value).map(Action::Listen),
            "transcribe" => self.transcribe(value).map(Action::Transcribe),
            "goto" => self.target(value, "goto").map(Action::Goto),
            "set" => self.set(value).map(Action::Set),
            "when" => self.when(value, otherwise, key.span()).map(Action::When),
            "hours" => self.hours(value, default_tz).map(Action::Hours),
            "webhook" => self.webhook(value).map(Action::Webhook),
            "queue" => self.queue(value).map(Action::Queue),
            "callback" => self.callback(value).map(Action::Callback),
            "bot" => self
                .bot(value, default_tz)
                .map(|bot| Action::Bot(Box::new(bot))),
            _ => self.hangup(value).map(Action::Hangup),
        }
    }

    fn play(&mut self, value: &Value<'_>) -> Option<Play> {
        let table = self.table(value, "play", &["sound", "next", "interruptible"])?;
        let span = value.span();
        let prompt = self
            .required(table, span.clone(), "play", "sound")
            .and_then(|v| self.prompt(v, "sound"));
        let next = self
            .required(table, span, "play", "next")
            .and_then(|v| self.target(v, "next"));
        let interruptible = self.optional(table.get("interruptible"), true, |r, v| {
            r.boolean(v, "interruptible")
        });
        Some(Play {
            prompt: prompt?,
            interruptible: interruptible?,
            next: next?,
        })
    }

    /// A `say` node: a `play` of one spoken text.
    fn say(&mut self, value: &Value<'_>) -> Option<Play> {
        let table = self.table(value, "say", &["text", "next", "interruptible"])?;
        let span = value.span();
        let text = self
            .required(table, span.clone(), "say", "text")
            .and_then(|v| self.say_text(v, "text"));
        let next = self
            .required(table, span, "say", "next")
            .and_then(|v| self.target(v, "next"));
        let interruptible = self.optional(table.get("interruptible"), true, |r, v| {
            r.boolean(v, "interruptible")
        });
        Some(Play {
            prompt: vec![PromptPart::Say(text?)],
            interruptible: interruptible?,
            next: next?,
        })
    }

    fn transcribe(&mut self, value: &Value<'_>) -> Option<Transcribe> {
        let table = self.table(value, "transcribe", &["enabled", "next"])?;
        let span = value.span();
        let enabled = self
            .required(table, span.clone(), "transcribe", "enabled")
            .and_then(|v| self.boolean(v, "enabled"));
        let next = self
            .required(table, span, "transcribe", "next")
            .and_then(|v| self.target(v, "next"));
        Some(Transcribe {
            enabled: enabled?,
            next: next?,
        })
    }

    /// The prompting settings of a step; `notice` names its wrong-answer notice key.
    fn prompting(
        &mut self,
        table: &DeTable<'_>,
        span: Span,
        what: &str,
        notice: &str,
    ) -> Option<Prompting> {
        let prompt = self
            .required(table, span.clone(), what, "prompt")
            .and_then(|v| self.prompt(v, "prompt"));
        let interruptible = self.optional(table.get("interruptible"), true, |r, v| {
            r.boolean(v, "interruptible")
        });
        let retries = self.optional(table.get("retries"), 2, |r, v| r.count(v, "retries"));
        let invalid = self.optional(table.get(notice), Vec::new(), |r, v| r.prompt(v, notice));
        let no_input = self.optional(table.get("no_input"), Vec::new(), |r, v| {
            r.prompt(v, "no_input")
        });
        let on_failure = self
            .required(table, span, what, "on_failure")
            .and_then(|v| self.target(v, "on_failure"));
        Some(Prompting {
            prompt: prompt?,
            interruptible: interruptible?,
            retries: retries?,
            invalid: invalid?,
            no_input: no_input?,
            on_failure: on_failure?,
        })
    }

    fn menu(&mut self, value: &Value<'_>) -> Option<Menu> {
        let allowed = [&PROMPTING_KEYS[..], &["options", "timeout"]].concat();
        let table = self.table(value, "menu", &allowed)?;
        let span = value.span();
        let prompting = self.prompting(table, span.clone(), "menu", "invalid");
        let options = self
            .required(table, span, "menu", "options")
            .and_then(|v| self.options(v));
        let timeout = self.optional(table.get("timeout"), Duration::from_secs(5), |r, v| {
            r.duration(v, "timeout")
        });
        Some(Menu {
            prompting: prompting?,
            options: options?,
            timeout: timeout?,
        })
    }

    fn options(&mut self, value: &Value<'_>) -> Option<BTreeMap<char, String>> {
        let DeValue::Table(table) = value.get_ref() else {
            self.type_error(value, "options", "a table of key = node");
            return None;
        };
        if table.is_empty() {
            self.error(
                value.span(),
                "`options` is empty; map at least one key to a node",
            );
            return None;
        }
        let mut options = Some(BTreeMap::new());
        for (key, target) in table.iter() {
            let pressed = self.dtmf_key(key.get_ref(), key.span(), "menu option");
            let target = self.target(target, "option");
            options = match (options, pressed, target) {
                (Some(mut options), Some(pressed), Some(target)) => {
                    if options.insert(pressed, target).is_some() {
                        self.error(
                            key.span(),
                            format!("menu option `{}` is given twice", key.get_ref()),
                        );
                    }
                    Some(options)
                }
                _ => None,
            };
        }
        options
    }

    fn collect(&mut self, value: &Value<'_>) -> Option<Collect> {
        let allowed = [
            &PROMPTING_KEYS[..],
            &[
                "var",
                "min",
                "max",
                "terminator",
                "first_digit_timeout",
                "inter_digit_timeout",
                "next",
            ],
        ]
        .concat();
        let table = self.table(value, "collect", &allowed)?;
        let span = value.span();
        let prompting = self.prompting(table, span.clone(), "collect", "invalid");
        let var = self
            .required(table, span.clone(), "collect", "var")
            .and_then(|v| {
                let name = self.string(v, "var")?;
                self.variable(&name, v.span())
            });
        let entry = self.digit_entry(table, span.clone());
        let first_digit_timeout = self.optional(
            table.get("first_digit_timeout"),
            Duration::from_secs(5),
            |r, v| r.duration(v, "first_digit_timeout"),
        );
        let next = self
            .required(table, span, "collect", "next")
            .and_then(|v| self.target(v, "next"));
        Some(Collect {
            prompting: prompting?,
            var: var?,
            entry: entry?,
            first_digit_timeout: first_digit_timeout?,
            next: next?,
        })
    }

    /// `min`, `max`, `terminator` and `inter_digit_timeout` of a digit entry.
    fn digit_entry(&mut self, table: &DeTable<'_>, span: Span) -> Option<DigitEntry> {
        let min = self.optional(table.get("min"), 1, |r, v| r.count(v, "min"));
        let max = self.optional(table.get("max"), 20, |r, v| r.count(v, "max"));
        if let (Some(min), Some(max)) = (min, max) {
            if max == 0 {
                let at = table.get("max").map_or(span.clone(), |v| v.span());
                self.error(at, "`max` must be at least 1");
            } else if min > max {
                let at = table.get("min").map_or(span.clone(), |v| v.span());
                self.error(at, format!("`min` ({min}) is more than `max` ({max})"));
            }
        }
        let terminator = self.optional(table.get("terminator"), Some('#'), |r, v| {
            let text = r.string(v, "terminator")?;
            if text.is_empty() {
                return Some(None);
            }
            r.dtmf_key(&text, v.span(), "terminator").map(Some)
        });
        let inter_digit_timeout = self.optional(
            table.get("inter_digit_timeout"),
            Duration::from_secs(3),
            |r, v| r.duration(v, "inter_digit_timeout"),
        );
        Some(DigitEntry {
            min: usize::try_from(min?).ok()?,
            max: usize::try_from(max?).ok()?,
            terminator: terminator?,
            inter_digit_timeout: inter_digit_timeout?,
        })
    }

    fn listen(&mut self, value: &Value<'_>) -> Option<Listen> {
        let table = self.table(value, "listen", &LISTEN_KEYS)?;
        let span = value.span();
        let prompting = self.prompting(table, span.clone(), "listen", "no_match");
        let expect = self.optional(table.get("expect"), "phrase", Self::expect);
        if let Some(expect) = expect {
            for (key, only) in EXPECT_ONLY_KEYS {
                if let Some((k, _)) = table.get_key_value(key).filter(|_| only != expect) {
                    self.error(k.span(), format!("`{key}` is only for expect = \"{only}\""));
                }
            }
        }
        let speech = self.optional(table.get("speech"), true, |r, v| r.boolean(v, "speech"));
        let digits = self.optional(table.get("digits"), None, |r, v| {
            r.boolean(v, "digits").map(Some)
        });
        let end_silence = self.optional(table.get("end_silence"), None, |r, v| {
            r.duration(v, "end_silence").map(Some)
        });
        let timeout = self.optional(table.get("timeout"), Duration::from_secs(5), |r, v| {
            r.duration(v, "timeout")
        });
        let max_speech = self.optional(table.get("max_speech"), Duration::from_secs(15), |r, v| {
            r.duration(v, "max_speech")
        });
        let min_confidence = self.optional(table.get("min_confidence"), 0.0, |r, v| {
            r.fraction(v, "min_confidence")
        });
        let var = self.optional(table.get("var"), None, |r, v| {
            let name = r.string(v, "var")?;
            r.variable(&name, v.span()).map(Some)
        });
        let on_overload = self.optional(table.get("on_overload"), None, |r, v| {
            r.target(v, "on_overload").map(Some)
        });
        let without_var = matches!(var, Some(None));
        let (expect, hints) = match expect {
            Some("phrase") => {
                self.phrase_answers(table, span.clone(), speech != Some(false), without_var)
            }
            Some("yes_no") => (
                self.yes_no_answers(table, span.clone()),
                vec!["yes".into(), "no".into()],
            ),
            Some(_) => {
                if without_var {
                    self.error(
                        span.clone(),
                        "expect = \"digits\" needs `var`, to keep the digits",
                    );
                }
                let entry = self.digit_entry(table, span.clone());
                let next = self
                    .required(table, span.clone(), "listen", "next")
                    .and_then(|v| self.target(v, "next"));
                let expect = entry
                    .zip(next)
                    .map(|(entry, next)| Expect::Digits { entry, next });
                (expect, Vec::new())
            }
            None => {
                // Which keys lead where depends on `expect`, so reachability cannot be judged.
                self.graph.incomplete = true;
                (None, Vec::new())
            }
        };
        // Keys answer by default wherever they can.
        let digits = match (&expect, digits) {
            (Some(expect), Some(Some(explicit))) => self.check_digits(table, expect, explicit),
            (Some(expect), Some(None)) => Some(
                keyed(expect) || matches!(expect, Expect::YesNo { .. } | Expect::Digits { .. }),
            ),
            _ => None,
        };
        if let (Some(false), Some(false)) = (speech, digits) {
            let at = table.get("speech").map_or(span, |v| v.span());
            self.error(
                at,
                "with `speech = false` and no keys, the step cannot hear an answer",
            );
        }
        Some(Listen {
            prompting: prompting?,
            speech: speech?,
            digits: digits?,
            expect: expect?,
            end_silence: end_silence?,
            timeout: timeout?,
            max_speech: max_speech?,
            min_confidence: min_confidence?,
            var: var?,
            on_overload: on_overload?,
            hints,
        })
    }

    /// `expect = "phrase"`, `"yes_no"` or `"digits"`.
    fn expect(&mut self, value: &Value<'_>) -> Option<&'static str> {
        let text = self.string(value, "expect")?;
        let found = EXPECTS.iter().find(|e| **e == text).copied();
        if found.is_none() {
            let hint = suggestion(&text, EXPECTS.iter().copied());
            self.error(
                value.span(),
                format!("unknown expect `{text}`; use phrase, yes_no or digits{hint}"),
            );
        }
        found
    }

    /// A number, whole or not.
    fn number(&mut self, value: &Value<'_>, key: &str, expected: &str) -> Option<f64> {
        let number = match value.get_ref() {
            DeValue::Float(f) => f.as_str().parse::<f64>().ok(),
            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
                .ok()
                .map(|i| i as f64),
            _ => None,
        };
        if number.is_none() {
            self.type_error(value, key, expected);
        }
        number
    }

    /// A number from 0 to 1.
    fn fraction(&mut self, value: &Value<'_>, key: &str) -> Option<f32> {
        let number = self.number(value, key, "a number from 0 to 1")?;
        if !(0.0..=1.0).contains(&number) {
            self.error(
                value.span(),
                format!("`{key}` must be from 0 to 1, found {number}"),
            );
            return None;
        }
        Some(number as f32)
    }

    /// The answers of `expect = "phrase"`: options, or any text (`next` and `var`), with hints.
    fn phrase_answers(
        &mut self,
        table: &DeTable<'_>,
        span: Span,
        speech: bool,
        without_var: bool,
    ) -> (Option<Expect>, Vec<String>) {
        let options = table.get("options").map(|v| self.listen_options(v, speech));
        let next = table
            .get_key_value("next")
            .map(|(k, v)| (k.span(), self.target(v, "next")));
        match (options, next) {
            (Some(options), None) => match options {
                Some((options, hints)) => (Some(Expect::Options(options)), hints),
                None => (None, Vec::new()),
            },
            (None, Some((_, next))) => {
                if without_var {
                    self.error(
                        span,
                        "a `listen` without options needs `var`, to keep what the caller said",
                    );
                }
                (next.map(|next| Expect::Text { next }), Vec::new())
            }
            (Some(_), Some((next_key, _))) => {
                self.error(
                    next_key,
                    "`next` is for a `listen` without options; each option names its own `next`",
                );
                (None, Vec::new())
            }
            (None, None) => {
                self.error(
                    span,
                    "`listen` needs `options`, or `next` and `var` to take any answer",
                );
                (None, Vec::new())
            }
        }
    }

    /// The answers of `expect = "yes_no"`: `yes` and `no`, either falling back to `next`.
    fn yes_no_answers(&mut self, table: &DeTable<'_>, span: Span) -> Option<Expect> {
        let yes = table.get("yes").map(|v| self.target(v, "yes"));
        let no = table.get("no").map(|v| self.target(v, "no"));
        let next = table
            .get_key_value("next")
            .map(|(k, v)| (k.span(), self.target(v, "next")));
        if let (Some(_), Some(_), Some((next_key, _))) = (&yes, &no, &next) {
            self.error(
                next_key.clone(),
                "`next` is not used: `yes` and `no` are both given",
            );
            return None;
        }
        let next = next.map(|(_, next)| next);
        match (yes.or(next.clone()), no.or(next)) {
            (Some(yes), Some(no)) => Some(Expect::YesNo { yes: yes?, no: no? }),
            _ => {
                self.error(
                    span,
                    "expect = \"yes_no\" needs `yes` and `no`, or `next` for both",
                );
                None
            }
        }
    }

    /// Checks an explicit `digits` setting against the answers; the setting when it fits.
    fn check_digits(&mut self, table: &DeTable<'_>, expect: &Expect, digits: bool) -> Option<bool> {
        let at = table.get("digits").map(|v| v.span()).unwrap_or_default();
        let choosing = matches!(expect, Expect::Options(_) | Expect::Text { .. });
        if digits && choosing && !keyed(expect) {
            self.error(at, "`digits = true`, but no option has a `key`");
            return None;
        }
        if !digits && keyed(expect) {
            self.error(
                at,
                "`digits = false`, but options have a `key`; remove one or the other",
            );
            return None;
        }
        Some(digits)
    }

    /// The options of a listen step, keyed by name, and the phrases to give as hints.
    fn listen_options(
        &mut self,
        value: &Value<'_>,
        speech: bool,
    ) -> Option<(Vec<ListenOption>, Vec<String>)> {
        let DeValue::Table(table) = value.get_ref() else {
            self.type_error(value, "options", "a table of [….options.NAME] tables");
            return None;
        };
        if table.is_empty() {
            self.error(value.span(), "`options` is empty; add at least one option");
            return None;
        }
        // In file order, so hints and ties read as the administrator wrote them.
        let mut items: Vec<_> = table.iter().collect();
        items.sort_by_key(|(name, _)| name.span().start);
        let mut options = Some(Vec::new());
        let mut seen = Seen::default();
        for (name, item) in items {
            let option = self.listen_option(name, item, speech, &mut seen);
            options = options.zip(option).map(|(mut options, option)| {
                options.push(option);
                options
            });
        }
        Some((options?, seen.hints))
    }

    fn listen_option(
        &mut self,
        name: &Key<'_>,
        item: &Value<'_>,
        speech: bool,
        seen: &mut Seen,
    ) -> Option<ListenOption> {
        let option = name.get_ref().to_string();
        let named = is_node_name(&option);
        if !named {
            self.error(
                name.span(),
                "option names take letters, digits, _ and - only",
            );
        }
        let what = format!("option `{option}`");
        let path = format!("options.{option}");
        let table = self.table(item, &path, &["phrases", "keywords", "key", "next"])?;
        let mut phrases = Some(Vec::new());
        for (list, one_word) in [("phrases", false), ("keywords", true)] {
            let Some(value) = table.get(list) else {
                continue;
            };
            for (text, span) in self.string_list(value, list).unwrap_or_default() {
                let phrase = self.phrase(&option, &text, span, one_word, seen);
                phrases = phrases.zip(phrase).map(|(mut phrases, phrase)| {
                    phrases.push(phrase);
                    phrases
                });
            }
        }
        let key = table.get("key").and_then(|v| {
            let text = self.string(v, "key")?;
            let key = self.dtmf_key(&text, v.span(), "key")?;
            match seen.keys.insert(key, option.clone()) {
                Some(other) => {
                    self.error(
                        v.span(),
                        format!("key `{key}` already chooses option `{other}`"),
                    );
                    None
                }
                None => Some(key),
            }
        });
        let has_key = table.contains_key("key");
        if !has_key && !table.contains_key("phrases") && !table.contains_key("keywords") {
            self.error(
                name.span(),
                format!("{what} needs `phrases`, `keywords` or a `key`"),
            );
        } else if !has_key && !speech {
            self.error(
                name.span(),
                format!("{what} has no `key`, but `speech = false`"),
            );
        }
        let next = self
            .required(table, item.span(), &path, "next")
            .and_then(|v| self.target(v, "next"));
        let key = if has_key { Some(key?) } else { None };
        Some(ListenOption {
            name: named.then_some(option)?,
            phrases: phrases?,
            key,
            next: next?,
        })
    }

    /// One phrase or keyword of `option`, as stemmed words; each may belong to one option only.
    fn phrase(
        &mut self,
        option: &str,
        text: &str,
        span: Span,
        one_word: bool,
        seen: &mut Seen,
    ) -> Option<Vec<String>> {
        let phrase = stemmed_words(text);
        if phrase.is_empty() {
            self.error(span, format!("phrase `{text}` has no words"));
            return None;
        }
        if one_word && words(text).len() > 1 {
            self.error(
                span,
                format!("keyword `{text}` must be one word; put longer ones under `phrases`"),
            );
            return None;
        }
        match seen.phrases.get(&phrase) {
            Some(other) if other != option => {
                self.error(
                    span,
                    format!("`{text}` is also an answer of option `{other}`; callers saying it could not be told apart"),
                );
                return None;
            }
            Some(_) => {}
            None => {
                seen.phrases.insert(phrase.clone(), option.to_string());
                seen.hints.push(text.to_string());
            }
        }
        Some(phrase)
    }

    /// A non-empty list of strings, each with its place.
    fn string_list(&mut self, value: &Value<'_>, key: &str) -> Option<Vec<(String, Span)>> {
        let items = match value.get_ref() {
            DeValue::Array(items) if !items.is_empty() => items,
            _ => {
                self.type_error(value, key, "a non-empty list of strings");
                return None;
            }
        };
        let mut all = Some(Vec::new());
        for item in items.iter() {
            let text = self.string(item, key);
            all = all.zip(text).map(|(mut all, text)| {
                all.push((text, item.span()));
                all
            });
        }
        all
    }

    fn set(&mut self, value: &Value<'_>) -> Option<Set> {
        let table = self.table(value, "set", &["vars", "add", "next"])?;
        let span = value.span();
        let vars = self.optional(table.get("vars"), Vec::new(), Self::assignments);
        let add = self.optional(table.get("add"), Vec::new(), |r, v| {
            let DeValue::Table(items) = v.get_ref() else {
                r.type_error(v, "add", "a table of variable = whole number");
                return None;
            };
            let mut add = Some(Vec::new());
            for (key, amount) in items.iter() {
                let name = r.variable(key.get_ref(), key.span());
                let amount = r.integer(amount, key.get_ref());
                add = match (add, name, amount) {
                    (Some(mut add), Some(name), Some(amount)) => {
                        add.push((name, amount));
                        Some(add)
                    }
                    _ => None,
                };
            }
            add
        });
        if matches!((&vars, &add), (Some(vars), Some(add)) if vars.is_empty() && add.is_empty()) {
            self.error(span.clone(), "`set` needs `vars` or `add`");
        }
        let next = self
            .required(table, span, "set", "next")
            .and_then(|v| self.target(v, "next"));
        Some(Set {
            vars: vars?,
            add: add?,
            next: next?,
        })
    }

    fn assignments(&mut self, value: &Value<'_>) -> Option<Vec<(String, Template)>> {
        let DeValue::Table(items) = value.get_ref() else {
            self.type_error(value, "vars", "a table of variable = value");
            return None;
        };
        let mut assignments = Some(Vec::new());
        for (key, item) in items.iter() {
            let name = self.variable(key.get_ref(), key.span());
            let template = self.template(item, key.get_ref());
            assignments = match (assignments, name, template) {
                (Some(mut all), Some(name), Some(template)) => {
                    all.push((name, template));
                    Some(all)
                }
                _ => None,
            };
        }
        assignments
    }

    fn template(&mut self, value: &Value<'_>, key: &str) -> Option<Template> {
        let text = self.literal(value, key)?;
        if !matches!(value.get_ref(), DeValue::String(_)) {
            // Numbers and booleans hold no placeholders.
            return Some(Template::literal(text));
        }
        self.template_text(value, &text, key)
    }

    /// Parses `text`, the string `value`, as a template and records the variables it reads.
    fn template_text(&mut self, value: &Value<'_>, text: &str, key: &str) -> Option<Template> {
        match Template::parse(text) {
            Ok(template) => {
                for (name, offset) in template.variables() {
                    let at = self.inside(value, text, offset);
                    self.graph.used.push((name.to_string(), at, self.context()));
                }
                Some(template)
            }
            Err(e) => {
                let at = self.inside(value, text, e.offset);
                self.error(at, format!("`{key}`: {}", e.message));
                None
            }
        }
    }

    fn when(
        &mut self,
        value: &Value<'_>,
        otherwise: Option<&Value<'_>>,
        node_span: Span,
    ) -> Option<When> {
        let DeValue::Array(items) = value.get_ref() else {
            self.type_error(value, "when", "a list of { if = \"…\", then = \"node\" }");
            return None;
        };
        if items.is_empty() {
            self.error(value.span(), "`when` has no cases");
        }
        let mut cases = Some(Vec::new());
        for item in items.iter() {
            let case = self.case(item);
            cases = cases.zip(case).map(|(mut cases, case)| {
                cases.push(case);
                cases
            });
        }
        let otherwise = match otherwise {
            Some(v) => self.target(v, "else"),
            None => {
                self.error(
                    node_span,
                    "a `when` node needs `else`, the node to go to when no case holds",
                );
                None
            }
        };
        Some(When {
            cases: cases.filter(|c| !c.is_empty())?,
            otherwise: otherwise?,
        })
    }

    fn case(&mut self, item: &Value<'_>) -> Option<(Condition, String)> {
        let table = self.table(item, "when", &["if", "then"])?;
        let condition = self
            .required(table, item.span(), "when", "if")
            .and_then(|v| {
                let text = self.string(v, "if")?;
                match Condition::parse(&text) {
                    Ok(condition) => {
                        for (name, offset) in condition.variables() {
                            let at = self.inside(v, &text, offset);
                            self.graph.used.push((name.to_string(), at, self.context()));
                        }
                        Some(condition)
                    }
                    Err(e) => {
                        let at = self.inside(v, &text, e.offset);
                        self.error(at, format!("bad condition: {}", e.message));
                        None
                    }
                }
            });
        let target = self
            .required(table, item.span(), "when", "then")
            .and_then(|v| self.target(v, "then"));
        Some((condition?, target?))
    }

    fn hours(&mut self, value: &Value<'_>, default_tz: Option<Option<Tz>>) -> Option<Hours> {
        let allowed = ["timezone", "open", "closed_dates", "if_open", "if_closed"];
        let table = self.table(value, "hours", &allowed)?;
        let span = value.span();
        let tz = match (table.get("timezone"), default_tz) {
            (Some(v), _) => self.timezone(v),
            (None, Some(Some(tz))) => Some(tz),
            (None, Some(None)) => {
                self.error(
                    span.clone(),
                    "`hours` needs `timezone`, here or at the top of the file",
                );
                None
            }
            // The file's zone is bad and was reported there.
            (None, None) => None,
        };
        let open = self
            .required(table, span.clone(), "hours", "open")
            .and_then(|v| self.specs(v, "open", parse_open))
            .map(|ranges| ranges.into_iter().flatten().collect());
        let closed = self.optional(table.get("closed_dates"), Vec::new(), |r, v| {
            r.specs(v, "closed_dates", parse_closed)
        });
        let if_open = self
            .required(table, span.clone(), "hours", "if_open")
            .and_then(|v| self.target(v, "if_open"));
        let if_closed = self
            .required(table, span, "hours", "if_closed")
            .and_then(|v| self.target(v, "if_closed"));
        Some(Hours {
            schedule: Schedule {
                tz: tz?,
                open: open?,
                closed: closed?,
            },
            if_open: if_open?,
            if_closed: if_closed?,
        })
    }

    /// A list of strings, each read by `parse`; a bad one is reported at its own line.
    fn specs<T>(
        &mut self,
        value: &Value<'_>,
        key: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Option<Vec<T>> {
        let DeValue::Array(items) = value.get_ref() else {
            self.type_error(value, key, "a list of strings");
            return None;
        };
        let mut all = Some(Vec::new());
        for item in items.iter() {
            let parsed = self.string(item, key).and_then(|text| match parse(&text) {
                Ok(parsed) => Some(parsed),
                Err(message) => {
                    self.error(item.span(), format!("`{key}`: {message}"));
                    None
                }
            });
            all = all.zip(parsed).map(|(mut all, parsed)| {
                all.push(parsed);
                all
            });
        }
        all
    }

    fn webhook(&mut self, value: &Value<'_>) -> Option<Webhook> {
        let allowed = [
            "url",
            "method",
            "send",
            "timeout",
            "set",
            "prefix",
            "next",
            "on_error",
            "on_timeout",
        ];
        let table = self.table(value, "webhook", &allowed)?;
        let span = value.span();
        let url = self
            .required(table, span.clone(), "webhook", "url")
            .and_then(|v| self.url(v));
        let method = self.optional(table.get("method"), WebhookMethod::Post, |r, v| {
            let text = r.string(v, "method")?;
            let method = WebhookMethod::parse(&text);
            if method.is_none() {
                let names = WebhookMethod::NAMES.join(", ");
                r.error(
                    v.span(),
                    format!("unknown method `{text}`; use one of {names}"),
                );
            }
            method
        });
        let send = self.optional(table.get("send"), None, |r, v| r.sent(v).map(Some));
        let timeout = self.optional(table.get("timeout"), Duration::from_secs(3), |r, v| {
            let timeout = r.duration(v, "timeout")?;
            if timeout > webhook::MAX_TIMEOUT {
                let most = webhook::MAX_TIMEOUT.as_secs();
                r.error(
                    v.span(),
                    format!("`timeout` must be at most {most}s: the caller waits in silence"),
                );
                return None;
            }
            Some(timeout)
        });
        let reply = match (table.get_key_value("set"), table.get("prefix")) {
            (Some((set, _)), Some(_)) => {
                self.error(
                    set.span(),
                    "`set` and `prefix` exclude each other: `set` names each variable, `prefix` takes every field",
                );
                None
            }
            (Some((_, v)), None) => self.reply_mapping(v).map(ReplyVars::Mapped),
            (None, Some(v)) => self.string(v, "prefix").and_then(|prefix| {
                let prefix = self.variable_prefix(&prefix, v.span())?;
                Some(ReplyVars::Prefixed(prefix))
            }),
            (None, None) => {
                self.variable_prefix(webhook::DEFAULT_PREFIX, span.clone());
                Some(ReplyVars::Prefixed(webhook::DEFAULT_PREFIX.to_string()))
            }
        };
        for var in [webhook::ERROR_VAR, webhook::STATUS_VAR] {
            self.graph.declared.insert(var.to_string());
        }
        let next = self
            .required(table, span.clone(), "webhook", "next")
            .and_then(|v| self.target(v, "next"));
        let on_error = self
            .required(table, span, "webhook", "on_error")
            .and_then(|v| self.target(v, "on_error"));
        let on_timeout = self.optional(table.get("on_timeout"), None, |r, v| {
            r.target(v, "on_timeout").map(Some)
        });
        Some(Webhook {
            method: method?,
            url: url?,
            send: send?,
            timeout: timeout?,
            reply: reply?,
            next: next?,
            on_error: on_error?,
            on_timeout: on_timeout?,
        })
    }

    /// An `http://` URL with `${var}` placeholders.
    fn url(&mut self, value: &Value<'_>) -> Option<Template> {
        let text = self.string(value, "url")?;
        let lower = text.to_ascii_lowercase();
        if lower.starts_with("https://") {
            self.error(
                value.span(),
                "`url`: https is not supported yet; use an http:// address (a local proxy can add TLS)",
            );
            return None;
        }
        let host = lower.strip_prefix("http://");
        if !host.is_some_and(|host| !host.is_empty() && !host.starts_with('/')) {
            self.error(
                value.span(),
                format!("`url` `{text}` must start with http:// and a host"),
            );
            return None;
        }
        self.template_text(value, &text, "url")
    }

    /// What a webhook sends: a list of variable names, or a table of field = text.
    fn sent(&mut self, value: &Value<'_>) -> Option<Vec<(String, Template)>> {
        match value.get_ref() {
            DeValue::Array(items) => {
                let mut fields = Some(Vec::new());
                for item in items.iter() {
                    let field = self.string(item, "send").and_then(|name| {
                        if !is_variable_name(&name) {
                            self.error(item.span(), format!("`{name}` is not a variable name"));
                            return None;
                        }
                        let at = self.inside(item, &name, 0);
                        self.graph.used.push((name.clone(), at, self.context()));
                        let value = Template::parse(&format!("${{{name}}}")).ok()?;
                        Some((name, value))
                    });
                    fields = fields.zip(field).map(|(mut fields, field)| {
                        fields.push(field);
                        fields
                    });
                }
                fields
            }
            DeValue::Table(items) => {
                let mut fields = Some(Vec::new());
                for (key, item) in items.iter() {
                    let value = self.template(item, key.get_ref());
                    fields = fields.zip(value).map(|(mut fields, value)| {
                        fields.push((key.get_ref().to_string(), value));
                        fields
                    });
                }
                fields
            }
            _ => {
                self.type_error(
                    value,
                    "send",
                    "a list of variable names, or a table of field = \"text\"",
                );
                None
            }
        }
    }

    /// `set` of a webhook: variable = the reply field it takes, as a dotted path.
    fn reply_mapping(&mut self, value: &Value<'_>) -> Option<Vec<(String, Vec<String>)>> {
        let DeValue::Table(items) = value.get_ref() else {
            self.type_error(value, "set", "a table of variable = \"reply.field\"");
            return None;
        };
        if items.is_empty() {
            self.error(value.span(), "`set` is empty; name at least one variable");
            return None;
        }
        let mut mapping = Some(Vec::new());
        for (key, field) in items.iter() {
            let name = self.variable(key.get_ref(), key.span());
            let path = self.string(field, key.get_ref()).and_then(|path| {
                let steps: Vec<String> = path.split('.').map(str::to_string).collect();
                if steps.iter().any(|step| step.trim().is_empty()) {
                    self.error(
                        field.span(),
                        format!("`{path}` is not a reply field; write field names separated by dots: \"shipment.carrier\""),
                    );
                    return None;
                }
                Some(steps)
            });
            mapping = match (mapping, name, path) {
                (Some(mut all), Some(name), Some(path)) => {
                    all.push((name, path));
                    Some(all)
                }
                _ => None,
            };
        }
        mapping
    }

    /// A prefix of reply variables: `<prefix>_<field>` count as given a value.
    fn variable_prefix(&mut self, prefix: &str, span: Span) -> Option<String> {
        if !is_variable_name(prefix) {
            self.error(
                span,
                format!("`prefix` `{prefix}` must be a variable name (letters, digits and _, not starting with a digit)"),
            );
            return None;
        }
        self.graph.prefixes.insert(prefix.to_string());
        Some(prefix.to_string())
    }

    fn hangup(&mut self, value: &Value<'_>) -> Option<Hangup> {
        let default_reason = "completed".to_string();
        match value.get_ref() {
            DeValue::Boolean(true) => Some(Hangup {
                prompt: Vec::new(),
                reason: default_reason,
            }),
            DeValue::Table(_) => {
                let table = self.table(value, "hangup", &["sound", "reason"])?;
                let prompt =
                    self.optional(table.get("sound"), Vec::new(), |r, v| r.prompt(v, "sound"));
                let reason = self.optional(table.get("reason"), default_reason, |r, v| {
                    r.string(v, "reason")
                });
                Some(Hangup {
                    prompt: prompt?,
                    reason: reason?,
                })
            }
            _ => {
                self.type_error(
                    value,
                    "hangup",
                    "true or a table { sound = \"…\", reason = \"…\" }",
                );
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("2 min"), Ok(Duration::from_secs(120)));
        for bad in ["5", "1.5s", "-1s", "0s", "five s", "5h", ""] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
