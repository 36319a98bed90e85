//! Password hashing with argon2id, off the async threads. Unknown users cost the same hash as
//! known ones.

use anyhow::{Result, anyhow};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use aws_lc_rs::rand;
use std::sync::Arc;

use tokio::sync::Semaphore;
use zeroize::Zeroizing;

use crate::domain::DomainError;

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

/// The most memory a stored hash may ask for (256 MiB): a row with more is refused, not run.
const MAX_MEMORY_KIB: u32 = 256 * 1024;

thread_local! {
    /// The argon2 working memory of this thread, kept between checks: a hashing thread holds
    /// one block of memory for its life instead of asking the allocator for 19 MiB each time
    /// (which the allocator then keeps, per thread, in pieces).
    static BLOCKS: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Whether `password` matches the PHC string `stored` (argon2id, argon2i or argon2d, any
/// version and parameters up to [`MAX_MEMORY_KIB`]); the output is compared in constant time.
pub(crate) fn matches(password: &str, stored: &str) -> bool {
    let Ok(hash) = PasswordHash::new(stored) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (
        argon2::Algorithm::try_from(hash.algorithm),
        argon2::Params::try_from(&hash),
    ) else {
        return false;
    };
    let version = match hash.version.map(argon2::Version::try_from) {
        None => argon2::Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return false;
    };
    if params.m_cost() > MAX_MEMORY_KIB {
        return false;
    }
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let mut out = Zeroizing::new(vec![0u8; expected.len()]);
    let blocks = params.block_count();
    let context = Argon2::new(algorithm, version, params);
    let computed = BLOCKS.with(|memory| {
        let mut memory = memory.borrow_mut();
        if memory.len() < blocks {
            memory.resize(blocks, argon2::Block::default());
        }
        context
            .hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut memory[..])
            .is_ok()
    });
    computed && aws_lc_rs::constant_time::verify_slices_are_equal(&out, expected.as_bytes()).is_ok()
}

/// A job for a hashing thread.
type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of threads that check passwords. Each argon2id hash holds about 19 MiB; on a
/// fixed set of threads the allocator keeps at most one such block per thread, where on the
/// runtime's blocking pool every new thread would keep its own. Logins wait for a free slot
/// for a bounded time, then are answered 503.
pub(crate) struct Hashers {
    jobs: std::sync::Mutex<std::sync::mpsc::Sender<Job>>,
    slots: Arc<Semaphore>,
}

impl std::fmt::Debug for Hashers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hashers")
            .field("free", &self.slots.available_permits())
            .finish()
    }
}

impl Hashers {
    /// Starts `threads` hashing threads.
    pub(crate) fn start(threads: usize) -> anyhow::Result<Self> {
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = Arc::new(std::sync::Mutex::new(queue));
        for i in 0..threads {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("signet-hash-{i}"))
                .spawn(move || {
                    loop {
                        let job = match queue.lock() {
                            Ok(q) => q.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return, // the issuer stopped
                        }
                    }
                })
                .map_err(|e| anyhow!("cannot start a hashing thread: {e}"))?;
        }
        Ok(Self {
            jobs: std::sync::Mutex::new(jobs),
            slots: Arc::new(Semaphore::new(threads)),
        })
    }

    /// Hashing slots free now.
    pub(crate) fn free(&self) -> usize {
        self.slots.available_permits()
    }

    /// Checks `password` against the PHC string `stored` once a slot is free, waiting at most
    /// `wait`. With no user, checks against `dummy` so that the answer takes as long as for a
    /// real user.
    pub(crate) async fn check(
        &self,
        wait: std::time::Duration,
        password: Zeroizing<String>,
        stored: Option<String>,
        dummy: String,
    ) -> Result<bool, DomainError> {
        let busy = || DomainError::Busy("too many logins at once; try again shortly");
        let permit = match tokio::time::timeout(wait, Arc::clone(&self.slots).acquire_owned()).await
        {
            Ok(Ok(permit)) => permit,
            _ => return Err(busy()),
        };
        let known = stored.is_some();
        let target = stored.unwrap_or(dummy);
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _slot = permit;
            let _ = answer.send(matches(&password, &target));
        });
        self.jobs
            .lock()
            .map_err(|_| busy())?
            .send(job)
            .map_err(|_| busy())?;
        Ok(answered.await.unwrap_or(false) && known)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::PasswordVerifier;

    #[test]
    fn a_password_matches_its_own_hash_only() {
        let stored = hash("correct horse battery").unwrap();
        assert!(matches("correct horse battery", &stored));
        assert!(!matches("correct horse batterz", &stored));
        assert!(!matches("", &stored));
        assert!(!matches("correct horse battery", "not a PHC string"));
        // The crate's own verifier agrees on both answers.
        let parsed = PasswordHash::new(&stored).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse battery", &parsed)
                .is_ok()
        );
    }

    #[test]
    fn a_tampered_hash_asking_for_huge_memory_is_refused_not_run() {
        let stored = hash("pw-pw-pw-pw").unwrap();
        let greedy = stored.replace("m=19456", "m=4194304");
        assert_ne!(stored, greedy);
        assert!(!matches("pw-pw-pw-pw", &greedy));
    }
}
