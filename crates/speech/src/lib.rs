//! Speech for Switchboard: voice activity detection, end-of-turn detection, and the worker
//! pools that run Whisper (speech to text) and piper (text to speech) for every call.

pub mod asr;
mod asr_queue;
pub mod audio_file;
pub mod models;
mod phonemes;
mod recognizer;
mod speech_energy;
pub mod text;
pub mod tts;
mod tts_cache;
pub mod turn;
pub mod vad;
