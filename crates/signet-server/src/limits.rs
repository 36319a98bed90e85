//! Login rate limits, per user name and per client address, in fixed windows, with bounded
//! memory: entries are pruned on a timer, their number is capped, and user names over
//! [`MAX_USER_NAME`] bytes are refused before they are counted. IPv6 clients count by their
//! /64. The client address is the peer's, or, behind a trusted proxy, the one it forwards.
//!
//! With Redis configured, the counters live there, shared by every instance behind one
//! issuer name (keyed under the issuer URL, user names hashed). While Redis cannot be reached
//! each instance falls back to its own counters, logs it and counts it in the metrics: the
//! limits loosen to per instance, logins keep working.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};

use axum::http::HeaderMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many login attempts a key may make per window.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Quota {
    pub(crate) attempts: u32,
    pub(crate) window: Duration,
}

/// The longest user name accepted, in bytes.
pub(crate) const MAX_USER_NAME: usize = 256;

/// The most keys of one kind remembered; past it new keys are refused until the window ends.
const MAX_ENTRIES: usize = 50_000;

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
        if seen.len() >= MAX_ENTRIES && !seen.contains_key(key) {
            seen.retain(|_, (start, _)| now.duration_since(*start) < self.quota.window);
            if seen.len() >= MAX_ENTRIES {
                // Full of live windows: refuse newcomers rather than grow or forget counts.
                return Err(self.quota.window);
            }
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

    /// Forgets windows that have ended.
    fn prune(&self, now: Instant) {
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        seen.retain(|_, (start, _)| now.duration_since(*start) < self.quota.window);
        seen.shrink_to_fit();
    }

    fn len(&self) -> usize {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }
}

/// The key an address is counted under: IPv4 as it is, IPv6 by its /64 (one host usually has
/// a whole /64 to pick addresses from).
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(bits))
            }
        },
    }
}

/// The client's address: the peer's, unless the peer is a trusted proxy, in which case the
/// nearest address in `X-Forwarded-For` (or `Forwarded: for=`) that is not itself a trusted
/// proxy.
pub(crate) fn client_address(
    trusted: &[ipnet::IpNet],
    headers: &HeaderMap,
    peer: Option<IpAddr>,
) -> Option<IpAddr> {
    let peer = peer?;
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let mut hops: Vec<IpAddr> = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        let Ok(text) = value.to_str() else { continue };
        hops.extend(
            text.split(',')
                .filter_map(|h| h.trim().parse::<IpAddr>().ok()),
        );
    }
    if hops.is_empty() {
        for value in headers.get_all("forwarded") {
            let Ok(text) = value.to_str() else { continue };
            for element in text.split(',') {
                for pair in element.split(';') {
                    let Some((k, v)) = pair.trim().split_once('=') else {
                        continue;
                    };
                    if k.eq_ignore_ascii_case("for") {
                        let v = v.trim_matches('"');
                        let host = v
                            .strip_prefix('[')
                            .and_then(|r| r.split_once(']').map(|(h, _)| h))
                            .unwrap_or_else(|| v.split(':').next().unwrap_or(v));
                        if let Ok(ip) = host.parse() {
                            hops.push(ip);
                        }
                    }
                }
            }
        }
    }
    // Read from the right: the last hop was added by the trusted proxy itself.
    Some(
        hops.into_iter()
            .rev()
            .find(|ip| !is_trusted(ip))
            .unwrap_or(peer),
    )
}

/// Counters in Redis, shared by every instance.
struct Shared {
    redis: redis::aio::ConnectionManager,
    /// Keys start with this (the issuer URL), so that issuers sharing a Redis do not mix.
    prefix: String,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// How long a login waits for Redis before counting locally instead.
const REDIS_WAIT: Duration = Duration::from_millis(500);

impl Shared {
    /// Counts one attempt under `key` in a window of `quota`: the count and the seconds left.
    async fn hit(&self, key: &str, quota: Quota) -> redis::RedisResult<Result<(), Duration>> {
        let key = format!("{}:{key}", self.prefix);
        let window = quota.window.as_secs().max(1);
        let (count, ttl): (u64, i64) = redis::pipe()
            .atomic()
            .cmd("SET")
            .arg(&key)
            .arg(0)
            .arg("EX")
            .arg(window)
            .arg("NX")
            .ignore()
            .incr(&key, 1)
            .ttl(&key)
            .query_async(&mut self.redis.clone())
            .await?;
        if count > u64::from(quota.attempts) {
            let left = u64::try_from(ttl).unwrap_or(window).clamp(1, window);
            return Ok(Err(Duration::from_secs(left)));
        }
        Ok(Ok(()))
    }
}

/// The login limits of one issuer instance, counted here or in Redis.
#[derive(Debug)]
pub(crate) struct LoginLimits {
    by_user: Windows<String>,
    by_address: Windows<IpAddr>,
    shared: Option<Shared>,
    /// Attempts counted here because Redis could not be reached.
    pub(crate) redis_failures: std::sync::atomic::AtomicU64,
}

impl LoginLimits {
    pub(crate) fn new(per_user: Quota, per_address: Quota) -> Self {
        Self {
            by_user: Windows::new(per_user),
            by_address: Windows::new(per_address),
            shared: None,
            redis_failures: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Keeps the counters in the Redis at `url`, under `issuer`'s name. Fails when Redis cannot
    /// be reached now; afterwards the connection is made again as needed.
    pub(crate) async fn shared_in(mut self, url: &str, issuer: &str) -> anyhow::Result<Self> {
        use anyhow::Context;
        let client = redis::Client::open(url).context("invalid Redis URL")?;
        let redis = tokio::time::timeout(
            Duration::from_secs(5),
            redis::aio::ConnectionManager::new(client),
        )
        .await
        .map_err(|_| anyhow::anyhow!("cannot connect to Redis: no answer in 5 s"))?
        .context("cannot connect to Redis")?;
        self.shared = Some(Shared {
            redis,
            prefix: format!("signet:login:{issuer}"),
        });
        Ok(self)
    }

    /// Counts a login attempt; `Err(retry_after)` when either limit is exceeded. The user name
    /// must be at most [`MAX_USER_NAME`] bytes (checked by the caller).
    pub(crate) async fn attempt(
        &self,
        user: &str,
        address: Option<IpAddr>,
    ) -> Result<(), Duration> {
        let user = user.to_lowercase();
        if let Some(shared) = &self.shared {
            match tokio::time::timeout(REDIS_WAIT, self.shared_attempt(shared, &user, address))
                .await
            {
                Ok(Ok(verdict)) => return verdict,
                Ok(Err(e)) => tracing::warn!(error = %e, "Redis failed; login limits counted here"),
                Err(_) => tracing::warn!("Redis did not answer; login limits counted here"),
            }
            self.redis_failures
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        let now = Instant::now();
        if let Some(ip) = address {
            self.by_address.hit(&address_key(ip), now)?;
        }
        self.by_user.hit(&user, now)
    }

    async fn shared_attempt(
        &self,
        shared: &Shared,
        user: &str,
        address: Option<IpAddr>,
    ) -> redis::RedisResult<Result<(), Duration>> {
        if let Some(ip) = address {
            let verdict = shared
                .hit(&format!("addr:{}", address_key(ip)), self.by_address.quota)
                .await?;
            if verdict.is_err() {
                return Ok(verdict);
            }
        }
        // User names are kept as a digest: Redis need not learn who tries to log in.
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, user.as_bytes());
        let name: String = digest.as_ref()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        shared
            .hit(&format!("user:{name}"), self.by_user.quota)
            .await
    }

    /// Forgets ended windows (run on the housekeeping timer).
    pub(crate) fn prune(&self) {
        let now = Instant::now();
        self.by_user.prune(now);
        self.by_address.prune(now);
    }

    /// How many keys are held, for tests and metrics.
    pub(crate) fn entries(&self) -> usize {
        self.by_user.len() + self.by_address.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quota(attempts: u32) -> Quota {
        Quota {
            attempts,
            window: Duration::from_secs(60),
        }
    }

    #[tokio::test]
    async fn a_password_guesser_spreading_attempts_over_instances_meets_one_shared_limit() {
        let Ok(url) = std::env::var("SIGNET_TEST_REDIS_URL") else {
            eprintln!("SIGNET_TEST_REDIS_URL is not set: the shared login-limit test is skipped");
            return;
        };
        // Two instances behind one (fresh) issuer name, and an issuer of its own.
        let issuer = format!(
            "https://limits.test/{}",
            crate::sealing::random_token(8).unwrap()
        );
        let instance = || async {
            LoginLimits::new(quota(3), quota(1000))
                .shared_in(&url, &issuer)
                .await
                .unwrap()
        };
        let (a, b) = (instance().await, instance().await);
        let other = LoginLimits::new(quota(3), quota(1000))
            .shared_in(&url, &format!("{issuer}/other"))
            .await
            .unwrap();
        let from: IpAddr = "203.0.113.9".parse().unwrap();
        assert!(a.attempt("Alice", Some(from)).await.is_ok());
        assert!(b.attempt("alice", Some(from)).await.is_ok());
        assert!(a.attempt("alice", None).await.is_ok());
        let refused = b.attempt("ALICE", Some(from)).await.unwrap_err();
        assert!(refused > Duration::ZERO && refused <= Duration::from_secs(60));
        assert!(
            a.attempt("bob", Some(from)).await.is_ok(),
            "other users count apart"
        );
        assert!(
            other.attempt("alice", Some(from)).await.is_ok(),
            "other issuers count apart"
        );
        assert_eq!(a.entries() + b.entries(), 0, "nothing was counted locally");
    }

    #[tokio::test]
    async fn an_unreachable_redis_is_refused_at_start_with_a_clear_message() {
        let err = LoginLimits::new(quota(3), quota(3))
            .shared_in("redis://127.0.0.1:1", "https://issuer.test")
            .await
            .unwrap_err();
        assert!(
            format!("{err:#}").contains("cannot connect to Redis"),
            "{err:#}"
        );
    }

    #[test]
    fn ipv6_attacker_rotating_addresses_in_one_64_shares_one_counter() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff:ffff:ffff:ffff".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(other));
        let v4: IpAddr = "203.0.113.7".parse().unwrap();
        assert_eq!(address_key(v4), v4);
    }

    #[test]
    fn spoofed_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "198.51.100.9, 10.0.0.2".parse().unwrap());
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let stranger: IpAddr = "203.0.113.7".parse().unwrap();
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        assert_eq!(client_address(&[], &headers, Some(proxy)), Some(proxy));
        assert_eq!(
            client_address(&trusted, &headers, Some(stranger)),
            Some(stranger)
        );
        assert_eq!(
            client_address(&trusted, &headers, Some(proxy)),
            Some("198.51.100.9".parse().unwrap())
        );
        let mut forwarded = HeaderMap::new();
        forwarded.insert(
            "forwarded",
            r#"for="[2001:db8::7]:4711";proto=https"#.parse().unwrap(),
        );
        assert_eq!(
            client_address(&trusted, &forwarded, Some(proxy)),
            Some("2001:db8::7".parse().unwrap())
        );
    }

    #[test]
    fn limiter_memory_is_bounded_and_pruned() {
        let w = Windows::new(Quota {
            attempts: 5,
            window: Duration::from_secs(60),
        });
        let t0 = Instant::now();
        for i in 0..MAX_ENTRIES + 10 {
            let _ = w.hit(&i, t0);
        }
        assert_eq!(w.len(), MAX_ENTRIES, "no more keys than the cap");
        assert!(
            w.hit(&usize::MAX, t0).is_err(),
            "a newcomer waits when full"
        );
        w.prune(t0 + Duration::from_secs(61));
        assert_eq!(w.len(), 0);
        assert!(w.hit(&usize::MAX, t0 + Duration::from_secs(61)).is_ok());
    }

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
