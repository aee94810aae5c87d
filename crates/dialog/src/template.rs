//! Text with `${var}` placeholders, used by `set` nodes.

use std::collections::BTreeMap;

/// A string with `${name}` placeholders, checked when the dialplan is loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    /// A variable and the byte offset of its name in the source string.
    Var(String, usize),
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

    /// Parses `source`; `$${` stands for a literal `${`.
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
                parts.push(Part::Var(name.to_string(), name_offset));
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
            Part::Var(name, offset) => Some((name.as_str(), *offset)),
            Part::Text(_) => None,
        })
    }

    /// The text with each placeholder replaced by the variable's value (empty when unset).
    pub(crate) fn render(&self, vars: &BTreeMap<String, String>) -> String {
        self.parts
            .iter()
            .map(|part| match part {
                Part::Text(text) => text.as_str(),
                Part::Var(name, _) => vars.get(name).map_or("", String::as_str),
            })
            .collect()
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
    fn reports_unclosed_and_bad_names() {
        let e = Template::parse("ab ${x").unwrap_err();
        assert_eq!(e.offset, 3);
        let e = Template::parse("ab ${1x}").unwrap_err();
        assert_eq!(e.offset, 5);
    }
}
