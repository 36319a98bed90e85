//! The tower layer: every request must carry an access token the guard accepts.

use tower::Layer;

use crate::{Guard, GuardService};

/// Protects a service with a [`Guard`]. Verified claims go into the request's extensions as
/// `Arc<AccessClaims>`, for the [`Auth`](crate::Auth) extractor.
///
/// # Examples
///
/// ```
/// use axum::{Router, routing::get};
/// # use signet::{Algorithm, KeySet, SigningKey};
/// # let key = SigningKey::generate(Algorithm::ES256)?;
/// let guard = signet_guard::Guard::builder(KeySet::new([key.verifying_key().clone()]), "i", "a").build();
/// let app: Router = Router::new()
///     .route("/orders", get(|| async { "orders" }))
///     .layer(signet_guard::GuardLayer::new(guard)); // 401 with an RFC 6750 challenge without a token
/// # let _ = app;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct GuardLayer {
    guard: Guard,
}

impl GuardLayer {
    /// A layer checking tokens with `guard`.
    pub fn new(guard: Guard) -> Self {
        Self { guard }
    }
}

impl<S> Layer<S> for GuardLayer {
    type Service = GuardService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GuardService::new(inner, self.guard.clone())
    }
}
