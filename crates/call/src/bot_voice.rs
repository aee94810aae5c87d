//! What the bot says on a call: a dialplan's prompt (recorded sounds and text to speak) fed to
//! the media session in order, text synthesized sentence by sentence so the first sentence plays
//! while the rest is made, and a transcript line for each text saying what the caller heard.

use std::collections::VecDeque;
use std::future::pending;

use sb_dialog::PromptItem;
use sb_media::prompt::PromptCache;
use sb_speech::tts::{SpeechStream, SpokenSentence, TtsError, TtsPool};
use serde_json::{Value, json};

use crate::media_session::MediaSession;

/// Something the bot's voice reports for the call's timeline.
#[derive(Debug, Clone, PartialEq)]
pub enum VoiceNote {
    /// A prompt file could not be played.
    PromptError { file: String, error: String },
    /// Text could not be spoken.
    TtsError { text: String, error: String },
    /// Text was skipped because speech synthesis is off.
    TtsUnavailable { text: String },
}

/// A text the bot speaks, for the transcript once it has been played (or cut short).
#[derive(Debug, Clone, PartialEq)]
pub struct SpokenLine {
    /// The whole text.
    pub text: String,
    /// When it started playing, in ms from the answer.
    pub start_ms: u64,
    /// When it stopped playing, in ms from the answer.
    pub end_ms: u64,
    /// Set when the caller cut it short: how much was played.
    pub interrupted_after_ms: Option<u64>,
    /// Details for the transcript: the sentences heard in full.
    pub data: Value,
}

/// A text being spoken: its sentences' places in the played-sample count.
#[derive(Debug)]
struct LineInProgress {
    text: String,
    /// (sentence, first sample, one past the last sample) in `MediaSession::played_samples`.
    sentences: Vec<(String, u64, u64)>,
    /// All sentences are queued (the synthesis stream ended).
    complete: bool,
}

/// Plays a dialplan's prompts on one call (see the module doc).
pub struct BotVoice<'a> {
    tts: Option<TtsPool>,
    prompts: &'a PromptCache,
    items: VecDeque<PromptItem>,
    speaking: Option<SpeechStream>,
    lines: Vec<LineInProgress>,
    notes: Vec<VoiceNote>,
}

impl<'a> BotVoice<'a> {
    /// A voice that speaks with `tts` (None: text is skipped) and plays sounds from `prompts`.
    pub fn new(tts: Option<TtsPool>, prompts: &'a PromptCache) -> Self {
        BotVoice {
            tts,
            prompts,
            items: VecDeque::new(),
            speaking: None,
            lines: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Queues a prompt after whatever is playing; sounds go to the media session at once, text
    /// is synthesized in order. Returns false if nothing at all will play.
    pub fn play(&mut self, items: Vec<PromptItem>, media: &mut MediaSession) -> bool {
        self.items.extend(items);
        self.advance(media);
        media.is_playing()
    }

    /// Waits for the next synthesized sentence of the text being spoken (pending forever when
    /// no text is being synthesized, so it can sit in a `select!`).
    pub async fn next_sentence(&mut self) -> Option<Result<SpokenSentence, TtsError>> {
        match self.speaking.as_mut() {
            Some(stream) => stream.next().await,
            None => pending().await,
        }
    }

    /// Takes a sentence (or the end of the text) from [`BotVoice::next_sentence`].
    pub fn sentence(
        &mut self,
        sentence: Option<Result<SpokenSentence, TtsError>>,
        media: &mut MediaSession,
    ) {
        let line = self.lines.last_mut();
        match (sentence, line) {
            (Some(Ok(s)), Some(line)) => {
                let start = media.played_samples() + media.queued_samples() as u64;
                let end = start + s.samples.len() as u64;
                line.sentences.push((s.text, start, end));
                media.play([s.samples]);
            }
            (Some(Err(e)), line) => {
                let text = line.map(|l| l.text.clone()).unwrap_or_default();
                self.notes.push(VoiceNote::TtsError {
                    text,
                    error: e.to_string(),
                });
            }
            (None, line) => {
                if let Some(line) = line {
                    line.complete = true;
                }
                self.speaking = None;
                self.advance(media);
            }
            (Some(Ok(_)), None) => {}
        }
    }

    /// Stops at once (barge-in, or the call ends): returns the lines the caller heard, the last
    /// one marked as cut short.
    pub fn stop(&mut self, media: &mut MediaSession, now_ms: u64) -> Vec<SpokenLine> {
        let played = media.played_samples();
        let rate = u64::from(media.sample_rate());
        media.stop_playback();
        self.items.clear();
        self.speaking = None;
        let lines = std::mem::take(&mut self.lines);
        lines
            .into_iter()
            .filter_map(|line| {
                let first = line.sentences.first()?.1;
                if first >= played {
                    return None;
                }
                let last = line.sentences.last().map_or(first, |s| s.2);
                let cut = !line.complete || last > played;
                let heard_ms = (played.min(last) - first) * 1000 / rate;
                let start_ms = now_ms.saturating_sub((played - first) * 1000 / rate);
                Some(SpokenLine {
                    data: heard(&line, played),
                    text: line.text,
                    start_ms,
                    end_ms: start_ms + heard_ms,
                    interrupted_after_ms: cut.then_some(heard_ms),
                })
            })
            .collect()
    }

    /// Lines played to their end by now (call on every tick).
    pub fn finished_lines(&mut self, media: &MediaSession, now_ms: u64) -> Vec<SpokenLine> {
        let played = media.played_samples();
        let rate = u64::from(media.sample_rate());
        let mut done = Vec::new();
        while let Some(line) = self.lines.first() {
            let Some(&(_, first, _)) = line.sentences.first() else {
                break;
            };
            let last = line.sentences.last().map_or(first, |s| s.2);
            if !line.complete || last > played {
                break;
            }
            let line = self.lines.remove(0);
            let end_ms = now_ms.saturating_sub((played - last) * 1000 / rate);
            done.push(SpokenLine {
                data: heard(&line, played),
                text: line.text,
                start_ms: end_ms.saturating_sub((last - first) * 1000 / rate),
                end_ms,
                interrupted_after_ms: None,
            });
        }
        done
    }

    /// Timeline notes since the last call.
    pub fn take_notes(&mut self) -> Vec<VoiceNote> {
        std::mem::take(&mut self.notes)
    }

    /// Moves through the queued items until a text has to be synthesized.
    fn advance(&mut self, media: &mut MediaSession) {
        while self.speaking.is_none() {
            let Some(item) = self.items.pop_front() else {
                break;
            };
            match item {
                PromptItem::Sound(path) => match self.prompts.get(&path, media.sample_rate()) {
                    Ok(audio) => media.play([audio]),
                    Err(e) => self.notes.push(VoiceNote::PromptError {
                        file: path.display().to_string(),
                        error: e.to_string(),
                    }),
                },
                PromptItem::Say(text) => match &self.tts {
                    Some(tts) => {
                        self.speaking = Some(tts.speak(&text, media.sample_rate()));
                        self.lines.push(LineInProgress {
                            text,
                            sentences: Vec::new(),
                            complete: false,
                        });
                    }
                    None => self.notes.push(VoiceNote::TtsUnavailable { text }),
                },
            }
        }
        media.set_more_coming(self.speaking.is_some());
    }
}

/// The sentences of `line` played in full by sample `played`, as transcript details.
fn heard(line: &LineInProgress, played: u64) -> Value {
    let heard: Vec<&str> = line
        .sentences
        .iter()
        .filter(|(_, _, end)| *end <= played)
        .map(|(text, _, _)| text.as_str())
        .collect();
    json!({"sentences": line.sentences.len(), "heard": heard.join(" ")})
}
