//! The storage test suite: behaviour every [`ConsentStore`] must have.

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

fn job(store: &SqliteStore, retrieval_id: &str, instance: &str, at: OffsetDateTime) {
    store
        .insert_retrieval(&NewRetrieval {
            consent_id: "k1".into(),
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

#[test]
fn a_retrieval_is_leased_to_one_instance_and_resumed_by_another_only_when_the_lease_runs_out() {
    let (_dir, store) = store();
    let at = datetime!(2025-04-01 00:00 UTC);
    store
        .insert_consent(
            "c",
            "session:s1",
            &consent_record("k1"),
            &SealedTokens::default(),
        )
        .expect("consent");
    job(&store, "r1", "a", at);
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

#[test]
fn opening_the_store_again_leaves_waiting_retrievals_alone() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("shared.sqlite");
    let at = OffsetDateTime::now_utc();
    {
        let store = SqliteStore::open(&path).expect("open");
        store
            .insert_consent(
                "c",
                "session:s1",
                &consent_record("k1"),
                &SealedTokens::default(),
            )
            .expect("consent");
        job(&store, "r1", "a", at);
    }
    // Another instance starts on the same database: A's job stays A's.
    let second = SqliteStore::open(&path).expect("open again");
    let record = second.retrieval("k1", "r1").expect("read").expect("found");
    assert_eq!(record.status, "waiting");
    assert!(second
        .claim_retrievals("c", "b", at, at + time::Duration::seconds(10), 10)
        .expect("claim")
        .is_empty());
}
