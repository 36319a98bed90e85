//! Signet's verifier side: every service checks access tokens alone, with the issuer's keys
//! and revocations held in memory, so no request waits on a lookup.
//!
//! - [`Guard`]: keys, validation rules, the revocation set and a verified-token cache.
//! - [`GuardLayer`]: a tower layer that refuses requests without an acceptable token (401 with
//!   an RFC 6750 challenge) and hands the verified claims to the handler.
//! - [`Auth`]: the axum extractor for those claims, with scope and role checks (403
//!   `insufficient_scope`).
//!
//! [`Guard::from_issuer`] finds the issuer's keys by discovery (refreshing them, and fetching
//! again on an unknown `kid` at most once per cooldown) and follows its revocation stream;
//! [`Guard::builder`] takes static keys. [`proxy::router`] is `signet proxy`: the guard in
//! front of a service in any language.
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use signet_guard::{Auth, Guard, GuardLayer, IssuerOptions, Refusal};
//!
//! async fn orders(auth: Auth) -> Result<String, Refusal> {
//!     auth.require_scope("orders:read")?;                    // 403 insufficient_scope otherwise
//!     Ok(format!("orders of {}", auth.subject().unwrap_or("?")))
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let mut options = IssuerOptions::new("https://auth.example.com", "orders-api");
//! let secret = signet::SecretString::new(std::env::var("SIGNET_CLIENT_SECRET")?);
//! options.client = Some(("orders-api".into(), secret)); // for the revocation feed
//! let guard = Guard::from_issuer(options).await?;
//! let app: Router = Router::new().route("/orders", get(orders)).layer(GuardLayer::new(guard));
//! # let _ = app; Ok(()) }
//! ```

mod cache;
pub mod discovery;
mod error;
mod extract;
mod future;
mod guard;
mod layer;
mod metrics;
pub mod proxy;
mod remote;
mod revocation;
mod service;
pub mod ssf;

pub use cache::DEFAULT_CAPACITY;
pub use error::Refusal;
pub use extract::Auth;
pub use future::ResponseFuture;
pub use guard::{Guard, GuardBuilder, IssuerOptions, StalePolicy, WeakGuard};
pub use layer::GuardLayer;
pub use remote::{RemoteError, check_url};
pub use revocation::{RevocationSet, TokenRef};
pub use service::GuardService;

/// The claims of a verified access token; the custom ones as JSON.
pub type AccessClaims = signet::Claims<'static, serde_json::Map<String, serde_json::Value>>;

/// The version of the core library this guard is built on.
pub const CORE_VERSION: &str = signet::VERSION;

/// The `http` types of this crate's public functions, for the fuzz targets.
#[doc(hidden)]
pub use axum::http as __http;
