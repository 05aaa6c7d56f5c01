//! ID token validation (OpenID Connect Core §3.1.3.7), for operators whose
//! scopes include `openid`: the signature through the authority's JWKS, an
//! asymmetric algorithm only, `iss`, `aud` (and `azp`), `exp`, and the
//! transaction's `nonce`. jsonwebtoken does the cryptography and the
//! registered claims; this module picks the key and checks the rest.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

/// The algorithms an ID token may be signed with: asymmetric only, so a
/// token signed with the client secret (HS256) or `none` never passes.
const ALGORITHMS: [Algorithm; 6] = [
    Algorithm::RS256,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::PS384,
    Algorithm::EdDSA,
];

/// Clock skew allowed for `exp`, `nbf` and `iat`.
const LEEWAY_SECONDS: u64 = 60;

/// Why an ID token was not accepted. The text names the claim and never
/// quotes the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdTokenProblem {
    /// No key of the JWKS matches the token's `kid` (the JWKS may be stale).
    #[error("no key in the authority's JWKS matches the ID token")]
    UnknownKey,
    /// The token or its signature is not acceptable.
    #[error("the ID token is not valid: {0}")]
    Invalid(String),
}

/// Checks `token` against `jwks` for `issuer` and `client_id`; `nonce` is
/// the transaction's (none on a refresh, where OpenID Connect §12.2 lets
/// the new ID token omit it). Returns the claims.
pub fn verify(
    token: &str,
    jwks: &JwkSet,
    issuer: &str,
    client_id: &str,
    nonce: Option<&str>,
) -> Result<Value, IdTokenProblem> {
    let invalid = |reason: &str| IdTokenProblem::Invalid(reason.to_owned());
    let header = jsonwebtoken::decode_header(token).map_err(|_| invalid("malformed header"))?;
    if !ALGORITHMS.contains(&header.alg) {
        return Err(invalid("its algorithm is not an asymmetric one"));
    }
    let family = key_family(header.alg);
    let candidates: Vec<_> = jwks
        .keys
        .iter()
        .filter(|jwk| header.kid.is_none() || jwk.common.key_id == header.kid)
        // Signing keys of the algorithm's family only: never an encryption
        // key, never a key whose stated algorithm is another.
        .filter(|jwk| {
            !matches!(
                jwk.common.public_key_use,
                Some(jsonwebtoken::jwk::PublicKeyUse::Encryption)
            )
        })
        .filter(|jwk| family_of(&jwk.algorithm) == Some(family))
        .filter(|jwk| {
            jwk.common
                .key_algorithm
                .is_none_or(|alg| alg.to_string() == format!("{:?}", header.alg))
        })
        .collect();
    if candidates.is_empty() {
        return Err(IdTokenProblem::UnknownKey);
    }
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[client_id]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    validation.leeway = LEEWAY_SECONDS;
    // With no kid, or a reused one, each candidate is tried: the first that
    // verifies wins, and otherwise the last refusal is the answer.
    let mut last = invalid("the JWKS key cannot be used");
    let mut verified = None;
    for jwk in candidates {
        let Ok(key) = DecodingKey::from_jwk(jwk) else {
            continue;
        };
        match jsonwebtoken::decode::<Value>(token, &key, &validation) {
            Ok(data) => {
                verified = Some(data);
                break;
            }
            Err(e) => last = IdTokenProblem::Invalid(e.kind_text()),
        }
    }
    let data = verified.ok_or(last)?;
    let claims = data.claims;
    // OpenID Connect Core §3.1.3.7 (4, 5): with several audiences, `azp`
    // names this client; when present, it names this client anyway.
    let several = matches!(claims.get("aud"), Some(Value::Array(a)) if a.len() > 1);
    match claims.get("azp").and_then(Value::as_str) {
        Some(azp) if azp != client_id => return Err(invalid("azp is not this client")),
        None if several => return Err(invalid("azp is not this client")),
        _ => {}
    }
    match (nonce, claims.get("nonce").and_then(Value::as_str)) {
        (Some(expected), Some(found)) if found == expected => {}
        (Some(_), _) => return Err(invalid("nonce does not match the transaction")),
        (None, _) => {}
    }
    Ok(claims)
}

/// The kind of key an algorithm verifies with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyFamily {
    Rsa,
    Ec,
    Okp,
}

fn key_family(algorithm: Algorithm) -> KeyFamily {
    match algorithm {
        Algorithm::ES256 | Algorithm::ES384 => KeyFamily::Ec,
        Algorithm::EdDSA => KeyFamily::Okp,
        _ => KeyFamily::Rsa,
    }
}

fn family_of(parameters: &jsonwebtoken::jwk::AlgorithmParameters) -> Option<KeyFamily> {
    use jsonwebtoken::jwk::AlgorithmParameters as P;
    match parameters {
        P::RSA(_) => Some(KeyFamily::Rsa),
        P::EllipticCurve(_) => Some(KeyFamily::Ec),
        P::OctetKeyPair(_) => Some(KeyFamily::Okp),
        _ => None,
    }
}

/// A short, secret-free description of a jsonwebtoken error.
trait KindText {
    fn kind_text(&self) -> String;
}

impl KindText for jsonwebtoken::errors::Error {
    fn kind_text(&self) -> String {
        use jsonwebtoken::errors::ErrorKind;
        match self.kind() {
            ErrorKind::InvalidSignature => "its signature does not verify".into(),
            ErrorKind::ExpiredSignature => "it has expired".into(),
            ErrorKind::InvalidIssuer => "iss is not the issuer".into(),
            ErrorKind::InvalidAudience => "aud does not name this client".into(),
            ErrorKind::ImmatureSignature => "it is not valid yet".into(),
            ErrorKind::MissingRequiredClaim(claim) => format!("{claim} is missing"),
            ErrorKind::InvalidAlgorithm => "its algorithm does not match the key".into(),
            _ => "it cannot be decoded".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    use jsonwebtoken::{EncodingKey, Header};
    use p256::elliptic_curve::sec1::ToEncodedPoint as _;
    use p256::pkcs8::DecodePrivateKey as _;
    use serde_json::json;

    /// A P-256 key made for these tests only.
    const KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg8Sv/SB0DJnqICbq6
VZCT+w0idbs5QbpeYqPF49QQ9GuhRANCAATaIAYDGQMRERYCTtmOXIAZ4KdqNlqi
mOphxmyU4Y97CbSHuD7aIQsalk63QWMyPSU4hmWDR26JOS9SegnZ72Wa
-----END PRIVATE KEY-----
";
    const ISSUER: &str = "https://auth.example";
    const CLIENT: &str = "client-1";

    fn jwks(kid: &str) -> JwkSet {
        let secret = p256::SecretKey::from_pkcs8_pem(KEY).expect("key");
        let point = secret.public_key().to_encoded_point(false);
        serde_json::from_value(json!({ "keys": [{
            "kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "use": "sig",
            "x": URL_SAFE_NO_PAD.encode(point.x().expect("x")),
            "y": URL_SAFE_NO_PAD.encode(point.y().expect("y")),
        }]}))
        .expect("jwks")
    }

    fn token(claims: &Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some("k1".into());
        let key = EncodingKey::from_ec_pem(KEY.as_bytes()).expect("key");
        jsonwebtoken::encode(&header, claims, &key).expect("signed")
    }

    fn claims() -> Value {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        json!({ "iss": ISSUER, "aud": CLIENT, "sub": "citizen-1", "iat": now, "exp": now + 300, "nonce": "n-1" })
    }

    fn check(claims: &Value, nonce: Option<&str>) -> Result<Value, IdTokenProblem> {
        verify(&token(claims), &jwks("k1"), ISSUER, CLIENT, nonce)
    }

    #[test]
    fn a_good_id_token_passes_and_answers_its_claims() {
        let claims = check(&claims(), Some("n-1")).expect("valid");
        assert_eq!(claims["sub"], "citizen-1");
        // On a refresh no nonce is expected.
        assert!(check(&claims, None).is_ok());
    }

    #[test]
    fn each_claim_is_checked() {
        let with = |key: &str, value: Value| {
            let mut c = claims();
            c[key] = value;
            c
        };
        let reason = |result: Result<Value, IdTokenProblem>| match result {
            Err(IdTokenProblem::Invalid(reason)) => reason,
            other => panic!("expected a refusal, got {other:?}"),
        };
        assert_eq!(
            reason(check(&claims(), Some("n-2"))),
            "nonce does not match the transaction"
        );
        let mut no_nonce = claims();
        no_nonce.as_object_mut().expect("object").remove("nonce");
        assert_eq!(
            reason(check(&no_nonce, Some("n-1"))),
            "nonce does not match the transaction"
        );
        assert_eq!(
            reason(check(
                &with("iss", json!("https://evil.example")),
                Some("n-1")
            )),
            "iss is not the issuer"
        );
        assert_eq!(
            reason(check(&with("aud", json!("someone-else")), Some("n-1"))),
            "aud does not name this client"
        );
        let past = time::OffsetDateTime::now_utc().unix_timestamp() - 3600;
        assert_eq!(
            reason(check(&with("exp", json!(past)), Some("n-1"))),
            "it has expired"
        );
        assert_eq!(
            reason(check(&with("aud", json!([CLIENT, "other"])), Some("n-1"))),
            "azp is not this client"
        );
        assert!(check(
            &with("aud", json!([CLIENT, "other"])).tap_azp(CLIENT),
            Some("n-1")
        )
        .is_ok());
    }

    #[test]
    fn other_keys_in_the_jwks_are_passed_over() {
        let mut set = jwks("k1");
        let mut encryption: jsonwebtoken::jwk::Jwk =
            serde_json::from_value(serde_json::to_value(&set.keys[0]).expect("json")).expect("jwk");
        encryption.common.public_key_use = Some(jsonwebtoken::jwk::PublicKeyUse::Encryption);
        let rsa: jsonwebtoken::jwk::Jwk = serde_json::from_value(json!({
            "kty": "RSA", "kid": "k1", "use": "sig", "e": "AQAB",
            "n": URL_SAFE_NO_PAD.encode([0xc5u8; 256]),
        }))
        .expect("rsa jwk");
        set.keys.insert(0, encryption);
        set.keys.insert(0, rsa);
        assert!(verify(&token(&claims()), &set, ISSUER, CLIENT, Some("n-1")).is_ok());
        // Only an encryption key: as if no key matched, so the JWKS is
        // fetched again.
        let only_encryption = JwkSet {
            keys: vec![set.keys[1].clone()],
        };
        assert_eq!(
            verify(
                &token(&claims()),
                &only_encryption,
                ISSUER,
                CLIENT,
                Some("n-1")
            ),
            Err(IdTokenProblem::UnknownKey)
        );
    }

    #[test]
    fn an_azp_naming_another_client_is_refused_even_with_one_audience() {
        let claims = claims().tap_azp("someone-else");
        assert_eq!(
            check(&claims, Some("n-1")),
            Err(IdTokenProblem::Invalid("azp is not this client".into()))
        );
    }

    trait TapAzp {
        fn tap_azp(self, azp: &str) -> Self;
    }
    impl TapAzp for Value {
        fn tap_azp(mut self, azp: &str) -> Self {
            self["azp"] = json!(azp);
            self
        }
    }

    #[test]
    fn a_forged_or_symmetric_token_is_refused() {
        // HS256 with a guessable secret: refused before any key is tried.
        let forged = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims(),
            &EncodingKey::from_secret(b"client-secret"),
        )
        .expect("signed");
        assert!(matches!(
            verify(&forged, &jwks("k1"), ISSUER, CLIENT, Some("n-1")),
            Err(IdTokenProblem::Invalid(_))
        ));
        // A valid signature over other claims: the signature fails.
        let good = token(&claims());
        let mut parts: Vec<&str> = good.split('.').collect();
        let other =
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims().tap_azp("x")).expect("json"));
        parts[1] = &other;
        assert_eq!(
            verify(&parts.join("."), &jwks("k1"), ISSUER, CLIENT, Some("n-1")),
            Err(IdTokenProblem::Invalid(
                "its signature does not verify".into()
            ))
        );
        // A key id the JWKS does not have: the caller fetches it again.
        assert_eq!(
            verify(&good, &jwks("k2"), ISSUER, CLIENT, Some("n-1")),
            Err(IdTokenProblem::UnknownKey)
        );
    }
}
