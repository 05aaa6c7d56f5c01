//! The backend as a standard OAuth client, changed only by configuration:
//! discovery through either metadata document, `private_key_jwt`, DPoP,
//! what the metadata announces (RFC 9207, capabilities), grants that
//! confirm nothing, and retries that never spend a single-use grant twice.
//! Against the sandbox authority, through the recording proxy of `common`.
//! The same backend against node `oidc-provider` is `tests/e2e/interop`.

mod common;

use std::sync::atomic::Ordering;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use common::*;
use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use p256::pkcs8::DecodePrivateKey as _;
use serde_json::{json, Value};

fn key_path(name: &str) -> String {
    format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// The public JWK of a P-256 PEM in `tests/keys`.
fn public_jwk(name: &str, kid: &str) -> Value {
    let pem = std::fs::read_to_string(key_path(name)).expect("key");
    let point = p256::SecretKey::from_pkcs8_pem(&pem)
        .expect("p256")
        .public_key()
        .to_encoded_point(false);
    json!({
        "kty": "EC", "crv": "P-256", "kid": kid,
        "x": URL_SAFE_NO_PAD.encode(point.x().expect("x")),
        "y": URL_SAFE_NO_PAD.encode(point.y().expect("y")),
    })
}

fn dpop_options() -> Options {
    Options {
        client: json!({ "dpopBoundAccessTokens": true }),
        entry: json!({ "dpop": { "privateKeyFile": key_path("dpop-p256.pem") } }),
        ..Options::default()
    }
}

async fn consents(env: &Env) -> Value {
    env.get("/consents").await.json().await.expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_falls_back_to_openid_connect_discovery() {
    let env = Env::start().await;
    lock(&env.proxy.hidden).push("/.well-known/oauth-authorization-server");
    let consent = env.grant(linkage_body()).await;
    assert_eq!(consent["status"], "active");
    assert_eq!(
        env.proxy
            .requests_to("/.well-known/oauth-authorization-server")
            .len(),
        1,
        "RFC 8414 first"
    );
    assert_eq!(
        env.proxy
            .requests_to("/.well-known/openid-configuration")
            .len(),
        1,
        "then OpenID Connect Discovery, once (cached)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_metadata_at_all_is_a_configuration_problem() {
    let env = Env::start().await;
    lock(&env.proxy.hidden).extend([
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ]);
    let (status, body) = problem(env.post("/authorizations", linkage_body()).await).await;
    assert_eq!(status, 502);
    assert_eq!(body["cause"], "configuration", "{body}");
    assert_eq!(body["step"], "discovery");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_key_jwt_authenticates_par_token_and_revocation() {
    let env = Env::start_with(Options {
        client: json!({ "auth": { "method": "private_key_jwt",
            "jwks": { "keys": [public_jwk("client-p256.pem", "op-1")] } } }),
        entry: json!({
            "clientSecret": null,
            "clientAuth": { "method": "private_key_jwt", "algorithm": "ES256", "keyId": "op-1",
                "privateKeyFile": key_path("client-p256.pem") }
        }),
        ..Options::default()
    })
    .await;
    let consent = env.grant(linkage_body()).await;
    let id = consent["id"].as_str().expect("id");
    assert_eq!(env.retrieve(id).await["status"], "done");
    let revoked = env
        .post(&format!("/consents/{id}/revocation"), json!({}))
        .await;
    assert_eq!(revoked.status(), 200);
    assert_eq!(consents(&env).await["consents"][0]["status"], "revoked");
    // Each call signed its own assertion: the authority refuses a reused
    // jti, so a second call with the same one would have failed.
    assert_eq!(env.proxy.requests_to("/token").len(), 2);
    assert_eq!(env.proxy.requests_to("/revoke").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dpop_binds_every_token_to_the_backend_key() {
    let env = Env::start_with(dpop_options()).await;
    let consent = env.grant(linkage_body()).await;
    let id = consent["id"].as_str().expect("id");
    assert_eq!(env.retrieve(id).await["status"], "done");
    let answers = lock(&env.proxy.token_answers).clone();
    assert_eq!(answers.len(), 2, "code exchange and one refresh");
    for answer in &answers {
        assert_eq!(answer["token_type"], "DPoP", "{answer}");
    }
    // A copied access token is useless without the key.
    let access = answers[1]["access_token"].as_str().expect("token");
    let stolen = reqwest::Client::new()
        .post(format!("{}/retrievals", env.issuer))
        .bearer_auth(access)
        .send()
        .await
        .expect("retrievals");
    assert_eq!(stolen.status(), 401);
    // So is a copied refresh token, and presenting it does not end the
    // citizen's grant.
    let refresh = answers[1]["refresh_token"].as_str().expect("token");
    let (status, _) = env.authority_refresh(refresh).await;
    assert_eq!(status, 400);
    assert_eq!(consents(&env).await["consents"][0]["status"], "active");
    assert_eq!(env.retrieve(id).await["status"], "done");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authority_that_demands_dpop_of_a_backend_without_a_key_is_a_configuration_mismatch() {
    let env = Env::start_with(Options {
        client: json!({ "dpopBoundAccessTokens": true }),
        ..Options::default()
    })
    .await;
    let callback = env.approved_callback(linkage_body()).await;
    let (status, body) = problem(env.post("/authorizations/complete", callback).await).await;
    assert_eq!(status, 502);
    assert_eq!(body["cause"], "configuration", "{body}");
    assert_eq!(body["step"], "code_exchange");
    assert_eq!(consents(&env).await["consents"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_refresh_answer_is_retried_within_the_authority_grace_window() {
    let env = Env::start_with(Options {
        authority: json!({ "refreshTokenReuseGraceSeconds": 30 }),
        entry: json!({ "refreshReuseGraceSeconds": 30 }),
        ..Options::default()
    })
    .await;
    let consent = env.grant(linkage_body()).await;
    let id = consent["id"].as_str().expect("id");
    lock(&env.proxy.injections).push_back(Injection::lost_answer("/token", 502));
    assert_eq!(env.retrieve(id).await["status"], "done");
    assert_eq!(
        env.proxy.requests_to("/token").len(),
        3,
        "exchange, refresh (answer lost), the same refresh again"
    );
    let rotated = env.proxy.refresh_tokens();
    assert_eq!(rotated.len(), 3);
    assert_eq!(
        rotated[1], rotated[2],
        "the authority gave the same successor"
    );
    // The citizen's consent is untouched, and the successor works.
    assert_eq!(consents(&env).await["consents"][0]["status"], "active");
    assert_eq!(env.retrieve(id).await["status"], "done");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_grace_window_a_lost_refresh_answer_is_not_replayed() {
    let env = Env::start().await;
    let consent = env.grant(linkage_body()).await;
    let id = consent["id"].as_str().expect("id");
    lock(&env.proxy.injections).push_back(Injection::lost_answer("/token", 502));
    let (status, body) = problem(
        env.post(&format!("/consents/{id}/retrievals"), json!({}))
            .await,
    )
    .await;
    assert_eq!(status, 502);
    assert_eq!(
        body["cause"], "uncertain",
        "not 'try again': the refresh token may be spent: {body}"
    );
    assert_eq!(env.proxy.requests_to("/token").len(), 2, "no replay");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_code_exchange_answer_is_never_replayed() {
    let env = Env::start_with(Options {
        authority: json!({ "refreshTokenReuseGraceSeconds": 30 }),
        entry: json!({ "refreshReuseGraceSeconds": 30 }),
        ..Options::default()
    })
    .await;
    let callback = env.approved_callback(linkage_body()).await;
    lock(&env.proxy.injections).push_back(Injection::lost_answer("/token", 502));
    let (status, body) = problem(env.post("/authorizations/complete", callback).await).await;
    assert_eq!(status, 502);
    assert_eq!(body["cause"], "uncertain", "{body}");
    assert_eq!(
        env.proxy.requests_to("/token").len(),
        1,
        "a code is presented once: a second time would revoke the grant"
    );
    // The grant the lost answer carried is not compromised at the authority
    // (the backend never received its tokens, so it cannot revoke them; they
    // end with the grant's period, and the citizen starts again).
    let refresh = env.proxy.refresh_tokens().pop().expect("issued upstream");
    let (status, answer) = env.authority_refresh(&refresh).await;
    assert_eq!(status, 200, "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_answer_that_confirms_nothing_records_nothing_and_revokes() {
    let env = Env::start().await;
    env.proxy.strip_details.store(true, Ordering::SeqCst);
    let callback = env.approved_callback(linkage_body()).await;
    let (status, body) = problem(env.post("/authorizations/complete", callback).await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (502, Some("nothing_granted"))
    );
    assert_eq!(body["cause"], "nothing_granted");
    assert_eq!(consents(&env).await["consents"], json!([]));
    let refresh = env.proxy.refresh_tokens().pop().expect("issued upstream");
    let (status, answer) = env.authority_refresh(&refresh).await;
    assert_eq!(status, 400);
    assert_eq!(answer["grant_status"], "revoked", "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iss_is_required_only_where_the_metadata_announces_it() {
    let env = Env::start().await;
    *lock(&env.proxy.metadata_patch) =
        Some(json!({ "authorization_response_iss_parameter_supported": false }));
    let mut callback = env.approved_callback(linkage_body()).await;
    callback.as_object_mut().map(|m| m.remove("iss"));
    let response = env.post("/authorizations/complete", callback).await;
    assert_eq!(response.status(), 201);
    // A wrong iss is refused whatever the metadata says.
    let mut callback = env.approved_callback(linkage_body()).await;
    callback["iss"] = "https://evil.example".into();
    let (status, body) = problem(env.post("/authorizations/complete", callback).await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("issuer_mismatch"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retrieve_now_without_a_retrieval_api_spends_no_refresh_token() {
    let env = Env::start().await;
    *lock(&env.proxy.metadata_patch) = Some(json!({ "retrieval_endpoint": null }));
    let consent = env.grant(linkage_body()).await;
    let id = consent["id"].as_str().expect("id");
    let (status, body) = problem(
        env.post(&format!("/consents/{id}/retrievals"), json!({}))
            .await,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (502, Some("retrieval_failed"))
    );
    assert_eq!(body["cause"], "configuration", "{body}");
    assert_eq!(body["step"], "retrieval_start");
    assert_eq!(
        env.proxy.requests_to("/token").len(),
        1,
        "only the code exchange"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dpop_nonce_challenge_is_answered_once_and_nothing_else_is_retried() {
    let env = Env::start_with(dpop_options()).await;
    // A refusal that merely carries a fresh nonce is the answer: the
    // authority may have spent the code before refusing.
    let callback = env.approved_callback(linkage_body()).await;
    lock(&env.proxy.injections).push_back(Injection::with_dpop_nonce(
        "/token",
        400,
        "nonce-1",
        r#"{"error":"invalid_grant"}"#,
    ));
    let (status, body) = problem(env.post("/authorizations/complete", callback).await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (502, Some("token_exchange_failed"))
    );
    assert_eq!(env.proxy.requests_to("/token").len(), 1, "not sent again");
    // A real challenge (use_dpop_nonce) is answered at once with the nonce.
    let callback = env.approved_callback(linkage_body()).await;
    lock(&env.proxy.injections).push_back(Injection::with_dpop_nonce(
        "/token",
        400,
        "nonce-2",
        r#"{"error":"use_dpop_nonce"}"#,
    ));
    let response = env.post("/authorizations/complete", callback).await;
    assert_eq!(response.status(), 201);
    assert_eq!(
        env.proxy.requests_to("/token").len(),
        3,
        "challenge, then the call again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_refused_without_a_reason_hands_the_grant_back_before_forgetting_it() {
    let mut env = Env::start_with(dpop_options()).await;
    let consent = env.grant(linkage_body()).await;
    let id = consent["id"].as_str().expect("id").to_owned();
    // The operator replaces its DPoP key: the authority refuses the bound
    // refresh token's new proofs (invalid_grant, no grant_status).
    env.options.entry = json!({ "dpop": { "privateKeyFile": key_path("client-p256.pem") } });
    env.restart_backend().await;
    let (status, body) = problem(
        env.post(&format!("/consents/{id}/retrievals"), json!({}))
            .await,
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (409, Some("grant_ended")));
    assert_eq!(consents(&env).await["consents"][0]["status"], "suspended");
    // The backend deleted its token, but revoked it first: no grant stays
    // active at the authority that the citizen can no longer withdraw.
    assert_eq!(env.proxy.requests_to("/revoke").len(), 1);
    let grants = env.control_get("/sandbox/grants").await;
    let grant = &grants["grants"][0];
    assert_eq!(grant["status"], "revoked", "{grant}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_whose_answers_were_all_lost_is_completed_by_the_upkeep_within_the_grace() {
    let env = Env::start_with(Options {
        authority: json!({ "refreshTokenReuseGraceSeconds": 30 }),
        entry: json!({ "refreshReuseGraceSeconds": 30 }),
        ..Options::default()
    })
    .await;
    let consent = env.grant(linkage_body()).await;
    let id = consent["id"].as_str().expect("id");
    // Every attempt of the call reaches the authority and loses its answer.
    for _ in 0..3 {
        lock(&env.proxy.injections).push_back(Injection::lost_answer("/token", 502));
    }
    let (status, body) = problem(
        env.post(&format!("/consents/{id}/retrievals"), json!({}))
            .await,
    )
    .await;
    assert_eq!((status, body["cause"].as_str()), (502, Some("uncertain")));
    // Once the cut refresh's lease runs out, the upkeep presents the token
    // again, still within the grace, and stores the successor.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(40);
    while env.proxy.refresh_tokens().len() < 5 {
        assert!(
            std::time::Instant::now() < deadline,
            "never completed: {:?}",
            env.proxy.refresh_tokens().len()
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    let issued = env.proxy.refresh_tokens();
    assert!(
        issued[1..].iter().all(|t| t == &issued[1]),
        "one rotation, its successor given back each time"
    );
    // The stored token is that successor: the chain goes on.
    assert_eq!(consents(&env).await["consents"][0]["status"], "active");
    assert_eq!(env.retrieve(id).await["status"], "done");
    let issued = env.proxy.refresh_tokens();
    assert_ne!(
        issued[5], issued[1],
        "the next refresh presented the successor"
    );
}
