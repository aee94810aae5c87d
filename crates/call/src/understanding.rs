//! The knowledge base behind the dialplan's `bot` step: the call hands over what the caller
//! said and gets the matcher's decision back as the dialplan's `Understanding`. Matching embeds
//! the utterance (tens of milliseconds of CPU), so it runs on the blocking pool and its result
//! comes back through the call's `select!`, never holding up the media clock.

use std::sync::Arc;

use sb_dialog::{Candidate, Input, KbAnswer, Understanding};
use sb_kb::{Action, Decision, Matcher};

use crate::pending_input::PendingInput;

/// The knowledge base every call shares (loaded once at start).
#[derive(Clone)]
pub struct KnowledgeBase {
    matcher: Arc<Matcher>,
}

impl KnowledgeBase {
    /// A knowledge base matched by `matcher`.
    pub fn new(matcher: Matcher) -> Self {
        KnowledgeBase {
            matcher: Arc::new(matcher),
        }
    }

    /// Starts matching `text`; the answer is the dialplan's next input.
    pub fn understand(&self, text: String) -> PendingInput {
        let matcher = Arc::clone(&self.matcher);
        let task = tokio::task::spawn_blocking(move || {
            let decision = matcher.decide(&text);
            Input::Understood(understanding(&matcher, decision))
        });
        PendingInput::new(task, |e| {
            tracing::warn!(error = %e, "knowledge base matching failed");
            Input::Understood(Understanding::NotUnderstood)
        })
    }
}

/// The input when no knowledge base is loaded: nothing understood.
pub fn not_understood() -> PendingInput {
    PendingInput::new(
        tokio::spawn(async { Input::Understood(Understanding::NotUnderstood) }),
        |_| Input::Understood(Understanding::NotUnderstood),
    )
}

/// The matcher's decision in the dialplan's terms.
fn understanding(matcher: &Matcher, decision: Decision) -> Understanding {
    match decision {
        Decision::Answer { entry, score } => Understanding::Answer(answer(matcher, entry, score)),
        Decision::Clarify { first, second } => Understanding::Clarify {
            first: candidate(matcher, first),
            second: candidate(matcher, second),
        },
        Decision::OutOfScope => Understanding::NotUnderstood,
    }
}

fn answer(matcher: &Matcher, index: usize, score: f32) -> KbAnswer {
    let entry = matcher.entry(index);
    // An entry may name the dialplan intent it stands for; otherwise its id is the intent.
    let intent = match &entry.action {
        Some(Action::Intent(intent)) => intent.clone(),
        _ => entry.id.clone(),
    };
    KbAnswer {
        intent,
        answer: entry.answer.clone(),
        score,
        priority: Some(entry.priority.name().to_string()),
    }
}

/// An entry to offer in "Is this about X or Y?", named after its id ("track_order" → "track
/// order") until entries carry a spoken label.
fn candidate(matcher: &Matcher, index: usize) -> Candidate {
    Candidate {
        label: matcher.entry(index).id.replace('_', " "),
        answer: answer(matcher, index, 0.0),
    }
}
