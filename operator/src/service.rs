//! The deployable service behind the `myna-operator` binary: its own
//! configuration file, the secrets it reads from the environment or files,
//! the app (every backend at its base path, plus `/healthz` and `/readyz`),
//! and serving on any address until SIGTERM or Ctrl-C, letting requests in
//! flight finish; and the re-seal of a key rotation. `docs/deploy.md`
//! walks an operator through it, `docs/operator.md` ("Token keys and
//! rotation") through a key rotation.

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
use crate::reseal::ResealReport;
use crate::seal::{check_key_id, KeyError, KeyRing, RingKey, TokenKey, DEFAULT_KEY_ID};
use crate::store::{ConsentStore, PostgresOptions, PostgresStore, SqliteStore, StoreError};
use crate::{router, system_clock, Operator};

/// How long in-flight requests may take to finish after a stop signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// Where a token key comes from: never from a file beside the data, so a
/// copy of the data alone opens nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// An environment variable holding the key as base64.
    Env(String),
    /// A file only its owner can read (a mounted secret), holding base64.
    File(PathBuf),
}

/// One key of the token key ring as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfiguredKey {
    /// The key id that every value sealed under it carries.
    pub id: String,
    /// Where the key comes from.
    pub source: KeySource,
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
    /// Where consents, jobs and sealed tokens are stored.
    pub storage: Storage,
    /// The token key ring: `tokenKey` (one key, id `default`) or
    /// `tokenKeys`.
    pub token_keys: Vec<ConfiguredKey>,
    /// The id of the key new values are sealed with (`activeKey`).
    pub active_key: String,
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
    /// A token key cannot be read.
    #[error("token key: {0}")]
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
    #[serde(default)]
    token_key: Option<KeyEntry>,
    #[serde(default)]
    token_keys: Option<Vec<RingEntry>>,
    #[serde(default)]
    active_key: Option<String>,
    #[serde(default)]
    log: Option<LogFormat>,
    operators: Vec<Value>,
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
enum StorageEntry {
    Sqlite {
        path: PathBuf,
    },
    #[serde(rename_all = "camelCase")]
    Postgres {
        #[serde(default)]
        url_env: Option<String>,
        #[serde(default)]
        url_file: Option<PathBuf>,
        #[serde(default)]
        max_connections: Option<usize>,
    },
}

/// Where the service stores its data.
#[derive(Clone)]
pub enum Storage {
    /// One SQLite file: one machine (several processes at most).
    Sqlite(PathBuf),
    /// A PostgreSQL database that several instances share.
    Postgres {
        /// The connection URL (it may hold a password: never logged).
        url: String,
        /// Connections per instance.
        max_connections: usize,
    },
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "Sqlite({})", path.display()),
            Self::Postgres {
                max_connections, ..
            } => write!(f, "Postgres([redacted], {max_connections} connections)"),
        }
    }
}

impl Storage {
    /// Opens the store and brings its schema up to date. Blocks: call it
    /// where a thread may block (`spawn_blocking`), inside a Tokio runtime.
    pub fn open(&self) -> Result<Arc<dyn ConsentStore>, StoreError> {
        Ok(match self {
            Self::Sqlite(path) => Arc::new(SqliteStore::open(path)?),
            Self::Postgres {
                url,
                max_connections,
            } => Arc::new(PostgresStore::connect_with_options(
                url,
                PostgresOptions::default().max_connections(*max_connections),
            )?),
        })
    }

    /// The directory of the SQLite file, where no key may sit.
    fn data_path(&self) -> Option<&Path> {
        match self {
            Self::Sqlite(path) => Some(path),
            Self::Postgres { .. } => None,
        }
    }

    /// How the start-up log and `--check-config` name it.
    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("SQLite {}", path.display()),
            Self::Postgres {
                max_connections, ..
            } => format!("PostgreSQL ({max_connections} connections per instance)"),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyEntry {
    #[serde(default)]
    env: Option<String>,
    #[serde(default)]
    file: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RingEntry {
    id: String,
    #[serde(default)]
    env: Option<String>,
    #[serde(default)]
    file: Option<PathBuf>,
}

fn field_error(field: &'static str, reason: impl Into<String>) -> ServiceError {
    ServiceError::Field {
        field,
        reason: reason.into(),
    }
}

/// Where one key comes from: exactly one of `env` and `file`, and a file
/// never beside the database. `what` names the key in the reasons.
fn key_source(
    env: Option<String>,
    file: Option<PathBuf>,
    database: Option<&Path>,
    (field, file_field, what): (&'static str, &'static str, &str),
) -> Result<KeySource, ServiceError> {
    match (env, file) {
        (Some(name), None) if !name.is_empty() => Ok(KeySource::Env(name)),
        (None, Some(path)) => {
            if database.is_some_and(|database| inside_data_directory(&path, database)) {
                return Err(field_error(
                    file_field,
                    format!("{what} must not sit beside the database: a copy of the data directory alone would open every token"),
                ));
            }
            Ok(KeySource::File(path))
        }
        _ => Err(field_error(
            field,
            format!("{what}: give exactly one of env and file"),
        )),
    }
}

/// The key ring as configured: `tokenKey` (one key, id `default`, always
/// active) or `tokenKeys` (unique ids) with `activeKey` among them.
fn configured_keys(
    single: Option<KeyEntry>,
    ring: Option<Vec<RingEntry>>,
    active: Option<String>,
    database: Option<&Path>,
) -> Result<(Vec<ConfiguredKey>, String), ServiceError> {
    match (single, ring) {
        (Some(entry), None) => {
            if active.is_some() {
                return Err(field_error(
                    "activeKey",
                    "goes with tokenKeys; a single tokenKey is always the active one",
                ));
            }
            let source = key_source(
                entry.env,
                entry.file,
                database,
                ("tokenKey", "tokenKey.file", "the token key"),
            )?;
            let id = DEFAULT_KEY_ID.to_owned();
            Ok((
                vec![ConfiguredKey {
                    id: id.clone(),
                    source,
                }],
                id,
            ))
        }
        (None, Some(entries)) => {
            if entries.is_empty() {
                return Err(field_error("tokenKeys", "list at least one key"));
            }
            let mut keys: Vec<ConfiguredKey> = Vec::new();
            for entry in entries {
                check_key_id(&entry.id).map_err(|e| field_error("tokenKeys.id", e.to_string()))?;
                if keys.iter().any(|k| k.id == entry.id) {
                    return Err(field_error(
                        "tokenKeys.id",
                        format!("the key id {} is listed twice", entry.id),
                    ));
                }
                let what = format!("the key {}", entry.id);
                let source = key_source(
                    entry.env,
                    entry.file,
                    database,
                    ("tokenKeys", "tokenKeys.file", &what),
                )?;
                keys.push(ConfiguredKey {
                    id: entry.id,
                    source,
                });
            }
            let active = active.ok_or_else(|| {
                field_error(
                    "activeKey",
                    "name the key new values are sealed with, one of the ids of tokenKeys",
                )
            })?;
            if !keys.iter().any(|k| k.id == active) {
                return Err(field_error(
                    "activeKey",
                    format!("{active} is not one of the ids of tokenKeys"),
                ));
            }
            Ok((keys, active))
        }
        _ => Err(field_error(
            "tokenKey",
            "give exactly one of tokenKey (one key) and tokenKeys (a key ring, with activeKey)",
        )),
    }
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
        let storage = match file.storage {
            StorageEntry::Sqlite { path } if path.as_os_str().is_empty() => {
                return Err(ServiceError::Field {
                    field: "storage.path",
                    reason: "must name the database file".into(),
                })
            }
            StorageEntry::Sqlite { path } => Storage::Sqlite(path),
            StorageEntry::Postgres {
                url_env,
                url_file,
                max_connections,
            } => {
                let url = match (url_env, url_file) {
                    (Some(name), None) => std::env::var(&name)
                        .ok()
                        .filter(|url| !url.is_empty())
                        .ok_or_else(|| ServiceError::Field {
                            field: "storage.urlEnv",
                            reason: format!("the environment variable {name} is not set"),
                        })?,
                    (None, Some(path)) => std::fs::read_to_string(&path)
                        .map(|text| text.trim().to_owned())
                        .map_err(|e| ServiceError::Field {
                            field: "storage.urlFile",
                            reason: format!("{} cannot be read: {e}", path.display()),
                        })?,
                    _ => {
                        return Err(ServiceError::Field {
                            field: "storage",
                            reason: "a postgres storage gives exactly one of urlEnv and urlFile (the URL may hold a password)".into(),
                        })
                    }
                };
                let max_connections = max_connections.unwrap_or(16);
                if !(1..=1000).contains(&max_connections) {
                    return Err(ServiceError::Field {
                        field: "storage.maxConnections",
                        reason: "must be between 1 and 1000".into(),
                    });
                }
                Storage::Postgres {
                    url,
                    max_connections,
                }
            }
        };
        let (token_keys, active_key) = configured_keys(
            file.token_key,
            file.token_keys,
            file.active_key,
            storage.data_path(),
        )?;
        if file.operators.is_empty() {
            return Err(ServiceError::Field {
                field: "operators",
                reason: "list at least one backend".into(),
            });
        }
        let operators = configs_from_json(text, Mode::Production)?;
        Ok(Self {
            listen,
            storage,
            token_keys,
            active_key,
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

    /// Loads every token key into the ring, the active key sealing.
    pub fn load_key(&self) -> Result<TokenKey, KeyError> {
        let keys = self
            .token_keys
            .iter()
            .map(|key| match &key.source {
                KeySource::Env(name) => RingKey::from_env(&key.id, name),
                KeySource::File(path) => RingKey::from_file(&key.id, path),
            })
            .collect::<Result<Vec<_>, _>>()?;
        KeyRing::new(keys, &self.active_key)
    }

    /// The key ring in one line (ids only), for `--check-config` and the
    /// start-up log.
    pub fn keys_summary(&self) -> String {
        let ids: Vec<&str> = self.token_keys.iter().map(|k| k.id.as_str()).collect();
        format!(
            "token keys: {} (active: {})",
            ids.join(", "),
            self.active_key
        )
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

/// Whether the key file sits in the database's directory or below it
/// (compared as written, and as resolved where they exist).
fn inside_data_directory(key: &Path, database: &Path) -> bool {
    // Inside the database's directory at any depth: a copy of that
    // directory would carry the key along.
    let resolve = |p: &Path| {
        let p = if p.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            p.to_path_buf()
        };
        std::fs::canonicalize(&p).unwrap_or(p)
    };
    let data = resolve(database.parent().unwrap_or(Path::new(".")));
    let key = match (key.parent(), key.file_name()) {
        (Some(dir), Some(name)) => resolve(dir).join(name),
        _ => resolve(key),
    };
    key.starts_with(&data)
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
    let storage = config.storage.clone();
    let store = tokio::task::spawn_blocking(move || storage.open())
        .await
        .map_err(|_| StoreError::Task)??;
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

/// `myna-operator reseal`: loads every key, opens the database and
/// re-seals every sealed value under the active key while instances may be
/// running (see [`crate::reseal`]).
pub fn reseal(config: &ServiceConfig) -> Result<ResealReport, ServiceError> {
    let key = config.load_key()?;
    let store = config.storage.open()?;
    Ok(crate::reseal::reseal(
        store.as_ref(),
        &key,
        system_clock()(),
    )?)
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
