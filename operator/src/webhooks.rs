//! Revocation events to onward recipients: signed as the Standard Webhooks
//! specification says (`webhook-id`, `webhook-timestamp`,
//! `webhook-signature: v1,<HMAC-SHA256>`), written to the store in the same
//! transaction as the revocation (an outbox, so none is lost), and retried
//! with growing delays until the recipient answers 2xx.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};
use time::OffsetDateTime;

/// Where one recipient hears of revocations, and the key that signs them.
#[derive(Clone)]
pub struct WebhookTarget {
    url: String,
    key: Vec<u8>,
}

impl std::fmt::Debug for WebhookTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookTarget")
            .field("url", &self.url)
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// A webhook secret that is not `whsec_` + base64 of 24 to 64 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a webhook secret is whsec_ and base64 of 24 to 64 random bytes")]
pub struct InvalidSecret;

impl WebhookTarget {
    /// A target at `url` signing with `secret` (`whsec_` + base64 of 24 to
    /// 64 random bytes, as the specification recommends).
    pub fn new(url: &str, secret: &str) -> Result<Self, InvalidSecret> {
        let encoded = secret.strip_prefix("whsec_").ok_or(InvalidSecret)?;
        let key = STANDARD.decode(encoded).map_err(|_| InvalidSecret)?;
        if !(24..=64).contains(&key.len()) {
            return Err(InvalidSecret);
        }
        Ok(Self {
            url: url.to_owned(),
            key,
        })
    }

    /// The URL events go to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The `webhook-signature` value that signs `body` for delivery `id` at
    /// `timestamp` (Unix seconds of the real clock: the recipient checks it
    /// against its own, within five minutes).
    pub fn signature(&self, id: &str, timestamp: i64, body: &str) -> Result<String, String> {
        standardwebhooks::Webhook::from_bytes(self.key.clone())
            .and_then(|signer| signer.sign(id, timestamp, body.as_bytes()))
            .map_err(|e| e.to_string())
    }
}

/// Delays after the 1st, 2nd, … failed attempt; after the last one the
/// delivery is given up (and logged).
pub const RETRY_DELAYS: [Duration; 8] = [
    Duration::from_secs(10),
    Duration::from_secs(60),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(6 * 3600),
    Duration::from_secs(12 * 3600),
    Duration::from_secs(24 * 3600),
];

/// When to try again after `attempts` failed attempts, if at all.
pub fn next_attempt(attempts: u32, now: OffsetDateTime) -> Option<OffsetDateTime> {
    let delay = RETRY_DELAYS.get(usize::try_from(attempts.checked_sub(1)?).ok()?)?;
    Some(now + *delay)
}

/// What a revocation tells a recipient: which consent ended, when, which
/// items it covered, and who the operator is. No personal data beyond the
/// consent id the operator already shared with the data.
pub fn revocation_event(
    consent_id: &str,
    revoked_at: OffsetDateTime,
    items: &[String],
    operator_name: &str,
    operator_approval_id: &str,
    recipient_id: &str,
    receipt_id: &str,
) -> Value {
    let at = revoked_at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    json!({
        "type": "consent.revoked",
        "timestamp": at,
        "data": {
            "consentId": consent_id,
            "revokedAt": at,
            "items": items,
            "operator": { "name": operator_name, "approvalId": operator_approval_id },
            "recipient": recipient_id,
            "receiptId": receipt_id,
        }
    })
}
