//! The per-client token bucket over `/par`, `/token`, `/revoke` and
//! `/retrievals`.
//!
//! The bucket runs on the machine's monotonic clock, not the injected one:
//! it guards against real load, and a test that moves the domain clock by
//! days must not refill or drain it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Token buckets by client id.
#[derive(Default)]
pub(crate) struct RateLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

impl RateLimiter {
    /// Takes one token from the client's bucket, which holds `tps` tokens
    /// and refills at `tps` per second. `Err` carries `Retry-After`, in whole
    /// seconds (at least 1).
    pub(crate) fn check(&self, client_id: &str, tps: u32) -> Result<(), u64> {
        let tps = f64::from(tps.max(1));
        let now = Instant::now();
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let bucket = buckets.entry(client_id.to_owned()).or_insert(Bucket {
            tokens: tps,
            last: now,
        });
        let elapsed = now.duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * tps).min(tps);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / tps;
            // Whole seconds, rounded up: a client that waits that long is
            // sure to get through.
            Err(wait.ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lets_a_burst_of_tps_through_then_refuses() {
        let limiter = RateLimiter::default();
        for _ in 0..3 {
            assert!(limiter.check("a", 3).is_ok());
        }
        assert_eq!(limiter.check("a", 3), Err(1));
        // Another client has its own bucket.
        assert!(limiter.check("b", 3).is_ok());
    }
}
