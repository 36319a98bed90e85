//! The service [`GuardLayer`](crate::GuardLayer) makes, generic over the request body. A token
//! the guard can check at once (its cache, or a known key) costs no allocation: the inner
//! service's future is returned inside [`ResponseFuture`]. Only a token naming a key the guard
//! has not seen waits, boxed, for the issuer's keys to be fetched again.

use std::task::{Context, Poll};

use axum::http::{Request, header};
use axum::response::{IntoResponse, Response};
use tower::Service;

use crate::future::ResponseFuture;
use crate::{Guard, Refusal};

/// Checks each request's access token, then calls the inner service with the verified claims
/// in the request's extensions, or answers the refusal itself.
#[derive(Debug, Clone)]
pub struct GuardService<S> {
    inner: S,
    guard: Guard,
}

impl<S> GuardService<S> {
    /// `inner` behind `guard`.
    pub fn new(inner: S, guard: Guard) -> Self {
        Self { inner, guard }
    }
}

/// The token of a request: `Authorization: Bearer`, or the configured cookie.
pub(crate) fn token_of<'r, B>(request: &'r Request<B>, cookie: Option<&str>) -> Option<&'r str> {
    let headers = request.headers();
    if let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let (scheme, token) = value.split_once(' ')?;
        return scheme.eq_ignore_ascii_case("bearer").then(|| token.trim());
    }
    let values = headers.get_all(header::COOKIE);
    signet::web::cookie(values.iter().filter_map(|v| v.to_str().ok()), cookie?)
}

impl<S, B> Service<Request<B>> for GuardService<S>
where
    S: Service<Request<B>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let Some(token) = token_of(&request, self.guard.cookie()) else {
            return ResponseFuture::refused(Refusal::Missing.into_response());
        };
        match self.guard.check(token) {
            Ok(claims) => {
                request.extensions_mut().insert(claims);
                ResponseFuture::inner(self.inner.call(request))
            }
            Err(Refusal::Invalid(signet::Error::UnknownKey)) if self.guard.fetches_keys() => {
                // A key the guard has not seen: fetch the issuer's keys, then decide. The inner
                // service that was made ready is the one to call; a fresh clone stays behind.
                let token = token.to_owned();
                let guard = self.guard.clone();
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                ResponseFuture::slow(Box::pin(async move {
                    match guard.recheck(&token).await {
                        Ok(claims) => {
                            request.extensions_mut().insert(claims);
                            inner.call(request).await
                        }
                        Err(refusal) => Ok(refusal.into_response()),
                    }
                }))
            }
            Err(refusal) => ResponseFuture::refused(refusal.into_response()),
        }
    }
}
