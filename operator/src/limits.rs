//! Limits that keep anonymous callers from spending the operator's quota at
//! the authority: token buckets per citizen and per client address for new
//! authorizations, and the operator's own share of the authority's TPS, in
//! which calls for citizens who are already on their way (code exchange,
//! refresh, revocation, retrieval) come before new starts.
//!
//! The buckets live in this process; several instances each keep their own
//! (issue 10 moves them to the shared database).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use time::OffsetDateTime;

use crate::Clock;

/// A token bucket per key: `per_minute` tokens, refilled evenly over a
/// minute, read from the backend's clock (so tests count, not time).
pub struct Buckets {
    clock: Clock,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: OffsetDateTime,
}

impl Buckets {
    /// Empty buckets on `clock`.
    pub fn new(clock: Clock) -> Self {
        Self {
            clock,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token from `key`'s bucket of `per_minute`; when it is
    /// empty, answers the whole seconds until a token is back.
    pub fn take(&self, key: &str, per_minute: u32) -> Result<(), u64> {
        let now = (self.clock)();
        let capacity = f64::from(per_minute.max(1));
        let rate = capacity / 60.0;
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        let elapsed = (now - bucket.at).as_seconds_f64().max(0.0);
        bucket.tokens = (bucket.tokens + elapsed * rate).min(capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - bucket.tokens) / rate).ceil().max(1.0) as u64)
        }
    }

    /// Forgets buckets that are full again, so the map does not grow with
    /// every address that ever called.
    pub fn forget_full(&self, per_minute_of: impl Fn(&str) -> u32) {
        let now = (self.clock)();
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        buckets.retain(|key, bucket| {
            let capacity = f64::from(per_minute_of(key).max(1));
            let elapsed = (now - bucket.at).as_seconds_f64().max(0.0);
            bucket.tokens + elapsed * capacity / 60.0 < capacity
        });
    }
}

/// Which calls to the authority come first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// A new authorization (PAR): only while the budget has room to spare.
    Start,
    /// A citizen already on the way: code exchange, refresh, revocation,
    /// retrieval. Waits for its turn.
    Citizen,
}

/// The longest a citizen's call waits for room before it goes anyway (and
/// meets the authority's own limit, which the client retries).
const CITIZEN_WAIT: Duration = Duration::from_secs(5);

/// The operator's budget at the authority: `tps` calls a second, with a
/// burst of `tps`. New starts may take a token only while more than half
/// the burst is left; the rest is kept for citizens' calls. Real time, as
/// the authority counts. With several instances, each takes its share
/// ([`AuthorityBudget::share_among`]), so that the fleet together stays
/// under the authority's per-client limit.
pub struct AuthorityBudget {
    total: f64,
    state: Mutex<Share>,
}

struct Share {
    /// This instance's calls a second.
    tps: f64,
    tokens: f64,
    at: tokio::time::Instant,
}

impl AuthorityBudget {
    /// A full budget of `tps`.
    pub fn new(tps: u32) -> Self {
        let total = f64::from(tps.max(1));
        Self {
            total,
            state: Mutex::new(Share {
                tps: total,
                tokens: total,
                at: tokio::time::Instant::now(),
            }),
        }
    }

    /// Takes this instance's share when `instances` share the budget: the
    /// rate and the burst both shrink to the share (never below one call
    /// every ten seconds).
    pub fn share_among(&self, instances: usize) {
        let instances = instances.max(1) as f64;
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.tps = (self.total / instances).max(0.1);
        state.tokens = state.tokens.min(state.tps.max(1.0));
    }

    /// This instance's calls a second now.
    pub fn share(&self) -> f64 {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .tps
    }

    fn try_take(&self, priority: Priority) -> Result<(), Duration> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let now = tokio::time::Instant::now();
        let tps = state.tps;
        // The burst is the share, but at least one call.
        let burst = tps.max(1.0);
        let tokens = (state.tokens + now.duration_since(state.at).as_secs_f64() * tps).min(burst);
        // Starts leave half the burst (rounded up) to citizens; a share
        // smaller than two calls still lets a start through when full.
        let reserve = (burst / 2.0).ceil();
        let floor = match priority {
            Priority::Start => (reserve + 1.0).min(burst),
            Priority::Citizen => 1.0,
        };
        state.at = now;
        if tokens >= floor {
            state.tokens = tokens - 1.0;
            Ok(())
        } else {
            state.tokens = tokens;
            Err(Duration::from_secs_f64((floor - tokens) / tps))
        }
    }

    /// Takes room for one call of background work (a scheduled retrieval)
    /// if there is as much as a new start needs; `false` leaves it for the
    /// citizens on their way.
    pub fn try_background(&self) -> bool {
        self.try_take(Priority::Start).is_ok()
    }

    /// Takes room for one call. A start without room is refused at once
    /// with the seconds to wait; a citizen's call waits for room (at most
    /// [`CITIZEN_WAIT`], then goes anyway).
    pub async fn acquire(&self, priority: Priority) -> Result<(), u64> {
        let deadline = tokio::time::Instant::now() + CITIZEN_WAIT;
        loop {
            match self.try_take(priority) {
                Ok(()) => return Ok(()),
                Err(wait) if priority == Priority::Start => {
                    return Err(wait.as_secs_f64().ceil().max(1.0) as u64)
                }
                Err(wait) => {
                    if tokio::time::Instant::now() + wait > deadline {
                        return Ok(());
                    }
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::sync::Arc;

    #[test]
    fn a_bucket_lets_its_burst_through_then_refills_with_the_clock() {
        let offset = Arc::new(AtomicI64::new(0));
        let start = OffsetDateTime::now_utc();
        let clock: Clock = {
            let offset = offset.clone();
            Arc::new(move || start + time::Duration::seconds(offset.load(Ordering::SeqCst)))
        };
        let buckets = Buckets::new(clock);
        for _ in 0..3 {
            assert!(buckets.take("a", 3).is_ok());
        }
        assert_eq!(buckets.take("a", 3), Err(20));
        assert!(
            buckets.take("b", 3).is_ok(),
            "another key has its own bucket"
        );
        offset.store(20, Ordering::SeqCst);
        assert!(buckets.take("a", 3).is_ok());
        assert!(buckets.take("a", 3).is_err());
        offset.store(3600, Ordering::SeqCst);
        buckets.forget_full(|_| 3);
        assert!(buckets.buckets.lock().expect("lock").is_empty());
    }

    #[tokio::test]
    async fn starts_leave_room_for_citizens() {
        let budget = AuthorityBudget::new(5);
        // 5 tokens, 3 kept back: two starts pass, the third is refused.
        assert!(budget.acquire(Priority::Start).await.is_ok());
        assert!(budget.acquire(Priority::Start).await.is_ok());
        assert!(budget.acquire(Priority::Start).await.is_err());
        for _ in 0..3 {
            budget
                .try_take(Priority::Citizen)
                .expect("citizens use the reserve");
        }
        assert!(budget.try_take(Priority::Citizen).is_err());
    }

    #[tokio::test]
    async fn instances_share_the_budget() {
        let budget = AuthorityBudget::new(6);
        budget.share_among(3);
        assert!((budget.share() - 2.0).abs() < f64::EPSILON);
        // A burst of two: one start (one call kept for citizens), one more
        // citizen call, then nothing until the share refills.
        assert!(budget.try_take(Priority::Start).is_ok());
        assert!(budget.try_take(Priority::Start).is_err());
        assert!(budget.try_take(Priority::Citizen).is_ok());
        assert!(budget.try_take(Priority::Citizen).is_err());
        // Alone again: the whole budget comes back.
        budget.share_among(1);
        assert!((budget.share() - 6.0).abs() < f64::EPSILON);
        // A share under two calls still lets a start through when full.
        let small = AuthorityBudget::new(1);
        small.share_among(1);
        assert!(small.try_take(Priority::Start).is_ok());
    }
}
