//! Test helpers: start an authority on a free loopback port, and drive its
//! sign-in and consent pages over plain HTTP as a citizen would.
//!
//! Used by this crate's tests, the operator backend's tests and the sandbox.

use std::net::SocketAddr;
use std::path::Path;

use crate::{router, Authority, AuthorityConfig, Clock};

/// An authority serving on `127.0.0.1:<port>` until dropped.
pub struct TestAuthority {
    /// The issuer, equal to the base URL, e.g. `http://127.0.0.1:43117`.
    pub issuer: String,
    /// The authority itself (its clock, configuration, …).
    pub authority: Authority,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

/// Starts an authority from a `sandbox.json` text on a free loopback port,
/// with the configured issuer replaced by the bound address and the sandbox
/// controls enabled. It is served with the peer address, as the sandbox
/// serves it.
///
/// # Panics
///
/// When the configuration is invalid or the port cannot be bound: this is a
/// test helper, and a test cannot go on without its authority.
pub async fn start(config_json: &str, db_path: &Path, clock: Clock) -> TestAuthority {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("bound address");
    let issuer = format!("http://{addr}");
    let mut config = AuthorityConfig::from_json(config_json).expect("valid authority config");
    config.set_issuer(&issuer).expect("valid issuer");
    let authority = Authority::open(config, db_path, clock, true).expect("open the authority");
    let app = router(authority.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await;
    });
    TestAuthority {
        issuer,
        authority,
        _shutdown: shutdown,
    }
}

/// Signs in as `citizen_id` with `pin` at `authorization_url`, presses
/// 同意する, and answers the redirect URI with `code`, `state` and `iss`.
///
/// `http` must keep cookies (`cookie_store(true)`) and must not follow
/// redirects (`redirect::Policy::none()`).
///
/// # Panics
///
/// When a page does not answer as a citizen would expect (an error page,
/// a wrong PIN, a locked card), with the page's text in the message.
pub async fn approve(
    http: &reqwest::Client,
    authorization_url: &str,
    citizen_id: &str,
    pin: &str,
) -> url::Url {
    decide(http, authorization_url, citizen_id, pin, "approve").await
}

/// Signs in as `citizen_id` with `pin` at `authorization_url`, presses
/// 同意しない, and answers the redirect URI with `error=access_denied`,
/// `state` and `iss`.
///
/// # Panics
///
/// As [`approve`].
pub async fn refuse(
    http: &reqwest::Client,
    authorization_url: &str,
    citizen_id: &str,
    pin: &str,
) -> url::Url {
    decide(http, authorization_url, citizen_id, pin, "refuse").await
}

/// Opens `authorization_url` and follows the authority's redirect to the
/// sign-in page; answers that page's address and HTML.
///
/// # Panics
///
/// When the authority answers anything but a redirect to its sign-in page.
pub async fn open_sign_in(http: &reqwest::Client, authorization_url: &str) -> (url::Url, String) {
    let start = url::Url::parse(authorization_url).expect("an absolute authorization URL");
    let response = http
        .get(start.clone())
        .send()
        .await
        .expect("GET /authorize");
    let sign_in = follow(&start, &response);
    let page = http.get(sign_in.clone()).send().await.expect("GET sign-in");
    let status = page.status();
    let html = page.text().await.expect("sign-in page");
    assert_eq!(status, 200, "the sign-in page failed: {html}");
    (sign_in, html)
}

/// Submits the sign-in form of `page` (its address and HTML); answers the
/// response, which is a 303 to the consent page on success or the sign-in
/// page again with an error.
///
/// # Panics
///
/// When the page has no sign-in form or the request fails.
pub async fn submit_sign_in(
    http: &reqwest::Client,
    page_url: &url::Url,
    html: &str,
    citizen_id: &str,
    pin: &str,
) -> reqwest::Response {
    let form = [
        ("flow", hidden(html, "flow")),
        ("token", hidden(html, "token")),
        ("lang", hidden(html, "lang")),
        ("citizen", citizen_id.to_owned()),
        ("pin", pin.to_owned()),
    ];
    let target = page_url.join("/authorize/signin").expect("sign-in address");
    http.post(target)
        .form(&form)
        .send()
        .await
        .expect("POST sign-in")
}

async fn decide(
    http: &reqwest::Client,
    authorization_url: &str,
    citizen_id: &str,
    pin: &str,
    decision: &str,
) -> url::Url {
    let (sign_in, html) = open_sign_in(http, authorization_url).await;
    let response = submit_sign_in(http, &sign_in, &html, citizen_id, pin).await;
    if response.status() != 303 {
        let text = response.text().await.unwrap_or_default();
        panic!("sign-in as {citizen_id} failed: {text}");
    }
    let consent = follow(&sign_in, &response);
    let page = http.get(consent.clone()).send().await.expect("GET consent");
    let status = page.status();
    let html = page.text().await.expect("consent page");
    assert_eq!(status, 200, "the consent page failed: {html}");
    let form = [
        ("flow", hidden(&html, "flow")),
        ("token", hidden(&html, "token")),
        ("lang", hidden(&html, "lang")),
        ("decision", decision.to_owned()),
    ];
    let target = consent.join("/authorize/consent").expect("consent address");
    let response = http
        .post(target)
        .form(&form)
        .send()
        .await
        .expect("POST consent");
    if response.status() != 303 {
        let text = response.text().await.unwrap_or_default();
        panic!("the decision failed: {text}");
    }
    follow(&consent, &response)
}

/// The absolute `Location` of a 303.
fn follow(base: &url::Url, response: &reqwest::Response) -> url::Url {
    assert_eq!(
        response.status(),
        303,
        "expected a redirect from {base}, got {}",
        response.status()
    );
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .expect("a Location header");
    base.join(location).expect("a valid Location")
}

/// The value of the hidden input `name` in a page.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!(r#"type="hidden" name="{name}" value=""#);
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no hidden {name} in the page: {html}"))
        + marker.len();
    let end = html[start..].find('"').expect("a closing quote") + start;
    html[start..end].to_owned()
}
