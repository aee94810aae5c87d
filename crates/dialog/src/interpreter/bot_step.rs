//! The `bot` step in the interpreter: turns of asking, listening and understanding until an
//! intent leaves the step, the caller has no more questions, or the caller is handed over.
//!
//! Each turn: the bot asks (the open question, a slot, a confirmation, "did that help?", or
//! "is this about X or Y?") while listening; the answer is read here (slots, yes or no, a
//! pick) or, for open questions, sent to the knowledge base (`Output::Understand`), whose
//! reply (`Input::Understood`) decides the turn. Every decision first judges the escalation
//! rules with the latest frustration reading.

use std::sync::Arc;
use std::time::Instant;

use chrono::NaiveDate;
use serde_json::{Value, json};

use super::{After, DialplanInterpreter, Heard, Output, PromptItem, Said, State, TurnContext};
use crate::bot::{
    Asking, Bot, Conversation, KbAnswer, Serving, SlotValue, Understanding, caller_is_done,
    is_follow_up, pick,
};
use crate::escalation::{Reason, TurnFacts};
use crate::format::{Action, PromptPart};
use crate::handoff::handoff;
use crate::interpreter::ListenRequest;
use crate::slots::{Invalid, Slot, SlotKind};
use crate::template::Template;
use crate::understand::{sounds_finished, spoken_digits, words, yes_or_no};

/// Asked after an answer when the step has `ask_helpful = true`.
const HELPFUL_QUESTION: &str = "Did that answer your question?";

impl DialplanInterpreter {
    /// Enters a bot step: the first question, or `again` when the call comes back to it.
    pub(super) fn bot_enter(&mut self, now: Instant, bot: &Bot) -> Option<String> {
        let conversation = self.conversation();
        // An intent left half-served (the caller was handed over) is not taken up again.
        conversation.serving = None;
        let again = conversation.turns > 0;
        self.bot_ask(now, bot, Vec::new(), Asking::Question { again })
    }

    /// Runs `f` with the current node's bot; `None` if the node is not a bot.
    fn with_bot(&mut self, f: impl FnOnce(&mut Self, &Bot) -> Option<String>) -> Option<String> {
        let plan = Arc::clone(&self.plan);
        match plan.nodes.get(&self.node) {
            Some(Action::Bot(bot)) => f(self, bot),
            _ => None,
        }
    }

    /// The current bot step's memory of the call.
    fn conversation(&mut self) -> &mut Conversation {
        self.conversations.entry(self.node.clone()).or_default()
    }

    /// Whether the current question can be answered by keys.
    pub(super) fn bot_takes_keys(&self, bot: &Bot) -> bool {
        match self.conversations.get(&self.node).map(|c| &c.asking) {
            Some(Asking::Confirm { .. } | Asking::Helpful(_)) => true,
            Some(Asking::Slot(name)) => {
                slot(bot, self.serving(), name).is_some_and(|slot| slot.kind.takes_keys())
            }
            _ => false,
        }
    }

    fn serving(&self) -> Option<&Serving> {
        self.conversations.get(&self.node)?.serving.as_ref()
    }

    /// Today in the step's time zone, by the call's clock.
    fn today(&self, now: Instant, bot: &Bot) -> NaiveDate {
        let utc = self.wall_time(now);
        match bot.timezone {
            Some(tz) => utc.with_timezone(&tz).date_naive(),
            None => utc.date_naive(),
        }
    }

    /// Asks `asking` after `lead_in` (an answer or a notice), listening from the start.
    fn bot_ask(
        &mut self,
        now: Instant,
        bot: &Bot,
        lead_in: Vec<PromptItem>,
        asking: Asking,
    ) -> Option<String> {
        let turns = self.conversation().turns;
        if turns >= bot.max_turns {
            return self.bot_done(bot, "max_turns");
        }
        let serving = self.serving();
        let (question, context) = match &asking {
            Asking::Question { again } => (
                self.render(if *again { &bot.again } else { &bot.prompt }),
                TurnContext::General,
            ),
            Asking::Slot(name) => {
                let slot = slot(bot, serving, name)?;
                let context = match slot.kind {
                    SlotKind::Digits(_) => TurnContext::Digits,
                    SlotKind::YesNo => TurnContext::YesNo,
                    SlotKind::Date | SlotKind::Amount { .. } => TurnContext::General,
                };
                (self.render(&slot.ask), context)
            }
            Asking::Confirm { slot: name, value } => {
                let spoken = slot(bot, serving, name)?.kind.spoken(value);
                let text = format!("I heard {spoken}, is that right?");
                (vec![PromptItem::Say(text)], TurnContext::YesNo)
            }
            Asking::Helpful(_) => (
                vec![PromptItem::Say(HELPFUL_QUESTION.into())],
                TurnContext::YesNo,
            ),
            Asking::Clarify(candidates) => {
                let (first, second) = (&candidates.0.label, &candidates.1.label);
                let text = format!("Is this about {first} or {second}?");
                (vec![PromptItem::Say(text)], TurnContext::General)
            }
        };
        let mut data = json!({ "node": self.node, "turn": turns + 1, "asking": asking.kind() });
        if let Asking::Slot(name) | Asking::Confirm { slot: name, .. } = &asking {
            data["slot"] = json!(name);
        }
        self.event("bot_question", data);
        let hints = match asking {
            Asking::Question { .. } => bot.hints.clone(),
            _ => Vec::new(),
        };
        self.conversation().asking = asking;
        if !self.bot_takes_keys(bot) {
            // Keys typed ahead were meant for a step that takes keys; this question does not.
            self.type_ahead.clear();
        }
        let after = After::Wait { attempt: turns + 1 };
        if !self.skips_prompt(bot.interruptible, &after) {
            self.listen_for(ListenRequest {
                context,
                end_silence: bot.end_silence,
                max_speech: bot.max_speech,
                hints,
            });
        }
        let mut items = lead_in;
        items.extend(question);
        self.play_items(now, items, bot.interruptible, after)
    }

    /// A result from the recognizer for the bot's question.
    pub(super) fn bot_heard(&mut self, now: Instant, heard: Heard) -> Option<String> {
        self.end_turn();
        self.with_bot(|this, bot| match heard {
            Heard::Unavailable { timed_out } => {
                let attempt = this.conversation().turns + 1;
                this.event(
                    "speech_unavailable",
                    json!({
                        "node": this.node,
                        "attempt": attempt,
                        "timed_out": timed_out,
                        "target": bot.on_overload,
                    }),
                );
                match &bot.on_overload {
                    Some(target) => Some(target.clone()),
                    None => this.bot_no_input(now, bot),
                }
            }
            Heard::Utterance { text, confidence } => {
                this.bot_utterance(now, bot, &text, confidence)
            }
        })
    }

    /// No answer: the `no_input` notice and the same question again.
    fn bot_no_input(&mut self, now: Instant, bot: &Bot) -> Option<String> {
        let conversation = self.conversation();
        conversation.turns += 1;
        let asking = conversation.asking.clone();
        let turn = conversation.turns;
        self.event("bot_no_input", json!({ "node": self.node, "turn": turn }));
        let notice = self.render(&bot.no_input);
        self.bot_ask(now, bot, notice, asking)
    }

    fn bot_utterance(
        &mut self,
        now: Instant,
        bot: &Bot,
        text: &str,
        confidence: f32,
    ) -> Option<String> {
        if text.trim().is_empty() {
            // Voice without words (a cough, a noise) is no answer at all.
            return self.bot_no_input(now, bot);
        }
        let conversation = self.conversation();
        conversation.turns += 1;
        conversation.heard(text);
        if confidence < bot.min_confidence {
            conversation.low_confidence += 1;
            return self.bot_not_understood(now, bot, "low confidence", &[]);
        }
        conversation.low_confidence = 0;
        let said = Said::Speech(text);
        match conversation.asking.clone() {
            Asking::Question { again: true } if caller_is_done(text) => self
                .bot_judge(bot, text, false, None)
                .or_else(|| self.bot_done(bot, "caller")),
            Asking::Question { again: true }
                if yes_or_no(text) == Some(true) && words(text).len() <= 2 =>
            {
                // "Anything else?" – "Yes.": ask what it is.
                self.bot_ask(now, bot, Vec::new(), Asking::Question { again: false })
            }
            Asking::Question { .. } => self.bot_understand(now, bot, text),
            Asking::Helpful(intent) => match yes_or_no(text) {
                Some(helpful) => self.bot_helpful(now, bot, &intent, helpful, said),
                // Not a yes or no: a new question instead.
                None => self.bot_understand(now, bot, text),
            },
            Asking::Slot(name) => {
                let slot = slot(bot, self.serving(), &name)?.clone();
                match slot.kind.read(text, self.today(now, bot)) {
                    Ok(value) => self.bot_slot_value(now, bot, &slot, value, said),
                    Err(invalid) => self.bot_slot_invalid(now, bot, &slot, invalid, said),
                }
            }
            Asking::Confirm { slot: name, value } => {
                self.bot_confirmed(now, bot, &name, &value, yes_or_no(text), said)
            }
            Asking::Clarify(candidates) => {
                let (first, second) = *candidates;
                match pick(text, &first, &second) {
                    Some(chosen) => {
                        let answer = if chosen == 0 { first } else { second }.answer;
                        self.bot_decide(now, bot, text, Understanding::Answer(answer))
                    }
                    None => self.bot_not_understood(now, bot, "no choice", &[]),
                }
            }
        }
    }

    /// Sends the caller's words to the knowledge base and waits for its reading.
    fn bot_understand(&mut self, now: Instant, bot: &Bot, text: &str) -> Option<String> {
        self.outputs.push_back(Output::Understand {
            text: text.to_string(),
        });
        self.state = State::BotUnderstand {
            text: text.to_string(),
            deadline: now + bot.understand_timeout,
        };
        None
    }

    /// The knowledge base's reading of the words sent; ignored unless the bot waits for it.
    pub(super) fn bot_understood(
        &mut self,
        now: Instant,
        understanding: Understanding,
    ) -> Option<String> {
        if !matches!(self.state, State::BotUnderstand { .. }) {
            // A late reading, after the timeout or a hang-up: the turn is decided already.
            return None;
        }
        let State::BotUnderstand { text, .. } = self.take_state() else {
            return None;
        };
        self.with_bot(|this, bot| this.bot_decide(now, bot, &text, understanding))
    }

    /// The knowledge base took too long: the turn counts as not understood.
    pub(super) fn bot_understand_timeout(&mut self, now: Instant, text: &str) -> Option<String> {
        self.with_bot(|this, bot| {
            let timeout = bot.understand_timeout.as_millis() as u64;
            this.event(
                "understand_timeout",
                json!({ "node": this.node, "text": text, "timeout_ms": timeout }),
            );
            this.bot_not_understood(now, bot, "understand timeout", &[])
        })
    }

    /// Acts on what the caller's words were about.
    fn bot_decide(
        &mut self,
        now: Instant,
        bot: &Bot,
        text: &str,
        understanding: Understanding,
    ) -> Option<String> {
        match understanding {
            Understanding::Answer(answer) => {
                self.event(
                    "kb_answer",
                    json!({
                        "node": self.node,
                        "intent": answer.intent,
                        "score": super::rounded(answer.score),
                        "priority": answer.priority,
                    }),
                );
                self.conversation().failures = 0;
                if let Some(target) = self.bot_judge(bot, text, false, Some(&answer)) {
                    return Some(target);
                }
                match bot.intents.get(&answer.intent) {
                    Some(intent) if intent.escalate => {
                        let reason = Reason::Intent(answer.intent.clone());
                        self.bot_escalate(bot, reason, Some(answer))
                    }
                    Some(_) => self.bot_serve(now, bot, answer, text),
                    None => self.bot_answer(now, bot, answer),
                }
            }
            Understanding::Clarify { first, second } => {
                self.event(
                    "kb_clarify",
                    json!({
                        "node": self.node,
                        "first": first.answer.intent,
                        "second": second.answer.intent,
                    }),
                );
                self.conversation().failures = 0;
                if let Some(target) = self.bot_judge(bot, text, false, None) {
                    return Some(target);
                }
                let asking = Asking::Clarify(Box::new((first, second)));
                self.bot_ask(now, bot, Vec::new(), asking)
            }
            Understanding::NotUnderstood => {
                let today = self.today(now, bot);
                let follow_up = self.conversation().last.clone().filter(|last| {
                    let gives_value = slots_of(bot, &last.answer.intent)
                        .iter()
                        .any(|slot| slot.kind.find(text, today).is_some());
                    gives_value || is_follow_up(text)
                });
                match follow_up {
                    Some(last) => {
                        self.conversation().failures = 0;
                        if let Some(target) = self.bot_judge(bot, text, false, None) {
                            return Some(target);
                        }
                        let data = json!({ "node": self.node, "intent": last.answer.intent, "text": text });
                        self.event("bot_follow_up", data);
                        self.bot_serve(now, bot, last.answer, text)
                    }
                    None => self.bot_not_understood(now, bot, "out of scope", &[]),
                }
            }
        }
    }

    /// Starts serving an intent with slots or `next`: takes the slot values `text` gives,
    /// keeps the other values of the same intent served last when `text` gives at least one
    /// (a follow-up such as "what about order 7788"), then asks for what is missing.
    fn bot_serve(
        &mut self,
        now: Instant,
        bot: &Bot,
        answer: KbAnswer,
        text: &str,
    ) -> Option<String> {
        let today = self.today(now, bot);
        let found: Vec<(String, SlotValue)> = slots_of(bot, &answer.intent)
            .iter()
            .filter_map(|slot| {
                let value = slot.kind.find(text, today)?;
                let confirmed = !slot.confirm;
                Some((slot.name.clone(), SlotValue { value, confirmed }))
            })
            .collect();
        let conversation = self.conversation();
        let mut values = match &conversation.last {
            Some(last) if last.answer.intent == answer.intent && !found.is_empty() => {
                last.values.clone()
            }
            _ => Default::default(),
        };
        for (name, value) in &found {
            values.insert(name.clone(), value.clone());
        }
        let intent = answer.intent.clone();
        conversation.serving = Some(Serving { answer, values });
        for (name, value) in found {
            self.slot_event(&intent, &name, &value.value, Said::Speech(text));
        }
        self.bot_continue(now, bot)
    }

    fn slot_event(&mut self, intent: &str, slot: &str, value: &str, said: Said<'_>) {
        let data = json!({ "node": self.node, "intent": intent, "slot": slot, "value": value });
        self.event("slot_value", said.describe(data));
    }

    /// Asks for the first slot missing or unconfirmed; with all filled, leaves by `next` or
    /// says the answer.
    fn bot_continue(&mut self, now: Instant, bot: &Bot) -> Option<String> {
        let serving = self.serving()?.clone();
        let intent = bot.intents.get(&serving.answer.intent)?;
        for slot in &intent.slots {
            let asking = match serving.values.get(&slot.name) {
                None => Asking::Slot(slot.name.clone()),
                Some(v) if !v.confirmed => Asking::Confirm {
                    slot: slot.name.clone(),
                    value: v.value.clone(),
                },
                Some(_) => continue,
            };
            return self.bot_ask(now, bot, Vec::new(), asking);
        }
        let conversation = self.conversation();
        conversation.serving = None;
        conversation.last = Some(serving.clone());
        for (name, value) in &serving.values {
            self.vars.insert(name.clone(), value.value.clone());
        }
        match &intent.next {
            Some(next) => {
                let answer = self.render_answer(&serving.answer.answer);
                self.set_bot_vars(bot, &serving.answer.intent, answer);
                let slots: serde_json::Map<String, Value> = serving
                    .values
                    .iter()
                    .map(|(name, v)| (name.clone(), json!(v.value)))
                    .collect();
                let data = json!({ "node": self.node, "intent": serving.answer.intent, "slots": slots, "target": next });
                self.event("bot_intent", data);
                Some(next.clone())
            }
            None => self.bot_answer(now, bot, serving.answer),
        }
    }

    /// The answer text with the call's variables filled in; text that is not a valid
    /// template is said as it is.
    fn render_answer(&self, answer: &str) -> String {
        Template::parse(answer).map_or_else(|_| answer.to_string(), |t| t.render(&self.vars))
    }

    fn set_bot_vars(&mut self, bot: &Bot, intent: &str, answer: String) {
        let prefix = &bot.var_prefix;
        self.vars
            .insert(format!("{prefix}_intent"), intent.to_string());
        self.vars.insert(format!("{prefix}_answer"), answer);
    }

    /// Says the knowledge base's answer, then asks whether it helped or what else.
    fn bot_answer(&mut self, now: Instant, bot: &Bot, answer: KbAnswer) -> Option<String> {
        let text = self.render_answer(&answer.answer);
        self.set_bot_vars(bot, &answer.intent, text.clone());
        let lead_in = if text.trim().is_empty() {
            Vec::new()
        } else {
            vec![PromptItem::Say(text.clone())]
        };
        self.conversation().told.push((answer.intent.clone(), text));
        let asking = if bot.ask_helpful {
            Asking::Helpful(answer.intent)
        } else {
            Asking::Question { again: true }
        };
        self.bot_ask(now, bot, lead_in, asking)
    }

    fn bot_helpful(
        &mut self,
        now: Instant,
        bot: &Bot,
        intent: &str,
        helpful: bool,
        said: Said<'_>,
    ) -> Option<String> {
        let data = json!({ "node": self.node, "intent": intent, "helpful": helpful });
        self.event("kb_helpful", said.describe(data));
        self.conversation().failures = 0;
        let text = self.last_utterance();
        if let Some(target) = self.bot_judge(bot, &text, false, None) {
            return Some(target);
        }
        self.bot_ask(now, bot, Vec::new(), Asking::Question { again: true })
    }

    fn last_utterance(&self) -> String {
        self.conversations
            .get(&self.node)
            .and_then(|c| c.utterances.back().cloned())
            .unwrap_or_default()
    }

    /// A valid value for the slot asked: confirm it if the slot says so, else take it.
    fn bot_slot_value(
        &mut self,
        now: Instant,
        bot: &Bot,
        slot: &Slot,
        value: String,
        said: Said<'_>,
    ) -> Option<String> {
        self.conversation().failures = 0;
        let text = self.last_utterance();
        let intent = self.serving().map(|s| s.answer.clone());
        if let Some(target) = self.bot_judge(bot, &text, false, intent.as_ref()) {
            return Some(target);
        }
        let intent = intent.map(|i| i.intent).unwrap_or_default();
        self.slot_event(&intent, &slot.name, &value, said);
        if slot.confirm {
            let asking = Asking::Confirm {
                slot: slot.name.clone(),
                value,
            };
            return self.bot_ask(now, bot, Vec::new(), asking);
        }
        self.set_slot(&slot.name, value);
        self.bot_continue(now, bot)
    }

    fn set_slot(&mut self, name: &str, value: String) {
        if let Some(serving) = self.conversation().serving.as_mut() {
            let confirmed = true;
            serving
                .values
                .insert(name.to_string(), SlotValue { value, confirmed });
        }
    }

    fn bot_slot_invalid(
        &mut self,
        now: Instant,
        bot: &Bot,
        slot: &Slot,
        invalid: Invalid,
        said: Said<'_>,
    ) -> Option<String> {
        let mut data = json!({ "node": self.node, "slot": slot.name, "reason": invalid.reason() });
        if let Invalid::OutOfRange(value) = &invalid {
            data["value"] = json!(value);
        }
        self.event("slot_invalid", said.describe(data));
        self.bot_not_understood(now, bot, "invalid value", &slot.invalid)
    }

    /// The answer to "I heard …, is that right?": yes takes the value, no asks for the slot
    /// again, anything else asks the confirmation again.
    fn bot_confirmed(
        &mut self,
        now: Instant,
        bot: &Bot,
        name: &str,
        value: &str,
        answer: Option<bool>,
        said: Said<'_>,
    ) -> Option<String> {
        let Some(confirmed) = answer else {
            return self.bot_not_understood(now, bot, "not yes or no", &[]);
        };
        let data =
            json!({ "node": self.node, "slot": name, "value": value, "confirmed": confirmed });
        self.event("slot_confirmed", said.describe(data));
        self.conversation().failures = 0;
        let text = self.last_utterance();
        let intent = self.serving().map(|s| s.answer.clone());
        if let Some(target) = self.bot_judge(bot, &text, false, intent.as_ref()) {
            return Some(target);
        }
        if confirmed {
            self.set_slot(name, value.to_string());
            return self.bot_continue(now, bot);
        }
        if let Some(serving) = self.conversation().serving.as_mut() {
            serving.values.remove(name);
        }
        self.bot_ask(now, bot, Vec::new(), Asking::Slot(name.to_string()))
    }

    /// A turn not understood: counted, judged, then the notice and the question again (an
    /// unanswered "which one?" goes back to the open question).
    fn bot_not_understood(
        &mut self,
        now: Instant,
        bot: &Bot,
        reason: &str,
        notice: &[PromptPart],
    ) -> Option<String> {
        let conversation = self.conversation();
        conversation.failures += 1;
        let failures = conversation.failures;
        let again = !conversation.told.is_empty();
        let asking = match &conversation.asking {
            Asking::Clarify(_) | Asking::Helpful(_) => Asking::Question { again },
            other => other.clone(),
        };
        let text = self.last_utterance();
        self.event(
            "bot_not_understood",
            json!({ "node": self.node, "reason": reason, "text": text, "failures": failures }),
        );
        if let Some(target) = self.bot_judge(bot, &text, true, None) {
            return Some(target);
        }
        let notice = if notice.is_empty() {
            &bot.no_match
        } else {
            notice
        };
        let notice = self.render(notice);
        self.bot_ask(now, bot, notice, asking)
    }

    /// Judges the escalation rules at a turn's decision; the node to hand over to when one fires.
    fn bot_judge(
        &mut self,
        bot: &Bot,
        text: &str,
        not_understood: bool,
        intent: Option<&KbAnswer>,
    ) -> Option<String> {
        let reason = self.escalation_reason(bot, text, not_understood)?;
        self.bot_escalate(bot, reason, intent.cloned())
    }

    fn escalation_reason(&self, bot: &Bot, text: &str, not_understood: bool) -> Option<Reason> {
        let conversation = self.conversations.get(&self.node)?;
        let facts = TurnFacts {
            failures: conversation.failures,
            low_confidence: conversation.low_confidence,
            not_understood,
            reading: self.readings.back(),
            text,
            caller: self.vars.get("caller").map(String::as_str),
        };
        bot.escalate.judge(&facts)
    }

    /// A frustration reading that came after its turn was decided (the bot already asking
    /// again) is judged at once: the caller is handed over mid-question if it says so.
    pub(super) fn bot_reading(&mut self) -> Option<String> {
        if !matches!(self.state, State::Playing { .. } | State::BotListen { .. }) {
            // Waiting for the knowledge base: the decision to come judges the reading.
            return None;
        }
        self.with_bot(|this, bot| {
            let text = this.last_utterance();
            let reason = this.escalation_reason(bot, &text, false)?;
            if matches!(this.take_state(), State::Playing { .. }) {
                this.outputs.push_back(Output::StopPlayback);
            }
            this.end_turn();
            this.bot_escalate(bot, reason, None)
        })
    }

    /// Hands the caller over: the handoff variables and event, then `on_escalate`.
    fn bot_escalate(
        &mut self,
        bot: &Bot,
        reason: Reason,
        intent: Option<KbAnswer>,
    ) -> Option<String> {
        let target = bot.on_escalate.clone()?;
        let conversation = self.conversations.get(&self.node)?;
        let intent = intent.or_else(|| conversation.intent().map(|s| s.answer.clone()));
        let readings: Vec<_> = self.readings.iter().cloned().collect();
        let handoff = handoff(
            &self.node,
            &target,
            conversation,
            intent.as_ref(),
            &reason,
            &readings,
        );
        self.vars.extend(handoff.vars);
        self.event("escalated", handoff.event);
        Some(target)
    }

    /// The caller has no more questions, or the step has used its turns: `on_done`.
    fn bot_done(&mut self, bot: &Bot, reason: &str) -> Option<String> {
        let turns = self.conversation().turns;
        let data =
            json!({ "node": self.node, "reason": reason, "turns": turns, "target": bot.on_done });
        self.event("bot_done", data);
        Some(bot.on_done.clone())
    }

    /// A key while the bot waits for an answer that keys can give.
    pub(super) fn bot_key(
        &mut self,
        now: Instant,
        key: char,
        mut digits: String,
    ) -> Option<String> {
        self.steps = 0;
        // From the first key on, the question takes keys only.
        self.end_turn();
        self.with_bot(|this, bot| {
            let asking = this.conversation().asking.clone();
            if let Asking::Slot(name) = &asking
                && let Some(SlotKind::Digits(entry)) =
                    slot(bot, this.serving(), name).map(|s| &s.kind)
            {
                if Some(key) == entry.terminator {
                    return this.bot_keyed(now, bot, &digits);
                }
                digits.push(key);
                if digits.len() >= entry.max {
                    return this.bot_keyed(now, bot, &digits);
                }
                this.state = State::BotListen {
                    digits,
                    deadline: Some(now + entry.inter_digit_timeout),
                };
                return None;
            }
            this.bot_keyed(now, bot, &key.to_string())
        })
    }

    /// Keys that answer the question as a whole: digits of a slot, or 1 (yes) / 2 (no).
    fn bot_keyed(&mut self, now: Instant, bot: &Bot, keys: &str) -> Option<String> {
        let conversation = self.conversation();
        conversation.turns += 1;
        conversation.low_confidence = 0;
        let said = if keys.len() == 1 {
            Said::Key(keys.chars().next().unwrap_or_default())
        } else {
            Said::Keys(keys)
        };
        let yes_no = match keys {
            "1" => Some(true),
            "2" => Some(false),
            _ => None,
        };
        match conversation.asking.clone() {
            Asking::Slot(name) => {
                let slot = slot(bot, self.serving(), &name)?.clone();
                match slot.kind.keyed(keys) {
                    Ok(value) => self.bot_slot_value(now, bot, &slot, value, said),
                    Err(invalid) => self.bot_slot_invalid(now, bot, &slot, invalid, said),
                }
            }
            Asking::Confirm { slot, value } => {
                self.bot_confirmed(now, bot, &slot, &value, yes_no, said)
            }
            Asking::Helpful(intent) => match yes_no {
                Some(helpful) => self.bot_helpful(now, bot, &intent, helpful, said),
                None => self.bot_not_understood(now, bot, "not yes or no", &[]),
            },
            // Keys are ignored before they get here while these are asked.
            Asking::Question { .. } | Asking::Clarify(_) => None,
        }
    }

    /// No answer within the timeout, or a pause after keyed digits.
    pub(super) fn bot_listen_timeout(&mut self, now: Instant, digits: String) -> Option<String> {
        self.end_turn();
        self.with_bot(|this, bot| {
            if digits.is_empty() {
                this.bot_no_input(now, bot)
            } else {
                this.bot_keyed(now, bot, &digits)
            }
        })
    }

    /// Whether `text`, heard early in the caller's turn, already answers the bot's question.
    pub(super) fn bot_answers_turn(&self, bot: &Bot, text: &str, confidence: f32) -> bool {
        let Some(conversation) = self.conversations.get(&self.node) else {
            return false;
        };
        if self.turn.is_none() || confidence < bot.min_confidence || text.trim().is_empty() {
            return false;
        }
        match &conversation.asking {
            Asking::Question { .. } => sounds_finished(text),
            Asking::Confirm { .. } | Asking::Helpful(_) => yes_or_no(text).is_some(),
            Asking::Clarify(candidates) => pick(text, &candidates.0, &candidates.1).is_some(),
            Asking::Slot(name) => match slot(bot, conversation.serving.as_ref(), name)
                .map(|s| &s.kind)
            {
                Some(SlotKind::Digits(entry)) => spoken_digits(text).len() == entry.max,
                Some(SlotKind::YesNo) => yes_or_no(text).is_some(),
                Some(kind) => {
                    sounds_finished(text) && kind.read(text, self.wall_clock.date_naive()).is_ok()
                }
                None => false,
            },
        }
    }
}

/// The slots of `intent`, none for an intent the step does not list.
fn slots_of<'a>(bot: &'a Bot, intent: &str) -> &'a [Slot] {
    bot.intents
        .get(intent)
        .map_or(&[], |intent| intent.slots.as_slice())
}

/// The slot `name` of the intent being served.
fn slot<'a>(bot: &'a Bot, serving: Option<&Serving>, name: &str) -> Option<&'a Slot> {
    slots_of(bot, &serving?.answer.intent)
        .iter()
        .find(|slot| slot.name == name)
}
