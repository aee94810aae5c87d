//! Which agent a call rings: skills, reachability and the queue's strategy.

use crate::support::{Sim, agents_and_queues, ring};

fn queue(strategy: &str) -> String {
    format!(
        "[[queue]]\nname = \"general\"\nskills = [\"general\"]\nstrategy = \"{strategy}\"\nwrap_up_secs = 10\n"
    )
}

#[test]
fn a_call_rings_the_longest_idle_skilled_agent() {
    let mut sim = Sim::with_available(
        &agents_and_queues(3, &queue("longest_idle")),
        &["a1", "a2", "a3"],
    );
    sim.arrive("c1", "general");
    sim.acd.agent_answered("c1", "a1", sim.now).unwrap();
    sim.arrive("c2", "general");
    sim.acd.agent_answered("c2", "a2", sim.now).unwrap();
    sim.wait_secs(40);
    sim.acd.call_ended("c2", sim.now).unwrap(); // a2 idle since 40 s
    sim.wait_secs(20);
    sim.acd.call_ended("c1", sim.now).unwrap(); // a1 idle since 60 s
    sim.wait_secs(40);
    sim.arrive("c3", "general"); // a3 never had a call: idle longest
    sim.acd.agent_answered("c3", "a3", sim.now).unwrap();
    sim.arrive("c4", "general");
    assert_eq!(
        sim.rings(),
        [
            ring("c1", "a1"),
            ring("c2", "a2"),
            ring("c3", "a3"),
            ring("c4", "a2")
        ]
    );
}

#[test]
fn longest_idle_prefers_the_more_skilled_agent_when_both_are_equally_idle() {
    let mut sim = Sim::with_available(
        r#"
        [[queue]]
        name = "billing"
        skills = ["billing"]

        [[agent]]
        id = "junior"
        name = "Junior"
        password = "x"
        skills = { billing = 3 }

        [[agent]]
        id = "senior"
        name = "Senior"
        password = "x"
        skills = { billing = 8 }
        "#,
        &["junior", "senior"],
    );
    sim.arrive("c1", "billing");
    assert_eq!(sim.rings(), [ring("c1", "senior")]);
}

#[test]
fn longest_idle_rotates_through_equal_agents() {
    let mut sim = Sim::with_available(
        &agents_and_queues(3, &queue("longest_idle")),
        &["a1", "a2", "a3"],
    );
    let mut rung = Vec::new();
    for i in 1..=7 {
        let call = format!("c{i}");
        sim.arrive(&call, "general");
        let rings = sim.rings();
        let (_, agent) = &rings[0];
        sim.answer_and_talk(&call, agent, 30);
        rung.push(agent.clone());
        sim.wait_secs(20); // past the wrap-up
    }
    assert_eq!(rung, ["a1", "a2", "a3", "a1", "a2", "a3", "a1"]);
}

#[test]
fn least_calls_rings_the_agent_with_fewest_calls_today() {
    let mut sim = Sim::with_available(&agents_and_queues(2, &queue("least_calls")), &["a1"]);
    for call in ["c1", "c2"] {
        sim.arrive(call, "general");
        sim.answer_and_talk(call, "a1", 10);
        sim.wait_secs(10);
    }
    sim.log_in("a2");
    sim.arrive("c3", "general");
    sim.answer_and_talk("c3", "a2", 60);
    sim.wait_secs(100);
    // a1 has been idle longer, but a2 has taken fewer calls.
    sim.arrive("c4", "general");
    assert_eq!(
        sim.rings(),
        [
            ring("c1", "a1"),
            ring("c2", "a1"),
            ring("c3", "a2"),
            ring("c4", "a2")
        ]
    );
}

#[test]
fn round_robin_cycles_through_the_agents() {
    let mut sim = Sim::with_available(
        &agents_and_queues(3, &queue("round_robin")),
        &["a1", "a2", "a3"],
    );
    sim.arrive("c1", "general");
    sim.acd.agent_answered("c1", "a1", sim.now).unwrap();
    sim.arrive("c2", "general");
    sim.acd.agent_answered("c2", "a2", sim.now).unwrap();
    sim.wait_secs(5);
    sim.acd.call_ended("c2", sim.now).unwrap();
    sim.wait_secs(5);
    sim.acd.call_ended("c1", sim.now).unwrap();
    sim.wait_secs(20);
    sim.arrive("c3", "general");
    sim.answer_and_talk("c3", "a3", 5);
    sim.wait_secs(20);
    // Longest idle would pick a2 now; the turn goes on with a1.
    sim.arrive("c4", "general");
    sim.arrive("c5", "general");
    sim.arrive("c6", "general");
    assert_eq!(
        sim.rings(),
        [
            ring("c1", "a1"),
            ring("c2", "a2"),
            ring("c3", "a3"),
            ring("c4", "a1"),
            ring("c5", "a2"),
            ring("c6", "a3")
        ]
    );
}

const BILLING_AND_ORDERS: &str = r#"
[[queue]]
name = "billing"
skills = ["billing"]
min_levels = { billing = 5 }

[[agent]]
id = "orders_only"
name = "Orders"
password = "x"
skills = { orders = 9 }

[[agent]]
id = "junior"
name = "Junior"
password = "x"
skills = { billing = 3 }

[[agent]]
id = "senior"
name = "Senior"
password = "x"
skills = { billing = 7, orders = 2 }
"#;

#[test]
fn agents_without_the_required_skills_or_level_are_never_rung() {
    let mut sim = Sim::with_available(BILLING_AND_ORDERS, &["orders_only", "junior", "senior"]);
    sim.arrive("c1", "billing");
    sim.arrive("c2", "billing");
    assert_eq!(sim.rings(), [ring("c1", "senior")]);
    assert_eq!(sim.waiting("billing"), ["c2"]);
    let members: Vec<String> = sim
        .acd
        .queue_snapshot("billing", sim.now)
        .unwrap()
        .agents
        .iter()
        .map(|agent| agent.agent.to_string())
        .collect();
    assert_eq!(members, ["senior"]);
}

#[test]
fn unreachable_agents_are_never_offered_calls() {
    let mut sim = Sim::new(&agents_and_queues(1, &queue("longest_idle")));
    sim.acd
        .set_agent_state("a1", sb_center::Presence::Available, sim.now)
        .unwrap();
    sim.arrive("c1", "general");
    assert_eq!(sim.rings(), []);
    sim.wait_secs(3);
    sim.acd.agent_reachable("a1", true, sim.now).unwrap();
    assert_eq!(sim.rings(), [ring("c1", "a1")]);
}

#[test]
fn away_agents_are_never_offered_calls() {
    let mut sim = Sim::new(&agents_and_queues(1, &queue("longest_idle")));
    sim.acd.agent_reachable("a1", true, sim.now).unwrap();
    sim.arrive("c1", "general");
    sim.wait_secs(60);
    assert_eq!(sim.rings(), []);
    sim.log_in("a1");
    assert_eq!(sim.rings(), [ring("c1", "a1")]);
}
