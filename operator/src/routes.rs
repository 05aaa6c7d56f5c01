//! The HTTP contract of the operator backend (`docs/sandbox.md`): routes
//! relative to the base path, who calls (the operator's sign-in, or the
//! `myna_session` cookie), the CSRF check on every POST from a page, and
//! JSON or problem answers that are never cached.

use std::net::{IpAddr, SocketAddr};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Map, Value};

use myna_consent::i18n::Locale;

use crate::operator::Operator;
use crate::problem::Problem;
use crate::secret::SessionId;
use crate::users::Owner;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "myna_session";
/// The header every POST must carry (a simple request cannot set it, so a
/// cross-site form or fetch without CORS preflight cannot forge one).
pub const REQUEST_HEADER: &str = "x-myna-request";
/// The path of the server-to-server call that makes request tokens: it is
/// authenticated by the server API key, not by a page's Origin.
const REQUEST_TOKENS: &str = "/request-tokens";

/// The backend's routes, relative to its base path; nest the router at
/// `config.base_path`, and serve it with
/// `into_make_service_with_connect_info::<SocketAddr>()` so that limits per
/// client address see the address.
pub fn router(operator: Operator) -> Router {
    Router::new()
        .route("/requests/{reference}", get(get_request))
        .route(REQUEST_TOKENS, post(create_request_token))
        .route("/authorizations", post(create_authorization))
        .route("/authorizations/complete", post(complete_authorization))
        .route("/consents", get(list_consents))
        .route("/consents/{id}", get(get_consent))
        .route("/consents/{id}/revocation", post(revoke_consent))
        .route("/consents/{id}/receipt", get(get_receipt))
        .route("/consents/{id}/retrievals", post(start_retrieval))
        .route("/consents/{id}/retrievals/{rid}", get(get_retrieval))
        .route("/receipts/jwks.json", get(receipt_keys))
        .fallback(|| async { Problem::not_found("resource") })
        .method_not_allowed_fallback(|| async {
            Problem::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "Method not allowed",
                "This resource does not take this method.",
            )
        })
        .layer(middleware::from_fn_with_state(operator.clone(), guard))
        .with_state(operator)
}

/// Refuses a state-changing call from a page unless it carries the
/// configured `Origin` and `X-Myna-Request: 1`, and marks every answer
/// `no-store`.
async fn guard(State(operator): State<Operator>, request: Request, next: Next) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) || request.uri().path() == REQUEST_TOKENS;
    if !safe {
        let headers = request.headers();
        let origin_ok = headers
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|origin| origin == operator.config().origin);
        let marker_ok = headers
            .get(REQUEST_HEADER)
            .is_some_and(|v| v.as_bytes() == b"1");
        if !origin_ok || !marker_ok {
            return Problem::csrf().into_response();
        }
    }
    let mut response = next.run(request).await;
    response
        .headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// The address the connection came from, when the server was started with
/// connect info.
struct Peer(Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|info| info.0.ip()),
        ))
    }
}

/// The session id in the cookie, if it has the shape this backend issues.
fn cookie_session(headers: &HeaderMap) -> Option<SessionId> {
    crate::users::cookie(headers, SESSION_COOKIE).and_then(SessionId::from_cookie)
}

fn session_cookie(operator: &Operator, session: &SessionId) -> Option<HeaderValue> {
    let config = operator.config();
    let secure = if config.secure_cookie() {
        "; Secure"
    } else {
        ""
    };
    let max_age = match &config.users {
        crate::users::UserSource::Session(policy) => policy.max.whole_seconds(),
        _ => 0,
    };
    let text = format!(
        "{SESSION_COOKIE}={}; Path={}; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
        session.expose(),
        config.base_path
    );
    HeaderValue::from_str(&text).ok()
}

fn json_answer(status: StatusCode, value: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

/// The answer to a GET: the value as JSON, or the problem.
fn ok_json(result: Result<Value, Problem>) -> Response {
    result.map_or_else(IntoResponse::into_response, |value| {
        json_answer(StatusCode::OK, &value)
    })
}

/// The exact stored text of a receipt document, so repeated answers are
/// byte-identical.
fn document_answer(document: String) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        document,
    )
        .into_response()
}

/// A JSON object body; an empty body reads as `{}`.
fn object_body(body: &Bytes) -> Result<Map<String, Value>, Problem> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Problem::invalid_body("The body must be a JSON object.")),
        Err(_) => Err(Problem::invalid_body("The body is not JSON.")),
    }
}

/// Runs a POST as its owner (a new session is created when sessions are in
/// use and the caller has none) and sets the cookie on the answer when the
/// session is new, whatever the outcome.
async fn with_post_owner<F, Fut>(
    operator: &Operator,
    headers: &HeaderMap,
    peer: Option<IpAddr>,
    f: F,
) -> Response
where
    F: FnOnce(Owner) -> Fut,
    Fut: std::future::Future<Output = Result<Response, Problem>>,
{
    let (owner, new) = match operator
        .owner_for_post(headers, peer, cookie_session(headers))
        .await
    {
        Ok(found) => found,
        Err(problem) => return problem.into_response(),
    };
    let cookie = new.and_then(|session| session_cookie(operator, &session));
    let mut response = f(owner).await.unwrap_or_else(IntoResponse::into_response);
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

async fn read_owner(
    operator: &Operator,
    headers: &HeaderMap,
    peer: Option<IpAddr>,
) -> Result<Option<Owner>, Problem> {
    operator
        .owner_for_read(headers, peer, cookie_session(headers))
        .await
}

#[derive(serde::Deserialize)]
struct LocaleQuery {
    #[serde(default)]
    locale: Option<String>,
}

async fn get_request(
    State(operator): State<Operator>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Path(reference): Path<String>,
    Query(query): Query<LocaleQuery>,
) -> Response {
    let result = async {
        let locale = match query.locale.as_deref() {
            None => Locale::default(),
            Some(code) => Locale::from_code(code).ok_or_else(|| {
                Problem::new(
                    StatusCode::BAD_REQUEST,
                    "unknown_locale",
                    "Unknown locale",
                    "locale must be ja or en.",
                )
            })?,
        };
        // A named request needs no sign-in; a token bound to a user needs
        // that user, which resolve checks.
        let owner = read_owner(&operator, &headers, peer).await.ok().flatten();
        operator
            .request_view(&reference, locale, owner.as_ref())
            .await
    }
    .await;
    ok_json(result)
}

async fn create_request_token(
    State(operator): State<Operator>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = async {
        let body = object_body(&body)?;
        operator.create_request_token(&headers, &body).await
    }
    .await;
    result.map_or_else(IntoResponse::into_response, |value| {
        json_answer(StatusCode::CREATED, &value)
    })
}

async fn create_authorization(
    State(operator): State<Operator>,
    Peer(peer): Peer,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let address = operator.client_address(&headers, peer);
    with_post_owner(&operator, &headers, peer, |owner| {
        let operator = operator.clone();
        async move {
            let body = object_body(&body)?;
            let started = operator.start_authorization(&owner, address, &body).await?;
            Ok(json_answer(
                StatusCode::CREATED,
                &json!({
                    "authorizationUrl": started.authorization_url,
                    "state": started.state.expose(),
                    "issuer": operator.config().issuer,
                    "expiresAt": started.expires_at
                        .format(&time::format_description::well_known::Rfc3339)
                        .unwrap_or_default(),
                }),
            ))
        }
    })
    .await
}

async fn complete_authorization(
    State(operator): State<Operator>,
    Peer(peer): Peer,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    with_post_owner(&operator, &headers, peer, |owner| {
        let operator = operator.clone();
        async move {
            let body = object_body(&body)?;
            let consent = operator.complete_authorization(&owner, &body).await?;
            Ok(json_answer(StatusCode::CREATED, &consent))
        }
    })
    .await
}

async fn list_consents(
    State(operator): State<Operator>,
    Peer(peer): Peer,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let owner = read_owner(&operator, &headers, peer).await?;
        operator.consents(owner).await
    }
    .await;
    ok_json(result)
}

async fn get_consent(
    State(operator): State<Operator>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let owner = read_owner(&operator, &headers, peer).await?;
        operator.consent(owner, &id).await
    }
    .await;
    ok_json(result)
}

/// The keys receipts are signed with: public, for anyone who checks one.
async fn receipt_keys(State(operator): State<Operator>) -> Response {
    axum::Json(operator.receipt_keys()).into_response()
}

async fn get_receipt(
    State(operator): State<Operator>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let owner = read_owner(&operator, &headers, peer).await?;
        operator.receipt(owner, &id).await
    }
    .await;
    result.map_or_else(IntoResponse::into_response, document_answer)
}

async fn revoke_consent(
    State(operator): State<Operator>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    with_post_owner(&operator, &headers, peer, |owner| {
        let operator = operator.clone();
        async move {
            let document = operator.revoke(&owner, &id).await?;
            Ok(document_answer(document))
        }
    })
    .await
}

async fn start_retrieval(
    State(operator): State<Operator>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    with_post_owner(&operator, &headers, peer, |owner| {
        let operator = operator.clone();
        async move {
            let body = object_body(&body)?;
            let retrieval_id = operator.start_retrieval(&owner, &id, &body).await?;
            Ok(json_answer(
                StatusCode::ACCEPTED,
                &json!({ "id": retrieval_id, "status": "waiting" }),
            ))
        }
    })
    .await
}

async fn get_retrieval(
    State(operator): State<Operator>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Path((id, rid)): Path<(String, String)>,
) -> Response {
    let result = async {
        let owner = read_owner(&operator, &headers, peer).await?;
        operator.retrieval(owner, &id, &rid).await
    }
    .await;
    ok_json(result)
}
