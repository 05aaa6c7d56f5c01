//! Signed receipts. Every receipt document the backend issues carries a
//! compact JWS (ES256) whose payload is the receipt's RFC 8785 bytes, the
//! very bytes its `sha256` is computed from. A citizen, a regulator or a
//! court can then check with a standard JOSE library, and the key published
//! at `{backend}/receipts/jwks.json`, that this operator issued the receipt
//! and that nothing in it changed (`docs/receipts.md`).
//!
//! The signing keys are derived (HKDF-SHA256) from the sealing key ring: one
//! P-256 key per ring key, the active one signing. Every instance that
//! shares the ring signs alike, no new secret has to be deployed, and a
//! receipt stays verifiable as long as its ring key is kept (a rotation
//! keeps the old keys in the JWKS).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey};
use myna_consent::consent::Receipt;
use myna_consent::digest;
use p256::pkcs8::EncodePrivateKey as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::seal::KeyRing;

/// What the derivation is for: another purpose gets other keys.
const PURPOSE: &[u8] = b"myna-operator receipt signing key, ES256, v1";

/// One signing key: its id (the RFC 7638 thumbprint), the key, and its
/// public JWK.
#[derive(Clone)]
struct SigningKey {
    kid: String,
    key: EncodingKey,
    jwk: Value,
}

/// The receipt signer of one backend. Its `Debug` prints the key ids only.
#[derive(Clone)]
pub struct ReceiptSigner {
    keys: Vec<SigningKey>,
    active: usize,
}

impl std::fmt::Debug for ReceiptSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<&str> = self.keys.iter().map(|k| k.kid.as_str()).collect();
        write!(f, "ReceiptSigner({kids:?})")
    }
}

impl ReceiptSigner {
    /// The signer for `ring`.
    pub fn from_ring(ring: &KeyRing) -> Self {
        let mut keys = Vec::new();
        let mut active = 0;
        for (_, seed, is_active) in ring.derive(PURPOSE) {
            if is_active {
                active = keys.len();
            }
            keys.push(signing_key(seed));
        }
        Self { keys, active }
    }

    /// The receipt document `{receipt, sha256, jws}`: the receipt, the
    /// SHA-256 of its RFC 8785 form, and that form signed.
    pub fn document(&self, receipt: &Receipt) -> Value {
        let canonical = receipt.canonical_json();
        let key = &self.keys[self.active];
        let header =
            json!({ "alg": "ES256", "kid": key.kid, "typ": "myna-receipt+jws", "cty": "json" });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(&canonical)
        );
        // Signing with a valid P-256 key cannot fail; if it ever did, the
        // receipt is still issued, unsigned, rather than lost.
        let jws = jsonwebtoken::crypto::sign(signing_input.as_bytes(), &key.key, Algorithm::ES256)
            .map(|signature| format!("{signing_input}.{signature}"))
            .map_err(|error| tracing::error!(%error, "a receipt could not be signed"))
            .ok();
        let mut document = json!({
            "receipt": receipt,
            "sha256": digest::sha256_hex(canonical.as_bytes()),
        });
        if let Some(jws) = jws {
            document["jws"] = jws.into();
        }
        document
    }

    /// The public keys, as a JWK Set (RFC 7517).
    pub fn jwks(&self) -> Value {
        json!({ "keys": self.keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() })
    }
}

/// The P-256 key derived from `seed` (a seed outside the curve's order, one
/// chance in 2^128, is hashed again).
fn signing_key(seed: [u8; 32]) -> SigningKey {
    let mut candidate = seed;
    let secret = loop {
        match p256::SecretKey::from_slice(&candidate) {
            Ok(secret) => break secret,
            Err(_) => candidate = Sha256::digest(candidate).into(),
        }
    };
    let (mut jwk, kid) = crate::proof::p256_public_jwk(&secret);
    jwk["kid"] = kid.clone().into();
    jwk["use"] = "sig".into();
    jwk["alg"] = "ES256".into();
    let der = secret
        .to_pkcs8_der()
        .expect("a P-256 key always encodes as PKCS#8");
    let key = EncodingKey::from_ec_der(der.as_bytes());
    SigningKey { jwk, kid, key }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seal::RingKey;

    #[test]
    fn the_same_ring_signs_alike_and_rotation_keeps_old_keys() {
        let one = KeyRing::single(RingKey::new("2026-11", [7; 32]).unwrap());
        let (a, b) = (
            ReceiptSigner::from_ring(&one),
            ReceiptSigner::from_ring(&one),
        );
        assert_eq!(a.jwks(), b.jwks(), "two instances publish the same key");
        let rotated = KeyRing::new(
            vec![
                RingKey::new("2026-11", [7; 32]).unwrap(),
                RingKey::new("2026-12", [9; 32]).unwrap(),
            ],
            "2026-12",
        )
        .unwrap();
        let after = ReceiptSigner::from_ring(&rotated);
        let kids = |s: &ReceiptSigner| -> Vec<String> {
            s.jwks()["keys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k["kid"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(kids(&after).len(), 2);
        assert!(
            kids(&after).contains(&kids(&a)[0]),
            "the old key is still published"
        );
        assert_ne!(
            after.keys[after.active].kid,
            kids(&a)[0],
            "the new key signs"
        );
        assert!(format!("{after:?}").contains(&kids(&a)[0]));
    }
}
