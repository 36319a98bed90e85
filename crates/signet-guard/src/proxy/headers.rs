//! The headers sent upstream: the client's, less what describes one hop or could pass for a
//! verified claim, plus the verified claims.

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use base64::Engine;

use crate::AccessClaims;

/// Headers that describe one hop and are never forwarded (RFC 9110 §7.6.1), with the
/// credentials meant for this proxy.
pub(crate) const HOP_BY_HOP: [&str; 10] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
    "proxy-authenticate",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
];

/// Whether a header name could reach the upstream as one of the `X-Signet-*` claim headers:
/// CGI, WSGI and Rack read `X_Signet_Sub` and `X-Signet-Sub` both as `HTTP_X_SIGNET_SUB`.
fn is_claim_header(name: &str) -> bool {
    let prefix = b"x-signet-";
    name.len() >= prefix.len()
        && name.as_bytes()[..prefix.len()]
            .iter()
            .zip(prefix)
            .all(|(c, p)| c.to_ascii_lowercase() == *p || (*c == b'_' && *p == b'-'))
}

/// The names listed in the `Connection` headers: hop-by-hop for this message.
fn connection_listed(incoming: &HeaderMap) -> Vec<String> {
    incoming
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|n| n.trim().to_ascii_lowercase())
        .filter(|n| !n.is_empty())
        .collect()
}

/// Whether a response header from the upstream goes back to the client.
pub(crate) fn is_end_to_end(name: &HeaderName, listed: &[String]) -> bool {
    !HOP_BY_HOP.contains(&name.as_str()) && !listed.iter().any(|l| l == name.as_str())
}

/// The names an upstream response lists in its `Connection` headers.
pub(crate) fn listed_in_connection(headers: &HeaderMap) -> Vec<String> {
    connection_listed(headers)
}

/// A header value for a claim: the claim's bytes when they make a valid value, else empty
/// (never the client's).
fn value_of(text: &str) -> HeaderValue {
    HeaderValue::from_bytes(text.as_bytes()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The headers to send upstream for a request carrying `incoming` whose token verified to
/// `claims`. Dropped: every header whose name, with `_` read as `-`, starts with `x-signet-`
/// (any case); hop-by-hop headers and those named in `Connection`; `Proxy-Authorization`;
/// `Authorization` (the token is not needed upstream). Always set: `X-Signet-Sub` and
/// `X-Signet-Scope` (empty when the token has none) and `X-Signet-Claims` (all claims as
/// base64url JSON; claims that verified were read from JSON and so always serialize, and were
/// they ever not to, the header is empty, never partial).
pub fn forwarded_headers(incoming: &HeaderMap, claims: &AccessClaims) -> HeaderMap {
    let listed = connection_listed(incoming);
    let mut out = HeaderMap::with_capacity(incoming.len() + 3);
    for (name, value) in incoming {
        let n = name.as_str();
        if is_claim_header(n) || !is_end_to_end(name, &listed) || name == header::AUTHORIZATION {
            continue;
        }
        out.append(name.clone(), value.clone());
    }
    let sub = claims.sub.as_deref().unwrap_or_default();
    let scope = claims
        .custom
        .get("scope")
        .and_then(|s| s.as_str())
        .unwrap_or_default();
    let json = serde_json::to_vec(claims).unwrap_or_default();
    let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json);
    out.insert(HeaderName::from_static("x-signet-sub"), value_of(sub));
    out.insert(HeaderName::from_static("x-signet-scope"), value_of(scope));
    out.insert(
        HeaderName::from_static("x-signet-claims"),
        value_of(&encoded),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> AccessClaims {
        AccessClaims {
            sub: Some("alice".into()),
            ..Default::default()
        }
    }

    #[test]
    fn claim_headers_spoofed_with_underscores_or_any_case_are_dropped() {
        let mut h = HeaderMap::new();
        for name in [
            "x_signet_scope",
            "X_Signet_Sub",
            "x-signet_sub",
            "X-SIGNET-CLAIMS",
            "x_signet_anything",
        ] {
            h.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_static("admin"),
            );
        }
        let out = forwarded_headers(&h, &claims());
        assert_eq!(out.len(), 3, "{out:?}");
        assert_eq!(out["x-signet-sub"], "alice");
        assert_eq!(
            out["x-signet-scope"], "",
            "set, empty, even without a scope claim"
        );
    }

    #[test]
    fn hop_by_hop_and_connection_listed_headers_and_proxy_credentials_are_dropped() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("close, X-Internal-Admin"),
        );
        h.insert("x-internal-admin", HeaderValue::from_static("1"));
        h.insert(
            "proxy-authorization",
            HeaderValue::from_static("Basic Zm9vOmJhcg=="),
        );
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer t"));
        h.insert("te", HeaderValue::from_static("trailers"));
        h.insert("accept", HeaderValue::from_static("text/plain"));
        let out = forwarded_headers(&h, &claims());
        let names: Vec<&str> = out.keys().map(|k| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "accept",
                "x-signet-sub",
                "x-signet-scope",
                "x-signet-claims"
            ]
        );
    }
}
