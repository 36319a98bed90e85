//! The verified-token cache: a bounded map from a hash of the whole token to its verified
//! claims and the `kid` of the key that verified it. A hit skips the signature check only;
//! `exp`, `nbf` and the revocation set are still checked on every request. An entry lives at
//! most [`MAX_ENTRY_AGE`], and entries whose key has left the key set are dropped when the
//! keys change, so a withdrawn key stops opening the door at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_lc_rs::digest;

use crate::AccessClaims;

/// The default number of tokens remembered.
pub const DEFAULT_CAPACITY: usize = 10_000;

/// The longest an entry is trusted before its token is verified again (seconds).
pub(crate) const MAX_ENTRY_AGE: u64 = 300;

type Key = [u8; 32];

fn key(token: &str) -> Key {
    let mut k = [0u8; 32];
    k.copy_from_slice(digest::digest(&digest::SHA256, token.as_bytes()).as_ref());
    k
}

#[derive(Debug)]
struct Entry {
    claims: Arc<AccessClaims>,
    /// The key that verified the token (`None`: the token named none).
    kid: Option<Box<str>>,
    /// Unix seconds after which the entry is not used.
    until: u64,
}

/// A bounded cache of verified tokens.
#[derive(Debug)]
pub(crate) struct VerifiedCache {
    capacity: usize,
    entries: Mutex<HashMap<Key, Entry>>,
}

impl VerifiedCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: Mutex::new(HashMap::with_capacity(capacity.min(1024))),
        }
    }

    /// The claims of a token verified before, unless its entry is too old.
    pub(crate) fn get(&self, token: &str, now: u64) -> Option<Arc<AccessClaims>> {
        let entries = self.entries.lock().ok()?;
        let entry = entries.get(&key(token))?;
        (now < entry.until).then(|| Arc::clone(&entry.claims))
    }

    /// Remembers a verified token; when full, forgets the stale ones first, then everything.
    pub(crate) fn insert(
        &self,
        token: &str,
        claims: Arc<AccessClaims>,
        kid: Option<&str>,
        now: u64,
    ) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= self.capacity {
            entries.retain(|_, e| e.until > now);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        let until = claims
            .exp
            .map_or(now, |e| e.as_secs())
            .min(now.saturating_add(MAX_ENTRY_AGE));
        entries.insert(
            key(token),
            Entry {
                claims,
                kid: kid.map(Into::into),
                until,
            },
        );
    }

    /// After the keys changed: forgets every token whose key is not in `kids` (and those that
    /// named no key, which any key could have verified).
    pub(crate) fn keep_kids(&self, kids: &[&str]) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|_, e| e.kid.as_deref().is_some_and(|k| kids.contains(&k)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_of_a_withdrawn_key_is_forgotten_when_the_keys_change() {
        let cache = VerifiedCache::new(10);
        let claims = AccessClaims {
            exp: signet::NumericDate::from_secs(10_000),
            ..Default::default()
        };
        let claims = Arc::new(claims);
        cache.insert("a", Arc::clone(&claims), Some("old"), 100);
        cache.insert("b", Arc::clone(&claims), Some("new"), 100);
        cache.insert("c", Arc::clone(&claims), None, 100);
        cache.keep_kids(&["new"]);
        assert!(cache.get("a", 100).is_none());
        assert!(cache.get("b", 100).is_some());
        assert!(cache.get("c", 100).is_none());
    }

    #[test]
    fn cache_entry_is_not_trusted_past_its_maximum_age() {
        let cache = VerifiedCache::new(10);
        let claims = AccessClaims {
            exp: signet::NumericDate::from_secs(100_000),
            ..Default::default()
        };
        cache.insert("a", Arc::new(claims), Some("k"), 100);
        assert!(cache.get("a", 100 + MAX_ENTRY_AGE - 1).is_some());
        assert!(cache.get("a", 100 + MAX_ENTRY_AGE).is_none());
    }
}
