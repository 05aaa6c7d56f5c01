//! Storage: the narrow [`ConsentStore`] trait that the routes use, and its
//! SQLite implementation ([`SqliteStore`], tables prefixed `operator_`).
//!
//! The store only ever sees sealed tokens, sealed records, hashed session
//! ids, states and request tokens; sealing and hashing happen before a value
//! reaches it, so a PostgreSQL implementation needs no cryptography. Rows
//! belong to an owner key (`session:<hash>` or `user:<id>`, see
//! [`crate::users::Owner`]).

use std::path::Path;
use std::sync::Mutex;

use myna_consent::consent::Consent;
use myna_consent::i18n::Locale;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
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
}

impl StoreError {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "store_sqlite",
            Self::Corrupt(_) => "store_corrupt",
            Self::Poisoned => "store_poisoned",
            Self::Task => "store_task",
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
    fn insert_retrieval(
        &self,
        consent_id: &str,
        retrieval_id: &str,
        remote_id: &str,
        started_at: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Records how a retrieval ended (and, when done, the consent's last
    /// retrieval).
    fn finish_retrieval(
        &self,
        consent_id: &str,
        retrieval_id: &str,
        outcome: &RetrievalOutcome,
    ) -> Result<(), StoreError>;

    /// The consent's retrievals, newest first.
    fn retrievals(&self, consent_id: &str) -> Result<Vec<RetrievalRecord>, StoreError>;

    /// One retrieval of the consent.
    fn retrieval(
        &self,
        consent_id: &str,
        retrieval_id: &str,
    ) -> Result<Option<RetrievalRecord>, StoreError>;

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
}

/// The SQLite implementation, in the sandbox's shared file.
pub struct SqliteStore {
    connection: Mutex<Connection>,
}

/// The tables as the first release made them; [`MIGRATIONS`] bring them up
/// to date, in order, once each.
const SCHEMA_V0: &str = "
CREATE TABLE IF NOT EXISTS operator_sessions (
    client_id TEXT NOT NULL,
    session_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (client_id, session_hash)
);
CREATE TABLE IF NOT EXISTS operator_transactions (
    state_hash TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    session_hash TEXT NOT NULL,
    sealed_secrets BLOB NOT NULL,
    request_json TEXT NOT NULL,
    chosen_optional TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);
CREATE TABLE IF NOT EXISTS operator_consents (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    session_hash TEXT NOT NULL,
    consent_json TEXT NOT NULL,
    grant_id TEXT,
    locale TEXT NOT NULL,
    revoked_at TEXT,
    suspended_at TEXT,
    expired_at TEXT,
    last_retrieval_at TEXT,
    refresh_sealed BLOB,
    access_sealed BLOB,
    access_expires_at TEXT,
    grant_receipt TEXT NOT NULL,
    revocation_receipt TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS operator_consents_by_session
    ON operator_consents (client_id, session_hash);
CREATE TABLE IF NOT EXISTS operator_refreshes (
    consent_id TEXT NOT NULL REFERENCES operator_consents (id),
    refreshed_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS operator_retrievals (
    id TEXT PRIMARY KEY,
    consent_id TEXT NOT NULL REFERENCES operator_consents (id),
    remote_id TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL,
    items_json TEXT,
    records_sealed BLOB,
    error TEXT
);
CREATE INDEX IF NOT EXISTS operator_retrievals_by_consent
    ON operator_retrievals (consent_id, started_at);
CREATE TABLE IF NOT EXISTS operator_schema (version INTEGER NOT NULL);
";

/// Each migration runs once, in one transaction with the version bump.
const MIGRATIONS: [&str; 1] = [
    // 1: consents and transactions belong to an owner (a session or the
    // operator's user), sessions expire on the server, one-time access
    // tokens stay for the revocation, request tokens, webhook outbox.
    "
    ALTER TABLE operator_sessions ADD COLUMN last_seen_at TEXT;
    ALTER TABLE operator_transactions RENAME COLUMN session_hash TO owner;
    UPDATE operator_transactions SET owner = 'session:' || owner;
    ALTER TABLE operator_transactions ADD COLUMN recipient_ids TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE operator_transactions ADD COLUMN request_token_hash TEXT;
    ALTER TABLE operator_consents RENAME COLUMN session_hash TO owner;
    UPDATE operator_consents SET owner = 'session:' || owner;
    ALTER TABLE operator_consents ADD COLUMN recipient_ids TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE operator_consents ADD COLUMN access_claimed_at TEXT;
    CREATE TABLE operator_request_tokens (
        token_hash TEXT PRIMARY KEY,
        client_id TEXT NOT NULL,
        definition_json TEXT NOT NULL,
        subject TEXT,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        used_at TEXT
    );
    CREATE TABLE operator_webhooks (
        id TEXT PRIMARY KEY,
        client_id TEXT NOT NULL,
        consent_id TEXT NOT NULL REFERENCES operator_consents (id),
        recipient_id TEXT NOT NULL,
        url TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT,
        delivered_at TEXT,
        failed_at TEXT,
        last_error TEXT
    );
    CREATE INDEX operator_webhooks_due ON operator_webhooks (client_id, next_attempt_at);
    ",
];

/// Instants are stored as RFC 3339 in UTC with whole seconds, so that text
/// order is time order.
fn instant(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(at)
        .format(&Rfc3339)
        .unwrap_or_default()
}

fn parse_instant(text: &str) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|_| StoreError::Corrupt(format!("instant {text}")))
}

fn parse_optional_instant(text: Option<String>) -> Result<Option<OffsetDateTime>, StoreError> {
    text.as_deref().map(parse_instant).transpose()
}

fn corrupt(what: &str) -> impl Fn(serde_json::Error) -> StoreError + '_ {
    move |e| StoreError::Corrupt(format!("{what}: {e}"))
}

const CONSENT_COLUMNS: &str = "consent_json, grant_id, locale, revoked_at, suspended_at, \
    expired_at, last_retrieval_at, grant_receipt, revocation_receipt, recipient_ids";

type ConsentRow = (
    String,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
    String,
);

fn consent_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ConsentRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
        row.get(8)?,
        row.get(9)?,
    ))
}

fn consent_record(row: ConsentRow) -> Result<ConsentRecord, StoreError> {
    let (
        json,
        grant_id,
        locale,
        revoked,
        suspended,
        expired,
        last,
        grant_receipt,
        revocation,
        recipient_ids,
    ) = row;
    let mut consent: Consent = serde_json::from_str(&json).map_err(corrupt("consent"))?;
    consent.revoked_at = parse_optional_instant(revoked)?;
    consent.suspended_at = parse_optional_instant(suspended)?;
    Ok(ConsentRecord {
        consent,
        grant_id,
        locale: Locale::from_code(&locale).unwrap_or_default(),
        expired_at: parse_optional_instant(expired)?,
        last_retrieval_at: parse_optional_instant(last)?,
        grant_receipt,
        revocation_receipt: revocation,
        recipient_ids: serde_json::from_str(&recipient_ids).map_err(corrupt("recipient ids"))?,
    })
}

type RetrievalRow = (
    String,
    String,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
);

const RETRIEVAL_COLUMNS: &str = "id, started_at, finished_at, status, items_json, error";

fn retrieval_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RetrievalRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
    ))
}

fn retrieval_record(row: RetrievalRow) -> Result<RetrievalRecord, StoreError> {
    let (id, started, finished, status, items, error) = row;
    Ok(RetrievalRecord {
        id,
        started_at: parse_instant(&started)?,
        finished_at: parse_optional_instant(finished)?,
        status,
        items: items
            .map(|text| serde_json::from_str(&text).map_err(corrupt("retrieval items")))
            .transpose()?,
        error,
    })
}

impl SqliteStore {
    /// Opens (or creates) the `operator_` tables in the SQLite file at
    /// `db_path`, and brings them up to date. The authority uses the same
    /// file through its own connection, so the file is put in WAL mode
    /// (readers never block the writer) with a busy timeout. Retrievals left
    /// waiting by a previous run are marked `error` (`interrupted`): their
    /// pollers died with it.
    pub fn open(db_path: &Path) -> Result<Self, StoreError> {
        let mut connection = Connection::open(db_path)?;
        connection.busy_timeout(std::time::Duration::from_secs(5))?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "foreign_keys", "ON")?;
        connection.pragma_update(None, "synchronous", "NORMAL")?;
        connection.execute_batch(SCHEMA_V0)?;
        migrate(&mut connection)?;
        connection.execute(
            "UPDATE operator_retrievals SET status = 'error', error = 'interrupted' \
             WHERE status = 'waiting'",
            [],
        )?;
        Ok(Self {
            connection: Mutex::new(connection),
        })
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut connection = self.connection.lock().map_err(|_| StoreError::Poisoned)?;
        f(&mut connection)
    }
}

/// Runs the migrations the file has not had, each with its version bump in
/// one transaction (a second process opening the file waits, then finds
/// the work done).
fn migrate(connection: &mut Connection) -> Result<(), StoreError> {
    let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: Option<i64> = tx
        .query_row("SELECT MAX(version) FROM operator_schema", [], |row| {
            row.get(0)
        })
        .optional()?
        .flatten();
    let done = usize::try_from(version.unwrap_or(0)).unwrap_or(0);
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(done) {
        tx.execute_batch(migration)?;
        tx.execute("DELETE FROM operator_schema", [])?;
        tx.execute(
            "INSERT INTO operator_schema (version) VALUES (?1)",
            params![i64::try_from(index + 1).unwrap_or(i64::MAX)],
        )?;
    }
    tx.commit()?;
    Ok(())
}

impl ConsentStore for SqliteStore {
    fn ping(&self) -> Result<(), StoreError> {
        self.with(|c| {
            c.query_row("SELECT 1", [], |_| Ok(()))?;
            Ok(())
        })
    }

    fn create_session(
        &self,
        client_id: &str,
        session_hash: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "INSERT OR IGNORE INTO operator_sessions \
                 (client_id, session_hash, created_at, last_seen_at) VALUES (?1, ?2, ?3, ?3)",
                params![client_id, session_hash, instant(now)],
            )?;
            Ok(())
        })
    }

    fn touch_session(
        &self,
        client_id: &str,
        session_hash: &str,
        now: OffsetDateTime,
        policy: SessionPolicy,
    ) -> Result<bool, StoreError> {
        self.with(|c| {
            let row = c
                .query_row(
                    "SELECT created_at, COALESCE(last_seen_at, created_at) FROM operator_sessions \
                     WHERE client_id = ?1 AND session_hash = ?2",
                    params![client_id, session_hash],
                    |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)),
                )
                .optional()?;
            let Some((created, seen)) = row else {
                return Ok(false);
            };
            let (created, seen) = (parse_instant(&created)?, parse_instant(&seen)?);
            if now - seen >= policy.idle || now - created >= policy.max {
                return Ok(false);
            }
            // One write a minute at most, not one per call.
            if now - seen >= time::Duration::minutes(1) {
                c.execute(
                    "UPDATE operator_sessions SET last_seen_at = ?3 \
                     WHERE client_id = ?1 AND session_hash = ?2",
                    params![client_id, session_hash, instant(now)],
                )?;
            }
            Ok(true)
        })
    }

    fn insert_transaction(&self, t: &NewTransaction) -> Result<bool, StoreError> {
        let chosen = serde_json::to_string(&t.chosen_optional).map_err(corrupt("chosen"))?;
        let recipients = serde_json::to_string(&t.recipient_ids).map_err(corrupt("recipients"))?;
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if let Some(token_hash) = &t.request_token_hash {
                let used = tx.execute(
                    "UPDATE operator_request_tokens SET used_at = ?1 \
                     WHERE token_hash = ?2 AND client_id = ?3 AND used_at IS NULL",
                    params![instant(t.created_at), token_hash, t.client_id],
                )?;
                if used != 1 {
                    return Ok(false);
                }
            }
            tx.execute(
                "INSERT INTO operator_transactions (state_hash, client_id, owner, \
                 sealed_secrets, request_json, chosen_optional, recipient_ids, \
                 request_token_hash, created_at, expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    t.state_hash,
                    t.client_id,
                    t.owner,
                    t.sealed_secrets,
                    t.request_json,
                    chosen,
                    recipients,
                    t.request_token_hash,
                    instant(t.created_at),
                    instant(t.expires_at)
                ],
            )?;
            tx.commit()?;
            Ok(true)
        })
    }

    fn consume_transaction(
        &self,
        client_id: &str,
        owner: &str,
        state_hash: &str,
        now: OffsetDateTime,
    ) -> Result<TransactionLookup, StoreError> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let row = tx
                .query_row(
                    "SELECT used_at, expires_at, sealed_secrets, request_json, chosen_optional, \
                     recipient_ids FROM operator_transactions \
                     WHERE state_hash = ?1 AND client_id = ?2 AND owner = ?3",
                    params![state_hash, client_id, owner],
                    |row| {
                        Ok((
                            row.get::<_, Option<String>>(0)?,
                            row.get::<_, String>(1)?,
                            row.get::<_, Vec<u8>>(2)?,
                            row.get::<_, String>(3)?,
                            row.get::<_, String>(4)?,
                            row.get::<_, String>(5)?,
                        ))
                    },
                )
                .optional()?;
            let Some((used_at, expires_at, sealed_secrets, request_json, chosen, recipients)) = row
            else {
                return Ok(TransactionLookup::Unknown);
            };
            if used_at.is_some() {
                return Ok(TransactionLookup::Used);
            }
            // Consumed on the first complete attempt, whatever its outcome;
            // the verifier is wiped at the same time, as nothing may use it
            // again.
            tx.execute(
                "UPDATE operator_transactions SET used_at = ?1, sealed_secrets = X'' \
                 WHERE state_hash = ?2",
                params![instant(now), state_hash],
            )?;
            tx.commit()?;
            if now >= parse_instant(&expires_at)? {
                return Ok(TransactionLookup::Expired);
            }
            Ok(TransactionLookup::Open(OpenTransaction {
                sealed_secrets,
                request_json,
                chosen_optional: serde_json::from_str(&chosen).map_err(corrupt("chosen"))?,
                recipient_ids: serde_json::from_str(&recipients).map_err(corrupt("recipients"))?,
            }))
        })
    }

    fn insert_consent(
        &self,
        client_id: &str,
        owner: &str,
        record: &ConsentRecord,
        tokens: &SealedTokens,
    ) -> Result<(), StoreError> {
        let consent_json = serde_json::to_string(&record.consent).map_err(corrupt("consent"))?;
        let recipients =
            serde_json::to_string(&record.recipient_ids).map_err(corrupt("recipients"))?;
        self.with(|c| {
            c.execute(
                "INSERT INTO operator_consents (id, client_id, owner, consent_json, \
                 grant_id, locale, refresh_sealed, access_sealed, access_expires_at, \
                 grant_receipt, created_at, recipient_ids) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                params![
                    record.consent.id,
                    client_id,
                    owner,
                    consent_json,
                    record.grant_id,
                    record.locale.code(),
                    tokens.refresh,
                    tokens.access,
                    tokens.access_expires_at.map(instant),
                    record.grant_receipt,
                    instant(record.consent.granted_at),
                    recipients,
                ],
            )?;
            Ok(())
        })
    }

    fn consents(&self, client_id: &str, owner: &str) -> Result<Vec<ConsentRecord>, StoreError> {
        self.with(|c| {
            let mut statement = c.prepare(&format!(
                "SELECT {CONSENT_COLUMNS} FROM operator_consents \
                 WHERE client_id = ?1 AND owner = ?2 ORDER BY created_at DESC, rowid DESC"
            ))?;
            let rows = statement
                .query_map(params![client_id, owner], consent_row)?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter().map(consent_record).collect()
        })
    }

    fn consent(
        &self,
        client_id: &str,
        owner: &str,
        consent_id: &str,
    ) -> Result<Option<ConsentRecord>, StoreError> {
        self.with(|c| {
            let row = c
                .query_row(
                    &format!(
                        "SELECT {CONSENT_COLUMNS} FROM operator_consents \
                         WHERE client_id = ?1 AND owner = ?2 AND id = ?3"
                    ),
                    params![client_id, owner, consent_id],
                    consent_row,
                )
                .optional()?;
            row.map(consent_record).transpose()
        })
    }

    fn tokens(&self, consent_id: &str) -> Result<SealedTokens, StoreError> {
        self.with(|c| {
            let row = c
                .query_row(
                    "SELECT refresh_sealed, access_sealed, access_expires_at \
                     FROM operator_consents WHERE id = ?1",
                    params![consent_id],
                    |row| {
                        Ok((
                            row.get::<_, Option<Vec<u8>>>(0)?,
                            row.get::<_, Option<Vec<u8>>>(1)?,
                            row.get::<_, Option<String>>(2)?,
                        ))
                    },
                )
                .optional()?;
            let Some((refresh, access, expires)) = row else {
                return Ok(SealedTokens::default());
            };
            Ok(SealedTokens {
                refresh,
                access,
                access_expires_at: parse_optional_instant(expires)?,
            })
        })
    }

    fn rotate_refresh_token(
        &self,
        consent_id: &str,
        old: &[u8],
        new: &[u8],
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let changed = tx.execute(
                "UPDATE operator_consents SET refresh_sealed = ?1 \
                 WHERE id = ?2 AND refresh_sealed = ?3",
                params![new, consent_id, old],
            )?;
            if changed != 1 {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO operator_refreshes (consent_id, refreshed_at) VALUES (?1, ?2)",
                params![consent_id, instant(now)],
            )?;
            tx.commit()?;
            Ok(true)
        })
    }

    fn claim_access_token(
        &self,
        consent_id: &str,
        now: OffsetDateTime,
    ) -> Result<Option<KeptAccessToken>, StoreError> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let row = tx
                .query_row(
                    "SELECT access_sealed, access_expires_at FROM operator_consents \
                     WHERE id = ?1 AND access_sealed IS NOT NULL AND access_claimed_at IS NULL",
                    params![consent_id],
                    |row| Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, Option<String>>(1)?)),
                )
                .optional()?;
            let Some((sealed, expires)) = row else {
                return Ok(None);
            };
            tx.execute(
                "UPDATE operator_consents SET access_claimed_at = ?1 WHERE id = ?2",
                params![instant(now), consent_id],
            )?;
            tx.commit()?;
            Ok(Some((sealed, parse_optional_instant(expires)?)))
        })
    }

    fn end_grant(
        &self,
        consent_id: &str,
        end: GrantEnd,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let column = match end {
            GrantEnd::Suspended => "suspended_at",
            GrantEnd::Expired => "expired_at",
        };
        self.with(|c| {
            c.execute(
                &format!(
                    "UPDATE operator_consents SET {column} = COALESCE({column}, ?1), \
                     refresh_sealed = NULL, access_sealed = NULL, access_expires_at = NULL \
                     WHERE id = ?2"
                ),
                params![instant(now), consent_id],
            )?;
            Ok(())
        })
    }

    fn revoke(
        &self,
        consent_id: &str,
        revoked_at: OffsetDateTime,
        receipt: &str,
        webhooks: &[NewWebhook],
    ) -> Result<String, StoreError> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let existing: Option<(Option<String>, String)> = tx
                .query_row(
                    "SELECT revocation_receipt, client_id FROM operator_consents WHERE id = ?1",
                    params![consent_id],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()?;
            match existing {
                None => Err(StoreError::Corrupt(format!("no consent {consent_id}"))),
                Some((Some(earlier), _)) => Ok(earlier),
                Some((None, client_id)) => {
                    tx.execute(
                        "UPDATE operator_consents SET revoked_at = ?1, revocation_receipt = ?2, \
                         refresh_sealed = NULL, access_sealed = NULL, access_expires_at = NULL \
                         WHERE id = ?3",
                        params![instant(revoked_at), receipt, consent_id],
                    )?;
                    for hook in webhooks {
                        tx.execute(
                            "INSERT INTO operator_webhooks (id, client_id, consent_id, \
                             recipient_id, url, body, created_at, next_attempt_at) \
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
                            params![
                                hook.id,
                                client_id,
                                hook.consent_id,
                                hook.recipient_id,
                                hook.url,
                                hook.body,
                                instant(revoked_at)
                            ],
                        )?;
                    }
                    tx.commit()?;
                    Ok(receipt.to_owned())
                }
            }
        })
    }

    fn insert_retrieval(
        &self,
        consent_id: &str,
        retrieval_id: &str,
        remote_id: &str,
        started_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO operator_retrievals (id, consent_id, remote_id, started_at, status) \
                 VALUES (?1, ?2, ?3, ?4, 'waiting')",
                params![retrieval_id, consent_id, remote_id, instant(started_at)],
            )?;
            Ok(())
        })
    }

    fn finish_retrieval(
        &self,
        consent_id: &str,
        retrieval_id: &str,
        outcome: &RetrievalOutcome,
    ) -> Result<(), StoreError> {
        let items = outcome
            .items
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(corrupt("retrieval items"))?;
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute(
                "UPDATE operator_retrievals SET status = ?1, finished_at = ?2, items_json = ?3, \
                 records_sealed = ?4, error = ?5 WHERE id = ?6 AND consent_id = ?7",
                params![
                    outcome.status,
                    instant(outcome.finished_at),
                    items,
                    outcome.sealed_records,
                    outcome.error,
                    retrieval_id,
                    consent_id
                ],
            )?;
            if outcome.status == "done" {
                tx.execute(
                    "UPDATE operator_consents SET last_retrieval_at = ?1 WHERE id = ?2",
                    params![instant(outcome.finished_at), consent_id],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
    }

    fn retrievals(&self, consent_id: &str) -> Result<Vec<RetrievalRecord>, StoreError> {
        self.with(|c| {
            let mut statement = c.prepare(&format!(
                "SELECT {RETRIEVAL_COLUMNS} FROM operator_retrievals WHERE consent_id = ?1 \
                 ORDER BY started_at DESC, rowid DESC"
            ))?;
            let rows = statement
                .query_map(params![consent_id], retrieval_row)?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter().map(retrieval_record).collect()
        })
    }

    fn retrieval(
        &self,
        consent_id: &str,
        retrieval_id: &str,
    ) -> Result<Option<RetrievalRecord>, StoreError> {
        self.with(|c| {
            let row = c
                .query_row(
                    &format!(
                        "SELECT {RETRIEVAL_COLUMNS} FROM operator_retrievals \
                         WHERE consent_id = ?1 AND id = ?2"
                    ),
                    params![consent_id, retrieval_id],
                    retrieval_row,
                )
                .optional()?;
            row.map(retrieval_record).transpose()
        })
    }

    fn insert_request_token(&self, token: &NewRequestToken) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO operator_request_tokens (token_hash, client_id, definition_json, \
                 subject, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    token.token_hash,
                    token.client_id,
                    token.definition_json,
                    token.subject,
                    instant(token.created_at),
                    instant(token.expires_at)
                ],
            )?;
            Ok(())
        })
    }

    fn request_token(
        &self,
        client_id: &str,
        token_hash: &str,
    ) -> Result<Option<StoredRequestToken>, StoreError> {
        self.with(|c| {
            let row = c
                .query_row(
                    "SELECT definition_json, subject, expires_at, used_at \
                     FROM operator_request_tokens WHERE token_hash = ?1 AND client_id = ?2",
                    params![token_hash, client_id],
                    |row| {
                        Ok((
                            row.get::<_, String>(0)?,
                            row.get::<_, Option<String>>(1)?,
                            row.get::<_, String>(2)?,
                            row.get::<_, Option<String>>(3)?,
                        ))
                    },
                )
                .optional()?;
            row.map(|(definition_json, subject, expires, used)| {
                Ok(StoredRequestToken {
                    definition_json,
                    subject,
                    expires_at: parse_instant(&expires)?,
                    used: used.is_some(),
                })
            })
            .transpose()
        })
    }

    fn claim_due_webhooks(
        &self,
        client_id: &str,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<DueWebhook>, StoreError> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let due = {
                let mut statement = tx.prepare(
                    "SELECT id, recipient_id, url, body, attempts FROM operator_webhooks \
                     WHERE client_id = ?1 AND delivered_at IS NULL AND failed_at IS NULL \
                     AND next_attempt_at <= ?2 ORDER BY next_attempt_at, rowid LIMIT ?3",
                )?;
                let rows = statement
                    .query_map(
                        params![client_id, instant(now), i64::try_from(limit).unwrap_or(100)],
                        |row| {
                            Ok(DueWebhook {
                                id: row.get(0)?,
                                recipient_id: row.get(1)?,
                                url: row.get(2)?,
                                body: row.get(3)?,
                                attempts: row.get(4)?,
                            })
                        },
                    )?
                    .collect::<Result<Vec<_>, _>>()?;
                rows
            };
            for hook in &due {
                tx.execute(
                    "UPDATE operator_webhooks SET next_attempt_at = ?2 WHERE id = ?1",
                    params![hook.id, instant(lease_until)],
                )?;
            }
            tx.commit()?;
            Ok(due)
        })
    }

    fn record_webhook_attempt(
        &self,
        id: &str,
        now: OffsetDateTime,
        attempt: &WebhookAttempt,
    ) -> Result<(), StoreError> {
        self.with(|c| {
            let (delivered, next, failed, error) = match attempt {
                WebhookAttempt::Delivered => (Some(instant(now)), None, None, None),
                WebhookAttempt::Retry(at, error) => (None, Some(instant(*at)), None, Some(error)),
                WebhookAttempt::GiveUp(error) => (None, None, Some(instant(now)), Some(error)),
            };
            c.execute(
                "UPDATE operator_webhooks SET attempts = attempts + 1, delivered_at = ?2, \
                 next_attempt_at = ?3, failed_at = ?4, last_error = ?5 WHERE id = ?1",
                params![id, delivered, next, failed, error],
            )?;
            Ok(())
        })
    }

    fn sweep(
        &self,
        client_id: &str,
        now: OffsetDateTime,
        policy: Option<SessionPolicy>,
    ) -> Result<Swept, StoreError> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            // A day past its end, a transaction serves no check any more (a
            // replay a day later is refused as unknown, which is as good as
            // "used").
            let day_ago = instant(now - time::Duration::days(1));
            let transactions = tx.execute(
                "DELETE FROM operator_transactions WHERE client_id = ?1 AND expires_at < ?2",
                params![client_id, day_ago],
            )?;
            let request_tokens = tx.execute(
                "DELETE FROM operator_request_tokens WHERE client_id = ?1 AND expires_at < ?2",
                params![client_id, day_ago],
            )?;
            let sessions = match policy {
                Some(policy) => tx.execute(
                    "DELETE FROM operator_sessions WHERE client_id = ?1 \
                     AND (COALESCE(last_seen_at, created_at) <= ?2 OR created_at <= ?3)",
                    params![
                        client_id,
                        instant(now - policy.idle),
                        instant(now - policy.max)
                    ],
                )?,
                None => 0,
            };
            tx.commit()?;
            Ok(Swept {
                transactions,
                sessions,
                request_tokens,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(&dir.path().join("sandbox.sqlite")).expect("open");
        (dir, store)
    }

    fn transaction(state_hash: &str, owner: &str, at: OffsetDateTime) -> NewTransaction {
        NewTransaction {
            client_id: "c".into(),
            owner: owner.into(),
            state_hash: state_hash.into(),
            sealed_secrets: vec![1, 2, 3],
            request_json: "{}".into(),
            chosen_optional: vec!["x".into()],
            recipient_ids: vec!["r".into()],
            request_token_hash: None,
            created_at: at,
            expires_at: at + time::Duration::minutes(10),
        }
    }

    #[test]
    fn transaction_is_single_use_and_bound_to_its_session() {
        let (_dir, store) = store();
        let at = datetime!(2025-04-01 00:00 UTC);
        store
            .insert_transaction(&transaction("s1", "sess", at))
            .expect("insert");
        let other = store
            .consume_transaction("c", "other", "s1", at)
            .expect("lookup");
        assert!(matches!(other, TransactionLookup::Unknown));
        let first = store
            .consume_transaction("c", "sess", "s1", at)
            .expect("lookup");
        let TransactionLookup::Open(open) = first else {
            panic!("expected open, got {first:?}");
        };
        assert_eq!(open.sealed_secrets, vec![1, 2, 3]);
        assert_eq!(open.chosen_optional, vec!["x".to_owned()]);
        assert_eq!(open.recipient_ids, vec!["r".to_owned()]);
        let again = store
            .consume_transaction("c", "sess", "s1", at)
            .expect("lookup");
        assert!(matches!(again, TransactionLookup::Used));
    }

    #[test]
    fn expired_transaction_is_consumed_too() {
        let (_dir, store) = store();
        let at = datetime!(2025-04-01 00:00 UTC);
        store
            .insert_transaction(&transaction("s1", "sess", at))
            .expect("insert");
        let late = at + time::Duration::minutes(11);
        let lookup = store
            .consume_transaction("c", "sess", "s1", late)
            .expect("lookup");
        assert!(matches!(lookup, TransactionLookup::Expired));
        let again = store
            .consume_transaction("c", "sess", "s1", late)
            .expect("lookup");
        assert!(matches!(again, TransactionLookup::Used));
    }

    fn consent_record(id: &str) -> ConsentRecord {
        let consent: Consent = serde_json::from_value(serde_json::json!({
            "id": id,
            "operator": {"name": "n", "contact": "c", "privacyPolicyUrl": "https://x", "approvalId": "a"},
            "items": ["insurance.drugs"],
            "purposes": [{"category": "healthManagement", "description": "d"}],
            "period": {"kind": "linkage", "days": 90},
            "retention": "r",
            "grantedAt": "2025-04-01T00:00:00Z"
        }))
        .expect("consent");
        ConsentRecord {
            consent,
            grant_id: Some("g".into()),
            locale: Locale::Ja,
            expired_at: None,
            last_retrieval_at: None,
            grant_receipt: "{\"grant\":1}".into(),
            revocation_receipt: None,
            recipient_ids: vec!["yuyu".into()],
        }
    }

    #[test]
    fn rotation_replaces_only_the_token_it_read() {
        let (_dir, store) = store();
        let tokens = SealedTokens {
            refresh: Some(vec![1]),
            ..SealedTokens::default()
        };
        store
            .insert_consent("c", "sess", &consent_record("k1"), &tokens)
            .expect("insert");
        let at = datetime!(2025-04-02 00:00 UTC);
        assert!(store
            .rotate_refresh_token("k1", &[1], &[2], at)
            .expect("rotate"));
        assert!(!store
            .rotate_refresh_token("k1", &[1], &[3], at)
            .expect("rotate"));
        assert_eq!(store.tokens("k1").expect("tokens").refresh, Some(vec![2]));
    }

    #[test]
    fn revocation_is_recorded_once_and_deletes_tokens() {
        let (_dir, store) = store();
        let tokens = SealedTokens {
            refresh: Some(vec![1]),
            ..SealedTokens::default()
        };
        store
            .insert_consent("c", "sess", &consent_record("k1"), &tokens)
            .expect("insert");
        let at = datetime!(2025-04-02 00:00 UTC);
        let hook = NewWebhook {
            id: "msg_1".into(),
            consent_id: "k1".into(),
            recipient_id: "yuyu".into(),
            url: "https://partner.example/hook".into(),
            body: "{}".into(),
        };
        assert_eq!(
            store
                .revoke("k1", at, "first", std::slice::from_ref(&hook))
                .expect("revoke"),
            "first"
        );
        assert_eq!(
            store.revoke("k1", at, "second", &[hook]).expect("revoke"),
            "first"
        );
        let lease = at + time::Duration::minutes(1);
        let due = store.claim_due_webhooks("c", at, lease, 10).expect("due");
        assert_eq!(due.len(), 1, "queued once, with the first revocation");
        assert!(
            store
                .claim_due_webhooks("c", at, lease, 10)
                .expect("due")
                .is_empty(),
            "a claimed delivery is not handed out twice"
        );
        let again = store
            .claim_due_webhooks("c", lease, lease, 10)
            .expect("due");
        assert_eq!(again.len(), 1, "the lease ran out: due again");
        assert_eq!(store.tokens("k1").expect("tokens").refresh, None);
        let record = store
            .consent("c", "sess", "k1")
            .expect("read")
            .expect("found");
        assert_eq!(record.consent.revoked_at, Some(at));
        assert!(store.consent("c", "other", "k1").expect("read").is_none());
        assert!(store
            .consent("other-client", "sess", "k1")
            .expect("read")
            .is_none());
    }

    #[test]
    fn a_request_token_is_used_up_by_one_transaction_only() {
        let (_dir, store) = store();
        let at = datetime!(2025-04-01 00:00 UTC);
        store
            .insert_request_token(&NewRequestToken {
                client_id: "c".into(),
                token_hash: "t1".into(),
                definition_json: "{}".into(),
                subject: Some("user-1".into()),
                created_at: at,
                expires_at: at + time::Duration::minutes(30),
            })
            .expect("token");
        let mut first = transaction("s1", "user:user-1", at);
        first.request_token_hash = Some("t1".into());
        assert!(store.insert_transaction(&first).expect("insert"));
        let mut second = transaction("s2", "user:user-1", at);
        second.request_token_hash = Some("t1".into());
        assert!(!store.insert_transaction(&second).expect("insert"));
        assert!(matches!(
            store.consume_transaction("c", "user:user-1", "s2", at),
            Ok(TransactionLookup::Unknown)
        ));
        let token = store
            .request_token("c", "t1")
            .expect("read")
            .expect("found");
        assert!(token.used);
        assert_eq!(token.subject.as_deref(), Some("user-1"));
    }

    #[test]
    fn a_one_time_access_token_is_claimed_once_and_kept_for_the_revocation() {
        let (_dir, store) = store();
        let tokens = SealedTokens {
            access: Some(vec![7]),
            ..SealedTokens::default()
        };
        store
            .insert_consent("c", "sess", &consent_record("k1"), &tokens)
            .expect("insert");
        let at = datetime!(2025-04-02 00:00 UTC);
        assert!(store.claim_access_token("k1", at).expect("claim").is_some());
        assert!(store.claim_access_token("k1", at).expect("claim").is_none());
        assert_eq!(store.tokens("k1").expect("tokens").access, Some(vec![7]));
        store.revoke("k1", at, "receipt", &[]).expect("revoke");
        assert_eq!(store.tokens("k1").expect("tokens").access, None);
    }

    #[test]
    fn sessions_end_when_idle_or_too_old() {
        let (_dir, store) = store();
        let policy = SessionPolicy {
            idle: time::Duration::days(1),
            max: time::Duration::days(3),
        };
        let at = datetime!(2025-04-01 00:00 UTC);
        store.create_session("c", "h", at).expect("create");
        assert!(store
            .touch_session("c", "h", at + time::Duration::hours(20), policy)
            .expect("touch"));
        assert!(store
            .touch_session("c", "h", at + time::Duration::hours(40), policy)
            .expect("touch"));
        assert!(
            !store
                .touch_session("c", "h", at + time::Duration::hours(70), policy)
                .expect("touch"),
            "idle for 30 hours"
        );
        store.create_session("c", "h2", at).expect("create");
        for hours in [20, 40, 60] {
            store
                .touch_session("c", "h2", at + time::Duration::hours(hours), policy)
                .expect("touch");
        }
        assert!(
            !store
                .touch_session("c", "h2", at + time::Duration::hours(73), policy)
                .expect("touch"),
            "older than 3 days"
        );
        let swept = store
            .sweep("c", at + time::Duration::hours(73), Some(policy))
            .expect("sweep");
        assert_eq!(swept.sessions, 2);
    }

    #[test]
    fn sweeps_transactions_a_day_past_their_end() {
        let (_dir, store) = store();
        let at = datetime!(2025-04-01 00:00 UTC);
        store
            .insert_transaction(&transaction("s1", "sess", at))
            .expect("insert");
        let swept = store
            .sweep("c", at + time::Duration::hours(2), None)
            .expect("sweep");
        assert_eq!(swept.transactions, 0);
        let swept = store
            .sweep("c", at + time::Duration::days(2), None)
            .expect("sweep");
        assert_eq!(swept.transactions, 1);
    }

    /// A file written by the first release (sessions as owners, no request
    /// tokens) opens, migrates once, and keeps its consents reachable.
    #[test]
    fn migrates_a_first_release_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("old.sqlite");
        {
            let old = Connection::open(&path).expect("open");
            old.execute_batch(
                SCHEMA_V0
                    .replace(
                        "CREATE TABLE IF NOT EXISTS operator_schema (version INTEGER NOT NULL);",
                        "",
                    )
                    .as_str(),
            )
            .expect("v0 schema");
            old.execute(
                "INSERT INTO operator_consents (id, client_id, session_hash, consent_json, locale, \
                 grant_receipt, created_at) VALUES ('k1', 'c', 'abc', ?1, 'ja', '{}', '2025-04-01T00:00:00Z')",
                params![serde_json::to_string(&consent_record("k1").consent).expect("json")],
            )
            .expect("old row");
        }
        let store = SqliteStore::open(&path).expect("migrates");
        let found = store.consent("c", "session:abc", "k1").expect("read");
        assert!(found.is_some());
        drop(store);
        SqliteStore::open(&path).expect("a second open finds the work done");
    }
}
