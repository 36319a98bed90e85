//! The tower layer: every request must carry an access token the guard accepts.

use tower::Layer;

use crate::{Guard, GuardService};

/// Protects a service with a [`Guard`]. Verified claims go into the request's extensions as
/// `Arc<AccessClaims>`, for the [`Auth`](crate::Auth) extractor.
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
