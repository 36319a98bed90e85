//! Fetching an issuer's keys for `signet token verify`: a JWKS URL, or OpenID Connect / RFC
//! 8414 discovery, through the guard's [`signet_guard::discovery`] (one HTTP stack, one https
//! check).

use anyhow::{Result, anyhow};
use signet::KeySet;

/// Runs one fetch on a small runtime of its own.
fn fetch<T>(
    what: impl std::future::Future<Output = Result<T, signet_guard::RemoteError>>,
) -> Result<T> {
    crate::runtime()?.block_on(what).map_err(|e| anyhow!("{e}"))
}

/// The key set published at a JWKS URL.
pub(crate) fn jwks(url: &str) -> Result<KeySet> {
    let set = fetch(signet_guard::discovery::jwks(url))?;
    Ok(crate::keys::report_skipped(set, url))
}

/// Discovers an issuer's JWKS and fetches it. The document must name exactly this issuer.
pub(crate) fn discover(issuer: &str) -> Result<KeySet> {
    let found = fetch(signet_guard::discovery::discover(issuer))?;
    jwks(&found.jwks_uri)
}
