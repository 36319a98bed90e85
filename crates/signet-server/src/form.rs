//! Reading form-encoded OAuth requests and authenticating clients.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, header};
use base64::Engine;
use zeroize::Zeroizing;

use crate::app::AppState;
use crate::error::ApiError;
use crate::store::Client;

/// The parameters of a form-encoded request; each may appear once (RFC 6749 §3.2).
#[derive(Debug)]
pub(crate) struct Form(HashMap<String, Zeroizing<String>>);

impl Form {
    pub(crate) fn parse(
        headers: &HeaderMap,
        body: Result<Bytes, BytesRejection>,
    ) -> Result<Self, ApiError> {
        let body = body.map_err(|e| match e {
            BytesRejection::FailedToBufferBody(_) => ApiError::TooLarge,
            _ => ApiError::InvalidRequest("unreadable body"),
        })?;
        let is_form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                v.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !is_form {
            return Err(ApiError::UnsupportedMediaType);
        }
        if std::str::from_utf8(&body).is_err() {
            return Err(ApiError::InvalidRequest("the body is not UTF-8"));
        }
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
            .map_err(|_| ApiError::InvalidRequest("malformed form body"))?;
        let mut map = HashMap::new();
        for (k, v) in pairs {
            // Percent-escapes that are not UTF-8 decode to U+FFFD: refuse them rather than guess.
            if k.contains('\u{FFFD}') || v.contains('\u{FFFD}') {
                return Err(ApiError::InvalidRequest("a parameter is not UTF-8"));
            }
            if map.insert(k, Zeroizing::new(v)).is_some() {
                return Err(ApiError::InvalidRequest(
                    "a parameter appears more than once",
                ));
            }
        }
        Ok(Self(map))
    }

    /// No parameters: for GET requests, whose clients authenticate with HTTP Basic.
    pub(crate) fn empty() -> Self {
        Self(HashMap::new())
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(|v| v.as_str())
            .filter(|v| !v.is_empty())
    }

    pub(crate) fn require(
        &self,
        name: &'static str,
        message: &'static str,
    ) -> Result<&str, ApiError> {
        self.get(name).ok_or(ApiError::InvalidRequest(message))
    }
}

/// How the client presented itself.
struct Presented {
    id: String,
    secret: Option<Zeroizing<String>>,
    basic: bool,
}

fn presented(headers: &HeaderMap, form: &Form) -> Result<Presented, ApiError> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("basic")
                .then(|| rest.trim().to_owned())
        });
    match basic {
        Some(encoded) => {
            if form.get("client_secret").is_some() {
                return Err(ApiError::InvalidRequest(
                    "use one client authentication method",
                ));
            }
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .map(Zeroizing::new)
                .ok_or(ApiError::InvalidClient { basic: true })?;
            let (id, secret) = decoded
                .split_once(':')
                .ok_or(ApiError::InvalidClient { basic: true })?;
            let unescape = |s: &str| {
                serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={s}"))
                    .ok()
                    .and_then(|v| v.into_iter().next().map(|(_, v)| v))
            };
            let id = unescape(id).ok_or(ApiError::InvalidClient { basic: true })?;
            let secret = unescape(secret)
                .map(Zeroizing::new)
                .ok_or(ApiError::InvalidClient { basic: true })?;
            if let Some(form_id) = form.get("client_id")
                && form_id != id
            {
                return Err(ApiError::InvalidRequest(
                    "client_id does not match the credentials",
                ));
            }
            Ok(Presented {
                id,
                secret: Some(secret),
                basic: true,
            })
        }
        None => {
            let id = form
                .get("client_id")
                .ok_or(ApiError::InvalidClient { basic: false })?
                .to_owned();
            let secret = form
                .get("client_secret")
                .map(|s| Zeroizing::new(s.to_owned()));
            Ok(Presented {
                id,
                secret,
                basic: false,
            })
        }
    }
}

/// Authenticates the client of a request. A public client is accepted only where
/// `public_allowed`; a confidential one must present its secret.
pub(crate) async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    form: &Form,
    public_allowed: bool,
) -> Result<Client, ApiError> {
    let p = presented(headers, form)?;
    let fail = ApiError::InvalidClient { basic: p.basic };
    let Some(client) = state
        .clients
        .get(&p.id, || state.store.client(&p.id))
        .await?
    else {
        return Err(fail);
    };
    match (&client.secret_hash, &p.secret) {
        (Some(hash), Some(secret)) if state.master.client_secret_matches(secret, hash) => {
            Ok(client)
        }
        (None, None) if public_allowed => Ok(client),
        _ => Err(fail),
    }
}

/// A JSON request body, or the default when the body is empty.
pub(crate) fn json_body<T: serde::de::DeserializeOwned + Default>(
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<T, ApiError> {
    let bytes = body.map_err(|_| ApiError::TooLarge)?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(&bytes).map_err(|_| {
        ApiError::InvalidRequest("the body must be a JSON object of the documented members")
    })
}

/// Entry points for the fuzz targets in `fuzz/` (the `fuzzing` feature only).
#[cfg(feature = "fuzzing")]
pub mod fuzzing {
    use super::{Bytes, Form, HeaderMap, presented};

    /// Parses a token-endpoint request as the endpoint does: the form body, then the client's
    /// credentials (HTTP Basic or form). Returns whether both were accepted.
    pub fn token_request(headers: &HeaderMap, body: &[u8]) -> bool {
        let Ok(form) = Form::parse(headers, Ok(Bytes::copy_from_slice(body))) else {
            return false;
        };
        let _ = form.get("grant_type");
        presented(headers, &form).is_ok()
    }
}
