//! Secret values as their own types: random generation, hashing, and a
//! `Debug` that never prints them, so a stray `{:?}` in a log cannot leak a
//! token, a PKCE verifier or a session id.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore as _;
use sha2::{Digest, Sha256};

/// The prefix of a request token, so that a reference is told from a
/// request id at a glance (ids may not start with it).
pub const TOKEN_PREFIX: &str = "rqt_";

/// Defines a newtype around a secret string whose `Debug` is `[redacted]`.
macro_rules! secret_string {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            /// Wraps a value received from outside (the network, a store).
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The value itself, for the one place that must send or seal it.
            pub fn expose(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }
    };
}

secret_string!(
    /// The OAuth client secret (`client_secret_basic`).
    ClientSecret
);
secret_string!(
    /// The `state` of an authorization request: 256 random bits that bind the
    /// callback to the transaction and the session (RFC 6749 §10.12).
    State
);
secret_string!(
    /// The OpenID-style `nonce` sent with the authorization request.
    Nonce
);
secret_string!(
    /// The PKCE code verifier (RFC 7636): never leaves the backend.
    PkceVerifier
);
secret_string!(
    /// An authorization code from the callback.
    AuthorizationCode
);
secret_string!(
    /// An access token: kept in memory for one retrieval, or sealed for a
    /// one-time consent until its retrieval.
    AccessToken
);
secret_string!(
    /// A refresh token: single-use, sealed at rest, rotated on every use.
    RefreshToken
);
secret_string!(
    /// The session id in the `myna_session` cookie. The store keeps only its
    /// hash.
    SessionId
);
secret_string!(
    /// The key the operator's own server presents (`Authorization: Bearer`)
    /// to create request tokens.
    ServerApiKey
);
secret_string!(
    /// A request token (`rqt_…`): a request the operator's server defined
    /// for one citizen, single-use. The store keeps only its hash.
    RequestToken
);

impl ServerApiKey {
    /// Whether `presented` is this key, compared in constant time.
    pub fn matches(&self, presented: &str) -> bool {
        use subtle::ConstantTimeEq as _;
        // Hashing first makes the comparison length-independent too.
        let (a, b) = (sha256_hex(&self.0), sha256_hex(presented));
        a.as_bytes().ct_eq(b.as_bytes()).into()
    }
}

impl RequestToken {
    /// A fresh token: `rqt_` and 256 random bits.
    pub fn generate() -> Self {
        Self(format!("{}{}", TOKEN_PREFIX, random_token()))
    }

    /// SHA-256 of the token: what the store keeps.
    pub fn hash(&self) -> String {
        sha256_hex(&self.0)
    }
}

/// `n` random bytes from the thread's CSPRNG (ChaCha, seeded from the OS).
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

/// 256 random bits as base64url without padding (43 characters).
pub(crate) fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

/// A random UUID (version 4) for consent, receipt and retrieval ids: 122
/// random bits, in the form receipts conventionally carry.
pub(crate) fn random_uuid() -> String {
    let mut b = random_bytes::<16>();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|byte| format!("{byte:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// SHA-256, lowercase hex: how the store keys sessions and states, so a copy
/// of the database does not hand out live values.
pub(crate) fn sha256_hex(value: &str) -> String {
    Sha256::digest(value.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

impl PkceVerifier {
    /// A fresh verifier: 32 random bytes, base64url (RFC 7636 §4.1).
    pub fn generate() -> Self {
        Self(random_token())
    }

    /// The S256 challenge: base64url(SHA-256(verifier)) (RFC 7636 §4.2).
    pub fn challenge(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.0.as_bytes()))
    }
}

impl State {
    /// A fresh state: 256 random bits.
    pub fn generate() -> Self {
        Self(random_token())
    }

    /// The hash the store keys the transaction by.
    pub fn hash(&self) -> String {
        sha256_hex(&self.0)
    }
}

impl Nonce {
    /// A fresh nonce: 256 random bits.
    pub fn generate() -> Self {
        Self(random_token())
    }
}

impl SessionId {
    /// A fresh session id: 256 random bits.
    pub fn generate() -> Self {
        Self(random_token())
    }

    /// A session id read from a cookie, if it has the shape this backend
    /// issues (43 base64url characters); anything else is ignored.
    pub fn from_cookie(value: &str) -> Option<Self> {
        let well_formed = value.len() == 43
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        well_formed.then(|| Self(value.to_owned()))
    }

    /// The hash the store keeps instead of the id.
    pub fn hash(&self) -> String {
        sha256_hex(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_the_secret() {
        let token = RefreshToken::new("rt-very-secret");
        let printed = format!("{token:?}");
        assert_eq!(printed, "RefreshToken([redacted])");
        assert!(!format!("{:?}", ClientSecret::new("s3cret")).contains("s3cret"));
    }

    #[test]
    fn pkce_challenge_matches_rfc_7636_appendix_b() {
        let verifier = PkceVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        assert_eq!(
            verifier.challenge(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn generated_values_are_256_bits_and_distinct() {
        let a = State::generate();
        let b = State::generate();
        assert_eq!(a.expose().len(), 43);
        assert_ne!(a, b);
        assert_eq!(PkceVerifier::generate().expose().len(), 43);
    }

    #[test]
    fn session_cookie_must_have_the_issued_shape() {
        assert!(SessionId::from_cookie(SessionId::generate().expose()).is_some());
        assert!(SessionId::from_cookie("short").is_none());
        assert!(SessionId::from_cookie(&"a".repeat(42)).is_none());
        assert!(SessionId::from_cookie(&format!("{}=", "a".repeat(42))).is_none());
    }

    #[test]
    fn uuid_has_version_4_form() {
        let id = random_uuid();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"));
    }
}
