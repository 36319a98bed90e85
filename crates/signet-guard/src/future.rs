//! The response future of [`GuardService`](crate::GuardService).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::response::Response;

/// A request whose token needs the issuer's keys fetched first.
type Slow<E> = Pin<Box<dyn Future<Output = Result<Response, E>> + Send>>;

pin_project_lite::pin_project! {
    /// What [`GuardService`](crate::GuardService) returns: the inner service's future for an
    /// accepted token, the refusal at once, or (for a key not yet seen) the wait for the
    /// issuer's keys.
    pub struct ResponseFuture<F, E> {
        #[pin]
        kind: Kind<F, E>,
    }
}

pin_project_lite::pin_project! {
    #[project = KindProj]
    enum Kind<F, E> {
        Inner { #[pin] future: F },
        Refused { response: Option<Response> },
        Slow { future: Slow<E> },
    }
}

impl<F, E> ResponseFuture<F, E> {
    pub(crate) fn inner(future: F) -> Self {
        Self {
            kind: Kind::Inner { future },
        }
    }

    pub(crate) fn refused(response: Response) -> Self {
        Self {
            kind: Kind::Refused {
                response: Some(response),
            },
        }
    }

    pub(crate) fn slow(future: Slow<E>) -> Self {
        Self {
            kind: Kind::Slow { future },
        }
    }
}

impl<F, E> std::fmt::Debug for ResponseFuture<F, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, E> Future for ResponseFuture<F, E>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Inner { future } => future.poll(cx),
            KindProj::Refused { response } => {
                // Polled again after it was ready: an empty answer rather than a panic.
                Poll::Ready(Ok(response.take().unwrap_or_default()))
            }
            KindProj::Slow { future } => future.as_mut().poll(cx),
        }
    }
}
