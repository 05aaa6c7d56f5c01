//! Random values, their SHA-256 hashes and constant-time comparison: what the
//! authority hands out (codes, tokens, request_uris, form tokens) is stored
//! only as a hash, so a copy of the database file grants nothing. Also the
//! keyed derivation of a refresh token's successor, which lets a lost
//! rotation answer be given again without keeping the token itself.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;

/// A value handed to a client or a browser once and kept only as a hash.
/// Its `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(String);

impl Secret {
    /// 256 random bits from the operating system's CSPRNG (through
    /// `rand::rng()`, which is reseeded from it), base64url without padding.
    pub(crate) fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The value, to put in a response.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// The hash that the database keeps.
    pub(crate) fn hash(&self) -> String {
        hash(&self.0)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// The key that derives a refresh token's successor: 32 random bytes made at
/// first start and kept in the authority's database. Its `Debug` never
/// prints it.
pub(crate) struct SuccessorKey(ring::hmac::Key);

impl SuccessorKey {
    /// A key from its stored bytes.
    pub(crate) fn new(bytes: &[u8]) -> Self {
        Self(ring::hmac::Key::new(ring::hmac::HMAC_SHA256, bytes))
    }

    /// The refresh token that rotation hands out for `presented`:
    /// base64url(HMAC-SHA256(key, "refresh-successor" || presented)). The
    /// same presented token always has the same successor, so the answer
    /// to a retried rotation can be given again although only hashes are
    /// stored; without the key, nobody can compute it.
    pub(crate) fn successor(&self, presented: &str) -> Secret {
        let mut context = ring::hmac::Context::with_key(&self.0);
        context.update(b"refresh-successor");
        context.update(presented.as_bytes());
        Secret(URL_SAFE_NO_PAD.encode(context.sign().as_ref()))
    }
}

impl fmt::Debug for SuccessorKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SuccessorKey([redacted])")
    }
}

/// 32 random bytes from the operating system's CSPRNG, for a new key.
pub(crate) fn random_key() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

/// A random identifier that is not a secret (grant and retrieval ids):
/// 128 bits, base64url.
pub(crate) fn random_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256 of `value`, lowercase hex.
pub(crate) fn hash(value: &str) -> String {
    let digest = Sha256::digest(value.as_bytes());
    let mut out = String::with_capacity(64);
    for byte in digest {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// Whether two secrets are equal, in time that depends on neither: both are
/// hashed first, so even their lengths do not leak.
pub(crate) fn same(a: &str, b: &str) -> bool {
    let a = Sha256::digest(a.as_bytes());
    let b = Sha256::digest(b.as_bytes());
    a.ct_eq(&b).into()
}

/// The PKCE S256 challenge of a verifier (RFC 7636 §4.2).
pub(crate) fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Whether `value` is 43–128 characters of the unreserved set, the shape of
/// a PKCE verifier (RFC 7636 §4.1).
pub(crate) fn is_pkce_verifier(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Whether `value` is a base64url SHA-256 digest, the shape of an S256
/// challenge and of a JWK thumbprint (`dpop_jkt`).
pub(crate) fn is_sha256_base64url(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_256_bits_and_differ() {
        let a = Secret::generate();
        let b = Secret::generate();
        assert_eq!(a.expose().len(), 43);
        assert_ne!(a, b);
        assert_eq!(format!("{a:?}"), "Secret([redacted])");
    }

    #[test]
    fn s256_matches_rfc_7636_appendix_b() {
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn a_successor_depends_on_the_key_and_the_presented_token() {
        let key = SuccessorKey::new(&[7; 32]);
        let first = key.successor("token-a");
        assert_eq!(first, key.successor("token-a"));
        assert_eq!(first.expose().len(), 43);
        assert_ne!(first, key.successor("token-b"));
        assert_ne!(first, SuccessorKey::new(&[8; 32]).successor("token-a"));
        assert_eq!(format!("{key:?}"), "SuccessorKey([redacted])");
    }

    #[test]
    fn compares_secrets() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "abcd"));
    }
}
