//! The proxy's handling of what a client controls: the request path (which must never leave
//! the upstream's base path) and the request headers (none may reach the upstream as a claim
//! header).
#![no_main]

use libfuzzer_sys::fuzz_target;
use signet_guard::AccessClaims;
use signet_guard::__http::{HeaderMap, HeaderName, HeaderValue};
use signet_guard::proxy::{forwarded_headers, upstream_path};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.split('\n');
    let path = lines.next().unwrap_or_default();
    if let Ok(out) = upstream_path("/app", path) {
        assert!(out.starts_with("/app/"), "{path:?} left the base: {out:?}");
        let resolved = out.split('?').next().unwrap_or_default();
        assert!(
            !resolved.split('/').any(|s| s == ".." || s.eq_ignore_ascii_case("%2e%2e")),
            "{path:?} kept a dot segment: {out:?}"
        );
    }
    let mut headers = HeaderMap::new();
    for line in lines {
        if let Some((name, value)) = line.split_once(':')
            && let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.trim().as_bytes()),
                HeaderValue::from_bytes(value.trim().as_bytes()),
            )
        {
            headers.append(n, v);
        }
    }
    let mut claims = AccessClaims::default();
    claims.sub = Some("fuzz-subject".into());
    let out = forwarded_headers(&headers, &claims);
    assert_eq!(out.get("x-signet-sub").map(|v| v.as_bytes()), Some(&b"fuzz-subject"[..]));
    for name in out.keys() {
        let folded = name.as_str().replace('_', "-");
        assert!(
            !folded.starts_with("x-signet-")
                || ["x-signet-sub", "x-signet-scope", "x-signet-claims"].contains(&name.as_str()),
            "client header {name} passed"
        );
    }
    assert!(!out.contains_key("proxy-authorization"));
});
