//! One operator backend: what each call of the contract does — requests
//! defined on the server, the authorization transaction and its callback
//! checks, consents and receipts, revocation at the authority with events
//! to recipients, retrievals with refresh-token rotation, and the upkeep
//! (sweeping abandoned rows, delivering webhooks). The HTTP shapes live in
//! `routes`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use myna_consent::catalogue::{self, Sensitivity};
use myna_consent::consent::{Consent, ConsentStatus, Receipt, ReceiptEvent};
use myna_consent::i18n::Locale;
use myna_consent::request::{self, ErrorKind, JsonType, ValidationError};
use serde_json::{json, Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::audit;
use crate::config::OperatorConfig;
use crate::limits::{AuthorityBudget, Buckets};
use crate::oauth::{
    AuthorizationParams, Cause, OAuthClient, OAuthError, RemoteItemRecords, Tokens,
};
use crate::problem::Problem;
use crate::requests::CompiledRequest;
use crate::seal::TokenKey;
use crate::secret::{
    random_uuid, AccessToken, AuthorizationCode, Nonce, PkceVerifier, RefreshToken, RequestToken,
    SessionId, State, TOKEN_PREFIX,
};
use crate::store::{
    ConsentRecord, ConsentStore, GrantEnd, ItemCount, NewRequestToken, NewRetrieval,
    NewTransaction, NewWebhook, RetrievalJob, RetrievalOutcome, RetrievalRecord, Schedule,
    SealedTokens, StoreError, Swept, TransactionLookup, WebhookAttempt,
};
use crate::users::{IdentityError, Owner, UserSource};
use crate::webhooks;
use crate::Clock;

/// An authorization transaction is accepted for this long.
pub const TRANSACTION_LIFETIME: time::Duration = time::Duration::minutes(10);
/// The backend polls a retrieval this often...
const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// ...and gives up (status `timeout`) after this.
const POLL_LIMIT: Duration = Duration::from_secs(30);
/// An instance holds a retrieval this long past its last poll; a
/// retrieval whose instance stopped is resumed by another after it.
const RETRIEVAL_LEASE: Duration = Duration::from_secs(10);
/// The upkeep looks for retrievals to resume this often (in ticks)...
const RESUME_EVERY_TICKS: u32 = 3;
/// ...and claims at most this many at a time.
const CLAIM_BATCH: usize = 16;
/// An instance holds the right to refresh a consent this long at most (a
/// refresh with its retries takes at most `oauth::TOTAL_BUDGET`). Kept
/// shorter than an authority's usual reuse grace (30 s): after a crash
/// between the authority's answer and the write, the next instance gets the
/// lease while the old token still brings back the same successor.
const REFRESH_LEASE: Duration = Duration::from_secs(15);
/// A caller waits this long for another instance's refresh of the same
/// consent to end.
const REFRESH_WAIT: Duration = Duration::from_secs(12);
/// The upkeep says this instance is alive this often (in ticks)...
const HEARTBEAT_EVERY_TICKS: u32 = 5;
/// ...and an instance not heard of for this long no longer shares the TPS.
const INSTANCE_STALE: Duration = Duration::from_secs(30);
/// The upkeep runs the linkages' schedule this often (in ticks)...
const SCHEDULE_EVERY_TICKS: u32 = 2;
/// ...starting at most this many automatic retrievals a round.
const SCHEDULE_BATCH: usize = 4;
/// A claimed schedule is held this long, so that no other instance takes
/// it while this one works on it (an instance that dies frees it then).
const SCHEDULE_HOLD: Duration = Duration::from_secs(10 * 60);

/// How long after `failures` automatic attempts in a row the next is made:
/// 5 minutes, 30 minutes, 2 hours, then 6 hours (never beyond the schedule).
fn schedule_backoff(failures: u32) -> Duration {
    let minutes = match failures {
        0 | 1 => 5,
        2 => 30,
        3 => 120,
        _ => 360,
    };
    Duration::from_secs(minutes * 60)
}

/// Who started a retrieval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trigger {
    /// The citizen, from a page.
    Citizen,
    /// The linkage's schedule.
    Schedule,
}

impl Trigger {
    fn name(self) -> &'static str {
        match self {
            Self::Citizen => "citizen",
            Self::Schedule => "schedule",
        }
    }
}
/// The upkeep runs this often: webhooks due are sent...
const UPKEEP_TICK: Duration = Duration::from_secs(1);
/// ...and every this many ticks, abandoned rows are swept.
const SWEEP_EVERY_TICKS: u32 = 60;
/// A delivery being sent is not handed to another runner for this long
/// (an attempt takes at most 10 s).
const WEBHOOK_LEASE: time::Duration = time::Duration::minutes(1);

/// One reference operator backend. Cloning is cheap (an `Arc` inside).
#[derive(Clone)]
pub struct Operator {
    inner: Arc<Inner>,
}

struct Inner {
    config: OperatorConfig,
    store: Arc<dyn ConsentStore>,
    key: TokenKey,
    /// Signs every receipt document, with keys derived from `key`.
    receipts: crate::receipts::ReceiptSigner,
    clock: Clock,
    oauth: OAuthClient,
    /// Starts of authorizations per citizen and per client address.
    starts: Buckets,
    /// Calls to recipients' webhooks.
    http: reqwest::Client,
    /// One lock per consent around the use of its refresh token: two
    /// concurrent refreshes would present the same single-use token, and
    /// the authority would take the second for theft and revoke the grant.
    consent_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// This process's id in retrieval leases.
    instance: String,
    /// The retrievals this process polls now.
    polling: Mutex<std::collections::HashSet<String>>,
}

/// What the token and secrets of a transaction are sealed for.
pub(crate) fn transaction_owner(state_hash: &str) -> String {
    format!("transaction:{state_hash}")
}

/// What a retrieval job's access token is sealed for.
pub(crate) fn job_access_owner(consent_id: &str, retrieval_id: &str) -> String {
    format!("retrieval-access:{consent_id}/{retrieval_id}")
}

/// What the records of a retrieval are sealed for.
pub(crate) fn records_owner(consent_id: &str, retrieval_id: &str) -> String {
    format!("{consent_id}/{retrieval_id}")
}

/// Whole seconds: what the store keeps, so answers and receipts agree.
fn whole_seconds(at: OffsetDateTime) -> OffsetDateTime {
    at.replace_nanosecond(0).unwrap_or(at)
}

fn rfc3339(at: OffsetDateTime) -> Value {
    at.format(&Rfc3339).map_or(Value::Null, Value::String)
}

fn store_problem(error: StoreError) -> Problem {
    Problem::internal(&error)
}

/// The problem for a failed call to the authority: 429 when the authority
/// kept rate limiting (the caller may retry later), else 502 `code`. Both
/// carry `cause`: `configuration` (the backend and the authority do not
/// fit; retrying will not help), `grant_ended` or `temporary`.
fn authority_problem(error: &OAuthError, code: &str, title: &'static str) -> Problem {
    tracing::warn!(%error, cause = error.cause().name(), "call to the authority failed");
    if let OAuthError::RateLimited { retry_after, .. } = error {
        return Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "Too many requests",
            "The authority is limiting requests from this operator. Try again shortly.",
        )
        .retry_after(retry_after.unwrap_or(1))
        .with("cause", error.cause().name());
    }
    let detail = match (error.cause(), error) {
        (_, OAuthError::Unsupported { what, .. }) => format!(
            "The authority does not offer {what}; the backend's configuration and the authority do not fit."
        ),
        (Cause::Uncertain, _) if error.step() == crate::oauth::Step::CodeExchange => {
            "The authority's answer to the code exchange was lost; it may have granted access that this backend never received. The code is not presented again (that would end the grant); the citizen starts again.".to_owned()
        }
        (Cause::Uncertain, _) => {
            "The authority's answer to the refresh was lost; it may have rotated the refresh token. It is not presented again outside the authority's reuse grace window; if the authority did rotate it, the next retrieval finds the grant ended and the citizen renews.".to_owned()
        }
        (Cause::Configuration, _) => format!(
            "The authority call failed at step {}: the backend's configuration and the authority do not fit.",
            error.step()
        ),
        _ => format!("The authority call failed at step {}.", error.step()),
    };
    let mut problem = Problem::new(StatusCode::BAD_GATEWAY, code, title, detail)
        .with("step", error.step().name())
        .with("cause", error.cause().name());
    if let OAuthError::Refused { error, .. } = error {
        problem = problem.with("authorityError", error.as_str());
    }
    problem
}

fn grant_ended(status: ConsentStatus) -> Problem {
    Problem::new(
        StatusCode::CONFLICT,
        "grant_ended",
        "The consent has ended",
        format!(
            "The consent is {}; ask the citizen for a new consent.",
            status.code()
        ),
    )
    .with("consentStatus", status.code())
}

/// 401 `unauthenticated`: the operator's sign-in is missing or was not
/// accepted (the reason is logged, not shown).
fn unauthenticated(error: &IdentityError) -> Problem {
    tracing::info!(%error, "sign-in not accepted");
    Problem::new(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        "Sign-in required",
        "Sign in to the operator's site first.",
    )
}

/// 404 `request_not_found`: no request has this id, or this token is
/// unknown or not the caller's.
fn request_not_found() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "request_not_found",
        "No such consent request",
        "The backend defines no consent request with this id, or the token is unknown.",
    )
}

/// An error entry for the `errors` list when the domain crate has no
/// message for it.
fn custom_error(code: &str, field: String, ja: String, en: String, locale: Locale) -> Value {
    let message = match locale {
        Locale::Ja => ja,
        Locale::En => en,
    };
    json!({ "code": code, "field": field, "message": message })
}

/// An authority error code from the callback, if it is one of the
/// standard codes the SDK's typings know (OAuth 2.0, OpenID Connect);
/// anything else is not reflected back.
fn callback_error_code(error: &str) -> &str {
    if myna_consent::surface::is_authority_error(error) {
        error
    } else {
        "authority_error"
    }
}

/// The effective status: revocation and suspension first, then an expiry
/// the authority reported, then the calendar.
fn status_of(record: &ConsentRecord, now: OffsetDateTime) -> ConsentStatus {
    match record.consent.status(now) {
        ConsentStatus::Revoked => ConsentStatus::Revoked,
        ConsentStatus::Suspended => ConsentStatus::Suspended,
        _ if record.expired_at.is_some() => ConsentStatus::Expired,
        calendar => calendar,
    }
}

/// A consent as the backend answers it: the domain's `Consent` plus
/// `status`, `daysLeft`, `endDate`, `lastRetrievalAt` and `grantId`.
pub(crate) fn consent_json(
    record: &ConsentRecord,
    schedule: Option<&Schedule>,
    now: OffsetDateTime,
) -> Value {
    let mut value = serde_json::to_value(&record.consent).unwrap_or_else(|_| json!({}));
    let status = status_of(record, now);
    let days_left = match status {
        ConsentStatus::Expired => record.consent.days_left(now).map(|_| 0),
        _ => record.consent.days_left(now),
    };
    if let Value::Object(map) = &mut value {
        map.insert("status".into(), status.code().into());
        map.insert("daysLeft".into(), days_left.into());
        map.insert(
            "endDate".into(),
            record
                .consent
                .end_date()
                .map_or(Value::Null, |date| date.to_string().into()),
        );
        map.insert(
            "lastRetrievalAt".into(),
            record.last_retrieval_at.map_or(Value::Null, rfc3339),
        );
        map.insert("grantId".into(), record.grant_id.clone().into());
        // The linkage's automatic retrievals: when the next is due, and how
        // many in a row failed (the review card says so).
        let active = status == ConsentStatus::Active;
        map.insert(
            "nextRetrievalAt".into(),
            schedule
                .filter(|_| active)
                .and_then(|s| s.next_at)
                .map_or(Value::Null, rfc3339),
        );
        map.insert(
            "retrievalFailures".into(),
            schedule.map_or(0, |s| s.failures).into(),
        );
    }
    value
}

/// A retrieval as the backend answers it.
pub(crate) fn retrieval_json(record: &RetrievalRecord) -> Value {
    let mut map = Map::new();
    map.insert("id".into(), record.id.clone().into());
    map.insert("status".into(), record.status.clone().into());
    map.insert("startedAt".into(), rfc3339(record.started_at));
    if let Some(finished) = record.finished_at {
        map.insert("finishedAt".into(), rfc3339(finished));
    }
    if let Some(items) = &record.items {
        map.insert(
            "items".into(),
            serde_json::to_value(items).unwrap_or_default(),
        );
    }
    if let Some(error) = &record.error {
        map.insert("error".into(), error.clone().into());
    }
    Value::Object(map)
}

/// The answer to `POST /authorizations`.
pub(crate) struct StartedAuthorization {
    pub authorization_url: String,
    pub state: State,
    pub expires_at: OffsetDateTime,
}

impl Operator {
    /// This instance's share of the operator's calls a second at the
    /// authority: the configured TPS divided among the instances alive.
    pub fn authority_share(&self) -> f64 {
        self.inner.oauth.budget_share()
    }

    /// The public keys receipts are signed with (a JWK Set).
    pub fn receipt_keys(&self) -> serde_json::Value {
        self.inner.receipts.jwks()
    }

    /// The path the backend is mounted at.
    pub fn base_path(&self) -> &str {
        &self.inner.config.base_path
    }

    /// One backend for `config`, storing into `store`, sealing with `key`,
    /// reading "now" from `clock`. Discovery of the authority happens on
    /// first use and is cached, because the authority may start later.
    /// Call [`Operator::spawn_upkeep`] once it runs in a Tokio runtime.
    pub fn new(
        config: OperatorConfig,
        store: Arc<dyn ConsentStore>,
        key: TokenKey,
        clock: Clock,
    ) -> Self {
        let oauth = OAuthClient::new(
            config.client_settings(),
            AuthorityBudget::new(config.limits.authority_tps),
            clock.clone(),
        );
        let http = reqwest::Client::builder()
            // A recipient's endpoint that redirects is not followed: the
            // event goes where the operator configured, or nowhere.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(10))
            .user_agent(concat!("myna-operator/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Self {
            inner: Arc::new(Inner {
                starts: Buckets::new(clock.clone()),
                config,
                store,
                receipts: crate::receipts::ReceiptSigner::from_ring(&key),
                key,
                clock,
                oauth,
                http,
                consent_locks: Mutex::new(HashMap::new()),
                instance: format!("{}-{}", std::process::id(), &random_uuid()[..8]),
                polling: Mutex::new(std::collections::HashSet::new()),
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &OperatorConfig {
        &self.inner.config
    }

    /// "Now" by the shared clock.
    pub fn now(&self) -> OffsetDateTime {
        (self.inner.clock)()
    }

    fn client_id(&self) -> String {
        self.inner.config.client_id.clone()
    }

    /// Runs a store call off the async threads: SQLite may wait on the
    /// authority's writes to the same file (busy timeout).
    async fn db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn ConsentStore) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, Problem> {
        let store = self.inner.store.clone();
        tokio::task::spawn_blocking(move || f(store.as_ref()))
            .await
            .map_err(|_| StoreError::Task)
            .and_then(|result| result)
            .map_err(store_problem)
    }

    fn consent_lock(&self, consent_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self
            .inner
            .consent_locks
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Forget locks nobody holds, so the map stays small.
        locks.retain(|_, lock| Arc::strong_count(lock) > 1);
        locks.entry(consent_id.to_owned()).or_default().clone()
    }

    // ----- who calls -----

    /// The address the call comes from: the peer, or, when the peer is a
    /// trusted proxy, the nearest address in `X-Forwarded-For` that is not
    /// one.
    pub(crate) fn client_address(
        &self,
        headers: &HeaderMap,
        peer: Option<IpAddr>,
    ) -> Option<IpAddr> {
        let config = &self.inner.config;
        let peer = peer?;
        if !config.is_trusted_proxy(peer) {
            return Some(peer);
        }
        let forwarded: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|part| part.trim().parse().ok())
            .collect();
        Some(
            forwarded
                .into_iter()
                .rev()
                .find(|address| !config.is_trusted_proxy(*address))
                .unwrap_or(peer),
        )
    }

    /// The owner of a reading call: the signed-in user (401 without one),
    /// or the cookie's live session (none without one).
    pub(crate) async fn owner_for_read(
        &self,
        headers: &HeaderMap,
        peer: Option<IpAddr>,
        cookie: Option<SessionId>,
    ) -> Result<Option<Owner>, Problem> {
        let config = &self.inner.config;
        match &config.users {
            UserSource::Session(_) => Ok(self.live_session(cookie).await?.map(Owner::Session)),
            source => source
                .user(headers, peer, |a| config.is_trusted_proxy(a))
                .map_err(|e| unauthenticated(&e)),
        }
    }

    /// The owner of a changing call: the signed-in user (401 without one),
    /// or the cookie's live session, else a new session (the flag says so;
    /// an id this backend did not issue is never adopted, so a planted
    /// cookie cannot fix the session).
    pub(crate) async fn owner_for_post(
        &self,
        headers: &HeaderMap,
        peer: Option<IpAddr>,
        cookie: Option<SessionId>,
    ) -> Result<(Owner, Option<SessionId>), Problem> {
        if let Some(owner) = self.owner_for_read(headers, peer, cookie).await? {
            return Ok((owner, None));
        }
        let session = SessionId::generate();
        let (client, hash, now) = (self.client_id(), session.hash(), self.now());
        self.db(move |s| s.create_session(&client, &hash, now))
            .await?;
        Ok((Owner::Session(session.clone()), Some(session)))
    }

    /// The session of a cookie, if the store knows it and it is alive.
    async fn live_session(&self, cookie: Option<SessionId>) -> Result<Option<SessionId>, Problem> {
        let (Some(session), UserSource::Session(policy)) = (cookie, &self.inner.config.users)
        else {
            return Ok(None);
        };
        let (client, hash, now, policy) = (self.client_id(), session.hash(), self.now(), *policy);
        let alive = self
            .db(move |s| s.touch_session(&client, &hash, now, policy))
            .await?;
        Ok(alive.then_some(session))
    }

    // ----- requests -----

    /// The request behind a reference: a configured id, or a request token
    /// (which must be unused, unexpired, and the caller's if bound to a
    /// user). Answers the token's hash too, for the transaction to use up.
    async fn resolve(
        &self,
        reference: &str,
        owner: Option<&Owner>,
    ) -> Result<(CompiledRequest, Option<String>), Problem> {
        let config = &self.inner.config;
        if !reference.starts_with(TOKEN_PREFIX) {
            return config
                .requests
                .get(reference)
                .cloned()
                .map(|compiled| (compiled, None))
                .ok_or_else(request_not_found);
        }
        let hash = RequestToken::new(reference).hash();
        let (client, key) = (self.client_id(), hash.clone());
        let stored = self
            .db(move |s| s.request_token(&client, &key))
            .await?
            .ok_or_else(request_not_found)?;
        if let Some(subject) = &stored.subject {
            // Another user's token reads as unknown: it tells nothing.
            if owner.and_then(Owner::user_id) != Some(subject.as_str()) {
                return Err(request_not_found());
            }
        }
        if stored.used {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "request_token_used",
                "The request token was used",
                "A request token starts one authorization; ask the operator's site for a new one.",
            ));
        }
        if self.now() >= stored.expires_at {
            return Err(Problem::new(
                StatusCode::GONE,
                "request_token_expired",
                "The request token has expired",
                "Ask the operator's site for a new one.",
            ));
        }
        let definition: Value =
            serde_json::from_str(&stored.definition_json).map_err(|e| Problem::internal(&e))?;
        let compiled = config
            .requests
            .compile_one(&definition)
            .map_err(|problems| {
                // Valid when made, invalid now: the configuration changed.
                Problem::new(
                    StatusCode::CONFLICT,
                    "request_invalid",
                    "The request no longer meets the rules",
                    "The configuration changed since the token was made; ask for a new one.",
                )
                .with_errors(problems.iter().map(|p| p.to_json(Locale::En)).collect())
            })?;
        Ok((compiled, Some(hash)))
    }

    /// `GET /requests/{reference}`: the request as the consent screen shows
    /// it, in `locale`.
    pub(crate) async fn request_view(
        &self,
        reference: &str,
        locale: Locale,
        owner: Option<&Owner>,
    ) -> Result<Value, Problem> {
        let (compiled, _) = self.resolve(reference, owner).await?;
        serde_json::to_value(compiled.for_locale(locale).request())
            .map_err(|e| Problem::internal(&e))
    }

    /// `POST /request-tokens`, from the operator's own server: checks the
    /// server key, compiles the definition (or a named request), stores the
    /// token hashed and answers the token once.
    pub(crate) async fn create_request_token(
        &self,
        headers: &HeaderMap,
        body: &Map<String, Value>,
    ) -> Result<Value, Problem> {
        let config = &self.inner.config;
        let Some(key) = &config.server_api_key else {
            return Err(Problem::not_found("resource"));
        };
        let presented = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !key.matches(presented) {
            return Err(Problem::new(
                StatusCode::UNAUTHORIZED,
                "invalid_server_key",
                "Server key refused",
                "Request tokens are made by the operator's server with its server API key.",
            ));
        }
        let locale = body
            .get("locale")
            .and_then(Value::as_str)
            .and_then(Locale::from_code)
            .unwrap_or_default();
        let invalid = |errors: Vec<Value>| {
            Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_request",
                "Invalid consent request",
                format!("The request definition has {} problem(s).", errors.len()),
            )
            .with_errors(errors)
        };
        let mut errors = Vec::new();
        for key in body.keys() {
            if !matches!(
                key.as_str(),
                "request" | "definition" | "subject" | "locale"
            ) {
                errors.push(structural(key, ErrorKind::UnknownField, locale));
            }
        }
        let subject = match body.get("subject") {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => match crate::users::user_id(text) {
                Ok(id) if !matches!(config.users, UserSource::Session(_)) => Some(id),
                Ok(_) => {
                    errors.push(custom_error(
                        "subject_needs_sign_in",
                        "subject".into(),
                        "subject を使うには、users に jwt か header を設定してください。".into(),
                        "A subject needs users of kind jwt or header.".into(),
                        locale,
                    ));
                    None
                }
                Err(_) => {
                    errors.push(structural("subject", ErrorKind::ControlCharacter, locale));
                    None
                }
            },
            Some(_) => {
                errors.push(structural(
                    "subject",
                    ErrorKind::WrongType(JsonType::String),
                    locale,
                ));
                None
            }
        };
        let definition = match (body.get("request"), body.get("definition")) {
            // A named request is stored as its definition, so the token
            // keeps what was offered even if the named request changes later.
            (Some(Value::String(id)), None) => match config.requests.definition_of(id) {
                Some(definition) => Some(definition.clone()),
                None => {
                    errors.push(custom_error(
                        "request_not_found",
                        "request".into(),
                        format!("「{id}」という同意リクエストは設定にありません。"),
                        format!("The configuration defines no request \"{id}\"."),
                        locale,
                    ));
                    None
                }
            },
            (None, Some(definition)) => match config.requests.compile_one(definition) {
                Ok(_) => Some(definition.clone()),
                Err(problems) => {
                    errors.extend(problems.iter().map(|p| {
                        let mut entry = p.to_json(locale);
                        entry["field"] = format!("definition.{}", p.field).into();
                        entry
                    }));
                    None
                }
            },
            _ => {
                errors.push(custom_error(
                    "required",
                    "request".into(),
                    "request（設定にある同意リクエストの id）か definition のどちらか一方を指定してください。".into(),
                    "Give exactly one of request (a configured request id) and definition.".into(),
                    locale,
                ));
                None
            }
        };
        let definition = match definition {
            Some(definition) if errors.is_empty() => definition,
            _ => return Err(invalid(errors)),
        };
        let token = RequestToken::generate();
        let now = whole_seconds(self.now());
        let lifetime = time::Duration::try_from(config.limits.request_token_lifetime)
            .unwrap_or(time::Duration::minutes(30));
        let record = NewRequestToken {
            client_id: self.client_id(),
            token_hash: token.hash(),
            definition_json: definition.to_string(),
            subject,
            created_at: now,
            expires_at: now + lifetime,
        };
        let expires_at = record.expires_at;
        self.db(move |s| s.insert_request_token(&record)).await?;
        Ok(json!({ "token": token.expose(), "expiresAt": rfc3339(expires_at) }))
    }

    // ----- POST /authorizations -----

    /// Starts an authorization for a request defined on the server: checks
    /// the limits, the citizen's choice (a subset of the optional items),
    /// the separate confirmation of special-care items and, when given,
    /// that the request is the one the citizen read; creates the
    /// transaction, pushes it to the authority and answers where to send
    /// the citizen.
    pub(crate) async fn start_authorization(
        &self,
        owner: &Owner,
        address: Option<IpAddr>,
        body: &Map<String, Value>,
    ) -> Result<StartedAuthorization, Problem> {
        let limits = self.inner.config.limits;
        let address_key = format!(
            "address:{}",
            address.map_or_else(|| "unknown".into(), |a| a.to_string())
        );
        let limited = self
            .inner
            .starts
            .take(&address_key, limits.starts_per_minute_per_address)
            .and_then(|()| {
                self.inner.starts.take(
                    &format!("owner:{}", owner.key()),
                    limits.starts_per_minute_per_user,
                )
            });
        if let Err(seconds) = limited {
            return Err(Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_starts",
                "Too many requests",
                "Too many authorizations were started from here; wait a moment and try again.",
            )
            .retry_after(seconds));
        }
        let start = check_start_body(body)?;
        let (compiled, token_hash) = self.resolve(&start.reference, Some(owner)).await?;
        let valid = compiled.for_locale(start.locale);
        if let Some(digest) = &start.digest {
            if *digest != valid.digest() {
                return Err(Problem::new(
                    StatusCode::CONFLICT,
                    "request_changed",
                    "The request has changed",
                    "The consent request changed since the page showed it; show it again.",
                ));
            }
        }
        let items = granted_items(&valid, &start)?;
        if let Some(old) = &start.renews {
            // Only this citizen's own consent can be renewed.
            self.record(Some(owner), old).await.map_err(|_| {
                Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "renewal_unknown",
                    "Unknown consent to renew",
                    "renews does not name one of this citizen's consents.",
                )
            })?;
        }
        let state = State::generate();
        let nonce = Nonce::generate();
        let verifier = PkceVerifier::generate();
        let request = valid.request();
        let details = json!([{
            "type": "mynaportal_consent",
            "items": items,
            "purposes": request.purposes,
            "period": request.period,
            "recipients": request.recipients,
            "retention": request.retention,
        }]);
        let url = self
            .inner
            .oauth
            .authorization_url(&AuthorizationParams {
                state: &state,
                nonce: &nonce,
                verifier: &verifier,
                authorization_details: &details,
            })
            .await
            .map_err(|error| {
                let code = if error.step() == crate::oauth::Step::Discovery {
                    "authority_unavailable"
                } else {
                    "par_failed"
                };
                authority_problem(&error, code, "The authorization could not start")
            })?;
        let state_hash = state.hash();
        // The renewed consent travels sealed with the transaction's
        // secrets: no schema change, and never readable by the page.
        let secrets = json!({
            "verifier": verifier.expose(),
            "nonce": nonce.expose(),
            "renews": start.renews,
        });
        let sealed_secrets = self
            .inner
            .key
            .seal(
                &transaction_owner(&state_hash),
                secrets.to_string().as_bytes(),
            )
            .map_err(|e| Problem::internal(&e))?;
        let now = whole_seconds(self.now());
        let transaction = NewTransaction {
            client_id: self.client_id(),
            owner: owner.key(),
            state_hash,
            sealed_secrets,
            request_json: serde_json::to_string(request).map_err(|e| Problem::internal(&e))?,
            chosen_optional: start.optional,
            recipient_ids: compiled.recipient_ids,
            request_token_hash: token_hash,
            created_at: now,
            expires_at: now + TRANSACTION_LIFETIME,
            retention_days: compiled.retention_days.or(self.inner.config.retention_days),
        };
        let expires_at = transaction.expires_at;
        let stored = self.db(move |s| s.insert_transaction(&transaction)).await?;
        if !stored {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "request_token_used",
                "The request token was used",
                "A request token starts one authorization; ask the operator's site for a new one.",
            ));
        }
        Ok(StartedAuthorization {
            authorization_url: url,
            state,
            expires_at,
        })
    }

    // ----- POST /authorizations/complete -----

    /// Checks the callback against this owner's transaction (state known,
    /// not used, not expired, `iss`, then the authority's error), exchanges
    /// the code, and stores the consent with its tokens sealed.
    pub(crate) async fn complete_authorization(
        &self,
        owner: &Owner,
        body: &Map<String, Value>,
    ) -> Result<Value, Problem> {
        let text = |key: &str| {
            body.get(key)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        };
        let callback_problem = |code: &str, title: &'static str, detail: &str| {
            Problem::new(StatusCode::BAD_REQUEST, code, title, detail)
        };
        let state_mismatch = || {
            callback_problem(
                "state_mismatch",
                "Unknown authorization",
                "The callback does not belong to an authorization started by this citizen.",
            )
        };
        let state = State::new(text("state").ok_or_else(state_mismatch)?);
        let (client, owner_key, state_hash, now) =
            (self.client_id(), owner.key(), state.hash(), self.now());
        let sealed_for = transaction_owner(&state_hash);
        let lookup = self
            .db(move |s| s.consume_transaction(&client, &owner_key, &state_hash, now))
            .await?;
        let transaction =
            match lookup {
                TransactionLookup::Unknown => return Err(state_mismatch()),
                TransactionLookup::Used => return Err(callback_problem(
                    "state_used",
                    "Authorization already completed",
                    "This callback was already used; a replayed or reloaded address is refused.",
                )),
                TransactionLookup::Expired => {
                    return Err(callback_problem(
                        "transaction_expired",
                        "Authorization expired",
                        "The authorization took longer than 10 minutes; start again.",
                    ))
                }
                TransactionLookup::Open(transaction) => transaction,
            };
        // RFC 9207: a callback from another issuer is a mix-up attack. `iss`
        // is required when the metadata says the authority sends it; when
        // present it must match either way.
        let needs_iss = self
            .inner
            .oauth
            .callback_needs_iss()
            .await
            .map_err(|error| {
                authority_problem(
                    &error,
                    "token_exchange_failed",
                    "The authorization could not be completed",
                )
            })?;
        let iss_ok = match text("iss") {
            Some(iss) => iss == self.inner.config.issuer,
            None => !needs_iss,
        };
        if !iss_ok {
            return Err(callback_problem(
                "issuer_mismatch",
                "Unexpected issuer",
                "The callback does not come from the configured authority.",
            ));
        }
        if let Some(error) = text("error") {
            // errorDescription is the authority's free text: it is not
            // reflected, the SDK words the code.
            let code = callback_error_code(error);
            return Err(if code == "access_denied" {
                callback_problem(
                    "access_denied",
                    "Consent declined",
                    "The citizen declined at the authority.",
                )
            } else {
                callback_problem(
                    code,
                    "The authority refused",
                    "The authority answered an error.",
                )
            });
        }
        let code = AuthorizationCode::new(text("code").ok_or_else(|| {
            callback_problem(
                "invalid_callback",
                "Invalid callback",
                "The callback has neither code nor error.",
            )
        })?);
        let secrets: Value = self
            .inner
            .key
            .open_text(&sealed_for, &transaction.sealed_secrets)
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .ok_or_else(|| Problem::internal(&"the transaction's secrets do not open"))?;
        let verifier = PkceVerifier::new(secrets["verifier"].as_str().unwrap_or_default());
        let nonce = Nonce::new(secrets["nonce"].as_str().unwrap_or_default());
        let tokens = self
            .inner
            .oauth
            .exchange_code(&code, &verifier, &nonce)
            .await
            .map_err(|error| {
                // The transaction is consumed, so even a 429 cannot be
                // retried with this callback: one code for every failure.
                let mut problem = authority_problem(
                    &error,
                    "token_exchange_failed",
                    "The authorization could not be completed",
                );
                if problem.status() == StatusCode::TOO_MANY_REQUESTS {
                    problem = Problem::new(
                        StatusCode::BAD_GATEWAY,
                        "token_exchange_failed",
                        "The authorization could not be completed",
                        "The authority is limiting requests; start again shortly.",
                    )
                    .with("step", error.step().name());
                }
                problem
            })?;

        if !tokens.grant.confirms_anything() {
            return Err(self.nothing_granted(tokens).await);
        }
        let request_value: Value =
            serde_json::from_str(&transaction.request_json).map_err(|e| Problem::internal(&e))?;
        let valid = request::parse(&request_value).map_err(|e| Problem::internal(&e))?;
        let now = whole_seconds(self.now());
        let granted_at = whole_seconds(tokens.grant.granted_at.unwrap_or(now));
        let consent_id = random_uuid();
        let mut consent = Consent::grant(
            consent_id.clone(),
            &valid,
            &transaction.chosen_optional,
            granted_at,
        )
        .map_err(|e| Problem::internal(&e))?;
        if let Some(granted) = &tokens.grant.items {
            // The record states what the authority granted, never more.
            consent.items.retain(|item| granted.contains(item));
        }
        if consent.items.is_empty() {
            // The authority confirmed items, but none of those asked for.
            return Err(self.nothing_granted(tokens).await);
        }
        let sealed = |value: &str| self.inner.key.seal(&consent_id, value.as_bytes());
        let refresh = tokens
            .refresh_token
            .as_ref()
            .map(|t| sealed(t.expose()))
            .transpose()
            .map_err(|e| Problem::internal(&e))?;
        // A one-time consent (no refresh token) keeps its access token: it
        // serves the one retrieval, and stays for the revocation, so that
        // withdrawing always reaches the authority.
        let (access, access_expires_at) = if refresh.is_none() {
            let sealed = sealed(tokens.access_token.expose()).map_err(|e| Problem::internal(&e))?;
            let expires = now + time::Duration::seconds(tokens.expires_in.unwrap_or(600));
            (Some(sealed), Some(expires))
        } else {
            (None, None)
        };
        let locale = valid.request().locale;
        let renews = secrets["renews"].as_str().map(str::to_owned);
        let mut receipt = Receipt::new(&consent, ReceiptEvent::Grant, random_uuid(), now, locale);
        if let Some(old) = &renews {
            receipt = receipt.renewing(old.clone());
        }
        let record = ConsentRecord {
            consent,
            grant_id: tokens.grant.grant_id.clone(),
            locale,
            expired_at: None,
            last_retrieval_at: None,
            grant_receipt: self.inner.receipts.document(&receipt).to_string(),
            revocation_receipt: None,
            recipient_ids: transaction.recipient_ids,
        };
        let schedule = self.first_schedule(&owner.key(), &record);
        let answer = consent_json(&record, schedule.as_ref(), self.now());
        let sealed_tokens = SealedTokens {
            refresh,
            access,
            access_expires_at,
        };
        let (client, owner_key) = (self.client_id(), owner.key());
        let (consent_id, grant_id, items) = (
            record.consent.id.clone(),
            record.grant_id.clone(),
            record.consent.items.clone(),
        );
        let (retention_days, data_ends_at) = (transaction.retention_days, record.consent.ends_at());
        self.db(move |s| s.insert_consent(&client, &owner_key, &record, &sealed_tokens))
            .await?;
        audit::grant(
            self.now(),
            &self.client_id(),
            &owner.key(),
            &consent_id,
            grant_id.as_deref(),
            &items,
        );
        if let Some(first) = schedule {
            self.db(move |s| s.set_schedule(&first)).await?;
        }
        if let Some(days) = retention_days {
            // A linkage's data is kept `days` after its last day (or its
            // earlier end); a one-time consent's, after the grant.
            let ends_at = data_ends_at.unwrap_or(granted_at);
            let id = consent_id.clone();
            self.db(move |s| s.set_retention(&id, days, ends_at))
                .await?;
        }
        let mut answer = answer;
        if let Some(old) = renews {
            // A renewal leaves one live grant: the old one is withdrawn now
            // that the new one is granted. If the authority cannot be reached
            // the new consent stands, and the answer says the old one is
            // still to be withdrawn (the review screen offers it).
            let revoked = match self.revoke_replaced(owner, &old, &consent_id).await {
                Ok(_) => true,
                Err(problem) => {
                    tracing::warn!(consent = %old, code = problem.code(), "the renewed consent was not withdrawn");
                    false
                }
            };
            answer["renewed"] = json!({ "consentId": old, "withdrawn": revoked });
        }
        Ok(answer)
    }

    /// The answer when the authority issued tokens but confirmed no item
    /// asked for (no `authorization_details` entry of the type, or none of
    /// the items). Nothing is recorded: the tokens are revoked, so no grant
    /// stays active that the citizen cannot see, and the problem says so
    /// rather than pretending the citizen declined.
    async fn nothing_granted(&self, tokens: Tokens) -> Problem {
        let mut held = Vec::with_capacity(2);
        if let Some(refresh) = &tokens.refresh_token {
            held.push((refresh.expose(), "refresh_token"));
        }
        held.push((tokens.access_token.expose(), "access_token"));
        let mut revoked = true;
        for (token, hint) in held {
            if let Err(error) = self.inner.oauth.revoke(token, hint).await {
                tracing::warn!(%error, hint, "a token of a grant that confirmed nothing was not revoked");
                revoked = false;
            }
        }
        tracing::warn!(
            scope = tokens.scope.as_deref().unwrap_or(""),
            revoked,
            "the authority's token answer confirms none of the items asked for"
        );
        let what_became_of_them = if revoked {
            "the tokens were revoked"
        } else {
            "revoking the tokens failed, so the grant may stay active at the authority until it expires"
        };
        Problem::new(
            StatusCode::BAD_GATEWAY,
            "nothing_granted",
            "Nothing was granted",
            format!("The authority's token answer confirms none of the items asked for (no authorization_details of type mynaportal_consent); nothing was recorded and {what_became_of_them}. Check that the authority supports RFC 9396 for this type."),
        )
        .with("step", "code_exchange")
        .with("cause", "nothing_granted")
        .with("tokensRevoked", revoked)
    }

    /// A new linkage's first automatic retrieval: one period of the
    /// schedule after the grant. One-time consents have none.
    fn first_schedule(&self, owner_key: &str, record: &ConsentRecord) -> Option<Schedule> {
        let linkage = matches!(
            record.consent.period,
            myna_consent::request::Period::Linkage { .. }
        );
        linkage.then(|| Schedule {
            client_id: self.client_id(),
            owner: owner_key.to_owned(),
            consent_id: record.consent.id.clone(),
            next_at: Some(self.now() + self.inner.config.retrieval_every),
            failures: 0,
            last_error: None,
        })
    }

    // ----- consents -----

    /// The owner's consents (none without an owner).
    pub(crate) async fn consents(&self, owner: Option<Owner>) -> Result<Value, Problem> {
        let Some(owner) = owner else {
            return Ok(json!({ "consents": [] }));
        };
        let (client, key) = (self.client_id(), owner.key());
        let (records, schedules) = self
            .db(move |s| Ok((s.consents(&client, &key)?, s.schedules(&client, &key)?)))
            .await?;
        let now = self.now();
        let list: Vec<Value> = records
            .iter()
            .map(|r| {
                let schedule = schedules.iter().find(|s| s.consent_id == r.consent.id);
                consent_json(r, schedule, now)
            })
            .collect();
        Ok(json!({ "consents": list }))
    }

    async fn record(
        &self,
        owner: Option<&Owner>,
        consent_id: &str,
    ) -> Result<ConsentRecord, Problem> {
        let Some(owner) = owner else {
            return Err(Problem::not_found("consent"));
        };
        let (client, key, id) = (self.client_id(), owner.key(), consent_id.to_owned());
        self.db(move |s| s.consent(&client, &key, &id))
            .await?
            .ok_or_else(|| Problem::not_found("consent"))
    }

    /// One consent with its retrievals.
    pub(crate) async fn consent(
        &self,
        owner: Option<Owner>,
        consent_id: &str,
    ) -> Result<Value, Problem> {
        let record = self.record(owner.as_ref(), consent_id).await?;
        let id = consent_id.to_owned();
        let retrievals = self.db(move |s| s.retrievals(&id)).await?;
        let (client, key) = (
            self.client_id(),
            owner.as_ref().map(Owner::key).unwrap_or_default(),
        );
        let schedules = self.db(move |s| s.schedules(&client, &key)).await?;
        let schedule = schedules.iter().find(|s| s.consent_id == record.consent.id);
        let mut value = consent_json(&record, schedule, self.now());
        if let Value::Object(map) = &mut value {
            map.insert(
                "retrievals".into(),
                retrievals
                    .iter()
                    .map(retrieval_json)
                    .collect::<Vec<_>>()
                    .into(),
            );
        }
        Ok(value)
    }

    /// The latest receipt document, as stored (the same bytes every time).
    pub(crate) async fn receipt(
        &self,
        owner: Option<Owner>,
        consent_id: &str,
    ) -> Result<String, Problem> {
        let record = self.record(owner.as_ref(), consent_id).await?;
        Ok(record.revocation_receipt.unwrap_or(record.grant_receipt))
    }

    // ----- POST /consents/{id}/revocation -----

    /// Revokes at the authority with whatever credential of the grant the
    /// backend holds (the refresh token of a linkage, the access token of a
    /// one-time consent, used or not), then, in one store transaction,
    /// deletes the tokens, marks the consent revoked with a receipt and
    /// queues an event for each recipient with a webhook. Idempotent: a
    /// revoked consent answers its receipt again. When the authority cannot
    /// be reached nothing changes, so the call can be retried.
    pub(crate) async fn revoke(&self, owner: &Owner, consent_id: &str) -> Result<String, Problem> {
        self.revoke_because(owner, consent_id, None).await
    }

    /// Withdraws `consent_id` because `replaced_by` renewed it; its
    /// revocation receipt says so.
    async fn revoke_replaced(
        &self,
        owner: &Owner,
        consent_id: &str,
        replaced_by: &str,
    ) -> Result<String, Problem> {
        self.revoke_because(owner, consent_id, Some(replaced_by))
            .await
    }

    async fn revoke_because(
        &self,
        owner: &Owner,
        consent_id: &str,
        replaced_by: Option<&str>,
    ) -> Result<String, Problem> {
        let record = self.record(Some(owner), consent_id).await?;
        if let Some(receipt) = record.revocation_receipt {
            return Ok(receipt);
        }
        let lock = self.consent_lock(consent_id);
        let _guard = lock.lock().await;
        let id = consent_id.to_owned();
        let tokens = self.db(move |s| s.tokens(&id)).await?;
        let (sealed, hint) = match (&tokens.refresh, &tokens.access) {
            (Some(refresh), _) => (Some(refresh), "refresh_token"),
            (None, Some(access)) => (Some(access), "access_token"),
            (None, None) => (None, ""),
        };
        let at_authority = sealed.is_some();
        if let Some(sealed) = sealed {
            let token = self
                .inner
                .key
                .open_text(consent_id, sealed)
                .map_err(|e| Problem::internal(&e))?;
            self.inner
                .oauth
                .revoke(&token, hint)
                .await
                .map_err(|error| {
                    let problem = authority_problem(
                        &error,
                        "revocation_failed",
                        "The consent could not be withdrawn",
                    );
                    if problem.status() == StatusCode::TOO_MANY_REQUESTS {
                        problem
                    } else {
                        Problem::new(
                            StatusCode::BAD_GATEWAY,
                            "revocation_failed",
                            "The consent could not be withdrawn",
                            "The authority could not be reached; nothing changed. Try again.",
                        )
                        .with("step", error.step().name())
                    }
                })?;
        }
        let mut consent = record.consent;
        let revoked_at = whole_seconds(self.now());
        consent.revoked_at = Some(revoked_at);
        let mut receipt = Receipt::new(
            &consent,
            ReceiptEvent::Revocation,
            random_uuid(),
            revoked_at,
            record.locale,
        );
        if let Some(new) = replaced_by {
            receipt = receipt.replaced_by(new);
        }
        let config = &self.inner.config;
        let hooks: Vec<NewWebhook> = record
            .recipient_ids
            .iter()
            .filter_map(|recipient| {
                let target = config.webhooks.get(recipient)?;
                let event = webhooks::revocation_event(
                    consent_id,
                    revoked_at,
                    &consent.items,
                    &config.identity.name,
                    &config.identity.approval_id,
                    recipient,
                    &receipt.receipt_id,
                );
                Some(NewWebhook {
                    id: format!("msg_{}", random_uuid()),
                    consent_id: consent_id.to_owned(),
                    recipient_id: recipient.clone(),
                    url: target.url().to_owned(),
                    body: event.to_string(),
                })
            })
            .collect();
        let document = self.inner.receipts.document(&receipt).to_string();
        let id = consent_id.to_owned();
        let queued = !hooks.is_empty();
        let answer = self
            .db(move |s| s.revoke(&id, revoked_at, &document, &hooks))
            .await?;
        audit::revocation(
            revoked_at,
            &self.client_id(),
            &owner.key(),
            consent_id,
            at_authority,
        );
        if queued {
            // Tell the recipients now rather than at the next tick.
            let operator = self.clone();
            tokio::spawn(async move {
                operator.deliver_webhooks().await;
            });
        }
        Ok(answer)
    }

    // ----- upkeep -----

    /// Starts the upkeep of this backend: due webhooks every second, and a
    /// sweep of abandoned transactions, sessions, request tokens and limit
    /// buckets every minute. Runs until the runtime stops.
    pub fn spawn_upkeep(&self) -> tokio::task::JoinHandle<()> {
        let operator = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(UPKEEP_TICK);
            let mut count: u32 = 0;
            loop {
                tick.tick().await;
                if count.is_multiple_of(HEARTBEAT_EVERY_TICKS) {
                    if let Err(problem) = operator.heartbeat().await {
                        tracing::warn!(code = problem.code(), "the heartbeat failed");
                    }
                }
                operator.deliver_webhooks().await;
                if count.is_multiple_of(SCHEDULE_EVERY_TICKS) {
                    if let Err(problem) = operator.run_schedule().await {
                        tracing::warn!(code = problem.code(), "scheduled retrievals failed");
                    }
                }
                if count.is_multiple_of(RESUME_EVERY_TICKS) {
                    if let Err(problem) = operator.resume_retrievals().await {
                        tracing::warn!(code = problem.code(), "resuming retrievals failed");
                    }
                    if let Err(problem) = operator.redrive_refreshes().await {
                        tracing::warn!(code = problem.code(), "completing cut refreshes failed");
                    }
                }
                if count.is_multiple_of(SWEEP_EVERY_TICKS) {
                    if let Err(problem) = operator.sweep().await {
                        tracing::warn!(code = problem.code(), "sweep failed");
                    }
                }
                count = count.wrapping_add(1);
            }
        })
    }

    /// Removes abandoned transactions, expired sessions and request tokens,
    /// and full limit buckets.
    pub async fn sweep(&self) -> Result<Swept, Problem> {
        let limits = self.inner.config.limits;
        self.inner.starts.forget_full(|key| {
            if key.starts_with("address:") {
                limits.starts_per_minute_per_address
            } else {
                limits.starts_per_minute_per_user
            }
        });
        let policy = match &self.inner.config.users {
            UserSource::Session(policy) => Some(*policy),
            _ => None,
        };
        let (client, now) = (self.client_id(), self.now());
        let swept = self.db(move |s| s.sweep(&client, now, policy)).await?;
        if swept != Swept::default() {
            tracing::info!(?swept, "swept abandoned rows");
        }
        // Retrieved data past the retention the request stated.
        let client = self.client_id();
        let purged = self.db(move |s| s.purge_records(&client, now)).await?;
        if purged > 0 {
            tracing::info!(
                target: audit::TARGET,
                event = "purge",
                retrievals = purged,
                "retrieved records past their retention deleted"
            );
        }
        Ok(swept)
    }

    /// Sends the webhook deliveries that are due; answers how many were
    /// delivered.
    pub async fn deliver_webhooks(&self) -> usize {
        let (client, now) = (self.client_id(), self.now());
        let lease_until = now + WEBHOOK_LEASE;
        let due = match self
            .db(move |s| s.claim_due_webhooks(&client, now, lease_until, 20))
            .await
        {
            Ok(due) => due,
            Err(problem) => {
                tracing::warn!(code = problem.code(), "reading due webhooks failed");
                return 0;
            }
        };
        let mut delivered = 0;
        for hook in due {
            let outcome = self
                .send_webhook(&hook.recipient_id, &hook.id, &hook.url, &hook.body)
                .await;
            let now = self.now();
            let attempt = match outcome {
                Ok(()) => {
                    delivered += 1;
                    WebhookAttempt::Delivered
                }
                Err(error) => {
                    let attempts = hook.attempts.saturating_add(1);
                    match webhooks::next_attempt(attempts, now) {
                        Some(at) => WebhookAttempt::Retry(at, error),
                        None => {
                            tracing::error!(
                                recipient = hook.recipient_id,
                                %error,
                                "a revocation event could not be delivered; giving up"
                            );
                            WebhookAttempt::GiveUp(error)
                        }
                    }
                }
            };
            let id = hook.id.clone();
            if let Err(problem) = self
                .db(move |s| s.record_webhook_attempt(&id, now, &attempt))
                .await
            {
                tracing::warn!(code = problem.code(), "recording a webhook attempt failed");
            }
        }
        delivered
    }

    async fn send_webhook(
        &self,
        recipient: &str,
        id: &str,
        url: &str,
        body: &str,
    ) -> Result<(), String> {
        let target = self.inner.config.webhooks.get(recipient).ok_or_else(|| {
            "the recipient has no webhook in the configuration any more".to_owned()
        })?;
        // The recipient checks the timestamp against its own clock: the
        // real one, whatever the sandbox clock says.
        let timestamp = OffsetDateTime::now_utc().unix_timestamp();
        let signature = target.signature(id, timestamp, body)?;
        let response = self
            .inner
            .http
            .post(url)
            .header("content-type", "application/json")
            .header(standardwebhooks::HEADER_WEBHOOK_ID, id)
            .header(
                standardwebhooks::HEADER_WEBHOOK_TIMESTAMP,
                timestamp.to_string(),
            )
            .header(standardwebhooks::HEADER_WEBHOOK_SIGNATURE, signature)
            .body(body.to_owned())
            .send()
            .await
            .map_err(|e| format!("not reached: {e}"))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("answered HTTP {}", response.status().as_u16()))
        }
    }

    // ----- retrievals -----

    /// Refreshes the token (rotating it), starts a retrieval at the
    /// authority and polls it in the background. Answers the retrieval id.
    pub(crate) async fn start_retrieval(
        &self,
        owner: &Owner,
        consent_id: &str,
        body: &Map<String, Value>,
    ) -> Result<String, Problem> {
        let record = self.record(Some(owner), consent_id).await?;
        let items = retrieval_items(&record, body)?;
        self.begin_retrieval(&record, &owner.key(), items, Trigger::Citizen)
            .await
    }

    /// Starts a retrieval of `items` for a consent: checks that the consent
    /// is active and the authority has the API, gets an access token
    /// (refreshing a linkage's), starts it at the authority, records the
    /// job leased to this instance, and polls it in the background.
    async fn begin_retrieval(
        &self,
        record: &ConsentRecord,
        owner_key: &str,
        items: Vec<String>,
        trigger: Trigger,
    ) -> Result<String, Problem> {
        let consent_id = record.consent.id.as_str();
        let now = self.now();
        let status = status_of(record, now);
        if matches!(
            status,
            ConsentStatus::Revoked | ConsentStatus::Suspended | ConsentStatus::Expired
        ) {
            if status == ConsentStatus::Expired && record.expired_at.is_none() {
                // The period is over: the tokens are of no more use.
                let id = consent_id.to_owned();
                self.db(move |s| s.end_grant(&id, GrantEnd::Expired, now))
                    .await?;
            }
            return Err(grant_ended(status));
        }
        // The capability first: a refresh rotates the token, so it is not
        // spent on an authority that has no retrieval API.
        self.inner
            .oauth
            .retrieval_endpoint()
            .await
            .map_err(|error| {
                authority_problem(&error, "retrieval_failed", "The retrieval could not start")
            })?;
        let access = self.access_token(record).await?;
        let requested = (items.len() != record.consent.items.len()).then_some(items.as_slice());
        let remote = self
            .inner
            .oauth
            .start_retrieval(&access, requested)
            .await
            .map_err(|error| match &error {
                OAuthError::Refused {
                    status: 403, error, ..
                } if error == "insufficient_scope" => Problem::new(
                    StatusCode::FORBIDDEN,
                    "insufficient_scope",
                    "Not granted",
                    "The authority refused an item that the grant does not cover.",
                ),
                _ => authority_problem(&error, "retrieval_failed", "The retrieval could not start"),
            })?;
        let retrieval_id = random_uuid();
        let started_at = whole_seconds(self.now());
        let access_sealed = self
            .inner
            .key
            .seal(
                &job_access_owner(consent_id, &retrieval_id),
                access.expose().as_bytes(),
            )
            .map_err(|e| Problem::internal(&e))?;
        let real_now = OffsetDateTime::now_utc();
        let job = NewRetrieval {
            consent_id: consent_id.to_owned(),
            retrieval_id: retrieval_id.clone(),
            client_id: self.client_id(),
            remote_id: remote.id.clone(),
            started_at,
            access_sealed,
            items: items.clone(),
            lease_owner: self.inner.instance.clone(),
            lease_until: real_now + RETRIEVAL_LEASE,
            deadline: real_now + POLL_LIMIT,
        };
        let deadline = job.deadline;
        self.running(&retrieval_id, true);
        if let Err(problem) = self.db(move |s| s.insert_retrieval(&job)).await {
            self.running(&retrieval_id, false);
            return Err(problem);
        }
        audit::retrieval_started(
            started_at,
            &self.client_id(),
            owner_key,
            consent_id,
            &retrieval_id,
            &items,
            trigger.name(),
        );
        let poller = self.clone();
        let job = RetrievalJob {
            consent_id: consent_id.to_owned(),
            retrieval_id: retrieval_id.clone(),
            remote_id: remote.id,
            access_sealed: Vec::new(),
            items,
            deadline,
        };
        tokio::spawn(async move {
            poller.poll(job, access).await;
        });
        Ok(retrieval_id)
    }

    /// Marks a retrieval as polled (or no longer polled) by this process,
    /// so that its own claims never start a second poller for it.
    /// Retrieves the linkages whose automatic retrieval is due, one at a
    /// time while the operator's budget at the authority has room beyond
    /// what citizens on their way need; nothing after the end date or a
    /// withdrawal. A failure is tried again after a backoff, and the
    /// review card shows it.
    async fn run_schedule(&self) -> Result<usize, Problem> {
        let mut started = 0;
        for _ in 0..SCHEDULE_BATCH {
            // A scheduled retrieval goes only where a new start could.
            if !self.inner.oauth.has_room_for_background() {
                break;
            }
            let (client, now) = (self.client_id(), self.now());
            let hold = now + SCHEDULE_HOLD;
            let mut due = self
                .db(move |s| s.claim_due_schedules(&client, now, hold, 1))
                .await?;
            let Some(mut schedule) = due.pop() else {
                break;
            };
            let (client, owner, id) = (
                schedule.client_id.clone(),
                schedule.owner.clone(),
                schedule.consent_id.clone(),
            );
            let Some(record) = self.db(move |s| s.consent(&client, &owner, &id)).await? else {
                schedule.next_at = None;
                self.db(move |s| s.set_schedule(&schedule)).await?;
                continue;
            };
            let items = record.consent.items.clone();
            match self
                .begin_retrieval(&record, &schedule.owner, items, Trigger::Schedule)
                .await
            {
                Ok(_) => {
                    started += 1;
                    schedule.next_at = Some(self.now() + self.inner.config.retrieval_every);
                    schedule.failures = 0;
                    schedule.last_error = None;
                }
                Err(problem) if problem.code() == "grant_ended" => {
                    // Withdrawn, suspended or past its end: no more.
                    schedule.next_at = None;
                }
                Err(problem) => {
                    schedule.failures = schedule.failures.saturating_add(1);
                    let wait =
                        schedule_backoff(schedule.failures).min(self.inner.config.retrieval_every);
                    tracing::warn!(
                        code = problem.code(),
                        consent = %schedule.consent_id,
                        failures = schedule.failures,
                        "an automatic retrieval failed; it is tried again later"
                    );
                    schedule.next_at = Some(self.now() + wait);
                    schedule.last_error = Some(problem.code().to_owned());
                }
            }
            self.db(move |s| s.set_schedule(&schedule)).await?;
        }
        Ok(started)
    }

    /// Refreshes again the consents whose refresh was cut (their instance
    /// died between the authority's answer and the write, or the answer was
    /// lost), once the lease has run out and while the authority's reuse
    /// grace still brings back the same successor, so that the rotation is
    /// stored and the grant lives on. Only with a declared grace
    /// (`refreshReuseGraceSeconds`): without one, presenting the token again
    /// would end the grant.
    async fn redrive_refreshes(&self) -> Result<usize, Problem> {
        if self.inner.config.refresh_reuse_grace.is_zero() {
            return Ok(0);
        }
        let (client, now) = (self.client_id(), OffsetDateTime::now_utc());
        let cut = self
            .db(move |s| s.abandoned_refreshes(&client, now, CLAIM_BATCH))
            .await?;
        let mut stored = 0;
        for (consent_id, owner) in cut {
            let (client, id) = (self.client_id(), consent_id.clone());
            let Some(record) = self.db(move |s| s.consent(&client, &owner, &id)).await? else {
                continue;
            };
            match self.access_token(&record).await {
                Ok(_) => {
                    stored += 1;
                    tracing::info!(consent = %consent_id, "a cut refresh was completed");
                }
                Err(problem) => {
                    tracing::warn!(code = problem.code(), consent = %consent_id, "completing a cut refresh failed");
                }
            }
        }
        Ok(stored)
    }

    /// Says this instance is alive and takes its share of the authority's
    /// TPS: the instances alive share it evenly, so that the fleet stays
    /// under the authority's per-client limit.
    async fn heartbeat(&self) -> Result<usize, Problem> {
        let (client, instance) = (self.client_id(), self.inner.instance.clone());
        let now = OffsetDateTime::now_utc();
        let stale = now - INSTANCE_STALE;
        let alive = self
            .db(move |s| s.heartbeat(&client, &instance, now, stale))
            .await?;
        self.inner.oauth.share_budget(alive);
        Ok(alive)
    }

    fn running(&self, retrieval_id: &str, polling: bool) {
        let mut running = self
            .inner
            .polling
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if polling {
            running.insert(retrieval_id.to_owned());
        } else {
            running.remove(retrieval_id);
        }
    }

    /// Claims retrievals whose instance stopped (their lease ran out) and
    /// polls them to the end here.
    async fn resume_retrievals(&self) -> Result<usize, Problem> {
        let (client, instance) = (self.client_id(), self.inner.instance.clone());
        let now = OffsetDateTime::now_utc();
        let jobs = self
            .db(move |s| {
                s.claim_retrievals(&client, &instance, now, now + RETRIEVAL_LEASE, CLAIM_BATCH)
            })
            .await?;
        let mut resumed = 0;
        for job in jobs {
            let already = self
                .inner
                .polling
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .contains(&job.retrieval_id);
            if already {
                continue;
            }
            let owner = job_access_owner(&job.consent_id, &job.retrieval_id);
            let access = match self.inner.key.open_text(&owner, &job.access_sealed) {
                Ok(token) => AccessToken::new(token),
                Err(error) => {
                    tracing::error!(%error, retrieval = %job.retrieval_id, "a leased retrieval's token does not open");
                    let outcome = self.outcome("error", None, Some("token_unreadable"));
                    let (cid, rid) = (job.consent_id.clone(), job.retrieval_id.clone());
                    self.db(move |s| s.finish_retrieval(&cid, &rid, &outcome))
                        .await?;
                    continue;
                }
            };
            tracing::info!(retrieval = %job.retrieval_id, "resuming a retrieval another instance left");
            self.running(&job.retrieval_id, true);
            resumed += 1;
            let poller = self.clone();
            tokio::spawn(async move {
                poller.poll(job, access).await;
            });
        }
        Ok(resumed)
    }

    /// An access token for one retrieval: from a refresh (rotating the
    /// refresh token), or the kept token of a one-time consent.
    async fn access_token(&self, record: &ConsentRecord) -> Result<AccessToken, Problem> {
        let consent_id = record.consent.id.clone();
        // In this process a mutex queues the callers; across instances the
        // database's lease does: one refresh of a consent at a time, fleet
        // wide.
        let lock = self.consent_lock(&consent_id);
        let _guard = lock.lock().await;
        self.lease_refresh(&consent_id).await?;
        let result = self.access_token_leased(record).await;
        // A refresh whose answer was lost keeps its lease: when it runs out,
        // the upkeep presents the token again within the authority's reuse
        // grace (see `redrive_refreshes`).
        let uncertain = matches!(
            &result,
            Err(problem) if problem.extension("cause") == Some(&json!("uncertain"))
        );
        if !uncertain {
            let (id, instance) = (consent_id, self.inner.instance.clone());
            if let Err(problem) = self.db(move |s| s.release_refresh(&id, &instance)).await {
                // It lapses on its own.
                tracing::warn!(code = problem.code(), "releasing a refresh lease failed");
            }
        }
        result
    }

    /// Waits for the right to refresh a consent's token (another instance
    /// may be refreshing it), at most [`REFRESH_WAIT`].
    async fn lease_refresh(&self, consent_id: &str) -> Result<(), Problem> {
        let deadline = tokio::time::Instant::now() + REFRESH_WAIT;
        loop {
            let (id, instance) = (consent_id.to_owned(), self.inner.instance.clone());
            let now = OffsetDateTime::now_utc();
            let leased = self
                .db(move |s| s.lease_refresh(&id, &instance, now, now + REFRESH_LEASE))
                .await?;
            if leased {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "refresh_busy",
                    "Busy",
                    "Another instance is renewing this consent's access; try again shortly.",
                )
                .retry_after(2));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// [`Operator::access_token`] once this instance holds the lease.
    async fn access_token_leased(&self, record: &ConsentRecord) -> Result<AccessToken, Problem> {
        let consent_id = record.consent.id.clone();
        let id = consent_id.clone();
        let tokens = self.db(move |s| s.tokens(&id)).await?;
        let key = &self.inner.key;
        if let Some(old_sealed) = tokens.refresh {
            let old = RefreshToken::new(
                key.open_text(&consent_id, &old_sealed)
                    .map_err(|e| Problem::internal(&e))?,
            );
            let fresh = match self.inner.oauth.refresh(&old).await {
                Ok(fresh) => fresh,
                Err(OAuthError::Refused {
                    error,
                    grant_status,
                    ..
                }) if error == "invalid_grant" => {
                    let (end, status) = match grant_status.as_deref() {
                        Some("expired") => (GrantEnd::Expired, ConsentStatus::Expired),
                        // compromised, revoked (not by the citizen), or no
                        // reason given: the authority stopped the grant.
                        _ => (GrantEnd::Suspended, ConsentStatus::Suspended),
                    };
                    if grant_status.is_none() {
                        // With no reason given the grant may still be alive
                        // at the authority (a refusal of the proof's key,
                        // say). The token is about to be deleted here, so it
                        // is handed back first: nothing stays active that
                        // the citizen can no longer withdraw.
                        if let Err(error) =
                            self.inner.oauth.revoke(old.expose(), "refresh_token").await
                        {
                            tracing::warn!(%error, consent = %consent_id, "the refresh token of a refused refresh was not revoked");
                        }
                    }
                    let (id, now) = (consent_id.clone(), self.now());
                    self.db(move |s| s.end_grant(&id, end, now)).await?;
                    return Err(grant_ended(status));
                }
                Err(error) => {
                    return Err(authority_problem(
                        &error,
                        "token_refresh_failed",
                        "The access could not be renewed",
                    ))
                }
            };
            if let Some(new) = &fresh.refresh_token {
                let new_sealed = key
                    .seal(&consent_id, new.expose().as_bytes())
                    .map_err(|e| Problem::internal(&e))?;
                let (id, now) = (consent_id.clone(), self.now());
                // Through reseal: `myna-operator reseal` may have re-sealed
                // the token read above under a new key meanwhile.
                let (ring, presented, successor) = (key.clone(), old.clone(), new.clone());
                let rotated = self
                    .db(move |s| {
                        let rotation = crate::reseal::Rotation {
                            old: &presented,
                            new: &successor,
                            old_sealed: &old_sealed,
                            new_sealed: &new_sealed,
                        };
                        crate::reseal::rotate_refresh_token(s, &ring, &id, &rotation, now)
                    })
                    .await?;
                if !rotated {
                    // Revoked meanwhile (the stored token is gone, or is
                    // neither the one presented nor its successor): hand the
                    // new token back at once.
                    if let Err(error) = self.inner.oauth.revoke(new.expose(), "refresh_token").await
                    {
                        tracing::warn!(%error, consent = %consent_id, "the successor of a withdrawn consent was not revoked");
                    }
                    return Err(grant_ended(ConsentStatus::Revoked));
                }
            }
            return Ok(fresh.access_token);
        }
        let (id, now) = (consent_id.clone(), self.now());
        let kept = self.db(move |s| s.claim_access_token(&id, now)).await?;
        match kept {
            Some((sealed, expires_at)) if expires_at.is_none_or(|at| at > self.now()) => {
                Ok(AccessToken::new(
                    key.open_text(&consent_id, &sealed)
                        .map_err(|e| Problem::internal(&e))?,
                ))
            }
            _ => Err(Problem::new(
                StatusCode::CONFLICT,
                "grant_ended",
                "The consent has been used",
                "A one-time consent serves one retrieval; ask the citizen for a new consent.",
            )
            .with("consentStatus", status_of(record, self.now()).code())),
        }
    }

    /// Polls the authority until the retrieval ends or its deadline
    /// ([`POLL_LIMIT`] after the start, on the real clock) passes, renewing
    /// this instance's lease at every poll, then records the outcome once:
    /// counts per item and the records sealed, for the items the consent
    /// covers only. Stops without recording when another instance took the
    /// job over.
    async fn poll(&self, job: RetrievalJob, access: AccessToken) {
        let RetrievalJob {
            consent_id,
            retrieval_id,
            remote_id,
            items,
            deadline,
            ..
        } = job;
        let outcome = loop {
            tokio::time::sleep(POLL_INTERVAL).await;
            let now = OffsetDateTime::now_utc();
            if now >= deadline {
                break self.outcome(
                    "timeout",
                    None,
                    Some("the authority did not finish in time"),
                );
            }
            // The lease says this instance still polls it; if another took
            // it over (this one stalled past the lease), this one stops.
            let (rid, instance) = (retrieval_id.clone(), self.inner.instance.clone());
            match self
                .db(move |s| s.extend_retrieval_lease(&rid, &instance, now + RETRIEVAL_LEASE))
                .await
            {
                Ok(true) => {}
                Ok(false) => {
                    self.running(&retrieval_id, false);
                    return;
                }
                Err(problem) => {
                    tracing::warn!(code = problem.code(), "extending a retrieval lease failed");
                    continue;
                }
            }
            match self.inner.oauth.poll_retrieval(&access, &remote_id).await {
                Ok(remote) if remote.status == "waiting" => continue,
                Ok(remote) if remote.status == "done" => {
                    break self.done(&consent_id, &retrieval_id, &items, remote.records)
                }
                Ok(remote) => {
                    let status = if remote.status == "timeout" {
                        "timeout"
                    } else {
                        "error"
                    };
                    break self.outcome(status, None, remote.error.as_deref().or(Some(status)));
                }
                Err(error) => {
                    tracing::warn!(%error, "polling a retrieval failed");
                    break self.outcome("error", None, Some(error.code()));
                }
            }
        };
        let records: usize = outcome
            .items
            .iter()
            .flatten()
            .map(|count| count.count)
            .sum();
        let (status, finished_at) = (outcome.status.clone(), outcome.finished_at);
        let (cid, rid) = (consent_id.clone(), retrieval_id.clone());
        let result = self
            .db(move |s| s.finish_retrieval(&cid, &rid, &outcome))
            .await;
        self.running(&retrieval_id, false);
        match result {
            Ok(true) => audit::retrieval_finished(
                finished_at,
                &self.client_id(),
                &consent_id,
                &retrieval_id,
                &status,
                records as u64,
            ),
            // Another instance ended it first: nothing to record twice.
            Ok(false) => {}
            Err(problem) => {
                tracing::error!(code = problem.code(), "recording a retrieval failed");
            }
        }
    }

    fn outcome(
        &self,
        status: &str,
        items: Option<Vec<ItemCount>>,
        error: Option<&str>,
    ) -> RetrievalOutcome {
        RetrievalOutcome {
            status: status.to_owned(),
            finished_at: whole_seconds(self.now()),
            items,
            sealed_records: None,
            error: error.map(str::to_owned),
        }
    }

    fn done(
        &self,
        consent_id: &str,
        retrieval_id: &str,
        items: &[String],
        records: Vec<RemoteItemRecords>,
    ) -> RetrievalOutcome {
        // Records for an item the consent does not cover are dropped unread:
        // the operator may not keep what the citizen did not grant.
        let kept: Vec<RemoteItemRecords> = records
            .into_iter()
            .filter(|r| items.contains(&r.item))
            .collect();
        let counts = items
            .iter()
            .map(|item| ItemCount {
                item: item.clone(),
                count: kept
                    .iter()
                    .filter(|r| &r.item == item)
                    .map(|r| r.records.len())
                    .sum(),
            })
            .collect();
        let sealed = serde_json::to_vec(&kept).ok().and_then(|plain| {
            self.inner
                .key
                .seal(&records_owner(consent_id, retrieval_id), &plain)
                .ok()
        });
        match sealed {
            Some(sealed) => RetrievalOutcome {
                sealed_records: Some(sealed),
                ..self.outcome("done", Some(counts), None)
            },
            None => self.outcome("error", None, Some("the records could not be sealed")),
        }
    }

    /// One retrieval of a consent of the owner.
    pub(crate) async fn retrieval(
        &self,
        owner: Option<Owner>,
        consent_id: &str,
        retrieval_id: &str,
    ) -> Result<Value, Problem> {
        self.record(owner.as_ref(), consent_id).await?;
        let (cid, rid) = (consent_id.to_owned(), retrieval_id.to_owned());
        let record = self
            .db(move |s| s.retrieval(&cid, &rid))
            .await?
            .ok_or_else(|| Problem::not_found("retrieval"))?;
        Ok(retrieval_json(&record))
    }

    /// Opens the records of a finished retrieval (for the operator's own
    /// use; the contract answers counts only).
    pub fn open_records(
        &self,
        consent_id: &str,
        retrieval_id: &str,
        sealed: &[u8],
    ) -> Result<Value, crate::seal::SealError> {
        let plain = self
            .inner
            .key
            .open(&records_owner(consent_id, retrieval_id), sealed)?;
        serde_json::from_slice(&plain).map_err(|_| crate::seal::SealError::Rejected)
    }
}

/// The body of `POST /authorizations`, read.
struct StartBody {
    reference: String,
    optional: Vec<String>,
    special_care_confirmed: bool,
    research_confirmed: bool,
    locale: Locale,
    digest: Option<String>,
    /// The consent this one renews (the review screen's 同意を更新する).
    renews: Option<String>,
}

/// An error entry for a field of a body, with the domain's words.
fn structural(field: &str, kind: ErrorKind, locale: Locale) -> Value {
    ValidationError {
        field: field.to_owned(),
        kind,
    }
    .to_json(locale)
}

/// Reads the body of `POST /authorizations`, reporting every problem at
/// once. A request object where its id belongs is refused by name: the
/// backend never takes a request from a page.
fn check_start_body(body: &Map<String, Value>) -> Result<StartBody, Problem> {
    let locale = match body.get("locale") {
        None | Some(Value::Null) => Ok(Locale::default()),
        Some(Value::String(code)) => Locale::from_code(code).ok_or(code.clone()),
        Some(other) => Err(other.to_string()),
    };
    let words = *locale.as_ref().unwrap_or(&Locale::default());
    let mut errors: Vec<Value> = Vec::new();
    if let Err(code) = &locale {
        errors.push(structural(
            "locale",
            ErrorKind::UnknownLocale(code.clone()),
            words,
        ));
    }
    for key in body.keys() {
        if !matches!(
            key.as_str(),
            "request"
                | "optionalItems"
                | "specialCareConfirmed"
                | "researchConfirmed"
                | "locale"
                | "requestDigest"
                | "renews"
        ) {
            errors.push(structural(key, ErrorKind::UnknownField, words));
        }
    }
    let reference = match body.get("request") {
        Some(Value::String(reference)) if !reference.is_empty() => reference.clone(),
        Some(Value::Object(_)) => {
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "inline_request_refused",
                "Requests are defined on the server",
                "The backend takes the id of a request defined in its configuration, or a request token from the operator's server; never a request written by the page.",
            ));
        }
        None | Some(Value::Null) => {
            errors.push(structural("request", ErrorKind::Required, words));
            String::new()
        }
        Some(_) => {
            errors.push(structural(
                "request",
                ErrorKind::WrongType(JsonType::String),
                words,
            ));
            String::new()
        }
    };
    let mut optional: Vec<String> = Vec::new();
    match body.get("optionalItems") {
        None | Some(Value::Null) => {}
        Some(Value::Array(values)) => {
            for (i, value) in values.iter().enumerate() {
                match value.as_str() {
                    Some(id) if !optional.iter().any(|known| known == id) => {
                        optional.push(id.to_owned());
                    }
                    Some(_) => {}
                    None => errors.push(structural(
                        &format!("optionalItems[{i}]"),
                        ErrorKind::WrongType(JsonType::String),
                        words,
                    )),
                }
            }
        }
        Some(_) => errors.push(structural(
            "optionalItems",
            ErrorKind::WrongType(JsonType::Array),
            words,
        )),
    }
    // A confirmation the citizen gave on the screen: absent is false.
    let mut flag = |key: &str| match body.get(key) {
        None | Some(Value::Null) => false,
        Some(Value::Bool(flag)) => *flag,
        Some(_) => {
            errors.push(structural(
                key,
                ErrorKind::WrongType(JsonType::Boolean),
                words,
            ));
            false
        }
    };
    let special_care_confirmed = flag("specialCareConfirmed");
    let research_confirmed = flag("researchConfirmed");
    let renews = match body.get("renews") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) if !id.is_empty() => Some(id.clone()),
        Some(_) => {
            errors.push(structural(
                "renews",
                ErrorKind::WrongType(JsonType::String),
                words,
            ));
            None
        }
    };
    let digest = match body.get("requestDigest") {
        None | Some(Value::Null) => None,
        Some(Value::String(digest)) => Some(digest.clone()),
        Some(_) => {
            errors.push(structural(
                "requestDigest",
                ErrorKind::WrongType(JsonType::String),
                words,
            ));
            None
        }
    };
    if !errors.is_empty() {
        return Err(invalid_choice(errors));
    }
    Ok(StartBody {
        reference,
        optional,
        special_care_confirmed,
        research_confirmed,
        locale: words,
        digest,
        renews,
    })
}

fn invalid_choice(errors: Vec<Value>) -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_request",
        "Invalid authorization",
        format!("The authorization has {} problem(s).", errors.len()),
    )
    .with_errors(errors)
}

/// The items the citizen grants: the required ones and the chosen optional
/// ones, in the request's order. The choice must be a subset of the
/// optional items, and special-care items need the separate confirmation.
fn granted_items(valid: &request::ValidRequest, start: &StartBody) -> Result<Vec<String>, Problem> {
    let request = valid.request();
    let locale = start.locale;
    let errors: Vec<Value> = start
        .optional
        .iter()
        .enumerate()
        .filter(|(_, id)| !request.items.optional.contains(id))
        .map(|(i, id)| {
            custom_error(
                "item_not_offered",
                format!("optionalItems[{i}]"),
                format!("「{id}」は任意の項目として求められていません。"),
                format!("\"{id}\" was not offered as an optional item."),
                locale,
            )
        })
        .collect();
    if !errors.is_empty() {
        return Err(invalid_choice(errors));
    }
    // The same rule as the consent screen.
    let consent = Consent::grant(
        "pending",
        valid,
        &start.optional,
        OffsetDateTime::UNIX_EPOCH,
    )
    .map_err(|e| Problem::internal(&e))?;
    let special: Vec<&String> = consent
        .items
        .iter()
        .filter(|id| {
            catalogue::item(id).is_some_and(|item| item.sensitivity == Sensitivity::SpecialCare)
        })
        .collect();
    if !special.is_empty() && !start.special_care_confirmed {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "special_care_not_confirmed",
            "Special-care items not confirmed",
            "The request includes special-care items (要配慮個人情報) that the citizen must confirm separately.",
        )
        .with("items", special.into_iter().cloned().collect::<Vec<_>>()));
    }
    // Research with medical data: the citizen confirmed it separately,
    // having read the ethics review's approval on the screen.
    if request.health_research_item().is_some() && !start.research_confirmed {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "research_not_confirmed",
            "Research use not confirmed",
            "The request uses medical data for research; the citizen must confirm that separately.",
        ));
    }
    Ok(consent.items)
}

/// The items of a retrieval: the body's `items`, each granted, or every
/// granted item.
fn retrieval_items(
    record: &ConsentRecord,
    body: &Map<String, Value>,
) -> Result<Vec<String>, Problem> {
    let granted = &record.consent.items;
    let invalid = |errors: Vec<Value>| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            "Invalid retrieval",
            "The retrieval names items this consent does not cover.",
        )
        .with_errors(errors)
    };
    let Some(value) = body.get("items").filter(|v| !v.is_null()) else {
        return Ok(granted.clone());
    };
    let Some(values) = value.as_array() else {
        return Err(invalid(vec![ValidationError {
            field: "items".into(),
            kind: ErrorKind::WrongType(JsonType::Array),
        }
        .to_json(record.locale)]));
    };
    let mut items = Vec::new();
    let mut errors = Vec::new();
    for (i, value) in values.iter().enumerate() {
        match value.as_str() {
            Some(id) if granted.iter().any(|g| g == id) => {
                if !items.iter().any(|known: &String| known == id) {
                    items.push(id.to_owned());
                }
            }
            Some(id) => errors.push(custom_error(
                "item_not_granted",
                format!("items[{i}]"),
                format!("「{id}」はこの同意に含まれていません。"),
                format!("\"{id}\" is not covered by this consent."),
                record.locale,
            )),
            None => errors.push(
                ValidationError {
                    field: format!("items[{i}]"),
                    kind: ErrorKind::WrongType(JsonType::String),
                }
                .to_json(record.locale),
            ),
        }
    }
    if !errors.is_empty() || items.is_empty() {
        return Err(invalid(errors));
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_error_codes_are_reflected_only_when_standard() {
        assert_eq!(callback_error_code("access_denied"), "access_denied");
        assert_eq!(callback_error_code("server_error"), "server_error");
        assert_eq!(callback_error_code("<script>"), "authority_error");
        assert_eq!(callback_error_code(&"a".repeat(65)), "authority_error");
        assert_eq!(callback_error_code("made_up_error"), "authority_error");
    }
}
