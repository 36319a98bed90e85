//! The set of revoked access-token ids, each kept until its token could no longer pass
//! anyway: its `exp` plus the leeway the guard allows.

use std::collections::HashMap;
use std::sync::RwLock;

/// Revoked `jti`s with the `exp` of their tokens.
#[derive(Debug, Default)]
pub struct RevocationSet {
    entries: RwLock<HashMap<String, u64>>,
}

impl RevocationSet {
    /// Records a revocation.
    pub fn insert(&self, jti: impl Into<String>, exp: u64) {
        if let Ok(mut e) = self.entries.write() {
            e.insert(jti.into(), exp);
        }
    }

    /// Whether `jti` is revoked.
    pub fn contains(&self, jti: &str) -> bool {
        self.entries.read().is_ok_and(|e| e.contains_key(jti))
    }

    /// Drops the entries whose tokens expired more than `leeway` seconds before `now` (Unix
    /// seconds): a verifier that allows that leeway refuses them by their `exp` alone.
    pub fn prune(&self, now: u64, leeway: u64) {
        if let Ok(mut e) = self.entries.write() {
            e.retain(|_, exp| exp.saturating_add(leeway) >= now);
        }
    }

    /// How many entries are held.
    pub fn len(&self) -> usize {
        self.entries.read().map_or(0, |e| e.len())
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
