//! RTP packets (RFC 3550 section 5): parsing untrusted datagrams, writing our own, and the
//! per-stream sender state (SSRC, sequence, timestamp, counters for RTCP).

use crate::dtmf::DtmfEventPacket;
use crate::rtcp::SenderInfo;

/// Size of the fixed RTP header.
pub const RTP_HEADER_LEN: usize = 12;

/// The fields of an RTP header the media path uses.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct RtpHeader {
    /// Payload type (7 bits).
    pub payload_type: u8,
    /// Marker bit: start of a talkspurt for audio, start of an event for RFC 4733.
    pub marker: bool,
    /// Sequence number.
    pub sequence: u16,
    /// Media timestamp in the payload's clock.
    pub timestamp: u32,
    /// Synchronisation source.
    pub ssrc: u32,
}

/// A parsed RTP packet borrowing its payload from the datagram.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct RtpPacket<'a> {
    /// The header fields.
    pub header: RtpHeader,
    /// Payload with CSRCs, header extension and padding removed.
    pub payload: &'a [u8],
}

/// Why a datagram is not a usable RTP packet.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RtpError {
    /// Shorter than the fixed header, the CSRC list or the header extension says.
    #[error("RTP packet truncated: {len} bytes, header needs {needed}")]
    Truncated {
        /// Bytes received.
        len: usize,
        /// Bytes the header claims.
        needed: usize,
    },
    /// Version field other than 2.
    #[error("RTP version {0}, expected 2")]
    BadVersion(u8),
    /// Padding count of zero or larger than the payload.
    #[error("RTP padding of {padding} bytes does not fit a {available}-byte payload")]
    BadPadding {
        /// Padding count from the last byte.
        padding: usize,
        /// Bytes after the header.
        available: usize,
    },
}

/// Parses an RTP datagram; never panics, whatever the bytes.
pub fn parse_rtp(buf: &[u8]) -> Result<RtpPacket<'_>, RtpError> {
    if buf.len() < RTP_HEADER_LEN {
        return Err(RtpError::Truncated {
            len: buf.len(),
            needed: RTP_HEADER_LEN,
        });
    }
    let version = buf[0] >> 6;
    if version != 2 {
        return Err(RtpError::BadVersion(version));
    }
    let has_padding = buf[0] & 0x20 != 0;
    let has_extension = buf[0] & 0x10 != 0;
    let csrc_count = usize::from(buf[0] & 0x0F);
    let mut offset = RTP_HEADER_LEN + 4 * csrc_count;
    if has_extension {
        let ext_header = offset + 4;
        if buf.len() < ext_header {
            return Err(RtpError::Truncated {
                len: buf.len(),
                needed: ext_header,
            });
        }
        let words = usize::from(u16::from_be_bytes([buf[offset + 2], buf[offset + 3]]));
        offset = ext_header + 4 * words;
    }
    if buf.len() < offset {
        return Err(RtpError::Truncated {
            len: buf.len(),
            needed: offset,
        });
    }
    let mut end = buf.len();
    if has_padding {
        let padding = usize::from(buf[end - 1]);
        let available = end - offset;
        if padding == 0 || padding > available {
            return Err(RtpError::BadPadding { padding, available });
        }
        end -= padding;
    }
    Ok(RtpPacket {
        header: RtpHeader {
            payload_type: buf[1] & 0x7F,
            marker: buf[1] & 0x80 != 0,
            sequence: u16::from_be_bytes([buf[2], buf[3]]),
            timestamp: u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]),
            ssrc: u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]),
        },
        payload: &buf[offset..end],
    })
}

/// Appends an RTP packet (no CSRCs, no extension, no padding) to `out`.
pub fn write_rtp(header: &RtpHeader, payload: &[u8], out: &mut Vec<u8>) {
    out.reserve(RTP_HEADER_LEN + payload.len());
    out.push(0x80);
    out.push((header.payload_type & 0x7F) | if header.marker { 0x80 } else { 0 });
    out.extend_from_slice(&header.sequence.to_be_bytes());
    out.extend_from_slice(&header.timestamp.to_be_bytes());
    out.extend_from_slice(&header.ssrc.to_be_bytes());
    out.extend_from_slice(payload);
}

/// Tells RTCP from RTP on a muxed port (RFC 5761 section 4): RTCP packet types 192..=223 land in
/// the RTP marker+payload-type byte, a range no audio payload type uses.
pub fn is_rtcp(buf: &[u8]) -> bool {
    buf.len() >= 8 && buf[0] >> 6 == 2 && (192..=223).contains(&buf[1])
}

/// State of one outbound RTP stream: owns SSRC, sequence and timestamp so audio and RFC 4733
/// events interleave correctly, and counts what was sent for RTCP sender reports.
#[derive(Debug)]
pub struct RtpSender {
    ssrc: u32,
    sequence: u16,
    timestamp: u32,
    talkspurt_start: bool,
    packets_sent: u32,
    octets_sent: u32,
}

impl RtpSender {
    /// A stream starting at the given (normally random, RFC 3550 section 5.1) values.
    pub fn new(ssrc: u32, initial_seq: u16, initial_ts: u32) -> Self {
        RtpSender {
            ssrc,
            sequence: initial_seq,
            timestamp: initial_ts,
            talkspurt_start: true,
            packets_sent: 0,
            octets_sent: 0,
        }
    }

    /// Appends an audio packet covering `samples` timestamp units; the first packet of the stream
    /// and the first after [`RtpSender::silence`] carry the marker bit.
    pub fn audio(&mut self, payload_type: u8, payload: &[u8], samples: u32, out: &mut Vec<u8>) {
        let marker = std::mem::replace(&mut self.talkspurt_start, false);
        self.emit(payload_type, marker, self.timestamp, payload, out);
        self.timestamp = self.timestamp.wrapping_add(samples);
    }

    /// Lets `samples` timestamp units pass without sending (silence suppression); the next audio
    /// packet starts a talkspurt.
    pub fn silence(&mut self, samples: u32) {
        self.timestamp = self.timestamp.wrapping_add(samples);
        self.talkspurt_start = true;
    }

    /// Appends an RFC 4733 telephone-event packet in place of this tick's audio: it shares the
    /// stream's sequence numbers and carries the event's start timestamp, while the media clock
    /// still advances by `samples`.
    pub fn event(
        &mut self,
        payload_type: u8,
        event: &DtmfEventPacket,
        samples: u32,
        out: &mut Vec<u8>,
    ) {
        let start = self.timestamp.wrapping_sub(event.timestamp_offset);
        self.emit(payload_type, event.marker, start, &event.payload, out);
        self.timestamp = self.timestamp.wrapping_add(samples);
    }

    /// SSRC of this stream.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// Timestamp the next audio packet will carry (the value an RTCP SR pairs with "now").
    pub fn timestamp(&self) -> u32 {
        self.timestamp
    }

    /// Packets sent so far (wraps, as the SR field does).
    pub fn packets_sent(&self) -> u32 {
        self.packets_sent
    }

    /// Payload octets sent so far (wraps, as the SR field does).
    pub fn octets_sent(&self) -> u32 {
        self.octets_sent
    }

    /// The sender half of an RTCP SR for wall-clock `ntp_timestamp` (read by the caller at the
    /// same moment as this stream's clock stands at [`RtpSender::timestamp`]).
    pub fn sender_info(&self, ntp_timestamp: u64) -> SenderInfo {
        SenderInfo {
            ntp_timestamp,
            rtp_timestamp: self.timestamp,
            packet_count: self.packets_sent,
            octet_count: self.octets_sent,
        }
    }

    fn emit(&mut self, payload_type: u8, marker: bool, ts: u32, payload: &[u8], out: &mut Vec<u8>) {
        let header = RtpHeader {
            payload_type,
            marker,
            sequence: self.sequence,
            timestamp: ts,
            ssrc: self.ssrc,
        };
        write_rtp(&header, payload, out);
        self.sequence = self.sequence.wrapping_add(1);
        self.packets_sent = self.packets_sent.wrapping_add(1);
        self.octets_sent = self.octets_sent.wrapping_add(payload.len() as u32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtmf::Rfc4733Sender;
    use crate::test_util::Prng;
    use std::time::Duration;

    #[test]
    fn write_then_parse_round_trips() {
        let header = RtpHeader {
            payload_type: 8,
            marker: true,
            sequence: 65535,
            timestamp: 0xDEAD_BEEF,
            ssrc: 0x1234_5678,
        };
        let mut buf = Vec::new();
        write_rtp(&header, &[1, 2, 3], &mut buf);
        assert_eq!(buf.len(), 15);
        let packet = parse_rtp(&buf).unwrap();
        assert_eq!(packet.header, header);
        assert_eq!(packet.payload, &[1, 2, 3]);
        assert!(!is_rtcp(&buf));
    }

    #[test]
    fn parse_skips_csrcs_extension_and_padding() {
        let mut buf = vec![0x80 | 0x20 | 0x10 | 2, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3];
        buf.extend_from_slice(&[0xAA; 8]); // two CSRCs
        buf.extend_from_slice(&[0xBE, 0xDE, 0, 1, 0x11, 0x22, 0x33, 0x44]); // one-word extension
        buf.extend_from_slice(&[9, 8, 7]);
        buf.extend_from_slice(&[0, 0, 3]); // three bytes of padding
        let packet = parse_rtp(&buf).unwrap();
        assert_eq!(packet.payload, &[9, 8, 7]);
        assert_eq!(packet.header.sequence, 1);
        assert_eq!(packet.header.timestamp, 2);
        assert_eq!(packet.header.ssrc, 3);
    }

    #[test]
    fn parse_rejects_malformed_headers() {
        assert!(matches!(
            parse_rtp(&[0x80; 11]),
            Err(RtpError::Truncated { .. })
        ));
        assert_eq!(parse_rtp(&[0x40; 12]), Err(RtpError::BadVersion(1)));
        let csrc_overflow = [0x8F, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2];
        assert_eq!(
            parse_rtp(&csrc_overflow),
            Err(RtpError::Truncated {
                len: 14,
                needed: 72
            })
        );
        let mut ext_overflow = vec![
            0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xBE, 0xDE, 0xFF, 0xFF,
        ];
        ext_overflow.extend_from_slice(&[0; 8]);
        assert!(matches!(
            parse_rtp(&ext_overflow),
            Err(RtpError::Truncated { .. })
        ));
        let zero_padding = [0xA0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0];
        assert!(matches!(
            parse_rtp(&zero_padding),
            Err(RtpError::BadPadding { .. })
        ));
        let big_padding = [0xA0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 3];
        assert!(matches!(
            parse_rtp(&big_padding),
            Err(RtpError::BadPadding { .. })
        ));
        let header_only_padding = [0xA0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert!(matches!(
            parse_rtp(&header_only_padding),
            Err(RtpError::BadPadding { .. })
        ));
    }

    #[test]
    fn parse_never_panics_on_garbage_or_truncation() {
        let mut rng = Prng::new(7);
        let mut parsed = 0;
        for _ in 0..20_000 {
            let len = (rng.next_u32() % 80) as usize;
            let mut buf: Vec<u8> = (0..len).map(|_| rng.next_u32() as u8).collect();
            if rng.next_u32().is_multiple_of(2) && !buf.is_empty() {
                buf[0] = 0x80 | (buf[0] & 0x3F); // version 2 so deeper checks run
            }
            if let Ok(packet) = parse_rtp(&buf) {
                parsed += 1;
                assert!(packet.payload.len() <= buf.len() - RTP_HEADER_LEN);
            }
        }
        assert!(parsed > 1000, "the generator reaches the success path too");
        let mut good = Vec::new();
        write_rtp(
            &RtpHeader {
                payload_type: 0,
                marker: false,
                sequence: 1,
                timestamp: 2,
                ssrc: 3,
            },
            &[0; 160],
            &mut good,
        );
        for len in 0..good.len() {
            let _ = parse_rtp(&good[..len]);
        }
    }

    #[test]
    fn rtcp_is_told_apart_from_rtp() {
        let sr = [0x80, 200, 0, 6, 0, 0, 0, 1];
        let rr = [0x81, 201, 0, 7, 0, 0, 0, 1];
        assert!(is_rtcp(&sr));
        assert!(is_rtcp(&rr));
        let marked_pcma = [0x80, 0x88, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
        let marked_event = [0x80, 0x80 | 101, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
        assert!(!is_rtcp(&marked_pcma));
        assert!(!is_rtcp(&marked_event));
        assert!(!is_rtcp(&[0x80, 200]));
    }

    #[test]
    fn sender_numbers_packets_and_marks_talkspurts() {
        let mut sender = RtpSender::new(42, 65534, 1000);
        let mut packets = Vec::new();
        for _ in 0..3 {
            let mut buf = Vec::new();
            sender.audio(0, &[0xFF; 160], 160, &mut buf);
            packets.push(buf);
        }
        sender.silence(320);
        let mut buf = Vec::new();
        sender.audio(0, &[0xFF; 160], 160, &mut buf);
        packets.push(buf);
        let headers: Vec<RtpHeader> = packets
            .iter()
            .map(|p| parse_rtp(p).unwrap().header)
            .collect();
        let seqs: Vec<u16> = headers.iter().map(|h| h.sequence).collect();
        let tss: Vec<u32> = headers.iter().map(|h| h.timestamp).collect();
        let markers: Vec<bool> = headers.iter().map(|h| h.marker).collect();
        assert_eq!(seqs, [65534, 65535, 0, 1]);
        assert_eq!(tss, [1000, 1160, 1320, 1800]);
        assert_eq!(markers, [true, false, false, true]);
        assert!(headers.iter().all(|h| h.ssrc == 42));
        assert_eq!(sender.packets_sent(), 4);
        assert_eq!(sender.octets_sent(), 640);
        assert_eq!(sender.timestamp(), 1960);
        let info = sender.sender_info(77);
        assert_eq!(
            (
                info.ntp_timestamp,
                info.rtp_timestamp,
                info.packet_count,
                info.octet_count
            ),
            (77, 1960, 4, 640)
        );
    }

    #[test]
    fn events_share_sequence_numbers_and_carry_the_start_timestamp() {
        let mut sender = RtpSender::new(7, 100, 8000);
        let mut dtmf = Rfc4733Sender::new(8000);
        let mut buf = Vec::new();
        sender.audio(0, &[0; 160], 160, &mut buf);
        dtmf.start('5', Duration::from_millis(100)).unwrap();
        let mut headers = Vec::new();
        while let Some(event) = dtmf.next_event() {
            let mut buf = Vec::new();
            sender.event(101, &event, 160, &mut buf);
            let packet = parse_rtp(&buf).unwrap();
            assert_eq!(packet.payload, &event.payload);
            headers.push(packet.header);
        }
        let mut after = Vec::new();
        sender.audio(0, &[0; 160], 160, &mut after);
        let after = parse_rtp(&after).unwrap().header;
        assert_eq!(
            headers.len(),
            7,
            "five tone ticks and two repeated end packets"
        );
        assert!(
            headers
                .iter()
                .all(|h| h.timestamp == 8160 && h.payload_type == 101)
        );
        assert!(headers[0].marker && headers[1..].iter().all(|h| !h.marker));
        let seqs: Vec<u16> = headers.iter().map(|h| h.sequence).collect();
        assert_eq!(seqs, (101..108).collect::<Vec<_>>());
        assert_eq!(after.sequence, 108);
        assert_eq!(
            after.timestamp,
            8160 + 7 * 160,
            "the media clock ran during the event"
        );
    }
}
