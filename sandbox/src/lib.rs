//! The sandbox: the Mynaportal stand-in ([`myna_authority`]) and one reference
//! operator backend per demo site ([`myna_operator`]), with the demo sites,
//! the playground and the SDK package, in one process on two loopback origins.
//! `docs/sandbox.md` is the contract.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::http::{header, HeaderValue};
use axum::Router;
use serde_json::Value;
use tokio::net::TcpListener;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

mod stand_ins;

/// The Content-Security-Policy of every operator page: the strict policy the
/// SDK promises to work under.
pub const OPERATOR_CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
    style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; \
    object-src 'none'; form-action 'self'";

/// What to start.
#[derive(Debug, Clone)]
pub struct Options {
    /// `sandbox.json`: authority, clients, citizens and operator backends.
    pub config: PathBuf,
    /// Where `sandbox.sqlite` and the token key live.
    pub data_dir: PathBuf,
    /// The repository root: `index.html`, `playground/`, `pkg/`, `www/`.
    pub site_root: PathBuf,
    /// The operator origin's address (127.0.0.1:8080 for the demo).
    pub operator_addr: SocketAddr,
    /// The authority's address (127.0.0.1:8081 for the demo).
    pub authority_addr: SocketAddr,
    /// Mount the sandbox-only controls (clock, compromise, next outcome).
    pub controls: bool,
}

/// Why the sandbox could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration file could not be read.
    #[error("cannot read {path}: {source}")]
    Config {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The configuration or data could not be used.
    #[error("{0}")]
    Setup(String),
    /// A port could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// The running sandbox.
pub struct Running {
    /// The operator origin, e.g. `http://127.0.0.1:8080`.
    pub operator_url: String,
    /// The authority's issuer, e.g. `http://localhost:8081`.
    pub issuer: String,
    /// The authority, whose clock the sandbox controls move (the operator
    /// backends read the same clock).
    pub authority: myna_authority::Authority,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Waits until a server stops (normally never).
    pub async fn wait(mut self) {
        for task in std::mem::take(&mut self.tasks) {
            let _ = task.await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Starts both origins.
pub async fn start(options: Options) -> Result<Running, Error> {
    let text = std::fs::read_to_string(&options.config).map_err(|source| Error::Config {
        path: options.config.clone(),
        source,
    })?;
    std::fs::create_dir_all(&options.data_dir)
        .map_err(|e| Error::Setup(format!("cannot create {}: {e}", options.data_dir.display())))?;
    let db_path = options.data_dir.join("sandbox.sqlite");

    let authority_config = myna_authority::AuthorityConfig::from_json(&text)
        .map_err(|e| Error::Setup(format!("authority configuration: {e}")))?;
    // The authority owns the clock that `POST /sandbox/clock` moves; every
    // operator backend reads the same clock, so "now" moves for both.
    let authority = myna_authority::Authority::open(
        authority_config,
        &db_path,
        myna_authority::system_clock(),
        options.controls,
    )
    .map_err(|e| Error::Setup(format!("authority: {e}")))?;
    let issuer = authority.issuer().to_owned();

    let operator_configs = myna_operator::configs_from_json(&text, myna_operator::Mode::Sandbox)
        .map_err(|e| Error::Setup(format!("operator configuration: {e}")))?;
    let raw: Value =
        serde_json::from_str(&text).map_err(|e| Error::Setup(format!("configuration: {e}")))?;
    let store: Arc<dyn myna_operator::ConsentStore> = Arc::new(
        myna_operator::SqliteStore::open(&db_path)
            .map_err(|e| Error::Setup(format!("operator store: {e}")))?,
    );
    let key = myna_operator::TokenKey::load_or_create(&options.data_dir)
        .map_err(|e| Error::Setup(format!("token key: {e}")))?;
    let mut operator_site = stand_ins::sign_in_routes(&raw)
        .merge(stand_ins::partner_routes(&raw))
        .merge(site(&options.site_root));
    let mut tasks = Vec::new();
    for config in operator_configs {
        let base_path = config.base_path.clone();
        let clock = authority.clock();
        let operator = myna_operator::Operator::new(config, store.clone(), key.clone(), clock);
        tasks.push(operator.spawn_upkeep());
        operator_site = operator_site.nest(&base_path, myna_operator::router(operator));
    }

    let operator_listener = listen(options.operator_addr).await?;
    let authority_listener = listen(options.authority_addr).await?;
    let operator_url = format!(
        "http://{}",
        operator_listener
            .local_addr()
            .map_err(|source| Error::Listen {
                addr: options.operator_addr,
                source
            })?
    );
    tasks.push(tokio::spawn(serve(operator_listener, operator_site)));
    tasks.push(tokio::spawn(serve(
        authority_listener,
        myna_authority::router(authority.clone()),
    )));
    Ok(Running {
        operator_url,
        issuer,
        authority,
        tasks,
    })
}

async fn listen(addr: SocketAddr) -> Result<TcpListener, Error> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| Error::Listen { addr, source })
}

async fn serve(listener: TcpListener, router: Router) {
    // With connect info: the operator backends limit starts per address.
    let service = router.into_make_service_with_connect_info::<SocketAddr>();
    if let Err(error) = axum::serve(listener, service).await {
        eprintln!("server stopped: {error}");
    }
}

/// The operator's static pages: the playground at `/`, the SDK package at
/// `/pkg/`, and the demo sites under `/www/`-mapped paths. Only these
/// folders are served, never the rest of the repository.
fn site(root: &Path) -> Router {
    let security = |name: header::HeaderName, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    };
    Router::new()
        .route_service("/", ServeFile::new(root.join("index.html")))
        .route_service("/index.html", ServeFile::new(root.join("index.html")))
        .nest_service("/playground", ServeDir::new(root.join("playground")))
        .nest_service("/pkg", ServeDir::new(root.join("pkg")))
        .fallback_service(ServeDir::new(root.join("www")))
        .layer(security(header::CONTENT_SECURITY_POLICY, OPERATOR_CSP))
        .layer(security(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(security(header::REFERRER_POLICY, "no-referrer"))
        .layer(security(header::X_FRAME_OPTIONS, "DENY"))
}
