//! What a knowledge base holds: entries with example questions, an answer and an action.

use std::fmt;
use std::path::PathBuf;

/// Priority class of an entry, highest first; queues serve complaints before billing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// Everything else.
    General,
    /// Payments, refunds, invoices.
    Billing,
    /// Complaints and cancellations: the caller is already unhappy.
    Complaint,
}

impl Priority {
    /// The names as written in the files.
    pub const NAMES: [&'static str; 3] = ["complaint", "billing", "general"];

    /// Reads `complaint`, `billing` or `general`.
    pub fn from_name(name: &str) -> Option<Priority> {
        match name {
            "complaint" => Some(Priority::Complaint),
            "billing" => Some(Priority::Billing),
            "general" => Some(Priority::General),
            _ => None,
        }
    }

    /// The name as written in the files.
    pub fn name(self) -> &'static str {
        match self {
            Priority::Complaint => "complaint",
            Priority::Billing => "billing",
            Priority::General => "general",
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether a `contains` entry needs all of its keywords or any one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeywordRule {
    /// One keyword phrase is enough.
    Any,
    /// Every keyword phrase must be heard.
    All,
}

/// How an entry is matched against what the caller said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatchMode {
    /// The whole utterance equals one of the examples (after normalization).
    Exact,
    /// The utterance contains the keyword phrases (stemmed, in order within a phrase).
    Contains {
        /// Keyword phrases as written.
        keywords: Vec<String>,
        /// All of them or any one.
        rule: KeywordRule,
    },
    /// Ranked retrieval: BM25, character n-grams and sentence embeddings, fused.
    Smart,
}

impl MatchMode {
    /// The mode names as written after `match =`.
    pub const NAMES: [&'static str; 3] = ["exact", "contains", "smart"];

    /// The name as written in the files.
    pub fn name(&self) -> &'static str {
        match self {
            MatchMode::Exact => "exact",
            MatchMode::Contains { .. } => "contains",
            MatchMode::Smart => "smart",
        }
    }
}

/// What the dialplan does after answering with an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Continue at this dialplan node.
    Goto(String),
    /// Set the call's intent to this name (slot filling takes over).
    Intent(String),
    /// Hand the call to a human.
    Escalate,
}

/// One question the knowledge base can answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Unique id across the knowledge base (usually the intent name).
    pub id: String,
    /// Free grouping for reports ("ORDER", "REFUND", …).
    pub category: String,
    /// Priority class for routing.
    pub priority: Priority,
    /// Ways a caller asks this question.
    pub examples: Vec<String>,
    /// Answer text, `${var}` placeholders left for the dialplan to fill.
    pub answer: String,
    /// How the entry is matched.
    pub mode: MatchMode,
    /// What happens after the answer, if anything.
    pub action: Option<Action>,
    /// The file the entry was read from (import adds examples there).
    pub file: PathBuf,
    /// Line of its `[[entry]]` header.
    pub line: usize,
}

/// A loaded knowledge base.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KnowledgeBase {
    /// The entries, in file then line order.
    pub entries: Vec<Entry>,
    /// Calibrated matcher settings from a `[matcher]` table, if the knowledge base has one.
    pub calibration: Option<crate::calibration::Calibration>,
}

impl KnowledgeBase {
    /// The entry with this id.
    pub fn entry(&self, id: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.id == id)
    }

    /// Entries whose answer is still empty (new intents from an import).
    pub fn without_answer(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(|e| e.answer.trim().is_empty())
    }
}
