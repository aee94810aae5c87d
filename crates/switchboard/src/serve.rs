//! `switchboard serve`: start the gateway and run until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sb_call::{CallSettings, CenterSetup, DialplanRegistry, Listen};
use sb_media::Codec;
use sb_sip::{EndpointConfig, RegistrarConfig, TrunkAuth};
use sb_store::Store;

use crate::config::{Config, parse_network};

/// Runs the gateway.
pub async fn serve(config: Config) -> anyhow::Result<ExitCode> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&config.log.level));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .init();

    let recordings = config.path(&config.recordings.dir);
    std::fs::create_dir_all(&recordings)
        .with_context(|| format!("creating {}", recordings.display()))?;
    // Call records keep absolute paths, valid from any working directory.
    let recordings = std::fs::canonicalize(&recordings).unwrap_or(recordings);
    let url = config.store_url();
    let store = Store::open(&url)
        .await
        .with_context(|| format!("opening the store {url}"))?;
    // Calls a crash left open: close them and make their recordings readable.
    for call in store.close_interrupted_calls(chrono::Utc::now()).await? {
        if let Some(path) = &call.recording_path {
            match sb_media::recorder::repair_wav(std::path::Path::new(path)) {
                Ok(_) => {
                    tracing::info!(call = %call.id, path, "recording of an interrupted call repaired")
                }
                Err(e) => {
                    tracing::warn!(call = %call.id, path, error = %e, "cannot repair recording")
                }
            }
        }
    }

    // Before SIP: once the gateway answers calls, its API answers too. The contact center
    // starts with the gateway; the web gets its handle through the slot filled below.
    let center_slot = (!config.queues.is_empty()).then(sb_web::CenterSlot::default);
    let web = start_web(&config, &store, center_slot.clone()).await?;

    let dialplan_dir = config.path(&config.dialplans.dir);
    let sounds = config.path(&config.dialplans.sounds_dir);
    let dialplans = DialplanRegistry::load(
        &dialplan_dir,
        &sounds,
        &config.dialplans.default,
        config.dialplans.routes.clone(),
        config.queue_names(),
    )
    .map_err(anyhow::Error::msg)
    .context("loading dialplans")?;

    let listen_ip = config.sip.listen.ip();
    let public_ip = config.sip.public_ip.unwrap_or(listen_ip);
    let auth = match (&config.trunk.username, &config.trunk.password) {
        (Some(u), Some(p)) => Some(TrunkAuth {
            realm: config
                .trunk
                .realm
                .clone()
                .unwrap_or_else(|| "switchboard".into()),
            username: u.clone(),
            password: p.clone(),
        }),
        _ => None,
    };
    let endpoint = EndpointConfig {
        public_addr: SocketAddr::new(public_ip, config.sip.listen.port()),
        user_agent: config.sip.user_agent.clone(),
        allowed_sources: config
            .trunk
            .allowed_sources
            .iter()
            .map(|s| parse_network(s).expect("validated at load"))
            .collect(),
        auth,
        registrar: registrar(&config),
        seed: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos() as u64,
    };
    let settings = CallSettings {
        public_ip,
        rtp_ports: (config.media.rtp_ports[0], config.media.rtp_ports[1]),
        recordings_dir: recordings.clone(),
        codecs: config
            .media
            .codecs
            .iter()
            .filter_map(|c| Codec::from_name(c))
            .collect(),
        max_duration: Duration::from_secs(config.media.max_call_seconds),
        rtp_timeout: Duration::from_secs(config.media.rtp_timeout_seconds),
        // Agents' phones get a link to the call in the API, for their desktop.
        call_links: web
            .as_ref()
            .map(|w| format!("http://{}/api/calls/", w.addr)),
    };
    let center = (!config.queues.is_empty()).then(|| CenterSetup {
        config: config.center(),
        music_dir: sounds.clone(),
    });
    let speech = crate::speech::load(&config).await?;
    let knowledge = match speech {
        Some(_) => crate::kb::load_for_calls(&config).await?,
        None => None,
    };
    let writer = store.writer();
    let dialplans = Arc::new(dialplans);
    let gateway = sb_call::start(
        Listen {
            udp: config.sip.listen,
            tcp: config.sip.tcp.then_some(config.sip.listen),
        },
        endpoint,
        settings,
        writer.clone(),
        dialplans.clone(),
        speech.clone(),
        knowledge,
        center,
    )
    .await
    .map_err(anyhow::Error::msg)?;
    if let (Some(slot), Some(center)) = (&center_slot, &gateway.services.center) {
        slot.fill(center.clone());
    }

    let addr = gateway.udp_addr;
    println!(
        "Switchboard is listening for SIP on {addr} (UDP{})",
        if gateway.tcp_addr.is_some() {
            " and TCP"
        } else {
            ""
        }
    );
    println!(
        "  dialplans: {} (default {:?}) from {}",
        dialplans.names().join(", "),
        config.dialplans.default,
        dialplan_dir.display()
    );
    println!("  store:     {url}");
    println!("  recordings: {}", recordings.display());
    match &web {
        Some(web) => {
            println!(
                "  web UI:    http://{}/  (calls, transcripts, recordings, scores, reports)",
                web.addr
            );
            println!("  web API:   http://{}/api/openapi.json", web.addr);
            match &web.generated_admin {
                Some(admin) => println!(
                    "  sign in:   {} / {}  (generated and kept in {}; configure [[user]] entries to replace it)",
                    sb_web::ADMIN_NAME,
                    admin.password,
                    admin.file.display()
                ),
                None => println!("  sign in:   as a [[user]] of the configuration"),
            }
        }
        None => println!("  web UI and API: off"),
    }
    println!("Call it:");
    println!("  switchboard call sip:100@{addr} --dtmf 1 --record /tmp/call.wav");
    println!("  baresip: /dial sip:100@{addr}      sipp: sipp -sn uac {addr}");
    if !config.agents.is_empty() {
        println!(
            "Agents sign in by registering a SIP phone to {addr} (realm {:?}): {}",
            config.sip.realm,
            config
                .agents
                .iter()
                .map(|a| a.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    println!("Then: switchboard calls list; switchboard calls show last");
    println!("Ctrl-C stops it.");

    shutdown_signal().await;
    tracing::info!("shutting down");
    writer.flush().await;
    Ok(ExitCode::SUCCESS)
}

/// Installs the metrics recorder and folds histogram samples every few seconds, so memory
/// stays bounded however rarely `/metrics` is scraped.
fn start_metrics() -> anyhow::Result<sb_metrics::Metrics> {
    let metrics = sb_metrics::install()
        .map_err(anyhow::Error::msg)
        .context("installing the metrics recorder")?;
    let upkeep = metrics.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            every.tick().await;
            upkeep.upkeep();
        }
    });
    Ok(metrics)
}

/// Starts the REST API unless `[web] listen` is off; `center` reaches the contact center once
/// the gateway runs it.
async fn start_web(
    config: &Config,
    store: &Store,
    center: Option<sb_web::CenterSlot>,
) -> anyhow::Result<Option<sb_web::WebServer>> {
    let Some(listen) = config.web.listen else {
        return Ok(None);
    };
    let file = &config.web.admin_password_file;
    let settings = sb_web::WebSettings {
        listen,
        users: config.user.clone(),
        tokens: config.token.clone(),
        admin_password_file: (!file.as_os_str().is_empty()).then(|| config.path(file)),
        center,
        metrics: Some(start_metrics()?),
        scorecard: config.scorecard().map_err(anyhow::Error::msg)?,
        pii_roles: config.web.pii_roles.clone(),
    };
    let web = sb_web::start(settings, store.clone())
        .await
        .context("starting the web server")?;
    Ok(Some(web))
}

/// The registrar for agents' phones: each agent's id and password (None without agents).
fn registrar(config: &Config) -> Option<RegistrarConfig> {
    if config.agents.is_empty() {
        return None;
    }
    let users = config
        .agents
        .iter()
        .map(|a| (a.id.clone(), a.password.clone()))
        .collect();
    Some(RegistrarConfig::new(&config.sip.realm, users))
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
