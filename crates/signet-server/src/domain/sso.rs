//! Single sign-on (OpenID Connect Core 1.0 with RFC 6749, RFC 7636 and RFC 9207): checking
//! authorization requests, SSO sessions, authorization codes, and exchanging a code for an
//! access token, a refresh token and an ID token.

use std::time::Duration;

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use signet::{Algorithm, TokenBuilder};

use super::grants::{self, Issued, Jti, LoginIds};
use super::{DomainError, Issuer};
use crate::sealing::random_token;
use crate::store::{AuthCode, Client, CodeIssue, CodeUse, SsoSession, User};

/// How long an authorization code may be exchanged.
const CODE_LIFETIME: i64 = 60;
/// How long an ID token is valid: it proves a login to the client once, at once.
const ID_TOKEN_LIFETIME: Duration = Duration::from_secs(300);
/// The longest `state` or `nonce` accepted.
const MAX_PARAM: usize = 2048;

/// The parameters of an authorization request as sent (query or form; OpenID Connect Core 1.0
/// §3.1.2.1, PKCE required, S256 only).
#[derive(
    Debug,
    Default,
    Clone,
    serde::Deserialize,
    serde::Serialize,
    utoipa::ToSchema,
    utoipa::IntoParams,
)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub(crate) struct AuthParams {
    /// `code`, the only response type.
    pub(crate) response_type: Option<String>,
    /// The client.
    pub(crate) client_id: Option<String>,
    /// One of the client's registered redirect URIs, exactly.
    pub(crate) redirect_uri: Option<String>,
    /// Space-separated; `openid` for an ID token.
    pub(crate) scope: Option<String>,
    /// Returned unchanged to the client.
    pub(crate) state: Option<String>,
    /// Put into the ID token.
    pub(crate) nonce: Option<String>,
    /// BASE64URL(SHA-256(verifier)).
    pub(crate) code_challenge: Option<String>,
    /// `S256`.
    pub(crate) code_challenge_method: Option<String>,
    /// `none`, `login` and/or `consent`.
    pub(crate) prompt: Option<String>,
    /// Seconds since the last password login beyond which the user logs in again.
    pub(crate) max_age: Option<String>,
    /// The user name to put into the login form.
    pub(crate) login_hint: Option<String>,
}

/// What `prompt` asked for.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Prompt {
    /// `none`: no page may be shown.
    pub(crate) none: bool,
    /// `login`: the password again, whatever the session.
    pub(crate) login: bool,
    /// `consent`: ask the user even if they agreed before.
    pub(crate) consent: bool,
}

/// A checked authorization request.
#[derive(Debug, Clone)]
pub(crate) struct AuthRequest {
    pub(crate) client: Client,
    pub(crate) redirect_uri: String,
    pub(crate) scope: String,
    pub(crate) state: Option<String>,
    pub(crate) nonce: Option<String>,
    pub(crate) code_challenge: String,
    pub(crate) prompt: Prompt,
    pub(crate) max_age: Option<i64>,
    pub(crate) login_hint: Option<String>,
}

/// Why an authorization request is refused.
#[derive(Debug)]
pub(crate) enum AuthorizeError {
    /// Before the redirect URI is known to be the client's: shown on a page, never redirected.
    Page(&'static str),
    /// Sent back to the redirect URI as RFC 6749 error parameters.
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: &'static str,
        description: &'static str,
    },
    /// The store or the keys failed.
    Domain(DomainError),
}

impl From<DomainError> for AuthorizeError {
    fn from(e: DomainError) -> Self {
        Self::Domain(e)
    }
}

impl From<crate::store::StoreError> for AuthorizeError {
    fn from(e: crate::store::StoreError) -> Self {
        Self::Domain(e.into())
    }
}

/// Checks an authorization request: first the client and its exact redirect URI (failures
/// there are shown, never redirected), then the rest (failures go back to the redirect URI).
pub(crate) async fn check_request(
    issuer: &Issuer,
    params: &AuthParams,
) -> Result<AuthRequest, AuthorizeError> {
    let client_id = params
        .client_id
        .as_deref()
        .ok_or(AuthorizeError::Page("The request names no client."))?;
    let client = issuer
        .clients
        .get(client_id, || issuer.store.client(client_id))
        .await?
        .ok_or(AuthorizeError::Page("The request names an unknown client."))?;
    let redirect_uri = params
        .redirect_uri
        .as_deref()
        .ok_or(AuthorizeError::Page("The request has no redirect URI."))?;
    if !client.oidc.redirect_uris.iter().any(|r| r == redirect_uri) {
        return Err(AuthorizeError::Page(
            "The redirect URI is not registered for this client.",
        ));
    }
    let state = params.state.clone().filter(|s| !s.is_empty());
    let fail = |error, description| AuthorizeError::Redirect {
        redirect_uri: redirect_uri.to_owned(),
        state: state.clone(),
        error,
        description,
    };
    if state.as_ref().is_some_and(|s| s.len() > MAX_PARAM) {
        return Err(fail("invalid_request", "state is too long"));
    }
    if params.response_type.as_deref() != Some("code") {
        return Err(fail(
            "unsupported_response_type",
            "only response_type=code is supported",
        ));
    }
    if grants::allowed(&client, "authorization_code").is_err() {
        return Err(fail(
            "unauthorized_client",
            "the client may not use the authorization code grant",
        ));
    }
    let Some(code_challenge) = params.code_challenge.clone() else {
        return Err(fail(
            "invalid_request",
            "code_challenge is required (PKCE with S256)",
        ));
    };
    if params.code_challenge_method.as_deref() != Some("S256") {
        return Err(fail(
            "invalid_request",
            "code_challenge_method must be S256 (plain is refused)",
        ));
    }
    if code_challenge.len() != 43 || !code_challenge.bytes().all(is_base64url) {
        return Err(fail(
            "invalid_request",
            "code_challenge must be a base64url SHA-256",
        ));
    }
    let scope = match params.scope.as_deref().map(str::trim) {
        None | Some("") => return Err(fail("invalid_scope", "scope is required")),
        Some(s) => {
            let words: Vec<&str> = signet::scope::words(s).collect();
            grants::grant_scope(&client, Some(&words.join(" ")))
                .map_err(|_| fail("invalid_scope", "a requested scope is not allowed"))?
        }
    };
    let mut prompt = Prompt::default();
    for word in params.prompt.as_deref().unwrap_or("").split(' ') {
        match word {
            "" | "select_account" => {}
            "none" => prompt.none = true,
            "login" => prompt.login = true,
            "consent" => prompt.consent = true,
            _ => return Err(fail("invalid_request", "unknown prompt value")),
        }
    }
    if prompt.none && (prompt.login || prompt.consent) {
        return Err(fail(
            "invalid_request",
            "prompt=none cannot be combined with other values",
        ));
    }
    let max_age = match params.max_age.as_deref() {
        None | Some("") => None,
        Some(v) => Some(
            v.parse::<i64>()
                .ok()
                .filter(|v| *v >= 0)
                .ok_or_else(|| fail("invalid_request", "max_age must be a number of seconds"))?,
        ),
    };
    let nonce = params.nonce.clone().filter(|n| !n.is_empty());
    if nonce.as_ref().is_some_and(|n| n.len() > MAX_PARAM) {
        return Err(fail("invalid_request", "nonce is too long"));
    }
    Ok(AuthRequest {
        redirect_uri: redirect_uri.to_owned(),
        scope,
        state,
        nonce,
        code_challenge,
        prompt,
        max_age,
        login_hint: params.login_hint.clone().filter(|h| h.len() <= 256),
        client,
    })
}

fn is_base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// The SHA-256 of a secret value, as stored.
fn stored_hash(value: &str) -> Vec<u8> {
    digest::digest(&digest::SHA256, value.as_bytes())
        .as_ref()
        .to_vec()
}

/// The live SSO session a browser's cookie value names, if its user can still log in.
pub(crate) async fn session(
    issuer: &Issuer,
    cookie: Option<&str>,
) -> Result<Option<SsoSession>, DomainError> {
    let Some(cookie) = cookie.filter(|c| c.len() <= 128) else {
        return Ok(None);
    };
    let now = issuer.now();
    let hash = stored_hash(cookie);
    let Some(session) = issuer
        .sessions
        .get(&URL_SAFE_NO_PAD.encode(&hash), || {
            issuer.store.session_by_cookie(&hash, now)
        })
        .await?
        .filter(|s| s.expires_at > now)
    else {
        return Ok(None);
    };
    let user = issuer
        .users
        .get(&session.user_id, || {
            issuer.store.user_by_id(&session.user_id)
        })
        .await?;
    Ok(user.filter(|u| !u.disabled).map(|_| session))
}

/// Whether `session` may answer `request` without a password: not with `prompt=login`, nor
/// once `max_age` seconds have passed since the password was entered (`max_age=0`: always a
/// fresh login).
pub(crate) fn session_suffices(
    issuer: &Issuer,
    request: &AuthRequest,
    session: &SsoSession,
) -> bool {
    !request.prompt.login
        && request
            .max_age
            .is_none_or(|max| issuer.now() - session.auth_time < max)
}

/// Whether the user of `session` must be asked before `request`'s client gets its scope:
/// never for a first-party client; always with `prompt=consent`; else unless they agreed to
/// all of that scope before.
pub(crate) async fn needs_consent(
    issuer: &Issuer,
    request: &AuthRequest,
    session: &SsoSession,
) -> Result<bool, DomainError> {
    if request.client.oidc.first_party {
        return Ok(false);
    }
    if request.prompt.consent {
        return Ok(true);
    }
    let agreed = issuer
        .store
        .consent(&session.user_id, &request.client.id)
        .await?;
    Ok(!agreed.is_some_and(|a| signet::scope::within(&request.scope, signet::scope::words(&a))))
}

/// Records that the user of `session` agrees to give `request`'s client its scope.
pub(crate) async fn record_consent(
    issuer: &Issuer,
    request: &AuthRequest,
    session: &SsoSession,
) -> Result<(), DomainError> {
    Ok(issuer
        .store
        .grant_consent(
            &session.user_id,
            &request.client.id,
            &request.scope,
            issuer.now(),
        )
        .await?)
}

/// Starts an SSO session for `user`, who just entered their password; returns the cookie value
/// (shown to the browser once, stored hashed) and the session.
pub(crate) async fn start_session(
    issuer: &Issuer,
    user: &User,
) -> Result<(String, SsoSession), DomainError> {
    let now = issuer.now();
    let cookie = random_token(32)?;
    let session = SsoSession {
        id: random_token(16)?,
        user_id: user.id.clone(),
        auth_time: now,
        expires_at: now + i64::try_from(issuer.config.sso_session_lifetime.as_secs()).unwrap_or(0),
    };
    issuer
        .store
        .start_session(&session, &stored_hash(&cookie), now)
        .await?;
    Ok((cookie, session))
}

/// Issues an authorization code for `request` in `session`: what it grants, sealed, so that
/// nothing is written until it is used.
pub(crate) async fn issue_code(
    issuer: &Issuer,
    request: &AuthRequest,
    session: &SsoSession,
) -> Result<String, DomainError> {
    let code = AuthCode {
        client_id: request.client.id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        code_challenge: request.code_challenge.clone(),
        nonce: request.nonce.clone(),
        scope: request.scope.clone(),
        session_id: session.id.clone(),
        user_id: session.user_id.clone(),
        auth_time: session.auth_time,
        expires_at: issuer.now() + CODE_LIFETIME,
    };
    Ok(issuer.keys.seal_code(&code)?)
}

/// The authorization-code grant for an authenticated `client`: the code must be live, its
/// first use, issued to this client for this `redirect_uri`, and `verifier` must match its
/// PKCE challenge. A second use of a code revokes what the first issued.
pub(crate) async fn exchange_code(
    issuer: &Issuer,
    client: &Client,
    code: &str,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
) -> Result<Issued, DomainError> {
    grants::allowed(client, "authorization_code")?;
    let invalid = || DomainError::InvalidGrant("the authorization code is invalid");
    let now = issuer.now();
    let ids = LoginIds::new()?;
    let refreshes = grants::allowed(client, "refresh_token").is_ok();
    let access_exp = now + i64::try_from(issuer.config.access_lifetime.as_secs()).unwrap_or(0);
    let issue = CodeIssue {
        family_id: refreshes.then(|| ids.family.clone()),
        access_jti: ids.jti.clone(),
        access_exp,
    };
    // Only a code this issuer sealed reaches the store, which keeps each from its first use.
    let Some(sealed) = issuer.keys.open_code(code) else {
        return Err(invalid());
    };
    let stored = match issuer
        .store
        .redeem_code(&stored_hash(code), &sealed, now, &issue)
        .await?
    {
        CodeUse::Redeemed(stored) => stored,
        CodeUse::Invalid => return Err(invalid()),
        CodeUse::Replayed(first) => {
            // A code came back: someone else holds a copy. What it gave stops working.
            tracing::warn!(client = %client.id, "authorization code replayed: its tokens are revoked");
            if let Some(family) = &first.family_id {
                issuer.end_login(family, now).await?;
            }
            if !first.access_jti.is_empty() {
                issuer
                    .deny(&first.access_jti, first.access_exp, now)
                    .await?;
            }
            return Err(invalid());
        }
    };
    let verifier_ok = verifier.is_some_and(|v| {
        (43..=128).contains(&v.len())
            && v.bytes().all(|b| is_base64url(b) || b == b'.' || b == b'~')
            && crate::sealing::secret_eq(
                URL_SAFE_NO_PAD
                    .encode(digest::digest(&digest::SHA256, v.as_bytes()))
                    .as_bytes(),
                stored.code_challenge.as_bytes(),
            )
    });
    if stored.client_id != client.id
        || redirect_uri != Some(stored.redirect_uri.as_str())
        || !verifier_ok
    {
        return Err(invalid());
    }
    let Some(user) = issuer
        .users
        .get(&stored.user_id, || issuer.store.user_by_id(&stored.user_id))
        .await?
        .filter(|u| !u.disabled)
    else {
        return Err(invalid());
    };
    // An access token for the client's first audience, else for the issuer itself (userinfo).
    let audience = client
        .audiences
        .first()
        .cloned()
        .unwrap_or_else(|| issuer.config.issuer().to_owned());
    let mut issued = if refreshes {
        grants::start_login(
            issuer,
            client,
            &user,
            stored.scope.clone(),
            audience,
            Some(&stored.session_id),
            ids,
        )
        .await?
    } else {
        let ring = issuer.keys.current(now).await?;
        let (access_token, expires_in) = grants::access_token(
            issuer,
            &ring,
            client,
            Some(&user),
            &stored.scope,
            &audience,
            Jti::OfLogin(ids.jti),
            Some(&stored.session_id),
        )
        .await?;
        Issued {
            access_token,
            expires_in,
            scope: stored.scope.clone(),
            refresh_token: None,
            id_token: None,
        }
    };
    if signet::scope::contains(&stored.scope, "openid") {
        issued.id_token =
            Some(id_token(issuer, client, &user, &stored, &issued.access_token).await?);
    }
    Ok(issued)
}

/// The profile claims `scope` selects for `user`: `name` and `preferred_username` for
/// `profile`, `email` and `email_verified` for `email`.
pub(crate) fn profile_claims(user: &User, scope: &str) -> Map<String, Value> {
    let mut claims = Map::new();
    if signet::scope::contains(scope, "profile") {
        claims.insert("preferred_username".into(), json!(user.name));
        if let Some(name) = &user.profile.display_name {
            claims.insert("name".into(), json!(name));
        }
    }
    if signet::scope::contains(scope, "email")
        && let Some(email) = &user.profile.email
    {
        claims.insert("email".into(), json!(email));
        claims.insert("email_verified".into(), json!(user.profile.email_verified));
    }
    claims
}

/// The OIDC `at_hash`: the left half of the access token's hash, with the hash of the signing
/// algorithm (SHA-512 for EdDSA).
fn at_hash(alg: Algorithm, access_token: &str) -> String {
    let name = alg.name();
    let hash = if name.ends_with("384") {
        &digest::SHA384
    } else if name.ends_with("512") || name == "EdDSA" {
        &digest::SHA512
    } else {
        &digest::SHA256
    };
    let d = digest::digest(hash, access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&d.as_ref()[..d.as_ref().len() / 2])
}

/// Signs the ID token of a code's exchange with the issuer's current key.
async fn id_token(
    issuer: &Issuer,
    client: &Client,
    user: &User,
    code: &AuthCode,
    access_token: &str,
) -> Result<String, DomainError> {
    let ring = issuer.keys.current(issuer.now()).await?;
    let mut claims = profile_claims(user, &code.scope);
    claims.insert("auth_time".into(), json!(code.auth_time));
    claims.insert("sid".into(), json!(code.session_id));
    claims.insert("azp".into(), json!(client.id));
    claims.insert(
        "at_hash".into(),
        json!(at_hash(issuer.config.signing_alg, access_token)),
    );
    if let Some(nonce) = &code.nonce {
        claims.insert("nonce".into(), json!(nonce));
    }
    let (iss, sub, aud) = (
        issuer.config.issuer().to_owned(),
        user.id.clone(),
        client.id.clone(),
    );
    let clock = std::sync::Arc::clone(&issuer.config.clock);
    super::sign_with(&ring.active, move |key| {
        TokenBuilder::with_custom(claims)
            .issuer(iss)
            .subject(sub)
            .audience(aud)
            .expires_in(ID_TOKEN_LIFETIME)
            .clock(clock)
            .typ("JWT")
            .sign(key)
    })
    .await
}

/// The userinfo answer for one of this issuer's access tokens: `sub` and the claims its scope
/// selects. `None` when the token is not live, was revoked, has no `openid` scope, or its
/// user is gone.
pub(crate) async fn userinfo(issuer: &Issuer, token: &str) -> Result<Option<Value>, DomainError> {
    let Some(claims) = super::tokens::own_access_token(issuer, token).await else {
        return Ok(None);
    };
    let scope = claims
        .custom
        .get("scope")
        .and_then(Value::as_str)
        .unwrap_or("");
    let (Some(sub), Some(jti)) = (claims.sub.as_deref(), claims.jti.as_deref()) else {
        return Ok(None);
    };
    if !signet::scope::contains(scope, "openid") || jti.is_empty() {
        return Ok(None);
    }
    if issuer
        .store
        .is_denied(&super::tokens::token_ids(&claims))
        .await?
    {
        return Ok(None);
    }
    let Some(user) = issuer
        .users
        .get(sub, || issuer.store.user_by_id(sub))
        .await?
        .filter(|u| !u.disabled)
    else {
        return Ok(None);
    };
    let mut answer = profile_claims(&user, scope);
    answer.insert("sub".into(), json!(user.id));
    Ok(Some(Value::Object(answer)))
}
