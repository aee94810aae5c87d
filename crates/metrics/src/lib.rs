//! Every operational metric Switchboard exports, in one place, and the Prometheus exporter
//! that `/metrics` renders.
//!
//! Crates record through the functions here rather than naming metrics themselves, so this
//! file is the list an operator reads. Recording goes through the `metrics` facade: before
//! [`install`] (and in unit tests) every call is a cheap no-op. Labels only take values from
//! small fixed sets (outcomes, status codes, configured queue names): never caller data.

use std::time::Duration;

use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

const CALLS_ACTIVE: &str = "switchboard_calls_active";
const CALLS_TOTAL: &str = "switchboard_calls_total";
const SIP_RESPONSES: &str = "switchboard_sip_responses_total";
const RTP_RECEIVED: &str = "switchboard_rtp_packets_received_total";
const RTP_LOST: &str = "switchboard_rtp_packets_lost_total";
const RTP_JITTER: &str = "switchboard_rtp_jitter_seconds";
const ASR_QUEUE: &str = "switchboard_asr_queue_depth";
const ASR_LATENCY: &str = "switchboard_asr_latency_seconds";
const ASR_RESULTS: &str = "switchboard_asr_results_total";
const TTS_LATENCY: &str = "switchboard_tts_synthesis_seconds";
const TTS_SENTENCES: &str = "switchboard_tts_sentences_total";
const QUEUE_WAITING: &str = "switchboard_queue_callers_waiting";
const QUEUE_WAIT: &str = "switchboard_queue_wait_seconds";

/// Histogram buckets (seconds) for speech latencies: sub-second resolution where turns live.
const SPEECH_BUCKETS: &[f64] = &[
    0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0,
];
/// Histogram buckets (seconds) for RTP interarrival jitter: a few ms is normal, 30 ms is bad.
const JITTER_BUCKETS: &[f64] = &[0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1];
/// Histogram buckets (seconds) for callers' waits in queues.
const WAIT_BUCKETS: &[f64] = &[1.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0];

/// The installed exporter; [`Metrics::render`] gives the Prometheus text.
#[derive(Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    /// Every metric in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        self.handle.render()
    }

    /// Folds recorded histogram samples into their buckets; call every few seconds so memory
    /// stays bounded between scrapes.
    pub fn upkeep(&self) {
        self.handle.run_upkeep();
    }
}

/// Installs the process-wide recorder (once per process) and describes every metric.
pub fn install() -> Result<Metrics, String> {
    let builder = PrometheusBuilder::new();
    let builder = [
        (ASR_LATENCY, SPEECH_BUCKETS),
        (TTS_LATENCY, SPEECH_BUCKETS),
        (RTP_JITTER, JITTER_BUCKETS),
        (QUEUE_WAIT, WAIT_BUCKETS),
    ]
    .into_iter()
    .try_fold(builder, |b, (name, buckets)| {
        b.set_buckets_for_metric(Matcher::Full(name.to_string()), buckets)
    })
    .map_err(|e| e.to_string())?;
    let handle = builder.install_recorder().map_err(|e| e.to_string())?;
    describe();
    Ok(Metrics { handle })
}

fn describe() {
    describe_gauge!(CALLS_ACTIVE, "Calls in progress (inbound and outbound).");
    describe_counter!(CALLS_TOTAL, "Calls ended, by outcome.");
    describe_counter!(
        SIP_RESPONSES,
        "SIP responses by status code and direction (sent by the gateway, or received)."
    );
    describe_counter!(
        RTP_RECEIVED,
        "RTP packets received from callers and agents."
    );
    describe_counter!(
        RTP_LOST,
        "RTP packets lost on the way in (expected by sequence number, never received)."
    );
    describe_histogram!(
        RTP_JITTER,
        "Interarrival jitter of incoming RTP (RFC 3550), sampled per call every report interval."
    );
    describe_gauge!(
        ASR_QUEUE,
        "Utterances waiting for a speech-recognition worker."
    );
    describe_histogram!(
        ASR_LATENCY,
        "Time from an utterance's submission to its transcript, queueing included."
    );
    describe_counter!(
        ASR_RESULTS,
        "Speech-recognition jobs by result (ok, timeout, overloaded, cancelled, failed)."
    );
    describe_histogram!(
        TTS_LATENCY,
        "Time to synthesize one sentence (cache misses)."
    );
    describe_counter!(
        TTS_SENTENCES,
        "Sentences spoken, by source (synthesized, cache)."
    );
    describe_gauge!(QUEUE_WAITING, "Callers waiting for an agent, by queue.");
    describe_histogram!(
        QUEUE_WAIT,
        "How long callers waited in a queue, by queue and how the wait ended."
    );
}

/// A call began (answered or placed).
pub fn call_started() {
    gauge!(CALLS_ACTIVE).increment(1.0);
}

/// A call that [`call_started`] counted ended with `outcome`.
pub fn call_ended(outcome: &str) {
    gauge!(CALLS_ACTIVE).decrement(1.0);
    call_finished(outcome);
}

/// A call ended with `outcome`, whether or not it was ever answered.
pub fn call_finished(outcome: &str) {
    counter!(CALLS_TOTAL, "outcome" => outcome.to_string()).increment(1);
}

/// Which way a SIP response went.
#[derive(Debug, Clone, Copy)]
pub enum Direction {
    /// The gateway sent it.
    Sent,
    /// A peer sent it to the gateway.
    Received,
}

/// A SIP message went out or came in; counted when it is a response (`SIP/2.0 NNN …`).
pub fn sip_message(direction: Direction, data: &[u8]) {
    let Some(code) = response_code(data) else {
        return;
    };
    let direction = match direction {
        Direction::Sent => "sent",
        Direction::Received => "received",
    };
    counter!(SIP_RESPONSES, "code" => code.to_string(), "direction" => direction).increment(1);
}

/// The status code of a SIP response, or None for a request (or garbage).
fn response_code(data: &[u8]) -> Option<u16> {
    let rest = data.strip_prefix(b"SIP/2.0 ")?;
    let digits = rest.get(..3)?;
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// RTP reception since the last report of this call leg: packets received and lost, and the
/// current interarrival jitter.
pub fn rtp_reception(received: u64, lost: u64, jitter: Duration) {
    counter!(RTP_RECEIVED).increment(received);
    counter!(RTP_LOST).increment(lost);
    histogram!(RTP_JITTER).record(jitter.as_secs_f64());
}

/// The number of utterances waiting for recognition changed.
pub fn asr_queue_depth(depth: usize) {
    gauge!(ASR_QUEUE).set(depth as f64);
}

/// A recognition job finished with `result` after `latency` (None: it never ran).
pub fn asr_result(result: &'static str, latency: Option<Duration>) {
    counter!(ASR_RESULTS, "result" => result).increment(1);
    if let Some(latency) = latency {
        histogram!(ASR_LATENCY).record(latency.as_secs_f64());
    }
}

/// A sentence was synthesized in `took`.
pub fn tts_synthesized(took: Duration) {
    counter!(TTS_SENTENCES, "source" => "synthesized").increment(1);
    histogram!(TTS_LATENCY).record(took.as_secs_f64());
}

/// A sentence came from the prompt cache.
pub fn tts_cached() {
    counter!(TTS_SENTENCES, "source" => "cache").increment(1);
}

/// `waiting` callers now wait in `queue`.
pub fn queue_waiting(queue: &str, waiting: usize) {
    gauge!(QUEUE_WAITING, "queue" => queue.to_string()).set(waiting as f64);
}

/// A caller's wait in `queue` ended after `waited`, `how` (answered, abandoned, overflow,
/// transferred).
pub fn queue_wait(queue: &str, waited: Duration, how: &'static str) {
    histogram!(QUEUE_WAIT, "queue" => queue.to_string(), "ended" => how)
        .record(waited.as_secs_f64());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_responses_have_codes() {
        assert_eq!(response_code(b"SIP/2.0 200 OK\r\n"), Some(200));
        assert_eq!(response_code(b"SIP/2.0 486 Busy Here\r\n"), Some(486));
        assert_eq!(response_code(b"INVITE sip:a@b SIP/2.0\r\n"), None);
        assert_eq!(response_code(b"SIP/2.0 2x0 OK"), None);
        assert_eq!(response_code(b"SIP/2.0 "), None);
        assert_eq!(response_code(b""), None);
    }
}
