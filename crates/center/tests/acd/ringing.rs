//! Rings that are not answered, declined, or cut short: the caller is never lost.

use sb_center::{AcdError, AcdOutput, AgentState, Presence, RejectReason};

use crate::support::{Sim, agents_and_queues, ring};

const GENERAL: &str = "[[queue]]\nname = \"general\"\nskills = [\"general\"]\nring_timeout_secs = 15\nwrap_up_secs = 10\n";

fn cancel(call: &str, agent: &str) -> AcdOutput {
    AcdOutput::CancelRing {
        call: call.into(),
        agent: agent.into(),
    }
}

fn ring_output(call: &str, agent: &str) -> AcdOutput {
    AcdOutput::RingAgent {
        call: call.into(),
        agent: agent.into(),
        queue: "general".into(),
    }
}

#[test]
fn an_unanswered_ring_is_cancelled_after_the_ring_timeout_and_the_next_agent_rings() {
    let mut sim = Sim::with_available(&agents_and_queues(2, GENERAL), &["a1", "a2"]);
    sim.arrive("c1", "general");
    assert_eq!(sim.outputs(), [ring_output("c1", "a1")]);
    sim.wait_secs(14);
    assert_eq!(sim.outputs(), []);
    sim.wait_secs(1);
    assert_eq!(sim.outputs(), [cancel("c1", "a1"), ring_output("c1", "a2")]);
    assert_eq!(sim.state("a1"), AgentState::Available);
}

#[test]
fn the_first_agent_is_not_rung_again_until_the_others_were_tried() {
    let mut sim = Sim::with_available(&agents_and_queues(3, GENERAL), &["a1", "a2", "a3"]);
    sim.arrive("c1", "general");
    sim.wait_secs(15 * 3);
    assert_eq!(
        sim.rings(),
        [
            ring("c1", "a1"),
            ring("c1", "a2"),
            ring("c1", "a3"),
            ring("c1", "a1")
        ]
    );
}

#[test]
fn an_agent_who_did_not_answer_takes_another_call_while_the_missed_one_waits_for_someone_else() {
    let mut sim = Sim::with_available(&agents_and_queues(2, GENERAL), &["a1", "a2"]);
    sim.arrive("talking", "general");
    sim.acd.agent_answered("talking", "a1", sim.now).unwrap();
    sim.arrive("missed", "general");
    sim.wait_secs(1);
    sim.arrive("next", "general");
    sim.rings();
    sim.wait_secs(14); // a2 lets "missed" ring out
    assert_eq!(sim.rings(), [ring("next", "a2")]);
    assert_eq!(sim.waiting("general"), ["missed"]);
    sim.acd.call_ended("talking", sim.now).unwrap();
    sim.wait_secs(10);
    assert_eq!(sim.rings(), [ring("missed", "a1")]);
}

#[test]
fn an_agent_back_from_walking_away_from_a_ring_takes_another_call_first() {
    let mut sim = Sim::with_available(&agents_and_queues(2, GENERAL), &["a1", "a2"]);
    sim.arrive("talking", "general");
    sim.acd.agent_answered("talking", "a1", sim.now).unwrap();
    sim.arrive("left", "general");
    sim.acd
        .set_agent_state("a2", Presence::Away, sim.now)
        .unwrap();
    sim.wait_secs(1);
    sim.arrive("next", "general");
    sim.wait_secs(60);
    sim.rings();
    sim.acd
        .set_agent_state("a2", Presence::Available, sim.now)
        .unwrap();
    // "left" waits for an agent who has not had it yet.
    assert_eq!(sim.rings(), [ring("next", "a2")]);
    sim.acd.call_ended("talking", sim.now).unwrap();
    sim.wait_secs(10);
    assert_eq!(sim.rings(), [ring("left", "a1")]);
}

#[test]
fn a_declined_call_rings_the_next_free_agent_at_once() {
    let mut sim = Sim::with_available(&agents_and_queues(2, GENERAL), &["a1", "a2"]);
    sim.arrive("c1", "general");
    sim.decline("c1", "a1");
    // No CancelRing: the phone already ended the ring.
    assert_eq!(
        sim.outputs(),
        [ring_output("c1", "a1"), ring_output("c1", "a2")]
    );
    assert_eq!(sim.state("a1"), AgentState::Available);
}

#[test]
fn a_declined_call_goes_back_to_the_head_of_the_line() {
    let mut sim = Sim::with_available(&agents_and_queues(2, GENERAL), &["a1", "a2"]);
    sim.arrive("talking", "general");
    sim.acd.agent_answered("talking", "a1", sim.now).unwrap();
    sim.arrive("c1", "general");
    sim.wait_secs(1);
    sim.arrive("c2", "general");
    sim.arrive("c3", "general");
    sim.rings();
    sim.decline("c1", "a2");
    // a2 takes the next call rather than the one it just declined; c1 is first in line.
    assert_eq!(sim.rings(), [ring("c2", "a2")]);
    assert_eq!(sim.waiting("general"), ["c1", "c3"]);
    sim.acd.call_ended("talking", sim.now).unwrap();
    sim.wait_secs(10);
    assert_eq!(sim.rings(), [ring("c1", "a1")]);
}

#[test]
fn a_busy_phone_leaves_the_agent_available_for_other_calls() {
    let mut sim = Sim::with_available(&agents_and_queues(2, GENERAL), &["a1", "a2"]);
    sim.arrive("c1", "general");
    sim.acd
        .agent_rejected("c1", "a1", RejectReason::Busy, sim.now)
        .unwrap();
    sim.arrive("c2", "general");
    assert_eq!(
        sim.rings(),
        [ring("c1", "a1"), ring("c1", "a2"), ring("c2", "a1")]
    );
}

#[test]
fn an_unreachable_phone_marks_the_agent_unreachable_and_the_call_moves_on() {
    let mut sim = Sim::with_available(&agents_and_queues(2, GENERAL), &["a1", "a2"]);
    sim.arrive("c1", "general");
    sim.acd
        .agent_rejected("c1", "a1", RejectReason::Unreachable, sim.now)
        .unwrap();
    sim.arrive("c2", "general");
    assert_eq!(sim.rings(), [ring("c1", "a1"), ring("c1", "a2")]);
    assert!(!sim.acd.agent_snapshot("a1", sim.now).unwrap().reachable);
    assert_eq!(sim.waiting("general"), ["c2"]);
    sim.acd.agent_reachable("a1", true, sim.now).unwrap();
    assert_eq!(sim.rings(), [ring("c2", "a1")]);
}

#[test]
fn a_caller_hanging_up_while_ringing_cancels_the_ring_and_frees_the_agent() {
    let mut sim = Sim::with_available(&agents_and_queues(1, GENERAL), &["a1"]);
    sim.arrive("c1", "general");
    sim.arrive("c2", "general");
    sim.wait_secs(5);
    sim.acd.call_abandoned("c1", sim.now).unwrap();
    assert_eq!(
        sim.outputs(),
        [
            ring_output("c1", "a1"),
            cancel("c1", "a1"),
            ring_output("c2", "a1")
        ]
    );
    // The abandoned call's ring timer is gone with it.
    sim.wait_secs(11);
    assert_eq!(sim.outputs(), []);
}

#[test]
fn a_caller_hanging_up_while_waiting_leaves_the_line() {
    let mut sim = Sim::with_available(&agents_and_queues(1, GENERAL), &["a1"]);
    sim.arrive("talking", "general");
    sim.acd.agent_answered("talking", "a1", sim.now).unwrap();
    for call in ["c1", "c2", "c3"] {
        sim.arrive(call, "general");
    }
    sim.acd.call_abandoned("c2", sim.now).unwrap();
    assert_eq!(sim.waiting("general"), ["c1", "c3"]);
    assert_eq!(
        sim.acd.call_abandoned("c2", sim.now),
        Err(AcdError::UnknownCall("c2".into()))
    );
}

#[test]
fn an_agent_going_away_while_ringing_gives_the_call_to_the_next_agent() {
    let mut sim = Sim::with_available(&agents_and_queues(2, GENERAL), &["a1", "a2"]);
    sim.arrive("c1", "general");
    sim.acd
        .set_agent_state("a1", Presence::Away, sim.now)
        .unwrap();
    assert_eq!(
        sim.outputs(),
        [
            ring_output("c1", "a1"),
            cancel("c1", "a1"),
            ring_output("c1", "a2")
        ]
    );
    assert_eq!(sim.state("a1"), AgentState::Away);
}

#[test]
fn an_agent_losing_registration_while_ringing_gives_the_call_to_the_next_agent() {
    let mut sim = Sim::with_available(&agents_and_queues(2, GENERAL), &["a1", "a2"]);
    sim.arrive("c1", "general");
    sim.acd.agent_reachable("a1", false, sim.now).unwrap();
    assert_eq!(
        sim.outputs(),
        [
            ring_output("c1", "a1"),
            cancel("c1", "a1"),
            ring_output("c1", "a2")
        ]
    );
}

#[test]
fn the_only_agent_rings_again_rather_than_leave_the_caller_waiting_beside_it() {
    let mut sim = Sim::with_available(&agents_and_queues(1, GENERAL), &["a1"]);
    sim.arrive("c1", "general");
    sim.decline("c1", "a1");
    assert_eq!(sim.rings(), [ring("c1", "a1"), ring("c1", "a1")]);
}

#[test]
fn a_late_answer_after_the_ring_was_cancelled_is_refused() {
    let mut sim = Sim::with_available(&agents_and_queues(2, GENERAL), &["a1", "a2"]);
    sim.arrive("c1", "general");
    sim.wait_secs(15);
    assert_eq!(
        sim.acd.agent_answered("c1", "a1", sim.now),
        Err(AcdError::NotRinging {
            call: "c1".into(),
            agent: "a1".into()
        })
    );
    sim.acd.agent_answered("c1", "a2", sim.now).unwrap();
    assert_eq!(sim.state("a2"), AgentState::OnCall("c1".into()));
    assert_eq!(sim.state("a1"), AgentState::Available);
}

#[test]
fn an_agent_ringing_or_on_a_call_is_never_rung_for_another_call() {
    let mut sim = Sim::with_available(&agents_and_queues(1, GENERAL), &["a1"]);
    sim.arrive("c1", "general");
    sim.arrive("c2", "general");
    assert_eq!(sim.rings(), [ring("c1", "a1")]);
    sim.acd.agent_answered("c1", "a1", sim.now).unwrap();
    sim.arrive("c3", "general");
    sim.wait_secs(300);
    assert_eq!(sim.rings(), []);
    assert_eq!(sim.waiting("general"), ["c2", "c3"]);
}
