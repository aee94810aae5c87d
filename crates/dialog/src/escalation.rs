//! When a `bot` step hands the caller over to a person: the rules of its `escalate` table,
//! judged once per caller turn, when the turn's decision is made.

use crate::understand::words;

/// A frustration trend counts as rising only from this score on, so a calm caller getting a
/// little less calm is not handed over.
pub(crate) const RISING_MIN_SCORE: f32 = 0.4;
/// Words with which a caller asks for a person.
const HUMAN_WORDS: [&str; 5] = ["agent", "human", "person", "representative", "operator"];
/// The cue name of the frustration reading for the same request.
const ASKED_FOR_HUMAN_CUE: &str = "asked_for_human";

/// The `escalate` table of a `bot` step; a rule left out never fires.
#[derive(Debug, Clone, Default)]
pub(crate) struct EscalationRules {
    /// Consecutive turns not understood.
    pub(crate) failures: Option<u32>,
    /// Frustration score at or above.
    pub(crate) frustration: Option<f32>,
    /// Frustration trend at or above (with the score at least [`RISING_MIN_SCORE`]).
    pub(crate) rising: Option<f32>,
    /// Consecutive turns below the step's `min_confidence`.
    pub(crate) low_confidence: Option<u32>,
    /// Whether a caller asking for a person is handed over.
    pub(crate) asked_for_human: bool,
    /// Caller numbers handed over at their first turn not understood.
    pub(crate) vip: Vec<String>,
}

/// The latest frustration reading of the caller, as the call reports it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reading {
    pub(crate) score: f32,
    pub(crate) trend: f32,
    pub(crate) cues: Vec<String>,
}

/// What is known about the caller at a turn's decision.
#[derive(Debug)]
pub(crate) struct TurnFacts<'a> {
    /// Consecutive turns not understood, this one included.
    pub(crate) failures: u32,
    /// Consecutive turns below `min_confidence`, this one included.
    pub(crate) low_confidence: u32,
    /// Whether this turn was not understood.
    pub(crate) not_understood: bool,
    /// The latest frustration reading, if any came.
    pub(crate) reading: Option<&'a Reading>,
    /// What the caller said this turn.
    pub(crate) text: &'a str,
    /// The `caller` variable.
    pub(crate) caller: Option<&'a str>,
}

/// Why the caller is handed over.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Reason {
    AskedForHuman,
    Frustration(f32),
    Rising {
        score: f32,
        trend: f32,
    },
    Vip,
    Failures(u32),
    LowConfidence(u32),
    /// An intent marked `escalate = true`.
    Intent(String),
}

impl Reason {
    /// The reason as stored in `handoff_reason` and the timeline.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Reason::AskedForHuman => "asked_for_human",
            Reason::Frustration(_) => "frustration",
            Reason::Rising { .. } => "rising_frustration",
            Reason::Vip => "vip",
            Reason::Failures(_) => "failures",
            Reason::LowConfidence(_) => "low_confidence",
            Reason::Intent(_) => "intent",
        }
    }

    /// The reason in words, for the handoff summary.
    pub(crate) fn describe(&self) -> String {
        match self {
            Reason::AskedForHuman => "asked for a human".into(),
            Reason::Frustration(score) => format!("frustration at {score:.2}"),
            Reason::Rising { score, trend } => {
                format!("frustration rising by {trend:.2} a turn to {score:.2}")
            }
            Reason::Vip => "VIP caller not understood".into(),
            Reason::Failures(n) => format!("not understood {n} times in a row"),
            Reason::LowConfidence(n) => format!("hard to hear {n} times in a row"),
            Reason::Intent(intent) => format!("{intent} is handled by people"),
        }
    }
}

/// Whether `text` asks for a person: one of the words, not negated right before ("no agent").
pub(crate) fn asks_for_human(text: &str) -> bool {
    let words = words(text);
    words.iter().enumerate().any(|(i, word)| {
        let stem = word.strip_suffix('s').unwrap_or(word);
        HUMAN_WORDS.contains(&stem)
            && !words[i.saturating_sub(3)..i]
                .iter()
                .any(|w| matches!(w.as_str(), "no" | "not" | "dont" | "without"))
    })
}

/// Whether `caller` (a number, or a SIP or tel URI) is one of the VIP numbers.
fn is_vip(vip: &[String], caller: &str) -> bool {
    let user = caller
        .trim()
        .trim_start_matches("sips:")
        .trim_start_matches("sip:")
        .trim_start_matches("tel:");
    let user = user.split(['@', ';']).next().unwrap_or(user);
    vip.iter().any(|number| number == user)
}

impl EscalationRules {
    /// Whether any rule is set, so the step needs `on_escalate`.
    pub(crate) fn any(&self) -> bool {
        self.failures.is_some()
            || self.frustration.is_some()
            || self.rising.is_some()
            || self.low_confidence.is_some()
            || self.asked_for_human
            || !self.vip.is_empty()
    }

    /// The first rule that fires for this turn, in the order: asked for a human, frustration,
    /// rising frustration, VIP, failures, low confidence.
    pub(crate) fn judge(&self, facts: &TurnFacts<'_>) -> Option<Reason> {
        let reading = facts.reading;
        let cue = reading.is_some_and(|r| r.cues.iter().any(|c| c == ASKED_FOR_HUMAN_CUE));
        if self.asked_for_human && (cue || asks_for_human(facts.text)) {
            return Some(Reason::AskedForHuman);
        }
        if let (Some(limit), Some(r)) = (self.frustration, reading)
            && r.score >= limit
        {
            return Some(Reason::Frustration(r.score));
        }
        if let (Some(limit), Some(r)) = (self.rising, reading)
            && r.trend >= limit
            && r.score >= RISING_MIN_SCORE
        {
            return Some(Reason::Rising {
                score: r.score,
                trend: r.trend,
            });
        }
        if facts.not_understood && facts.caller.is_some_and(|c| is_vip(&self.vip, c)) {
            return Some(Reason::Vip);
        }
        if let Some(limit) = self.failures.filter(|&n| facts.failures >= n) {
            return Some(Reason::Failures(limit.max(facts.failures)));
        }
        if let Some(limit) = self.low_confidence.filter(|&n| facts.low_confidence >= n) {
            return Some(Reason::LowConfidence(limit.max(facts.low_confidence)));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts<'a>(reading: Option<&'a Reading>, text: &'a str) -> TurnFacts<'a> {
        TurnFacts {
            failures: 0,
            low_confidence: 0,
            not_understood: false,
            reading,
            text,
            caller: Some("sip:+4930123456@pbx.example"),
        }
    }

    fn reading(score: f32, trend: f32) -> Reading {
        Reading {
            score,
            trend,
            cues: Vec::new(),
        }
    }

    #[test]
    fn words_asking_for_a_person() {
        assert!(asks_for_human("Get me a person!"));
        assert!(asks_for_human("agents, please"));
        assert!(asks_for_human("can I talk to a representative"));
        assert!(!asks_for_human("I don't need an agent"));
        assert!(!asks_for_human("where is my parcel"));
    }

    #[test]
    fn each_rule_fires_on_its_own() {
        let rules = EscalationRules {
            failures: Some(2),
            frustration: Some(0.7),
            rising: Some(0.15),
            low_confidence: Some(2),
            asked_for_human: true,
            vip: vec!["+4930123456".into()],
        };
        assert_eq!(rules.judge(&facts(None, "hello")), None);
        let angry = reading(0.75, 0.0);
        assert_eq!(
            rules.judge(&facts(Some(&angry), "hello")),
            Some(Reason::Frustration(0.75))
        );
        let rising = reading(0.5, 0.2);
        assert_eq!(
            rules
                .judge(&facts(Some(&rising), "hello"))
                .map(|r| r.kind()),
            Some("rising_frustration")
        );
        let rising_but_calm = reading(0.3, 0.2);
        assert_eq!(rules.judge(&facts(Some(&rising_but_calm), "hello")), None);
        let mut cue = reading(0.2, 0.0);
        cue.cues.push("asked_for_human".into());
        assert_eq!(
            rules.judge(&facts(Some(&cue), "hm")),
            Some(Reason::AskedForHuman)
        );
        let mut vip = facts(None, "hello");
        vip.not_understood = true;
        assert_eq!(rules.judge(&vip), Some(Reason::Vip));
        vip.caller = Some("+49301");
        assert_eq!(rules.judge(&vip), None);
        vip.failures = 2;
        assert_eq!(rules.judge(&vip), Some(Reason::Failures(2)));
        let mut hard = facts(None, "hello");
        hard.low_confidence = 2;
        assert_eq!(rules.judge(&hard), Some(Reason::LowConfidence(2)));
        assert_eq!(EscalationRules::default().judge(&hard), None);
    }
}
