//! Media for Switchboard: RTP/RTCP, G.711/G.722, jitter buffer, DTMF, recording, prompts.
//!
//! Everything here is sans-IO: no sockets, threads or clocks. Time comes in as `Instant`
//! arguments, so each part runs in simulated time in its tests.

#![warn(missing_docs)]

pub mod codec;
pub mod conceal;
pub mod dtmf;
pub mod jitter;
pub mod prompt;
pub mod rate_converter;
pub mod recorder;
pub mod rtcp;
pub mod rtp;

#[cfg(test)]
mod test_util;

pub use codec::{Codec, Decoder, Encoder, FRAME_MS};
pub use conceal::Concealer;
pub use dtmf::{
    DtmfEventPacket, InbandDtmfDetector, InvalidDigit, Rfc4733Receiver, Rfc4733Sender, dtmf_tone,
};
pub use jitter::{JitterBuffer, JitterConfig, JitterStats, Playout};
pub use prompt::{PromptCache, PromptError, load_prompt};
pub use rate_converter::RateConverter;
pub use recorder::{RecordingInfo, StereoRecorder, repair_wav};
pub use rtcp::{
    ReceptionStats, ReportBlock, RtcpError, RtcpReport, SenderInfo, build_receiver_report,
    build_sender_report, ntp_timestamp, parse_rtcp,
};
pub use rtp::{RtpError, RtpHeader, RtpPacket, RtpSender, is_rtcp, parse_rtp, write_rtp};
