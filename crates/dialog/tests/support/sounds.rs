//! A sounds folder for test dialplans, and parsing with it.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use sb_dialog::{Dialplan, DialplanErrors};

/// A sounds folder holding an (empty) WAV file for each stem the tests use.
pub fn sounds_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("sb-dialog-sounds-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for stem in [
            "welcome", "menu", "invalid", "no_input", "enter", "thanks", "goodbye", "open",
            "closed", "hold", "a", "b",
        ] {
            std::fs::write(dir.join(format!("{stem}.wav")), b"").unwrap();
        }
        dir
    })
}

/// Parses a dialplan written in a test, named `test.toml` in errors.
pub fn parse(text: &str) -> Result<Dialplan, DialplanErrors> {
    Dialplan::parse(text, Path::new("test.toml"), sounds_dir())
}
