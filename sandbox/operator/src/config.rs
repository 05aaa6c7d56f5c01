//! The `operators` entries of `sandbox.json`: one [`OperatorConfig`] per
//! mounted backend, checked when read so that a typo fails at start, not at
//! the first citizen's callback.

use serde::Deserialize;

use crate::secret::ClientSecret;

/// One operator backend: where it is mounted, which authority it talks to,
/// and as which OAuth client.
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
    /// The client secret (`client_secret_basic`), from `clientSecret` or the
    /// environment variable named by `clientSecretEnv`.
    pub client_secret: ClientSecret,
    /// The redirect URI registered at the authority (the operator's
    /// callback page).
    pub redirect_uri: String,
    /// The operator's origin (`scheme://host[:port]`): every POST must carry
    /// it in `Origin`.
    pub origin: String,
}

impl OperatorConfig {
    /// Whether the session cookie must be `Secure` (the origin is https).
    pub fn secure_cookie(&self) -> bool {
        self.origin.starts_with("https://")
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
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// `clientSecretEnv` names a variable that is not set.
    #[error("operators[{index}].clientSecretEnv: the environment variable {name} is not set")]
    MissingSecretEnv {
        /// The entry's position in `operators`.
        index: usize,
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
}

impl ConfigError {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Json(_) => "config_json",
            Self::Field { .. } => "config_field",
            Self::MissingSecretEnv { .. } => "config_secret_env",
            Self::DuplicateBasePath { .. } => "config_duplicate_base_path",
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
    redirect_uri: String,
    origin: String,
}

/// Reads the `operators` array of a `sandbox.json` text (the rest belongs to
/// the authority and is ignored). No `operators` means no backend.
pub fn configs_from_json(text: &str) -> Result<Vec<OperatorConfig>, ConfigError> {
    let file: File = serde_json::from_str(text).map_err(|e| ConfigError::Json(e.to_string()))?;
    let mut configs: Vec<OperatorConfig> = Vec::with_capacity(file.operators.len());
    for (index, entry) in file.operators.into_iter().enumerate() {
        let config = entry.check(index)?;
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

impl Entry {
    fn check(self, index: usize) -> Result<OperatorConfig, ConfigError> {
        let field = |field: &'static str, reason: &str| ConfigError::Field {
            index,
            field,
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
        let client_secret = match (self.client_secret, self.client_secret_env) {
            (Some(secret), None) if !secret.is_empty() => ClientSecret::new(secret),
            (None, Some(name)) => match std::env::var(&name) {
                Ok(secret) if !secret.is_empty() => ClientSecret::new(secret),
                _ => return Err(ConfigError::MissingSecretEnv { index, name }),
            },
            _ => {
                return Err(field(
                    "clientSecret",
                    "give exactly one of clientSecret and clientSecretEnv",
                ))
            }
        };
        Ok(OperatorConfig {
            base_path: self.base_path,
            issuer: self.issuer,
            client_id: self.client_id,
            client_secret,
            redirect_uri: self.redirect_uri,
            origin,
        })
    }
}

/// An absolute http(s) URL; plain http only to a loopback host, because
/// tokens and secrets travel to the issuer.
fn check_url(text: &str, strict_scheme: bool) -> Result<url::Url, &'static str> {
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

    const SANDBOX_JSON: &str = include_str!("../../sandbox.json");

    #[test]
    fn reads_the_sandbox_operators() {
        let configs = configs_from_json(SANDBOX_JSON).expect("valid");
        assert_eq!(configs.len(), 4);
        assert_eq!(configs[0].base_path, "/phr/myna");
        assert_eq!(configs[0].client_secret.expose(), "sandbox-secret-phr");
        assert_eq!(configs[0].origin, "http://127.0.0.1:8080");
        assert!(!configs[0].secure_cookie());
    }

    fn one(entry: serde_json::Value) -> Result<Vec<OperatorConfig>, ConfigError> {
        configs_from_json(&serde_json::json!({ "operators": [entry] }).to_string())
    }

    fn entry() -> serde_json::Value {
        serde_json::json!({
            "basePath": "/x/myna",
            "issuer": "https://auth.example",
            "clientId": "c",
            "clientSecret": "s",
            "redirectUri": "https://op.example/cb",
            "origin": "https://op.example"
        })
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
        assert!(matches!(
            one(both),
            Err(ConfigError::Field {
                field: "clientSecret",
                ..
            })
        ));
        let mut neither = entry();
        neither.as_object_mut().map(|m| m.remove("clientSecret"));
        assert!(matches!(
            one(neither),
            Err(ConfigError::Field {
                field: "clientSecret",
                ..
            })
        ));
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
        assert!(matches!(
            one(e),
            Err(ConfigError::Field {
                field: "issuer",
                ..
            })
        ));
    }

    #[test]
    fn refuses_origin_with_path_and_bad_base_path() {
        let mut e = entry();
        e["origin"] = "https://op.example/app".into();
        assert!(matches!(
            one(e),
            Err(ConfigError::Field {
                field: "origin",
                ..
            })
        ));
        let mut e = entry();
        e["basePath"] = "x/myna/".into();
        assert!(matches!(
            one(e),
            Err(ConfigError::Field {
                field: "basePath",
                ..
            })
        ));
    }

    #[test]
    fn refuses_unknown_fields_and_duplicate_paths() {
        let mut e = entry();
        e["clientSecrt"] = "typo".into();
        assert!(matches!(one(e), Err(ConfigError::Json(_))));
        let text = serde_json::json!({ "operators": [entry(), entry()] }).to_string();
        assert!(matches!(
            configs_from_json(&text),
            Err(ConfigError::DuplicateBasePath { .. })
        ));
    }

    #[test]
    fn secret_does_not_show_in_debug() {
        let configs = one(entry()).expect("valid");
        assert!(!format!("{:?}", configs[0]).contains("\"s\""));
    }
}
