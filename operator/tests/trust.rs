//! The trust boundary of the operator backend (issue 8), over real HTTP on
//! 127.0.0.1: requests are defined on the server and a page cannot change
//! them; consents belong to the operator's user on every device; a
//! revocation always reaches the authority; anonymous callers cannot spend
//! the operator's quota; recipients hear of revocations through signed,
//! retried webhooks; abandoned rows are swept.

mod common;

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Router;
use common::*;
use serde_json::{json, Value};
use tokio::net::TcpListener;

/// The operator's sign-in key (ES256), and its public half as configured.
const SIGN_IN_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg7HC/0T5L8cbwYZsQ
LMwLweyjjkz/h5z73FtvQvAlBBqhRANCAASgr18J5nOw3oXZm5viWahMP1+I5Y9B
mZlhPLoQjuZjdN7Jnn7x3eqXOcX8seZRsdKuHhPmBC9f4WyrKRY240uN
-----END PRIVATE KEY-----
";
const SIGN_IN_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEoK9fCeZzsN6F2Zub4lmoTD9fiOWP
QZmZYTy6EI7mY3TeyZ5+8d3qlznF/LHmUbHSrh4T5gQvX+FsqykWNuNLjQ==
-----END PUBLIC KEY-----
";
/// Somebody else's key.
const OTHER_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgScfX1eWR0KYMyA5q
Ga8g13KJE5OuJtJTIyMwBFvBA5GhRANCAAQKdcxJOnfNjAAoCZof526TLllX1Y+g
yC6uYOjszojusoAIRw/dahClEX9UTJnFRz93Kf6xW4vp5mnVqHwgV2+n
-----END PRIVATE KEY-----
";
const SIGN_IN_ISSUER: &str = "https://login.operator.example";
const AUDIENCE: &str = "myna-backend";

fn jwt_users() -> Value {
    json!({
        "kind": "jwt",
        "issuer": SIGN_IN_ISSUER,
        "audience": AUDIENCE,
        "algorithms": ["ES256"],
        "publicKeyPem": SIGN_IN_PUBLIC
    })
}

fn now_seconds() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A sign-in token with `claims` over the defaults, signed with `key`.
fn token_with(key: &str, claims: Value) -> String {
    let mut body = json!({
        "iss": SIGN_IN_ISSUER,
        "aud": AUDIENCE,
        "sub": "user-1",
        "iat": now_seconds(),
        "exp": now_seconds() + 600,
    });
    for (name, value) in claims.as_object().expect("claims") {
        body[name] = value.clone();
    }
    let key = jsonwebtoken::EncodingKey::from_ec_pem(key.as_bytes()).expect("key");
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256),
        &body,
        &key,
    )
    .expect("sign")
}

fn sign_in(user: &str) -> String {
    token_with(SIGN_IN_KEY, json!({ "sub": user }))
}

/// A browser of its own (own cookies), optionally signed in with a bearer
/// token, optionally connecting from another loopback address.
struct Browser {
    http: reqwest::Client,
    bearer: Option<String>,
    origin: String,
    backend: String,
}

impl Browser {
    fn new(env: &Env, bearer: Option<String>, from: Option<IpAddr>) -> Self {
        Self {
            http: browser_client(from),
            bearer,
            origin: env.origin.clone(),
            backend: env.backend.clone(),
        }
    }

    fn with_auth(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.bearer {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.with_auth(self.http.post(format!("{}{path}", self.backend)))
            .header("origin", &self.origin)
            .header("x-myna-request", "1")
            .json(&body)
            .send()
            .await
            .expect("POST")
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.with_auth(self.http.get(format!("{}{path}", self.backend)))
            .send()
            .await
            .expect("GET")
    }

    async fn json(&self, path: &str) -> Value {
        let response = self.get(path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.expect("json")
    }

    /// Starts `body` and approves it at the authority: the callback as the
    /// page would post it. A start held back (429) is tried again shortly.
    async fn approved(&self, body: Value) -> Value {
        for _ in 0..20 {
            let response = self.post("/authorizations", body.clone()).await;
            if response.status() == 429 {
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
            let status = response.status();
            let started: Value = response.json().await.expect("json");
            assert_eq!(status, 201, "start: {started}");
            return approve_at_authority(started["authorizationUrl"].as_str().expect("url")).await;
        }
        panic!("the start was held back for ten seconds");
    }

    /// The whole grant: answers the consent.
    async fn grant(&self, body: Value) -> Value {
        let callback = self.approved(body).await;
        let response = self.post("/authorizations/complete", callback).await;
        let status = response.status();
        let consent: Value = response.json().await.expect("json");
        assert_eq!(status, 201, "complete: {consent}");
        consent
    }
}

/// The authority's grant list entry of `grant_id`.
async fn authority_grant(env: &Env, grant_id: &str) -> Value {
    let list = env.control_get("/sandbox/grants").await;
    list["grants"]
        .as_array()
        .and_then(|grants| grants.iter().find(|g| g["grantId"] == grant_id))
        .cloned()
        .expect("the authority lists the grant")
}

/// Starts a retrieval straight at the authority with `access_token`.
async fn authority_retrieval(env: &Env, access_token: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{}/retrievals", env.issuer))
        .bearer_auth(access_token)
        .send()
        .await
        .expect("retrieval")
        .status()
        .as_u16()
}

fn access_tokens(env: &Env) -> Vec<String> {
    lock(&env.proxy.token_answers)
        .iter()
        .filter_map(|answer| answer["access_token"].as_str().map(str::to_owned))
        .collect()
}

// ------------------------------------------------ requests on the server --

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_served_with_the_configured_operator() {
    let env = Env::start().await;
    let browser = Browser::new(&env, None, None);
    let request = browser.json("/requests/checkups-shared?locale=en").await;
    assert_eq!(request["operator"]["name"], "テスト事業者株式会社");
    assert_eq!(request["operator"]["approvalId"], "MPA-TEST-0001");
    assert_eq!(request["locale"], "en");
    assert_eq!(request["recipients"][0]["contact"], "03-0000-2222");
    assert_eq!(
        request["recipients"][0]["purposeCategory"],
        "healthManagement"
    );
    assert!(
        request["recipients"][0].get("webhook").is_none(),
        "webhooks stay in the backend"
    );
    let (status, body) = problem(browser.get("/requests/no-such-request").await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("request_not_found"))
    );
    let (status, _) = problem(browser.get("/requests/checkups-shared?locale=fr").await).await;
    assert_eq!(status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inline_request_is_refused_and_nothing_reaches_the_authority() {
    let env = Env::start().await;
    let browser = Browser::new(&env, None, None);
    let mut inline = browser.json("/requests/drugs-90d").await;
    inline["operator"]["name"] = "別の会社".into();
    let (status, body) = problem(
        browser
            .post(
                "/authorizations",
                json!({ "request": inline, "optionalItems": [] }),
            )
            .await,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("inline_request_refused"))
    );
    assert!(env.proxy.requests_to("/par").is_empty());
}

/// Reported: a request edited in the browser's devtools was pushed to the
/// authority and stored, and the receipt named whatever the page sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_edited_in_the_page_changes_nothing() {
    let env = Env::start().await;
    let browser = Browser::new(&env, None, None);
    let shown = browser.json("/requests/drugs-90d").await;

    // The page shows an edited request and sends its digest.
    let mut edited = shown.clone();
    edited["operator"]["name"] = "偽の事業者".into();
    edited["items"]["required"] = json!(["insurance.drugs", "insurance.treatment"]);
    let edited_digest = myna_consent::request::parse(&edited)
        .expect("still a valid request")
        .digest();
    let (status, body) = problem(
        browser
            .post(
                "/authorizations",
                json!({ "request": "drugs-90d", "optionalItems": [], "requestDigest": edited_digest }),
            )
            .await,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("request_changed"))
    );

    // The page adds what it would like to decide.
    let (status, body) = problem(
        browser
            .post(
                "/authorizations",
                json!({
                    "request": "drugs-90d",
                    "optionalItems": ["insurance.checkups", "insurance.treatment"],
                    "operator": { "name": "偽の事業者" },
                    "preview": true
                }),
            )
            .await,
    )
    .await;
    assert_eq!(status, 422);
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert!(
        fields.contains(&"operator") && fields.contains(&"preview"),
        "{body}"
    );
    assert!(
        env.proxy.requests_to("/par").is_empty(),
        "nothing was pushed"
    );

    // The citizen's real choice goes through, with the configured request.
    let digest = myna_consent::request::parse(&shown)
        .expect("valid")
        .digest();
    let consent = browser
        .grant(
            json!({ "request": "drugs-90d", "optionalItems": ["insurance.checkups"], "requestDigest": digest }),
        )
        .await;
    assert_eq!(consent["operator"]["name"], "テスト事業者株式会社");
    assert_eq!(
        consent["items"],
        json!(["insurance.drugs", "insurance.checkups"])
    );
    let receipt = browser
        .json(&format!(
            "/consents/{}/receipt",
            consent["id"].as_str().expect("id")
        ))
        .await;
    assert_eq!(
        receipt["receipt"]["controller"]["name"],
        "テスト事業者株式会社"
    );
    let grant = authority_grant(&env, consent["grantId"].as_str().expect("grant id")).await;
    assert_eq!(
        grant["items"],
        json!(["insurance.drugs", "insurance.checkups"])
    );
}

// ------------------------------------------------------- request tokens --

async fn mint(env: &Env, key: Option<&str>, body: Value) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(format!("{}/request-tokens", env.backend))
        .json(&body);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    request.send().await.expect("mint")
}

fn per_user_definition() -> Value {
    json!({
        "items": { "required": ["insurance.drugs", "insurance.dispensing"] },
        "purposes": [{ "category": "healthManagement", "description": "会員番号 1 の方の服薬の記録に使います。" }],
        "period": { "kind": "linkage", "days": 30 },
        "retention": "30日以内に削除します。"
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_tokens_are_made_by_the_operators_server_only() {
    let env = Env::start().await;
    for key in [None, Some("wrong-key-wrong-key-wrong-key-wrong-key")] {
        let (status, body) =
            problem(mint(&env, key, json!({ "request": "drugs-90d" })).await).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (401, Some("invalid_server_key"))
        );
    }
    let mut bad = per_user_definition();
    bad["retention"] = "30日以内に\r\n削除します。".into();
    bad["operator"] = json!({ "name": "偽の事業者" });
    let (status, body) =
        problem(mint(&env, Some(SERVER_KEY), json!({ "definition": bad })).await).await;
    assert_eq!(status, 422);
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(
        fields,
        ["definition.operator", "definition.retention"],
        "{body}"
    );
    let mut preview = per_user_definition();
    preview["preview"] = true.into();
    let (_, body) =
        problem(mint(&env, Some(SERVER_KEY), json!({ "definition": preview })).await).await;
    assert_eq!(
        body["errors"][0]["code"], "preview_not_allowed",
        "production mode"
    );
    let (_, body) = problem(
        mint(
            &env,
            Some(SERVER_KEY),
            json!({ "request": "drugs-90d", "subject": "user-1" }),
        )
        .await,
    )
    .await;
    assert_eq!(body["errors"][0]["code"], "subject_needs_sign_in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_token_is_single_use_and_bound_to_its_user() {
    let env = Env::start_with(Options {
        users: Some(jwt_users()),
        ..Options::default()
    })
    .await;
    let minted = mint(
        &env,
        Some(SERVER_KEY),
        json!({ "definition": per_user_definition(), "subject": "user-1" }),
    )
    .await;
    assert_eq!(minted.status(), 201);
    let minted: Value = minted.json().await.expect("json");
    let token = minted["token"].as_str().expect("token");
    assert!(token.starts_with("rqt_"));

    let other = Browser::new(&env, Some(sign_in("user-2")), None);
    let (status, _) = problem(other.get(&format!("/requests/{token}")).await).await;
    assert_eq!(status, 404, "another user's token reads as unknown");
    let (status, _) = problem(other.post("/authorizations", body(token)).await).await;
    assert_eq!(status, 404);

    let owner = Browser::new(&env, Some(sign_in("user-1")), None);
    let request = owner.json(&format!("/requests/{token}")).await;
    assert_eq!(request["operator"]["name"], "テスト事業者株式会社");
    assert_eq!(request["period"]["days"], 30);
    let consent = owner.grant(body(token)).await;
    assert_eq!(
        consent["items"],
        json!(["insurance.drugs", "insurance.dispensing"])
    );
    let (status, body) = problem(owner.post("/authorizations", body(token)).await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("request_token_used"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_token_expires() {
    let env = Env::start().await;
    let minted: Value = mint(&env, Some(SERVER_KEY), json!({ "request": "income-once" }))
        .await
        .json()
        .await
        .expect("json");
    let token = minted["token"].as_str().expect("token");
    let browser = Browser::new(&env, None, None);
    browser.json(&format!("/requests/{token}")).await;
    env.clock.advance(time::Duration::minutes(31));
    let (status, body) = problem(browser.post("/authorizations", body(token)).await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (410, Some("request_token_expired"))
    );
}

// ------------------------------------------------------------- the user --

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_user_sees_and_revokes_from_a_second_browser() {
    let env = Env::start_with(Options {
        users: Some(jwt_users()),
        ..Options::default()
    })
    .await;
    let laptop = Browser::new(&env, Some(sign_in("user-1")), None);
    let consent = laptop.grant(linkage_body()).await;
    let id = consent["id"].as_str().expect("id");

    let phone = Browser::new(&env, Some(sign_in("user-1")), None);
    let list = phone.json("/consents").await;
    assert_eq!(list["consents"][0]["id"], id);
    let stranger = Browser::new(&env, Some(sign_in("user-2")), None);
    assert_eq!(stranger.json("/consents").await["consents"], json!([]));
    let (status, _) = problem(
        stranger
            .post(&format!("/consents/{id}/revocation"), json!({}))
            .await,
    )
    .await;
    assert_eq!(status, 404);

    let revoked = phone
        .post(&format!("/consents/{id}/revocation"), json!({}))
        .await;
    assert_eq!(revoked.status(), 200);
    let seen = laptop.json(&format!("/consents/{id}")).await;
    assert_eq!(seen["status"], "revoked");
    assert_eq!(
        authority_grant(&env, consent["grantId"].as_str().expect("grant")).await["status"],
        "revoked"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_token_must_pass_every_check() {
    let env = Env::start_with(Options {
        users: Some(jwt_users()),
        ..Options::default()
    })
    .await;
    let hs256 = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &json!({ "iss": SIGN_IN_ISSUER, "aud": AUDIENCE, "sub": "user-1", "exp": now_seconds() + 600 }),
        &jsonwebtoken::EncodingKey::from_secret(SIGN_IN_PUBLIC.as_bytes()),
    )
    .expect("sign");
    let refused = [
        ("no token", None),
        ("another key", Some(token_with(OTHER_KEY, json!({})))),
        (
            "another issuer",
            Some(token_with(
                SIGN_IN_KEY,
                json!({ "iss": "https://evil.example" }),
            )),
        ),
        (
            "another audience",
            Some(token_with(SIGN_IN_KEY, json!({ "aud": "someone-else" }))),
        ),
        (
            "expired",
            Some(token_with(
                SIGN_IN_KEY,
                json!({ "exp": now_seconds() - 3600 }),
            )),
        ),
        (
            "not yet valid",
            Some(token_with(
                SIGN_IN_KEY,
                json!({ "nbf": now_seconds() + 3600 }),
            )),
        ),
        ("HMAC with the public key", Some(hs256)),
        (
            "no subject",
            Some(token_with(SIGN_IN_KEY, json!({ "sub": "" }))),
        ),
    ];
    for (case, token) in refused {
        let browser = Browser::new(&env, token, None);
        let (status, body) = problem(browser.get("/consents").await).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (401, Some("unauthenticated")),
            "{case}"
        );
        let (status, _) = problem(browser.post("/authorizations", linkage_body()).await).await;
        assert_eq!(status, 401, "{case}");
    }
    assert!(env.proxy.requests_to("/par").is_empty());
    let signed_in = Browser::new(&env, Some(sign_in("user-1")), None);
    assert_eq!(signed_in.json("/consents").await["consents"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_identity_header_is_believed_only_from_trusted_proxies() {
    let env = Env::start_with(Options {
        users: Some(json!({ "kind": "header", "header": "X-Operator-User" })),
        trusted_proxies: vec!["127.0.0.2".into()],
        ..Options::default()
    })
    .await;
    let direct = Browser::new(&env, None, None);
    let response = direct
        .http
        .get(format!("{}/consents", env.backend))
        .header("x-operator-user", "user-1")
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), 401, "127.0.0.1 is not a trusted proxy");
    let gateway = Browser::new(&env, None, Some("127.0.0.2".parse().expect("ip")));
    let response = gateway
        .http
        .get(format!("{}/consents", env.backend))
        .header("x-operator-user", "user-1")
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), 200);
    let response = gateway
        .http
        .get(format!("{}/consents", env.backend))
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), 401, "no header, no user");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_sessions_expire_on_the_server() {
    let env = Env::start_with(Options {
        users: Some(json!({ "kind": "session", "idleSeconds": 3600, "maxSeconds": 86400 })),
        ..Options::default()
    })
    .await;
    let browser = Browser::new(&env, None, None);
    let consent = browser.grant(linkage_body()).await;
    assert_eq!(
        browser.json("/consents").await["consents"][0]["id"],
        consent["id"]
    );
    env.clock.advance(time::Duration::minutes(59));
    assert_eq!(
        browser.json("/consents").await["consents"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    env.clock.advance(time::Duration::minutes(61));
    assert_eq!(
        browser.json("/consents").await["consents"],
        json!([]),
        "idle for an hour: the cookie no longer opens the session"
    );
}

// --------------------------------------------- revocation reaches the authority --

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_a_linkage_ends_the_grant_and_every_token() {
    let env = Env::start().await;
    let consent = env.grant(linkage_body()).await;
    let id = consent["id"].as_str().expect("id");
    assert_eq!(env.retrieve(id).await["status"], "done");
    let response = env
        .post(&format!("/consents/{id}/revocation"), json!({}))
        .await;
    assert_eq!(response.status(), 200);
    let grant = authority_grant(&env, consent["grantId"].as_str().expect("grant")).await;
    assert_eq!(grant["status"], "revoked");
    for refresh in env.proxy.refresh_tokens() {
        let (status, body) = env.authority_refresh(&refresh).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant"))
        );
    }
    for access in access_tokens(&env) {
        assert_eq!(authority_retrieval(&env, &access).await, 401);
    }
}

/// Reported: a one-time consent revoked after its retrieval sent nothing to
/// the authority, so the grant stayed active there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_a_one_time_consent_reaches_the_authority_after_its_retrieval() {
    let env = Env::start().await;
    let consent = env.grant(body("income-once")).await;
    let id = consent["id"].as_str().expect("id");
    assert_eq!(env.retrieve(id).await["status"], "done");
    let revocations = env.proxy.requests_to("/revoke").len();
    let response = env
        .post(&format!("/consents/{id}/revocation"), json!({}))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        env.proxy.requests_to("/revoke").len(),
        revocations + 1,
        "the revocation went to the authority"
    );
    let grant = authority_grant(&env, consent["grantId"].as_str().expect("grant")).await;
    assert_ne!(grant["status"], "active", "{grant}");
    for access in access_tokens(&env) {
        assert_eq!(authority_retrieval(&env, &access).await, 401);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_an_unused_one_time_consent_ends_its_grant() {
    let env = Env::start().await;
    let consent = env.grant(body("income-once")).await;
    let id = consent["id"].as_str().expect("id");
    let response = env
        .post(&format!("/consents/{id}/revocation"), json!({}))
        .await;
    assert_eq!(response.status(), 200);
    let grant = authority_grant(&env, consent["grantId"].as_str().expect("grant")).await;
    assert_eq!(grant["status"], "revoked");
    for access in access_tokens(&env) {
        assert_eq!(authority_retrieval(&env, &access).await, 401);
    }
}

// --------------------------------------------------------------- quota --

/// Six citizens, each from a loopback address of its own, who started and
/// approved an authorization: browsers and callbacks, ready to complete.
async fn six_citizens_ready(env: &Env) -> Vec<(Browser, Value)> {
    let mut citizens = Vec::new();
    for i in 0..6 {
        let from = format!("127.0.0.{}", 10 + i).parse().expect("ip");
        let browser = Browser::new(env, None, Some(from));
        let callback = browser.approved(linkage_body()).await;
        citizens.push((browser, callback));
    }
    citizens
}

/// Fires `count` anonymous starts from `address` (each a new browser with
/// no session) and the citizens' completions, all at once; answers the
/// statuses of each.
async fn flood(
    env: &Env,
    count: usize,
    address: impl Fn(usize) -> String,
    citizens: Vec<(Browser, Value)>,
) -> (Vec<u16>, Vec<u16>) {
    let mut starts = Vec::new();
    for i in 0..count {
        let browser = Browser::new(env, None, Some(address(i).parse().expect("ip")));
        starts.push(tokio::spawn(async move {
            let response = browser.post("/authorizations", linkage_body()).await;
            let status = response.status().as_u16();
            if status == 429 {
                assert!(response.headers().contains_key("retry-after"));
            }
            status
        }));
    }
    let mut completes = Vec::new();
    for (browser, callback) in citizens {
        completes.push(tokio::spawn(async move {
            browser
                .post("/authorizations/complete", callback)
                .await
                .status()
                .as_u16()
        }));
    }
    let mut start_statuses = Vec::new();
    for task in starts {
        start_statuses.push(task.await.expect("task"));
    }
    let mut complete_statuses = Vec::new();
    for task in completes {
        complete_statuses.push(task.await.expect("task"));
    }
    (start_statuses, complete_statuses)
}

/// Reported: 80 anonymous callers made 5 of 6 real citizens' callbacks
/// fail with token_exchange_failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_starters_from_one_address_get_429_while_citizens_complete() {
    let env = Env::start_with(Options {
        limits: json!({ "startsPerMinutePerAddress": 10, "startsPerMinutePerUser": 5, "authorityTps": 50 }),
        ..Options::default()
    })
    .await;
    let citizens = six_citizens_ready(&env).await;
    let (starts, completes) = flood(&env, 80, |_| "127.0.0.99".into(), citizens).await;
    assert_eq!(completes, [201; 6], "every citizen's callback succeeds");
    assert_eq!(
        starts.iter().filter(|s| **s == 201).count(),
        10,
        "{starts:?}"
    );
    assert_eq!(
        starts.iter().filter(|s| **s == 429).count(),
        70,
        "{starts:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_starts_leave_the_authority_budget_to_citizens_on_their_way() {
    let env = Env::start_with(Options {
        limits: json!({ "startsPerMinutePerAddress": 1000, "startsPerMinutePerUser": 1000, "authorityTps": 5 }),
        tps: 5,
        ..Options::default()
    })
    .await;
    let citizens = six_citizens_ready(&env).await;
    // Let the budget fill up again, then 80 starters from 80 addresses.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (starts, completes) = flood(&env, 80, |i| format!("127.0.1.{}", i + 1), citizens).await;
    assert_eq!(completes, [201; 6], "every citizen's callback succeeds");
    assert!(
        starts.iter().all(|s| *s == 201 || *s == 429),
        "a start is let through or told to wait, never failed: {starts:?}"
    );
    assert!(
        starts.iter().filter(|s| **s == 429).count() >= 60,
        "most starters are held back: {starts:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_transactions_and_sessions_are_swept() {
    let env = Env::start_with(Options {
        users: Some(json!({ "kind": "session", "idleSeconds": 3600 })),
        ..Options::default()
    })
    .await;
    for _ in 0..3 {
        let browser = Browser::new(&env, None, None);
        assert_eq!(
            browser
                .post("/authorizations", linkage_body())
                .await
                .status(),
            201
        );
    }
    let operator = env.operator.clone().expect("operator");
    let now = operator.sweep().await.expect("sweep");
    assert_eq!((now.transactions, now.sessions), (0, 0), "all still in use");
    env.clock.advance(time::Duration::days(2));
    let later = operator.sweep().await.expect("sweep");
    assert_eq!((later.transactions, later.sessions), (3, 3));
}

// ------------------------------------------------------------ webhooks --

#[derive(Clone, Default)]
struct Receiver {
    /// The statuses to answer, in order; then 204.
    answers: Arc<Mutex<Vec<u16>>>,
    /// What arrived: headers and body.
    received: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
}

async fn receive(
    State(receiver): State<Receiver>,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    lock(&receiver.received).push((headers, body));
    let mut answers = lock(&receiver.answers);
    let status = if answers.is_empty() {
        204
    } else {
        answers.remove(0)
    };
    StatusCode::from_u16(status).unwrap_or(StatusCode::NO_CONTENT)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_tells_each_recipient_through_a_signed_retried_webhook() {
    let receiver = Receiver::default();
    lock(&receiver.answers).push(500);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address: SocketAddr = listener.local_addr().expect("addr");
    let _stop = serve(
        listener,
        Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(receiver.clone()),
    )
    .await;
    let env = Env::start_with(Options {
        webhook_url: Some(format!("http://{address}/hook")),
        ..Options::default()
    })
    .await;
    let consent = env.grant(body("checkups-shared")).await;
    let id = consent["id"].as_str().expect("id");
    assert_eq!(consent["recipients"][0]["name"], "提携アプリ株式会社");
    let receipt: Value = env
        .post(&format!("/consents/{id}/revocation"), json!({}))
        .await
        .json()
        .await
        .expect("receipt");

    let arrived = |n: usize| {
        let receiver = receiver.clone();
        async move {
            for _ in 0..100 {
                if lock(&receiver.received).len() >= n {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            panic!("attempt {n} never arrived");
        }
    };
    arrived(1).await;
    // The first attempt failed (500): the next is due 10 s later by the
    // backend's clock.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        lock(&receiver.received).len(),
        1,
        "not retried before it is due"
    );
    env.clock.advance(time::Duration::seconds(11));
    arrived(2).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let received = lock(&receiver.received).clone();
    assert_eq!(received.len(), 2, "delivered: no third attempt");

    let verifier = standardwebhooks::Webhook::new(WEBHOOK_SECRET).expect("secret");
    for (headers, body) in &received {
        verifier.verify(body, headers).expect("a valid signature");
    }
    assert_eq!(
        received[0].0["webhook-id"], received[1].0["webhook-id"],
        "one delivery, two attempts"
    );
    let event: Value = serde_json::from_slice(&received[1].1).expect("json");
    assert_eq!(event["type"], "consent.revoked");
    assert_eq!(event["data"]["consentId"], id);
    assert_eq!(event["data"]["recipient"], "partner");
    assert_eq!(event["data"]["receiptId"], receipt["receipt"]["receiptId"]);
    assert_eq!(event["data"]["items"], json!(["insurance.checkups"]));

    // A body changed on the way does not verify.
    let (headers, body) = &received[1];
    let mut forged = body.to_vec();
    forged.extend_from_slice(b" ");
    assert!(verifier.verify(&forged, headers).is_err());
}
