//! The OAuth 2.0 client: RFC 8414 discovery, pushed authorization requests
//! (RFC 9126) with RFC 9396 `authorization_details`, the code exchange with
//! the PKCE verifier, refresh, RFC 7009 revocation, and the authority's
//! asynchronous retrieval API. Every call retries on 429 and 5xx, and every
//! error says which step failed.
//!
//! Written on reqwest rather than a generic OAuth crate because the flows
//! are few and need PAR, `iss` (RFC 9207) and `authorization_details`.

use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use reqwest::header::{HeaderValue, AUTHORIZATION, RETRY_AFTER};
use reqwest::{RequestBuilder, Response, StatusCode};
use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;

use crate::limits::{AuthorityBudget, Priority};
use crate::secret::{
    AccessToken, AuthorizationCode, ClientSecret, Nonce, PkceVerifier, RefreshToken, State,
};

/// At most this many attempts per call to the authority.
pub const MAX_ATTEMPTS: u32 = 3;
/// A call to the authority, retries included, gives up after this.
pub const TOTAL_BUDGET: Duration = Duration::from_secs(10);
/// One attempt waits at most this long for an answer.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// The first backoff; each retry doubles it.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);

/// The step of the flow a call belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// RFC 8414 metadata.
    Discovery,
    /// RFC 9126 pushed authorization request.
    PushedAuthorization,
    /// Authorization code for tokens.
    CodeExchange,
    /// Refresh token for new tokens.
    Refresh,
    /// RFC 7009 revocation.
    Revocation,
    /// Starting an asynchronous retrieval.
    RetrievalStart,
    /// Polling a retrieval.
    RetrievalPoll,
}

impl Step {
    /// Stable name of the step.
    pub fn name(self) -> &'static str {
        match self {
            Self::Discovery => "discovery",
            Self::PushedAuthorization => "pushed_authorization",
            Self::CodeExchange => "code_exchange",
            Self::Refresh => "refresh",
            Self::Revocation => "revocation",
            Self::RetrievalStart => "retrieval_start",
            Self::RetrievalPoll => "retrieval_poll",
        }
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a call to the authority failed, and at which step.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// The authority could not be reached (connection refused, timeout).
    #[error("{step}: the authority could not be reached: {reason}")]
    Unreachable {
        /// The step.
        step: Step,
        /// What the transport said.
        reason: String,
    },
    /// The authority kept answering 429 until the retries ran out.
    #[error("{step}: the authority is rate limiting this client")]
    RateLimited {
        /// The step.
        step: Step,
        /// Seconds the authority asked to wait.
        retry_after: Option<u64>,
    },
    /// The authority kept failing (5xx) until the retries ran out.
    #[error("{step}: the authority failed with HTTP {status}")]
    Server {
        /// The step.
        step: Step,
        /// The last status.
        status: u16,
    },
    /// The authority refused the call (4xx, RFC 6749 §5.2 error).
    #[error("{step}: the authority refused with {error} (HTTP {status})")]
    Refused {
        /// The step.
        step: Step,
        /// The HTTP status.
        status: u16,
        /// The OAuth error code, e.g. `invalid_grant`.
        error: String,
        /// `grant_status` where a grant ended: `revoked`, `compromised`,
        /// `expired`.
        grant_status: Option<String>,
    },
    /// The answer did not have the expected shape.
    #[error("{step}: the authority's answer is not usable: {reason}")]
    InvalidResponse {
        /// The step.
        step: Step,
        /// What is wrong.
        reason: String,
    },
    /// The authority's metadata lacks what this client needs.
    #[error("{step}: the authority does not offer {0}", step = Step::Discovery)]
    Unsupported(&'static str),
}

impl OAuthError {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unreachable { .. } => "authority_unreachable",
            Self::RateLimited { .. } => "rate_limited",
            Self::Server { .. } => "authority_failed",
            Self::Refused { .. } => "authority_refused",
            Self::InvalidResponse { .. } => "authority_invalid_response",
            Self::Unsupported(_) => "authority_unsupported",
        }
    }

    /// The step that failed.
    pub fn step(&self) -> Step {
        match self {
            Self::Unreachable { step, .. }
            | Self::RateLimited { step, .. }
            | Self::Server { step, .. }
            | Self::Refused { step, .. }
            | Self::InvalidResponse { step, .. } => *step,
            Self::Unsupported(_) => Step::Discovery,
        }
    }

    fn invalid(step: Step, reason: impl Into<String>) -> Self {
        Self::InvalidResponse {
            step,
            reason: reason.into(),
        }
    }
}

/// The authority's RFC 8414 metadata, as far as this client uses it.
#[derive(Debug, Clone, Deserialize)]
pub struct Metadata {
    /// Must equal the configured issuer (RFC 8414 §3.3).
    pub issuer: String,
    /// Where the citizen is sent.
    pub authorization_endpoint: String,
    /// Code exchange and refresh.
    pub token_endpoint: String,
    /// RFC 9126.
    #[serde(default)]
    pub pushed_authorization_request_endpoint: Option<String>,
    /// Whether the authority accepts only pushed requests.
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
    /// RFC 7009.
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    /// PKCE methods.
    #[serde(default)]
    pub code_challenge_methods_supported: Vec<String>,
    /// RFC 9207.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
    /// The asynchronous retrieval API (the Mynaportal extension).
    #[serde(default)]
    pub retrieval_endpoint: Option<String>,
}

/// What the authorization request carries besides the client's own values.
pub struct AuthorizationParams<'a> {
    /// The transaction's state.
    pub state: &'a State,
    /// The transaction's nonce.
    pub nonce: &'a Nonce,
    /// The transaction's PKCE verifier (only its challenge is sent).
    pub verifier: &'a PkceVerifier,
    /// RFC 9396 `authorization_details`, already built.
    pub authorization_details: &'a Value,
}

/// What the authority granted, from the token answer's
/// `authorization_details`.
#[derive(Debug, Clone, Default)]
pub struct GrantDetails {
    /// The authority's id of the grant.
    pub grant_id: Option<String>,
    /// When the citizen approved.
    pub granted_at: Option<OffsetDateTime>,
    /// When a linkage ends.
    pub ends_at: Option<OffsetDateTime>,
    /// The items granted.
    pub items: Option<Vec<String>>,
}

/// A token answer.
#[derive(Debug)]
pub struct Tokens {
    /// The access token.
    pub access_token: AccessToken,
    /// Seconds the access token lives.
    pub expires_in: Option<i64>,
    /// The refresh token (linkage only).
    pub refresh_token: Option<RefreshToken>,
    /// What was granted.
    pub grant: GrantDetails,
}

#[derive(Deserialize)]
struct RawTokens {
    access_token: String,
    token_type: String,
    #[serde(default)]
    expires_in: Option<i64>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    authorization_details: Vec<Value>,
}

#[derive(Deserialize)]
struct RawError {
    error: String,
    #[serde(default)]
    grant_status: Option<String>,
}

/// A retrieval as the authority reports it.
#[derive(Debug, Clone, Deserialize)]
pub struct RemoteRetrieval {
    /// The authority's id.
    pub id: String,
    /// `waiting`, `done`, `error` or `timeout`.
    pub status: String,
    /// Per item, the records.
    #[serde(default)]
    pub records: Vec<RemoteItemRecords>,
    /// Why it failed.
    #[serde(default)]
    pub error: Option<String>,
}

/// The records of one item.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct RemoteItemRecords {
    /// Catalogue id.
    pub item: String,
    /// The records, as the authority sends them.
    #[serde(default)]
    pub records: Vec<Value>,
}

/// One OAuth client of one authority. Discovery happens on first use and is
/// cached, because the authority may start after the backend.
pub struct OAuthClient {
    http: reqwest::Client,
    issuer: String,
    client_id: String,
    secret: ClientSecret,
    redirect_uri: String,
    metadata: tokio::sync::OnceCell<Arc<Metadata>>,
    budget: AuthorityBudget,
}

impl OAuthClient {
    /// A client of `issuer`, registered as `client_id` with `secret` and
    /// `redirect_uri`, within `budget` at the authority.
    pub fn new(
        issuer: &str,
        client_id: &str,
        secret: ClientSecret,
        redirect_uri: &str,
        budget: AuthorityBudget,
    ) -> Self {
        let http = reqwest::Client::builder()
            // OAuth endpoints do not redirect; following one would send the
            // client's credentials somewhere nobody configured.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(3))
            .user_agent(concat!("myna-operator/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Self {
            http,
            issuer: issuer.to_owned(),
            client_id: client_id.to_owned(),
            secret,
            redirect_uri: redirect_uri.to_owned(),
            metadata: tokio::sync::OnceCell::new(),
            budget,
        }
    }

    /// The configured issuer.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The authority's metadata, fetched once. A failed fetch is not cached,
    /// so the next call tries again.
    pub async fn metadata(&self) -> Result<Arc<Metadata>, OAuthError> {
        self.metadata
            .get_or_try_init(|| async { self.discover().await.map(Arc::new) })
            .await
            .cloned()
    }

    /// RFC 8414 §3: the well-known segment goes between host and path.
    fn metadata_url(&self) -> Result<url::Url, OAuthError> {
        let mut url = url::Url::parse(&self.issuer)
            .map_err(|_| OAuthError::invalid(Step::Discovery, "the issuer is not a URL"))?;
        let path = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("/.well-known/oauth-authorization-server{path}"));
        Ok(url)
    }

    async fn discover(&self) -> Result<Metadata, OAuthError> {
        let step = Step::Discovery;
        let url = self.metadata_url()?;
        let response = self.send(step, || self.http.get(url.clone())).await?;
        let metadata: Metadata = expect_json(step, response, &[StatusCode::OK]).await?;
        if metadata.issuer != self.issuer {
            // RFC 8414 §3.3: metadata for another issuer is an attack or a
            // misconfiguration; either way, do not send secrets there.
            return Err(OAuthError::invalid(
                step,
                format!("the metadata names issuer {}", metadata.issuer),
            ));
        }
        if !metadata
            .code_challenge_methods_supported
            .iter()
            .any(|m| m == "S256")
        {
            return Err(OAuthError::Unsupported("PKCE S256"));
        }
        let https_issuer = self.issuer.starts_with("https://");
        let endpoints = [
            Some(&metadata.authorization_endpoint),
            Some(&metadata.token_endpoint),
            metadata.pushed_authorization_request_endpoint.as_ref(),
            metadata.revocation_endpoint.as_ref(),
            metadata.retrieval_endpoint.as_ref(),
        ];
        for endpoint in endpoints.into_iter().flatten() {
            let url = url::Url::parse(endpoint)
                .map_err(|_| OAuthError::invalid(step, "an endpoint is not a URL"))?;
            if https_issuer && url.scheme() != "https" {
                return Err(OAuthError::invalid(step, "an endpoint is not https"));
            }
        }
        if metadata.require_pushed_authorization_requests
            && metadata.pushed_authorization_request_endpoint.is_none()
        {
            return Err(OAuthError::Unsupported(
                "the pushed authorization request endpoint it requires",
            ));
        }
        Ok(metadata)
    }

    /// Sends one call with retries: on 429 and 5xx, and on connection
    /// failures (the request never left), wait (`Retry-After` when given,
    /// else exponential backoff) and try again, at most [`MAX_ATTEMPTS`]
    /// times within [`TOTAL_BUDGET`]. Other transport failures are not
    /// retried: the authority may have acted on the request, and replaying a
    /// single-use refresh token would make it revoke the grant.
    async fn send(
        &self,
        step: Step,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Response, OAuthError> {
        let started = tokio::time::Instant::now();
        let mut attempt = 1;
        let priority = match step {
            Step::Discovery => None,
            Step::PushedAuthorization => Some(Priority::Start),
            _ => Some(Priority::Citizen),
        };
        loop {
            if let Some(priority) = priority {
                // The operator's own share of the authority's TPS: a new
                // start without room is refused here, before it costs the
                // citizens on their way a 429.
                self.budget
                    .acquire(priority)
                    .await
                    .map_err(|seconds| OAuthError::RateLimited {
                        step,
                        retry_after: Some(seconds),
                    })?;
            }
            let remaining = TOTAL_BUDGET.saturating_sub(started.elapsed());
            let result = build().timeout(remaining.min(ATTEMPT_TIMEOUT)).send().await;
            let (delay, failure) = match result {
                Ok(response)
                    if response.status() == StatusCode::TOO_MANY_REQUESTS
                        || response.status().is_server_error() =>
                {
                    let retry_after = retry_after(&response);
                    let failure = if response.status() == StatusCode::TOO_MANY_REQUESTS {
                        OAuthError::RateLimited { step, retry_after }
                    } else {
                        OAuthError::Server {
                            step,
                            status: response.status().as_u16(),
                        }
                    };
                    let delay = retry_after.map_or_else(|| backoff(attempt), Duration::from_secs);
                    (delay, failure)
                }
                Ok(response) => return Ok(response),
                Err(error) if error.is_connect() => (
                    backoff(attempt),
                    OAuthError::Unreachable {
                        step,
                        reason: error.to_string(),
                    },
                ),
                Err(error) => {
                    return Err(OAuthError::Unreachable {
                        step,
                        reason: error.to_string(),
                    })
                }
            };
            if attempt >= MAX_ATTEMPTS || started.elapsed() + delay >= TOTAL_BUDGET {
                return Err(failure);
            }
            tracing::debug!(
                step = step.name(),
                attempt,
                ?delay,
                "retrying a call to the authority"
            );
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    /// `Authorization: Basic` with the client id and secret, each
    /// form-urlencoded first (RFC 6749 §2.3.1).
    fn basic_auth(&self) -> HeaderValue {
        let encode =
            |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let credentials = format!(
            "{}:{}",
            encode(&self.client_id),
            encode(self.secret.expose())
        );
        let mut value = HeaderValue::from_str(&format!("Basic {}", STANDARD.encode(credentials)))
            .unwrap_or_else(|_| HeaderValue::from_static("Basic"));
        value.set_sensitive(true);
        value
    }

    fn form_post(&self, endpoint: &str, form: &[(&str, &str)]) -> RequestBuilder {
        self.http
            .post(endpoint)
            .header(AUTHORIZATION, self.basic_auth())
            .form(form)
    }

    /// The authorization URL for a transaction: pushed through PAR when the
    /// authority requires or offers it (so the parameters cannot be tampered
    /// with in the browser), else as plain query parameters.
    pub async fn authorization_url(
        &self,
        params: &AuthorizationParams<'_>,
    ) -> Result<String, OAuthError> {
        let metadata = self.metadata().await?;
        let challenge = params.verifier.challenge();
        let details = params.authorization_details.to_string();
        let fields: [(&str, &str); 8] = [
            ("response_type", "code"),
            ("client_id", &self.client_id),
            ("redirect_uri", &self.redirect_uri),
            ("state", params.state.expose()),
            ("nonce", params.nonce.expose()),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("authorization_details", &details),
        ];
        let mut url = url::Url::parse(&metadata.authorization_endpoint).map_err(|_| {
            OAuthError::invalid(Step::Discovery, "the authorization endpoint is not a URL")
        })?;
        if let Some(par) = &metadata.pushed_authorization_request_endpoint {
            let step = Step::PushedAuthorization;
            let response = self.send(step, || self.form_post(par, &fields)).await?;
            #[derive(Deserialize)]
            struct Pushed {
                request_uri: String,
            }
            let pushed: Pushed =
                expect_json(step, response, &[StatusCode::CREATED, StatusCode::OK]).await?;
            url.query_pairs_mut()
                .append_pair("client_id", &self.client_id)
                .append_pair("request_uri", &pushed.request_uri);
        } else {
            url.query_pairs_mut().extend_pairs(fields);
        }
        Ok(url.into())
    }

    /// Exchanges an authorization code, proving possession of the verifier.
    pub async fn exchange_code(
        &self,
        code: &AuthorizationCode,
        verifier: &PkceVerifier,
    ) -> Result<Tokens, OAuthError> {
        let step = Step::CodeExchange;
        let metadata = self.metadata().await?;
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.expose()),
            ("redirect_uri", &self.redirect_uri),
            ("code_verifier", verifier.expose()),
        ];
        let response = self
            .send(step, || self.form_post(&metadata.token_endpoint, &form))
            .await?;
        tokens(step, response).await
    }

    /// Uses a refresh token; the answer carries its successor.
    pub async fn refresh(&self, refresh_token: &RefreshToken) -> Result<Tokens, OAuthError> {
        let step = Step::Refresh;
        let metadata = self.metadata().await?;
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose()),
        ];
        let response = self
            .send(step, || self.form_post(&metadata.token_endpoint, &form))
            .await?;
        tokens(step, response).await
    }

    /// Revokes a token (RFC 7009). `hint` is `refresh_token` or
    /// `access_token`.
    pub async fn revoke(&self, token: &str, hint: &str) -> Result<(), OAuthError> {
        let step = Step::Revocation;
        let metadata = self.metadata().await?;
        let endpoint = metadata
            .revocation_endpoint
            .as_deref()
            .ok_or(OAuthError::Unsupported("token revocation (RFC 7009)"))?;
        let form = [("token", token), ("token_type_hint", hint)];
        let response = self.send(step, || self.form_post(endpoint, &form)).await?;
        if response.status() == StatusCode::OK {
            Ok(())
        } else {
            Err(refused(step, response).await)
        }
    }

    /// Starts a retrieval of `items` (every granted item when `None`).
    pub async fn start_retrieval(
        &self,
        access_token: &AccessToken,
        items: Option<&[String]>,
    ) -> Result<RemoteRetrieval, OAuthError> {
        let step = Step::RetrievalStart;
        let endpoint = self.retrieval_endpoint().await?;
        let body = items.map(|items| serde_json::json!({ "items": items }));
        let response = self
            .send(step, || {
                let request = self
                    .http
                    .post(endpoint.clone())
                    .bearer_auth(access_token.expose());
                match &body {
                    Some(body) => request.json(body),
                    None => request,
                }
            })
            .await?;
        expect_json(step, response, &[StatusCode::ACCEPTED, StatusCode::OK]).await
    }

    /// The state of a retrieval at the authority.
    pub async fn poll_retrieval(
        &self,
        access_token: &AccessToken,
        id: &str,
    ) -> Result<RemoteRetrieval, OAuthError> {
        let step = Step::RetrievalPoll;
        let mut url = self.retrieval_endpoint().await?;
        url.path_segments_mut()
            .map_err(|_| OAuthError::invalid(step, "the retrieval endpoint cannot take a path"))?
            .pop_if_empty()
            .push(id);
        let response = self
            .send(step, || {
                self.http
                    .get(url.clone())
                    .bearer_auth(access_token.expose())
            })
            .await?;
        expect_json(step, response, &[StatusCode::OK]).await
    }

    async fn retrieval_endpoint(&self) -> Result<url::Url, OAuthError> {
        let metadata = self.metadata().await?;
        let endpoint = metadata
            .retrieval_endpoint
            .as_deref()
            .ok_or(OAuthError::Unsupported("the retrieval API"))?;
        url::Url::parse(endpoint).map_err(|_| {
            OAuthError::invalid(Step::Discovery, "the retrieval endpoint is not a URL")
        })
    }
}

fn backoff(attempt: u32) -> Duration {
    FIRST_BACKOFF * 2u32.saturating_pow(attempt.saturating_sub(1))
}

/// `Retry-After` in whole seconds (the form the authority sends; an
/// HTTP-date falls back to backoff).
fn retry_after(response: &Response) -> Option<u64> {
    response
        .headers()
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

async fn expect_json<T: serde::de::DeserializeOwned>(
    step: Step,
    response: Response,
    ok: &[StatusCode],
) -> Result<T, OAuthError> {
    if !ok.contains(&response.status()) {
        return Err(refused(step, response).await);
    }
    let bytes = response
        .bytes()
        .await
        .map_err(|e| OAuthError::invalid(step, e.to_string()))?;
    serde_json::from_slice(&bytes).map_err(|e| OAuthError::invalid(step, e.to_string()))
}

/// A refusal, with the RFC 6749 §5.2 error code when the body has one.
async fn refused(step: Step, response: Response) -> OAuthError {
    let status = response.status().as_u16();
    let body = response.bytes().await.unwrap_or_default();
    match serde_json::from_slice::<RawError>(&body) {
        Ok(raw) => OAuthError::Refused {
            step,
            status,
            error: raw.error,
            grant_status: raw.grant_status,
        },
        Err(_) => OAuthError::Refused {
            step,
            status,
            error: format!("http_{status}"),
            grant_status: None,
        },
    }
}

async fn tokens(step: Step, response: Response) -> Result<Tokens, OAuthError> {
    let raw: RawTokens = expect_json(step, response, &[StatusCode::OK]).await?;
    if !raw.token_type.eq_ignore_ascii_case("bearer") {
        return Err(OAuthError::invalid(step, "the token type is not Bearer"));
    }
    if raw.access_token.is_empty() {
        return Err(OAuthError::invalid(step, "the access token is empty"));
    }
    Ok(Tokens {
        access_token: AccessToken::new(raw.access_token),
        expires_in: raw.expires_in,
        refresh_token: raw
            .refresh_token
            .filter(|t| !t.is_empty())
            .map(RefreshToken::new),
        grant: grant_details(&raw.authorization_details),
    })
}

/// The `mynaportal_consent` entry of the token answer.
fn grant_details(details: &[Value]) -> GrantDetails {
    let Some(entry) = details
        .iter()
        .find(|d| d.get("type").and_then(Value::as_str) == Some("mynaportal_consent"))
    else {
        return GrantDetails::default();
    };
    let text = |key: &str| entry.get(key).and_then(Value::as_str).map(str::to_owned);
    let instant = |key: &str| {
        text(key).and_then(|t| {
            OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339).ok()
        })
    };
    GrantDetails {
        grant_id: text("grantId"),
        granted_at: instant("grantedAt"),
        ends_at: instant("endsAt"),
        items: entry.get("items").and_then(Value::as_array).map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_url_inserts_the_well_known_segment_before_the_path() {
        let client = |issuer: &str| {
            OAuthClient::new(
                issuer,
                "c",
                ClientSecret::new("s"),
                "https://op/cb",
                AuthorityBudget::new(5),
            )
        };
        assert_eq!(
            client("https://auth.example")
                .metadata_url()
                .expect("url")
                .as_str(),
            "https://auth.example/.well-known/oauth-authorization-server"
        );
        assert_eq!(
            client("https://auth.example/tenant")
                .metadata_url()
                .expect("url")
                .as_str(),
            "https://auth.example/.well-known/oauth-authorization-server/tenant"
        );
    }

    #[test]
    fn backoff_doubles() {
        assert_eq!(backoff(1), Duration::from_millis(250));
        assert_eq!(backoff(2), Duration::from_millis(500));
        assert_eq!(backoff(3), Duration::from_millis(1000));
    }

    #[test]
    fn basic_auth_form_encodes_before_base64() {
        let client = OAuthClient::new(
            "https://a",
            "id:1",
            ClientSecret::new("p w"),
            "https://op/cb",
            AuthorityBudget::new(5),
        );
        let header = client.basic_auth();
        let encoded = header
            .to_str()
            .expect("ascii")
            .strip_prefix("Basic ")
            .expect("basic");
        let decoded = STANDARD.decode(encoded).expect("base64");
        assert_eq!(decoded, b"id%3A1:p+w");
        assert!(header.is_sensitive());
    }

    #[test]
    fn reads_the_grant_from_authorization_details() {
        let details = vec![serde_json::json!({
            "type": "mynaportal_consent",
            "items": ["a", "b"],
            "grantId": "g-1",
            "grantedAt": "2025-04-01T00:00:00Z",
            "endsAt": "2025-06-30T00:00:00Z"
        })];
        let grant = grant_details(&details);
        assert_eq!(grant.grant_id.as_deref(), Some("g-1"));
        assert_eq!(grant.items, Some(vec!["a".to_owned(), "b".to_owned()]));
        assert!(grant.granted_at.is_some() && grant.ends_at.is_some());
        assert!(grant_details(&[]).grant_id.is_none());
    }
}
