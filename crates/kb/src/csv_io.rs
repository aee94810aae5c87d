//! Labeled utterances as CSV: what `kb import` and `kb eval` read and `kb export` writes.
//! A header row names the columns; by default the text is in `text` or `utterance` and the
//! intent in `intent`; a byte-order mark before the header is ignored.

use std::io::{Read, Write};

use crate::entry::KnowledgeBase;

/// One labeled utterance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabeledRow {
    /// What the caller said.
    pub text: String,
    /// The entry id it belongs to; empty or `oos` for out of scope.
    pub intent: String,
    /// The category column, when there is one.
    pub category: Option<String>,
}

impl LabeledRow {
    /// Whether the row is labeled out of scope (intent `oos` or empty).
    pub fn is_out_of_scope(&self) -> bool {
        let intent = self.intent.trim();
        intent.is_empty() || intent.eq_ignore_ascii_case("oos")
    }
}

/// Which columns to read; `None` picks the default names.
#[derive(Debug, Clone, Default)]
pub struct Columns {
    /// The text column (default `text`, else `utterance`).
    pub text: Option<String>,
    /// The intent column (default `intent`).
    pub intent: Option<String>,
    /// The category column (default `category`, optional).
    pub category: Option<String>,
}

/// Reads labeled rows from CSV text; errors name the row (line) or the missing column.
pub fn read_labeled(input: impl Read, columns: &Columns) -> Result<Vec<LabeledRow>, String> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| format!("cannot read the header: {e}"))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_string())
        .collect();
    let find = |name: &str| header.iter().position(|h| h.eq_ignore_ascii_case(name));
    let pick = |chosen: &Option<String>, defaults: &[&str], what: &str| -> Result<usize, String> {
        match chosen {
            Some(name) => find(name).ok_or_else(|| {
                format!(
                    "no column `{name}` for the {what} (columns: {})",
                    header.join(", ")
                )
            }),
            None => defaults.iter().find_map(|d| find(d)).ok_or_else(|| {
                format!(
                    "no {what} column: name it {} or pick one with an option (columns: {})",
                    defaults.join(" or "),
                    header.join(", ")
                )
            }),
        }
    };
    let text = pick(&columns.text, &["text", "utterance"], "text")?;
    let intent = pick(&columns.intent, &["intent"], "intent")?;
    let category = match &columns.category {
        Some(_) => Some(pick(&columns.category, &[], "category")?),
        None => find("category"),
    };
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| match e.position() {
            Some(p) => format!("line {}: {e}", p.line()),
            None => e.to_string(),
        })?;
        let field = |i: usize| record.get(i).unwrap_or("").trim().to_string();
        let row = LabeledRow {
            text: field(text),
            intent: field(intent),
            category: category.map(field).filter(|c| !c.is_empty()),
        };
        if !row.text.is_empty() {
            rows.push(row);
        }
    }
    Ok(rows)
}

/// Writes every example of the knowledge base as `text,intent,category` rows.
pub fn write_examples(kb: &KnowledgeBase, output: impl Write) -> Result<usize, String> {
    let mut writer = csv::Writer::from_writer(output);
    let mut count = 0;
    writer
        .write_record(["text", "intent", "category"])
        .map_err(|e| e.to_string())?;
    for entry in &kb.entries {
        for example in &entry.examples {
            writer
                .write_record([example.as_str(), &entry.id, &entry.category])
                .map_err(|e| e.to_string())?;
            count += 1;
        }
    }
    writer.flush().map_err(|e| e.to_string())?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_default_and_named_columns() {
        let text = "\u{feff}flags,utterance,category,intent\nB,\"where is my order, please\",ORDER,track_order\nB,weather?,,oos\n";
        let rows = read_labeled(text.as_bytes(), &Columns::default()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].text, "where is my order, please");
        assert_eq!(rows[0].category.as_deref(), Some("ORDER"));
        assert!(rows[1].is_out_of_scope() && !rows[0].is_out_of_scope());
        let named = Columns {
            text: Some("flags".into()),
            ..Columns::default()
        };
        assert_eq!(read_labeled(text.as_bytes(), &named).unwrap()[0].text, "B");
        let err = read_labeled("a,b\n1,2\n".as_bytes(), &Columns::default()).unwrap_err();
        assert!(err.contains("no text column"), "{err}");
    }
}
