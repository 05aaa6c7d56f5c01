//! The PostgreSQL implementation of [`ConsentStore`], for several instances
//! of the backend on one database: tables prefixed `operator_`, versioned
//! migrations applied once under an advisory lock, claims taken with
//! `FOR UPDATE SKIP LOCKED`, and compare-and-swap updates, so that no
//! guarantee rests on one process's memory.
//!
//! ## A synchronous store over an async driver
//!
//! The trait is synchronous, and the backend calls it inside
//! `tokio::task::spawn_blocking` (see `Operator::db`), because SQLite's
//! driver blocks. tokio-postgres is async: each connection is a task on a
//! Tokio runtime. Rather than run a second runtime beside the backend's,
//! [`PostgresStore`] keeps the [`Handle`] of the runtime it was made in and
//! drives each call with [`Handle::block_on`] on the calling thread: that
//! thread waits (it is a blocking thread anyway) while the runtime's workers
//! do the I/O. Hence two rules:
//!
//! - make the store where a Tokio runtime is current (inside the runtime,
//!   or under [`tokio::runtime::Runtime::enter`]);
//! - call it from a thread that may block (a `spawn_blocking` task or a
//!   plain thread), never from an async task, where `block_on` panics.
//!
//! ## Types
//!
//! Instants are `TIMESTAMPTZ`, truncated to whole seconds as the SQLite
//! store's RFC 3339 text is, so both order and compare alike. Sealed values
//! are `BYTEA`, lists of ids `TEXT[]`, and documents (consents, receipts)
//! the JSON text they were given as. Rows that list newest first carry a
//! `seq` identity, which breaks ties between rows of the same second the way
//! SQLite's `rowid` does.
//!
//! The connection is not encrypted (no TLS): reach the database over
//! loopback, a private network or a Unix socket (`host=/run/postgresql`).

use std::time::Duration;

use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use myna_consent::consent::Consent;
use myna_consent::i18n::Locale;
use time::OffsetDateTime;
use tokio::runtime::Handle;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

use super::*;

/// The PostgreSQL implementation: a pool of connections to one database
/// (and schema), shared by every backend of the process.
pub struct PostgresStore {
    pool: Pool,
    runtime: Handle,
}

/// How [`PostgresStore::connect_with_options`] connects.
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    max_connections: usize,
    acquire_timeout: Duration,
    schema: Option<String>,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(10),
            schema: None,
        }
    }
}

impl PostgresOptions {
    /// At most this many connections per process (default 16): each call
    /// holds one for its duration, so this bounds the concurrent calls, and
    /// N instances open up to N times as many on the server.
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// How long a call waits for a free (or new) connection before it fails
    /// (default 10 s), so that a saturated or unreachable database answers
    /// with an error instead of a hang.
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// Keeps the tables in this schema (which must exist) instead of the
    /// database's default search path. Lowercase letters, digits and `_`.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }
}

/// Why PostgreSQL failed.
#[derive(Debug, thiserror::Error)]
pub enum PostgresError {
    /// The database answered with an error, or the connection broke.
    #[error("{0}")]
    Database(#[from] tokio_postgres::Error),
    /// No connection could be had from the pool in time.
    #[error("no database connection: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    /// The URL or the options cannot be used.
    #[error("the database settings cannot be used: {0}")]
    Settings(String),
    /// The store was made where no Tokio runtime is current.
    #[error("the PostgreSQL store must be made inside a Tokio runtime")]
    NoRuntime,
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(error: tokio_postgres::Error) -> Self {
        Self::Postgres(PostgresError::Database(error))
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        Self::Postgres(PostgresError::Pool(error))
    }
}

/// The key of the transaction-level advisory lock under which one instance
/// migrates while the others starting with it wait ("myna_opr").
const MIGRATION_LOCK: i64 = 0x6d79_6e61_5f6f_7072;

/// Each migration runs once, in one transaction with its version row, in
/// order. PostgreSQL support began with the SQLite store's version 2, so
/// the first migration is that schema whole.
const MIGRATIONS: [&str; 5] = [
    // 1: sessions, transactions, consents with their sealed tokens, refresh
    // log, retrievals leased as jobs, request tokens, webhook outbox.
    "
    CREATE TABLE operator_sessions (
        client_id TEXT NOT NULL,
        session_hash TEXT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL,
        last_seen_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (client_id, session_hash)
    );
    CREATE TABLE operator_transactions (
        state_hash TEXT PRIMARY KEY,
        client_id TEXT NOT NULL,
        owner TEXT NOT NULL,
        sealed_secrets BYTEA NOT NULL,
        request_json TEXT NOT NULL,
        chosen_optional TEXT[] NOT NULL,
        recipient_ids TEXT[] NOT NULL,
        request_token_hash TEXT,
        created_at TIMESTAMPTZ NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL,
        used_at TIMESTAMPTZ
    );
    CREATE INDEX operator_transactions_by_end ON operator_transactions (client_id, expires_at);
    CREATE TABLE operator_consents (
        id TEXT PRIMARY KEY,
        seq BIGINT GENERATED ALWAYS AS IDENTITY,
        client_id TEXT NOT NULL,
        owner TEXT NOT NULL,
        consent_json TEXT NOT NULL,
        grant_id TEXT,
        locale TEXT NOT NULL,
        revoked_at TIMESTAMPTZ,
        suspended_at TIMESTAMPTZ,
        expired_at TIMESTAMPTZ,
        last_retrieval_at TIMESTAMPTZ,
        refresh_sealed BYTEA,
        access_sealed BYTEA,
        access_expires_at TIMESTAMPTZ,
        access_claimed_at TIMESTAMPTZ,
        grant_receipt TEXT NOT NULL,
        revocation_receipt TEXT,
        recipient_ids TEXT[] NOT NULL,
        created_at TIMESTAMPTZ NOT NULL
    );
    CREATE INDEX operator_consents_by_owner ON operator_consents (client_id, owner, created_at);
    CREATE TABLE operator_refreshes (
        consent_id TEXT NOT NULL REFERENCES operator_consents (id),
        refreshed_at TIMESTAMPTZ NOT NULL
    );
    CREATE INDEX operator_refreshes_by_consent ON operator_refreshes (consent_id);
    CREATE TABLE operator_retrievals (
        id TEXT PRIMARY KEY,
        seq BIGINT GENERATED ALWAYS AS IDENTITY,
        consent_id TEXT NOT NULL REFERENCES operator_consents (id),
        client_id TEXT NOT NULL,
        remote_id TEXT NOT NULL,
        started_at TIMESTAMPTZ NOT NULL,
        finished_at TIMESTAMPTZ,
        status TEXT NOT NULL,
        items_requested TEXT[] NOT NULL,
        items_json TEXT,
        records_sealed BYTEA,
        error TEXT,
        access_sealed BYTEA,
        lease_owner TEXT,
        lease_until TIMESTAMPTZ,
        deadline TIMESTAMPTZ NOT NULL
    );
    CREATE INDEX operator_retrievals_by_consent ON operator_retrievals (consent_id, started_at);
    CREATE INDEX operator_retrievals_waiting ON operator_retrievals (client_id, lease_until)
        WHERE status = 'waiting';
    CREATE TABLE operator_request_tokens (
        token_hash TEXT PRIMARY KEY,
        client_id TEXT NOT NULL,
        definition_json TEXT NOT NULL,
        subject TEXT,
        created_at TIMESTAMPTZ NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL,
        used_at TIMESTAMPTZ
    );
    CREATE INDEX operator_request_tokens_by_end ON operator_request_tokens (client_id, expires_at);
    CREATE TABLE operator_webhooks (
        id TEXT PRIMARY KEY,
        seq BIGINT GENERATED ALWAYS AS IDENTITY,
        client_id TEXT NOT NULL,
        consent_id TEXT NOT NULL REFERENCES operator_consents (id),
        recipient_id TEXT NOT NULL,
        url TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TIMESTAMPTZ,
        delivered_at TIMESTAMPTZ,
        failed_at TIMESTAMPTZ,
        last_error TEXT
    );
    CREATE INDEX operator_webhooks_due ON operator_webhooks (client_id, next_attempt_at)
        WHERE delivered_at IS NULL AND failed_at IS NULL;
    CREATE INDEX operator_webhooks_by_consent ON operator_webhooks (consent_id);
    ",
    // 2: linkages retrieve on a schedule, without a browser.
    "
    CREATE TABLE operator_schedules (
        consent_id TEXT PRIMARY KEY REFERENCES operator_consents (id),
        client_id TEXT NOT NULL,
        owner TEXT NOT NULL,
        next_at TIMESTAMPTZ,
        failures INTEGER NOT NULL DEFAULT 0,
        last_error TEXT
    );
    CREATE INDEX operator_schedules_due ON operator_schedules (client_id, next_at);
    ",
    // 3: refreshes are serialised through the database, not a mutex.
    "
    ALTER TABLE operator_consents ADD COLUMN refresh_lease_owner TEXT;
    ALTER TABLE operator_consents ADD COLUMN refresh_lease_until TIMESTAMPTZ;
    ",
    // 4: the instances alive, which share the authority's TPS.
    "
    CREATE TABLE operator_instances (
        client_id TEXT NOT NULL,
        instance TEXT NOT NULL,
        seen_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (client_id, instance)
    );
    ",
    // 5: retention in days, and when a consent's data stops being kept.
    "
    ALTER TABLE operator_transactions ADD COLUMN retention_days INTEGER;
    ALTER TABLE operator_consents ADD COLUMN retention_days INTEGER;
    ALTER TABLE operator_consents ADD COLUMN data_ends_at TIMESTAMPTZ;
    ",
];

/// Instants are stored in whole seconds, as the SQLite store stores them,
/// so that a value reads back equal and comparisons agree across stores.
fn instant(at: OffsetDateTime) -> OffsetDateTime {
    at.to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(at)
}

fn corrupt(what: &str) -> impl Fn(serde_json::Error) -> StoreError + '_ {
    move |e| StoreError::Corrupt(format!("{what}: {e}"))
}

/// `limit` as SQL's `LIMIT` takes it.
fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// A count as the trait answers it.
fn count(rows: u64) -> usize {
    usize::try_from(rows).unwrap_or(usize::MAX)
}

/// A non-negative counter read back.
fn counter(value: i32) -> u32 {
    u32::try_from(value).unwrap_or(0)
}

async fn execute(
    c: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<u64, tokio_postgres::Error> {
    let statement = c.prepare_cached(sql).await?;
    c.execute(&statement, params).await
}

async fn query(
    c: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Row>, tokio_postgres::Error> {
    let statement = c.prepare_cached(sql).await?;
    c.query(&statement, params).await
}

async fn query_opt(
    c: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Option<Row>, tokio_postgres::Error> {
    let statement = c.prepare_cached(sql).await?;
    c.query_opt(&statement, params).await
}

const CONSENT_COLUMNS: &str = "consent_json, grant_id, locale, revoked_at, suspended_at, \
    expired_at, last_retrieval_at, grant_receipt, revocation_receipt, recipient_ids";

fn consent_record(row: &Row) -> Result<ConsentRecord, StoreError> {
    let json: String = row.try_get(0)?;
    let locale: String = row.try_get(2)?;
    let mut consent: Consent = serde_json::from_str(&json).map_err(corrupt("consent"))?;
    consent.revoked_at = row.try_get(3)?;
    consent.suspended_at = row.try_get(4)?;
    Ok(ConsentRecord {
        consent,
        grant_id: row.try_get(1)?,
        locale: Locale::from_code(&locale).unwrap_or_default(),
        expired_at: row.try_get(5)?,
        last_retrieval_at: row.try_get(6)?,
        grant_receipt: row.try_get(7)?,
        revocation_receipt: row.try_get(8)?,
        recipient_ids: row.try_get(9)?,
    })
}

const RETRIEVAL_COLUMNS: &str = "id, started_at, finished_at, status, items_json, error";

fn retrieval_record(row: &Row) -> Result<RetrievalRecord, StoreError> {
    let items: Option<String> = row.try_get(4)?;
    Ok(RetrievalRecord {
        id: row.try_get(0)?,
        started_at: row.try_get(1)?,
        finished_at: row.try_get(2)?,
        status: row.try_get(3)?,
        items: items
            .map(|text| serde_json::from_str(&text).map_err(corrupt("retrieval items")))
            .transpose()?,
        error: row.try_get(5)?,
    })
}

/// The page of one kind of sealed value after a row key, in row order.
fn sealed_query(kind: SealedKind) -> &'static str {
    match kind {
        SealedKind::RefreshToken => {
            "SELECT id, id, refresh_sealed FROM operator_consents \
             WHERE length(refresh_sealed) > 0 AND id > $1 ORDER BY id LIMIT $2"
        }
        SealedKind::AccessToken => {
            "SELECT id, id, access_sealed FROM operator_consents \
             WHERE length(access_sealed) > 0 AND id > $1 ORDER BY id LIMIT $2"
        }
        SealedKind::TransactionSecrets => {
            "SELECT state_hash, '', sealed_secrets FROM operator_transactions \
             WHERE length(sealed_secrets) > 0 AND state_hash > $1 ORDER BY state_hash LIMIT $2"
        }
        SealedKind::RetrievalAccessToken => {
            "SELECT id, consent_id, access_sealed FROM operator_retrievals \
             WHERE length(access_sealed) > 0 AND id > $1 ORDER BY id LIMIT $2"
        }
        SealedKind::RetrievalRecords => {
            "SELECT id, consent_id, records_sealed FROM operator_retrievals \
             WHERE length(records_sealed) > 0 AND id > $1 ORDER BY id LIMIT $2"
        }
    }
}

impl PostgresStore {
    /// Connects to the database at `url` (a `postgres://` URL or a
    /// `key=value` string, as libpq takes them) with the default
    /// [`PostgresOptions`], and brings its `operator_` tables up to date.
    /// See [`PostgresStore::connect_with_options`].
    pub fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with_options(url, PostgresOptions::default())
    }

    /// Connects to the database at `url` and brings its `operator_` tables
    /// up to date: the migrations this database has not had run in one
    /// transaction under an advisory lock, so that instances starting
    /// together migrate once (the others wait, then find the work done).
    /// Must be called where a Tokio runtime is current, from a thread that
    /// may block (see the module documentation). Connecting touches no
    /// retrieval: one left waiting by a stopped instance is resumed by
    /// whichever instance claims it once its lease runs out.
    pub fn connect_with_options(url: &str, options: PostgresOptions) -> Result<Self, StoreError> {
        let runtime = Handle::try_current().map_err(|_| PostgresError::NoRuntime)?;
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e: tokio_postgres::Error| PostgresError::Settings(e.to_string()))?;
        if config.get_application_name().is_none() {
            // So that a DBA sees whose connections these are.
            config.application_name("myna-operator");
        }
        if let Some(schema) = &options.schema {
            let valid = !schema.is_empty()
                && schema
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !valid {
                return Err(PostgresError::Settings(format!("schema name {schema:?}")).into());
            }
            let given = config.get_options().unwrap_or_default();
            config.options(format!("{given} -c search_path={schema}").trim_start());
        }
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                // A closed connection is replaced; a broken one fails its
                // call and is closed, without a round trip on every call.
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.max_connections)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(options.acquire_timeout))
            .create_timeout(Some(options.acquire_timeout))
            .build()
            .map_err(|e| PostgresError::Settings(e.to_string()))?;
        let store = Self { pool, runtime };
        store.run(async |c| migrate(c).await)?;
        Ok(store)
    }

    /// Runs `work` on a connection from the pool, blocking this thread
    /// until it is done.
    fn run<T>(
        &self,
        work: impl AsyncFnOnce(&mut Object) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.runtime.block_on(async {
            let mut client = self.pool.get().await?;
            work(&mut client).await
        })
    }
}

/// Runs the migrations the database has not had, under a transaction-level
/// advisory lock (released at commit or rollback), each with its version
/// row, all in one transaction: a failure leaves the database as it was.
async fn migrate(client: &mut Object) -> Result<(), StoreError> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS operator_schema (
            version INTEGER PRIMARY KEY,
            applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
        )",
    )
    .await?;
    let version: Option<i32> = tx
        .query_one("SELECT MAX(version) FROM operator_schema", &[])
        .await?
        .try_get(0)?;
    let done = usize::try_from(version.unwrap_or(0)).unwrap_or(0);
    if done > MIGRATIONS.len() {
        tracing::warn!(
            version = done,
            known = MIGRATIONS.len(),
            "the operator database was migrated by a newer release"
        );
    }
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(done) {
        tx.batch_execute(migration).await?;
        let version = i32::try_from(index + 1).unwrap_or(i32::MAX);
        tx.execute(
            "INSERT INTO operator_schema (version) VALUES ($1)",
            &[&version],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

impl ConsentStore for PostgresStore {
    fn ping(&self) -> Result<(), StoreError> {
        self.run(async |c| {
            c.simple_query("SELECT 1").await?;
            Ok(())
        })
    }

    fn create_session(
        &self,
        client_id: &str,
        session_hash: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.run(async |c| {
            execute(
                &*c,
                "INSERT INTO operator_sessions (client_id, session_hash, created_at, last_seen_at) \
                 VALUES ($1, $2, $3, $3) ON CONFLICT DO NOTHING",
                &[&client_id, &session_hash, &instant(now)],
            )
            .await?;
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
        self.run(async |c| {
            let row = query_opt(
                &*c,
                "SELECT created_at, last_seen_at FROM operator_sessions \
                 WHERE client_id = $1 AND session_hash = $2",
                &[&client_id, &session_hash],
            )
            .await?;
            let Some(row) = row else {
                return Ok(false);
            };
            let (created, seen): (OffsetDateTime, OffsetDateTime) =
                (row.try_get(0)?, row.try_get(1)?);
            if now - seen >= policy.idle || now - created >= policy.max {
                return Ok(false);
            }
            // One write a minute at most, not one per call.
            if now - seen >= time::Duration::minutes(1) {
                execute(
                    &*c,
                    "UPDATE operator_sessions SET last_seen_at = $3 \
                     WHERE client_id = $1 AND session_hash = $2",
                    &[&client_id, &session_hash, &instant(now)],
                )
                .await?;
            }
            Ok(true)
        })
    }

    fn insert_transaction(&self, t: &NewTransaction) -> Result<bool, StoreError> {
        self.run(async |c| {
            let tx = c.transaction().await?;
            if let Some(token_hash) = &t.request_token_hash {
                // The row lock makes a concurrent use wait, then find the
                // token used.
                let used = execute(
                    &tx,
                    "UPDATE operator_request_tokens SET used_at = $1 \
                     WHERE token_hash = $2 AND client_id = $3 AND used_at IS NULL",
                    &[&instant(t.created_at), token_hash, &t.client_id],
                )
                .await?;
                if used != 1 {
                    return Ok(false);
                }
            }
            execute(
                &tx,
                "INSERT INTO operator_transactions (state_hash, client_id, owner, \
                 sealed_secrets, request_json, chosen_optional, recipient_ids, \
                 request_token_hash, created_at, expires_at, retention_days) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::BIGINT)",
                &[
                    &t.state_hash,
                    &t.client_id,
                    &t.owner,
                    &t.sealed_secrets,
                    &t.request_json,
                    &t.chosen_optional,
                    &t.recipient_ids,
                    &t.request_token_hash,
                    &instant(t.created_at),
                    &instant(t.expires_at),
                    &t.retention_days.map(i64::from),
                ],
            )
            .await?;
            tx.commit().await?;
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
        self.run(async |c| {
            let tx = c.transaction().await?;
            // FOR UPDATE: a second callback with the same state waits here,
            // then reads the row as the first left it (used).
            let row = query_opt(
                &tx,
                "SELECT used_at, expires_at, sealed_secrets, request_json, chosen_optional, \
                 recipient_ids, retention_days::BIGINT FROM operator_transactions \
                 WHERE state_hash = $1 AND client_id = $2 AND owner = $3 FOR UPDATE",
                &[&state_hash, &client_id, &owner],
            )
            .await?;
            let Some(row) = row else {
                return Ok(TransactionLookup::Unknown);
            };
            let used_at: Option<OffsetDateTime> = row.try_get(0)?;
            if used_at.is_some() {
                return Ok(TransactionLookup::Used);
            }
            // Consumed on the first complete attempt, whatever its outcome;
            // the verifier is wiped at the same time, as nothing may use it
            // again.
            execute(
                &tx,
                "UPDATE operator_transactions SET used_at = $1, sealed_secrets = ''::bytea \
                 WHERE state_hash = $2",
                &[&instant(now), &state_hash],
            )
            .await?;
            tx.commit().await?;
            let expires_at: OffsetDateTime = row.try_get(1)?;
            if now >= expires_at {
                return Ok(TransactionLookup::Expired);
            }
            Ok(TransactionLookup::Open(OpenTransaction {
                sealed_secrets: row.try_get(2)?,
                request_json: row.try_get(3)?,
                chosen_optional: row.try_get(4)?,
                recipient_ids: row.try_get(5)?,
                retention_days: row
                    .try_get::<_, Option<i64>>(6)?
                    .and_then(|days| u32::try_from(days).ok()),
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
        self.run(async |c| {
            execute(
                &*c,
                "INSERT INTO operator_consents (id, client_id, owner, consent_json, \
                 grant_id, locale, refresh_sealed, access_sealed, access_expires_at, \
                 grant_receipt, created_at, recipient_ids) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                &[
                    &record.consent.id,
                    &client_id,
                    &owner,
                    &consent_json,
                    &record.grant_id,
                    &record.locale.code(),
                    &tokens.refresh,
                    &tokens.access,
                    &tokens.access_expires_at.map(instant),
                    &record.grant_receipt,
                    &instant(record.consent.granted_at),
                    &record.recipient_ids,
                ],
            )
            .await?;
            Ok(())
        })
    }

    fn consents(&self, client_id: &str, owner: &str) -> Result<Vec<ConsentRecord>, StoreError> {
        self.run(async |c| {
            let rows = query(
                &*c,
                &format!(
                    "SELECT {CONSENT_COLUMNS} FROM operator_consents \
                     WHERE client_id = $1 AND owner = $2 ORDER BY created_at DESC, seq DESC"
                ),
                &[&client_id, &owner],
            )
            .await?;
            rows.iter().map(consent_record).collect()
        })
    }

    fn consent(
        &self,
        client_id: &str,
        owner: &str,
        consent_id: &str,
    ) -> Result<Option<ConsentRecord>, StoreError> {
        self.run(async |c| {
            let row = query_opt(
                &*c,
                &format!(
                    "SELECT {CONSENT_COLUMNS} FROM operator_consents \
                     WHERE client_id = $1 AND owner = $2 AND id = $3"
                ),
                &[&client_id, &owner, &consent_id],
            )
            .await?;
            row.as_ref().map(consent_record).transpose()
        })
    }

    fn tokens(&self, consent_id: &str) -> Result<SealedTokens, StoreError> {
        self.run(async |c| {
            let row = query_opt(
                &*c,
                "SELECT refresh_sealed, access_sealed, access_expires_at \
                 FROM operator_consents WHERE id = $1",
                &[&consent_id],
            )
            .await?;
            let Some(row) = row else {
                return Ok(SealedTokens::default());
            };
            Ok(SealedTokens {
                refresh: row.try_get(0)?,
                access: row.try_get(1)?,
                access_expires_at: row.try_get(2)?,
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
        self.run(async |c| {
            let tx = c.transaction().await?;
            // Compare-and-swap: a concurrent rotation waits for this row,
            // then re-reads it and no longer finds `old`.
            let changed = execute(
                &tx,
                "UPDATE operator_consents SET refresh_sealed = $1 \
                 WHERE id = $2 AND refresh_sealed = $3",
                &[&new, &consent_id, &old],
            )
            .await?;
            if changed != 1 {
                return Ok(false);
            }
            execute(
                &tx,
                "INSERT INTO operator_refreshes (consent_id, refreshed_at) VALUES ($1, $2)",
                &[&consent_id, &instant(now)],
            )
            .await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    fn lease_refresh(
        &self,
        consent_id: &str,
        instance: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.run(async |c| {
            // One conditional update: of two instances asking at once, the
            // second waits for the row, then finds it held.
            let changed = execute(
                &*c,
                "UPDATE operator_consents SET refresh_lease_owner = $1, refresh_lease_until = $2 \
                 WHERE id = $3 AND (refresh_lease_owner IS NULL OR refresh_lease_owner = $1 \
                 OR refresh_lease_until < $4)",
                &[&instance, &instant(until), &consent_id, &instant(now)],
            )
            .await?;
            Ok(changed == 1)
        })
    }

    fn set_retention(
        &self,
        consent_id: &str,
        days: u32,
        ends_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.run(async |c| {
            execute(
                &*c,
                "UPDATE operator_consents SET retention_days = $1::BIGINT, data_ends_at = $2 \
                 WHERE id = $3",
                &[&i64::from(days), &instant(ends_at), &consent_id],
            )
            .await?;
            Ok(())
        })
    }

    fn purge_records(&self, client_id: &str, now: OffsetDateTime) -> Result<usize, StoreError> {
        self.run(async |c| {
            // The consent's end: the earliest of its withdrawal, suspension,
            // expiry and last day; the records go `retention_days` later.
            let purged = execute(
                &*c,
                "UPDATE operator_retrievals SET records_sealed = NULL \
                 WHERE records_sealed IS NOT NULL AND consent_id IN ( \
                   SELECT id FROM operator_consents \
                   WHERE client_id = $1 AND retention_days IS NOT NULL \
                   AND data_ends_at IS NOT NULL \
                   AND LEAST(COALESCE(revoked_at, data_ends_at), \
                             COALESCE(suspended_at, data_ends_at), \
                             COALESCE(expired_at, data_ends_at)) \
                       + make_interval(days => retention_days) <= $2)",
                &[&client_id, &instant(now)],
            )
            .await?;
            Ok(usize::try_from(purged).unwrap_or(usize::MAX))
        })
    }

    fn heartbeat(
        &self,
        client_id: &str,
        instance: &str,
        now: OffsetDateTime,
        stale_before: OffsetDateTime,
    ) -> Result<usize, StoreError> {
        self.run(async |c| {
            let tx = c.transaction().await?;
            execute(
                &tx,
                "INSERT INTO operator_instances (client_id, instance, seen_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (client_id, instance) DO UPDATE SET seen_at = excluded.seen_at",
                &[&client_id, &instance, &instant(now)],
            )
            .await?;
            execute(
                &tx,
                "DELETE FROM operator_instances WHERE seen_at < $1",
                &[&instant(stale_before)],
            )
            .await?;
            let rows = query(
                &tx,
                "SELECT COUNT(*) FROM operator_instances WHERE client_id = $1",
                &[&client_id],
            )
            .await?;
            tx.commit().await?;
            let alive: i64 = rows.first().map_or(1, |row| row.get(0));
            Ok(usize::try_from(alive).unwrap_or(1).max(1))
        })
    }

    fn release_refresh(&self, consent_id: &str, instance: &str) -> Result<(), StoreError> {
        self.run(async |c| {
            execute(
                &*c,
                "UPDATE operator_consents SET refresh_lease_owner = NULL, \
                 refresh_lease_until = NULL WHERE id = $1 AND refresh_lease_owner = $2",
                &[&consent_id, &instance],
            )
            .await?;
            Ok(())
        })
    }

    fn abandoned_refreshes(
        &self,
        client_id: &str,
        now: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<(String, String)>, StoreError> {
        self.run(async |c| {
            let rows = query(
                &*c,
                "SELECT id, owner FROM operator_consents WHERE client_id = $1 \
                 AND refresh_lease_owner IS NOT NULL AND refresh_lease_until < $2 \
                 AND refresh_sealed IS NOT NULL AND revoked_at IS NULL \
                 ORDER BY refresh_lease_until LIMIT $3",
                &[
                    &client_id,
                    &instant(now),
                    &i64::try_from(limit).unwrap_or(i64::MAX),
                ],
            )
            .await?;
            rows.iter()
                .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
                .collect()
        })
    }

    fn claim_access_token(
        &self,
        consent_id: &str,
        now: OffsetDateTime,
    ) -> Result<Option<KeptAccessToken>, StoreError> {
        self.run(async |c| {
            let row = query_opt(
                &*c,
                "UPDATE operator_consents SET access_claimed_at = $1 \
                 WHERE id = $2 AND access_sealed IS NOT NULL AND access_claimed_at IS NULL \
                 RETURNING access_sealed, access_expires_at",
                &[&instant(now), &consent_id],
            )
            .await?;
            row.map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
                .transpose()
        })
    }

    fn end_grant(
        &self,
        consent_id: &str,
        end: GrantEnd,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let sql = match end {
            GrantEnd::Suspended => {
                "UPDATE operator_consents SET suspended_at = COALESCE(suspended_at, $1), \
                 refresh_sealed = NULL, access_sealed = NULL, access_expires_at = NULL \
                 WHERE id = $2"
            }
            GrantEnd::Expired => {
                "UPDATE operator_consents SET expired_at = COALESCE(expired_at, $1), \
                 refresh_sealed = NULL, access_sealed = NULL, access_expires_at = NULL \
                 WHERE id = $2"
            }
        };
        self.run(async |c| {
            execute(&*c, sql, &[&instant(now), &consent_id]).await?;
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
        self.run(async |c| {
            let tx = c.transaction().await?;
            // FOR UPDATE: a concurrent revocation waits, then finds this
            // one's receipt.
            let row = query_opt(
                &tx,
                "SELECT revocation_receipt, client_id FROM operator_consents \
                 WHERE id = $1 FOR UPDATE",
                &[&consent_id],
            )
            .await?;
            let Some(row) = row else {
                return Err(StoreError::Corrupt(format!("no consent {consent_id}")));
            };
            if let Some(earlier) = row.try_get::<_, Option<String>>(0)? {
                return Ok(earlier);
            }
            let client_id: String = row.try_get(1)?;
            execute(
                &tx,
                "UPDATE operator_consents SET revoked_at = $1, revocation_receipt = $2, \
                 refresh_sealed = NULL, access_sealed = NULL, access_expires_at = NULL \
                 WHERE id = $3",
                &[&instant(revoked_at), &receipt, &consent_id],
            )
            .await?;
            // Retrievals still waiting end with the consent: no instance
            // resumes them or stores records afterwards.
            execute(
                &tx,
                "UPDATE operator_retrievals SET status = 'error', error = 'revoked', \
                 finished_at = $1, access_sealed = NULL, lease_owner = NULL, \
                 lease_until = NULL WHERE consent_id = $2 AND status = 'waiting'",
                &[&instant(revoked_at), &consent_id],
            )
            .await?;
            for hook in webhooks {
                execute(
                    &tx,
                    "INSERT INTO operator_webhooks (id, client_id, consent_id, \
                     recipient_id, url, body, created_at, next_attempt_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
                    &[
                        &hook.id,
                        &client_id,
                        &hook.consent_id,
                        &hook.recipient_id,
                        &hook.url,
                        &hook.body,
                        &instant(revoked_at),
                    ],
                )
                .await?;
            }
            tx.commit().await?;
            Ok(receipt.to_owned())
        })
    }

    fn insert_retrieval(&self, r: &NewRetrieval) -> Result<(), StoreError> {
        self.run(async |c| {
            execute(
                &*c,
                "INSERT INTO operator_retrievals (id, consent_id, remote_id, started_at, status, \
                 client_id, access_sealed, items_requested, lease_owner, lease_until, deadline) \
                 VALUES ($1, $2, $3, $4, 'waiting', $5, $6, $7, $8, $9, $10)",
                &[
                    &r.retrieval_id,
                    &r.consent_id,
                    &r.remote_id,
                    &instant(r.started_at),
                    &r.client_id,
                    &r.access_sealed,
                    &r.items,
                    &r.lease_owner,
                    &instant(r.lease_until),
                    &instant(r.deadline),
                ],
            )
            .await?;
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
        self.run(async |c| {
            // One statement: the rows another instance is claiming right now
            // are skipped, not waited for, and a row whose lease was taken
            // since this statement began is re-checked and left out.
            let rows = query(
                &*c,
                "WITH due AS ( \
                     SELECT id, started_at, seq FROM operator_retrievals \
                     WHERE client_id = $1 AND status = 'waiting' AND access_sealed IS NOT NULL \
                     AND (lease_until IS NULL OR lease_until < $2) \
                     ORDER BY started_at, seq LIMIT $3 \
                     FOR UPDATE SKIP LOCKED) \
                 UPDATE operator_retrievals r SET lease_owner = $4, lease_until = $5 \
                 FROM due WHERE r.id = due.id \
                 RETURNING r.consent_id, r.id, r.remote_id, r.access_sealed, \
                 r.items_requested, r.deadline, due.started_at, due.seq",
                &[
                    &client_id,
                    &instant(now),
                    &sql_limit(limit),
                    &instance,
                    &instant(lease_until),
                ],
            )
            .await?;
            let mut jobs = rows
                .iter()
                .map(|row| {
                    let order: (OffsetDateTime, i64) = (row.try_get(6)?, row.try_get(7)?);
                    let job = RetrievalJob {
                        consent_id: row.try_get(0)?,
                        retrieval_id: row.try_get(1)?,
                        remote_id: row.try_get(2)?,
                        access_sealed: row.try_get(3)?,
                        items: row.try_get(4)?,
                        deadline: row.try_get(5)?,
                    };
                    Ok((order, job))
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            // RETURNING keeps no order: oldest first, as claimed.
            jobs.sort_by_key(|(order, _)| *order);
            Ok(jobs.into_iter().map(|(_, job)| job).collect())
        })
    }

    fn extend_retrieval_lease(
        &self,
        retrieval_id: &str,
        instance: &str,
        lease_until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.run(async |c| {
            let changed = execute(
                &*c,
                "UPDATE operator_retrievals SET lease_until = $1 \
                 WHERE id = $2 AND lease_owner = $3 AND status = 'waiting'",
                &[&instant(lease_until), &retrieval_id, &instance],
            )
            .await?;
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
        self.run(async |c| {
            let tx = c.transaction().await?;
            // Only from `waiting`: of two instances finishing it, the second
            // waits for the row, then finds it ended.
            let changed = execute(
                &tx,
                "UPDATE operator_retrievals SET status = $1, finished_at = $2, items_json = $3, \
                 records_sealed = $4, error = $5, access_sealed = NULL, lease_owner = NULL, \
                 lease_until = NULL WHERE id = $6 AND consent_id = $7 AND status = 'waiting'",
                &[
                    &outcome.status,
                    &instant(outcome.finished_at),
                    &items,
                    &outcome.sealed_records,
                    &outcome.error,
                    &retrieval_id,
                    &consent_id,
                ],
            )
            .await?;
            if changed == 0 {
                return Ok(false);
            }
            if outcome.status == "done" {
                execute(
                    &tx,
                    "UPDATE operator_consents SET last_retrieval_at = $1 WHERE id = $2",
                    &[&instant(outcome.finished_at), &consent_id],
                )
                .await?;
            }
            tx.commit().await?;
            Ok(true)
        })
    }

    fn retrievals(&self, consent_id: &str) -> Result<Vec<RetrievalRecord>, StoreError> {
        self.run(async |c| {
            let rows = query(
                &*c,
                &format!(
                    "SELECT {RETRIEVAL_COLUMNS} FROM operator_retrievals WHERE consent_id = $1 \
                     ORDER BY started_at DESC, seq DESC"
                ),
                &[&consent_id],
            )
            .await?;
            rows.iter().map(retrieval_record).collect()
        })
    }

    fn retrieval(
        &self,
        consent_id: &str,
        retrieval_id: &str,
    ) -> Result<Option<RetrievalRecord>, StoreError> {
        self.run(async |c| {
            let row = query_opt(
                &*c,
                &format!(
                    "SELECT {RETRIEVAL_COLUMNS} FROM operator_retrievals \
                     WHERE consent_id = $1 AND id = $2"
                ),
                &[&consent_id, &retrieval_id],
            )
            .await?;
            row.as_ref().map(retrieval_record).transpose()
        })
    }

    fn set_schedule(&self, schedule: &Schedule) -> Result<(), StoreError> {
        let failures = i32::try_from(schedule.failures).unwrap_or(i32::MAX);
        self.run(async |c| {
            execute(
                &*c,
                "INSERT INTO operator_schedules \
                 (consent_id, client_id, owner, next_at, failures, last_error) \
                 VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (consent_id) DO UPDATE SET next_at = excluded.next_at, \
                 failures = excluded.failures, last_error = excluded.last_error",
                &[
                    &schedule.consent_id,
                    &schedule.client_id,
                    &schedule.owner,
                    &schedule.next_at.map(instant),
                    &failures,
                    &schedule.last_error,
                ],
            )
            .await?;
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
        let hold_until = instant(hold_until);
        self.run(async |c| {
            let rows = query(
                &*c,
                "WITH due AS ( \
                     SELECT consent_id, next_at FROM operator_schedules \
                     WHERE client_id = $1 AND next_at IS NOT NULL AND next_at <= $2 \
                     ORDER BY next_at LIMIT $3 \
                     FOR UPDATE SKIP LOCKED) \
                 UPDATE operator_schedules s SET next_at = $4 \
                 FROM due WHERE s.consent_id = due.consent_id \
                 RETURNING s.consent_id, s.owner, s.failures, s.last_error, due.next_at",
                &[&client_id, &instant(now), &sql_limit(limit), &hold_until],
            )
            .await?;
            let mut due = rows
                .iter()
                .map(|row| {
                    let was_due: OffsetDateTime = row.try_get(4)?;
                    let schedule = Schedule {
                        client_id: client_id.to_owned(),
                        owner: row.try_get(1)?,
                        consent_id: row.try_get(0)?,
                        next_at: Some(hold_until),
                        failures: counter(row.try_get(2)?),
                        last_error: row.try_get(3)?,
                    };
                    Ok((was_due, schedule))
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            due.sort_by_key(|(was_due, _)| *was_due);
            Ok(due.into_iter().map(|(_, schedule)| schedule).collect())
        })
    }

    fn schedules(&self, client_id: &str, owner: &str) -> Result<Vec<Schedule>, StoreError> {
        self.run(async |c| {
            let rows = query(
                &*c,
                "SELECT consent_id, next_at, failures, last_error FROM operator_schedules \
                 WHERE client_id = $1 AND owner = $2",
                &[&client_id, &owner],
            )
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(Schedule {
                        client_id: client_id.to_owned(),
                        owner: owner.to_owned(),
                        consent_id: row.try_get(0)?,
                        next_at: row.try_get(1)?,
                        failures: counter(row.try_get(2)?),
                        last_error: row.try_get(3)?,
                    })
                })
                .collect()
        })
    }

    fn insert_request_token(&self, token: &NewRequestToken) -> Result<(), StoreError> {
        self.run(async |c| {
            execute(
                &*c,
                "INSERT INTO operator_request_tokens (token_hash, client_id, definition_json, \
                 subject, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &token.token_hash,
                    &token.client_id,
                    &token.definition_json,
                    &token.subject,
                    &instant(token.created_at),
                    &instant(token.expires_at),
                ],
            )
            .await?;
            Ok(())
        })
    }

    fn request_token(
        &self,
        client_id: &str,
        token_hash: &str,
    ) -> Result<Option<StoredRequestToken>, StoreError> {
        self.run(async |c| {
            let row = query_opt(
                &*c,
                "SELECT definition_json, subject, expires_at, used_at \
                 FROM operator_request_tokens WHERE token_hash = $1 AND client_id = $2",
                &[&token_hash, &client_id],
            )
            .await?;
            row.map(|row| {
                let used: Option<OffsetDateTime> = row.try_get(3)?;
                Ok(StoredRequestToken {
                    definition_json: row.try_get(0)?,
                    subject: row.try_get(1)?,
                    expires_at: row.try_get(2)?,
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
        self.run(async |c| {
            let rows = query(
                &*c,
                "WITH due AS ( \
                     SELECT id, next_attempt_at, seq FROM operator_webhooks \
                     WHERE client_id = $1 AND delivered_at IS NULL AND failed_at IS NULL \
                     AND next_attempt_at <= $2 ORDER BY next_attempt_at, seq LIMIT $3 \
                     FOR UPDATE SKIP LOCKED) \
                 UPDATE operator_webhooks w SET next_attempt_at = $4 \
                 FROM due WHERE w.id = due.id \
                 RETURNING w.id, w.recipient_id, w.url, w.body, w.attempts, \
                 due.next_attempt_at, due.seq",
                &[
                    &client_id,
                    &instant(now),
                    &sql_limit(limit),
                    &instant(lease_until),
                ],
            )
            .await?;
            let mut due = rows
                .iter()
                .map(|row| {
                    let order: (OffsetDateTime, i64) = (row.try_get(5)?, row.try_get(6)?);
                    let hook = DueWebhook {
                        id: row.try_get(0)?,
                        recipient_id: row.try_get(1)?,
                        url: row.try_get(2)?,
                        body: row.try_get(3)?,
                        attempts: counter(row.try_get(4)?),
                    };
                    Ok((order, hook))
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            due.sort_by_key(|(order, _)| *order);
            Ok(due.into_iter().map(|(_, hook)| hook).collect())
        })
    }

    fn record_webhook_attempt(
        &self,
        id: &str,
        now: OffsetDateTime,
        attempt: &WebhookAttempt,
    ) -> Result<(), StoreError> {
        let now = instant(now);
        let (delivered, next, failed, error) = match attempt {
            WebhookAttempt::Delivered => (Some(now), None, None, None),
            WebhookAttempt::Retry(at, error) => (None, Some(instant(*at)), None, Some(error)),
            WebhookAttempt::GiveUp(error) => (None, None, Some(now), Some(error)),
        };
        self.run(async |c| {
            execute(
                &*c,
                "UPDATE operator_webhooks SET attempts = attempts + 1, delivered_at = $2, \
                 next_attempt_at = $3, failed_at = $4, last_error = $5 WHERE id = $1",
                &[&id, &delivered, &next, &failed, &error],
            )
            .await?;
            Ok(())
        })
    }

    fn sweep(
        &self,
        client_id: &str,
        now: OffsetDateTime,
        policy: Option<SessionPolicy>,
    ) -> Result<Swept, StoreError> {
        // A day past its end, a transaction serves no check any more (a
        // replay a day later is refused as unknown, which is as good as
        // "used").
        let day_ago = instant(now - time::Duration::days(1));
        self.run(async |c| {
            let tx = c.transaction().await?;
            let transactions = execute(
                &tx,
                "DELETE FROM operator_transactions WHERE client_id = $1 AND expires_at < $2",
                &[&client_id, &day_ago],
            )
            .await?;
            let request_tokens = execute(
                &tx,
                "DELETE FROM operator_request_tokens WHERE client_id = $1 AND expires_at < $2",
                &[&client_id, &day_ago],
            )
            .await?;
            let sessions = match policy {
                Some(policy) => {
                    execute(
                        &tx,
                        "DELETE FROM operator_sessions WHERE client_id = $1 \
                         AND (last_seen_at <= $2 OR created_at <= $3)",
                        &[
                            &client_id,
                            &instant(now - policy.idle),
                            &instant(now - policy.max),
                        ],
                    )
                    .await?
                }
                None => 0,
            };
            tx.commit().await?;
            Ok(Swept {
                transactions: count(transactions),
                sessions: count(sessions),
                request_tokens: count(request_tokens),
            })
        })
    }

    fn sealed_values(
        &self,
        after: Option<&SealedRef>,
        limit: usize,
    ) -> Result<Vec<SealedValue>, StoreError> {
        let start = after.map_or(SealedKind::RefreshToken, SealedRef::kind);
        self.run(async |c| {
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
                let rows = query(&*c, sealed_query(kind), &[&row_after, &sql_limit(room)]).await?;
                for row in &rows {
                    page.push(SealedValue {
                        at: SealedRef::from_row(kind, row.try_get(0)?, row.try_get(1)?),
                        sealed: row.try_get(2)?,
                    });
                }
            }
            Ok(page)
        })
    }

    fn replace_sealed(&self, at: &SealedRef, old: &[u8], new: &[u8]) -> Result<bool, StoreError> {
        self.run(async |c| {
            let changed = match at {
                SealedRef::RefreshToken { consent_id } => {
                    execute(
                        &*c,
                        "UPDATE operator_consents SET refresh_sealed = $1 \
                         WHERE id = $2 AND refresh_sealed = $3",
                        &[&new, consent_id, &old],
                    )
                    .await?
                }
                SealedRef::AccessToken { consent_id } => {
                    execute(
                        &*c,
                        "UPDATE operator_consents SET access_sealed = $1 \
                         WHERE id = $2 AND access_sealed = $3",
                        &[&new, consent_id, &old],
                    )
                    .await?
                }
                SealedRef::TransactionSecrets { state_hash } => {
                    execute(
                        &*c,
                        "UPDATE operator_transactions SET sealed_secrets = $1 \
                         WHERE state_hash = $2 AND sealed_secrets = $3",
                        &[&new, state_hash, &old],
                    )
                    .await?
                }
                SealedRef::RetrievalAccessToken {
                    consent_id,
                    retrieval_id,
                } => {
                    execute(
                        &*c,
                        "UPDATE operator_retrievals SET access_sealed = $1 \
                         WHERE id = $2 AND consent_id = $3 AND access_sealed = $4",
                        &[&new, retrieval_id, consent_id, &old],
                    )
                    .await?
                }
                SealedRef::RetrievalRecords {
                    consent_id,
                    retrieval_id,
                } => {
                    execute(
                        &*c,
                        "UPDATE operator_retrievals SET records_sealed = $1 \
                         WHERE id = $2 AND consent_id = $3 AND records_sealed = $4",
                        &[&new, retrieval_id, consent_id, &old],
                    )
                    .await?
                }
            };
            Ok(changed == 1)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_to_be_made_outside_a_runtime() {
        let error = PostgresStore::connect("postgres://myna@127.0.0.1:1/myna")
            .err()
            .expect("no runtime");
        assert!(matches!(
            error,
            StoreError::Postgres(PostgresError::NoRuntime)
        ));
        assert_eq!(error.code(), "store_postgres");
    }

    #[test]
    fn refuses_a_schema_name_it_would_have_to_quote() {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let _entered = runtime.enter();
        let error = PostgresStore::connect_with_options(
            "postgres://myna@127.0.0.1:1/myna",
            PostgresOptions::default().schema("a; DROP TABLE x"),
        )
        .err()
        .expect("refused");
        assert!(matches!(
            error,
            StoreError::Postgres(PostgresError::Settings(_))
        ));
    }

    /// A database that cannot be reached is an error at start, in time,
    /// not a hang.
    #[test]
    fn answers_an_unreachable_database_with_an_error() {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let _entered = runtime.enter();
        let started = std::time::Instant::now();
        let error = PostgresStore::connect_with_options(
            "postgres://myna@127.0.0.1:1/myna",
            PostgresOptions::default().acquire_timeout(Duration::from_secs(2)),
        )
        .err()
        .expect("unreachable");
        assert!(matches!(
            error,
            StoreError::Postgres(PostgresError::Pool(_))
        ));
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
