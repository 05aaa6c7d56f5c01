//! The test harness of the operator backend: the backend over real HTTP on
//! 127.0.0.1, against the sandbox authority (`myna-authority`), with a small
//! recording proxy in front of the authority.
//!
//! The proxy is how these tests see what only the wire carries: it records
//! the token answers (so a test knows the real refresh token and can look for
//! it in the database file, with no test hook in the backend), injects 429
//! and 5xx answers, and can play an authority that is down. The authority's
//! issuer is the proxy's address, so everything the backend does goes
//! through it, exactly as it would go to a real authority.
#![allow(dead_code)]

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
use myna_operator::{Clock, ConsentStore, Mode, Operator, OperatorConfig, SqliteStore, TokenKey};
use serde_json::{json, Value};
use time::OffsetDateTime;
use tokio::net::TcpListener;

pub const BASE_PATH: &str = "/site/myna";
pub const CLIENT_ID: &str = "test-client";
pub const CLIENT_SECRET: &str = "test-secret";
pub const CITIZEN: &str = "citizen-001";
pub const PIN: &str = "1234";

// ---------------------------------------------------------------- clock --

/// A clock shared by the authority and the backend that a test can move.
#[derive(Clone, Default)]
pub struct TestClock(Arc<AtomicI64>);

impl TestClock {
    pub fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + time::Duration::seconds(self.0.load(Ordering::SeqCst))
    }
    pub fn advance(&self, by: time::Duration) {
        self.0.fetch_add(by.whole_seconds(), Ordering::SeqCst);
    }
    pub fn clock(&self) -> Clock {
        let me = self.clone();
        Arc::new(move || me.now())
    }
}

// ---------------------------------------------------------------- proxy --

/// A canned answer the proxy gives instead of forwarding.
pub struct Injection {
    pub path: &'static str,
    pub status: u16,
    pub retry_after: Option<u64>,
    /// The request still reaches the authority, which acts on it; only its
    /// answer is lost (what a timed-out proxy does).
    pub forward: bool,
    /// A `DPoP-Nonce` header and a JSON body for the canned answer.
    pub dpop_nonce: Option<(&'static str, &'static str)>,
}

impl Injection {
    /// A canned answer instead of the authority's.
    pub fn answer(path: &'static str, status: u16, retry_after: Option<u64>) -> Self {
        Self {
            path,
            status,
            retry_after,
            forward: false,
            dpop_nonce: None,
        }
    }

    /// A canned answer with a `DPoP-Nonce` header and `body`.
    pub fn with_dpop_nonce(
        path: &'static str,
        status: u16,
        nonce: &'static str,
        body: &'static str,
    ) -> Self {
        Self {
            dpop_nonce: Some((nonce, body)),
            ..Self::answer(path, status, None)
        }
    }

    /// The authority acts on the request, and its answer is replaced by
    /// `status`.
    pub fn lost_answer(path: &'static str, status: u16) -> Self {
        Self {
            path,
            status,
            retry_after: None,
            forward: true,
            dpop_nonce: None,
        }
    }
}

#[derive(Default)]
pub struct ProxyState {
    upstream: Mutex<String>,
    pub down: AtomicBool,
    pub injections: Mutex<VecDeque<Injection>>,
    /// (path, when) of every request that reached the proxy.
    log: Mutex<Vec<(String, Instant)>>,
    /// Every successful /token answer.
    pub token_answers: Mutex<Vec<Value>>,
    /// Paths answered 404, as if the authority did not serve them.
    pub hidden: Mutex<Vec<&'static str>>,
    /// Members merged into the metadata answer.
    pub metadata_patch: Mutex<Option<Value>>,
    /// Removes `authorization_details` from /token answers (an authority
    /// that confirms nothing).
    pub strip_details: AtomicBool,
    /// Holds the next /token answer: the authority has acted, and the
    /// answer waits here until `release` is notified.
    pub hold_token_answer: AtomicBool,
    /// Notified when a held answer has arrived from the authority.
    pub held: tokio::sync::Notify,
    /// Lets a held answer go on to the backend.
    pub release: tokio::sync::Notify,
    http: reqwest::Client,
}

impl ProxyState {
    /// A proxy in front of the authority at `upstream`.
    pub fn new(upstream: &str) -> Arc<Self> {
        Arc::new(Self {
            upstream: Mutex::new(upstream.to_owned()),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            ..Self::default()
        })
    }

    /// Serves the proxy on `listener` for as long as the runtime runs.
    pub async fn serve(self: &Arc<Self>, listener: TcpListener) {
        let stop = serve(
            listener,
            Router::new().fallback(forward).with_state(self.clone()),
        )
        .await;
        std::mem::forget(stop);
    }

    pub fn requests_to(&self, path: &str) -> Vec<Instant> {
        lock(&self.log)
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, at)| *at)
            .collect()
    }
    pub fn refresh_tokens(&self) -> Vec<String> {
        lock(&self.token_answers)
            .iter()
            .filter_map(|answer| answer["refresh_token"].as_str().map(str::to_owned))
            .collect()
    }
}

pub fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
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
    if lock(&proxy.hidden).contains(&path.as_str()) {
        return (StatusCode::NOT_FOUND, "not here").into_response();
    }
    // The sandbox authority serves RFC 8414 metadata only; the proxy serves
    // it as OpenID Connect Discovery too.
    let path_and_query = path_and_query.replace(
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    );
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
    let (canned, lost) = match injection {
        Some(injection) if injection.forward => (None, Some(injection)),
        other => (other, None),
    };
    if let Some(injection) = canned {
        let status =
            StatusCode::from_u16(injection.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = match injection.dpop_nonce {
            Some((nonce, body)) => {
                let mut response = (status, body.to_owned()).into_response();
                response
                    .headers_mut()
                    .insert("dpop-nonce", HeaderValue::from_static(nonce));
                response
            }
            None => (status, "injected").into_response(),
        };
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
    let mut bytes: Bytes = answer.bytes().await.unwrap_or_default();
    if path == "/token" && status == StatusCode::OK {
        if let Ok(mut value) = serde_json::from_slice::<Value>(&bytes) {
            lock(&proxy.token_answers).push(value.clone());
            if proxy.strip_details.load(Ordering::SeqCst) {
                if let Value::Object(map) = &mut value {
                    map.remove("authorization_details");
                }
                bytes = Bytes::from(value.to_string());
            }
        }
    }
    if path == "/token" && proxy.hold_token_answer.swap(false, Ordering::SeqCst) {
        proxy.held.notify_one();
        proxy.release.notified().await;
    }
    if path.starts_with("/.well-known/") && status == StatusCode::OK {
        if let (Some(Value::Object(patch)), Ok(Value::Object(mut metadata))) = (
            lock(&proxy.metadata_patch).clone(),
            serde_json::from_slice::<Value>(&bytes),
        ) {
            metadata.extend(patch);
            bytes = Bytes::from(Value::Object(metadata).to_string());
        }
    }
    if let Some(injection) = lost {
        // The authority acted; its answer is lost on the way back.
        return (
            StatusCode::from_u16(injection.status).unwrap_or(StatusCode::BAD_GATEWAY),
            "answer lost",
        )
            .into_response();
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

pub struct Env {
    pub dir: tempfile::TempDir,
    pub clock: TestClock,
    pub proxy: Arc<ProxyState>,
    /// The issuer: the proxy's address.
    pub issuer: String,
    /// The backend's origin, e.g. http://127.0.0.1:40000.
    pub origin: String,
    /// The backend's base URL, origin + base path.
    pub backend: String,
    pub backend_addr: SocketAddr,
    pub key: TokenKey,
    /// The citizen's browser towards the backend (keeps the session cookie).
    pub browser: reqwest::Client,
    /// The citizen's browser towards the authority's pages.
    pub citizen: reqwest::Client,
    backend_stop: Option<tokio::sync::oneshot::Sender<()>>,
    pub options: Options,
    /// The running backend, for its upkeep calls.
    pub operator: Option<Operator>,
    _authority_stop: tokio::sync::oneshot::Sender<()>,
}

pub fn db_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("sandbox.sqlite")
}

pub async fn serve(listener: TcpListener, app: Router) -> tokio::sync::oneshot::Sender<()> {
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

pub fn authority_config(issuer: &str, redirect_uri: &str, tps: u32) -> String {
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

/// What a test changes about the backend.
#[derive(Clone)]
pub struct Options {
    /// The `users` entry (none: anonymous sessions).
    pub users: Option<Value>,
    /// The `limits` entry.
    pub limits: Value,
    /// The authority's TPS for the client.
    pub tps: u32,
    /// The test recipient's webhook URL (none: no webhook).
    pub webhook_url: Option<String>,
    /// `trustedProxies`.
    pub trusted_proxies: Vec<String>,
    /// Sandbox or production.
    pub mode: Mode,
    /// Members merged into the operator's entry (scopes, clientAuth, dpop…).
    pub entry: Value,
    /// Members merged into the authority's client entry.
    pub client: Value,
    /// Members merged into the authority's own settings.
    pub authority: Value,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            users: None,
            // Generous: most tests start many authorizations from 127.0.0.1.
            limits: json!({ "startsPerMinutePerUser": 1000, "startsPerMinutePerAddress": 1000, "authorityTps": 1000 }),
            tps: 50,
            webhook_url: None,
            trusted_proxies: Vec::new(),
            mode: Mode::Production,
            entry: json!({}),
            client: json!({}),
            authority: json!({}),
        }
    }
}

impl Env {
    pub async fn start() -> Self {
        Self::start_with(Options::default()).await
    }

    pub async fn start_with(options: Options) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let clock = TestClock::default();
        let backend_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let backend_addr = backend_listener.local_addr().expect("addr");
        let proxy_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let authority_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let issuer = format!("http://{}", proxy_listener.local_addr().expect("addr"));
        let origin = format!("http://{backend_addr}");
        let redirect_uri = format!("{origin}/site/callback.html");

        let mut authority_json: Value =
            serde_json::from_str(&authority_config(&issuer, &redirect_uri, options.tps))
                .expect("json");
        merge(&mut authority_json["authority"], &options.authority);
        merge(&mut authority_json["clients"][0], &options.client);
        let mut config = myna_authority::AuthorityConfig::from_json(&authority_json.to_string())
            .expect("authority config");
        config.set_issuer(&issuer).expect("issuer");
        let authority =
            myna_authority::Authority::open(config, &db_path(&dir), clock.clock(), true)
                .expect("authority");
        let authority_url = format!("http://{}", authority_listener.local_addr().expect("addr"));
        let authority_stop = serve(authority_listener, myna_authority::router(authority)).await;

        let proxy = ProxyState::new(&authority_url);
        // The proxy lives as long as the test's runtime.
        proxy.serve(proxy_listener).await;

        let mut env = Env {
            dir,
            clock,
            proxy,
            issuer,
            backend: format!("{origin}{BASE_PATH}"),
            origin,
            backend_addr,
            key: TokenKey::generate(),
            browser: browser_client(None),
            citizen: browser_client(None),
            backend_stop: None,
            options,
            operator: None,
            _authority_stop: authority_stop,
        };
        env.start_backend(backend_listener);
        env
    }

    /// The backend's configuration entry, as JSON.
    pub fn operator_entry(&self) -> Value {
        let mut recipient = json!({
            "name": "提携アプリ株式会社",
            "contact": "03-0000-2222",
            "privacyPolicyUrl": "https://partner.example/privacy",
            "approvalId": "MPA-TEST-0002"
        });
        if let Some(url) = &self.options.webhook_url {
            recipient["webhook"] = json!({ "url": url, "secret": WEBHOOK_SECRET });
        }
        let mut entry = json!({
            "basePath": BASE_PATH,
            "issuer": self.issuer,
            "clientId": CLIENT_ID,
            "clientSecret": CLIENT_SECRET,
            "redirectUri": format!("{}/site/callback.html", self.origin),
            "origin": self.origin,
            "operator": {
                "name": "テスト事業者株式会社",
                "contact": "03-0000-0000",
                "privacyPolicyUrl": "https://operator.example/privacy",
                "approvalId": "MPA-TEST-0001"
            },
            "recipients": { "partner": recipient },
            "requests": requests(),
            "serverApiKey": SERVER_KEY,
            "limits": self.options.limits,
            "trustedProxies": self.options.trusted_proxies,
        });
        if let Some(users) = &self.options.users {
            entry["users"] = users.clone();
        }
        merge(&mut entry, &self.options.entry);
        entry
    }

    pub fn operator_config(&self) -> OperatorConfig {
        let text = json!({ "operators": [self.operator_entry()] }).to_string();
        myna_operator::configs_from_json(&text, self.options.mode)
            .expect("operator config")
            .remove(0)
    }

    pub fn start_backend(&mut self, listener: TcpListener) {
        let store: Arc<dyn ConsentStore> =
            Arc::new(SqliteStore::open(&db_path(&self.dir)).expect("store"));
        let operator = Operator::new(
            self.operator_config(),
            store,
            self.key.clone(),
            self.clock.clock(),
        );
        let upkeep = operator.spawn_upkeep();
        self.operator = Some(operator.clone());
        let app = Router::new().nest(BASE_PATH, myna_operator::router(operator));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let service = app.into_make_service_with_connect_info::<SocketAddr>();
            let _ = axum::serve(listener, service)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                    upkeep.abort();
                })
                .await;
        });
        self.backend_stop = Some(stop);
    }

    /// Stops the backend, drops its store, and starts a new backend with a
    /// new store on the same file and key, on the same address.
    pub async fn restart_backend(&mut self) {
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

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.backend)
    }

    /// A POST as the operator's page makes it.
    pub async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.browser
            .post(self.url(path))
            .header("origin", &self.origin)
            .header("x-myna-request", "1")
            .json(&body)
            .send()
            .await
            .expect("POST")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.browser.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn start_authorization(&self, body: Value) -> Value {
        let response = self.post("/authorizations", body).await;
        let status = response.status();
        let value: Value = response.json().await.expect("json");
        assert_eq!(status, 201, "POST /authorizations: {value}");
        value
    }

    /// Starts an authorization and approves it at the authority; answers
    /// the callback's parameters as the page would post them.
    pub async fn approved_callback(&self, body: Value) -> Value {
        let started = self.start_authorization(body).await;
        let url = started["authorizationUrl"].as_str().expect("url");
        let callback =
            myna_authority::test_support::approve(&self.citizen, url, CITIZEN, PIN).await;
        callback_body(&callback)
    }

    /// The whole grant: answers the consent.
    pub async fn grant(&self, body: Value) -> Value {
        let callback = self.approved_callback(body).await;
        let response = self.post("/authorizations/complete", callback).await;
        let status = response.status();
        let consent: Value = response.json().await.expect("json");
        assert_eq!(status, 201, "complete: {consent}");
        consent
    }

    /// Starts a retrieval and waits until it ends; answers its final state.
    pub async fn retrieve(&self, consent_id: &str) -> Value {
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
    pub async fn control(&self, path: &str, body: Value) -> Value {
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
    pub async fn control_get(&self, path: &str) -> Value {
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
    pub async fn authority_refresh(&self, refresh_token: &str) -> (u16, Value) {
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

/// Sets every member of `patch` on `target` (a `null` removes it).
pub fn merge(target: &mut Value, patch: &Value) {
    if let (Value::Object(target), Value::Object(patch)) = (target, patch) {
        for (key, value) in patch {
            if value.is_null() {
                target.remove(key);
            } else {
                target.insert(key.clone(), value.clone());
            }
        }
    }
}

/// A browser-like HTTP client: its own cookie jar, redirects not followed.
pub fn browser_client(from: Option<std::net::IpAddr>) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none());
    if let Some(address) = from {
        builder = builder.local_address(address);
    }
    builder.build().expect("client")
}

/// The citizen signs in at the authority in a fresh browser and approves
/// the authorization at `url`; answers the callback as the page posts it.
pub async fn approve_at_authority(url: &str) -> Value {
    let citizen = browser_client(None);
    let callback = myna_authority::test_support::approve(&citizen, url, CITIZEN, PIN).await;
    callback_body(&callback)
}

pub fn callback_body(callback: &url::Url) -> Value {
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

/// The webhook secret of the test recipient.
pub const WEBHOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// The server API key of the test backend.
pub const SERVER_KEY: &str = "test-server-key-0123456789abcdef0123456789";

/// The requests the test backend offers.
pub fn requests() -> Value {
    json!({
        "drugs-90d": {
            "items": { "required": ["insurance.drugs"], "optional": ["insurance.checkups"] },
            "purposes": [{ "category": "healthManagement", "description": "お薬の記録を表示します。" }],
            "period": { "kind": "linkage", "days": 90 },
            "retention": "解約から30日以内に削除します。",
            "retentionDays": 30
        },
        "treatment-90d": {
            "items": { "required": ["insurance.drugs"], "optional": ["insurance.treatment"] },
            "purposes": [{ "category": "healthManagement", "description": "診療の記録を表示します。" }],
            "period": { "kind": "linkage", "days": 90 },
            "retention": "解約から30日以内に削除します。"
        },
        "research-90d": {
            "items": { "required": ["insurance.drugs"] },
            "purposes": [{ "category": "research", "description": "服薬の傾向を研究するために使います。" }],
            "period": { "kind": "linkage", "days": 90 },
            "retention": "研究の終了時に削除します。",
            "ethicsReview": "すこやか大学 倫理審査委員会 承認番号 2026-012"
        },
        "income-once": {
            "items": { "required": ["self.tax_income"] },
            "purposes": [{ "category": "creditScreening", "description": "審査に使います。" }],
            "period": { "kind": "oneTime" },
            "retention": "7年間保存し、その後削除します。"
        },
        "checkups-shared": {
            "items": { "required": ["insurance.checkups"] },
            "purposes": [{ "category": "healthManagement", "description": "健診の結果を表示します。" }],
            "period": { "kind": "linkage", "days": 30 },
            "recipients": [{ "id": "partner", "purposeCategory": "healthManagement", "purpose": "生活習慣のアドバイスを表示するため" }],
            "retention": "30日以内に削除します。"
        }
    })
}

/// The body a page posts to start the named request.
pub fn body(request: &str) -> Value {
    json!({ "request": request, "optionalItems": [], "specialCareConfirmed": false })
}

/// The linkage most tests use.
pub fn linkage_body() -> Value {
    body("drugs-90d")
}

pub async fn problem(response: reqwest::Response) -> (u16, Value) {
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
    // Every code a page can meet is in the SDK's typings, which are
    // generated from this list.
    let code = value["code"].as_str().unwrap_or_default();
    assert!(
        myna_consent::surface::find(code).is_some(),
        "the problem code {code:?} is listed in myna_consent::surface::ERROR_CODES"
    );
    (status, value)
}
