//! The reference operator backend: the operator-backend contract of
//! myna-consent over a generic OAuth 2.0 client, with every token kept
//! server-side and sealed at rest. The contract is in `docs/sandbox.md`.
//!
//! The map of the crate:
//!
//! - [`config`](OperatorConfig) — the `operators` entries of `sandbox.json`:
//!   the operator's identity, its requests and recipients, how it signs
//!   citizens in, its limits.
//! - [`requests`](RequestCatalogue) — consent requests defined on the
//!   server (configured, or by a request token), validated by the domain.
//! - [`users`](Owner) — who the citizen is: the operator's JWT, a gateway
//!   header from trusted proxies, or an anonymous session.
//! - [`operator`](Operator) — one backend: the authorization transaction,
//!   the callback checks, consents, receipts, revocation, retrievals,
//!   upkeep.
//! - `routes` — the HTTP contract ([`router`]): caller, CSRF check, JSON
//!   shapes, problem answers.
//! - `limits` — starts per citizen and per address, and the operator's
//!   share of the authority's TPS with citizens' calls first.
//! - [`webhooks`](WebhookTarget) — signed revocation events to recipients.
//! - `oauth` — the OAuth client: discovery, PAR, code exchange, refresh,
//!   revocation, the retrieval API; retries only where no single-use
//!   grant can be spent twice.
//! - `proof` — what the backend signs: `private_key_jwt` assertions and
//!   DPoP proofs.
//! - `id_token` — ID token validation when the scopes include `openid`.
//! - [`seal`](KeyRing) — the key ring (key ids, one active key) and
//!   AES-256-GCM sealing with the key id in every value.
//! - [`reseal`] — `myna-operator reseal`: every sealed value moved to the
//!   active key, compare-and-swap, while instances run.
//! - [`store`](ConsentStore) — the storage trait and its SQLite and
//!   PostgreSQL implementations.
//! - `secret` — secret values as types whose `Debug` is `[redacted]`.
//! - `problem` — RFC 9457 problem answers.
//! - [`audit`] — one log event per grant, retrieval and revocation.
//! - [`service`] — the `myna-operator` binary's configuration file, health
//!   routes and serving until a stop signal.

pub mod audit;
mod config;
mod id_token;
mod limits;
pub mod oauth;
mod operator;
mod problem;
pub mod proof;
pub mod receipts;
mod requests;
pub mod reseal;
mod routes;
mod seal;
mod secret;
pub mod service;
mod store;
mod users;
mod webhooks;

pub use config::{configs_from_json, ConfigError, Limits, OperatorConfig};
pub use operator::Operator;
pub use problem::Problem;
pub use requests::{CompiledRequest, DefinitionProblem, Mode, RequestCatalogue};
pub use routes::router;
pub use seal::{
    sealed_key_id, KeyError, KeyRing, RingKey, SealError, TokenKey, DEFAULT_KEY_ID, KEY_ENV,
    KEY_FILE,
};
pub use secret::{
    AccessToken, AuthorizationCode, ClientSecret, Nonce, PkceVerifier, RefreshToken, RequestToken,
    ServerApiKey, SessionId, State, TOKEN_PREFIX,
};
pub use store::{
    ConsentRecord, ConsentStore, DueWebhook, GrantEnd, ItemCount, KeptAccessToken, NewRequestToken,
    NewRetrieval, NewTransaction, NewWebhook, OpenTransaction, PostgresError, PostgresOptions,
    PostgresStore, RetrievalJob, RetrievalOutcome, RetrievalRecord, Schedule, SealedKind,
    SealedRef, SealedTokens, SealedValue, SqliteStore, StoreError, StoredRequestToken, Swept,
    TransactionLookup, WebhookAttempt,
};
pub use users::{IdentityError, Owner, SessionPolicy, UserSource};
pub use webhooks::{WebhookTarget, RETRY_DELAYS};

/// Where "now" comes from. The sandbox hands the authority and every backend
/// the same clock, so moving it moves "now" for all of them.
pub type Clock = std::sync::Arc<dyn Fn() -> time::OffsetDateTime + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    std::sync::Arc::new(time::OffsetDateTime::now_utc)
}
