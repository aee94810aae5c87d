//! Read-only views of queues and agents for the REST API and logs.

use std::time::{Duration, Instant};

use crate::acd::Acd;
use crate::agent::AgentState;
use crate::call::CallStage;
use crate::ids::{AgentId, CallId, QueueId};
use crate::priority::Priority;
use crate::strategy::Strategy;

/// A queue as it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSnapshot {
    /// The queue's name.
    pub name: QueueId,
    /// How it picks agents.
    pub strategy: Strategy,
    /// Waiting calls in the order they will be answered.
    pub waiting: Vec<WaitingCall>,
    /// Calls ringing an agent.
    pub ringing: Vec<RingingCall>,
    /// The agents with the queue's skills, in config order.
    pub agents: Vec<QueueAgent>,
    /// The recent wait per place in line, which announcements multiply by the position.
    pub wait_per_place: Duration,
    /// The hold music from the config.
    pub music: Option<String>,
}

/// A call in a queue's line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingCall {
    /// The call.
    pub call: CallId,
    /// 1 for the next call to be answered.
    pub position: usize,
    /// Its priority.
    pub priority: Priority,
    /// How long since it arrived (or was transferred here by an agent).
    pub waited: Duration,
}

/// A call ringing an agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RingingCall {
    /// The call.
    pub call: CallId,
    /// The agent being rung.
    pub agent: AgentId,
    /// How long since it arrived (or was transferred here by an agent).
    pub waited: Duration,
}

/// An agent as a queue sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueAgent {
    /// The agent.
    pub agent: AgentId,
    /// What it is doing.
    pub state: AgentState,
    /// Whether its phone is registered and answering.
    pub reachable: bool,
    /// Its summed level in the queue's skills.
    pub level: u32,
}

/// An agent as it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentSnapshot {
    /// The agent's id.
    pub id: AgentId,
    /// Its display name.
    pub name: String,
    /// What it is doing.
    pub state: AgentState,
    /// Whether its phone is registered and answering.
    pub reachable: bool,
    /// Whether it goes away when the current call ends.
    pub away_after_call: bool,
    /// Skills and levels, by name.
    pub skills: Vec<(String, u8)>,
    /// The queues it serves.
    pub queues: Vec<QueueId>,
    /// Calls answered since the start of the day.
    pub calls_today: u32,
    /// Time since its last call ended; `None` before the first call.
    pub since_last_call: Option<Duration>,
}

impl Acd {
    /// The queue's waiting and ringing calls and its agents, or `None` for an unknown queue.
    pub fn queue_snapshot(&self, queue: &str, now: Instant) -> Option<QueueSnapshot> {
        let index = self.queue_index(queue).ok()?;
        let queue = &self.queues[index];
        let waited = |since: Instant| now.saturating_duration_since(since);
        let waiting = queue
            .waiting
            .iter()
            .enumerate()
            .map(|(i, (key, call))| WaitingCall {
                call: call.clone(),
                position: i + 1,
                priority: key.priority.0,
                waited: waited(key.since),
            })
            .collect();
        let mut ringing: Vec<_> = self
            .calls
            .values()
            .filter(|call| call.queue == index)
            .filter_map(|call| match call.stage {
                CallStage::Ringing { agent, .. } => Some((call.key, agent, call)),
                _ => None,
            })
            .collect();
        ringing.sort_by_key(|(key, ..)| *key);
        Some(QueueSnapshot {
            name: queue.id.clone(),
            strategy: queue.strategy,
            waiting,
            ringing: ringing
                .into_iter()
                .map(|(key, agent, call)| RingingCall {
                    call: call.id.clone(),
                    agent: self.agents[agent].id.clone(),
                    waited: waited(key.since),
                })
                .collect(),
            agents: queue
                .members
                .iter()
                .map(|member| {
                    let agent = &self.agents[member.agent];
                    QueueAgent {
                        agent: agent.id.clone(),
                        state: agent.state.clone(),
                        reachable: agent.reachable,
                        level: member.level,
                    }
                })
                .collect(),
            wait_per_place: queue.wait_estimate.per_place(),
            music: queue.music.clone(),
        })
    }

    /// The agent's state and counters, or `None` for an unknown agent.
    pub fn agent_snapshot(&self, agent: &str, now: Instant) -> Option<AgentSnapshot> {
        let agent = &self.agents[self.agent_index(agent).ok()?];
        Some(AgentSnapshot {
            id: agent.id.clone(),
            name: agent.name.clone(),
            state: agent.state.clone(),
            reachable: agent.reachable,
            away_after_call: agent.away_after_call,
            skills: agent
                .skills
                .iter()
                .map(|(skill, level)| (skill.clone(), *level))
                .collect(),
            queues: agent
                .queues
                .iter()
                .map(|membership| self.queues[membership.queue].id.clone())
                .collect(),
            calls_today: agent.calls_today,
            since_last_call: agent
                .last_call_ended_at
                .map(|ended| now.saturating_duration_since(ended)),
        })
    }

    /// The queues' names, in config order.
    pub fn queue_names(&self) -> impl Iterator<Item = &QueueId> {
        self.queues.iter().map(|queue| &queue.id)
    }

    /// The agents' ids, in config order.
    pub fn agent_ids(&self) -> impl Iterator<Item = &AgentId> {
        self.agents.iter().map(|agent| &agent.id)
    }
}
