//! Every kind of load error, each asserting the exact line (and column where it matters).

#[path = "support/sounds.rs"]
mod sounds;

use std::path::Path;

use sb_dialog::Dialplan;
use sounds::{parse, sounds_dir};

/// The (line, column, message) of every error, in the order reported.
fn errors(text: &str) -> Vec<(usize, usize, String)> {
    let errors = parse(text).expect_err("the dialplan should be rejected");
    errors
        .errors
        .into_iter()
        .map(|e| (e.line, e.column, e.message))
        .collect()
}

/// Asserts exactly one error, on `line`, whose message contains `part`.
#[track_caller]
fn one_error(text: &str, line: usize, part: &str) -> (usize, String) {
    let all = errors(text);
    assert_eq!(all.len(), 1, "expected one error, got {all:#?}");
    let (found_line, column, message) = all.into_iter().next().unwrap();
    assert_eq!(found_line, line, "wrong line for: {message}");
    assert!(message.contains(part), "`{message}` lacks `{part}`");
    (column, message)
}

#[test]
fn a_minimal_dialplan_loads() {
    let plan = parse("name = \"t\"\nstart = \"a\"\n[nodes.a]\nhangup = true\n").unwrap();
    assert_eq!(plan.name(), "t");
    assert_eq!(plan.start(), "a");
    assert_eq!(plan.node_names().collect::<Vec<_>>(), ["a"]);
}

#[test]
fn toml_syntax_error() {
    let text = r#"name = "t"
start = "a"
[nodes.a]
hangup = = true
"#;
    let all = errors(text);
    assert!(!all.is_empty());
    for (line, _, message) in all {
        assert_eq!(line, 4);
        assert!(message.starts_with("invalid TOML: "), "{message}");
    }
}

#[test]
fn several_syntax_errors_are_all_reported() {
    let text = r#"name = "t"
start = = "a"
[nodes.a]
play = { sound = "a" next = "a" }
"#;
    let lines: Vec<usize> = errors(text).into_iter().map(|(l, _, _)| l).collect();
    assert!(lines.contains(&2) && lines.contains(&4), "{lines:?}");
}

#[test]
fn unknown_top_level_key() {
    let text = r#"name = "t"
start = "a"
lang = "en"
[nodes.a]
hangup = true
"#;
    one_error(text, 3, "unknown key `lang`");
}

#[test]
fn unknown_node_kind() {
    let text = r#"name = "t"
start = "a"
[nodes.a]
goto = "b"
[nodes.b]
playy = { sound = "a", next = "a" }
"#;
    let (_, message) = one_error(text, 6, "unknown key `playy`");
    assert!(
        message.contains("a node has one action: play, menu"),
        "{message}"
    );
}

#[test]
fn unknown_key_inside_an_action() {
    let text = r#"name = "t"
start = "m"
[nodes.m.menu]
prompt = "menu"
on_failure = "m"
options = { "1" = "m" }
timout = "5s"
"#;
    let (column, message) = one_error(text, 7, "unknown key `timout` in `menu`");
    assert_eq!(column, 1);
    assert!(
        message.contains("timeout"),
        "lists the known keys: {message}"
    );
}

#[test]
fn node_without_action() {
    let text = r#"name = "t"
start = "a"
[nodes.a]
hangup = true
[nodes.a.b]
"#;
    // `[nodes.a.b]` makes `b` a key of node `a`: an unknown key there.
    one_error(text, 5, "unknown key `b`");
    let text = "name = \"t\"\nstart = \"a\"\n\n[nodes.a]\n";
    one_error(text, 4, "has no action");
}

#[test]
fn node_with_two_actions() {
    let text = r#"name = "t"
start = "a"
[nodes.a]
play = { sound = "a", next = "a" }
hangup = true
"#;
    one_error(text, 5, "two actions, `play` and `hangup`");
}

#[test]
fn type_errors() {
    let text = r#"name = "t"
start = "m"
[nodes.m]
menu = { prompt = "menu", options = { "1" = "m" }, on_failure = "m", retries = "two" }
"#;
    let (column, message) = one_error(text, 4, "`retries` must be a whole number");
    assert_eq!(column, 80);
    assert!(message.contains("found a string"));
    let text = r#"name = "t"
start = "m"
[nodes.m]
menu = { prompt = "menu", options = { "1" = "m" }, on_failure = "m", retries = -1 }
"#;
    one_error(text, 4, "from 0 up");
    let text = "name = 5\nstart = \"a\"\n[nodes.a]\nhangup = true\n";
    one_error(text, 1, "`name` must be a string");
    let text = "name = \"t\"\nstart = \"a\"\n[nodes.a]\nhangup = \"yes\"\n";
    one_error(text, 4, "`hangup` must be true or a table");
}

#[test]
fn missing_required_key() {
    let text = r#"name = "t"
start = "m"
[nodes.m]
menu = { prompt = "menu", options = { "1" = "m" } }
"#;
    one_error(text, 4, "`menu` needs `on_failure`");
    let text = "name = \"t\"\n[nodes.a]\nhangup = true\n";
    one_error(text, 1, "needs `start`");
}

#[test]
fn reference_to_a_missing_node() {
    let text = r#"name = "t"
start = "greeting"
[nodes.greeting]
play = { sound = "welcome", next = "main_mneu" }
[nodes.main_menu]
hangup = true
"#;
    let (column, message) = one_error(text, 4, "there is no node `main_mneu`");
    assert_eq!(column, 36);
    assert!(message.contains("did you mean `main_menu`"), "{message}");
}

#[test]
fn start_names_a_missing_node() {
    let text = "name = \"t\"\nstart = \"nope\"\n[nodes.a]\nhangup = true\n";
    // `a` is then also unreachable, but only once start is right can that be judged.
    one_error(text, 2, "there is no node `nope`");
}

#[test]
fn missing_sound_file() {
    let text = r#"name = "t"
start = "a"
[nodes.a]
play = { sound = ["welcome", "welcom"], next = "b" }
[nodes.b]
hangup = { sound = "../etc/passwd" }
"#;
    let all = errors(text);
    assert_eq!(all.len(), 2, "{all:#?}");
    assert_eq!((all[0].0, all[0].1), (4, 30));
    assert!(all[0].2.contains("sound `welcom`: no file"));
    assert_eq!(all[1].0, 6);
    assert!(all[1].2.contains("inside the sounds folder"));
}

#[test]
fn unreachable_node() {
    let text = r#"name = "t"
start = "a"
[nodes.a]
hangup = true

[nodes.orphan]
goto = "a"
"#;
    let (column, _) = one_error(
        text,
        6,
        "node `orphan`: never reached from the start node `a`",
    );
    assert_eq!(column, 8);
}

#[test]
fn invalid_menu_key() {
    let text = r#"name = "t"
start = "m"
[nodes.m.menu]
prompt = "menu"
on_failure = "m"
[nodes.m.menu.options]
"1" = "m"
"10" = "m"
"x" = "m"
"#;
    let all = errors(text);
    assert_eq!(all.len(), 2, "{all:#?}");
    assert_eq!(all[0].0, 8);
    assert!(all[0].2.contains("menu option `10` is not a phone key"));
    assert_eq!(all[1].0, 9);
}

#[test]
fn empty_menu_options() {
    let text = r#"name = "t"
start = "m"
[nodes.m]
menu = { prompt = "menu", on_failure = "m", options = {} }
"#;
    one_error(text, 4, "`options` is empty");
}

#[test]
fn bad_durations() {
    let text = r#"name = "t"
start = "c"
[nodes.c.collect]
prompt = "enter"
var = "x"
next = "c"
on_failure = "c"
first_digit_timeout = "5"
inter_digit_timeout = "0s"
"#;
    let all = errors(text);
    assert_eq!(all.len(), 2, "{all:#?}");
    assert_eq!(all[0].0, 8);
    assert!(all[0].2.contains("bad duration `5`"));
    assert_eq!(all[1].0, 9);
    assert!(all[1].2.contains("more than zero"));
}

#[test]
fn unknown_time_zones() {
    let text = r#"name = "t"
start = "h"
timezone = "Europe/Berlinn"
[nodes.h]
hours = { timezone = "Mars/Olympus", open = ["mon 08:00-09:00"], if_open = "x", if_closed = "x" }
[nodes.x]
hangup = true
"#;
    let all = errors(text);
    assert_eq!(all.len(), 2, "{all:#?}");
    assert_eq!(all[0].0, 3);
    assert!(all[0].2.contains("unknown time zone `Europe/Berlinn`"));
    assert_eq!((all[1].0, all[1].1), (5, 22));
}

#[test]
fn hours_need_a_time_zone() {
    let text = r#"name = "t"
start = "h"
[nodes.h]
hours = { open = ["mon 08:00-09:00"], if_open = "x", if_closed = "x" }
[nodes.x]
hangup = true
"#;
    one_error(text, 4, "`hours` needs `timezone`");
}

#[test]
fn bad_hours_ranges_and_dates() {
    let text = r#"name = "t"
start = "h"
timezone = "Europe/Berlin"
[nodes.h.hours]
open = [
  "mon-fri 08:00-18:00",
  "sat 13:00-09:00",
  "sun 8-12",
  "hol 10:00-11:00",
]
closed_dates = ["2026-12-25", "2026-13-01"]
if_open = "x"
if_closed = "x"
[nodes.x]
hangup = true
"#;
    let all = errors(text);
    let lines: Vec<usize> = all.iter().map(|e| e.0).collect();
    assert_eq!(lines, [7, 8, 9, 11], "{all:#?}");
    assert!(all[0].2.contains("ends before it starts"));
    assert!(all[1].2.contains("bad time `8`"));
    assert!(all[2].2.contains("unknown day `hol`"));
    assert!(all[3].2.contains("bad date `2026-13-01`"));
}

#[test]
fn bad_condition_points_inside_the_string() {
    let text = r#"name = "t"
start = "w"
[vars]
lang = "en"
[nodes.w]
when = [
  { if = "lang == 'de'", then = "x" },
  { if = "lang = 'fr'", then = "x" },
]
else = "x"
[nodes.x]
hangup = true
"#;
    let (column, message) = one_error(text, 8, "bad condition: unknown operator `=`");
    // `lang = 'fr'` starts at column 11; the `=` is 5 characters further.
    assert_eq!(column, 16, "{message}");
}

#[test]
fn unknown_variable() {
    let text = r#"name = "t"
start = "w"
[vars]
order_number = ""
[nodes.w]
when = [{ if = "order_numbr starts_with 9", then = "x" }]
else = "x"
[nodes.x]
set = { vars = { greeting = "hello ${name}" }, next = "y" }
[nodes.y]
hangup = true
"#;
    let all = errors(text);
    assert_eq!(all.len(), 2, "{all:#?}");
    assert_eq!((all[0].0, all[0].1), (6, 17));
    assert!(
        all[0]
            .2
            .contains("unknown variable `order_numbr`; did you mean `order_number`?")
    );
    assert_eq!((all[1].0, all[1].1), (9, 38));
}

#[test]
fn bad_template_and_variable_names() {
    let text = r#"name = "t"
start = "s"
[vars]
2fast = "x"
[nodes.s]
set = { vars = { a = "${unclosed" }, next = "e" }
[nodes.e]
hangup = true
"#;
    let all = errors(text);
    assert_eq!(all.len(), 2, "{all:#?}");
    assert_eq!(all[0].0, 4);
    assert!(all[0].2.contains("`2fast` is not a variable name"));
    assert_eq!(all[1].0, 6);
    assert!(all[1].2.contains("without a closing"));
}

#[test]
fn min_above_max() {
    let text = r#"name = "t"
start = "c"
[nodes.c.collect]
prompt = "enter"
var = "x"
next = "c"
on_failure = "c"
min = 6
max = 4
"#;
    one_error(text, 8, "`min` (6) is more than `max` (4)");
}

#[test]
fn else_placement() {
    let text = r#"name = "t"
start = "a"
[nodes.a]
goto = "w"
else = "a"
[nodes.w]
when = [{ if = "1 == 1", then = "e" }]
[nodes.e]
hangup = true
"#;
    let all = errors(text);
    assert_eq!(all.len(), 2, "{all:#?}");
    assert_eq!(all[0].0, 5);
    assert!(all[0].2.contains("`else` belongs to a `when` node"));
    assert_eq!(all[1].0, 6);
    assert!(all[1].2.contains("needs `else`"));
}

#[test]
fn loop_that_never_waits() {
    let text = r#"name = "t"
start = "a"
[nodes.a]
play = { sound = "a", next = "b" }
[nodes.b]
set = { add = { n = 1 }, next = "c" }
[nodes.c]
goto = "b"
"#;
    one_error(
        text,
        5,
        "nodes `b` → `c` → `b` loop forever without waiting",
    );
}

#[test]
fn a_loop_through_a_waiting_node_is_fine() {
    let text = r#"name = "t"
start = "a"
[nodes.a]
play = { sound = "hold", next = "b" }
[nodes.b]
goto = "a"
"#;
    assert!(parse(text).is_ok());
}

#[test]
fn all_errors_sorted_by_line_with_file_line_col_display() {
    let text = r#"name = "t"
start = "a"
[nodes.a]
menu = { prompt = "nope", options = { "1" = "b" }, on_failure = "a", timeout = "5" }
[nodes.b]
goto = "c"
"#;
    let err = parse(text).unwrap_err();
    assert_eq!(
        err.to_string(),
        [
            "test.toml:4:19: node `a`: sound `nope`: no file",
            "test.toml:4:80: node `a`: `timeout`: bad duration `5`; write a whole number and a unit: \"500ms\", \"5s\" or \"1m\"",
            "test.toml:6:8: node `b`: there is no node `c`",
        ]
        .join("\n")
        .replace(
            "no file",
            &format!("no file {}", sounds_dir().join("nope.wav").display())
        )
    );
    let error: &dyn std::error::Error = &err;
    assert!(error.to_string().starts_with("test.toml:4:19"));
}

#[test]
fn load_reports_an_unreadable_file() {
    let err = Dialplan::load(Path::new("/nonexistent/plan.toml"), sounds_dir()).unwrap_err();
    assert_eq!(err.errors.len(), 1);
    assert!(
        err.to_string()
            .starts_with("/nonexistent/plan.toml:1:1: cannot read the dialplan")
    );
}

/// A dialplan whose start node is a listen step with `body`, plus nodes `a` and `b`.
fn listen_plan(body: &str) -> String {
    format!(
        "name = \"t\"\nstart = \"l\"\n[vars]\nx = \"\"\n[nodes.a]\nhangup = true\n[nodes.b]\nhangup = true\n[nodes.l.listen]\nprompt = {{ say = \"Hello?\" }}\non_failure = \"a\"\non_overload = \"b\"\n{body}"
    )
}

/// The first line of a listen step's body in [`listen_plan`].
const BODY: usize = 13;

#[test]
fn a_listen_plan_loads() {
    let body = r#"timeout = "6s"
end_silence = "700ms"
max_speech = "20s"
min_confidence = 0.4
var = "x"
[nodes.l.listen.options.yes]
phrases = ["order status"]
keywords = ["order"]
key = "1"
next = "a"
[nodes.l.listen.options.no]
key = "2"
next = "b"
"#;
    parse(&listen_plan(body)).unwrap();
}

#[test]
fn unknown_expect_suggests_the_closest() {
    let (column, _) = one_error(
        &listen_plan("expect = \"yesno\"\nnext = \"a\"\n"),
        BODY,
        "unknown expect `yesno`; use phrase, yes_no or digits; did you mean `yes_no`?",
    );
    assert_eq!(column, 10);
}

#[test]
fn option_without_phrases_keywords_or_key() {
    let body = "[nodes.l.listen.options.agent]\nnext = \"a\"\n";
    let (column, _) = one_error(
        &listen_plan(body),
        BODY,
        "option `agent` needs `phrases`, `keywords` or a `key`",
    );
    assert_eq!(column, 25);
}

#[test]
fn a_key_chooses_one_option_only() {
    let body = r#"options.one = { key = "1", next = "a" }
options.two = { key = "1", next = "b" }
"#;
    let (column, _) = one_error(
        &listen_plan(body),
        BODY + 1,
        "key `1` already chooses option `one`",
    );
    assert_eq!(column, 23);
}

#[test]
fn a_phrase_belongs_to_one_option_only() {
    let body = r#"options.one = { phrases = ["my orders"], next = "a" }
options.two = { phrases = ["bills", "My order!"], next = "b" }
"#;
    let (column, _) = one_error(
        &listen_plan(body),
        BODY + 1,
        "`My order!` is also an answer of option `one`; callers saying it could not be told apart",
    );
    assert_eq!(column, 37);
}

#[test]
fn phrases_need_words_and_keywords_one_word() {
    let body = r#"options.one = { phrases = ["?!"], keywords = ["track parcel"], next = "a" }
options.two = { phrases = [], next = "b" }
options.three = { phrases = "billing", next = "b" }
"#;
    let all = errors(&listen_plan(body));
    assert_eq!(all.len(), 4, "{all:#?}");
    assert!(all[0].2.contains("phrase `?!` has no words"), "{all:#?}");
    assert!(all[1].2.contains("keyword `track parcel` must be one word"));
    assert_eq!(all[2].0, BODY + 1);
    assert!(
        all[2]
            .2
            .contains("`phrases` must be a non-empty list of strings")
    );
    assert!(
        all[3]
            .2
            .contains("`phrases` must be a non-empty list of strings")
    );
}

#[test]
fn option_names_and_empty_options() {
    let body = "options.\"to agent\" = { key = \"0\", next = \"a\" }\n";
    one_error(
        &listen_plan(body),
        BODY,
        "option names take letters, digits, _ and - only",
    );
    one_error(&listen_plan("options = {}\n"), BODY, "`options` is empty");
    one_error(
        &listen_plan("options = [\"agent\"]\n"),
        BODY,
        "`options` must be a table of [….options.NAME] tables",
    );
    let (column, _) = one_error(
        &listen_plan("options.agent = { phrase = \"agent\", key = \"0\", next = \"a\" }\n"),
        BODY,
        "unknown key `phrase` in `options.agent`; expected one of: phrases, keywords, key, next",
    );
    assert_eq!(column, 19);
    one_error(
        &listen_plan("options.agent = { key = \"0\" }\n"),
        BODY,
        "`options.agent` needs `next`",
    );
}

#[test]
fn bad_listen_durations() {
    let body =
        "timeout = \"6\"\nend_silence = \"0ms\"\nmax_speech = \"1h\"\nvar = \"x\"\nnext = \"a\"\n";
    let all = errors(&listen_plan(body));
    let lines: Vec<usize> = all.iter().map(|e| e.0).collect();
    assert_eq!(lines, [BODY, BODY + 1, BODY + 2], "{all:#?}");
    assert!(all[0].2.contains("`timeout`: bad duration `6`"));
    assert!(
        all[1]
            .2
            .contains("`end_silence`: duration `0ms` must be more than zero")
    );
    assert!(all[2].2.contains("`max_speech`: bad duration `1h`"));
}

#[test]
fn min_confidence_from_0_to_1() {
    let plan = |value: &str| {
        listen_plan(&format!(
            "min_confidence = {value}\nvar = \"x\"\nnext = \"a\"\n"
        ))
    };
    one_error(
        &plan("1.5"),
        BODY,
        "`min_confidence` must be from 0 to 1, found 1.5",
    );
    one_error(&plan("-1"), BODY, "found -1");
    one_error(
        &plan("\"high\""),
        BODY,
        "`min_confidence` must be a number from 0 to 1, found a string",
    );
    assert!(parse(&plan("1")).is_ok());
}

#[test]
fn keys_of_another_expect() {
    let body = "expect = \"yes_no\"\nyes = \"a\"\nno = \"b\"\nmin = 4\noptions.x = { key = \"1\", next = \"a\" }\n";
    let all = errors(&listen_plan(body));
    assert_eq!(all.len(), 2, "{all:#?}");
    assert_eq!(all[0].0, BODY + 3);
    assert!(all[0].2.contains("`min` is only for expect = \"digits\""));
    assert!(
        all[1]
            .2
            .contains("`options` is only for expect = \"phrase\"")
    );
    one_error(
        &listen_plan("yes = \"a\"\nvar = \"x\"\nnext = \"a\"\n"),
        BODY,
        "`yes` is only for expect = \"yes_no\"",
    );
}

#[test]
fn phrase_answers_need_options_or_next_and_var() {
    one_error(
        &listen_plan(""),
        9,
        "`listen` needs `options`, or `next` and `var` to take any answer",
    );
    one_error(
        &listen_plan("next = \"a\"\n"),
        9,
        "a `listen` without options needs `var`, to keep what the caller said",
    );
    let body = "next = \"a\"\noptions.x = { key = \"1\", next = \"b\" }\n";
    one_error(
        &listen_plan(body),
        BODY,
        "`next` is for a `listen` without options; each option names its own `next`",
    );
}

#[test]
fn yes_no_needs_both_answers() {
    one_error(
        &listen_plan("expect = \"yes_no\"\nyes = \"a\"\n"),
        9,
        "expect = \"yes_no\" needs `yes` and `no`, or `next` for both",
    );
    one_error(
        &listen_plan("expect = \"yes_no\"\nyes = \"a\"\nno = \"b\"\nnext = \"a\"\n"),
        BODY + 3,
        "`next` is not used: `yes` and `no` are both given",
    );
    assert!(
        parse(&listen_plan(
            "expect = \"yes_no\"\nyes = \"a\"\nnext = \"b\"\n"
        ))
        .is_ok()
    );
}

#[test]
fn digits_need_var_and_next_and_sane_lengths() {
    let all = errors(&listen_plan("expect = \"digits\"\nmin = 5\nmax = 4\n"));
    assert_eq!(all.len(), 3, "{all:#?}");
    assert!(all[0].2.contains("expect = \"digits\" needs `var`"));
    assert!(all[1].2.contains("`listen` needs `next`"));
    assert_eq!(all[2].0, BODY + 1);
    assert!(all[2].2.contains("`min` (5) is more than `max` (4)"));
}

#[test]
fn a_step_must_hear_something() {
    one_error(
        &listen_plan("speech = false\nvar = \"x\"\nnext = \"a\"\n"),
        BODY,
        "with `speech = false` and no keys, the step cannot hear an answer",
    );
    let body = "speech = false\noptions.one = { key = \"1\", next = \"a\" }\noptions.two = { phrases = [\"two\"], next = \"b\" }\n";
    let (column, _) = one_error(
        &listen_plan(body),
        BODY + 2,
        "option `two` has no `key`, but `speech = false`",
    );
    assert_eq!(column, 9);
}

#[test]
fn digits_setting_must_fit_the_options() {
    one_error(
        &listen_plan("digits = true\noptions.one = { phrases = [\"one\"], next = \"a\" }\n"),
        BODY,
        "`digits = true`, but no option has a `key`",
    );
    one_error(
        &listen_plan("digits = false\noptions.one = { key = \"1\", next = \"a\" }\n"),
        BODY,
        "`digits = false`, but options have a `key`",
    );
}

#[test]
fn spoken_text_is_checked() {
    let text = r#"name = "t"
start = "s"
[vars]
order = ""
[nodes.s]
say = { text = "Order ${ordr}", next = "p" }
[nodes.p]
play = { sound = ["welcome", { say = "${order|shout}" }], next = "q" }
[nodes.q]
say = { text = "  ", next = "f" }
[nodes.e]
hangup = { sound = { sey = "Bye" } }
[nodes.f]
play = { sound = {}, next = "e" }
"#;
    let all = errors(text);
    assert_eq!(all.len(), 5, "{all:#?}");
    assert_eq!((all[0].0, all[0].1), (6, 25));
    assert!(
        all[0]
            .2
            .contains("unknown variable `ordr`; did you mean `order`?")
    );
    assert_eq!((all[1].0, all[1].1), (8, 47));
    assert!(
        all[1]
            .2
            .contains("`say`: unknown filter `shout`; known filters: spell")
    );
    assert_eq!(all[2].0, 10);
    assert!(
        all[2]
            .2
            .contains("`text` is empty; write the text to speak")
    );
    assert_eq!(all[3].0, 12);
    assert!(
        all[3]
            .2
            .contains("unknown key `sey` in `sound`; expected one of: say")
    );
}

#[test]
fn prompt_items_must_be_sounds_or_say_tables() {
    let text = r#"name = "t"
start = "a"
[nodes.a]
play = { sound = ["welcome", 5], next = "b" }
[nodes.b]
hangup = { sound = 5 }
"#;
    let all = errors(text);
    assert_eq!(all.len(), 2, "{all:#?}");
    assert!(
        all[0]
            .2
            .contains("`sound` must be a sound name or { say = \"…\" }, found an integer")
    );
    assert!(
        all[1]
            .2
            .contains("`sound` must be a sound name, { say = \"…\" }, or a non-empty list of them")
    );
}

#[test]
fn transcribe_settings() {
    let text = r#"name = "t"
start = "a"
transcribe = "yes"
[nodes.a]
transcribe = { enabled = true }
[nodes.b]
transcribe = { enabled = "on", next = "a" }
"#;
    // Where `a` leads is unknown, so whether `b` is reached is not judged.
    let all = errors(text);
    let lines: Vec<usize> = all.iter().map(|e| e.0).collect();
    assert_eq!(lines, [3, 5, 7], "{all:#?}");
    assert!(all[0].2.contains("`transcribe` must be true or false"));
    assert!(all[1].2.contains("`transcribe` needs `next`"));
    assert!(all[2].2.contains("`enabled` must be true or false"));
}

#[test]
fn transcribe_steps_loop_like_goto() {
    let text = r#"name = "t"
start = "a"
[nodes.a]
transcribe = { enabled = true, next = "b" }
[nodes.b]
goto = "a"
"#;
    one_error(text, 3, "nodes `a` → `b` → `a` loop forever");
}
