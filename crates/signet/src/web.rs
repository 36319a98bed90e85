//! Two small pieces of HTTP handling that the issuer (`signet-server`) and the verifiers
//! (`signet-guard`, `signet proxy`) share, so that both read a cookie and tell a loopback
//! address the same way.

use std::net::IpAddr;

/// The value of the cookie `name` among the values of a request's `Cookie` headers (RFC 6265
/// §5.4: `name=value` pairs separated by `;`), the first if it is sent more than once.
///
/// ```
/// let headers = ["theme=dark; signet_at=abc.def.ghi", "other=1"];
/// assert_eq!(signet::web::cookie(headers, "signet_at"), Some("abc.def.ghi"));
/// assert_eq!(signet::web::cookie(headers, "missing"), None);
/// ```
pub fn cookie<'a>(headers: impl IntoIterator<Item = &'a str>, name: &str) -> Option<&'a str> {
    headers
        .into_iter()
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// Whether a URL's host, as the `url` crate's `host_str` gives it (a name, an IPv4 address, or
/// an IPv6 address in brackets), is `localhost` or a loopback address: the one place where
/// plain http is allowed. Only the parsed host counts, so `http://127.0.0.1@example.com/` (whose
/// host is `example.com`) is not loopback.
///
/// ```
/// use signet::web::is_loopback_host;
/// assert!(is_loopback_host("localhost"));
/// assert!(is_loopback_host("127.0.0.1"));
/// assert!(is_loopback_host("[::1]"));
/// assert!(!is_loopback_host("example.com"));
/// assert!(!is_loopback_host("localhost.example.com"));
/// ```
pub fn is_loopback_host(host: &str) -> bool {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}
