//! The OAuth 2.0 client: discovery (RFC 8414, falling back to OpenID
//! Connect Discovery), pushed authorization requests (RFC 9126) with RFC
//! 9396 `authorization_details`, the code exchange with the PKCE verifier
//! and, with `openid`, ID token validation, refresh, RFC 7009 revocation,
//! and the authority's asynchronous retrieval API. It authenticates with
//! `client_secret_basic` or `private_key_jwt`, and binds tokens to its DPoP
//! key (RFC 9449) when configured. Every error says which step failed and
//! whether the cause is the configuration or a passing failure.
//!
//! Written on reqwest rather than a generic OAuth crate because the flows
//! are few and need PAR, `iss` (RFC 9207), DPoP nonces and
//! `authorization_details`; jsonwebtoken does the signing and verifying.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use jsonwebtoken::jwk::JwkSet;
use reqwest::header::{HeaderValue, AUTHORIZATION, RETRY_AFTER};
use reqwest::{RequestBuilder, Response, StatusCode};
use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;

use crate::id_token::{self, IdTokenProblem};
use crate::limits::{AuthorityBudget, Priority};
use crate::proof::{ClientKey, DpopKey};
use crate::secret::{
    AccessToken, AuthorizationCode, ClientSecret, Nonce, PkceVerifier, RefreshToken, State,
};
use crate::Clock;

/// The RFC 9396 type this client asks for and reads back.
pub const DETAILS_TYPE: &str = "mynaportal_consent";

/// At most this many attempts per call to the authority.
pub const MAX_ATTEMPTS: u32 = 3;
/// A call to the authority, retries included, gives up after this.
pub const TOTAL_BUDGET: Duration = Duration::from_secs(10);
/// One attempt waits at most this long for an answer.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// The first backoff; each retry doubles it.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// How an `Unreachable` reason starts when the connection never opened, so
/// nothing can have reached the authority.
const NOT_SENT: &str = "not sent: ";

/// The step of the flow a call belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// RFC 8414 metadata, or the JWKS it names.
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

    /// How a failed attempt of this step may be retried. A code is single
    /// use and the authority revokes everything issued for it when it comes
    /// twice; a refresh token likewise. Those are retried only when the
    /// request cannot have been acted on (it never left, or the answer was
    /// 429), unless the authority keeps a reuse grace window for refresh
    /// tokens.
    fn retry(self, refresh_grace: Duration) -> Retry {
        match self {
            Self::CodeExchange => Retry::UnsentOnly,
            Self::Refresh if refresh_grace.is_zero() => Retry::UnsentOnly,
            Self::Refresh => Retry::Within(refresh_grace),
            _ => Retry::Failures,
        }
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Which failures of a call are tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retry {
    /// 429, 5xx and connection failures.
    Failures,
    /// Only what the authority cannot have acted on: 429 and connection
    /// failures.
    UnsentOnly,
    /// Any failure, a lost answer included, while the first attempt is
    /// younger than this.
    Within(Duration),
}

/// What kind of cause a failure has, for the developer: fix the
/// configuration, or try again later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The backend and the authority do not fit: a missing capability, a
    /// refused client, an answer this client cannot use. Retrying does not
    /// help; the configuration (here or at the authority) must change.
    Configuration,
    /// The grant behind a token has ended at the authority.
    GrantEnded,
    /// A passing failure: unreachable, rate limited, 5xx.
    Temporary,
    /// A single-use call (a code exchange, a refresh) may have taken effect
    /// at the authority, but its answer was lost. Presenting the code or
    /// the refresh token again may make the authority end the grant.
    Uncertain,
}

impl Cause {
    /// Stable name, as the problem answers' `cause` member.
    pub fn name(self) -> &'static str {
        match self {
            Self::Configuration => "configuration",
            Self::GrantEnded => "grant_ended",
            Self::Temporary => "temporary",
            Self::Uncertain => "uncertain",
        }
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
    /// A single-use call may have taken effect, but its answer was lost (a
    /// 5xx, a timeout, a reset connection).
    #[error("{step}: the answer was lost; the authority may have acted on the call: {reason}")]
    Uncertain {
        /// The step (code exchange or refresh).
        step: Step,
        /// What the transport or the authority said.
        reason: String,
    },
    /// The authority lacks what this client is configured to use.
    #[error("{step}: the authority does not offer {what}")]
    Unsupported {
        /// The step that found out (discovery, or the call that needs it).
        step: Step,
        /// What is missing, e.g. `the retrieval API`.
        what: String,
    },
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
            Self::Uncertain { .. } => "authority_answer_lost",
            Self::Unsupported { .. } => "authority_unsupported",
        }
    }

    /// The step that failed.
    pub fn step(&self) -> Step {
        match self {
            Self::Unreachable { step, .. }
            | Self::RateLimited { step, .. }
            | Self::Server { step, .. }
            | Self::Refused { step, .. }
            | Self::InvalidResponse { step, .. }
            | Self::Uncertain { step, .. }
            | Self::Unsupported { step, .. } => *step,
        }
    }

    /// Whether fixing the configuration or waiting is the way out.
    pub fn cause(&self) -> Cause {
        match self {
            Self::Unreachable { .. } | Self::RateLimited { .. } | Self::Server { .. } => {
                Cause::Temporary
            }
            Self::InvalidResponse { .. } | Self::Unsupported { .. } => Cause::Configuration,
            Self::Uncertain { .. } => Cause::Uncertain,
            Self::Refused { error, step, .. } => match error.as_str() {
                // At the code exchange it means a bad code or verifier, not
                // an ended grant.
                "invalid_grant" if *step == Step::Refresh => Cause::GrantEnded,
                "temporarily_unavailable" | "use_dpop_nonce" | "slow_down" => Cause::Temporary,
                _ => Cause::Configuration,
            },
        }
    }

    fn invalid(step: Step, reason: impl Into<String>) -> Self {
        Self::InvalidResponse {
            step,
            reason: reason.into(),
        }
    }

    fn unsupported(step: Step, what: impl Into<String>) -> Self {
        Self::Unsupported {
            step,
            what: what.into(),
        }
    }
}

/// The authority's metadata (RFC 8414, or OpenID Connect Discovery), as
/// far as this client uses it.
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
    /// RFC 9207: whether callbacks carry `iss`.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
    /// The authority's signing keys (ID tokens).
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// Scopes the authority knows, when it says.
    #[serde(default)]
    pub scopes_supported: Option<Vec<String>>,
    /// Client authentication methods; RFC 8414 §2 makes
    /// `client_secret_basic` the default.
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// Algorithms for `private_key_jwt`.
    #[serde(default)]
    pub token_endpoint_auth_signing_alg_values_supported: Option<Vec<String>>,
    /// RFC 9396 types, when the authority says.
    #[serde(default)]
    pub authorization_details_types_supported: Option<Vec<String>>,
    /// RFC 9449: the algorithms of DPoP proofs; absent means no DPoP.
    #[serde(default)]
    pub dpop_signing_alg_values_supported: Vec<String>,
    /// The asynchronous retrieval API (the Mynaportal extension).
    #[serde(default)]
    pub retrieval_endpoint: Option<String>,
}

/// What the authorization request carries besides the client's own values.
pub struct AuthorizationParams<'a> {
    /// The transaction's state.
    pub state: &'a State,
    /// The transaction's nonce (sent only with the `openid` scope).
    pub nonce: &'a Nonce,
    /// The transaction's PKCE verifier (only its challenge is sent).
    pub verifier: &'a PkceVerifier,
    /// RFC 9396 `authorization_details`, already built.
    pub authorization_details: &'a Value,
}

/// What the authority confirmed it granted, from the token answer's
/// `authorization_details` entry of [`DETAILS_TYPE`].
#[derive(Debug, Clone, Default)]
pub struct GrantDetails {
    /// The authority's id of the grant.
    pub grant_id: Option<String>,
    /// When the citizen approved.
    pub granted_at: Option<OffsetDateTime>,
    /// When a linkage ends.
    pub ends_at: Option<OffsetDateTime>,
    /// The items granted; `None` when the answer confirms no entry of the
    /// type at all.
    pub items: Option<Vec<String>>,
}

impl GrantDetails {
    /// Whether the answer confirms at least one item.
    pub fn confirms_anything(&self) -> bool {
        self.items.as_ref().is_some_and(|items| !items.is_empty())
    }
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
    /// The scopes granted (RFC 6749 §5.1), when the authority says.
    pub scope: Option<String>,
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
    scope: Option<String>,
    #[serde(default)]
    id_token: Option<String>,
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

/// How the client authenticates at the authority's back-channel endpoints.
#[derive(Debug, Clone)]
pub enum ClientCredentials {
    /// HTTP Basic with the shared secret (RFC 6749 §2.3.1).
    SecretBasic(ClientSecret),
    /// A JWT signed with the client's private key (RFC 7523 §2.2).
    PrivateKeyJwt(ClientKey),
}

impl ClientCredentials {
    /// The method's registered name.
    pub fn method(&self) -> &'static str {
        match self {
            Self::SecretBasic(_) => "client_secret_basic",
            Self::PrivateKeyJwt(_) => "private_key_jwt",
        }
    }
}

/// Everything that makes one OAuth client, from the operator's
/// configuration.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// The authority's issuer identifier.
    pub issuer: String,
    /// The registered client id.
    pub client_id: String,
    /// How the client authenticates.
    pub credentials: ClientCredentials,
    /// The registered redirect URI.
    pub redirect_uri: String,
    /// The scopes asked for with every authorization; with `openid` a
    /// nonce goes along and the ID token is checked.
    pub scopes: Vec<String>,
    /// The DPoP key, when tokens are to be sender-constrained.
    pub dpop: Option<DpopKey>,
    /// The authority's documented reuse grace window for a just-rotated
    /// refresh token; zero when it has none. Within it, a refresh whose
    /// answer was lost is tried again.
    pub refresh_reuse_grace: Duration,
}

impl ClientSettings {
    /// Whether the scopes ask for OpenID Connect.
    pub fn openid(&self) -> bool {
        self.scopes.iter().any(|scope| scope == "openid")
    }
}

/// One OAuth client of one authority. Discovery happens on first use and is
/// cached, because the authority may start after the backend.
pub struct OAuthClient {
    http: reqwest::Client,
    settings: ClientSettings,
    metadata: tokio::sync::OnceCell<Arc<Metadata>>,
    jwks: tokio::sync::RwLock<Option<Arc<JwkSet>>>,
    /// The last `DPoP-Nonce` the authority gave (RFC 9449 §8).
    dpop_nonce: Mutex<Option<String>>,
    budget: AuthorityBudget,
    clock: Clock,
}

impl OAuthClient {
    /// A client as `settings` say, within `budget` at the authority,
    /// reading "now" (for client assertions) from `clock`.
    pub fn new(settings: ClientSettings, budget: AuthorityBudget, clock: Clock) -> Self {
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
            settings,
            metadata: tokio::sync::OnceCell::new(),
            jwks: tokio::sync::RwLock::new(None),
            dpop_nonce: Mutex::new(None),
            budget,
            clock,
        }
    }

    /// This instance's calls a second at the authority now.
    pub fn budget_share(&self) -> f64 {
        self.budget.share()
    }

    /// Takes this instance's share of the operator's TPS at the authority
    /// when `instances` are alive.
    pub fn share_budget(&self, instances: usize) {
        self.budget.share_among(instances);
    }

    /// Whether background work (a scheduled retrieval) may go now: it takes
    /// room only as a new start would, leaving the rest for citizens.
    pub fn has_room_for_background(&self) -> bool {
        self.budget.try_background()
    }

    /// The configured issuer.
    pub fn issuer(&self) -> &str {
        &self.settings.issuer
    }

    /// The client's settings.
    pub fn settings(&self) -> &ClientSettings {
        &self.settings
    }

    /// The authority's metadata, fetched once. A failed fetch is not cached,
    /// so the next call tries again.
    pub async fn metadata(&self) -> Result<Arc<Metadata>, OAuthError> {
        self.metadata
            .get_or_try_init(|| async { self.discover().await.map(Arc::new) })
            .await
            .cloned()
    }

    /// Where the metadata may be, in order: RFC 8414 §3 (the well-known
    /// segment between host and path), then OpenID Connect Discovery in the
    /// same form (RFC 8414 §5), then as OpenID Connect Discovery §4 appends
    /// it to the issuer's path.
    fn metadata_urls(&self) -> Result<Vec<url::Url>, OAuthError> {
        let issuer = url::Url::parse(&self.settings.issuer)
            .map_err(|_| OAuthError::invalid(Step::Discovery, "the issuer is not a URL"))?;
        let path = issuer.path().trim_end_matches('/').to_owned();
        let mut urls = Vec::with_capacity(3);
        for document in ["oauth-authorization-server", "openid-configuration"] {
            let mut url = issuer.clone();
            url.set_path(&format!("/.well-known/{document}{path}"));
            urls.push(url);
        }
        let mut appended = issuer.clone();
        appended.set_path(&format!("{path}/.well-known/openid-configuration"));
        if !urls.contains(&appended) {
            urls.push(appended);
        }
        Ok(urls)
    }

    async fn discover(&self) -> Result<Metadata, OAuthError> {
        let step = Step::Discovery;
        let mut metadata = None;
        for url in self.metadata_urls()? {
            let response = self.send(step, || Ok(self.http.get(url.clone()))).await?;
            // 404 (or another refusal) means "not this document": try the
            // next. Anything else is an answer.
            if response.status().is_client_error() {
                continue;
            }
            metadata = Some(expect_json::<Metadata>(step, response, &[StatusCode::OK]).await?);
            break;
        }
        let metadata = metadata.ok_or_else(|| {
            OAuthError::unsupported(
                step,
                "metadata at /.well-known/oauth-authorization-server or /.well-known/openid-configuration",
            )
        })?;
        self.check_metadata(&metadata)?;
        Ok(metadata)
    }

    /// Refuses metadata this client cannot work with, naming what is
    /// missing, before any citizen is sent anywhere.
    fn check_metadata(&self, metadata: &Metadata) -> Result<(), OAuthError> {
        let step = Step::Discovery;
        let unsupported = |what: String| Err(OAuthError::unsupported(step, what));
        if metadata.issuer != self.settings.issuer {
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
            return unsupported("PKCE S256".into());
        }
        let https_issuer = self.settings.issuer.starts_with("https://");
        let endpoints = [
            Some(&metadata.authorization_endpoint),
            Some(&metadata.token_endpoint),
            metadata.pushed_authorization_request_endpoint.as_ref(),
            metadata.revocation_endpoint.as_ref(),
            metadata.retrieval_endpoint.as_ref(),
            metadata.jwks_uri.as_ref(),
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
            return unsupported("the pushed authorization request endpoint it requires".into());
        }
        let method = self.settings.credentials.method();
        let methods = metadata
            .token_endpoint_auth_methods_supported
            .as_deref()
            .unwrap_or(&[]);
        let method_offered = if metadata.token_endpoint_auth_methods_supported.is_some() {
            methods.iter().any(|m| m == method)
        } else {
            method == "client_secret_basic"
        };
        if !method_offered {
            return unsupported(format!("client authentication by {method}"));
        }
        if let (ClientCredentials::PrivateKeyJwt(key), Some(algorithms)) = (
            &self.settings.credentials,
            &metadata.token_endpoint_auth_signing_alg_values_supported,
        ) {
            if !algorithms.iter().any(|a| a == key.algorithm_name()) {
                return unsupported(format!("client assertions signed {}", key.algorithm_name()));
            }
        }
        if let Some(scopes) = &metadata.scopes_supported {
            if let Some(missing) = self.settings.scopes.iter().find(|s| !scopes.contains(s)) {
                return unsupported(format!("the scope {missing}"));
            }
        }
        if self.settings.openid() && metadata.jwks_uri.is_none() {
            return unsupported("a jwks_uri to check ID tokens with".into());
        }
        if let Some(types) = &metadata.authorization_details_types_supported {
            if !types.iter().any(|t| t == DETAILS_TYPE) {
                return unsupported(format!("authorization_details of type {DETAILS_TYPE}"));
            }
        }
        if self.settings.dpop.is_some()
            && !metadata
                .dpop_signing_alg_values_supported
                .iter()
                .any(|a| a == "ES256")
        {
            return unsupported("DPoP proofs signed ES256 (RFC 9449)".into());
        }
        Ok(())
    }

    /// Whether callbacks must carry `iss` (RFC 9207): when the metadata
    /// says the authority sends it.
    pub async fn callback_needs_iss(&self) -> Result<bool, OAuthError> {
        Ok(self
            .metadata()
            .await?
            .authorization_response_iss_parameter_supported)
    }

    /// Sends one call with retries: on 429, 5xx and connection failures
    /// (as [`Step::retry`] allows for the step), wait (`Retry-After` when
    /// given, else exponential backoff) and try again, at most
    /// [`MAX_ATTEMPTS`] times within [`TOTAL_BUDGET`]. A `DPoP-Nonce`
    /// challenge is answered once at once, with the new nonce.
    async fn send(
        &self,
        step: Step,
        build: impl Fn() -> Result<RequestBuilder, OAuthError>,
    ) -> Result<Response, OAuthError> {
        let single_use = matches!(step, Step::CodeExchange | Step::Refresh);
        self.send_inner(step, build)
            .await
            .map_err(|failure| match failure {
                // What the caller must know: not "try again", but that the
                // code or refresh token may be spent.
                OAuthError::Server { status, .. } if single_use => OAuthError::Uncertain {
                    step,
                    reason: format!("HTTP {status}"),
                },
                OAuthError::Unreachable { reason, .. }
                    if single_use && !reason.starts_with(NOT_SENT) =>
                {
                    OAuthError::Uncertain { step, reason }
                }
                other => other,
            })
    }

    async fn send_inner(
        &self,
        step: Step,
        build: impl Fn() -> Result<RequestBuilder, OAuthError>,
    ) -> Result<Response, OAuthError> {
        let started = tokio::time::Instant::now();
        let retry = step.retry(self.settings.refresh_reuse_grace);
        let mut attempt = 1;
        let mut nonce_retried = false;
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
            let sent_nonce = self.dpop_nonce();
            let result = build()?
                .timeout(remaining.min(ATTEMPT_TIMEOUT))
                .send()
                .await;
            let result = match result {
                Ok(response) => {
                    let (response, challenged) =
                        self.dpop_challenge(response, sent_nonce.as_deref()).await;
                    if challenged && !nonce_retried {
                        // RFC 9449 §8: the authority refused the proof for
                        // want of its nonce and acted on nothing, so the
                        // call goes again at once with the new nonce.
                        nonce_retried = true;
                        continue;
                    }
                    Ok(response)
                }
                Err(error) => Err(error),
            };
            let unsent_only = match retry {
                Retry::Failures => false,
                Retry::UnsentOnly => true,
                Retry::Within(grace) => started.elapsed() >= grace,
            };
            let (delay, failure) = match result {
                Ok(response) if response.status() == StatusCode::TOO_MANY_REQUESTS => {
                    let retry_after = retry_after(&response);
                    let delay = retry_after.map_or_else(|| backoff(attempt), Duration::from_secs);
                    (delay, OAuthError::RateLimited { step, retry_after })
                }
                Ok(response) if response.status().is_server_error() => {
                    let failure = OAuthError::Server {
                        step,
                        status: response.status().as_u16(),
                    };
                    if unsent_only {
                        return Err(failure);
                    }
                    let delay = retry_after(&response)
                        .map_or_else(|| backoff(attempt), Duration::from_secs);
                    (delay, failure)
                }
                Ok(response) => return Ok(response),
                Err(error) => {
                    // A connection that never opened carried nothing; any
                    // other transport failure may have lost an answer.
                    let reason = if error.is_connect() {
                        format!("{NOT_SENT}{error}")
                    } else {
                        error.to_string()
                    };
                    let failure = OAuthError::Unreachable { step, reason };
                    if unsent_only && !error.is_connect() {
                        return Err(failure);
                    }
                    (backoff(attempt), failure)
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

    /// The last `DPoP-Nonce` the authority gave.
    fn dpop_nonce(&self) -> Option<String> {
        self.dpop_nonce
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Keeps a `DPoP-Nonce` the authority sent with any answer, and tells
    /// whether the answer is a challenge to use it: 400 `use_dpop_nonce` at
    /// the token endpoint, or 401 with `error="use_dpop_nonce"` at a
    /// resource, with a nonce other than the one the proof carried. Any
    /// other refusal is the answer, whatever header comes with it: the
    /// authority may have spent a code before refusing.
    async fn dpop_challenge(&self, response: Response, sent: Option<&str>) -> (Response, bool) {
        if self.settings.dpop.is_none() {
            return (response, false);
        }
        let Some(nonce) = response
            .headers()
            .get("dpop-nonce")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
        else {
            return (response, false);
        };
        *self
            .dpop_nonce
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(nonce.clone());
        if sent == Some(nonce.as_str()) {
            return (response, false);
        }
        match response.status() {
            StatusCode::UNAUTHORIZED => {
                let challenged = response
                    .headers()
                    .get_all(reqwest::header::WWW_AUTHENTICATE)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .any(|v| v.contains("use_dpop_nonce"));
                (response, challenged)
            }
            StatusCode::BAD_REQUEST => {
                let (status, headers) = (response.status(), response.headers().clone());
                let bytes = response.bytes().await.unwrap_or_default();
                let challenged = serde_json::from_slice::<RawError>(&bytes)
                    .is_ok_and(|raw| raw.error == "use_dpop_nonce");
                let mut rebuilt = axum::http::Response::new(bytes);
                *rebuilt.status_mut() = status;
                *rebuilt.headers_mut() = headers;
                (Response::from(rebuilt), challenged)
            }
            _ => (response, false),
        }
    }

    /// The `DPoP` header for a call, when the client uses DPoP.
    fn dpop_header(
        &self,
        step: Step,
        method: &str,
        url: &url::Url,
        access_token: Option<&str>,
    ) -> Result<Option<HeaderValue>, OAuthError> {
        let Some(key) = &self.settings.dpop else {
            return Ok(None);
        };
        let nonce = self.dpop_nonce();
        let proof = key
            .proof(method, url, access_token, nonce.as_deref())
            .map_err(|_| OAuthError::invalid(step, "the DPoP proof could not be signed"))?;
        HeaderValue::from_str(&proof)
            .map(Some)
            .map_err(|_| OAuthError::invalid(step, "the DPoP proof is not a header value"))
    }

    /// `Authorization: Basic` with the client id and secret, each
    /// form-urlencoded first (RFC 6749 §2.3.1).
    fn basic_auth(&self, secret: &ClientSecret) -> HeaderValue {
        let encode =
            |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let credentials = format!(
            "{}:{}",
            encode(&self.settings.client_id),
            encode(secret.expose())
        );
        let mut value = HeaderValue::from_str(&format!("Basic {}", STANDARD.encode(credentials)))
            .unwrap_or_else(|_| HeaderValue::from_static("Basic"));
        value.set_sensitive(true);
        value
    }

    /// A POST to a back-channel endpoint, authenticated as configured (a
    /// fresh assertion per attempt), with a DPoP proof when `dpop`.
    fn form_post(
        &self,
        step: Step,
        endpoint: &url::Url,
        form: &[(&str, &str)],
        dpop: bool,
    ) -> Result<RequestBuilder, OAuthError> {
        let mut fields: Vec<(&str, String)> =
            form.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        let mut request = self.http.post(endpoint.clone());
        match &self.settings.credentials {
            ClientCredentials::SecretBasic(secret) => {
                request = request.header(AUTHORIZATION, self.basic_auth(secret));
            }
            ClientCredentials::PrivateKeyJwt(key) => {
                let assertion = key
                    .assertion(
                        &self.settings.client_id,
                        &self.settings.issuer,
                        (self.clock)(),
                    )
                    .map_err(|_| {
                        OAuthError::invalid(step, "the client assertion could not be signed")
                    })?;
                // RFC 7521 §4.2: client_id may go along; once, since a
                // repeated parameter is an error (RFC 6749 §3.2).
                if !fields.iter().any(|(k, _)| *k == "client_id") {
                    fields.push(("client_id", self.settings.client_id.clone()));
                }
                fields.push((
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into(),
                ));
                fields.push(("client_assertion", assertion));
            }
        }
        if dpop {
            // A proof that cannot be signed fails the call: sent without
            // it, the token would not be bound.
            if let Some(proof) = self.dpop_header(step, "POST", endpoint, None)? {
                request = request.header("DPoP", proof);
            }
        }
        Ok(request.form(&fields))
    }

    fn endpoint(step: Step, text: &str) -> Result<url::Url, OAuthError> {
        url::Url::parse(text).map_err(|_| OAuthError::invalid(step, "an endpoint is not a URL"))
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
        let scope = self.settings.scopes.join(" ");
        let mut fields: Vec<(&str, &str)> = vec![
            ("response_type", "code"),
            ("client_id", &self.settings.client_id),
            ("redirect_uri", &self.settings.redirect_uri),
            ("state", params.state.expose()),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("authorization_details", &details),
        ];
        if !scope.is_empty() {
            fields.push(("scope", &scope));
        }
        // A nonce belongs to OpenID Connect: without `openid` a standard
        // server refuses it, and nothing would check it.
        if self.settings.openid() {
            fields.push(("nonce", params.nonce.expose()));
        }
        let mut url = Self::endpoint(Step::Discovery, &metadata.authorization_endpoint)?;
        if let Some(par) = &metadata.pushed_authorization_request_endpoint {
            let step = Step::PushedAuthorization;
            let par = Self::endpoint(step, par)?;
            // With DPoP, the proof at PAR binds the code to the key
            // (RFC 9449 §10.1), so a stolen code is useless.
            let dpop = self.settings.dpop.is_some();
            let response = self
                .send(step, || self.form_post(step, &par, &fields, dpop))
                .await?;
            #[derive(Deserialize)]
            struct Pushed {
                request_uri: String,
            }
            let pushed: Pushed =
                expect_json(step, response, &[StatusCode::CREATED, StatusCode::OK]).await?;
            url.query_pairs_mut()
                .append_pair("client_id", &self.settings.client_id)
                .append_pair("request_uri", &pushed.request_uri);
        } else {
            url.query_pairs_mut().extend_pairs(fields);
        }
        Ok(url.into())
    }

    /// Exchanges an authorization code, proving possession of the verifier;
    /// with `openid`, the ID token must come back and carry `nonce`.
    pub async fn exchange_code(
        &self,
        code: &AuthorizationCode,
        verifier: &PkceVerifier,
        nonce: &Nonce,
    ) -> Result<Tokens, OAuthError> {
        let step = Step::CodeExchange;
        let metadata = self.metadata().await?;
        let endpoint = Self::endpoint(step, &metadata.token_endpoint)?;
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.expose()),
            ("redirect_uri", &self.settings.redirect_uri),
            ("code_verifier", verifier.expose()),
        ];
        let response = self
            .send(step, || self.form_post(step, &endpoint, &form, true))
            .await?;
        self.tokens(step, response, Some(nonce)).await
    }

    /// Uses a refresh token; the answer carries its successor.
    pub async fn refresh(&self, refresh_token: &RefreshToken) -> Result<Tokens, OAuthError> {
        let step = Step::Refresh;
        let metadata = self.metadata().await?;
        let endpoint = Self::endpoint(step, &metadata.token_endpoint)?;
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose()),
        ];
        let response = self
            .send(step, || self.form_post(step, &endpoint, &form, true))
            .await?;
        self.tokens(step, response, None).await
    }

    /// Reads a token answer: the token type this client asked for (DPoP
    /// when it sent proofs), the ID token when `openid`, and the grant.
    async fn tokens(
        &self,
        step: Step,
        response: Response,
        nonce: Option<&Nonce>,
    ) -> Result<Tokens, OAuthError> {
        let raw: RawTokens = expect_json(step, response, &[StatusCode::OK]).await?;
        if raw.access_token.is_empty() {
            return Err(OAuthError::invalid(step, "the access token is empty"));
        }
        let expected_type = if self.settings.dpop.is_some() {
            "DPoP"
        } else {
            "Bearer"
        };
        if !raw.token_type.eq_ignore_ascii_case(expected_type) {
            // A Bearer token where DPoP was asked for would be usable by
            // anyone who copies it: it is neither stored nor left alive.
            let error = OAuthError::invalid(
                step,
                format!("the token type is {}, not {expected_type}", raw.token_type),
            );
            return Err(self.discard(&raw, error).await);
        }
        if self.settings.openid() {
            let checked = match (&raw.id_token, nonce) {
                (Some(token), _) => self.check_id_token(step, token, nonce).await,
                (None, Some(_)) => Err(OAuthError::invalid(step, "the ID token is missing")),
                (None, None) => Ok(()),
            };
            match checked {
                Ok(()) => {}
                // At the code exchange the ID token is what says who
                // consented: without a good one, the grant is not taken.
                Err(error) if step == Step::CodeExchange => {
                    return Err(self.discard(&raw, error).await)
                }
                // On a refresh the tokens come from an authenticated call
                // over TLS, and dropping them would leave a spent refresh
                // token behind: keep them, and say so.
                Err(error) => {
                    tracing::warn!(%error, "the refreshed ID token was not accepted; the tokens are kept");
                }
            }
        }
        Ok(Tokens {
            access_token: AccessToken::new(raw.access_token),
            expires_in: raw.expires_in,
            refresh_token: raw
                .refresh_token
                .filter(|t| !t.is_empty())
                .map(RefreshToken::new),
            scope: raw.scope,
            grant: grant_details(&raw.authorization_details),
        })
    }

    /// Tokens this client will not keep are handed back to the authority
    /// (RFC 7009), so no grant stays alive that nobody can see or end:
    /// every token of the answer, the refresh token first.
    async fn discard(&self, raw: &RawTokens, error: OAuthError) -> OAuthError {
        let mut tokens = Vec::with_capacity(2);
        if let Some(refresh) = raw.refresh_token.as_deref().filter(|t| !t.is_empty()) {
            tokens.push((refresh, "refresh_token"));
        }
        tokens.push((raw.access_token.as_str(), "access_token"));
        for (token, hint) in tokens {
            if let Err(failed) = self.revoke(token, hint).await {
                tracing::warn!(%failed, %error, "tokens this client refused were not revoked");
            }
        }
        error
    }

    /// Checks an ID token against the authority's JWKS, fetching it again
    /// once when no key matches (the authority may have rotated).
    async fn check_id_token(
        &self,
        step: Step,
        token: &str,
        nonce: Option<&Nonce>,
    ) -> Result<(), OAuthError> {
        let nonce = nonce.map(Nonce::expose);
        let (issuer, client_id) = (&self.settings.issuer, &self.settings.client_id);
        let cached = self.jwks.read().await.clone();
        let jwks = match cached {
            Some(jwks) => jwks,
            None => self.fetch_jwks().await?,
        };
        let result = match id_token::verify(token, &jwks, issuer, client_id, nonce) {
            Err(IdTokenProblem::UnknownKey) => {
                let fresh = self.fetch_jwks().await?;
                id_token::verify(token, &fresh, issuer, client_id, nonce)
            }
            other => other,
        };
        result
            .map(|_| ())
            .map_err(|problem| OAuthError::invalid(step, problem.to_string()))
    }

    async fn fetch_jwks(&self) -> Result<Arc<JwkSet>, OAuthError> {
        let step = Step::Discovery;
        let metadata = self.metadata().await?;
        let uri = metadata
            .jwks_uri
            .as_deref()
            .ok_or_else(|| OAuthError::unsupported(step, "a jwks_uri"))?;
        let url = Self::endpoint(step, uri)?;
        let response = self.send(step, || Ok(self.http.get(url.clone()))).await?;
        let jwks: JwkSet = expect_json(step, response, &[StatusCode::OK]).await?;
        let jwks = Arc::new(jwks);
        *self.jwks.write().await = Some(jwks.clone());
        Ok(jwks)
    }

    /// Revokes a token (RFC 7009). `hint` is `refresh_token` or
    /// `access_token`.
    pub async fn revoke(&self, token: &str, hint: &str) -> Result<(), OAuthError> {
        let step = Step::Revocation;
        let metadata = self.metadata().await?;
        let endpoint = metadata
            .revocation_endpoint
            .as_deref()
            .ok_or_else(|| OAuthError::unsupported(step, "token revocation (RFC 7009)"))?;
        let endpoint = Self::endpoint(step, endpoint)?;
        let form = [("token", token), ("token_type_hint", hint)];
        let response = self
            .send(step, || self.form_post(step, &endpoint, &form, false))
            .await?;
        if response.status() == StatusCode::OK {
            Ok(())
        } else {
            Err(refused(step, response).await)
        }
    }

    /// The access token on a resource call: `DPoP` with a proof that
    /// carries the token's hash when the client uses DPoP, else `Bearer`.
    fn resource_call(
        &self,
        step: Step,
        method: reqwest::Method,
        url: &url::Url,
        access_token: &AccessToken,
    ) -> Result<RequestBuilder, OAuthError> {
        let request = self.http.request(method.clone(), url.clone());
        // A bound token goes only with its proof, never as Bearer.
        match self.dpop_header(step, method.as_str(), url, Some(access_token.expose()))? {
            Some(proof) => {
                let mut value = HeaderValue::from_str(&format!("DPoP {}", access_token.expose()))
                    .map_err(|_| {
                    OAuthError::invalid(step, "the access token is not a header value")
                })?;
                value.set_sensitive(true);
                Ok(request.header(AUTHORIZATION, value).header("DPoP", proof))
            }
            None => Ok(request.bearer_auth(access_token.expose())),
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
                let request =
                    self.resource_call(step, reqwest::Method::POST, &endpoint, access_token)?;
                Ok(match &body {
                    Some(body) => request.json(body),
                    None => request,
                })
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
                self.resource_call(step, reqwest::Method::GET, &url, access_token)
            })
            .await?;
        expect_json(step, response, &[StatusCode::OK]).await
    }

    /// The retrieval API's endpoint; `Unsupported` when the authority has
    /// none. Ask before spending a refresh token on a retrieval.
    pub async fn retrieval_endpoint(&self) -> Result<url::Url, OAuthError> {
        let step = Step::RetrievalStart;
        let metadata = self.metadata().await?;
        let endpoint = metadata
            .retrieval_endpoint
            .as_deref()
            .ok_or_else(|| OAuthError::unsupported(step, "the retrieval API"))?;
        Self::endpoint(step, endpoint)
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

/// The `mynaportal_consent` entry of the token answer.
fn grant_details(details: &[Value]) -> GrantDetails {
    let Some(entry) = details
        .iter()
        .find(|d| d.get("type").and_then(Value::as_str) == Some(DETAILS_TYPE))
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

    fn client(issuer: &str, client_id: &str, secret: &str) -> OAuthClient {
        OAuthClient::new(
            ClientSettings {
                issuer: issuer.to_owned(),
                client_id: client_id.to_owned(),
                credentials: ClientCredentials::SecretBasic(ClientSecret::new(secret)),
                redirect_uri: "https://op/cb".to_owned(),
                scopes: Vec::new(),
                dpop: None,
                refresh_reuse_grace: Duration::ZERO,
            },
            AuthorityBudget::new(5),
            crate::system_clock(),
        )
    }

    #[test]
    fn metadata_is_looked_for_as_rfc_8414_then_as_openid_connect_says() {
        let urls = |issuer: &str| -> Vec<String> {
            client(issuer, "c", "s")
                .metadata_urls()
                .expect("urls")
                .iter()
                .map(ToString::to_string)
                .collect()
        };
        assert_eq!(
            urls("https://auth.example"),
            [
                "https://auth.example/.well-known/oauth-authorization-server",
                "https://auth.example/.well-known/openid-configuration",
            ]
        );
        assert_eq!(
            urls("https://auth.example/tenant"),
            [
                "https://auth.example/.well-known/oauth-authorization-server/tenant",
                "https://auth.example/.well-known/openid-configuration/tenant",
                "https://auth.example/tenant/.well-known/openid-configuration",
            ]
        );
    }

    fn metadata(extra: Value) -> Metadata {
        let mut value = serde_json::json!({
            "issuer": "https://auth.example",
            "authorization_endpoint": "https://auth.example/authorize",
            "token_endpoint": "https://auth.example/token",
            "code_challenge_methods_supported": ["S256"],
        });
        if let (Value::Object(base), Value::Object(extra)) = (&mut value, extra) {
            base.extend(extra);
        }
        serde_json::from_value(value).expect("metadata")
    }

    fn refusal(client: &OAuthClient, extra: Value) -> Option<String> {
        client
            .check_metadata(&metadata(extra))
            .err()
            .map(|e| e.to_string())
    }

    #[test]
    fn metadata_that_does_not_fit_the_configuration_is_named_before_any_citizen_is_sent() {
        let plain = client("https://auth.example", "c", "s");
        assert_eq!(refusal(&plain, serde_json::json!({})), None);
        assert_eq!(
            refusal(&plain, serde_json::json!({"token_endpoint_auth_methods_supported": ["private_key_jwt"]})),
            Some("discovery: the authority does not offer client authentication by client_secret_basic".into())
        );
        assert_eq!(
            refusal(&plain, serde_json::json!({"authorization_details_types_supported": ["payment"]})),
            Some("discovery: the authority does not offer authorization_details of type mynaportal_consent".into())
        );
        assert_eq!(
            refusal(
                &plain,
                serde_json::json!({"code_challenge_methods_supported": ["plain"]})
            ),
            Some("discovery: the authority does not offer PKCE S256".into())
        );
        let mut openid = client("https://auth.example", "c", "s");
        openid.settings.scopes = vec!["openid".into(), "mynaportal".into()];
        assert_eq!(
            refusal(&openid, serde_json::json!({"scopes_supported": ["openid"]})),
            Some("discovery: the authority does not offer the scope mynaportal".into())
        );
        assert_eq!(
            refusal(&openid, serde_json::json!({})),
            Some(
                "discovery: the authority does not offer a jwks_uri to check ID tokens with".into()
            )
        );
        let mut dpop = client("https://auth.example", "c", "s");
        dpop.settings.dpop = Some(
            crate::proof::DpopKey::from_pem(include_str!("../tests/keys/dpop-p256.pem"))
                .expect("key"),
        );
        assert_eq!(
            refusal(&dpop, serde_json::json!({})),
            Some(
                "discovery: the authority does not offer DPoP proofs signed ES256 (RFC 9449)"
                    .into()
            )
        );
        assert_eq!(
            refusal(
                &dpop,
                serde_json::json!({"dpop_signing_alg_values_supported": ["ES256", "PS256"]})
            ),
            None
        );
        assert!(refusal(
            &plain,
            serde_json::json!({"issuer": "https://other.example"})
        )
        .is_some_and(|r| r.contains("names issuer https://other.example")));
    }

    #[test]
    fn backoff_doubles() {
        assert_eq!(backoff(1), Duration::from_millis(250));
        assert_eq!(backoff(2), Duration::from_millis(500));
        assert_eq!(backoff(3), Duration::from_millis(1000));
    }

    #[test]
    fn single_use_grants_are_retried_only_when_nothing_was_sent() {
        assert_eq!(
            Step::CodeExchange.retry(Duration::from_secs(30)),
            Retry::UnsentOnly
        );
        assert_eq!(Step::Refresh.retry(Duration::ZERO), Retry::UnsentOnly);
        assert_eq!(
            Step::Refresh.retry(Duration::from_secs(30)),
            Retry::Within(Duration::from_secs(30))
        );
        assert_eq!(Step::RetrievalPoll.retry(Duration::ZERO), Retry::Failures);
    }

    #[test]
    fn causes_separate_configuration_from_passing_failures() {
        let refused = |step: Step, error: &str| OAuthError::Refused {
            step,
            status: 400,
            error: error.to_owned(),
            grant_status: None,
        };
        assert_eq!(
            refused(Step::CodeExchange, "invalid_client").cause(),
            Cause::Configuration
        );
        assert_eq!(
            refused(Step::Refresh, "invalid_grant").cause(),
            Cause::GrantEnded
        );
        // A bad code or verifier is not an ended grant.
        assert_eq!(
            refused(Step::CodeExchange, "invalid_grant").cause(),
            Cause::Configuration
        );
        assert_eq!(
            refused(Step::Refresh, "temporarily_unavailable").cause(),
            Cause::Temporary
        );
        assert_eq!(
            OAuthError::Uncertain {
                step: Step::Refresh,
                reason: "HTTP 502".into()
            }
            .cause(),
            Cause::Uncertain
        );
        assert_eq!(
            OAuthError::unsupported(Step::Discovery, "x").cause(),
            Cause::Configuration
        );
        assert_eq!(
            OAuthError::Server {
                step: Step::Refresh,
                status: 502
            }
            .cause(),
            Cause::Temporary
        );
    }

    #[test]
    fn basic_auth_form_encodes_before_base64() {
        let client = client("https://a", "id:1", "p w");
        let header = client.basic_auth(&ClientSecret::new("p w"));
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
        assert!(grant.confirms_anything());
        let nothing = grant_details(&[]);
        assert!(nothing.grant_id.is_none() && !nothing.confirms_anything());
        let other_type = grant_details(&[serde_json::json!({"type": "payment", "items": ["a"]})]);
        assert!(!other_type.confirms_anything());
    }
}
