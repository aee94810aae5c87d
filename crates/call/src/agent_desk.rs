//! What the agent desk (the REST API) sees of the contact center: agents and queues as
//! serializable views, built in the center's task from the routing core's snapshots. The
//! snapshots hold `Instant`s, which mean nothing outside the process; the views hold seconds.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use sb_center::{AgentSnapshot, AgentState, QueueSnapshot};
use serde::Serialize;

pub use sb_center::Presence;

/// What an agent is doing, as the API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentStateName {
    /// Waiting for a call.
    Available,
    /// The agent's phone rings for a call.
    Ringing,
    /// Talking on a call.
    OnCall,
    /// After-call work, then available.
    WrapUp,
    /// Signed out or on a break.
    Away,
}

impl AgentStateName {
    /// The name of `state`, and the call it is about (ringing or on call).
    fn of(state: &AgentState) -> (AgentStateName, Option<String>) {
        match state {
            AgentState::Available => (AgentStateName::Available, None),
            AgentState::Ringing(call) => (AgentStateName::Ringing, Some(call.to_string())),
            AgentState::OnCall(call) => (AgentStateName::OnCall, Some(call.to_string())),
            AgentState::WrapUp(_) => (AgentStateName::WrapUp, None),
            AgentState::Away => (AgentStateName::Away, None),
        }
    }
}

/// An agent as the desk shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentView {
    /// The agent's id (its SIP user name).
    pub id: String,
    /// Its display name.
    pub name: String,
    /// What it is doing.
    pub state: AgentStateName,
    /// The call it is rung for or talking on.
    pub call: Option<String>,
    /// Seconds of wrap-up left, while wrapping up.
    pub wrap_up_left_seconds: Option<u64>,
    /// Whether it goes away when the current call ends (asked to while on the call).
    pub away_after_call: bool,
    /// Whether it has a registered phone.
    pub signed_in: bool,
    /// Whether that phone is registered and answers OPTIONS (calls are offered only then).
    pub reachable: bool,
    /// Skill levels by skill name.
    pub skills: BTreeMap<String, u8>,
    /// The queues it serves.
    pub queues: Vec<String>,
    /// Calls answered since the start of the day.
    pub calls_today: u32,
    /// Seconds since its last call ended; null before the first.
    pub seconds_since_last_call: Option<u64>,
}

impl AgentView {
    /// The view of `agent` at `now`; `signed_in` comes from the center's registrations.
    pub fn of(agent: AgentSnapshot, signed_in: bool, now: Instant) -> AgentView {
        let (state, call) = AgentStateName::of(&agent.state);
        let wrap_up_left_seconds = match agent.state {
            AgentState::WrapUp(until) => Some(until.saturating_duration_since(now).as_secs()),
            _ => None,
        };
        AgentView {
            id: agent.id.to_string(),
            name: agent.name,
            state,
            call,
            wrap_up_left_seconds,
            away_after_call: agent.away_after_call,
            signed_in,
            reachable: agent.reachable,
            skills: agent.skills.into_iter().collect(),
            queues: agent.queues.iter().map(ToString::to_string).collect(),
            calls_today: agent.calls_today,
            seconds_since_last_call: agent.since_last_call.map(|d| d.as_secs()),
        }
    }
}

/// A queue as the desk shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueView {
    /// The queue's name.
    pub name: String,
    /// Waiting calls in the order they will be answered.
    pub waiting: Vec<WaitingCallView>,
    /// Calls ringing an agent.
    pub ringing: Vec<RingingCallView>,
    /// How many of the queue's agents are in each state.
    pub agents_by_state: StateCounts,
    /// The agents with the queue's skills, in config order.
    pub agents: Vec<QueueAgentView>,
}

/// A call in a queue's line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WaitingCallView {
    /// The call's id.
    pub call: String,
    /// 1 for the next call to be answered.
    pub position: usize,
    /// Higher is answered first (complaint 30, billing 20, general 10).
    pub priority: u8,
    /// Seconds since it joined the line.
    pub waited_seconds: u64,
}

/// A call ringing an agent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RingingCallView {
    /// The call's id.
    pub call: String,
    /// The agent being rung.
    pub agent: String,
    /// Seconds since it joined the line.
    pub waited_seconds: u64,
}

/// An agent as a queue sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueAgentView {
    /// The agent's id.
    pub id: String,
    /// What it is doing.
    pub state: AgentStateName,
    /// Whether its phone is registered and answering.
    pub reachable: bool,
    /// Its summed level in the queue's skills.
    pub level: u32,
}

/// Agents per state; every state is present, zero or not, so a wallboard needs no defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StateCounts {
    /// Waiting for a call.
    pub available: usize,
    /// Being rung.
    pub ringing: usize,
    /// Talking.
    pub on_call: usize,
    /// Wrapping up.
    pub wrap_up: usize,
    /// Signed out or on a break.
    pub away: usize,
}

impl StateCounts {
    fn count(&mut self, state: AgentStateName) {
        let slot = match state {
            AgentStateName::Available => &mut self.available,
            AgentStateName::Ringing => &mut self.ringing,
            AgentStateName::OnCall => &mut self.on_call,
            AgentStateName::WrapUp => &mut self.wrap_up,
            AgentStateName::Away => &mut self.away,
        };
        *slot += 1;
    }
}

impl QueueView {
    /// The view of `queue`.
    pub fn of(queue: QueueSnapshot) -> QueueView {
        let seconds = |d: Duration| d.as_secs();
        let agents: Vec<QueueAgentView> = queue
            .agents
            .into_iter()
            .map(|a| QueueAgentView {
                id: a.agent.to_string(),
                state: AgentStateName::of(&a.state).0,
                reachable: a.reachable,
                level: a.level,
            })
            .collect();
        let mut agents_by_state = StateCounts::default();
        for agent in &agents {
            agents_by_state.count(agent.state);
        }
        QueueView {
            name: queue.name.to_string(),
            waiting: queue
                .waiting
                .into_iter()
                .map(|w| WaitingCallView {
                    call: w.call.to_string(),
                    position: w.position,
                    priority: w.priority.0,
                    waited_seconds: seconds(w.waited),
                })
                .collect(),
            ringing: queue
                .ringing
                .into_iter()
                .map(|r| RingingCallView {
                    call: r.call.to_string(),
                    agent: r.agent.to_string(),
                    waited_seconds: seconds(r.waited),
                })
                .collect(),
            agents_by_state,
            agents,
        }
    }
}

/// Why the center could not answer the desk.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeskError {
    /// No `[[agent]]` has this id.
    #[error("no agent with id {0:?}")]
    UnknownAgent(String),
    /// The center's task has ended (the gateway is shutting down).
    #[error("the contact center is not running")]
    Stopped,
}

#[cfg(test)]
mod tests {
    use super::*;
    use sb_center::{Acd, CenterConfig, Priority};

    /// Anna (support 9) and Ben (support 5) in one support queue with 30 s of wrap-up.
    fn acd() -> Acd {
        let config: CenterConfig = serde_json::from_value(serde_json::json!({
            "queue": [{ "name": "support", "skills": ["support"], "wrap_up_secs": 30 }],
            "agent": [
                { "id": "anna", "name": "Anna", "password": "pw", "skills": { "support": 9 } },
                { "id": "ben", "name": "Ben", "password": "pw", "skills": { "support": 5 } }
            ]
        }))
        .unwrap();
        Acd::new(&config).unwrap()
    }

    #[test]
    fn views_name_states_and_count_seconds() {
        let mut acd = acd();
        let t0 = Instant::now();
        acd.agent_reachable("anna", true, t0).unwrap();
        acd.set_agent_state("anna", Presence::Available, t0)
            .unwrap();
        acd.call_arrived("c1", "support", Priority::GENERAL, t0)
            .unwrap();
        acd.call_arrived("c2", "support", Priority::COMPLAINT, t0)
            .unwrap();
        let later = t0 + Duration::from_secs(7);

        let anna = AgentView::of(acd.agent_snapshot("anna", later).unwrap(), true, later);
        assert_eq!(anna.state, AgentStateName::Ringing);
        assert_eq!(
            anna.call.as_deref(),
            Some("c1"),
            "the first call rang at once"
        );
        assert_eq!(anna.skills["support"], 9);
        assert_eq!(anna.queues, ["support"]);
        let json = serde_json::to_value(&anna).unwrap();
        assert_eq!(json["state"], "ringing");

        let queue = QueueView::of(acd.queue_snapshot("support", later).unwrap());
        assert_eq!(queue.waiting.len(), 1);
        assert_eq!(queue.waiting[0].call, "c2");
        assert_eq!(queue.waiting[0].priority, 30);
        assert_eq!(queue.waiting[0].waited_seconds, 7);
        assert_eq!(queue.ringing[0].agent, "anna");
        assert_eq!(
            queue.agents_by_state,
            StateCounts {
                ringing: 1,
                away: 1,
                ..StateCounts::default()
            }
        );

        acd.agent_answered("c1", "anna", later).unwrap();
        let json = serde_json::to_value(AgentView::of(
            acd.agent_snapshot("anna", later).unwrap(),
            true,
            later,
        ))
        .unwrap();
        assert_eq!(json["state"], "on_call");
        assert_eq!(json["calls_today"], 1);
        acd.call_ended("c1", later).unwrap();
        let done = later + Duration::from_secs(10);
        let anna = AgentView::of(acd.agent_snapshot("anna", done).unwrap(), true, done);
        assert_eq!(anna.state, AgentStateName::WrapUp);
        assert_eq!(anna.wrap_up_left_seconds, Some(20));
        assert_eq!(anna.seconds_since_last_call, Some(10));
    }
}
