//! The authority's configuration: its own settings, the registered clients
//! (operators) and the test citizens, read from the `sandbox.json` shape
//! described in `docs/sandbox.md`.

use std::fmt;

use serde::Deserialize;

/// Why a configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The text is not JSON of the expected shape.
    #[error("the configuration is not valid: {0}")]
    Json(#[from] serde_json::Error),
    /// A field has a value the authority cannot work with.
    #[error("{field}: {reason}")]
    Invalid {
        /// The JSON path of the field, e.g. `clients[0].redirectUris[1]`.
        field: String,
        /// What is wrong, in plain words.
        reason: String,
    },
}

impl ConfigError {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Json(_) => "config_json",
            Self::Invalid { .. } => "config_invalid",
        }
    }

    fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// Everything the authority needs to know before it starts.
#[derive(Debug, Clone)]
pub struct AuthorityConfig {
    /// The authority's own settings.
    pub authority: AuthoritySettings,
    /// The registered clients (operators), by `client_id`.
    pub clients: Vec<ClientConfig>,
    /// The test citizens who can sign in.
    pub citizens: Vec<Citizen>,
}

/// The authority's own settings (`"authority"` in `sandbox.json`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuthoritySettings {
    /// The issuer identifier (RFC 8414), also the base URL of every endpoint,
    /// without a trailing slash, e.g. `http://localhost:8081`.
    pub issuer: String,
    /// Whether `/authorize` accepts only request_uris from PAR (RFC 9126).
    #[serde(default = "default_true")]
    pub require_pushed_authorization_requests: bool,
    /// Requests per second per client when the client sets none.
    #[serde(default = "default_tps")]
    pub tps: u32,
    /// How long an authorization code lives.
    #[serde(default = "default_code_lifetime")]
    pub code_lifetime_seconds: u32,
    /// How long an access token lives (never past the end of its grant).
    #[serde(default = "default_access_token_lifetime")]
    pub access_token_lifetime_seconds: u32,
    /// How long after a rotation the refresh token just rotated may be
    /// presented again by the same client (and DPoP key) and get the same
    /// successor back, so that a lost answer does not end the grant. `0`
    /// turns the grace off: any second use ends the grant as compromised.
    #[serde(default = "default_refresh_token_reuse_grace")]
    pub refresh_token_reuse_grace_seconds: u32,
}

fn default_true() -> bool {
    true
}
fn default_tps() -> u32 {
    5
}
fn default_code_lifetime() -> u32 {
    60
}
fn default_access_token_lifetime() -> u32 {
    600
}
fn default_refresh_token_reuse_grace() -> u32 {
    30
}

/// A registered client: one operator approved to use the API.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientConfig {
    /// The OAuth `client_id`.
    pub client_id: String,
    /// The operator's registered name, the only name the consent page shows.
    pub name: String,
    /// The registered name in English; the Japanese name when absent.
    #[serde(default)]
    pub name_en: Option<String>,
    /// The id of the operator's approval to use the Mynaportal API.
    pub approval_id: String,
    /// The redirect URIs, compared exactly (RFC 9700 §4.1.3).
    pub redirect_uris: Vec<String>,
    /// How the client authenticates at `/par`, `/token` and `/revoke`.
    pub auth: ClientAuth,
    /// Requests per second for this client; the authority default when absent.
    #[serde(default)]
    pub tps: Option<u32>,
    /// Whether the client must prove possession of a key with DPoP
    /// (RFC 9449) at the token endpoint, so that all its tokens are bound to
    /// that key. A client without it still gets bound tokens when it sends a
    /// proof.
    #[serde(default)]
    pub dpop_bound_access_tokens: bool,
}

impl ClientConfig {
    /// The registered name in `locale`.
    pub fn display_name(&self, locale: myna_consent::i18n::Locale) -> &str {
        match (locale, &self.name_en) {
            (myna_consent::i18n::Locale::En, Some(en)) if !en.is_empty() => en,
            _ => &self.name,
        }
    }
}

/// How a client authenticates.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientAuth {
    /// HTTP Basic with a shared secret (RFC 6749 §2.3.1).
    ClientSecretBasic {
        /// The shared secret.
        secret: ClientSecret,
    },
    /// A JWT signed with the client's private key (RFC 7523 §2.2), ES256.
    PrivateKeyJwt {
        /// The client's public keys.
        jwks: Jwks,
    },
}

/// A JSON Web Key Set (RFC 7517 §5).
#[derive(Debug, Clone, Deserialize)]
pub struct Jwks {
    /// The keys.
    pub keys: Vec<Jwk>,
}

/// A public key as a JWK (RFC 7517). Only EC P-256 keys are used; other
/// members of a JWK are ignored.
#[derive(Debug, Clone, Deserialize)]
pub struct Jwk {
    /// Key type; `EC`.
    pub kty: String,
    /// Curve; `P-256`.
    #[serde(default)]
    pub crv: Option<String>,
    /// Key id, matched against the assertion's `kid`.
    #[serde(default)]
    pub kid: Option<String>,
    /// The x coordinate, base64url.
    #[serde(default)]
    pub x: Option<String>,
    /// The y coordinate, base64url.
    #[serde(default)]
    pub y: Option<String>,
}

impl Jwk {
    /// The uncompressed SEC1 point (`04 || x || y`) of an EC P-256 key.
    pub fn p256_point(&self) -> Option<Vec<u8>> {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine as _;
        if self.kty != "EC" || self.crv.as_deref() != Some("P-256") {
            return None;
        }
        let x = URL_SAFE_NO_PAD.decode(self.x.as_deref()?).ok()?;
        let y = URL_SAFE_NO_PAD.decode(self.y.as_deref()?).ok()?;
        if x.len() != 32 || y.len() != 32 {
            return None;
        }
        let mut point = Vec::with_capacity(65);
        point.push(4);
        point.extend_from_slice(&x);
        point.extend_from_slice(&y);
        Some(point)
    }
}

/// A client secret. Its `Debug` never prints it.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct ClientSecret(String);

impl ClientSecret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself, for comparison only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret([redacted])")
    }
}

/// A test citizen with a My Number card.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Citizen {
    /// Stable id, e.g. `citizen-001`.
    pub id: String,
    /// The name as the sign-in page shows it.
    pub name: String,
    /// The name in English; the Japanese name when absent.
    #[serde(default)]
    pub name_en: Option<String>,
    /// The card's 4-digit PIN (利用者証明用電子証明書の暗証番号).
    pub pin: Pin,
}

impl Citizen {
    /// The name in `locale`.
    pub fn display_name(&self, locale: myna_consent::i18n::Locale) -> &str {
        match (locale, &self.name_en) {
            (myna_consent::i18n::Locale::En, Some(en)) if !en.is_empty() => en,
            _ => &self.name,
        }
    }
}

/// A card PIN. Its `Debug` never prints it.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Pin(String);

impl Pin {
    /// Wraps a PIN.
    pub fn new(pin: impl Into<String>) -> Self {
        Self(pin.into())
    }

    /// The PIN itself, for comparison only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin([redacted])")
    }
}

/// The whole `sandbox.json`; `operators` belongs to the operator backend and
/// is not read here.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SandboxFile {
    authority: AuthoritySettings,
    #[serde(default)]
    clients: Vec<ClientConfig>,
    #[serde(default)]
    citizens: Vec<Citizen>,
}

impl AuthorityConfig {
    /// Reads the whole `sandbox.json` shape, ignoring `operators`, and checks
    /// what serde cannot: an absolute issuer, unique ids, absolute redirect
    /// URIs without fragments, 4-digit PINs.
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        let file: SandboxFile = serde_json::from_str(text)?;
        let mut config = Self {
            authority: file.authority,
            clients: file.clients,
            citizens: file.citizens,
        };
        config.authority.issuer = normalize_issuer(&config.authority.issuer)?;
        config.check()?;
        Ok(config)
    }

    /// Replaces the issuer (e.g. with the address a test server bound).
    pub fn set_issuer(&mut self, issuer: &str) -> Result<(), ConfigError> {
        self.authority.issuer = normalize_issuer(issuer)?;
        Ok(())
    }

    /// The client with this id.
    pub fn client(&self, client_id: &str) -> Option<&ClientConfig> {
        self.clients.iter().find(|c| c.client_id == client_id)
    }

    /// The citizen with this id.
    pub fn citizen(&self, citizen_id: &str) -> Option<&Citizen> {
        self.citizens.iter().find(|c| c.id == citizen_id)
    }

    fn check(&self) -> Result<(), ConfigError> {
        if self.authority.tps == 0 {
            return Err(ConfigError::invalid("authority.tps", "must be at least 1"));
        }
        if self.authority.code_lifetime_seconds == 0 {
            return Err(ConfigError::invalid(
                "authority.codeLifetimeSeconds",
                "must be at least 1",
            ));
        }
        if self.authority.access_token_lifetime_seconds == 0 {
            return Err(ConfigError::invalid(
                "authority.accessTokenLifetimeSeconds",
                "must be at least 1",
            ));
        }
        for (i, client) in self.clients.iter().enumerate() {
            let field = format!("clients[{i}]");
            if client.client_id.is_empty() {
                return Err(ConfigError::invalid(
                    format!("{field}.clientId"),
                    "is empty",
                ));
            }
            if self.clients[..i]
                .iter()
                .any(|c| c.client_id == client.client_id)
            {
                return Err(ConfigError::invalid(
                    format!("{field}.clientId"),
                    "is registered twice",
                ));
            }
            if client.tps == Some(0) {
                return Err(ConfigError::invalid(
                    format!("{field}.tps"),
                    "must be at least 1",
                ));
            }
            if client.redirect_uris.is_empty() {
                return Err(ConfigError::invalid(
                    format!("{field}.redirectUris"),
                    "needs at least one redirect URI",
                ));
            }
            for (j, uri) in client.redirect_uris.iter().enumerate() {
                let ok = url::Url::parse(uri)
                    .map(|u| {
                        matches!(u.scheme(), "http" | "https")
                            && u.fragment().is_none()
                            && u.host().is_some()
                    })
                    .unwrap_or(false);
                if !ok {
                    return Err(ConfigError::invalid(
                        format!("{field}.redirectUris[{j}]"),
                        "must be an absolute http(s) URL without a fragment",
                    ));
                }
            }
            match &client.auth {
                ClientAuth::ClientSecretBasic { secret } => {
                    if secret.expose().is_empty() {
                        return Err(ConfigError::invalid(
                            format!("{field}.auth.secret"),
                            "is empty",
                        ));
                    }
                }
                ClientAuth::PrivateKeyJwt { jwks } => {
                    if jwks.keys.is_empty() || jwks.keys.iter().any(|k| k.p256_point().is_none()) {
                        return Err(ConfigError::invalid(
                            format!("{field}.auth.jwks"),
                            "needs EC P-256 keys with x and y",
                        ));
                    }
                }
            }
        }
        for (i, citizen) in self.citizens.iter().enumerate() {
            if self.citizens[..i].iter().any(|c| c.id == citizen.id) {
                return Err(ConfigError::invalid(
                    format!("citizens[{i}].id"),
                    "is used twice",
                ));
            }
            let pin = citizen.pin.expose();
            if pin.len() != 4 || !pin.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ConfigError::invalid(
                    format!("citizens[{i}].pin"),
                    "must be 4 digits",
                ));
            }
        }
        Ok(())
    }
}

/// An issuer is an https (or loopback http) URL with no query or fragment
/// (RFC 8414 §2); it is kept without a trailing slash so endpoint URLs can be
/// built by appending a path.
fn normalize_issuer(issuer: &str) -> Result<String, ConfigError> {
    let parsed = url::Url::parse(issuer)
        .map_err(|_| ConfigError::invalid("authority.issuer", "is not an absolute URL"))?;
    if !matches!(parsed.scheme(), "http" | "https")
        || parsed.query().is_some()
        || parsed.fragment().is_some()
        || parsed.host().is_none()
    {
        return Err(ConfigError::invalid(
            "authority.issuer",
            "must be an http(s) URL without query or fragment",
        ));
    }
    Ok(issuer.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{
      "authority": {"issuer": "http://localhost:8081/", "requirePushedAuthorizationRequests": true,
                    "tps": 5, "codeLifetimeSeconds": 60, "accessTokenLifetimeSeconds": 600},
      "clients": [{"clientId": "demo-phr", "name": "すこやか手帳株式会社", "nameEn": "Sukoyaka Techo Inc.",
                   "approvalId": "MPA-2025-0123", "redirectUris": ["http://127.0.0.1:8080/phr/callback.html"],
                   "auth": {"method": "client_secret_basic", "secret": "sandbox-secret-phr"}, "tps": 5}],
      "citizens": [{"id": "citizen-001", "name": "デジタル 太郎", "nameEn": "Taro Digital", "pin": "1234"}],
      "operators": [{"basePath": "/phr/myna"}]
    }"#;

    #[test]
    fn reads_the_sandbox_file_and_ignores_operators() {
        let config = AuthorityConfig::from_json(SAMPLE).expect("valid");
        assert_eq!(config.authority.issuer, "http://localhost:8081");
        assert_eq!(config.clients.len(), 1);
        assert_eq!(config.citizens[0].id, "citizen-001");
    }

    #[test]
    fn secrets_never_print() {
        let config = AuthorityConfig::from_json(SAMPLE).expect("valid");
        let printed = format!("{config:?}");
        assert!(!printed.contains("sandbox-secret-phr"));
        assert!(!printed.contains("1234"));
    }

    #[test]
    fn refuses_a_pin_that_is_not_four_digits() {
        let text = SAMPLE.replace("\"1234\"", "\"12a4\"");
        let error = AuthorityConfig::from_json(&text).expect_err("invalid");
        assert_eq!(error.code(), "config_invalid");
    }

    #[test]
    fn reads_the_grace_and_the_dpop_flag_with_their_defaults() {
        let config = AuthorityConfig::from_json(SAMPLE).expect("valid");
        assert_eq!(config.authority.refresh_token_reuse_grace_seconds, 30);
        assert!(!config.clients[0].dpop_bound_access_tokens);
        let text = SAMPLE
            .replace(
                r#""accessTokenLifetimeSeconds": 600"#,
                r#""accessTokenLifetimeSeconds": 600, "refreshTokenReuseGraceSeconds": 0"#,
            )
            .replace(
                r#""tps": 5}]"#,
                r#""tps": 5, "dpopBoundAccessTokens": true}]"#,
            );
        let config = AuthorityConfig::from_json(&text).expect("valid");
        assert_eq!(config.authority.refresh_token_reuse_grace_seconds, 0);
        assert!(config.clients[0].dpop_bound_access_tokens);
    }

    #[test]
    fn refuses_an_unsupported_auth_method() {
        let text = SAMPLE.replace("client_secret_basic", "client_secret_post");
        assert!(AuthorityConfig::from_json(&text).is_err());
    }
}
