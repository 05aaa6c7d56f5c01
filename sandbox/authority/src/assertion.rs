//! `private_key_jwt` client authentication (RFC 7523 §2.2 and §3): a JWT
//! signed ES256 with the client's key, naming the client as `iss` and `sub`,
//! the authority as `aud`, short-lived, and used once (`jti`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_FIXED};
use serde_json::Value;
use time::{Duration, OffsetDateTime};

use crate::config::Jwks;
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
pub(crate) struct Assertion<'a> {
    signing_input: &'a str,
    header: Value,
    claims: Value,
    signature: Vec<u8>,
}

impl<'a> Assertion<'a> {
    /// Splits and decodes a compact JWS; `None` when it is malformed.
    pub(crate) fn parse(jwt: &'a str) -> Option<Self> {
        let (signing_input, signature) = jwt.rsplit_once('.')?;
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

    /// The client the assertion claims to come from (`iss`).
    pub(crate) fn issuer(&self) -> Option<&str> {
        self.claims.get("iss").and_then(Value::as_str)
    }

    /// Verifies the assertion for `client_id` with its `jwks`; the error is
    /// an `error_description`.
    pub(crate) fn verify(
        &self,
        authority: &Authority,
        client_id: &str,
        jwks: &Jwks,
    ) -> Result<(), &'static str> {
        // The algorithm is fixed here, never taken from the token: `none`
        // and HMAC tricks cannot apply.
        if self.header.get("alg").and_then(Value::as_str) != Some("ES256") {
            return Err("the client assertion must be signed ES256");
        }
        let kid = self.header.get("kid").and_then(Value::as_str);
        let signed = jwks
            .keys
            .iter()
            .filter(|key| kid.is_none() || key.kid.as_deref() == kid)
            .filter_map(|key| key.p256_point())
            .any(|point| {
                UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
                    .verify(self.signing_input.as_bytes(), &self.signature)
                    .is_ok()
            });
        if !signed {
            return Err("the client assertion's signature does not verify");
        }
        let claim = |name: &str| self.claims.get(name);
        if claim("iss").and_then(Value::as_str) != Some(client_id)
            || claim("sub").and_then(Value::as_str) != Some(client_id)
        {
            return Err("the client assertion's iss and sub must be the client_id");
        }
        let issuer = authority.issuer();
        let audience_ok = |aud: &str| {
            aud == issuer
                || ["/token", "/par", "/revoke"]
                    .iter()
                    .any(|path| aud == format!("{issuer}{path}"))
        };
        let aud_ok = match claim("aud") {
            Some(Value::String(aud)) => audience_ok(aud),
            Some(Value::Array(auds)) => auds.iter().filter_map(Value::as_str).any(audience_ok),
            _ => false,
        };
        if !aud_ok {
            return Err("the client assertion's aud must be the issuer");
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
