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

/// Recent failed authentications by claimed client id and peer address.
#[derive(Default)]
pub(crate) struct Lockout {
    failures: Mutex<HashMap<Key, VecDeque<Instant>>>,
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
    /// `Err` with `Retry-After` in whole seconds (at least 1) while
    /// `client_id` is locked out for `peer`.
    pub(crate) fn check(&self, client_id: &str, peer: Peer) -> Result<(), u64> {
        self.check_at(&Key::new(client_id, peer), Instant::now())
    }

    /// Counts one failed authentication of `client_id` from `peer`.
    pub(crate) fn record_failure(&self, client_id: &str, peer: Peer) {
        self.record_failure_at(Key::new(client_id, peer), Instant::now());
    }

    fn check_at(&self, key: &Key, now: Instant) -> Result<(), u64> {
        let mut failures = self.lock();
        let Some(times) = failures.get_mut(key) else {
            return Ok(());
        };
        forget_old(times, now);
        if times.is_empty() {
            failures.remove(key);
            return Ok(());
        }
        if times.len() < MAX_FAILURES {
            return Ok(());
        }
        // The lock lifts when the oldest counted failure leaves the window.
        let frees_at = times[times.len() - MAX_FAILURES] + WINDOW;
        let wait = frees_at.saturating_duration_since(now).as_secs_f64();
        // Whole seconds, rounded up: a client that waits that long is sure
        // to be let in.
        Err(wait.ceil().max(1.0) as u64)
    }

    fn record_failure_at(&self, key: Key, now: Instant) {
        let mut failures = self.lock();
        if !failures.contains_key(&key) && failures.len() >= MAX_TRACKED {
            failures.retain(|_, times| {
                forget_old(times, now);
                !times.is_empty()
            });
            if failures.len() >= MAX_TRACKED {
                // Still full of live entries: the one whose last failure is
                // oldest is the least likely to matter.
                let stalest = failures
                    .iter()
                    .min_by_key(|(_, times)| times.back().copied())
                    .map(|(key, _)| key.clone());
                if let Some(stalest) = stalest {
                    failures.remove(&stalest);
                }
            }
        }
        let times = failures.entry(key).or_default();
        forget_old(times, now);
        times.push_back(now);
        // Only the newest MAX_FAILURES decide when a lock lifts.
        while times.len() > MAX_FAILURES {
            times.pop_front();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, VecDeque<Instant>>> {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
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

    #[test]
    fn five_failures_lock_an_id_until_the_oldest_leaves_the_window() {
        let lockout = Lockout::default();
        let start = Instant::now();
        let id = key("demo-phr", None);
        for second in 0..4 {
            lockout.record_failure_at(id.clone(), start + Duration::from_secs(second));
            assert_eq!(
                lockout.check_at(&id, start + Duration::from_secs(second)),
                Ok(())
            );
        }
        lockout.record_failure_at(id.clone(), start + Duration::from_secs(10));
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
        lockout.record_failure_at(id.clone(), start + WINDOW);
        assert_eq!(lockout.check_at(&id, start + WINDOW), Err(1));
    }

    #[test]
    fn ids_and_peers_are_counted_apart() {
        let lockout = Lockout::default();
        let now = Instant::now();
        let attacked = key("demo-phr", Some([10, 0, 0, 1]));
        for _ in 0..MAX_FAILURES {
            lockout.record_failure_at(attacked.clone(), now);
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
            lockout.record_failure_at(key(&format!("made-up-{i}"), None), now);
        }
        assert!(lockout.lock().len() <= MAX_TRACKED);
        // Once the window has passed, a new failure sweeps the old ones.
        lockout.record_failure_at(key("late", None), now + WINDOW);
        assert_eq!(lockout.lock().len(), 1);
    }
}
