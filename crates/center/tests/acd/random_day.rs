//! A long random day against a model of the gateway, checking the invariants after every input:
//! no agent is rung twice at once or while on a call, no caller is lost, and no caller waits
//! while an agent who could take the call is free.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use sb_center::{AcdOutput, AgentState, OverflowTarget, Presence, Priority, RejectReason};

use crate::support::{Random, Sim};

const QUEUES: [&str; 3] = ["billing", "orders", "general"];

fn floor() -> String {
    let mut text = String::from(
        r#"
        [[queue]]
        name = "billing"
        skills = ["billing"]
        ring_timeout_secs = 12
        max_wait_secs = 90
        overflow = "queue:general"
        announce_every_secs = 20
        wrap_up_secs = 5

        [[queue]]
        name = "orders"
        skills = ["orders"]
        min_levels = { orders = 4 }
        strategy = "round_robin"
        ring_timeout_secs = 10
        max_wait_secs = 120
        overflow = "node:voicemail"
        wrap_up_secs = 0

        [[queue]]
        name = "general"
        strategy = "least_calls"
        ring_timeout_secs = 15
        max_wait_secs = 240
        overflow = "callback"
        announce_every_secs = 30
        wrap_up_secs = 8
        "#,
    );
    for i in 0..12 {
        let skills = match i % 4 {
            0 => "{ billing = 7 }",
            1 => "{ orders = 5, billing = 2 }",
            2 => "{ orders = 3 }",
            _ => "{ billing = 4, orders = 9 }",
        };
        text.push_str(&format!(
            "[[agent]]\nid = \"a{i}\"\nname = \"A{i}\"\npassword = \"p\"\nskills = {skills}\n"
        ));
    }
    text
}

/// What the gateway knows, built only from the ACD's outputs and its own inputs.
#[derive(Default)]
struct Gateway {
    /// Calls the ACD holds (arrived, not yet ended, abandoned or overflowed out).
    live: BTreeSet<String>,
    /// Agent → the call ringing it.
    ringing: BTreeMap<String, String>,
    /// Call → the agent talking to it.
    connected: BTreeMap<String, String>,
    rings: usize,
    answered: usize,
    rang_out: usize,
    overflowed: usize,
    announced: usize,
}

impl Gateway {
    /// Applies the ACD's outputs, checking each against what the gateway already knows.
    fn take_outputs(&mut self, sim: &mut Sim) {
        for output in sim.outputs() {
            match output {
                AcdOutput::RingAgent { call, agent, .. } => {
                    let (call, agent) = (call.to_string(), agent.to_string());
                    assert!(
                        self.live.contains(&call),
                        "rang a call not in the ACD: {call}"
                    );
                    assert!(
                        !self.ringing.contains_key(&agent),
                        "{agent} rung for {call} while ringing for {}",
                        self.ringing[&agent]
                    );
                    assert!(
                        !self.connected.values().any(|talking| *talking == agent),
                        "{agent} rung for {call} while on a call"
                    );
                    assert!(
                        !self.ringing.values().any(|rung| *rung == call),
                        "{call} rings two agents"
                    );
                    assert!(
                        !self.connected.contains_key(&call),
                        "{call} rung while connected"
                    );
                    self.ringing.insert(agent, call);
                    self.rings += 1;
                }
                AcdOutput::CancelRing { call, agent } => {
                    assert_eq!(
                        self.ringing.remove(agent.as_str()).as_deref(),
                        Some(call.as_str()),
                        "cancelled a ring that was not ringing"
                    );
                    self.rang_out += 1;
                }
                AcdOutput::Announce { call, position, .. } => {
                    assert!(self.live.contains(call.as_str()));
                    assert!(position >= 1);
                    self.announced += 1;
                }
                AcdOutput::Overflow { call, target, .. } => {
                    assert!(self.live.contains(call.as_str()));
                    assert!(!self.connected.contains_key(call.as_str()));
                    assert!(!self.ringing.values().any(|rung| *rung == call.as_str()));
                    if !matches!(target, OverflowTarget::Queue(_)) {
                        self.live.remove(call.as_str());
                    }
                    self.overflowed += 1;
                }
            }
        }
    }

    /// Checks the ACD's views against the model: every live call is in exactly one place, the
    /// agents' states match, and no call waits beside a free agent who could take it.
    fn check_views(&self, sim: &Sim) {
        let mut placed = BTreeMap::new();
        for queue in QUEUES {
            let view = sim.acd.queue_snapshot(queue, sim.now).unwrap();
            for waiting in &view.waiting {
                assert!(placed.insert(waiting.call.to_string(), "waiting").is_none());
            }
            for ringing in &view.ringing {
                assert!(placed.insert(ringing.call.to_string(), "ringing").is_none());
                assert_eq!(
                    self.ringing.get(ringing.agent.as_str()).map(String::as_str),
                    Some(ringing.call.as_str())
                );
            }
            if let Some(first) = view.waiting.first() {
                let free = view
                    .agents
                    .iter()
                    .find(|agent| agent.reachable && agent.state == AgentState::Available);
                assert!(
                    free.is_none(),
                    "{} waits in {queue} while {:?} is free",
                    first.call,
                    free.map(|agent| &agent.agent)
                );
            }
        }
        for call in self.connected.keys() {
            assert!(placed.insert(call.clone(), "connected").is_none());
        }
        let placed: BTreeSet<String> = placed.into_keys().collect();
        assert_eq!(placed, self.live, "calls lost or invented");
        for id in sim.acd.agent_ids() {
            let state = sim.acd.agent_snapshot(id.as_str(), sim.now).unwrap().state;
            let expected_ring = self.ringing.get(id.as_str());
            match &state {
                AgentState::Ringing(call) => assert_eq!(expected_ring, Some(&call.to_string())),
                AgentState::OnCall(call) => {
                    assert_eq!(self.connected[call.as_str()], id.as_str())
                }
                _ => assert_eq!(expected_ring, None),
            }
        }
    }
}

fn pick<'a>(random: &mut Random, items: &'a [String]) -> Option<&'a String> {
    (!items.is_empty()).then(|| &items[random.below(items.len() as u64) as usize])
}

#[test]
fn a_random_busy_day_never_double_rings_an_agent_and_never_loses_a_caller() {
    let mut sim = Sim::new(&floor());
    let mut gateway = Gateway::default();
    let mut random = Random::new(7);
    let agents: Vec<String> = (0..12).map(|i| format!("a{i}")).collect();
    for agent in &agents {
        sim.log_in(agent);
    }
    let mut next_call = 0;
    for _ in 0..20_000 {
        sim.advance(Duration::from_millis(random.below(4_000)));
        gateway.take_outputs(&mut sim);
        gateway.check_views(&sim);
        let ringing: Vec<(String, String)> = gateway
            .ringing
            .iter()
            .map(|(agent, call)| (agent.clone(), call.clone()))
            .collect();
        let connected: Vec<String> = gateway.connected.keys().cloned().collect();
        let live: Vec<String> = gateway.live.iter().cloned().collect();
        let now = sim.now;
        match random.below(100) {
            0..=29 => {
                next_call += 1;
                let call = format!("c{next_call}");
                let queue = QUEUES[random.below(3) as usize];
                let priority = [Priority::GENERAL, Priority::BILLING, Priority::COMPLAINT]
                    [random.below(3) as usize];
                sim.acd
                    .call_arrived(call.as_str(), queue, priority, now)
                    .unwrap();
                gateway.live.insert(call);
            }
            30..=49 if !ringing.is_empty() => {
                let (agent, call) = &ringing[random.below(ringing.len() as u64) as usize];
                match random.below(10) {
                    0..=6 => {
                        sim.acd.agent_answered(call, agent, now).unwrap();
                        gateway.ringing.remove(agent);
                        gateway.connected.insert(call.clone(), agent.clone());
                        gateway.answered += 1;
                    }
                    reason => {
                        let reason = match reason {
                            7 => RejectReason::Busy,
                            8 => RejectReason::Declined,
                            _ => RejectReason::Unreachable,
                        };
                        sim.acd.agent_rejected(call, agent, reason, now).unwrap();
                        gateway.ringing.remove(agent);
                    }
                }
            }
            50..=69 => {
                if let Some(call) = pick(&mut random, &connected) {
                    sim.acd.call_ended(call, now).unwrap();
                    gateway.connected.remove(call);
                    gateway.live.remove(call);
                }
            }
            70..=76 => {
                if let Some(call) = pick(&mut random, &live) {
                    let was_ringing = gateway.ringing.values().any(|rung| rung == call);
                    sim.acd.call_abandoned(call, now).unwrap();
                    gateway.connected.remove(call);
                    gateway.live.remove(call);
                    gateway.take_outputs(&mut sim);
                    assert!(
                        !gateway.ringing.values().any(|rung| rung == call),
                        "abandoned while ringing but the ring was not cancelled (was ringing: {was_ringing})"
                    );
                }
            }
            77..=80 => {
                if let Some(call) = pick(&mut random, &connected) {
                    let queue = QUEUES[random.below(3) as usize];
                    sim.acd.call_transferred_to_queue(call, queue, now).unwrap();
                    gateway.connected.remove(call);
                }
            }
            81..=88 => {
                let agent = pick(&mut random, &agents).unwrap();
                let presence = if random.below(3) == 0 {
                    Presence::Away
                } else {
                    Presence::Available
                };
                sim.acd.set_agent_state(agent, presence, now).unwrap();
            }
            89..=95 => {
                let agent = pick(&mut random, &agents).unwrap();
                let reachable = random.below(4) != 0;
                sim.acd.agent_reachable(agent, reachable, now).unwrap();
            }
            _ => {}
        }
        gateway.take_outputs(&mut sim);
        gateway.check_views(&sim);
    }

    // Close the day: everyone back, every ring answered, every call ended. All callers still
    // held must come out answered or overflowed, none stuck.
    for agent in &agents {
        sim.acd.agent_reachable(agent, true, sim.now).unwrap();
        sim.acd
            .set_agent_state(agent, Presence::Available, sim.now)
            .unwrap();
    }
    for _ in 0..10_000 {
        gateway.take_outputs(&mut sim);
        gateway.check_views(&sim);
        if gateway.live.is_empty() {
            break;
        }
        let ringing: Vec<(String, String)> = gateway
            .ringing
            .iter()
            .map(|(agent, call)| (agent.clone(), call.clone()))
            .collect();
        for (agent, call) in ringing {
            sim.acd.agent_answered(&call, &agent, sim.now).unwrap();
            gateway.ringing.remove(&agent);
            gateway.connected.insert(call, agent);
        }
        let connected: Vec<String> = gateway.connected.keys().cloned().collect();
        for call in connected {
            sim.acd.call_ended(&call, sim.now).unwrap();
            gateway.connected.remove(&call);
            gateway.live.remove(&call);
        }
        sim.advance(Duration::from_secs(1));
    }
    assert!(gateway.live.is_empty(), "callers left: {:?}", gateway.live);

    // The day exercised every path.
    assert!(gateway.answered > 1_000, "answered {}", gateway.answered);
    assert!(gateway.rang_out > 100, "rang out {}", gateway.rang_out);
    assert!(gateway.overflowed > 50, "overflowed {}", gateway.overflowed);
    assert!(gateway.announced > 100, "announced {}", gateway.announced);
    assert!(gateway.rings > gateway.answered);
}
