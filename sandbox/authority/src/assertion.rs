//! `private_key_jwt` client authentication (RFC 7523 §2.2 and §3): a JWT
//! signed ES256 with the client's key, naming the client as `iss` and `sub`,
//! the authority's issuer identifier as `aud` (one string, nothing else),
//! short-lived, and used once (`jti`).

use serde_json::Value;
use time::{Duration, OffsetDateTime};

use crate::config::Jwks;
use crate::jws::CompactJws;
use crate::secret;
use crate::store;
use crate::Authority;

/// The only `client_assertion_type` (RFC 7523 §2.2).
pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The longest lifetime an assertion may claim: it bounds how long a `jti`
/// must be remembered.
const MAX_LIFETIME_MINUTES: i64 = 10;
/// Clock skew allowed for `nbf` and `iat`.
const SKEW_SECONDS: i64 = 60;

/// A client assertion split into its parts, not yet verified.
pub(crate) struct Assertion<'a>(CompactJws<'a>);

impl<'a> Assertion<'a> {
    /// Splits and decodes a compact JWS; `None` when it is malformed.
    pub(crate) fn parse(jwt: &'a str) -> Option<Self> {
        CompactJws::parse(jwt).map(Self)
    }

    /// The client the assertion claims to come from (`iss`).
    pub(crate) fn issuer(&self) -> Option<&str> {
        self.0.claim_str("iss")
    }

    /// Verifies the assertion for `client_id` with its `jwks`; the error is
    /// an `error_description`.
    pub(crate) fn verify(
        &self,
        authority: &Authority,
        client_id: &str,
        jwks: &Jwks,
    ) -> Result<(), &'static str> {
        let jws = &self.0;
        if !jws.is_es256() {
            return Err("the client assertion must be signed ES256");
        }
        let kid = jws.header_str("kid");
        let signed = jwks
            .keys
            .iter()
            .filter(|key| kid.is_none() || key.kid.as_deref() == kid)
            .filter_map(|key| key.p256_point())
            .any(|point| jws.verifies_with(&point));
        if !signed {
            return Err("the client assertion's signature does not verify");
        }
        let claim = |name: &str| jws.claim(name);
        if claim("iss").and_then(Value::as_str) != Some(client_id)
            || claim("sub").and_then(Value::as_str) != Some(client_id)
        {
            return Err("the client assertion's iss and sub must be the client_id");
        }
        // The issuer identifier alone, as one string: an endpoint URL or an
        // array would let an assertion made for one endpoint (or for
        // another server listed beside this one) be played at another.
        if !matches!(claim("aud"), Some(Value::String(aud)) if aud == authority.issuer()) {
            return Err("the client assertion's aud must be the issuer identifier, as one string");
        }
        let now = authority.now();
        let time_claim = |name: &str| {
            claim(name)
                .and_then(Value::as_i64)
                .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
        };
        let expires_at = time_claim("exp").ok_or("the client assertion needs exp")?;
        if now >= expires_at {
            return Err("the client assertion has expired");
        }
        if expires_at > now + Duration::minutes(MAX_LIFETIME_MINUTES) {
            return Err("the client assertion lives too long");
        }
        let skew = Duration::seconds(SKEW_SECONDS);
        if time_claim("nbf").is_some_and(|nbf| nbf > now + skew)
            || time_claim("iat").is_some_and(|iat| iat > now + skew)
        {
            return Err("the client assertion is not valid yet");
        }
        let jti = claim("jti")
            .and_then(Value::as_str)
            .filter(|jti| !jti.is_empty())
            .ok_or("the client assertion needs jti")?;
        let fresh = store::remember_assertion(
            &authority.db(),
            &secret::hash(&format!("{client_id}\u{0}{jti}")),
            client_id,
            expires_at,
            now,
        )
        .map_err(|error| {
            eprintln!("myna-authority: internal error: {error}");
            "the authority failed; try again"
        })?;
        if !fresh {
            return Err("the client assertion was already used");
        }
        Ok(())
    }
}
