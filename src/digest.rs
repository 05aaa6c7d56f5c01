//! SHA-256 in lowercase hex and RFC 8785 canonical JSON: the digest of
//! receipts and requests. A leaf, so that the domain modules share it
//! without importing one another.

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// SHA-256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// SHA-256 of `text`, lowercase hex, by the browser's SubtleCrypto, which
/// the browser modules use instead of `sha2`: `None` where there is none
/// (not a secure context) or it fails.
#[cfg(feature = "browser")]
pub async fn subtle_sha256_hex(text: &str) -> Option<String> {
    let subtle = web_sys::window()?.crypto().ok()?.subtle();
    let promise = subtle
        .digest_with_str_and_u8_array("SHA-256", text.as_bytes())
        .ok()?;
    let buffer = wasm_bindgen_futures::JsFuture::from(promise).await.ok()?;
    Some(hex(&js_sys::Uint8Array::new(&buffer).to_vec()))
}

/// `bytes` in lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// `value` as canonical JSON (RFC 8785, JCS): object members sorted by
/// their UTF-16 code units, no whitespace, strings escaped as ECMAScript's
/// `JSON.stringify` does. Requests and receipts hold only strings,
/// booleans, integers and nestings of them; a number that is not an integer
/// within ±2^53 gives `None` rather than a form another canonicaliser might
/// not reproduce. Written here rather than taken from a crate because the
/// general one needs exact float formatting, which costs the browser
/// package ~40 KB gzip; the tests cross-check it against
/// `serde_json_canonicalizer`.
pub fn canonical_json(value: &impl Serialize) -> Option<String> {
    canonical_value(&serde_json::to_value(value).ok()?)
}

/// [`canonical_json`] of a JSON value as it is (a receipt as the backend
/// answered it), without serialising it again.
pub fn canonical_value(value: &Value) -> Option<String> {
    let mut out = String::new();
    write_value(&mut out, value)?;
    Some(out)
}

fn write_value(out: &mut String, value: &Value) -> Option<()> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(number) => {
            const SAFE: u64 = 1 << 53;
            if let Some(n) = number.as_u64() {
                (n <= SAFE).then_some(())?;
                let _ = write!(out, "{n}");
            } else if let Some(n) = number.as_i64() {
                (n.unsigned_abs() <= SAFE).then_some(())?;
                let _ = write!(out, "{n}");
            } else {
                return None;
            }
        }
        Value::String(text) => write_string(out, text),
        Value::Array(values) => {
            out.push('[');
            for (i, value) in values.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, value)?;
            }
            out.push(']');
        }
        Value::Object(members) => {
            let mut sorted: Vec<(&String, &Value)> = members.iter().collect();
            sorted.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, (key, value)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, key);
                out.push(':');
                write_value(out, value)?;
            }
            out.push('}');
        }
    }
    Some(())
}

fn write_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c < ' ' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
