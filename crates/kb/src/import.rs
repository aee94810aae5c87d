//! Batch import: labeled utterances become examples of the entry named by their intent.
//! Existing entries get the new examples appended in their own file (comments and layout
//! kept); intents without an entry become new entries, with an empty answer for the
//! administrator to write, in `imported.toml`.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use toml_edit::{Array, ArrayOfTables, DocumentMut, Item, Table, Value};

use crate::csv_io::LabeledRow;
use crate::entry::KnowledgeBase;
use crate::load::is_id;
use crate::normalize::normalized;

/// The file new entries go to.
pub const IMPORT_FILE: &str = "imported.toml";

/// What an import changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Examples added to existing entries, by entry id.
    pub added: BTreeMap<String, usize>,
    /// New entries (id, examples), answer still to be written.
    pub created: BTreeMap<String, usize>,
    /// Rows already present as examples.
    pub duplicates: usize,
    /// Rows labeled out of scope, not imported.
    pub out_of_scope: usize,
}

/// The examples to add to one entry, and the category of the entry if it is new.
type NewExamples = (Option<String>, Vec<String>);

/// An intent name made into an entry id: characters ids cannot hold become `_`.
fn entry_id(intent: &str) -> String {
    let id: String = intent
        .trim()
        .chars()
        .map(|c| if is_id(&c.to_string()) { c } else { '_' })
        .collect();
    id
}

/// Adds `rows` to the knowledge base in `dir` (already loaded as `kb`) and writes the files.
pub fn import(dir: &Path, kb: &KnowledgeBase, rows: &[LabeledRow]) -> Result<ImportReport, String> {
    let mut report = ImportReport::default();
    let mut known: HashSet<(String, String)> = kb
        .entries
        .iter()
        .flat_map(|e| e.examples.iter().map(|x| (e.id.clone(), normalized(x))))
        .collect();
    // Per file: per entry id, the new examples (and the category of a new entry).
    let mut per_file: BTreeMap<PathBuf, BTreeMap<String, NewExamples>> = BTreeMap::new();
    for row in rows {
        if row.is_out_of_scope() {
            report.out_of_scope += 1;
            continue;
        }
        let id = entry_id(&row.intent);
        if !known.insert((id.clone(), normalized(&row.text))) {
            report.duplicates += 1;
            continue;
        }
        let (file, new) = match kb.entry(&id) {
            Some(entry) => (entry.file.clone(), false),
            None => (dir.join(IMPORT_FILE), true),
        };
        let slot = per_file
            .entry(file)
            .or_default()
            .entry(id.clone())
            .or_default();
        if new && slot.0.is_none() {
            slot.0 = Some(row.category.clone().unwrap_or_else(|| "imported".into()));
        }
        slot.1.push(row.text.clone());
        let counts = if new {
            &mut report.created
        } else {
            &mut report.added
        };
        *counts.entry(id).or_default() += 1;
    }
    for (file, changes) in per_file {
        let text = match std::fs::read_to_string(&file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(format!("{}: {e}", file.display())),
        };
        let mut doc: DocumentMut = text
            .parse()
            .map_err(|e| format!("{}: {e}", file.display()))?;
        for (id, (category, examples)) in changes {
            add_examples(&mut doc, &id, category, examples)
                .map_err(|e| format!("{}: {e}", file.display()))?;
        }
        std::fs::write(&file, doc.to_string()).map_err(|e| format!("{}: {e}", file.display()))?;
    }
    Ok(report)
}

/// Appends examples to the entry `id` of the document, creating the entry if it is not there.
fn add_examples(
    doc: &mut DocumentMut,
    id: &str,
    category: Option<String>,
    examples: Vec<String>,
) -> Result<(), String> {
    let entries = doc
        .entry("entry")
        .or_insert_with(|| Item::ArrayOfTables(ArrayOfTables::new()))
        .as_array_of_tables_mut()
        .ok_or("`entry` is not a list of [[entry]] tables")?;
    let existing = entries
        .iter_mut()
        .find(|t| t.get("id").and_then(Item::as_str) == Some(id));
    let table = match existing {
        Some(table) => table,
        None => {
            let mut table = Table::new();
            table.insert("id", toml_edit::value(id));
            table.insert("category", toml_edit::value(category.unwrap_or_default()));
            table.insert("answer", toml_edit::value(""));
            table.insert("examples", Item::Value(Value::Array(Array::new())));
            entries.push(table);
            entries.iter_mut().last().ok_or("entry not added")?
        }
    };
    let array = table
        .entry("examples")
        .or_insert_with(|| Item::Value(Value::Array(Array::new())))
        .as_array_mut()
        .ok_or("`examples` is not a list")?;
    for example in examples {
        let mut value = Value::from(example);
        value.decor_mut().set_prefix("\n  ");
        array.push_formatted(value);
    }
    array.set_trailing("\n");
    array.set_trailing_comma(true);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::load_dir;

    #[test]
    fn merges_into_entries_and_creates_new_ones() {
        let dir = std::env::temp_dir().join(format!("sb-kb-import-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let shop = "# our answers\n[[entry]]\nid = \"track_order\"\nanswer = \"On its way.\"\nexamples = [\n  \"where is my order\",\n]\n";
        std::fs::write(dir.join("shop.toml"), shop).unwrap();
        let kb = load_dir(&dir).unwrap();
        let row = |text: &str, intent: &str| LabeledRow {
            text: text.into(),
            intent: intent.into(),
            category: Some("ORDER".into()),
        };
        let rows = [
            row("Where is my order?", "track_order"),
            row("track my parcel", "track_order"),
            row("I want my money back", "get refund"),
            row("what's the weather", "oos"),
        ];
        let report = import(&dir, &kb, &rows).unwrap();
        assert_eq!(report.duplicates, 1);
        assert_eq!(report.out_of_scope, 1);
        assert_eq!(report.added.get("track_order"), Some(&1));
        assert_eq!(report.created.get("get_refund"), Some(&1));
        let kb = load_dir(&dir).unwrap();
        assert_eq!(
            kb.entry("track_order").unwrap().examples,
            ["where is my order", "track my parcel"]
        );
        assert!(
            std::fs::read_to_string(dir.join("shop.toml"))
                .unwrap()
                .starts_with("# our answers")
        );
        let new = kb.entry("get_refund").unwrap();
        assert_eq!((new.category.as_str(), new.answer.as_str()), ("ORDER", ""));
        assert_eq!(kb.without_answer().count(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
