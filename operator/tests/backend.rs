//! The operator backend over real HTTP on 127.0.0.1, against the sandbox
//! authority, through the recording proxy of `common`: the authorization
//! flow, callbacks, retrievals, revocation, storage and retries.

mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::*;
use std::path::PathBuf;

use serde_json::{json, Value};
use time::OffsetDateTime;

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
async fn invalid_start_answers_422_with_every_error() {
    let env = Env::start().await;
    let body =
        json!({ "request": 7, "optionalItems": "x", "specialCareConfirmed": "yes", "extra": 1 });
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
    assert!(has("wrong_type", "request"), "{errors:?}");
    assert!(has("wrong_type", "optionalItems"), "{errors:?}");
    assert!(has("wrong_type", "specialCareConfirmed"), "{errors:?}");
    assert!(has("unknown_field", "extra"), "{errors:?}");
    // Missing request entirely.
    let (status, body) = problem(env.post("/authorizations", json!({})).await).await;
    assert_eq!(
        (status, body["errors"][0]["field"].as_str()),
        (422, Some("request"))
    );
    // An unknown request id.
    let (status, body) = problem(env.post("/authorizations", body_of("nope")).await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("request_not_found"))
    );
    assert!(env.proxy.requests_to("/par").is_empty());
}

fn body_of(request: &str) -> Value {
    common::body(request)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chosen_item_not_offered_is_an_invalid_request() {
    let env = Env::start().await;
    let body = json!({ "request": "drugs-90d", "optionalItems": ["insurance.treatment"] });
    let (status, body) = problem(env.post("/authorizations", body).await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("invalid_request"))
    );
    assert_eq!(body["errors"][0]["code"], "item_not_offered");
    assert_eq!(body["errors"][0]["field"], "optionalItems[0]");
    assert!(env.proxy.requests_to("/par").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn special_care_needs_separate_confirmation() {
    let env = Env::start().await;
    let unconfirmed =
        json!({ "request": "treatment-90d", "optionalItems": ["insurance.treatment"] });
    let (status, body) = problem(env.post("/authorizations", unconfirmed).await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("special_care_not_confirmed"))
    );
    assert_eq!(body["items"], json!(["insurance.treatment"]));
    // Not chosen: nothing to confirm.
    env.start_authorization(json!({ "request": "treatment-90d", "optionalItems": [] }))
        .await;
    // Chosen and confirmed.
    let confirmed = json!({
        "request": "treatment-90d",
        "optionalItems": ["insurance.treatment"],
        "specialCareConfirmed": true
    });
    env.start_authorization(confirmed).await;
}

/// Issue 12: research with medical data is confirmed separately, and the
/// page shows the ethics review the definition names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn research_with_medical_data_needs_its_own_confirmation() {
    let env = Env::start().await;
    let shown: Value = env
        .get("/requests/research-90d")
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        shown["ethicsReview"], "すこやか大学 倫理審査委員会 承認番号 2026-012",
        "{shown}"
    );
    let unconfirmed = json!({ "request": "research-90d", "optionalItems": [] });
    let (status, body) = problem(env.post("/authorizations", unconfirmed).await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("research_not_confirmed"))
    );
    assert!(env.proxy.requests_to("/par").is_empty());
    let (status, body) = problem(
        env.post(
            "/authorizations",
            json!({ "request": "research-90d", "researchConfirmed": "yes" }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(body["errors"][0]["field"], "researchConfirmed");
    env.start_authorization(json!({
        "request": "research-90d",
        "optionalItems": [],
        "researchConfirmed": true
    }))
    .await;
}

/// Issue 12: a renewal leaves one live consent; both receipts say so, and
/// only this citizen's own consent can be renewed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewal_withdraws_the_consent_it_renews() {
    let env = Env::start().await;
    let old = env.grant(linkage_body()).await;
    let old_id = old["id"].as_str().expect("id").to_owned();
    let mut renewal = linkage_body();
    renewal["renews"] = json!("no-such-consent");
    let (status, body) = problem(env.post("/authorizations", renewal.clone()).await).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("renewal_unknown"))
    );
    renewal["renews"] = json!(old_id);
    let new = env.grant(renewal).await;
    assert_eq!(
        new["renewed"],
        json!({ "consentId": old_id, "withdrawn": true })
    );
    let old_now: Value = env
        .get(&format!("/consents/{old_id}"))
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(old_now["status"], "revoked", "{old_now}");
    let revocation: Value = env
        .get(&format!("/consents/{old_id}/receipt"))
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(revocation["receipt"]["event"], "revocation");
    assert_eq!(revocation["receipt"]["replacedBy"], new["id"]);
    let grant: Value = env
        .get(&format!(
            "/consents/{}/receipt",
            new["id"].as_str().expect("id")
        ))
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(grant["receipt"]["renews"], json!(old_id));
    let live: Vec<Value> = env
        .get("/consents")
        .await
        .json::<Value>()
        .await
        .expect("JSON")["consents"]
        .as_array()
        .expect("list")
        .iter()
        .filter(|c| c["status"] == "active")
        .cloned()
        .collect();
    assert_eq!(live.len(), 1, "{live:?}");
}

/// Issue 12: a receipt is signed (JWS, ES256) over exactly the bytes its
/// sha256 is computed from, and verifies with the key the backend
/// publishes; a changed receipt does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_verify_with_the_published_key() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    use jsonwebtoken::{decode, decode_header, jwk::JwkSet, Algorithm, DecodingKey, Validation};
    use sha2::{Digest, Sha256};

    let env = Env::start().await;
    let consent = env.grant(linkage_body()).await;
    let id = consent["id"].as_str().expect("id");
    let revoked = env
        .post(&format!("/consents/{id}/revocation"), json!({}))
        .await;
    assert_eq!(revoked.status(), 200);
    let keys: JwkSet = env
        .get("/receipts/jwks.json")
        .await
        .json()
        .await
        .expect("a JWK Set");
    assert!(!keys.keys.is_empty());
    for document in [env.grant(linkage_body()).await["id"].clone(), json!(id)] {
        let path = format!("/consents/{}/receipt", document.as_str().expect("id"));
        let document: Value = env.get(&path).await.json().await.expect("JSON");
        let jws = document["jws"].as_str().expect("a signed receipt");
        let header = decode_header(jws).expect("a JWS header");
        assert_eq!(header.alg, Algorithm::ES256);
        let jwk = keys
            .find(header.kid.as_deref().expect("kid"))
            .expect("the published key");
        let mut validation = Validation::new(Algorithm::ES256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_aud = false;
        let verified = decode::<Value>(jws, &DecodingKey::from_jwk(jwk).expect("key"), &validation)
            .expect("the signature verifies");
        assert_eq!(
            verified.claims, document["receipt"],
            "the JWS carries the receipt"
        );
        // The payload is exactly the bytes of the receipt's digest.
        let payload = URL_SAFE_NO_PAD
            .decode(jws.split('.').nth(1).expect("payload"))
            .expect("base64url");
        let digest: String = Sha256::digest(&payload)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(digest, document["sha256"].as_str().expect("sha256"));
        // A changed receipt does not verify.
        let mut parts: Vec<String> = jws.split('.').map(str::to_owned).collect();
        let forged = String::from_utf8(payload)
            .unwrap()
            .replace("\"revocation\"", "\"grant\"")
            .replace("\"grant\"", "\"revocation\"");
        parts[1] = URL_SAFE_NO_PAD.encode(format!("{forged} "));
        assert!(
            decode::<Value>(
                &parts.join("."),
                &DecodingKey::from_jwk(jwk).expect("key"),
                &validation
            )
            .is_err(),
            "a changed payload is refused"
        );
    }
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
    lock(&env.proxy.injections).push_back(Injection::answer("/par", 429, Some(1)));
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
    lock(&env.proxy.injections).push_back(Injection::answer("/par", 429, Some(30)));
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
        lock(&env.proxy.injections).push_back(Injection::answer("/par", 503, None));
    }
    env.start_authorization(linkage_body()).await;
    assert_eq!(env.proxy.requests_to("/par").len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_exchange_refusal_is_502() {
    let env = Env::start().await;
    let callback = env.approved_callback(linkage_body()).await;
    lock(&env.proxy.injections).push_back(Injection::answer("/token", 400, None));
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
    let consent = env.grant(body_of("income-once")).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retrieved_data_is_deleted_once_the_stated_retention_has_passed() {
    use myna_operator::{ConsentStore, SealedKind, SqliteStore};
    let env = Env::start().await;
    // drugs-90d states retentionDays 30 (解約から30日以内に削除します).
    let consent = env.grant(linkage_body()).await;
    let id = consent["id"].as_str().expect("id").to_owned();
    assert_eq!(env.retrieve(&id).await["status"], "done");
    let records = || {
        let store = SqliteStore::open(&db_path(&env.dir)).expect("store");
        store
            .sealed_values(None, 1000)
            .expect("read")
            .iter()
            .filter(|v| v.at.kind() == SealedKind::RetrievalRecords)
            .count()
    };
    assert_eq!(records(), 1);
    let revoked = env
        .post(&format!("/consents/{id}/revocation"), json!({}))
        .await;
    assert_eq!(revoked.status(), 200);
    let operator = env.operator.clone().expect("backend");
    env.clock.advance(time::Duration::days(29));
    operator.sweep().await.expect("sweep");
    assert_eq!(records(), 1, "kept within the 30 days");
    env.clock.advance(time::Duration::days(2));
    operator.sweep().await.expect("sweep");
    assert_eq!(records(), 0, "deleted after them");
    // The consent and its receipts stay: the citizen can still see what
    // they shared and that they withdrew it.
    let list: Value = env.get("/consents").await.json().await.expect("json");
    assert_eq!(list["consents"][0]["status"], "revoked");
}
