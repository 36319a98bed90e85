//! Password hashing with argon2id, off the async threads. Unknown users cost the same hash as
//! known ones.

use anyhow::{Result, anyhow};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use aws_lc_rs::rand;
use zeroize::Zeroizing;

/// Hashes a password (argon2id, the crate's recommended parameters).
pub(crate) fn hash(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    rand::fill(&mut salt).map_err(|_| anyhow!("no randomness"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow!("salt: {e}"))?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow!("hash: {e}"))?
        .to_string())
}

/// Whether `password` matches the PHC string `stored`.
pub(crate) fn matches(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// Checks a password on a blocking thread. With no user, checks against `dummy` so that the
/// answer takes as long as for a real user.
pub(crate) async fn check(
    password: Zeroizing<String>,
    stored: Option<String>,
    dummy: String,
) -> bool {
    let known = stored.is_some();
    let target = stored.unwrap_or(dummy);
    let ok = tokio::task::spawn_blocking(move || matches(&password, &target))
        .await
        .unwrap_or(false);
    ok && known
}
