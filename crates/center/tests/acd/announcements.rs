//! Periodic announcements to waiting callers: place in line and estimated wait.

use std::time::Duration;

use sb_center::{AcdOutput, Presence, Priority};

use crate::support::{Sim, agents_and_queues};

const ANNOUNCING: &str = "[[queue]]\nname = \"general\"\nskills = [\"general\"]\nannounce_every_secs = 30\nwrap_up_secs = 0\n";

/// (seconds since start, call, position) of each announcement while the clock runs `secs`.
fn announcements_during(sim: &mut Sim, secs: u64) -> Vec<(u64, String, usize)> {
    let mut heard = Vec::new();
    for _ in 0..secs {
        sim.wait_secs(1);
        for output in sim.outputs() {
            if let AcdOutput::Announce { call, position, .. } = output {
                heard.push((sim.at().as_secs(), call.to_string(), position));
            }
        }
    }
    heard
}

fn estimates(sim: &mut Sim) -> Vec<(String, Duration)> {
    sim.outputs()
        .into_iter()
        .filter_map(|output| match output {
            AcdOutput::Announce {
                call,
                estimated_wait,
                ..
            } => Some((call.to_string(), estimated_wait)),
            _ => None,
        })
        .collect()
}

fn at(secs: u64, call: &str, position: usize) -> (u64, String, usize) {
    (secs, call.to_string(), position)
}

#[test]
fn announcements_come_at_the_interval_with_current_positions() {
    let mut sim = Sim::new(&agents_and_queues(1, ANNOUNCING));
    sim.arrive("c1", "general");
    sim.wait_secs(10);
    sim.arrive("c2", "general");
    sim.wait_secs(10);
    sim.arrive("c3", "general");
    let mut heard = announcements_during(&mut sim, 45);
    sim.acd.call_abandoned("c1", sim.now).unwrap(); // at 65 s
    sim.wait_secs(1);
    sim.arrive_with("complaint", "general", Priority::COMPLAINT); // at 66 s, jumps ahead of c2
    heard.extend(announcements_during(&mut sim, 34));
    assert_eq!(
        heard,
        [
            at(30, "c1", 1),
            at(40, "c2", 2),
            at(50, "c3", 3),
            at(60, "c1", 1),
            at(70, "c2", 2),
            at(80, "c3", 3),
            at(96, "complaint", 1),
            at(100, "c2", 2),
        ]
    );
}

#[test]
fn a_caller_whose_call_is_ringing_an_agent_hears_no_announcement() {
    let mut sim = Sim::with_available(&agents_and_queues(1, ANNOUNCING), &["a1"]);
    sim.arrive("talking", "general");
    sim.acd.agent_answered("talking", "a1", sim.now).unwrap();
    sim.arrive("c1", "general");
    sim.wait_secs(25);
    sim.acd.call_ended("talking", sim.now).unwrap(); // c1 rings a1 from 25 s
    let mut heard = announcements_during(&mut sim, 10);
    sim.acd
        .set_agent_state("a1", Presence::Away, sim.now)
        .unwrap(); // back in line at 35 s
    heard.extend(announcements_during(&mut sim, 30));
    // None at 30 s, while ringing; the next one on schedule.
    assert_eq!(heard, [at(60, "c1", 1)]);
}

#[test]
fn the_estimated_wait_starts_from_a_default_and_follows_recent_answers() {
    let mut sim = Sim::new(&agents_and_queues(1, ANNOUNCING));
    sim.arrive("c1", "general");
    sim.arrive("c2", "general");
    sim.wait_secs(30);
    // Before any answer: 30 s per place in line.
    assert_eq!(
        estimates(&mut sim),
        [
            ("c1".to_string(), Duration::from_secs(30)),
            ("c2".to_string(), Duration::from_secs(60))
        ]
    );
    sim.wait_secs(10);
    sim.log_in("a1"); // at 40 s: c1 (first in line) is answered after 40 s
    sim.acd.agent_answered("c1", "a1", sim.now).unwrap();
    sim.arrive("c3", "general"); // second in line behind c2
    sim.wait_secs(20); // c2's announcement at 60 s
    sim.wait_secs(10); // c3's at 70 s
    assert_eq!(
        estimates(&mut sim),
        [
            ("c2".to_string(), Duration::from_secs(40)),
            ("c3".to_string(), Duration::from_secs(80))
        ]
    );
    let snapshot = sim.acd.queue_snapshot("general", sim.now).unwrap();
    assert_eq!(snapshot.wait_per_place, Duration::from_secs(40));
}
