//! Publisher keys and bundle signatures (ed25519).
//!
//! A bundle is signed over the 32 bytes of its SHA-256 digest. A key is
//! named by its id: the first 16 hex digits of the SHA-256 of its public key.
//! Key files are JSON: `{"key_id", "public_key"}` plus `"secret_key"` for a
//! signing key (all hex).
//!
//! ```
//! use plugboard_core::marketplace::signing::{KeyPair, sha256_hex, verify};
//! let key = KeyPair::generate().unwrap();
//! let digest = sha256_hex(b"bundle bytes");
//! let sig = key.sign(&digest).unwrap();
//! assert!(verify(&key.public(), &digest, &sig).is_ok());
//! assert!(verify(&key.public(), &sha256_hex(b"other"), &sig).is_err());
//! ```

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Why a key or signature was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    /// Not valid hex of the right length.
    #[error("{what} is not valid: {why}")]
    Malformed {
        /// What was being read.
        what: &'static str,
        /// Why.
        why: String,
    },
    /// The signature does not match the digest and key.
    #[error("signature does not verify with key {key_id}")]
    Mismatch {
        /// The key tried.
        key_id: String,
    },
}

/// The hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A publisher's public key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicKey {
    /// Short id (16 hex digits).
    pub key_id: String,
    /// The ed25519 public key, hex.
    pub public_key: String,
}

impl PublicKey {
    /// Checks the hex and that `key_id` belongs to the key.
    pub fn parse(public_key_hex: &str) -> Result<PublicKey, SignatureError> {
        let key = verifying_key(public_key_hex)?;
        Ok(PublicKey {
            key_id: key_id(&key),
            public_key: hex::encode(key.as_bytes()),
        })
    }
}

/// A signing key with its public half.
#[derive(Clone, Serialize, Deserialize)]
pub struct KeyPair {
    /// Short id.
    pub key_id: String,
    /// Public key, hex.
    pub public_key: String,
    /// Secret key, hex. Keep the file private.
    pub secret_key: String,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

fn key_id(key: &VerifyingKey) -> String {
    sha256_hex(key.as_bytes())[..16].to_string()
}

fn verifying_key(hex_key: &str) -> Result<VerifyingKey, SignatureError> {
    let bytes: [u8; 32] = hex::decode(hex_key)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| SignatureError::Malformed {
            what: "public key",
            why: "expected 64 hex digits".into(),
        })?;
    VerifyingKey::from_bytes(&bytes).map_err(|e| SignatureError::Malformed {
        what: "public key",
        why: e.to_string(),
    })
}

fn digest_bytes(digest_hex: &str) -> Result<[u8; 32], SignatureError> {
    hex::decode(digest_hex)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| SignatureError::Malformed {
            what: "sha256",
            why: "expected 64 hex digits".into(),
        })
}

impl KeyPair {
    /// A new random key (from the OS's generator).
    pub fn generate() -> std::io::Result<KeyPair> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| std::io::Error::other(e.to_string()))?;
        let signing = SigningKey::from_bytes(&seed);
        let public = signing.verifying_key();
        Ok(KeyPair {
            key_id: key_id(&public),
            public_key: hex::encode(public.as_bytes()),
            secret_key: hex::encode(seed),
        })
    }

    /// The public half.
    pub fn public(&self) -> PublicKey {
        PublicKey {
            key_id: self.key_id.clone(),
            public_key: self.public_key.clone(),
        }
    }

    /// Signs a bundle's SHA-256 (hex); the signature in hex.
    pub fn sign(&self, digest_hex: &str) -> Result<String, SignatureError> {
        let seed: [u8; 32] = hex::decode(&self.secret_key)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| SignatureError::Malformed {
                what: "secret key",
                why: "expected 64 hex digits".into(),
            })?;
        let signing = SigningKey::from_bytes(&seed);
        if key_id(&signing.verifying_key()) != self.key_id {
            return Err(SignatureError::Malformed {
                what: "key file",
                why: "key_id does not match the key".into(),
            });
        }
        Ok(hex::encode(
            signing.sign(&digest_bytes(digest_hex)?).to_bytes(),
        ))
    }
}

/// Verifies `signature_hex` over the digest with `key`.
pub fn verify(
    key: &PublicKey,
    digest_hex: &str,
    signature_hex: &str,
) -> Result<(), SignatureError> {
    let public = verifying_key(&key.public_key)?;
    let sig: [u8; 64] = hex::decode(signature_hex)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| SignatureError::Malformed {
            what: "signature",
            why: "expected 128 hex digits".into(),
        })?;
    public
        .verify(&digest_bytes(digest_hex)?, &Signature::from_bytes(&sig))
        .map_err(|_| SignatureError::Mismatch {
            key_id: key.key_id.clone(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tampered_signatures_and_foreign_keys_fail() {
        let a = KeyPair::generate().unwrap();
        let b = KeyPair::generate().unwrap();
        let d = sha256_hex(b"x");
        let sig = a.sign(&d).unwrap();
        assert!(matches!(
            verify(&b.public(), &d, &sig),
            Err(SignatureError::Mismatch { .. })
        ));
        let mut bad = sig.clone();
        bad.replace_range(0..2, if &sig[0..2] == "00" { "11" } else { "00" });
        assert!(verify(&a.public(), &d, &bad).is_err());
        assert!(verify(&a.public(), &d, "zz").is_err());
        assert_eq!(PublicKey::parse(&a.public_key).unwrap(), a.public());
    }
}
