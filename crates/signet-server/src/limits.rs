//! Login rate limits, per user name and per client address, in fixed windows, with bounded
//! memory: entries are pruned on a timer, their number is capped, and user names over
//! [`MAX_USER_NAME`] bytes are refused before they are counted. IPv6 clients count by their
//! /64. The client address is the peer's, or, behind a trusted proxy, the one it forwards.

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

    /// Counts a login attempt; `Err(retry_after)` when either limit is exceeded. The user name
    /// must be at most [`MAX_USER_NAME`] bytes (checked by the caller).
    pub(crate) fn attempt(&self, user: &str, address: Option<IpAddr>) -> Result<(), Duration> {
        let now = Instant::now();
        if let Some(ip) = address {
            self.by_address.hit(&address_key(ip), now)?;
        }
        self.by_user.hit(&user.to_lowercase(), now)
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
