//! `switchboard`: the telephony voice-bot and call-center gateway (the thin binary: CLI, config,
//! starting the servers; no call logic lives here).

mod calls;
mod config;
mod dial;
mod emotion;
mod kb;
mod serve;
mod speech;
mod user;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Switchboard: a SIP gateway that answers calls, runs IVR dialplans, records and logs every call.
#[derive(Parser)]
#[command(version, about, long_about = None, after_help = "\
Examples:
  switchboard serve                                 start with ./switchboard.toml (or defaults)
  switchboard serve --web-listen 0.0.0.0:8080       the REST API on another address (off: none)
  switchboard dialplan check dialplans/hotline.toml
  switchboard call sip:100@127.0.0.1:5060 --dtmf 1 --record /tmp/call.wav
  switchboard calls list
  switchboard calls show last
  switchboard transcribe question.wav other.flac --json
  switchboard say \"Thank you for calling.\" -o thanks.wav --rate 8000")]
struct Cli {
    /// Configuration file (default: ./switchboard.toml if present).
    #[arg(long, short, global = true, env = "SWITCHBOARD_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway: SIP on UDP and TCP, dialplans, recordings, call log, the REST API.
    Serve {
        /// Address of the REST API and live events (overrides `[web] listen`; "off" disables).
        #[arg(long, value_name = "ADDR|off")]
        web_listen: Option<String>,
    },
    /// Work with dialplan files.
    Dialplan {
        #[command(subcommand)]
        command: DialplanCommand,
    },
    /// Look at recorded calls.
    Calls {
        #[command(subcommand)]
        command: CallsCommand,
    },
    /// Place a call with our own small SIP caller.
    Call(dial::CallArgs),
    /// Transcribe audio files (WAV or FLAC, any rate) with the configured Whisper model.
    ///
    /// Prints one line of text per file (prefixed with the file name when there are several),
    /// or one JSON object per line with word timings and confidence with --json.
    Transcribe {
        /// Audio files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// One JSON object per file: text, confidence, words with start/end ms, timings.
        #[arg(long)]
        json: bool,
    },
    /// Work with the knowledge base: import/export CSV, match, eval, calibrate, check.
    Kb {
        #[command(subcommand)]
        command: kb::KbCommand,
    },
    /// Frustration score and emotion cues of caller utterances (WAV files of one call, or text).
    Emotion(emotion::EmotionArgs),
    /// Make password hashes and API tokens for the config's `[[user]]` and `[[token]]`.
    User {
        #[command(subcommand)]
        command: user::UserCommand,
    },
    /// Speak text with the configured piper voice into a WAV file.
    Say {
        /// The text (sentences are synthesized one by one, punctuation gives the pauses).
        text: String,
        /// Output WAV file.
        #[arg(long, short)]
        output: PathBuf,
        /// Sample rate of the file (default: the voice's own, 22050 Hz; 8000 for phone prompts).
        #[arg(long)]
        rate: Option<u32>,
    },
}

#[derive(Subcommand)]
enum DialplanCommand {
    /// Validate dialplan files; prints FILE:LINE:COL: REASON for each problem.
    Check {
        /// Dialplan files (.toml).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Directory of the prompts the dialplans name (default: from the config).
        #[arg(long)]
        sounds: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum CallsCommand {
    /// The most recent calls, newest first.
    List {
        /// How many.
        #[arg(long, short = 'n', default_value_t = 20)]
        limit: u32,
        /// Only calls whose From contains this text.
        #[arg(long)]
        from: Option<String>,
        /// Only calls whose To contains this text.
        #[arg(long)]
        to: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One call with its event timeline ("last" for the newest).
    Show {
        /// Call id, a unique prefix of one, or "last".
        id: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut config = match config::Config::find(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Command::Serve {
        web_listen: Some(listen),
    } = &cli.command
    {
        match sb_web::parse_listen(listen) {
            Ok(addr) => config.web.listen = addr,
            Err(e) => {
                eprintln!("error: --web-listen: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve { .. } => serve::serve(config).await,
            Command::Dialplan {
                command: DialplanCommand::Check { files, sounds },
            } => {
                let sounds = sounds.unwrap_or_else(|| config.path(&config.dialplans.sounds_dir));
                calls::check_dialplans(&files, &sounds, &config.queue_names())
            }
            Command::Calls {
                command:
                    CallsCommand::List {
                        limit,
                        from,
                        to,
                        json,
                    },
            } => calls::list(&config, limit, from, to, json).await,
            Command::Calls {
                command: CallsCommand::Show { id, json },
            } => calls::show(&config, &id, json).await,
            Command::Call(args) => dial::call(args).await,
            Command::Transcribe { files, json } => speech::transcribe(&config, &files, json).await,
            Command::Say { text, output, rate } => speech::say(&config, &text, &output, rate).await,
            Command::Emotion(args) => emotion::run(&config, args).await,
            Command::Kb { command } => kb::run(&config, command),
            Command::User { command } => user::run(command),
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
