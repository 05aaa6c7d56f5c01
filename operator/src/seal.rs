//! Tokens and retrieved records at rest: the [`KeyRing`] of AES-256-GCM
//! keys and the sealed format. Every value is sealed with the owner's id as
//! associated data, so that a sealed value copied onto another consent's row
//! does not open, and names the key that sealed it, so that keys rotate
//! without downtime: new seals use the ring's active key, values sealed
//! under any key still in the ring keep opening, and `myna-operator reseal`
//! moves them all to the active key before an old one is dropped.
//!
//! The format is `MK1\0 || id length (1 byte) || key id || nonce (12) ||
//! ciphertext || tag (16)`, with the header (magic, length, id) and then the
//! owner as associated data, so a value's key id cannot be swapped. Values
//! of the first release (`nonce || ciphertext || tag`, no magic) open with
//! the ring's legacy key.

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
/// The id of a single configured key (`tokenKey`, the sandbox's key file).
pub const DEFAULT_KEY_ID: &str = "default";
/// The id that marks the key of values sealed before key ids existed; when
/// no key has it, the key `default` is, or the ring's only key.
pub const LEGACY_KEY_ID: &str = "legacy";
/// The first bytes of a value that names its key.
pub const MAGIC: [u8; 4] = *b"MK1\0";

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// The longest key id, so that its length fits the one-byte prefix with
/// room to spare.
const MAX_ID_LEN: usize = 64;

/// One key of the ring: its id (a short name such as `2026-11`) and its 32
/// bytes. Its `Debug` prints the id and `[redacted]`.
#[derive(Clone)]
pub struct RingKey {
    id: String,
    bytes: [u8; 32],
}

impl std::fmt::Debug for RingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RingKey({:?}, [redacted])", self.id)
    }
}

/// The AES-256-GCM keys that seal tokens and records, each with its id, one
/// of them active (the one new seals use). Its `Debug` prints the ids only.
#[derive(Clone)]
pub struct KeyRing {
    keys: Vec<RingKey>,
    active: usize,
    /// The key that opens values of the first format, which name no key.
    legacy: Option<usize>,
}

/// The name the crate and the sandbox have always used for the ring.
pub type TokenKey = KeyRing;

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("keys", &self.ids().collect::<Vec<_>>())
            .field("active", &self.active_id())
            .finish_non_exhaustive()
    }
}

/// Why a key or the ring could not be loaded or created.
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
    /// A key id that is empty, too long, or not letters, digits, `-`, `_`
    /// and `.`.
    #[error("the key id {0:?} must be 1 to 64 letters, digits, '-', '_' or '.'")]
    InvalidId(String),
    /// Two keys of the ring have the same id.
    #[error("the key id {0} is listed twice")]
    DuplicateId(String),
    /// The active key is not one of the ring's keys.
    #[error("the active key {0} is not one of the keys")]
    UnknownActive(String),
    /// A ring without keys.
    #[error("the key ring has no key")]
    Empty,
}

impl KeyError {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidEnv | Self::InvalidNamedEnv(_) => "key_env_invalid",
            Self::InvalidFile(_) => "key_file_invalid",
            Self::Permissions(_) => "key_file_permissions",
            Self::Io { .. } => "key_file_io",
            Self::InvalidId(_) => "key_id_invalid",
            Self::DuplicateId(_) => "key_id_duplicate",
            Self::UnknownActive(_) => "key_active_unknown",
            Self::Empty => "key_ring_empty",
        }
    }
}

/// Why a sealed value did not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// Too short to hold a nonce and a tag.
    #[error("the sealed value is truncated")]
    Truncated,
    /// Wrong key, wrong associated data (another consent's value, another
    /// key id), or tampered bytes: GCM cannot tell these apart, on purpose.
    #[error("the sealed value does not open with this key and owner")]
    Rejected,
    /// The value names a key that the ring does not hold (dropped before
    /// the value was re-sealed, or never configured here).
    #[error("the sealed value names the key {0}, which is not in the key ring")]
    UnknownKey(String),
    /// A value of the first format (no key id), and no key of the ring is
    /// its legacy key.
    #[error("the sealed value names no key, and the key ring has no legacy key")]
    NoLegacyKey,
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
            Self::UnknownKey(_) => "sealed_unknown_key",
            Self::NoLegacyKey => "sealed_no_legacy_key",
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

/// Checks a key id: 1 to 64 ASCII letters, digits, `-`, `_` and `.`.
pub fn check_key_id(id: &str) -> Result<(), KeyError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if id.is_empty() || id.len() > MAX_ID_LEN || !id.chars().all(allowed) {
        return Err(KeyError::InvalidId(id.to_owned()));
    }
    Ok(())
}

/// The key id a sealed value names, or `None` for a value of the first
/// format. Reading it needs no key.
pub fn sealed_key_id(sealed: &[u8]) -> Option<&str> {
    Versioned::parse(sealed).map(|v| v.id)
}

/// A value of the current format, split.
struct Versioned<'a> {
    /// Magic, id length and id: associated data, with the owner.
    header: &'a [u8],
    id: &'a str,
    /// Nonce, ciphertext and tag.
    body: &'a [u8],
}

impl<'a> Versioned<'a> {
    fn parse(sealed: &'a [u8]) -> Option<Self> {
        let rest = sealed.strip_prefix(&MAGIC)?;
        let (&len, rest) = rest.split_first()?;
        let len = usize::from(len);
        if len == 0 || len > MAX_ID_LEN || rest.len() < len {
            return None;
        }
        let (id, body) = rest.split_at(len);
        let id = std::str::from_utf8(id).ok()?;
        Some(Self {
            header: &sealed[..MAGIC.len() + 1 + len],
            id,
            body,
        })
    }
}

fn associated_data(header: &[u8], owner: &str) -> Vec<u8> {
    [header, owner.as_bytes()].concat()
}

fn read_key_file(path: &Path, shown: &str) -> Result<[u8; 32], KeyError> {
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
    decode_key(&text).ok_or_else(|| KeyError::InvalidFile(shown.to_owned()))
}

impl RingKey {
    /// A key from its id and its 32 bytes.
    pub fn new(id: &str, bytes: [u8; 32]) -> Result<Self, KeyError> {
        check_key_id(id)?;
        Ok(Self {
            id: id.to_owned(),
            bytes,
        })
    }

    /// The key `id` from the environment variable `name` (base64), for a
    /// deployment that injects it.
    pub fn from_env(id: &str, name: &str) -> Result<Self, KeyError> {
        let invalid = || KeyError::InvalidNamedEnv(name.to_owned());
        let text = std::env::var(name).map_err(|_| invalid())?;
        Self::new(id, decode_key(&text).ok_or_else(invalid)?)
    }

    /// The key `id` from a file that only its owner can read (a mounted
    /// secret), holding the key as base64.
    pub fn from_file(id: &str, path: &Path) -> Result<Self, KeyError> {
        Self::new(id, read_key_file(path, &path.display().to_string())?)
    }

    /// The key's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&self.bytes))
    }
}

impl KeyRing {
    /// A ring of `keys` whose key `active` seals from now on. Refuses an
    /// empty ring, invalid or repeated ids, and an active id not listed.
    pub fn new(keys: Vec<RingKey>, active: &str) -> Result<Self, KeyError> {
        if keys.is_empty() {
            return Err(KeyError::Empty);
        }
        for (index, key) in keys.iter().enumerate() {
            check_key_id(&key.id)?;
            if keys[..index].iter().any(|k| k.id == key.id) {
                return Err(KeyError::DuplicateId(key.id.clone()));
            }
        }
        let active = keys
            .iter()
            .position(|k| k.id == active)
            .ok_or_else(|| KeyError::UnknownActive(active.to_owned()))?;
        let by_id = |id: &str| keys.iter().position(|k| k.id == id);
        let legacy = by_id(LEGACY_KEY_ID)
            .or_else(|| by_id(DEFAULT_KEY_ID))
            .or((keys.len() == 1).then_some(0));
        Ok(Self {
            keys,
            active,
            legacy,
        })
    }

    /// A ring of one key, active.
    pub fn single(key: RingKey) -> Self {
        Self {
            keys: vec![key],
            active: 0,
            legacy: Some(0),
        }
    }

    /// A ring of one key with the id `default`, from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self::single(RingKey {
            id: DEFAULT_KEY_ID.to_owned(),
            bytes,
        })
    }

    /// A ring of one fresh random key with the id `default`.
    pub fn generate() -> Self {
        Self::from_bytes(random_bytes::<32>())
    }

    /// The sandbox's key (id `default`): from `MYNA_TOKEN_KEY` (base64)
    /// when set; otherwise from `<data_dir>/operator-token.key`, which is
    /// created with mode 0600 on first run. The file holds the key as
    /// base64, so it can be moved into the environment as is.
    pub fn load_or_create(data_dir: &Path) -> Result<Self, KeyError> {
        if let Ok(text) = std::env::var(KEY_ENV) {
            return decode_key(&text)
                .map(Self::from_bytes)
                .ok_or(KeyError::InvalidEnv);
        }
        let path = data_dir.join(KEY_FILE);
        let shown = path.display().to_string();
        let io = |source| KeyError::Io {
            path: shown.clone(),
            source,
        };
        std::fs::create_dir_all(data_dir).map_err(io)?;
        let bytes = random_bytes::<32>();
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
                let text = format!("{}\n", STANDARD.encode(bytes));
                file.write_all(text.as_bytes()).map_err(io)?;
                file.sync_all().map_err(io)?;
                Ok(Self::from_bytes(bytes))
            }
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                read_key_file(&path, &shown).map(Self::from_bytes)
            }
            Err(error) => Err(io(error)),
        }
    }

    /// A ring of one key (id `default`) from the environment variable
    /// `name` (base64).
    pub fn from_env(name: &str) -> Result<Self, KeyError> {
        RingKey::from_env(DEFAULT_KEY_ID, name).map(Self::single)
    }

    /// A ring of one key (id `default`) from a file only its owner can read.
    pub fn from_file(path: &Path) -> Result<Self, KeyError> {
        RingKey::from_file(DEFAULT_KEY_ID, path).map(Self::single)
    }

    /// The id of the key new seals use.
    pub fn active_id(&self) -> &str {
        &self.keys[self.active].id
    }

    /// The ids of the ring's keys, in the configured order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|k| k.id.as_str())
    }

    /// 32 bytes derived from each key of the ring for `purpose` (HKDF-SHA256,
    /// the purpose as its info), with the key's id and whether it is the
    /// active one: key material for another use (receipt signing) that
    /// every instance sharing the ring derives alike, without ever exposing
    /// the sealing keys themselves.
    pub fn derive(&self, purpose: &[u8]) -> Vec<(String, [u8; 32], bool)> {
        self.keys
            .iter()
            .enumerate()
            .map(|(index, key)| {
                let hkdf =
                    hkdf::Hkdf::<sha2::Sha256>::new(Some(b"myna-operator key ring"), &key.bytes);
                let mut derived = [0u8; 32];
                // 32 bytes are always within HKDF-SHA256's output limit.
                let _ = hkdf.expand(purpose, &mut derived);
                (key.id.clone(), derived, index == self.active)
            })
            .collect()
    }

    /// Whether `sealed` names the active key, so re-sealing it would change
    /// nothing.
    pub fn is_sealed_under_active(&self, sealed: &[u8]) -> bool {
        sealed_key_id(sealed) == Some(self.active_id())
    }

    /// Seals `plaintext` for `owner` (a consent id, or consent id and
    /// retrieval id) under the active key, with a fresh random 96-bit
    /// nonce, in the format of the module's doc.
    pub fn seal(&self, owner: &str, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let key = &self.keys[self.active];
        let id = key.id.as_bytes();
        let mut sealed =
            Vec::with_capacity(MAGIC.len() + 1 + id.len() + NONCE_LEN + plaintext.len() + TAG_LEN);
        sealed.extend_from_slice(&MAGIC);
        // check_key_id keeps the length at most MAX_ID_LEN.
        sealed.push(u8::try_from(id.len()).map_err(|_| SealError::Seal)?);
        sealed.extend_from_slice(id);
        let aad = associated_data(&sealed, owner);
        let nonce = random_bytes::<NONCE_LEN>();
        let ciphertext = key
            .cipher()
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| SealError::Seal)?;
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    /// Opens a value sealed by [`seal`](Self::seal) for the same `owner`,
    /// with the key it names, or a value of the first format with the
    /// legacy key.
    pub fn open(&self, owner: &str, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        let Some(versioned) = Versioned::parse(sealed) else {
            return self.open_legacy(owner, sealed);
        };
        self.open_versioned(owner, &versioned).or_else(|error| {
            // A value of the first format starts with the magic by chance
            // once in 2^32 values: it still opens with the legacy key.
            self.open_legacy(owner, sealed).map_err(|_| error)
        })
    }

    /// [`open`](Self::open) for a value that was sealed from text.
    pub fn open_text(&self, owner: &str, sealed: &[u8]) -> Result<String, SealError> {
        String::from_utf8(self.open(owner, sealed)?).map_err(|_| SealError::Rejected)
    }

    fn open_versioned(&self, owner: &str, value: &Versioned<'_>) -> Result<Vec<u8>, SealError> {
        let key = self
            .keys
            .iter()
            .find(|k| k.id == value.id)
            .ok_or_else(|| SealError::UnknownKey(value.id.to_owned()))?;
        decrypt(key, &associated_data(value.header, owner), value.body)
    }

    fn open_legacy(&self, owner: &str, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        let key = &self.keys[self.legacy.ok_or(SealError::NoLegacyKey)?];
        decrypt(key, owner.as_bytes(), sealed)
    }
}

/// `nonce || ciphertext || tag` opened with `key` for `aad`.
fn decrypt(key: &RingKey, aad: &[u8], body: &[u8]) -> Result<Vec<u8>, SealError> {
    if body.len() < NONCE_LEN + TAG_LEN {
        return Err(SealError::Truncated);
    }
    let (nonce, ciphertext) = body.split_at(NONCE_LEN);
    key.cipher()
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .map_err(|_| SealError::Rejected)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str, byte: u8) -> RingKey {
        RingKey::new(id, [byte; 32]).expect("key")
    }

    fn ring(keys: &[(&str, u8)], active: &str) -> KeyRing {
        KeyRing::new(keys.iter().map(|(id, b)| key(id, *b)).collect(), active).expect("ring")
    }

    /// A value as the first release sealed it: `nonce || ciphertext || tag`
    /// with the owner alone as associated data.
    fn sealed_in_the_first_format(bytes: [u8; 32], owner: &str, plaintext: &[u8]) -> Vec<u8> {
        let nonce = random_bytes::<NONCE_LEN>();
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&bytes));
        let ciphertext = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: owner.as_bytes(),
                },
            )
            .expect("encrypt");
        [nonce.as_slice(), &ciphertext].concat()
    }

    #[test]
    fn sealed_value_opens_for_its_owner_and_names_its_key() {
        let key = TokenKey::generate();
        let sealed = key.seal("consent-a", b"refresh-token").expect("seal");
        assert_eq!(
            key.open("consent-a", &sealed).expect("open"),
            b"refresh-token"
        );
        assert!(sealed.starts_with(b"MK1\0\x07default"));
        assert_eq!(sealed_key_id(&sealed), Some("default"));
        assert!(key.is_sealed_under_active(&sealed));
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
        let header = MAGIC.len() + 1 + DEFAULT_KEY_ID.len();
        assert_eq!(a[..header], b[..header]);
        assert_ne!(a[header..header + NONCE_LEN], b[header..header + NONCE_LEN]);
        assert_ne!(a, b);
    }

    #[test]
    fn value_sealed_under_a_opens_after_b_becomes_active_while_a_is_in_the_ring() {
        let before = ring(&[("2026-05", 1)], "2026-05");
        let sealed = before.seal("consent-a", b"token").expect("seal");
        let after = ring(&[("2026-05", 1), ("2026-11", 2)], "2026-11");
        assert_eq!(after.open("consent-a", &sealed).expect("open"), b"token");
        assert!(!after.is_sealed_under_active(&sealed));
        let resealed = after.seal("consent-a", b"token").expect("seal");
        assert_eq!(sealed_key_id(&resealed), Some("2026-11"));
        assert!(after.is_sealed_under_active(&resealed));
        let only_b = ring(&[("2026-11", 2)], "2026-11");
        assert_eq!(only_b.open("consent-a", &resealed).expect("open"), b"token");
    }

    #[test]
    fn value_naming_a_key_not_in_the_ring_is_refused_as_unknown_key() {
        let sealed = ring(&[("2026-05", 1)], "2026-05")
            .seal("c", b"token")
            .expect("seal");
        let error = ring(&[("2026-11", 2)], "2026-11")
            .open("c", &sealed)
            .expect_err("unknown key");
        assert_eq!(error, SealError::UnknownKey("2026-05".into()));
        assert_eq!(error.code(), "sealed_unknown_key");
        assert!(error.to_string().contains("2026-05"), "{error}");
    }

    /// The key id is associated data: a value relabelled with another id
    /// does not open, even when both ids hold the same bytes.
    #[test]
    fn value_whose_key_id_was_altered_does_not_open() {
        let ring = ring(&[("key-a", 9), ("key-b", 9)], "key-b");
        let mut sealed = ring.seal("c", b"token").expect("seal");
        let at = MAGIC.len() + 1 + "key-".len();
        assert_eq!(sealed[at], b'b');
        sealed[at] = b'a';
        assert_eq!(sealed_key_id(&sealed), Some("key-a"));
        assert_eq!(ring.open("c", &sealed), Err(SealError::Rejected));
    }

    #[test]
    fn values_of_the_first_format_open_with_the_legacy_key() {
        let old = sealed_in_the_first_format([1; 32], "consent-a", b"token");
        assert_eq!(sealed_key_id(&old), None);
        // The only key of a ring, whatever its id.
        let only = ring(&[("2025-01", 1)], "2025-01");
        assert_eq!(only.open("consent-a", &old).expect("open"), b"token");
        // The key `default` (the single `tokenKey`), beside a newer one.
        let rotated = ring(&[("default", 1), ("2026-11", 2)], "2026-11");
        assert_eq!(rotated.open("consent-a", &old).expect("open"), b"token");
        // The key `legacy`, which comes before `default`.
        let named = ring(&[("default", 3), ("legacy", 1)], "default");
        assert_eq!(named.open("consent-a", &old).expect("open"), b"token");
        assert_eq!(named.open("consent-b", &old), Err(SealError::Rejected));
        // Several keys and none of them the legacy key.
        let none = ring(&[("a", 1), ("b", 2)], "b");
        assert_eq!(none.open("consent-a", &old), Err(SealError::NoLegacyKey));
    }

    #[test]
    fn ring_refuses_no_keys_repeated_ids_bad_ids_and_an_unlisted_active_key() {
        assert!(matches!(KeyRing::new(vec![], "a"), Err(KeyError::Empty)));
        assert!(matches!(
            KeyRing::new(vec![key("a", 1), key("a", 2)], "a"),
            Err(KeyError::DuplicateId(id)) if id == "a"
        ));
        assert!(matches!(
            KeyRing::new(vec![key("a", 1)], "b"),
            Err(KeyError::UnknownActive(id)) if id == "b"
        ));
        for bad in ["", "has space", "ключ", &"x".repeat(65)] {
            assert!(
                matches!(RingKey::new(bad, [0; 32]), Err(KeyError::InvalidId(_))),
                "{bad:?}"
            );
        }
        assert!(RingKey::new("2026-11_a.b", [0; 32]).is_ok());
    }

    #[test]
    fn debug_names_the_keys_and_never_their_bytes() {
        let ring = ring(&[("2026-05", 0xab), ("2026-11", 0xcd)], "2026-11");
        let shown = format!("{ring:?}");
        assert_eq!(
            shown,
            r#"KeyRing { keys: ["2026-05", "2026-11"], active: "2026-11", .. }"#
        );
        assert_eq!(format!("{:?}", key("k", 1)), r#"RingKey("k", [redacted])"#);
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
        assert_eq!(first.keys[0].bytes, second.keys[0].bytes);
        assert_eq!(second.active_id(), DEFAULT_KEY_ID);
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
