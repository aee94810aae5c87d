//! The `bot` step in simulated time, text in and outputs out: knowledge-base answers and the
//! "did that help?" question, slot filling (digits spoken or keyed, amounts, dates),
//! confirmation, clarification, follow-ups, out-of-scope turns, every escalation rule and the
//! handoff summary, hang-ups and timeouts, and the step's load errors.

#[path = "support/call.rs"]
mod call;
#[path = "support/sounds.rs"]
mod sounds;

use std::time::Duration;

use call::{Call, candidate, kb_answer, nodes, utc};
use sb_dialog::Understanding;
use sounds::parse;

const SECOND: Duration = Duration::from_secs(1);
/// Monday, 2 March 2026, noon in Berlin.
const MONDAY: &str = "2026-03-02T11:00:00Z";

const SHOP: &str = include_str!("data/bot_shop.toml");

const QUESTION: [&str; 4] = [
    "> assistant",
    r#"bot_question {"asking":"question","node":"assistant","turn":1}"#,
    "listen General",
    r#"play "How can I help you today?""#,
];

/// A call to the shop's bot from `caller`, its first question asked and played.
fn asked(caller: &str) -> Call {
    let mut call = Call::new(parse(SHOP).unwrap(), &[("caller", caller)], utc(MONDAY));
    assert_eq!(call.start(), QUESTION);
    assert!(call.played().is_empty());
    call
}

/// The caller says `text` and the bot sends it to the knowledge base.
#[track_caller]
fn says_to_kb(call: &mut Call, text: &str) {
    let log = call.says(text);
    assert_eq!(
        log.last().unwrap(),
        &format!("understand {text:?}"),
        "{log:#?}"
    );
}

/// Whether `log` has a line starting with `start`.
fn has(log: &[String], start: &str) -> bool {
    log.iter().any(|line| line.starts_with(start))
}

/// The data of the `escalated` event in `log`.
fn escalated(log: &[String]) -> serde_json::Value {
    let line = log
        .iter()
        .find_map(|l| l.strip_prefix("escalated "))
        .unwrap_or_else(|| panic!("no escalation in {log:#?}"));
    serde_json::from_str(line).unwrap()
}

#[test]
fn an_answer_is_said_and_its_helpfulness_asked_by_speech_or_key() {
    let mut call = asked("+491701234567");
    says_to_kb(&mut call, "When are you open?");
    assert_eq!(
        call.kb_answers(
            "opening_hours",
            "We are open from 8 to 6, caller ${caller}."
        ),
        [
            r#"kb_answer {"intent":"opening_hours","node":"assistant","priority":null,"score":0.9}"#,
            r#"bot_question {"asking":"helpful","node":"assistant","turn":2}"#,
            "listen YesNo",
            r#"play "We are open from 8 to 6, caller +491701234567.","Did that answer your question?""#,
        ]
    );
    let vars = call.dialplan.variables();
    assert_eq!(vars["bot_intent"], "opening_hours");
    assert_eq!(
        vars["bot_answer"],
        "We are open from 8 to 6, caller +491701234567."
    );
    call.played();
    assert_eq!(
        call.says("Yes, thanks.")[3..],
        [
            r#"kb_helpful {"by":"speech","helpful":true,"intent":"opening_hours","node":"assistant","text":"Yes, thanks."}"#,
            r#"bot_question {"asking":"question","node":"assistant","turn":3}"#,
            "listen General",
            r#"play "Is there anything else I can help you with?""#,
        ]
    );
    call.played();
    says_to_kb(&mut call, "How much is shipping?");
    call.kb_answers("shipping_cost", "Shipping is free.");
    assert_eq!(
        call.press("2")[..3],
        [
            "stop",
            "stop listening",
            r#"kb_helpful {"by":"key","helpful":false,"intent":"shipping_cost","key":"2","node":"assistant"}"#,
        ],
        "a key stops the answer and answers the question"
    );
    call.played();
    assert!(
        call.press("1").is_empty(),
        "the open question takes no keys"
    );
    assert_eq!(
        call.says("No, that's all.")[3..],
        [
            r#"bot_done {"node":"assistant","reason":"caller","target":"goodbye","turns":5}"#,
            "> goodbye",
            r#"hangup {"by":"dialplan","reason":"done"}"#,
            "hangup done",
        ]
    );
}

#[test]
fn slots_are_asked_one_by_one_and_only_while_missing() {
    let mut call = asked("");
    says_to_kb(&mut call, "I was charged twice");
    let refund = "I will refund ${amount} dollars charged on ${charged_on}.";
    assert_eq!(
        call.kb_answers("refund", refund)[1..],
        [
            r#"bot_question {"asking":"slot","node":"assistant","slot":"amount","turn":2}"#,
            "listen General",
            r#"play "How much were you charged?""#,
        ]
    );
    call.played();
    assert_eq!(
        call.says("I am not sure")[3..],
        [
            r#"slot_invalid {"by":"speech","node":"assistant","reason":"no value","slot":"amount","text":"I am not sure"}"#,
            r#"bot_not_understood {"failures":1,"node":"assistant","reason":"invalid value","text":"I am not sure"}"#,
            r#"bot_question {"asking":"slot","node":"assistant","slot":"amount","turn":3}"#,
            "listen General",
            r#"play "Please say the amount in dollars.","How much were you charged?""#,
        ]
    );
    call.played();
    assert_eq!(
        call.says("twenty five dollars fifty")[3..],
        [
            r#"slot_value {"by":"speech","intent":"refund","node":"assistant","slot":"amount","text":"twenty five dollars fifty","value":"25.50"}"#,
            r#"bot_question {"asking":"slot","node":"assistant","slot":"charged_on","turn":4}"#,
            "listen General",
            r#"play "On which day?""#,
        ]
    );
    call.played();
    let log = call.says("yesterday");
    assert_eq!(
        log[4..],
        [
            r#"bot_question {"asking":"helpful","node":"assistant","turn":5}"#,
            "listen YesNo",
            r#"play "I will refund 25.50 dollars charged on 2026-03-01.","Did that answer your question?""#,
        ]
    );
    assert_eq!(call.dialplan.variables()["charged_on"], "2026-03-01");
}

#[test]
fn slots_given_in_the_first_utterance_are_not_asked() {
    let mut call = asked("");
    says_to_kb(&mut call, "I was charged $25.50 twice");
    let log = call.kb_answers("refund", "Refunding ${amount}.");
    assert!(
        has(
            &log,
            r#"slot_value {"by":"speech","intent":"refund","node":"assistant","slot":"amount","text":"I was charged $25.50 twice","value":"25.50"}"#
        ),
        "{log:#?}"
    );
    assert!(
        log.contains(&r#"play "On which day?""#.to_string()),
        "{log:#?}"
    );

    let mut call = asked("");
    says_to_kb(&mut call, "Where is order 4512?");
    assert_eq!(
        call.kb_answers("track_order", "Your order is on its way.")[1..],
        [
            r#"slot_value {"by":"speech","intent":"track_order","node":"assistant","slot":"order_number","text":"Where is order 4512?","value":"4512"}"#,
            r#"bot_question {"asking":"confirm","node":"assistant","slot":"order_number","turn":2}"#,
            "listen YesNo",
            r#"play "I heard 4 5 1 2, is that right?""#,
        ]
    );
    call.played();
    assert_eq!(
        call.says("yes")[3..],
        [
            r#"slot_confirmed {"by":"speech","confirmed":true,"node":"assistant","slot":"order_number","text":"yes","value":"4512"}"#,
            r#"bot_intent {"intent":"track_order","node":"assistant","slots":{"order_number":"4512"},"target":"order_lookup"}"#,
            "> order_lookup",
            r#"play "Order 4 5 1 2 is on its way.""#,
        ]
    );
    assert_eq!(call.dialplan.variables()["order_number"], "4512");
    assert_eq!(call.dialplan.variables()["bot_intent"], "track_order");
}

/// A call whose caller asked about an order without its number, and was asked for it.
fn asked_for_the_order_number() -> Call {
    let mut call = asked("");
    says_to_kb(&mut call, "where is my parcel");
    let log = call.kb_answers("track_order", "");
    assert_eq!(log.last().unwrap(), r#"play "What is your order number?""#);
    assert!(log.contains(&"listen Digits".to_string()));
    call.played();
    call
}

#[test]
fn a_value_denied_at_confirmation_is_asked_again() {
    let mut call = asked_for_the_order_number();
    assert_eq!(
        call.says("four five one two").last().unwrap(),
        r#"play "I heard 4 5 1 2, is that right?""#
    );
    call.played();
    assert_eq!(
        call.says("no")[3..],
        [
            r#"slot_confirmed {"by":"speech","confirmed":false,"node":"assistant","slot":"order_number","text":"no","value":"4512"}"#,
            r#"bot_question {"asking":"slot","node":"assistant","slot":"order_number","turn":4}"#,
            "listen Digits",
            r#"play "What is your order number?""#,
        ]
    );
    call.played();
    assert_eq!(
        call.says("double five one two").last().unwrap(),
        r#"play "I heard 5 5 1 2, is that right?""#,
        "spoken digits: double five"
    );
    call.played();
    let log = call.press("1");
    assert!(
        has(&log, r#"slot_confirmed {"by":"key","confirmed":true"#),
        "{log:#?}"
    );
    assert_eq!(nodes(&log), ["order_lookup"]);
    assert_eq!(call.dialplan.variables()["order_number"], "5512");
}

#[test]
fn digits_can_be_keyed_with_a_terminator_or_a_pause() {
    let mut call = asked_for_the_order_number();
    assert_eq!(call.press("45"), ["stop listening"]);
    assert_eq!(call.dialplan.poll_timeout(), Some(call.now + 3 * SECOND));
    let log = call.press("12#");
    assert_eq!(
        log[0],
        r#"slot_value {"by":"key","digits":"4512","intent":"track_order","node":"assistant","slot":"order_number","value":"4512"}"#
    );
    assert_eq!(
        log.last().unwrap(),
        r#"play "I heard 4 5 1 2, is that right?""#
    );

    let mut call = asked_for_the_order_number();
    call.press("451");
    let log = call.wait(3 * SECOND);
    assert!(
        has(
            &log,
            r#"slot_invalid {"by":"key","digits":"451","node":"assistant","reason":"out of range","slot":"order_number","value":"451"}"#
        ),
        "{log:#?}"
    );
}

#[test]
fn a_clarifying_question_is_answered_by_name_or_position() {
    let clarify = || Understanding::Clarify {
        first: candidate("a refund", "refund", "Refunding ${amount}."),
        second: candidate("the refund policy", "refund_policy", "Refunds take 5 days."),
    };
    let mut call = asked("");
    says_to_kb(&mut call, "refund");
    assert_eq!(
        call.understood(clarify()),
        [
            r#"kb_clarify {"first":"refund","node":"assistant","second":"refund_policy"}"#,
            r#"bot_question {"asking":"clarify","node":"assistant","turn":2}"#,
            "listen General",
            r#"play "Is this about a refund or the refund policy?""#,
        ]
    );
    call.played();
    let log = call.says("the policy please");
    assert!(
        has(&log, r#"kb_answer {"intent":"refund_policy""#),
        "{log:#?}"
    );
    assert!(
        log.contains(
            &r#"play "Refunds take 5 days.","Did that answer your question?""#.to_string()
        ),
        "{log:#?}"
    );

    let mut call = asked("");
    says_to_kb(&mut call, "refund");
    call.understood(clarify());
    call.played();
    let log = call.says("the first one");
    assert!(has(&log, r#"kb_answer {"intent":"refund""#), "{log:#?}");
    assert_eq!(log.last().unwrap(), r#"play "How much were you charged?""#);

    let mut call = asked("");
    says_to_kb(&mut call, "refund");
    call.understood(clarify());
    call.played();
    assert_eq!(
        call.says("hmm, both maybe")[3..],
        [
            r#"bot_not_understood {"failures":1,"node":"assistant","reason":"no choice","text":"hmm, both maybe"}"#,
            r#"bot_question {"asking":"question","node":"assistant","turn":3}"#,
            "listen General",
            r#"play "Sorry, I did not get that. Could you say it in other words?","How can I help you today?""#,
        ]
    );
}

#[test]
fn out_of_scope_turns_are_asked_again_then_escalated() {
    let mut call = asked("");
    says_to_kb(&mut call, "What is the weather like?");
    assert_eq!(
        call.kb_finds_nothing(),
        [
            r#"bot_not_understood {"failures":1,"node":"assistant","reason":"out of scope","text":"What is the weather like?"}"#,
            r#"bot_question {"asking":"question","node":"assistant","turn":2}"#,
            "listen General",
            r#"play "Sorry, I did not get that. Could you say it in other words?","How can I help you today?""#,
        ]
    );
    call.played();
    says_to_kb(&mut call, "Who won the match?");
    let log = call.kb_finds_nothing();
    assert_eq!(nodes(&log), ["agent_queue"]);
    let handoff = escalated(&log);
    assert_eq!(handoff["reason"], "failures");
    assert_eq!(
        handoff["utterances"],
        serde_json::json!(["What is the weather like?", "Who won the match?"])
    );
    assert_eq!(call.dialplan.variables()["handoff_reason"], "failures");
    assert_eq!(
        call.dialplan.variables()["handoff_summary"],
        "no intent; not understood 2 times in a row; last: 'Who won the match?'"
    );
}

#[test]
fn a_frustration_score_at_the_threshold_escalates() {
    let mut call = asked("");
    says_to_kb(&mut call, "My parcel is late again, this is terrible");
    assert!(
        call.frustration(0.7, 0.0, &["negative_words"]).is_empty(),
        "judged at the turn's decision"
    );
    let log = call.kb_answers("delivery_period", "Parcels take 3 days.");
    assert_eq!(nodes(&log), ["agent_queue"]);
    assert!(!has(&log, "play"), "nothing more is said: {log:#?}");
    let handoff = escalated(&log);
    assert_eq!(handoff["reason"], "frustration");
    assert_eq!(handoff["intent"], "delivery_period");
    assert_eq!(
        handoff["frustration"],
        serde_json::json!([{ "score": 0.7, "trend": 0.0, "cues": ["negative_words"] }])
    );
}

#[test]
fn a_rising_frustration_escalates_only_from_a_middling_score() {
    let mut call = asked("");
    says_to_kb(&mut call, "where is my parcel");
    call.frustration(0.3, 0.2, &[]);
    let log = call.kb_answers("track_order", "");
    assert!(!has(&log, "escalated"), "rising, but still calm: {log:#?}");
    call.played();
    call.says("I told you already");
    let log = call.frustration(0.45, 0.2, &["repeated_request"]);
    assert_eq!(log[..2], ["stop", "stop listening"], "{log:#?}");
    assert_eq!(nodes(&log), ["agent_queue"]);
    assert_eq!(escalated(&log)["reason"], "rising_frustration");
}

#[test]
fn asking_for_a_person_escalates() {
    let mut call = asked("");
    says_to_kb(&mut call, "Can I talk to a person?");
    call.frustration(0.3, 0.0, &[]);
    let log = call.kb_finds_nothing();
    assert_eq!(escalated(&log)["reason"], "asked_for_human");
    assert_eq!(
        call.dialplan.variables()["handoff_summary"],
        "no intent; frustration 0.30; asked for a human; last: 'Can I talk to a person?'"
    );

    // The cue from the call counts as well as the words, and an intent may escalate itself.
    let mut call = asked("");
    says_to_kb(&mut call, "I want to speak with someone real");
    call.frustration(0.6, 0.0, &["asked_for_human"]);
    assert_eq!(
        escalated(&call.kb_finds_nothing())["reason"],
        "asked_for_human"
    );
    let mut call = asked("");
    says_to_kb(&mut call, "customer service please");
    let mut answer = kb_answer("contact_human_agent", "I will put you through.");
    answer.priority = Some("general".into());
    let log = call.understood(Understanding::Answer(answer));
    let handoff = escalated(&log);
    assert_eq!(handoff["reason"], "intent");
    assert_eq!(call.dialplan.variables()["handoff_priority"], "general");
}

#[test]
fn a_vip_caller_is_escalated_at_the_first_turn_not_understood() {
    let mut call = asked("sip:+4930123456@pbx.example");
    says_to_kb(&mut call, "I need help with something odd");
    let log = call.kb_finds_nothing();
    assert_eq!(escalated(&log)["reason"], "vip");
    let mut call = asked("sip:+4930999999@pbx.example");
    says_to_kb(&mut call, "I need help with something odd");
    assert!(!has(&call.kb_finds_nothing(), "escalated"));
}

#[test]
fn the_handoff_carries_intent_slots_frustration_and_what_was_said() {
    let mut call = asked("");
    says_to_kb(&mut call, "Where is order 4512?");
    call.frustration(0.5, 0.1, &["negative_words"]);
    let mut answer = kb_answer("track_order", "");
    answer.priority = Some("complaint".into());
    call.understood(Understanding::Answer(answer));
    call.played();
    call.says("this is ridiculous");
    let log = call.frustration(0.78, 0.2, &["negative_words", "profanity"]);
    assert_eq!(nodes(&log), ["agent_queue"]);
    let vars = call.dialplan.variables();
    assert_eq!(
        vars["handoff_summary"],
        "track_order; order_number=4512; frustration 0.78 rising; frustration at 0.78; last: 'this is ridiculous'"
    );
    assert_eq!(vars["handoff_reason"], "frustration");
    assert_eq!(vars["handoff_intent"], "track_order");
    assert_eq!(vars["handoff_priority"], "complaint");
    let handoff = escalated(&log);
    assert_eq!(
        handoff["slots"],
        serde_json::json!({ "order_number": "4512" })
    );
    assert_eq!(
        handoff["utterances"],
        serde_json::json!(["Where is order 4512?", "this is ridiculous"])
    );
    assert_eq!(handoff["frustration"].as_array().unwrap().len(), 2);
    assert_eq!(handoff["target"], "agent_queue");
}

#[test]
fn the_handoff_names_the_answers_already_given() {
    let mut call = asked("");
    says_to_kb(&mut call, "How much is shipping?");
    call.kb_answers("shipping_cost", "Shipping is free.");
    call.played();
    call.says("no");
    call.played();
    says_to_kb(&mut call, "get me an agent");
    let log = call.kb_finds_nothing();
    assert_eq!(
        escalated(&log)["answers"],
        serde_json::json!([{ "intent": "shipping_cost", "text": "Shipping is free." }])
    );
}

#[test]
fn a_caller_hanging_up_while_the_kb_thinks_ends_the_step() {
    let mut call = asked("");
    says_to_kb(&mut call, "Where is my parcel?");
    assert_eq!(
        call.caller_hangs_up(),
        [r#"hangup {"by":"caller","reason":"caller hung up"}"#]
    );
    assert_eq!(call.dialplan.poll_timeout(), None);
    assert!(call.kb_answers("track_order", "").is_empty());
    assert!(call.dialplan.is_finished());
}

#[test]
fn a_knowledge_base_that_takes_too_long_counts_as_not_understood() {
    let mut call = asked("");
    says_to_kb(&mut call, "Where is my parcel?");
    assert_eq!(call.dialplan.poll_timeout(), Some(call.now + 2 * SECOND));
    assert!(call.wait(Duration::from_millis(1999)).is_empty());
    assert_eq!(
        call.wait(Duration::from_millis(1)),
        [
            r#"understand_timeout {"node":"assistant","text":"Where is my parcel?","timeout_ms":2000}"#,
            r#"bot_not_understood {"failures":1,"node":"assistant","reason":"understand timeout","text":"Where is my parcel?"}"#,
            r#"bot_question {"asking":"question","node":"assistant","turn":2}"#,
            "listen General",
            r#"play "Sorry, I did not get that. Could you say it in other words?","How can I help you today?""#,
        ]
    );
    assert!(
        call.kb_answers("track_order", "").is_empty(),
        "a late reading is ignored"
    );
}

/// A call that had order 4512 looked up and is back in the bot, asked "anything else?".
fn after_an_order_lookup() -> Call {
    let mut call = asked("");
    says_to_kb(&mut call, "Where is order 4512?");
    call.kb_answers("track_order", "");
    call.played();
    call.says("yes");
    assert_eq!(
        call.played(),
        [
            "> assistant",
            r#"bot_question {"asking":"question","node":"assistant","turn":3}"#,
            "listen General",
            r#"play "Is there anything else I can help you with?""#,
        ]
    );
    call.played();
    call
}

#[test]
fn a_follow_up_reruns_the_last_intent_with_the_new_value() {
    let mut call = after_an_order_lookup();
    says_to_kb(&mut call, "And what about order 7788?");
    assert_eq!(
        call.kb_finds_nothing(),
        [
            r#"bot_follow_up {"intent":"track_order","node":"assistant","text":"And what about order 7788?"}"#,
            r#"slot_value {"by":"speech","intent":"track_order","node":"assistant","slot":"order_number","text":"And what about order 7788?","value":"7788"}"#,
            r#"bot_question {"asking":"confirm","node":"assistant","slot":"order_number","turn":4}"#,
            "listen YesNo",
            r#"play "I heard 7 7 8 8, is that right?""#,
        ]
    );
    call.played();
    assert_eq!(nodes(&call.says("correct")), ["order_lookup"]);
    assert_eq!(call.dialplan.variables()["order_number"], "7788");

    // Without a new value, the intent's slots are asked again.
    let mut call = after_an_order_lookup();
    says_to_kb(&mut call, "and the other one?");
    let log = call.kb_finds_nothing();
    assert!(has(&log, "bot_follow_up"), "{log:#?}");
    assert_eq!(log.last().unwrap(), r#"play "What is your order number?""#);
}

#[test]
fn a_follow_up_keeps_the_other_slots_of_the_last_intent() {
    let mut call = asked("");
    says_to_kb(&mut call, "I was charged 30 dollars yesterday");
    let log = call.kb_answers("refund", "Refunding ${amount} of ${charged_on}.");
    assert!(
        log.contains(
            &r#"play "Refunding 30.00 of 2026-03-01.","Did that answer your question?""#
                .to_string()
        ),
        "{log:#?}"
    );
    call.played();
    call.says("yes");
    call.played();
    says_to_kb(&mut call, "and what about 12 dollars");
    let log = call.kb_answers("refund", "Refunding ${amount} of ${charged_on}.");
    assert!(
        log.contains(
            &r#"play "Refunding 12.00 of 2026-03-01.","Did that answer your question?""#
                .to_string()
        ),
        "{log:#?}"
    );
}

#[test]
fn no_input_asks_again_and_turns_run_out() {
    let text = SHOP.replace("max_turns = 8", "max_turns = 2");
    let mut call = Call::new(parse(&text).unwrap(), &[], utc(MONDAY));
    call.start();
    call.played();
    assert_eq!(
        call.wait(5 * SECOND),
        [
            "stop listening",
            r#"bot_no_input {"node":"assistant","turn":1}"#,
            r#"bot_question {"asking":"question","node":"assistant","turn":2}"#,
            "listen General",
            r#"play "Are you still there?","How can I help you today?""#,
        ]
    );
    call.played();
    let log = call.wait(5 * SECOND);
    assert_eq!(
        log[2..4],
        [
            r#"bot_done {"node":"assistant","reason":"max_turns","target":"goodbye","turns":2}"#,
            "> goodbye",
        ]
    );
}

#[test]
fn an_early_transcript_answers_the_bots_turn_when_complete() {
    let call = asked("");
    assert!(call.dialplan.answers_turn("Where is my parcel?", 0.9));
    assert!(!call.dialplan.answers_turn("Where is my", 0.9));
    let mut call = asked_for_the_order_number();
    assert!(!call.dialplan.answers_turn("four five one two", 0.9));
    assert!(
        call.dialplan
            .answers_turn("four five one two three four five six", 0.9)
    );
    call.says("four five one two");
    call.played();
    assert!(call.dialplan.answers_turn("yes", 0.9));
    assert!(!call.dialplan.answers_turn("hmm let me", 0.9));
}

/// The (line, message) of every load error of `text`.
fn errors(text: &str) -> Vec<(usize, String)> {
    parse(text)
        .expect_err("the dialplan should be rejected")
        .errors
        .into_iter()
        .map(|e| (e.line, e.message))
        .collect()
}

/// The line of `needle` in the shop dialplan, counting from 1.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

#[test]
fn load_errors_name_the_line() {
    let cases = [
        (
            "next = \"order_lookup\"",
            "next = \"order_lookup\"\nanswer = \"x\"",
            "answer = ",
            "unknown key `answer` in `intents.track_order`; expected one of: slots, next, escalate",
        ),
        (
            "type = \"amount\"",
            "type = \"money\"",
            "type = \"money\"",
            "unknown slot type `money`; use digits, yes_no, date or amount",
        ),
        (
            "on_escalate = \"agent_queue\"\n",
            "",
            "[nodes.assistant.bot.escalate]",
            "`escalate` rules need `on_escalate`",
        ),
        (
            "failures = 2",
            "failures = 2\nlow_confidence = 2",
            "low_confidence = 2",
            "give the step a `min_confidence` above 0",
        ),
        (
            "type = \"date\"",
            "type = \"date\", min = 1",
            "type = \"date\", min = 1",
            "`min` is only for digits and amount slots",
        ),
        (
            "understand_timeout = \"2s\"",
            "understand_timeout = \"20s\"",
            "understand_timeout",
            "`understand_timeout` must be at most 10s",
        ),
    ];
    for (from, to, at, message) in cases {
        assert!(SHOP.contains(from), "{from}");
        let text = SHOP.replacen(from, to, 1);
        let found = errors(&text);
        let error = found.iter().find(|(_, m)| m.contains(message));
        assert_eq!(
            error.map(|(line, _)| *line),
            Some(line_of(&text, at)),
            "{to}: {found:#?}"
        );
    }
}

#[test]
fn an_escalating_intent_needs_on_escalate_and_slot_variables_are_known() {
    let text = SHOP.replace("on_escalate = \"agent_queue\"\n", "").replace(
        "[nodes.assistant.bot.escalate]",
        "[nodes.assistant.bot.unused]",
    );
    let found = errors(&text);
    assert!(
        found
            .iter()
            .any(|(_, m)| m.contains("unknown key `unused` in `bot`")),
        "{found:#?}"
    );
    let text = SHOP
        .replace("on_escalate = \"agent_queue\"\n", "")
        .replace(
            "[nodes.assistant.bot.escalate]\nfailures = 2\nfrustration = 0.7\nrising = 0.15\nasked_for_human = true\nvip = [\"+4930123456\"]\n",
            "",
        );
    let found = errors(&text);
    assert!(
        found
            .iter()
            .any(|(line, m)| *line == line_of(&text, "intents.track_order")
                && m.contains(
                    "intent `contact_human_agent` escalates, but the step has no `on_escalate`"
                )),
        "{found:#?}"
    );
    // The slots and the handoff are variables other nodes may read.
    let text = SHOP.replace(
        "Order ${order_number|spell} is on its way.",
        "${handoff_summary} ${amount} ${bot_answer} ${ordr_number}",
    );
    let found = errors(&text);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0]
            .1
            .contains("unknown variable `ordr_number`; did you mean `order_number`?"),
        "{found:#?}"
    );
}

#[test]
fn the_documented_example_loads() {
    let doc = include_str!("../../../docs/DIALPLANS.md");
    let section = &doc[doc.find("### `bot`").unwrap()..];
    let start = section.find("```toml\n").unwrap() + "```toml\n".len();
    let example = &section[start..start + section[start..].find("```").unwrap()];
    let plan = format!("name = \"doc\"\nstart = \"assistant\"\n{example}");
    if let Err(errors) = parse(&plan) {
        panic!("{errors}");
    }
}
