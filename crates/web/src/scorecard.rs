//! The QA scorecard: `[scorecard]` with `[[scorecard.criterion]]` tables in the config, checked
//! at start, and the scoring of a reviewer's answers (sans-IO: plain data in, total or the
//! reasons out).
//!
//! A total is the weighted percentage of the answers: yes = 1, no = 0, a scale answer v of
//! 1..5 counts (v − 1) / 4; Σ weight·value / Σ weight × 100, rounded to one decimal.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// `[scorecard]` as written in the config file (checked by [`Scorecard::from_config`]).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScorecardConfig {
    /// Shown above the form.
    pub name: String,
    /// `[[scorecard.criterion]]` tables, in the order the form shows them.
    #[serde(default, rename = "criterion")]
    pub criteria: Vec<CriterionConfig>,
}

/// `[[scorecard.criterion]]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CriterionConfig {
    /// Key of the answer (`answers.<id>`).
    pub id: String,
    /// The question a reviewer answers.
    pub label: String,
    /// `yes_no` or `scale` (1–5); read as text so an error can name the criterion.
    pub kind: String,
    /// Relative weight in the total, > 0.
    pub weight: f64,
}

/// How a criterion is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CriterionKind {
    /// `true` or `false`.
    YesNo,
    /// A whole number from 1 to 5.
    Scale,
}

/// One checked criterion.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Criterion {
    /// Key of the answer.
    pub id: String,
    /// The question.
    pub label: String,
    /// How it is answered.
    pub kind: CriterionKind,
    /// Relative weight.
    pub weight: f64,
}

/// A checked scorecard (what `GET /api/scorecard` shows).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scorecard {
    /// Its name.
    pub name: String,
    /// Its criteria, in order.
    pub criteria: Vec<Criterion>,
}

/// The lowest and highest answer of a `scale` criterion.
pub const SCALE: (i64, i64) = (1, 5);

/// Why answers do not fit the scorecard: one sentence per problem, each naming its criterion.
#[derive(Debug, Clone, PartialEq)]
pub struct AnswerProblems(pub Vec<(String, String)>);

impl AnswerProblems {
    /// The first problem as a sentence.
    pub fn message(&self) -> String {
        match self.0.first() {
            Some((id, problem)) => format!("criterion `{id}`: {problem}"),
            None => "the answers do not fit the scorecard".into(),
        }
    }

    /// Every problem, as JSON for an error's `detail`.
    pub fn detail(&self) -> Value {
        let problems: Vec<Value> = self
            .0
            .iter()
            .map(|(id, problem)| json!({ "criterion": id, "problem": problem }))
            .collect();
        json!({ "problems": problems })
    }
}

impl Default for Scorecard {
    /// The built-in scorecard, used when the config has no `[scorecard]`.
    fn default() -> Self {
        let c = |id: &str, label: &str, kind, weight| Criterion {
            id: id.into(),
            label: label.into(),
            kind,
            weight,
        };
        Scorecard {
            name: "Support QA".into(),
            criteria: vec![
                c(
                    "greeting",
                    "Greeted the caller and gave their name",
                    CriterionKind::YesNo,
                    1.0,
                ),
                c(
                    "identified_need",
                    "Understood what the caller needed",
                    CriterionKind::Scale,
                    2.0,
                ),
                c("empathy", "Showed empathy", CriterionKind::Scale, 2.0),
                c(
                    "resolution",
                    "Resolved the request or set a clear next step",
                    CriterionKind::YesNo,
                    3.0,
                ),
                c(
                    "compliance",
                    "Handled personal data by the rules (no card number read back)",
                    CriterionKind::YesNo,
                    2.0,
                ),
            ],
        }
    }
}

impl Scorecard {
    /// Checks a configured scorecard: at least one criterion, unique non-empty ids, known
    /// kinds, weights above 0. The error names the criterion.
    pub fn from_config(config: &ScorecardConfig) -> Result<Scorecard, String> {
        if config.criteria.is_empty() {
            return Err(
                "[scorecard] has no criteria: add [[scorecard.criterion]] tables".to_string(),
            );
        }
        let mut criteria: Vec<Criterion> = Vec::with_capacity(config.criteria.len());
        for (i, c) in config.criteria.iter().enumerate() {
            let id = c.id.trim();
            let name = if id.is_empty() {
                format!("criterion #{}", i + 1)
            } else {
                format!("criterion {id:?}")
            };
            let fail = |why: String| Err(format!("[scorecard] {name}: {why}"));
            if id.is_empty() {
                return fail("id must not be empty".into());
            }
            if criteria.iter().any(|other| other.id == id) {
                return fail("the id is used twice".into());
            }
            let kind = match c.kind.as_str() {
                "yes_no" => CriterionKind::YesNo,
                "scale" => CriterionKind::Scale,
                other => return fail(format!("unknown kind {other:?} (yes_no or scale)")),
            };
            if !(c.weight.is_finite() && c.weight > 0.0) {
                return fail(format!("weight must be above 0 (is {})", c.weight));
            }
            criteria.push(Criterion {
                id: id.to_string(),
                label: c.label.clone(),
                kind,
                weight: c.weight,
            });
        }
        Ok(Scorecard {
            name: config.name.clone(),
            criteria,
        })
    }

    /// The total of `answers` (0..100, one decimal), or every problem with them: an answer
    /// missing, one for no criterion, a wrong type, a scale answer outside 1..5.
    pub fn total(&self, answers: &Map<String, Value>) -> Result<f64, AnswerProblems> {
        let mut problems = Vec::new();
        for id in answers.keys() {
            if !self.criteria.iter().any(|c| &c.id == id) {
                let known: Vec<&str> = self.criteria.iter().map(|c| c.id.as_str()).collect();
                problems.push((
                    id.clone(),
                    format!("no such criterion (the scorecard has {})", known.join(", ")),
                ));
            }
        }
        let (mut sum, mut weights) = (0.0, 0.0);
        for c in &self.criteria {
            let value = match (c.kind, answers.get(&c.id)) {
                (_, None) => {
                    problems.push((c.id.clone(), "no answer given".into()));
                    continue;
                }
                (CriterionKind::YesNo, Some(Value::Bool(yes))) => f64::from(u8::from(*yes)),
                (CriterionKind::YesNo, Some(other)) => {
                    problems.push((c.id.clone(), format!("must be true or false, not {other}")));
                    continue;
                }
                // `as_i64` is None for 2.5 and for 4.0 alike: whole numbers only.
                (CriterionKind::Scale, Some(v)) => {
                    match v.as_i64().filter(|n| (SCALE.0..=SCALE.1).contains(n)) {
                        Some(n) => (n - SCALE.0) as f64 / (SCALE.1 - SCALE.0) as f64,
                        None => {
                            problems.push((
                                c.id.clone(),
                                format!("must be a whole number from 1 to 5, not {v}"),
                            ));
                            continue;
                        }
                    }
                }
            };
            sum += c.weight * value;
            weights += c.weight;
        }
        if !problems.is_empty() {
            return Err(AnswerProblems(problems));
        }
        Ok((sum / weights * 1000.0).round() / 10.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(criteria: &[(&str, &str, f64)]) -> ScorecardConfig {
        ScorecardConfig {
            name: "QA".into(),
            criteria: criteria
                .iter()
                .map(|(id, kind, weight)| CriterionConfig {
                    id: id.to_string(),
                    label: format!("{id}?"),
                    kind: kind.to_string(),
                    weight: *weight,
                })
                .collect(),
        }
    }

    fn answers(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn the_example_totals_83_3() {
        let card = Scorecard::from_config(&config(&[
            ("greeting", "yes_no", 1.0),
            ("empathy", "scale", 2.0),
        ]))
        .unwrap();
        let total = card.total(&answers(json!({"greeting": true, "empathy": 4})));
        assert_eq!(total, Ok(83.3));
        let total = card.total(&answers(json!({"greeting": false, "empathy": 1})));
        assert_eq!(total, Ok(0.0));
        let total = card.total(&answers(json!({"greeting": true, "empathy": 5})));
        assert_eq!(total, Ok(100.0));
    }

    #[test]
    fn bad_configs_name_the_criterion() {
        for (criteria, says) in [
            (&[][..], "no criteria"),
            (
                &[("a", "yes_no", 1.0), ("a", "scale", 1.0)],
                "criterion \"a\": the id is used twice",
            ),
            (
                &[("tone", "stars", 1.0)],
                "criterion \"tone\": unknown kind \"stars\"",
            ),
            (
                &[("tone", "scale", 0.0)],
                "criterion \"tone\": weight must be above 0",
            ),
            (&[("tone", "scale", -2.0)], "weight must be above 0"),
            (&[("tone", "scale", f64::NAN)], "weight must be above 0"),
            (&[(" ", "scale", 1.0)], "criterion #1: id must not be empty"),
        ] {
            let e = Scorecard::from_config(&config(criteria)).unwrap_err();
            assert!(e.contains(says), "{criteria:?}: {e}");
        }
    }

    #[test]
    fn the_built_in_scorecard_is_valid() {
        let card = Scorecard::default();
        assert!((4..=5).contains(&card.criteria.len()));
        let back = ScorecardConfig {
            name: card.name.clone(),
            criteria: card
                .criteria
                .iter()
                .map(|c| CriterionConfig {
                    id: c.id.clone(),
                    label: c.label.clone(),
                    kind: serde_json::to_value(c.kind)
                        .unwrap()
                        .as_str()
                        .unwrap()
                        .into(),
                    weight: c.weight,
                })
                .collect(),
        };
        assert_eq!(Scorecard::from_config(&back), Ok(card));
    }

    #[test]
    fn every_bad_answer_is_named() {
        let card = Scorecard::from_config(&config(&[
            ("greeting", "yes_no", 1.0),
            ("empathy", "scale", 2.0),
        ]))
        .unwrap();
        for (given, criterion, says) in [
            (json!({"greeting": true}), "empathy", "no answer given"),
            (
                json!({"greeting": "yes", "empathy": 3}),
                "greeting",
                "true or false",
            ),
            (
                json!({"greeting": true, "empathy": 6}),
                "empathy",
                "from 1 to 5",
            ),
            (
                json!({"greeting": true, "empathy": 0}),
                "empathy",
                "from 1 to 5",
            ),
            (
                json!({"greeting": true, "empathy": 2.5}),
                "empathy",
                "whole number",
            ),
            (
                json!({"greeting": true, "empathy": "4"}),
                "empathy",
                "whole number",
            ),
            (
                json!({"greeting": true, "empathy": true}),
                "empathy",
                "whole number",
            ),
            (
                json!({"greeting": true, "empathy": 3, "tone": 2}),
                "tone",
                "no such criterion (the scorecard has greeting, empathy)",
            ),
        ] {
            let problems = card.total(&answers(given.clone())).unwrap_err();
            assert!(
                problems
                    .message()
                    .starts_with(&format!("criterion `{criterion}`: "))
                    && problems.message().contains(says),
                "{given}: {problems:?}"
            );
            assert_eq!(problems.detail()["problems"][0]["criterion"], criterion);
        }
        let many = card.total(&answers(json!({"x": 1}))).unwrap_err();
        assert_eq!(many.0.len(), 3, "every problem: {many:?}");
    }
}
