//! One call leg's media as a sans-IO state machine: RTP in → jitter buffer → decode → DTMF and
//! recording; prompts → encode → paced RTP out. The call task calls [`MediaSession::tick`] every
//! 20 ms from a clock and feeds it every received packet.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sb_media::dtmf::{InbandDtmfDetector, Rfc4733Receiver, Rfc4733Sender};
use sb_media::jitter::{Concealer, JitterBuffer, JitterConfig, Playout};
use sb_media::recorder::StereoRecorder;
use sb_media::rtcp::{ReceptionStats, RtcpReport, build_sender_report, ntp_timestamp, parse_rtcp};
use sb_media::rtp::{RtpSender, parse_rtp};
use sb_media::{Codec, Decoder, Encoder};

/// How a digit reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtmfSource {
    /// RFC 4733 telephone-event packets.
    Rfc4733,
    /// Tones in the audio, found by our own detector.
    Inband,
    /// SIP INFO.
    Info,
}

impl DtmfSource {
    /// Name used in call events.
    pub fn as_str(self) -> &'static str {
        match self {
            DtmfSource::Rfc4733 => "rfc4733",
            DtmfSource::Inband => "inband",
            DtmfSource::Info => "info",
        }
    }
}

/// What the media session reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaEvent {
    /// A key press.
    Dtmf(char, DtmfSource),
    /// The playout queue ran empty (after a prompt finished, not after a stop).
    PlaybackFinished,
    /// The first packet arrived from an address other than the SDP one (symmetric RTP).
    RemoteLearned(SocketAddr),
}

/// Negotiated parameters of the leg.
#[derive(Debug, Clone)]
pub struct MediaParams {
    /// Audio codec.
    pub codec: Codec,
    /// Payload type the peer uses for the codec.
    pub payload_type: u8,
    /// RFC 4733 payload type, if negotiated.
    pub telephone_event: Option<u8>,
    /// Where the SDP says to send.
    pub remote: SocketAddr,
    /// Random SSRC / initial sequence / timestamp.
    pub ssrc: u32,
}

/// The media state of one leg.
pub struct MediaSession {
    params: MediaParams,
    remote: SocketAddr,
    learned: bool,
    hold: bool,
    jitter: JitterBuffer,
    decoder: Decoder,
    encoder: Encoder,
    concealer: Concealer,
    rfc4733: Rfc4733Receiver,
    inband: InbandDtmfDetector,
    sender: RtpSender,
    dtmf_out: Rfc4733Sender,
    playout: VecDeque<Arc<[i16]>>,
    position: usize,
    playing: bool,
    /// Playback stays open while more audio is on its way (speech still being synthesized).
    more_coming: bool,
    /// Playback paused (caller may be barging in): silence goes out, the position is kept.
    paused: bool,
    /// Samples taken from the playout queue since the call started.
    played: u64,
    recorder: Option<StereoRecorder>,
    frame: usize,
    last_packet: Option<Instant>,
    packets_received: u64,
    reception: ReceptionStats,
    /// Packets received and lost as of the last metrics report (metrics count deltas).
    reported: (u64, u64),
    created: Instant,
    remote_ssrc: Option<u32>,
    scratch_in: Vec<i16>,
    /// Decoded caller audio not yet consumed by a tick.
    received: VecDeque<i16>,
    decoded: Vec<i16>,
    scratch_out: Vec<i16>,
    scratch_bytes: Vec<u8>,
    events: VecDeque<MediaEvent>,
}

impl MediaSession {
    /// A session for the negotiated parameters, recording into `recorder` when given.
    pub fn new(params: MediaParams, recorder: Option<StereoRecorder>, now: Instant) -> Self {
        let codec = params.codec;
        MediaSession {
            reception: ReceptionStats::new(),
            reported: (0, 0),
            created: now,
            remote_ssrc: None,
            remote: params.remote,
            learned: false,
            hold: false,
            jitter: JitterBuffer::new(JitterConfig {
                timestamp_step: codec.timestamp_step(),
                ..JitterConfig::default()
            }),
            decoder: Decoder::new(codec),
            encoder: Encoder::new(codec),
            concealer: Concealer::new(codec.samples_per_frame()),
            rfc4733: Rfc4733Receiver::new(),
            inband: InbandDtmfDetector::new(codec.sample_rate()),
            sender: RtpSender::new(
                params.ssrc,
                (params.ssrc >> 16) as u16,
                params.ssrc.rotate_left(7),
            ),
            dtmf_out: Rfc4733Sender::new(codec.rtp_clock_rate()),
            playout: VecDeque::new(),
            position: 0,
            playing: false,
            more_coming: false,
            paused: false,
            played: 0,
            recorder,
            frame: codec.samples_per_frame(),
            last_packet: None,
            packets_received: 0,
            scratch_in: Vec::with_capacity(codec.samples_per_frame()),
            received: VecDeque::with_capacity(4 * codec.samples_per_frame()),
            decoded: Vec::with_capacity(4 * codec.samples_per_frame()),
            scratch_out: vec![0; codec.samples_per_frame()],
            scratch_bytes: Vec::with_capacity(200),
            events: VecDeque::new(),
            params,
        }
    }

    /// PCM sample rate of the leg (8 kHz for G.711, 16 kHz for G.722).
    pub fn sample_rate(&self) -> u32 {
        self.params.codec.sample_rate()
    }

    /// The address RTP goes to now.
    pub fn remote(&self) -> SocketAddr {
        self.remote
    }

    /// Updates the session after a re-INVITE (new address, hold or unhold).
    pub fn update(&mut self, remote: SocketAddr, hold: bool) {
        if remote != self.params.remote {
            self.params.remote = remote;
            self.remote = remote;
            self.learned = false;
        }
        self.hold = hold;
    }

    /// When the last RTP packet arrived.
    pub fn last_packet(&self) -> Option<Instant> {
        self.last_packet
    }

    /// Packets received so far.
    pub fn packets_received(&self) -> u64 {
        self.packets_received
    }

    /// Feeds one datagram from the RTP socket.
    pub fn handle_rtp(&mut self, now: Instant, from: SocketAddr, data: &[u8]) {
        let Ok(packet) = parse_rtp(data) else { return };
        let h = packet.header;
        if !self.learned {
            // Symmetric RTP (RFC 4961): answer to where the caller's packets really come from.
            self.learned = true;
            if from != self.remote {
                self.remote = from;
                self.events.push_back(MediaEvent::RemoteLearned(from));
            }
        }
        self.last_packet = Some(now);
        self.packets_received += 1;
        self.remote_ssrc = Some(h.ssrc);
        let arrival = now.duration_since(self.created).as_micros() as u64
            * u64::from(self.params.codec.rtp_clock_rate())
            / 1_000_000;
        self.reception
            .on_packet(h.sequence, h.timestamp, arrival as u32);
        if Some(h.payload_type) == self.params.telephone_event {
            if let Some(digit) = self.rfc4733.handle(h.timestamp, packet.payload) {
                self.events
                    .push_back(MediaEvent::Dtmf(digit, DtmfSource::Rfc4733));
            }
        } else if h.payload_type == self.params.payload_type {
            self.jitter
                .push(now, h.sequence, h.timestamp, packet.payload);
        }
    }

    /// Queues prompts to play (appended to anything already playing).
    pub fn play(&mut self, prompts: impl IntoIterator<Item = Arc<[i16]>>) {
        self.playout.extend(prompts);
        self.playing = !self.playout.is_empty();
    }

    /// Stops playback at once (barge-in); no PlaybackFinished follows.
    pub fn stop_playback(&mut self) {
        self.playout.clear();
        self.position = 0;
        self.playing = false;
        self.more_coming = false;
        self.paused = false;
    }

    /// Keeps playback open while more audio is coming (`true`): an empty queue then plays
    /// silence instead of finishing. With `false`, playback finishes once the queue is empty.
    pub fn set_more_coming(&mut self, more: bool) {
        self.more_coming = more;
        if more {
            self.playing = true;
        }
    }

    /// Pauses (`true`) or resumes playback where it was: a possible barge-in silences the bot at
    /// once, and a false alarm (a cough) lets it go on without losing a word.
    pub fn set_paused(&mut self, paused: bool) {
        self.paused = paused;
    }

    /// Samples of prompt audio sent since the call started (pauses and silence not counted).
    pub fn played_samples(&self) -> u64 {
        self.played
    }

    /// Samples of prompt audio queued and not yet sent.
    pub fn queued_samples(&self) -> usize {
        self.playout.iter().map(|p| p.len()).sum::<usize>() - self.position
    }

    /// The caller's audio of the last tick: one 20 ms frame, decoded (silence when nothing came).
    pub fn caller_frame(&self) -> &[i16] {
        &self.scratch_in
    }

    /// True while a prompt is playing.
    pub fn is_playing(&self) -> bool {
        self.playing
    }

    /// Queues RFC 4733 digits to send (each `duration` long).
    pub fn send_dtmf(&mut self, digit: char, duration: Duration) -> bool {
        self.params.telephone_event.is_some() && self.dtmf_out.start(digit, duration).is_ok()
    }

    /// True while digits are still being sent.
    pub fn sending_dtmf(&self) -> bool {
        self.dtmf_out.is_busy()
    }

    /// Next event, if any.
    pub fn poll_event(&mut self) -> Option<MediaEvent> {
        self.events.pop_front()
    }

    /// One 20 ms step: [`MediaSession::receive`] then [`MediaSession::send`].
    pub fn tick(&mut self, now: Instant) -> Option<Vec<u8>> {
        self.receive(now);
        self.send()
    }

    /// The first half of a 20 ms step: takes the caller's frame (then in
    /// [`MediaSession::caller_frame`]). The call looks at it before [`MediaSession::send`]
    /// builds the outgoing frame, so a barge-in pauses the bot's audio one frame sooner.
    pub fn receive(&mut self, now: Instant) {
        self.receive_frame(now);
    }

    /// The second half of a 20 ms step: records both directions and returns the RTP packet to
    /// send now (None while on hold).
    pub fn send(&mut self) -> Option<Vec<u8>> {
        self.fill_outgoing();
        self.record();
        self.packet()
    }

    /// The second half of a bridged 20 ms step: sends `pcm` (the other leg's frame, at this
    /// leg's rate) instead of prompts; records both directions like [`MediaSession::send`].
    pub fn send_audio(&mut self, pcm: &[i16]) -> Option<Vec<u8>> {
        let take = pcm.len().min(self.frame);
        self.scratch_out[..take].copy_from_slice(&pcm[..take]);
        self.scratch_out[take..].fill(0);
        self.record();
        self.packet()
    }

    /// The RTP packet for the outgoing frame (or a DTMF event), None while on hold.
    fn packet(&mut self) -> Option<Vec<u8>> {
        if self.hold {
            return None;
        }
        let samples = self.params.codec.timestamp_step();
        let mut packet = Vec::with_capacity(12 + self.frame);
        if let (Some(pt), Some(ev)) = (self.params.telephone_event, self.dtmf_out.next_event()) {
            self.sender.event(pt, &ev, samples, &mut packet);
        } else {
            self.scratch_bytes.clear();
            self.encoder
                .encode(&self.scratch_out, &mut self.scratch_bytes);
            self.sender.audio(
                self.params.payload_type,
                &self.scratch_bytes,
                samples,
                &mut packet,
            );
        }
        Some(packet)
    }

    /// A 20 ms step whose send time was missed (the task stalled): takes and records the
    /// caller's frame against silence, sends nothing, and leaves the bot's audio where it was.
    /// Catching up this way keeps the caller's side on the wall clock.
    pub fn catch_up(&mut self, now: Instant) {
        self.receive_frame(now);
        self.scratch_out.fill(0);
        self.record();
    }

    fn record(&mut self) {
        if let Some(rec) = self.recorder.as_mut()
            && let Err(e) = rec.write(&self.scratch_in, &self.scratch_out)
        {
            tracing::warn!(error = %e, "recording stopped");
            self.recorder = None;
        }
    }

    /// Takes one 20 ms frame of caller audio. Packets may carry 10, 20, 30 ms or more: decoded
    /// audio goes through a small FIFO and the jitter buffer (which releases packets by their
    /// timestamps) is asked for more only when the FIFO runs short.
    fn receive_frame(&mut self, now: Instant) {
        let mut pulls = 0;
        while self.received.len() < self.frame && pulls < 4 {
            pulls += 1;
            self.decoded.clear();
            // With part of a frame in hand, the next packet is needed before this frame ends:
            // its start falls inside the frame being assembled.
            let horizon = if self.received.is_empty() {
                now
            } else {
                now + Duration::from_millis(u64::from(sb_media::FRAME_MS))
            };
            match self.jitter.pop(horizon) {
                Playout::Frame(payload) => {
                    self.decoder.decode(&payload, &mut self.decoded);
                    self.concealer.remember(&self.decoded);
                }
                Playout::Lost => self.concealer.conceal(&mut self.decoded),
                Playout::Empty => break,
            }
            self.received.extend(self.decoded.iter().copied());
        }
        self.scratch_in.clear();
        let take = self.received.len().min(self.frame);
        self.scratch_in.extend(self.received.drain(..take));
        self.scratch_in.resize(self.frame, 0);
        for digit in self.inband.process(&self.scratch_in) {
            self.events
                .push_back(MediaEvent::Dtmf(digit, DtmfSource::Inband));
        }
    }

    fn fill_outgoing(&mut self) {
        let mut filled = 0;
        while filled < self.frame && !self.paused {
            let Some(current) = self.playout.front() else {
                break;
            };
            let take = (current.len() - self.position).min(self.frame - filled);
            self.scratch_out[filled..filled + take]
                .copy_from_slice(&current[self.position..self.position + take]);
            filled += take;
            self.position += take;
            self.played += take as u64;
            if self.position >= current.len() {
                self.playout.pop_front();
                self.position = 0;
            }
        }
        self.scratch_out[filled..].fill(0);
        if self.playing && self.playout.is_empty() && !self.more_coming {
            self.playing = false;
            self.events.push_back(MediaEvent::PlaybackFinished);
        }
    }

    /// Feeds one datagram from the RTCP socket (sender reports feed our receiver reports).
    pub fn handle_rtcp(&mut self, now: Instant, data: &[u8]) {
        for report in parse_rtcp(data).unwrap_or_default() {
            if let RtcpReport::Sender { info, .. } = report {
                self.reception.on_sender_report(info.ntp_timestamp, now);
            }
        }
    }

    /// An RTCP sender report (with a reception block once the peer has sent RTP).
    /// `wall` is the time since the Unix epoch, for the NTP timestamp.
    pub fn rtcp_report(&mut self, now: Instant, wall: Duration) -> Vec<u8> {
        let info = self.sender.sender_info(ntp_timestamp(wall));
        let blocks: Vec<_> = self
            .remote_ssrc
            .map(|ssrc| self.reception.report_block(ssrc, now))
            .into_iter()
            .collect();
        let mut out = Vec::with_capacity(100);
        build_sender_report(self.sender.ssrc(), &info, &blocks, "switchboard", &mut out);
        self.report_reception();
        out
    }

    /// Hands what arrived since the last report to the metrics (every RTCP interval, and once
    /// more when the leg ends).
    fn report_reception(&mut self) {
        if self.remote_ssrc.is_none() {
            return;
        }
        let lost = u64::try_from(self.reception.cumulative_lost()).unwrap_or(0);
        let received = self.packets_received;
        let jitter = Duration::from_secs_f64(
            f64::from(self.reception.jitter()) / f64::from(self.params.codec.rtp_clock_rate()),
        );
        sb_metrics::rtp_reception(
            received.saturating_sub(self.reported.0),
            lost.saturating_sub(self.reported.1),
            jitter,
        );
        self.reported = (received, lost.max(self.reported.1));
    }

    /// Where RTCP goes: the port above the RTP port (RFC 3550 §11).
    pub fn rtcp_remote(&self) -> SocketAddr {
        SocketAddr::new(self.remote.ip(), self.remote.port().saturating_add(1))
    }

    /// Hands over the recorder so the caller can finish it (finishing syncs the file to disk,
    /// which must not run on the async runtime).
    pub fn take_recorder(&mut self) -> Option<StereoRecorder> {
        self.recorder.take()
    }
}

impl Drop for MediaSession {
    fn drop(&mut self) {
        self.report_reception();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sb_media::rtp::{RtpHeader, write_rtp};

    fn session(now: Instant) -> MediaSession {
        MediaSession::new(
            MediaParams {
                codec: Codec::Pcmu,
                payload_type: 0,
                telephone_event: Some(101),
                remote: "127.0.0.1:4000".parse().unwrap(),
                ssrc: 42,
            },
            None,
            now,
        )
    }

    fn packet(pt: u8, seq: u16, ts: u32, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let header = RtpHeader {
            payload_type: pt,
            marker: false,
            sequence: seq,
            timestamp: ts,
            ssrc: 7,
        };
        write_rtp(&header, payload, &mut out);
        out
    }

    #[test]
    fn learns_the_source_and_reports_rfc4733_and_inband_digits() {
        let t0 = Instant::now();
        let mut m = session(t0);
        let from: SocketAddr = "127.0.0.1:4444".parse().unwrap();
        // Event "5", start then end packets (the end repeated, as senders do).
        for (i, end) in [(0u16, false), (1, false), (2, true), (3, true)] {
            let flags = if end { 0x80 } else { 0 };
            let [hi, lo] = (160 * (i + 1)).to_be_bytes();
            m.handle_rtp(t0, from, &packet(101, i, 1000, &[5, flags | 10, hi, lo]));
        }
        let events: Vec<_> = std::iter::from_fn(|| m.poll_event()).collect();
        assert_eq!(
            events,
            vec![
                MediaEvent::RemoteLearned(from),
                MediaEvent::Dtmf('5', DtmfSource::Rfc4733)
            ]
        );
        assert_eq!(m.remote(), from);

        // An in-band "7" as PCMU audio, 100 ms, through jitter buffer and decoder.
        let tone =
            sb_media::dtmf::dtmf_tone('7', 8000, Duration::from_millis(100), -10.0, 0.0, 0.0);
        let mut enc = Encoder::new(Codec::Pcmu);
        let mut found = Vec::new();
        for (i, frame) in tone
            .chunks(160)
            .chain(std::iter::repeat_n(&[0i16; 160][..], 20))
            .enumerate()
        {
            let mut payload = Vec::new();
            enc.encode(frame, &mut payload);
            let now = t0 + Duration::from_millis(20 * i as u64);
            m.handle_rtp(
                now,
                from,
                &packet(0, 10 + i as u16, 5000 + 160 * i as u32, &payload),
            );
            m.tick(now);
            found.extend(std::iter::from_fn(|| m.poll_event()));
        }
        assert_eq!(found, vec![MediaEvent::Dtmf('7', DtmfSource::Inband)]);
    }

    #[test]
    fn thirty_ms_packets_lose_no_audio() {
        let t0 = Instant::now();
        let mut m = session(t0);
        let from: SocketAddr = "127.0.0.1:4444".parse().unwrap();
        let mut enc = Encoder::new(Codec::Pcmu);
        let mut heard = Vec::new();
        let mut next_packet = 0u32;
        for tick in 0..60u32 {
            let now = t0 + Duration::from_millis(20 * u64::from(tick));
            // A 30 ms packet whenever the sender's clock has reached it.
            while next_packet * 30 <= tick * 20 {
                let mut payload = Vec::new();
                enc.encode(&[3000i16; 240], &mut payload);
                let pkt = packet(0, next_packet as u16, 240 * next_packet, &payload);
                m.handle_rtp(now, from, &pkt);
                next_packet += 1;
            }
            m.tick(now);
            heard.extend_from_slice(&m.scratch_in);
        }
        let first = heard.iter().position(|&s| s != 0).expect("audio arrives");
        let last = heard.iter().rposition(|&s| s != 0).unwrap();
        let zeros = heard[first..=last].iter().filter(|&&s| s == 0).count();
        assert_eq!(
            zeros, 0,
            "{zeros} samples of silence inside continuous audio"
        );
    }

    #[test]
    fn plays_prompts_paced_one_frame_per_tick_and_stops_on_barge_in() {
        let t0 = Instant::now();
        let mut m = session(t0);
        m.play([Arc::from(vec![1000i16; 400])]);
        let mut t = t0;
        let mut packets = 0;
        while m.is_playing() {
            let p = m.tick(t).expect("a packet every tick");
            assert_eq!(p.len(), 12 + 160, "one 20 ms PCMU frame");
            packets += 1;
            t += Duration::from_millis(20);
        }
        assert_eq!(packets, 3, "400 samples = 2.5 frames");
        assert_eq!(m.poll_event(), Some(MediaEvent::PlaybackFinished));
        m.play([Arc::from(vec![1000i16; 8000])]);
        m.tick(t);
        m.stop_playback();
        assert!(!m.is_playing());
        m.tick(t + Duration::from_millis(20));
        assert_eq!(
            m.poll_event(),
            None,
            "a stopped prompt does not report finishing"
        );
        m.update("127.0.0.1:4000".parse().unwrap(), true);
        assert!(
            m.tick(t + Duration::from_millis(40)).is_none(),
            "on hold: nothing sent"
        );
        let rtcp = m.rtcp_report(t, Duration::from_secs(1_700_000_000));
        assert!(sb_media::is_rtcp(&rtcp));
    }

    #[test]
    fn pauses_keeps_playback_open_for_more_audio_and_counts_what_was_played() {
        let t0 = Instant::now();
        let mut m = session(t0);
        let mut t = t0;
        let mut next = |m: &mut MediaSession| {
            m.tick(t);
            t += Duration::from_millis(20);
            m.poll_event()
        };
        m.set_more_coming(true);
        m.play([Arc::from(vec![1000i16; 320])]);
        assert_eq!(m.queued_samples(), 320);
        assert_eq!(next(&mut m), None);
        m.set_paused(true);
        for _ in 0..3 {
            assert_eq!(next(&mut m), None);
            assert!(m.scratch_out.iter().all(|&s| s == 0), "paused: silence out");
        }
        assert_eq!(m.played_samples(), 160, "a pause keeps the position");
        m.set_paused(false);
        assert_eq!(next(&mut m), None);
        assert_eq!(m.played_samples(), 320);
        // Queue empty but more is coming (the next sentence is being synthesized): no finish.
        assert_eq!(next(&mut m), None);
        assert!(m.is_playing());
        m.play([Arc::from(vec![500i16; 100])]);
        m.set_more_coming(false);
        assert_eq!(next(&mut m), Some(MediaEvent::PlaybackFinished));
        assert_eq!(m.played_samples(), 420);
    }
}
