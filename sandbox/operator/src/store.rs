//! Storage: the narrow [`ConsentStore`] trait that the routes use, and its
//! SQLite implementation ([`SqliteStore`], tables prefixed `operator_`).
//!
//! The store only ever sees sealed tokens, sealed records and hashed session
//! ids and states; sealing and hashing happen before a value reaches it, so a
//! PostgreSQL implementation needs no cryptography.

use std::path::Path;
use std::sync::Mutex;

use myna_consent::consent::Consent;
use myna_consent::i18n::Locale;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

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
    /// SHA-256 of the session id.
    pub session_hash: String,
    /// SHA-256 of the state.
    pub state_hash: String,
    /// The PKCE verifier and the nonce, sealed for the state hash.
    pub sealed_secrets: Vec<u8>,
    /// The validated consent request, as JSON.
    pub request_json: String,
    /// The optional items the citizen chose.
    pub chosen_optional: Vec<String>,
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
    /// The validated consent request, as JSON.
    pub request_json: String,
    /// The optional items the citizen chose.
    pub chosen_optional: Vec<String>,
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
}

/// Sealed tokens of a consent.
#[derive(Debug, Clone, Default)]
pub struct SealedTokens {
    /// The refresh token, sealed for the consent id.
    pub refresh: Option<Vec<u8>>,
    /// The access token (kept for one-time consents only), sealed for the
    /// consent id.
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

/// What the operator backend stores, and nothing more: sessions (hashed),
/// transactions, consents with sealed tokens and receipts, retrievals.
/// Everything is scoped by the backend's client id, because several
/// backends share one store.
pub trait ConsentStore: Send + Sync {
    /// Records a new session (by hash).
    fn create_session(
        &self,
        client_id: &str,
        session_hash: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Whether the session exists.
    fn session_exists(&self, client_id: &str, session_hash: &str) -> Result<bool, StoreError>;

    /// Stores a new transaction.
    fn insert_transaction(&self, transaction: &NewTransaction) -> Result<(), StoreError>;

    /// Looks a transaction up by state for this session and consumes it,
    /// atomically, so two callbacks cannot both use it. A state of another
    /// session is [`TransactionLookup::Unknown`] and is left alone.
    fn consume_transaction(
        &self,
        client_id: &str,
        session_hash: &str,
        state_hash: &str,
        now: OffsetDateTime,
    ) -> Result<TransactionLookup, StoreError>;

    /// Stores a new consent with its sealed tokens and grant receipt, in one
    /// transaction.
    fn insert_consent(
        &self,
        client_id: &str,
        session_hash: &str,
        record: &ConsentRecord,
        tokens: &SealedTokens,
    ) -> Result<(), StoreError>;

    /// The session's consents, newest first.
    fn consents(
        &self,
        client_id: &str,
        session_hash: &str,
    ) -> Result<Vec<ConsentRecord>, StoreError>;

    /// One consent of the session.
    fn consent(
        &self,
        client_id: &str,
        session_hash: &str,
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

    /// Removes and returns the sealed access token of a one-time consent:
    /// it serves one retrieval.
    fn take_access_token(&self, consent_id: &str) -> Result<Option<KeptAccessToken>, StoreError>;

    /// Marks a grant ended by the authority and deletes its tokens.
    fn end_grant(
        &self,
        consent_id: &str,
        end: GrantEnd,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Marks the consent revoked, deletes its tokens and stores the
    /// revocation receipt, once: answers the receipt that holds (an earlier
    /// one if the consent was already revoked).
    fn revoke(
        &self,
        consent_id: &str,
        revoked_at: OffsetDateTime,
        receipt: &str,
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
}

/// The SQLite implementation, in the sandbox's shared file.
pub struct SqliteStore {
    connection: Mutex<Connection>,
}

const SCHEMA: &str = "
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
";

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
    expired_at, last_retrieval_at, grant_receipt, revocation_receipt";

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
    ))
}

fn consent_record(row: ConsentRow) -> Result<ConsentRecord, StoreError> {
    let (json, grant_id, locale, revoked, suspended, expired, last, grant_receipt, revocation) =
        row;
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
    /// `db_path`. The authority uses the same file through its own
    /// connection, so the file is put in WAL mode (readers never block the
    /// writer) with a busy timeout. Retrievals left waiting by a previous
    /// run are marked `error` (`interrupted`): their pollers died with it.
    pub fn open(db_path: &Path) -> Result<Self, StoreError> {
        let connection = Connection::open(db_path)?;
        connection.busy_timeout(std::time::Duration::from_secs(5))?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "foreign_keys", "ON")?;
        connection.pragma_update(None, "synchronous", "NORMAL")?;
        connection.execute_batch(SCHEMA)?;
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

impl ConsentStore for SqliteStore {
    fn create_session(
        &self,
        client_id: &str,
        session_hash: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "INSERT OR IGNORE INTO operator_sessions (client_id, session_hash, created_at) \
                 VALUES (?1, ?2, ?3)",
                params![client_id, session_hash, instant(now)],
            )?;
            Ok(())
        })
    }

    fn session_exists(&self, client_id: &str, session_hash: &str) -> Result<bool, StoreError> {
        self.with(|c| {
            let found = c
                .query_row(
                    "SELECT 1 FROM operator_sessions WHERE client_id = ?1 AND session_hash = ?2",
                    params![client_id, session_hash],
                    |_| Ok(()),
                )
                .optional()?;
            Ok(found.is_some())
        })
    }

    fn insert_transaction(&self, t: &NewTransaction) -> Result<(), StoreError> {
        let chosen = serde_json::to_string(&t.chosen_optional).map_err(corrupt("chosen"))?;
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            // Housekeeping: transactions a day past their end serve no
            // check any more (a replay a day later is refused as unknown,
            // which is as good as "used").
            tx.execute(
                "DELETE FROM operator_transactions WHERE expires_at < ?1",
                params![instant(t.created_at - time::Duration::days(1))],
            )?;
            tx.execute(
                "INSERT INTO operator_transactions (state_hash, client_id, session_hash, \
                 sealed_secrets, request_json, chosen_optional, created_at, expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    t.state_hash,
                    t.client_id,
                    t.session_hash,
                    t.sealed_secrets,
                    t.request_json,
                    chosen,
                    instant(t.created_at),
                    instant(t.expires_at)
                ],
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    fn consume_transaction(
        &self,
        client_id: &str,
        session_hash: &str,
        state_hash: &str,
        now: OffsetDateTime,
    ) -> Result<TransactionLookup, StoreError> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let row = tx
                .query_row(
                    "SELECT used_at, expires_at, sealed_secrets, request_json, chosen_optional \
                     FROM operator_transactions \
                     WHERE state_hash = ?1 AND client_id = ?2 AND session_hash = ?3",
                    params![state_hash, client_id, session_hash],
                    |row| {
                        Ok((
                            row.get::<_, Option<String>>(0)?,
                            row.get::<_, String>(1)?,
                            row.get::<_, Vec<u8>>(2)?,
                            row.get::<_, String>(3)?,
                            row.get::<_, String>(4)?,
                        ))
                    },
                )
                .optional()?;
            let Some((used_at, expires_at, sealed_secrets, request_json, chosen)) = row else {
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
            }))
        })
    }

    fn insert_consent(
        &self,
        client_id: &str,
        session_hash: &str,
        record: &ConsentRecord,
        tokens: &SealedTokens,
    ) -> Result<(), StoreError> {
        let consent_json = serde_json::to_string(&record.consent).map_err(corrupt("consent"))?;
        self.with(|c| {
            c.execute(
                "INSERT INTO operator_consents (id, client_id, session_hash, consent_json, \
                 grant_id, locale, refresh_sealed, access_sealed, access_expires_at, \
                 grant_receipt, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    record.consent.id,
                    client_id,
                    session_hash,
                    consent_json,
                    record.grant_id,
                    record.locale.code(),
                    tokens.refresh,
                    tokens.access,
                    tokens.access_expires_at.map(instant),
                    record.grant_receipt,
                    instant(record.consent.granted_at),
                ],
            )?;
            Ok(())
        })
    }

    fn consents(
        &self,
        client_id: &str,
        session_hash: &str,
    ) -> Result<Vec<ConsentRecord>, StoreError> {
        self.with(|c| {
            let mut statement = c.prepare(&format!(
                "SELECT {CONSENT_COLUMNS} FROM operator_consents \
                 WHERE client_id = ?1 AND session_hash = ?2 ORDER BY created_at DESC, rowid DESC"
            ))?;
            let rows = statement
                .query_map(params![client_id, session_hash], consent_row)?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter().map(consent_record).collect()
        })
    }

    fn consent(
        &self,
        client_id: &str,
        session_hash: &str,
        consent_id: &str,
    ) -> Result<Option<ConsentRecord>, StoreError> {
        self.with(|c| {
            let row = c
                .query_row(
                    &format!(
                        "SELECT {CONSENT_COLUMNS} FROM operator_consents \
                         WHERE client_id = ?1 AND session_hash = ?2 AND id = ?3"
                    ),
                    params![client_id, session_hash, consent_id],
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

    fn take_access_token(&self, consent_id: &str) -> Result<Option<KeptAccessToken>, StoreError> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let row = tx
                .query_row(
                    "SELECT access_sealed, access_expires_at FROM operator_consents \
                     WHERE id = ?1 AND access_sealed IS NOT NULL",
                    params![consent_id],
                    |row| Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, Option<String>>(1)?)),
                )
                .optional()?;
            let Some((sealed, expires)) = row else {
                return Ok(None);
            };
            tx.execute(
                "UPDATE operator_consents SET access_sealed = NULL, access_expires_at = NULL \
                 WHERE id = ?1",
                params![consent_id],
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
    ) -> Result<String, StoreError> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let existing: Option<Option<String>> = tx
                .query_row(
                    "SELECT revocation_receipt FROM operator_consents WHERE id = ?1",
                    params![consent_id],
                    |row| row.get(0),
                )
                .optional()?;
            match existing {
                None => Err(StoreError::Corrupt(format!("no consent {consent_id}"))),
                Some(Some(earlier)) => Ok(earlier),
                Some(None) => {
                    tx.execute(
                        "UPDATE operator_consents SET revoked_at = ?1, revocation_receipt = ?2, \
                         refresh_sealed = NULL, access_sealed = NULL, access_expires_at = NULL \
                         WHERE id = ?3",
                        params![instant(revoked_at), receipt, consent_id],
                    )?;
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

    fn transaction(state_hash: &str, session_hash: &str, at: OffsetDateTime) -> NewTransaction {
        NewTransaction {
            client_id: "c".into(),
            session_hash: session_hash.into(),
            state_hash: state_hash.into(),
            sealed_secrets: vec![1, 2, 3],
            request_json: "{}".into(),
            chosen_optional: vec!["x".into()],
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
        assert_eq!(store.revoke("k1", at, "first").expect("revoke"), "first");
        assert_eq!(store.revoke("k1", at, "second").expect("revoke"), "first");
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
}
