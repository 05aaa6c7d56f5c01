//! The HTTP contract of the operator backend (`docs/sandbox.md`): routes
//! relative to the base path, the `myna_session` cookie, the CSRF check on
//! every POST, and JSON or problem answers that are never cached.

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Map, Value};

use crate::operator::Operator;
use crate::problem::Problem;
use crate::secret::SessionId;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "myna_session";
/// The header every POST must carry (a simple request cannot set it, so a
/// cross-site form or fetch without CORS preflight cannot forge one).
pub const REQUEST_HEADER: &str = "x-myna-request";
/// The session cookie lives this long: beyond a 90-day linkage, so the
/// citizen can still review and renew it.
const SESSION_MAX_AGE_SECONDS: u64 = 180 * 24 * 60 * 60;

/// The backend's routes, relative to its base path; nest the router at
/// `config.base_path`.
pub fn router(operator: Operator) -> Router {
    Router::new()
        .route("/authorizations", post(create_authorization))
        .route("/authorizations/complete", post(complete_authorization))
        .route("/consents", get(list_consents))
        .route("/consents/{id}", get(get_consent))
        .route("/consents/{id}/revocation", post(revoke_consent))
        .route("/consents/{id}/receipt", get(get_receipt))
        .route("/consents/{id}/retrievals", post(start_retrieval))
        .route("/consents/{id}/retrievals/{rid}", get(get_retrieval))
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

/// Refuses a state-changing call unless it carries the configured `Origin`
/// and `X-Myna-Request: 1`, and marks every answer `no-store`.
async fn guard(State(operator): State<Operator>, request: Request, next: Next) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
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

/// The session id in the cookie, if it has the shape this backend issues.
fn cookie_session(headers: &HeaderMap) -> Option<SessionId> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .and_then(|(_, value)| SessionId::from_cookie(value.trim()))
}

fn session_cookie(operator: &Operator, session: &SessionId) -> Option<HeaderValue> {
    let config = operator.config();
    let secure = if config.secure_cookie() {
        "; Secure"
    } else {
        ""
    };
    let text = format!(
        "{SESSION_COOKIE}={}; Path={}; HttpOnly; SameSite=Lax; Max-Age={SESSION_MAX_AGE_SECONDS}{secure}",
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

/// Runs a POST with the session (created on the first POST) and sets the
/// cookie on the answer when the session is new, whatever the outcome.
async fn with_post_session<F, Fut>(operator: &Operator, headers: &HeaderMap, f: F) -> Response
where
    F: FnOnce(SessionId) -> Fut,
    Fut: std::future::Future<Output = Result<Response, Problem>>,
{
    let (session, new) = match operator.session_for_post(cookie_session(headers)).await {
        Ok(found) => found,
        Err(problem) => return problem.into_response(),
    };
    let cookie = new.then(|| session_cookie(operator, &session)).flatten();
    let mut response = f(session).await.unwrap_or_else(IntoResponse::into_response);
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

async fn get_session(
    operator: &Operator,
    headers: &HeaderMap,
) -> Result<Option<SessionId>, Problem> {
    operator.known_session(cookie_session(headers)).await
}

async fn create_authorization(
    State(operator): State<Operator>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    with_post_session(&operator, &headers, |session| {
        let operator = operator.clone();
        async move {
            let body = object_body(&body)?;
            let started = operator.start_authorization(&session, &body).await?;
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
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    with_post_session(&operator, &headers, |session| {
        let operator = operator.clone();
        async move {
            let body = object_body(&body)?;
            let consent = operator.complete_authorization(&session, &body).await?;
            Ok(json_answer(StatusCode::CREATED, &consent))
        }
    })
    .await
}

async fn list_consents(State(operator): State<Operator>, headers: HeaderMap) -> Response {
    let result = async {
        let session = get_session(&operator, &headers).await?;
        operator.consents(session).await
    }
    .await;
    ok_json(result)
}

async fn get_consent(
    State(operator): State<Operator>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let session = get_session(&operator, &headers).await?;
        operator.consent(session, &id).await
    }
    .await;
    ok_json(result)
}

async fn get_receipt(
    State(operator): State<Operator>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let session = get_session(&operator, &headers).await?;
        operator.receipt(session, &id).await
    }
    .await;
    result.map_or_else(IntoResponse::into_response, document_answer)
}

async fn revoke_consent(
    State(operator): State<Operator>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    with_post_session(&operator, &headers, |session| {
        let operator = operator.clone();
        async move {
            let document = operator.revoke(&session, &id).await?;
            Ok(document_answer(document))
        }
    })
    .await
}

async fn start_retrieval(
    State(operator): State<Operator>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    with_post_session(&operator, &headers, |session| {
        let operator = operator.clone();
        async move {
            let body = object_body(&body)?;
            let retrieval_id = operator.start_retrieval(&session, &id, &body).await?;
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
    headers: HeaderMap,
    Path((id, rid)): Path<(String, String)>,
) -> Response {
    let result = async {
        let session = get_session(&operator, &headers).await?;
        operator.retrieval(session, &id, &rid).await
    }
    .await;
    ok_json(result)
}
