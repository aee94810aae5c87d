//! A headless baresip as a caller or as an agent's phone: audio from a WAV file, what it hears
//! written to WAV dumps, console on a UDP port.

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::free_port;
use crate::tools::require_tool;

/// A running baresip that dialled one call; killed when dropped.
pub struct Baresip {
    child: Child,
    console: SocketAddr,
    log: PathBuf,
}

impl Baresip {
    /// Writes a config into `dir` and dials `uri`, sending `wav` (8 kHz mono) as the microphone;
    /// `codec` limits the offer to one G.711 codec (e.g. "PCMA"), `None` offers both. baresip
    /// writes what it sends and receives into `dir` (sndfile dumps).
    pub fn dial(dir: &Path, wav: &Path, uri: &str, codec: Option<&str>) -> Baresip {
        // One local account without registration: the identity the call goes out with.
        let codecs = codec
            .map(|c| format!(";audio_codecs={c}"))
            .unwrap_or_default();
        let account = format!("<sip:baresip@127.0.0.1>;regint=0{codecs}");
        Self::run(
            dir,
            wav,
            &account,
            &["-e", &format!("/dial {uri}"), "-t", "60"],
        )
    }

    /// An agent's phone: registers `user` with `password` at `registrar`, answers calls at once
    /// when `answers` (else lets them ring), sends `wav` and dumps what it hears into `dir`.
    /// `codec` limits what it accepts (e.g. "G722"). It runs for `seconds`.
    pub fn agent(
        dir: &Path,
        wav: &Path,
        (user, password): (&str, &str),
        registrar: SocketAddr,
        answers: bool,
        codec: Option<&str>,
    ) -> Baresip {
        let mode = if answers { "auto" } else { "manual" };
        let codecs = codec
            .map(|c| format!(";audio_codecs={c}"))
            .unwrap_or_default();
        let account = format!(
            "<sip:{user}@{registrar}>;auth_pass={password};regint=60;answermode={mode}{codecs}"
        );
        Self::run(dir, wav, &account, &["-s", "-t", "90"])
    }

    /// Writes the config and the one account into `dir` and starts baresip with `args`.
    fn run(dir: &Path, wav: &Path, account: &str, args: &[&str]) -> Baresip {
        require_tool("baresip", "baresip-core");
        let sip_port = free_port();
        let console_port = free_port();
        let config = format!(
            "poll_method epoll\n\
             sip_listen 127.0.0.1:{sip_port}\n\
             call_local_timeout 120\n\
             call_max_calls 1\n\
             audio_player aufile,/dev/null\n\
             audio_source aufile,{wav}\n\
             audio_alert aufile,/dev/null\n\
             ausrc_srate 8000\n\
             ausrc_channels 1\n\
             audio_buffer 20-160\n\
             jitter_buffer_delay 5-10\n\
             rtp_tos 0\n\
             module_path /usr/lib/baresip/modules\n\
             module g711.so\n\
             module g722.so\n\
             module aufile.so\n\
             module sndfile.so\n\
             module cons.so\n\
             module_tmp account.so\n\
             module_app menu.so\n\
             cons_listen 127.0.0.1:{console_port}\n\
             snd_path {dumps}\n",
            wav = wav.display(),
            dumps = dir.display(),
        );
        std::fs::write(dir.join("config"), config).unwrap();
        std::fs::write(dir.join("accounts"), format!("{account}\n")).unwrap();
        let log = dir.join("baresip.log");
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new("baresip")
            .arg("-f")
            .arg(dir)
            .args(args)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        Baresip {
            child,
            console: format!("127.0.0.1:{console_port}").parse().unwrap(),
            log,
        }
    }

    /// Types on baresip's console: during a call a key sends it as an RFC 4733 event.
    pub fn type_keys(&self, keys: &str) {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.send_to(keys.as_bytes(), self.console).unwrap();
    }

    /// The WAV dump of what baresip heard on its (last) call, once it wrote one.
    pub fn heard(&self) -> Option<PathBuf> {
        let dir = self.log.parent()?;
        std::fs::read_dir(dir)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.to_string_lossy().ends_with("-dec.wav"))
    }

    /// What baresip printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Baresip {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
