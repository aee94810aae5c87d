//! The `bot` step: its settings, what the knowledge base made of an utterance (given by the
//! call as [`Understanding`]), and what the step remembers of the conversation.
//!
//! The step itself runs in the interpreter (`interpreter/bot_step.rs`); this crate does not
//! know the knowledge base or the frustration scorer: the call maps their results into the
//! small types here.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use chrono_tz::Tz;

use crate::escalation::EscalationRules;
use crate::format::PromptPart;
use crate::slots::Slot;
use crate::understand::{stemmed_words, words, yes_or_no};

/// Caller utterances kept for the handoff summary.
const UTTERANCES_KEPT: usize = 3;

/// An answer of the knowledge base to what the caller said.
#[derive(Debug, Clone, PartialEq)]
pub struct KbAnswer {
    /// The entry's id or the intent it sets; matched against the step's `intents`.
    pub intent: String,
    /// The answer text, with `${var}` placeholders filled in from the call's variables.
    pub answer: String,
    /// The matcher's score, for the timeline.
    pub score: f32,
    /// The entry's priority class (`complaint`, `billing`, `general`), if it has one.
    pub priority: Option<String>,
}

/// One of two entries the knowledge base could not tell apart.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// How to name it in the question "Is this about X or Y?", e.g. "a refund".
    pub label: String,
    /// The answer to give when the caller picks it.
    pub answer: KbAnswer,
}

/// What the knowledge base made of one caller utterance, the reply to `Output::Understand`.
#[derive(Debug, Clone, PartialEq)]
pub enum Understanding {
    /// One entry fits.
    Answer(KbAnswer),
    /// Two entries fit about equally: ask the caller which one is meant.
    Clarify {
        /// The better-scoring one.
        first: Candidate,
        /// The runner-up.
        second: Candidate,
    },
    /// Nothing fits: out of scope.
    NotUnderstood,
}

/// A `bot` step as written.
#[derive(Debug, Clone)]
pub(crate) struct Bot {
    /// The first question.
    pub(crate) prompt: Vec<PromptPart>,
    /// The question after an answer; the first question when not given.
    pub(crate) again: Vec<PromptPart>,
    pub(crate) no_match: Vec<PromptPart>,
    pub(crate) no_input: Vec<PromptPart>,
    pub(crate) interruptible: bool,
    /// How long to wait for the caller after a question.
    pub(crate) timeout: Duration,
    pub(crate) end_silence: Option<Duration>,
    pub(crate) max_speech: Duration,
    pub(crate) min_confidence: f32,
    /// How long the knowledge base may take before the turn counts as not understood.
    pub(crate) understand_timeout: Duration,
    /// Caller turns before the step gives up and goes to `on_done`.
    pub(crate) max_turns: u32,
    /// Prefix of the variables `<prefix>_intent` and `<prefix>_answer`.
    pub(crate) var_prefix: String,
    pub(crate) on_escalate: Option<String>,
    pub(crate) on_done: String,
    pub(crate) on_overload: Option<String>,
    pub(crate) ask_helpful: bool,
    pub(crate) escalate: EscalationRules,
    /// Intents the step acts on, by name; others are answered with the knowledge base's text.
    pub(crate) intents: BTreeMap<String, Intent>,
    /// The zone dates are judged in ("tomorrow"): the file's `timezone`, else UTC.
    pub(crate) timezone: Option<Tz>,
    /// Words to prime the recognizer with: the intents' names as words.
    pub(crate) hints: Vec<String>,
}

/// An intent the step acts on.
#[derive(Debug, Clone)]
pub(crate) struct Intent {
    /// What it needs, asked in this order.
    pub(crate) slots: Vec<Slot>,
    /// Where to go once the slots are filled; without it the answer is said.
    pub(crate) next: Option<String>,
    /// Whether the intent hands the caller over at once.
    pub(crate) escalate: bool,
}

/// What the bot asked; the caller's next turn answers it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Asking {
    /// The open question: `prompt` the first time, `again` after an answer.
    Question { again: bool },
    /// The value of a slot of the intent being served.
    Slot(String),
    /// Whether the value heard for a slot is right.
    Confirm { slot: String, value: String },
    /// Whether the answer about an intent helped.
    Helpful(String),
    /// Which of two entries is meant.
    Clarify(Box<(Candidate, Candidate)>),
}

impl Asking {
    /// The name of the question for the timeline.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Asking::Question { .. } => "question",
            Asking::Slot(_) => "slot",
            Asking::Confirm { .. } => "confirm",
            Asking::Helpful(_) => "helpful",
            Asking::Clarify(_) => "clarify",
        }
    }
}

/// A slot's value and whether the caller confirmed it (or it needs no confirmation).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SlotValue {
    pub(crate) value: String,
    pub(crate) confirmed: bool,
}

/// The intent being served (or last served) and its slot values.
#[derive(Debug, Clone)]
pub(crate) struct Serving {
    pub(crate) answer: KbAnswer,
    pub(crate) values: BTreeMap<String, SlotValue>,
}

/// What a `bot` step remembers over a call, also when the call leaves it and comes back.
#[derive(Debug, Clone)]
pub(crate) struct Conversation {
    /// Caller turns listened to.
    pub(crate) turns: u32,
    /// Consecutive turns not understood.
    pub(crate) failures: u32,
    /// Consecutive turns below `min_confidence`.
    pub(crate) low_confidence: u32,
    pub(crate) asking: Asking,
    pub(crate) serving: Option<Serving>,
    /// The intent served last, for follow-ups ("and what about order 7788?").
    pub(crate) last: Option<Serving>,
    /// The latest caller utterances, oldest first.
    pub(crate) utterances: VecDeque<String>,
    /// The answers the bot gave: intent and text.
    pub(crate) told: Vec<(String, String)>,
}

impl Default for Conversation {
    fn default() -> Self {
        Self {
            turns: 0,
            failures: 0,
            low_confidence: 0,
            asking: Asking::Question { again: false },
            serving: None,
            last: None,
            utterances: VecDeque::new(),
            told: Vec::new(),
        }
    }
}

impl Conversation {
    /// Keeps `text` among the latest utterances.
    pub(crate) fn heard(&mut self, text: &str) {
        if self.utterances.len() == UTTERANCES_KEPT {
            self.utterances.pop_front();
        }
        self.utterances.push_back(text.to_string());
    }

    /// The intent in view: the one being served, else the last one served.
    pub(crate) fn intent(&self) -> Option<&Serving> {
        self.serving.as_ref().or(self.last.as_ref())
    }
}

/// Phrases with which a caller says there is nothing more, after "anything else?".
const DONE_PHRASES: [&str; 8] = [
    "thats all",
    "thats it",
    "nothing else",
    "no thanks",
    "no thank you",
    "goodbye",
    "bye",
    "im done",
];
/// How a follow-up on the last intent begins: "and the other one?", "what about order 7788".
const FOLLOW_UPS: [&str; 5] = ["and", "what about", "how about", "also", "the other"];

/// Whether `text`, said after "anything else?", means the caller has no more questions:
/// a plain no, or one of the closing phrases.
pub(crate) fn caller_is_done(text: &str) -> bool {
    let said = format!(" {} ", words(text).join(" "));
    (yes_or_no(text) == Some(false) && words(text).len() <= 3)
        || DONE_PHRASES
            .iter()
            .any(|phrase| said.contains(&format!(" {phrase} ")))
}

/// Whether `text` begins like a follow-up on the previous request.
pub(crate) fn is_follow_up(text: &str) -> bool {
    let said = format!("{} ", words(text).join(" "));
    FOLLOW_UPS
        .iter()
        .any(|start| said.starts_with(&format!("{start} ")))
        || said.contains("other one")
}

/// Which of the two candidates the caller picked: by the words of its label ("the refund"),
/// by position ("the first one", "the second", "the latter"), or neither.
pub(crate) fn pick(text: &str, first: &Candidate, second: &Candidate) -> Option<usize> {
    let heard = stemmed_words(text);
    let has = |word: &str| heard.iter().any(|w| w == word);
    if has("first") || has("former") {
        return Some(0);
    }
    if has("second") || has("latter") || has("last") {
        return Some(1);
    }
    // Words of one label that the other lacks decide; shared words ("the", "order") do not.
    let label_words = |c: &Candidate| stemmed_words(&c.label);
    let (a, b) = (label_words(first), label_words(second));
    let only = |mine: &[String], theirs: &[String]| {
        mine.iter()
            .filter(|w| !theirs.contains(w) && heard.contains(w))
            .count()
    };
    match (only(&a, &b), only(&b, &a)) {
        (x, y) if x > y => Some(0),
        (x, y) if y > x => Some(1),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(label: &str) -> Candidate {
        Candidate {
            label: label.into(),
            answer: KbAnswer {
                intent: label.replace(' ', "_"),
                answer: String::new(),
                score: 0.5,
                priority: None,
            },
        }
    }

    #[test]
    fn closing_phrases_and_follow_ups() {
        for done in ["No.", "no thanks", "That's all, goodbye", "nope"] {
            assert!(caller_is_done(done), "{done}");
        }
        for more in [
            "yes",
            "no, my parcel did not arrive yet",
            "where is my order",
        ] {
            assert!(!caller_is_done(more), "{more}");
        }
        assert!(is_follow_up("And the other one?"));
        assert!(is_follow_up("what about order 7788"));
        assert!(!is_follow_up("andrew here, where is my order"));
    }

    #[test]
    fn picking_one_of_two() {
        let (refund, policy) = (candidate("a refund"), candidate("the refund policy"));
        assert_eq!(pick("the policy", &refund, &policy), Some(1));
        assert_eq!(pick("the first one", &refund, &policy), Some(0));
        assert_eq!(pick("the latter", &refund, &policy), Some(1));
        assert_eq!(pick("refund", &refund, &policy), None);
        let (invoice, address) = (candidate("your invoice"), candidate("the delivery address"));
        assert_eq!(pick("um, the address please", &invoice, &address), Some(1));
        assert_eq!(pick("invoices", &invoice, &address), Some(0));
    }
}
