//! The read-only views the REST API and logs show.

use std::time::Duration;

use sb_center::{AgentState, Priority, QueueAgent, Strategy, WaitingCall};

use crate::support::{Sim, agents_and_queues};

const GENERAL: &str = "[[queue]]\nname = \"general\"\nskills = [\"general\"]\nwrap_up_secs = 10\nmusic = \"sounds/hold.wav\"\n";

#[test]
fn the_queue_view_lists_waiting_calls_in_answer_order_with_wait_times_and_its_agents() {
    let mut sim = Sim::with_available(&agents_and_queues(3, GENERAL), &["a1", "a2"]);
    sim.arrive("talking", "general");
    sim.acd.agent_answered("talking", "a1", sim.now).unwrap();
    sim.arrive("ringing", "general");
    sim.wait_secs(5);
    sim.arrive("question", "general");
    sim.wait_secs(5);
    sim.arrive_with("complaint", "general", Priority::COMPLAINT);
    sim.wait_secs(2);

    let view = sim.acd.queue_snapshot("general", sim.now).unwrap();
    assert_eq!(view.name, "general");
    assert_eq!(view.strategy, Strategy::LongestIdle);
    assert_eq!(view.music.as_deref(), Some("sounds/hold.wav"));
    assert_eq!(
        view.waiting,
        [
            WaitingCall {
                call: "complaint".into(),
                position: 1,
                priority: Priority::COMPLAINT,
                waited: Duration::from_secs(2),
            },
            WaitingCall {
                call: "question".into(),
                position: 2,
                priority: Priority::GENERAL,
                waited: Duration::from_secs(7),
            },
        ]
    );
    assert_eq!(view.ringing.len(), 1);
    assert_eq!(view.ringing[0].call, "ringing");
    assert_eq!(view.ringing[0].agent, "a2");
    assert_eq!(view.ringing[0].waited, Duration::from_secs(12));
    let states: Vec<(String, AgentState, bool)> = view
        .agents
        .iter()
        .map(
            |QueueAgent {
                 agent,
                 state,
                 reachable,
                 ..
             }| { (agent.to_string(), state.clone(), *reachable) },
        )
        .collect();
    assert_eq!(
        states,
        [
            ("a1".into(), AgentState::OnCall("talking".into()), true),
            ("a2".into(), AgentState::Ringing("ringing".into()), true),
            ("a3".into(), AgentState::Away, false),
        ]
    );
    assert_eq!(sim.acd.queue_snapshot("nonesuch", sim.now), None);
}

#[test]
fn the_agent_view_shows_state_skills_queues_and_counters() {
    let mut sim = Sim::with_available(&agents_and_queues(1, GENERAL), &["a1"]);
    let fresh = sim.acd.agent_snapshot("a1", sim.now).unwrap();
    assert_eq!(fresh.name, "Agent 1");
    assert_eq!(fresh.skills, [("general".to_string(), 5)]);
    assert_eq!(fresh.queues, ["general"]);
    assert_eq!(fresh.since_last_call, None);

    sim.arrive("c1", "general");
    sim.answer_and_talk("c1", "a1", 30);
    sim.wait_secs(25);
    let after = sim.acd.agent_snapshot("a1", sim.now).unwrap();
    assert_eq!(after.state, AgentState::Available);
    assert_eq!(after.calls_today, 1);
    assert_eq!(after.since_last_call, Some(Duration::from_secs(25)));
    assert_eq!(sim.acd.agent_snapshot("nobody", sim.now), None);
    let ids: Vec<&str> = sim.acd.agent_ids().map(|id| id.as_str()).collect();
    assert_eq!(ids, ["a1"]);
    let queues: Vec<&str> = sim.acd.queue_names().map(|name| name.as_str()).collect();
    assert_eq!(queues, ["general"]);
}
