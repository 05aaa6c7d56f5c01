//! What the demo sites need from parties the SDK does not own, played by
//! the sandbox so that the demo crosses the same boundaries as production:
//!
//! - the PHR site's **own sign-in**: a member chooses an account and gets
//!   the operator's session cookie, a JWT signed with a demo key whose
//!   public half is in `sandbox.json`; the operator backend verifies it as
//!   it would the operator's real sign-in.
//! - the platform's **partner app**: it receives the signed revocation
//!   webhooks, verifies them (Standard Webhooks) and lists what it heard.
//!
//! Neither is part of the product; both are demo doubles, on loopback only.

use std::sync::{Arc, Mutex, PoisonError};

use axum::body::Bytes;
use axum::extract::{Form, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

/// The demo sign-in key (ES256). Its public half is the PHR operator's
/// `users.publicKeyPem` in `sandbox.json`. Sandbox only: it signs demo
/// members, nobody else.
const DEMO_SIGNIN_KEY: &str = include_str!("demo-signin-key.pem");

/// The demo members of the PHR site.
pub const DEMO_MEMBERS: [(&str, &str); 2] = [
    ("member-1001", "すこやか 一郎"),
    ("member-1002", "すこやか 二葉"),
];

/// A sign-in of a demo site: where it is mounted, and the token it makes.
#[derive(Clone)]
struct SignIn {
    site: String,
    issuer: String,
    audience: String,
    cookie: String,
    secure: bool,
}

/// The demo sign-ins: one per operator whose users are `jwt` with a
/// cookie, mounted under the operator's site (`/phr/signin`, …).
pub fn sign_in_routes(config: &Value) -> Router {
    let mut router = Router::new();
    let Some(operators) = config.get("operators").and_then(Value::as_array) else {
        return router;
    };
    for operator in operators {
        let users = &operator["users"];
        let (Some("jwt"), Some(issuer), Some(audience), Some(cookie), Some(base)) = (
            users["kind"].as_str(),
            users["issuer"].as_str(),
            users["audience"].as_str(),
            users["cookie"].as_str(),
            operator["basePath"].as_str(),
        ) else {
            continue;
        };
        let site = base
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or_default();
        let sign_in = SignIn {
            site: format!("/{site}"),
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            cookie: cookie.to_owned(),
            secure: operator["origin"]
                .as_str()
                .is_some_and(|o| o.starts_with("https://")),
        };
        router = router.merge(
            Router::new()
                .route(&format!("/{site}/signin"), post(sign_in_post))
                .route(&format!("/{site}/signout"), post(sign_out))
                .route(&format!("/{site}/member"), get(member))
                .with_state(sign_in),
        );
    }
    router
}

#[derive(Deserialize)]
struct SignInForm {
    member: String,
}

#[derive(serde::Serialize, Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    sub: String,
    name: String,
    iat: u64,
    exp: u64,
}

async fn sign_in_post(State(sign_in): State<SignIn>, Form(form): Form<SignInForm>) -> Response {
    let Some((id, name)) = DEMO_MEMBERS.iter().find(|(id, _)| *id == form.member) else {
        return (StatusCode::BAD_REQUEST, "unknown demo member").into_response();
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp().max(0) as u64;
    let claims = Claims {
        iss: sign_in.issuer.clone(),
        aud: sign_in.audience.clone(),
        sub: (*id).to_owned(),
        name: (*name).to_owned(),
        iat: now,
        exp: now + 8 * 3600,
    };
    let token =
        jsonwebtoken::EncodingKey::from_ec_pem(DEMO_SIGNIN_KEY.as_bytes()).and_then(|key| {
            jsonwebtoken::encode(
                &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256),
                &claims,
                &key,
            )
        });
    let Ok(token) = token else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "cannot sign").into_response();
    };
    let secure = if sign_in.secure { "; Secure" } else { "" };
    let cookie = format!(
        "{}={token}; Path={}; HttpOnly; SameSite=Lax; Max-Age=28800{secure}",
        sign_in.cookie, sign_in.site
    );
    (
        StatusCode::SEE_OTHER,
        [
            (header::SET_COOKIE, cookie),
            (header::LOCATION, format!("{}/", sign_in.site)),
        ],
    )
        .into_response()
}

async fn sign_out(State(sign_in): State<SignIn>) -> Response {
    let cookie = format!(
        "{}=; Path={}; HttpOnly; SameSite=Lax; Max-Age=0",
        sign_in.cookie, sign_in.site
    );
    (
        StatusCode::SEE_OTHER,
        [
            (header::SET_COOKIE, cookie),
            (header::LOCATION, format!("{}/signin.html", sign_in.site)),
        ],
    )
        .into_response()
}

/// Who is signed in, for the demo page's header (the page cannot read the
/// HttpOnly cookie). Signature unchecked: display only; the operator
/// backend checks everything.
async fn member(State(sign_in): State<SignIn>, headers: HeaderMap) -> Response {
    let token = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == sign_in.cookie)
        .map(|(_, value)| value.to_owned());
    let claims = token.and_then(|t| jsonwebtoken::dangerous::insecure_decode::<Claims>(&t).ok());
    let body = match claims {
        Some(data) => json!({ "member": data.claims.sub, "name": data.claims.name }),
        None => json!({ "member": null }),
    };
    ([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}

/// The partner app's inbox: the events it received and verified.
#[derive(Clone)]
struct Partner {
    verifier: Arc<standardwebhooks::Webhook>,
    events: Arc<Mutex<Vec<Value>>>,
}

/// The partner app of the platform demo: `POST /partner/webhook` and
/// `GET /partner/events`, with the webhook secret of the platform's
/// recipient `yuyu` (none configured: no partner).
pub fn partner_routes(config: &Value) -> Router {
    let secret = config
        .get("operators")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find_map(|operator| operator["recipients"]["yuyu"]["webhook"]["secret"].as_str());
    let Some(verifier) = secret.and_then(|s| standardwebhooks::Webhook::new(s).ok()) else {
        return Router::new();
    };
    let partner = Partner {
        verifier: Arc::new(verifier),
        events: Arc::new(Mutex::new(Vec::new())),
    };
    Router::new()
        .route("/partner/webhook", post(receive))
        .route("/partner/events", get(events))
        .with_state(partner)
}

async fn receive(State(partner): State<Partner>, headers: HeaderMap, body: Bytes) -> Response {
    if partner.verifier.verify(&body, &headers).is_err() {
        return (StatusCode::UNAUTHORIZED, "bad signature").into_response();
    }
    let Ok(event) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "not JSON").into_response();
    };
    partner
        .events
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(event);
    StatusCode::NO_CONTENT.into_response()
}

async fn events(State(partner): State<Partner>) -> Response {
    let events = partner
        .events
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    (
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({ "events": events })),
    )
        .into_response()
}
