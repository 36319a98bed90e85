//! Prometheus metrics at `/metrics`, in the text exposition format.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::AppState;

/// The issuer's counters.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    requests: [AtomicU64; 5],
    pub(crate) issued_authorization_code: AtomicU64,
    pub(crate) issued_client_credentials: AtomicU64,
    pub(crate) issued_password: AtomicU64,
    pub(crate) issued_refresh_token: AtomicU64,
    pub(crate) reuse_detections: AtomicU64,
    pub(crate) revocations: AtomicU64,
    pub(crate) login_failures: AtomicU64,
    pub(crate) rate_limited: AtomicU64,
}

pub(crate) fn inc(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Metrics {
    fn render(&self) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP signet_http_requests_total HTTP requests answered, by status class."
        );
        let _ = writeln!(out, "# TYPE signet_http_requests_total counter");
        for (i, class) in ["1xx", "2xx", "3xx", "4xx", "5xx"].iter().enumerate() {
            let _ = writeln!(
                out,
                "signet_http_requests_total{{class=\"{class}\"}} {}",
                get(&self.requests[i])
            );
        }
        let _ = writeln!(
            out,
            "# HELP signet_tokens_issued_total Access tokens issued, by grant type."
        );
        let _ = writeln!(out, "# TYPE signet_tokens_issued_total counter");
        for (grant, c) in [
            ("authorization_code", &self.issued_authorization_code),
            ("client_credentials", &self.issued_client_credentials),
            ("password", &self.issued_password),
            ("refresh_token", &self.issued_refresh_token),
        ] {
            let _ = writeln!(
                out,
                "signet_tokens_issued_total{{grant_type=\"{grant}\"}} {}",
                get(c)
            );
        }
        for (name, help, c) in [
            (
                "signet_refresh_reuse_detections_total",
                "Rotated refresh tokens presented again (families revoked).",
                &self.reuse_detections,
            ),
            (
                "signet_revocations_total",
                "Revocations made through the revocation endpoint.",
                &self.revocations,
            ),
            (
                "signet_login_failures_total",
                "Password logins refused.",
                &self.login_failures,
            ),
            (
                "signet_rate_limited_total",
                "Login attempts refused by a rate limit.",
                &self.rate_limited,
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                get(c)
            );
        }
        out
    }
}

/// Counts every response by status class.
pub(crate) async fn count(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let class = usize::from(response.status().as_u16() / 100).clamp(1, 5) - 1;
    inc(&state.metrics.requests[class]);
    response
}

/// `/metrics` on the main listener, open only to the configured bearer token (not in the
/// OpenAPI document: it is not part of the API).
pub(crate) async fn metrics_with_token(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Response {
    let presented = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let allowed = match (presented, state.config.metrics_token.as_ref()) {
        (Some(presented), Some(token)) => {
            crate::sealing::secret_eq(presented.as_bytes(), token.expose().as_bytes())
        }
        _ => false,
    };
    if !allowed {
        return crate::error::ApiError::MetricsToken.into_response();
    }
    metrics(State(state)).await
}

/// `/metrics` on the metrics listener.
pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    let mut text = state.metrics.render();
    let _ = writeln!(
        text,
        "# HELP signet_login_limiter_entries Keys held by the login rate limiter.\n# TYPE signet_login_limiter_entries gauge\nsignet_login_limiter_entries {}",
        state.limits.entries()
    );
    let _ = writeln!(
        text,
        "# HELP signet_password_hash_slots_free Password hashes that could start now.\n# TYPE signet_password_hash_slots_free gauge\nsignet_password_hash_slots_free {}",
        state.hashing.free()
    );
    let _ = writeln!(
        text,
        "# HELP signet_login_limit_redis_failures_total Login attempts counted by this instance alone because Redis could not be reached.\n# TYPE signet_login_limit_redis_failures_total counter\nsignet_login_limit_redis_failures_total {}",
        state
            .limits
            .redis_failures
            .load(std::sync::atomic::Ordering::Relaxed)
    );
    let _ = writeln!(
        text,
        "# HELP signet_revocation_streams Revocation streams following this instance's broadcaster.\n# TYPE signet_revocation_streams gauge\nsignet_revocation_streams {}",
        state.fanout.followers()
    );
    ([("content-type", "text/plain; version=0.0.4")], text).into_response()
}
