//! The guard's counters, rendered in the Prometheus text format by [`Guard::metrics`]
//! (crate::Guard::metrics).

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// Refusal reasons counted apart; see [`Refusal::reason`](crate::Refusal::reason).
pub(crate) const REASONS: [&str; 14] = [
    "missing",
    "expired",
    "wrong_audience",
    "wrong_issuer",
    "wrong_type",
    "unknown_key",
    "invalid_signature",
    "invalid",
    "revoked",
    "insufficient_scope",
    "missing_role",
    "revocations_stale",
    "keys_stale",
    "other",
];

#[derive(Debug, Default)]
pub(crate) struct Metrics {
    pub(crate) accepted: AtomicU64,
    refused: [AtomicU64; REASONS.len()],
    pub(crate) cache_hits: AtomicU64,
    pub(crate) cache_misses: AtomicU64,
    /// The last and the largest delay between a revocation at the issuer and its arrival here.
    pub(crate) revocation_lag_last_ms: AtomicU64,
    pub(crate) revocation_lag_max_ms: AtomicU64,
    /// Connections opened to the revocation stream.
    pub(crate) feed_connects: AtomicU64,
}

impl Metrics {
    pub(crate) fn refused(&self, reason: &str) {
        let i = REASONS
            .iter()
            .position(|r| *r == reason)
            .unwrap_or(REASONS.len() - 1);
        self.refused[i].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn lag(&self, ms: u64) {
        self.revocation_lag_last_ms.store(ms, Ordering::Relaxed);
        self.revocation_lag_max_ms.fetch_max(ms, Ordering::Relaxed);
    }

    pub(crate) fn render(&self, jwks_fetches: u64, feed_age_secs: Option<u64>) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# TYPE signet_guard_accepted_total counter\nsignet_guard_accepted_total {}",
            get(&self.accepted)
        );
        let _ = writeln!(out, "# TYPE signet_guard_refused_total counter");
        for (i, reason) in REASONS.iter().enumerate() {
            let _ = writeln!(
                out,
                "signet_guard_refused_total{{reason=\"{reason}\"}} {}",
                get(&self.refused[i])
            );
        }
        let (hits, misses) = (get(&self.cache_hits), get(&self.cache_misses));
        let ratio = if hits + misses == 0 {
            0.0
        } else {
            hits as f64 / (hits + misses) as f64
        };
        let _ = writeln!(
            out,
            "# TYPE signet_guard_cache_hit_ratio gauge\nsignet_guard_cache_hit_ratio {ratio:.4}"
        );
        let _ = writeln!(
            out,
            "# TYPE signet_guard_jwks_fetches_total counter\nsignet_guard_jwks_fetches_total {jwks_fetches}"
        );
        let _ = writeln!(
            out,
            "# TYPE signet_guard_revocation_lag_seconds gauge\nsignet_guard_revocation_lag_seconds{{stat=\"last\"}} {:.3}\nsignet_guard_revocation_lag_seconds{{stat=\"max\"}} {:.3}",
            get(&self.revocation_lag_last_ms) as f64 / 1000.0,
            get(&self.revocation_lag_max_ms) as f64 / 1000.0
        );
        let _ = writeln!(
            out,
            "# TYPE signet_guard_revocation_feed_connects_total counter\nsignet_guard_revocation_feed_connects_total {}",
            get(&self.feed_connects)
        );
        if let Some(age) = feed_age_secs {
            let _ = writeln!(
                out,
                "# TYPE signet_guard_revocation_feed_age_seconds gauge\nsignet_guard_revocation_feed_age_seconds {age}"
            );
        }
        out
    }
}
