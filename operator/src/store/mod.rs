//! Storage: the narrow [`ConsentStore`] trait that the routes use, and its
//! two implementations, tables prefixed `operator_` in both: SQLite
//! ([`SqliteStore`], the embedded default) and PostgreSQL
//! ([`PostgresStore`], for several instances on one database).
//!
//! The store only ever sees sealed tokens, sealed records, hashed session
//! ids, states and request tokens; sealing and hashing happen before a value
//! reaches it, so neither implementation needs cryptography. Rows
//! belong to an owner key (`session:<hash>` or `user:<id>`, see
//! [`crate::users::Owner`]).

use myna_consent::consent::Consent;
use myna_consent::i18n::Locale;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::users::SessionPolicy;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("the operator database failed: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored value could not be read back.
    #[error("a stored value is corrupt: {0}")]
    Corrupt(String),
    /// A thread panicked while holding the connection.
    #[error("the database connection is unusable after a panic")]
    Poisoned,
    /// The blocking task that ran the query did not finish.
    #[error("the database task failed")]
    Task,
    /// PostgreSQL failed.
    #[error("the operator database failed: {0}")]
    Postgres(#[from] PostgresError),
}

impl StoreError {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "store_sqlite",
            Self::Corrupt(_) => "store_corrupt",
            Self::Poisoned => "store_poisoned",
            Self::Task => "store_task",
            Self::Postgres(_) => "store_postgres",
        }
    }
}

/// A new authorization transaction.
#[derive(Debug, Clone)]
pub struct NewTransaction {
    /// The backend's OAuth client id (scopes all rows).
    pub client_id: String,
    /// Whose transaction it is (owner key).
    pub owner: String,
    /// SHA-256 of the state.
    pub state_hash: String,
    /// The PKCE verifier and the nonce, sealed for the state hash.
    pub sealed_secrets: Vec<u8>,
    /// The consent request as the citizen saw it, as JSON.
    pub request_json: String,
    /// The optional items the citizen chose.
    pub chosen_optional: Vec<String>,
    /// The configured ids of the request's recipients.
    pub recipient_ids: Vec<String>,
    /// The hash of the request token the request came from, which this
    /// transaction uses up.
    pub request_token_hash: Option<String>,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it stops being accepted.
    pub expires_at: OffsetDateTime,
    /// The request's retention in days, for the consent it becomes.
    pub retention_days: Option<u32>,
}

/// An open transaction, just consumed.
#[derive(Debug, Clone)]
pub struct OpenTransaction {
    /// The verifier and nonce, sealed for the state hash.
    pub sealed_secrets: Vec<u8>,
    /// The consent request as the citizen saw it, as JSON.
    pub request_json: String,
    /// The optional items the citizen chose.
    pub chosen_optional: Vec<String>,
    /// The configured ids of the request's recipients.
    pub recipient_ids: Vec<String>,
    /// The request's retention in days.
    pub retention_days: Option<u32>,
}

/// What consuming a transaction found, in the order of the checks.
#[derive(Debug, Clone)]
pub enum TransactionLookup {
    /// No transaction of this session has this state.
    Unknown,
    /// The transaction was already consumed.
    Used,
    /// The transaction is past its life (now consumed).
    Expired,
    /// The transaction was open (now consumed).
    Open(OpenTransaction),
}

/// A consent as stored, with what the answer adds to it.
#[derive(Debug, Clone)]
pub struct ConsentRecord {
    /// The consent; `revoked_at` and `suspended_at` are current.
    pub consent: Consent,
    /// The authority's grant id.
    pub grant_id: Option<String>,
    /// The language of the consent request (and its receipts).
    pub locale: Locale,
    /// When the authority reported the grant expired, if it did so before
    /// the calendar says so.
    pub expired_at: Option<OffsetDateTime>,
    /// When a retrieval last completed.
    pub last_retrieval_at: Option<OffsetDateTime>,
    /// The grant receipt document, as JSON text.
    pub grant_receipt: String,
    /// The revocation receipt document, once revoked.
    pub revocation_receipt: Option<String>,
    /// The configured ids of the consent's recipients, whose webhooks hear
    /// of its revocation.
    pub recipient_ids: Vec<String>,
}

/// Sealed tokens of a consent.
#[derive(Debug, Clone, Default)]
pub struct SealedTokens {
    /// The refresh token, sealed for the consent id.
    pub refresh: Option<Vec<u8>>,
    /// The access token of a one-time consent, sealed for the consent id:
    /// it serves the one retrieval, and stays until the consent is revoked
    /// so that the revocation can reach the authority.
    pub access: Option<Vec<u8>>,
    /// When that access token expires.
    pub access_expires_at: Option<OffsetDateTime>,
}

/// A kept access token, sealed, with when it expires.
pub type KeptAccessToken = (Vec<u8>, Option<OffsetDateTime>);

/// Why a grant ended without the citizen withdrawing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantEnd {
    /// The authority revoked it (compromise or another reason).
    Suspended,
    /// Its period is over.
    Expired,
}

/// How many records one item gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemCount {
    /// Catalogue id.
    pub item: String,
    /// Number of records.
    pub count: usize,
}

/// A retrieval as stored.
#[derive(Debug, Clone)]
pub struct RetrievalRecord {
    /// The backend's id.
    pub id: String,
    /// When it started.
    pub started_at: OffsetDateTime,
    /// When it ended.
    pub finished_at: Option<OffsetDateTime>,
    /// `waiting`, `done`, `error` or `timeout`.
    pub status: String,
    /// Records per granted item, once done.
    pub items: Option<Vec<ItemCount>>,
    /// Why it failed.
    pub error: Option<String>,
}

/// How a retrieval ended.
#[derive(Debug, Clone)]
pub struct RetrievalOutcome {
    /// `done`, `error` or `timeout`.
    pub status: String,
    /// When it ended.
    pub finished_at: OffsetDateTime,
    /// Records per granted item.
    pub items: Option<Vec<ItemCount>>,
    /// The records, sealed for consent id and retrieval id.
    pub sealed_records: Option<Vec<u8>>,
    /// Why it failed.
    pub error: Option<String>,
}

/// A retrieval as it starts: the record the citizen sees, and the job an
/// instance polls, leased so that another resumes it if this one stops.
#[derive(Debug, Clone)]
pub struct NewRetrieval {
    /// The consent.
    pub consent_id: String,
    /// The retrieval's id.
    pub retrieval_id: String,
    /// The backend's client id (jobs are claimed per backend).
    pub client_id: String,
    /// The authority's id of the retrieval.
    pub remote_id: String,
    /// When it started.
    pub started_at: OffsetDateTime,
    /// The access token that polls it, sealed for
    /// `retrieval-access:<consent>/<retrieval>`.
    pub access_sealed: Vec<u8>,
    /// The items asked for.
    pub items: Vec<String>,
    /// The instance that polls it first.
    pub lease_owner: String,
    /// Until when that instance holds it.
    pub lease_until: OffsetDateTime,
    /// When polling gives up (`timeout`).
    pub deadline: OffsetDateTime,
}

/// A waiting retrieval leased to an instance, to be polled.
#[derive(Debug, Clone)]
pub struct RetrievalJob {
    /// The consent.
    pub consent_id: String,
    /// The retrieval's id.
    pub retrieval_id: String,
    /// The authority's id of the retrieval.
    pub remote_id: String,
    /// The sealed access token.
    pub access_sealed: Vec<u8>,
    /// The items asked for.
    pub items: Vec<String>,
    /// When polling gives up.
    pub deadline: OffsetDateTime,
}

/// A linkage's automatic retrievals (期間連携 without a browser).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// The backend's client id.
    pub client_id: String,
    /// The consent's owner.
    pub owner: String,
    /// The consent.
    pub consent_id: String,
    /// When the next automatic retrieval is due; `None`: no more.
    pub next_at: Option<OffsetDateTime>,
    /// Automatic attempts that failed in a row.
    pub failures: u32,
    /// Why the last automatic attempt failed (a stable code).
    pub last_error: Option<String>,
}

/// A new request token: a request definition the operator's server made
/// for one citizen, single-use.
#[derive(Debug, Clone)]
pub struct NewRequestToken {
    /// The backend's OAuth client id.
    pub client_id: String,
    /// SHA-256 of the token.
    pub token_hash: String,
    /// The request definition (terms, recipients by id), as JSON.
    pub definition_json: String,
    /// The operator's user the token is for, if bound to one.
    pub subject: Option<String>,
    /// When it was made.
    pub created_at: OffsetDateTime,
    /// When it stops working.
    pub expires_at: OffsetDateTime,
}

/// A request token as stored.
#[derive(Debug, Clone)]
pub struct StoredRequestToken {
    /// The request definition, as JSON.
    pub definition_json: String,
    /// The operator's user the token is for, if bound to one.
    pub subject: Option<String>,
    /// When it stops working.
    pub expires_at: OffsetDateTime,
    /// Whether an authorization already used it.
    pub used: bool,
}

/// An event for a recipient, written with the revocation that causes it.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    /// The delivery's id (`webhook-id`, the same on every attempt).
    pub id: String,
    /// The consent.
    pub consent_id: String,
    /// The recipient's configured id.
    pub recipient_id: String,
    /// Where it goes.
    pub url: String,
    /// The event, as JSON text (signed as it is).
    pub body: String,
}

/// A delivery that is due.
#[derive(Debug, Clone)]
pub struct DueWebhook {
    /// The delivery's id.
    pub id: String,
    /// The recipient's configured id.
    pub recipient_id: String,
    /// Where it goes.
    pub url: String,
    /// The event, as JSON text.
    pub body: String,
    /// Attempts so far.
    pub attempts: u32,
}

/// What became of one delivery attempt.
#[derive(Debug, Clone)]
pub enum WebhookAttempt {
    /// The recipient answered 2xx.
    Delivered,
    /// It failed; try again at this instant.
    Retry(OffsetDateTime, String),
    /// It failed for the last time.
    GiveUp(String),
}

/// What a sweep removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Authorization transactions past their end (abandoned or used).
    pub transactions: usize,
    /// Sessions past their idle or maximum age.
    pub sessions: usize,
    /// Request tokens past their end.
    pub request_tokens: usize,
}

/// The kinds of sealed values, in the order
/// [`ConsentStore::sealed_values`] pages through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SealedKind {
    /// A linkage's refresh token.
    RefreshToken,
    /// A one-time consent's kept access token.
    AccessToken,
    /// An open transaction's PKCE verifier and nonce.
    TransactionSecrets,
    /// A waiting retrieval's access token.
    RetrievalAccessToken,
    /// A finished retrieval's records.
    RetrievalRecords,
}

impl SealedKind {
    /// Every kind, in paging order.
    pub const ALL: [Self; 5] = [
        Self::RefreshToken,
        Self::AccessToken,
        Self::TransactionSecrets,
        Self::RetrievalAccessToken,
        Self::RetrievalRecords,
    ];

    /// The kind's name in counts, logs and the audit event.
    pub fn name(self) -> &'static str {
        match self {
            Self::RefreshToken => "refresh_tokens",
            Self::AccessToken => "access_tokens",
            Self::TransactionSecrets => "transaction_secrets",
            Self::RetrievalAccessToken => "retrieval_access_tokens",
            Self::RetrievalRecords => "retrieval_records",
        }
    }
}

/// Where a sealed value lives, with the ids its owner string (the
/// associated data it is sealed for) is made of.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SealedRef {
    /// A consent's refresh token, sealed for the consent id.
    RefreshToken {
        /// The consent.
        consent_id: String,
    },
    /// A consent's kept access token, sealed for the consent id.
    AccessToken {
        /// The consent.
        consent_id: String,
    },
    /// A transaction's secrets, sealed for `transaction:<state hash>`.
    TransactionSecrets {
        /// SHA-256 of the state.
        state_hash: String,
    },
    /// A waiting retrieval's access token, sealed for
    /// `retrieval-access:<consent>/<retrieval>`.
    RetrievalAccessToken {
        /// The consent.
        consent_id: String,
        /// The retrieval.
        retrieval_id: String,
    },
    /// A retrieval's records, sealed for `<consent>/<retrieval>`.
    RetrievalRecords {
        /// The consent.
        consent_id: String,
        /// The retrieval.
        retrieval_id: String,
    },
}

impl SealedRef {
    /// The value of `kind` in the row whose key is `key` (a consent id, a
    /// state hash or a retrieval id), of the consent `consent_id` where the
    /// row is a retrieval's.
    pub(crate) fn from_row(kind: SealedKind, key: String, consent_id: String) -> Self {
        match kind {
            SealedKind::RefreshToken => Self::RefreshToken { consent_id: key },
            SealedKind::AccessToken => Self::AccessToken { consent_id: key },
            SealedKind::TransactionSecrets => Self::TransactionSecrets { state_hash: key },
            SealedKind::RetrievalAccessToken => Self::RetrievalAccessToken {
                consent_id,
                retrieval_id: key,
            },
            SealedKind::RetrievalRecords => Self::RetrievalRecords {
                consent_id,
                retrieval_id: key,
            },
        }
    }

    /// The key of the row the value lives in, which the stores page by.
    pub(crate) fn row_key(&self) -> &str {
        match self {
            Self::RefreshToken { consent_id } | Self::AccessToken { consent_id } => consent_id,
            Self::TransactionSecrets { state_hash } => state_hash,
            Self::RetrievalAccessToken { retrieval_id, .. }
            | Self::RetrievalRecords { retrieval_id, .. } => retrieval_id,
        }
    }

    /// The kind of value.
    pub fn kind(&self) -> SealedKind {
        match self {
            Self::RefreshToken { .. } => SealedKind::RefreshToken,
            Self::AccessToken { .. } => SealedKind::AccessToken,
            Self::TransactionSecrets { .. } => SealedKind::TransactionSecrets,
            Self::RetrievalAccessToken { .. } => SealedKind::RetrievalAccessToken,
            Self::RetrievalRecords { .. } => SealedKind::RetrievalRecords,
        }
    }
}

/// A sealed value as stored, with where it lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedValue {
    /// Where it lives.
    pub at: SealedRef,
    /// The sealed bytes.
    pub sealed: Vec<u8>,
}

/// What the operator backend stores, and nothing more: sessions (hashed),
/// transactions, consents with sealed tokens and receipts, retrievals,
/// request tokens (hashed) and webhook deliveries. Everything is scoped by
/// the backend's client id, because several backends share one store, and
/// by the owner key where a citizen's data is concerned.
pub trait ConsentStore: Send + Sync {
    /// Whether the store answers at all (readiness).
    fn ping(&self) -> Result<(), StoreError>;

    /// Records a new session (by hash).
    fn create_session(
        &self,
        client_id: &str,
        session_hash: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Whether the session exists and is alive under `policy` (not idle
    /// for too long, not too old); a live session is marked as used now.
    fn touch_session(
        &self,
        client_id: &str,
        session_hash: &str,
        now: OffsetDateTime,
        policy: SessionPolicy,
    ) -> Result<bool, StoreError>;

    /// Stores a new transaction and, in the same database transaction, uses
    /// up its request token. False (and nothing stored) when the token was
    /// already used.
    fn insert_transaction(&self, transaction: &NewTransaction) -> Result<bool, StoreError>;

    /// Looks a transaction up by state for this owner and consumes it,
    /// atomically, so two callbacks cannot both use it. A state of another
    /// owner is [`TransactionLookup::Unknown`] and is left alone.
    fn consume_transaction(
        &self,
        client_id: &str,
        owner: &str,
        state_hash: &str,
        now: OffsetDateTime,
    ) -> Result<TransactionLookup, StoreError>;

    /// Stores a new consent with its sealed tokens and grant receipt, in one
    /// transaction.
    fn insert_consent(
        &self,
        client_id: &str,
        owner: &str,
        record: &ConsentRecord,
        tokens: &SealedTokens,
    ) -> Result<(), StoreError>;

    /// The owner's consents, newest first.
    fn consents(&self, client_id: &str, owner: &str) -> Result<Vec<ConsentRecord>, StoreError>;

    /// One consent of the owner.
    fn consent(
        &self,
        client_id: &str,
        owner: &str,
        consent_id: &str,
    ) -> Result<Option<ConsentRecord>, StoreError>;

    /// The consent's sealed tokens.
    fn tokens(&self, consent_id: &str) -> Result<SealedTokens, StoreError>;

    /// Replaces the sealed refresh token `old` by `new` and records the
    /// refresh, in one transaction. False (and no change) when `old` is no
    /// longer the stored token.
    fn rotate_refresh_token(
        &self,
        consent_id: &str,
        old: &[u8],
        new: &[u8],
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Takes the right to refresh a consent's token for `instance` until
    /// `until`: `false` while another instance holds it. Refreshes are
    /// serialised through the database, because two instances presenting
    /// the same single-use refresh token would make the authority end the
    /// grant. An instance that dies frees it when `until` passes.
    fn lease_refresh(
        &self,
        consent_id: &str,
        instance: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Gives the right to refresh back.
    fn release_refresh(&self, consent_id: &str, instance: &str) -> Result<(), StoreError>;

    /// Consents of the client whose right to refresh was taken and never
    /// given back (its instance died mid-refresh, or the refresh's answer
    /// was lost), and has run out at `now`: `(consent id, owner)`, at most
    /// `limit`. Their refresh token may already have been rotated at the
    /// authority, so it is worth presenting again within its reuse grace.
    fn abandoned_refreshes(
        &self,
        client_id: &str,
        now: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<(String, String)>, StoreError>;

    /// Sets how long a consent's retrieved data is kept: `days` after the
    /// consent ends, which is its withdrawal, suspension or expiry, or
    /// `ends_at` (a linkage's last day, a one-time consent's grant),
    /// whichever comes first.
    fn set_retention(
        &self,
        consent_id: &str,
        days: u32,
        ends_at: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Deletes the retrieved records of the client's consents whose
    /// retention has passed at `now`; answers how many retrievals lost
    /// their records.
    fn purge_records(&self, client_id: &str, now: OffsetDateTime) -> Result<usize, StoreError>;

    /// Records that `instance` of the client's backend is alive at `now`,
    /// forgets instances not seen since `stale_before`, and answers how
    /// many are alive, itself included: the fleet shares the authority's
    /// per-client TPS among them.
    fn heartbeat(
        &self,
        client_id: &str,
        instance: &str,
        now: OffsetDateTime,
        stale_before: OffsetDateTime,
    ) -> Result<usize, StoreError>;

    /// Claims the sealed access token of a one-time consent for its one
    /// retrieval: answers it once, and never again. The token stays stored
    /// for the revocation.
    fn claim_access_token(
        &self,
        consent_id: &str,
        now: OffsetDateTime,
    ) -> Result<Option<KeptAccessToken>, StoreError>;

    /// Marks a grant ended by the authority and deletes its tokens.
    fn end_grant(
        &self,
        consent_id: &str,
        end: GrantEnd,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Marks the consent revoked, deletes its tokens, stores the revocation
    /// receipt and queues the recipients' events, once, in one transaction:
    /// answers the receipt that holds (an earlier one if the consent was
    /// already revoked, and then queues nothing).
    fn revoke(
        &self,
        consent_id: &str,
        revoked_at: OffsetDateTime,
        receipt: &str,
        webhooks: &[NewWebhook],
    ) -> Result<String, StoreError>;

    /// Records a started retrieval.
    fn insert_retrieval(&self, retrieval: &NewRetrieval) -> Result<(), StoreError>;

    /// Leases to `instance`, until `lease_until`, at most `limit` retrievals
    /// of the client that are still waiting and whose lease has run out
    /// (their instance stopped or crashed), and answers them to be resumed.
    fn claim_retrievals(
        &self,
        client_id: &str,
        instance: &str,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<RetrievalJob>, StoreError>;

    /// Extends `instance`'s lease on a waiting retrieval; `false` when the
    /// retrieval ended or another instance holds it now.
    fn extend_retrieval_lease(
        &self,
        retrieval_id: &str,
        instance: &str,
        lease_until: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Records how a retrieval ended (and, when done, the consent's last
    /// retrieval).
    /// Answers `false`, changing nothing, when it had already ended: a
    /// retrieval ends once, whichever instance polled it. The job's sealed
    /// access token and lease go with the end.
    fn finish_retrieval(
        &self,
        consent_id: &str,
        retrieval_id: &str,
        outcome: &RetrievalOutcome,
    ) -> Result<bool, StoreError>;

    /// The consent's retrievals, newest first.
    fn retrievals(&self, consent_id: &str) -> Result<Vec<RetrievalRecord>, StoreError>;

    /// One retrieval of the consent.
    fn retrieval(
        &self,
        consent_id: &str,
        retrieval_id: &str,
    ) -> Result<Option<RetrievalRecord>, StoreError>;

    /// Sets when a linkage's next automatic retrieval is due, how many
    /// automatic attempts in a row failed and why the last did; `None`
    /// ends the schedule (the consent ended).
    fn set_schedule(&self, schedule: &Schedule) -> Result<(), StoreError>;

    /// Claims at most `limit` linkages of the client whose automatic
    /// retrieval is due, moving their due time to `hold_until` so that no
    /// other instance takes them meanwhile.
    fn claim_due_schedules(
        &self,
        client_id: &str,
        now: OffsetDateTime,
        hold_until: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<Schedule>, StoreError>;

    /// The schedules of an owner's consents.
    fn schedules(&self, client_id: &str, owner: &str) -> Result<Vec<Schedule>, StoreError>;

    /// Stores a new request token.
    fn insert_request_token(&self, token: &NewRequestToken) -> Result<(), StoreError>;

    /// A request token by hash.
    fn request_token(
        &self,
        client_id: &str,
        token_hash: &str,
    ) -> Result<Option<StoredRequestToken>, StoreError>;

    /// Claims the deliveries whose next attempt is due, oldest first: each
    /// is leased until `lease_until` (its next attempt moves there), so two
    /// runners (the upkeep and a revocation, or two instances) never send
    /// the same attempt twice. A runner that dies leaves it due again then.
    fn claim_due_webhooks(
        &self,
        client_id: &str,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<DueWebhook>, StoreError>;

    /// Records an attempt of a delivery.
    fn record_webhook_attempt(
        &self,
        id: &str,
        now: OffsetDateTime,
        attempt: &WebhookAttempt,
    ) -> Result<(), StoreError>;

    /// Removes what no check needs any more: transactions a day past their
    /// end, sessions past `policy` (when sessions are in use), request
    /// tokens a day past their end.
    fn sweep(
        &self,
        client_id: &str,
        now: OffsetDateTime,
        policy: Option<SessionPolicy>,
    ) -> Result<Swept, StoreError>;

    /// Every stored sealed value (consents' refresh and kept access tokens,
    /// open transactions' secrets, waiting retrievals' access tokens,
    /// retrievals' records) of every backend, at most `limit` at a time in
    /// a fixed order ([`SealedKind::ALL`], then by row): the page after
    /// `after` (the last value of the previous page), or the first page.
    /// Re-sealing under a new key pages through them.
    fn sealed_values(
        &self,
        after: Option<&SealedRef>,
        limit: usize,
    ) -> Result<Vec<SealedValue>, StoreError>;

    /// Replaces the sealed value at `at` by `new` only while it still holds
    /// `old` (compare-and-swap): `false`, changing nothing, when a running
    /// instance rotated, consumed or deleted it meanwhile.
    fn replace_sealed(&self, at: &SealedRef, old: &[u8], new: &[u8]) -> Result<bool, StoreError>;
}

mod sqlite;
pub use sqlite::SqliteStore;
mod postgres;
pub use postgres::{PostgresError, PostgresOptions, PostgresStore};

#[cfg(test)]
mod suite;
