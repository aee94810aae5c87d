//! Media for Switchboard: RTP/RTCP, G.711/G.722, jitter buffer, DTMF, recording, prompts.
