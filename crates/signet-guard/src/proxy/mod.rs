//! `signet proxy`: the guard in front of a service written in any language. Verified claims go
//! upstream in headers (`X-Signet-Sub`, `X-Signet-Scope`, and all claims as base64url JSON in
//! `X-Signet-Claims`); any header the client sent that an upstream could read as one of them
//! is removed first (see [`forwarded_headers`]). Request paths stay under the upstream's base
//! path (see [`upstream_path`]). Bodies stream both
//! ways; connections to the upstream are kept alive; the upstream's status and headers come
//! back as they are.

mod headers;
mod path;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures_util::TryStreamExt;

pub use headers::forwarded_headers;
pub use path::{PathError, upstream_path};

use crate::{AccessClaims, Guard, GuardLayer, Refusal};

#[derive(Debug, Clone)]
struct Upstream {
    http: reqwest::Client,
    /// Scheme and authority, such as `http://127.0.0.1:3000`.
    origin: String,
    /// The base path every request stays under, such as `/app` (or empty).
    base: String,
    scopes: Arc<Vec<String>>,
}

/// Why the proxy cannot be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyError {
    /// The upstream is not an absolute http(s) URL without query or fragment.
    #[error("the upstream must be an http(s) URL without query or fragment: {0}")]
    Upstream(String),
    /// The HTTP client could not be made.
    #[error("cannot make the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// The proxy as a router: every request is checked by `guard`, must carry every scope in
/// `required_scopes`, and goes on to `upstream` (such as `http://127.0.0.1:3000/app`), its path
/// kept under the upstream's base path (see [`upstream_path`]).
///
/// # Examples
///
/// ```
/// # use signet::{Algorithm, KeySet, SigningKey};
/// # let key = SigningKey::generate(Algorithm::ES256)?;
/// let guard = signet_guard::Guard::builder(KeySet::new([key.verifying_key().clone()]), "i", "a").build();
/// let proxy = signet_guard::proxy::router(guard, "http://127.0.0.1:3000/app", vec!["orders:read".into()])?;
/// # let _ = proxy;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn router(
    guard: Guard,
    upstream: &str,
    required_scopes: Vec<String>,
) -> Result<Router, ProxyError> {
    let url = reqwest::Url::parse(upstream).map_err(|_| ProxyError::Upstream(upstream.into()))?;
    if !matches!(url.scheme(), "http" | "https")
        || url.host_str().is_none()
        || url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
    {
        return Err(ProxyError::Upstream(upstream.into()));
    }
    let origin = url.origin().ascii_serialization();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let state = Upstream {
        http,
        origin,
        base: url.path().trim_end_matches('/').to_owned(),
        scopes: Arc::new(required_scopes),
    };
    Ok(Router::new()
        .fallback(forward)
        .with_state(state)
        .layer(GuardLayer::new(guard)))
}

fn refused_path(e: PathError) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(
            serde_json::json!({"error": "invalid_request", "error_description": e.to_string()}),
        ),
    )
        .into_response()
}

async fn forward(State(up): State<Upstream>, request: Request) -> Response {
    let Some(claims) = request.extensions().get::<Arc<AccessClaims>>().cloned() else {
        return Refusal::Missing.into_response();
    };
    let granted = claims
        .custom
        .get("scope")
        .and_then(|s| s.as_str())
        .unwrap_or("");
    if let Some(missing) = up
        .scopes
        .iter()
        .find(|s| !signet::scope::contains(granted, s))
    {
        return Refusal::InsufficientScope(missing.clone()).into_response();
    }
    let (parts, body) = request.into_parts();
    let asked = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let path = match upstream_path(&up.base, asked) {
        Ok(p) => p,
        Err(e) => return refused_path(e),
    };
    let url = format!("{}{path}", up.origin);
    let stream = body.into_data_stream().map_err(std::io::Error::other);
    let sent = up
        .http
        .request(parts.method.clone(), &url)
        .headers(forwarded_headers(&parts.headers, &claims))
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await;
    match sent {
        Ok(res) => {
            let listed = headers::listed_in_connection(res.headers());
            let mut response = Response::builder().status(res.status());
            if let Some(out) = response.headers_mut() {
                for (name, value) in res.headers() {
                    if headers::is_end_to_end(name, &listed) {
                        out.append(name.clone(), value.clone());
                    }
                }
            }
            response
                .body(Body::from_stream(res.bytes_stream()))
                .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
        }
        Err(e) => {
            tracing::warn!(error = %e, "upstream unreachable");
            (StatusCode::BAD_GATEWAY, axum::Json(serde_json::json!({"error": "bad_gateway", "error_description": "the upstream service did not answer"}))).into_response()
        }
    }
}
