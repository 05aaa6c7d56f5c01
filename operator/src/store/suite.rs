//! The storage test suite: behaviour every [`ConsentStore`] must have, run
//! on SQLite and on PostgreSQL. Each test is a function of a fresh
//! [`TestDatabase`]; [`on_every_store!`] makes it a test per store:
//! `on_sqlite::<name>` in a new file, `on_postgres::<name>` in a new schema
//! of the database `MYNA_TEST_POSTGRES_URL` names (`scripts/test` starts a
//! throwaway cluster for it). Without that variable the PostgreSQL tests
//! say so and pass, so that `cargo test` works without a cluster.

use std::io::Write as _;
use std::ops::Deref;
use std::sync::{Barrier, LazyLock, Once};

use super::*;
use time::macros::datetime;

/// The variable that names the PostgreSQL database the suite may use.
const POSTGRES_URL_ENV: &str = "MYNA_TEST_POSTGRES_URL";

/// The runtime PostgreSQL stores are made in (they drive their async
/// driver from the calling thread; see `store::postgres`).
static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a Tokio runtime for the PostgreSQL tests")
});

/// A fresh, empty store for one test, which [`Deref`]s to the store, and
/// the database under it, where another instance can open a store too.
pub(super) struct TestDatabase {
    // Before the database: a pool closes before its schema is dropped.
    store: Box<dyn ConsentStore>,
    database: Database,
}

/// A new, empty database for one test: a SQLite file, or a PostgreSQL
/// schema, dropped with it.
enum Database {
    Sqlite(tempfile::TempDir),
    Postgres { url: String, schema: String },
}

impl TestDatabase {
    fn sqlite() -> Self {
        Self::on(Database::sqlite())
    }

    /// `None`, said loudly once, when no PostgreSQL database is named.
    fn postgres() -> Option<Self> {
        Database::postgres().map(Self::on)
    }

    fn on(database: Database) -> Self {
        Self {
            store: database.open(),
            database,
        }
    }

    /// Another instance's store on the same database.
    fn another_instance(&self) -> Box<dyn ConsentStore> {
        self.database.open()
    }

    /// A new, empty database of the same kind, with no store open on it.
    fn empty_database(&self) -> Database {
        match &self.database {
            Database::Sqlite(_) => Database::sqlite(),
            Database::Postgres { url, .. } => Database::postgres_at(url.clone()),
        }
    }

    /// A number the trait does not show, straight from the database.
    fn count(&self, sql: &str) -> i64 {
        self.database.count(sql)
    }
}

impl Deref for TestDatabase {
    type Target = dyn ConsentStore;

    fn deref(&self) -> &Self::Target {
        self.store.as_ref()
    }
}

impl Database {
    fn sqlite() -> Self {
        Self::Sqlite(tempfile::tempdir().expect("temp dir"))
    }

    fn postgres() -> Option<Self> {
        match std::env::var(POSTGRES_URL_ENV) {
            Ok(url) if !url.is_empty() => Some(Self::postgres_at(url)),
            _ => {
                static SAID: Once = Once::new();
                // Straight to stderr: libtest keeps what a passing test
                // prints to itself.
                SAID.call_once(|| {
                    let _ = writeln!(
                        std::io::stderr(),
                        "\nNOTE: {POSTGRES_URL_ENV} is not set: the storage suite's PostgreSQL \
                         tests (store::suite::on_postgres::*) pass WITHOUT RUNNING. scripts/test \
                         runs them on a throwaway cluster, and so does \
                         `scripts/postgres cargo test -p myna-operator`.\n"
                    );
                });
                None
            }
        }
    }

    fn postgres_at(url: String) -> Self {
        let schema = format!("suite_{:016x}", rand::random::<u64>());
        on_postgres(&url, None, &format!("CREATE SCHEMA {schema}")).expect("a test schema");
        Self::Postgres { url, schema }
    }

    /// Opens a store, as an instance starting does (migrations included).
    fn open(&self) -> Box<dyn ConsentStore> {
        match self {
            Self::Sqlite(dir) => Box::new(
                SqliteStore::open(&dir.path().join("operator.sqlite")).expect("open SQLite"),
            ),
            Self::Postgres { url, schema } => {
                let _runtime = RUNTIME.enter();
                Box::new(
                    PostgresStore::connect_with_options(
                        url,
                        PostgresOptions::default().schema(schema),
                    )
                    .expect("connect to PostgreSQL"),
                )
            }
        }
    }

    fn count(&self, sql: &str) -> i64 {
        match self {
            Self::Sqlite(dir) => rusqlite::Connection::open(dir.path().join("operator.sqlite"))
                .expect("open SQLite")
                .query_row(sql, [], |row| row.get(0))
                .expect(sql),
            Self::Postgres { url, schema } => on_postgres(url, Some(schema), sql)
                .expect(sql)
                .expect("a row"),
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Self::Postgres { url, schema } = self {
            // Best effort: a failing test must still report its own failure.
            let _ = on_postgres(url, None, &format!("DROP SCHEMA {schema} CASCADE"));
        }
    }
}

/// Runs `sql` on a connection of its own (in `schema`, if given), and
/// answers the first column of the first row, if there is one.
fn on_postgres(
    url: &str,
    schema: Option<&str>,
    sql: &str,
) -> Result<Option<i64>, tokio_postgres::Error> {
    RUNTIME.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
        let connection = tokio::spawn(connection);
        if let Some(schema) = schema {
            client
                .batch_execute(&format!("SET search_path TO {schema}"))
                .await?;
        }
        let rows = client.query(sql, &[]).await;
        drop(client);
        let _ = connection.await;
        rows?.first().map(|row| row.try_get(0)).transpose()
    })
}

/// Makes each named test function (`fn(&TestDatabase)`) a test on SQLite
/// and a test on PostgreSQL.
macro_rules! on_every_store {
    ($($test:ident),* $(,)?) => {
        /// The suite on SQLite, a new file per test.
        mod on_sqlite {
            $(
                #[test]
                fn $test() {
                    super::$test(&super::TestDatabase::sqlite());
                }
            )*
        }

        /// The suite on PostgreSQL, a new schema per test.
        mod on_postgres {
            $(
                #[test]
                fn $test() {
                    if let Some(database) = super::TestDatabase::postgres() {
                        super::$test(&database);
                    }
                }
            )*
        }
    };
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
        retention_days: Some(30),
    }
}

fn transaction_is_single_use_and_bound_to_its_session(store: &TestDatabase) {
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
    assert_eq!(
        open.retention_days,
        Some(30),
        "the retention travels to the consent"
    );
    let again = store
        .consume_transaction("c", "sess", "s1", at)
        .expect("lookup");
    assert!(matches!(again, TransactionLookup::Used));
}

fn expired_transaction_is_consumed_too(store: &TestDatabase) {
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

pub(super) fn consent_record(id: &str) -> ConsentRecord {
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

fn rotation_replaces_only_the_token_it_read(store: &TestDatabase) {
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

fn revocation_is_recorded_once_and_deletes_tokens(store: &TestDatabase) {
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

fn a_request_token_is_used_up_by_one_transaction_only(store: &TestDatabase) {
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

fn a_one_time_access_token_is_claimed_once_and_kept_for_the_revocation(store: &TestDatabase) {
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

fn sessions_end_when_idle_or_too_old(store: &TestDatabase) {
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

fn sweeps_transactions_a_day_past_their_end(store: &TestDatabase) {
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

fn job(store: &TestDatabase, retrieval_id: &str, instance: &str, at: OffsetDateTime) {
    job_of(store, "k1", retrieval_id, instance, at);
}

/// A waiting retrieval of `consent_id`, leased to `instance` for 10 s.
fn job_of(
    store: &TestDatabase,
    consent_id: &str,
    retrieval_id: &str,
    instance: &str,
    at: OffsetDateTime,
) {
    store
        .insert_retrieval(&NewRetrieval {
            consent_id: consent_id.into(),
            retrieval_id: retrieval_id.into(),
            client_id: "c".into(),
            remote_id: format!("remote-{retrieval_id}"),
            started_at: at,
            access_sealed: vec![7, 7, 7],
            items: vec!["insurance.drugs".into()],
            lease_owner: instance.into(),
            lease_until: at + time::Duration::seconds(10),
            deadline: at + time::Duration::seconds(30),
        })
        .expect("insert");
}

fn finished(at: OffsetDateTime) -> RetrievalOutcome {
    RetrievalOutcome {
        status: "done".into(),
        finished_at: at,
        items: Some(vec![ItemCount {
            item: "insurance.drugs".into(),
            count: 2,
        }]),
        sealed_records: Some(vec![1]),
        error: None,
    }
}

fn a_retrieval_is_leased_to_one_instance_and_resumed_by_another_only_when_the_lease_runs_out(
    store: &TestDatabase,
) {
    let at = datetime!(2025-04-01 00:00 UTC);
    store
        .insert_consent(
            "c",
            "session:s1",
            &consent_record("k1"),
            &SealedTokens::default(),
        )
        .expect("consent");
    job(store, "r1", "a", at);
    let lease = |now: OffsetDateTime| now + time::Duration::seconds(10);
    // While A's lease runs, B claims nothing, and A may extend it.
    let now = at + time::Duration::seconds(5);
    assert!(store
        .claim_retrievals("c", "b", now, lease(now), 10)
        .expect("claim")
        .is_empty());
    assert!(store
        .extend_retrieval_lease("r1", "a", lease(now))
        .expect("extend"));
    assert!(!store
        .extend_retrieval_lease("r1", "b", lease(now))
        .expect("extend"));
    // A stops; after its lease, B takes the job over, with what it needs.
    let later = at + time::Duration::seconds(30);
    let claimed = store
        .claim_retrievals("c", "b", later, lease(later), 10)
        .expect("claim");
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].remote_id, "remote-r1");
    assert_eq!(claimed[0].access_sealed, vec![7, 7, 7]);
    assert_eq!(claimed[0].items, ["insurance.drugs"]);
    // A, back, finds its lease gone; another backend's claim finds nothing.
    assert!(!store
        .extend_retrieval_lease("r1", "a", lease(later))
        .expect("extend"));
    assert!(store
        .claim_retrievals(
            "other",
            "c",
            later + time::Duration::minutes(5),
            lease(later),
            10
        )
        .expect("claim")
        .is_empty());
    // It ends once, whoever records it first; then nobody can claim it.
    assert!(store
        .finish_retrieval("k1", "r1", &finished(later))
        .expect("finish"));
    assert!(!store
        .finish_retrieval("k1", "r1", &finished(later))
        .expect("finish"));
    let much_later = later + time::Duration::hours(1);
    assert!(store
        .claim_retrievals("c", "b", much_later, lease(much_later), 10)
        .expect("claim")
        .is_empty());
    let record = store.retrieval("k1", "r1").expect("read").expect("found");
    assert_eq!(record.status, "done");
}

fn opening_the_store_again_leaves_waiting_retrievals_alone(store: &TestDatabase) {
    let at = OffsetDateTime::now_utc();
    store
        .insert_consent(
            "c",
            "session:s1",
            &consent_record("k1"),
            &SealedTokens::default(),
        )
        .expect("consent");
    job(store, "r1", "a", at);
    // Another instance starts on the same database: A's job stays A's.
    let second = store.another_instance();
    let record = second.retrieval("k1", "r1").expect("read").expect("found");
    assert_eq!(record.status, "waiting");
    assert!(second
        .claim_retrievals("c", "b", at, at + time::Duration::seconds(10), 10)
        .expect("claim")
        .is_empty());
}

/// Every sealed value, read page by page as a re-seal does.
fn all_sealed(store: &TestDatabase, limit: usize) -> Vec<SealedValue> {
    let mut all: Vec<SealedValue> = Vec::new();
    loop {
        let page = store
            .sealed_values(all.last().map(|value| &value.at), limit)
            .expect("page");
        assert!(page.len() <= limit, "a page holds at most {limit}");
        if page.is_empty() {
            return all;
        }
        all.extend(page);
    }
}

/// Consent k1 (refresh and access token), consent k2 (refresh token), an
/// open and a consumed transaction, a waiting and a finished retrieval.
fn one_of_each_sealed_value(store: &TestDatabase, at: OffsetDateTime) {
    let both = SealedTokens {
        refresh: Some(vec![1]),
        access: Some(vec![2]),
        access_expires_at: None,
    };
    store
        .insert_consent("c", "sess", &consent_record("k1"), &both)
        .expect("k1");
    let refresh = SealedTokens {
        refresh: Some(vec![3]),
        ..SealedTokens::default()
    };
    store
        .insert_consent("c2", "sess", &consent_record("k2"), &refresh)
        .expect("k2");
    store
        .insert_transaction(&transaction("s1", "sess", at))
        .expect("s1");
    store
        .insert_transaction(&transaction("s2", "sess", at))
        .expect("s2");
    store
        .consume_transaction("c", "sess", "s2", at)
        .expect("consume s2");
    job(store, "r1", "i1", at);
    job(store, "r2", "i1", at);
    assert!(store
        .finish_retrieval("k1", "r2", &finished(at))
        .expect("finish"));
}

fn sealed_values_pages_through_every_kind_of_every_backend_in_order(store: &TestDatabase) {
    one_of_each_sealed_value(store, datetime!(2025-04-01 00:00 UTC));
    let expected = vec![
        (
            SealedRef::RefreshToken {
                consent_id: "k1".into(),
            },
            vec![1],
        ),
        (
            SealedRef::RefreshToken {
                consent_id: "k2".into(),
            },
            vec![3],
        ),
        (
            SealedRef::AccessToken {
                consent_id: "k1".into(),
            },
            vec![2],
        ),
        (
            SealedRef::TransactionSecrets {
                state_hash: "s1".into(),
            },
            vec![1, 2, 3],
        ),
        (
            SealedRef::RetrievalAccessToken {
                consent_id: "k1".into(),
                retrieval_id: "r1".into(),
            },
            vec![7, 7, 7],
        ),
        (
            SealedRef::RetrievalRecords {
                consent_id: "k1".into(),
                retrieval_id: "r2".into(),
            },
            vec![1],
        ),
    ];
    // The consumed transaction's wiped secrets and the finished
    // retrieval's dropped access token are not listed.
    for limit in [1, 2, 4, 100] {
        let found: Vec<_> = all_sealed(store, limit)
            .into_iter()
            .map(|value| (value.at, value.sealed))
            .collect();
        assert_eq!(found, expected, "pages of {limit}");
    }
}

fn a_sealed_value_is_replaced_only_while_it_holds_the_bytes_read(store: &TestDatabase) {
    let at = datetime!(2025-04-01 00:00 UTC);
    one_of_each_sealed_value(store, at);
    let refresh = SealedRef::RefreshToken {
        consent_id: "k1".into(),
    };
    // A refresh token rotated by an instance meanwhile is not overwritten.
    assert!(store
        .rotate_refresh_token("k1", &[1], &[4], at)
        .expect("rotate"));
    assert!(!store.replace_sealed(&refresh, &[1], &[9]).expect("replace"));
    assert_eq!(store.tokens("k1").expect("tokens").refresh, Some(vec![4]));

    for value in all_sealed(store, 100) {
        let mut new = value.sealed.clone();
        new.push(0xee);
        assert!(
            store
                .replace_sealed(&value.at, &value.sealed, &new)
                .expect("replace"),
            "{:?}",
            value.at
        );
        assert!(
            !store
                .replace_sealed(&value.at, &value.sealed, &[9])
                .expect("replace"),
            "{:?} changed already",
            value.at
        );
    }
    assert!(all_sealed(store, 100)
        .iter()
        .all(|value| value.sealed.last() == Some(&0xee)));

    // A retrieval's value under another consent's id is not its value.
    let records = SealedRef::RetrievalRecords {
        consent_id: "k2".into(),
        retrieval_id: "r2".into(),
    };
    assert!(!store
        .replace_sealed(&records, &[1, 0xee], &[9])
        .expect("replace"));

    // A value deleted meanwhile (the revocation) stays deleted.
    store.revoke("k2", at, "receipt", &[]).expect("revoke");
    let gone = SealedRef::RefreshToken {
        consent_id: "k2".into(),
    };
    assert!(!store
        .replace_sealed(&gone, &[3, 0xee], &[9])
        .expect("replace"));
    assert_eq!(store.tokens("k2").expect("tokens").refresh, None);
}

/// Several instances starting together on a new database: each migration
/// runs once (a second run would fail on tables that exist), and every
/// instance works.
fn instances_starting_together_on_a_new_database_migrate_once(store: &TestDatabase) {
    let database = store.empty_database();
    let starting = Barrier::new(4);
    let instances: Vec<Box<dyn ConsentStore>> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| {
                    starting.wait();
                    database.open()
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|thread| thread.join().expect("an instance starts"))
            .collect()
    });
    for instance in &instances {
        instance.ping().expect("ping");
    }
    let at = datetime!(2025-04-01 00:00 UTC);
    instances[0].create_session("c", "h", at).expect("create");
    assert!(instances[3]
        .touch_session(
            "c",
            "h",
            at,
            SessionPolicy {
                idle: time::Duration::days(1),
                max: time::Duration::days(3),
            }
        )
        .expect("touch"));
}

/// Two instances on one database, three threads each, claim abandoned jobs
/// at once: every job is claimed, and none twice.
fn instances_claiming_at_once_never_claim_a_job_twice(store: &TestDatabase) {
    const JOBS: usize = 60;
    const THREADS: usize = 6;
    let at = datetime!(2025-04-01 00:00 UTC);
    store
        .insert_consent(
            "c",
            "session:s1",
            &consent_record("k1"),
            &SealedTokens::default(),
        )
        .expect("consent");
    for n in 0..JOBS {
        job(store, &format!("r{n:03}"), "stopped", at);
    }
    let other = store.another_instance();
    let instances: [&dyn ConsentStore; 2] = [&**store, other.as_ref()];
    // Every lease has run out; a claim holds for an hour.
    let now = at + time::Duration::minutes(5);
    let lease = now + time::Duration::hours(1);
    let starting = Barrier::new(THREADS);
    let claims: Vec<Vec<String>> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..THREADS)
            .map(|n| {
                let (instance, starting) = (instances[n % 2], &starting);
                scope.spawn(move || {
                    let name = format!("instance-{}-{n}", n % 2);
                    let mut claimed = Vec::new();
                    starting.wait();
                    loop {
                        let jobs = instance
                            .claim_retrievals("c", &name, now, lease, 4)
                            .expect("claim");
                        if jobs.is_empty() {
                            return claimed;
                        }
                        claimed.extend(jobs.into_iter().map(|job| job.retrieval_id));
                    }
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|thread| thread.join().expect("claims"))
            .collect()
    });
    let mut all = claims.concat();
    let claimed = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), claimed, "a job was claimed twice");
    assert_eq!(claimed, JOBS, "every job was claimed");
}

/// Instances refreshing one consent at once, all with the token they read:
/// one rotation wins each round, and it is recorded once.
fn concurrent_rotations_of_one_token_succeed_once(store: &TestDatabase) {
    const THREADS: u8 = 6;
    const ROUNDS: u8 = 5;
    let at = datetime!(2025-04-01 00:00 UTC);
    let tokens = SealedTokens {
        refresh: Some(vec![0]),
        ..SealedTokens::default()
    };
    store
        .insert_consent("c", "session:s1", &consent_record("k1"), &tokens)
        .expect("consent");
    let other = store.another_instance();
    let instances: [&dyn ConsentStore; 2] = [&**store, other.as_ref()];
    for round in 0..ROUNDS {
        let old = store
            .tokens("k1")
            .expect("tokens")
            .refresh
            .expect("a token");
        let starting = Barrier::new(usize::from(THREADS));
        let winners: Vec<Vec<u8>> = std::thread::scope(|scope| {
            let threads: Vec<_> = (0..THREADS)
                .map(|n| {
                    let (instance, starting, old) =
                        (instances[usize::from(n % 2)], &starting, &old);
                    scope.spawn(move || {
                        let new = vec![round + 1, n];
                        starting.wait();
                        instance
                            .rotate_refresh_token("k1", old, &new, at)
                            .expect("rotate")
                            .then_some(new)
                    })
                })
                .collect();
            threads
                .into_iter()
                .filter_map(|thread| thread.join().expect("rotation"))
                .collect()
        });
        assert_eq!(winners.len(), 1, "round {round}: {winners:?} all rotated");
        assert_eq!(
            store.tokens("k1").expect("tokens").refresh.as_ref(),
            winners.first(),
            "the winner's token is stored"
        );
    }
    assert_eq!(
        store.count("SELECT COUNT(*) FROM operator_refreshes WHERE consent_id = 'k1'"),
        i64::from(ROUNDS),
        "every rotation recorded once"
    );
}

/// A due linkage goes to one instance, which holds it until `hold_until`;
/// an ended schedule is never due, and another backend's never is.
fn a_due_schedule_is_claimed_once_until_its_hold_ends(store: &TestDatabase) {
    let at = datetime!(2025-04-01 00:00 UTC);
    let schedule = |consent_id: &str, next_at: Option<OffsetDateTime>| Schedule {
        client_id: "c".into(),
        owner: "session:s1".into(),
        consent_id: consent_id.into(),
        next_at,
        failures: 0,
        last_error: None,
    };
    for id in ["k1", "k2"] {
        store
            .insert_consent(
                "c",
                "session:s1",
                &consent_record(id),
                &SealedTokens::default(),
            )
            .expect("consent");
    }
    store
        .set_schedule(&schedule("k1", Some(at)))
        .expect("schedule");
    store
        .set_schedule(&Schedule {
            failures: 2,
            last_error: Some("authority_unavailable".into()),
            ..schedule("k2", None)
        })
        .expect("ended");
    let hold = at + time::Duration::minutes(10);
    let due = store.claim_due_schedules("c", at, hold, 10).expect("claim");
    assert_eq!(due, [schedule("k1", Some(hold))]);
    assert!(store
        .claim_due_schedules("c", at, hold, 10)
        .expect("claim")
        .is_empty());
    assert!(store
        .claim_due_schedules("other", hold, hold, 10)
        .expect("claim")
        .is_empty());
    let again = store
        .claim_due_schedules("c", hold, hold + time::Duration::minutes(10), 10)
        .expect("claim");
    assert_eq!(again.len(), 1, "due again once the hold ends");
    let mut all = store.schedules("c", "session:s1").expect("schedules");
    all.sort_by(|a, b| a.consent_id.cmp(&b.consent_id));
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].next_at, None);
    assert_eq!(all[1].failures, 2);
    assert_eq!(all[1].last_error.as_deref(), Some("authority_unavailable"));
}

/// The right to refresh a consent is one instance's at a time, until that
/// instance gives it back or its lease runs out.
fn the_right_to_refresh_is_one_instances_until_released_or_run_out(store: &TestDatabase) {
    let at = datetime!(2025-04-01 00:00 UTC);
    let seconds = |n: i64| at + time::Duration::seconds(n);
    store
        .insert_consent(
            "c",
            "session:s1",
            &consent_record("k1"),
            &SealedTokens::default(),
        )
        .expect("consent");
    assert!(store
        .lease_refresh("k1", "a", at, seconds(30))
        .expect("lease"));
    assert!(!store
        .lease_refresh("k1", "b", at, seconds(30))
        .expect("lease"));
    assert!(store
        .lease_refresh("k1", "a", at, seconds(30))
        .expect("again"));
    store.release_refresh("k1", "b").expect("not b's to give");
    assert!(!store
        .lease_refresh("k1", "b", seconds(10), seconds(40))
        .expect("lease"));
    store.release_refresh("k1", "a").expect("release");
    assert!(store
        .lease_refresh("k1", "b", seconds(10), seconds(40))
        .expect("lease"));
    // B stops without giving it back: A takes it once B's lease ran out.
    assert!(!store
        .lease_refresh("k1", "a", seconds(40), seconds(70))
        .expect("lease"));
    assert!(store
        .lease_refresh("k1", "a", seconds(41), seconds(70))
        .expect("lease"));
}

/// The backend's own path: on a current-thread runtime (as
/// `#[tokio::test]` makes), the PostgreSQL store is made and called from
/// `spawn_blocking` tasks, as `Operator::db` calls it.
#[tokio::test]
async fn postgres_serves_the_blocking_tasks_of_a_current_thread_runtime() {
    // The suite's helpers block: they run on blocking threads too.
    let Some(database) = tokio::task::spawn_blocking(Database::postgres)
        .await
        .expect("task")
    else {
        return;
    };
    let Database::Postgres { url, schema } = &database else {
        unreachable!("a PostgreSQL database");
    };
    let (url, schema) = (url.clone(), schema.clone());
    let store = tokio::task::spawn_blocking(move || {
        PostgresStore::connect_with_options(&url, PostgresOptions::default().schema(schema))
    })
    .await
    .expect("task")
    .expect("connect");
    let store: std::sync::Arc<dyn ConsentStore> = std::sync::Arc::new(store);
    let at = datetime!(2025-04-01 00:00 UTC);
    let calls: Vec<_> = (0..8)
        .map(|n| {
            let store = store.clone();
            tokio::task::spawn_blocking(move || {
                store.create_session("c", &format!("h{n}"), at)?;
                store.ping()
            })
        })
        .collect();
    for call in calls {
        call.await.expect("task").expect("a call");
    }
    drop(store);
    tokio::task::spawn_blocking(move || drop(database))
        .await
        .expect("task");
}

/// Instances say they are alive; the count is per backend, and one not
/// heard of since `stale_before` is forgotten.
fn instances_alive_are_counted_per_backend_and_forgotten_when_silent(store: &TestDatabase) {
    let at = datetime!(2025-04-01 00:00 UTC);
    let stale = |now: OffsetDateTime| now - time::Duration::seconds(30);
    assert_eq!(store.heartbeat("c", "a", at, stale(at)).expect("beat"), 1);
    assert_eq!(store.heartbeat("c", "b", at, stale(at)).expect("beat"), 2);
    assert_eq!(
        store.heartbeat("other", "x", at, stale(at)).expect("beat"),
        1
    );
    // A beats again a minute later; B stayed silent.
    let later = at + time::Duration::minutes(1);
    assert_eq!(
        store
            .heartbeat("c", "a", later, stale(later))
            .expect("beat"),
        1
    );
}

/// Retrieved records go `retention_days` after the consent ends, not
/// before; a consent without a retention keeps them.
fn retrieved_records_are_purged_once_their_retention_has_passed(store: &TestDatabase) {
    let at = datetime!(2025-04-01 00:00 UTC);
    let records = |store: &TestDatabase| -> usize {
        store
            .sealed_values(None, 1000)
            .expect("read")
            .iter()
            .filter(|v| v.at.kind() == SealedKind::RetrievalRecords)
            .count()
    };
    for id in ["k1", "k2"] {
        store
            .insert_consent(
                "c",
                "session:s1",
                &consent_record(id),
                &SealedTokens::default(),
            )
            .expect("consent");
    }
    for (consent, retrieval) in [("k1", "r1"), ("k2", "r2")] {
        job_of(store, consent, retrieval, "a", at);
        assert!(store
            .finish_retrieval(consent, retrieval, &finished(at))
            .expect("finish"));
    }
    // k1: kept 30 days after its end; its last day is far off, but it is
    // withdrawn on day 10. k2 states no retention.
    store
        .set_retention("k1", 30, at + time::Duration::days(90))
        .expect("retention");
    store
        .revoke("k1", at + time::Duration::days(10), "{}", &[])
        .expect("revoke");
    assert_eq!(records(store), 2);
    let day = |n: i64| at + time::Duration::days(n);
    assert_eq!(
        store.purge_records("c", day(39)).expect("purge"),
        0,
        "29 days after the end"
    );
    assert_eq!(
        store.purge_records("other", day(41)).expect("purge"),
        0,
        "another backend's"
    );
    assert_eq!(
        store.purge_records("c", day(41)).expect("purge"),
        1,
        "31 days after the end"
    );
    assert_eq!(
        records(store),
        1,
        "k2's records stay: it states no retention"
    );
    assert_eq!(
        store.purge_records("c", day(400)).expect("purge"),
        0,
        "once"
    );
}

/// A withdrawal ends the consent's waiting retrievals: none can be
/// resumed or finished with records afterwards.
fn a_withdrawal_ends_the_retrievals_still_waiting(store: &TestDatabase) {
    let at = datetime!(2025-04-01 00:00 UTC);
    store
        .insert_consent(
            "c",
            "session:s1",
            &consent_record("k1"),
            &SealedTokens::default(),
        )
        .expect("consent");
    job(store, "r1", "a", at);
    store.revoke("k1", at, "{}", &[]).expect("revoke");
    let later = at + time::Duration::minutes(5);
    assert!(store
        .claim_retrievals("c", "b", later, later + time::Duration::seconds(10), 10)
        .expect("claim")
        .is_empty());
    assert!(!store
        .finish_retrieval("k1", "r1", &finished(later))
        .expect("finish"));
    let record = store.retrieval("k1", "r1").expect("read").expect("found");
    assert_eq!(
        (record.status.as_str(), record.error.as_deref()),
        ("error", Some("revoked"))
    );
}

/// A right to refresh taken and never given back is listed once it has
/// run out, and no longer once given back.
fn a_refresh_lease_never_given_back_is_listed_once_it_runs_out(store: &TestDatabase) {
    let at = datetime!(2025-04-01 00:00 UTC);
    let tokens = SealedTokens {
        refresh: Some(vec![1, 2, 3]),
        ..SealedTokens::default()
    };
    store
        .insert_consent("c", "session:s1", &consent_record("k1"), &tokens)
        .expect("consent");
    let until = at + time::Duration::seconds(15);
    assert!(store.lease_refresh("k1", "a", at, until).expect("lease"));
    let seconds = |n: i64| at + time::Duration::seconds(n);
    assert!(store
        .abandoned_refreshes("c", seconds(10), 10)
        .expect("list")
        .is_empty());
    assert_eq!(
        store
            .abandoned_refreshes("c", seconds(20), 10)
            .expect("list"),
        [("k1".to_owned(), "session:s1".to_owned())]
    );
    assert!(store
        .abandoned_refreshes("other", seconds(20), 10)
        .expect("list")
        .is_empty());
    assert!(store
        .lease_refresh("k1", "b", seconds(20), seconds(35))
        .expect("lease"));
    store.release_refresh("k1", "b").expect("release");
    assert!(store
        .abandoned_refreshes("c", seconds(60), 10)
        .expect("list")
        .is_empty());
}

on_every_store! {
    a_refresh_lease_never_given_back_is_listed_once_it_runs_out,
    a_withdrawal_ends_the_retrievals_still_waiting,
    retrieved_records_are_purged_once_their_retention_has_passed,
    instances_alive_are_counted_per_backend_and_forgotten_when_silent,
    transaction_is_single_use_and_bound_to_its_session,
    expired_transaction_is_consumed_too,
    rotation_replaces_only_the_token_it_read,
    revocation_is_recorded_once_and_deletes_tokens,
    a_request_token_is_used_up_by_one_transaction_only,
    a_one_time_access_token_is_claimed_once_and_kept_for_the_revocation,
    sessions_end_when_idle_or_too_old,
    sweeps_transactions_a_day_past_their_end,
    a_retrieval_is_leased_to_one_instance_and_resumed_by_another_only_when_the_lease_runs_out,
    opening_the_store_again_leaves_waiting_retrievals_alone,
    sealed_values_pages_through_every_kind_of_every_backend_in_order,
    a_sealed_value_is_replaced_only_while_it_holds_the_bytes_read,
    instances_starting_together_on_a_new_database_migrate_once,
    instances_claiming_at_once_never_claim_a_job_twice,
    concurrent_rotations_of_one_token_succeed_once,
    a_due_schedule_is_claimed_once_until_its_hold_ends,
    the_right_to_refresh_is_one_instances_until_released_or_run_out,
}
