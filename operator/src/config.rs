//! The `operators` entries of `sandbox.json`: one [`OperatorConfig`] per
//! mounted backend, checked when read so that a typo fails at start, not at
//! the first citizen's callback. Every consent request the backend offers is
//! defined here and validated at start with the domain's validator: a bad
//! one stops start-up with every problem listed.

use std::collections::BTreeMap;
use std::time::Duration;

use myna_consent::i18n::Locale;
use myna_consent::request::Operator as OperatorIdentity;
use serde::Deserialize;
use serde_json::Value;

use crate::oauth::{ClientCredentials, ClientSettings};
use crate::proof::{ClientKey, DpopKey};
use crate::requests::{Mode, RecipientIdentity, RequestCatalogue};
use crate::secret::{ClientSecret, ServerApiKey};
use crate::users::{self, UserSource};
use crate::webhooks::WebhookTarget;

/// One operator backend: where it is mounted, which authority it talks to,
/// as which OAuth client, who the operator is, which requests it offers,
/// and how it learns who the citizen is.
#[derive(Debug, Clone)]
pub struct OperatorConfig {
    /// The path the backend is mounted at, e.g. `/phr/myna` (no trailing
    /// slash). Also the session cookie's `Path`.
    pub base_path: String,
    /// The authority's issuer identifier; its RFC 8414 metadata is found
    /// from it, and the callback's `iss` must equal it.
    pub issuer: String,
    /// The OAuth client id registered at the authority.
    pub client_id: String,
    /// How the client authenticates: `client_secret_basic` with
    /// `clientSecret` (or `clientSecretEnv`), or `private_key_jwt` with the
    /// key of `clientAuth`.
    pub credentials: ClientCredentials,
    /// The redirect URI registered at the authority (the operator's
    /// callback page).
    pub redirect_uri: String,
    /// The scopes asked for with every authorization (`scopes`); with
    /// `openid`, the ID token is checked.
    pub scopes: Vec<String>,
    /// The DPoP key (`dpop`), when tokens are to be sender-constrained.
    pub dpop: Option<DpopKey>,
    /// The authority's reuse grace window for a just-rotated refresh token
    /// (`refreshReuseGraceSeconds`); zero when it has none.
    pub refresh_reuse_grace: Duration,
    /// The operator's origin (`scheme://host[:port]`): every POST from a
    /// page must carry it in `Origin`.
    pub origin: String,
    /// Sandbox or production.
    pub mode: Mode,
    /// Who the operator is: shown on every consent screen and written into
    /// every consent and receipt. Never taken from a page.
    pub identity: OperatorIdentity,
    /// The named consent requests, validated.
    pub requests: RequestCatalogue,
    /// Where revocations are announced to onward recipients, by recipient id.
    pub webhooks: BTreeMap<String, WebhookTarget>,
    /// How the backend learns who the citizen is.
    pub users: UserSource,
    /// The key the operator's own server presents to create request tokens;
    /// none means request tokens are off.
    pub server_api_key: Option<ServerApiKey>,
    /// Limits on starting authorizations and on calls to the authority.
    pub limits: Limits,
    /// Proxies whose `X-Forwarded-For` (and identity header) are believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// How often an active linkage is retrieved without a browser
    /// (`retrievalSchedule.everyHours`, default 24).
    pub retrieval_every: Duration,
    /// Days retrieved data is kept after a consent ends, for requests that
    /// state none of their own (`retentionDays`); none: kept.
    pub retention_days: Option<u32>,
}

impl OperatorConfig {
    /// The OAuth client's settings.
    pub fn client_settings(&self) -> ClientSettings {
        ClientSettings {
            issuer: self.issuer.clone(),
            client_id: self.client_id.clone(),
            credentials: self.credentials.clone(),
            redirect_uri: self.redirect_uri.clone(),
            scopes: self.scopes.clone(),
            dpop: self.dpop.clone(),
            refresh_reuse_grace: self.refresh_reuse_grace,
        }
    }

    /// Whether the session cookie must be `Secure` (the origin is https).
    pub fn secure_cookie(&self) -> bool {
        self.origin.starts_with("https://")
    }

    /// Whether `address` is one of the trusted proxies.
    pub fn is_trusted_proxy(&self, address: std::net::IpAddr) -> bool {
        self.trusted_proxies
            .iter()
            .any(|net| net.contains(&address))
    }
}

/// Limits that keep anonymous callers from spending the operator's quota
/// at the authority.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Authorizations one citizen (session or user) may start per minute,
    /// also the burst.
    pub starts_per_minute_per_user: u32,
    /// Authorizations one client address may start per minute, also the
    /// burst.
    pub starts_per_minute_per_address: u32,
    /// Calls per second the authority allows this client (its per-client
    /// TPS). New starts may use only part of it, so that code exchanges,
    /// revocations and retrievals always find room.
    pub authority_tps: u32,
    /// How long a request token lives.
    pub request_token_lifetime: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            starts_per_minute_per_user: 5,
            starts_per_minute_per_address: 20,
            authority_tps: 5,
            request_token_lifetime: Duration::from_secs(30 * 60),
        }
    }
}

/// Why the operator configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The text is not JSON of the expected shape.
    #[error("the configuration is not valid JSON of the sandbox.json shape: {0}")]
    Json(String),
    /// A field has a value the backend cannot work with.
    #[error("operators[{index}].{field}: {reason}")]
    Field {
        /// The entry's position in `operators`.
        index: usize,
        /// The field, in the JSON's spelling.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// An environment variable named in the configuration is not set.
    #[error("operators[{index}].{field}: the environment variable {name} is not set")]
    MissingSecretEnv {
        /// The entry's position in `operators`.
        index: usize,
        /// The field that names the variable.
        field: String,
        /// The variable.
        name: String,
    },
    /// Two entries are mounted at the same path.
    #[error("operators[{index}].basePath: {base_path} is used twice")]
    DuplicateBasePath {
        /// The second entry's position.
        index: usize,
        /// The path.
        base_path: String,
    },
    /// The operator's identity or some consent requests break the rules;
    /// every problem is listed, one per line.
    #[error("operators[{index}]: the consent requests have {} problem(s):\n{}", .problems.len(), .problems.join("\n"))]
    Requests {
        /// The entry's position in `operators`.
        index: usize,
        /// `path: code: message`, one per problem.
        problems: Vec<String>,
    },
}

impl ConfigError {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Json(_) => "config_json",
            Self::Field { .. } => "config_field",
            Self::MissingSecretEnv { .. } => "config_secret_env",
            Self::DuplicateBasePath { .. } => "config_duplicate_base_path",
            Self::Requests { .. } => "config_requests",
        }
    }
}

#[derive(Deserialize)]
struct File {
    #[serde(default)]
    operators: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Entry {
    base_path: String,
    issuer: String,
    client_id: String,
    #[serde(default)]
    client_secret: Option<String>,
    #[serde(default)]
    client_secret_env: Option<String>,
    #[serde(default)]
    client_auth: Option<ClientAuthEntry>,
    redirect_uri: String,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    dpop: Option<KeyEntry>,
    #[serde(default)]
    refresh_reuse_grace_seconds: Option<u64>,
    origin: String,
    operator: IdentityEntry,
    #[serde(default)]
    requests: BTreeMap<String, Value>,
    #[serde(default)]
    recipients: BTreeMap<String, RecipientEntry>,
    #[serde(default)]
    users: Option<Value>,
    #[serde(default)]
    server_api_key: Option<String>,
    #[serde(default)]
    server_api_key_env: Option<String>,
    #[serde(default)]
    limits: LimitsEntry,
    #[serde(default)]
    trusted_proxies: Vec<String>,
    #[serde(default)]
    retrieval_schedule: Option<ScheduleEntry>,
    #[serde(default)]
    retention_days: Option<u32>,
}

/// `retrievalSchedule`: how often a linkage retrieves on its own.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ScheduleEntry {
    every_hours: u64,
}

/// `clientAuth`: how the client authenticates, when not by
/// `client_secret_basic` with `clientSecret`.
#[derive(Deserialize)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
enum ClientAuthEntry {
    /// The default, spelled out.
    ClientSecretBasic,
    /// RFC 7523 §2.2 with the operator's private key.
    PrivateKeyJwt {
        /// `ES256` or `PS256`.
        algorithm: String,
        /// The `kid` the authority knows the key by.
        #[serde(default, rename = "keyId")]
        key_id: Option<String>,
        /// The PKCS#8 PEM inline (sandbox only).
        #[serde(default, rename = "privateKeyPem")]
        private_key_pem: Option<String>,
        /// The environment variable that holds the PEM.
        #[serde(default, rename = "privateKeyEnv")]
        private_key_env: Option<String>,
        /// The file that holds the PEM (a mounted secret).
        #[serde(default, rename = "privateKeyFile")]
        private_key_file: Option<String>,
    },
}

/// A private key in PKCS#8 PEM: inline (sandbox only), from an environment
/// variable, or from a file (a mounted secret): exactly one of the three.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct KeyEntry {
    #[serde(default)]
    private_key_pem: Option<String>,
    #[serde(default)]
    private_key_env: Option<String>,
    #[serde(default)]
    private_key_file: Option<String>,
}

impl KeyEntry {
    /// The PEM; `Err` names the field.
    fn read(&self, index: usize, at: &str, mode: Mode) -> Result<String, ConfigError> {
        let field = |name: &str, reason: String| ConfigError::Field {
            index,
            field: format!("{at}.{name}"),
            reason,
        };
        match (
            &self.private_key_pem,
            &self.private_key_env,
            &self.private_key_file,
        ) {
            // A private key written into the configuration file travels
            // with every copy of it: the sandbox only.
            (Some(_), None, None) if mode == Mode::Production => Err(field(
                "privateKeyPem",
                "an inline key is for the sandbox; give privateKeyFile or privateKeyEnv".into(),
            )),
            (Some(pem), None, None) => Ok(pem.clone()),
            (None, Some(name), None) => match std::env::var(name) {
                Ok(pem) if !pem.is_empty() => Ok(pem),
                _ => Err(ConfigError::MissingSecretEnv {
                    index,
                    field: format!("{at}.privateKeyEnv"),
                    name: name.clone(),
                }),
            },
            (None, None, Some(path)) => std::fs::read_to_string(path)
                .map_err(|e| field("privateKeyFile", format!("{path} cannot be read: {e}"))),
            _ => Err(field(
                "privateKeyPem",
                "give exactly one of privateKeyPem, privateKeyEnv and privateKeyFile".into(),
            )),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct IdentityEntry {
    name: String,
    contact: String,
    privacy_policy_url: String,
    approval_id: String,
}

/// A recipient as configured: its identity (validated where a request names
/// it) and where to announce revocations.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RecipientEntry {
    name: String,
    contact: String,
    privacy_policy_url: String,
    #[serde(default)]
    approval_id: Option<String>,
    #[serde(default)]
    webhook: Option<WebhookEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct WebhookEntry {
    url: String,
    #[serde(default)]
    secret: Option<String>,
    #[serde(default)]
    secret_env: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct LimitsEntry {
    #[serde(default)]
    starts_per_minute_per_user: Option<u32>,
    #[serde(default)]
    starts_per_minute_per_address: Option<u32>,
    #[serde(default)]
    authority_tps: Option<u32>,
    #[serde(default)]
    request_token_lifetime_seconds: Option<u64>,
}

/// Reads the `operators` array of a `sandbox.json` text (the rest belongs to
/// the authority and is ignored). No `operators` means no backend.
pub fn configs_from_json(text: &str, mode: Mode) -> Result<Vec<OperatorConfig>, ConfigError> {
    let file: File = serde_json::from_str(text).map_err(|e| ConfigError::Json(e.to_string()))?;
    let mut configs: Vec<OperatorConfig> = Vec::with_capacity(file.operators.len());
    for (index, entry) in file.operators.into_iter().enumerate() {
        let config = entry.check(index, mode)?;
        if configs.iter().any(|c| c.base_path == config.base_path) {
            return Err(ConfigError::DuplicateBasePath {
                index,
                base_path: config.base_path,
            });
        }
        configs.push(config);
    }
    Ok(configs)
}

/// A secret given inline (sandbox) or through the environment (production):
/// exactly one of the two.
fn secret_value(
    index: usize,
    field: &str,
    inline: Option<String>,
    env: Option<String>,
) -> Result<Option<String>, ConfigError> {
    match (inline, env) {
        (None, None) => Ok(None),
        (Some(secret), None) if !secret.is_empty() => Ok(Some(secret)),
        (None, Some(name)) => match std::env::var(&name) {
            Ok(secret) if !secret.is_empty() => Ok(Some(secret)),
            _ => Err(ConfigError::MissingSecretEnv {
                index,
                field: format!("{field}Env"),
                name,
            }),
        },
        _ => Err(ConfigError::Field {
            index,
            field: field.to_owned(),
            reason: format!("give exactly one of {field} and {field}Env"),
        }),
    }
}

impl Entry {
    fn check(self, index: usize, mode: Mode) -> Result<OperatorConfig, ConfigError> {
        let field = |field: &str, reason: &str| ConfigError::Field {
            index,
            field: field.to_owned(),
            reason: reason.to_owned(),
        };
        let base_path_ok = self.base_path.starts_with('/')
            && self.base_path.len() > 1
            && !self.base_path.ends_with('/')
            && !self.base_path.contains(['?', '#', '{', '}', '*', ' ']);
        if !base_path_ok {
            return Err(field(
                "basePath",
                "must be a path like /site/myna, without a trailing slash",
            ));
        }
        check_url(&self.issuer, true).map_err(|reason| field("issuer", reason))?;
        if self.issuer.ends_with('/') || self.issuer.contains(['?', '#']) {
            return Err(field(
                "issuer",
                "an issuer has no trailing slash, query or fragment (RFC 8414)",
            ));
        }
        if self.client_id.trim().is_empty() {
            return Err(field("clientId", "must not be empty"));
        }
        check_url(&self.redirect_uri, false).map_err(|reason| field("redirectUri", reason))?;
        let origin = check_origin(&self.origin).map_err(|reason| field("origin", reason))?;
        let client_secret = secret_value(
            index,
            "clientSecret",
            self.client_secret,
            self.client_secret_env,
        )?
        .map(ClientSecret::new);
        let credentials = match (self.client_auth, client_secret) {
            (None | Some(ClientAuthEntry::ClientSecretBasic), Some(secret)) => {
                ClientCredentials::SecretBasic(secret)
            }
            (None | Some(ClientAuthEntry::ClientSecretBasic), None) => {
                return Err(field(
                    "clientSecret",
                    "give exactly one of clientSecret and clientSecretEnv",
                ))
            }
            (
                Some(ClientAuthEntry::PrivateKeyJwt {
                    algorithm,
                    key_id,
                    private_key_pem,
                    private_key_env,
                    private_key_file,
                }),
                None,
            ) => {
                let key = KeyEntry {
                    private_key_pem,
                    private_key_env,
                    private_key_file,
                };
                let pem = key.read(index, "clientAuth", mode)?;
                let key = ClientKey::from_pem(&algorithm, &pem, key_id)
                    .map_err(|problem| field("clientAuth", &problem.to_string()))?;
                ClientCredentials::PrivateKeyJwt(key)
            }
            (Some(ClientAuthEntry::PrivateKeyJwt { .. }), Some(_)) => {
                return Err(field(
                    "clientSecret",
                    "a client that authenticates with private_key_jwt has no client secret",
                ))
            }
        };
        let mut scopes = Vec::with_capacity(self.scopes.len());
        for (i, scope) in self.scopes.into_iter().enumerate() {
            // RFC 6749 §3.3: printable ASCII without space, quote or
            // backslash.
            let valid = !scope.is_empty()
                && scope
                    .bytes()
                    .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b));
            if !valid {
                return Err(field(
                    &format!("scopes[{i}]"),
                    "a scope is printable ASCII without spaces, quotes or backslashes",
                ));
            }
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
        let dpop = self
            .dpop
            .map(|key| {
                let pem = key.read(index, "dpop", mode)?;
                DpopKey::from_pem(&pem).map_err(|problem| field("dpop", &problem.to_string()))
            })
            .transpose()?;
        if self
            .retention_days
            .is_some_and(|days| !(1..=36_500).contains(&days))
        {
            return Err(field(
                "retentionDays",
                "must be a whole number from 1 to 36500",
            ));
        }
        let retrieval_every = match self.retrieval_schedule {
            None => Duration::from_secs(24 * 3600),
            Some(ScheduleEntry { every_hours }) if (1..=720).contains(&every_hours) => {
                Duration::from_secs(every_hours * 3600)
            }
            Some(_) => {
                return Err(field(
                    "retrievalSchedule.everyHours",
                    "must be between 1 and 720 (30 days)",
                ))
            }
        };
        let refresh_reuse_grace =
            match self.refresh_reuse_grace_seconds {
                Some(seconds) if seconds > 300 => return Err(field(
                    "refreshReuseGraceSeconds",
                    "must be at most 300 (the authority's grace window, usually under a minute)",
                )),
                Some(seconds) => Duration::from_secs(seconds),
                None => Duration::ZERO,
            };
        let server_api_key = secret_value(
            index,
            "serverApiKey",
            self.server_api_key,
            self.server_api_key_env,
        )?
        .map(|key| {
            if key.len() < 32 {
                Err(field(
                    "serverApiKey",
                    "must be at least 32 characters (use 256 random bits)",
                ))
            } else {
                Ok(ServerApiKey::new(key))
            }
        })
        .transpose()?;
        let trusted_proxies = self
            .trusted_proxies
            .iter()
            .enumerate()
            .map(|(i, text)| {
                text.parse::<ipnet::IpNet>()
                    .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        field(
                            &format!("trustedProxies[{i}]"),
                            "must be an IP address or a CIDR range",
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let users = users::from_config(self.users.as_ref()).map_err(|(at, reason)| {
            let at = if at.is_empty() {
                "users".to_owned()
            } else {
                format!("users.{at}")
            };
            field(&at, &reason)
        })?;
        if matches!(users, UserSource::Header { .. }) && trusted_proxies.is_empty() {
            return Err(field(
                "trustedProxies",
                "an identity header is believed only from trusted proxies: list them",
            ));
        }
        let limits = self
            .limits
            .check()
            .map_err(|(at, reason)| field(&format!("limits.{at}"), reason))?;

        let mut webhooks = BTreeMap::new();
        for (id, recipient) in &self.recipients {
            let Some(hook) = &recipient.webhook else {
                continue;
            };
            let at = format!("recipients.{id}.webhook");
            check_url(&hook.url, true).map_err(|reason| field(&format!("{at}.url"), reason))?;
            let secret = secret_value(
                index,
                &format!("{at}.secret"),
                hook.secret.clone(),
                hook.secret_env.clone(),
            )?
            .ok_or_else(|| field(&format!("{at}.secret"), "give secret or secretEnv"))?;
            let target = WebhookTarget::new(&hook.url, &secret).map_err(|_| {
                field(
                    &format!("{at}.secret"),
                    "must be a Standard Webhooks secret: whsec_ and base64 of 24 to 64 bytes",
                )
            })?;
            webhooks.insert(id.clone(), target);
        }

        let identity = OperatorIdentity {
            name: self.operator.name,
            contact: self.operator.contact,
            privacy_policy_url: self.operator.privacy_policy_url,
            approval_id: self.operator.approval_id,
        };
        let recipients = self
            .recipients
            .into_iter()
            .map(|(id, r)| {
                let identity = RecipientIdentity {
                    name: r.name,
                    contact: r.contact,
                    privacy_policy_url: r.privacy_policy_url,
                    approval_id: r.approval_id.filter(|id| !id.is_empty()),
                };
                (id, identity)
            })
            .collect();
        let catalogue =
            RequestCatalogue::compile(&identity, &self.requests, recipients, mode, Locale::En)
                .map_err(|problems| ConfigError::Requests { index, problems })?;

        Ok(OperatorConfig {
            base_path: self.base_path,
            issuer: self.issuer,
            client_id: self.client_id,
            credentials,
            redirect_uri: self.redirect_uri,
            scopes,
            dpop,
            refresh_reuse_grace,
            retrieval_every,
            retention_days: self.retention_days,
            origin,
            mode,
            identity,
            requests: catalogue,
            webhooks,
            users,
            server_api_key,
            limits,
            trusted_proxies,
        })
    }
}

impl LimitsEntry {
    fn check(&self) -> Result<Limits, (&'static str, &'static str)> {
        let defaults = Limits::default();
        let positive = |value: Option<u32>, default: u32, name: &'static str| match value {
            Some(0) => Err((name, "must be at least 1")),
            Some(value) => Ok(value),
            None => Ok(default),
        };
        Ok(Limits {
            starts_per_minute_per_user: positive(
                self.starts_per_minute_per_user,
                defaults.starts_per_minute_per_user,
                "startsPerMinutePerUser",
            )?,
            starts_per_minute_per_address: positive(
                self.starts_per_minute_per_address,
                defaults.starts_per_minute_per_address,
                "startsPerMinutePerAddress",
            )?,
            authority_tps: positive(self.authority_tps, defaults.authority_tps, "authorityTps")?,
            request_token_lifetime: match self.request_token_lifetime_seconds {
                Some(seconds) if !(60..=86_400).contains(&seconds) => {
                    return Err((
                        "requestTokenLifetimeSeconds",
                        "must be between 60 and 86400",
                    ))
                }
                Some(seconds) => Duration::from_secs(seconds),
                None => defaults.request_token_lifetime,
            },
        })
    }
}

/// An absolute http(s) URL; plain http only to a loopback host when
/// `strict_scheme`, because tokens, secrets or events travel there.
pub(crate) fn check_url(text: &str, strict_scheme: bool) -> Result<url::Url, &'static str> {
    let url = url::Url::parse(text).map_err(|_| "must be an absolute URL")?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials");
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if !strict_scheme || is_loopback(&url) => Ok(url),
        "http" => Err("must be https (http only for a loopback host)"),
        _ => Err("must be an http(s) URL"),
    }
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(domain)) => domain == "localhost",
        None => false,
    }
}

/// The origin in its serialised form (what browsers send in `Origin`).
fn check_origin(text: &str) -> Result<String, &'static str> {
    let url = check_url(text, false)?;
    let origin = url.origin().ascii_serialization();
    if origin != text.trim_end_matches('/') {
        return Err("must be an origin: scheme://host[:port], no path");
    }
    Ok(origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SANDBOX_JSON: &str = include_str!("../../sandbox/sandbox.json");

    #[test]
    fn reads_the_sandbox_operators() {
        let configs = configs_from_json(SANDBOX_JSON, Mode::Sandbox).expect("valid");
        assert_eq!(configs.len(), 4);
        assert_eq!(configs[0].base_path, "/phr/myna");
        assert!(matches!(
            &configs[0].credentials,
            ClientCredentials::SecretBasic(secret) if secret.expose() == "sandbox-secret-phr"
        ));
        assert_eq!(configs[0].origin, "http://127.0.0.1:8080");
        assert!(!configs[0].secure_cookie());
        assert!(configs[0].requests.get("phr-90d").is_some());
    }

    fn one(entry: serde_json::Value) -> Result<Vec<OperatorConfig>, ConfigError> {
        configs_from_json(
            &serde_json::json!({ "operators": [entry] }).to_string(),
            Mode::Production,
        )
    }

    fn entry() -> serde_json::Value {
        serde_json::json!({
            "basePath": "/x/myna",
            "issuer": "https://auth.example",
            "clientId": "c",
            "clientSecret": "s",
            "redirectUri": "https://op.example/cb",
            "origin": "https://op.example",
            "operator": {
                "name": "テスト事業者株式会社",
                "contact": "03-0000-0000",
                "privacyPolicyUrl": "https://op.example/privacy",
                "approvalId": "MPA-TEST-0001"
            },
            "requests": {
                "drugs-90d": {
                    "items": { "required": ["insurance.drugs"] },
                    "purposes": [{ "category": "healthManagement", "description": "お薬の記録を表示します。" }],
                    "period": { "kind": "linkage", "days": 90 },
                    "retention": "解約から30日以内に削除します。"
                }
            }
        })
    }

    fn field_of(result: Result<Vec<OperatorConfig>, ConfigError>) -> String {
        match result {
            Err(ConfigError::Field { field, .. }) => field,
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn https_origin_makes_the_cookie_secure() {
        let configs = one(entry()).expect("valid");
        assert!(configs[0].secure_cookie());
    }

    #[test]
    fn refuses_both_or_neither_secret() {
        let mut both = entry();
        both["clientSecretEnv"] = "X".into();
        assert_eq!(field_of(one(both)), "clientSecret");
        let mut neither = entry();
        neither.as_object_mut().map(|m| m.remove("clientSecret"));
        assert_eq!(field_of(one(neither)), "clientSecret");
    }

    fn key_file(name: &str) -> String {
        format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"))
    }

    #[test]
    fn private_key_jwt_reads_its_key_and_excludes_a_secret() {
        let mut e = entry();
        e.as_object_mut().map(|m| m.remove("clientSecret"));
        e["clientAuth"] = serde_json::json!({
            "method": "private_key_jwt", "algorithm": "PS256", "keyId": "rsa-1",
            "privateKeyFile": key_file("client-rsa.pem")
        });
        let configs = one(e.clone()).expect("valid");
        assert!(matches!(
            &configs[0].credentials,
            ClientCredentials::PrivateKeyJwt(key) if key.algorithm_name() == "PS256"
        ));
        let mut with_secret = e.clone();
        with_secret["clientSecret"] = "s".into();
        assert_eq!(field_of(one(with_secret)), "clientSecret");
        let mut wrong_kind = e.clone();
        wrong_kind["clientAuth"]["algorithm"] = "ES256".into();
        assert_eq!(field_of(one(wrong_kind)), "clientAuth");
        let mut two_sources = e.clone();
        two_sources["clientAuth"]["privateKeyPem"] = "x".into();
        assert_eq!(field_of(one(two_sources)), "clientAuth.privateKeyPem");
        let mut missing = e.clone();
        missing["clientAuth"]["privateKeyFile"] = "/nonexistent/key.pem".into();
        assert_eq!(field_of(one(missing)), "clientAuth.privateKeyFile");
        let mut inline = e;
        inline["clientAuth"]
            .as_object_mut()
            .map(|m| m.remove("privateKeyFile"));
        inline["clientAuth"]["privateKeyPem"] = std::fs::read_to_string(key_file("client-rsa.pem"))
            .expect("key")
            .into();
        assert_eq!(
            field_of(one(inline.clone())),
            "clientAuth.privateKeyPem",
            "not in production"
        );
        let sandbox = serde_json::json!({ "operators": [inline] }).to_string();
        assert!(configs_from_json(&sandbox, Mode::Sandbox).is_ok());
    }

    #[test]
    fn scopes_dpop_and_the_grace_window_are_checked() {
        let mut e = entry();
        e["scopes"] = serde_json::json!(["openid", "openid", "mynaportal"]);
        e["dpop"] = serde_json::json!({ "privateKeyFile": key_file("dpop-p256.pem") });
        e["refreshReuseGraceSeconds"] = 30.into();
        let configs = one(e.clone()).expect("valid");
        assert_eq!(configs[0].scopes, ["openid", "mynaportal"]);
        assert!(configs[0].dpop.is_some());
        assert_eq!(configs[0].refresh_reuse_grace, Duration::from_secs(30));
        let mut spaced = e.clone();
        spaced["scopes"] = serde_json::json!(["openid profile"]);
        assert_eq!(field_of(one(spaced)), "scopes[0]");
        let mut rsa_dpop = e.clone();
        rsa_dpop["dpop"] = serde_json::json!({ "privateKeyFile": key_file("client-rsa.pem") });
        assert_eq!(field_of(one(rsa_dpop)), "dpop");
        let mut long = e;
        long["refreshReuseGraceSeconds"] = 3600.into();
        assert_eq!(field_of(one(long)), "refreshReuseGraceSeconds");
    }

    #[test]
    fn secret_env_must_be_set() {
        let mut e = entry();
        e.as_object_mut().map(|m| m.remove("clientSecret"));
        e["clientSecretEnv"] = "MYNA_OPERATOR_TEST_SURELY_UNSET_VARIABLE".into();
        assert!(matches!(one(e), Err(ConfigError::MissingSecretEnv { .. })));
    }

    #[test]
    fn refuses_plain_http_issuer_off_loopback() {
        let mut e = entry();
        e["issuer"] = "http://auth.example".into();
        assert_eq!(field_of(one(e)), "issuer");
    }

    #[test]
    fn refuses_origin_with_path_and_bad_base_path() {
        let mut e = entry();
        e["origin"] = "https://op.example/app".into();
        assert_eq!(field_of(one(e)), "origin");
        let mut e = entry();
        e["basePath"] = "x/myna/".into();
        assert_eq!(field_of(one(e)), "basePath");
    }

    #[test]
    fn refuses_unknown_fields_and_duplicate_paths() {
        let mut e = entry();
        e["clientSecrt"] = "typo".into();
        assert!(matches!(one(e), Err(ConfigError::Json(_))));
        let text = serde_json::json!({ "operators": [entry(), entry()] }).to_string();
        assert!(matches!(
            configs_from_json(&text, Mode::Production),
            Err(ConfigError::DuplicateBasePath { .. })
        ));
    }

    #[test]
    fn secret_does_not_show_in_debug() {
        let configs = one(entry()).expect("valid");
        assert!(!format!("{:?}", configs[0]).contains("\"s\""));
    }

    #[test]
    fn bad_requests_stop_start_up_with_every_problem_listed() {
        let mut e = entry();
        e["operator"]["privacyPolicyUrl"] = "http://op.example/privacy".into();
        e["requests"]["drugs-90d"]["retention"] = "削除します。\r\n".into();
        e["requests"]["loan"] = serde_json::json!({
            "items": { "required": ["self.tax_income", "no.such.item"] },
            "purposes": [{ "category": "creditScreening", "description": "審査" }],
            "period": { "kind": "linkage", "days": 30 },
            "retention": "7年"
        });
        let Err(ConfigError::Requests { problems, .. }) = one(e) else {
            panic!("expected the request problems");
        };
        let text = problems.join("\n");
        assert!(
            text.starts_with("operator.privacyPolicyUrl: insecure_url"),
            "the operator's identity is reported once: {text}"
        );
        assert_eq!(text.matches("insecure_url").count(), 1, "{text}");
        assert!(
            text.contains("requests.drugs-90d.retention: control_character"),
            "{text}"
        );
        assert!(
            text.contains("requests.loan.items.required[0]: linkage_not_eligible"),
            "{text}"
        );
        assert!(
            text.contains("requests.loan.items.required[1]: unknown_item"),
            "{text}"
        );
    }

    #[test]
    fn preview_is_admitted_only_in_sandbox_mode() {
        let mut e = entry();
        e["requests"]["drugs-90d"]["preview"] = true.into();
        let Err(ConfigError::Requests { problems, .. }) = one(e.clone()) else {
            panic!("preview must be refused in production");
        };
        assert!(
            problems[0].contains("requests.drugs-90d.preview: preview_not_allowed"),
            "{problems:?}"
        );
        let text = serde_json::json!({ "operators": [e] }).to_string();
        configs_from_json(&text, Mode::Sandbox).expect("the sandbox admits previews");
    }

    #[test]
    fn a_request_cannot_name_its_own_operator() {
        let mut e = entry();
        e["requests"]["drugs-90d"]["operator"] = serde_json::json!({ "name": "別の会社" });
        let Err(ConfigError::Requests { problems, .. }) = one(e) else {
            panic!("expected the request problems");
        };
        assert!(
            problems[0].contains("requests.drugs-90d.operator: operator_from_configuration"),
            "{problems:?}"
        );
    }

    #[test]
    fn identity_header_needs_trusted_proxies() {
        let mut e = entry();
        e["users"] = serde_json::json!({ "kind": "header", "header": "X-Operator-User" });
        assert_eq!(field_of(one(e.clone())), "trustedProxies");
        e["trustedProxies"] = serde_json::json!(["10.0.0.0/8", "127.0.0.1"]);
        let configs = one(e).expect("valid");
        assert!(configs[0].is_trusted_proxy("10.1.2.3".parse().expect("ip")));
        assert!(!configs[0].is_trusted_proxy("192.0.2.1".parse().expect("ip")));
    }

    #[test]
    fn short_server_api_keys_are_refused() {
        let mut e = entry();
        e["serverApiKey"] = "short".into();
        assert_eq!(field_of(one(e)), "serverApiKey");
    }
}
