//! Fetching an issuer's keys: a JWKS URL, or OpenID Connect / RFC 8414 discovery.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;
use signet::KeySet;

/// The largest document accepted from a remote server.
const MAX_BODY: u64 = 1 << 20;

fn agent() -> ureq::Agent {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = ureq::tls::TlsConfig::builder()
        .provider(ureq::tls::TlsProvider::Rustls)
        .unversioned_rustls_crypto_provider(provider)
        .build();
    ureq::Agent::config_builder()
        .tls_config(tls)
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .build()
        .into()
}

/// Refuses plain http except to a loopback host, with the guard's own check (the URL is
/// parsed, so `http://127.0.0.1@example.com/` is refused).
fn check_url(url: &str) -> Result<()> {
    signet_guard::check_url(url, false).map_err(|e| anyhow!("{e}"))
}

fn get_json(url: &str) -> Result<Value> {
    check_url(url)?;
    let mut response = agent()
        .get(url)
        .call()
        .map_err(|e| anyhow!("cannot fetch {url}: {e}"))?;
    let status = response.status();
    if !status.is_success() {
        bail!("cannot fetch {url}: HTTP {}", status.as_u16());
    }
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_BODY)
        .read_to_vec()
        .map_err(|e| anyhow!("cannot read {url}: {e}"))?;
    serde_json::from_slice(&body).with_context(|| format!("{url}: not JSON"))
}

/// The key set published at a JWKS URL.
pub(crate) fn jwks(url: &str) -> Result<KeySet> {
    let doc = get_json(url)?;
    let set = serde_json::from_value(doc).with_context(|| format!("{url}: not a JWKS"))?;
    Ok(crate::keys::report_skipped(KeySet::from_jwks(&set), url))
}

/// Discovers an issuer's JWKS (OpenID Connect Discovery, then RFC 8414) and fetches it. The
/// document must name exactly this issuer.
pub(crate) fn discover(issuer: &str) -> Result<KeySet> {
    let base = issuer.trim_end_matches('/');
    let mut last_error = None;
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let url = format!("{base}{path}");
        match get_json(&url) {
            Ok(doc) => {
                let named = doc
                    .get("issuer")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if named.trim_end_matches('/') != base {
                    bail!("{url} names the issuer {named:?}, not {issuer:?}");
                }
                let jwks_uri = doc
                    .get("jwks_uri")
                    .and_then(Value::as_str)
                    .ok_or_else(|| anyhow!("{url} has no jwks_uri"))?;
                return jwks(jwks_uri);
            }
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| anyhow!("discovery failed for {issuer}")))
}
