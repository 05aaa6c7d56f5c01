//! The client of the operator-backend contract (`docs/sandbox.md`): every
//! call the screens make, with typed answers and typed failures. Tokens
//! never come here: the backend keeps them.

use gloo_net::http::{Request, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::consent::{Consent, ConsentStatus};
use crate::flow::Completion;
use crate::request::ConsentRequest;

/// The header every POST carries: with the Origin check, the backend's
/// defence against cross-site requests.
pub const CSRF_HEADER: &str = "X-Myna-Request";

/// A failed call to the operator backend.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// The backend could not be reached (offline, DNS, CORS, aborted).
    #[error("the operator backend could not be reached")]
    Network,
    /// The backend answered an RFC 9457 problem.
    #[error("{title} ({code})")]
    Problem {
        /// HTTP status.
        status: u16,
        /// The problem's stable code.
        code: String,
        /// Its short title.
        title: String,
        /// Its detail, if any.
        detail: Option<String>,
    },
    /// The backend answered something this SDK does not understand.
    #[error("unexpected answer from the operator backend (HTTP {0})")]
    Unexpected(u16),
}

impl BackendError {
    /// Stable code: the problem's own code, or `network`, or
    /// `backend_unexpected`.
    pub fn code(&self) -> &str {
        match self {
            Self::Network => "network",
            Self::Problem { code, .. } => code,
            Self::Unexpected(_) => "backend_unexpected",
        }
    }
}

/// The answer to `POST {backend}/authorizations`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Started {
    /// Where to send the citizen.
    pub authorization_url: String,
    /// The transaction's state.
    pub state: String,
    /// The authority's issuer, which the callback's `iss` must equal.
    pub issuer: String,
}

/// A consent as the backend reports it: the consent, plus what the backend
/// computed with its own clock (which the sandbox can move).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsentView {
    /// The consent.
    #[serde(flatten)]
    pub consent: Consent,
    /// Where it stands.
    pub status: ConsentStatus,
    /// Days left in Japan's calendar, for a linkage.
    #[serde(default)]
    pub days_left: Option<i64>,
    /// The JST end date, `YYYY-MM-DD`, for a linkage.
    #[serde(default)]
    pub end_date: Option<String>,
    /// When data was last retrieved.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_retrieval_at: Option<OffsetDateTime>,
}

/// A retrieval's progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetrievalView {
    /// The retrieval's id.
    pub id: String,
    /// `waiting`, `done`, `error` or `timeout`.
    pub status: String,
    /// Records per item, once done.
    #[serde(default)]
    pub items: Vec<RetrievedItem>,
}

/// How many records an item returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetrievedItem {
    /// The catalogue id.
    pub item: String,
    /// How many records.
    pub count: u32,
}

#[derive(Deserialize)]
struct ConsentList {
    consents: Vec<ConsentView>,
}

#[derive(Deserialize)]
struct Problem {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    detail: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StartBody<'a> {
    request: &'a ConsentRequest,
    chosen_optional: &'a [String],
    special_care_confirmed: bool,
}

/// The operator backend at a base path such as `/myna`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    base: String,
}

impl Backend {
    /// The backend at `base` (same origin as the page; no trailing slash).
    pub fn new(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    /// The base path.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Creates the authorization transaction.
    pub async fn start_authorization(
        &self,
        request: &ConsentRequest,
        chosen_optional: &[String],
        special_care_confirmed: bool,
    ) -> Result<Started, BackendError> {
        let body = StartBody {
            request,
            chosen_optional,
            special_care_confirmed,
        };
        self.post("/authorizations", &body).await
    }

    /// Completes the authorization with a checked callback.
    pub async fn complete(&self, completion: &Completion) -> Result<ConsentView, BackendError> {
        self.post("/authorizations/complete", completion).await
    }

    /// This citizen's consents.
    pub async fn consents(&self) -> Result<Vec<ConsentView>, BackendError> {
        let list: ConsentList = self.get("/consents").await?;
        Ok(list.consents)
    }

    /// Revokes a consent; answers the receipt document (`{receipt, sha256}`).
    pub async fn revoke(&self, id: &str) -> Result<serde_json::Value, BackendError> {
        self.post(
            &format!("/consents/{}/revocation", encode(id)),
            &serde_json::json!({}),
        )
        .await
    }

    /// The latest receipt document of a consent.
    pub async fn receipt(&self, id: &str) -> Result<serde_json::Value, BackendError> {
        self.get(&format!("/consents/{}/receipt", encode(id))).await
    }

    /// Starts a retrieval.
    pub async fn start_retrieval(&self, id: &str) -> Result<RetrievalView, BackendError> {
        self.post(
            &format!("/consents/{}/retrievals", encode(id)),
            &serde_json::json!({}),
        )
        .await
    }

    /// A retrieval's progress.
    pub async fn retrieval(
        &self,
        id: &str,
        retrieval: &str,
    ) -> Result<RetrievalView, BackendError> {
        self.get(&format!(
            "/consents/{}/retrievals/{}",
            encode(id),
            encode(retrieval)
        ))
        .await
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, BackendError> {
        let response = Request::get(&format!("{}{path}", self.base))
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(|_| BackendError::Network)?;
        read(response).await
    }

    async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T, BackendError> {
        let request = Request::post(&format!("{}{path}", self.base))
            .header("Accept", "application/json")
            .header(CSRF_HEADER, "1")
            .json(body)
            .map_err(|_| BackendError::Unexpected(0))?;
        let response = request.send().await.map_err(|_| BackendError::Network)?;
        read(response).await
    }
}

async fn read<T: DeserializeOwned>(response: Response) -> Result<T, BackendError> {
    let status = response.status();
    if response.ok() {
        return response
            .json::<T>()
            .await
            .map_err(|_| BackendError::Unexpected(status));
    }
    match response.json::<Problem>().await {
        Ok(Problem {
            code: Some(code),
            title,
            detail,
        }) => Err(BackendError::Problem {
            status,
            code,
            title: title.unwrap_or_default(),
            detail,
        }),
        _ => Err(BackendError::Unexpected(status)),
    }
}

/// Percent-encodes an id for a path segment.
fn encode(segment: &str) -> String {
    js_sys::encode_uri_component(segment).into()
}
