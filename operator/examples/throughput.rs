//! The operator backend's throughput on its two stores, for `scripts/bench`:
//! consents listed per second, and retrievals completed per second with many
//! in flight, on SQLite and on PostgreSQL. Each backend serves on loopback
//! in this process, against the sandbox authority, and every consent is
//! granted through the real flow (start, approval at the authority,
//! completion). Figures to compare across commits, never pass/fail.
//!
//! PostgreSQL is measured when `MYNA_TEST_POSTGRES_URL` names a database
//! (`scripts/bench` starts a throwaway cluster for it); the run keeps its
//! tables in a schema of its own there and drops it afterwards.
//!
//! ```text
//! cargo run --release -p myna-operator --example throughput
//! ```

// The test harness's fixtures: the authority's configuration, the requests
// the backend offers, and the citizen's approval at the authority.
#[path = "../tests/common/mod.rs"]
mod common;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use common::{
    approve_at_authority, authority_config, browser_client, linkage_body, requests, BASE_PATH,
    CLIENT_ID, CLIENT_SECRET, SERVER_KEY,
};
use myna_operator::{
    ConsentStore, Mode, Operator, PostgresOptions, PostgresStore, SqliteStore, TokenKey,
};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// The variable that names the PostgreSQL database the run may use.
const POSTGRES_URL_ENV: &str = "MYNA_TEST_POSTGRES_URL";
/// Connections in the PostgreSQL store's pool: the binary's default.
const POSTGRES_CONNECTIONS: usize = 16;

/// Consents held by the citizen whose list is read.
const LISTED_CONSENTS: usize = 20;
/// `GET /consents` requests in flight at once.
const LIST_CONCURRENCY: usize = 16;
/// Listing before the clock starts (connections opened, caches warm).
const LIST_WARM_UP: Duration = Duration::from_millis(500);
/// How long the listing is timed.
const LIST_DURATION: Duration = Duration::from_secs(3);

/// Retrievals started at once, one per consent. The sandbox authority makes
/// each take at least about a second, so they are timed together, from the
/// first start to the last end.
const RETRIEVALS: usize = 50;
/// The least a retrieval takes here: the sandbox authority answers
/// `waiting` to the first two polls and for a second, and the backend polls
/// every 500 ms, so the third poll, at about 1.5 s, is the first that can
/// end it. With all retrievals in flight at once this bounds the figure.
const RETRIEVAL_FLOOR: Duration = Duration::from_millis(1500);
/// How often this client asks the backend whether a retrieval ended. The
/// SDK asks once a second; finer here, to time the end.
const RETRIEVAL_POLL: Duration = Duration::from_millis(100);
/// A retrieval still waiting after this is counted as failed.
const RETRIEVAL_LIMIT: Duration = Duration::from_secs(60);

/// Grants made at once while setting up.
const GRANT_CONCURRENCY: usize = 8;
/// Calls a second the authority allows the client, and the backend's own
/// budget for it: far above what the run makes, so that it measures the
/// backend and its store, not the rate limits.
const TPS: u32 = 1000;

type Failed = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("throughput: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Failed> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "Operator backend throughput: one backend on loopback against the sandbox authority, \
         both in this process with this client, on {cores} cores."
    );
    println!(
        "  listing:    GET /consents, {LIST_CONCURRENCY} in flight for {} s \
         (after {} ms of warm-up), by a citizen with {LISTED_CONSENTS} consents",
        LIST_DURATION.as_secs(),
        LIST_WARM_UP.as_millis()
    );
    println!(
        "  retrievals: {RETRIEVALS} consents retrieving at once, from the first start to the \
         last end; this client asks the backend every {} ms",
        RETRIEVAL_POLL.as_millis()
    );
    println!(
        "              each takes at least about {:.1} s (the authority's wait and the \
         backend's polls), so at most about {:.0} a second: the median shows what the \
         backend adds",
        RETRIEVAL_FLOOR.as_secs_f64(),
        RETRIEVALS as f64 / RETRIEVAL_FLOOR.as_secs_f64()
    );

    eprintln!("\nSQLite: granting and measuring…");
    let sqlite = measure_sqlite().await?;
    let postgres = match std::env::var(POSTGRES_URL_ENV) {
        Ok(url) => {
            eprintln!("PostgreSQL: granting and measuring…");
            Some(measure_postgres(&url).await?)
        }
        Err(_) => None,
    };

    println!();
    print_table(&sqlite, postgres.as_ref());
    println!();
    println!("  SQLite (one file, WAL): {}", sqlite.counts());
    match &postgres {
        Some(figures) => println!(
            "  PostgreSQL ({POSTGRES_CONNECTIONS} connections): {}",
            figures.counts()
        ),
        None => println!(
            "  PostgreSQL: not measured: {POSTGRES_URL_ENV} is not set \
             (scripts/bench starts a throwaway cluster and sets it)"
        ),
    }
    Ok(())
}

// -------------------------------------------------------------- stores --

async fn measure_sqlite() -> Result<Figures, Failed> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("operator.sqlite");
    let store: Arc<dyn ConsentStore> =
        Arc::new(SqliteStore::open(&path).map_err(|e| format!("opening SQLite: {e}"))?);
    measure(store, dir.path()).await
}

/// Measures on a new schema of the database at `url`, dropped afterwards
/// (also when the measurement fails).
async fn measure_postgres(url: &str) -> Result<Figures, Failed> {
    let (admin, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(|e| format!("connecting to {POSTGRES_URL_ENV}: {e}"))?;
    tokio::spawn(connection);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_nanos();
    let schema = format!("throughput_{}_{nanos}", std::process::id());
    admin
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .await
        .map_err(|e| format!("creating the schema {schema}: {e}"))?;

    let figures = async {
        let (url, options) = (
            url.to_owned(),
            PostgresOptions::default()
                .max_connections(POSTGRES_CONNECTIONS)
                .schema(schema.clone()),
        );
        // The store drives its driver with block_on: made on a thread that
        // may block.
        let store =
            tokio::task::spawn_blocking(move || PostgresStore::connect_with_options(&url, options))
                .await?
                .map_err(|e| format!("connecting the store: {e}"))?;
        let dir = tempfile::tempdir()?;
        measure(Arc::new(store), dir.path()).await
    }
    .await;

    admin
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .map_err(|e| format!("dropping the schema {schema}: {e}"))?;
    figures
}

// ------------------------------------------------------------- measure --

/// What one store gave.
struct Figures {
    /// Consents in the listed citizen's list.
    listed_consents: usize,
    /// `GET /consents` answered 200, and answered otherwise (or not at all).
    lists: u64,
    list_failures: u64,
    list_seconds: f64,
    /// Retrievals that ended `done`, and otherwise (or never).
    retrievals: usize,
    retrieval_failures: usize,
    /// From the first start to the last end.
    retrieval_seconds: f64,
    /// Each retrieval's own start to end, median.
    median_retrieval_seconds: f64,
}

impl Figures {
    fn lists_per_second(&self) -> f64 {
        self.lists as f64 / self.list_seconds
    }

    fn retrievals_per_second(&self) -> f64 {
        self.retrievals as f64 / self.retrieval_seconds
    }

    fn counts(&self) -> String {
        format!(
            "{} lists of {} consents in {:.2} s ({} failed); \
             {} retrievals done in {:.2} s ({} failed)",
            self.lists,
            self.listed_consents,
            self.list_seconds,
            self.list_failures,
            self.retrievals,
            self.retrieval_seconds,
            self.retrieval_failures
        )
    }
}

/// Starts the authority and a backend on `store`, grants the consents, and
/// measures listing, then retrievals.
async fn measure(store: Arc<dyn ConsentStore>, dir: &std::path::Path) -> Result<Figures, Failed> {
    let backend = Backend::start(store, dir).await?;
    let site = backend.site.clone();

    let lister = browser_client(None);
    grant_many(&site, &lister, LISTED_CONSENTS).await?;
    let retriever = browser_client(None);
    let consents = grant_many(&site, &retriever, RETRIEVALS).await?;

    let list_url = site.url("/consents");
    let listed: Value = lister.get(&list_url).send().await?.json().await?;
    let listed_consents = listed["consents"].as_array().map_or(0, Vec::len);
    list_for(&lister, &list_url, LIST_WARM_UP).await;
    let (lists, list_failures, list_elapsed) = list_for(&lister, &list_url, LIST_DURATION).await;

    let retrieved = retrieve_all(&site, &retriever, &consents).await;
    backend.stop().await;

    let mut each: Vec<f64> = retrieved
        .ends
        .iter()
        .map(|took| took.as_secs_f64())
        .collect();
    each.sort_by(f64::total_cmp);
    Ok(Figures {
        listed_consents,
        lists,
        list_failures,
        list_seconds: list_elapsed.as_secs_f64(),
        retrievals: retrieved.ends.len(),
        retrieval_failures: retrieved.failures,
        retrieval_seconds: retrieved.elapsed.as_secs_f64(),
        median_retrieval_seconds: each.get(each.len() / 2).copied().unwrap_or(f64::NAN),
    })
}

/// The authority and one backend, each on a loopback port, until stopped.
struct Backend {
    site: Site,
    stop: tokio::sync::oneshot::Sender<()>,
    serving: tokio::task::JoinHandle<()>,
    _authority: myna_authority::test_support::TestAuthority,
}

impl Backend {
    async fn start(store: Arc<dyn ConsentStore>, dir: &std::path::Path) -> Result<Self, Failed> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let origin = format!("http://{}", listener.local_addr()?);
        let authority = myna_authority::test_support::start(
            &authority_config(
                "http://placeholder",
                &format!("{origin}/site/callback.html"),
                TPS,
            ),
            &dir.join("authority.sqlite"),
            myna_authority::system_clock(),
        )
        .await;
        let entry = operator_entry(&authority.issuer, &origin);
        let config = myna_operator::configs_from_json(
            &json!({ "operators": [entry] }).to_string(),
            Mode::Production,
        )
        .map_err(|e| format!("the backend's configuration: {e}"))?
        .remove(0);
        let operator = Operator::new(
            config,
            store,
            TokenKey::generate(),
            myna_operator::system_clock(),
        );
        let upkeep = operator.spawn_upkeep();
        let app = Router::new().nest(BASE_PATH, myna_operator::router(operator));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = tokio::spawn(async move {
            let service = app.into_make_service_with_connect_info::<SocketAddr>();
            let _ = axum::serve(listener, service)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                    upkeep.abort();
                })
                .await;
        });
        Ok(Self {
            site: Site { origin },
            stop,
            serving,
            _authority: authority,
        })
    }

    /// Stops serving and the upkeep, so that nothing holds the store.
    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.serving.await;
    }
}

/// The backend as its pages call it.
#[derive(Clone)]
struct Site {
    /// The backend's origin, e.g. `http://127.0.0.1:40000`.
    origin: String,
}

impl Site {
    fn url(&self, path: &str) -> String {
        format!("{}{BASE_PATH}{path}", self.origin)
    }

    /// A POST as the operator's page makes it.
    async fn post(
        &self,
        http: &reqwest::Client,
        path: &str,
        body: &Value,
    ) -> Result<reqwest::Response, Failed> {
        Ok(http
            .post(self.url(path))
            .header("origin", &self.origin)
            .header("x-myna-request", "1")
            .json(body)
            .send()
            .await?)
    }
}

/// The backend's configuration entry: the test harness's operator, with
/// limits that stay out of the way.
fn operator_entry(issuer: &str, origin: &str) -> Value {
    json!({
        "basePath": BASE_PATH,
        "issuer": issuer,
        "clientId": CLIENT_ID,
        "clientSecret": CLIENT_SECRET,
        "redirectUri": format!("{origin}/site/callback.html"),
        "origin": origin,
        "operator": {
            "name": "テスト事業者株式会社",
            "contact": "03-0000-0000",
            "privacyPolicyUrl": "https://operator.example/privacy",
            "approvalId": "MPA-TEST-0001"
        },
        "recipients": { "partner": {
            "name": "提携アプリ株式会社", "contact": "03-0000-2222",
            "privacyPolicyUrl": "https://partner.example/privacy",
            "approvalId": "MPA-TEST-0002"
        } },
        "requests": requests(),
        "serverApiKey": SERVER_KEY,
        "limits": {
            "startsPerMinutePerUser": TPS,
            "startsPerMinutePerAddress": TPS,
            "authorityTps": TPS
        },
    })
}

// -------------------------------------------------------------- grants --

/// One linkage granted through the whole flow by the citizen whose browser
/// is `http`; answers its id.
async fn grant(site: &Site, http: &reqwest::Client) -> Result<String, Failed> {
    let response = site.post(http, "/authorizations", &linkage_body()).await?;
    let status = response.status();
    let started: Value = response.json().await?;
    let url = started["authorizationUrl"]
        .as_str()
        .ok_or_else(|| format!("POST /authorizations answered {status}: {started}"))?;
    let callback = approve_at_authority(url).await;
    let response = site
        .post(http, "/authorizations/complete", &callback)
        .await?;
    let status = response.status();
    let consent: Value = response.json().await?;
    match consent["id"].as_str() {
        Some(id) if status == 201 => Ok(id.to_owned()),
        _ => Err(format!("POST /authorizations/complete answered {status}: {consent}").into()),
    }
}

/// `count` linkages for the citizen whose browser is `http`.
async fn grant_many(
    site: &Site,
    http: &reqwest::Client,
    count: usize,
) -> Result<Vec<String>, Failed> {
    // The first alone: its start opens the session that the others share.
    let mut ids = vec![grant(site, http).await?];
    let gate = Arc::new(Semaphore::new(GRANT_CONCURRENCY));
    let mut grants = JoinSet::new();
    for _ in 1..count {
        let (site, http, gate) = (site.clone(), http.clone(), gate.clone());
        grants.spawn(async move {
            let _turn = gate.acquire_owned().await?;
            grant(&site, &http).await
        });
    }
    while let Some(granted) = grants.join_next().await {
        ids.push(granted??);
    }
    Ok(ids)
}

// ------------------------------------------------------------- listing --

/// `GET url` with [`LIST_CONCURRENCY`] in flight until `duration` has
/// passed; answers the requests answered 200, the others, and the time
/// until the last answer.
async fn list_for(http: &reqwest::Client, url: &str, duration: Duration) -> (u64, u64, Duration) {
    let began = Instant::now();
    let deadline = began + duration;
    let mut workers = JoinSet::new();
    for _ in 0..LIST_CONCURRENCY {
        let (http, url) = (http.clone(), url.to_owned());
        workers.spawn(async move {
            let (mut ok, mut failed) = (0u64, 0u64);
            while Instant::now() < deadline {
                // The whole body read, as a page would.
                let answered = match http.get(&url).send().await {
                    Ok(response) if response.status() == 200 => response.bytes().await.is_ok(),
                    _ => false,
                };
                if answered {
                    ok += 1;
                } else {
                    failed += 1;
                }
            }
            (ok, failed)
        });
    }
    let (mut ok, mut failed) = (0, 0);
    while let Some(counts) = workers.join_next().await {
        let (o, f) = counts.unwrap_or((0, 1));
        ok += o;
        failed += f;
    }
    (ok, failed, began.elapsed())
}

// ---------------------------------------------------------- retrievals --

/// What the retrievals gave.
struct Retrieved {
    /// Each `done` retrieval's own time from its start to its end.
    ends: Vec<Duration>,
    /// Retrievals that did not start, ended otherwise, or never ended.
    failures: usize,
    /// From the first start to the last end.
    elapsed: Duration,
}

/// Starts a retrieval of every consent at once and waits for them all.
async fn retrieve_all(site: &Site, http: &reqwest::Client, consents: &[String]) -> Retrieved {
    let began = Instant::now();
    let mut retrievals = JoinSet::new();
    for id in consents {
        let (site, http, id) = (site.clone(), http.clone(), id.clone());
        retrievals.spawn(async move { retrieve(&site, &http, &id).await });
    }
    let (mut ends, mut failures, mut last) = (Vec::new(), 0, began);
    while let Some(retrieved) = retrievals.join_next().await {
        match retrieved {
            Ok(Ok((started, ended))) => {
                ends.push(ended - started);
                last = last.max(ended);
            }
            Ok(Err(error)) => {
                eprintln!("  a retrieval failed: {error}");
                failures += 1;
            }
            Err(error) => {
                eprintln!("  a retrieval's task failed: {error}");
                failures += 1;
            }
        }
    }
    Retrieved {
        ends,
        failures,
        elapsed: last - began,
    }
}

/// One retrieval of a consent, started and polled until it ends; answers
/// when it started and when this client saw it `done`.
async fn retrieve(
    site: &Site,
    http: &reqwest::Client,
    consent: &str,
) -> Result<(Instant, Instant), Failed> {
    let started = Instant::now();
    let response = site
        .post(http, &format!("/consents/{consent}/retrievals"), &json!({}))
        .await?;
    let status = response.status();
    let answer: Value = response.json().await?;
    let id = match answer["id"].as_str() {
        Some(id) if status == 202 => id.to_owned(),
        _ => return Err(format!("POST retrievals answered {status}: {answer}").into()),
    };
    let url = site.url(&format!("/consents/{consent}/retrievals/{id}"));
    while started.elapsed() < RETRIEVAL_LIMIT {
        tokio::time::sleep(RETRIEVAL_POLL).await;
        let state: Value = http.get(&url).send().await?.json().await?;
        match state["status"].as_str() {
            Some("waiting") => continue,
            Some("done") => return Ok((started, Instant::now())),
            _ => return Err(format!("the retrieval ended {state}").into()),
        }
    }
    Err(format!("the retrieval was still waiting after {RETRIEVAL_LIMIT:?}").into())
}

// -------------------------------------------------------------- output --

fn print_table(sqlite: &Figures, postgres: Option<&Figures>) {
    println!(
        "{:<36} {:>10} {:>12} {:>19}",
        "metric", "SQLite", "PostgreSQL", "PostgreSQL/SQLite"
    );
    let row = |name: &str, decimals: usize, figure: fn(&Figures) -> f64| {
        let on_sqlite = figure(sqlite);
        let (on_postgres, ratio) = match postgres.map(figure) {
            Some(value) => (
                format!("{value:.decimals$}"),
                format!("{:.2}", value / on_sqlite),
            ),
            None => ("—".to_owned(), "—".to_owned()),
        };
        println!("{name:<36} {on_sqlite:>10.decimals$} {on_postgres:>12} {ratio:>19}");
    };
    row("GET /consents per second", 0, Figures::lists_per_second);
    row(
        "retrievals completed per second",
        1,
        Figures::retrievals_per_second,
    );
    row("retrieval, median start to end (s)", 2, |f| {
        f.median_retrieval_seconds
    });
}
