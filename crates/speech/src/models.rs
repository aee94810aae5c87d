//! Where the speech models live: the layout `models/fetch.sh` produces, so the binary's defaults
//! and the tests agree on file names.

use std::path::{Path, PathBuf};

/// Paths of the model files inside one models directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelPaths {
    /// Whisper model in ggml format.
    pub whisper: PathBuf,
    /// Piper voice (`.onnx`, with its `.onnx.json` beside it).
    pub voice: PathBuf,
    /// The ONNX Runtime shared library piper runs on.
    pub onnxruntime: PathBuf,
}

impl ModelPaths {
    /// The files `models/fetch.sh` writes into `dir`.
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            whisper: dir.join("ggml-tiny.en.bin"),
            voice: dir.join("piper").join("en_US-joe-medium.onnx"),
            onnxruntime: dir.join("onnxruntime").join("libonnxruntime.so"),
        }
    }

    /// The files that are not there (the voice's `.onnx.json` included).
    pub fn missing(&self) -> Vec<PathBuf> {
        let voice_config = voice_config_path(&self.voice);
        [&self.whisper, &self.voice, &voice_config, &self.onnxruntime]
            .into_iter()
            .filter(|path| !path.is_file())
            .cloned()
            .collect()
    }
}

/// The piper configuration that belongs to a voice: `<voice>.onnx.json`.
pub fn voice_config_path(voice: &Path) -> PathBuf {
    let mut name = voice.as_os_str().to_owned();
    name.push(".json");
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_the_fetch_script() {
        let paths = ModelPaths::in_dir(Path::new("/m"));
        assert_eq!(paths.whisper, Path::new("/m/ggml-tiny.en.bin"));
        assert_eq!(
            voice_config_path(&paths.voice),
            Path::new("/m/piper/en_US-joe-medium.onnx.json")
        );
        assert_eq!(paths.missing().len(), 4);
    }
}
