//! Personal data in what the API shows: transcript lines with their `pii` spans (masked text
//! for roles without `view_pii`), any JSON (event data, live updates) with its strings masked,
//! and the spans of a whole transcript for bleeping the recording. Detection is
//! `crate::redaction`.

use sb_store::{CallFilter, TranscriptLine};
use serde::Serialize;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::redaction::{self, PiiKind};

/// One span as the API shows it: character offsets in the text returned, and the estimated
/// time it was spoken.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct PiiView {
    start: usize,
    end: usize,
    kind: PiiKind,
    start_ms: u64,
    end_ms: u64,
}

/// A transcript line's text as `clear` (with `view_pii`) or masked, and its spans.
pub(crate) fn line_text(line: &TranscriptLine, clear: bool) -> (String, Vec<PiiView>) {
    let found = redaction::detect(&line.text);
    let chars = line.text.chars().count();
    // Times come from the spans in the original text, which is what was spoken.
    let times: Vec<(u64, u64)> = found
        .iter()
        .map(|s| redaction::span_times(s, chars, line.start_ms, line.end_ms))
        .collect();
    let (text, spans) = if clear || found.is_empty() {
        (line.text.clone(), found)
    } else {
        redaction::mask(&line.text, &found)
    };
    let views = spans
        .into_iter()
        .zip(times)
        .map(|(s, (start_ms, end_ms))| PiiView {
            start: s.start,
            end: s.end,
            kind: s.kind,
            start_ms,
            end_ms,
        })
        .collect();
    (text, views)
}

/// Masks personal data in every string of `value`.
pub(crate) fn mask_json(value: &mut Value) {
    match value {
        Value::String(text) => {
            let found = redaction::detect(text);
            if !found.is_empty() {
                *text = redaction::mask(text, &found).0;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_json),
        Value::Object(fields) => fields.values_mut().for_each(mask_json),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// A text search for personal data (`q=4111…`) would tell a role without `view_pii` which
/// calls hold it, so it is refused (403) for them.
pub(crate) fn check_search(filter: &CallFilter, clear: bool) -> Result<(), ApiError> {
    match &filter.text {
        Some(words) if !clear && !redaction::detect(words).is_empty() => Err(ApiError::forbidden(
            "searching transcripts for personal data (card numbers, long numbers, e-mail \
             addresses) needs the view_pii permission",
        )
        .with_detail(json!({ "parameter": "q" }))),
        _ => Ok(()),
    }
}

/// The times (ms from the answer, the recording's time base) of every span in `lines`.
pub(crate) fn recording_spans(lines: &[TranscriptLine]) -> Vec<(u64, u64)> {
    lines
        .iter()
        .flat_map(|line| line_text(line, true).1)
        .map(|span| (span.start_ms, span.end_ms))
        .collect()
}

#[cfg(test)]
mod tests {
    use sb_store::Speaker;

    use super::*;

    fn line(text: &str) -> TranscriptLine {
        TranscriptLine {
            call_id: "c".into(),
            speaker: Speaker::Caller,
            start_ms: 1000,
            end_ms: 5000,
            text: text.into(),
            confidence: None,
            interrupted_after_ms: None,
            data: json!({}),
        }
    }

    #[test]
    fn masked_lines_give_offsets_in_the_masked_text_and_times_of_the_original() {
        // 40 characters over 4 s: the card is characters 8..24, so 1.8 s to 3.4 s.
        let l = line("card is 4111111111111111 and that is it.");
        let (clear, spans) = line_text(&l, true);
        assert_eq!(clear, l.text);
        assert_eq!((spans[0].start, spans[0].end), (8, 24));
        let (masked, spans) = line_text(&l, false);
        assert_eq!(masked, "card is [card ••••1111] and that is it.");
        assert_eq!((spans[0].start, spans[0].end), (8, 23));
        assert_eq!((spans[0].start_ms, spans[0].end_ms), (1800, 3400));
        assert_eq!(recording_spans(&[l]), [(1800, 3400)]);
    }

    #[test]
    fn searching_for_personal_data_needs_view_pii() {
        let search = |q: &str| CallFilter {
            text: Some(q.into()),
            ..CallFilter::default()
        };
        assert!(check_search(&search("4111 1111 1111 1111"), false).is_err());
        assert!(check_search(&search("jane@example.com"), false).is_err());
        assert!(check_search(&search("4111 1111 1111 1111"), true).is_ok());
        assert!(check_search(&search("order 4512"), false).is_ok());
        assert!(check_search(&CallFilter::default(), false).is_ok());
    }

    #[test]
    fn json_strings_are_masked_everywhere() {
        let mut v = json!({"digits": "4111111111111111", "n": 5, "list": ["mail a@b.example"]});
        mask_json(&mut v);
        assert_eq!(
            v,
            json!({"digits": "[card ••••1111]", "n": 5, "list": ["mail [email]"]})
        );
    }
}
