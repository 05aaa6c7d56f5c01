//! The asynchronous retrieval API, modelled on Mynaportal's: a client asks
//! for the granted items with its access token (Bearer, or DPoP with a proof
//! when the token is bound to a key), then polls until the retrieval ends
//! (`done`, `error` or `timeout`).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use time::Duration;

use crate::oauth::{access_grant, json_no_store, Access, OAuthError};
use crate::records::records;
use crate::secret;
use crate::store::{self, GrantStatus};
use crate::Authority;
use myna_consent::request::Period;

/// Polls that answer `waiting` before a retrieval can end.
const WAITING_POLLS: u32 = 2;
/// The least time a retrieval takes.
const MINIMUM_WAIT_MS: i64 = 1000;

/// How the next retrieval ends (set by the sandbox control).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Outcome {
    /// Records for every asked item.
    #[default]
    Done,
    /// The data source failed.
    Error,
    /// The data source did not answer in time.
    Timeout,
}

impl Outcome {
    /// Stable code, also the final `status`.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Self::Done => "done",
            Self::Error => "error",
            Self::Timeout => "timeout",
        }
    }

    /// The outcome with this code.
    pub(crate) fn from_code(code: &str) -> Option<Self> {
        match code {
            "done" => Some(Self::Done),
            "error" => Some(Self::Error),
            "timeout" => Some(Self::Timeout),
            _ => None,
        }
    }
}

/// `POST /retrievals` with an optional `{"items": [ids]}`.
pub(crate) async fn start(
    State(authority): State<Authority>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match start_inner(&authority, &uri, &headers, &body) {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

fn start_inner(
    authority: &Authority,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, OAuthError> {
    let Access { grant, scheme } = access_grant(authority, headers, "POST", uri.path())?;
    let asked: Option<Vec<String>> =
        if body.iter().all(u8::is_ascii_whitespace) {
            None
        } else {
            let value: Value = serde_json::from_slice(body)
                .map_err(|_| OAuthError::invalid_request("the body is not JSON"))?;
            match value.get("items") {
                None | Some(Value::Null) => None,
                Some(items) => Some(serde_json::from_value(items.clone()).map_err(|_| {
                    OAuthError::invalid_request("items must be an array of item ids")
                })?),
            }
        };
    let items = match asked {
        None => grant.details.items.clone(),
        Some(items) if items.is_empty() => {
            return Err(OAuthError::invalid_request(
                "items must name at least one item",
            ))
        }
        Some(items) => {
            if let Some(stray) = items.iter().find(|id| !grant.details.items.contains(id)) {
                return Err(OAuthError::insufficient_scope(
                    scheme,
                    format!("item {stray:?} was not granted"),
                ));
            }
            let mut unique: Vec<String> = Vec::with_capacity(items.len());
            for item in items {
                if !unique.contains(&item) {
                    unique.push(item);
                }
            }
            unique
        }
    };
    let id = secret::random_id();
    let outcome = authority.take_next_outcome();
    store::insert_retrieval(
        &authority.db(),
        &id,
        &grant.id,
        &grant.client_id,
        &items,
        authority.now(),
        outcome.code(),
    )?;
    Ok(json_no_store(
        StatusCode::ACCEPTED,
        json!({ "id": id, "status": "waiting" }),
    ))
}

/// `GET /retrievals/{id}`.
pub(crate) async fn poll(
    State(authority): State<Authority>,
    uri: Uri,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    match poll_inner(&authority, &uri, &headers, &id) {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

fn poll_inner(
    authority: &Authority,
    uri: &Uri,
    headers: &HeaderMap,
    id: &str,
) -> Result<Response, OAuthError> {
    let Access { grant, .. } = access_grant(authority, headers, "GET", uri.path())?;
    let now = authority.now();
    let mut db = authority.db();
    // Another grant's retrieval is answered like one that does not exist.
    let Some(retrieval) = store::retrieval(&db, id)?.filter(|r| r.grant_id == grant.id) else {
        return Err(OAuthError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "there is no such retrieval for this grant",
        ));
    };
    let polls = retrieval.polls.saturating_add(1);
    let status = if retrieval.status != "waiting" {
        retrieval.status.clone()
    } else if polls > WAITING_POLLS
        && now - retrieval.created_at >= Duration::milliseconds(MINIMUM_WAIT_MS)
    {
        retrieval.outcome.clone()
    } else {
        "waiting".to_owned()
    };
    let finished = (status != "waiting").then_some(now);
    let tx = store::write(&mut db)?;
    store::update_retrieval(&tx, id, polls, &status, finished)?;
    if status == Outcome::Done.code() && grant.details.period == Period::OneTime {
        // A one-time grant serves one retrieval: once its data is out, no
        // credential of it works any more, whatever the client does next.
        store::end_grant(&tx, &grant.id, GrantStatus::Completed, now)?;
    }
    tx.commit()?;
    drop(db);
    let mut body = json!({ "id": retrieval.id, "status": status });
    match Outcome::from_code(&status) {
        Some(Outcome::Done) => {
            body["records"] = retrieval
                .items
                .iter()
                .map(|item| json!({ "item": item, "records": records(&grant, item) }))
                .collect();
        }
        Some(Outcome::Error) => {
            body["error"] = json!("the data source reported an error (sandbox)");
        }
        Some(Outcome::Timeout) => {
            body["error"] = json!("the data source did not answer in time (sandbox)");
        }
        None => {}
    }
    Ok(json_no_store(StatusCode::OK, body))
}
