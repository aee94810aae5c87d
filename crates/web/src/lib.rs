//! Switchboard's web layer: the REST API over the call store (`/api/calls`, a call's detail and
//! its recording with HTTP ranges), live store updates over a WebSocket (`/api/events`), the
//! agent desk (`/api/agents`, `/api/queues`: the contact center's agents and queues, agents
//! set available or away), QA review (scorecard, scores, comments, export, reports, audit log,
//! personal data masked and bleeped for roles without `view_pii`), the QA web UI, sign-in with
//! sessions or API tokens, health checks, Prometheus metrics (`/metrics`), and the OpenAPI
//! document describing it all.
//!
//! It reads calls, plus one broadcast subscription per WebSocket; it never writes calls and
//! holds no call logic. It writes only what reviewers make (scores, comments) and the audit
//! log. The agent desk asks the contact center's task through its
//! handle (`sb_call::contact_center::CenterHandle`), which owns every agent state. Requests run
//! on the gateway's tokio runtime; the one CPU-heavy step, checking an argon2 password at
//! sign-in, runs on the blocking pool.

mod audit;
mod auth;
mod bleep;
mod center;
mod config;
mod error;
mod events;
mod health;
mod metrics;
pub mod redaction;
mod routes;
pub mod scorecard;
mod ui;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use sb_store::Store;

pub use auth::first_admin::ADMIN_NAME;
pub use auth::secrets::{hash_password, new_token};
pub use center::CenterSlot;
pub use config::{DEFAULT_LISTEN, Role, TokenConfig, UserConfig, WebConfig, parse_listen};
pub use scorecard::{Scorecard, ScorecardConfig};

/// What [`start`] needs besides the store.
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// Address to listen on (port 0: any free port).
    pub listen: SocketAddr,
    /// `[[user]]` entries.
    pub users: Vec<UserConfig>,
    /// `[[token]]` entries.
    pub tokens: Vec<TokenConfig>,
    /// Where to keep a generated admin password while `users` is empty (None: generate none).
    pub admin_password_file: Option<PathBuf>,
    /// The contact center, filled once the gateway runs (None: no queues are configured).
    pub center: Option<CenterSlot>,
    /// The metrics `/metrics` renders (None: not recorded, `/metrics` answers 404).
    pub metrics: Option<sb_metrics::Metrics>,
    /// The QA scorecard (checked).
    pub scorecard: Scorecard,
    /// Roles that see personal data unmasked.
    pub pii_roles: Vec<Role>,
}

/// The running web server.
#[derive(Debug)]
pub struct WebServer {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// The generated first-start admin account, when there is one.
    pub generated_admin: Option<GeneratedAdmin>,
}

/// The first-start admin account (see `auth/first_admin.rs`).
#[derive(Debug)]
pub struct GeneratedAdmin {
    /// Its password.
    pub password: String,
    /// The file it is kept in.
    pub file: PathBuf,
}

/// Why the web server did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A `[[user]]` or `[[token]]` entry is wrong.
    #[error("{0}")]
    Accounts(String),
    /// The generated admin password could not be read or written.
    #[error("admin password file {file}")]
    AdminPassword {
        /// The file.
        file: PathBuf,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
    /// The address could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
}

/// What every handler shares.
#[derive(Clone)]
struct AppState {
    store: Store,
    accounts: Arc<auth::Accounts>,
    sessions: Arc<auth::sessions::Sessions>,
    /// The agent desk's way to the contact center (None: none configured).
    center: Option<CenterSlot>,
    metrics: Option<sb_metrics::Metrics>,
    /// Session cookies get `Secure` unless the server listens on loopback only: beyond this
    /// machine, sign-in must go through TLS (a proxy in front).
    secure_cookies: bool,
    /// The QA scorecard.
    scorecard: Arc<Scorecard>,
    /// Roles with the `view_pii` permission.
    pii_roles: Arc<[Role]>,
    /// When each user last had a view or listen of each call audited (one entry per window).
    audit_windows: Arc<audit::Windows>,
}

/// Binds the address and serves the API on a task of the current runtime until the process
/// ends.
pub async fn start(settings: WebSettings, store: Store) -> Result<WebServer, StartError> {
    let mut users = settings.users;
    let mut generated_admin = None;
    if let (true, Some(file)) = (users.is_empty(), settings.admin_password_file) {
        let password = auth::first_admin::load_or_create(&file).map_err(|source| {
            StartError::AdminPassword {
                file: file.clone(),
                source,
            }
        })?;
        users.push(UserConfig {
            name: ADMIN_NAME.to_string(),
            role: Role::Admin,
            password_hash: hash_password(&password),
            agent_id: None,
        });
        generated_admin = Some(GeneratedAdmin { password, file });
    }
    let accounts = auth::Accounts::new(users, settings.tokens).map_err(StartError::Accounts)?;
    let bind_error = |source| StartError::Bind {
        addr: settings.listen,
        source,
    };
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .map_err(bind_error)?;
    let addr = listener.local_addr().map_err(bind_error)?;
    let state = AppState {
        store,
        accounts: Arc::new(accounts),
        sessions: Arc::default(),
        center: settings.center,
        metrics: settings.metrics,
        secure_cookies: !addr.ip().is_loopback(),
        scorecard: Arc::new(settings.scorecard),
        pii_roles: settings.pii_roles.into(),
        audit_windows: Arc::default(),
    };
    // The peer address goes into the audit log.
    let app = routes::router(state).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "web server stopped");
        }
    });
    tracing::info!(%addr, "web server listening");
    Ok(WebServer {
        addr,
        generated_admin,
    })
}
