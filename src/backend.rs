//! The client of the operator-backend contract (`docs/sandbox.md`): every
//! call the screens make, with typed answers and typed failures. Tokens
//! never come here: the backend keeps them.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use wasm_bindgen::JsCast as _;

use crate::consent::{Consent, ConsentStatus};
use crate::flow::Completion;
use crate::i18n::Locale;

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
        /// For a failed call to the authority: `configuration`,
        /// `nothing_granted`, `grant_ended`, `temporary` or `uncertain`.
        cause: Option<String>,
    },
    /// The backend answered something this SDK does not understand: the
    /// status, and the call as the contract names it, without the ids in
    /// its path (` to POST /consents/{id}/revocation`; empty when not
    /// known), so that a developer knows which answer to fix and no
    /// request token reaches a log.
    #[error("unexpected answer from the operator backend{1} (HTTP {0})")]
    Unexpected(u16, &'static str),
    /// `options.userToken` failed or answered no token.
    #[error("options.userToken gave no sign-in token")]
    SignIn,
    /// A receipt document whose `sha256` is not the SHA-256 of its
    /// receipt's RFC 8785 form: the value the citizen is told to check a
    /// saved receipt with would not check it. Only the account screens
    /// show receipts.
    #[cfg(feature = "account-screens")]
    #[error("the operator backend's receipt document has a sha256 that is not the SHA-256 of the receipt's RFC 8785 form")]
    ReceiptMismatch,
}

impl BackendError {
    /// Stable code: the problem's own code, or `network`, or
    /// `backend_unexpected`.
    pub fn code(&self) -> &str {
        match self {
            Self::Network => "network",
            Self::Problem { code, .. } => code,
            Self::Unexpected(..) => "backend_unexpected",
            Self::SignIn => "sign_in_unavailable",
            #[cfg(feature = "account-screens")]
            Self::ReceiptMismatch => "receipt_mismatch",
        }
    }

    /// Whether waiting or a change of configuration is the way out, when
    /// known: the backend's `cause`, or `temporary` for a network failure.
    pub fn cause(&self) -> Option<&str> {
        match self {
            Self::Network => Some("temporary"),
            Self::Problem { cause, .. } => cause.as_deref(),
            Self::Unexpected(..) | Self::SignIn => None,
            #[cfg(feature = "account-screens")]
            Self::ReceiptMismatch => None,
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
/// computed with its own clock (which the sandbox can move). On the wire,
/// one object: the consent's fields and these side by side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentView {
    /// The consent.
    pub consent: Consent,
    /// Where it stands.
    pub status: ConsentStatus,
    /// Days left in Japan's calendar, for a linkage.
    pub days_left: Option<i64>,
    /// The JST end date, `YYYY-MM-DD`, for a linkage.
    pub end_date: Option<String>,
    /// When data was last retrieved.
    pub last_retrieval_at: Option<OffsetDateTime>,
    /// When the linkage's next automatic retrieval is due.
    pub next_retrieval_at: Option<OffsetDateTime>,
    /// Automatic retrievals that failed in a row.
    pub retrieval_failures: u32,
    /// On the answer to a renewal: the consent it renewed, and whether that
    /// one was withdrawn.
    pub renewed: Option<Renewed>,
}

/// The consent a renewal replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Renewed {
    /// The old consent.
    pub consent_id: String,
    /// Whether the backend withdrew it (at the authority too).
    pub withdrawn: bool,
}

/// What the backend adds to the consent's fields in a [`ConsentView`].
/// Merged by hand rather than with `#[serde(flatten)]`, whose buffering
/// costs the browser package ~4 KB gzip.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Computed {
    status: ConsentStatus,
    #[serde(default)]
    days_left: Option<i64>,
    #[serde(default)]
    end_date: Option<String>,
    #[serde(default, with = "crate::rfc3339::option")]
    last_retrieval_at: Option<OffsetDateTime>,
    #[serde(default, with = "crate::rfc3339::option")]
    next_retrieval_at: Option<OffsetDateTime>,
    #[serde(default)]
    retrieval_failures: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    renewed: Option<Renewed>,
}

impl Serialize for ConsentView {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error as _;
        let computed = Computed {
            status: self.status,
            days_left: self.days_left,
            end_date: self.end_date.clone(),
            last_retrieval_at: self.last_retrieval_at,
            next_retrieval_at: self.next_retrieval_at,
            retrieval_failures: self.retrieval_failures,
            renewed: self.renewed.clone(),
        };
        let mut object = serde_json::to_value(&self.consent).map_err(S::Error::custom)?;
        if let (Some(fields), serde_json::Value::Object(more)) = (
            object.as_object_mut(),
            serde_json::to_value(computed).map_err(S::Error::custom)?,
        ) {
            fields.extend(more);
        }
        object.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ConsentView {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let object = serde_json::Value::deserialize(deserializer)?;
        // Without serde_json's messages (crate::shape): the SDK only asks
        // whether the backend's answer is a consent.
        let (Some(consent), Some(computed)) = (
            crate::shape::read::<Consent>(&object),
            crate::shape::read::<Computed>(&object),
        ) else {
            return Err(D::Error::custom("not a consent view"));
        };
        Ok(Self {
            consent,
            status: computed.status,
            days_left: computed.days_left,
            end_date: computed.end_date,
            last_retrieval_at: computed.last_retrieval_at,
            next_retrieval_at: computed.next_retrieval_at,
            retrieval_failures: computed.retrieval_failures,
            renewed: computed.renewed,
        })
    }
}

/// A retrieval's progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetrievalView {
    /// The retrieval's id.
    pub id: String,
    /// Where it is; any other value is not an answer of the contract.
    pub status: RetrievalStatus,
    /// Records per item, once done.
    #[serde(default)]
    pub items: Vec<RetrievedItem>,
}

/// A retrieval's status, as the contract names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RetrievalStatus {
    /// Still running: the SDK asks again.
    Waiting,
    /// Finished, with `items`.
    Done,
    /// Failed at the authority.
    Error,
    /// The authority did not finish in time.
    Timeout,
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

/// What a page sends to start an authorization: which request (by id or
/// token, never the request itself) and the citizen's choice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StartChoice {
    /// The request's id in the backend's configuration, or a request token.
    pub request: String,
    /// The optional items the citizen chose.
    pub optional_items: Vec<String>,
    /// Whether the citizen confirmed the special-care items separately.
    pub special_care_confirmed: bool,
    /// Whether the citizen confirmed research use of medical data
    /// separately (sent only when the request asks for it).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub research_confirmed: bool,
    /// The language the citizen read the screen in.
    pub locale: Locale,
    /// SHA-256 of the request as shown, so the backend can tell if it
    /// changed meanwhile.
    pub request_digest: String,
    /// The consent this one renews, withdrawn once this one is granted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renews: Option<String>,
}

/// The operator backend at a base path such as `/myna`, and how to present
/// the operator's sign-in to it.
#[derive(Debug, Clone, PartialEq)]
pub struct Backend {
    base: String,
    /// `options.userToken`: answers (or promises) the operator's sign-in
    /// token, sent as `Authorization: Bearer`.
    user_token: Option<js_sys::Function>,
    /// `options.fetch`: the function that makes the calls instead of the
    /// browser's `fetch`, such as the test kit's fake backend.
    fetch: Option<js_sys::Function>,
}

impl Backend {
    /// The backend at `base` (same origin as the page; no trailing slash).
    pub fn new(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            user_token: None,
            fetch: None,
        }
    }

    /// The same backend, called through `fetch` (same signature as the
    /// browser's) instead of the browser's own.
    pub fn with_fetch(mut self, fetch: js_sys::Function) -> Self {
        self.fetch = Some(fetch);
        self
    }

    /// The same backend, presenting the token `user_token` gives on every
    /// call.
    pub fn with_user_token(mut self, user_token: js_sys::Function) -> Self {
        self.user_token = Some(user_token);
        self
    }

    /// The base path.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// A consent request defined on the backend, by id or token, in
    /// `locale`; the screens validate it before showing it.
    ///
    /// `early` is the same call, made by the package entry while this
    /// module was still downloading (`requestEarly` in index.js): its
    /// `Response`, or `"sign_in"` when the sign-in token could not be had.
    /// It is read as this module reads its own answers.
    pub async fn request(
        &self,
        reference: &str,
        locale: Locale,
        early: Option<js_sys::Promise>,
    ) -> Result<serde_json::Value, BackendError> {
        let path = format!("/requests/{}?locale={}", encode(reference), locale.code());
        if let Some(early) = early {
            let answer = wasm_bindgen_futures::JsFuture::from(early)
                .await
                .map_err(|_| BackendError::Network)?;
            if answer.as_string().as_deref() == Some("sign_in") {
                return Err(BackendError::SignIn);
            }
            let response = answer
                .dyn_into::<web_sys::Response>()
                .map_err(|_| BackendError::Unexpected(0, REQUEST))?;
            return read(response, REQUEST).await.map(|(_, answer)| answer);
        }
        // Any JSON: the screen checks it against every rule.
        let (_, answer) = self.call_json("GET", &path, None, REQUEST).await?;
        Ok(answer)
    }

    /// Creates the authorization transaction.
    pub async fn start_authorization(&self, choice: &StartChoice) -> Result<Started, BackendError> {
        self.post("/authorizations", choice, " to POST /authorizations")
            .await
    }

    /// Completes the authorization with a checked callback.
    pub async fn complete(&self, completion: &Completion) -> Result<ConsentView, BackendError> {
        self.post("/authorizations/complete", completion, COMPLETE)
            .await
    }

    /// Hands a callback this tab holds no transaction for to the backend,
    /// which decides from its own transaction for this session.
    pub async fn complete_handed_over(
        &self,
        handover: &crate::flow::Handover,
    ) -> Result<ConsentView, BackendError> {
        self.post("/authorizations/complete", handover, COMPLETE)
            .await
    }

    /// This citizen's consents.
    pub async fn consents(&self) -> Result<Vec<ConsentView>, BackendError> {
        let list: ConsentList = self.get("/consents", " to GET /consents").await?;
        Ok(list.consents)
    }

    /// Revokes a consent; answers the receipt document (`{receipt, sha256}`).
    pub async fn revoke(&self, id: &str) -> Result<serde_json::Value, BackendError> {
        let path = format!("/consents/{}/revocation", encode(id));
        let (_, answer) = self
            .call_json(
                "POST",
                &path,
                Some("{}".to_owned()),
                " to POST /consents/{id}/revocation",
            )
            .await?;
        Ok(answer)
    }

    /// The latest receipt document of a consent.
    pub async fn receipt(&self, id: &str) -> Result<serde_json::Value, BackendError> {
        let path = format!("/consents/{}/receipt", encode(id));
        let (_, answer) = self
            .call_json("GET", &path, None, " to GET /consents/{id}/receipt")
            .await?;
        Ok(answer)
    }

    /// Starts a retrieval.
    pub async fn start_retrieval(&self, id: &str) -> Result<RetrievalView, BackendError> {
        self.post(
            &format!("/consents/{}/retrievals", encode(id)),
            &serde_json::json!({}),
            " to POST /consents/{id}/retrievals",
        )
        .await
    }

    /// A retrieval's progress.
    pub async fn retrieval(
        &self,
        id: &str,
        retrieval: &str,
    ) -> Result<RetrievalView, BackendError> {
        self.get(
            &format!("/consents/{}/retrievals/{}", encode(id), encode(retrieval)),
            " to GET /consents/{id}/retrievals/{rid}",
        )
        .await
    }

    /// The call's address, absolute: the page's origin and the backend's
    /// path. A browser would resolve a path itself; a `fetch` given in
    /// `options` (Node's, under a test runner) may not.
    fn url(&self, path: &str) -> String {
        let relative = format!("{}{path}", self.base);
        web_sys::window()
            .and_then(|window| window.location().href().ok())
            .and_then(|page| web_sys::Url::new_with_base(&relative, &page).ok())
            .map(|url| url.href())
            .unwrap_or(relative)
    }

    /// `Authorization: Bearer …` from `options.userToken`, if given. A
    /// token function that fails or answers no string is a network-class
    /// failure: the call is not made without the sign-in.
    async fn authorization(&self) -> Result<Option<String>, BackendError> {
        let Some(function) = &self.user_token else {
            return Ok(None);
        };
        let value = function
            .call0(&wasm_bindgen::JsValue::NULL)
            .map_err(|_| BackendError::SignIn)?;
        // Any thenable, as `await` takes it in the package entry (a
        // Promise of another frame, a library's own), or a plain value.
        let value = wasm_bindgen_futures::JsFuture::from(js_sys::Promise::resolve(&value))
            .await
            .map_err(|_| BackendError::SignIn)?;
        value
            .as_string()
            .filter(|token| !token.is_empty())
            .map(|token| Some(format!("Bearer {token}")))
            .ok_or(BackendError::SignIn)
    }

    /// `call` names the call for an unexpected answer: ` to GET
    /// /consents/{id}`, as the contract writes it, with no id or token.
    async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        call: &'static str,
    ) -> Result<T, BackendError> {
        self.call("GET", path, None, call).await
    }

    async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
        call: &'static str,
    ) -> Result<T, BackendError> {
        let body = crate::wire::stringify(body, None).ok_or(BackendError::Unexpected(0, call))?;
        self.call("POST", path, Some(body), call).await
    }

    /// One call whose answer must have the shape `T`.
    async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<String>,
        call: &'static str,
    ) -> Result<T, BackendError> {
        let (status, answer) = self.call_json(method, path, body, call).await?;
        crate::shape::read(&answer).ok_or(BackendError::Unexpected(status, call))
    }

    /// One call: JSON in and out, the CSRF header on every POST, the
    /// operator's sign-in when given. Not generic: the module holds this
    /// code once, not once for each shape of answer (about 2.5 KB each).
    async fn call_json(
        &self,
        method: &str,
        path: &str,
        body: Option<String>,
        call: &'static str,
    ) -> Result<(u16, serde_json::Value), BackendError> {
        let unexpected = |_| BackendError::Unexpected(0, call);
        let headers = web_sys::Headers::new().map_err(unexpected)?;
        let set = |name: &str, value: &str| headers.set(name, value).map_err(unexpected);
        set("Accept", "application/json")?;
        if let Some(authorization) = self.authorization().await? {
            // A token that is no header value (a line break) is no sign-in.
            headers
                .set("Authorization", &authorization)
                .map_err(|_| BackendError::SignIn)?;
        }
        let init = web_sys::RequestInit::new();
        init.set_method(method);
        if let Some(body) = body {
            set(CSRF_HEADER, "1")?;
            set("Content-Type", "application/json")?;
            init.set_body(&body.into());
        }
        init.set_headers(&headers);
        let request =
            web_sys::Request::new_with_str_and_init(&self.url(path), &init).map_err(unexpected)?;
        read(self.send(&request, call).await?, call).await
    }

    /// Sends through `options.fetch` when given, else the global `fetch`.
    async fn send(
        &self,
        request: &web_sys::Request,
        call: &'static str,
    ) -> Result<web_sys::Response, BackendError> {
        let fetch = match &self.fetch {
            Some(fetch) => fetch.clone(),
            None => js_sys::Reflect::get(&js_sys::global(), &"fetch".into())
                .ok()
                .and_then(|fetch| fetch.dyn_into::<js_sys::Function>().ok())
                .ok_or(BackendError::Network)?,
        };
        let answer = fetch
            .call1(&wasm_bindgen::JsValue::NULL, request)
            .map_err(|_| BackendError::Network)?;
        let answer = wasm_bindgen_futures::JsFuture::from(js_sys::Promise::resolve(&answer))
            .await
            .map_err(|_| BackendError::Network)?;
        answer
            .dyn_into::<web_sys::Response>()
            .map_err(|_| BackendError::Unexpected(0, call))
    }
}

/// The answer's status and JSON, or the RFC 9457 problem it carries; `call`
/// names the call in an unexpected answer.
async fn read(
    response: web_sys::Response,
    call: &'static str,
) -> Result<(u16, serde_json::Value), BackendError> {
    let status = response.status();
    let body = match response.json() {
        Ok(promise) => wasm_bindgen_futures::JsFuture::from(promise).await.ok(),
        Err(_) => None,
    };
    let body = body.as_ref().and_then(crate::wire::from_js);
    if response.ok() {
        return body
            .map(|body| (status, body))
            .ok_or(BackendError::Unexpected(status, call));
    }
    let field = |name: &str| {
        body.as_ref()
            .and_then(|body| body.get(name))
            .and_then(|value| value.as_str())
            .map(str::to_owned)
    };
    match field("code") {
        Some(code) => Err(BackendError::Problem {
            status,
            code,
            title: field("title").unwrap_or_default(),
            detail: field("detail"),
            cause: field("cause"),
        }),
        None => Err(BackendError::Unexpected(status, call)),
    }
}

/// The calls named more than once (see `Backend::get`).
const REQUEST: &str = " to GET /requests/{id}";
const COMPLETE: &str = " to POST /authorizations/complete";

/// Percent-encodes an id for a path segment.
fn encode(segment: &str) -> String {
    js_sys::encode_uri_component(segment).into()
}
