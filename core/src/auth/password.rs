//! Argon2id password hashes (PHC strings), and their verification in
//! memory the caller owns, so that the memory of concurrent sign-ins is a
//! fixed pool instead of a fresh 19 MiB allocation per attempt (which the
//! allocator keeps per thread and does not give back).

use argon2::{
    password_hash::{Output, ParamsString, PasswordHash, SaltString},
    Algorithm, Argon2, Block, Params, Version,
};

use super::AuthError;

/// The most memory a stored hash may ask a verification for (256 MiB):
/// more is refused rather than allocated.
const MAX_BLOCKS: usize = 256 * 1024;

/// Memory for one verification, reused from one to the next.
pub struct Memory(Vec<Block>);

impl Memory {
    /// Enough for the default parameters (19 MiB), which every hash this
    /// host writes uses.
    pub fn new() -> Self {
        Memory(vec![Block::default(); Params::DEFAULT.block_count()])
    }
}

impl Default for Memory {
    fn default() -> Self {
        Self::new()
    }
}

/// An argon2id PHC string for `password` (default parameters).
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    hash_password_in(password, &mut Memory::new())
}

/// [`hash_password`], computed in `memory`.
pub fn hash_password_in(password: &str, memory: &mut Memory) -> Result<String, AuthError> {
    let fail = |e: &dyn std::fmt::Display| AuthError::Hash(e.to_string());
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| fail(&e))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| fail(&e))?;
    let params = Params::DEFAULT;
    let blocks = params.block_count();
    if memory.0.len() < blocks {
        memory.0.resize(blocks, Block::default());
    }
    let mut raw_salt = [0u8; 64];
    let raw_salt = salt.decode_b64(&mut raw_salt).map_err(|e| fail(&e))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(
            password.as_bytes(),
            raw_salt,
            &mut out,
            &mut memory.0[..blocks],
        )
        .map_err(|e| fail(&e))?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| fail(&e))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| fail(&e))?),
    };
    Ok(hash.to_string())
}

/// Whether `password` matches the PHC string `phc`, computed in `memory`
/// (grown if the hash's parameters need more, up to 256 MiB). A malformed
/// hash matches nothing.
pub fn verify_password_in(password: &str, phc: &str, memory: &mut Memory) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm) else {
        return false;
    };
    let version = match hash.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let Ok(params) = Params::try_from(&hash) else {
        return false;
    };
    let blocks = params.block_count();
    if blocks > MAX_BLOCKS {
        return false;
    }
    if memory.0.len() < blocks {
        memory.0.resize(blocks, Block::default());
    }
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    let computed = Argon2::new(algorithm, version, params).hash_password_into_with_memory(
        password.as_bytes(),
        salt,
        &mut out,
        &mut memory.0[..blocks],
    );
    // `Output`'s comparison is constant-time.
    computed.is_ok() && Output::new(&out).is_ok_and(|out| out == expected)
}

/// [`verify_password_in`] with memory of its own.
pub fn verify_password(password: &str, phc: &str) -> bool {
    verify_password_in(password, phc, &mut Memory::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ() {
        let a = hash_password("correct horse").unwrap();
        let b = hash_password("correct horse").unwrap();
        assert_ne!(a, b, "salted");
        let mut memory = Memory::new();
        assert!(verify_password_in("correct horse", &a, &mut memory));
        assert!(!verify_password_in("wrong horse", &a, &mut memory));
        assert!(verify_password_in("correct horse", &b, &mut memory));
        // The reference verifier accepts what this module writes.
        use argon2::password_hash::PasswordVerifier;
        let parsed = PasswordHash::new(&a).unwrap();
        assert!(Argon2::default()
            .verify_password(b"correct horse", &parsed)
            .is_ok());
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
    }

    /// The argon2 crate's own verifier agrees, for hashes with other
    /// parameters too; malformed or greedy hashes match nothing.
    #[test]
    fn agrees_with_the_reference_verifier() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let params = Params::new(8 * 1024, 3, 2, Some(40)).unwrap();
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let argon = Argon2::new(Algorithm::Argon2i, Version::V0x10, params);
        let phc = argon.hash_password(b"pw-pw-pw", &salt).unwrap().to_string();
        let parsed = PasswordHash::new(&phc).unwrap();
        assert!(Argon2::default()
            .verify_password(b"pw-pw-pw", &parsed)
            .is_ok());
        let mut memory = Memory::new();
        assert!(verify_password_in("pw-pw-pw", &phc, &mut memory));
        assert!(!verify_password_in("pw-pw-pX", &phc, &mut memory));
        assert!(!verify_password("pw-pw-pw", "not a hash"));
        assert!(!verify_password("pw-pw-pw", "$argon2id$v=19$m=4194304,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    }
}
