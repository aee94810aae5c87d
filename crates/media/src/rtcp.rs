//! RTCP (RFC 3550 section 6): reception statistics for one incoming stream (appendix A.1, A.3,
//! A.8), compound sender/receiver reports with SDES CNAME, and parsing of the reports a peer
//! sends us.

use std::time::{Duration, Instant};

const RTCP_SR: u8 = 200;
const RTCP_RR: u8 = 201;
const RTCP_SDES: u8 = 202;
const RTCP_BYE: u8 = 203;
const SDES_CNAME: u8 = 1;
const REPORT_BLOCK_LEN: usize = 24;
const SENDER_INFO_LEN: usize = 20;
/// The report count field has 5 bits.
const MAX_REPORT_BLOCKS: usize = 31;
/// A.1: a forward jump below this is a gap, not a restart.
const MAX_DROPOUT: u16 = 3000;
/// A.1: a backward jump below this is reordering, not a restart.
const MAX_MISORDER: u16 = 100;
/// Seconds from the NTP epoch (1900) to the Unix epoch (1970).
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// Sender's half of an SR: what was sent by when.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SenderInfo {
    /// Wall-clock time of the report, 64-bit NTP format.
    pub ntp_timestamp: u64,
    /// The RTP timestamp corresponding to the same instant.
    pub rtp_timestamp: u32,
    /// Packets sent since the stream started.
    pub packet_count: u32,
    /// Payload octets sent since the stream started.
    pub octet_count: u32,
}

/// One source's reception report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReportBlock {
    /// The source reported on.
    pub ssrc: u32,
    /// Share of packets lost since the previous report, in 1/256.
    pub fraction_lost: u8,
    /// Packets lost since the start (24-bit signed: duplicates can make it negative).
    pub cumulative_lost: i32,
    /// Cycles (high 16 bits) and highest sequence number received.
    pub extended_highest_sequence: u32,
    /// Interarrival jitter in RTP timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the NTP time of the last SR from that source (0: none yet).
    pub last_sr: u32,
    /// Time since that SR, in 1/65536 s (0: none yet).
    pub delay_since_last_sr: u32,
}

/// A report found in a peer's compound RTCP packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RtcpReport {
    /// An SR: the peer sends media.
    Sender {
        /// The peer's SSRC.
        ssrc: u32,
        /// What it sent.
        info: SenderInfo,
        /// What it received.
        blocks: Vec<ReportBlock>,
    },
    /// An RR: the peer only receives.
    Receiver {
        /// The peer's SSRC.
        ssrc: u32,
        /// What it received.
        blocks: Vec<ReportBlock>,
    },
    /// A BYE: these sources left.
    Goodbye {
        /// The sources that left.
        ssrcs: Vec<u32>,
    },
}

/// Why a datagram is not usable RTCP.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RtcpError {
    /// Shorter than one RTCP header.
    #[error("RTCP packet too short: {0} bytes")]
    TooShort(usize),
    /// Version field other than 2.
    #[error("RTCP version {0}, expected 2")]
    BadVersion(u8),
    /// A length field that runs past the datagram or cannot hold its report blocks.
    #[error("RTCP packet type {packet_type} claims {claimed} bytes, {available} available")]
    BadLength {
        /// RTCP packet type.
        packet_type: u8,
        /// Bytes the header or report count needs.
        claimed: usize,
        /// Bytes there are.
        available: usize,
    },
    /// A padding count of zero or larger than the packet.
    #[error("RTCP padding does not fit the packet")]
    BadPadding,
}

/// Converts wall-clock time (as a duration since the Unix epoch, which the caller reads) to the
/// 64-bit NTP timestamp format.
pub fn ntp_timestamp(since_unix_epoch: Duration) -> u64 {
    let seconds = since_unix_epoch.as_secs() + NTP_UNIX_OFFSET;
    let fraction = (u64::from(since_unix_epoch.subsec_nanos()) << 32) / 1_000_000_000;
    (seconds << 32) | fraction
}

/// Reception statistics of one incoming RTP stream, from which report blocks are made.
#[derive(Debug, Default)]
pub struct ReceptionStats {
    started: bool,
    base_seq: u32,
    max_seq: u16,
    cycles: u32,
    bad_seq: Option<u16>,
    received: u32,
    expected_prior: u32,
    received_prior: u32,
    last_transit: Option<u32>,
    /// Jitter scaled by 16, the RFC's fixed-point form (wide enough for any input).
    jitter_q4: u64,
    last_sr: Option<(u32, Instant)>,
}

impl ReceptionStats {
    /// Statistics for a stream not heard yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one packet. `arrival_in_rtp_units` is the arrival time on any clock ticking at the
    /// stream's RTP rate (only differences matter).
    pub fn on_packet(&mut self, seq: u16, rtp_timestamp: u32, arrival_in_rtp_units: u32) {
        if !self.update_sequence(seq) {
            return;
        }
        // A.8: transit differences give jitter; wrapping arithmetic copes with clock wrap.
        let transit = arrival_in_rtp_units.wrapping_sub(rtp_timestamp);
        if let Some(last) = self.last_transit {
            let d = u64::from((transit.wrapping_sub(last) as i32).unsigned_abs());
            self.jitter_q4 = self.jitter_q4 + d - ((self.jitter_q4 + 8) >> 4);
        }
        self.last_transit = Some(transit);
    }

    /// Remembers the peer's last SR so our reports can echo it (round-trip time for the peer).
    pub fn on_sender_report(&mut self, ntp_timestamp: u64, now: Instant) {
        self.last_sr = Some(((ntp_timestamp >> 16) as u32, now));
    }

    /// Highest sequence number seen, with wrap cycles in the high 16 bits.
    pub fn extended_highest_sequence(&self) -> u32 {
        self.cycles.wrapping_add(u32::from(self.max_seq))
    }

    /// Packets expected from the first to the highest sequence number.
    pub fn expected(&self) -> u32 {
        if !self.started {
            return 0;
        }
        self.extended_highest_sequence()
            .wrapping_sub(self.base_seq)
            .wrapping_add(1)
    }

    /// Packets counted (duplicates included, as RFC 3550 does).
    pub fn received(&self) -> u32 {
        self.received
    }

    /// Expected minus received since the start, clamped to the report's 24-bit signed field.
    pub fn cumulative_lost(&self) -> i32 {
        (i64::from(self.expected()) - i64::from(self.received)).clamp(-0x80_0000, 0x7F_FFFF) as i32
    }

    /// Interarrival jitter in RTP timestamp units.
    pub fn jitter(&self) -> u32 {
        u32::try_from(self.jitter_q4 >> 4).unwrap_or(u32::MAX)
    }

    /// A report block for `ssrc` (A.3); starts a new interval for the fraction lost.
    pub fn report_block(&mut self, ssrc: u32, now: Instant) -> ReportBlock {
        let expected = self.expected();
        let expected_interval = expected.wrapping_sub(self.expected_prior);
        let received_interval = self.received.wrapping_sub(self.received_prior);
        self.expected_prior = expected;
        self.received_prior = self.received;
        let lost_interval = i64::from(expected_interval) - i64::from(received_interval);
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / i64::from(expected_interval)).min(255) as u8
        };
        let (last_sr, delay_since_last_sr) = match self.last_sr {
            Some((lsr, at)) => {
                let delay = now.saturating_duration_since(at);
                let units = (delay.as_secs_f64() * 65536.0).min(f64::from(u32::MAX));
                (lsr, units as u32)
            }
            None => (0, 0),
        };
        ReportBlock {
            ssrc,
            fraction_lost,
            cumulative_lost: self.cumulative_lost(),
            extended_highest_sequence: self.extended_highest_sequence(),
            jitter: self.jitter(),
            last_sr,
            delay_since_last_sr,
        }
    }

    /// A.1 sequence tracking; false for a packet that is not counted (a jump waiting for
    /// confirmation).
    fn update_sequence(&mut self, seq: u16) -> bool {
        if !self.started {
            self.restart(seq);
            self.received = 1;
            return true;
        }
        let delta = seq.wrapping_sub(self.max_seq);
        if delta < MAX_DROPOUT {
            if seq < self.max_seq {
                self.cycles = self.cycles.wrapping_add(1 << 16);
            }
            self.max_seq = seq;
        } else if delta <= u16::MAX - MAX_MISORDER {
            // A big jump: the source restarted if the next packet follows on from it.
            if self.bad_seq == Some(seq) {
                self.restart(seq);
            } else {
                self.bad_seq = Some(seq.wrapping_add(1));
                return false;
            }
        }
        self.received = self.received.wrapping_add(1);
        true
    }

    fn restart(&mut self, seq: u16) {
        *self = ReceptionStats {
            started: true,
            base_seq: u32::from(seq),
            max_seq: seq,
            last_sr: self.last_sr,
            ..ReceptionStats::default()
        };
    }
}

/// Appends a compound RTCP packet: SR (with up to 31 report blocks) then SDES CNAME.
pub fn build_sender_report(
    ssrc: u32,
    info: &SenderInfo,
    blocks: &[ReportBlock],
    cname: &str,
    out: &mut Vec<u8>,
) {
    let blocks = &blocks[..blocks.len().min(MAX_REPORT_BLOCKS)];
    let start = begin_packet(RTCP_SR, blocks.len() as u8, out);
    out.extend_from_slice(&ssrc.to_be_bytes());
    out.extend_from_slice(&info.ntp_timestamp.to_be_bytes());
    out.extend_from_slice(&info.rtp_timestamp.to_be_bytes());
    out.extend_from_slice(&info.packet_count.to_be_bytes());
    out.extend_from_slice(&info.octet_count.to_be_bytes());
    blocks.iter().for_each(|b| write_block(b, out));
    finish_packet(start, out);
    write_cname(ssrc, cname, out);
}

/// Appends a compound RTCP packet: RR (with up to 31 report blocks) then SDES CNAME.
pub fn build_receiver_report(ssrc: u32, blocks: &[ReportBlock], cname: &str, out: &mut Vec<u8>) {
    let blocks = &blocks[..blocks.len().min(MAX_REPORT_BLOCKS)];
    let start = begin_packet(RTCP_RR, blocks.len() as u8, out);
    out.extend_from_slice(&ssrc.to_be_bytes());
    blocks.iter().for_each(|b| write_block(b, out));
    finish_packet(start, out);
    write_cname(ssrc, cname, out);
}

fn begin_packet(packet_type: u8, count: u8, out: &mut Vec<u8>) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0x80 | (count & 0x1F), packet_type, 0, 0]);
    start
}

/// Fills in the length field: 32-bit words after the first.
fn finish_packet(start: usize, out: &mut [u8]) {
    let words = ((out.len() - start) / 4 - 1) as u16;
    out[start + 2..start + 4].copy_from_slice(&words.to_be_bytes());
}

fn write_block(block: &ReportBlock, out: &mut Vec<u8>) {
    out.extend_from_slice(&block.ssrc.to_be_bytes());
    let lost = (block.cumulative_lost.clamp(-0x80_0000, 0x7F_FFFF) as u32) & 0x00FF_FFFF;
    out.extend_from_slice(&((u32::from(block.fraction_lost) << 24) | lost).to_be_bytes());
    out.extend_from_slice(&block.extended_highest_sequence.to_be_bytes());
    out.extend_from_slice(&block.jitter.to_be_bytes());
    out.extend_from_slice(&block.last_sr.to_be_bytes());
    out.extend_from_slice(&block.delay_since_last_sr.to_be_bytes());
}

fn write_cname(ssrc: u32, cname: &str, out: &mut Vec<u8>) {
    // An item holds at most 255 bytes; cut on a character boundary.
    let mut len = cname.len().min(255);
    while !cname.is_char_boundary(len) {
        len -= 1;
    }
    let start = begin_packet(RTCP_SDES, 1, out);
    out.extend_from_slice(&ssrc.to_be_bytes());
    out.extend_from_slice(&[SDES_CNAME, len as u8]);
    out.extend_from_slice(&cname.as_bytes()[..len]);
    // The item list ends with a zero byte, then zeros up to the next 32-bit boundary.
    out.push(0);
    while !(out.len() - start).is_multiple_of(4) {
        out.push(0);
    }
    finish_packet(start, out);
}

/// Parses a compound RTCP datagram into its SR, RR and BYE reports (other packet types are
/// skipped); never panics, whatever the bytes.
pub fn parse_rtcp(buf: &[u8]) -> Result<Vec<RtcpReport>, RtcpError> {
    if buf.len() < 4 {
        return Err(RtcpError::TooShort(buf.len()));
    }
    let mut reports = Vec::new();
    let mut rest = buf;
    while !rest.is_empty() {
        if rest.len() < 4 {
            return Err(RtcpError::TooShort(rest.len()));
        }
        let version = rest[0] >> 6;
        if version != 2 {
            return Err(RtcpError::BadVersion(version));
        }
        let count = usize::from(rest[0] & 0x1F);
        let packet_type = rest[1];
        let len = (usize::from(u16::from_be_bytes([rest[2], rest[3]])) + 1) * 4;
        if len > rest.len() {
            return Err(RtcpError::BadLength {
                packet_type,
                claimed: len,
                available: rest.len(),
            });
        }
        let (packet, next) = rest.split_at(len);
        rest = next;
        let mut body = &packet[4..];
        if packet[0] & 0x20 != 0 {
            let padding = usize::from(packet[len - 1]);
            if padding == 0 || padding > body.len() {
                return Err(RtcpError::BadPadding);
            }
            body = &body[..body.len() - padding];
        }
        let bad_length = |claimed| RtcpError::BadLength {
            packet_type,
            claimed: claimed + 4,
            available: body.len() + 4,
        };
        match packet_type {
            RTCP_SR => {
                let needed = 4 + SENDER_INFO_LEN + count * REPORT_BLOCK_LEN;
                if body.len() < needed {
                    return Err(bad_length(needed));
                }
                let info = SenderInfo {
                    ntp_timestamp: u64::from_be_bytes(array(&body[4..12])),
                    rtp_timestamp: be32(&body[12..]),
                    packet_count: be32(&body[16..]),
                    octet_count: be32(&body[20..]),
                };
                reports.push(RtcpReport::Sender {
                    ssrc: be32(body),
                    info,
                    blocks: parse_blocks(&body[4 + SENDER_INFO_LEN..], count),
                });
            }
            RTCP_RR => {
                let needed = 4 + count * REPORT_BLOCK_LEN;
                if body.len() < needed {
                    return Err(bad_length(needed));
                }
                reports.push(RtcpReport::Receiver {
                    ssrc: be32(body),
                    blocks: parse_blocks(&body[4..], count),
                });
            }
            RTCP_BYE => {
                let needed = count * 4;
                if body.len() < needed {
                    return Err(bad_length(needed));
                }
                let ssrcs = body[..needed].chunks_exact(4).map(be32).collect();
                reports.push(RtcpReport::Goodbye { ssrcs });
            }
            _ => {}
        }
    }
    Ok(reports)
}

fn parse_blocks(body: &[u8], count: usize) -> Vec<ReportBlock> {
    body.chunks_exact(REPORT_BLOCK_LEN)
        .take(count)
        .map(|b| {
            // Sign-extend the 24-bit cumulative loss.
            let cumulative_lost = ((be32(&b[4..]) << 8) as i32) >> 8;
            ReportBlock {
                ssrc: be32(b),
                fraction_lost: b[4],
                cumulative_lost,
                extended_highest_sequence: be32(&b[8..]),
                jitter: be32(&b[12..]),
                last_sr: be32(&b[16..]),
                delay_since_last_sr: be32(&b[20..]),
            }
        })
        .collect()
}

/// Callers have checked the length; a short slice reads as zeros rather than panicking.
fn array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0; N];
    let n = bytes.len().min(N);
    out[..n].copy_from_slice(&bytes[..n]);
    out
}

fn be32(bytes: &[u8]) -> u32 {
    u32::from_be_bytes(array(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::is_rtcp;
    use crate::test_util::Prng;

    #[test]
    fn counts_loss_cycles_and_fraction_per_interval() {
        let mut stats = ReceptionStats::new();
        let t0 = Instant::now();
        // 65530..=65535 then 0..=9 with 3 and 4 missing: wraps once.
        let mut seq = 65530u16;
        for i in 0..16u32 {
            if seq != 3 && seq != 4 {
                stats.on_packet(seq, i * 160, i * 160);
            }
            seq = seq.wrapping_add(1);
        }
        assert_eq!(stats.extended_highest_sequence(), 65536 + 9);
        assert_eq!(stats.expected(), 16);
        assert_eq!(stats.received(), 14);
        assert_eq!(stats.cumulative_lost(), 2);
        let block = stats.report_block(99, t0);
        assert_eq!(block.fraction_lost, (2 * 256 / 16) as u8);
        assert_eq!(block.cumulative_lost, 2);
        assert_eq!(block.extended_highest_sequence, 65545);
        for s in 10..20u16 {
            stats.on_packet(s, 0, 0);
        }
        let block = stats.report_block(99, t0);
        assert_eq!(block.fraction_lost, 0, "no loss in the second interval");
        assert_eq!(block.cumulative_lost, 2);
    }

    #[test]
    fn reordering_and_duplicates_follow_rfc_3550() {
        let mut stats = ReceptionStats::new();
        for seq in [1u16, 3, 2, 4, 4] {
            stats.on_packet(seq, 0, 0);
        }
        assert_eq!(stats.extended_highest_sequence(), 4);
        assert_eq!(stats.expected(), 4);
        assert_eq!(
            stats.cumulative_lost(),
            -1,
            "a duplicate counts as received"
        );
        assert_eq!(stats.report_block(1, Instant::now()).fraction_lost, 0);
    }

    #[test]
    fn a_restarted_source_is_followed_after_two_packets() {
        let mut stats = ReceptionStats::new();
        for seq in 100..110u16 {
            stats.on_packet(seq, 0, 0);
        }
        stats.on_packet(40_000, 0, 0);
        assert_eq!(
            stats.extended_highest_sequence(),
            109,
            "one stray packet is ignored"
        );
        stats.on_packet(40_001, 0, 0);
        assert_eq!(stats.extended_highest_sequence(), 40_001);
        assert_eq!(stats.expected(), 1);
        assert_eq!(stats.received(), 1);
    }

    #[test]
    fn jitter_follows_the_rfc_estimator() {
        // Constant transit: no jitter.
        let mut steady = ReceptionStats::new();
        for i in 0..100u32 {
            steady.on_packet(i as u16, i * 160, 1000 + i * 160);
        }
        assert_eq!(steady.jitter(), 0);
        // Transit alternating by 80 units: |D| = 80 each time, J converges to 80.
        let mut alternating = ReceptionStats::new();
        for i in 0..500u32 {
            let extra = if i % 2 == 0 { 0 } else { 80 };
            alternating.on_packet(i as u16, i * 160, 1000 + i * 160 + extra);
        }
        assert!(
            (78..=80).contains(&alternating.jitter()),
            "{}",
            alternating.jitter()
        );
        // One step of the estimator by hand: J = 0 + (|D| − 0)/16 with D = 160.
        let mut one = ReceptionStats::new();
        one.on_packet(0, 0, 0);
        one.on_packet(1, 160, 320);
        assert_eq!(one.jitter(), 10);
    }

    #[test]
    fn report_block_echoes_the_last_sender_report() {
        let mut stats = ReceptionStats::new();
        stats.on_packet(1, 0, 0);
        let t0 = Instant::now();
        stats.on_sender_report(0x1122_3344_5566_7788, t0);
        let block = stats.report_block(5, t0 + Duration::from_millis(1500));
        assert_eq!(block.last_sr, 0x3344_5566);
        assert_eq!(block.delay_since_last_sr, 98_304, "1.5 s in 1/65536 s");
    }

    #[test]
    fn ntp_time_from_unix_time() {
        let ntp = ntp_timestamp(Duration::new(1, 500_000_000));
        assert_eq!(ntp >> 32, NTP_UNIX_OFFSET + 1);
        assert_eq!(ntp & 0xFFFF_FFFF, 1 << 31);
    }

    fn sample_block(ssrc: u32) -> ReportBlock {
        ReportBlock {
            ssrc,
            fraction_lost: 25,
            cumulative_lost: -3,
            extended_highest_sequence: 0x0001_0005,
            jitter: 42,
            last_sr: 0xABCD_EF01,
            delay_since_last_sr: 65536,
        }
    }

    #[test]
    fn sender_report_round_trips_as_a_compound_packet() {
        let info = SenderInfo {
            ntp_timestamp: 0xE000_0000_8000_0000,
            rtp_timestamp: 123_456,
            packet_count: 50,
            octet_count: 8000,
        };
        let mut buf = Vec::new();
        build_sender_report(
            0xCAFE,
            &info,
            &[sample_block(7), sample_block(8)],
            "switchboard@host",
            &mut buf,
        );
        assert_eq!(buf.len() % 4, 0);
        assert!(is_rtcp(&buf));
        let sdes = &buf[28 + 2 * 24..];
        assert_eq!(&sdes[..2], &[0x81, 202]);
        assert_eq!(&sdes[8..10], &[1, 16]);
        assert_eq!(&sdes[10..26], b"switchboard@host");
        let reports = parse_rtcp(&buf).unwrap();
        assert_eq!(
            reports,
            [RtcpReport::Sender {
                ssrc: 0xCAFE,
                info,
                blocks: vec![sample_block(7), sample_block(8)]
            }]
        );
    }

    #[test]
    fn receiver_report_round_trips_and_bye_is_reported() {
        let mut buf = Vec::new();
        build_receiver_report(9, &[sample_block(1)], "a", &mut buf);
        buf.extend_from_slice(&[0x81, 203, 0, 1, 0, 0, 0, 9]);
        let reports = parse_rtcp(&buf).unwrap();
        assert_eq!(
            reports,
            [
                RtcpReport::Receiver {
                    ssrc: 9,
                    blocks: vec![sample_block(1)]
                },
                RtcpReport::Goodbye { ssrcs: vec![9] }
            ]
        );
        let mut empty = Vec::new();
        build_receiver_report(9, &[], &"x".repeat(300), &mut empty);
        let sdes_len = (usize::from(u16::from_be_bytes([empty[10], empty[11]])) + 1) * 4;
        assert_eq!(
            8 + sdes_len,
            empty.len(),
            "CNAME cut to 255 bytes, lengths consistent"
        );
        assert_eq!(
            parse_rtcp(&empty).unwrap(),
            [RtcpReport::Receiver {
                ssrc: 9,
                blocks: vec![]
            }]
        );
    }

    #[test]
    fn parse_rejects_malformed_packets() {
        assert_eq!(parse_rtcp(&[0x80, 201]), Err(RtcpError::TooShort(2)));
        assert_eq!(
            parse_rtcp(&[0x40, 201, 0, 1, 0, 0, 0, 0]),
            Err(RtcpError::BadVersion(1))
        );
        assert!(matches!(
            parse_rtcp(&[0x80, 201, 0, 9, 0, 0, 0, 0]),
            Err(RtcpError::BadLength { .. })
        ));
        // RR claiming two blocks with room for none.
        assert!(matches!(
            parse_rtcp(&[0x82, 201, 0, 1, 0, 0, 0, 0]),
            Err(RtcpError::BadLength { .. })
        ));
        assert_eq!(
            parse_rtcp(&[0xA0, 201, 0, 1, 0, 0, 0, 0]),
            Err(RtcpError::BadPadding)
        );
    }

    #[test]
    fn statistics_survive_any_packet_stream() {
        let mut rng = Prng::new(23);
        let mut stats = ReceptionStats::new();
        let t0 = Instant::now();
        for i in 0..100_000u64 {
            stats.on_packet(rng.next_u32() as u16, rng.next_u32(), rng.next_u32());
            if i % 1000 == 0 {
                stats.on_sender_report(rng.next_u64(), t0);
                let block = stats.report_block(1, t0 + Duration::from_secs(i));
                assert!((-0x80_0000..=0x7F_FFFF).contains(&block.cumulative_lost));
            }
        }
    }

    #[test]
    fn parse_never_panics_on_garbage() {
        let mut rng = Prng::new(17);
        let mut good = Vec::new();
        build_sender_report(
            1,
            &SenderInfo::default(),
            &[sample_block(2)],
            "cname",
            &mut good,
        );
        for len in 0..good.len() {
            let _ = parse_rtcp(&good[..len]);
        }
        let mut parsed = 0;
        for _ in 0..20_000 {
            let len = (rng.next_u32() % 120) as usize;
            let mut buf: Vec<u8> = (0..len).map(|_| rng.next_u32() as u8).collect();
            if len >= 4 {
                buf[0] = 0x80 | (buf[0] & 0x3F);
                buf[1] = 200 + (buf[1] % 5);
                let words = (len / 4 - 1) as u16;
                buf[2..4].copy_from_slice(&words.to_be_bytes());
            }
            if parse_rtcp(&buf).is_ok() {
                parsed += 1;
            }
        }
        assert!(
            parsed > 100,
            "the generator reaches the success path too: {parsed}"
        );
    }
}
