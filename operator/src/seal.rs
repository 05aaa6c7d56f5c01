//! Tokens and retrieved records at rest: the [`TokenKey`] and AES-256-GCM
//! sealing with the owner's id as associated data, so that a sealed value
//! copied onto another consent's row does not open.

use std::io::Write as _;
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;

use crate::secret::random_bytes;

/// The environment variable that holds the key (base64, 32 bytes).
pub const KEY_ENV: &str = "MYNA_TOKEN_KEY";
/// The key file's name inside the data directory.
pub const KEY_FILE: &str = "operator-token.key";

const NONCE_LEN: usize = 12;

/// The 32-byte AES-256-GCM key that seals tokens and records. Its `Debug`
/// prints `[redacted]`.
#[derive(Clone)]
pub struct TokenKey([u8; 32]);

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey([redacted])")
    }
}

/// Why the key could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// `MYNA_TOKEN_KEY` is set but is not base64 of exactly 32 bytes.
    #[error("{KEY_ENV} must be base64 of exactly 32 bytes")]
    InvalidEnv,
    /// The named environment variable is unset or not base64 of 32 bytes.
    #[error("the environment variable {0} must be set to base64 of exactly 32 bytes")]
    InvalidNamedEnv(String),
    /// The key file exists but does not hold base64 of exactly 32 bytes.
    #[error("the key file {0} must hold base64 of exactly 32 bytes")]
    InvalidFile(String),
    /// The key file can be read by other users; like ssh, refuse it rather
    /// than use a key that may have leaked.
    #[error("the key file {0} is readable by other users; make it mode 0600")]
    Permissions(String),
    /// The key file could not be read or written.
    #[error("the key file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

impl KeyError {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidEnv | Self::InvalidNamedEnv(_) => "key_env_invalid",
            Self::InvalidFile(_) => "key_file_invalid",
            Self::Permissions(_) => "key_file_permissions",
            Self::Io { .. } => "key_file_io",
        }
    }
}

/// Why a sealed value did not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// Too short to hold a nonce and a tag.
    #[error("the sealed value is truncated")]
    Truncated,
    /// Wrong key, wrong associated data (another consent's value), or
    /// tampered bytes: GCM cannot tell these apart, on purpose.
    #[error("the sealed value does not open with this key and owner")]
    Rejected,
    /// Sealing itself failed (only for absurd lengths).
    #[error("sealing failed")]
    Seal,
}

impl SealError {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Truncated => "sealed_truncated",
            Self::Rejected => "sealed_rejected",
            Self::Seal => "seal_failed",
        }
    }
}

fn decode_key(text: &str) -> Option<[u8; 32]> {
    let text = text.trim();
    let bytes = STANDARD
        .decode(text)
        .or_else(|_| URL_SAFE.decode(text))
        .or_else(|_| URL_SAFE_NO_PAD.decode(text))
        .ok()?;
    bytes.try_into().ok()
}

impl TokenKey {
    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A fresh random key.
    pub fn generate() -> Self {
        Self(random_bytes::<32>())
    }

    /// The key from `MYNA_TOKEN_KEY` (base64) when set; otherwise from
    /// `<data_dir>/operator-token.key`, which is created with mode 0600 on
    /// first run. The file holds the key as base64, so it can be moved into
    /// the environment as is.
    pub fn load_or_create(data_dir: &Path) -> Result<Self, KeyError> {
        if let Ok(text) = std::env::var(KEY_ENV) {
            return decode_key(&text).map(Self).ok_or(KeyError::InvalidEnv);
        }
        let path = data_dir.join(KEY_FILE);
        let shown = path.display().to_string();
        let io = |source| KeyError::Io {
            path: shown.clone(),
            source,
        };
        std::fs::create_dir_all(data_dir).map_err(io)?;
        let key = Self::generate();
        let mut options = std::fs::OpenOptions::new();
        // create_new: two backends starting together never overwrite each
        // other's key; the loser reads the winner's file below.
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        match options.open(&path) {
            Ok(mut file) => {
                let text = format!("{}\n", STANDARD.encode(key.0));
                file.write_all(text.as_bytes()).map_err(io)?;
                file.sync_all().map_err(io)?;
                Ok(key)
            }
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                Self::read_file(&path, &shown)
            }
            Err(error) => Err(io(error)),
        }
    }

    /// The key from the environment variable `name` (base64), for a
    /// deployment that injects it.
    pub fn from_env(name: &str) -> Result<Self, KeyError> {
        let invalid = || KeyError::InvalidNamedEnv(name.to_owned());
        let text = std::env::var(name).map_err(|_| invalid())?;
        decode_key(&text).map(Self).ok_or_else(invalid)
    }

    /// The key from a file that only its owner can read (a mounted secret),
    /// holding the key as base64.
    pub fn from_file(path: &Path) -> Result<Self, KeyError> {
        Self::read_file(path, &path.display().to_string())
    }

    fn read_file(path: &Path, shown: &str) -> Result<Self, KeyError> {
        let io = |source| KeyError::Io {
            path: shown.to_owned(),
            source,
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(path).map_err(io)?.permissions().mode();
            if mode & 0o077 != 0 {
                return Err(KeyError::Permissions(shown.to_owned()));
            }
        }
        let text = std::fs::read_to_string(path).map_err(io)?;
        decode_key(&text)
            .map(Self)
            .ok_or_else(|| KeyError::InvalidFile(shown.to_owned()))
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&self.0))
    }

    /// Seals `plaintext` for `owner` (the associated data: a consent id, or
    /// consent id and retrieval id): a fresh random 96-bit nonce, then
    /// `nonce || ciphertext || tag`.
    pub fn seal(&self, owner: &str, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let nonce = random_bytes::<NONCE_LEN>();
        let ciphertext = self
            .cipher()
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: owner.as_bytes(),
                },
            )
            .map_err(|_| SealError::Seal)?;
        let mut sealed = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    /// Opens a value sealed by [`seal`](Self::seal) for the same `owner`.
    pub fn open(&self, owner: &str, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        if sealed.len() < NONCE_LEN + 16 {
            return Err(SealError::Truncated);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        self.cipher()
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: owner.as_bytes(),
                },
            )
            .map_err(|_| SealError::Rejected)
    }

    /// [`open`](Self::open) for a value that was sealed from text.
    pub fn open_text(&self, owner: &str, sealed: &[u8]) -> Result<String, SealError> {
        String::from_utf8(self.open(owner, sealed)?).map_err(|_| SealError::Rejected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_value_opens_for_its_owner() {
        let key = TokenKey::generate();
        let sealed = key.seal("consent-a", b"refresh-token").expect("seal");
        assert_eq!(
            key.open("consent-a", &sealed).expect("open"),
            b"refresh-token"
        );
        assert!(!sealed.windows(13).any(|w| w == b"refresh-token"));
    }

    #[test]
    fn sealed_value_fails_to_open_under_another_consent_id() {
        let key = TokenKey::generate();
        let sealed = key.seal("consent-a", b"refresh-token").expect("seal");
        assert_eq!(key.open("consent-b", &sealed), Err(SealError::Rejected));
    }

    #[test]
    fn sealed_value_fails_under_another_key_or_when_tampered() {
        let key = TokenKey::generate();
        let mut sealed = key.seal("c", b"token").expect("seal");
        assert_eq!(
            TokenKey::generate().open("c", &sealed),
            Err(SealError::Rejected)
        );
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert_eq!(key.open("c", &sealed), Err(SealError::Rejected));
        assert_eq!(key.open("c", &sealed[..10]), Err(SealError::Truncated));
    }

    #[test]
    fn each_seal_uses_a_fresh_nonce() {
        let key = TokenKey::generate();
        let a = key.seal("c", b"same").expect("seal");
        let b = key.seal("c", b"same").expect("seal");
        assert_ne!(a[..NONCE_LEN], b[..NONCE_LEN]);
        assert_ne!(a, b);
    }

    #[test]
    fn key_debug_is_redacted() {
        assert_eq!(
            format!("{:?}", TokenKey::generate()),
            "TokenKey([redacted])"
        );
    }

    // The environment is process-wide, so the key-file tests run only when
    // MYNA_TOKEN_KEY is not set by whoever runs the tests.
    #[test]
    fn key_file_is_created_0600_and_read_back() {
        if std::env::var(KEY_ENV).is_ok() {
            return;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let first = TokenKey::load_or_create(dir.path()).expect("create");
        let second = TokenKey::load_or_create(dir.path()).expect("read");
        assert_eq!(first.0, second.0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .expect("metadata")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[cfg(unix)]
    #[test]
    fn key_file_readable_by_others_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        if std::env::var(KEY_ENV).is_ok() {
            return;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        TokenKey::load_or_create(dir.path()).expect("create");
        let path = dir.path().join(KEY_FILE);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        assert!(matches!(
            TokenKey::load_or_create(dir.path()),
            Err(KeyError::Permissions(_))
        ));
    }

    #[test]
    fn key_text_must_be_32_bytes() {
        assert!(decode_key(&STANDARD.encode([7u8; 32])).is_some());
        assert!(decode_key(&STANDARD.encode([7u8; 31])).is_none());
        assert!(decode_key("not base64!").is_none());
    }
}
