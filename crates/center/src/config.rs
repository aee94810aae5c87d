//! The `[[queue]]` and `[[agent]]` sections of the gateway's config, and their checks.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::ops::RangeInclusive;

use serde::Deserialize;

use crate::error::{ConfigError, ConfigErrors};
use crate::strategy::Strategy;

/// Skill levels run from 1 (beginner) to 10 (expert).
const SKILL_LEVELS: RangeInclusive<u8> = 1..=10;

/// The contact center's part of the config: `[[queue]]` and `[[agent]]` tables.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CenterConfig {
    /// The `[[queue]]` tables.
    #[serde(default, rename = "queue")]
    pub queues: Vec<QueueConfig>,
    /// The `[[agent]]` tables.
    #[serde(default, rename = "agent")]
    pub agents: Vec<AgentConfig>,
}

/// One `[[queue]]`: who may answer its calls, how one is picked, and how long callers wait.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    /// Unique name, used by dialplans (`queue = "billing"`) and overflow targets.
    pub name: String,
    /// Skills an agent needs, all of them, to take this queue's calls; none: every agent.
    #[serde(default)]
    pub skills: Vec<String>,
    /// Lowest level per required skill (default 1), e.g. `{ billing = 5 }`.
    #[serde(default)]
    pub min_levels: BTreeMap<String, u8>,
    /// How the agent to ring is picked (default `longest_idle`).
    #[serde(default)]
    pub strategy: Strategy,
    /// Seconds an agent's phone rings before the next agent is tried.
    #[serde(default = "default_ring_timeout_secs")]
    pub ring_timeout_secs: u64,
    /// Seconds a caller waits at most before `overflow`; none: no limit.
    #[serde(default)]
    pub max_wait_secs: Option<u64>,
    /// Where a caller goes after `max_wait_secs`.
    #[serde(default)]
    pub overflow: Option<OverflowTarget>,
    /// Seconds between position announcements to a waiting caller; none: no announcements.
    #[serde(default)]
    pub announce_every_secs: Option<u64>,
    /// Seconds of after-call work before the agent takes the next call.
    #[serde(default = "default_wrap_up_secs")]
    pub wrap_up_secs: u64,
    /// Hold music for the gateway to play; carried, not used by the routing.
    #[serde(default)]
    pub music: Option<String>,
}

fn default_ring_timeout_secs() -> u64 {
    15
}

fn default_wrap_up_secs() -> u64 {
    10
}

/// Where a caller goes after waiting a queue's `max_wait_secs`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum OverflowTarget {
    /// `"queue:<name>"`: join that queue, keeping the place earned by the arrival time.
    Queue(String),
    /// `"callback"`: the gateway asks for a number to call back.
    Callback,
    /// `"node:<name>"`: continue the call's dialplan at that node.
    Node(String),
}

impl TryFrom<String> for OverflowTarget {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        let target = if text == "callback" {
            Some(Self::Callback)
        } else if let Some(queue) = text.strip_prefix("queue:") {
            (!queue.is_empty()).then(|| Self::Queue(queue.to_string()))
        } else if let Some(node) = text.strip_prefix("node:") {
            (!node.is_empty()).then(|| Self::Node(node.to_string()))
        } else {
            None
        };
        target.ok_or_else(|| {
            format!("overflow `{text}`: expected \"queue:<name>\", \"callback\" or \"node:<dialplan node>\"")
        })
    }
}

/// One `[[agent]]`: a person with a SIP phone registered to the gateway.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// Unique id, also the SIP user name the phone registers with.
    pub id: String,
    /// Display name for the agent desk and logs.
    pub name: String,
    /// SIP digest password of the phone; carried for the registrar, not used by the routing.
    pub password: String,
    /// Skills with their level from 1 to 10, e.g. `{ billing = 5, orders = 3 }`.
    #[serde(default)]
    pub skills: BTreeMap<String, u8>,
}

// By hand, so that logging a config never prints a password.
impl fmt::Debug for AgentConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentConfig")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("password", &"<hidden>")
            .field("skills", &self.skills)
            .finish()
    }
}

impl CenterConfig {
    /// Checks both sections completely, reporting every problem rather than the first.
    pub fn validate(&self) -> Result<(), ConfigErrors> {
        let mut errors = Vec::new();
        let mut queue_names = HashSet::new();
        for queue in &self.queues {
            if !queue_names.insert(queue.name.as_str()) {
                errors.push(ConfigError::DuplicateQueue(queue.name.clone()));
            }
            queue.check(&mut errors);
        }
        for queue in &self.queues {
            if let Some(OverflowTarget::Queue(target)) = &queue.overflow
                && !queue_names.contains(target.as_str())
            {
                errors.push(ConfigError::UnknownOverflowQueue {
                    queue: queue.name.clone(),
                    target: target.clone(),
                });
            }
        }
        errors.extend(
            overflow_cycles(&self.queues)
                .into_iter()
                .map(ConfigError::OverflowCycle),
        );
        let mut agent_ids = HashSet::new();
        for agent in &self.agents {
            if !agent_ids.insert(agent.id.as_str()) {
                errors.push(ConfigError::DuplicateAgent(agent.id.clone()));
            }
            agent.check(&mut errors);
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ConfigErrors(errors))
        }
    }
}

impl QueueConfig {
    /// The agent's summed level in this queue's skills (its rank among equals), or `None` when
    /// it lacks a skill or is below a minimum level.
    pub(crate) fn level_of(&self, agent_skills: &BTreeMap<String, u8>) -> Option<u32> {
        self.skills.iter().try_fold(0, |sum, skill| {
            let level = *agent_skills.get(skill)?;
            let min = self.min_levels.get(skill).copied().unwrap_or(1);
            (level >= min).then_some(sum + u32::from(level))
        })
    }

    fn check(&self, errors: &mut Vec<ConfigError>) {
        let mut problem = |problem: String| {
            errors.push(ConfigError::Queue {
                queue: self.name.clone(),
                problem,
            })
        };
        if self.name.is_empty() {
            problem("the name is empty".into());
        }
        if self.ring_timeout_secs == 0 {
            problem("ring_timeout_secs must be at least 1".into());
        }
        if self.max_wait_secs == Some(0) {
            problem("max_wait_secs must be at least 1".into());
        }
        if self.announce_every_secs == Some(0) {
            problem(
                "announce_every_secs must be at least 1 (leave it out for no announcements)".into(),
            );
        }
        match (self.max_wait_secs, &self.overflow) {
            (Some(_), None) => problem("max_wait_secs needs an overflow target".into()),
            (None, Some(_)) => problem("overflow needs max_wait_secs".into()),
            _ => {}
        }
        let mut seen = HashSet::new();
        for skill in &self.skills {
            if skill.is_empty() {
                problem("a skill name is empty".into());
            } else if !seen.insert(skill.as_str()) {
                problem(format!("skill `{skill}` is listed twice"));
            }
        }
        for (skill, &level) in &self.min_levels {
            if !seen.contains(skill.as_str()) {
                problem(format!(
                    "min_levels names `{skill}`, which is not in skills"
                ));
            }
            if !SKILL_LEVELS.contains(&level) {
                problem(format!(
                    "min level {level} for `{skill}`: levels run from 1 to 10"
                ));
            }
        }
    }
}

impl AgentConfig {
    fn check(&self, errors: &mut Vec<ConfigError>) {
        let mut problem = |problem: String| {
            errors.push(ConfigError::Agent {
                agent: self.id.clone(),
                problem,
            })
        };
        if self.id.is_empty() {
            problem("the id is empty".into());
        }
        for (skill, &level) in &self.skills {
            if !SKILL_LEVELS.contains(&level) {
                problem(format!(
                    "skill `{skill}` has level {level}: levels run from 1 to 10"
                ));
            }
        }
    }
}

/// Each circle of queues overflowing into each other, once, as the names along it with the
/// first repeated at the end.
fn overflow_cycles(queues: &[QueueConfig]) -> Vec<Vec<String>> {
    let by_name: HashMap<&str, usize> = queues
        .iter()
        .enumerate()
        .rev() // the first of duplicate names wins, as in the ACD
        .map(|(index, queue)| (queue.name.as_str(), index))
        .collect();
    let next = |index: usize| match &queues[index].overflow {
        Some(OverflowTarget::Queue(target)) => by_name.get(target.as_str()).copied(),
        _ => None,
    };
    // Every queue has at most one overflow queue, so a walk from each start either ends or
    // runs into a circle; queues already walked are not walked again.
    let mut walked = vec![false; queues.len()];
    let mut cycles = Vec::new();
    for start in 0..queues.len() {
        let mut path: Vec<usize> = Vec::new();
        let mut current = Some(start);
        while let Some(index) = current {
            if let Some(at) = path.iter().position(|&on_path| on_path == index) {
                let mut names: Vec<String> =
                    path[at..].iter().map(|&i| queues[i].name.clone()).collect();
                names.push(queues[index].name.clone());
                cycles.push(names);
                break;
            }
            if walked[index] {
                break;
            }
            walked[index] = true;
            path.push(index);
            current = next(index);
        }
    }
    cycles
}
