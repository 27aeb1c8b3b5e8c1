//! Encryption of secrets at rest: AES-256-GCM under a ring of named keys, a
//! random 96-bit nonce per sealing, a caller-chosen context (such as the
//! owning member's id) as associated data, so a ciphertext moved to another
//! row does not open, and the key id stored beside the ciphertext so keys
//! can rotate.

use aes_gcm::{
    Aes256Gcm, KeyInit, Nonce,
    aead::{Aead, Payload},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use rand::{RngCore, rngs::OsRng};
use secrecy::{ExposeSecret, SecretBox, SecretString};
use serde::Deserialize;

/// Bytes in an AES-256 key.
pub const KEY_BYTES: usize = 32;
/// Bytes in an AES-GCM nonce.
pub const NONCE_BYTES: usize = 12;
/// Key id of the random key drawn when configuration names none.
pub const EPHEMERAL_KEY_ID: &str = "ephemeral";
/// Longest key id.
const MAX_KEY_ID_LEN: usize = 32;

/// One AES-256-GCM key of a ring, as configured.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncryptionKeyConfig {
    /// Name stored beside each ciphertext, so the key can be found again:
    /// 1 to 32 characters of `A-Z a-z 0-9 - _`.
    pub id: String,
    /// The key: 32 bytes in standard base64.
    pub key: SecretString,
}

/// A secret as stored: which key sealed it, the ciphertext and its nonce.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sealed {
    /// Id of the key that sealed it.
    pub key_id: String,
    /// Ciphertext with the GCM tag appended.
    pub ciphertext: Vec<u8>,
    /// The nonce, [`NONCE_BYTES`] long.
    pub nonce: Vec<u8>,
}

/// Why a key ring could not be built from configuration.
#[derive(Debug, thiserror::Error)]
pub enum KeyRingError {
    #[error("encryption_keys[{0}]: id must be 1 to 32 characters of A-Z a-z 0-9 - _")]
    BadId(usize),
    #[error("encryption_keys[{0}]: id is used twice")]
    DuplicateId(usize),
    #[error("encryption_keys[{0}]: key must be 32 bytes in standard base64")]
    BadKey(usize),
}

/// Why a secret could not be sealed or opened.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("no key with id {0:?} in the ring")]
    UnknownKey(String),
    #[error("stored nonce has {0} bytes instead of 12")]
    BadNonce(usize),
    #[error("ciphertext does not open under its key and context")]
    Open,
    #[error("secret could not be sealed")]
    Seal,
}

/// Named AES-256-GCM keys; the last one seals.
pub struct KeyRing {
    keys: Vec<(String, Aes256Gcm)>,
}

impl KeyRing {
    /// The ring of configured keys.
    pub fn from_config(keys: &[EncryptionKeyConfig]) -> Result<Self, KeyRingError> {
        let mut ring = Vec::with_capacity(keys.len());
        for (i, entry) in keys.iter().enumerate() {
            if !is_key_id(&entry.id) {
                return Err(KeyRingError::BadId(i));
            }
            if ring.iter().any(|(id, _)| id == &entry.id) {
                return Err(KeyRingError::DuplicateId(i));
            }
            let bytes = SecretBox::new(Box::new(
                STANDARD
                    .decode(entry.key.expose_secret().trim())
                    .map_err(|_| KeyRingError::BadKey(i))?,
            ));
            let cipher = Aes256Gcm::new_from_slice(bytes.expose_secret())
                .map_err(|_| KeyRingError::BadKey(i))?;
            ring.push((entry.id.clone(), cipher));
        }
        Ok(Self { keys: ring })
    }

    /// A ring of one random key, for a process that keeps nothing.
    pub fn ephemeral() -> Self {
        let mut key = [0u8; KEY_BYTES];
        OsRng.fill_bytes(&mut key);
        let cipher = Aes256Gcm::new(&key.into());
        key.fill(0);
        Self {
            keys: vec![(EPHEMERAL_KEY_ID.to_string(), cipher)],
        }
    }

    /// Id of the key that seals; ciphertexts under any other key are due
    /// for re-sealing.
    pub fn newest_id(&self) -> Option<&str> {
        self.keys.last().map(|(id, _)| id.as_str())
    }

    /// Whether the ring holds no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Seals `secret` for `context` under the last key.
    pub fn seal(&self, context: &str, secret: &[u8]) -> Result<Sealed, CryptoError> {
        let (key_id, cipher) = self.keys.last().ok_or(CryptoError::Seal)?;
        let mut nonce = [0u8; NONCE_BYTES];
        OsRng.fill_bytes(&mut nonce);
        let payload = Payload {
            msg: secret,
            aad: context.as_bytes(),
        };
        let ciphertext = cipher
            .encrypt(Nonce::from_slice(&nonce), payload)
            .map_err(|_| CryptoError::Seal)?;
        Ok(Sealed {
            key_id: key_id.clone(),
            ciphertext,
            nonce: nonce.to_vec(),
        })
    }

    /// Opens what [`seal`](Self::seal) made for the same context.
    pub fn open(&self, context: &str, sealed: &Sealed) -> Result<SecretBox<Vec<u8>>, CryptoError> {
        let (_, cipher) = self
            .keys
            .iter()
            .find(|(id, _)| id == &sealed.key_id)
            .ok_or_else(|| CryptoError::UnknownKey(sealed.key_id.clone()))?;
        if sealed.nonce.len() != NONCE_BYTES {
            return Err(CryptoError::BadNonce(sealed.nonce.len()));
        }
        let payload = Payload {
            msg: &sealed.ciphertext,
            aad: context.as_bytes(),
        };
        let plain = cipher
            .decrypt(Nonce::from_slice(&sealed.nonce), payload)
            .map_err(|_| CryptoError::Open)?;
        Ok(SecretBox::new(Box::new(plain)))
    }
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("KeyRing").field("key_ids", &ids).finish()
    }
}

fn is_key_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_KEY_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str, byte: u8) -> EncryptionKeyConfig {
        EncryptionKeyConfig {
            id: id.to_string(),
            key: SecretString::from(STANDARD.encode([byte; KEY_BYTES])),
        }
    }

    #[test]
    fn open_returns_secret_when_member_matches() {
        let ring = KeyRing::from_config(&[key("k1", 7)]).unwrap();

        let sealed = ring.seal("member-1", b"twenty byte secret!!").unwrap();
        let opened = ring.open("member-1", &sealed).unwrap();

        assert_eq!(opened.expose_secret().as_slice(), b"twenty byte secret!!");
        assert_eq!(sealed.key_id, "k1");
        assert_eq!(sealed.nonce.len(), NONCE_BYTES);
        assert_ne!(sealed.ciphertext.as_slice(), b"twenty byte secret!!");
    }

    #[test]
    fn open_fails_when_associated_member_differs() {
        let ring = KeyRing::from_config(&[key("k1", 7)]).unwrap();
        let sealed = ring.seal("member-1", b"secret").unwrap();

        let opened = ring.open("member-2", &sealed);

        assert!(matches!(opened, Err(CryptoError::Open)));
    }

    #[test]
    fn seal_uses_last_key_and_open_still_reads_older_keys() {
        let old = KeyRing::from_config(&[key("old", 1)]).unwrap();
        let sealed_old = old.seal("m", b"secret").unwrap();
        let rotated = KeyRing::from_config(&[key("old", 1), key("new", 2)]).unwrap();

        let sealed_new = rotated.seal("m", b"secret").unwrap();

        assert_eq!(sealed_new.key_id, "new");
        assert!(rotated.open("m", &sealed_old).is_ok());
    }

    #[test]
    fn open_fails_cleanly_when_key_or_nonce_is_unknown() {
        let ring = KeyRing::from_config(&[key("k1", 7)]).unwrap();
        let mut sealed = ring.seal("m", b"secret").unwrap();
        sealed.nonce.pop();

        assert!(matches!(
            ring.open("m", &sealed),
            Err(CryptoError::BadNonce(11))
        ));
        sealed.key_id = "gone".into();
        assert!(matches!(
            ring.open("m", &sealed),
            Err(CryptoError::UnknownKey(_))
        ));
    }

    #[test]
    fn from_config_names_bad_entry() {
        let short = EncryptionKeyConfig {
            id: "k2".into(),
            key: SecretString::from(STANDARD.encode([0u8; 16])),
        };

        assert!(matches!(
            KeyRing::from_config(&[key("k1", 1), short]),
            Err(KeyRingError::BadKey(1))
        ));
        assert!(matches!(
            KeyRing::from_config(&[key("k1", 1), key("k1", 2)]),
            Err(KeyRingError::DuplicateId(1))
        ));
        assert!(matches!(
            KeyRing::from_config(&[key("a:b", 1)]),
            Err(KeyRingError::BadId(0))
        ));
    }

    #[test]
    fn key_ring_debug_shows_ids_only() {
        let ring = KeyRing::from_config(&[key("k1", 0x41)]).unwrap();

        let shown = format!("{ring:?}");

        assert!(shown.contains("k1"));
        assert!(!shown.contains("QUFB"));
    }
}
