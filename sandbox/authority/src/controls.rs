//! The sandbox controls: move the clock, list grants, flag a grant as
//! compromised, choose how the next retrieval ends, unlock a card. Mounted
//! only when controls are enabled.
//!
//! Every call needs the header `X-Sandbox-Control: 1`, and a POST also needs
//! `Content-Type: application/json`: a cross-site form or a simple fetch can
//! send neither without a CORS preflight, which this origin never grants.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use time::Duration;

use crate::oauth::{granted_entry, rfc3339};
use crate::retrieval::Outcome;
use crate::store::{self, GrantStatus};
use crate::Authority;

fn problem(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

/// A refused control call, small enough to pass around in a `Result`.
struct Refusal {
    status: StatusCode,
    error: &'static str,
    description: &'static str,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        problem(self.status, self.error, self.description)
    }
}

/// Checks the control header, and for a POST the JSON content type.
fn check(headers: &HeaderMap, is_post: bool) -> Result<(), Refusal> {
    let header_ok = headers
        .get("x-sandbox-control")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() == "1");
    if !header_ok {
        return Err(Refusal {
            status: StatusCode::FORBIDDEN,
            error: "sandbox_control_required",
            description: "sandbox controls need the header X-Sandbox-Control: 1",
        });
    }
    if is_post {
        let json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
        if !json {
            return Err(Refusal {
                status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
                error: "unsupported_media_type",
                description: "sandbox controls need Content-Type: application/json",
            });
        }
    }
    Ok(())
}

/// A JSON object body; an empty body counts as `{}`.
fn object(body: &[u8]) -> Result<serde_json::Map<String, Value>, Refusal> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(Refusal {
            status: StatusCode::BAD_REQUEST,
            error: "invalid_request",
            description: "the body must be a JSON object",
        }),
    }
}

/// `POST /sandbox/clock {"advanceDays": n}` or `{"advanceSeconds": n}`.
pub(crate) async fn clock(
    State(authority): State<Authority>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(response) = check(&headers, true) {
        return response.into_response();
    }
    let body = match object(&body) {
        Ok(body) => body,
        Err(response) => return response.into_response(),
    };
    let read = |name: &str| match body.get(name) {
        None => Ok(0),
        Some(value) => value.as_i64().filter(|n| *n >= 0).ok_or(()),
    };
    let (Ok(days), Ok(seconds)) = (read("advanceDays"), read("advanceSeconds")) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "advanceDays and advanceSeconds must be whole numbers of at least 0",
        );
    };
    if days == 0
        && seconds == 0
        && !body.contains_key("advanceDays")
        && !body.contains_key("advanceSeconds")
    {
        return problem(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "give advanceDays or advanceSeconds",
        );
    }
    // Ten years is far beyond any linkage; more is a mistake.
    if days > 3650 || seconds > 3650 * 86_400 {
        return problem(StatusCode::BAD_REQUEST, "invalid_request", "too far");
    }
    let now = authority.advance_clock(Duration::days(days) + Duration::seconds(seconds));
    Json(json!({ "now": rfc3339(now) })).into_response()
}

/// `GET /sandbox/grants`: every grant with its status.
pub(crate) async fn grants(State(authority): State<Authority>, headers: HeaderMap) -> Response {
    if let Err(response) = check(&headers, false) {
        return response.into_response();
    }
    let now = authority.now();
    let grants = match store::grants(&authority.db()) {
        Ok(grants) => grants,
        Err(error) => {
            eprintln!("myna-authority: internal error: {error}");
            return problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "the database failed",
            );
        }
    };
    let list: Vec<Value> = grants
        .iter()
        .map(|grant| {
            let mut entry = granted_entry(grant);
            entry["clientId"] = json!(grant.client_id);
            entry["citizenId"] = json!(grant.citizen_id);
            entry["status"] = json!(grant.status(now).code());
            if let Some(ended_at) = grant.ended_at {
                entry["endedAt"] = json!(rfc3339(ended_at));
            }
            entry
        })
        .collect();
    Json(json!({ "grants": list })).into_response()
}

/// `POST /sandbox/grants/{grantId}/compromise`.
pub(crate) async fn compromise(
    State(authority): State<Authority>,
    headers: HeaderMap,
    Path(grant_id): Path<String>,
) -> Response {
    if let Err(response) = check(&headers, true) {
        return response.into_response();
    }
    let now = authority.now();
    let result = (|| {
        let mut db = authority.db();
        let tx = store::write(&mut db)?;
        let Some(_) = store::grant(&tx, &grant_id)? else {
            return Ok(None);
        };
        store::end_grant(&tx, &grant_id, GrantStatus::Compromised, now)?;
        let grant = store::grant(&tx, &grant_id)?;
        tx.commit()?;
        Ok::<_, rusqlite::Error>(grant)
    })();
    match result {
        Ok(Some(grant)) => Json(json!({
            "grantId": grant.id,
            "status": grant.status(now).code(),
        }))
        .into_response(),
        Ok(None) => problem(StatusCode::NOT_FOUND, "not_found", "there is no such grant"),
        Err(error) => {
            eprintln!("myna-authority: internal error: {error}");
            problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "the database failed",
            )
        }
    }
}

/// `POST /sandbox/retrievals/next-outcome {"outcome": "done" | "error" | "timeout"}`:
/// how the next retrieval started ends; later ones end `done` again.
pub(crate) async fn next_outcome(
    State(authority): State<Authority>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(response) = check(&headers, true) {
        return response.into_response();
    }
    let outcome = object(&body).map(|body| {
        body.get("outcome")
            .and_then(Value::as_str)
            .and_then(Outcome::from_code)
    });
    match outcome {
        Ok(Some(outcome)) => {
            authority.set_next_outcome(outcome);
            Json(json!({ "outcome": outcome.code() })).into_response()
        }
        Ok(None) => problem(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "outcome must be done, error or timeout",
        ),
        Err(response) => response.into_response(),
    }
}

/// `POST /sandbox/citizens/{citizenId}/unlock`: resets a locked card, as a
/// municipal office would (not in the contract; the demo needs a way back).
pub(crate) async fn unlock(
    State(authority): State<Authority>,
    headers: HeaderMap,
    Path(citizen_id): Path<String>,
) -> Response {
    if let Err(response) = check(&headers, true) {
        return response.into_response();
    }
    if authority.config().citizen(&citizen_id).is_none() {
        return problem(
            StatusCode::NOT_FOUND,
            "not_found",
            "there is no such citizen",
        );
    }
    match store::set_card(&authority.db(), &citizen_id, 0, None) {
        Ok(()) => Json(json!({ "citizenId": citizen_id, "locked": false })).into_response(),
        Err(error) => {
            eprintln!("myna-authority: internal error: {error}");
            problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "the database failed",
            )
        }
    }
}
