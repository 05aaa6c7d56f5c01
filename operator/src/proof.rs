//! What the backend signs with its own keys: `private_key_jwt` client
//! assertions (RFC 7523 §2.2, ES256 or PS256) and DPoP proofs (RFC 9449,
//! ES256). The keys come from the configuration and never leave the
//! backend; their `Debug` prints only the algorithm.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use p256::pkcs8::DecodePrivateKey as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::secret::random_token;

/// How long a client assertion lives: long enough for one call with its
/// retries, short enough that a leaked one is useless.
const ASSERTION_LIFETIME_SECONDS: i64 = 60;

/// Why a key from the configuration cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyProblem {
    /// The algorithm is not one this backend signs with.
    #[error("the algorithm must be ES256 or PS256")]
    Algorithm,
    /// The PEM does not hold a private key of the algorithm's kind.
    #[error("the key must be a PKCS#8 PEM private key ({0})")]
    Pem(&'static str),
}

/// The key the backend authenticates to the authority with
/// (`private_key_jwt`).
#[derive(Clone)]
pub struct ClientKey {
    algorithm: Algorithm,
    key: EncodingKey,
    key_id: Option<String>,
}

impl std::fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ClientKey({:?}, [redacted])", self.algorithm)
    }
}

impl ClientKey {
    /// A key for `algorithm` (`ES256`: a P-256 key, `PS256`: an RSA key of
    /// at least 2048 bits) from a PKCS#8 PEM, named `key_id` in the JWT
    /// header when given.
    pub fn from_pem(
        algorithm: &str,
        pem: &str,
        key_id: Option<String>,
    ) -> Result<Self, KeyProblem> {
        let (algorithm, key) = match algorithm {
            "ES256" => {
                // Parsed once with p256 so a key of another curve is refused
                // here rather than at the first call.
                p256::SecretKey::from_pkcs8_pem(pem).map_err(|_| KeyProblem::Pem("EC P-256"))?;
                let key = EncodingKey::from_ec_pem(pem.as_bytes())
                    .map_err(|_| KeyProblem::Pem("EC P-256"))?;
                (Algorithm::ES256, key)
            }
            "PS256" => {
                let key = EncodingKey::from_rsa_pem(pem.as_bytes())
                    .map_err(|_| KeyProblem::Pem("RSA"))?;
                (Algorithm::PS256, key)
            }
            _ => return Err(KeyProblem::Algorithm),
        };
        let client_key = Self {
            algorithm,
            key,
            key_id,
        };
        // A key that cannot sign (an RSA key too short, say) fails at start.
        client_key
            .assertion("check", "https://check", OffsetDateTime::now_utc())
            .map_err(|_| KeyProblem::Pem("a key that can sign"))?;
        Ok(client_key)
    }

    /// The JWS algorithm name, as the metadata lists it.
    pub fn algorithm_name(&self) -> &'static str {
        match self.algorithm {
            Algorithm::PS256 => "PS256",
            _ => "ES256",
        }
    }

    /// A fresh client assertion: `iss` and `sub` the client, `aud` the
    /// issuer as one string (as RFC 7523bis and FAPI 2.0 ask), a minute of
    /// life and a unique `jti`, so that each call signs its own.
    pub fn assertion(
        &self,
        client_id: &str,
        issuer: &str,
        now: OffsetDateTime,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(self.algorithm);
        header.kid.clone_from(&self.key_id);
        let now = now.unix_timestamp();
        let claims = json!({
            "iss": client_id,
            "sub": client_id,
            "aud": issuer,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME_SECONDS,
            "jti": random_token(),
        });
        jsonwebtoken::encode(&header, &claims, &self.key)
    }
}

/// The public JWK of a P-256 key (`kty`, `crv`, `x`, `y`) and its RFC 7638
/// thumbprint: the DPoP key's `jkt`, the receipt keys' `kid`.
pub(crate) fn p256_public_jwk(secret: &p256::SecretKey) -> (serde_json::Value, String) {
    let point = secret.public_key().to_encoded_point(false);
    // An uncompressed point always has both coordinates.
    let coordinate = |c: Option<&_>| c.map(|c| URL_SAFE_NO_PAD.encode(c)).unwrap_or_default();
    let (x, y) = (coordinate(point.x()), coordinate(point.y()));
    // RFC 7638: the required members in lexicographic order, no spaces.
    let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    let thumbprint = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
    (
        json!({ "kty": "EC", "crv": "P-256", "x": x, "y": y }),
        thumbprint,
    )
}

/// The backend's DPoP key (ES256): tokens the authority binds to it are
/// useless to anyone who copies them out of a database or a log.
#[derive(Clone)]
pub struct DpopKey {
    key: EncodingKey,
    jwk: jsonwebtoken::jwk::Jwk,
    thumbprint: String,
}

impl std::fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DpopKey(ES256, {})", self.thumbprint)
    }
}

impl DpopKey {
    /// The key from a PKCS#8 PEM of a P-256 private key.
    pub fn from_pem(pem: &str) -> Result<Self, KeyProblem> {
        let secret =
            p256::SecretKey::from_pkcs8_pem(pem).map_err(|_| KeyProblem::Pem("EC P-256"))?;
        let key =
            EncodingKey::from_ec_pem(pem.as_bytes()).map_err(|_| KeyProblem::Pem("EC P-256"))?;
        let (public, thumbprint) = p256_public_jwk(&secret);
        let jwk = serde_json::from_value(public).map_err(|_| KeyProblem::Pem("EC P-256"))?;
        Ok(Self {
            key,
            jwk,
            thumbprint,
        })
    }

    /// The RFC 7638 thumbprint of the public key (the authority's `jkt`).
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// A proof for one request (RFC 9449 §4.2): `htm`, `htu` without query
    /// and fragment, `iat` (real time: the authority checks it against its
    /// own clock), a unique `jti`, `ath` when an access token goes with
    /// it, and the server's `nonce` when it gave one.
    pub fn proof(
        &self,
        method: &str,
        url: &url::Url,
        access_token: Option<&str>,
        nonce: Option<&str>,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some("dpop+jwt".into());
        header.jwk = Some(self.jwk.clone());
        let mut htu = url.clone();
        htu.set_query(None);
        htu.set_fragment(None);
        let mut claims = json!({
            "htm": method,
            "htu": htu.as_str(),
            "iat": OffsetDateTime::now_utc().unix_timestamp(),
            "jti": random_token(),
        });
        if let Some(token) = access_token {
            claims["ath"] = json!(URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes())));
        }
        if let Some(nonce) = nonce {
            claims["nonce"] = Value::String(nonce.to_owned());
        }
        jsonwebtoken::encode(&header, &claims, &self.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A P-256 key made for these tests only.
    const EC_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg8Sv/SB0DJnqICbq6
VZCT+w0idbs5QbpeYqPF49QQ9GuhRANCAATaIAYDGQMRERYCTtmOXIAZ4KdqNlqi
mOphxmyU4Y97CbSHuD7aIQsalk63QWMyPSU4hmWDR26JOS9SegnZ72Wa
-----END PRIVATE KEY-----
";

    fn parts(jwt: &str) -> (Value, Value) {
        let mut parts = jwt.split('.');
        let mut decode = || -> Value {
            serde_json::from_slice(
                &URL_SAFE_NO_PAD
                    .decode(parts.next().expect("part"))
                    .expect("base64url"),
            )
            .expect("json")
        };
        (decode(), decode())
    }

    #[test]
    fn a_client_assertion_names_the_issuer_as_one_audience() {
        let key = ClientKey::from_pem("ES256", EC_KEY, Some("k1".into())).expect("key");
        let jwt = key
            .assertion(
                "client-1",
                "https://auth.example",
                OffsetDateTime::now_utc(),
            )
            .expect("signed");
        let (header, claims) = parts(&jwt);
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["kid"], "k1");
        assert_eq!(claims["aud"], "https://auth.example");
        assert_eq!(claims["iss"], "client-1");
        assert_eq!(claims["sub"], "client-1");
        let lifetime = claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat");
        assert_eq!(lifetime, ASSERTION_LIFETIME_SECONDS);
        let again = key
            .assertion(
                "client-1",
                "https://auth.example",
                OffsetDateTime::now_utc(),
            )
            .expect("signed");
        assert_ne!(
            parts(&again).1["jti"],
            claims["jti"],
            "each assertion is used once"
        );
    }

    #[test]
    fn ps256_keys_sign_assertions_that_verify() {
        let pem = include_str!("../tests/keys/client-rsa.pem");
        let key = ClientKey::from_pem("PS256", pem, None).expect("key");
        let jwt = key
            .assertion(
                "client-1",
                "https://auth.example",
                OffsetDateTime::now_utc(),
            )
            .expect("signed");
        assert_eq!(parts(&jwt).0["alg"], "PS256");
        let public = rsa::RsaPublicKey::from(
            <rsa::RsaPrivateKey as rsa::pkcs8::DecodePrivateKey>::from_pkcs8_pem(pem).expect("rsa"),
        );
        let der = rsa::pkcs1::EncodeRsaPublicKey::to_pkcs1_der(&public).expect("der");
        let mut validation = jsonwebtoken::Validation::new(Algorithm::PS256);
        validation.set_audience(&["https://auth.example"]);
        jsonwebtoken::decode::<Value>(
            &jwt,
            &jsonwebtoken::DecodingKey::from_rsa_der(der.as_bytes()),
            &validation,
        )
        .expect("the assertion verifies with the public key");
    }

    #[test]
    fn keys_of_the_wrong_kind_are_refused() {
        assert_eq!(
            ClientKey::from_pem("RS256", EC_KEY, None).map(|_| ()),
            Err(KeyProblem::Algorithm)
        );
        assert_eq!(
            ClientKey::from_pem("PS256", EC_KEY, None).map(|_| ()),
            Err(KeyProblem::Pem("RSA"))
        );
        assert!(DpopKey::from_pem("not a key").is_err());
    }

    #[test]
    fn a_dpop_proof_carries_the_public_key_the_method_the_url_and_the_token_hash() {
        let key = DpopKey::from_pem(EC_KEY).expect("key");
        let url = url::Url::parse("https://auth.example/retrievals/r1?x=1#f").expect("url");
        let proof = key
            .proof("GET", &url, Some("token-1"), Some("n-1"))
            .expect("signed");
        let (header, claims) = parts(&proof);
        assert_eq!(header["typ"], "dpop+jwt");
        assert_eq!(header["alg"], "ES256");
        assert!(header["jwk"].get("d").is_none(), "never the private part");
        assert_eq!(claims["htm"], "GET");
        assert_eq!(claims["htu"], "https://auth.example/retrievals/r1");
        assert_eq!(claims["nonce"], "n-1");
        assert_eq!(
            claims["ath"],
            URL_SAFE_NO_PAD.encode(Sha256::digest(b"token-1"))
        );
        assert_eq!(key.thumbprint().len(), 43);
    }
}
