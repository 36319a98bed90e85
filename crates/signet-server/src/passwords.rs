//! Password hashing with argon2id, off the async threads. Unknown users cost the same hash as
//! known ones.

use anyhow::{Result, anyhow};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use aws_lc_rs::rand;
use std::sync::Arc;

use tokio::sync::Semaphore;
use zeroize::Zeroizing;

use crate::error::ApiError;

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

/// Checks a password on a blocking thread, once one of the `slots` is free (each argon2id
/// hash holds about 19 MiB, so their number is capped), waiting at most `wait`. With no user, checks against `dummy`
/// so that the answer takes as long as for a real user.
pub(crate) async fn check(
    slots: &Arc<Semaphore>,
    wait: std::time::Duration,
    password: Zeroizing<String>,
    stored: Option<String>,
    dummy: String,
) -> Result<bool, ApiError> {
    let permit = match tokio::time::timeout(wait, Arc::clone(slots).acquire_owned()).await {
        Ok(Ok(permit)) => permit,
        _ => return Err(ApiError::Busy("too many logins at once; try again shortly")),
    };
    let known = stored.is_some();
    let target = stored.unwrap_or(dummy);
    let ok = tokio::task::spawn_blocking(move || {
        let _slot = permit;
        matches(&password, &target)
    })
    .await
    .unwrap_or(false);
    Ok(ok && known)
}
