//! Callback parsing and checks (RFC 6749 §4.1.2, RFC 9207).

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// A transaction the citizen has not come back from is abandoned after this.
pub const TRANSACTION_LIFETIME: Duration = Duration::minutes(10);

/// What the page remembers (in sessionStorage) between the redirect to
/// Mynaportal and the return: never a token, never the PKCE verifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingTransaction {
    /// The `state` the backend created.
    pub state: String,
    /// The issuer the backend reported: the callback's `iss` must equal it.
    pub issuer: String,
    /// SHA-256 of the consent request, to tell which request came back.
    pub request_digest: String,
    /// When the citizen agreed on the consent screen.
    #[serde(with = "crate::rfc3339")]
    pub started_at: OffsetDateTime,
    /// Set once a callback with this state was handed to the backend.
    #[serde(default)]
    pub used: bool,
}

/// The parameters of the redirect back from Mynaportal.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Callback {
    /// `code` on success.
    pub code: Option<String>,
    /// `state` as sent.
    pub state: Option<String>,
    /// `iss` (RFC 9207).
    pub iss: Option<String>,
    /// `error` on failure, e.g. `access_denied`.
    pub error: Option<String>,
    /// `error_description`.
    pub error_description: Option<String>,
}

/// A callback that passed every check: what the page sends to
/// `POST {backend}/authorizations/complete`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Completion {
    /// The authorization code.
    pub code: String,
    /// The state.
    pub state: String,
    /// The issuer.
    pub iss: String,
}

/// A callback for which this tab holds no transaction, handed to the
/// backend as it came: what `POST {backend}/authorizations/complete`
/// receives when the citizen came back in another tab (or the Mynaportal
/// app opened a new one). The backend's transaction for this session is
/// the source of truth: it refuses a state it did not give this citizen,
/// a used or expired one, and a wrong issuer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Handover {
    /// The authorization code, when Mynaportal sent one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The state.
    pub state: String,
    /// The issuer, when Mynaportal sent it (RFC 9207).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Mynaportal's error code, when it sent one (`access_denied`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The callback, as a [`Handover`] to the backend when this tab holds no
/// transaction for it. Only its shape is checked here: a state, and a
/// code or an error.
pub fn hand_over(callback: &Callback) -> Result<Handover, CallbackError> {
    if callback.code.is_none() && callback.state.is_none() && callback.error.is_none() {
        return Err(CallbackError::NoCallback);
    }
    let state = callback
        .state
        .clone()
        .filter(|s| !s.is_empty())
        .ok_or(CallbackError::MissingState)?;
    let present = |value: &Option<String>| value.clone().filter(|v| !v.is_empty());
    let (code, error) = (present(&callback.code), present(&callback.error));
    if code.is_none() && error.is_none() {
        return Err(CallbackError::MissingCode);
    }
    Ok(Handover {
        code,
        state,
        iss: present(&callback.iss),
        error,
    })
}

/// Why a callback is refused before anything reaches the backend.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    /// The address is not a URL.
    #[error("the callback address is not a URL")]
    InvalidUrl,
    /// The address carries no callback at all: the return page was opened
    /// or reloaded on its own (its parameters were already removed).
    #[error("the address carries no callback")]
    NoCallback,
    /// There is no `state` in the callback.
    #[error("the callback has no state")]
    MissingState,
    /// No pending transaction has this state (tampered, or another tab).
    #[error("the callback's state matches no pending transaction")]
    UnknownState,
    /// The callback was already used (a replayed or reloaded address).
    #[error("the callback was already used")]
    UsedState,
    /// The transaction is older than [`TRANSACTION_LIFETIME`].
    #[error("the authorization took too long and expired")]
    Expired,
    /// `iss` is missing or names another issuer (mix-up attack, RFC 9207).
    #[error("the callback comes from an unexpected issuer")]
    IssuerMismatch,
    /// The citizen declined at Mynaportal.
    #[error("the citizen declined at Mynaportal")]
    AccessDenied,
    /// Mynaportal answered another error.
    #[error("Mynaportal answered {0}")]
    Authority(String),
    /// Neither `code` nor `error` is present.
    #[error("the callback has neither code nor error")]
    MissingCode,
}

impl CallbackError {
    /// Stable code, shared with the backend's problem types.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidUrl => "invalid_callback",
            Self::NoCallback => "no_callback",
            Self::MissingState => "state_missing",
            Self::UnknownState => "state_mismatch",
            Self::UsedState => "state_used",
            Self::Expired => "transaction_expired",
            Self::IssuerMismatch => "issuer_mismatch",
            Self::AccessDenied => "access_denied",
            Self::Authority(_) => "authority_error",
            Self::MissingCode => "invalid_callback",
        }
    }
}

/// Reads the callback parameters from the redirect URL's query.
pub fn parse_callback(address: &str) -> Result<Callback, CallbackError> {
    let url = crate::weburl::parse(address).ok_or(CallbackError::InvalidUrl)?;
    let mut callback = Callback::default();
    for (key, value) in url.query_pairs() {
        let slot = match key.as_str() {
            "code" => &mut callback.code,
            "state" => &mut callback.state,
            "iss" => &mut callback.iss,
            "error" => &mut callback.error,
            "error_description" => &mut callback.error_description,
            _ => continue,
        };
        // A repeated parameter is ambiguous (RFC 6749 §3.1): keep the first
        // and let the checks below judge it.
        if slot.is_none() {
            *slot = Some(value);
        }
    }
    Ok(callback)
}

/// Checks a callback against the pending transaction, in the order that
/// tells the citizen the most useful thing: whose callback this is first,
/// then whether it is still good, then what Mynaportal said.
pub fn check_callback(
    callback: &Callback,
    pending: Option<&PendingTransaction>,
    now: OffsetDateTime,
) -> Result<Completion, CallbackError> {
    if callback.code.is_none() && callback.state.is_none() && callback.error.is_none() {
        return Err(CallbackError::NoCallback);
    }
    let state = callback
        .state
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or(CallbackError::MissingState)?;
    let pending = pending
        .filter(|p| constant_time_eq(&p.state, state))
        .ok_or(CallbackError::UnknownState)?;
    if pending.used {
        return Err(CallbackError::UsedState);
    }
    if now - pending.started_at > TRANSACTION_LIFETIME {
        return Err(CallbackError::Expired);
    }
    if callback.iss.as_deref() != Some(pending.issuer.as_str()) {
        return Err(CallbackError::IssuerMismatch);
    }
    if let Some(error) = &callback.error {
        return Err(match error.as_str() {
            "access_denied" => CallbackError::AccessDenied,
            other => CallbackError::Authority(other.to_owned()),
        });
    }
    let code = callback
        .code
        .clone()
        .filter(|c| !c.is_empty())
        .ok_or(CallbackError::MissingCode)?;
    Ok(Completion {
        code,
        state: state.to_owned(),
        iss: pending.issuer.clone(),
    })
}

/// Compares two secrets without leaking where they differ through timing.
fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}
