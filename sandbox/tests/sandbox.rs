//! The sandbox as the demo starts it: both origins in one process, the
//! static site under the strict CSP, and one clock for both parts.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;

use serde_json::{json, Value};

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

struct Started {
    running: myna_sandbox::Running,
    http: reqwest::Client,
    site: String,
    _data: tempfile::TempDir,
}

/// Starts the sandbox with the repository's own configuration, moved to
/// free ports.
async fn start() -> Started {
    let (op, ap) = (free_port(), free_port());
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let config = std::fs::read_to_string(root.join("sandbox/sandbox.json"))
        .expect("sandbox.json")
        .replace("http://localhost:8081", &format!("http://127.0.0.1:{ap}"))
        .replace("http://127.0.0.1:8080", &format!("http://127.0.0.1:{op}"));
    let data = tempfile::tempdir().expect("temp dir");
    let config_path = data.path().join("sandbox.json");
    std::fs::write(&config_path, config).expect("write config");
    let running = myna_sandbox::start(myna_sandbox::Options {
        config: config_path,
        data_dir: data.path().join("data"),
        site_root: root,
        operator_addr: SocketAddr::from(([127, 0, 0, 1], op)),
        authority_addr: SocketAddr::from(([127, 0, 0, 1], ap)),
        controls: true,
    })
    .await
    .expect("the sandbox starts");
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    Started {
        site: running.operator_url.clone(),
        running,
        http,
        _data: data,
    }
}

#[tokio::test]
async fn serves_the_playground_under_the_strict_csp_and_nothing_else() {
    let s = start().await;
    let page = s
        .http
        .get(format!("{}/", s.site))
        .send()
        .await
        .expect("GET /");
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert_eq!(csp, myna_sandbox::OPERATOR_CSP);
    assert!(
        csp.contains("script-src 'self' 'wasm-unsafe-eval'")
            && csp.contains("frame-ancestors 'none'")
    );
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    let script = s
        .http
        .get(format!("{}/playground/playground.js", s.site))
        .send()
        .await
        .expect("GET js");
    assert_eq!(script.status(), 200);
    for path in [
        "/Cargo.toml",
        "/sandbox/sandbox.json",
        "/playground/../Cargo.toml",
        "/%2e%2e/Cargo.toml",
        "/.git/config",
    ] {
        let response = s
            .http
            .get(format!("{}{path}", s.site))
            .send()
            .await
            .expect("GET");
        assert_eq!(response.status(), 404, "{path} is not served");
    }
}

/// Starts and completes a grant of `request` at the backend of `site`, as
/// the site's page would; answers the consent.
async fn grant(s: &Started, site: &str, request: &str) -> Value {
    let backend = format!("{}/{site}/myna", s.site);
    let post = |path: &str, body: Value| {
        s.http
            .post(format!("{backend}{path}"))
            .header("Origin", &s.site)
            .header("X-Myna-Request", "1")
            .json(&body)
            .send()
    };
    let response = post(
        "/authorizations",
        json!({ "request": request, "optionalItems": [], "specialCareConfirmed": false }),
    )
    .await
    .expect("start");
    assert_eq!(response.status(), 201, "start at {site}");
    let started: Value = response.json().await.expect("JSON");
    let url = started["authorizationUrl"]
        .as_str()
        .expect("authorization URL");
    assert!(
        url.starts_with(&s.running.issuer),
        "{url} is at the authority"
    );
    let callback = myna_authority::test_support::approve(&s.http, url, "citizen-001", "1234").await;
    let query: std::collections::HashMap<String, String> =
        callback.query_pairs().into_owned().collect();
    let completed = post(
        "/authorizations/complete",
        json!({ "code": query["code"], "state": query["state"], "iss": query["iss"] }),
    )
    .await
    .expect("complete");
    assert_eq!(completed.status(), 201);
    completed.json().await.expect("JSON")
}

#[tokio::test]
async fn a_consent_made_through_the_sandbox_expires_when_the_sandbox_clock_moves() {
    let s = start().await;
    let backend = format!("{}/phr/myna", s.site);
    // The PHR site signs its members in itself: without that, its backend
    // knows nobody.
    let anonymous = s
        .http
        .get(format!("{backend}/consents"))
        .send()
        .await
        .expect("list");
    assert_eq!(anonymous.status(), 401);
    let signed_in = s
        .http
        .post(format!("{}/phr/signin", s.site))
        .form(&[("member", "member-1001")])
        .send()
        .await
        .expect("sign in");
    assert_eq!(signed_in.status(), 303);
    let member: Value = s
        .http
        .get(format!("{}/phr/member", s.site))
        .send()
        .await
        .expect("member")
        .json()
        .await
        .expect("JSON");
    assert_eq!(member["member"], "member-1001");

    let consent = grant(&s, "phr", "phr-90d").await;
    assert_eq!(consent["status"], "active");
    assert_eq!(consent["daysLeft"], 90);
    assert_eq!(consent["operator"]["name"], "すこやか手帳株式会社");

    let moved = s
        .http
        .post(format!("{}/sandbox/clock", s.running.issuer))
        .header("X-Sandbox-Control", "1")
        .json(&json!({ "advanceDays": 91 }))
        .send()
        .await
        .expect("move the clock");
    assert_eq!(moved.status(), 200);
    let list: Value = s
        .http
        .get(format!("{backend}/consents"))
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        list["consents"][0]["status"], "expired",
        "the operator backend reads the moved clock"
    );
}

#[tokio::test]
async fn the_platform_partner_hears_of_a_revocation() {
    let s = start().await;
    let consent = grant(&s, "platform", "checkups-30d").await;
    assert_eq!(
        consent["recipients"][0]["name"],
        "ゆうゆう健康アプリ株式会社"
    );
    let id = consent["id"].as_str().expect("id");
    let revoked = s
        .http
        .post(format!("{}/platform/myna/consents/{id}/revocation", s.site))
        .header("Origin", &s.site)
        .header("X-Myna-Request", "1")
        .send()
        .await
        .expect("revoke");
    assert_eq!(revoked.status(), 200);
    for _ in 0..50 {
        let events: Value = s
            .http
            .get(format!("{}/partner/events", s.site))
            .send()
            .await
            .expect("events")
            .json()
            .await
            .expect("JSON");
        if let Some(event) = events["events"].as_array().and_then(|e| e.first()) {
            assert_eq!(event["type"], "consent.revoked");
            assert_eq!(event["data"]["consentId"], id);
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the partner never heard of the revocation");
}
