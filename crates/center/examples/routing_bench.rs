//! Routing decision latency with 1,000 agents and 100 queues over a simulated working day.
//!
//! ```text
//! cargo run --release -p sb-center --example routing_bench
//! ```
//!
//! The ACD is driven the way the gateway drives it (every input with `now`, deadlines from
//! `poll_timeout`), in simulated time, so the day runs in seconds; only the ACD calls are timed,
//! with the real clock. Prints a table and writes `bench/results/routing.json`.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::path::Path;
use std::time::{Duration, Instant};

use sb_center::{
    Acd, AcdOutput, AgentConfig, CenterConfig, OverflowTarget, Presence, Priority, QueueConfig,
    RejectReason, Strategy,
};

const AGENTS: usize = 1_000;
const QUEUES: usize = 100;
const SKILLS: usize = 40;
/// The last queues take every agent and are where the others overflow to.
const GENERAL_QUEUES: usize = 5;
/// Calls arrive for this long; the run then continues until the last caller is served.
const DAY: Duration = Duration::from_secs(8 * 3600);
const SEED: u64 = 2026;

/// SplitMix64: small, fast and repeatable.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn between(&mut self, low_secs: f64, high_secs: f64) -> Duration {
        Duration::from_secs_f64(low_secs + (high_secs - low_secs) * self.unit())
    }

    /// Exponentially distributed with this mean.
    fn exponential(&mut self, mean_secs: f64) -> Duration {
        Duration::from_secs_f64(-mean_secs * (1.0 - self.unit()).ln())
    }

    /// An index drawn with these cumulative weights.
    fn weighted(&mut self, cumulative: &[f64]) -> usize {
        let target = self.unit() * cumulative[cumulative.len() - 1];
        cumulative.partition_point(|&weight| weight <= target)
    }
}

/// Cumulative Zipf-like weights: a few skills and queues are much busier than the rest.
fn zipf(n: usize, exponent: f64) -> Vec<f64> {
    (0..n)
        .scan(0.0, |sum, i| {
            *sum += 1.0 / ((i + 1) as f64).powf(exponent);
            Some(*sum)
        })
        .collect()
}

fn skill(index: usize) -> String {
    format!("skill{index:02}")
}

fn queue_name(index: usize) -> String {
    format!("q{index:03}")
}

/// 100 queues (one skill; two skills with a minimum level on the second; one skill at expert
/// level; general ones that take everyone) and 1,000 agents with 3 to 8 skills each.
fn floor(random: &mut Random) -> CenterConfig {
    let general = |index: usize| QUEUES - GENERAL_QUEUES + index % GENERAL_QUEUES;
    let queues = (0..QUEUES)
        .map(|i| {
            let (skills, min_levels, max_wait_secs, overflow) = match i {
                0..40 => (
                    vec![skill(i)],
                    BTreeMap::new(),
                    180,
                    OverflowTarget::Queue(queue_name(general(i))),
                ),
                40..80 => {
                    let second = skill((i * 7 + 3) % SKILLS);
                    (
                        vec![skill(i % SKILLS), second.clone()],
                        BTreeMap::from([(second, 3)]),
                        180,
                        OverflowTarget::Queue(queue_name(general(i))),
                    )
                }
                80..95 => (
                    vec![skill(i % SKILLS)],
                    BTreeMap::from([(skill(i % SKILLS), 6)]),
                    120,
                    OverflowTarget::Queue(queue_name(general(i))),
                ),
                _ => (Vec::new(), BTreeMap::new(), 300, OverflowTarget::Callback),
            };
            QueueConfig {
                name: queue_name(i),
                skills,
                min_levels,
                strategy: [
                    Strategy::LongestIdle,
                    Strategy::LeastCalls,
                    Strategy::RoundRobin,
                ][i % 3],
                ring_timeout_secs: 15,
                max_wait_secs: Some(max_wait_secs),
                overflow: Some(overflow),
                announce_every_secs: Some(30),
                wrap_up_secs: if i >= QUEUES - GENERAL_QUEUES { 5 } else { 10 },
                music: None,
            }
        })
        .collect();
    let skill_popularity = zipf(SKILLS, 0.8);
    let agents = (0..AGENTS)
        .map(|a| {
            let count = 3 + random.below(6);
            let mut skills = BTreeMap::new();
            while skills.len() < count {
                // Triangular levels: most agents are average, few beginners or experts.
                let level = (random.below(10) + random.below(10)) / 2 + 1;
                skills.insert(skill(random.weighted(&skill_popularity)), level as u8);
            }
            AgentConfig {
                id: format!("agent{a:04}"),
                name: format!("Agent {a}"),
                password: "secret".into(),
                skills,
            }
        })
        .collect();
    CenterConfig { queues, agents }
}

/// Calls per second at this time of day: a morning peak above what the floor can answer.
fn arrival_rate(at: Duration) -> f64 {
    match at.as_secs() / 3600 {
        0 => 3.0,
        1 | 2 => 4.6,
        3 | 4 => 3.8,
        _ => 3.2,
    }
}

/// What happens next in the simulated day (besides the ACD's own deadlines).
enum Event {
    Arrival,
    LogIn(usize),
    Answer {
        agent: usize,
        ring: u64,
    },
    Reject {
        agent: usize,
        ring: u64,
        reason: RejectReason,
    },
    TalkEnd(usize),
    Abandon(usize),
    BreakStart,
    BreakEnd(usize),
    Reregister(usize),
}

/// What a routing decision was triggered by.
#[derive(Clone, Copy)]
enum Trigger {
    /// A call arrived and rang an agent.
    Arrival,
    /// An agent became free (wrap-up over, back from a break, registered) and took a call.
    AgentFree,
    /// A ring failed (timeout, declined, busy, unreachable, agent left) or the call overflowed
    /// to another queue, and the call rang on.
    RingFailed,
}

const TRIGGERS: [(&str, Trigger); 3] = [
    ("call arrives → ring", Trigger::Arrival),
    ("agent free → next call", Trigger::AgentFree),
    ("ring failed → next agent", Trigger::RingFailed),
];

#[derive(Default)]
struct Latencies {
    arrival: Vec<Duration>,
    agent_free: Vec<Duration>,
    ring_failed: Vec<Duration>,
    /// Every ACD input, whether or not it rang anyone.
    every_input: Vec<Duration>,
}

impl Latencies {
    fn of(&mut self, trigger: Trigger) -> &mut Vec<Duration> {
        match trigger {
            Trigger::Arrival => &mut self.arrival,
            Trigger::AgentFree => &mut self.agent_free,
            Trigger::RingFailed => &mut self.ring_failed,
        }
    }
}

#[derive(Default)]
struct Counts {
    calls: usize,
    answered: usize,
    abandoned: usize,
    overflowed_to_queue: usize,
    overflowed_out: usize,
    rings: usize,
    cancelled_rings: usize,
    announcements: usize,
}

struct Agent {
    /// The call and ring number the agent's phone rings for; answers to older rings are stale.
    ringing: Option<(usize, u64)>,
    on_break: bool,
}

#[derive(Clone, Copy, PartialEq)]
enum CallState {
    Queued,
    Connected,
    Gone,
}

struct Day {
    acd: Acd,
    start: Instant,
    now: Duration,
    random: Random,
    events: BinaryHeap<Reverse<(Duration, u64)>>,
    pending: BTreeMap<u64, Event>,
    next_event: u64,
    agents: Vec<Agent>,
    agent_ids: Vec<String>,
    calls: Vec<CallState>,
    queue_popularity: Vec<f64>,
    next_ring: u64,
    latencies: Latencies,
    counts: Counts,
}

impl Day {
    fn schedule(&mut self, after: Duration, event: Event) {
        self.next_event += 1;
        self.events
            .push(Reverse((self.now + after, self.next_event)));
        self.pending.insert(self.next_event, event);
    }

    fn instant(&self) -> Instant {
        self.start + self.now
    }

    /// Times one ACD input, then acts on its outputs like the gateway would.
    fn drive(&mut self, trigger: Trigger, input: impl FnOnce(&mut Acd, Instant)) {
        let now = self.instant();
        let began = Instant::now();
        input(&mut self.acd, now);
        let took = began.elapsed();
        let outputs: Vec<AcdOutput> = std::iter::from_fn(|| self.acd.poll_output()).collect();
        self.latencies.every_input.push(took);
        let rang = outputs
            .iter()
            .any(|output| matches!(output, AcdOutput::RingAgent { .. }));
        let rerouted = outputs.iter().any(|output| {
            matches!(
                output,
                AcdOutput::CancelRing { .. } | AcdOutput::Overflow { .. }
            )
        });
        if rang {
            let trigger = if rerouted {
                Trigger::RingFailed
            } else {
                trigger
            };
            self.latencies.of(trigger).push(took);
        }
        for output in outputs {
            self.take(output);
        }
    }

    fn take(&mut self, output: AcdOutput) {
        match output {
            AcdOutput::RingAgent { call, agent, .. } => {
                self.counts.rings += 1;
                let (call, agent) = (call_number(call.as_str()), agent_number(agent.as_str()));
                self.next_ring += 1;
                let ring = self.next_ring;
                self.agents[agent].ringing = Some((call, ring));
                let roll = self.random.unit();
                if roll < 0.85 {
                    let after = self.random.between(2.0, 8.0);
                    self.schedule(after, Event::Answer { agent, ring });
                } else if roll < 0.93 {
                    // Not answered: the ACD's ring timeout moves the call on.
                } else {
                    let reason = if roll < 0.97 {
                        RejectReason::Declined
                    } else if roll < 0.99 {
                        RejectReason::Busy
                    } else {
                        self.schedule(Duration::from_secs(60), Event::Reregister(agent));
                        RejectReason::Unreachable
                    };
                    let after = self.random.between(0.5, 4.0);
                    self.schedule(
                        after,
                        Event::Reject {
                            agent,
                            ring,
                            reason,
                        },
                    );
                }
            }
            AcdOutput::CancelRing { agent, .. } => {
                self.counts.cancelled_rings += 1;
                self.agents[agent_number(agent.as_str())].ringing = None;
            }
            AcdOutput::Announce { .. } => self.counts.announcements += 1,
            AcdOutput::Overflow { call, target, .. } => {
                if matches!(target, OverflowTarget::Queue(_)) {
                    self.counts.overflowed_to_queue += 1;
                } else {
                    self.counts.overflowed_out += 1;
                    self.calls[call_number(call.as_str())] = CallState::Gone;
                }
            }
        }
    }

    /// The agent's ring `ring` is still the current one: takes it off the phone.
    fn current_ring(&mut self, agent: usize, ring: u64) -> Option<usize> {
        match self.agents[agent].ringing {
            Some((call, current)) if current == ring => {
                self.agents[agent].ringing = None;
                Some(call)
            }
            _ => None,
        }
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Arrival => {
                if self.now < DAY {
                    let after = self.random.exponential(1.0 / arrival_rate(self.now));
                    self.schedule(after, Event::Arrival);
                }
                let call = self.calls.len();
                self.calls.push(CallState::Queued);
                self.counts.calls += 1;
                let queue = queue_name(self.random.weighted(&self.queue_popularity));
                let roll = self.random.unit();
                let priority = if roll < 0.10 {
                    Priority::COMPLAINT
                } else if roll < 0.35 {
                    Priority::BILLING
                } else {
                    Priority::GENERAL
                };
                let patience = self.random.exponential(240.0);
                self.schedule(patience, Event::Abandon(call));
                self.drive(Trigger::Arrival, |acd, now| {
                    acd.call_arrived(format!("c{call}"), &queue, priority, now)
                        .unwrap()
                });
            }
            Event::LogIn(agent) => {
                let id = self.agent_ids[agent].clone();
                self.drive(Trigger::AgentFree, |acd, now| {
                    acd.agent_reachable(&id, true, now).unwrap();
                    acd.set_agent_state(&id, Presence::Available, now).unwrap();
                });
            }
            Event::Answer { agent, ring } => {
                if let Some(call) = self.current_ring(agent, ring) {
                    let id = self.agent_ids[agent].clone();
                    self.drive(Trigger::AgentFree, |acd, now| {
                        acd.agent_answered(&format!("c{call}"), &id, now).unwrap()
                    });
                    self.calls[call] = CallState::Connected;
                    self.counts.answered += 1;
                    let talk = self.random.exponential(200.0).max(Duration::from_secs(20));
                    self.schedule(talk, Event::TalkEnd(call));
                }
            }
            Event::Reject {
                agent,
                ring,
                reason,
            } => {
                if let Some(call) = self.current_ring(agent, ring) {
                    let id = self.agent_ids[agent].clone();
                    self.drive(Trigger::RingFailed, |acd, now| {
                        acd.agent_rejected(&format!("c{call}"), &id, reason, now)
                            .unwrap()
                    });
                }
            }
            Event::TalkEnd(call) => {
                self.calls[call] = CallState::Gone;
                self.drive(Trigger::AgentFree, |acd, now| {
                    acd.call_ended(&format!("c{call}"), now).unwrap()
                });
            }
            Event::Abandon(call) => {
                if self.calls[call] == CallState::Queued {
                    self.calls[call] = CallState::Gone;
                    self.counts.abandoned += 1;
                    self.drive(Trigger::RingFailed, |acd, now| {
                        acd.call_abandoned(&format!("c{call}"), now).unwrap()
                    });
                }
            }
            Event::BreakStart => {
                if self.now < DAY {
                    // About one break per agent every two hours.
                    let after = self.random.exponential(7200.0 / AGENTS as f64);
                    self.schedule(after, Event::BreakStart);
                }
                let agent = self.random.below(AGENTS);
                if !self.agents[agent].on_break {
                    self.agents[agent].on_break = true;
                    let id = self.agent_ids[agent].clone();
                    self.drive(Trigger::RingFailed, |acd, now| {
                        acd.set_agent_state(&id, Presence::Away, now).unwrap()
                    });
                    let length = self.random.between(300.0, 900.0);
                    self.schedule(length, Event::BreakEnd(agent));
                }
            }
            Event::BreakEnd(agent) => {
                self.agents[agent].on_break = false;
                let id = self.agent_ids[agent].clone();
                self.drive(Trigger::AgentFree, |acd, now| {
                    acd.set_agent_state(&id, Presence::Available, now).unwrap()
                });
            }
            Event::Reregister(agent) => {
                let id = self.agent_ids[agent].clone();
                self.drive(Trigger::AgentFree, |acd, now| {
                    acd.agent_reachable(&id, true, now).unwrap()
                });
            }
        }
    }

    /// Runs the day: the next of the simulated events and the ACD's deadlines, until both end.
    fn run(&mut self) {
        loop {
            let next_event = self.events.peek().map(|Reverse((at, _))| *at);
            let next_deadline = self
                .acd
                .poll_timeout()
                .map(|deadline| deadline - self.start);
            let event_first = match (next_event, next_deadline) {
                (None, None) => return,
                (Some(event), Some(deadline)) => event < deadline,
                (Some(_), None) => true,
                (None, Some(_)) => false,
            };
            if event_first {
                let Some(Reverse((at, id))) = self.events.pop() else {
                    return;
                };
                self.now = at;
                if let Some(event) = self.pending.remove(&id) {
                    self.handle(event);
                }
            } else if let Some(deadline) = next_deadline {
                self.now = deadline;
                // Wrap-up ends free agents; ring timeouts and overflows are told apart by
                // their outputs in `drive`.
                self.drive(Trigger::AgentFree, |acd, now| acd.handle_timeout(now));
            }
        }
    }
}

fn call_number(id: &str) -> usize {
    id[1..].parse().expect("calls are named c<n>")
}

fn agent_number(id: &str) -> usize {
    id["agent".len()..]
        .parse()
        .expect("agents are named agent<n>")
}

/// Latency figures of one kind of decision, in microseconds.
struct Summary {
    count: usize,
    p50: f64,
    p95: f64,
    p99: f64,
    max: f64,
    /// Decisions slower than the 1 ms target (on a shared machine: mostly preemption).
    over_1ms: usize,
}

fn summary(samples: &mut [Duration]) -> Summary {
    samples.sort_unstable();
    // Two decimals: the clock reads tens of nanoseconds at best.
    let micros = |duration: Duration| (duration.as_secs_f64() * 1e8).round() / 100.0;
    let at = |percent: usize| {
        samples
            .get((samples.len() * percent / 100).min(samples.len().saturating_sub(1)))
            .map_or(0.0, |&duration| micros(duration))
    };
    Summary {
        count: samples.len(),
        p50: at(50),
        p95: at(95),
        p99: at(99),
        max: samples.last().map_or(0.0, |&duration| micros(duration)),
        over_1ms: samples.len() - samples.partition_point(|&d| d <= Duration::from_millis(1)),
    }
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split(':').nth(1))
                .map(|model| model.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

fn main() {
    let mut random = Random(SEED);
    let config = floor(&mut random);
    let acd = Acd::new(&config).expect("the bench floor is a valid config");
    let start = Instant::now();
    let members: Vec<usize> = config
        .queues
        .iter()
        .map(|queue| acd.queue_snapshot(&queue.name, start).unwrap().agents.len())
        .collect();
    let memberships: Vec<usize> = config
        .agents
        .iter()
        .map(|agent| acd.agent_snapshot(&agent.id, start).unwrap().queues.len())
        .collect();
    let mut day = Day {
        acd,
        start,
        now: Duration::ZERO,
        random,
        events: BinaryHeap::new(),
        pending: BTreeMap::new(),
        next_event: 0,
        agents: (0..AGENTS)
            .map(|_| Agent {
                ringing: None,
                on_break: false,
            })
            .collect(),
        agent_ids: config.agents.iter().map(|agent| agent.id.clone()).collect(),
        calls: Vec::new(),
        queue_popularity: zipf(QUEUES, 0.7),
        next_ring: 0,
        latencies: Latencies::default(),
        counts: Counts::default(),
    };
    // Agents log in over the first ten minutes; calls start at once.
    for agent in 0..AGENTS {
        let after = day.random.between(0.0, 600.0);
        day.schedule(after, Event::LogIn(agent));
    }
    day.schedule(Duration::ZERO, Event::Arrival);
    day.schedule(Duration::from_secs(600), Event::BreakStart);

    let wall = Instant::now();
    day.run();
    let wall = wall.elapsed();

    let mut rows = Vec::new();
    let mut all_decisions = Vec::new();
    for (name, trigger) in TRIGGERS {
        let samples = day.latencies.of(trigger);
        all_decisions.extend_from_slice(samples);
        rows.push((name, summary(samples)));
    }
    rows.push(("all routing decisions", summary(&mut all_decisions)));
    rows.push(("every ACD input", summary(&mut day.latencies.every_input)));

    let counts = &day.counts;
    println!(
        "routing bench: {AGENTS} agents, {QUEUES} queues, {SKILLS} skills; members per queue mean {:.0} max {}; queues per agent mean {:.1} max {}",
        members.iter().sum::<usize>() as f64 / QUEUES as f64,
        members.iter().max().unwrap_or(&0),
        memberships.iter().sum::<usize>() as f64 / AGENTS as f64,
        memberships.iter().max().unwrap_or(&0),
    );
    println!(
        "simulated {:.1} h in {:.2} s: {} calls, {} answered, {} abandoned, {} overflowed to a queue, {} overflowed out, {} rings ({} cancelled), {} announcements",
        day.now.as_secs_f64() / 3600.0,
        wall.as_secs_f64(),
        counts.calls,
        counts.answered,
        counts.abandoned,
        counts.overflowed_to_queue,
        counts.overflowed_out,
        counts.rings,
        counts.cancelled_rings,
        counts.announcements,
    );
    println!();
    println!(
        "{:<26} {:>10} {:>9} {:>9} {:>9} {:>9} {:>8}",
        "decision (µs)", "decisions", "p50", "p95", "p99", "max", ">1 ms"
    );
    for (name, row) in &rows {
        println!(
            "{name:<26} {:>10} {:>9.2} {:>9.2} {:>9.2} {:>9.1} {:>8}",
            row.count, row.p50, row.p95, row.p99, row.max, row.over_1ms
        );
    }
    let p99 = rows[3].1.p99;
    println!();
    println!(
        "target p99 ≤ 1000 µs: {} ({p99:.2} µs)",
        if p99 <= 1000.0 { "met" } else { "NOT met" }
    );

    let json = serde_json::json!({
        "benchmark": "routing",
        "command": "cargo run --release -p sb-center --example routing_bench",
        "machine": {
            "cpu": cpu_model(),
            "cores": std::thread::available_parallelism().map_or(0, |cores| cores.get()),
        },
        "setup": {
            "agents": AGENTS,
            "queues": QUEUES,
            "skills": SKILLS,
            "seed": SEED,
            "simulated_hours": day.now.as_secs_f64() / 3600.0,
            "members_per_queue_mean": members.iter().sum::<usize>() as f64 / QUEUES as f64,
            "members_per_queue_max": members.iter().max(),
            "queues_per_agent_mean": memberships.iter().sum::<usize>() as f64 / AGENTS as f64,
            "queues_per_agent_max": memberships.iter().max(),
        },
        "run": {
            "wall_seconds": wall.as_secs_f64(),
            "calls": counts.calls,
            "answered": counts.answered,
            "abandoned": counts.abandoned,
            "overflowed_to_queue": counts.overflowed_to_queue,
            "overflowed_out": counts.overflowed_out,
            "rings": counts.rings,
            "cancelled_rings": counts.cancelled_rings,
            "announcements": counts.announcements,
        },
        "latency_us": rows.iter().map(|(name, row)| serde_json::json!({
            "decision": name,
            "count": row.count,
            "p50": row.p50,
            "p95": row.p95,
            "p99": row.p99,
            "max": row.max,
            "over_1ms": row.over_1ms,
        })).collect::<Vec<_>>(),
        "target_p99_us": 1000,
        "target_met": p99 <= 1000.0,
    });
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("the crate is in crates/center");
    let path = workspace.join("bench/results/routing.json");
    std::fs::create_dir_all(path.parent().expect("the results path has a folder"))
        .expect("bench/results can be created");
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&json).expect("JSON") + "\n",
    )
    .expect("bench/results/routing.json can be written");
    println!("wrote {}", path.display());
}
