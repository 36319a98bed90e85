//! Login rate limits, per user name and per client address, in fixed windows.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many login attempts a key may make per window.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Quota {
    pub(crate) attempts: u32,
    pub(crate) window: Duration,
}

/// Counters for one kind of key.
#[derive(Debug)]
struct Windows<K> {
    quota: Quota,
    seen: Mutex<HashMap<K, (Instant, u32)>>,
}

impl<K: std::hash::Hash + Eq + Clone> Windows<K> {
    fn new(quota: Quota) -> Self {
        Self {
            quota,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt; `Err(retry_after)` when over the quota.
    fn hit(&self, key: &K, now: Instant) -> Result<(), Duration> {
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.len() > 100_000 {
            seen.retain(|_, (start, _)| now.duration_since(*start) < self.quota.window);
        }
        let entry = seen.entry(key.clone()).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.quota.window {
            *entry = (now, 0);
        }
        entry.1 += 1;
        if entry.1 > self.quota.attempts {
            return Err(self
                .quota
                .window
                .saturating_sub(now.duration_since(entry.0)));
        }
        Ok(())
    }
}

/// The login limits of one issuer instance.
#[derive(Debug)]
pub(crate) struct LoginLimits {
    by_user: Windows<String>,
    by_address: Windows<IpAddr>,
}

impl LoginLimits {
    pub(crate) fn new(per_user: Quota, per_address: Quota) -> Self {
        Self {
            by_user: Windows::new(per_user),
            by_address: Windows::new(per_address),
        }
    }

    /// Counts a login attempt; `Err(retry_after)` when either limit is exceeded.
    pub(crate) fn attempt(&self, user: &str, address: Option<IpAddr>) -> Result<(), Duration> {
        let now = Instant::now();
        if let Some(ip) = address {
            self.by_address.hit(&ip, now)?;
        }
        self.by_user.hit(&user.to_lowercase(), now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_allows_its_quota_then_refuses_until_it_ends() {
        let w = Windows::new(Quota {
            attempts: 2,
            window: Duration::from_secs(60),
        });
        let t0 = Instant::now();
        assert!(w.hit(&"a", t0).is_ok());
        assert!(w.hit(&"a", t0).is_ok());
        assert_eq!(
            w.hit(&"a", t0 + Duration::from_secs(10)),
            Err(Duration::from_secs(50))
        );
        assert!(w.hit(&"b", t0).is_ok(), "other keys are counted apart");
        assert!(
            w.hit(&"a", t0 + Duration::from_secs(61)).is_ok(),
            "a new window"
        );
    }
}
