//! Speech steps in simulated time: `say`, `listen` (options, yes/no, digits, free text),
//! barge-in, timers, the recognizer's safety net, the overload path, and transcripts.

#[path = "support/call.rs"]
mod call;
#[path = "support/sounds.rs"]
mod sounds;

use std::time::Duration;

use call::{Call, nodes, utc};
use sb_dialog::{Input, ListenRequest, Output, TurnContext};
use sounds::parse;

const SECOND: Duration = Duration::from_secs(1);
const MONDAY_NOON: &str = "2026-03-02T12:00:00Z";

const MENU: &str = r#"name = "speech menu"
start = "notice"

[vars]
caller = "anonymous"
choice = ""

[nodes.notice]
say = { text = "This call may be recorded.", interruptible = false, next = "greeting" }

[nodes.greeting]
say = { text = "Hello ${caller}.", next = "menu" }

[nodes.menu.listen]
prompt = ["welcome", { say = "Say order status, billing or agent." }]
timeout = "6s"
max_speech = "20s"
end_silence = "700ms"
retries = 1
no_match = { say = "Sorry, I did not get that." }
no_input = "no_input"
on_failure = "bye"
on_overload = "keys"
var = "choice"
min_confidence = 0.5

[nodes.menu.listen.options.order_status]
phrases = ["order status", "where is my order", "order"]
key = "1"
next = "order"

[nodes.menu.listen.options.billing]
phrases = ["billing", "invoice"]
key = "2"
next = "billing"

[nodes.menu.listen.options.agent]
keywords = ["agent", "human"]
key = "0"
next = "agent"

[nodes.order]
hangup = { reason = "order" }

[nodes.billing]
hangup = { reason = "billing" }

[nodes.agent]
hangup = { reason = "agent" }

[nodes.keys]
hangup = { reason = "keys" }

[nodes.bye]
hangup = { sound = "goodbye", reason = "menu failed" }
"#;

const MENU_PROMPT: [&str; 4] = [
    "> menu",
    r#"listen_started {"attempt":1,"node":"menu"}"#,
    "listen General",
    r#"play welcome,"Say order status, billing or agent.""#,
];

fn call(text: &str) -> Call {
    Call::new(parse(text).unwrap(), &[], utc(MONDAY_NOON))
}

/// A call to the speech menu, its prompt playing.
fn menu_prompt_playing() -> Call {
    let mut call = Call::new(parse(MENU).unwrap(), &[("caller", "Ada")], utc(MONDAY_NOON));
    call.start();
    call.played();
    assert_eq!(call.played(), MENU_PROMPT);
    call
}

/// A call to the speech menu, its prompt over, waiting for an answer.
fn in_menu() -> Call {
    let mut call = menu_prompt_playing();
    assert!(call.played().is_empty());
    call
}

#[test]
fn say_fills_in_variables() {
    let mut call = Call::new(parse(MENU).unwrap(), &[("caller", "Ada")], utc(MONDAY_NOON));
    assert_eq!(
        call.start(),
        [
            "> notice",
            r#"play "This call may be recorded." (uninterruptible)"#
        ]
    );
    assert!(
        call.speaks().is_empty(),
        "no listen step is listening: speech is not for the dialplan"
    );
    assert_eq!(call.played(), ["> greeting", r#"play "Hello Ada.""#]);
    assert_eq!(call.played(), MENU_PROMPT);
}

#[test]
fn the_listen_request_carries_the_step_settings() {
    let mut call = call(MENU);
    call.start();
    call.played();
    call.dialplan
        .handle_input(Input::PlaybackFinished, call.now);
    let outputs: Vec<Output> = std::iter::from_fn(|| call.dialplan.poll_output()).collect();
    let request = outputs
        .iter()
        .find_map(|o| match o {
            Output::Listen(request) => Some(request.clone()),
            _ => None,
        })
        .expect("a listen request");
    assert_eq!(
        request,
        ListenRequest {
            context: TurnContext::General,
            end_silence: Some(Duration::from_millis(700)),
            max_speech: 20 * SECOND,
            hints: [
                "order status",
                "where is my order",
                "order",
                "billing",
                "invoice",
                "agent",
                "human"
            ]
            .map(String::from)
            .to_vec(),
        }
    );
}

#[test]
fn speech_barges_in_and_chooses_an_option() {
    let mut call = menu_prompt_playing();
    assert_eq!(call.speaks(), [r#"speech_started {"node":"menu"}"#, "stop"]);
    assert_eq!(
        call.dialplan.poll_timeout(),
        Some(call.now + 30 * SECOND),
        "only the recognizer's deadline runs: max_speech + 10 s"
    );
    assert_eq!(
        call.heard("Uh, order status, please.", 0.9),
        [
            r#"utterance {"confidence":0.9,"node":"menu","text":"Uh, order status, please."}"#,
            "stop listening",
            r#"listen_option {"by":"speech","node":"menu","option":"order_status","target":"order","text":"Uh, order status, please."}"#,
            "> order",
            r#"hangup {"by":"dialplan","reason":"order"}"#,
            "hangup order"
        ]
    );
    assert_eq!(
        call.dialplan.variables()["choice"],
        "Uh, order status, please."
    );
}

#[test]
fn the_longest_phrase_wins_and_plurals_match() {
    let mut call = in_menu();
    // "order" alone would be order_status too; "invoices" matches "invoice" of billing.
    let log = call.says("my invoices");
    assert_eq!(nodes(&log), ["billing"]);
    let mut call = in_menu();
    let log = call.says("I need a HUMAN!");
    assert!(
        log.contains(&r#"listen_option {"by":"speech","node":"menu","option":"agent","target":"agent","text":"I need a HUMAN!"}"#.to_string()),
        "{log:?}"
    );
}

#[test]
fn a_key_barges_in_and_chooses_an_option() {
    let mut call = menu_prompt_playing();
    assert_eq!(
        call.press("2"),
        [
            "stop",
            "stop listening",
            r#"listen_option {"by":"key","key":"2","node":"menu","option":"billing","target":"billing"}"#,
            "> billing",
            r#"hangup {"by":"dialplan","reason":"billing"}"#,
            "hangup billing"
        ]
    );
    assert_eq!(call.dialplan.variables()["choice"], "2");
}

#[test]
fn a_key_that_is_no_option_is_a_no_match() {
    let mut call = in_menu();
    assert_eq!(
        call.press("7"),
        [
            "stop listening",
            r#"listen_no_match {"attempt":1,"by":"key","key":"7","node":"menu","reason":"no option"}"#,
            r#"play "Sorry, I did not get that.""#
        ]
    );
}

#[test]
fn ambiguous_answers_are_asked_again_then_fail() {
    let mut call = in_menu();
    assert_eq!(
        call.says("billing for my order"),
        [
            r#"speech_started {"node":"menu"}"#,
            r#"utterance {"confidence":0.9,"node":"menu","text":"billing for my order"}"#,
            "stop listening",
            r#"listen_no_match {"attempt":1,"by":"speech","node":"menu","options":["order_status","billing"],"reason":"ambiguous","text":"billing for my order"}"#,
            r#"play "Sorry, I did not get that.""#
        ]
    );
    assert_eq!(
        call.played(),
        [
            r#"listen_started {"attempt":2,"node":"menu"}"#,
            "listen General",
            r#"play welcome,"Say order status, billing or agent.""#
        ]
    );
    call.played();
    assert_eq!(
        call.says("the weather")[3..],
        [
            r#"listen_no_match {"attempt":2,"by":"speech","node":"menu","reason":"no option","text":"the weather"}"#,
            r#"listen_failed {"attempts":2,"node":"menu","target":"bye"}"#,
            r#"play "Sorry, I did not get that.""#
        ]
    );
    assert_eq!(call.played(), ["> bye", "play goodbye (uninterruptible)"]);
}

#[test]
fn low_confidence_is_a_no_match_and_empty_text_no_input() {
    let mut call = in_menu();
    let log = call.heard("billing", 0.3);
    assert!(
        log.contains(&r#"listen_no_match {"attempt":1,"by":"speech","node":"menu","reason":"low confidence","text":"billing"}"#.to_string()),
        "{log:?}"
    );
    call.played();
    call.played();
    assert_eq!(
        call.heard("  ", 0.9),
        [
            r#"utterance {"confidence":0.9,"node":"menu","text":"  "}"#,
            "stop listening",
            r#"listen_no_input {"attempt":2,"node":"menu"}"#,
            r#"listen_failed {"attempts":2,"node":"menu","target":"bye"}"#,
            "play no_input"
        ]
    );
}

#[test]
fn no_input_after_the_timeout() {
    let mut call = menu_prompt_playing();
    assert_eq!(
        call.dialplan.poll_timeout(),
        None,
        "the timeout starts after the prompt"
    );
    call.played();
    assert_eq!(call.dialplan.poll_timeout(), Some(call.now + 6 * SECOND));
    assert!(call.wait(Duration::from_millis(5999)).is_empty());
    assert_eq!(
        call.wait(Duration::from_millis(1)),
        [
            "stop listening",
            r#"listen_no_input {"attempt":1,"node":"menu"}"#,
            "play no_input"
        ]
    );
    assert_eq!(
        call.played()[..2],
        [
            r#"listen_started {"attempt":2,"node":"menu"}"#,
            "listen General"
        ]
    );
}

#[test]
fn speech_suspends_the_no_input_timer() {
    let mut call = in_menu();
    call.wait(5 * SECOND);
    assert_eq!(call.speaks(), [r#"speech_started {"node":"menu"}"#]);
    assert!(
        call.wait(20 * SECOND).is_empty(),
        "a long turn is no timeout"
    );
    assert_eq!(nodes(&call.heard("agent", 0.8)), ["agent"]);
}

#[test]
fn a_recognizer_that_never_answers_counts_as_unavailable() {
    let mut call = in_menu();
    call.speaks();
    assert!(call.wait(Duration::from_millis(29_999)).is_empty());
    assert_eq!(
        call.wait(Duration::from_millis(1)),
        [
            "stop listening",
            r#"speech_unavailable {"attempt":1,"node":"menu","target":"keys","timed_out":true}"#,
            "> keys",
            r#"hangup {"by":"dialplan","reason":"keys"}"#,
            "hangup keys"
        ]
    );
    assert!(
        call.heard("agent", 0.9).is_empty(),
        "a late result is ignored"
    );
}

#[test]
fn speech_unavailable_takes_on_overload() {
    let mut call = in_menu();
    assert_eq!(
        nodes(&call.speech_unavailable()),
        ["keys"],
        "straight to the keys-only path"
    );
    // Reported during the prompt: the prompt stops, as the answer will not come.
    let mut call = menu_prompt_playing();
    let log = call.speech_unavailable();
    assert_eq!(log[..2], ["stop", "stop listening"]);
    assert_eq!(nodes(&log), ["keys"]);
}

#[test]
fn speech_unavailable_without_on_overload_is_no_input() {
    let text = r#"name = "t"
start = "ask"
[nodes.ask.listen]
prompt = { say = "Yes or no?" }
expect = "yes_no"
retries = 0
no_input = { say = "I did not hear you." }
next = "end"
on_failure = "end"
[nodes.end]
hangup = true
"#;
    let mut call = call(text);
    call.start();
    call.played();
    assert_eq!(
        call.speech_unavailable(),
        [
            "stop listening",
            r#"speech_unavailable {"attempt":1,"node":"ask","target":null,"timed_out":false}"#,
            r#"listen_no_input {"attempt":1,"node":"ask"}"#,
            r#"listen_failed {"attempts":1,"node":"ask","target":"end"}"#,
            r#"play "I did not hear you.""#
        ]
    );
}

const NOTICE_THEN_QUESTION: &str = r#"name = "t"
start = "ask"
[vars]
answer = ""
[nodes.ask.listen]
prompt = { say = "Calls are recorded. Do you agree?" }
interruptible = false
expect = "yes_no"
var = "answer"
yes = "agreed"
no = "refused"
on_failure = "refused"
[nodes.agreed]
hangup = { reason = "agreed" }
[nodes.refused]
hangup = { reason = "refused" }
"#;

#[test]
fn a_prompt_that_must_play_to_the_end_ignores_speech_until_it_ends() {
    let mut call = call(NOTICE_THEN_QUESTION);
    assert_eq!(
        call.start(),
        [
            "> ask",
            r#"listen_started {"attempt":1,"node":"ask"}"#,
            "listen YesNo",
            r#"play "Calls are recorded. Do you agree?" (uninterruptible)"#
        ]
    );
    assert_eq!(
        call.speaks(),
        [r#"speech_started {"node":"ask"}"#],
        "no stop"
    );
    assert_eq!(
        call.heard("yes", 0.9),
        [r#"utterance {"confidence":0.9,"node":"ask","text":"yes"}"#],
        "the answer waits for the end of the prompt"
    );
    assert_eq!(
        call.played()[..3],
        [
            "stop listening",
            r#"listen_option {"by":"speech","node":"ask","option":"yes","target":"agreed","text":"yes"}"#,
            "> agreed"
        ]
    );
    assert_eq!(call.dialplan.variables()["answer"], "yes");
}

#[test]
fn speech_during_a_prompt_that_must_play_to_the_end_holds_the_timers() {
    let mut call = call(NOTICE_THEN_QUESTION);
    call.start();
    call.speaks();
    // The recognizer gives up after max_speech (15 s) + 10 s, the prompt still playing.
    assert_eq!(call.dialplan.poll_timeout(), Some(call.now + 25 * SECOND));
    assert!(
        call.wait(25 * SECOND).is_empty(),
        "the answer waits for the prompt"
    );
    assert_eq!(call.dialplan.poll_timeout(), None);
    assert_eq!(
        call.played(),
        [
            "stop listening",
            r#"speech_unavailable {"attempt":1,"node":"ask","target":null,"timed_out":true}"#,
            r#"listen_no_input {"attempt":1,"node":"ask"}"#,
            r#"listen_started {"attempt":2,"node":"ask"}"#,
            "listen YesNo",
            r#"play "Calls are recorded. Do you agree?" (uninterruptible)"#
        ]
    );
    // Still speaking when the prompt ends: no no-input timer, only the recognizer's deadline.
    call.speaks();
    call.wait(5 * SECOND);
    call.played();
    assert_eq!(call.dialplan.poll_timeout(), Some(call.now + 20 * SECOND));
}

#[test]
fn yes_and_no_by_speech_and_by_key() {
    for (answer, end) in [
        ("Yeah, that's right.", "agreed"),
        ("no it isn't", "refused"),
    ] {
        let mut call = call(NOTICE_THEN_QUESTION);
        call.start();
        call.played();
        assert_eq!(nodes(&call.says(answer)), [end], "{answer}");
    }
    let mut call = call(NOTICE_THEN_QUESTION);
    call.start();
    call.played();
    let log = call.press("2");
    assert_eq!(
        log[1],
        r#"listen_option {"by":"key","key":"2","node":"ask","option":"no","target":"refused"}"#
    );
    assert_eq!(call.dialplan.variables()["answer"], "no");
}

const ORDER: &str = r#"name = "t"
start = "ask"
[vars]
order = ""
[nodes.ask.listen]
prompt = { say = "Your order number?" }
expect = "digits"
var = "order"
min = 4
max = 6
timeout = "8s"
inter_digit_timeout = "3s"
no_match = { say = "An order number has 4 to 6 digits." }
next = "confirm"
on_failure = "end"
[nodes.confirm.listen]
prompt = { say = "I heard ${order|spell}, is that right?" }
expect = "yes_no"
yes = "end"
no = "ask"
on_failure = "end"
[nodes.end]
hangup = true
"#;

/// A call asked for its order number, the question over.
fn asked_for_the_order() -> Call {
    let mut call = call(ORDER);
    assert_eq!(
        call.start(),
        [
            "> ask",
            r#"listen_started {"attempt":1,"node":"ask"}"#,
            "listen Digits",
            r#"play "Your order number?""#
        ]
    );
    call.played();
    assert_eq!(call.dialplan.poll_timeout(), Some(call.now + 8 * SECOND));
    call
}

#[test]
fn digits_by_speech_and_confirmation_spelled_out() {
    let mut call = asked_for_the_order();
    assert_eq!(
        call.says("my order is four five one two")[3..],
        [
            r#"listen_value {"by":"speech","node":"ask","target":"confirm","text":"my order is four five one two","value":"4512","var":"order"}"#,
            "> confirm",
            r#"listen_started {"attempt":1,"node":"confirm"}"#,
            "listen YesNo",
            r#"play "I heard 4 5 1 2, is that right?""#
        ]
    );
    assert_eq!(call.dialplan.variables()["order"], "4512");
    call.played();
    assert_eq!(nodes(&call.says("yes")), ["end"]);
}

#[test]
fn digits_by_speech_outside_min_and_max_are_a_no_match() {
    let mut call = asked_for_the_order();
    assert_eq!(
        call.says("double five")[3],
        r#"listen_no_match {"attempt":1,"by":"speech","digits":"55","node":"ask","reason":"wrong number of digits","text":"double five"}"#
    );
}

#[test]
fn digits_by_key_stop_listening_and_end_like_collect() {
    let mut call = asked_for_the_order();
    assert_eq!(call.press("45"), ["stop listening"]);
    assert_eq!(
        call.speaks(),
        Vec::<String>::new(),
        "after a key the step takes keys only"
    );
    assert_eq!(call.dialplan.poll_timeout(), Some(call.now + 3 * SECOND));
    assert_eq!(
        call.press("12#")[0],
        r#"listen_value {"by":"key","digits":"4512","node":"ask","target":"confirm","value":"4512","var":"order"}"#
    );
    let mut call = asked_for_the_order();
    call.press("451");
    assert_eq!(
        call.wait(3 * SECOND)[0],
        r#"listen_no_match {"attempt":1,"by":"key","digits":"451","node":"ask","reason":"wrong number of digits"}"#
    );
}

#[test]
fn keys_typed_ahead_skip_the_prompt_and_the_listening() {
    let text = r#"name = "t"
start = "hello"
[vars]
order = ""
[nodes.hello]
say = { text = "Hello.", next = "ask" }
[nodes.ask.listen]
prompt = { say = "Your order number?" }
expect = "digits"
var = "order"
next = "end"
on_failure = "end"
[nodes.end]
hangup = true
"#;
    let mut call = call(text);
    call.start();
    assert_eq!(call.press("4"), ["stop", "> ask"]);
    assert_eq!(
        call.press("2#")[0],
        r#"listen_value {"by":"key","digits":"42","node":"ask","target":"end","value":"42","var":"order"}"#
    );
}

#[test]
fn free_text_is_stored_and_keys_are_ignored() {
    let text = r#"name = "t"
start = "ask"
[vars]
reason = ""
[nodes.ask.listen]
prompt = { say = "In a few words, why are you calling?" }
var = "reason"
next = "end"
on_failure = "end"
[nodes.end]
hangup = true
"#;
    let mut call = call(text);
    call.start();
    assert!(
        call.press("1").is_empty(),
        "a step without keys ignores them, even as barge-in"
    );
    call.played();
    let log = call.says("My parcel never arrived.");
    assert_eq!(
        log[3],
        r#"listen_value {"by":"speech","node":"ask","target":"end","text":"My parcel never arrived.","value":"My parcel never arrived.","var":"reason"}"#
    );
    assert_eq!(
        call.dialplan.variables()["reason"],
        "My parcel never arrived."
    );
}

#[test]
fn a_keys_only_listen_never_asks_for_speech() {
    let text = r#"name = "t"
start = "ask"
[nodes.ask.listen]
prompt = "menu"
speech = false
expect = "yes_no"
next = "end"
on_failure = "end"
[nodes.end]
hangup = true
"#;
    let mut call = call(text);
    assert_eq!(call.start(), ["> ask", "play menu"]);
    call.played();
    assert!(call.speaks().is_empty());
    assert_eq!(nodes(&call.press("1")), ["end"]);
}

#[test]
fn transcripts_start_with_the_plan_and_switch_by_step() {
    let text = r#"name = "t"
start = "stop"
transcribe = true
[nodes.stop]
transcribe = { enabled = false, next = "end" }
[nodes.end]
hangup = true
"#;
    let mut call = call(text);
    assert_eq!(
        call.start()[..5],
        [
            r#"transcribe {"enabled":true}"#,
            "transcribe on",
            "> stop",
            r#"transcribe {"enabled":false,"node":"stop"}"#,
            "transcribe off"
        ]
    );
}

#[test]
fn the_caller_may_hang_up_while_speaking() {
    let mut call = in_menu();
    call.speaks();
    assert_eq!(
        call.caller_hangs_up(),
        [r#"hangup {"by":"caller","reason":"caller hung up"}"#]
    );
    assert_eq!(call.dialplan.poll_timeout(), None);
    assert!(call.heard("agent", 0.9).is_empty());
}

#[test]
fn an_early_transcript_answers_the_turn_only_when_it_is_complete() {
    let call = in_menu();
    assert!(call.dialplan.answers_turn("Billing.", 0.9));
    assert!(
        !call.dialplan.answers_turn("Billing.", 0.3),
        "below the step's min_confidence it would be a no-match"
    );
    assert!(!call.dialplan.answers_turn("I would like to", 0.9));

    let mut call = asked_for_the_order();
    assert!(
        !call.dialplan.answers_turn("four five one two", 0.9),
        "4 digits of up to 6: the caller may go on"
    );
    assert!(
        call.dialplan
            .answers_turn("four five one two three six", 0.9)
    );
    call.says("four five one two");
    call.played();
    assert!(call.dialplan.answers_turn("Yes, that's right.", 0.9));
    assert!(!call.dialplan.answers_turn("Hmm, let me see", 0.9));
}
