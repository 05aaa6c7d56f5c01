//! The operator backend over real HTTP on 127.0.0.1, against the sandbox
//! authority (`myna-authority`), with a small recording proxy in front of the
//! authority.
//!
//! The proxy is how these tests see what only the wire carries: it records
//! the token answers (so a test knows the real refresh token and can look for
//! it in the database file, with no test hook in the backend), injects 429
//! and 5xx answers, and can play an authority that is down. The authority's
//! issuer is the proxy's address, so everything the backend does goes
//! through it, exactly as it would go to a real authority.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use myna_operator::{Clock, ConsentStore, Operator, OperatorConfig, SqliteStore, TokenKey};
use serde_json::{json, Value};
use time::OffsetDateTime;
use tokio::net::TcpListener;

const BASE_PATH: &str = "/site/myna";
const CLIENT_ID: &str = "test-client";
const CLIENT_SECRET: &str = "test-secret";
const CITIZEN: &str = "citizen-001";
const PIN: &str = "1234";

// ---------------------------------------------------------------- clock --

/// A clock shared by the authority and the backend that a test can move.
#[derive(Clone, Default)]
struct TestClock(Arc<AtomicI64>);

impl TestClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + time::Duration::seconds(self.0.load(Ordering::SeqCst))
    }
    fn advance(&self, by: time::Duration) {
        self.0.fetch_add(by.whole_seconds(), Ordering::SeqCst);
    }
    fn clock(&self) -> Clock {
        let me = self.clone();
        Arc::new(move || me.now())
    }
}

// ---------------------------------------------------------------- proxy --

/// A canned answer the proxy gives instead of forwarding.
struct Injection {
    path: &'static str,
    status: u16,
    retry_after: Option<u64>,
}

#[derive(Default)]
struct ProxyState {
    upstream: Mutex<String>,
    down: AtomicBool,
    injections: Mutex<VecDeque<Injection>>,
    /// (path, when) of every request that reached the proxy.
    log: Mutex<Vec<(String, Instant)>>,
    /// Every successful /token answer.
    token_answers: Mutex<Vec<Value>>,
    http: reqwest::Client,
}

impl ProxyState {
    fn requests_to(&self, path: &str) -> Vec<Instant> {
        lock(&self.log)
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, at)| *at)
            .collect()
    }
    fn refresh_tokens(&self) -> Vec<String> {
        lock(&self.token_answers)
            .iter()
            .filter_map(|answer| answer["refresh_token"].as_str().map(str::to_owned))
            .collect()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn forward(State(proxy): State<Arc<ProxyState>>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    let path_and_query = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    lock(&proxy.log).push((path.clone(), Instant::now()));
    if proxy.down.load(Ordering::SeqCst) {
        // What a reverse proxy answers when the authority behind it is gone.
        return (StatusCode::BAD_GATEWAY, "upstream down").into_response();
    }
    let injection = {
        let mut queue = lock(&proxy.injections);
        match queue.front() {
            Some(i) if i.path == path => queue.pop_front(),
            _ => None,
        }
    };
    if let Some(injection) = injection {
        let mut response = (
            StatusCode::from_u16(injection.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            "injected",
        )
            .into_response();
        if let Some(seconds) = injection.retry_after {
            response
                .headers_mut()
                .insert("retry-after", HeaderValue::from(seconds));
        }
        return response;
    }
    let upstream = lock(&proxy.upstream).clone();
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let mut outgoing = proxy
        .http
        .request(parts.method.clone(), format!("{upstream}{path_and_query}"));
    for (name, value) in &parts.headers {
        if !matches!(name.as_str(), "host" | "content-length" | "connection") {
            outgoing = outgoing.header(name.as_str(), value.as_bytes());
        }
    }
    let answer = match outgoing.body(body).send().await {
        Ok(answer) => answer,
        Err(_) => return (StatusCode::BAD_GATEWAY, "upstream failed").into_response(),
    };
    let status = answer.status();
    let headers = answer.headers().clone();
    let bytes: Bytes = answer.bytes().await.unwrap_or_default();
    if path == "/token" && status == StatusCode::OK {
        if let Ok(value) = serde_json::from_slice::<Value>(&bytes) {
            lock(&proxy.token_answers).push(value);
        }
    }
    let mut response = (
        StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY),
        bytes.to_vec(),
    )
        .into_response();
    for (name, value) in &headers {
        if matches!(
            name.as_str(),
            "content-length" | "transfer-encoding" | "connection"
        ) {
            continue;
        }
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_str().as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    response
}

// ---------------------------------------------------------- environment --

struct Env {
    dir: tempfile::TempDir,
    clock: TestClock,
    proxy: Arc<ProxyState>,
    /// The issuer: the proxy's address.
    issuer: String,
    /// The backend's origin, e.g. http://127.0.0.1:40000.
    origin: String,
    /// The backend's base URL, origin + base path.
    backend: String,
    backend_addr: SocketAddr,
    key: TokenKey,
    /// The citizen's browser towards the backend (keeps the session cookie).
    browser: reqwest::Client,
    /// The citizen's browser towards the authority's pages.
    citizen: reqwest::Client,
    backend_stop: Option<tokio::sync::oneshot::Sender<()>>,
    _authority_stop: tokio::sync::oneshot::Sender<()>,
}

fn db_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("sandbox.sqlite")
}

async fn serve(listener: TcpListener, app: Router) -> tokio::sync::oneshot::Sender<()> {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await;
    });
    stop
}

fn authority_config(issuer: &str, redirect_uri: &str, tps: u32) -> String {
    json!({
        "authority": {
            "issuer": issuer,
            "requirePushedAuthorizationRequests": true,
            "tps": tps,
            "codeLifetimeSeconds": 60,
            "accessTokenLifetimeSeconds": 600
        },
        "clients": [{
            "clientId": CLIENT_ID,
            "name": "テスト事業者株式会社",
            "nameEn": "Test Operator Inc.",
            "approvalId": "MPA-TEST-0001",
            "redirectUris": [redirect_uri],
            "auth": { "method": "client_secret_basic", "secret": CLIENT_SECRET },
            "tps": tps
        }],
        "citizens": [
            { "id": CITIZEN, "name": "デジタル 太郎", "nameEn": "Taro Digital", "pin": PIN }
        ]
    })
    .to_string()
}

impl Env {
    async fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let clock = TestClock::default();
        let backend_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let backend_addr = backend_listener.local_addr().expect("addr");
        let proxy_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let authority_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let issuer = format!("http://{}", proxy_listener.local_addr().expect("addr"));
        let origin = format!("http://{backend_addr}");
        let redirect_uri = format!("{origin}/site/callback.html");

        let mut config = myna_authority::AuthorityConfig::from_json(&authority_config(
            &issuer,
            &redirect_uri,
            50,
        ))
        .expect("authority config");
        config.set_issuer(&issuer).expect("issuer");
        let authority =
            myna_authority::Authority::open(config, &db_path(&dir), clock.clock(), true)
                .expect("authority");
        let authority_url = format!("http://{}", authority_listener.local_addr().expect("addr"));
        let authority_stop = serve(authority_listener, myna_authority::router(authority)).await;

        let proxy = Arc::new(ProxyState {
            upstream: Mutex::new(authority_url),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            ..ProxyState::default()
        });
        let _proxy_stop = serve(
            proxy_listener,
            Router::new().fallback(forward).with_state(proxy.clone()),
        )
        .await;
        // The proxy lives as long as the test's runtime.
        std::mem::forget(_proxy_stop);

        let mut env = Env {
            dir,
            clock,
            proxy,
            issuer,
            backend: format!("{origin}{BASE_PATH}"),
            origin,
            backend_addr,
            key: TokenKey::generate(),
            browser: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            citizen: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            backend_stop: None,
            _authority_stop: authority_stop,
        };
        env.start_backend(backend_listener);
        env
    }

    fn operator_config(&self) -> OperatorConfig {
        let text = json!({ "operators": [{
            "basePath": BASE_PATH,
            "issuer": self.issuer,
            "clientId": CLIENT_ID,
            "clientSecret": CLIENT_SECRET,
            "redirectUri": format!("{}/site/callback.html", self.origin),
            "origin": self.origin,
        }]})
        .to_string();
        myna_operator::configs_from_json(&text)
            .expect("operator config")
            .remove(0)
    }

    fn start_backend(&mut self, listener: TcpListener) {
        let store: Arc<dyn ConsentStore> =
            Arc::new(SqliteStore::open(&db_path(&self.dir)).expect("store"));
        let operator = Operator::new(
            self.operator_config(),
            store,
            self.key.clone(),
            self.clock.clock(),
        );
        let app = Router::new().nest(BASE_PATH, myna_operator::router(operator));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
        });
        self.backend_stop = Some(stop);
    }

    /// Stops the backend, drops its store, and starts a new backend with a
    /// new store on the same file and key, on the same address.
    async fn restart_backend(&mut self) {
        if let Some(stop) = self.backend_stop.take() {
            let _ = stop.send(());
        }
        let mut listener = None;
        for _ in 0..50 {
            match TcpListener::bind(self.backend_addr).await {
                Ok(bound) => {
                    listener = Some(bound);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        self.start_backend(listener.expect("rebind the backend address"));
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.backend)
    }

    /// A POST as the operator's page makes it.
    async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.browser
            .post(self.url(path))
            .header("origin", &self.origin)
            .header("x-myna-request", "1")
            .json(&body)
            .send()
            .await
            .expect("POST")
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.browser.get(self.url(path)).send().await.expect("GET")
    }

    async fn start_authorization(&self, body: Value) -> Value {
        let response = self.post("/authorizations", body).await;
        let status = response.status();
        let value: Value = response.json().await.expect("json");
        assert_eq!(status, 201, "POST /authorizations: {value}");
        value
    }

    /// Starts an authorization and approves it at the authority; answers
    /// the callback's parameters as the page would post them.
    async fn approved_callback(&self, body: Value) -> Value {
        let started = self.start_authorization(body).await;
        let url = started["authorizationUrl"].as_str().expect("url");
        let callback =
            myna_authority::test_support::approve(&self.citizen, url, CITIZEN, PIN).await;
        callback_body(&callback)
    }

    /// The whole grant: answers the consent.
    async fn grant(&self, body: Value) -> Value {
        let callback = self.approved_callback(body).await;
        let response = self.post("/authorizations/complete", callback).await;
        let status = response.status();
        let consent: Value = response.json().await.expect("json");
        assert_eq!(status, 201, "complete: {consent}");
        consent
    }

    /// Starts a retrieval and waits until it ends; answers its final state.
    async fn retrieve(&self, consent_id: &str) -> Value {
        let response = self
            .post(&format!("/consents/{consent_id}/retrievals"), json!({}))
            .await;
        let status = response.status();
        let started: Value = response.json().await.expect("json");
        assert_eq!(status, 202, "POST retrievals: {started}");
        assert_eq!(started["status"], "waiting");
        let id = started["id"].as_str().expect("id").to_owned();
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let state: Value = self
                .get(&format!("/consents/{consent_id}/retrievals/{id}"))
                .await
                .json()
                .await
                .expect("json");
            if state["status"] != "waiting" {
                return state;
            }
        }
        panic!("the retrieval never ended");
    }

    /// Calls a sandbox control at the authority.
    async fn control(&self, path: &str, body: Value) -> Value {
        let response = reqwest::Client::new()
            .post(format!("{}{path}", self.issuer))
            .header("x-sandbox-control", "1")
            .json(&body)
            .send()
            .await
            .expect("control");
        assert!(
            response.status().is_success(),
            "control {path}: {}",
            response.status()
        );
        response.json().await.unwrap_or(Value::Null)
    }

    /// Reads a sandbox control at the authority.
    async fn control_get(&self, path: &str) -> Value {
        let response = reqwest::Client::new()
            .get(format!("{}{path}", self.issuer))
            .header("x-sandbox-control", "1")
            .send()
            .await
            .expect("control");
        assert!(
            response.status().is_success(),
            "control {path}: {}",
            response.status()
        );
        response.json().await.unwrap_or(Value::Null)
    }

    /// Presents a refresh token straight to the authority's /token.
    async fn authority_refresh(&self, refresh_token: &str) -> (u16, Value) {
        let response = reqwest::Client::new()
            .post(format!("{}/token", self.issuer))
            .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ])
            .send()
            .await
            .expect("token");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

fn callback_body(callback: &url::Url) -> Value {
    let mut body = serde_json::Map::new();
    for (key, value) in callback.query_pairs() {
        let key = match key.as_ref() {
            "error_description" => "errorDescription".to_owned(),
            other => other.to_owned(),
        };
        body.insert(key, value.into_owned().into());
    }
    Value::Object(body)
}

fn consent_request() -> Value {
    json!({
        "operator": {
            "name": "テスト事業者株式会社",
            "contact": "03-0000-0000",
            "privacyPolicyUrl": "https://operator.example/privacy",
            "approvalId": "MPA-TEST-0001"
        },
        "items": { "required": ["insurance.drugs"], "optional": ["insurance.checkups"] },
        "purposes": [{ "category": "healthManagement", "description": "お薬の記録を表示します。" }],
        "period": { "kind": "linkage", "days": 90 },
        "recipients": [],
        "retention": "解約から30日以内に削除します。",
        "locale": "ja"
    })
}

fn linkage_body() -> Value {
    json!({ "request": consent_request(), "chosenOptional": [], "specialCareConfirmed": false })
}

async fn problem(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, "application/problem+json", "status {status}");
    let value: Value = response.json().await.expect("problem json");
    assert_eq!(
        value["type"],
        format!(
            "urn:myna-consent:problem:{}",
            value["code"].as_str().unwrap_or_default()
        )
    );
    assert_eq!(value["status"], status);
    (status, value)
}

// ---------------------------------------------------------------- tests --

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_flow_grants_an_active_linkage() {
    let env = Env::start().await;
    let started = env.start_authorization(linkage_body()).await;
    assert_eq!(started["issuer"], env.issuer.as_str());
    let url = url::Url::parse(started["authorizationUrl"].as_str().expect("url")).expect("url");
    // Pushed: only client_id and request_uri travel through the browser.
    let keys: Vec<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
    assert_eq!(keys, ["client_id", "request_uri"]);
    assert!(started["state"].as_str().expect("state").len() >= 43);

    let callback =
        myna_authority::test_support::approve(&env.citizen, url.as_str(), CITIZEN, PIN).await;
    let response = env
        .post("/authorizations/complete", callback_body(&callback))
        .await;
    assert_eq!(response.status(), 201);
    let consent: Value = response.json().await.expect("json");
    assert_eq!(consent["status"], "active");
    assert_eq!(consent["items"], json!(["insurance.drugs"]));
    assert_eq!(consent["daysLeft"], 90);
    let granted_at = OffsetDateTime::parse(
        consent["grantedAt"].as_str().expect("grantedAt"),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("rfc3339");
    let end = (granted_at + time::Duration::days(90))
        .to_offset(time::macros::offset!(+9))
        .date();
    assert_eq!(consent["endDate"], end.to_string());
    assert!(consent["grantId"].as_str().is_some_and(|g| !g.is_empty()));
    assert_eq!(consent["lastRetrievalAt"], Value::Null);

    let list: Value = env.get("/consents").await.json().await.expect("json");
    let consents = list["consents"].as_array().expect("array");
    assert_eq!(consents.len(), 1);
    assert_eq!(consents[0]["id"], consent["id"]);
    assert_eq!(consents[0]["status"], "active");
    assert_eq!(consents[0]["endDate"], end.to_string());
    assert_eq!(consents[0]["daysLeft"], 90);

    // The grant receipt is there, and another browser sees nothing.
    let id = consent["id"].as_str().expect("id");
    let receipt: Value = env
        .get(&format!("/consents/{id}/receipt"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(receipt["receipt"]["event"], "grant");
    assert_eq!(receipt["receipt"]["consentId"], id);
    let stranger: Value = reqwest::get(env.url("/consents"))
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(stranger["consents"], json!([]));
    let response = reqwest::get(env.url(&format!("/consents/{id}")))
        .await
        .expect("get");
    assert_eq!(problem(response).await.0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_cookie_is_httponly_lax_and_scoped_to_the_base_path() {
    let env = Env::start().await;
    let response = env.post("/authorizations", linkage_body()).await;
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("a session cookie")
        .to_owned();
    assert!(cookie.starts_with("myna_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(cookie.contains(&format!("Path={BASE_PATH}")), "{cookie}");
    assert!(!cookie.contains("Secure"), "http origin: {cookie}");
    // The same session on the next POST: no new cookie.
    let again = env.post("/authorizations", linkage_body()).await;
    assert!(again.headers().get("set-cookie").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_state_mismatch() {
    let env = Env::start().await;
    let mut callback = env.approved_callback(linkage_body()).await;
    callback["state"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into();
    let (status, body) = problem(env.post("/authorizations/complete", callback).await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("state_mismatch"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_state_of_another_session() {
    let env = Env::start().await;
    let callback = env.approved_callback(linkage_body()).await;
    let other = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let response = other
        .post(env.url("/authorizations/complete"))
        .header("origin", &env.origin)
        .header("x-myna-request", "1")
        .json(&callback)
        .send()
        .await
        .expect("post");
    let (status, body) = problem(response).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("state_mismatch"))
    );
    // The rightful session can still complete it.
    let response = env.post("/authorizations/complete", callback).await;
    assert_eq!(response.status(), 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_reused_state() {
    let env = Env::start().await;
    let callback = env.approved_callback(linkage_body()).await;
    let first = env.post("/authorizations/complete", callback.clone()).await;
    assert_eq!(first.status(), 201);
    let (status, body) = problem(env.post("/authorizations/complete", callback).await).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("state_used")));
    let list: Value = env.get("/consents").await.json().await.expect("json");
    assert_eq!(list["consents"].as_array().map(Vec::len), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_expired_transaction() {
    let env = Env::start().await;
    let callback = env.approved_callback(linkage_body()).await;
    env.clock.advance(time::Duration::minutes(11));
    let (status, body) =
        problem(env.post("/authorizations/complete", callback.clone()).await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("transaction_expired"))
    );
    // Consumed by that attempt.
    let (_, body) = problem(env.post("/authorizations/complete", callback).await).await;
    assert_eq!(body["code"], "state_used");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_issuer_mismatch_and_consumes_the_transaction() {
    let env = Env::start().await;
    let mut callback = env.approved_callback(linkage_body()).await;
    let genuine = callback.clone();
    callback["iss"] = "https://evil.example".into();
    let (status, body) = problem(env.post("/authorizations/complete", callback).await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("issuer_mismatch"))
    );
    let (_, body) = problem(env.post("/authorizations/complete", genuine).await).await;
    assert_eq!(body["code"], "state_used");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_missing_issuer() {
    let env = Env::start().await;
    let mut callback = env.approved_callback(linkage_body()).await;
    callback.as_object_mut().map(|m| m.remove("iss"));
    let (status, body) = problem(env.post("/authorizations/complete", callback).await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("issuer_mismatch"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passes_access_denied_through() {
    let env = Env::start().await;
    let started = env.start_authorization(linkage_body()).await;
    let url = started["authorizationUrl"].as_str().expect("url");
    let callback = myna_authority::test_support::refuse(&env.citizen, url, CITIZEN, PIN).await;
    let body = callback_body(&callback);
    assert_eq!(body["error"], "access_denied");
    let (status, body) = problem(env.post("/authorizations/complete", body).await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("access_denied"))
    );
    let list: Value = env.get("/consents").await.json().await.expect("json");
    assert_eq!(list["consents"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_posts_without_origin_or_marker() {
    let env = Env::start().await;
    let url = env.url("/authorizations");
    let http = &env.browser;
    let cases = [
        http.post(&url).header("x-myna-request", "1"),
        http.post(&url)
            .header("origin", "http://evil.example")
            .header("x-myna-request", "1"),
        http.post(&url).header("origin", &env.origin),
        http.post(&url)
            .header("origin", &env.origin)
            .header("x-myna-request", "0"),
    ];
    for case in cases {
        let response = case.json(&linkage_body()).send().await.expect("post");
        let (status, body) = problem(response).await;
        assert_eq!((status, body["code"].as_str()), (403, Some("csrf")));
    }
    // Every POST route is guarded, not only this one.
    let response = http
        .post(env.url("/consents/x/revocation"))
        .header("origin", "http://evil.example")
        .header("x-myna-request", "1")
        .send()
        .await
        .expect("post");
    assert_eq!(problem(response).await.1["code"], "csrf");
    // Nothing was pushed to the authority.
    assert!(env.proxy.requests_to("/par").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_request_answers_422_with_every_error() {
    let env = Env::start().await;
    let mut request = consent_request();
    request["operator"]["privacyPolicyUrl"] = "http://operator.example/privacy".into();
    request["items"]["required"] = json!(["no.such.item"]);
    request["purposes"] = json!([]);
    let body = json!({ "request": request, "chosenOptional": ["not.offered"], "extra": 1 });
    let (status, body) = problem(env.post("/authorizations", body).await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("invalid_request"))
    );
    let errors = body["errors"].as_array().expect("errors");
    let has = |code: &str, field: &str| {
        errors
            .iter()
            .any(|e| e["code"] == code && e["field"] == field && e["message"].is_string())
    };
    assert!(
        has("insecure_url", "operator.privacyPolicyUrl"),
        "{errors:?}"
    );
    assert!(has("unknown_item", "items.required[0]"), "{errors:?}");
    assert!(has("no_purpose", "purposes"), "{errors:?}");
    assert!(has("unknown_field", "extra"), "{errors:?}");
    assert!(errors.len() >= 4);
    // Missing request entirely.
    let (status, body) = problem(env.post("/authorizations", json!({})).await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("invalid_request"))
    );
    assert!(env.proxy.requests_to("/par").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chosen_item_not_offered_is_an_invalid_request() {
    let env = Env::start().await;
    let body = json!({ "request": consent_request(), "chosenOptional": ["insurance.treatment"] });
    let (status, body) = problem(env.post("/authorizations", body).await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("invalid_request"))
    );
    assert_eq!(body["errors"][0]["code"], "item_not_offered");
    assert_eq!(body["errors"][0]["field"], "chosenOptional[0]");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn special_care_needs_separate_confirmation() {
    let env = Env::start().await;
    let mut request = consent_request();
    request["items"]["optional"] = json!(["insurance.treatment"]);
    let unconfirmed = json!({ "request": request, "chosenOptional": ["insurance.treatment"] });
    let (status, body) = problem(env.post("/authorizations", unconfirmed).await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("special_care_not_confirmed"))
    );
    assert_eq!(body["items"], json!(["insurance.treatment"]));
    // Not chosen: nothing to confirm.
    let unchosen = json!({ "request": request, "chosenOptional": [] });
    env.start_authorization(unchosen).await;
    // Chosen and confirmed.
    let confirmed = json!({
        "request": request,
        "chosenOptional": ["insurance.treatment"],
        "specialCareConfirmed": true
    });
    env.start_authorization(confirmed).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retrievals_rotate_the_refresh_token() {
    let env = Env::start().await;
    let consent = env.grant(linkage_body()).await;
    let id = consent["id"].as_str().expect("id");
    let first = env.retrieve(id).await;
    assert_eq!(first["status"], "done", "{first}");
    let second = env.retrieve(id).await;
    assert_eq!(second["status"], "done", "{second}");
    // Code exchange, then one refresh per retrieval, each with a new token.
    let tokens = env.proxy.refresh_tokens();
    assert_eq!(tokens.len(), 3, "{tokens:?}");
    assert!(tokens[0] != tokens[1] && tokens[1] != tokens[2]);
    // The retired tokens are dead; presenting one now would be reuse, so
    // only check the chain through the backend's own history.
    let detail: Value = env
        .get(&format!("/consents/{id}"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(detail["status"], "active");
    assert_eq!(detail["retrievals"].as_array().map(Vec::len), Some(2));
    assert!(detail["lastRetrievalAt"].is_string());
    let grants = env.control_get("/sandbox/grants").await;
    assert!(grants.to_string().contains("active"), "{grants}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retrieval_counts_granted_items_only() {
    let env = Env::start().await;
    // insurance.checkups is offered but not chosen: it is not granted.
    let consent = env.grant(linkage_body()).await;
    let id = consent["id"].as_str().expect("id");
    let done = env.retrieve(id).await;
    assert_eq!(done["status"], "done", "{done}");
    let items = done["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{done}");
    assert_eq!(items[0]["item"], "insurance.drugs");
    assert!(items[0]["count"].as_u64().is_some_and(|n| n > 0), "{done}");
    assert!(done["finishedAt"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retrieval_outcome_error_is_recorded() {
    let env = Env::start().await;
    let consent = env.grant(linkage_body()).await;
    let id = consent["id"].as_str().expect("id");
    env.control(
        "/sandbox/retrievals/next-outcome",
        json!({ "outcome": "error" }),
    )
    .await;
    let ended = env.retrieve(id).await;
    assert_eq!(ended["status"], "error", "{ended}");
    assert!(ended.get("items").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_revokes_at_the_authority_and_is_idempotent() {
    let env = Env::start().await;
    let consent = env.grant(linkage_body()).await;
    let id = consent["id"].as_str().expect("id");
    let refresh_token = env.proxy.refresh_tokens().pop().expect("a refresh token");

    let first = env
        .post(&format!("/consents/{id}/revocation"), json!({}))
        .await;
    assert_eq!(first.status(), 200);
    let first = first.bytes().await.expect("body");
    let document: Value = serde_json::from_slice(&first).expect("json");
    assert_eq!(document["receipt"]["event"], "revocation");
    assert!(document["sha256"].is_string());
    assert_eq!(env.proxy.requests_to("/revoke").len(), 1);

    // The authority now refuses the token the backend held.
    let (status, answer) = env.authority_refresh(&refresh_token).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["error"], "invalid_grant");

    // The same receipt, byte for byte, and no second call to the authority.
    let second = env
        .post(&format!("/consents/{id}/revocation"), json!({}))
        .await;
    assert_eq!(second.status(), 200);
    assert_eq!(second.bytes().await.expect("body"), first);
    assert_eq!(env.proxy.requests_to("/revoke").len(), 1);
    let receipt = env.get(&format!("/consents/{id}/receipt")).await;
    assert_eq!(receipt.bytes().await.expect("body"), first);

    let detail: Value = env
        .get(&format!("/consents/{id}"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(detail["status"], "revoked");
    assert!(detail["revokedAt"].is_string());
    // A revoked consent retrieves nothing.
    let (status, body) = problem(
        env.post(&format!("/consents/{id}/retrievals"), json!({}))
            .await,
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (409, Some("grant_ended")));
    assert_eq!(body["consentStatus"], "revoked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_fails_cleanly_when_the_authority_is_down() {
    let env = Env::start().await;
    let consent = env.grant(linkage_body()).await;
    let id = consent["id"].as_str().expect("id");
    env.proxy.down.store(true, Ordering::SeqCst);
    let (status, body) = problem(
        env.post(&format!("/consents/{id}/revocation"), json!({}))
            .await,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (502, Some("revocation_failed"))
    );
    // Retried, within the limits.
    assert_eq!(env.proxy.requests_to("/revoke").len(), 3);
    let detail: Value = env
        .get(&format!("/consents/{id}"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(detail["status"], "active");
    let receipt: Value = env
        .get(&format!("/consents/{id}/receipt"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(receipt["receipt"]["event"], "grant");

    env.proxy.down.store(false, Ordering::SeqCst);
    let retry = env
        .post(&format!("/consents/{id}/revocation"), json!({}))
        .await;
    assert_eq!(retry.status(), 200);
    let detail: Value = env
        .get(&format!("/consents/{id}"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(detail["status"], "revoked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compromised_grant_suspends_the_consent() {
    let env = Env::start().await;
    let consent = env.grant(linkage_body()).await;
    let id = consent["id"].as_str().expect("id");
    let grant_id = consent["grantId"].as_str().expect("grantId");
    env.control(&format!("/sandbox/grants/{grant_id}/compromise"), json!({}))
        .await;
    let (status, body) = problem(
        env.post(&format!("/consents/{id}/retrievals"), json!({}))
            .await,
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (409, Some("grant_ended")));
    assert_eq!(body["consentStatus"], "suspended");
    let detail: Value = env
        .get(&format!("/consents/{id}"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(detail["status"], "suspended");
    assert!(detail["suspendedAt"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linkage_expires_after_its_period() {
    let env = Env::start().await;
    let consent = env.grant(linkage_body()).await;
    let id = consent["id"].as_str().expect("id");
    env.clock.advance(time::Duration::days(91));
    let list: Value = env.get("/consents").await.json().await.expect("json");
    assert_eq!(list["consents"][0]["status"], "expired");
    assert_eq!(list["consents"][0]["daysLeft"], 0);
    let (status, body) = problem(
        env.post(&format!("/consents/{id}/retrievals"), json!({}))
            .await,
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (409, Some("grant_ended")));
    assert_eq!(body["consentStatus"], "expired");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_holds_no_refresh_token_in_plaintext() {
    let env = Env::start().await;
    let consent = env.grant(linkage_body()).await;
    let id = consent["id"].as_str().expect("id");
    assert_eq!(env.retrieve(id).await["status"], "done");
    // Every refresh token the authority issued, as recorded on the wire by
    // the proxy: the first (now retired) and the current one.
    let tokens = env.proxy.refresh_tokens();
    assert_eq!(tokens.len(), 2);
    let mut files = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let path = PathBuf::from(format!("{}{suffix}", db_path(&env.dir).display()));
        if let Ok(bytes) = std::fs::read(&path) {
            files.push((path, bytes));
        }
    }
    assert!(!files.is_empty());
    for token in &tokens {
        assert!(token.len() >= 16, "a real token: {token}");
        for (path, bytes) in &files {
            let found = bytes
                .windows(token.len())
                .any(|window| window == token.as_bytes());
            assert!(
                !found,
                "{} holds a refresh token in plaintext",
                path.display()
            );
        }
    }
    // The current token is stored, sealed, for this consent.
    let connection = rusqlite::Connection::open(db_path(&env.dir)).expect("open");
    let sealed: Vec<u8> = connection
        .query_row(
            "SELECT refresh_sealed FROM operator_consents WHERE id = ?1",
            [id],
            |row| row.get(0),
        )
        .expect("sealed token");
    let opened = env.key.open(id, &sealed).expect("opens for its consent");
    assert_eq!(opened, tokens[1].as_bytes());
    assert!(env.key.open("another-consent", &sealed).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_survives_a_restart() {
    let mut env = Env::start().await;
    let consent = env.grant(linkage_body()).await;
    let id = consent["id"].as_str().expect("id").to_owned();
    assert_eq!(env.retrieve(&id).await["status"], "done");
    env.restart_backend().await;
    let list: Value = env.get("/consents").await.json().await.expect("json");
    assert_eq!(list["consents"][0]["id"], id.as_str());
    assert_eq!(list["consents"][0]["status"], "active");
    let detail: Value = env
        .get(&format!("/consents/{id}"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(detail["retrievals"].as_array().map(Vec::len), Some(1));
    // The sealed refresh token opens with the same key after the restart.
    assert_eq!(env.retrieve(&id).await["status"], "done");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authority_429_is_retried_after_retry_after() {
    let env = Env::start().await;
    lock(&env.proxy.injections).push_back(Injection {
        path: "/par",
        status: 429,
        retry_after: Some(1),
    });
    env.start_authorization(linkage_body()).await;
    let calls = env.proxy.requests_to("/par");
    assert_eq!(calls.len(), 2);
    let waited = calls[1].duration_since(calls[0]);
    assert!(
        waited >= Duration::from_millis(950),
        "waited only {waited:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authority_429_beyond_the_budget_answers_429_with_retry_after() {
    let env = Env::start().await;
    lock(&env.proxy.injections).push_back(Injection {
        path: "/par",
        status: 429,
        retry_after: Some(30),
    });
    let started = Instant::now();
    let response = env.post("/authorizations", linkage_body()).await;
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (status, body) = problem(response).await;
    assert_eq!((status, body["code"].as_str()), (429, Some("rate_limited")));
    assert_eq!(retry_after.as_deref(), Some("30"));
    // It did not sit out a wait longer than its budget, nor hammer.
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(env.proxy.requests_to("/par").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authority_5xx_is_retried_with_backoff() {
    let env = Env::start().await;
    for _ in 0..2 {
        lock(&env.proxy.injections).push_back(Injection {
            path: "/par",
            status: 503,
            retry_after: None,
        });
    }
    env.start_authorization(linkage_body()).await;
    assert_eq!(env.proxy.requests_to("/par").len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_exchange_refusal_is_502() {
    let env = Env::start().await;
    let callback = env.approved_callback(linkage_body()).await;
    lock(&env.proxy.injections).push_back(Injection {
        path: "/token",
        status: 400,
        retry_after: None,
    });
    let (status, body) = problem(env.post("/authorizations/complete", callback).await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (502, Some("token_exchange_failed"))
    );
    let list: Value = env.get("/consents").await.json().await.expect("json");
    assert_eq!(list["consents"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_consent_and_retrieval_are_404() {
    let env = Env::start().await;
    let consent = env.grant(linkage_body()).await;
    let id = consent["id"].as_str().expect("id");
    let (status, body) = problem(env.get("/consents/nope").await).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    let (status, _) = problem(env.get(&format!("/consents/{id}/retrievals/nope")).await).await;
    assert_eq!(status, 404);
    let (status, _) = problem(env.post("/consents/nope/revocation", json!({})).await).await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_time_consent_serves_one_retrieval() {
    let env = Env::start().await;
    let mut request = consent_request();
    request["items"] = json!({ "required": ["self.tax_income"], "optional": [] });
    request["purposes"] =
        json!([{ "category": "creditScreening", "description": "審査に使います。" }]);
    request["period"] = json!({ "kind": "oneTime" });
    let consent = env.grant(json!({ "request": request })).await;
    assert_eq!(consent["status"], "active");
    assert_eq!(consent["endDate"], Value::Null);
    assert_eq!(consent["daysLeft"], Value::Null);
    let id = consent["id"].as_str().expect("id");
    assert!(env.proxy.refresh_tokens().is_empty());
    let done = env.retrieve(id).await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["items"][0]["item"], "self.tax_income");
    let (status, body) = problem(
        env.post(&format!("/consents/{id}/retrievals"), json!({}))
            .await,
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (409, Some("grant_ended")));
    // Withdrawing it still gives a receipt.
    let revoked = env
        .post(&format!("/consents/{id}/revocation"), json!({}))
        .await;
    assert_eq!(revoked.status(), 200);
}
