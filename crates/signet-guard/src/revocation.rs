//! The set of revoked access-token ids, each kept until its token could no longer pass
//! anyway: its `exp` plus the leeway the guard allows.

use std::collections::HashMap;
use std::sync::RwLock;

/// Revoked `jti`s with the `exp` of their tokens, and client cutoffs.
#[derive(Debug, Default)]
pub struct RevocationSet {
    entries: RwLock<HashMap<String, u64>>,
    /// Deleted clients: every token issued to one at or before the cutoff is revoked; kept
    /// until the last such token has expired.
    clients: RwLock<HashMap<String, Cutoff>>,
}

#[derive(Debug, Clone, Copy)]
struct Cutoff {
    issued_before: u64,
    until: u64,
}

impl RevocationSet {
    /// Records a revocation.
    pub fn insert(&self, jti: impl Into<String>, exp: u64) {
        if let Ok(mut e) = self.entries.write() {
            e.insert(jti.into(), exp);
        }
    }

    /// Records a client cutoff: tokens issued to `client_id` at or before `issued_before` are
    /// revoked; the entry matters until `until` (Unix seconds).
    pub fn cut_off_client(&self, client_id: impl Into<String>, issued_before: u64, until: u64) {
        if let Ok(mut c) = self.clients.write() {
            let entry = c.entry(client_id.into()).or_insert(Cutoff {
                issued_before,
                until,
            });
            entry.issued_before = entry.issued_before.max(issued_before);
            entry.until = entry.until.max(until);
        }
    }

    /// Whether a token issued to `client_id` at `iat` falls under a client cutoff.
    pub fn client_cut_off(&self, client_id: &str, iat: u64) -> bool {
        self.clients
            .read()
            .is_ok_and(|c| c.get(client_id).is_some_and(|cut| iat <= cut.issued_before))
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
        if let Ok(mut c) = self.clients.write() {
            c.retain(|_, cut| cut.until.saturating_add(leeway) >= now);
        }
    }

    /// How many entries are held (revoked `jti`s and client cutoffs).
    pub fn len(&self) -> usize {
        self.entries.read().map_or(0, |e| e.len()) + self.clients.read().map_or(0, |c| c.len())
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revoked_token_inside_the_leeway_stays_revoked() {
        let set = RevocationSet::default();
        set.insert("t", 1_000);
        set.cut_off_client("c", 900, 1_000);
        // 30 s past exp, with a 60 s leeway: the token could still pass its exp check.
        set.prune(1_030, 60);
        assert!(set.contains("t"));
        assert!(set.client_cut_off("c", 900));
        assert!(
            !set.client_cut_off("c", 901),
            "tokens issued after the cutoff pass"
        );
        // Past exp plus leeway the token fails on exp alone; the entries may go.
        set.prune(1_061, 60);
        assert!(!set.contains("t"));
        assert!(set.is_empty());
    }
}
