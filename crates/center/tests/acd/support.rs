//! A simulated clock around the ACD, and a config in TOML the way the gateway carries it.

use std::time::{Duration, Instant};

use sb_center::{Acd, AcdOutput, AgentState, CenterConfig, Presence, Priority, RejectReason};

/// Parses `[[queue]]` and `[[agent]]` tables.
pub fn config(toml_text: &str) -> CenterConfig {
    toml::from_str(toml_text).expect("test config parses")
}

/// `n` agents `a1`..`an` with skill `general = 5`, and the given queue tables.
pub fn agents_and_queues(n: usize, queues: &str) -> String {
    let mut text = queues.to_string();
    for i in 1..=n {
        text.push_str(&format!(
            "\n[[agent]]\nid = \"a{i}\"\nname = \"Agent {i}\"\npassword = \"pw{i}\"\nskills = {{ general = 5 }}\n"
        ));
    }
    text
}

/// The ACD with simulated time: starts at one `Instant` and only moves when told.
pub struct Sim {
    pub acd: Acd,
    pub start: Instant,
    pub now: Instant,
}

impl Sim {
    /// An ACD from TOML, with no agent logged in yet.
    pub fn new(toml_text: &str) -> Self {
        let acd = Acd::new(&config(toml_text)).expect("test config is valid");
        let start = Instant::now();
        Self {
            acd,
            start,
            now: start,
        }
    }

    /// An ACD from TOML with the named agents reachable and available, in that order.
    pub fn with_available(toml_text: &str, agents: &[&str]) -> Self {
        let mut sim = Self::new(toml_text);
        for agent in agents {
            sim.log_in(agent);
        }
        sim
    }

    /// The agent's phone registers and the agent clicks "available".
    pub fn log_in(&mut self, agent: &str) {
        self.acd.agent_reachable(agent, true, self.now).unwrap();
        self.acd
            .set_agent_state(agent, Presence::Available, self.now)
            .unwrap();
    }

    /// Seconds since the start.
    pub fn at(&self) -> Duration {
        self.now - self.start
    }

    /// Moves the clock forward, running every deadline on the way at its own instant (as the
    /// gateway's `sleep_until(poll_timeout())` would).
    pub fn advance(&mut self, by: Duration) {
        let until = self.now + by;
        while let Some(deadline) = self.acd.poll_timeout().filter(|&d| d <= until) {
            self.now = self.now.max(deadline);
            self.acd.handle_timeout(self.now);
        }
        self.now = until;
    }

    /// [`advance`](Self::advance) by whole seconds.
    pub fn wait_secs(&mut self, secs: u64) {
        self.advance(Duration::from_secs(secs));
    }

    /// Every output so far.
    pub fn outputs(&mut self) -> Vec<AcdOutput> {
        std::iter::from_fn(|| self.acd.poll_output()).collect()
    }

    /// The (call, agent) pairs rung since the last look; other outputs are dropped.
    pub fn rings(&mut self) -> Vec<(String, String)> {
        self.outputs()
            .into_iter()
            .filter_map(|output| match output {
                AcdOutput::RingAgent { call, agent, .. } => {
                    Some((call.to_string(), agent.to_string()))
                }
                _ => None,
            })
            .collect()
    }

    /// A general question arrives in `queue`.
    pub fn arrive(&mut self, call: &str, queue: &str) {
        self.arrive_with(call, queue, Priority::GENERAL);
    }

    /// A call of the given priority arrives in `queue`.
    pub fn arrive_with(&mut self, call: &str, queue: &str, priority: Priority) {
        self.acd
            .call_arrived(call, queue, priority, self.now)
            .unwrap();
    }

    /// The agent answers, talks for `talk_secs` and the call ends.
    pub fn answer_and_talk(&mut self, call: &str, agent: &str, talk_secs: u64) {
        self.acd.agent_answered(call, agent, self.now).unwrap();
        self.wait_secs(talk_secs);
        self.acd.call_ended(call, self.now).unwrap();
    }

    /// The agent declines the call ringing its phone.
    pub fn decline(&mut self, call: &str, agent: &str) {
        self.acd
            .agent_rejected(call, agent, RejectReason::Declined, self.now)
            .unwrap();
    }

    /// The agent's current state.
    pub fn state(&self, agent: &str) -> AgentState {
        self.acd.agent_snapshot(agent, self.now).unwrap().state
    }

    /// The calls waiting in `queue`, in answer order.
    pub fn waiting(&self, queue: &str) -> Vec<String> {
        self.acd
            .queue_snapshot(queue, self.now)
            .unwrap()
            .waiting
            .iter()
            .map(|waiting| waiting.call.to_string())
            .collect()
    }
}

/// Shorthand for a (call, agent) ring in assertions.
pub fn ring(call: &str, agent: &str) -> (String, String) {
    (call.to_string(), agent.to_string())
}

/// A small deterministic random number generator (SplitMix64), so a random day is repeatable.
pub struct Random(u64);

impl Random {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n
    }
}
