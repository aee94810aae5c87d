//! Text with `${var}` placeholders, used by `set` nodes and spoken prompts.
//!
//! A placeholder may name a filter after `|`: `${order_number|spell}` gives `4 5 1 2`.

use std::collections::BTreeMap;

/// A string with `${name}` placeholders, checked when the dialplan is loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    /// A variable, the byte offset of its name in the source string, and its filter.
    Var(String, usize, Option<Filter>),
}

/// A change applied to a variable's value as it is inserted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Filter {
    /// One character at a time, separated by spaces, so speech says "4 5 1 2", not "four thousand …".
    Spell,
}

impl Filter {
    const NAMES: [&str; 1] = ["spell"];

    fn parse(name: &str) -> Option<Self> {
        match name {
            "spell" => Some(Filter::Spell),
            _ => None,
        }
    }

    fn apply(self, value: &str) -> String {
        match self {
            Filter::Spell => value
                .chars()
                .filter(|c| !c.is_whitespace())
                .map(String::from)
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

/// A problem in a template, at a byte offset of the source string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TemplateError {
    pub(crate) offset: usize,
    pub(crate) message: String,
}

/// Whether `name` can name a variable: a letter or `_`, then letters, digits or `_`.
pub(crate) fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Template {
    /// Text taken as it is, without placeholders.
    pub(crate) fn literal(text: String) -> Self {
        Self {
            parts: vec![Part::Text(text)],
        }
    }

    /// Parses `source`; `$${` stands for a literal `${`; `${name|filter}` applies a filter.
    pub(crate) fn parse(source: &str) -> Result<Self, TemplateError> {
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut rest = source;
        while let Some(at) = rest.find('$') {
            text.push_str(&rest[..at]);
            let after = &rest[at..];
            if let Some(tail) = after.strip_prefix("$${") {
                text.push_str("${");
                rest = tail;
            } else if let Some(tail) = after.strip_prefix("${") {
                let name_offset = source.len() - tail.len();
                let Some(end) = tail.find('}') else {
                    return Err(TemplateError {
                        offset: name_offset - 2,
                        message: "`${` without a closing `}`".into(),
                    });
                };
                let inside = &tail[..end];
                let (inside, filter) = match inside.split_once('|') {
                    Some((name, filter)) => {
                        let filter_offset = name_offset + name.len() + 1;
                        let filter_name = filter.trim();
                        let Some(filter) = Filter::parse(filter_name) else {
                            return Err(TemplateError {
                                offset: filter_offset + filter.len() - filter.trim_start().len(),
                                message: format!(
                                    "unknown filter `{filter_name}`; known filters: {}",
                                    Filter::NAMES.join(", ")
                                ),
                            });
                        };
                        (name, Some(filter))
                    }
                    None => (inside, None),
                };
                let name = inside.trim();
                let name_offset = name_offset + inside.len() - inside.trim_start().len();
                if !is_variable_name(name) {
                    return Err(TemplateError {
                        offset: name_offset,
                        message: format!(
                            "`{name}` is not a variable name (letters, digits and _, not starting with a digit)"
                        ),
                    });
                }
                if !text.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut text)));
                }
                parts.push(Part::Var(name.to_string(), name_offset, filter));
                rest = &tail[end + 1..];
            } else {
                text.push('$');
                rest = &after[1..];
            }
        }
        text.push_str(rest);
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(Self { parts })
    }

    /// The variables used, with the byte offset of each name in the source.
    pub(crate) fn variables(&self) -> impl Iterator<Item = (&str, usize)> {
        self.parts.iter().filter_map(|part| match part {
            Part::Var(name, offset, _) => Some((name.as_str(), *offset)),
            Part::Text(_) => None,
        })
    }

    /// The text with each placeholder replaced by the variable's value (empty when unset).
    pub(crate) fn render(&self, vars: &BTreeMap<String, String>) -> String {
        let mut rendered = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => rendered.push_str(text),
                Part::Var(name, _, filter) => {
                    let value = vars.get(name).map_or("", String::as_str);
                    match filter {
                        Some(filter) => rendered.push_str(&filter.apply(value)),
                        None => rendered.push_str(value),
                    }
                }
            }
        }
        rendered
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn renders_placeholders_and_keeps_other_dollars() {
        let t = Template::parse("order ${order} costs $5, ${ who }$${x}").unwrap();
        let names: Vec<_> = t.variables().collect();
        assert_eq!(names, vec![("order", 8), ("who", 28)]);
        assert_eq!(
            t.render(&vars(&[("order", "1234"), ("who", "you")])),
            "order 1234 costs $5, you${x}"
        );
        assert_eq!(t.render(&vars(&[])), "order  costs $5, ${x}");
    }

    #[test]
    fn spell_separates_characters() {
        let t = Template::parse("I heard ${ order | spell }.").unwrap();
        assert_eq!(t.variables().collect::<Vec<_>>(), vec![("order", 11)]);
        assert_eq!(t.render(&vars(&[("order", "45 12")])), "I heard 4 5 1 2.");
        assert_eq!(t.render(&vars(&[])), "I heard .");
        let e = Template::parse("${order|shout}").unwrap_err();
        assert_eq!(e.offset, 8);
        assert!(
            e.message
                .contains("unknown filter `shout`; known filters: spell")
        );
    }

    #[test]
    fn reports_unclosed_and_bad_names() {
        let e = Template::parse("ab ${x").unwrap_err();
        assert_eq!(e.offset, 3);
        let e = Template::parse("ab ${1x}").unwrap_err();
        assert_eq!(e.offset, 5);
    }
}
