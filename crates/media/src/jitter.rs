//! Adaptive jitter buffer: packets arrive when the network delivers them, the playout clock
//! takes one frame every 20 ms tick. In between, this buffer reorders, drops duplicates and
//! packets that come after their playout time, and sizes its delay to the network's jitter.
//!
//! Timing model: each packet's *transit* is its arrival time minus its RTP time. The smallest
//! transit seen (the baseline) is what an on-time packet needs; a packet's *lateness* is how far
//! its transit exceeds that. A frame is due at its RTP time plus baseline plus the target
//! delay, and the target follows the peak lateness: up at once when a packet comes later than
//! the buffer allows, back down slowly once the network calms. Keying playout to RTP time (not
//! just sequence) makes silence suppression gaps play as gaps.

pub use crate::conceal::Concealer; // playout's partner: what to play on `Playout::Lost`

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// A sequence jump larger than this (either way) is a new stream or a stray packet.
const MAX_SEQUENCE_JUMP: i64 = 100;
/// A timestamp jump larger than this, in seconds, beyond what the sequence explains is a new
/// stream (silence suppression gaps are shorter).
const MAX_TIMESTAMP_JUMP_SECS: f64 = 60.0;
/// How fast the baseline may rise without a faster packet confirming it: tolerates the sender's
/// clock running slower than ours.
const BASELINE_DRIFT_PER_SEC: f64 = 0.001;
/// How fast the peak lateness (and so the target delay) decays once packets come on time.
const PEAK_DECAY_PER_SEC: f64 = 0.010;
/// Played/not-played history kept below the playout point, to tell duplicates from late packets.
const HISTORY: i64 = 64;

/// Sizing of a jitter buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JitterConfig {
    /// Audio carried by one packet (and played per tick).
    pub frame_duration: Duration,
    /// The delay never adapts below this.
    pub min_delay: Duration,
    /// The delay never adapts above this; it also bounds how many packets are held.
    pub max_delay: Duration,
    /// RTP timestamp units per frame (160 for 20 ms at 8 kHz).
    pub timestamp_step: u32,
}

impl Default for JitterConfig {
    /// 20 ms frames on an 8 kHz RTP clock, 40–300 ms of delay.
    fn default() -> Self {
        JitterConfig {
            frame_duration: Duration::from_millis(20),
            min_delay: Duration::from_millis(40),
            max_delay: Duration::from_millis(300),
            timestamp_step: 160,
        }
    }
}

/// What to play on this tick.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Playout {
    /// The payload of the next frame.
    Frame(Vec<u8>),
    /// A frame is missing from the sequence: conceal it.
    Lost,
    /// Nothing due: not started yet, a silence gap, or the network stalled.
    Empty,
}

/// Counters and the current delay, for logs, metrics and RTCP.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JitterStats {
    /// Packets accepted into the buffer.
    pub received: u64,
    /// Frames handed out for playing.
    pub played: u64,
    /// Frames missing at their playout time.
    pub lost: u64,
    /// Packets that arrived after their playout time and were dropped.
    pub late: u64,
    /// Packets received twice.
    pub duplicates: u64,
    /// Packets discarded: to shrink the delay, to bound memory, strays, or an old stream's rest.
    pub dropped: u64,
    /// Times the buffer restarted on a new stream.
    pub resyncs: u64,
    /// How long the last played frame waited beyond an on-time packet's arrival.
    pub current_delay: Duration,
    /// The delay the buffer is adapting towards.
    pub target_delay: Duration,
}

#[derive(Debug)]
struct Buffered {
    timestamp: i64,
    payload: Vec<u8>,
}

/// The newest packet seen: reference for unwrapping 16-bit sequences and 32-bit timestamps.
#[derive(Clone, Copy, Debug)]
struct Highest {
    sequence: u16,
    extended_sequence: i64,
    timestamp: u32,
    extended_timestamp: i64,
}

/// A packet that jumped far from the stream, held until the next one shows whether a new stream
/// started.
#[derive(Debug)]
struct Probation {
    sequence: u16,
    timestamp: u32,
    payload: Vec<u8>,
}

/// Reorders and times one RTP stream's frames for a 20 ms playout clock.
#[derive(Debug)]
pub struct JitterBuffer {
    config: JitterConfig,
    clock_rate: f64,
    frame_secs: f64,
    capacity: usize,
    packets: BTreeMap<i64, Buffered>,
    highest: Option<Highest>,
    next: Option<i64>,
    played_history: u64,
    epoch: Option<Instant>,
    baseline: Option<f64>,
    last_arrival: f64,
    peak_lateness: f64,
    probation: Option<Probation>,
    stats: JitterStats,
}

impl JitterBuffer {
    /// An empty buffer.
    pub fn new(config: JitterConfig) -> Self {
        let frame_secs = config.frame_duration.as_secs_f64().max(0.001);
        let step = f64::from(config.timestamp_step.max(1));
        let max_frames = (config.max_delay.as_secs_f64() / frame_secs).ceil() as usize;
        let mut buffer = JitterBuffer {
            config,
            clock_rate: step / frame_secs,
            frame_secs,
            // Twice the largest delay, so a burst after a stall fits before anything is dropped.
            capacity: max_frames.saturating_mul(2).saturating_add(8),
            packets: BTreeMap::new(),
            highest: None,
            next: None,
            played_history: 0,
            epoch: None,
            baseline: None,
            last_arrival: 0.0,
            peak_lateness: 0.0,
            probation: None,
            stats: JitterStats::default(),
        };
        buffer.stats.target_delay = buffer.target_delay();
        buffer
    }

    /// Takes in one packet's payload as it arrives from the network.
    pub fn push(&mut self, now: Instant, sequence: u16, timestamp: u32, payload: &[u8]) {
        let arrival = self.seconds(now);
        if let Some(highest) = self.highest {
            let seq_jump = i64::from(sequence.wrapping_sub(highest.sequence) as i16);
            let ts_jump = i64::from(timestamp.wrapping_sub(highest.timestamp) as i32);
            let unexplained = (ts_jump - seq_jump * self.step()).abs() as f64 / self.clock_rate;
            if seq_jump.abs() > MAX_SEQUENCE_JUMP || unexplained > MAX_TIMESTAMP_JUMP_SECS {
                self.on_jump(arrival, sequence, timestamp, payload);
                return;
            }
        }
        if self.probation.take().is_some() {
            self.stats.dropped += 1;
        }
        self.accept(arrival, sequence, timestamp, payload.to_vec());
    }

    /// Call once per tick: the frame to play now, a loss to conceal, or nothing.
    pub fn pop(&mut self, now: Instant) -> Playout {
        let now = self.seconds(now);
        let Some(mut candidate) = self.next.or_else(|| self.packets.keys().next().copied()) else {
            return Playout::Empty;
        };
        let Some(mut due) = self.due(candidate) else {
            // The next frame has not arrived and nothing after it has: a stall. Hold position
            // so the frame still plays if it is only delayed.
            return Playout::Empty;
        };
        if now < due - self.frame_secs / 2.0 {
            return Playout::Empty;
        }
        if now > due + self.frame_secs && self.packets.contains_key(&(candidate + 1)) {
            // More delay than the target (a burst after a stall, or the target shrank): skip a
            // frame to catch up, at most one per tick so the ear hardly notices.
            if self.packets.remove(&candidate).is_some() {
                self.stats.dropped += 1;
            } else {
                self.stats.lost += 1;
            }
            self.advance(candidate, false);
            candidate += 1;
            due = self.due(candidate).unwrap_or(due);
        }
        let delay = (now - due + self.target_secs()).max(0.0);
        self.stats.current_delay = Duration::try_from_secs_f64(delay).unwrap_or(Duration::MAX);
        let playout = match self.packets.remove(&candidate) {
            Some(frame) => {
                self.stats.played += 1;
                Playout::Frame(frame.payload)
            }
            None => {
                self.stats.lost += 1;
                Playout::Lost
            }
        };
        self.advance(candidate, matches!(playout, Playout::Frame(_)));
        playout
    }

    /// Counters and delays so far.
    pub fn stats(&self) -> JitterStats {
        self.stats
    }

    /// The delay the buffer currently aims for.
    pub fn target_delay(&self) -> Duration {
        Duration::try_from_secs_f64(self.target_secs()).unwrap_or(self.config.max_delay)
    }

    /// Packets held right now.
    pub fn len(&self) -> usize {
        self.packets.len()
    }

    /// True when no packet is held.
    pub fn is_empty(&self) -> bool {
        self.packets.is_empty()
    }

    fn step(&self) -> i64 {
        i64::from(self.config.timestamp_step.max(1))
    }

    fn target_secs(&self) -> f64 {
        let wanted = self.peak_lateness + self.frame_secs;
        let min = self.config.min_delay.as_secs_f64();
        let max = self.config.max_delay.as_secs_f64().max(min);
        wanted.clamp(min, max)
    }

    /// Seconds since the first instant this buffer saw; time never runs backwards here.
    fn seconds(&mut self, now: Instant) -> f64 {
        let epoch = *self.epoch.get_or_insert(now);
        now.saturating_duration_since(epoch).as_secs_f64()
    }

    /// When the frame with this extended sequence number should play, judged from its own
    /// timestamp or, if it is missing, from the next packet held; `None` if nothing is held
    /// from there on.
    fn due(&self, sequence: i64) -> Option<f64> {
        let (&seq, packet) = self.packets.range(sequence..).next()?;
        let timestamp = packet.timestamp - (seq - sequence) * self.step();
        Some(timestamp as f64 / self.clock_rate + self.baseline.unwrap_or(0.0) + self.target_secs())
    }

    fn advance(&mut self, played_sequence: i64, played: bool) {
        self.next = Some(played_sequence + 1);
        self.played_history = (self.played_history << 1) | u64::from(played);
    }

    fn on_jump(&mut self, arrival: f64, sequence: u16, timestamp: u32, payload: &[u8]) {
        let held = self.probation.take();
        let held_was_some = held.is_some();
        let confirmed = held.filter(|p| {
            p.sequence.wrapping_add(1) == sequence
                && f64::from((timestamp.wrapping_sub(p.timestamp) as i32).unsigned_abs())
                    / self.clock_rate
                    < MAX_TIMESTAMP_JUMP_SECS
        });
        let Some(first) = confirmed else {
            // One stray packet, or the first of a new stream: the next packet will tell.
            if held_was_some {
                self.stats.dropped += 1;
            }
            self.probation = Some(Probation {
                sequence,
                timestamp,
                payload: payload.to_vec(),
            });
            return;
        };
        self.stats.resyncs += 1;
        self.stats.dropped += self.packets.len() as u64;
        self.packets.clear();
        self.highest = None;
        self.next = None;
        self.played_history = 0;
        self.baseline = None;
        self.accept(arrival, first.sequence, first.timestamp, first.payload);
        self.accept(arrival, sequence, timestamp, payload.to_vec());
    }

    fn accept(&mut self, arrival: f64, sequence: u16, timestamp: u32, payload: Vec<u8>) {
        let highest = *self.highest.get_or_insert(Highest {
            sequence,
            extended_sequence: i64::from(sequence),
            timestamp,
            extended_timestamp: i64::from(timestamp),
        });
        let ext_seq =
            highest.extended_sequence + i64::from(sequence.wrapping_sub(highest.sequence) as i16);
        let ext_ts = highest.extended_timestamp
            + i64::from(timestamp.wrapping_sub(highest.timestamp) as i32);
        if self.packets.contains_key(&ext_seq) {
            self.stats.duplicates += 1;
            return;
        }
        if let Some(next) = self.next
            && ext_seq < next
        {
            let age = next - 1 - ext_seq;
            if age < HISTORY && self.played_history & (1 << age) != 0 {
                self.stats.duplicates += 1;
            } else {
                // Its lateness is exactly what the target delay must learn to cover.
                self.measure(arrival, ext_ts);
                self.stats.late += 1;
            }
            return;
        }
        if ext_seq > highest.extended_sequence {
            self.highest = Some(Highest {
                sequence,
                extended_sequence: ext_seq,
                timestamp,
                extended_timestamp: ext_ts,
            });
        }
        self.stats.received += 1;
        self.measure(arrival, ext_ts);
        self.packets.insert(
            ext_seq,
            Buffered {
                timestamp: ext_ts,
                payload,
            },
        );
        while self.packets.len() > self.capacity {
            if let Some((oldest, _)) = self.packets.pop_first() {
                self.stats.dropped += 1;
                self.next = Some(self.next.map_or(oldest + 1, |n| n.max(oldest + 1)));
            }
        }
    }

    /// Updates baseline transit and peak lateness from one arrival.
    fn measure(&mut self, arrival: f64, ext_ts: i64) {
        let transit = arrival - ext_ts as f64 / self.clock_rate;
        let elapsed = (arrival - self.last_arrival).max(0.0);
        self.last_arrival = arrival;
        let baseline = match self.baseline {
            Some(b) => transit.min(b + BASELINE_DRIFT_PER_SEC * elapsed),
            None => transit,
        };
        self.baseline = Some(baseline);
        let lateness = transit - baseline;
        self.peak_lateness = lateness.max(self.peak_lateness - PEAK_DECAY_PER_SEC * elapsed);
        self.stats.target_delay = self.target_delay();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::Prng;

    /// One packet on the wire: when it arrives and what it carries.
    #[derive(Clone, Copy)]
    struct Arrival {
        at_ms: f64,
        sequence: u16,
        timestamp: u32,
    }

    /// What the playout clock saw on each tick: `Some(seq)` for a frame (payload = its sequence
    /// number), `None` for Lost; Empty ticks are counted separately.
    #[derive(Debug, Default)]
    struct Run {
        ticks: Vec<Tick>,
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Tick {
        Frame(u16),
        Lost,
        Empty,
    }

    impl Run {
        fn frames(&self) -> Vec<u16> {
            self.ticks
                .iter()
                .filter_map(|t| {
                    if let Tick::Frame(s) = t {
                        Some(*s)
                    } else {
                        None
                    }
                })
                .collect()
        }

        fn count(&self, which: Tick) -> usize {
            self.ticks.iter().filter(|&&t| t == which).count()
        }

        /// Ticks after the first frame, with Empty dropped: the audible stream.
        fn played(&self) -> Vec<Tick> {
            self.ticks
                .iter()
                .skip_while(|t| !matches!(t, Tick::Frame(_)))
                .filter(|t| **t != Tick::Empty)
                .copied()
                .collect()
        }
    }

    /// Runs arrivals and a 20 ms tick (phase 7 ms) through a buffer until `end_ms`.
    fn simulate(jb: &mut JitterBuffer, arrivals: &[Arrival], end_ms: f64) -> Run {
        let t0 = Instant::now();
        let at = |ms: f64| t0 + Duration::from_micros((ms * 1000.0) as u64);
        let mut arrivals = arrivals.to_vec();
        arrivals.sort_by(|a, b| a.at_ms.total_cmp(&b.at_ms));
        let mut pending = arrivals.iter().peekable();
        let mut run = Run::default();
        let mut tick = 7.0;
        while tick <= end_ms {
            while let Some(a) = pending.next_if(|a| a.at_ms <= tick) {
                jb.push(
                    at(a.at_ms),
                    a.sequence,
                    a.timestamp,
                    &a.sequence.to_be_bytes(),
                );
            }
            run.ticks.push(match jb.pop(at(tick)) {
                Playout::Frame(p) => Tick::Frame(u16::from_be_bytes([p[0], p[1]])),
                Playout::Lost => Tick::Lost,
                Playout::Empty => Tick::Empty,
            });
            tick += 20.0;
        }
        run
    }

    /// A steady stream: packet i sent at 20·i ms and delayed by `delay(i)` ms.
    fn stream(
        first_seq: u16,
        first_ts: u32,
        count: usize,
        delay: impl Fn(usize) -> f64,
    ) -> Vec<Arrival> {
        (0..count)
            .map(|i| Arrival {
                at_ms: 20.0 * i as f64 + delay(i),
                sequence: first_seq.wrapping_add(i as u16),
                timestamp: first_ts.wrapping_add(160 * i as u32),
            })
            .collect()
    }

    fn expected(first_seq: u16, count: usize) -> Vec<u16> {
        (0..count)
            .map(|i| first_seq.wrapping_add(i as u16))
            .collect()
    }

    #[test]
    fn in_order_packets_play_in_order_after_the_minimum_delay() {
        let mut jb = JitterBuffer::new(JitterConfig::default());
        let run = simulate(&mut jb, &stream(1000, 5000, 100, |_| 3.0), 2100.0);
        assert_eq!(run.frames(), expected(1000, 100));
        let lead_in = run.ticks.iter().take_while(|t| **t == Tick::Empty).count();
        assert!(
            (1..=3).contains(&lead_in),
            "about 40 ms before the first frame, got {lead_in} ticks"
        );
        let stats = jb.stats();
        assert_eq!(
            (stats.lost, stats.late, stats.duplicates, stats.played),
            (0, 0, 0, 100)
        );
        assert_eq!(stats.target_delay, Duration::from_millis(40));
        assert!(
            stats.current_delay <= Duration::from_millis(60),
            "{:?}",
            stats.current_delay
        );
    }

    #[test]
    fn reordered_packets_are_put_back_in_order() {
        let mut jb = JitterBuffer::new(JitterConfig::default());
        // Every odd packet overtakes its predecessor.
        let arrivals = stream(1, 0, 200, |i| if i % 2 == 0 { 15.0 } else { 0.0 });
        let run = simulate(&mut jb, &arrivals, 4200.0);
        assert_eq!(run.frames(), expected(1, 200));
        assert_eq!(run.count(Tick::Lost), 0);
        assert_eq!(jb.stats().late, 0);
    }

    #[test]
    fn missing_packets_become_lost_ticks_in_their_place() {
        let mut jb = JitterBuffer::new(JitterConfig::default());
        let arrivals: Vec<Arrival> = stream(1, 0, 50, |_| 0.0)
            .into_iter()
            .filter(|a| ![10, 20, 21].contains(&a.sequence))
            .collect();
        let run = simulate(&mut jb, &arrivals, 1200.0);
        let mut want: Vec<Tick> = (1..=50).map(Tick::Frame).collect();
        for lost in [10, 20, 21] {
            want[lost - 1] = Tick::Lost;
        }
        assert_eq!(run.played(), want);
        assert_eq!(jb.stats().lost, 3);
    }

    #[test]
    fn duplicates_play_once_and_are_counted() {
        let mut jb = JitterBuffer::new(JitterConfig::default());
        let mut arrivals = stream(1, 0, 60, |_| 0.0);
        let early_copies: Vec<Arrival> = arrivals
            .iter()
            .filter(|a| a.sequence % 5 == 0)
            .map(|a| Arrival {
                at_ms: a.at_ms + 5.0,
                ..*a
            })
            .collect();
        let late_copy = Arrival {
            at_ms: arrivals[3].at_ms + 400.0,
            ..arrivals[3]
        };
        arrivals.extend(early_copies);
        arrivals.push(late_copy);
        let run = simulate(&mut jb, &arrivals, 1400.0);
        assert_eq!(run.frames(), expected(1, 60));
        let stats = jb.stats();
        assert_eq!(
            stats.duplicates, 13,
            "12 copies while buffered, one after playing"
        );
        assert_eq!(
            stats.late, 0,
            "a copy of a played frame is a duplicate, not late"
        );
    }

    #[test]
    fn sequence_and_timestamp_wraparound_is_seamless() {
        let mut jb = JitterBuffer::new(JitterConfig::default());
        let arrivals = stream(65500, u32::MAX - 160 * 20, 100, |i| {
            if i % 3 == 0 { 12.0 } else { 0.0 }
        });
        let run = simulate(&mut jb, &arrivals, 2200.0);
        assert_eq!(run.frames(), expected(65500, 100));
        assert_eq!(run.count(Tick::Lost), 0);
        assert_eq!(jb.stats().resyncs, 0);
    }

    #[test]
    fn delay_grows_fast_with_jitter_and_shrinks_slowly_after() {
        let mut rng = Prng::new(11);
        let jitter: Vec<f64> = (0..500).map(|_| 80.0 * rng.next_f64()).collect();
        // 10 s with up to 80 ms of random delay, then 30 s of a calm network.
        let arrivals = stream(1, 0, 2000, |i| if i < 500 { jitter[i] } else { 0.0 });
        let mut jb = JitterBuffer::new(JitterConfig::default());
        let early = simulate(&mut jb, &arrivals[..50], 1000.0);
        let adapted = jb.stats();
        assert!(
            adapted.target_delay >= Duration::from_millis(70),
            "grew within a second: {:?}",
            adapted.target_delay
        );
        assert!(early.count(Tick::Lost) <= 5);

        let mut jb = JitterBuffer::new(JitterConfig::default());
        let t0 = Instant::now();
        let at = |ms: f64| t0 + Duration::from_micros((ms * 1000.0) as u64);
        let mut late_after_warmup = 0;
        let mut lost_after_warmup = 0;
        let mut next = 0;
        let mut frames = Vec::new();
        let mut target_at_10s = Duration::ZERO;
        let mut target_at_11s = Duration::ZERO;
        for tick in 0..2010 {
            let now = 7.0 + 20.0 * f64::from(tick);
            while next < arrivals.len() && arrivals[next].at_ms <= now {
                let a = arrivals[next];
                jb.push(
                    at(a.at_ms),
                    a.sequence,
                    a.timestamp,
                    &a.sequence.to_be_bytes(),
                );
                next += 1;
            }
            if tick == 100 {
                late_after_warmup = jb.stats().late;
                lost_after_warmup = jb.stats().lost;
            }
            if tick == 500 {
                target_at_10s = jb.stats().target_delay;
            }
            if tick == 550 {
                target_at_11s = jb.stats().target_delay;
            }
            match jb.pop(at(now)) {
                Playout::Frame(p) => frames.push(u16::from_be_bytes([p[0], p[1]])),
                Playout::Lost | Playout::Empty => {}
            }
        }
        let stats = jb.stats();
        assert_eq!(
            stats.late, late_after_warmup,
            "no late packets once adapted"
        );
        assert!(
            stats.lost - lost_after_warmup <= 2,
            "at most a frame skipped while shrinking"
        );
        assert!(
            target_at_10s >= Duration::from_millis(80),
            "held while the jitter lasted: {target_at_10s:?}"
        );
        assert!(
            target_at_11s >= target_at_10s - Duration::from_millis(15),
            "a calm second takes off little: {target_at_10s:?} → {target_at_11s:?}"
        );
        assert_eq!(
            stats.target_delay,
            Duration::from_millis(40),
            "back to the minimum after 30 calm seconds"
        );
        assert!(
            stats.current_delay <= Duration::from_millis(60),
            "{:?}",
            stats.current_delay
        );
        assert!(frames.windows(2).all(|w| w[1] > w[0]), "always in order");
        assert!(
            frames.len() >= 1990,
            "almost everything played: {}",
            frames.len()
        );
    }

    #[test]
    fn a_burst_after_a_network_stall_plays_everything_then_catches_up() {
        // 2 s fine, then 300 ms where nothing arrives (the packets queue up), then fine again.
        let arrivals = stream(1, 0, 1500, |i| {
            let sent = 20.0 * i as f64;
            if (2000.0..2300.0).contains(&sent) {
                2300.0 - sent
            } else {
                0.0
            }
        });
        let mut jb = JitterBuffer::new(JitterConfig::default());
        let run = simulate(&mut jb, &arrivals, 30_100.0);
        assert_eq!(run.frames().len() as u64 + jb.stats().dropped, 1500);
        assert_eq!(run.count(Tick::Lost), 0);
        assert_eq!(
            jb.stats().late,
            0,
            "the stall was waited out, not discarded"
        );
        assert!(run.frames().windows(2).all(|w| w[1] > w[0]));
        let stalls = run
            .ticks
            .iter()
            .skip(5)
            .filter(|t| **t == Tick::Empty)
            .count();
        assert!(
            (10..=20).contains(&stalls),
            "silence during the stall only: {stalls} ticks"
        );
        assert!(
            jb.stats().current_delay <= Duration::from_millis(60),
            "delay came back down"
        );
    }

    #[test]
    fn silence_suppression_gaps_play_as_gaps() {
        let mut arrivals = stream(1, 0, 50, |_| 0.0);
        // Talkspurt two starts 2 s later in time, sequence numbers continue.
        arrivals.extend(
            stream(51, 160 * 150, 50, |_| 0.0)
                .into_iter()
                .map(|a| Arrival {
                    at_ms: a.at_ms + 3000.0,
                    ..a
                }),
        );
        let mut jb = JitterBuffer::new(JitterConfig::default());
        let run = simulate(&mut jb, &arrivals, 5000.0);
        assert_eq!(run.frames(), expected(1, 100));
        assert_eq!(run.count(Tick::Lost), 0);
        assert_eq!(jb.stats().resyncs, 0);
        let first_b = run
            .ticks
            .iter()
            .position(|t| *t == Tick::Frame(51))
            .unwrap();
        assert!(
            (151..=155).contains(&first_b),
            "plays at its own time, tick {first_b}"
        );
    }

    #[test]
    fn a_new_stream_resyncs_and_a_stray_packet_does_not() {
        let mut arrivals = stream(100, 1000, 50, |_| 0.0);
        arrivals.push(Arrival {
            at_ms: 505.0,
            sequence: 40000,
            timestamp: 77,
        });
        arrivals.extend(
            stream(30000, 123_456_789, 50, |_| 0.0)
                .into_iter()
                .map(|a| Arrival {
                    at_ms: a.at_ms + 1000.0,
                    ..a
                }),
        );
        let mut jb = JitterBuffer::new(JitterConfig::default());
        let run = simulate(&mut jb, &arrivals, 2200.0);
        // The old stream's last frame was still waiting out its delay when the new one took over.
        let mut want = expected(100, 49);
        want.extend(expected(30000, 50));
        assert_eq!(run.frames(), want);
        let stats = jb.stats();
        assert_eq!(stats.resyncs, 1);
        assert_eq!(stats.lost, 0);
        assert_eq!(
            stats.dropped, 2,
            "the stray and the old stream's unplayed tail"
        );
        let first_b = run
            .ticks
            .iter()
            .position(|t| *t == Tick::Frame(30000))
            .unwrap();
        assert!(
            first_b <= 55,
            "new stream heard within ~100 ms: tick {first_b}"
        );
    }

    #[test]
    fn memory_stays_bounded_when_nobody_pops() {
        let mut jb = JitterBuffer::new(JitterConfig::default());
        let t0 = Instant::now();
        for i in 0..10_000u32 {
            jb.push(
                t0 + Duration::from_millis(u64::from(i) * 20),
                i as u16,
                i * 160,
                &[0; 160],
            );
        }
        assert!(jb.len() <= 38, "held {}", jb.len());
        assert!(jb.stats().dropped >= 9_900);
        // And it still plays the newest audio afterwards.
        assert!(matches!(
            jb.pop(t0 + Duration::from_secs(201)),
            Playout::Frame(_)
        ));
    }

    #[test]
    fn garbage_input_never_panics() {
        let mut rng = Prng::new(5);
        let mut jb = JitterBuffer::new(JitterConfig::default());
        let t0 = Instant::now();
        for i in 0..50_000u64 {
            let now = t0 + Duration::from_micros(i * 997 + rng.next_u64() % 50_000);
            let payload = vec![0; (rng.next_u32() % 200) as usize];
            jb.push(now, rng.next_u32() as u16, rng.next_u32(), &payload);
            if i % 3 == 0 {
                let _ = jb.pop(now);
            }
            assert!(jb.len() <= 38);
        }
    }
}
