//! Finding an issuer's keys: OpenID Connect Discovery (then RFC 8414) and JWKS fetching, over
//! https only (plain http only to a loopback host, the host parsed rather than matched as
//! text), with bounded answers and timeouts. [`crate::Guard::from_issuer`] uses these, and so
//! does `signet token verify --issuer-url`.
//!
//! ```no_run
//! # async fn run() -> Result<(), signet_guard::RemoteError> {
//! let found = signet_guard::discovery::discover("https://id.example.com").await?;
//! let keys = signet_guard::discovery::jwks(&found.jwks_uri).await?;
//! # let _ = keys; Ok(()) }
//! ```

use std::time::Duration;

use signet::KeySet;

use crate::RemoteError;
pub use crate::remote::{Discovered, check_url};

/// The client for one-off requests: bounded connect and total time, no redirects.
fn client() -> Result<reqwest::Client, RemoteError> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| RemoteError::Invalid(e.to_string()))
}

/// Discovers `issuer` (an https URL, or http to a loopback host): where its keys are, and its
/// revocation feed if it publishes one. The document must name exactly this issuer.
///
/// # Examples
///
/// ```no_run
/// # async fn run() -> Result<(), signet_guard::RemoteError> {
/// let found = signet_guard::discovery::discover("https://auth.example.com").await?;
/// let keys = signet_guard::discovery::jwks(&found.jwks_uri).await?;
/// # let _ = keys; Ok(()) }
/// ```
pub async fn discover(issuer: &str) -> Result<Discovered, RemoteError> {
    check_url(issuer, false)?;
    let found = crate::remote::discover(&client()?, issuer).await?;
    check_url(&found.jwks_uri, false)?;
    Ok(found)
}

/// The key set published at `url`; entries Signet cannot use are in [`KeySet::skipped`].
pub async fn jwks(url: &str) -> Result<KeySet, RemoteError> {
    check_url(url, false)?;
    let (body, _) = crate::remote::get_body(&client()?, url, None).await?;
    crate::remote::parse_jwks(url, &body)
}
