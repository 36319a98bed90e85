//! The axum extractor: the verified claims, with the caller's own claims as their own type.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::{AccessClaims, Refusal};

/// The verified access token of the request: its registered claims and the caller's own
/// claims as `C` (use `serde_json::Map` to see them all). Needs [`GuardLayer`](crate::GuardLayer).
///
/// # Examples
///
/// ```
/// use signet_guard::{Auth, Refusal};
/// async fn orders(auth: Auth) -> Result<String, Refusal> {
///     auth.require_scope("orders:read")?; // 403 insufficient_scope otherwise
///     Ok(format!("orders of {}", auth.subject().unwrap_or("?")))
/// }
/// let app: axum::Router = axum::Router::new().route("/orders", axum::routing::get(orders));
/// # let _ = app;
/// ```
#[derive(Debug, Clone)]
pub struct Auth<C = serde_json::Map<String, serde_json::Value>> {
    /// The registered and custom claims, as verified.
    pub claims: Arc<AccessClaims>,
    /// The custom claims, as the caller's type.
    pub custom: C,
}

impl<C> Auth<C> {
    /// The `sub` claim.
    pub fn subject(&self) -> Option<&str> {
        self.claims.sub.as_deref()
    }

    /// The scopes (the `scope` claim, space-separated).
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        signet::scope::words(self.scope())
    }

    /// The `scope` claim as sent (empty when the token has none).
    fn scope(&self) -> &str {
        self.claims
            .custom
            .get("scope")
            .and_then(|s| s.as_str())
            .unwrap_or("")
    }

    /// Refuses the request (403) unless the token has `scope`.
    pub fn require_scope(&self, scope: &str) -> Result<(), Refusal> {
        if signet::scope::contains(self.scope(), scope) {
            Ok(())
        } else {
            Err(Refusal::InsufficientScope(scope.to_owned()))
        }
    }

    /// Refuses the request (403) unless the token has `role` in its `roles` claim.
    pub fn require_role(&self, role: &str) -> Result<(), Refusal> {
        let has = self
            .claims
            .custom
            .get("roles")
            .and_then(|r| r.as_array())
            .is_some_and(|roles| roles.iter().any(|r| r.as_str() == Some(role)));
        if has {
            Ok(())
        } else {
            Err(Refusal::MissingRole(role.to_owned()))
        }
    }
}

impl<S: Send + Sync, C: DeserializeOwned> FromRequestParts<S> for Auth<C> {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Refusal> {
        let claims = parts
            .extensions
            .get::<Arc<AccessClaims>>()
            .cloned()
            .ok_or(Refusal::Missing)?;
        let custom = serde_json::from_value(serde_json::Value::Object(claims.custom.clone()))
            .map_err(|_| Refusal::Invalid(signet::Error::Malformed(signet::Malformed::Claims)))?;
        Ok(Self { claims, custom })
    }
}
