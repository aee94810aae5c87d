//! RFC 4733 telephone events: the receiver turns event packets into key presses, the sender
//! turns key presses into the packet sequence peers expect.

use super::{InvalidDigit, event_code, event_digit};
use crate::codec::FRAME_MS;
use std::collections::VecDeque;
use std::time::Duration;

/// How many recent event timestamps the receiver remembers; late retransmissions of an older
/// event (three end packets each) must not count as a new press.
const REMEMBERED_EVENTS: usize = 8;

/// Reports each key press of an RFC 4733 stream exactly once.
#[derive(Debug, Default)]
pub struct Rfc4733Receiver {
    recent: VecDeque<u32>,
}

impl Rfc4733Receiver {
    /// A receiver that has seen no events.
    pub fn new() -> Self {
        Self::default()
    }

    /// Handles one telephone-event payload with its RTP timestamp. Returns the key the first
    /// time any packet of an event arrives (all packets of one event share the timestamp), so a
    /// lost start packet or repeated end packets still give exactly one press.
    pub fn handle(&mut self, timestamp: u32, payload: &[u8]) -> Option<char> {
        if payload.len() < 4 {
            return None;
        }
        let digit = event_digit(payload[0])?;
        if self.recent.contains(&timestamp) {
            return None;
        }
        if self.recent.len() == REMEMBERED_EVENTS {
            self.recent.pop_front();
        }
        self.recent.push_back(timestamp);
        Some(digit)
    }

    /// Forgets past events, for a new RTP stream whose timestamps may collide with the old one's.
    pub fn reset(&mut self) {
        self.recent.clear();
    }
}

/// One RFC 4733 packet for the current 20 ms tick, sent in place of that tick's audio.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct DtmfEventPacket {
    /// The 4-byte event payload (event, E/R/volume, duration).
    pub payload: [u8; 4],
    /// Set on the first packet of an event.
    pub marker: bool,
    /// Set on the end packets.
    pub end: bool,
    /// Timestamp units since the event started: the RTP timestamp of this packet is the media
    /// clock now minus this offset ([`crate::RtpSender::event`] does the subtraction).
    pub timestamp_offset: u32,
    /// The key this packet belongs to.
    pub digit: char,
}

/// Volume field: −10 dBm0 per tone, the level of a usual tone generator.
const EVENT_VOLUME: u8 = 10;
/// The end packet is sent three times (RFC 4733 section 2.5.1.4), each on its own tick.
const END_REPEATS: u32 = 3;
/// Ticks of audio between the last end packet and the next key, so receivers and in-band
/// gateways see a clear pause (with the two repeated ends: 100 ms from tone end to next tone).
const GAP_TICKS: u32 = 3;
/// Shortest tone the sender emits: receivers may ignore shorter ones.
const MIN_TONE: Duration = Duration::from_millis(40);

/// Turns queued key presses into RFC 4733 packets, one per 20 ms tick.
#[derive(Debug)]
pub struct Rfc4733Sender {
    step: u32,
    max_ticks: u32,
    queue: VecDeque<(char, u32)>,
    current: Option<Event>,
    gap_left: u32,
}

#[derive(Debug)]
struct Event {
    digit: char,
    code: u8,
    tone_ticks: u32,
    tick: u32,
}

impl Rfc4733Sender {
    /// A sender for a telephone-event stream with the given RTP clock (8000 as negotiated almost
    /// everywhere).
    pub fn new(clock_rate: u32) -> Self {
        let step = (clock_rate.saturating_mul(FRAME_MS) / 1000).max(1);
        Rfc4733Sender {
            step,
            // The duration field is 16 bits: keep one event within it.
            max_ticks: u32::from(u16::MAX) / step,
            queue: VecDeque::new(),
            current: None,
            gap_left: 0,
        }
    }

    /// Queues a key press of `duration` (at least 40 ms, at most what the 16-bit duration field
    /// holds); presses queued together are separated by a pause.
    pub fn start(&mut self, digit: char, duration: Duration) -> Result<(), InvalidDigit> {
        event_code(digit).ok_or(InvalidDigit(digit))?;
        let ticks = duration
            .max(MIN_TONE)
            .as_millis()
            .div_ceil(u128::from(FRAME_MS));
        let ticks = u32::try_from(ticks).unwrap_or(u32::MAX).min(self.max_ticks);
        self.queue.push_back((digit.to_ascii_uppercase(), ticks));
        Ok(())
    }

    /// True while key presses are queued or being sent (including the pause after one).
    pub fn is_busy(&self) -> bool {
        self.current.is_some() || self.gap_left > 0 || !self.queue.is_empty()
    }

    /// Call once per 20 ms tick: `Some` means send this packet instead of audio on this tick.
    pub fn next_event(&mut self) -> Option<DtmfEventPacket> {
        if self.current.is_none() {
            if self.gap_left > 0 {
                self.gap_left -= 1;
                return None;
            }
            let (digit, tone_ticks) = self.queue.pop_front()?;
            let code = event_code(digit)?;
            self.current = Some(Event {
                digit,
                code,
                tone_ticks,
                tick: 0,
            });
        }
        let event = self.current.as_mut()?;
        let tick = event.tick;
        let end = tick + 1 >= event.tone_ticks;
        let duration = self.step * (tick + 1).min(event.tone_ticks);
        let flags = if end { 0x80 } else { 0 } | EVENT_VOLUME;
        let duration = u16::try_from(duration).unwrap_or(u16::MAX).to_be_bytes();
        let packet = DtmfEventPacket {
            payload: [event.code, flags, duration[0], duration[1]],
            marker: tick == 0,
            end,
            timestamp_offset: self.step * tick,
            digit: event.digit,
        };
        event.tick += 1;
        if event.tick >= event.tone_ticks + END_REPEATS - 1 {
            self.current = None;
            self.gap_left = GAP_TICKS;
        }
        Some(packet)
    }
}

impl Default for Rfc4733Sender {
    /// A sender for the usual 8000 Hz telephone-event clock.
    fn default() -> Self {
        Self::new(8000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(code: u8, end: bool, duration: u16) -> [u8; 4] {
        let d = duration.to_be_bytes();
        [code, if end { 0x8A } else { 0x0A }, d[0], d[1]]
    }

    #[test]
    fn receiver_reports_each_press_once_despite_repeats() {
        let mut rx = Rfc4733Receiver::new();
        let mut got = Vec::new();
        for (ts, code) in [(1000u32, 1u8), (5000, 11), (9000, 1)] {
            for d in [160u16, 320, 480] {
                got.extend(rx.handle(ts, &payload(code, false, d)));
            }
            for _ in 0..3 {
                got.extend(rx.handle(ts, &payload(code, true, 640)));
            }
        }
        assert_eq!(got, ['1', '#', '1'], "the same key twice is two presses");
    }

    #[test]
    fn receiver_reports_when_start_packets_are_lost() {
        let mut rx = Rfc4733Receiver::new();
        assert_eq!(rx.handle(2000, &payload(15, true, 800)), Some('D'));
        assert_eq!(rx.handle(2000, &payload(15, true, 800)), None);
        assert_eq!(rx.handle(2000, &payload(15, true, 800)), None);
    }

    #[test]
    fn receiver_ignores_late_retransmissions_and_junk() {
        let mut rx = Rfc4733Receiver::new();
        assert_eq!(rx.handle(100, &payload(5, false, 160)), Some('5'));
        assert_eq!(rx.handle(900, &payload(6, false, 160)), Some('6'));
        assert_eq!(
            rx.handle(100, &payload(5, true, 800)),
            None,
            "late end of the first"
        );
        assert_eq!(
            rx.handle(1700, &payload(16, false, 160)),
            None,
            "flash is no key"
        );
        assert_eq!(rx.handle(1800, &[7, 0x0A]), None, "truncated payload");
        assert_eq!(rx.handle(1900, &[]), None);
        rx.reset();
        assert_eq!(
            rx.handle(100, &payload(5, false, 160)),
            Some('5'),
            "new stream"
        );
    }

    #[test]
    fn sender_emits_start_continuation_three_ends_and_a_gap() {
        let mut tx = Rfc4733Sender::new(8000);
        tx.start('9', Duration::from_millis(100)).unwrap();
        tx.start('#', Duration::from_millis(40)).unwrap();
        let mut ticks = Vec::new();
        for _ in 0..20 {
            ticks.push(tx.next_event());
        }
        assert!(!tx.is_busy());
        let first: Vec<DtmfEventPacket> = ticks[..7].iter().map(|t| t.unwrap()).collect();
        let durations: Vec<u16> = first
            .iter()
            .map(|p| u16::from_be_bytes([p.payload[2], p.payload[3]]))
            .collect();
        assert_eq!(durations, [160, 320, 480, 640, 800, 800, 800]);
        assert!(first.iter().all(|p| p.payload[0] == 9 && p.digit == '9'));
        let markers: Vec<bool> = first.iter().map(|p| p.marker).collect();
        assert_eq!(markers, [true, false, false, false, false, false, false]);
        let ends: Vec<bool> = first.iter().map(|p| p.end).collect();
        assert_eq!(ends, [false, false, false, false, true, true, true]);
        assert!(first.iter().all(|p| (p.payload[1] & 0x80 != 0) == p.end));
        let offsets: Vec<u32> = first.iter().map(|p| p.timestamp_offset).collect();
        assert_eq!(offsets, [0, 160, 320, 480, 640, 800, 960]);
        assert!(
            ticks[7..10].iter().all(Option::is_none),
            "pause between keys"
        );
        let second: Vec<DtmfEventPacket> = ticks[10..14].iter().map(|t| t.unwrap()).collect();
        assert!(second[0].marker && second.iter().all(|p| p.payload[0] == 11));
        assert_eq!(second.iter().filter(|p| p.end).count(), 3);
        assert!(ticks[14..].iter().all(Option::is_none));
    }

    #[test]
    fn sender_rejects_non_keys_and_bounds_duration() {
        let mut tx = Rfc4733Sender::default();
        assert_eq!(
            tx.start('x', Duration::from_millis(100)),
            Err(InvalidDigit('x'))
        );
        assert!(!tx.is_busy());
        tx.start('a', Duration::from_millis(1)).unwrap();
        let mut packets = Vec::new();
        while tx.is_busy() {
            packets.extend(tx.next_event());
        }
        assert_eq!(
            packets.len(),
            4,
            "raised to the 40 ms minimum: two tone ticks and two repeats"
        );
        assert_eq!(packets[0].payload[0], 12);
        tx.start('1', Duration::from_secs(3600)).unwrap();
        let mut last = None;
        while tx.is_busy() {
            last = tx.next_event().or(last);
        }
        let last = last.unwrap();
        let duration = u16::from_be_bytes([last.payload[2], last.payload[3]]);
        assert!(
            duration > 65_000,
            "clamped near the 16-bit limit, got {duration}"
        );
    }

    #[test]
    fn sender_packets_feed_the_receiver_as_one_press_each() {
        let mut tx = Rfc4733Sender::new(8000);
        let mut rx = Rfc4733Receiver::new();
        for key in "147*#D".chars() {
            tx.start(key, Duration::from_millis(80)).unwrap();
        }
        let mut clock = 0u32;
        let mut got = String::new();
        for _ in 0..200 {
            if let Some(p) = tx.next_event() {
                got.extend(rx.handle(clock.wrapping_sub(p.timestamp_offset), &p.payload));
            }
            clock += 160;
        }
        assert_eq!(got, "147*#D");
    }
}
