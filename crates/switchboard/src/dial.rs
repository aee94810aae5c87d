//! `switchboard call`: try the gateway without installing a SIP phone.

use std::net::ToSocketAddrs;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use sb_call::client::{CallOptions, place_call};
use sb_media::Codec;

/// Arguments of `switchboard call`.
#[derive(Args)]
pub struct CallArgs {
    /// Who to call, e.g. sip:100@127.0.0.1:5060.
    uri: String,
    /// WAV file to play once answered (any rate; resampled).
    #[arg(long)]
    play: Option<PathBuf>,
    /// Keys to press as RFC 4733 events, e.g. "1" or "1,2456#" ("," waits a second).
    #[arg(long, default_value = "")]
    dtmf: String,
    /// Seconds after answer before the first key.
    #[arg(long, default_value_t = 3.0)]
    dtmf_delay: f64,
    /// Write the call as stereo WAV (left: what we heard, right: what we sent).
    #[arg(long)]
    record: Option<PathBuf>,
    /// Hang up after this many seconds (unless the other side does first).
    #[arg(long, default_value_t = 15.0)]
    duration: f64,
    /// Codecs to offer, preferred first.
    #[arg(long, value_delimiter = ',', default_value = "PCMU,PCMA,G722")]
    codecs: Vec<String>,
    /// Our From URI.
    #[arg(long, default_value = "sip:switchboard-call@localhost")]
    from: String,
    /// Digest user name (if the gateway asks).
    #[arg(long, requires = "password")]
    user: Option<String>,
    /// Digest password.
    #[arg(long, requires = "user")]
    password: Option<String>,
}

/// Places the call and prints what happened.
pub async fn call(args: CallArgs) -> anyhow::Result<ExitCode> {
    let target = target_of(&args.uri)?;
    let codecs = args
        .codecs
        .iter()
        .map(|c| Codec::from_name(c).with_context(|| format!("unknown codec {c:?}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let report = place_call(CallOptions {
        target,
        uri: args.uri.clone(),
        from: args.from,
        play: args.play,
        dtmf: args.dtmf,
        dtmf_delay: Duration::from_secs_f64(args.dtmf_delay),
        record: args.record.clone(),
        duration: Duration::from_secs_f64(args.duration),
        codecs,
        credentials: args.user.zip(args.password),
    })
    .await
    .map_err(anyhow::Error::msg)?;
    if report.status != 200 {
        println!("call to {} failed: SIP status {}", args.uri, report.status);
        return Ok(ExitCode::from(1));
    }
    println!(
        "call to {}: answered ({}), {:.1} s, ended by {}, keys sent {:?}, {} RTP packets received",
        args.uri,
        report.codec.unwrap_or("-"),
        report.talk_seconds,
        report.ended_by,
        report.digits_sent,
        report.packets_received
    );
    if let Some(r) = args.record {
        println!("recording: {}", r.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// host:port of a SIP URI (port 5060 when absent).
fn target_of(uri: &str) -> anyhow::Result<std::net::SocketAddr> {
    let parsed = sb_sip::headers::Uri::parse(uri).map_err(anyhow::Error::msg)?;
    if parsed.scheme != "sip" {
        bail!("only sip: URIs can be called, not {uri:?}");
    }
    let host = parsed.host.trim_start_matches('[').trim_end_matches(']');
    (host, parsed.port.unwrap_or(5060))
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve {host}"))?
        .next()
        .with_context(|| format!("no address for {host}"))
}
