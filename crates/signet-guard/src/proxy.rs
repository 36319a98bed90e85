//! `signet proxy`: the guard in front of a service written in any language. Verified claims go
//! upstream in headers (`X-Signet-Sub`, `X-Signet-Scope`, and all claims as base64url JSON in
//! `X-Signet-Claims`); any such headers the client sent are removed first. Bodies stream both
//! ways; connections to the upstream are kept alive; the upstream's status and headers come
//! back as they are.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use futures_util::TryStreamExt;

use crate::{AccessClaims, Guard, GuardLayer, Refusal};

/// Headers that describe one hop and are not forwarded (RFC 9110 §7.6.1).
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
];

#[derive(Debug, Clone)]
struct Upstream {
    http: reqwest::Client,
    base: String,
    scopes: Arc<Vec<String>>,
}

/// The proxy as a router: every request is checked by `guard`, must carry every scope in
/// `required_scopes`, and goes on to `upstream` (such as `http://127.0.0.1:3000`).
pub fn router(
    guard: Guard,
    upstream: &str,
    required_scopes: Vec<String>,
) -> Result<Router, reqwest::Error> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    let state = Upstream {
        http,
        base: upstream.trim_end_matches('/').to_owned(),
        scopes: Arc::new(required_scopes),
    };
    Ok(Router::new()
        .fallback(forward)
        .with_state(state)
        .layer(GuardLayer::new(guard)))
}

fn forwarded_headers(incoming: &HeaderMap, claims: &AccessClaims) -> HeaderMap {
    let mut out = HeaderMap::new();
    for (name, value) in incoming {
        let n = name.as_str();
        // The client's own X-Signet-* headers would pass for verified claims: drop them. The
        // token itself is not needed upstream.
        if n.starts_with("x-signet-") || HOP_BY_HOP.contains(&n) || name == header::AUTHORIZATION {
            continue;
        }
        out.append(name.clone(), value.clone());
    }
    let mut put = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            out.insert(HeaderName::from_static(name), v);
        }
    };
    if let Some(sub) = claims.sub.as_deref() {
        put("x-signet-sub", sub);
    }
    if let Some(scope) = claims.custom.get("scope").and_then(|s| s.as_str()) {
        put("x-signet-scope", scope);
    }
    let json = serde_json::to_vec(claims).unwrap_or_default();
    put(
        "x-signet-claims",
        &base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json),
    );
    out
}

async fn forward(State(up): State<Upstream>, request: Request) -> Response {
    let Some(claims) = request.extensions().get::<Arc<AccessClaims>>().cloned() else {
        return Refusal::Missing.into_response();
    };
    let granted: Vec<&str> = claims
        .custom
        .get("scope")
        .and_then(|s| s.as_str())
        .unwrap_or("")
        .split(' ')
        .collect();
    if let Some(missing) = up.scopes.iter().find(|s| !granted.contains(&s.as_str())) {
        return Refusal::InsufficientScope(missing.clone()).into_response();
    }
    let (parts, body) = request.into_parts();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let url = format!("{}{path}", up.base);
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
            let mut response = Response::builder().status(res.status());
            if let Some(headers) = response.headers_mut() {
                for (name, value) in res.headers() {
                    if !HOP_BY_HOP.contains(&name.as_str()) {
                        headers.append(name.clone(), value.clone());
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
