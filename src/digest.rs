//! SHA-256 in lowercase hex: the digest of receipts and requests. A leaf,
//! so that the domain modules share it without importing one another.

use sha2::{Digest, Sha256};

/// SHA-256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}
