//! What a verified token must also satisfy: issuer, audience, times, type, subjects and
//! required claims.
//!
//! [`Validation::builder`] does not let an incomplete configuration be built: both an issuer
//! and an audience must be given, or explicitly waived with a method whose name says it is
//! insecure.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::claims::Claims;
use crate::token::DEFAULT_MAX_TOKEN_SIZE;
use crate::{Error, Header};

/// A source of the current time, injected into validation and signing.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use signet::{Clock, FixedClock, Validation};
/// let clock = FixedClock(1_700_000_000);
/// assert_eq!(clock.now_ms(), 1_700_000_000_000);
/// // The same clock for signing and for validating, as in a replay or a test.
/// let rules = Validation::builder().issuer("i").audience("a").clock(Arc::new(clock)).build();
/// # let _ = rules;
/// ```
pub trait Clock: Send + Sync + fmt::Debug {
    /// Seconds since the Unix epoch.
    fn now(&self) -> u64;

    /// Milliseconds since the Unix epoch, for measuring delays finer than a second (by default
    /// the start of the second [`Clock::now`] gives).
    fn now_ms(&self) -> u64 {
        self.now().saturating_mul(1000)
    }
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }

    fn now_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

/// A clock stopped at one instant, for tests and replays.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub u64);

impl Clock for FixedClock {
    fn now(&self) -> u64 {
        self.0
    }
}

/// The default leeway for clock skew.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);

/// Validation rules for verified tokens. Made with [`Validation::builder`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use signet::Validation;
/// // `build` exists only once the issuer and the audience are settled.
/// let rules = Validation::builder()
///     .issuer("https://auth.example.com")
///     .audience("orders-api")
///     .required_typ("at+jwt")
///     .leeway(Duration::from_secs(30))
///     .build();
/// # let _ = rules;
/// ```
#[derive(Debug, Clone)]
pub struct Validation {
    issuers: Option<Vec<String>>,
    audiences: Option<Vec<String>>,
    leeway: u64,
    require_exp: bool,
    max_age: Option<u64>,
    typ: Option<String>,
    required: Vec<Box<str>>,
    subjects: Option<Vec<String>>,
    clock: Arc<dyn Clock>,
    max_token_size: usize,
}

/// Typestate markers for [`ValidationBuilder`].
pub mod state {
    /// Neither accepted values nor a waiver have been given yet.
    #[derive(Debug)]
    pub struct Missing;
    /// Accepted values, or an explicit insecure waiver, have been given.
    #[derive(Debug)]
    pub struct Given;
}

/// Builds a [`Validation`]; `build` exists only once the issuer and audience are settled.
///
/// # Examples
///
/// Opting out of a check is spelled as insecure:
///
/// ```
/// let rules = signet::Validation::builder()
///     .insecure_any_issuer()
///     .audience("orders-api")
///     .build();
/// # let _ = rules;
/// ```
#[derive(Debug)]
#[must_use]
pub struct ValidationBuilder<Iss, Aud> {
    v: Validation,
    _state: PhantomData<(Iss, Aud)>,
}

impl Validation {
    /// Starts a validation: `exp` required, `nbf` and `iat` checked when present, 60 s of
    /// leeway, the system clock, and tokens of at most 16 KiB.
    pub fn builder() -> ValidationBuilder<state::Missing, state::Missing> {
        ValidationBuilder {
            v: Validation {
                issuers: None,
                audiences: None,
                leeway: DEFAULT_LEEWAY.as_secs(),
                require_exp: true,
                max_age: None,
                typ: None,
                required: Vec::new(),
                subjects: None,
                clock: Arc::new(SystemClock),
                max_token_size: DEFAULT_MAX_TOKEN_SIZE,
            },
            _state: PhantomData,
        }
    }

    pub(crate) fn max_token_size(&self) -> usize {
        self.max_token_size
    }

    pub(crate) fn required_claims(&self) -> &[Box<str>] {
        &self.required
    }

    pub(crate) fn check_header(&self, header: &Header) -> Result<(), Error> {
        if let Some(want) = &self.typ {
            let got = header.typ().ok_or(Error::WrongType)?;
            if !media_type_eq(want, got) {
                return Err(Error::WrongType);
            }
        }
        Ok(())
    }

    pub(crate) fn check_claims<C>(&self, c: &Claims<'_, C>) -> Result<(), Error> {
        if let Some(issuers) = &self.issuers {
            let iss = c.iss.as_deref().ok_or(Error::WrongIssuer)?;
            if !issuers.iter().any(|i| i == iss) {
                return Err(Error::WrongIssuer);
            }
        }
        if let Some(audiences) = &self.audiences {
            let aud = c.aud.as_ref().ok_or(Error::WrongAudience)?;
            if !audiences.iter().any(|a| aud.contains(a)) {
                return Err(Error::WrongAudience);
            }
        }
        self.check_times(c)?;
        if let Some(subjects) = &self.subjects {
            let sub = c.sub.as_deref().ok_or(Error::WrongSubject)?;
            if !subjects.iter().any(|s| s == sub) {
                return Err(Error::WrongSubject);
            }
        }
        Ok(())
    }

    /// The time checks alone, on this rules' clock and leeway: `exp` (required unless waived),
    /// `nbf`, an `iat` not in the future, and the maximum age. Verification runs them; a cache
    /// of verified tokens runs them again on every hit, so that a cached token expires on time.
    ///
    /// ```
    /// use std::time::Duration;
    /// use signet::{Algorithm, SigningKey, TokenBuilder, Validation};
    ///
    /// let key = SigningKey::generate(Algorithm::ES256)?;
    /// let rules = Validation::builder().issuer("https://id.example").audience("api").build();
    /// let token = TokenBuilder::new()
    ///     .issuer("https://id.example")
    ///     .audience("api")
    ///     .expires_in(Duration::from_secs(60))
    ///     .sign(&key)?;
    /// let claims = key.verifying_key().verify(&token, &rules)?;
    /// assert!(rules.check_times(&claims).is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check_times<C>(&self, c: &Claims<'_, C>) -> Result<(), Error> {
        let now = self.clock.now();
        match c.exp {
            Some(exp) if now >= exp.as_secs().saturating_add(self.leeway) => {
                return Err(Error::Expired {
                    ago_secs: now - exp.as_secs(),
                });
            }
            None if self.require_exp => return Err(Error::MissingClaim("exp".into())),
            _ => {}
        }
        if let Some(nbf) = c.nbf
            && now.saturating_add(self.leeway) < nbf.as_secs()
        {
            return Err(Error::NotYetValid {
                in_secs: nbf.as_secs() - now,
            });
        }
        if let Some(iat) = c.iat
            && iat.as_secs() > now.saturating_add(self.leeway)
        {
            return Err(Error::IssuedInFuture);
        }
        if let Some(max_age) = self.max_age {
            let iat = c.iat.ok_or_else(|| Error::MissingClaim("iat".into()))?;
            if now.saturating_sub(iat.as_secs()) > max_age.saturating_add(self.leeway) {
                return Err(Error::TooOld);
            }
        }
        Ok(())
    }
}

/// Compares media types as RFC 8725 §3.11 and RFC 7515 §4.1.9 ask: case-insensitively, with
/// an optional `application/` prefix.
fn media_type_eq(a: &str, b: &str) -> bool {
    fn bare(s: &str) -> &str {
        match s.get(..12) {
            Some(p) if p.eq_ignore_ascii_case("application/") => &s[12..],
            _ => s,
        }
    }
    bare(a).eq_ignore_ascii_case(bare(b))
}

impl<Aud> ValidationBuilder<state::Missing, Aud> {
    /// Accept tokens from this issuer (`iss`).
    pub fn issuer(self, iss: impl Into<String>) -> ValidationBuilder<state::Given, Aud> {
        self.issuers([iss])
    }

    /// Accept tokens from any of these issuers.
    pub fn issuers<S: Into<String>>(
        mut self,
        iss: impl IntoIterator<Item = S>,
    ) -> ValidationBuilder<state::Given, Aud> {
        self.v.issuers = Some(iss.into_iter().map(Into::into).collect());
        ValidationBuilder {
            v: self.v,
            _state: PhantomData,
        }
    }

    /// **Insecure**: accept tokens from any issuer, or none. A token meant for another system
    /// would pass if it is signed by a key you trust.
    pub fn insecure_any_issuer(self) -> ValidationBuilder<state::Given, Aud> {
        ValidationBuilder {
            v: self.v,
            _state: PhantomData,
        }
    }
}

impl<Iss> ValidationBuilder<Iss, state::Missing> {
    /// Accept tokens meant for this audience (`aud` equals it or contains it).
    pub fn audience(self, aud: impl Into<String>) -> ValidationBuilder<Iss, state::Given> {
        self.audiences([aud])
    }

    /// Accept tokens meant for any of these audiences.
    pub fn audiences<S: Into<String>>(
        mut self,
        aud: impl IntoIterator<Item = S>,
    ) -> ValidationBuilder<Iss, state::Given> {
        self.v.audiences = Some(aud.into_iter().map(Into::into).collect());
        ValidationBuilder {
            v: self.v,
            _state: PhantomData,
        }
    }

    /// **Insecure**: accept tokens whatever their audience. A token issued for another service
    /// would be accepted here.
    pub fn insecure_any_audience(self) -> ValidationBuilder<Iss, state::Given> {
        ValidationBuilder {
            v: self.v,
            _state: PhantomData,
        }
    }
}

impl<Iss, Aud> ValidationBuilder<Iss, Aud> {
    /// Tolerance for clock skew on `exp`, `nbf` and `iat` (default 60 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.v.leeway = leeway.as_secs();
        self
    }

    /// Refuse tokens issued (`iat`) longer ago than `max_age`; `iat` becomes required.
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.v.max_age = Some(max_age.as_secs());
        self
    }

    /// Require the header `typ` (RFC 8725 §3.11), such as `at+jwt`. Compared
    /// case-insensitively, with an optional `application/` prefix.
    pub fn required_typ(mut self, typ: impl Into<String>) -> Self {
        self.v.typ = Some(typ.into());
        self
    }

    /// Require that the payload has a member with this name.
    pub fn require_claim(mut self, name: impl Into<String>) -> Self {
        self.v.required.push(name.into().into_boxed_str());
        self
    }

    /// Accept only tokens whose `sub` is one of these.
    pub fn allowed_subjects<S: Into<String>>(
        mut self,
        subjects: impl IntoIterator<Item = S>,
    ) -> Self {
        self.v.subjects = Some(subjects.into_iter().map(Into::into).collect());
        self
    }

    /// Use this clock instead of the system's.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.v.clock = clock;
        self
    }

    /// The largest token accepted, in bytes (default 16 KiB).
    pub fn max_token_size(mut self, bytes: usize) -> Self {
        self.v.max_token_size = bytes;
        self
    }

    /// **Insecure**: accept tokens without `exp`. Such a token is valid forever.
    pub fn insecure_allow_missing_exp(mut self) -> Self {
        self.v.require_exp = false;
        self
    }
}

impl ValidationBuilder<state::Given, state::Given> {
    /// The finished validation.
    pub fn build(self) -> Validation {
        self.v
    }
}

#[cfg(test)]
mod tests {
    use super::media_type_eq;

    #[test]
    fn typ_comparison_follows_rfc_8725() {
        assert!(media_type_eq("at+jwt", "at+JWT"));
        assert!(media_type_eq("at+jwt", "application/at+jwt"));
        assert!(media_type_eq("Application/at+jwt", "AT+JWT"));
        assert!(!media_type_eq("at+jwt", "jwt"));
        assert!(!media_type_eq("at+jwt", "application/"));
    }
}
