//! Reads a knowledge-base directory: every `*.toml` file in it, each holding `[[entry]]` tables
//! (and at most one file a `[matcher]` table of calibrated settings). Every problem is reported
//! as `file:line: reason`, all of them at once, like the dialplan loader does.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::calibration::Calibration;
use crate::entry::{Action, Entry, KeywordRule, KnowledgeBase, MatchMode, Priority};
use crate::error::{Diagnostics, KbError, KbErrors};

type Value<'i> = Spanned<DeValue<'i>>;

const ENTRY_KEYS: [&str; 9] = [
    "id",
    "category",
    "priority",
    "examples",
    "answer",
    "match",
    "keywords",
    "keyword_rule",
    "action",
];
const ACTION_KEYS: [&str; 3] = ["goto", "intent", "escalate"];

/// Loads every `*.toml` file of `dir`, in name order.
pub fn load_dir(dir: &Path) -> Result<KnowledgeBase, KbErrors> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| KbErrors::about(dir, format!("cannot read the knowledge base: {e}")))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut texts = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .map_err(|e| KbErrors::about(&file, format!("cannot read: {e}")))?;
        texts.push((file, text));
    }
    load_texts(texts.iter().map(|(f, t)| (f.as_path(), t.as_str())))
}

/// Loads a knowledge base from file texts (name, contents); the files' order is kept.
pub fn load_texts<'a>(
    files: impl IntoIterator<Item = (&'a Path, &'a str)>,
) -> Result<KnowledgeBase, KbErrors> {
    let mut kb = KnowledgeBase::default();
    let mut errors = Vec::new();
    let mut first_seen: HashMap<String, (PathBuf, usize)> = HashMap::new();
    let mut calibration_file: Option<PathBuf> = None;
    for (file, text) in files {
        let mut reader = Reader {
            diag: Diagnostics::new(file, text),
            file,
        };
        let (entries, has_matcher) = reader.document(text);
        if has_matcher {
            match (&calibration_file, Calibration::from_toml(text)) {
                (Some(first), _) => reader.diag.error(
                    0..0,
                    format!(
                        "a second [matcher] table (the first is in {})",
                        first.display()
                    ),
                ),
                (None, Ok(calibration)) => {
                    calibration_file = Some(file.to_path_buf());
                    kb.calibration = Some(calibration);
                }
                (None, Err((span, message))) => reader.diag.error(span, message),
            }
        }
        for entry in entries {
            match first_seen.get(&entry.id) {
                Some((f, line)) => reader.diag.errors.push(KbError {
                    file: file.to_path_buf(),
                    line: entry.line,
                    message: format!(
                        "duplicate id `{}` (first defined at {}:{line})",
                        entry.id,
                        f.display()
                    ),
                }),
                None => {
                    first_seen.insert(entry.id.clone(), (file.to_path_buf(), entry.line));
                    kb.entries.push(entry);
                }
            }
        }
        errors.extend(reader.diag.errors);
    }
    if errors.is_empty() {
        Ok(kb)
    } else {
        Err(KbErrors { errors })
    }
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

/// Walks one file's document tree, collecting entries and problems.
struct Reader<'a> {
    diag: Diagnostics<'a>,
    file: &'a Path,
}

impl Reader<'_> {
    /// The entries of the file, and whether it has a `[matcher]` table.
    fn document(&mut self, text: &str) -> (Vec<Entry>, bool) {
        let (root, syntax_errors) = DeTable::parse_recoverable(text);
        if !syntax_errors.is_empty() {
            for e in &syntax_errors {
                self.diag.error(
                    e.span().unwrap_or(0..0),
                    format!("invalid TOML: {}", e.message()),
                );
            }
            return (Vec::new(), false);
        }
        let mut entries = Vec::new();
        let mut has_matcher = false;
        for (key, value) in root.get_ref().iter() {
            match key.get_ref().as_ref() {
                "entry" => match value.get_ref() {
                    DeValue::Array(items) => {
                        for item in items {
                            if let Some(entry) = self.entry(item) {
                                entries.push(entry);
                            }
                        }
                    }
                    other => self.diag.error(
                        value.span(),
                        format!(
                            "`entry` must be [[entry]] tables, found {}",
                            describe(other)
                        ),
                    ),
                },
                "matcher" => has_matcher = true,
                other => self.diag.error(
                    key.span(),
                    format!("unknown top-level key `{other}`; expected [[entry]] or [matcher]"),
                ),
            }
        }
        (entries, has_matcher)
    }

    fn type_error(&mut self, value: &Value<'_>, key: &str, expected: &str) {
        let found = describe(value.get_ref());
        self.diag.error(
            value.span(),
            format!("`{key}` must be {expected}, found {found}"),
        );
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

    /// A list of non-empty strings.
    fn strings(&mut self, value: &Value<'_>, key: &str) -> Option<Vec<String>> {
        let DeValue::Array(items) = value.get_ref() else {
            self.type_error(value, key, "a list of strings");
            return None;
        };
        let mut out = Some(Vec::with_capacity(items.len()));
        for item in items {
            match self.string(item, key) {
                Some(s) if s.trim().is_empty() => {
                    self.diag
                        .error(item.span(), format!("`{key}` holds an empty string"));
                    out = None;
                }
                Some(s) => {
                    if let Some(out) = &mut out {
                        out.push(s);
                    }
                }
                None => out = None,
            }
        }
        out
    }

    fn entry(&mut self, item: &Value<'_>) -> Option<Entry> {
        let span = item.span();
        let line = self.diag.line(span.start);
        let DeValue::Table(table) = item.get_ref() else {
            self.type_error(item, "entry", "a table");
            return None;
        };
        let mut ok = true;
        for (k, _) in table.iter() {
            if !ENTRY_KEYS.contains(&k.get_ref().as_ref()) {
                self.diag.error(
                    k.span(),
                    format!(
                        "unknown key `{}` in [[entry]]; expected one of: {}",
                        k.get_ref(),
                        ENTRY_KEYS.join(", ")
                    ),
                );
                ok = false;
            }
        }
        let id = match table.get("id") {
            None => {
                self.diag.error(span.clone(), "[[entry]] needs `id`");
                None
            }
            Some(v) => match self.string(v, "id") {
                Some(id) if !is_id(&id) => {
                    self.diag.error(
                        v.span(),
                        format!("id `{id}`: use letters, digits, `_`, `-` and `.` only"),
                    );
                    None
                }
                other => other,
            },
        };
        let category = match table.get("category") {
            Some(v) => self.string(v, "category"),
            None => Some(
                self.file
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            ),
        };
        let priority = match table.get("priority") {
            None => Some(Priority::General),
            Some(v) => self.string(v, "priority").and_then(|name| {
                let p = Priority::from_name(&name);
                if p.is_none() {
                    self.diag.error(
                        v.span(),
                        format!(
                            "unknown priority `{name}`; expected one of: {}",
                            Priority::NAMES.join(", ")
                        ),
                    );
                }
                p
            }),
        };
        let examples = match table.get("examples") {
            None => Some(Vec::new()),
            Some(v) => self.strings(v, "examples"),
        };
        let answer = match table.get("answer") {
            None => Some(String::new()),
            Some(v) => self.string(v, "answer"),
        };
        let mode = self.mode(table, span.clone(), examples.as_deref());
        let action = match table.get("action") {
            None => Some(None),
            Some(v) => self.action(v).map(Some),
        };
        if !ok {
            return None;
        }
        Some(Entry {
            id: id?,
            category: category?,
            priority: priority?,
            examples: examples?,
            answer: answer?,
            mode: mode?,
            action: action?,
            file: self.file.to_path_buf(),
            line,
        })
    }

    /// The match mode, with the keywords of a `contains` entry.
    fn mode(
        &mut self,
        table: &DeTable<'_>,
        span: Range<usize>,
        examples: Option<&[String]>,
    ) -> Option<MatchMode> {
        let (name, name_span) = match table.get("match") {
            None => ("smart".to_string(), span.clone()),
            Some(v) => (self.string(v, "match")?, v.span()),
        };
        let keywords = match table.get("keywords") {
            None => None,
            Some(v) => Some((self.strings(v, "keywords")?, v.span())),
        };
        let rule = match table.get("keyword_rule") {
            None => Some(KeywordRule::Any),
            Some(v) => match self.string(v, "keyword_rule")?.as_str() {
                "any" => Some(KeywordRule::Any),
                "all" => Some(KeywordRule::All),
                other => {
                    self.diag.error(
                        v.span(),
                        format!("unknown keyword_rule `{other}`; expected any or all"),
                    );
                    None
                }
            },
        };
        match name.as_str() {
            "exact" | "smart" => {
                if let Some((_, kspan)) = &keywords {
                    self.diag.error(
                        kspan.clone(),
                        format!("`keywords` only apply to match = \"contains\", not \"{name}\""),
                    );
                    return None;
                }
                if examples.is_some_and(<[String]>::is_empty) {
                    self.diag.error(
                        span,
                        format!("match = \"{name}\" needs at least one of `examples`"),
                    );
                    return None;
                }
                Some(if name == "exact" {
                    MatchMode::Exact
                } else {
                    MatchMode::Smart
                })
            }
            "contains" => match keywords {
                Some((keywords, _)) if !keywords.is_empty() => Some(MatchMode::Contains {
                    keywords,
                    rule: rule?,
                }),
                _ => {
                    self.diag
                        .error(name_span, "match = \"contains\" needs `keywords = [\"…\"]`");
                    None
                }
            },
            other => {
                self.diag.error(
                    name_span,
                    format!(
                        "unknown match mode `{other}`; expected one of: {}",
                        MatchMode::NAMES.join(", ")
                    ),
                );
                None
            }
        }
    }

    fn action(&mut self, value: &Value<'_>) -> Option<Action> {
        let DeValue::Table(table) = value.get_ref() else {
            self.type_error(value, "action", "a table like { goto = \"node\" }");
            return None;
        };
        let keys: Vec<_> = table.iter().collect();
        let [(key, v)] = keys.as_slice() else {
            self.diag.error(
                value.span(),
                format!("`action` needs exactly one of: {}", ACTION_KEYS.join(", ")),
            );
            return None;
        };
        match key.get_ref().as_ref() {
            "goto" => self.string(v, "goto").map(Action::Goto),
            "intent" => self.string(v, "intent").map(Action::Intent),
            "escalate" => match v.get_ref().as_bool() {
                Some(true) => Some(Action::Escalate),
                _ => {
                    self.diag.error(
                        v.span(),
                        "`escalate` can only be true (leave it out otherwise)",
                    );
                    None
                }
            },
            other => {
                self.diag.error(
                    key.span(),
                    format!(
                        "unknown action `{other}`; expected one of: {}",
                        ACTION_KEYS.join(", ")
                    ),
                );
                None
            }
        }
    }
}

/// Whether `id` is a usable entry id.
pub(crate) fn is_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(files: &[(&str, &str)]) -> Result<KnowledgeBase, KbErrors> {
        load_texts(files.iter().map(|(f, t)| (Path::new(*f), *t)))
    }

    fn errors(files: &[(&str, &str)]) -> String {
        load(files).unwrap_err().to_string()
    }

    #[test]
    fn reads_entries_with_defaults() {
        let kb = load(&[(
            "shop.toml",
            r#"
[[entry]]
id = "track_order"
priority = "general"
examples = ["where is my order", "track my parcel"]
answer = "Order ${order_id} is on its way."
action = { intent = "order_status" }

[[entry]]
id = "agent"
category = "CONTACT"
match = "contains"
keywords = ["agent", "human being"]
keyword_rule = "any"
answer = "Let me get someone."
action = { escalate = true }

[[entry]]
id = "hours"
match = "exact"
examples = ["opening hours"]
"#,
        )])
        .unwrap();
        assert_eq!(kb.entries.len(), 3);
        let track = &kb.entries[0];
        assert_eq!(track.category, "shop");
        assert_eq!(track.mode, MatchMode::Smart);
        assert_eq!(track.line, 2);
        assert_eq!(track.answer, "Order ${order_id} is on its way.");
        assert_eq!(track.action, Some(Action::Intent("order_status".into())));
        assert_eq!(kb.entries[1].action, Some(Action::Escalate));
        assert!(
            matches!(kb.entries[1].mode, MatchMode::Contains { ref keywords, rule: KeywordRule::Any } if keywords.len() == 2)
        );
        assert_eq!(kb.entries[2].priority, Priority::General);
        assert_eq!(
            kb.without_answer()
                .map(|e| e.id.as_str())
                .collect::<Vec<_>>(),
            ["hours"]
        );
    }

    #[test]
    fn problems_name_file_and_line() {
        let text = "[[entry]]\nid = \"a\"\nexamples = [\"x\"]\ncolour = \"red\"\n\n[[entry]]\nid = \"b\"\nmatch = \"fuzzy\"\nexamples = [\"y\"]\n\n[[entry]]\nid = \"c\"\nexamples = []\n";
        assert_eq!(
            errors(&[("kb/a.toml", text)]),
            "kb/a.toml:4: unknown key `colour` in [[entry]]; expected one of: id, category, priority, examples, answer, match, keywords, keyword_rule, action\n\
             kb/a.toml:8: unknown match mode `fuzzy`; expected one of: exact, contains, smart\n\
             kb/a.toml:11: match = \"smart\" needs at least one of `examples`"
        );
    }

    #[test]
    fn duplicate_ids_across_files() {
        let one = "[[entry]]\nid = \"refund\"\nexamples = [\"x\"]\n";
        let two = "\n[[entry]]\nid = \"refund\"\nexamples = [\"y\"]\n";
        assert_eq!(
            errors(&[("kb/1.toml", one), ("kb/2.toml", two)]),
            "kb/2.toml:2: duplicate id `refund` (first defined at kb/1.toml:1)"
        );
    }

    #[test]
    fn bad_values() {
        let text = "[[entry]]\nid = \"a\"\npriority = \"urgent\"\nexamples = [\"x\", \"\"]\n\n[[entry]]\nid = \"k\"\nmatch = \"contains\"\n\n[[entry]]\nid = \"g\"\nexamples = [\"x\"]\naction = { goto = \"a\", escalate = true }\n\n[other]\n";
        let text = errors(&[("b.toml", text)]);
        for expected in [
            "b.toml:3: unknown priority `urgent`",
            "b.toml:4: `examples` holds an empty string",
            "b.toml:8: match = \"contains\" needs `keywords",
            "b.toml:13: `action` needs exactly one of",
            "b.toml:15: unknown top-level key `other`",
        ] {
            assert!(text.contains(expected), "{expected} not in:\n{text}");
        }
        assert!(errors(&[("c.toml", "[[entry]\n")]).starts_with("c.toml:1: invalid TOML"));
    }
}
