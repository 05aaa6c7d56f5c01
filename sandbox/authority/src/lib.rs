//! A local stand-in for the Mynaportal API's authorization server: RFC 8414
//! metadata, PAR, the sign-in and consent pages, the token and revocation
//! endpoints, DPoP-bound tokens, the asynchronous retrieval API, per-client
//! rate limits, the lock-out after failed client authentications and the
//! sandbox controls. The contract is in `docs/sandbox.md`.
//!
//! The map of the crate:
//!
//! - [`config`](AuthorityConfig) — the `sandbox.json` shape: settings,
//!   clients, citizens.
//! - `store` — the SQLite tables (`authority_*`) and their migrations;
//!   secrets only as SHA-256.
//! - `secret` — random values, hashes, constant-time comparison, the keyed
//!   derivation of refresh-token successors.
//! - `details` — RFC 9396 `authorization_details` checked against the
//!   catalogue.
//! - `oauth` — `/par`, `/token`, `/revoke`, metadata, client
//!   authentication, access tokens at the resource.
//! - `jws` — compact ES256 JWS, shared by the two below.
//! - `assertion` — `private_key_jwt` client assertions.
//! - `dpop` — DPoP proofs (RFC 9449), the memory of their `jti`s and key
//!   thumbprints.
//! - `pages` and `html` — the sign-in and consent pages.
//! - `retrieval` — the asynchronous retrieval API and its synthetic records.
//! - `rate` — the per-client token bucket.
//! - `lockout` — the lock-out after failed client authentications.
//! - `controls` — the sandbox controls.
//! - [`test_support`] (feature `test-support`) — start an authority on a free
//!   port and drive its pages over plain HTTP.

#![warn(missing_docs)]

mod assertion;
mod config;
mod controls;
mod details;
mod dpop;
mod html;
mod jws;
mod lockout;
mod oauth;
mod pages;
mod rate;
mod records;
mod retrieval;
mod secret;
mod store;

#[cfg(feature = "test-support")]
pub mod test_support;

use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use axum::routing::{get, post};
use axum::Router;
use time::OffsetDateTime;

use crate::dpop::SeenProofs;
use crate::lockout::{Lockout, Peer};
use crate::oauth::OAuthError;
use crate::rate::RateLimiter;
use crate::retrieval::Outcome;
use crate::secret::SuccessorKey;

pub use config::{
    AuthorityConfig, AuthoritySettings, Citizen, ClientAuth, ClientConfig, ClientSecret,
    ConfigError, Jwk, Jwks, Pin,
};

/// Where "now" comes from. The sandbox hands the authority and the operator
/// backend the same clock; tests hand in one they can move.
pub type Clock = Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(OffsetDateTime::now_utc)
}

/// Why the authority could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The SQLite file could not be opened or its tables created.
    #[error("the authority's database failed: {0}")]
    Database(#[from] rusqlite::Error),
}

impl Error {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Database(_) => "database",
        }
    }
}

/// A running authority: configuration, database and clock. Cloning is cheap
/// (an `Arc` inside).
#[derive(Clone)]
pub struct Authority {
    inner: Arc<Inner>,
}

struct Inner {
    config: AuthorityConfig,
    /// One connection is plenty for a sandbox; every query is short.
    db: Mutex<rusqlite::Connection>,
    clock: Clock,
    /// What the sandbox clock control has added to `clock`, in milliseconds.
    offset_ms: AtomicI64,
    controls_enabled: bool,
    limiter: RateLimiter,
    /// Recent failed client authentications.
    lockout: Lockout,
    /// The `jti`s of DPoP proofs already accepted.
    dpop_proofs: SeenProofs,
    /// Derives refresh-token successors; kept in `authority_keys`.
    successor_key: SuccessorKey,
    next_outcome: Mutex<Outcome>,
    /// The pages' Content-Security-Policy, computed once.
    page_csp: String,
}

impl Authority {
    /// Opens (or creates) the authority's tables in the SQLite file at
    /// `db_path`. `controls_enabled` mounts the sandbox controls.
    pub fn open(
        config: AuthorityConfig,
        db_path: &Path,
        clock: Clock,
        controls_enabled: bool,
    ) -> Result<Self, Error> {
        let mut db = rusqlite::Connection::open(db_path)?;
        store::init(&mut db)?;
        let successor_key = SuccessorKey::new(&store::successor_key(&db, &secret::random_key())?);
        let page_csp = page_csp(&config);
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                db: Mutex::new(db),
                clock,
                offset_ms: AtomicI64::new(0),
                controls_enabled,
                limiter: RateLimiter::default(),
                lockout: Lockout::default(),
                dpop_proofs: SeenProofs::default(),
                successor_key,
                next_outcome: Mutex::new(Outcome::Done),
                page_csp,
            }),
        })
    }

    /// The configuration the authority runs with.
    pub fn config(&self) -> &AuthorityConfig {
        &self.inner.config
    }

    /// The issuer identifier, also the base URL of every endpoint.
    pub fn issuer(&self) -> &str {
        &self.inner.config.authority.issuer
    }

    /// "Now" for the authority: the injected clock plus whatever the sandbox
    /// clock control has added.
    pub fn now(&self) -> OffsetDateTime {
        let offset = self.inner.offset_ms.load(Ordering::SeqCst);
        (self.inner.clock)() + time::Duration::milliseconds(offset)
    }

    /// A clock that follows [`Authority::now`]. Hand it to the operator
    /// backend so that `POST /sandbox/clock` moves both together.
    pub fn clock(&self) -> Clock {
        let authority = self.clone();
        Arc::new(move || authority.now())
    }

    /// Moves the authority's clock forward (what `POST /sandbox/clock` does)
    /// and answers the new "now".
    pub fn advance_clock(&self, by: time::Duration) -> OffsetDateTime {
        let ms = i64::try_from(by.whole_milliseconds()).unwrap_or(i64::MAX);
        self.inner.offset_ms.fetch_add(ms, Ordering::SeqCst);
        self.now()
    }

    /// Whether the sandbox controls are mounted.
    pub fn controls_enabled(&self) -> bool {
        self.inner.controls_enabled
    }

    /// The database connection. A panic while it was held cannot leave a
    /// half-written row behind (SQLite rolls back an unfinished
    /// transaction), so a poisoned lock is simply taken over.
    fn db(&self) -> std::sync::MutexGuard<'_, rusqlite::Connection> {
        self.inner
            .db
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Takes one request from the client's rate-limit bucket.
    fn limit(&self, client: &ClientConfig) -> Result<(), OAuthError> {
        let tps = client.tps.unwrap_or(self.inner.config.authority.tps);
        self.inner
            .limiter
            .check(&client.client_id, tps)
            .map_err(OAuthError::rate_limited)
    }

    /// Runs `verify`, the check of credentials that claim `client_id`, from
    /// `peer`, behind the lock-out after failed authentications: refused
    /// with 429 while failures lock the id out, counted when it fails.
    fn behind_lockout<T>(
        &self,
        client_id: &str,
        peer: Peer,
        verify: impl FnOnce() -> Result<T, OAuthError>,
    ) -> Result<T, OAuthError> {
        self.inner
            .lockout
            .attempt(client_id, peer, verify)
            .map_err(OAuthError::locked_out)?
    }

    fn dpop_proofs(&self) -> &SeenProofs {
        &self.inner.dpop_proofs
    }

    fn successor_key(&self) -> &SuccessorKey {
        &self.inner.successor_key
    }

    fn page_csp(&self) -> &str {
        &self.inner.page_csp
    }

    /// The outcome of the next retrieval; later ones end `done` again.
    fn take_next_outcome(&self) -> Outcome {
        let mut next = self
            .inner
            .next_outcome
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        std::mem::take(&mut *next)
    }

    fn set_next_outcome(&self, outcome: Outcome) {
        *self
            .inner
            .next_outcome
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = outcome;
    }
}

/// The CSP of the pages: nothing but the authority's own resources, and
/// forms that may end (through the 303) only at a registered redirect
/// origin.
fn page_csp(config: &AuthorityConfig) -> String {
    let mut origins: Vec<String> = Vec::new();
    for uri in config.clients.iter().flat_map(|c| &c.redirect_uris) {
        if let Ok(url) = url::Url::parse(uri) {
            let origin = url.origin().ascii_serialization();
            if !origins.contains(&origin) {
                origins.push(origin);
            }
        }
    }
    let mut form_action = String::from("'self'");
    for origin in origins {
        form_action.push(' ');
        form_action.push_str(&origin);
    }
    format!(
        "default-src 'self'; style-src 'self'; form-action {form_action}; frame-ancestors 'none'"
    )
}

/// The authority's HTTP routes (metadata, PAR, pages, token, revocation,
/// retrieval, static CSS and, when enabled, the sandbox controls).
///
/// Serve it with `into_make_service_with_connect_info::<SocketAddr>()` so
/// that the lock-out after failed client authentications counts per peer
/// address; without it, failures count per client id alone.
pub fn router(authority: Authority) -> Router {
    let mut router = Router::new()
        .route(
            "/.well-known/oauth-authorization-server",
            get(oauth::metadata),
        )
        .route("/par", post(oauth::par))
        .route("/token", post(oauth::token))
        .route("/revoke", post(oauth::revoke))
        .route("/authorize", get(pages::authorize))
        .route(
            "/authorize/signin",
            get(pages::signin_page).post(pages::signin_submit),
        )
        .route(
            "/authorize/consent",
            get(pages::consent_page).post(pages::consent_submit),
        )
        .route("/static/authority.css", get(pages::stylesheet))
        // Browsers ask for it on every page; an empty answer keeps their
        // consoles free of 404s.
        .route(
            "/favicon.ico",
            get(|| async { axum::http::StatusCode::NO_CONTENT }),
        )
        .route("/retrievals", post(retrieval::start))
        .route("/retrievals/{id}", get(retrieval::poll));
    if authority.controls_enabled() {
        router = router
            .route("/sandbox/clock", post(controls::clock))
            .route("/sandbox/grants", get(controls::grants))
            .route(
                "/sandbox/grants/{grant_id}/compromise",
                post(controls::compromise),
            )
            .route(
                "/sandbox/retrievals/next-outcome",
                post(controls::next_outcome),
            )
            .route(
                "/sandbox/citizens/{citizen_id}/unlock",
                post(controls::unlock),
            );
    }
    router.with_state(authority)
}
