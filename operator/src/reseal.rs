//! Re-sealing under the active key, the last step of a key rotation
//! (`myna-operator reseal`): every sealed value the store holds is opened
//! with the ring and sealed again under the active key, so that the old key
//! can leave the ring. It is safe while instances run: each value is
//! replaced by compare-and-swap, so a value that an instance rotated,
//! consumed or deleted meanwhile is left to that instance; and an instance
//! whose refresh token was re-sealed under its feet still stores the
//! rotated one ([`rotate_refresh_token`]).

use time::OffsetDateTime;

use crate::operator::{job_access_owner, records_owner, transaction_owner};
use crate::seal::{KeyRing, SealError};
use crate::secret::RefreshToken;
use crate::store::{ConsentStore, SealedKind, SealedRef, SealedValue, StoreError};

/// Values read from the store at a time.
const PAGE: usize = 200;

/// How often a rotation swaps again after finding its token re-sealed (a
/// re-seal changes a value once; a second one only after another rotation
/// of the keys).
const RESEALED_RETRIES: usize = 3;

/// A count per kind of sealed value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PerKind([usize; SealedKind::ALL.len()]);

impl PerKind {
    /// The count of `kind`.
    pub fn get(&self, kind: SealedKind) -> usize {
        self.0[kind as usize]
    }

    /// All kinds together.
    pub fn total(&self) -> usize {
        self.0.iter().sum()
    }

    /// Each kind's name and count, in [`SealedKind::ALL`] order.
    pub fn named(&self) -> Vec<(&'static str, usize)> {
        SealedKind::ALL
            .into_iter()
            .map(|kind| (kind.name(), self.get(kind)))
            .collect()
    }

    fn add(&mut self, kind: SealedKind) {
        self.0[kind as usize] += 1;
    }
}

/// What a re-seal did.
#[derive(Debug, Clone, Default)]
pub struct ResealReport {
    /// The id of the key every value was sealed under.
    pub active_key: String,
    /// Values moved to the active key.
    pub resealed: PerKind,
    /// Values that were under the active key already.
    pub already_active: usize,
    /// Values a running instance rotated, consumed or deleted while they
    /// were being re-sealed (left to it: it seals under its active key).
    pub changed_meanwhile: usize,
    /// Values that did not open with the ring (a key no longer in it, or
    /// damaged bytes), left as they are.
    pub failed: Vec<(SealedRef, SealError)>,
    /// Values not under the active key once the re-seal was done, counted
    /// again from the store: zero before the old key may leave the ring.
    pub left_behind: PerKind,
}

/// The owner string (associated data) a value at `at` is sealed for: the
/// same functions the backend seals with.
fn owner(at: &SealedRef) -> String {
    match at {
        SealedRef::RefreshToken { consent_id } | SealedRef::AccessToken { consent_id } => {
            consent_id.clone()
        }
        SealedRef::TransactionSecrets { state_hash } => transaction_owner(state_hash),
        SealedRef::RetrievalAccessToken {
            consent_id,
            retrieval_id,
        } => job_access_owner(consent_id, retrieval_id),
        SealedRef::RetrievalRecords {
            consent_id,
            retrieval_id,
        } => records_owner(consent_id, retrieval_id),
    }
}

/// Calls `each` with every sealed value of the store, page by page.
fn for_each_sealed(
    store: &dyn ConsentStore,
    mut each: impl FnMut(SealedValue) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut after = None;
    loop {
        let page = store.sealed_values(after.as_ref(), PAGE)?;
        let full = page.len() >= PAGE;
        after = page.last().map(|value| value.at.clone());
        for value in page {
            each(value)?;
        }
        if !full {
            return Ok(());
        }
    }
}

/// Re-seals every value of `store` that is not under `key`'s active key,
/// then counts what is still not under it, and writes the audit event
/// `key_rotation` (counts and key id only, never key material).
pub fn reseal(
    store: &dyn ConsentStore,
    key: &KeyRing,
    now: OffsetDateTime,
) -> Result<ResealReport, StoreError> {
    let mut report = ResealReport {
        active_key: key.active_id().to_owned(),
        ..ResealReport::default()
    };
    for_each_sealed(store, |value| {
        if key.is_sealed_under_active(&value.sealed) {
            report.already_active += 1;
            return Ok(());
        }
        let owner = owner(&value.at);
        let resealed = key
            .open(&owner, &value.sealed)
            .and_then(|plain| key.seal(&owner, &plain));
        match resealed {
            Ok(new) => {
                if store.replace_sealed(&value.at, &value.sealed, &new)? {
                    report.resealed.add(value.at.kind());
                } else {
                    report.changed_meanwhile += 1;
                }
            }
            Err(error) => {
                tracing::warn!(value = ?value.at, code = error.code(), %error, "a sealed value does not open with the key ring; it is left as it is");
                report.failed.push((value.at, error));
            }
        }
        Ok(())
    })?;
    for_each_sealed(store, |value| {
        if !key.is_sealed_under_active(&value.sealed) {
            report.left_behind.add(value.at.kind());
        }
        Ok(())
    })?;
    crate::audit::key_rotation(
        now,
        key.active_id(),
        &report.resealed.named(),
        report.left_behind.total(),
    );
    Ok(report)
}

/// A refresh token's rotation: the token presented and its successor, each
/// as text and as stored.
#[derive(Clone, Copy)]
pub(crate) struct Rotation<'a> {
    /// The refresh token presented to the authority.
    pub(crate) old: &'a RefreshToken,
    /// The successor the authority answered.
    pub(crate) new: &'a RefreshToken,
    /// The old token as it was read from the store.
    pub(crate) old_sealed: &'a [u8],
    /// The successor, sealed.
    pub(crate) new_sealed: &'a [u8],
}

/// [`ConsentStore::rotate_refresh_token`] for a running instance, when a
/// re-seal may have replaced the stored token since it was read: the
/// stored value is then another sealing of the same token `old`, and the
/// swap is made against it. `false` as before when the stored token is
/// gone or is another token (revoked or rotated meanwhile).
pub(crate) fn rotate_refresh_token(
    store: &dyn ConsentStore,
    key: &KeyRing,
    consent_id: &str,
    rotation: &Rotation<'_>,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let Rotation {
        old,
        new,
        old_sealed,
        new_sealed,
    } = *rotation;
    let mut expected = old_sealed.to_vec();
    for _ in 0..RESEALED_RETRIES {
        if store.rotate_refresh_token(consent_id, &expected, new_sealed, now)? {
            return Ok(true);
        }
        let Some(stored) = store.tokens(consent_id)?.refresh else {
            return Ok(false);
        };
        let opened = key.open_text(consent_id, &stored).ok();
        // Another instance, whose lease this one outlived, refreshed with
        // the same old token within the authority's reuse grace and stored
        // the very successor this one holds: that is this rotation, done.
        if opened.as_deref() == Some(new.expose()) {
            return Ok(true);
        }
        let resealed = stored != expected && opened.as_deref() == Some(old.expose());
        if !resealed {
            return Ok(false);
        }
        expected = stored;
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seal::RingKey;
    use crate::store::{ConsentRecord, SealedTokens, SqliteStore};
    use time::macros::datetime;

    fn ring(keys: &[(&str, u8)], active: &str) -> KeyRing {
        KeyRing::new(
            keys.iter()
                .map(|(id, byte)| RingKey::new(id, [*byte; 32]).expect("key"))
                .collect(),
            active,
        )
        .expect("ring")
    }

    fn consent(store: &SqliteStore, id: &str, refresh: Vec<u8>) {
        let consent = serde_json::from_value(serde_json::json!({
            "id": id,
            "operator": {"name": "n", "contact": "c", "privacyPolicyUrl": "https://x", "approvalId": "a"},
            "items": ["insurance.drugs"],
            "purposes": [{"category": "healthManagement", "description": "d"}],
            "period": {"kind": "linkage", "days": 90},
            "retention": "r",
            "grantedAt": "2026-10-01T00:00:00Z"
        }))
        .expect("consent");
        let record = ConsentRecord {
            consent,
            grant_id: None,
            locale: myna_consent::i18n::Locale::Ja,
            expired_at: None,
            last_retrieval_at: None,
            grant_receipt: "{}".into(),
            revocation_receipt: None,
            recipient_ids: vec![],
        };
        let tokens = SealedTokens {
            refresh: Some(refresh),
            ..SealedTokens::default()
        };
        store
            .insert_consent("c", "sess", &record, &tokens)
            .expect("insert");
    }

    #[test]
    fn reseal_moves_every_value_to_the_active_key_and_leaves_none_behind() {
        let dir = tempfile::tempdir().expect("dir");
        let store = SqliteStore::open(&dir.path().join("db.sqlite")).expect("open");
        let a = ring(&[("a", 1)], "a");
        consent(&store, "k1", a.seal("k1", b"refresh-1").expect("seal"));
        consent(&store, "k2", a.seal("k2", b"refresh-2").expect("seal"));
        let ab = ring(&[("a", 1), ("b", 2)], "b");
        consent(&store, "k3", ab.seal("k3", b"refresh-3").expect("seal"));
        let at = datetime!(2026-11-01 00:00 UTC);

        let report = reseal(&store, &ab, at).expect("reseal");
        assert_eq!(report.resealed.get(SealedKind::RefreshToken), 2);
        assert_eq!(report.resealed.total(), 2);
        assert_eq!(report.already_active, 1);
        assert!(report.failed.is_empty());
        assert_eq!(report.left_behind.total(), 0);

        let b = ring(&[("b", 2)], "b");
        for (id, token) in [
            ("k1", "refresh-1"),
            ("k2", "refresh-2"),
            ("k3", "refresh-3"),
        ] {
            let sealed = store.tokens(id).expect("tokens").refresh.expect("refresh");
            assert_eq!(b.open_text(id, &sealed).expect("opens under b"), token);
        }
        let again = reseal(&store, &ab, at).expect("again");
        assert_eq!(again.resealed.total(), 0, "a second run changes nothing");
        assert_eq!(again.already_active, 3);
    }

    #[test]
    fn a_value_that_does_not_open_is_reported_and_left_as_it_is() {
        let dir = tempfile::tempdir().expect("dir");
        let store = SqliteStore::open(&dir.path().join("db.sqlite")).expect("open");
        let gone = ring(&[("gone", 9)], "gone");
        let sealed = gone.seal("k1", b"refresh").expect("seal");
        consent(&store, "k1", sealed.clone());
        let report = reseal(
            &store,
            &ring(&[("b", 2)], "b"),
            datetime!(2026-11-01 00:00 UTC),
        )
        .expect("reseal");
        assert_eq!(report.failed.len(), 1);
        assert_eq!(report.failed[0].1, SealError::UnknownKey("gone".into()));
        assert_eq!(report.left_behind.get(SealedKind::RefreshToken), 1);
        assert_eq!(store.tokens("k1").expect("tokens").refresh, Some(sealed));
    }

    /// An instance read the refresh token under key a, the re-seal moved it
    /// to key b, and then the instance's rotation arrives: it is stored,
    /// and not taken for a revocation.
    fn rotation<'a>(
        old: &'a RefreshToken,
        new: &'a RefreshToken,
        old_sealed: &'a [u8],
        new_sealed: &'a [u8],
    ) -> Rotation<'a> {
        Rotation {
            old,
            new,
            old_sealed,
            new_sealed,
        }
    }

    #[test]
    fn a_rotation_stores_its_token_after_a_reseal_of_the_one_it_read() {
        let dir = tempfile::tempdir().expect("dir");
        let store = SqliteStore::open(&dir.path().join("db.sqlite")).expect("open");
        let ab = ring(&[("a", 1), ("b", 2)], "b");
        let read = ring(&[("a", 1)], "a")
            .seal("k1", b"refresh-1")
            .expect("seal");
        consent(&store, "k1", read.clone());
        let at = datetime!(2026-11-01 00:00 UTC);
        reseal(&store, &ab, at).expect("reseal");
        let new = ab.seal("k1", b"refresh-2").expect("seal");
        let old = RefreshToken::new("refresh-1");
        let successor = RefreshToken::new("refresh-2");
        assert!(rotate_refresh_token(
            &store,
            &ab,
            "k1",
            &rotation(&old, &successor, &read, &new),
            at
        )
        .expect("rotate"));
        assert_eq!(
            store.tokens("k1").expect("tokens").refresh,
            Some(new.clone())
        );

        // Another token stored meanwhile (a rotation by another instance)
        // is not overwritten.
        let other = RefreshToken::new("refresh-0");
        let newer = ab.seal("k1", b"refresh-3").expect("seal");
        let newer_token = RefreshToken::new("refresh-3");
        assert!(!rotate_refresh_token(
            &store,
            &ab,
            "k1",
            &rotation(&other, &newer_token, &read, &newer),
            at
        )
        .expect("rotate"));
        assert_eq!(
            store.tokens("k1").expect("tokens").refresh,
            Some(new.clone())
        );

        // The same successor, stored by an instance that refreshed with the
        // same old token within the authority's grace (this one's lease had
        // run out), is this rotation done, not a withdrawal.
        let same_again = ab.seal("k1", b"refresh-2").expect("seal");
        assert!(rotate_refresh_token(
            &store,
            &ab,
            "k1",
            &rotation(&old, &successor, &read, &same_again),
            at
        )
        .expect("rotate"));
        assert_eq!(store.tokens("k1").expect("tokens").refresh, Some(new));
    }
}
