//! The SQLite implementation of [`ConsentStore`]: one file, WAL, tables
//! prefixed `operator_`, versioned migrations.

use std::path::Path;
use std::sync::Mutex;

use myna_consent::consent::Consent;
use myna_consent::i18n::Locale;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::*;

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
const MIGRATIONS: [&str; 6] = [
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
    // 2: a retrieval is a job leased to one instance, which another resumes
    // when the lease runs out; it carries its own sealed access token.
    // Waiting retrievals of earlier releases carry none and cannot be
    // resumed: they end here, once.
    "
    ALTER TABLE operator_retrievals ADD COLUMN client_id TEXT;
    ALTER TABLE operator_retrievals ADD COLUMN access_sealed BLOB;
    ALTER TABLE operator_retrievals ADD COLUMN items_requested TEXT;
    ALTER TABLE operator_retrievals ADD COLUMN lease_owner TEXT;
    ALTER TABLE operator_retrievals ADD COLUMN lease_until TEXT;
    ALTER TABLE operator_retrievals ADD COLUMN deadline TEXT;
    UPDATE operator_retrievals SET status = 'error', error = 'interrupted'
        WHERE status = 'waiting';
    CREATE INDEX operator_retrievals_waiting
        ON operator_retrievals (client_id, status, lease_until);
    ",
    // 3: linkages retrieve on a schedule, without a browser.
    "
    CREATE TABLE operator_schedules (
        consent_id TEXT PRIMARY KEY REFERENCES operator_consents (id),
        client_id TEXT NOT NULL,
        owner TEXT NOT NULL,
        next_at TEXT,
        failures INTEGER NOT NULL DEFAULT 0,
        last_error TEXT
    );
    CREATE INDEX operator_schedules_due ON operator_schedules (client_id, next_at);
    ",
    // 4: refreshes are serialised through the database, not a mutex.
    "
    ALTER TABLE operator_consents ADD COLUMN refresh_lease_owner TEXT;
    ALTER TABLE operator_consents ADD COLUMN refresh_lease_until TEXT;
    ",
    // 5: the instances alive, which share the authority's TPS.
    "
    CREATE TABLE operator_instances (
        client_id TEXT NOT NULL,
        instance TEXT NOT NULL,
        seen_at TEXT NOT NULL,
        PRIMARY KEY (client_id, instance)
    );
    ",
    // 6: retention in days, and when a consent's data stops being kept.
    "
    ALTER TABLE operator_transactions ADD COLUMN retention_days INTEGER;
    ALTER TABLE operator_consents ADD COLUMN retention_days INTEGER;
    ALTER TABLE operator_consents ADD COLUMN data_ends_at TEXT;
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

/// One page of a kind of sealed value after a row key (`?1`), at most
/// `?2` rows: row key, consent id (empty for a transaction), sealed bytes.
/// Empty values (a consumed transaction's wiped secrets) are not sealed.
fn sealed_query(kind: SealedKind) -> &'static str {
    match kind {
        SealedKind::RefreshToken => {
            "SELECT id, id, refresh_sealed FROM operator_consents \
             WHERE length(refresh_sealed) > 0 AND id > ?1 ORDER BY id LIMIT ?2"
        }
        SealedKind::AccessToken => {
            "SELECT id, id, access_sealed FROM operator_consents \
             WHERE length(access_sealed) > 0 AND id > ?1 ORDER BY id LIMIT ?2"
        }
        SealedKind::TransactionSecrets => {
            "SELECT state_hash, '', sealed_secrets FROM operator_transactions \
             WHERE length(sealed_secrets) > 0 AND state_hash > ?1 ORDER BY state_hash LIMIT ?2"
        }
        SealedKind::RetrievalAccessToken => {
            "SELECT id, consent_id, access_sealed FROM operator_retrievals \
             WHERE length(access_sealed) > 0 AND id > ?1 ORDER BY id LIMIT ?2"
        }
        SealedKind::RetrievalRecords => {
            "SELECT id, consent_id, records_sealed FROM operator_retrievals \
             WHERE length(records_sealed) > 0 AND id > ?1 ORDER BY id LIMIT ?2"
        }
    }
}

impl SqliteStore {
    /// Opens (or creates) the `operator_` tables in the SQLite file at
    /// `db_path`, and brings them up to date. The authority uses the same
    /// file through its own connection, so the file is put in WAL mode
    /// (readers never block the writer) with a busy timeout. Opening touches
    /// no retrieval: one left waiting by a stopped instance is resumed by
    /// whichever instance claims it once its lease runs out.
    pub fn open(db_path: &Path) -> Result<Self, StoreError> {
        let mut connection = Connection::open(db_path)?;
        connection.busy_timeout(BUSY_TIMEOUT)?;
        use_wal(&connection)?;
        connection.pragma_update(None, "foreign_keys", "ON")?;
        connection.pragma_update(None, "synchronous", "NORMAL")?;
        migrate(&mut connection)?;

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

/// How long a call waits for another connection's lock.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Puts the file in WAL mode, for good. Instances starting together on a
/// new file race to switch it, and SQLite answers the loser at once with
/// SQLITE_BUSY, without asking the busy handler (the lock upgrade could
/// deadlock). The switch is safe to repeat, so it is, within the busy
/// timeout.
fn use_wal(connection: &Connection) -> Result<(), StoreError> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        match connection.pragma_update(None, "journal_mode", "WAL") {
            Err(rusqlite::Error::SqliteFailure(error, _))
                if error.code == rusqlite::ErrorCode::DatabaseBusy
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            other => return Ok(other?),
        }
    }
}

/// Creates the first schema and runs the migrations the file has not had,
/// each with its version bump, in one transaction taken with the write
/// lock first (so the busy handler waits for another instance's, and a
/// second process opening the file finds the work done).
fn migrate(connection: &mut Connection) -> Result<(), StoreError> {
    let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(SCHEMA_V0)?;
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
                 request_token_hash, created_at, expires_at, retention_days) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
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
                    instant(t.expires_at),
                    t.retention_days
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
                     recipient_ids, retention_days FROM operator_transactions \
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
                            row.get::<_, Option<u32>>(6)?,
                        ))
                    },
                )
                .optional()?;
            let Some((
                used_at,
                expires_at,
                sealed_secrets,
                request_json,
                chosen,
                recipients,
                retention_days,
            )) = row
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
                retention_days,
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

    fn lease_refresh(
        &self,
        consent_id: &str,
        instance: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.with(|c| {
            let changed = c.execute(
                "UPDATE operator_consents SET refresh_lease_owner = ?1, refresh_lease_until = ?2 \
                 WHERE id = ?3 AND (refresh_lease_owner IS NULL OR refresh_lease_owner = ?1 \
                 OR refresh_lease_until < ?4)",
                params![instance, instant(until), consent_id, instant(now)],
            )?;
            Ok(changed == 1)
        })
    }

    fn set_retention(
        &self,
        consent_id: &str,
        days: u32,
        ends_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "UPDATE operator_consents SET retention_days = ?1, data_ends_at = ?2 WHERE id = ?3",
                params![days, instant(ends_at), consent_id],
            )?;
            Ok(())
        })
    }

    fn purge_records(&self, client_id: &str, now: OffsetDateTime) -> Result<usize, StoreError> {
        self.with(|c| {
            // The consent's end: the earliest of its withdrawal, suspension,
            // expiry and last day; the records go `retention_days` later.
            let purged = c.execute(
                "UPDATE operator_retrievals SET records_sealed = NULL \
                 WHERE records_sealed IS NOT NULL AND consent_id IN ( \
                   SELECT id FROM operator_consents \
                   WHERE client_id = ?1 AND retention_days IS NOT NULL \
                   AND data_ends_at IS NOT NULL \
                   AND strftime('%Y-%m-%dT%H:%M:%SZ', \
                         min(COALESCE(revoked_at, data_ends_at), \
                             COALESCE(suspended_at, data_ends_at), \
                             COALESCE(expired_at, data_ends_at)), \
                         '+' || retention_days || ' days') <= ?2)",
                params![client_id, instant(now)],
            )?;
            Ok(purged)
        })
    }

    fn heartbeat(
        &self,
        client_id: &str,
        instance: &str,
        now: OffsetDateTime,
        stale_before: OffsetDateTime,
    ) -> Result<usize, StoreError> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute(
                "INSERT INTO operator_instances (client_id, instance, seen_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (client_id, instance) DO UPDATE SET seen_at = excluded.seen_at",
                params![client_id, instance, instant(now)],
            )?;
            tx.execute(
                "DELETE FROM operator_instances WHERE seen_at < ?1",
                params![instant(stale_before)],
            )?;
            let alive: i64 = tx.query_row(
                "SELECT COUNT(*) FROM operator_instances WHERE client_id = ?1",
                params![client_id],
                |row| row.get(0),
            )?;
            tx.commit()?;
            Ok(usize::try_from(alive).unwrap_or(1).max(1))
        })
    }

    fn release_refresh(&self, consent_id: &str, instance: &str) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "UPDATE operator_consents SET refresh_lease_owner = NULL, refresh_lease_until = NULL \
                 WHERE id = ?1 AND refresh_lease_owner = ?2",
                params![consent_id, instance],
            )?;
            Ok(())
        })
    }

    fn abandoned_refreshes(
        &self,
        client_id: &str,
        now: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<(String, String)>, StoreError> {
        self.with(|c| {
            let mut statement = c.prepare(
                "SELECT id, owner FROM operator_consents WHERE client_id = ?1 \
                 AND refresh_lease_owner IS NOT NULL AND refresh_lease_until < ?2 \
                 AND refresh_sealed IS NOT NULL AND revoked_at IS NULL \
                 ORDER BY refresh_lease_until LIMIT ?3",
            )?;
            let rows = statement
                .query_map(
                    params![
                        client_id,
                        instant(now),
                        i64::try_from(limit).unwrap_or(i64::MAX)
                    ],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
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
                    // Retrievals still waiting end with the consent: no
                    // instance resumes them or stores records afterwards.
                    tx.execute(
                        "UPDATE operator_retrievals SET status = 'error', error = 'revoked', \
                         finished_at = ?1, access_sealed = NULL, lease_owner = NULL, \
                         lease_until = NULL WHERE consent_id = ?2 AND status = 'waiting'",
                        params![instant(revoked_at), consent_id],
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

    fn insert_retrieval(&self, r: &NewRetrieval) -> Result<(), StoreError> {
        let items = serde_json::to_string(&r.items).map_err(corrupt("retrieval items"))?;
        self.with(|c| {
            c.execute(
                "INSERT INTO operator_retrievals (id, consent_id, remote_id, started_at, status, \
                 client_id, access_sealed, items_requested, lease_owner, lease_until, deadline) \
                 VALUES (?1, ?2, ?3, ?4, 'waiting', ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    r.retrieval_id,
                    r.consent_id,
                    r.remote_id,
                    instant(r.started_at),
                    r.client_id,
                    r.access_sealed,
                    items,
                    r.lease_owner,
                    instant(r.lease_until),
                    instant(r.deadline),
                ],
            )?;
            Ok(())
        })
    }

    fn claim_retrievals(
        &self,
        client_id: &str,
        instance: &str,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<RetrievalJob>, StoreError> {
        let rows = self.with(|c| {
            // One IMMEDIATE transaction: two instances never claim the same
            // job (the second waits, then finds the lease taken).
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let rows = {
                let mut statement = tx.prepare(
                    "SELECT consent_id, id, remote_id, access_sealed, items_requested, deadline \
                     FROM operator_retrievals \
                     WHERE client_id = ?1 AND status = 'waiting' AND access_sealed IS NOT NULL \
                     AND (lease_until IS NULL OR lease_until < ?2) \
                     ORDER BY started_at LIMIT ?3",
                )?;
                let rows = statement
                    .query_map(
                        params![client_id, instant(now), i64::try_from(limit).unwrap_or(i64::MAX)],
                        |row| {
                            Ok((
                                row.get::<_, String>(0)?,
                                row.get::<_, String>(1)?,
                                row.get::<_, String>(2)?,
                                row.get::<_, Vec<u8>>(3)?,
                                row.get::<_, Option<String>>(4)?,
                                row.get::<_, Option<String>>(5)?,
                            ))
                        },
                    )?
                    .collect::<Result<Vec<_>, _>>()?;
                rows
            };
            for row in &rows {
                tx.execute(
                    "UPDATE operator_retrievals SET lease_owner = ?1, lease_until = ?2 WHERE id = ?3",
                    params![instance, instant(lease_until), row.1],
                )?;
            }
            tx.commit()?;
            Ok(rows)
        })?;
        rows.into_iter()
            .map(
                |(consent_id, retrieval_id, remote_id, access_sealed, items, deadline)| {
                    Ok(RetrievalJob {
                        consent_id,
                        retrieval_id,
                        remote_id,
                        access_sealed,
                        items: items
                            .map(|text| serde_json::from_str(&text))
                            .transpose()
                            .map_err(corrupt("retrieval items"))?
                            .unwrap_or_default(),
                        deadline: parse_optional_instant(deadline)?.unwrap_or(now),
                    })
                },
            )
            .collect()
    }

    fn extend_retrieval_lease(
        &self,
        retrieval_id: &str,
        instance: &str,
        lease_until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.with(|c| {
            let changed = c.execute(
                "UPDATE operator_retrievals SET lease_until = ?1 \
                 WHERE id = ?2 AND lease_owner = ?3 AND status = 'waiting'",
                params![instant(lease_until), retrieval_id, instance],
            )?;
            Ok(changed == 1)
        })
    }

    fn finish_retrieval(
        &self,
        consent_id: &str,
        retrieval_id: &str,
        outcome: &RetrievalOutcome,
    ) -> Result<bool, StoreError> {
        let items = outcome
            .items
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(corrupt("retrieval items"))?;
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let changed = tx.execute(
                "UPDATE operator_retrievals SET status = ?1, finished_at = ?2, items_json = ?3, \
                 records_sealed = ?4, error = ?5, access_sealed = NULL, lease_owner = NULL, \
                 lease_until = NULL WHERE id = ?6 AND consent_id = ?7 AND status = 'waiting'",
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
            if changed == 0 {
                return Ok(false);
            }
            if outcome.status == "done" {
                tx.execute(
                    "UPDATE operator_consents SET last_retrieval_at = ?1 WHERE id = ?2",
                    params![instant(outcome.finished_at), consent_id],
                )?;
            }
            tx.commit()?;
            Ok(true)
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

    fn set_schedule(&self, schedule: &Schedule) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO operator_schedules \
                 (consent_id, client_id, owner, next_at, failures, last_error) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
                 ON CONFLICT (consent_id) DO UPDATE SET next_at = excluded.next_at, \
                 failures = excluded.failures, last_error = excluded.last_error",
                params![
                    schedule.consent_id,
                    schedule.client_id,
                    schedule.owner,
                    schedule.next_at.map(instant),
                    schedule.failures,
                    schedule.last_error,
                ],
            )?;
            Ok(())
        })
    }

    fn claim_due_schedules(
        &self,
        client_id: &str,
        now: OffsetDateTime,
        hold_until: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<Schedule>, StoreError> {
        let rows = self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let rows = {
                let mut statement = tx.prepare(
                    "SELECT consent_id, owner, failures, last_error FROM operator_schedules \
                     WHERE client_id = ?1 AND next_at IS NOT NULL AND next_at <= ?2 \
                     ORDER BY next_at LIMIT ?3",
                )?;
                let rows = statement
                    .query_map(
                        params![
                            client_id,
                            instant(now),
                            i64::try_from(limit).unwrap_or(i64::MAX)
                        ],
                        |row| {
                            Ok((
                                row.get::<_, String>(0)?,
                                row.get::<_, String>(1)?,
                                row.get::<_, u32>(2)?,
                                row.get::<_, Option<String>>(3)?,
                            ))
                        },
                    )?
                    .collect::<Result<Vec<_>, _>>()?;
                rows
            };
            for (consent_id, ..) in &rows {
                tx.execute(
                    "UPDATE operator_schedules SET next_at = ?1 WHERE consent_id = ?2",
                    params![instant(hold_until), consent_id],
                )?;
            }
            tx.commit()?;
            Ok(rows)
        })?;
        Ok(rows
            .into_iter()
            .map(|(consent_id, owner, failures, last_error)| Schedule {
                client_id: client_id.to_owned(),
                owner,
                consent_id,
                next_at: Some(hold_until),
                failures,
                last_error,
            })
            .collect())
    }

    fn schedules(&self, client_id: &str, owner: &str) -> Result<Vec<Schedule>, StoreError> {
        let rows = self.with(|c| {
            let mut statement = c.prepare(
                "SELECT consent_id, next_at, failures, last_error FROM operator_schedules \
                 WHERE client_id = ?1 AND owner = ?2",
            )?;
            let rows = statement
                .query_map(params![client_id, owner], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, Option<String>>(1)?,
                        row.get::<_, u32>(2)?,
                        row.get::<_, Option<String>>(3)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })?;
        rows.into_iter()
            .map(|(consent_id, next_at, failures, last_error)| {
                Ok(Schedule {
                    client_id: client_id.to_owned(),
                    owner: owner.to_owned(),
                    consent_id,
                    next_at: parse_optional_instant(next_at)?,
                    failures,
                    last_error,
                })
            })
            .collect()
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

    fn sealed_values(
        &self,
        after: Option<&SealedRef>,
        limit: usize,
    ) -> Result<Vec<SealedValue>, StoreError> {
        let start = after.map_or(SealedKind::RefreshToken, SealedRef::kind);
        self.with(|c| {
            let mut page = Vec::new();
            for kind in SealedKind::ALL.into_iter().filter(|kind| *kind >= start) {
                let room = limit.saturating_sub(page.len());
                if room == 0 {
                    break;
                }
                // Row keys are never empty, so '' is before the first row.
                let row_after = match after {
                    Some(at) if at.kind() == kind => at.row_key(),
                    _ => "",
                };
                let mut statement = c.prepare(sealed_query(kind))?;
                let rows = statement
                    .query_map(
                        params![row_after, i64::try_from(room).unwrap_or(i64::MAX)],
                        |row| {
                            Ok((
                                row.get::<_, String>(0)?,
                                row.get::<_, String>(1)?,
                                row.get::<_, Vec<u8>>(2)?,
                            ))
                        },
                    )?
                    .collect::<Result<Vec<_>, _>>()?;
                page.extend(
                    rows.into_iter()
                        .map(|(key, consent_id, sealed)| SealedValue {
                            at: SealedRef::from_row(kind, key, consent_id),
                            sealed,
                        }),
                );
            }
            Ok(page)
        })
    }

    fn replace_sealed(&self, at: &SealedRef, old: &[u8], new: &[u8]) -> Result<bool, StoreError> {
        self.with(|c| {
            let changed = match at {
                SealedRef::RefreshToken { consent_id } => c.execute(
                    "UPDATE operator_consents SET refresh_sealed = ?1 \
                     WHERE id = ?2 AND refresh_sealed = ?3",
                    params![new, consent_id, old],
                )?,
                SealedRef::AccessToken { consent_id } => c.execute(
                    "UPDATE operator_consents SET access_sealed = ?1 \
                     WHERE id = ?2 AND access_sealed = ?3",
                    params![new, consent_id, old],
                )?,
                SealedRef::TransactionSecrets { state_hash } => c.execute(
                    "UPDATE operator_transactions SET sealed_secrets = ?1 \
                     WHERE state_hash = ?2 AND sealed_secrets = ?3",
                    params![new, state_hash, old],
                )?,
                SealedRef::RetrievalAccessToken {
                    consent_id,
                    retrieval_id,
                } => c.execute(
                    "UPDATE operator_retrievals SET access_sealed = ?1 \
                     WHERE id = ?2 AND consent_id = ?3 AND access_sealed = ?4",
                    params![new, retrieval_id, consent_id, old],
                )?,
                SealedRef::RetrievalRecords {
                    consent_id,
                    retrieval_id,
                } => c.execute(
                    "UPDATE operator_retrievals SET records_sealed = ?1 \
                     WHERE id = ?2 AND consent_id = ?3 AND records_sealed = ?4",
                    params![new, retrieval_id, consent_id, old],
                )?,
            };
            Ok(changed == 1)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
                params![serde_json::to_string(&crate::store::suite::consent_record("k1").consent).expect("json")],
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
