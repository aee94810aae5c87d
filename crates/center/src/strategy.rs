//! How a queue picks the agent to ring among those free to take a call.

use std::cmp::Reverse;

use serde::Deserialize;

use crate::agent::{Agent, AgentIndex};
use crate::queue::Member;

/// How a queue picks the agent to ring (`strategy = "longest_idle"` in the config).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// The agent whose last call ended longest ago; among equals the higher skill level.
    #[default]
    LongestIdle,
    /// The agent with the fewest calls today; among equals the longest idle, then the higher level.
    LeastCalls,
    /// The next agent in turn after the one picked last.
    RoundRobin,
}

impl Strategy {
    /// The slot in `members` to ring: a free member that `allowed` lets through, or `None`.
    /// `round_robin_next` is the slot the turn continues from.
    pub(crate) fn pick(
        self,
        members: &[Member],
        agents: &[Agent],
        round_robin_next: usize,
        allowed: impl Fn(AgentIndex) -> bool,
    ) -> Option<usize> {
        let can_take = |member: &Member| agents[member.agent].is_free() && allowed(member.agent);
        let candidates = members
            .iter()
            .enumerate()
            .filter(|(_, member)| can_take(member));
        // `min_by_key` keeps the first of equal keys, so full ties go to the earlier-configured agent.
        match self {
            Self::LongestIdle => candidates.min_by_key(|(_, member)| {
                // `None` (no call yet today) sorts first: idle longest of all.
                (
                    agents[member.agent].last_call_ended_at,
                    Reverse(member.level),
                )
            }),
            Self::LeastCalls => candidates.min_by_key(|(_, member)| {
                let agent = &agents[member.agent];
                (
                    agent.calls_today,
                    agent.last_call_ended_at,
                    Reverse(member.level),
                )
            }),
            Self::RoundRobin => {
                let start = round_robin_next % members.len().max(1);
                (start..members.len())
                    .chain(0..start)
                    .map(|slot| (slot, &members[slot]))
                    .find(|(_, member)| can_take(member))
            }
        }
        .map(|(slot, _)| slot)
    }
}
