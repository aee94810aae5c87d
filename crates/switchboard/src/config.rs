//! The one TOML configuration file. Every key is optional; relative paths are resolved against
//! the directory of the config file.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// SIP listeners.
    pub sip: SipConfig,
    /// Who may send us calls.
    pub trunk: TrunkConfig,
    /// RTP and codecs.
    pub media: MediaConfig,
    /// Dialplans.
    pub dialplans: DialplanConfig,
    /// Database.
    pub store: StoreConfig,
    /// Recordings.
    pub recordings: RecordingConfig,
    /// Speech recognition, synthesis and turn taking.
    pub speech: SpeechConfig,
    /// Logging.
    pub log: LogConfig,
    /// Knowledge base.
    pub kb: KbConfig,
    /// The web server: REST API, live events, health.
    pub web: sb_web::WebConfig,
    /// `[[user]]`: people who sign in to the API.
    pub user: Vec<sb_web::UserConfig>,
    /// `[[token]]`: API tokens for integrations.
    pub token: Vec<sb_web::TokenConfig>,
    /// `[scorecard]`: the QA scorecard (absent: the built-in one).
    pub scorecard: Option<sb_web::ScorecardConfig>,
    /// `[[queue]]` tables: where callers wait for agents.
    #[serde(rename = "queue")]
    pub queues: Vec<sb_center::QueueConfig>,
    /// `[[agent]]` tables: people whose SIP phones register here.
    #[serde(rename = "agent")]
    pub agents: Vec<sb_center::AgentConfig>,
    /// Directory relative paths are resolved against (not a key in the file).
    #[serde(skip)]
    pub base_dir: PathBuf,
}

/// `[sip]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SipConfig {
    /// Address for UDP (and TCP) SIP.
    pub listen: SocketAddr,
    /// Also listen on TCP at the same address.
    pub tcp: bool,
    /// Address written into Via/Contact/SDP; defaults to the listen address.
    pub public_ip: Option<IpAddr>,
    /// User-Agent / Server header.
    pub user_agent: String,
    /// Digest realm agents' phones register in (their user name is the agent id).
    pub realm: String,
}

/// `[trunk]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrunkConfig {
    /// Networks allowed to send INVITEs, e.g. `["127.0.0.0/8", "192.0.2.10"]`; empty = anyone.
    pub allowed_sources: Vec<String>,
    /// Digest user name the trunk must authenticate with (with `password`).
    pub username: Option<String>,
    /// Digest password.
    pub password: Option<String>,
    /// Digest realm.
    pub realm: Option<String>,
}

/// `[media]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MediaConfig {
    /// RTP port range.
    pub rtp_ports: [u16; 2],
    /// Accepted codecs, preferred first: PCMU, PCMA, G722.
    pub codecs: Vec<String>,
    /// Calls longer than this are ended.
    pub max_call_seconds: u64,
    /// Calls without RTP for this long are ended.
    pub rtp_timeout_seconds: u64,
}

/// `[dialplans]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DialplanConfig {
    /// Directory of `*.toml` dialplans.
    pub dir: PathBuf,
    /// Directory of prompts.
    pub sounds_dir: PathBuf,
    /// Dialplan for numbers without a route.
    pub default: String,
    /// Dialled number → dialplan name.
    pub routes: HashMap<String, String>,
}

/// `[store]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// `sqlite:PATH` or `postgres://…`.
    pub url: String,
}

/// `[recordings]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecordingConfig {
    /// Directory for `<call id>.wav`.
    pub dir: PathBuf,
}

/// `[speech]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SpeechConfig {
    /// Load the models and run `say`/`listen`; when false those steps take their fallback paths.
    pub enabled: bool,
    /// Whisper model in ggml format (made by `models/fetch.sh`).
    pub whisper_model: PathBuf,
    /// Piper voice (`.onnx`, with its `.onnx.json` beside it).
    pub piper_voice: PathBuf,
    /// The onnxruntime shared library piper runs on.
    pub onnxruntime: PathBuf,
    /// Directory holding `espeak-ng-data` (the phonemizer's dictionaries).
    pub espeak_data: PathBuf,
    /// Recognitions run at once (one thread each); 0 = one per CPU core.
    pub asr_workers: usize,
    /// Recognitions waiting at most; more are refused (the dialplan's `on_overload` path).
    pub asr_queue: usize,
    /// A recognition not done within this many milliseconds (queueing included) is given up.
    pub asr_timeout_ms: u64,
    /// Syntheses run at once.
    pub tts_workers: usize,
    /// Synthesized sentences are kept here and reused (`""` = no cache).
    pub tts_cache_dir: PathBuf,
    /// Caller speech must last this long to interrupt the bot (barge-in) or count as a turn.
    pub barge_in_min_speech_ms: u64,
    /// Silence that ends the caller's turn, by what the bot asked (a `listen` step may override).
    pub end_silence_ms: u64,
    /// … after a yes/no question.
    pub yes_no_end_silence_ms: u64,
    /// … while the caller reads out digits (an order or card number).
    pub digits_end_silence_ms: u64,
    /// Sentiment lexicon for the frustration score (made by `models/fetch.sh`); when missing,
    /// the score goes without the sentiment cue.
    pub sentiment_lexicon: PathBuf,
}

/// `[kb]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KbConfig {
    /// Directory of the knowledge base's `*.toml` files.
    pub dir: PathBuf,
    /// The sentence-embedding model (made by `models/fetch.sh`); missing = lexical matching only.
    pub embedding_model: PathBuf,
    /// Where the examples' embeddings are cached between runs.
    pub cache_dir: PathBuf,
}

/// `[log]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `error`, `warn`, `info`, `debug` or a tracing filter.
    pub level: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            sip: SipConfig::default(),
            trunk: TrunkConfig::default(),
            media: MediaConfig::default(),
            dialplans: DialplanConfig::default(),
            store: StoreConfig::default(),
            recordings: RecordingConfig::default(),
            speech: SpeechConfig::default(),
            log: LogConfig::default(),
            kb: KbConfig::default(),
            web: sb_web::WebConfig::default(),
            user: Vec::new(),
            token: Vec::new(),
            scorecard: None,
            queues: Vec::new(),
            agents: Vec::new(),
            base_dir: PathBuf::from("."),
        }
    }
}

impl Default for SipConfig {
    fn default() -> Self {
        SipConfig {
            listen: "127.0.0.1:5060".parse().expect("literal"),
            tcp: true,
            public_ip: None,
            user_agent: format!("Switchboard/{}", env!("CARGO_PKG_VERSION")),
            realm: "switchboard".into(),
        }
    }
}

impl Default for MediaConfig {
    fn default() -> Self {
        MediaConfig {
            rtp_ports: [20000, 29999],
            codecs: vec!["PCMU".into(), "PCMA".into(), "G722".into()],
            max_call_seconds: 3600,
            rtp_timeout_seconds: 30,
        }
    }
}

impl Default for DialplanConfig {
    fn default() -> Self {
        DialplanConfig {
            dir: "dialplans".into(),
            sounds_dir: "sounds".into(),
            default: "hotline".into(),
            routes: HashMap::new(),
        }
    }
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            url: "sqlite:var/switchboard.db".into(),
        }
    }
}

impl Default for RecordingConfig {
    fn default() -> Self {
        RecordingConfig {
            dir: "var/recordings".into(),
        }
    }
}

impl Default for SpeechConfig {
    fn default() -> Self {
        SpeechConfig {
            enabled: true,
            whisper_model: "models/ggml-tiny.en.bin".into(),
            piper_voice: "models/piper/en_US-joe-medium.onnx".into(),
            onnxruntime: "models/onnxruntime/libonnxruntime.so".into(),
            espeak_data: "/usr/lib/x86_64-linux-gnu".into(),
            asr_workers: 0,
            asr_queue: 32,
            asr_timeout_ms: 10_000,
            tts_workers: 1,
            tts_cache_dir: "var/tts-cache".into(),
            barge_in_min_speech_ms: 200,
            end_silence_ms: 700,
            yes_no_end_silence_ms: 450,
            digits_end_silence_ms: 1600,
            sentiment_lexicon: sb_emotion::DEFAULT_LEXICON_PATH.into(),
        }
    }
}

impl Default for KbConfig {
    fn default() -> Self {
        KbConfig {
            dir: "kb/shop".into(),
            embedding_model: "models/minilm".into(),
            cache_dir: "var/kb-cache".into(),
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info,ort=warn".into(),
        }
    }
}

impl Config {
    /// Reads a config file; errors name the file, line and column.
    pub fn load(path: &Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut config: Config = toml::from_str(&text).map_err(|e| {
            let (line, col) = e.span().map(|s| line_col(&text, s.start)).unwrap_or((1, 1));
            format!("{}:{line}:{col}: {}", path.display(), e.message())
        })?;
        config.base_dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        config
            .validate()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(config)
    }

    /// The config file to use: the one given, else `switchboard.toml` if present, else defaults.
    pub fn find(path: Option<&Path>) -> Result<Config, String> {
        match path {
            Some(p) => Config::load(p),
            None if Path::new("switchboard.toml").exists() => {
                Config::load(Path::new("switchboard.toml"))
            }
            None => Ok(Config::default()),
        }
    }

    fn validate(&self) -> Result<(), String> {
        for c in &self.media.codecs {
            if sb_media::Codec::from_name(c).is_none() {
                return Err(format!(
                    "[media] codecs: unknown codec {c:?} (PCMU, PCMA, G722)"
                ));
            }
        }
        for s in &self.trunk.allowed_sources {
            parse_network(s).map_err(|e| format!("[trunk] allowed_sources: {e}"))?;
        }
        if self.trunk.username.is_some() != self.trunk.password.is_some() {
            return Err("[trunk] username and password go together".into());
        }
        let [lo, hi] = self.media.rtp_ports;
        if lo >= hi || lo < 1024 {
            return Err("[media] rtp_ports must be [low, high] with 1024 <= low < high".into());
        }
        self.center().validate().map_err(|e| e.to_string())?;
        self.scorecard()?;
        Ok(())
    }

    /// The checked `[scorecard]`, or the built-in one when the file has none.
    pub fn scorecard(&self) -> Result<sb_web::Scorecard, String> {
        match &self.scorecard {
            Some(config) => sb_web::Scorecard::from_config(config),
            None => Ok(sb_web::Scorecard::default()),
        }
    }

    /// The `[[queue]]` and `[[agent]]` sections together.
    pub fn center(&self) -> sb_center::CenterConfig {
        sb_center::CenterConfig {
            queues: self.queues.clone(),
            agents: self.agents.clone(),
        }
    }

    /// The names of the configured queues, for checking dialplans' `queue` steps.
    pub fn queue_names(&self) -> Vec<String> {
        self.queues.iter().map(|q| q.name.clone()).collect()
    }

    /// A path from the file, resolved against the config directory.
    pub fn path(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base_dir.join(p)
        }
    }

    /// The store URL with a relative SQLite path resolved.
    pub fn store_url(&self) -> String {
        let url = &self.store.url;
        match url.strip_prefix("sqlite:") {
            Some(rest) => {
                let rest = rest.trim_start_matches("//");
                format!("sqlite:{}", self.path(Path::new(rest)).display())
            }
            None => url.clone(),
        }
    }
}

/// Parses `10.0.0.0/8` or a bare address into (network, prefix length).
pub fn parse_network(s: &str) -> Result<(IpAddr, u8), String> {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let ip: IpAddr = addr
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not an address"))?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        Some(p) => p
            .parse::<u8>()
            .ok()
            .filter(|&p| p <= max)
            .ok_or_else(|| format!("{s:?}: bad prefix length"))?,
        None => max,
    };
    Ok((ip, prefix))
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_line() {
        let dir = std::env::temp_dir().join(format!("sb-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bad.toml");
        std::fs::write(
            &path,
            "[sip]\nlisten = \"127.0.0.1:5060\"\n\n[media]\nrtp_port = [1, 2]\n",
        )
        .unwrap();
        let err = Config::load(&path).unwrap_err();
        assert!(err.contains("bad.toml:5:1"), "{err}");
        assert!(err.contains("rtp_port"), "{err}");
        std::fs::write(&path, "[media]\ncodecs = [\"G729\"]\n").unwrap();
        assert!(Config::load(&path).unwrap_err().contains("G729"));
    }

    #[test]
    fn scorecards_are_checked_at_load_and_default_when_absent() {
        let dir = std::env::temp_dir().join(format!("sb-scorecard-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.toml");
        std::fs::write(&path, "").unwrap();
        let config = Config::load(&path).unwrap();
        assert_eq!(config.scorecard().unwrap(), sb_web::Scorecard::default());
        let card = |criteria: &str| format!("[scorecard]\nname = \"Support QA\"\n{criteria}");
        let greeting = "[[scorecard.criterion]]\nid = \"greeting\"\nlabel = \"Greeted\"\nkind = \"yes_no\"\nweight = 1\n";
        let empathy = "[[scorecard.criterion]]\nid = \"empathy\"\nlabel = \"Empathy\"\nkind = \"scale\"\nweight = 2\n";
        std::fs::write(&path, card(&format!("{greeting}{empathy}"))).unwrap();
        let loaded = Config::load(&path).unwrap().scorecard().unwrap();
        assert_eq!(loaded.criteria.len(), 2);
        assert_eq!(loaded.criteria[1].weight, 2.0);
        for (bad, says) in [
            (card(""), "[scorecard] has no criteria"),
            (
                card(&format!("{greeting}{greeting}")),
                "criterion \"greeting\": the id is used twice",
            ),
            (
                card(&greeting.replace("yes_no", "stars")),
                "criterion \"greeting\": unknown kind \"stars\"",
            ),
            (
                card(&empathy.replace("weight = 2", "weight = 0")),
                "criterion \"empathy\": weight must be above 0",
            ),
        ] {
            std::fs::write(&path, bad).unwrap();
            let e = Config::load(&path).unwrap_err();
            assert!(e.contains(says), "{e}");
        }
    }

    #[test]
    fn networks() {
        assert_eq!(parse_network("10.0.0.0/8").unwrap().1, 8);
        assert_eq!(parse_network("127.0.0.1").unwrap().1, 32);
        assert!(parse_network("10.0.0.0/40").is_err());
    }
}
