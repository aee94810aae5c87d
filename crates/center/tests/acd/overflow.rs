//! Callers who waited too long go to the queue's overflow target, exactly once.

use sb_center::{AcdError, AcdOutput, OverflowTarget};

use crate::support::{Sim, agents_and_queues, ring};

fn overflows(outputs: &[AcdOutput]) -> Vec<(String, String, OverflowTarget)> {
    outputs
        .iter()
        .filter_map(|output| match output {
            AcdOutput::Overflow { call, from, target } => {
                Some((call.to_string(), from.to_string(), target.clone()))
            }
            _ => None,
        })
        .collect()
}

const BILLING_TO_GENERAL: &str = r#"
[[queue]]
name = "billing"
skills = ["billing"]
max_wait_secs = 120
overflow = "queue:general"

[[queue]]
name = "general"
skills = ["general"]
max_wait_secs = 300
overflow = "callback"

[[queue]]
name = "orders"
skills = ["orders"]
ring_timeout_secs = 15
max_wait_secs = 60
overflow = "node:voicemail"
"#;

#[test]
fn max_wait_overflows_exactly_once() {
    let mut sim = Sim::new(BILLING_TO_GENERAL);
    sim.arrive("c1", "general");
    sim.wait_secs(299);
    assert_eq!(overflows(&sim.outputs()), []);
    sim.wait_secs(1);
    sim.wait_secs(3600);
    assert_eq!(
        overflows(&sim.outputs()),
        [("c1".into(), "general".into(), OverflowTarget::Callback)]
    );
    // The call has left the ACD: the gateway takes it from here.
    assert_eq!(sim.waiting("general"), Vec::<String>::new());
    assert_eq!(
        sim.acd.call_abandoned("c1", sim.now),
        Err(AcdError::UnknownCall("c1".into()))
    );
    assert_eq!(sim.acd.poll_timeout(), None);
}

#[test]
fn overflow_to_a_dialplan_node_hands_the_call_back_to_the_dialplan() {
    let mut sim = Sim::new(BILLING_TO_GENERAL);
    sim.arrive("c1", "orders");
    sim.wait_secs(60);
    assert_eq!(
        overflows(&sim.outputs()),
        [(
            "c1".into(),
            "orders".into(),
            OverflowTarget::Node("voicemail".into())
        )]
    );
}

#[test]
fn overflow_to_another_queue_keeps_the_callers_place_by_arrival_and_overflows_again_from_there() {
    let mut sim = Sim::new(BILLING_TO_GENERAL);
    sim.arrive("early_general", "general");
    sim.wait_secs(10);
    sim.arrive("billing", "billing");
    sim.wait_secs(10);
    sim.arrive("late_general", "general");
    sim.wait_secs(110);
    assert_eq!(
        overflows(&sim.outputs()),
        [(
            "billing".into(),
            "billing".into(),
            OverflowTarget::Queue("general".into())
        )]
    );
    assert_eq!(
        sim.waiting("general"),
        ["early_general", "billing", "late_general"]
    );
    // Its wait in general counts from joining it at 130 s: it overflows again at 430 s,
    // after the two general calls (300 s and 320 s).
    sim.wait_secs(429 - 130);
    let names: Vec<String> = overflows(&sim.outputs())
        .into_iter()
        .map(|(call, ..)| call)
        .collect();
    assert_eq!(names, ["early_general", "late_general"]);
    sim.wait_secs(1);
    assert_eq!(
        overflows(&sim.outputs()),
        [("billing".into(), "general".into(), OverflowTarget::Callback)]
    );
}

#[test]
fn a_call_ringing_at_max_wait_overflows_only_if_the_ring_fails() {
    let toml = agents_and_queues(
        2,
        "[[queue]]\nname = \"q\"\nskills = [\"general\"]\nring_timeout_secs = 15\nmax_wait_secs = 20\noverflow = \"callback\"\n",
    );
    let mut sim = Sim::with_available(&toml, &["a1", "a2"]);
    sim.arrive("answered", "q");
    sim.wait_secs(25); // a1 rang out at 15 s; a2 rings until 30 s, past the max wait
    sim.acd.agent_answered("answered", "a2", sim.now).unwrap();
    sim.wait_secs(100);
    assert_eq!(overflows(&sim.outputs()), []);

    sim.arrive("missed", "q");
    sim.rings();
    sim.wait_secs(15); // a1 rings out and, a2 talking, rings again; the max wait passes
    assert_eq!(sim.rings(), [ring("missed", "a1")]);
    sim.wait_secs(15);
    assert_eq!(
        overflows(&sim.outputs()),
        [("missed".into(), "q".into(), OverflowTarget::Callback)]
    );
    assert_eq!(sim.waiting("q"), Vec::<String>::new());
}
