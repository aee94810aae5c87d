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
