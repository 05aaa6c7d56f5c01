//! The deployable service behind the `myna-operator` binary: its own
//! configuration file, the secrets it reads from the environment or files,
//! the app (every backend at its base path, plus `/healthz` and `/readyz`),
//! and serving on any address until SIGTERM or Ctrl-C, letting requests in
//! flight finish. `docs/deploy.md` walks an operator through it.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::config::{configs_from_json, ConfigError, OperatorConfig};
use crate::requests::Mode;
use crate::seal::{KeyError, TokenKey};
use crate::store::{ConsentStore, SqliteStore, StoreError};
use crate::{router, system_clock, Operator};

/// How long in-flight requests may take to finish after a stop signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// Where the token key comes from: never from a file beside the data, so a
/// copy of the data alone opens nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// An environment variable holding the key as base64.
    Env(String),
    /// A file only its owner can read (a mounted secret), holding base64.
    File(PathBuf),
}

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line, for a log pipeline.
    Json,
    /// Human-readable lines, for a terminal.
    Text,
}

/// The `myna-operator` configuration file, checked.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// The address to listen on, any interface.
    pub listen: SocketAddr,
    /// The SQLite database file.
    pub database: PathBuf,
    /// Where the token key comes from.
    pub token_key: KeySource,
    /// How logs are written.
    pub log_format: LogFormat,
    /// The backends, each at its base path (production mode: no previews).
    pub operators: Vec<OperatorConfig>,
}

/// Why the service cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The file is not JSON of the expected shape.
    #[error("the configuration is not valid: {0}")]
    Json(String),
    /// A top-level field has a value the service cannot work with.
    #[error("{field}: {reason}")]
    Field {
        /// The field, in the JSON's spelling.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// An `operators` entry is wrong.
    #[error(transparent)]
    Operators(#[from] ConfigError),
    /// The token key cannot be read.
    #[error("tokenKey: {0}")]
    Key(#[from] KeyError),
    /// The database cannot be opened.
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    /// The address cannot be bound.
    #[error("listen: cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct File {
    listen: String,
    storage: StorageEntry,
    token_key: KeyEntry,
    #[serde(default)]
    log: Option<LogFormat>,
    operators: Vec<Value>,
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
enum StorageEntry {
    Sqlite { path: PathBuf },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyEntry {
    #[serde(default)]
    env: Option<String>,
    #[serde(default)]
    file: Option<PathBuf>,
}

impl ServiceConfig {
    /// Reads and checks a configuration file's text: every field, every
    /// operator entry (with the domain's validator for its requests), and
    /// that the token key is kept apart from the data.
    pub fn from_json(text: &str) -> Result<Self, ServiceError> {
        let file: File =
            serde_json::from_str(text).map_err(|e| ServiceError::Json(e.to_string()))?;
        let listen = file.listen.parse().map_err(|_| ServiceError::Field {
            field: "listen",
            reason: format!("{} is not an address like 0.0.0.0:8080", file.listen),
        })?;
        let StorageEntry::Sqlite { path: database } = file.storage;
        if database.as_os_str().is_empty() {
            return Err(ServiceError::Field {
                field: "storage.path",
                reason: "must name the database file".into(),
            });
        }
        let token_key = match (file.token_key.env, file.token_key.file) {
            (Some(name), None) if !name.is_empty() => KeySource::Env(name),
            (None, Some(path)) => {
                if same_directory(&path, &database) {
                    return Err(ServiceError::Field {
                        field: "tokenKey.file",
                        reason: "the token key must not sit beside the database: a copy of the data directory alone would open every token".into(),
                    });
                }
                KeySource::File(path)
            }
            _ => {
                return Err(ServiceError::Field {
                    field: "tokenKey",
                    reason: "give exactly one of env and file".into(),
                })
            }
        };
        if file.operators.is_empty() {
            return Err(ServiceError::Field {
                field: "operators",
                reason: "list at least one backend".into(),
            });
        }
        let operators = configs_from_json(text, Mode::Production)?;
        Ok(Self {
            listen,
            database,
            token_key,
            log_format: file.log.unwrap_or(LogFormat::Json),
            operators,
        })
    }

    /// Reads the configuration file at `path`.
    pub fn read(path: &Path) -> Result<Self, ServiceError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ServiceError::Json(format!("cannot read {}: {e}", path.display())))?;
        Self::from_json(&text)
    }

    /// Loads the token key.
    pub fn load_key(&self) -> Result<TokenKey, KeyError> {
        match &self.token_key {
            KeySource::Env(name) => TokenKey::from_env(name),
            KeySource::File(path) => TokenKey::from_file(path),
        }
    }

    /// One line per backend, for `--check-config` and the start-up log.
    pub fn summary(&self) -> Vec<String> {
        self.operators
            .iter()
            .map(|o| {
                format!(
                    "{} → {} as {} ({} request(s), {} scope(s){})",
                    o.base_path,
                    o.issuer,
                    o.client_id,
                    o.requests.ids().count(),
                    o.scopes.len(),
                    if o.dpop.is_some() { ", DPoP" } else { "" },
                )
            })
            .collect()
    }
}

/// Whether two paths sit in the same directory (compared as written, and
/// as resolved where they exist).
fn same_directory(a: &Path, b: &Path) -> bool {
    let parent = |p: &Path| {
        let dir = p.parent().map(Path::to_path_buf).unwrap_or_default();
        let dir = if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        };
        std::fs::canonicalize(&dir).unwrap_or(dir)
    };
    parent(a) == parent(b)
}

/// The whole app: every backend at its base path, `/healthz` (the process
/// answers) and `/readyz` (the store answers too).
pub fn app(operators: Vec<Operator>, store: Arc<dyn ConsentStore>) -> Router {
    let mut app = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz).with_state(store));
    for operator in operators {
        let base_path = operator.base_path().to_owned();
        app = app.nest(&base_path, router(operator));
    }
    app
}

async fn healthz() -> Response {
    (StatusCode::OK, Json(json!({ "status": "ok" }))).into_response()
}

async fn readyz(State(store): State<Arc<dyn ConsentStore>>) -> Response {
    let pinged = tokio::task::spawn_blocking(move || store.ping()).await;
    match pinged {
        Ok(Ok(())) => (StatusCode::OK, Json(json!({ "status": "ready" }))).into_response(),
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "not_ready", "storage": "unavailable" })),
        )
            .into_response(),
    }
}

/// Opens the store and the key, builds every backend, listens, and serves
/// until `shutdown` resolves; then stops accepting, lets requests in flight
/// finish (at most [`SHUTDOWN_GRACE`]) and stops the upkeep.
pub async fn run(
    config: ServiceConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServiceError> {
    let key = config.load_key()?;
    let store: Arc<dyn ConsentStore> = Arc::new(SqliteStore::open(&config.database)?);
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServiceError::Listen {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().unwrap_or(config.listen);
    let mut upkeep = Vec::new();
    let mut operators = Vec::new();
    for entry in config.operators {
        let operator = Operator::new(entry, store.clone(), key.clone(), system_clock());
        upkeep.push(operator.spawn_upkeep());
        operators.push(operator);
    }
    tracing::info!(%addr, backends = operators.len(), "myna-operator listening");
    let service = app(operators, store).into_make_service_with_connect_info::<SocketAddr>();
    let (stopping, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(listener, service).with_graceful_shutdown(async move {
        shutdown.await;
        tracing::info!("stop signal: finishing requests in flight");
        let _ = stopping.send(());
    });
    let served = tokio::spawn(async move { server.await });
    let result = async {
        // After the signal, in-flight requests get a bounded time.
        let _ = stopped.await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        outcome = served => {
            if let Ok(Err(error)) = outcome {
                tracing::error!(%error, "the server stopped");
            }
        }
        () = result => tracing::warn!("requests still in flight after the grace period were cut"),
    }
    for task in upkeep {
        task.abort();
    }
    tracing::info!("myna-operator stopped");
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn stop_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
