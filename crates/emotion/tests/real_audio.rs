//! The tracker on real and synthesized speech: the LibriVox recordings of the Debian package
//! pocketsphinx-testdata (one calm male reader), the same recordings made louder and higher with
//! sox, and espeak-ng speaking at normal and raised settings. A test whose tool or data is
//! missing says so and passes (`make test` installs them: scripts/install-deps.sh).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use sb_emotion::{
    Cue, DEFAULT_LEXICON_PATH, FrustrationConfig, FrustrationReading, FrustrationTracker,
    SentimentLexicon, UtteranceObservation,
};

const LIBRIVOX: &str = "/usr/share/pocketsphinx/test/data/librivox";

/// Sentences a caller might say, spoken by espeak-ng.
const SENTENCES: [&str; 4] = [
    "Hello, I am calling about my order from last week.",
    "It was supposed to arrive on Monday but it is not here yet.",
    "Can you tell me where the parcel is right now?",
    "I have been waiting for two weeks for this delivery.",
];

fn read_wav(path: &Path) -> (Vec<i16>, u32) {
    let mut reader =
        hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let rate = reader.spec().sample_rate;
    (reader.samples::<i16>().map(Result::unwrap).collect(), rate)
}

fn tool_available(name: &str) -> bool {
    let found = Command::new(name).arg("--version").output().is_ok();
    if !found {
        eprintln!("skipped: {name} is not installed");
    }
    found
}

fn scratch_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sb-emotion-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(command: &mut Command) {
    let out = command.output().expect("tool runs");
    assert!(
        out.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `text` spoken by espeak-ng with `settings` (pitch, amplitude, words per minute), as an 8 kHz
/// phone-band file.
fn espeak(
    dir: &Path,
    name: &str,
    text: &str,
    (pitch, amplitude, wpm): (u32, u32, u32),
) -> (Vec<i16>, u32) {
    let wide = dir.join(format!("{name}.22k.wav"));
    let phone = dir.join(format!("{name}.wav"));
    run(Command::new("espeak-ng")
        .args([
            "-v",
            "en-us",
            "-p",
            &pitch.to_string(),
            "-a",
            &amplitude.to_string(),
        ])
        .args(["-s", &wpm.to_string(), "-w"])
        .arg(&wide)
        .arg(text));
    run(Command::new("sox")
        .args(["-V1", "-G"])
        .arg(&wide)
        .args(["-r", "8000", "-b", "16"])
        .arg(&phone));
    read_wav(&phone)
}

fn observe(
    tracker: &mut FrustrationTracker,
    audio: &(Vec<i16>, u32),
    text: &str,
) -> FrustrationReading {
    tracker.observe(&UtteranceObservation {
        samples: &audio.0,
        sample_rate: audio.1,
        text,
        ..UtteranceObservation::default()
    })
}

/// The LibriVox recordings with their transcripts, in file order.
fn librivox() -> Option<Vec<(PathBuf, String)>> {
    let transcription = std::fs::read_to_string(Path::new(LIBRIVOX).join("transcription")).ok();
    let Some(transcription) = transcription else {
        eprintln!("skipped: {LIBRIVOX} is missing (Debian package pocketsphinx-testdata)");
        return None;
    };
    let mut items: Vec<(PathBuf, String)> = transcription
        .lines()
        .filter_map(|line| {
            let (text, id) = line.rsplit_once(" (")?;
            let id = id.trim_end_matches(')');
            Some((
                Path::new(LIBRIVOX).join(format!("{id}.wav")),
                text.to_string(),
            ))
        })
        .filter(|(path, _)| path.exists())
        .collect();
    items.sort();
    Some(items)
}

#[test]
fn a_calm_reader_is_not_flagged_and_his_pitch_is_stable() {
    let Some(items) = librivox() else { return };
    assert_eq!(items.len(), 5);
    let mut tracker = FrustrationTracker::new(FrustrationConfig::default());
    let mut pitches = Vec::new();
    for (path, text) in &items {
        let reading = observe(&mut tracker, &read_wav(path), text);
        let m = &reading.acoustic.measures;
        let pitch = m.pitch_hz.expect("voiced");
        assert!((70.0..140.0).contains(&pitch), "a male reader: {pitch} Hz");
        assert!((2.5..6.0).contains(&m.speaking_rate.unwrap()), "{m:?}");
        assert!(
            reading.score < 0.3,
            "calm reading scored {}: {reading:?}",
            reading.score
        );
        assert!(
            reading.cues.iter().all(|c| !c.is_acoustic()),
            "{:?}",
            reading.cues
        );
        pitches.push(pitch);
    }
    let mean = pitches.iter().sum::<f32>() / pitches.len() as f32;
    for p in pitches {
        assert!(
            (12.0 * (p / mean).log2()).abs() < 3.0,
            "{p} Hz vs mean {mean} Hz"
        );
    }
}

#[test]
fn the_same_reader_louder_and_higher_is_a_raised_voice() {
    let Some(items) = librivox() else { return };
    if !tool_available("sox") {
        return;
    }
    let dir = scratch_dir("librivox");
    let mut tracker = FrustrationTracker::new(FrustrationConfig::default());
    for (path, text) in &items[..2] {
        observe(&mut tracker, &read_wav(path), text);
    }
    let (path, text) = &items[2];
    let calm = observe(&mut tracker, &read_wav(path), text);
    assert!(!calm.cues.contains(&Cue::RaisedVoice), "{calm:?}");
    // +8 dB and +4 semitones: what an annoyed caller does to a sentence.
    let raised = dir.join("raised.wav");
    run(Command::new("sox")
        .arg("-V1")
        .arg(path)
        .arg(&raised)
        .args(["gain", "8", "pitch", "400"]));
    let reading = observe(&mut tracker, &read_wav(&raised), text);
    let deviation = reading.acoustic.vs_baseline.clone().unwrap();
    assert!(
        (6.0..10.0).contains(&deviation.energy_db.unwrap()),
        "{deviation:?}"
    );
    assert!(
        (2.5..5.5).contains(&deviation.pitch_semitones.unwrap()),
        "{deviation:?}"
    );
    assert_eq!(reading.cues.first(), Some(&Cue::RaisedVoice), "{reading:?}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn espeak_raised_settings_are_detected_and_normal_ones_are_not() {
    if !tool_available("espeak-ng") || !tool_available("sox") {
        return;
    }
    let dir = scratch_dir("espeak");
    let normal = (50, 100, 160);
    let raised = (80, 190, 220);
    let mut tracker = FrustrationTracker::new(FrustrationConfig::default());
    for (i, text) in SENTENCES[..2].iter().enumerate() {
        let first = observe(
            &mut tracker,
            &espeak(&dir, &format!("base{i}"), text, normal),
            text,
        );
        assert!(first.cues.is_empty(), "{first:?}");
    }
    assert!(tracker.baseline_complete());
    let text = SENTENCES[2];
    let same = observe(&mut tracker, &espeak(&dir, "normal", text, normal), text);
    assert!(same.cues.is_empty() && same.score < 0.2, "{same:?}");
    let text = SENTENCES[3];
    let loud = observe(&mut tracker, &espeak(&dir, "raised", text, raised), text);
    assert!(loud.cues.contains(&Cue::RaisedVoice), "{loud:?}");
    assert!(loud.cues.contains(&Cue::FastSpeech), "{loud:?}");
    assert!(loud.score > 0.6 && loud.trend > 0.0, "{loud:?}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn with_the_vader_lexicon_negative_wording_scores_higher() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(DEFAULT_LEXICON_PATH);
    let Ok(lexicon) = SentimentLexicon::load(&path) else {
        eprintln!("skipped: {} is missing (models/fetch.sh)", path.display());
        return;
    };
    let config = FrustrationConfig {
        lexicon: Some(Arc::new(lexicon)),
        ..FrustrationConfig::default()
    };
    let score = |text: &str| {
        FrustrationTracker::new(config.clone())
            .observe(&UtteranceObservation {
                text,
                ..UtteranceObservation::default()
            })
            .score
    };
    let neutral = [
        "I would like to check the status of my order",
        "can you help me change my delivery address",
        "I need to cancel my order please",
    ];
    let negative = [
        "this is ridiculous, my parcel is lost again",
        "your service is terrible and I am very angry",
        "I am not happy at all with this awful delivery",
    ];
    let worst_neutral = neutral.iter().map(|t| score(t)).fold(0.0, f32::max);
    let best_negative = negative.iter().map(|t| score(t)).fold(1.0, f32::min);
    assert!(worst_neutral < 0.1, "neutral scored {worst_neutral}");
    assert!(best_negative > 0.3, "negative scored {best_negative}");
    assert!(score("I am not happy") > score("I am happy"));
}
