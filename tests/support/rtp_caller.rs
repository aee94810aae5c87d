//! A minimal caller that times its media from the test process: an INVITE by hand (raw SIP,
//! PCMU offered), then a UDP socket that sends a WAV as 20 ms PCMU packets and notes when every
//! packet was sent and when every packet from the gateway arrived, with the loudness of each.
//! Everything is on the test's own clock (`Instant`), so latencies are measured from outside.

use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::raw_sip::{RawDialog, RawSip, body, headers, sdp_offer, status};

/// Samples in a 20 ms frame at 8 kHz.
pub const FRAME: usize = 160;
/// The packet interval.
pub const PACKET: Duration = Duration::from_millis(20);

/// One packet we sent.
#[derive(Debug, Clone, Copy)]
pub struct Sent {
    /// When it left (just before `send_to`).
    pub at: Instant,
    /// RMS of its samples (before μ-law).
    pub rms: f64,
}

/// One packet the gateway sent us.
#[derive(Debug, Clone, Copy)]
pub struct Received {
    /// When `recv_from` returned it.
    pub at: Instant,
    /// RTP sequence number.
    pub seq: u16,
    /// RMS of its decoded samples.
    pub rms: f64,
}

/// What went each way during the call.
#[derive(Debug, Default)]
pub struct CallMedia {
    /// Every packet we sent, in order.
    pub sent: Vec<Sent>,
    /// Every PCMU packet that arrived, in order of arrival.
    pub received: Vec<Received>,
}

/// When the caller starts its audio.
#[derive(Debug, Clone, Copy)]
pub enum StartAudio {
    /// As soon as the call is answered.
    AtAnswer,
    /// When the first gateway packet louder than this RMS arrives (the bot starts talking);
    /// silence is sent until then.
    WhenHeard(f64),
}

/// A call in progress (see the module doc). Hang up with [`RtpCaller::hang_up`].
pub struct RtpCaller {
    sip: RawSip,
    call_id: String,
    from: String,
    to: String,
    target: String,
    cseq: u32,
    /// Where the gateway receives our RTP (from its SDP answer).
    pub gateway_rtp: SocketAddr,
    /// When the 200 OK arrived.
    pub answered_at: Instant,
    stop: Arc<AtomicBool>,
    bye_received: bool,
    sender: Option<JoinHandle<Vec<Sent>>>,
    receiver: Option<JoinHandle<Vec<Received>>>,
}

impl RtpCaller {
    /// Calls extension 100 on `gateway` as `user`, offering PCMU only. Once answered it sends
    /// `audio` (8 kHz samples; see `start`), then silence until hung up. Panics unless the
    /// gateway answers with 200 and an SDP answer for PCMU within 5 s.
    pub fn dial(gateway: SocketAddr, user: &str, audio: Vec<i16>, start: StartAudio) -> Self {
        let sip = RawSip::new(gateway);
        let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let offer = sdp_offer(rtp.local_addr().unwrap(), "0", &["0 PCMU/8000"], "sendrecv");
        let mut dialog = RawDialog::new(&sip, user);
        let responses = dialog.send("INVITE", "", "application/sdp", &offer);
        let ok = responses
            .iter()
            .find(|r| status(r) == Some(200))
            .unwrap_or_else(|| panic!("the gateway did not answer the INVITE: {responses:#?}"))
            .clone();
        let answered_at = Instant::now();
        dialog.learn(&ok);
        dialog.ack(&ok, None);
        let gateway_rtp = answer_address(body(&ok))
            .unwrap_or_else(|| panic!("no audio address in the gateway's SDP answer: {ok}"));
        let (call_id, from, to, target, cseq) = (
            dialog.call_id.clone(),
            dialog.from.clone(),
            dialog.to.clone(),
            dialog.target.clone(),
            dialog.cseq,
        );

        let stop = Arc::new(AtomicBool::new(false));
        let heard = Arc::new(AtomicBool::new(false));
        rtp.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let receiver = {
            let (sock, stop, heard) = (rtp.try_clone().unwrap(), stop.clone(), heard.clone());
            let loud = match start {
                StartAudio::AtAnswer => 0.0,
                StartAudio::WhenHeard(rms) => rms,
            };
            std::thread::spawn(move || receive(&sock, &stop, &heard, loud))
        };
        let sender = {
            let (stop, heard) = (stop.clone(), heard.clone());
            let wait = matches!(start, StartAudio::WhenHeard(_));
            std::thread::spawn(move || send(&rtp, gateway_rtp, &audio, &stop, &heard, wait))
        };
        RtpCaller {
            sip,
            call_id,
            from,
            to,
            target,
            cseq,
            gateway_rtp,
            answered_at,
            stop,
            bye_received: false,
            sender: Some(sender),
            receiver: Some(receiver),
        }
    }

    /// Waits until the gateway hangs up (sends a BYE, which is answered) and returns true, or
    /// returns false after `timeout`. Media goes on meanwhile; nothing else is done (no polling
    /// that would load the machine while media is being timed).
    pub fn wait_for_hangup(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while !self.bye_received {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            if let Some(msg) = self.sip.recv(left) {
                self.answer(&msg);
            }
        }
        self.bye_received
    }

    /// Ends the call (sends a BYE unless the gateway hung up) and returns what went each way.
    pub fn hang_up(mut self) -> CallMedia {
        let media = self.stop_media();
        for msg in self.sip.recv_for(Duration::from_millis(50)) {
            self.answer(&msg);
        }
        if !self.bye_received {
            let mut dialog = RawDialog {
                sip: &self.sip,
                call_id: self.call_id.clone(),
                from: self.from.clone(),
                to: self.to.clone(),
                target: self.target.clone(),
                cseq: self.cseq,
            };
            let responses = dialog.send("BYE", "", "", "");
            assert!(!responses.is_empty(), "the gateway did not answer our BYE");
        }
        media
    }

    /// Answers a BYE from the gateway with 200 OK (other messages, such as retransmitted
    /// 200 OKs to the INVITE, are ignored).
    fn answer(&mut self, msg: &str) {
        if msg.starts_with("BYE ") {
            self.bye_received = true;
            self.sip.send(response_to(msg, "200 OK"));
        }
    }

    fn stop_media(&mut self) -> CallMedia {
        self.stop.store(true, Ordering::SeqCst);
        CallMedia {
            sent: self
                .sender
                .take()
                .map(|h| h.join().unwrap())
                .unwrap_or_default(),
            received: self
                .receiver
                .take()
                .map(|h| h.join().unwrap())
                .unwrap_or_default(),
        }
    }
}

impl Drop for RtpCaller {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Sends `audio` in 20 ms PCMU packets on a fixed schedule (silence before it while `wait` and
/// nothing heard yet, and after it until `stop`).
fn send(
    sock: &UdpSocket,
    to: SocketAddr,
    audio: &[i16],
    stop: &AtomicBool,
    heard: &AtomicBool,
    wait: bool,
) -> Vec<Sent> {
    let ssrc = 0x5b0c_a11e_u32;
    let silence = [0i16; FRAME];
    let mut sent = Vec::new();
    let mut next = Instant::now();
    let mut position: Option<usize> = (!wait).then_some(0);
    let mut packet = Vec::with_capacity(12 + FRAME);
    for n in 0u32.. {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        if position.is_none() && heard.load(Ordering::SeqCst) {
            position = Some(0);
        }
        let frame: &[i16] = match position {
            Some(p) if p < audio.len() => {
                position = Some(p + FRAME);
                &audio[p..(p + FRAME).min(audio.len())]
            }
            _ => &silence,
        };
        packet.clear();
        packet.extend_from_slice(&[0x80, 0x00]);
        packet.extend_from_slice(&(n as u16).to_be_bytes());
        packet.extend_from_slice(&(n.wrapping_mul(FRAME as u32)).to_be_bytes());
        packet.extend_from_slice(&ssrc.to_be_bytes());
        packet.extend(frame.iter().map(|&s| ulaw_encode(s)));
        packet.resize(12 + FRAME, ulaw_encode(0));
        let now = Instant::now();
        let _ = sock.send_to(&packet, to);
        sent.push(Sent {
            at: now,
            rms: rms(frame),
        });
        // A clock, not a loop: packet n+1 is due 20 ms after packet n was due.
        next += PACKET;
        if let Some(left) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(left);
        }
    }
    sent
}

/// Notes every PCMU packet that arrives until `stop`; sets `heard` at the first one louder
/// than `loud`.
fn receive(sock: &UdpSocket, stop: &AtomicBool, heard: &AtomicBool, loud: f64) -> Vec<Received> {
    let mut buf = [0u8; 2048];
    let mut got = Vec::new();
    let mut samples = Vec::with_capacity(FRAME);
    while !stop.load(Ordering::SeqCst) {
        let Ok((n, _)) = sock.recv_from(&mut buf) else {
            continue;
        };
        let at = Instant::now();
        // RTP version 2, payload type 0 (PCMU); a fixed 12-byte header from the gateway, but
        // skip CSRCs and an extension anyway.
        if n < 12 || buf[0] >> 6 != 2 || buf[1] & 0x7f != 0 {
            continue;
        }
        let mut start = 12 + 4 * usize::from(buf[0] & 0x0f);
        if buf[0] & 0x10 != 0 && n >= start + 4 {
            start += 4 + 4 * usize::from(u16::from_be_bytes([buf[start + 2], buf[start + 3]]));
        }
        if start >= n {
            continue;
        }
        samples.clear();
        samples.extend(buf[start..n].iter().map(|&b| ulaw_decode(b)));
        let level = rms(&samples);
        if level > loud {
            heard.store(true, Ordering::SeqCst);
        }
        got.push(Received {
            at,
            seq: u16::from_be_bytes([buf[2], buf[3]]),
            rms: level,
        });
    }
    got
}

/// The audio address of an SDP answer (`c=` line and `m=audio` port).
fn answer_address(sdp: &str) -> Option<SocketAddr> {
    let ip = sdp
        .lines()
        .find_map(|l| l.strip_prefix("c=IN IP4 "))?
        .trim()
        .to_string();
    let port = sdp
        .lines()
        .find_map(|l| l.strip_prefix("m=audio "))?
        .split_whitespace()
        .next()?
        .to_string();
    format!("{ip}:{port}").parse().ok()
}

/// A response to a request we received (its Via, From, To, Call-ID and CSeq copied).
fn response_to(request: &str, status_line: &str) -> String {
    let mut out = format!("SIP/2.0 {status_line}\r\n");
    for name in ["Via", "From", "To", "Call-ID", "CSeq"] {
        for value in headers(request, name) {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    out.push_str("Content-Length: 0\r\n\r\n");
    out
}

/// RMS of some samples (0 for none).
pub fn rms(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    (samples.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / samples.len() as f64).sqrt()
}

/// G.711 μ-law encoding of one sample (ITU-T G.711, with the usual 0x84 bias).
pub fn ulaw_encode(sample: i16) -> u8 {
    const BIAS: i32 = 0x84;
    const CLIP: i32 = 32_635;
    let mut s = i32::from(sample);
    let sign = if s < 0 {
        s = -s;
        0x80
    } else {
        0
    };
    s = s.min(CLIP) + BIAS;
    let mut exponent = 7;
    let mut mask = 0x4000;
    while exponent > 0 && s & mask == 0 {
        exponent -= 1;
        mask >>= 1;
    }
    let mantissa = (s >> (exponent + 3)) & 0x0f;
    !(sign | (exponent << 4) | mantissa) as u8
}

/// G.711 μ-law decoding of one byte.
pub fn ulaw_decode(byte: u8) -> i16 {
    let u = !byte;
    let exponent = (u >> 4) & 0x07;
    let mantissa = i32::from(u & 0x0f);
    let magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
    if u & 0x80 != 0 {
        -magnitude as i16
    } else {
        magnitude as i16
    }
}

/// A mono WAV file's samples, which must be 8 kHz 16-bit (make it with `switchboard say --rate
/// 8000` or sox).
pub fn read_8khz_wav(path: &Path) -> Vec<i16> {
    let mut r = hound::WavReader::open(path)
        .unwrap_or_else(|e| panic!("{} is not a valid WAV: {e}", path.display()));
    let spec = r.spec();
    assert!(
        spec.sample_rate == 8000 && spec.channels == 1 && spec.bits_per_sample == 16,
        "{} must be 8 kHz mono 16-bit, it is {spec:?}",
        path.display()
    );
    r.samples::<i16>().map(|s| s.unwrap()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulaw_round_trip_is_close_and_known_codes_match() {
        // Reference points of G.711 μ-law: silence is 0xFF, full scale 0x80 / 0x00.
        assert_eq!(ulaw_encode(0), 0xff);
        assert_eq!(ulaw_encode(i16::MAX), 0x80);
        assert_eq!(ulaw_encode(-i16::MAX), 0x00);
        assert_eq!(ulaw_decode(0xff), 0);
        assert_eq!(ulaw_decode(0x80), 32_124);
        for s in (-32_000i32..32_000).step_by(7) {
            let s = s as i16;
            let back = ulaw_decode(ulaw_encode(s));
            let err = (i32::from(back) - i32::from(s)).abs();
            // The quantization step is at most 1/16 of the segment (about 3 % of the value).
            assert!(
                err <= (i32::from(s).abs() / 16).max(8),
                "{s} → {back} (error {err})"
            );
        }
    }
}
