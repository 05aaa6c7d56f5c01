//! The authority's tables in the shared SQLite file (all prefixed
//! `authority_`) and their migrations. Codes, tokens, request_uris, flow ids
//! and form tokens are stored only as SHA-256 hashes; times are Unix
//! milliseconds from the injected clock.

use rusqlite::{params, Connection, OptionalExtension as _, Transaction, TransactionBehavior};
use time::OffsetDateTime;

use crate::details::ConsentDetails;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS authority_requests (
    uri_hash    TEXT PRIMARY KEY,
    client_id   TEXT NOT NULL,
    params      TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
);
CREATE TABLE IF NOT EXISTS authority_flows (
    flow_hash       TEXT PRIMARY KEY,
    session_hash    TEXT NOT NULL,
    form_token_hash TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    params          TEXT NOT NULL,
    citizen_id      TEXT,
    expires_at      INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS authority_cards (
    citizen_id  TEXT PRIMARY KEY,
    failures    INTEGER NOT NULL,
    locked_at   INTEGER
);
CREATE TABLE IF NOT EXISTS authority_grants (
    id          TEXT PRIMARY KEY,
    client_id   TEXT NOT NULL,
    citizen_id  TEXT NOT NULL,
    details     TEXT NOT NULL,
    granted_at  INTEGER NOT NULL,
    ends_at     INTEGER,
    status      TEXT NOT NULL,
    ended_at    INTEGER
);
CREATE TABLE IF NOT EXISTS authority_codes (
    code_hash       TEXT PRIMARY KEY,
    grant_id        TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    redirect_uri    TEXT NOT NULL,
    code_challenge  TEXT NOT NULL,
    expires_at      INTEGER NOT NULL,
    used_at         INTEGER
);
CREATE TABLE IF NOT EXISTS authority_tokens (
    token_hash  TEXT PRIMARY KEY,
    grant_id    TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    issued_at   INTEGER NOT NULL,
    expires_at  INTEGER,
    used_at     INTEGER,
    revoked_at  INTEGER
);
CREATE INDEX IF NOT EXISTS authority_tokens_grant ON authority_tokens (grant_id);
CREATE TABLE IF NOT EXISTS authority_assertions (
    jti_hash    TEXT PRIMARY KEY,
    client_id   TEXT NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS authority_retrievals (
    id          TEXT PRIMARY KEY,
    grant_id    TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    items       TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    polls       INTEGER NOT NULL,
    outcome     TEXT NOT NULL,
    status      TEXT NOT NULL,
    finished_at INTEGER
);
CREATE TABLE IF NOT EXISTS authority_schema (version INTEGER NOT NULL);
";

/// What changed after the first schema, oldest first. Each migration runs
/// once, in one transaction with the version bump, so a file made by an
/// older authority is brought forward when it is opened.
const MIGRATIONS: [&str; 2] = [
    // 1: tokens record the thumbprint of the DPoP key they are bound to;
    // the key that derives refresh-token successors lives here.
    "
    ALTER TABLE authority_tokens ADD COLUMN jkt TEXT;
    CREATE TABLE authority_keys (
        name    TEXT PRIMARY KEY,
        key     BLOB NOT NULL
    );
    ",
    // 2: an access token records the refresh token of the same answer, so
    // that a retried rotation can revoke the access token of the answer that
    // was lost; a code records the DPoP key it was bound to at PAR.
    "
    ALTER TABLE authority_tokens ADD COLUMN refresh_hash TEXT;
    ALTER TABLE authority_codes ADD COLUMN jkt TEXT;
    ",
];

/// The name of the key that derives refresh-token successors.
const SUCCESSOR_KEY: &str = "refresh-successor";

/// Creates the tables and runs the migrations. WAL lets the operator
/// backend's connection read and write the same file while this one does.
pub(crate) fn init(db: &mut Connection) -> rusqlite::Result<()> {
    db.busy_timeout(std::time::Duration::from_secs(5))?;
    // In-memory databases answer "memory"; either answer is fine.
    let _mode: String = db.query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0))?;
    db.execute_batch(SCHEMA)?;
    migrate(db)
}

fn migrate(db: &mut Connection) -> rusqlite::Result<()> {
    // Immediate: two processes opening the same new file must not both run
    // a migration.
    let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: Option<i64> =
        tx.query_row("SELECT MAX(version) FROM authority_schema", [], |row| {
            row.get(0)
        })?;
    let done = usize::try_from(version.unwrap_or(0)).unwrap_or(0);
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(done) {
        tx.execute_batch(migration)?;
        tx.execute("DELETE FROM authority_schema", [])?;
        tx.execute(
            "INSERT INTO authority_schema (version) VALUES (?1)",
            params![i64::try_from(index + 1).unwrap_or(i64::MAX)],
        )?;
    }
    tx.commit()
}

/// Begins a transaction that will write. Immediate: it takes the write lock
/// at the start, waiting (up to the busy timeout) while the operator
/// backend's connection writes. A deferred one that read first could not
/// wait when it came to write after another commit, and would fail at once
/// with "database is locked".
pub(crate) fn write(db: &mut Connection) -> rusqlite::Result<Transaction<'_>> {
    db.transaction_with_behavior(TransactionBehavior::Immediate)
}

/// The key that derives refresh-token successors, made (from `fresh`) the
/// first time and kept from then on.
pub(crate) fn successor_key(db: &Connection, fresh: &[u8; 32]) -> rusqlite::Result<Vec<u8>> {
    db.execute(
        "INSERT OR IGNORE INTO authority_keys (name, key) VALUES (?1, ?2)",
        params![SUCCESSOR_KEY, fresh.as_slice()],
    )?;
    db.query_row(
        "SELECT key FROM authority_keys WHERE name = ?1",
        [SUCCESSOR_KEY],
        |row| row.get(0),
    )
}

/// Unix milliseconds of an instant.
pub(crate) fn ms(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The instant of Unix milliseconds.
pub(crate) fn from_ms(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Where a grant stands, as `grant_status` and the grant list name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GrantStatus {
    /// In force.
    Active,
    /// Revoked by the client (RFC 7009) on the citizen's behalf.
    Revoked,
    /// Revoked by the authority: a refresh token or a code was used twice,
    /// or the sandbox control flagged it.
    Compromised,
    /// A linkage past its end.
    Expired,
    /// A one-time grant whose one retrieval is done: nothing more can be
    /// retrieved with it.
    Completed,
}

impl GrantStatus {
    /// Stable code.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Revoked => "revoked",
            Self::Compromised => "compromised",
            Self::Expired => "expired",
            Self::Completed => "completed",
        }
    }

    fn from_code(code: &str) -> Self {
        match code {
            "revoked" => Self::Revoked,
            "compromised" => Self::Compromised,
            "expired" => Self::Expired,
            "completed" => Self::Completed,
            _ => Self::Active,
        }
    }
}

/// A grant: what a citizen approved for a client, and until when.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub(crate) id: String,
    pub(crate) client_id: String,
    pub(crate) citizen_id: String,
    pub(crate) details: ConsentDetails,
    pub(crate) granted_at: OffsetDateTime,
    pub(crate) ends_at: Option<OffsetDateTime>,
    stored_status: GrantStatus,
    pub(crate) ended_at: Option<OffsetDateTime>,
}

impl Grant {
    /// The status at `now`: an ending recorded in the table wins; otherwise a
    /// linkage past its end is expired.
    pub(crate) fn status(&self, now: OffsetDateTime) -> GrantStatus {
        match (self.stored_status, self.ends_at) {
            (GrantStatus::Active, Some(ends_at)) if now >= ends_at => GrantStatus::Expired,
            (status, _) => status,
        }
    }
}

fn grant_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Grant> {
    let details: String = row.get(3)?;
    let details = serde_json::from_str(&details).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, Box::new(e))
    })?;
    let status: String = row.get(6)?;
    Ok(Grant {
        id: row.get(0)?,
        client_id: row.get(1)?,
        citizen_id: row.get(2)?,
        details,
        granted_at: from_ms(row.get(4)?),
        ends_at: row.get::<_, Option<i64>>(5)?.map(from_ms),
        stored_status: GrantStatus::from_code(&status),
        ended_at: row.get::<_, Option<i64>>(7)?.map(from_ms),
    })
}

const GRANT_COLUMNS: &str =
    "id, client_id, citizen_id, details, granted_at, ends_at, status, ended_at";

/// The grant with this id.
pub(crate) fn grant(db: &Connection, id: &str) -> rusqlite::Result<Option<Grant>> {
    db.query_row(
        &format!("SELECT {GRANT_COLUMNS} FROM authority_grants WHERE id = ?1"),
        [id],
        grant_from_row,
    )
    .optional()
}

/// Every grant, newest first.
pub(crate) fn grants(db: &Connection) -> rusqlite::Result<Vec<Grant>> {
    let mut statement = db.prepare(&format!(
        "SELECT {GRANT_COLUMNS} FROM authority_grants ORDER BY granted_at DESC, id"
    ))?;
    let rows = statement.query_map([], grant_from_row)?;
    rows.collect()
}

/// Records a new grant.
pub(crate) fn insert_grant(
    db: &Connection,
    id: &str,
    client_id: &str,
    citizen_id: &str,
    details: &ConsentDetails,
    granted_at: OffsetDateTime,
    ends_at: Option<OffsetDateTime>,
) -> rusqlite::Result<()> {
    let details = serde_json::to_string(details)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    db.execute(
        "INSERT INTO authority_grants (id, client_id, citizen_id, details, granted_at, ends_at, status)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'active')",
        params![id, client_id, citizen_id, details, ms(granted_at), ends_at.map(ms)],
    )?;
    Ok(())
}

/// Ends a grant that is still active and revokes every token of it. An
/// ending already recorded is kept: the first reason is the true one.
pub(crate) fn end_grant(
    tx: &Transaction<'_>,
    grant_id: &str,
    status: GrantStatus,
    now: OffsetDateTime,
) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE authority_grants SET status = ?2, ended_at = ?3 WHERE id = ?1 AND status = 'active'",
        params![grant_id, status.code(), ms(now)],
    )?;
    tx.execute(
        "UPDATE authority_tokens SET revoked_at = ?2 WHERE grant_id = ?1 AND revoked_at IS NULL",
        params![grant_id, ms(now)],
    )?;
    Ok(())
}

/// A stored token, found by its hash.
#[derive(Debug, Clone)]
pub(crate) struct StoredToken {
    pub(crate) hash: String,
    pub(crate) grant_id: String,
    pub(crate) client_id: String,
    pub(crate) kind: TokenKind,
    pub(crate) expires_at: Option<OffsetDateTime>,
    pub(crate) used_at: Option<OffsetDateTime>,
    pub(crate) revoked_at: Option<OffsetDateTime>,
    /// The thumbprint of the DPoP key the token is bound to.
    pub(crate) jkt: Option<String>,
}

/// Access or refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    Access,
    Refresh,
}

impl TokenKind {
    fn code(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Refresh => "refresh",
        }
    }
}

/// The token whose hash is `hash`.
pub(crate) fn token(db: &Connection, hash: &str) -> rusqlite::Result<Option<StoredToken>> {
    db.query_row(
        "SELECT token_hash, grant_id, client_id, kind, expires_at, used_at, revoked_at, jkt
         FROM authority_tokens WHERE token_hash = ?1",
        [hash],
        |row| {
            let kind: String = row.get(3)?;
            Ok(StoredToken {
                hash: row.get(0)?,
                grant_id: row.get(1)?,
                client_id: row.get(2)?,
                kind: if kind == "refresh" {
                    TokenKind::Refresh
                } else {
                    TokenKind::Access
                },
                expires_at: row.get::<_, Option<i64>>(4)?.map(from_ms),
                used_at: row.get::<_, Option<i64>>(5)?.map(from_ms),
                revoked_at: row.get::<_, Option<i64>>(6)?.map(from_ms),
                jkt: row.get(7)?,
            })
        },
    )
    .optional()
}

/// A token to record, by its hash.
#[derive(Debug, Clone)]
pub(crate) struct NewToken<'a> {
    pub(crate) hash: &'a str,
    pub(crate) grant_id: &'a str,
    pub(crate) client_id: &'a str,
    pub(crate) kind: TokenKind,
    pub(crate) issued_at: OffsetDateTime,
    pub(crate) expires_at: Option<OffsetDateTime>,
    /// The thumbprint of the DPoP key it is bound to.
    pub(crate) jkt: Option<&'a str>,
    /// For an access token, the hash of the refresh token the same answer
    /// carried.
    pub(crate) refresh_hash: Option<&'a str>,
}

/// Records a new token by its hash.
pub(crate) fn insert_token(db: &Connection, token: &NewToken<'_>) -> rusqlite::Result<()> {
    db.execute(
        "INSERT INTO authority_tokens (token_hash, grant_id, client_id, kind, issued_at, expires_at, jkt, refresh_hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            token.hash,
            token.grant_id,
            token.client_id,
            token.kind.code(),
            ms(token.issued_at),
            token.expires_at.map(ms),
            token.jkt,
            token.refresh_hash
        ],
    )?;
    Ok(())
}

/// Revokes the access tokens of `grant_id` that were issued with the
/// refresh token whose hash is `refresh_hash`.
pub(crate) fn revoke_access_tokens_issued_with(
    db: &Connection,
    grant_id: &str,
    refresh_hash: &str,
    now: OffsetDateTime,
) -> rusqlite::Result<()> {
    db.execute(
        "UPDATE authority_tokens SET revoked_at = ?3
         WHERE grant_id = ?1 AND refresh_hash = ?2 AND kind = 'access' AND revoked_at IS NULL",
        params![grant_id, refresh_hash, ms(now)],
    )?;
    Ok(())
}

/// Marks a refresh token used; false when it already was (a concurrent use
/// lost the race and must count as reuse).
pub(crate) fn use_token(
    db: &Connection,
    hash: &str,
    now: OffsetDateTime,
) -> rusqlite::Result<bool> {
    let changed = db.execute(
        "UPDATE authority_tokens SET used_at = ?2 WHERE token_hash = ?1 AND used_at IS NULL",
        params![hash, ms(now)],
    )?;
    Ok(changed == 1)
}

/// Revokes one token.
pub(crate) fn revoke_token(
    db: &Connection,
    hash: &str,
    now: OffsetDateTime,
) -> rusqlite::Result<()> {
    db.execute(
        "UPDATE authority_tokens SET revoked_at = ?2 WHERE token_hash = ?1 AND revoked_at IS NULL",
        params![hash, ms(now)],
    )?;
    Ok(())
}

/// A stored authorization code.
#[derive(Debug, Clone)]
pub(crate) struct StoredCode {
    pub(crate) grant_id: String,
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) code_challenge: String,
    pub(crate) expires_at: OffsetDateTime,
    pub(crate) used_at: Option<OffsetDateTime>,
    /// The thumbprint of the DPoP key the code was bound to at PAR.
    pub(crate) jkt: Option<String>,
}

/// The code whose hash is `hash`.
pub(crate) fn code(db: &Connection, hash: &str) -> rusqlite::Result<Option<StoredCode>> {
    db.query_row(
        "SELECT grant_id, client_id, redirect_uri, code_challenge, expires_at, used_at, jkt
         FROM authority_codes WHERE code_hash = ?1",
        [hash],
        |row| {
            Ok(StoredCode {
                grant_id: row.get(0)?,
                client_id: row.get(1)?,
                redirect_uri: row.get(2)?,
                code_challenge: row.get(3)?,
                expires_at: from_ms(row.get(4)?),
                used_at: row.get::<_, Option<i64>>(5)?.map(from_ms),
                jkt: row.get(6)?,
            })
        },
    )
    .optional()
}

/// A code to record, by its hash.
#[derive(Debug, Clone)]
pub(crate) struct NewCode<'a> {
    pub(crate) hash: &'a str,
    pub(crate) grant_id: &'a str,
    pub(crate) client_id: &'a str,
    pub(crate) redirect_uri: &'a str,
    pub(crate) code_challenge: &'a str,
    pub(crate) expires_at: OffsetDateTime,
    /// The thumbprint of the DPoP key the code is bound to.
    pub(crate) jkt: Option<&'a str>,
}

/// Records a new code by its hash.
pub(crate) fn insert_code(db: &Connection, code: &NewCode<'_>) -> rusqlite::Result<()> {
    db.execute(
        "INSERT INTO authority_codes (code_hash, grant_id, client_id, redirect_uri, code_challenge, expires_at, jkt)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            code.hash,
            code.grant_id,
            code.client_id,
            code.redirect_uri,
            code.code_challenge,
            ms(code.expires_at),
            code.jkt
        ],
    )?;
    Ok(())
}

/// Marks a code used; false when it already was.
pub(crate) fn use_code(db: &Connection, hash: &str, now: OffsetDateTime) -> rusqlite::Result<bool> {
    let changed = db.execute(
        "UPDATE authority_codes SET used_at = ?2 WHERE code_hash = ?1 AND used_at IS NULL",
        params![hash, ms(now)],
    )?;
    Ok(changed == 1)
}

/// A pushed authorization request.
#[derive(Debug, Clone)]
pub(crate) struct StoredRequest {
    pub(crate) client_id: String,
    pub(crate) params: String,
    pub(crate) expires_at: OffsetDateTime,
    pub(crate) used_at: Option<OffsetDateTime>,
}

/// Records a pushed request by the hash of its request_uri.
pub(crate) fn insert_request(
    db: &Connection,
    uri_hash: &str,
    client_id: &str,
    params_json: &str,
    expires_at: OffsetDateTime,
) -> rusqlite::Result<()> {
    db.execute(
        "INSERT INTO authority_requests (uri_hash, client_id, params, expires_at) VALUES (?1, ?2, ?3, ?4)",
        params![uri_hash, client_id, params_json, ms(expires_at)],
    )?;
    Ok(())
}

/// Takes a pushed request: answers it and marks it used in one statement
/// pair under the caller's lock, so a request_uri works once.
pub(crate) fn take_request(
    db: &Connection,
    uri_hash: &str,
    now: OffsetDateTime,
) -> rusqlite::Result<Option<StoredRequest>> {
    let found = db
        .query_row(
            "SELECT client_id, params, expires_at, used_at FROM authority_requests WHERE uri_hash = ?1",
            [uri_hash],
            |row| {
                Ok(StoredRequest {
                    client_id: row.get(0)?,
                    params: row.get(1)?,
                    expires_at: from_ms(row.get(2)?),
                    used_at: row.get::<_, Option<i64>>(3)?.map(from_ms),
                })
            },
        )
        .optional()?;
    if found.as_ref().is_some_and(|r| r.used_at.is_none()) {
        db.execute(
            "UPDATE authority_requests SET used_at = ?2 WHERE uri_hash = ?1",
            params![uri_hash, ms(now)],
        )?;
    }
    Ok(found)
}

/// A citizen's way through the sign-in and consent pages.
#[derive(Debug, Clone)]
pub(crate) struct Flow {
    pub(crate) flow_hash: String,
    pub(crate) session_hash: String,
    pub(crate) form_token_hash: String,
    pub(crate) client_id: String,
    pub(crate) params: String,
    pub(crate) citizen_id: Option<String>,
    pub(crate) expires_at: OffsetDateTime,
}

/// Records a new flow.
pub(crate) fn insert_flow(db: &Connection, flow: &Flow) -> rusqlite::Result<()> {
    db.execute(
        "INSERT INTO authority_flows (flow_hash, session_hash, form_token_hash, client_id, params, citizen_id, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            flow.flow_hash,
            flow.session_hash,
            flow.form_token_hash,
            flow.client_id,
            flow.params,
            flow.citizen_id,
            ms(flow.expires_at)
        ],
    )?;
    Ok(())
}

/// The flow whose id hashes to `flow_hash`.
pub(crate) fn flow(db: &Connection, flow_hash: &str) -> rusqlite::Result<Option<Flow>> {
    db.query_row(
        "SELECT flow_hash, session_hash, form_token_hash, client_id, params, citizen_id, expires_at
         FROM authority_flows WHERE flow_hash = ?1",
        [flow_hash],
        |row| {
            Ok(Flow {
                flow_hash: row.get(0)?,
                session_hash: row.get(1)?,
                form_token_hash: row.get(2)?,
                client_id: row.get(3)?,
                params: row.get(4)?,
                citizen_id: row.get(5)?,
                expires_at: from_ms(row.get(6)?),
            })
        },
    )
    .optional()
}

/// Records the signed-in citizen and the new form token.
pub(crate) fn sign_in_flow(
    db: &Connection,
    flow_hash: &str,
    citizen_id: &str,
    form_token_hash: &str,
) -> rusqlite::Result<()> {
    db.execute(
        "UPDATE authority_flows SET citizen_id = ?2, form_token_hash = ?3 WHERE flow_hash = ?1",
        params![flow_hash, citizen_id, form_token_hash],
    )?;
    Ok(())
}

/// Records a new form token for the flow's next page.
pub(crate) fn sign_in_flow_token(
    db: &Connection,
    flow_hash: &str,
    form_token_hash: &str,
) -> rusqlite::Result<()> {
    db.execute(
        "UPDATE authority_flows SET form_token_hash = ?2 WHERE flow_hash = ?1",
        params![flow_hash, form_token_hash],
    )?;
    Ok(())
}

/// Deletes a flow (decided) and every expired one.
pub(crate) fn delete_flow(
    db: &Connection,
    flow_hash: &str,
    now: OffsetDateTime,
) -> rusqlite::Result<bool> {
    let deleted = db.execute(
        "DELETE FROM authority_flows WHERE flow_hash = ?1",
        [flow_hash],
    )?;
    db.execute(
        "DELETE FROM authority_flows WHERE expires_at <= ?1",
        [ms(now)],
    )?;
    Ok(deleted == 1)
}

/// A citizen's card: wrong PINs in a row, and whether it is locked.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Card {
    pub(crate) failures: u32,
    pub(crate) locked: bool,
}

/// The card of a citizen.
pub(crate) fn card(db: &Connection, citizen_id: &str) -> rusqlite::Result<Card> {
    Ok(db
        .query_row(
            "SELECT failures, locked_at FROM authority_cards WHERE citizen_id = ?1",
            [citizen_id],
            |row| {
                Ok(Card {
                    failures: row.get(0)?,
                    locked: row.get::<_, Option<i64>>(1)?.is_some(),
                })
            },
        )
        .optional()?
        .unwrap_or_default())
}

/// Records the card's state.
pub(crate) fn set_card(
    db: &Connection,
    citizen_id: &str,
    failures: u32,
    locked_at: Option<OffsetDateTime>,
) -> rusqlite::Result<()> {
    db.execute(
        "INSERT INTO authority_cards (citizen_id, failures, locked_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (citizen_id) DO UPDATE SET failures = excluded.failures, locked_at = excluded.locked_at",
        params![citizen_id, failures, locked_at.map(ms)],
    )?;
    Ok(())
}

/// A retrieval.
#[derive(Debug, Clone)]
pub(crate) struct Retrieval {
    pub(crate) id: String,
    pub(crate) grant_id: String,
    pub(crate) items: Vec<String>,
    pub(crate) created_at: OffsetDateTime,
    pub(crate) polls: u32,
    pub(crate) outcome: String,
    pub(crate) status: String,
}

/// Records a new retrieval, waiting.
pub(crate) fn insert_retrieval(
    db: &Connection,
    id: &str,
    grant_id: &str,
    client_id: &str,
    items: &[String],
    created_at: OffsetDateTime,
    outcome: &str,
) -> rusqlite::Result<()> {
    let items = serde_json::to_string(items)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    db.execute(
        "INSERT INTO authority_retrievals (id, grant_id, client_id, items, created_at, polls, outcome, status)
         VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, 'waiting')",
        params![id, grant_id, client_id, items, ms(created_at), outcome],
    )?;
    Ok(())
}

/// The retrieval with this id.
pub(crate) fn retrieval(db: &Connection, id: &str) -> rusqlite::Result<Option<Retrieval>> {
    db.query_row(
        "SELECT id, grant_id, items, created_at, polls, outcome, status FROM authority_retrievals WHERE id = ?1",
        [id],
        |row| {
            let items: String = row.get(2)?;
            let items = serde_json::from_str(&items).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, Box::new(e))
            })?;
            Ok(Retrieval {
                id: row.get(0)?,
                grant_id: row.get(1)?,
                items,
                created_at: from_ms(row.get(3)?),
                polls: row.get(4)?,
                outcome: row.get(5)?,
                status: row.get(6)?,
            })
        },
    )
    .optional()
}

/// Records a poll and, when given, the final status.
pub(crate) fn update_retrieval(
    db: &Connection,
    id: &str,
    polls: u32,
    status: &str,
    finished_at: Option<OffsetDateTime>,
) -> rusqlite::Result<()> {
    db.execute(
        "UPDATE authority_retrievals SET polls = ?2, status = ?3, finished_at = COALESCE(finished_at, ?4) WHERE id = ?1",
        params![id, polls, status, finished_at.map(ms)],
    )?;
    Ok(())
}

/// Records the `jti` of a client assertion; false when it was seen before
/// (a replay). Assertions past their expiry are forgotten, since their `exp`
/// refuses them anyway.
pub(crate) fn remember_assertion(
    db: &Connection,
    jti_hash: &str,
    client_id: &str,
    expires_at: OffsetDateTime,
    now: OffsetDateTime,
) -> rusqlite::Result<bool> {
    db.execute(
        "DELETE FROM authority_assertions WHERE expires_at <= ?1",
        [ms(now)],
    )?;
    let inserted = db.execute(
        "INSERT OR IGNORE INTO authority_assertions (jti_hash, client_id, expires_at) VALUES (?1, ?2, ?3)",
        params![jti_hash, client_id, ms(expires_at)],
    )?;
    Ok(inserted == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tables as an authority without migrations left them.
    const FIRST_SCHEMA_TOKENS: &str = "
    CREATE TABLE authority_tokens (
        token_hash  TEXT PRIMARY KEY,
        grant_id    TEXT NOT NULL,
        client_id   TEXT NOT NULL,
        kind        TEXT NOT NULL,
        issued_at   INTEGER NOT NULL,
        expires_at  INTEGER,
        used_at     INTEGER,
        revoked_at  INTEGER
    );
    INSERT INTO authority_tokens (token_hash, grant_id, client_id, kind, issued_at)
        VALUES ('old-hash', 'g', 'c', 'refresh', 0);
    ";

    #[test]
    fn a_file_from_before_the_migrations_is_brought_forward_once() {
        let mut db = Connection::open_in_memory().expect("open");
        db.execute_batch(FIRST_SCHEMA_TOKENS).expect("old schema");
        init(&mut db).expect("migrate");
        let old = token(&db, "old-hash").expect("read").expect("kept");
        assert_eq!(old.jkt, None);
        insert_token(
            &db,
            &NewToken {
                hash: "new-hash",
                grant_id: "g",
                client_id: "c",
                kind: TokenKind::Access,
                issued_at: OffsetDateTime::UNIX_EPOCH,
                expires_at: None,
                jkt: Some("thumb"),
                refresh_hash: None,
            },
        )
        .expect("insert");
        // Opening again runs nothing twice.
        init(&mut db).expect("again");
        let new = token(&db, "new-hash").expect("read").expect("kept");
        assert_eq!(new.jkt.as_deref(), Some("thumb"));
    }

    #[test]
    fn the_successor_key_is_made_once() {
        let mut db = Connection::open_in_memory().expect("open");
        init(&mut db).expect("init");
        let first = successor_key(&db, &[1; 32]).expect("key");
        assert_eq!(first, vec![1; 32]);
        assert_eq!(successor_key(&db, &[2; 32]).expect("key"), first);
    }
}
