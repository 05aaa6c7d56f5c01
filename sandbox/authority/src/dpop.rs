//! DPoP proofs (RFC 9449): the checks a `DPoP` request header must pass at
//! the token endpoint and at the retrieval API, and the JWK thumbprint
//! (RFC 7638) of the proof's key, the `jkt` that bound tokens carry.
//!
//! A proof is a compact JWS with `typ` `dpop+jwt`, signed ES256 by the public
//! EC P-256 key in its own `jwk` header, whose claims name the request
//! (`htm`, `htu`), its time (`iat`), a one-time `jti` and, at a resource, the
//! hash of the access token (`ath`). `iat` is compared with the machine's
//! real time, not the injected clock: the sandbox's tests move the domain
//! clock by days, while a client signs its proofs with the time of its
//! machine.

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
/// The most `jti`s remembered at once. Proofs are checked only after the
/// client or the access token is, so each costs a rate-limited request; the
/// cap is a last guard, and when it is reached proofs are refused, never
/// forgotten early.
const MAX_REMEMBERED: usize = 100_000;

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
    /// The replay memory is full.
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

/// The `jti`s of accepted proofs, until their `iat` leaves the window.
#[derive(Default)]
pub(crate) struct SeenProofs {
    /// SHA-256 of (thumbprint, jti) → the Unix second after which the
    /// proof is refused by its `iat` anyway.
    seen: Mutex<HashMap<[u8; 32], i64>>,
}

impl SeenProofs {
    /// Records a proof; `Err(Replayed)` when it was seen before.
    fn remember(&self, jkt: &Thumbprint, jti: &str, iat: i64, now: i64) -> Result<(), DpopError> {
        let mut hasher = Sha256::new();
        hasher.update(jkt.as_str().as_bytes());
        hasher.update([0]);
        hasher.update(jti.as_bytes());
        let key: [u8; 32] = hasher.finalize().into();
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.contains_key(&key) {
            return Err(DpopError::Replayed);
        }
        if seen.len() >= MAX_REMEMBERED {
            seen.retain(|_, until| *until >= now);
            if seen.len() >= MAX_REMEMBERED {
                return Err(DpopError::Busy);
            }
        }
        seen.insert(key, iat + IAT_WINDOW_SECONDS);
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

/// Checks `proof` for `target` and answers its key's thumbprint.
pub(crate) fn check(
    proof: &str,
    target: &Target<'_>,
    seen: &SeenProofs,
) -> Result<Thumbprint, DpopError> {
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
    let now = unix_now();
    let iat = jws
        .claim("iat")
        .and_then(Value::as_i64)
        .filter(|iat| (iat - now).abs() <= IAT_WINDOW_SECONDS)
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
    let thumbprint = thumbprint(&jwk).ok_or(DpopError::Jwk)?;
    seen.remember(&thumbprint, jti, iat, now)?;
    Ok(thumbprint)
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
