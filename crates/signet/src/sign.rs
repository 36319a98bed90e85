//! Signing: a [`Signer`] that writes the header once, and a [`TokenBuilder`] that fills the
//! registered claims.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::rand;
use serde::Serialize;

use crate::claims::{Audience, Claims, NumericDate};
use crate::validation::{Clock, SystemClock};
use crate::{Header, SignError, SigningKey, b64};

/// The largest serialization buffer kept between calls.
const MAX_KEPT_BUFFER: usize = 16 * 1024;

thread_local! {
    static JSON_BUFFER: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// Signs claims with one key and one header. The encoded header is computed once, so a
/// signer kept for many tokens does that work only once.
///
/// # Examples
///
/// ```
/// use signet::{Algorithm, Claims, SigningKey};
/// let key = SigningKey::generate(Algorithm::EdDSA)?;
/// let signer = key.signer_with_typ(Some("at+jwt"));
/// for user in ["alice", "bob"] {
///     let mut claims = Claims::<()>::default();
///     claims.sub = Some(user.into());
///     let token = signer.sign(&claims)?;
///     # let _ = token;
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Signer<'k> {
    key: &'k SigningKey,
    encoded_header: String,
}

impl SigningKey {
    /// A signer whose header is `{"alg", "typ": "JWT", "kid"}`.
    pub fn signer(&self) -> Signer<'_> {
        Signer::new(self, Some("JWT"))
    }

    /// A signer whose header carries this `typ` (such as `at+jwt`), or none.
    pub fn signer_with_typ(&self, typ: Option<&str>) -> Signer<'_> {
        Signer::new(self, typ)
    }

    /// Signs `payload` as a compact JWS under exactly the protected header JSON given, byte for
    /// byte. The header must be one Signet would accept, naming this key's algorithm. For
    /// interoperability tests and non-JWT payloads; JWTs are better made with [`Signer`].
    pub fn sign_jws_with_header(
        &self,
        protected_header: &[u8],
        payload: &[u8],
    ) -> Result<String, SignError> {
        let header = Header::parse(protected_header).map_err(|_| SignError::Header)?;
        if header.alg() != self.alg() {
            return Err(SignError::Header);
        }
        Signer {
            key: self,
            encoded_header: b64::encode(protected_header),
        }
        .sign_payload(payload)
    }

    /// Signs `claims` as a JWT with `typ: JWT`. To sign many tokens, keep a [`Signer`].
    pub fn sign<C: Serialize>(&self, claims: &Claims<'_, C>) -> Result<String, SignError> {
        self.signer().sign(claims)
    }
}

impl<'k> Signer<'k> {
    fn new(key: &'k SigningKey, typ: Option<&str>) -> Self {
        let header = Header::to_json(key.alg(), typ, key.kid());
        Self {
            key,
            encoded_header: b64::encode(header.as_bytes()),
        }
    }

    /// Signs `claims` exactly as given and returns the compact token.
    pub fn sign<C: Serialize>(&self, claims: &Claims<'_, C>) -> Result<String, SignError> {
        JSON_BUFFER.with(|buf| {
            // A buffer kept per thread: serializing costs no allocation once it has grown.
            let mut payload = buf.take();
            payload.clear();
            // `Claims` always serializes as one JSON object; the caller's members are checked
            // on the way (see `flatten`).
            let result = serde_json::to_writer(&mut payload, claims)
                .map_err(|e| SignError::Claims(e.to_string()))
                .and_then(|()| self.sign_payload(&payload));
            if payload.capacity() <= MAX_KEPT_BUFFER {
                buf.set(payload);
            }
            result
        })
    }

    /// Signs arbitrary payload bytes as a compact JWS.
    pub fn sign_payload(&self, payload: &[u8]) -> Result<String, SignError> {
        // Header, payload and a 512-byte signature (RSA-4096) fit without growing.
        let mut out =
            String::with_capacity(self.encoded_header.len() + payload.len().div_ceil(3) * 4 + 700);
        out.push_str(&self.encoded_header);
        out.push('.');
        b64::encode_into(payload, &mut out);
        self.key.append_signature(&mut out)?;
        Ok(out)
    }
}

/// The default lifetime of a token made by [`TokenBuilder`]: 15 minutes.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// Builds and signs a JWT: fills `iat` from the clock, `exp` from a lifetime (15 minutes
/// unless told), a random 128-bit `jti` unless told not to, and the header's `kid` from the
/// key.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use signet::{Algorithm, SigningKey, TokenBuilder};
/// let key = SigningKey::generate(Algorithm::ES256)?;
/// let token = TokenBuilder::new()
///     .issuer("https://auth.example.com")
///     .subject("alice")
///     .audience("orders-api")
///     .expires_in(Duration::from_secs(300))
///     .typ("at+jwt")
///     .sign(&key)?;
/// assert_eq!(token.split('.').count(), 3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
#[must_use]
pub struct TokenBuilder<'a, C = ()> {
    claims: Claims<'a, C>,
    lifetime: Duration,
    not_before: Option<Duration>,
    typ: Option<Cow<'a, str>>,
    jti: bool,
    /// `None`: the system clock (no allocation for the common case).
    clock: Option<Arc<dyn Clock>>,
}

impl Default for TokenBuilder<'_, ()> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a> TokenBuilder<'a, ()> {
    /// A builder with no custom claims.
    pub fn new() -> Self {
        Self::with_custom(())
    }
}

impl<'a, C: Serialize> TokenBuilder<'a, C> {
    /// A builder with the caller's own claims.
    pub fn with_custom(custom: C) -> Self {
        Self {
            claims: Claims::with_custom(custom),
            lifetime: DEFAULT_LIFETIME,
            not_before: None,
            typ: Some(Cow::Borrowed("JWT")),
            jti: true,
            clock: None,
        }
    }

    /// `iss`.
    pub fn issuer(mut self, iss: impl Into<Cow<'a, str>>) -> Self {
        self.claims.iss = Some(iss.into());
        self
    }

    /// `sub`.
    pub fn subject(mut self, sub: impl Into<Cow<'a, str>>) -> Self {
        self.claims.sub = Some(sub.into());
        self
    }

    /// `aud`; called more than once, it makes an array.
    pub fn audience(mut self, aud: impl Into<Cow<'a, str>>) -> Self {
        let aud = aud.into();
        self.claims.aud = Some(match self.claims.aud.take() {
            None => Audience::One(aud),
            Some(Audience::One(first)) => Audience::Many(vec![first, aud]),
            Some(Audience::Many(mut list)) => {
                list.push(aud);
                Audience::Many(list)
            }
        });
        self
    }

    /// The lifetime: `exp` = `iat` + `lifetime`.
    pub fn expires_in(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// `nbf` = `iat` + `delay`.
    pub fn not_before_in(mut self, delay: Duration) -> Self {
        self.not_before = Some(delay);
        self
    }

    /// The header `typ` (default `JWT`), such as `at+jwt`.
    pub fn typ(mut self, typ: impl Into<Cow<'a, str>>) -> Self {
        self.typ = Some(typ.into());
        self
    }

    /// An explicit `jti` instead of a random one.
    pub fn jti(mut self, jti: impl Into<Cow<'a, str>>) -> Self {
        self.claims.jti = Some(jti.into());
        self
    }

    /// No `jti` at all.
    pub fn no_jti(mut self) -> Self {
        self.jti = false;
        self.claims.jti = None;
        self
    }

    /// Take `iat` from this clock (the same kind of handle [`ValidationBuilder::clock`]
    /// takes).
    ///
    /// [`ValidationBuilder::clock`]: crate::ValidationBuilder::clock
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Fills the time claims and `jti`, and signs.
    pub fn sign(mut self, key: &SigningKey) -> Result<String, SignError> {
        let now = self
            .clock
            .as_ref()
            .map_or_else(|| SystemClock.now(), |c| c.now());
        let at = |d: Duration| {
            NumericDate::from_secs(now.saturating_add(d.as_secs()))
                .ok_or_else(|| SignError::Claims("date out of range".into()))
        };
        self.claims.iat = Some(at(Duration::ZERO)?);
        self.claims.exp = Some(at(self.lifetime)?);
        self.claims.nbf = self.not_before.map(at).transpose()?;
        if self.jti && self.claims.jti.is_none() {
            let mut id = [0u8; 16];
            rand::fill(&mut id).map_err(|_| SignError::Crypto)?;
            self.claims.jti = Some(Cow::Owned(b64::encode(&id)));
        }
        key.signer_with_typ(self.typ.as_deref()).sign(&self.claims)
    }
}
