//! An agent's day: wrap-up, breaks, transfers and counters.

use std::time::Duration;

use sb_center::{AgentState, Presence};

use crate::support::{Sim, agents_and_queues, ring};

const TWO_QUEUES: &str = r#"
[[queue]]
name = "general"
skills = ["general"]
wrap_up_secs = 10

[[queue]]
name = "complaints"
skills = ["general"]
wrap_up_secs = 45
"#;

#[test]
fn wrap_up_ends_by_timer_and_the_agent_takes_the_next_call() {
    let mut sim = Sim::with_available(&agents_and_queues(1, TWO_QUEUES), &["a1"]);
    sim.arrive("c1", "general");
    sim.answer_and_talk("c1", "a1", 60);
    let wrap_up_until = sim.now + Duration::from_secs(10);
    assert_eq!(sim.state("a1"), AgentState::WrapUp(wrap_up_until));
    assert_eq!(sim.acd.poll_timeout(), Some(wrap_up_until));
    sim.wait_secs(2);
    sim.arrive("c2", "general");
    sim.wait_secs(7);
    assert_eq!(sim.rings(), [ring("c1", "a1")]);
    sim.wait_secs(1);
    assert_eq!(sim.rings(), [ring("c2", "a1")]);
}

#[test]
fn each_queue_has_its_own_wrap_up_time() {
    let mut sim = Sim::with_available(&agents_and_queues(1, TWO_QUEUES), &["a1"]);
    sim.arrive("c1", "complaints");
    sim.answer_and_talk("c1", "a1", 60);
    sim.wait_secs(44);
    assert!(matches!(sim.state("a1"), AgentState::WrapUp(_)));
    sim.wait_secs(1);
    assert_eq!(sim.state("a1"), AgentState::Available);
}

#[test]
fn an_agent_who_clicks_available_during_wrap_up_ends_it_early() {
    let mut sim = Sim::with_available(&agents_and_queues(1, TWO_QUEUES), &["a1"]);
    sim.arrive("c1", "complaints");
    sim.answer_and_talk("c1", "a1", 60);
    sim.arrive("c2", "general");
    sim.wait_secs(5);
    sim.acd
        .set_agent_state("a1", Presence::Available, sim.now)
        .unwrap();
    assert_eq!(sim.rings(), [ring("c1", "a1"), ring("c2", "a1")]);
    // The cancelled wrap-up timer does not fire later.
    assert_eq!(
        sim.acd.poll_timeout(),
        Some(sim.now + Duration::from_secs(15))
    );
}

#[test]
fn an_agent_who_asks_for_a_break_during_a_call_goes_away_when_it_ends() {
    let mut sim = Sim::with_available(&agents_and_queues(1, TWO_QUEUES), &["a1"]);
    sim.arrive("c1", "general");
    sim.acd.agent_answered("c1", "a1", sim.now).unwrap();
    sim.acd
        .set_agent_state("a1", Presence::Away, sim.now)
        .unwrap();
    assert_eq!(sim.state("a1"), AgentState::OnCall("c1".into()));
    sim.arrive("c2", "general");
    sim.wait_secs(30);
    sim.acd.call_ended("c1", sim.now).unwrap();
    sim.wait_secs(60);
    assert_eq!(sim.state("a1"), AgentState::Away);
    assert_eq!(sim.rings(), [ring("c1", "a1")]);
    assert_eq!(sim.waiting("general"), ["c2"]);
}

#[test]
fn an_agent_going_away_during_wrap_up_is_offered_nothing() {
    let mut sim = Sim::with_available(&agents_and_queues(1, TWO_QUEUES), &["a1"]);
    sim.arrive("c1", "general");
    sim.answer_and_talk("c1", "a1", 30);
    sim.acd
        .set_agent_state("a1", Presence::Away, sim.now)
        .unwrap();
    sim.arrive("c2", "general");
    sim.wait_secs(60);
    assert_eq!(sim.state("a1"), AgentState::Away);
    assert_eq!(sim.rings(), [ring("c1", "a1")]);
}

#[test]
fn a_call_transferred_by_its_agent_waits_in_the_new_queue_and_the_agent_wraps_up() {
    let mut sim = Sim::with_available(&agents_and_queues(2, TWO_QUEUES), &["a1"]);
    sim.arrive("c1", "general");
    sim.acd.agent_answered("c1", "a1", sim.now).unwrap();
    sim.arrive("c0", "complaints"); // waits: a1 is busy
    sim.wait_secs(30);
    sim.acd
        .call_transferred_to_queue("c1", "complaints", sim.now)
        .unwrap();
    assert!(matches!(sim.state("a1"), AgentState::WrapUp(_)));
    // It joins behind the call that was already waiting there.
    assert_eq!(sim.waiting("complaints"), ["c0", "c1"]);
    sim.log_in("a2");
    assert_eq!(sim.rings(), [ring("c1", "a1"), ring("c0", "a2")]);
}

#[test]
fn calls_today_counts_answered_calls_until_a_new_day() {
    let mut sim = Sim::with_available(&agents_and_queues(1, TWO_QUEUES), &["a1"]);
    sim.arrive("missed", "general");
    sim.wait_secs(15); // rings out, rings again
    sim.acd.agent_answered("missed", "a1", sim.now).unwrap();
    sim.wait_secs(10);
    sim.acd.call_ended("missed", sim.now).unwrap();
    sim.wait_secs(10);
    sim.arrive("c2", "general");
    sim.answer_and_talk("c2", "a1", 10);
    assert_eq!(
        sim.acd.agent_snapshot("a1", sim.now).unwrap().calls_today,
        2
    );
    sim.acd.start_new_day();
    assert_eq!(
        sim.acd.agent_snapshot("a1", sim.now).unwrap().calls_today,
        0
    );
}

#[test]
fn an_agent_talking_outside_the_queues_is_not_rung_until_that_talk_ends() {
    let mut sim = Sim::with_available(&agents_and_queues(1, TWO_QUEUES), &["a1"]);
    // A colleague consults a1 directly: the queue's caller waits instead of ringing a1.
    sim.acd.agent_talking("a1", "consult-1", sim.now).unwrap();
    assert_eq!(sim.state("a1"), AgentState::OnCall("consult-1".into()));
    sim.arrive("c1", "general");
    sim.wait_secs(30);
    assert!(sim.rings().is_empty());
    // The end of another talk (a transfer took the agent over) changes nothing.
    sim.acd
        .agent_talking("a1", "transferred-call", sim.now)
        .unwrap();
    sim.acd
        .agent_talk_ended("a1", "consult-1", sim.now)
        .unwrap();
    assert_eq!(
        sim.state("a1"),
        AgentState::OnCall("transferred-call".into())
    );
    sim.acd
        .agent_talk_ended("a1", "transferred-call", sim.now)
        .unwrap();
    assert_eq!(sim.rings(), [ring("c1", "a1")]);
}

#[test]
fn a_ring_in_progress_moves_on_when_the_agent_is_taken_outside_the_queues() {
    let mut sim = Sim::with_available(&agents_and_queues(2, TWO_QUEUES), &["a1", "a2"]);
    sim.arrive("c1", "general");
    let first = sim.rings();
    assert_eq!(first.len(), 1);
    let rung = first[0].1.clone();
    let other = if rung == "a1" { "a2" } else { "a1" };
    sim.acd.agent_talking(&rung, "transfer-9", sim.now).unwrap();
    let outputs = sim.outputs();
    assert!(
        outputs.iter().any(|o| matches!(o, sb_center::AcdOutput::CancelRing { agent, .. } if agent.as_str() == rung)),
        "{outputs:?}"
    );
    assert!(
        outputs.iter().any(|o| matches!(o, sb_center::AcdOutput::RingAgent { agent, .. } if agent.as_str() == other)),
        "{outputs:?}"
    );
}

#[test]
fn an_agent_on_a_break_consulted_directly_stays_away_afterwards() {
    let mut sim = Sim::with_available(&agents_and_queues(1, TWO_QUEUES), &["a1"]);
    sim.acd
        .set_agent_state("a1", Presence::Away, sim.now)
        .unwrap();
    sim.acd.agent_talking("a1", "consult-2", sim.now).unwrap();
    sim.acd
        .agent_talk_ended("a1", "consult-2", sim.now)
        .unwrap();
    assert_eq!(sim.state("a1"), AgentState::Away);
}
