//! Frame-level speech recall and false-alarm rate of webrtc-vad's four modes, alone and with our
//! floor, background and tone checks, on the real recordings at 16 kHz and through an 8 kHz
//! μ-law phone line, clean and with white noise; and what each mode does to turn detection.
//! Prints the tables of docs/VAD.md
//! (`cargo test -p sb-speech --release --test vad_measure -- --nocapture --test-threads=1`)
//! and asserts the claims the doc makes about the default mode.

mod vad_audio;

use sb_speech::turn::{TurnConfig, TurnContext, TurnDetector, TurnEvent};
use sb_speech::vad::{Aggressiveness, VoiceActivityDetector};
use std::time::Duration;
use vad_audio::{ALL_RECORDINGS, Noise, Reference};
use webrtc_vad::{SampleRate, Vad, VadMode};

const MODES: [Aggressiveness; 4] = [
    Aggressiveness::Quality,
    Aggressiveness::LowBitrate,
    Aggressiveness::Aggressive,
    Aggressiveness::VeryAggressive,
];

/// Signal-to-noise ratios of the noisy conditions, relative to each recording's active level.
const NOISE_SNR_DB: [Option<f64>; 3] = [None, Some(20.0), Some(10.0)];

#[derive(Default, Clone, Copy)]
struct Score {
    speech: usize,
    hits: usize,
    non_speech: usize,
    false_alarms: usize,
}

impl Score {
    fn add(&mut self, reference: Reference, said_speech: bool) {
        match reference {
            Reference::Speech => {
                self.speech += 1;
                self.hits += usize::from(said_speech);
            }
            Reference::NonSpeech => {
                self.non_speech += 1;
                self.false_alarms += usize::from(said_speech);
            }
            Reference::Unscored => {}
        }
    }

    fn recall(&self) -> f64 {
        self.hits as f64 / self.speech as f64
    }

    fn false_alarm_rate(&self) -> f64 {
        self.false_alarms as f64 / self.non_speech.max(1) as f64
    }
}

fn webrtc_alone(rate: u32, mode: Aggressiveness) -> Vad {
    let rate = if rate == 8000 {
        SampleRate::Rate8kHz
    } else {
        SampleRate::Rate16kHz
    };
    let mode = match mode {
        Aggressiveness::Quality => VadMode::Quality,
        Aggressiveness::LowBitrate => VadMode::LowBitrate,
        Aggressiveness::Aggressive => VadMode::Aggressive,
        Aggressiveness::VeryAggressive => VadMode::VeryAggressive,
    };
    Vad::new_with_rate_and_mode(rate, mode)
}

/// (webrtc-vad alone, our detector) scores for one mode over the recordings played back to
/// back, as one call (so webrtc-vad's start-up frames count once, not once per recording).
fn score(rate: u32, mode: Aggressiveness, call: &Call) -> (Score, Score) {
    let (mut alone, mut ours) = (Score::default(), Score::default());
    let mut raw = webrtc_alone(rate, mode);
    let mut vad = VoiceActivityDetector::new(rate, mode).unwrap();
    let frames = call.audio.chunks_exact(vad_audio::frame_len(rate));
    for (frame, &label) in frames.zip(&call.labels) {
        alone.add(label, raw.is_voice_segment(frame).unwrap());
        ours.add(label, vad.classify(frame).is_speech());
    }
    (alone, ours)
}

/// All recordings back to back with their reference labels.
struct Call {
    labels: Vec<Reference>,
    audio: Vec<i16>,
}

/// The recordings as one call at `rate`, with noise at `snr_db` below each recording's
/// active speech level.
fn call(rate: u32, snr_db: Option<f64>) -> Call {
    let mut noise = Noise::new(7);
    let mut call = Call {
        labels: Vec::new(),
        audio: Vec::new(),
    };
    for name in ALL_RECORDINGS {
        let clean = vad_audio::recording(name);
        let whole_frames = clean.len() / vad_audio::frame_len(16000) * vad_audio::frame_len(16000);
        let clean = &clean[..whole_frames];
        call.labels.extend(vad_audio::reference_labels(
            &vad_audio::at_rate(clean, rate),
            rate,
        ));
        let noisy = match snr_db {
            Some(snr) => noise.added_to(clean, vad_audio::active_level_dbfs(clean) - snr),
            None => clean.to_vec(),
        };
        call.audio.extend(vad_audio::at_rate(&noisy, rate));
    }
    call
}

/// Share of frames called speech in a signal that holds none, and the longest run of them, by
/// our detector or (`alone`) by webrtc-vad alone.
fn false_speech(rate: u32, mode: Aggressiveness, audio: &[i16], alone: bool) -> (f64, usize) {
    let mut vad = VoiceActivityDetector::new(rate, mode).unwrap();
    let mut raw = webrtc_alone(rate, mode);
    let (mut speech, mut run, mut longest) = (0, 0, 0);
    let frames = audio.chunks_exact(vad_audio::frame_len(rate));
    let total = frames.len();
    for frame in frames {
        let said_speech = if alone {
            raw.is_voice_segment(frame).unwrap()
        } else {
            vad.classify(frame).is_speech()
        };
        if said_speech {
            speech += 1;
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    (speech as f64 / total as f64, longest)
}

#[test]
fn recall_and_false_alarms_per_mode() {
    let mut default_mode = Vec::new();
    println!(
        "| rate | noise | mode | webrtc-vad recall | webrtc-vad false alarms | ours recall | ours false alarms |"
    );
    println!("|---|---|---|---|---|---|---|");
    for rate in [16000, 8000] {
        for snr in NOISE_SNR_DB {
            let call = call(rate, snr);
            for (index, mode) in MODES.into_iter().enumerate() {
                let (alone, ours) = score(rate, mode, &call);
                let channel = if rate == 8000 {
                    "8 kHz μ-law"
                } else {
                    "16 kHz"
                };
                let noise = snr.map_or("clean".to_string(), |s| format!("SNR {s} dB"));
                println!(
                    "| {channel} | {noise} | {index} | {:.1} % | {:.1} % | {:.1} % | {:.1} % |",
                    100.0 * alone.recall(),
                    100.0 * alone.false_alarm_rate(),
                    100.0 * ours.recall(),
                    100.0 * ours.false_alarm_rate(),
                );
                if mode == Aggressiveness::default() {
                    default_mode.push((rate, snr, ours));
                }
            }
        }
    }
    for rate in [16000, 8000] {
        let labels = call(rate, None).labels;
        let count = |kind| labels.iter().filter(|&&l| l == kind).count();
        let (speech, non_speech) = (count(Reference::Speech), count(Reference::NonSpeech));
        println!("scored at {rate} Hz: {speech} speech, {non_speech} non-speech frames of 20 ms");
    }

    for (rate, snr, ours) in default_mode {
        let context = format!("{rate} Hz, SNR {snr:?}");
        // At 10 dB SNR the quieter speech frames are no louder than the noise (the background
        // check drops them): they are masked for any listener.
        let min_recall = if snr == Some(10.0) { 0.8 } else { 0.9 };
        assert!(
            ours.recall() >= min_recall,
            "{context}: recall {}",
            ours.recall()
        );
        // The clean 16 kHz recordings change background level from one to the next (−57 to
        // −47 dBFS, above the floor), and webrtc-vad takes the first few hundred ms of a
        // louder background for speech: docs/VAD.md.
        if rate == 8000 || snr.is_some() {
            let false_alarms = ours.false_alarm_rate();
            assert!(
                false_alarms <= 0.1,
                "{context}: false alarms {false_alarms}"
            );
        }
    }
}

#[test]
fn noise_and_tones_alone() {
    let seconds = 10;
    println!(
        "| signal | rate | ours 0 | ours 1 | ours 2 | ours 3 | webrtc-vad 0 | webrtc-vad 1 | webrtc-vad 2 | webrtc-vad 3 |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for rate in [16000, 8000] {
        let mut signals: Vec<(String, Vec<i16>)> = Vec::new();
        for level in [-55.0, -45.0, -40.0, -35.0, -30.0, -25.0, -20.0] {
            let white = Noise::new(3).white(16000 * seconds, level);
            signals.push((
                format!("white noise {level} dBFS"),
                vad_audio::at_rate(&white, rate),
            ));
        }
        let long = Duration::from_secs(seconds as u64);
        let tone_1k = sb_media::dtmf::dual_tone(1000.0, 1000.0, rate, long, -13.0, -200.0);
        signals.push(("1 kHz tone −13 dBm0".into(), tone_1k));
        let keys: Vec<i16> = "159*0#D"
            .chars()
            .flat_map(|digit| {
                let mut press = sb_media::dtmf::dtmf_tone(
                    digit,
                    rate,
                    Duration::from_millis(400),
                    -8.0,
                    2.0,
                    0.0,
                );
                press.extend(vec![0; rate as usize / 5]);
                press
            })
            .collect();
        signals.push(("DTMF keys, 400 ms each".into(), keys));
        for (name, audio) in signals {
            let cells: Vec<String> = [false, true]
                .into_iter()
                .flat_map(|alone| MODES.into_iter().map(move |mode| (alone, mode)))
                .map(|(alone, mode)| {
                    let (share, longest) = false_speech(rate, mode, &audio, alone);
                    format!("{:.1} % / {} ms", 100.0 * share, 20 * longest)
                })
                .collect();
            println!("| {name} | {rate} | {} |", cells.join(" | "));
            // No noise, tone or key may look like even 100 ms of speech to the default mode
            // (the end-of-turn detector wants 200 ms).
            let (_, longest) = false_speech(rate, Aggressiveness::default(), &audio, false);
            assert!(
                longest < 5,
                "{name} at {rate} Hz: {longest} frames in a row"
            );
        }
    }
}

/// Median of a non-empty list.
fn median(mut values: Vec<i64>) -> i64 {
    values.sort_unstable();
    values[values.len() / 2]
}

/// Each recording after 500 ms of hiss and before 2.5 s of it, with noise at `snr_db` under
/// its active level, at `rate`, with its reference speech span at that rate.
fn turn_inputs(rate: u32, snr_db: Option<f64>) -> Vec<((u64, u64), Vec<i16>)> {
    ALL_RECORDINGS
        .iter()
        .map(|name| {
            let clean = vad_audio::recording(name);
            let span = vad_audio::speech_span_ms(&vad_audio::at_rate(&clean, rate), rate);
            let mut noise = Noise::new(11);
            let mut audio = noise.white(8000, -60.0);
            audio.extend_from_slice(&clean);
            audio.extend(noise.white(40000, -60.0));
            if let Some(snr) = snr_db {
                let level = vad_audio::active_level_dbfs(&clean) - snr;
                audio = Noise::new(2).added_to(&audio, level);
            }
            (span, vad_audio::at_rate(&audio, rate))
        })
        .collect()
}

#[test]
fn turns_per_mode() {
    println!(
        "| rate | noise | mode | recordings with exactly one turn | median report delay after onset | median end after speech |"
    );
    println!("|---|---|---|---|---|---|");
    for rate in [16000, 8000] {
        for snr in NOISE_SNR_DB {
            let inputs = turn_inputs(rate, snr);
            for (index, mode) in MODES.into_iter().enumerate() {
                let config = TurnConfig {
                    vad_aggressiveness: mode,
                    ..TurnConfig::default()
                };
                let (mut one_turn, mut delays, mut ends) = (0, Vec::new(), Vec::new());
                for ((start, end), audio) in &inputs {
                    let mut detector =
                        TurnDetector::new(rate, config.clone(), TurnContext::General).unwrap();
                    let mut events = Vec::new();
                    for (i, frame) in audio.chunks_exact(vad_audio::frame_len(rate)).enumerate() {
                        if let Some(event) = detector
                            .push_frame(frame)
                            .filter(|e| !matches!(e, TurnEvent::MayEnd(_)))
                        {
                            events.push(((i as i64 + 1) * 20 - 500, event));
                        }
                    }
                    if let [
                        (started, TurnEvent::SpeechStarted { .. }),
                        (ended, TurnEvent::TurnEnded(_)),
                    ] = events.as_slice()
                    {
                        one_turn += 1;
                        delays.push(started - *start as i64);
                        ends.push(ended - *end as i64);
                    }
                }
                let channel = if rate == 8000 {
                    "8 kHz μ-law"
                } else {
                    "16 kHz"
                };
                let noise = snr.map_or("clean".to_string(), |s| format!("SNR {s} dB"));
                let total = inputs.len();
                let (delay, end) = if one_turn > 0 {
                    (median(delays), median(ends))
                } else {
                    (0, 0)
                };
                println!(
                    "| {channel} | {noise} | {index} | {one_turn}/{total} | {delay} ms | {end} ms |"
                );
                if mode == Aggressiveness::default() {
                    assert_eq!(one_turn, total, "{channel} {noise}");
                }
            }
        }
    }
}
