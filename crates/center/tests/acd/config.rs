//! The `[[queue]]` and `[[agent]]` sections: what loads, and clear reasons for what does not.

use sb_center::{Acd, CenterConfig, ConfigError, OverflowTarget, Strategy};

use crate::support::config;

/// The problems `Acd::new` reports for this config.
fn problems(toml_text: &str) -> Vec<ConfigError> {
    match Acd::new(&config(toml_text)) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.0,
    }
}

/// The TOML error for a config that does not even parse.
fn parse_error(toml_text: &str) -> String {
    toml::from_str::<CenterConfig>(toml_text)
        .expect_err("the config should not parse")
        .to_string()
}

#[test]
fn a_full_config_section_loads() {
    let config = config(
        r#"
        [[queue]]
        name = "billing"
        skills = ["billing"]
        strategy = "longest_idle"
        ring_timeout_secs = 15
        max_wait_secs = 120
        overflow = "queue:general"
        announce_every_secs = 30
        wrap_up_secs = 10
        music = "sounds/hold.wav"

        [[queue]]
        name = "general"
        strategy = "round_robin"
        max_wait_secs = 300
        overflow = "callback"

        [[queue]]
        name = "orders"
        skills = ["orders"]
        min_levels = { orders = 3 }
        strategy = "least_calls"
        max_wait_secs = 60
        overflow = "node:voicemail"

        [[agent]]
        id = "1001"
        name = "Ada"
        password = "s3cret"
        skills = { billing = 5, orders = 3 }

        [[agent]]
        id = "1002"
        name = "Bob"
        password = "hunter2"
        skills = { orders = 2 }
        "#,
    );
    assert_eq!(config.queues[1].strategy, Strategy::RoundRobin);
    assert_eq!(config.queues[1].ring_timeout_secs, 15); // the default
    assert_eq!(config.queues[1].wrap_up_secs, 10); // the default
    assert_eq!(config.queues[1].announce_every_secs, None);
    assert_eq!(
        config.queues[2].overflow,
        Some(OverflowTarget::Node("voicemail".into()))
    );
    let acd = Acd::new(&config).unwrap();
    let now = std::time::Instant::now();
    let queues = |agent: &str| acd.agent_snapshot(agent, now).unwrap().queues;
    // A queue without skills takes every agent; Bob is below the orders minimum.
    assert_eq!(queues("1001"), ["billing", "general", "orders"]);
    assert_eq!(queues("1002"), ["general"]);
}

#[test]
fn an_unknown_strategy_is_rejected_naming_the_known_ones() {
    let error = parse_error("[[queue]]\nname = \"q\"\nstrategy = \"fastest\"\n");
    assert!(error.contains("line 3"), "{error}");
    assert!(
        error.contains(
            "unknown variant `fastest`, expected one of `longest_idle`, `least_calls`, `round_robin`"
        ),
        "{error}"
    );
}

#[test]
fn a_malformed_overflow_is_rejected_with_the_accepted_forms() {
    let error =
        parse_error("[[queue]]\nname = \"q\"\nmax_wait_secs = 60\noverflow = \"general\"\n");
    assert!(
        error.contains(
            r#"overflow `general`: expected "queue:<name>", "callback" or "node:<dialplan node>""#
        ),
        "{error}"
    );
}

#[test]
fn a_misspelt_key_is_rejected() {
    let error = parse_error("[[queue]]\nname = \"q\"\nring_timout_secs = 5\n");
    assert!(
        error.contains("unknown field `ring_timout_secs`"),
        "{error}"
    );
}

#[test]
fn overflow_to_an_unknown_queue_is_rejected() {
    let problems = problems(
        "[[queue]]\nname = \"billing\"\nmax_wait_secs = 60\noverflow = \"queue:genral\"\n",
    );
    assert_eq!(
        problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
        ["queue `billing`: overflow to unknown queue `genral`"]
    );
}

#[test]
fn an_overflow_cycle_is_rejected_with_its_path() {
    let problems = problems(
        r#"
        [[queue]]
        name = "entry"
        max_wait_secs = 60
        overflow = "queue:billing"

        [[queue]]
        name = "billing"
        max_wait_secs = 60
        overflow = "queue:orders"

        [[queue]]
        name = "orders"
        max_wait_secs = 60
        overflow = "queue:general"

        [[queue]]
        name = "general"
        max_wait_secs = 60
        overflow = "queue:billing"

        [[queue]]
        name = "loop"
        max_wait_secs = 60
        overflow = "queue:loop"
        "#,
    );
    assert_eq!(
        problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
        [
            "overflow cycle: billing → orders → general → billing",
            "overflow cycle: loop → loop"
        ]
    );
}

#[test]
fn duplicate_queue_names_and_agent_ids_are_rejected() {
    let problems = problems(
        r#"
        [[queue]]
        name = "general"
        [[queue]]
        name = "general"
        [[agent]]
        id = "1001"
        name = "Ada"
        password = "x"
        [[agent]]
        id = "1001"
        name = "Ada again"
        password = "y"
        "#,
    );
    assert_eq!(
        problems,
        [
            ConfigError::DuplicateQueue("general".into()),
            ConfigError::DuplicateAgent("1001".into())
        ]
    );
}

#[test]
fn every_other_problem_is_reported_at_once_with_its_reason() {
    let problems = problems(
        r#"
        [[queue]]
        name = "q"
        skills = ["billing", "billing"]
        min_levels = { billing = 11, orders = 2 }
        ring_timeout_secs = 0
        max_wait_secs = 60
        announce_every_secs = 0

        [[queue]]
        name = "r"
        overflow = "callback"

        [[agent]]
        id = "1001"
        name = "Ada"
        password = "x"
        skills = { billing = 0, orders = 10 }
        "#,
    );
    assert_eq!(
        problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
        [
            "queue `q`: ring_timeout_secs must be at least 1",
            "queue `q`: announce_every_secs must be at least 1 (leave it out for no announcements)",
            "queue `q`: max_wait_secs needs an overflow target",
            "queue `q`: skill `billing` is listed twice",
            "queue `q`: min level 11 for `billing`: levels run from 1 to 10",
            "queue `q`: min_levels names `orders`, which is not in skills",
            "queue `r`: overflow needs max_wait_secs",
            "agent `1001`: skill `billing` has level 0: levels run from 1 to 10",
        ]
    );
    let all = Acd::new(&config(
        "[[queue]]\nname = \"r\"\noverflow = \"callback\"\n",
    ))
    .err()
    .unwrap();
    assert_eq!(all.to_string(), "queue `r`: overflow needs max_wait_secs");
}

#[test]
fn the_password_is_not_printed_in_debug_output() {
    let config = config("[[agent]]\nid = \"1001\"\nname = \"Ada\"\npassword = \"s3cret\"\n");
    let printed = format!("{config:?}");
    assert!(printed.contains("1001"), "{printed}");
    assert!(!printed.contains("s3cret"), "{printed}");
}
