//! Compact JWS (RFC 7515 §7.1) signed ES256, as client assertions and DPoP
//! proofs are: split and decode the three parts, and verify the signature
//! with an EC P-256 public key. The algorithm is fixed here, never taken from
//! the token, so `none` and HMAC tricks cannot apply.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_FIXED};
use serde_json::Value;

/// A compact JWS split into its parts, not yet verified.
pub(crate) struct CompactJws<'a> {
    signing_input: &'a str,
    /// The protected header.
    pub(crate) header: Value,
    /// The payload, a JSON object of claims.
    pub(crate) claims: Value,
    signature: Vec<u8>,
}

impl<'a> CompactJws<'a> {
    /// Splits and decodes a compact JWS; `None` when it is malformed.
    pub(crate) fn parse(jws: &'a str) -> Option<Self> {
        let (signing_input, signature) = jws.rsplit_once('.')?;
        let (header, claims) = signing_input.split_once('.')?;
        let decode = |part: &str| -> Option<Value> {
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).ok()?).ok()
        };
        Some(Self {
            signing_input,
            header: decode(header)?,
            claims: decode(claims)?,
            signature: URL_SAFE_NO_PAD.decode(signature).ok()?,
        })
    }

    /// A member of the header, as a string.
    pub(crate) fn header_str(&self, name: &str) -> Option<&str> {
        self.header.get(name).and_then(Value::as_str)
    }

    /// A claim.
    pub(crate) fn claim(&self, name: &str) -> Option<&Value> {
        self.claims.get(name)
    }

    /// A claim, as a string.
    pub(crate) fn claim_str(&self, name: &str) -> Option<&str> {
        self.claim(name).and_then(Value::as_str)
    }

    /// Whether the header says ES256, the only algorithm accepted.
    pub(crate) fn is_es256(&self) -> bool {
        self.header_str("alg") == Some("ES256")
    }

    /// Whether the signature verifies as ES256 with the uncompressed SEC1
    /// point `public_key` (`04 || x || y`).
    pub(crate) fn verifies_with(&self, public_key: &[u8]) -> bool {
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, public_key)
            .verify(self.signing_input.as_bytes(), &self.signature)
            .is_ok()
    }
}
