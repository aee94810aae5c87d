//! Text to IPA phonemes with espeak-ng, clause by clause. espeak-rs's own phonemizer drops the
//! punctuation between clauses, so piper ran "calling. Your" together without a pause; here
//! each clause is phonemized alone and its punctuation put back, as piper itself does.
//!
//! espeak-ng keeps global state and is not thread-safe: every call goes through one lock.

use crate::text::split_clauses;
use std::ffi::{CStr, CString, c_char, c_void};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The espeak-ng data directory it was initialised with (`None`: not yet initialised).
static ESPEAK: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Initialises espeak-ng once for the process from `data_dir` (the directory that holds
/// `espeak-ng-data`); later calls with another directory keep the first one.
pub(crate) fn init(data_dir: &Path) -> Result<(), String> {
    let mut initialised = lock();
    if let Some(first) = initialised.as_ref() {
        if first != data_dir {
            tracing::warn!(
                first = %first.display(),
                ignored = %data_dir.display(),
                "espeak-ng is initialised once per process; keeping the first data directory"
            );
        }
        return Ok(());
    }
    if !data_dir.join("espeak-ng-data").is_dir() {
        return Err(format!(
            "{} holds no espeak-ng-data directory (install espeak-ng-data)",
            data_dir.display()
        ));
    }
    let path = CString::new(data_dir.as_os_str().as_encoded_bytes())
        .map_err(|_| "espeak-ng data path contains a NUL byte".to_string())?;
    // SAFETY: the path outlives the call, and the lock keeps other threads out of espeak.
    let rate = unsafe {
        espeak_rs_sys::espeak_Initialize(
            espeak_rs_sys::espeak_AUDIO_OUTPUT_AUDIO_OUTPUT_RETRIEVAL,
            0,
            path.as_ptr(),
            espeak_rs_sys::espeakINITIALIZE_DONT_EXIT as i32,
        )
    };
    if rate <= 0 {
        return Err(format!(
            "espeak-ng failed to initialise from {} (code {rate})",
            data_dir.display()
        ));
    }
    *initialised = Some(data_dir.to_path_buf());
    Ok(())
}

/// The phonemes of one sentence for `voice` (an espeak voice such as "en-us"), with clause
/// punctuation kept so the voice pauses there.
pub(crate) fn phonemize(sentence: &str, voice: &str) -> Result<String, String> {
    let initialised = lock();
    if initialised.is_none() {
        return Err("espeak-ng is not initialised".into());
    }
    let voice_name =
        CString::new(voice).map_err(|_| "voice name contains a NUL byte".to_string())?;
    // SAFETY: espeak is initialised and the lock is held.
    let status = unsafe { espeak_rs_sys::espeak_SetVoiceByName(voice_name.as_ptr()) };
    if status != espeak_rs_sys::espeak_ERROR_EE_OK {
        return Err(format!("espeak-ng has no voice {voice:?}"));
    }
    let mut phonemes = String::new();
    for clause in split_clauses(sentence) {
        let clause_phonemes = clause_to_phonemes(&clause.text)?;
        if clause_phonemes.is_empty() {
            continue;
        }
        if !phonemes.is_empty() && !phonemes.ends_with(' ') {
            phonemes.push(' ');
        }
        phonemes.push_str(&clause_phonemes);
        if let Some(mark) = clause.punctuation {
            phonemes.push(mark);
        }
    }
    Ok(phonemes.trim_end().to_string())
}

/// espeak's phonemes for text without clause breaks (it may still return it in pieces).
/// Must be called with the lock held.
fn clause_to_phonemes(text: &str) -> Result<String, String> {
    let text = CString::new(text).map_err(|_| "text contains a NUL byte".to_string())?;
    let mut pieces = Vec::new();
    let mut cursor: *const c_char = text.as_ptr();
    while !cursor.is_null() {
        // SAFETY: `cursor` points into `text`, which outlives the loop; espeak advances it and
        // sets it to null at the end. The returned string is valid until the next call.
        let piece = unsafe {
            let result = espeak_rs_sys::espeak_TextToPhonemes(
                (&mut cursor as *mut *const c_char).cast::<*const c_void>(),
                espeak_rs_sys::espeakCHARS_UTF8 as i32,
                espeak_rs_sys::espeakINITIALIZE_PHONEME_IPA as i32,
            );
            if result.is_null() {
                break;
            }
            CStr::from_ptr(result).to_string_lossy().into_owned()
        };
        let piece = strip_language_switches(&piece);
        let piece = piece.trim();
        if !piece.is_empty() {
            pieces.push(piece.to_string());
        }
    }
    Ok(pieces.join(" "))
}

/// Removes the "(en)" style markers espeak inserts around words of another language.
fn strip_language_switches(phonemes: &str) -> String {
    let mut out = String::with_capacity(phonemes.len());
    let mut depth = 0usize;
    for c in phonemes.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

fn lock() -> std::sync::MutexGuard<'static, Option<PathBuf>> {
    ESPEAK.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clause_punctuation_survives_and_codes_are_spelled() {
        init(Path::new("/usr/lib/x86_64-linux-gnu")).expect("apt-get install espeak-ng-data");
        let phonemes = phonemize("Mr. Smith, your total is 3.5 dollars.", "en-us").unwrap();
        assert!(phonemes.starts_with("mˈɪstɚ smˈɪθ, "), "{phonemes}");
        assert!(phonemes.contains("θɹˈiː pɔɪnt fˈaɪv"), "{phonemes}");
        assert!(phonemes.ends_with('.'), "{phonemes}");
        let code = crate::text::spell_codes("Order A-1234 has shipped.");
        let phonemes = phonemize(&code, "en-us").unwrap();
        assert!(
            phonemes.contains("ˈeɪ, wˈʌn tˈuː θɹˈiː fˈoːɹ hɐz"),
            "{phonemes}"
        );
        assert!(phonemize("Hi.", "no-such-voice").is_err());
    }

    #[test]
    fn language_switch_markers_are_removed() {
        assert_eq!(strip_language_switches("(en)hˈɛloʊ(ar) bik"), "hˈɛloʊ bik");
    }
}
