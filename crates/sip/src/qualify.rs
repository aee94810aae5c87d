//! Qualify: an out-of-dialog OPTIONS that tells whether a phone answers, and how fast.
//!
//! The request is retransmitted like any non-INVITE client transaction (RFC 3261 §17.1.2.2:
//! timer E from T1 doubling up to T2 over UDP, timer F gives up after 64·T1). Any response, even
//! a 4xx or 5xx, proves the phone is there.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::endpoint::{Peer, SipEvent, T1, T2, TRANSACTION_LIFETIME, Transmit, TransportKind};

/// Handle of one qualify request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QualifyId(pub u64);

/// One OPTIONS waiting for its response.
#[derive(Debug)]
struct Probe {
    id: QualifyId,
    peer: Peer,
    data: Vec<u8>,
    sent_at: Instant,
    interval: Duration,
    /// Next retransmission (UDP only).
    next_retransmit: Option<Instant>,
    give_up: Instant,
}

/// The qualify requests in flight, by Via branch.
#[derive(Debug, Default)]
pub(crate) struct Qualifier {
    probes: HashMap<String, Probe>,
    next_id: u64,
}

impl Qualifier {
    /// A fresh handle.
    pub fn next_id(&mut self) -> QualifyId {
        self.next_id += 1;
        QualifyId(self.next_id)
    }

    /// Tracks an OPTIONS just sent with this branch.
    pub fn start(
        &mut self,
        now: Instant,
        id: QualifyId,
        branch: String,
        peer: Peer,
        data: Vec<u8>,
    ) {
        let next_retransmit = (peer.transport == TransportKind::Udp).then_some(now + T1);
        self.probes.insert(
            branch,
            Probe {
                id,
                peer,
                data,
                sent_at: now,
                interval: T1,
                next_retransmit,
                give_up: now + TRANSACTION_LIFETIME,
            },
        );
    }

    /// The result when the response belongs to a probe; the round trip counts from the first
    /// transmission, so after retransmissions it is the time to answer, not the path delay.
    pub fn handle_response(&mut self, now: Instant, branch: &str) -> Option<SipEvent> {
        let probe = self.probes.remove(branch)?;
        Some(SipEvent::Qualified {
            id: probe.id,
            reachable: true,
            rtt: Some(now.saturating_duration_since(probe.sent_at)),
        })
    }

    /// Retransmits what is due and reports the probes that ran out of time.
    pub fn handle_timeout(
        &mut self,
        now: Instant,
        transmits: &mut VecDeque<Transmit>,
        events: &mut VecDeque<SipEvent>,
    ) {
        let mut lost = Vec::new();
        for (branch, probe) in &mut self.probes {
            if now >= probe.give_up {
                lost.push(branch.clone());
                continue;
            }
            if let Some(due) = probe.next_retransmit
                && now >= due
            {
                transmits.push_back(Transmit {
                    to: probe.peer,
                    data: probe.data.clone(),
                });
                probe.interval = (probe.interval * 2).min(T2);
                probe.next_retransmit = Some(now + probe.interval);
            }
        }
        lost.sort_by_key(|branch| self.probes[branch].id);
        for branch in lost {
            if let Some(probe) = self.probes.remove(&branch) {
                events.push_back(SipEvent::Qualified {
                    id: probe.id,
                    reachable: false,
                    rtt: None,
                });
            }
        }
    }

    /// When `handle_timeout` has work next.
    pub fn next_timeout(&self) -> Option<Instant> {
        self.probes
            .values()
            .map(|p| p.next_retransmit.unwrap_or(p.give_up).min(p.give_up))
            .min()
    }

    /// Number of probes in flight (for leak tests).
    pub fn in_flight(&self) -> usize {
        self.probes.len()
    }
}
