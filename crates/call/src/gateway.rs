//! The gateway: binds the SIP sockets, starts the SIP task and spawns one task per call.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use sb_center::CenterConfig;
use sb_dialog::Dialplan;
use sb_media::Codec;
use sb_media::prompt::PromptCache;
use sb_sip::{EndpointConfig, IncomingCall, SipEndpoint, SipEvent};
use sb_store::StoreWriter;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;
use tracing::Instrument;

use crate::caller_speech::SpeechServices;
use crate::consult::{ConsultRegistry, consult_target, run_consult};
use crate::contact_center::{CenterHandle, spawn_center};
use crate::inbound::{bind_pair, spawn_inbound};
use crate::sip_server::{SipHandle, SipSockets, spawn_sip};
use crate::understanding::KnowledgeBase;
use crate::webhook::WebhookClient;

/// Settings every call needs.
#[derive(Debug, Clone)]
pub struct CallSettings {
    /// Address for RTP sockets and SDP.
    pub public_ip: IpAddr,
    /// RTP port range (even ports for RTP, the next odd one for RTCP).
    pub rtp_ports: (u16, u16),
    /// Where recordings go (`<call id>.wav`).
    pub recordings_dir: PathBuf,
    /// Codecs we accept, preferred first.
    pub codecs: Vec<Codec>,
    /// Calls are ended after this long.
    pub max_duration: Duration,
    /// Calls with no RTP for this long are ended.
    pub rtp_timeout: Duration,
    /// The API's address of a call without its id (`http://host:8080/api/calls/`), sent to
    /// agents' phones; None when the API is not served.
    pub call_links: Option<String>,
}

/// Hands out RTP/RTCP port pairs round-robin from the configured range.
#[derive(Debug)]
pub struct PortPool {
    range: (u16, u16),
    next: Mutex<u16>,
}

impl PortPool {
    /// A pool over `[low, high]`.
    pub fn new(range: (u16, u16)) -> Self {
        let low = range.0 + range.0 % 2;
        PortPool {
            range: (low, range.1),
            next: Mutex::new(low),
        }
    }

    /// Binds a free even/odd pair.
    pub async fn bind(&self, ip: IpAddr) -> Option<(UdpSocket, UdpSocket)> {
        let (low, high) = self.range;
        let attempts = (high.saturating_sub(low) / 2).max(1);
        for _ in 0..attempts {
            let port = {
                let mut next = self.next.lock().expect("port pool lock");
                let p = *next;
                *next = if p + 3 > high { low } else { p + 2 };
                p
            };
            if let Some(pair) = bind_pair(ip, port).await {
                return Some(pair);
            }
        }
        None
    }
}

/// Dialplans by name, with number routes and a default; reloadable while calls run.
#[derive(Debug)]
pub struct DialplanRegistry {
    dir: PathBuf,
    sounds_dir: PathBuf,
    default: String,
    routes: HashMap<String, String>,
    /// The configured queues, which `queue` steps may name.
    queues: Vec<String>,
    plans: RwLock<HashMap<String, (Arc<Dialplan>, SystemTime)>>,
}

impl DialplanRegistry {
    /// Loads every `*.toml` in `dir`; any invalid file is an error naming file:line. `queues`
    /// are the configured queues the dialplans' `queue` steps may name.
    pub fn load(
        dir: &Path,
        sounds_dir: &Path,
        default: &str,
        routes: HashMap<String, String>,
        queues: Vec<String>,
    ) -> Result<Self, String> {
        let registry = DialplanRegistry {
            dir: dir.to_path_buf(),
            sounds_dir: sounds_dir.to_path_buf(),
            default: default.to_string(),
            routes,
            queues,
            plans: RwLock::new(HashMap::new()),
        };
        let mut errors = Vec::new();
        for path in registry.files()? {
            match registry.load_file(&path) {
                Ok(plan) => {
                    let mtime = mtime(&path);
                    registry
                        .plans
                        .write()
                        .expect("dialplan lock")
                        .insert(stem(&path), (Arc::new(plan), mtime));
                }
                Err(e) => errors.push(e.to_string()),
            }
        }
        if !errors.is_empty() {
            return Err(errors.join("\n"));
        }
        let plans = registry.plans.read().expect("dialplan lock");
        let missing: Vec<&String> = std::iter::once(&registry.default)
            .chain(registry.routes.values())
            .filter(|n| !plans.contains_key(*n))
            .collect();
        if let Some(name) = missing.first() {
            return Err(format!(
                "dialplan {name:?} (from [dialplans] default or routes) has no file {}/{name}.toml",
                registry.dir.display()
            ));
        }
        drop(plans);
        Ok(registry)
    }

    /// Reads and checks one dialplan file, its queues included.
    fn load_file(&self, path: &Path) -> Result<Dialplan, sb_dialog::DialplanErrors> {
        let queues: Vec<&str> = self.queues.iter().map(String::as_str).collect();
        let plan = Dialplan::load(path, &self.sounds_dir)?;
        plan.check_queues(&queues)?;
        Ok(plan)
    }

    fn files(&self) -> Result<Vec<PathBuf>, String> {
        let entries =
            std::fs::read_dir(&self.dir).map_err(|e| format!("{}: {e}", self.dir.display()))?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        Ok(files)
    }

    /// The dialplan for a dialled number (its route, else the default).
    pub fn for_number(&self, dialled: &str) -> Option<Arc<Dialplan>> {
        let name = self.routes.get(dialled).unwrap_or(&self.default);
        self.plans
            .read()
            .expect("dialplan lock")
            .get(name)
            .map(|(p, _)| p.clone())
    }

    /// Names of the loaded dialplans.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .plans
            .read()
            .expect("dialplan lock")
            .keys()
            .cloned()
            .collect();
        names.sort();
        names
    }

    /// Reloads files whose modification time changed. A broken file keeps the old version
    /// running and the reason is logged.
    pub fn reload_changed(&self) {
        let Ok(files) = self.files() else { return };
        for path in files {
            let name = stem(&path);
            let mtime = mtime(&path);
            let known = self
                .plans
                .read()
                .expect("dialplan lock")
                .get(&name)
                .map(|(_, t)| *t);
            if known == Some(mtime) {
                continue;
            }
            match self.load_file(&path) {
                Ok(plan) => {
                    tracing::info!(dialplan = %name, "dialplan reloaded");
                    self.plans
                        .write()
                        .expect("dialplan lock")
                        .insert(name, (Arc::new(plan), mtime));
                }
                Err(e) => {
                    tracing::error!(dialplan = %name, "dialplan rejected, keeping the previous version:\n{e}");
                    if let Some(entry) = self.plans.write().expect("dialplan lock").get_mut(&name) {
                        // Remember the broken version so the error is logged once, not every poll.
                        entry.1 = mtime;
                    }
                }
            }
        }
    }
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}

fn mtime(path: &Path) -> SystemTime {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

/// Everything a call task shares with the others.
pub struct Services {
    /// Call settings.
    pub settings: CallSettings,
    /// Commands to the SIP task.
    pub sip: SipHandle,
    /// Event log.
    pub store: StoreWriter,
    /// Dialplans.
    pub dialplans: Arc<DialplanRegistry>,
    /// Decoded prompts.
    pub prompts: PromptCache,
    /// RTP ports.
    pub ports: PortPool,
    /// Speech models shared by all calls (None when speech is off).
    pub speech: Option<SpeechServices>,
    /// The HTTP client of the dialplans' `webhook` steps.
    pub webhooks: WebhookClient,
    /// The knowledge base of the dialplans' `bot` steps (None when none is configured).
    pub knowledge: Option<KnowledgeBase>,
    /// The contact center: queues and agents (None when no queues are configured).
    pub center: Option<CenterHandle>,
    /// Agents' consultation calls in progress (attended transfers take them over).
    pub consults: ConsultRegistry,
}

impl Services {
    /// The music on hold of `queue`, if it has one.
    pub fn center_music(&self, queue: &str) -> Option<PathBuf> {
        self.center.as_ref()?.music(queue)
    }

    /// Where the API shows call `id`, for agents' desktops (None when the API is not served).
    pub fn call_link(&self, id: &str) -> Option<String> {
        let base = self.settings.call_links.as_ref()?;
        Some(format!("{base}{id}"))
    }
}

/// A new inbound call: an agent calling another agent (a consultation, see `consult.rs`), or
/// a call for a dialplan.
fn spawn_call(call: IncomingCall, events: mpsc::UnboundedReceiver<SipEvent>, svc: Arc<Services>) {
    let to_agent = svc
        .center
        .as_ref()
        .is_some_and(|c| c.is_agent(&call.dialled));
    if !to_agent {
        return spawn_inbound(call, events, svc);
    }
    tokio::spawn(async move {
        match consult_target(&svc, &call).await {
            Some((from, target)) => {
                let span = tracing::info_span!("consultation", from = %from, to = %call.dialled);
                run_consult(call, events, svc, from, target)
                    .instrument(span)
                    .await;
            }
            None => spawn_inbound(call, events, svc),
        }
    });
}

/// Where the gateway listens.
#[derive(Debug, Clone)]
pub struct Listen {
    /// SIP over UDP.
    pub udp: SocketAddr,
    /// SIP over TCP (same port usually).
    pub tcp: Option<SocketAddr>,
}

/// A running gateway.
pub struct Gateway {
    /// Bound UDP address.
    pub udp_addr: SocketAddr,
    /// Bound TCP address.
    pub tcp_addr: Option<SocketAddr>,
    /// Shared services.
    pub services: Arc<Services>,
}

/// The contact center to run: queues and agents, and where queue music paths start.
#[derive(Debug, Clone)]
pub struct CenterSetup {
    /// `[[queue]]` and `[[agent]]` sections, validated.
    pub config: CenterConfig,
    /// Relative `music` paths of queues are resolved against this.
    pub music_dir: PathBuf,
}

/// Binds the sockets and starts serving calls.
#[allow(clippy::too_many_arguments)] // each a separate part of the gateway, built by `serve`
pub async fn start(
    listen: Listen,
    endpoint: EndpointConfig,
    settings: CallSettings,
    store: StoreWriter,
    dialplans: Arc<DialplanRegistry>,
    speech: Option<SpeechServices>,
    knowledge: Option<KnowledgeBase>,
    center: Option<CenterSetup>,
) -> Result<Gateway, String> {
    let bind_error = |e: std::io::Error| format!("cannot listen for SIP on {}: {e}", listen.udp);
    let udp = UdpSocket::bind(listen.udp).await.map_err(bind_error)?;
    let udp_addr = udp.local_addr().map_err(bind_error)?;
    let tcp = match listen.tcp {
        Some(addr) => Some(TcpListener::bind(addr).await.map_err(bind_error)?),
        None => None,
    };
    let tcp_addr = tcp
        .as_ref()
        .map(|t| t.local_addr())
        .transpose()
        .map_err(bind_error)?;
    let mut endpoint = endpoint;
    if endpoint.public_addr.port() == 0 {
        endpoint.public_addr.set_port(udp_addr.port());
    }
    let services_slot: Arc<std::sync::OnceLock<Arc<Services>>> = Arc::default();
    let slot = services_slot.clone();
    let spawner = Box::new(move |call, events| {
        if let Some(svc) = slot.get() {
            spawn_call(call, events, svc.clone());
        }
    });
    let webhooks = WebhookClient::new(&endpoint.user_agent);
    let domain = endpoint.public_addr.to_string();
    let (unrouted, registrations) = tokio::sync::mpsc::unbounded_channel();
    let sip = spawn_sip(
        SipEndpoint::new(endpoint),
        SipSockets { udp, tcp },
        spawner,
        unrouted,
    );
    let center = match center {
        Some(setup) => Some(spawn_center(
            &setup.config,
            sip.clone(),
            registrations,
            domain,
            &setup.music_dir,
        )?),
        None => None,
    };
    let services = Arc::new(Services {
        ports: PortPool::new(settings.rtp_ports),
        settings,
        sip,
        store,
        dialplans: dialplans.clone(),
        prompts: PromptCache::new(),
        speech,
        webhooks,
        knowledge,
        center,
        consults: ConsultRegistry::default(),
    });
    let _ = services_slot.set(services.clone());
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(2));
        loop {
            every.tick().await;
            dialplans.reload_changed();
        }
    });
    Ok(Gateway {
        udp_addr,
        tcp_addr,
        services,
    })
}
