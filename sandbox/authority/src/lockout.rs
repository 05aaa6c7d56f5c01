//! The lock-out after failed client authentications at `/par`, `/token` and
//! `/revoke`: 5 failures within 60 s for a claimed client id (from one peer
//! address, when the server knows it) lock that id out until the oldest of
//! them is 60 s old.
//!
//! During a lock-out the credentials are not checked at all, so a right
//! secret is refused like a wrong one and the answer tells a guesser nothing.
//! Keying by the peer address as well means a guesser elsewhere cannot lock
//! a real client out. Like the rate limit, it runs on the machine's monotonic
//! clock: a test that moves the domain clock by days must not lift it.
//!
//! An attempt takes one of the id's 5 places before its credentials are
//! checked and gives it back only when they pass, so requests sent at once
//! cannot all pass the check before any of their failures is counted. The
//! price is that a client with failures in the window, sending several
//! requests at once, may see one of them refused for a second.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use sha2::{Digest, Sha256};

/// Failures that lock an id out.
const MAX_FAILURES: usize = 5;
/// How long a failure counts.
const WINDOW: Duration = Duration::from_secs(60);
/// The most (id, address) pairs remembered: unknown ids count too, so a
/// flood of made-up ids must not grow the map without bound.
const MAX_TRACKED: usize = 10_000;

/// The address a request came from, when the server was started with
/// `into_make_service_with_connect_info::<SocketAddr>()`; `None` otherwise.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Peer(pub(crate) Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip()),
        ))
    }
}

/// Recent failed authentications, and attempts being checked, by claimed
/// client id and peer address.
#[derive(Default)]
pub(crate) struct Lockout {
    entries: Mutex<HashMap<Key, Entry>>,
}

/// The failures of one (id, address) within the window, and its attempts
/// whose credentials are being checked.
#[derive(Debug, Default)]
struct Entry {
    failures: VecDeque<Instant>,
    checking: usize,
}

impl Entry {
    /// When the lock lifts, while the failures lock the id out: when the
    /// oldest counted failure leaves the window. The failures past the
    /// window must have been forgotten first.
    fn lifts_at(&self) -> Option<Instant> {
        let oldest = self.failures.len().checked_sub(MAX_FAILURES)?;
        Some(self.failures[oldest] + WINDOW)
    }

    /// Whether the entry holds nothing worth keeping.
    fn is_idle(&self) -> bool {
        self.checking == 0 && self.failures.is_empty()
    }
}

/// The claimed id is kept as a hash: a made-up id can be as long as a
/// request body, its hash is 32 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    client_id: [u8; 32],
    peer: Option<IpAddr>,
}

impl Key {
    fn new(client_id: &str, peer: Peer) -> Self {
        Self {
            client_id: Sha256::digest(client_id.as_bytes()).into(),
            peer: peer.0,
        }
    }
}

impl Lockout {
    /// Runs `verify`, the check of credentials that claim `client_id`, from
    /// `peer`, and counts a failure when it fails. `Err` with `Retry-After`
    /// in whole seconds (at least 1), without running `verify`, while the
    /// id is locked out for `peer` or its places are taken by failures and
    /// attempts still being checked.
    pub(crate) fn attempt<T, E>(
        &self,
        client_id: &str,
        peer: Peer,
        verify: impl FnOnce() -> Result<T, E>,
    ) -> Result<Result<T, E>, u64> {
        let key = Key::new(client_id, peer);
        self.reserve_at(&key, Instant::now())?;
        let mut place = Place {
            lockout: self,
            key,
            failed: true,
        };
        let outcome = verify();
        place.failed = outcome.is_err();
        Ok(outcome)
    }

    /// Takes a place for an attempt of `key`, unless the failures and the
    /// attempts being checked already fill them.
    fn reserve_at(&self, key: &Key, now: Instant) -> Result<(), u64> {
        let mut entries = self.lock();
        if !entries.contains_key(key) {
            make_room(&mut entries, now)?;
        }
        let entry = entries.entry(key.clone()).or_default();
        forget_old(&mut entry.failures, now);
        if let Some(lifts_at) = entry.lifts_at() {
            return Err(whole_seconds(lifts_at.saturating_duration_since(now)));
        }
        if entry.failures.len() + entry.checking >= MAX_FAILURES {
            // Not locked yet, but it will be if the attempts being checked
            // fail; they are settled within milliseconds.
            return Err(1);
        }
        entry.checking += 1;
        Ok(())
    }

    /// Gives back the place of an attempt of `key`, counting a failure when
    /// it `failed`.
    fn settle_at(&self, key: &Key, failed: bool, now: Instant) {
        let mut entries = self.lock();
        let Some(entry) = entries.get_mut(key) else {
            return;
        };
        entry.checking = entry.checking.saturating_sub(1);
        forget_old(&mut entry.failures, now);
        if failed {
            entry.failures.push_back(now);
            // Only the newest MAX_FAILURES decide when a lock lifts.
            while entry.failures.len() > MAX_FAILURES {
                entry.failures.pop_front();
            }
        }
        if entry.is_idle() {
            entries.remove(key);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Entry>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// An attempt's place, given back when it is dropped: a failure unless the
/// credentials passed, also when `verify` panicked.
struct Place<'a> {
    lockout: &'a Lockout,
    key: Key,
    failed: bool,
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        self.lockout
            .settle_at(&self.key, self.failed, Instant::now());
    }
}

/// Makes room for one more entry when `MAX_TRACKED` are kept: first by
/// forgetting what has left the window, then by dropping the entry that
/// matters least. An entry that locks an id out is dropped only when every
/// entry does, so a flood of made-up ids cannot lift a guesser's lock-out;
/// one with an attempt being checked never is. `Err(1)` when nothing can
/// go.
fn make_room(entries: &mut HashMap<Key, Entry>, now: Instant) -> Result<(), u64> {
    if entries.len() < MAX_TRACKED {
        return Ok(());
    }
    entries.retain(|_, entry| {
        forget_old(&mut entry.failures, now);
        !entry.is_idle()
    });
    if entries.len() < MAX_TRACKED {
        return Ok(());
    }
    let droppable = || entries.iter().filter(|(_, entry)| entry.checking == 0);
    // The unlocked one whose last failure is oldest, else the lock that
    // lifts soonest.
    let victim = droppable()
        .filter(|(_, entry)| entry.lifts_at().is_none())
        .min_by_key(|(_, entry)| entry.failures.back().copied())
        .or_else(|| droppable().min_by_key(|(_, entry)| entry.lifts_at()))
        .map(|(key, _)| key.clone())
        .ok_or(1_u64)?;
    entries.remove(&victim);
    Ok(())
}

/// A wait in whole seconds, rounded up and at least 1: a client that waits
/// that long is sure to be let in.
fn whole_seconds(wait: Duration) -> u64 {
    (wait.as_secs_f64().ceil() as u64).max(1)
}

fn forget_old(times: &mut VecDeque<Instant>, now: Instant) {
    while times
        .front()
        .is_some_and(|at| now.saturating_duration_since(*at) >= WINDOW)
    {
        times.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str, peer: Option<[u8; 4]>) -> Key {
        Key::new(id, Peer(peer.map(IpAddr::from)))
    }

    impl Lockout {
        /// One attempt of `key` at `now` whose credentials fail; `Err` when
        /// it is refused before they are checked.
        fn fail_at(&self, key: &Key, now: Instant) -> Result<(), u64> {
            self.reserve_at(key, now)?;
            self.settle_at(key, true, now);
            Ok(())
        }

        /// Whether an attempt of `key` at `now` would be let in.
        fn check_at(&self, key: &Key, now: Instant) -> Result<(), u64> {
            self.reserve_at(key, now)?;
            self.settle_at(key, false, now);
            Ok(())
        }
    }

    #[test]
    fn five_failures_lock_an_id_until_the_oldest_leaves_the_window() {
        let lockout = Lockout::default();
        let start = Instant::now();
        let id = key("demo-phr", None);
        for second in 0..4 {
            let at = start + Duration::from_secs(second);
            assert_eq!(lockout.fail_at(&id, at), Ok(()));
            assert_eq!(lockout.check_at(&id, at), Ok(()));
        }
        assert_eq!(
            lockout.fail_at(&id, start + Duration::from_secs(10)),
            Ok(())
        );
        assert_eq!(
            lockout.check_at(&id, start + Duration::from_secs(10)),
            Err(50)
        );
        assert_eq!(
            lockout.check_at(&id, start + Duration::from_millis(59_500)),
            Err(1)
        );
        // The first failure has left the window: four remain, one more try.
        assert_eq!(lockout.check_at(&id, start + WINDOW), Ok(()));
        assert_eq!(lockout.fail_at(&id, start + WINDOW), Ok(()));
        assert_eq!(lockout.check_at(&id, start + WINDOW), Err(1));
    }

    #[test]
    fn a_success_leaves_nothing_behind() {
        let lockout = Lockout::default();
        let id = key("demo-phr", None);
        assert_eq!(
            lockout.attempt("demo-phr", Peer(None), || Ok::<_, ()>(())),
            Ok(Ok(()))
        );
        assert!(lockout.lock().get(&id).is_none());
        assert_eq!(
            lockout.attempt("demo-phr", Peer(None), || Err::<(), _>(())),
            Ok(Err(()))
        );
        assert_eq!(lockout.lock().get(&id).map(|e| e.failures.len()), Some(1));
    }

    // Review of the lock-out: the check and the count of a failure were two
    // steps, so attempts made at once all passed the check.
    #[test]
    fn attempts_made_at_once_check_at_most_five_credentials() {
        let lockout = Lockout::default();
        let checked = std::sync::atomic::AtomicUsize::new(0);
        let refused = std::sync::atomic::AtomicUsize::new(0);
        let start = std::sync::Barrier::new(40);
        std::thread::scope(|scope| {
            for _ in 0..40 {
                scope.spawn(|| {
                    start.wait();
                    let outcome = lockout.attempt("demo-phr", Peer(None), || {
                        checked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        // A slow check of wrong credentials.
                        std::thread::sleep(Duration::from_millis(20));
                        Err::<(), _>("wrong")
                    });
                    if outcome.is_err() {
                        refused.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                });
            }
        });
        assert_eq!(checked.into_inner(), MAX_FAILURES);
        assert_eq!(refused.into_inner(), 40 - MAX_FAILURES);
        assert!(lockout
            .check_at(&key("demo-phr", None), Instant::now())
            .is_err());
    }

    #[test]
    fn a_place_is_given_back_when_the_check_panics() {
        let lockout = Lockout::default();
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = lockout.attempt("demo-phr", Peer(None), || -> Result<(), ()> {
                panic!("the check failed")
            });
        }));
        assert!(panicked.is_err());
        let entries = lockout.lock();
        let entry = entries.get(&key("demo-phr", None)).expect("counted");
        assert_eq!((entry.checking, entry.failures.len()), (0, 1));
    }

    #[test]
    fn ids_and_peers_are_counted_apart() {
        let lockout = Lockout::default();
        let now = Instant::now();
        let attacked = key("demo-phr", Some([10, 0, 0, 1]));
        for _ in 0..MAX_FAILURES {
            assert_eq!(lockout.fail_at(&attacked, now), Ok(()));
        }
        assert!(lockout.check_at(&attacked, now).is_err());
        assert_eq!(
            lockout.check_at(&key("demo-phr", Some([10, 0, 0, 2])), now),
            Ok(())
        );
        assert_eq!(
            lockout.check_at(&key("other", Some([10, 0, 0, 1])), now),
            Ok(())
        );
    }

    #[test]
    fn made_up_ids_cannot_grow_the_map_without_bound() {
        let lockout = Lockout::default();
        let now = Instant::now();
        for i in 0..MAX_TRACKED + 100 {
            assert_eq!(
                lockout.fail_at(&key(&format!("made-up-{i}"), None), now),
                Ok(())
            );
        }
        assert!(lockout.lock().len() <= MAX_TRACKED);
        // Once the window has passed, a new failure sweeps the old ones.
        assert_eq!(lockout.fail_at(&key("late", None), now + WINDOW), Ok(()));
        assert_eq!(lockout.lock().len(), 1);
    }

    // Review of the lock-out: a flood of made-up ids evicted the entry with
    // the oldest failure, which could be a guesser's lock-out on a real id.
    #[test]
    fn made_up_ids_cannot_evict_a_lock_out() {
        let lockout = Lockout::default();
        let start = Instant::now();
        let attacked = key("demo-phr", Some([10, 0, 0, 1]));
        for _ in 0..MAX_FAILURES {
            assert_eq!(lockout.fail_at(&attacked, start), Ok(()));
        }
        let later = start + Duration::from_secs(1);
        for i in 0..MAX_TRACKED + 100 {
            let made_up = key(&format!("made-up-{i}"), Some([10, 0, 0, 1]));
            assert_eq!(lockout.fail_at(&made_up, later), Ok(()));
        }
        assert_eq!(lockout.check_at(&attacked, later), Err(59));
        assert!(lockout.lock().len() <= MAX_TRACKED);
    }

    #[test]
    fn when_every_entry_is_a_lock_out_the_one_lifting_soonest_goes() {
        let lockout = Lockout::default();
        let start = Instant::now();
        for i in 0..MAX_TRACKED {
            let at = start + Duration::from_millis(u64::try_from(i).expect("small"));
            let locked = key(&format!("locked-{i}"), None);
            for _ in 0..MAX_FAILURES {
                assert_eq!(lockout.fail_at(&locked, at), Ok(()));
            }
        }
        let now = start + Duration::from_secs(20);
        assert_eq!(lockout.fail_at(&key("new", None), now), Ok(()));
        let entries = lockout.lock();
        assert!(!entries.contains_key(&key("locked-0", None)));
        assert!(entries.contains_key(&key("locked-1", None)));
        assert!(entries.contains_key(&key("new", None)));
    }
}
