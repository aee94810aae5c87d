//! Reads a `bot` step: its questions, its intents and their slots, and its escalation rules.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono_tz::Tz;
use toml::de::{DeTable, DeValue};

use super::{Reader, Span, Value};
use crate::bot::{Bot, Intent};
use crate::escalation::EscalationRules;
use crate::handoff;
use crate::slots::{SLOT_TYPES, Slot, SlotKind};
use crate::template::is_variable_name;
use crate::validate::suggestion;

const BOT_KEYS: [&str; 18] = [
    "prompt",
    "again",
    "no_match",
    "no_input",
    "interruptible",
    "timeout",
    "end_silence",
    "max_speech",
    "min_confidence",
    "understand_timeout",
    "max_turns",
    "var_prefix",
    "on_escalate",
    "on_done",
    "on_overload",
    "ask_helpful",
    "escalate",
    "intents",
];
const INTENT_KEYS: [&str; 3] = ["slots", "next", "escalate"];
const SLOT_KEYS: [&str; 8] = [
    "type",
    "ask",
    "invalid",
    "confirm",
    "min",
    "max",
    "terminator",
    "inter_digit_timeout",
];
const ESCALATE_KEYS: [&str; 6] = [
    "failures",
    "frustration",
    "rising",
    "low_confidence",
    "asked_for_human",
    "vip",
];
/// The longest wait for the knowledge base: the caller hears silence meanwhile.
const MAX_UNDERSTAND_TIMEOUT: Duration = Duration::from_secs(10);

impl Reader<'_> {
    pub(super) fn bot(&mut self, value: &Value<'_>, default_tz: Option<Option<Tz>>) -> Option<Bot> {
        let table = self.table(value, "bot", &BOT_KEYS)?;
        let span = value.span();
        let prompt = self
            .required(table, span.clone(), "bot", "prompt")
            .and_then(|v| self.prompt(v, "prompt"));
        let prompts = ["again", "no_match", "no_input"]
            .map(|key| self.optional(table.get(key), Vec::new(), |r, v| r.prompt(v, key)));
        let interruptible = self.optional(table.get("interruptible"), true, |r, v| {
            r.boolean(v, "interruptible")
        });
        let timeout = self.optional(table.get("timeout"), Duration::from_secs(5), |r, v| {
            r.duration(v, "timeout")
        });
        let end_silence = self.optional(table.get("end_silence"), None, |r, v| {
            r.duration(v, "end_silence").map(Some)
        });
        let max_speech = self.optional(table.get("max_speech"), Duration::from_secs(15), |r, v| {
            r.duration(v, "max_speech")
        });
        let min_confidence = self.optional(table.get("min_confidence"), 0.0, |r, v| {
            r.fraction(v, "min_confidence")
        });
        let understand_timeout = self.optional(
            table.get("understand_timeout"),
            Duration::from_secs(3),
            |r, v| {
                let timeout = r.duration(v, "understand_timeout")?;
                if timeout > MAX_UNDERSTAND_TIMEOUT {
                    let most = MAX_UNDERSTAND_TIMEOUT.as_secs();
                    r.error(
                        v.span(),
                        format!("`understand_timeout` must be at most {most}s: the caller waits in silence"),
                    );
                    return None;
                }
                Some(timeout)
            },
        );
        let max_turns = self.optional(table.get("max_turns"), 20, |r, v| {
            let turns = r.count(v, "max_turns")?;
            if turns == 0 {
                r.error(v.span(), "`max_turns` must be at least 1");
                return None;
            }
            Some(turns)
        });
        let var_prefix = self.optional(table.get("var_prefix"), "bot".to_string(), |r, v| {
            let prefix = r.string(v, "var_prefix")?;
            if !is_variable_name(&prefix) {
                r.error(
                    v.span(),
                    format!("`var_prefix` `{prefix}` must be a variable name (letters, digits and _, not starting with a digit)"),
                );
                return None;
            }
            Some(prefix)
        });
        if let Some(prefix) = &var_prefix {
            for var in ["intent", "answer"] {
                self.graph.declared.insert(format!("{prefix}_{var}"));
            }
        }
        for var in [
            handoff::REASON_VAR,
            handoff::INTENT_VAR,
            handoff::SUMMARY_VAR,
            handoff::PRIORITY_VAR,
        ] {
            self.graph.declared.insert(var.to_string());
        }
        let on_done = self
            .required(table, span.clone(), "bot", "on_done")
            .and_then(|v| self.target(v, "on_done"));
        let on_escalate = self.optional(table.get("on_escalate"), None, |r, v| {
            r.target(v, "on_escalate").map(Some)
        });
        let on_overload = self.optional(table.get("on_overload"), None, |r, v| {
            r.target(v, "on_overload").map(Some)
        });
        let ask_helpful = self.optional(table.get("ask_helpful"), false, |r, v| {
            r.boolean(v, "ask_helpful")
        });
        let escalate = self.optional(
            table.get("escalate"),
            EscalationRules::default(),
            Self::escalation_rules,
        );
        let intents = self.optional(table.get("intents"), BTreeMap::new(), Self::intents);
        self.check_escalation(table, span, &escalate, &intents, &on_escalate);
        if let (Some(rules), Some(0.0)) = (&escalate, min_confidence)
            && rules.low_confidence.is_some()
        {
            let at = table
                .get("escalate")
                .and_then(|e| match e.get_ref() {
                    DeValue::Table(t) => t.get_key_value("low_confidence").map(|(k, _)| k.span()),
                    _ => None,
                })
                .unwrap_or_default();
            self.error(
                at,
                "`low_confidence` counts turns below `min_confidence`; give the step a `min_confidence` above 0",
            );
        }
        let [again, no_match, no_input] = prompts;
        let prompt = prompt?;
        let again = again?;
        let intents = intents?;
        let hints = intents
            .keys()
            .map(|name| name.replace(['_', '-'], " "))
            .collect();
        Some(Bot {
            again: if again.is_empty() {
                prompt.clone()
            } else {
                again
            },
            prompt,
            no_match: no_match?,
            no_input: no_input?,
            interruptible: interruptible?,
            timeout: timeout?,
            end_silence: end_silence?,
            max_speech: max_speech?,
            min_confidence: min_confidence?,
            understand_timeout: understand_timeout?,
            max_turns: max_turns?,
            var_prefix: var_prefix?,
            on_escalate: on_escalate?,
            on_done: on_done?,
            on_overload: on_overload?,
            ask_helpful: ask_helpful?,
            escalate: escalate?,
            intents,
            timezone: default_tz.flatten(),
            hints,
        })
    }

    /// Escalation rules and escalating intents need `on_escalate`, the node to hand over to.
    fn check_escalation(
        &mut self,
        table: &DeTable<'_>,
        span: Span,
        rules: &Option<EscalationRules>,
        intents: &Option<BTreeMap<String, Intent>>,
        on_escalate: &Option<Option<String>>,
    ) {
        if !matches!(on_escalate, Some(None)) {
            return;
        }
        let by_rules = rules.as_ref().is_some_and(EscalationRules::any);
        let by_intent = intents
            .as_ref()
            .and_then(|intents| intents.iter().find(|(_, intent)| intent.escalate))
            .map(|(name, _)| name.clone());
        let at = |key: &str| table.get_key_value(key).map(|(k, _)| k.span());
        if by_rules {
            self.error(
                at("escalate").unwrap_or(span),
                "`escalate` rules need `on_escalate`, the node to hand the caller over to",
            );
        } else if let Some(name) = by_intent {
            self.error(
                at("intents").unwrap_or(span),
                format!("intent `{name}` escalates, but the step has no `on_escalate`, the node to hand the caller over to"),
            );
        }
    }

    fn escalation_rules(&mut self, value: &Value<'_>) -> Option<EscalationRules> {
        let table = self.table(value, "escalate", &ESCALATE_KEYS)?;
        let turns = |r: &mut Self, key: &str| {
            r.optional(table.get(key), None, |r, v| {
                let count = r.count(v, key)?;
                if count == 0 {
                    r.error(v.span(), format!("`{key}` must be at least 1"));
                    return None;
                }
                Some(Some(count))
            })
        };
        let failures = turns(self, "failures");
        let low_confidence = turns(self, "low_confidence");
        let frustration = self.optional(table.get("frustration"), None, |r, v| {
            r.fraction(v, "frustration").map(Some)
        });
        let rising = self.optional(table.get("rising"), None, |r, v| {
            r.fraction(v, "rising").map(Some)
        });
        let asked_for_human = self.optional(table.get("asked_for_human"), false, |r, v| {
            r.boolean(v, "asked_for_human")
        });
        let vip = self.optional(table.get("vip"), Vec::new(), |r, v| {
            r.string_list(v, "vip")
                .map(|numbers| numbers.into_iter().map(|(n, _)| n).collect())
        });
        Some(EscalationRules {
            failures: failures?,
            frustration: frustration?,
            rising: rising?,
            low_confidence: low_confidence?,
            asked_for_human: asked_for_human?,
            vip: vip?,
        })
    }

    fn intents(&mut self, value: &Value<'_>) -> Option<BTreeMap<String, Intent>> {
        let DeValue::Table(table) = value.get_ref() else {
            self.type_error(value, "intents", "a table of [….intents.NAME] tables");
            return None;
        };
        let mut intents = Some(BTreeMap::new());
        for (name, item) in table.iter() {
            let intent = self.intent(name.get_ref(), item);
            intents = intents.zip(intent).map(|(mut all, intent)| {
                all.insert(name.get_ref().to_string(), intent);
                all
            });
        }
        intents
    }

    fn intent(&mut self, name: &str, value: &Value<'_>) -> Option<Intent> {
        let path = format!("intents.{name}");
        let table = self.table(value, &path, &INTENT_KEYS)?;
        let slots = self.optional(table.get("slots"), Vec::new(), Self::slots);
        let next = self.optional(table.get("next"), None, |r, v| {
            r.target(v, "next").map(Some)
        });
        let escalate = self.optional(table.get("escalate"), false, |r, v| {
            r.boolean(v, "escalate")
        });
        match (&slots, &next, escalate) {
            (Some(slots), Some(next), Some(true)) if !slots.is_empty() || next.is_some() => {
                self.error(
                    value.span(),
                    format!("intent `{name}` escalates, so `slots` and `next` are never used"),
                );
                return None;
            }
            (Some(slots), Some(None), Some(false)) if slots.is_empty() => {
                self.error(
                    value.span(),
                    format!("intent `{name}` needs `slots`, `next` or `escalate = true`; other intents are answered from the knowledge base without being listed"),
                );
                return None;
            }
            _ => {}
        }
        Some(Intent {
            slots: slots?,
            next: next?,
            escalate: escalate?,
        })
    }

    fn slots(&mut self, value: &Value<'_>) -> Option<Vec<Slot>> {
        let DeValue::Table(table) = value.get_ref() else {
            self.type_error(value, "slots", "a table of name = { type = …, ask = … }");
            return None;
        };
        // In file order: that is the order they are asked in.
        let mut items: Vec<_> = table.iter().collect();
        items.sort_by_key(|(name, _)| name.span().start);
        let mut slots = Some(Vec::new());
        for (name, item) in items {
            let slot = self.slot(name.get_ref(), name.span(), item);
            slots = slots.zip(slot).map(|(mut all, slot)| {
                all.push(slot);
                all
            });
        }
        slots
    }

    fn slot(&mut self, name: &str, name_span: Span, value: &Value<'_>) -> Option<Slot> {
        let path = format!("slots.{name}");
        let table = self.table(value, &path, &SLOT_KEYS)?;
        let span = value.span();
        let var = self.variable(name, name_span);
        let kind_name = self
            .required(table, span.clone(), &path, "type")
            .and_then(|v| {
                let text = self.string(v, "type")?;
                let found = SLOT_TYPES.iter().find(|t| **t == text).copied();
                if found.is_none() {
                    let hint = suggestion(&text, SLOT_TYPES.iter().copied());
                    self.error(
                        v.span(),
                        format!(
                            "unknown slot type `{text}`; use digits, yes_no, date or amount{hint}"
                        ),
                    );
                }
                found
            });
        let ask = self
            .required(table, span.clone(), &path, "ask")
            .and_then(|v| self.prompt(v, "ask"));
        let invalid = self.optional(table.get("invalid"), Vec::new(), |r, v| {
            r.prompt(v, "invalid")
        });
        let confirm = self.optional(table.get("confirm"), false, |r, v| r.boolean(v, "confirm"));
        let kind = match kind_name? {
            "digits" => self.digit_entry(table, span).map(SlotKind::Digits),
            "amount" => self.amount_limits(table),
            other => {
                let kind = if other == "date" {
                    SlotKind::Date
                } else {
                    SlotKind::YesNo
                };
                for key in ["min", "max"] {
                    if let Some((k, _)) = table.get_key_value(key) {
                        self.error(
                            k.span(),
                            format!("`{key}` is only for digits and amount slots"),
                        );
                    }
                }
                Some(kind)
            }
        };
        if !matches!(kind, Some(SlotKind::Digits(_))) {
            for key in ["terminator", "inter_digit_timeout"] {
                if let Some((k, _)) = table.get_key_value(key) {
                    self.error(k.span(), format!("`{key}` is only for digits slots"));
                }
            }
        }
        Some(Slot {
            name: var?,
            kind: kind?,
            ask: ask?,
            invalid: invalid?,
            confirm: confirm?,
        })
    }

    /// `min` and `max` of an amount slot, in the currency's units.
    fn amount_limits(&mut self, table: &DeTable<'_>) -> Option<SlotKind> {
        let [min, max] = ["min", "max"].map(|key| {
            self.optional(table.get(key), None, |r, v| {
                r.number(v, key, "a number")
                    .map(|n| Some((n * 100.0).round() as i64))
            })
        });
        if let (Some(Some(low)), Some(Some(high))) = (min, max)
            && low > high
        {
            let at = table.get("min").map(|v| v.span()).unwrap_or_default();
            self.error(
                at,
                format!(
                    "`min` ({}) is more than `max` ({})",
                    low as f64 / 100.0,
                    high as f64 / 100.0
                ),
            );
        }
        Some(SlotKind::Amount {
            min_cents: min?,
            max_cents: max?,
        })
    }
}
