//! DPoP proofs (RFC 9449): the checks a `DPoP` request header must pass at
//! PAR, the token endpoint and the retrieval API, the memory of used `jti`s,
//! and the JWK thumbprint (RFC 7638) of the proof's key, the `jkt` that
//! bound tokens and codes carry.
//!
//! A proof is a compact JWS with `typ` `dpop+jwt`, signed ES256 by the public
//! EC P-256 key in its own `jwk` header, whose claims name the request
//! (`htm`, `htu`), its time (`iat`), a one-time `jti` and, at a resource, the
//! hash of the access token (`ath`). `iat` is compared with the machine's
//! real time, not the injected clock: the sandbox's tests move the domain
//! clock by days, while a client signs its proofs with the time of its
//! machine.
//!
//! Checking a proof ([`check`]) and remembering its `jti`
//! ([`Proof::remember`]) are two steps on purpose: the caller remembers only
//! once everything else about the request has passed (the client, the
//! proof's key against the token's, the token itself, the rate limit), so
//! that a proof refused for any other reason takes no room in the memory.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::HeaderMap;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::config::Jwk;
use crate::jws::CompactJws;

/// The request header that carries a proof.
const HEADER: &str = "dpop";
/// The `typ` of a proof (RFC 9449 §4.2).
const TYP: &str = "dpop+jwt";
/// How far `iat` may be from the authority's real time, either way.
const IAT_WINDOW_SECONDS: i64 = 60;
/// The most `jti`s remembered at once. A `jti` is remembered only for a
/// request that passed every other check, so each costs an accepted,
/// rate-limited request; the cap is a last guard, and when it is reached
/// proofs are refused, never forgotten early.
const MAX_REMEMBERED: usize = 100_000;
/// The most `jti`s remembered at once for one key, so that one key cannot
/// fill the memory for everyone. A proof is remembered until its `iat` is
/// 60 s past, so an honest key reaches this only above about 16 accepted
/// requests a second, sustained: far above any client's `tps` in the
/// sandbox.
const MAX_REMEMBERED_PER_KEY: usize = 1_000;

/// Why a proof was refused; the text is the `error_description` of
/// `invalid_dpop_proof`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DpopError {
    /// No `DPoP` header where one is required.
    #[error("a DPoP proof is required")]
    Missing,
    /// More than one `DPoP` header (RFC 9449 §4.3).
    #[error("send one DPoP header, not several")]
    Repeated,
    /// Not a compact JWS of JSON parts.
    #[error("the DPoP proof is not a well-formed JWT")]
    Malformed,
    /// `typ` is not `dpop+jwt`.
    #[error("the DPoP proof's typ must be dpop+jwt")]
    Typ,
    /// `alg` is not `ES256`.
    #[error("the DPoP proof must be signed ES256")]
    Alg,
    /// `jwk` is missing or is not an EC P-256 public key.
    #[error("the DPoP proof's jwk must be an EC P-256 public key with x and y")]
    Jwk,
    /// `jwk` holds the private key.
    #[error("the DPoP proof's jwk must not contain a private key (d)")]
    PrivateKey,
    /// The signature does not verify with `jwk`.
    #[error("the DPoP proof's signature does not verify with its jwk")]
    Signature,
    /// `htm` is not the request's method.
    #[error("the DPoP proof's htm must be {0}")]
    Htm(String),
    /// `htu` is not the request's URL.
    #[error("the DPoP proof's htu must be {0}")]
    Htu(String),
    /// `iat` is missing or too far from now.
    #[error(
        "the DPoP proof's iat must be within {IAT_WINDOW_SECONDS} seconds of the current time"
    )]
    Iat,
    /// `jti` is missing.
    #[error("the DPoP proof needs a jti")]
    Jti,
    /// The `jti` was seen before.
    #[error("the DPoP proof was already used (jti)")]
    Replayed,
    /// `ath` is not the hash of the access token.
    #[error("the DPoP proof's ath must be the base64url SHA-256 of the access token")]
    Ath,
    /// The proof's key is not the key the token is bound to.
    #[error("the DPoP proof is not made with the key the token is bound to")]
    OtherKey,
    /// At the code exchange, the proof's key is not the key the code was
    /// bound to at PAR.
    #[error("the DPoP proof is not made with the key the code was bound to at PAR")]
    NotCodeKey,
    /// At PAR, `dpop_jkt` names another key than the proof's.
    #[error("dpop_jkt is not the thumbprint of the DPoP proof's key")]
    NotDpopJkt,
    /// The replay memory, or this key's share of it, is full.
    #[error("too many DPoP proofs at once; retry shortly")]
    Busy,
}

/// The request a proof must have been made for.
pub(crate) struct Target<'a> {
    /// `htm`: the HTTP method.
    pub(crate) method: &'a str,
    /// `htu`: the URL, compared without query and fragment.
    pub(crate) url: &'a str,
    /// At a resource, the access token the request carries: the proof's
    /// `ath` must be its hash.
    pub(crate) access_token: Option<&'a str>,
}

/// The JWK SHA-256 thumbprint (RFC 7638) of a proof's key, base64url: the
/// `jkt` a bound token is recorded with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Thumbprint(String);

impl Thumbprint {
    /// The thumbprint, as stored.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// A proof that passed every check but the replay check: its key's
/// thumbprint, and the `jti` to remember once the request it came with has
/// passed every other check too.
#[derive(Debug)]
#[must_use = "a proof is accepted only once its jti is remembered"]
pub(crate) struct Proof {
    thumbprint: Thumbprint,
    jti: String,
    iat: i64,
}

impl Proof {
    /// The thumbprint of the proof's key.
    pub(crate) fn thumbprint(&self) -> &Thumbprint {
        &self.thumbprint
    }

    /// Records the proof's `jti`: the last check, `Err(Replayed)` when the
    /// proof was used before, `Err(Busy)` when the memory is full.
    pub(crate) fn remember(&self, seen: &SeenProofs) -> Result<(), DpopError> {
        seen.remember(&self.thumbprint, &self.jti, self.iat, unix_now())
    }
}

/// The `jti`s of accepted proofs by key, until their `iat` leaves the
/// window.
#[derive(Default)]
pub(crate) struct SeenProofs {
    seen: Mutex<Seen>,
}

#[derive(Default)]
struct Seen {
    /// Thumbprint → SHA-256 of the `jti` → the Unix second after which the
    /// proof is refused by its `iat` anyway.
    by_key: HashMap<String, HashMap<[u8; 32], i64>>,
    /// How many `jti`s `by_key` holds in all.
    total: usize,
}

impl SeenProofs {
    /// Records a proof; `Err(Replayed)` when it was seen before, `Err(Busy)`
    /// when the memory or the key's share of it is full of proofs still in
    /// their window.
    fn remember(&self, jkt: &Thumbprint, jti: &str, iat: i64, now: i64) -> Result<(), DpopError> {
        let jti: [u8; 32] = Sha256::digest(jti.as_bytes()).into();
        let mut guard = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let seen = &mut *guard;
        if seen
            .by_key
            .get(jkt.as_str())
            .is_some_and(|jtis| jtis.contains_key(&jti))
        {
            return Err(DpopError::Replayed);
        }
        if seen.total >= MAX_REMEMBERED {
            seen.by_key.retain(|_, jtis| {
                jtis.retain(|_, until| *until >= now);
                !jtis.is_empty()
            });
            seen.total = seen.by_key.values().map(HashMap::len).sum();
            if seen.total >= MAX_REMEMBERED {
                return Err(DpopError::Busy);
            }
        }
        let jtis = seen.by_key.entry(jkt.as_str().to_owned()).or_default();
        if jtis.len() >= MAX_REMEMBERED_PER_KEY {
            let before = jtis.len();
            jtis.retain(|_, until| *until >= now);
            seen.total -= before - jtis.len();
            if jtis.len() >= MAX_REMEMBERED_PER_KEY {
                return Err(DpopError::Busy);
            }
        }
        jtis.insert(jti, iat.saturating_add(IAT_WINDOW_SECONDS));
        seen.total += 1;
        Ok(())
    }
}

/// The request's proof: `None` without a `DPoP` header, `Err` with several.
pub(crate) fn proof_header(headers: &HeaderMap) -> Result<Option<&str>, DpopError> {
    let mut values = headers.get_all(HEADER).iter();
    let first = values.next();
    if values.next().is_some() {
        return Err(DpopError::Repeated);
    }
    first
        .map(|value| value.to_str().map_err(|_| DpopError::Malformed))
        .transpose()
}

/// Checks `proof` for `target`: everything but whether it was used before,
/// which [`Proof::remember`] checks once the rest of the request has passed.
pub(crate) fn check(proof: &str, target: &Target<'_>) -> Result<Proof, DpopError> {
    let jws = CompactJws::parse(proof).ok_or(DpopError::Malformed)?;
    if jws.header_str("typ") != Some(TYP) {
        return Err(DpopError::Typ);
    }
    if !jws.is_es256() {
        return Err(DpopError::Alg);
    }
    let jwk = jws.header.get("jwk").ok_or(DpopError::Jwk)?;
    if jwk.get("d").is_some() {
        return Err(DpopError::PrivateKey);
    }
    let jwk: Jwk = serde_json::from_value(jwk.clone()).map_err(|_| DpopError::Jwk)?;
    let point = jwk.p256_point().ok_or(DpopError::Jwk)?;
    if !jws.verifies_with(&point) {
        return Err(DpopError::Signature);
    }
    if jws.claim_str("htm") != Some(target.method) {
        return Err(DpopError::Htm(target.method.to_owned()));
    }
    let expected = without_query(target.url);
    if jws.claim_str("htu").and_then(without_query) != expected || expected.is_none() {
        return Err(DpopError::Htu(target.url.to_owned()));
    }
    let iat = jws
        .claim("iat")
        .and_then(Value::as_i64)
        .filter(|iat| within_window(*iat, unix_now()))
        .ok_or(DpopError::Iat)?;
    let jti = jws
        .claim_str("jti")
        .filter(|jti| !jti.is_empty())
        .ok_or(DpopError::Jti)?;
    if let Some(token) = target.access_token {
        if jws.claim_str("ath") != Some(access_token_hash(token).as_str()) {
            return Err(DpopError::Ath);
        }
    }
    Ok(Proof {
        thumbprint: thumbprint(&jwk).ok_or(DpopError::Jwk)?,
        jti: jti.to_owned(),
        iat,
    })
}

/// Whether `iat` is within the window around `now`. `abs_diff`, because
/// `iat` is whatever a client wrote: `iat - now` overflows for one near
/// `i64::MIN` or `i64::MAX`.
fn within_window(iat: i64, now: i64) -> bool {
    iat.abs_diff(now) <= IAT_WINDOW_SECONDS.unsigned_abs()
}

/// `ath`: base64url SHA-256 of the access token (RFC 9449 §4.2).
fn access_token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// RFC 7638: SHA-256 over the required members in lexicographic order,
/// without whitespace. The members were checked by `Jwk::p256_point`
/// (`EC`, `P-256`, base64url coordinates), so none needs escaping.
fn thumbprint(jwk: &Jwk) -> Option<Thumbprint> {
    let canonical = format!(
        r#"{{"crv":"{}","kty":"{}","x":"{}","y":"{}"}}"#,
        jwk.crv.as_deref()?,
        jwk.kty,
        jwk.x.as_deref()?,
        jwk.y.as_deref()?,
    );
    Some(Thumbprint(
        URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())),
    ))
}

/// A URL as `htu` is compared (RFC 9449 §4.3): parsed, so that case and
/// default ports do not matter, without query and fragment.
fn without_query(url: &str) -> Option<url::Url> {
    let mut url = url::Url::parse(url).ok()?;
    url.set_query(None);
    url.set_fragment(None);
    Some(url)
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprint_matches_the_jkt_of_rfc_9449s_example_key() {
        // The key of RFC 9449 §4.1's example proof and the `jkt` its §6.1
        // gives for it.
        let jwk = Jwk {
            kty: "EC".into(),
            crv: Some("P-256".into()),
            kid: None,
            x: Some("l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs".into()),
            y: Some("9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA".into()),
        };
        assert_eq!(
            thumbprint(&jwk).map(|t| t.0).as_deref(),
            Some("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I")
        );
    }

    #[test]
    fn htu_ignores_query_fragment_and_default_port() {
        assert_eq!(
            without_query("HTTP://Localhost:80/token?x=1#f"),
            without_query("http://localhost/token")
        );
        assert_ne!(
            without_query("http://localhost/token/"),
            without_query("http://localhost/token")
        );
    }

    // Review of DPoP: `(iat - now).abs()` overflowed for an extreme iat.
    #[test]
    fn an_extreme_iat_is_outside_the_window_without_overflow() {
        for now in [0, 1_700_000_000, i64::MAX, i64::MIN] {
            assert!(!within_window(i64::MIN, now) || now == i64::MIN, "{now}");
            assert!(!within_window(i64::MAX, now) || now == i64::MAX, "{now}");
        }
        assert!(within_window(i64::MAX, i64::MAX - IAT_WINDOW_SECONDS));
        assert!(within_window(100, 100 + IAT_WINDOW_SECONDS));
        assert!(!within_window(100, 101 + IAT_WINDOW_SECONDS));
    }

    // Review of DPoP: one key's proofs could fill the whole memory, after
    // which every DPoP request was refused.
    #[test]
    fn one_key_cannot_fill_the_memory() {
        let seen = SeenProofs::default();
        let greedy = Thumbprint("greedy".into());
        for i in 0..MAX_REMEMBERED_PER_KEY {
            assert_eq!(seen.remember(&greedy, &format!("j{i}"), 100, 100), Ok(()));
        }
        assert_eq!(
            seen.remember(&greedy, "one-more", 100, 100),
            Err(DpopError::Busy)
        );
        assert_eq!(
            seen.remember(&Thumbprint("honest".into()), "j", 100, 100),
            Ok(())
        );
        // Once its proofs have left the window, the key has room again.
        assert_eq!(seen.remember(&greedy, "later", 300, 300), Ok(()));
        assert_eq!(seen.seen.lock().expect("lock").total, 2);
    }

    #[test]
    fn a_full_memory_forgets_proofs_past_their_window_first() {
        let seen = SeenProofs::default();
        for key in 0..MAX_REMEMBERED / MAX_REMEMBERED_PER_KEY {
            let key = Thumbprint(format!("k{key}"));
            for i in 0..MAX_REMEMBERED_PER_KEY {
                assert_eq!(seen.remember(&key, &format!("j{i}"), 100, 100), Ok(()));
            }
        }
        let late = Thumbprint("late".into());
        assert_eq!(seen.remember(&late, "j", 100, 100), Err(DpopError::Busy));
        assert_eq!(seen.remember(&late, "j", 300, 300), Ok(()));
        assert_eq!(seen.seen.lock().expect("lock").total, 1);
    }

    #[test]
    fn a_jti_is_accepted_once_per_key() {
        let seen = SeenProofs::default();
        let key = Thumbprint("k".into());
        assert_eq!(seen.remember(&key, "j", 100, 100), Ok(()));
        assert_eq!(seen.remember(&key, "j", 100, 100), Err(DpopError::Replayed));
        assert_eq!(
            seen.remember(&Thumbprint("other".into()), "j", 100, 100),
            Ok(())
        );
    }
}
