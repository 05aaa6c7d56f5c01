//! Who the citizen is: the operator's own sign-in, never the browser alone.
//! A consent belongs to an [`Owner`], and the same owner sees and revokes it
//! from any device.
//!
//! - `jwt` — a token from the operator's sign-in, in `Authorization: Bearer`
//!   or in a cookie of the operator's, verified against the operator's key:
//!   signature, an algorithm allow-list, `iss`, `aud`, `exp` (and `nbf`).
//! - `header` — a user id set by the operator's gateway, believed only when
//!   the request comes from a configured trusted proxy.
//! - `session` (the demo default) — an anonymous cookie session of this
//!   backend, which expires on the server when idle and after a maximum age.

use std::net::IpAddr;
use std::sync::Arc;

use axum::http::{header, HeaderMap, HeaderName};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;

use crate::secret::SessionId;

/// The longest user id the backend keeps.
const MAX_USER_ID: usize = 256;

/// Where the backend learns who the citizen is.
#[derive(Debug, Clone)]
pub enum UserSource {
    /// An anonymous session of this backend (demo default).
    Session(SessionPolicy),
    /// A JWT from the operator's sign-in.
    Jwt(Arc<JwtUsers>),
    /// A header from the operator's gateway (trusted proxies only).
    Header {
        /// The header's name, e.g. `x-operator-user`.
        name: HeaderName,
    },
}

/// How long an anonymous session lives on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// Unused this long, it ends.
    pub idle: time::Duration,
    /// Whatever its use, it ends this long after it began.
    pub max: time::Duration,
}

impl Default for SessionPolicy {
    /// Idle 100 days, at most 180: an anonymous session must outlive a
    /// 90-day linkage unused, so that the citizen can still see its end and
    /// renew it; with the operator's own sign-in, these do not apply.
    fn default() -> Self {
        Self {
            idle: time::Duration::days(100),
            max: time::Duration::days(180),
        }
    }
}

/// Whose consents a call concerns.
#[derive(Debug, Clone)]
pub enum Owner {
    /// An anonymous session of this backend.
    Session(SessionId),
    /// The operator's user, by the id its sign-in gives.
    User(String),
}

impl Owner {
    /// How the store knows the owner: the session's hash, never the id.
    pub fn key(&self) -> String {
        match self {
            Self::Session(session) => format!("session:{}", session.hash()),
            Self::User(id) => format!("user:{id}"),
        }
    }

    /// The operator's user id, for a signed-in user.
    pub fn user_id(&self) -> Option<&str> {
        match self {
            Self::User(id) => Some(id),
            Self::Session(_) => None,
        }
    }
}

/// Why a caller's identity was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// No token or header where one is required.
    #[error("no sign-in was presented")]
    Missing,
    /// The token failed a check (signature, algorithm, issuer, audience,
    /// expiry), or the header came from an untrusted address.
    #[error("the sign-in was not accepted: {0}")]
    Rejected(String),
}

/// JWT sign-in: the keys, each with its validation, and where the token is.
pub struct JwtUsers {
    keys: Vec<JwtKey>,
    cookie: Option<String>,
}

struct JwtKey {
    kid: Option<String>,
    key: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for JwtUsers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtUsers")
            .field("keys", &self.keys.len())
            .field("cookie", &self.cookie)
            .finish()
    }
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
}

impl JwtUsers {
    /// The token in the request: the configured cookie, else `Authorization:
    /// Bearer`.
    pub fn token<'a>(&self, headers: &'a HeaderMap) -> Option<&'a str> {
        if let Some(name) = &self.cookie {
            if let Some(value) = cookie(headers, name) {
                return Some(value);
            }
        }
        headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| {
                let (scheme, rest) = value.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then_some(rest.trim())
            })
    }

    /// The `sub` of a token that passes every check.
    pub fn verify(&self, token: &str) -> Result<String, IdentityError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| IdentityError::Rejected("not a JWT".into()))?;
        let candidates = self.keys.iter().filter(|k| match (&k.kid, &header.kid) {
            (Some(kid), Some(presented)) => kid == presented,
            _ => true,
        });
        let mut last = IdentityError::Rejected("no configured key matches".into());
        for key in candidates {
            if !key.validation.algorithms.contains(&header.alg) {
                last =
                    IdentityError::Rejected(format!("algorithm {:?} is not allowed", header.alg));
                continue;
            }
            match jsonwebtoken::decode::<Claims>(token, &key.key, &key.validation) {
                Ok(data) => return user_id(&data.claims.sub),
                Err(error) => last = IdentityError::Rejected(error.to_string()),
            }
        }
        Err(last)
    }
}

/// A cookie's value.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim())
}

/// A user id as the store keeps it: present, short, printable.
pub(crate) fn user_id(text: &str) -> Result<String, IdentityError> {
    let ok = !text.trim().is_empty()
        && text.chars().count() <= MAX_USER_ID
        && !text.chars().any(char::is_control);
    if ok {
        Ok(text.to_owned())
    } else {
        Err(IdentityError::Rejected(
            "the user id is empty, too long or has control characters".into(),
        ))
    }
}

impl UserSource {
    /// The operator's user of a request, for the `jwt` and `header` sources;
    /// `Ok(None)` for the session source (the routes handle sessions).
    /// `peer` is the address the request came from (the proxy, if any).
    pub fn user(
        &self,
        headers: &HeaderMap,
        peer: Option<IpAddr>,
        trusted: impl Fn(IpAddr) -> bool,
    ) -> Result<Option<Owner>, IdentityError> {
        match self {
            Self::Session(_) => Ok(None),
            Self::Jwt(users) => {
                let token = users.token(headers).ok_or(IdentityError::Missing)?;
                users.verify(token).map(|id| Some(Owner::User(id)))
            }
            Self::Header { name } => {
                let Some(value) = headers.get(name) else {
                    return Err(IdentityError::Missing);
                };
                if !peer.is_some_and(trusted) {
                    return Err(IdentityError::Rejected(
                        "the identity header came from an address that is not a trusted proxy"
                            .into(),
                    ));
                }
                let text = value.to_str().map_err(|_| {
                    IdentityError::Rejected("the identity header is not text".into())
                })?;
                user_id(text).map(|id| Some(Owner::User(id)))
            }
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SessionEntry {
    #[allow(dead_code)]
    kind: String,
    #[serde(default)]
    idle_seconds: Option<i64>,
    #[serde(default)]
    max_seconds: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct JwtEntry {
    #[allow(dead_code)]
    kind: String,
    issuer: String,
    audience: String,
    algorithms: Vec<String>,
    #[serde(default)]
    public_key_pem: Option<String>,
    #[serde(default)]
    public_key_pem_file: Option<String>,
    #[serde(default)]
    jwks: Option<jsonwebtoken::jwk::JwkSet>,
    #[serde(default)]
    hmac_secret_env: Option<String>,
    #[serde(default)]
    cookie: Option<String>,
    #[serde(default)]
    leeway_seconds: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct HeaderEntry {
    #[allow(dead_code)]
    kind: String,
    header: String,
}

/// The `users` entry of an operator's configuration; none means anonymous
/// sessions. The error is (the field within `users`, what is wrong).
pub(crate) fn from_config(value: Option<&Value>) -> Result<UserSource, (String, String)> {
    let Some(value) = value else {
        return Ok(UserSource::Session(SessionPolicy::default()));
    };
    let fail = |field: &str, reason: &str| (field.to_owned(), reason.to_owned());
    let kind = value
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match kind {
        "session" => {
            let entry: SessionEntry =
                serde_json::from_value(value.clone()).map_err(|e| fail("", &e.to_string()))?;
            let defaults = SessionPolicy::default();
            let seconds = |value: Option<i64>, default: time::Duration, field: &str| match value {
                Some(s) if s < 60 => Err(fail(field, "must be at least 60 seconds")),
                Some(s) => Ok(time::Duration::seconds(s)),
                None => Ok(default),
            };
            let policy = SessionPolicy {
                idle: seconds(entry.idle_seconds, defaults.idle, "idleSeconds")?,
                max: seconds(entry.max_seconds, defaults.max, "maxSeconds")?,
            };
            if policy.idle > policy.max {
                return Err(fail("idleSeconds", "must not exceed maxSeconds"));
            }
            Ok(UserSource::Session(policy))
        }
        "jwt" => {
            let entry: JwtEntry =
                serde_json::from_value(value.clone()).map_err(|e| fail("", &e.to_string()))?;
            jwt_users(entry).map(|users| UserSource::Jwt(Arc::new(users)))
        }
        "header" => {
            let entry: HeaderEntry =
                serde_json::from_value(value.clone()).map_err(|e| fail("", &e.to_string()))?;
            let name = HeaderName::from_bytes(entry.header.to_ascii_lowercase().as_bytes())
                .map_err(|_| fail("header", "must be an HTTP header name"))?;
            if matches!(
                name.as_str(),
                "authorization" | "cookie" | "host" | "x-forwarded-for"
            ) {
                return Err(fail(
                    "header",
                    "must be a header of its own, set by the gateway",
                ));
            }
            Ok(UserSource::Header { name })
        }
        _ => Err(fail("kind", "must be session, jwt or header")),
    }
}

fn jwt_users(entry: JwtEntry) -> Result<JwtUsers, (String, String)> {
    let fail = |field: &str, reason: String| (field.to_owned(), reason);
    if entry.issuer.trim().is_empty() {
        return Err(fail(
            "issuer",
            "must name the operator's sign-in issuer".into(),
        ));
    }
    if entry.audience.trim().is_empty() {
        return Err(fail(
            "audience",
            "must name this backend as the token's audience".into(),
        ));
    }
    if entry.algorithms.is_empty() {
        return Err(fail(
            "algorithms",
            "list the algorithms the sign-in uses".into(),
        ));
    }
    let mut algorithms = Vec::new();
    for (i, name) in entry.algorithms.iter().enumerate() {
        let algorithm: Algorithm = name.parse().map_err(|_| {
            fail(
                &format!("algorithms[{i}]"),
                format!("{name} is not a JWS algorithm this backend verifies"),
            )
        })?;
        algorithms.push(algorithm);
    }
    let mut keys: Vec<(Option<String>, DecodingKey, &'static str)> = Vec::new();
    let sources = [
        entry.public_key_pem.is_some(),
        entry.public_key_pem_file.is_some(),
        entry.jwks.is_some(),
        entry.hmac_secret_env.is_some(),
    ];
    if sources.iter().filter(|given| **given).count() != 1 {
        return Err(fail(
            "",
            "give exactly one of publicKeyPem, publicKeyPemFile, jwks and hmacSecretEnv".into(),
        ));
    }
    let pem = match (&entry.public_key_pem, &entry.public_key_pem_file) {
        (Some(text), _) => Some((text.clone(), "publicKeyPem")),
        (None, Some(path)) => Some((
            std::fs::read_to_string(path)
                .map_err(|e| fail("publicKeyPemFile", format!("cannot read {path}: {e}")))?,
            "publicKeyPemFile",
        )),
        _ => None,
    };
    if let Some((text, field)) = pem {
        let bytes = text.as_bytes();
        let key = DecodingKey::from_ec_pem(bytes)
            .or_else(|_| DecodingKey::from_rsa_pem(bytes))
            .or_else(|_| DecodingKey::from_ed_pem(bytes))
            .map_err(|_| {
                fail(
                    field,
                    "is not an EC, RSA or Ed25519 public key in PEM".into(),
                )
            })?;
        keys.push((None, key, field));
    }
    if let Some(set) = &entry.jwks {
        for (i, jwk) in set.keys.iter().enumerate() {
            let key = DecodingKey::from_jwk(jwk)
                .map_err(|e| fail(&format!("jwks.keys[{i}]"), e.to_string()))?;
            keys.push((jwk.common.key_id.clone(), key, "jwks"));
        }
        if keys.is_empty() {
            return Err(fail("jwks", "holds no key".into()));
        }
    }
    if let Some(name) = &entry.hmac_secret_env {
        let secret = std::env::var(name)
            .ok()
            .filter(|s| s.len() >= 32)
            .ok_or_else(|| {
                fail(
                    "hmacSecretEnv",
                    format!("{name} must be set to at least 32 bytes"),
                )
            })?;
        keys.push((
            None,
            DecodingKey::from_secret(secret.as_bytes()),
            "hmacSecretEnv",
        ));
    }
    let leeway = entry.leeway_seconds.unwrap_or(30).min(300);
    let mut prepared = Vec::with_capacity(keys.len());
    for (kid, key, field) in keys {
        // jsonwebtoken checks a key against one family of algorithms at a
        // time: each key gets the allowed algorithms of its own family.
        let own: Vec<Algorithm> = algorithms
            .iter()
            .copied()
            .filter(|a| a.family() == key.family())
            .collect();
        if own.is_empty() {
            return Err(fail(
                field,
                "no algorithm in algorithms fits this key".into(),
            ));
        }
        let mut validation = Validation::new(own[0]);
        validation.algorithms = own;
        validation.set_issuer(&[entry.issuer.as_str()]);
        validation.set_audience(&[entry.audience.as_str()]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = leeway;
        prepared.push(JwtKey {
            kid,
            key,
            validation,
        });
    }
    if let Some(name) = &entry.cookie {
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(fail("cookie", "must be a cookie name".into()));
        }
    }
    Ok(JwtUsers {
        keys: prepared,
        cookie: entry.cookie,
    })
}
