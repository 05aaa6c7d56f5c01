//! The reference operator backend: the operator-backend contract of
//! myna-consent over a generic OAuth 2.0 client, with every token kept
//! server-side and sealed at rest. The contract is in `docs/sandbox.md`.
//!
//! The map of the crate:
//!
//! - [`config`](OperatorConfig) — the `operators` entries of `sandbox.json`.
//! - [`operator`](Operator) — one backend: the authorization transaction,
//!   the callback checks, consents, receipts, revocation, retrievals.
//! - `routes` — the HTTP contract ([`router`]): session cookie, CSRF check,
//!   JSON shapes, problem answers.
//! - `oauth` — the OAuth client: discovery, PAR, code exchange, refresh,
//!   revocation, the retrieval API; retries on 429 and 5xx.
//! - [`seal`](TokenKey) — the token key and AES-256-GCM sealing.
//! - [`store`](ConsentStore) — the storage trait and its SQLite
//!   implementation.
//! - `secret` — secret values as types whose `Debug` is `[redacted]`.
//! - `problem` — RFC 9457 problem answers.

mod config;
pub mod oauth;
mod operator;
mod problem;
mod routes;
mod seal;
mod secret;
mod store;

pub use config::{configs_from_json, ConfigError, OperatorConfig};
pub use operator::Operator;
pub use problem::Problem;
pub use routes::router;
pub use seal::{KeyError, SealError, TokenKey, KEY_ENV, KEY_FILE};
pub use secret::{
    AccessToken, AuthorizationCode, ClientSecret, Nonce, PkceVerifier, RefreshToken, SessionId,
    State,
};
pub use store::{
    ConsentRecord, ConsentStore, GrantEnd, ItemCount, KeptAccessToken, NewTransaction,
    OpenTransaction, RetrievalOutcome, RetrievalRecord, SealedTokens, SqliteStore, StoreError,
    TransactionLookup,
};

/// Where "now" comes from. The sandbox hands the authority and every backend
/// the same clock, so moving it moves "now" for all of them.
pub type Clock = std::sync::Arc<dyn Fn() -> time::OffsetDateTime + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    std::sync::Arc::new(time::OffsetDateTime::now_utc)
}
