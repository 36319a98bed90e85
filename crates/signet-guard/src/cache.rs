//! The verified-token cache: a bounded map from a hash of the whole token to its verified
//! claims. A hit skips the signature check only; `exp`, `nbf` and the revocation set are still
//! checked on every request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_lc_rs::digest;

use crate::AccessClaims;

/// The default number of tokens remembered.
pub const DEFAULT_CAPACITY: usize = 10_000;

type Key = [u8; 32];

fn key(token: &str) -> Key {
    let mut k = [0u8; 32];
    k.copy_from_slice(digest::digest(&digest::SHA256, token.as_bytes()).as_ref());
    k
}

/// A bounded cache of verified tokens.
#[derive(Debug)]
pub(crate) struct VerifiedCache {
    capacity: usize,
    entries: Mutex<HashMap<Key, Arc<AccessClaims>>>,
}

impl VerifiedCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: Mutex::new(HashMap::with_capacity(capacity.min(1024))),
        }
    }

    pub(crate) fn get(&self, token: &str) -> Option<Arc<AccessClaims>> {
        self.entries.lock().ok()?.get(&key(token)).cloned()
    }

    /// Remembers a verified token; when full, forgets the expired ones first, then everything.
    pub(crate) fn insert(&self, token: &str, claims: Arc<AccessClaims>, now: u64) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= self.capacity {
            entries.retain(|_, c| c.exp.is_some_and(|e| e.as_secs() > now));
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(key(token), claims);
    }
}
