//! The grants: client credentials, password (also behind browser sessions) and refresh, with
//! the rules for scopes, audiences and the refresh-token rotation.

use std::net::IpAddr;
use std::time::Duration;

use serde_json::{Map, json};
use signet::TokenBuilder;
use zeroize::Zeroizing;

use super::DomainError;
use super::Issuer;
use crate::metrics::inc;
use crate::sealing::random_token;
use crate::store::{Client, Family, RefreshUse, Successor, User};

/// Claims the issuer sets itself besides the registered ones ([`signet::REGISTERED_CLAIMS`]);
/// a user's configured claims cannot override either.
const ISSUER_SET: [&str; 4] = ["client_id", "scope", "roles", "sid"];

/// The stored form of a refresh token.
pub(crate) fn refresh_hash(token: &str) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes())
        .as_ref()
        .to_vec()
}

pub(crate) fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// The scope granted: the requested one if every part is allowed, else the client's own.
pub(crate) fn grant_scope(client: &Client, requested: Option<&str>) -> Result<String, DomainError> {
    match requested {
        None => Ok(client.scopes.join(" ")),
        Some(req) => {
            if signet::scope::within(req, client.scopes.iter().map(String::as_str)) {
                Ok(req.to_owned())
            } else {
                Err(DomainError::InvalidScope)
            }
        }
    }
}

/// The audience granted: the requested one if the client may have it, else its first.
pub(crate) fn grant_audience(
    client: &Client,
    requested: Option<&str>,
) -> Result<String, DomainError> {
    match requested {
        Some(a) if client.audiences.iter().any(|c| c == a) => Ok(a.to_owned()),
        Some(_) => Err(DomainError::InvalidTarget),
        None => client
            .audiences
            .first()
            .cloned()
            .ok_or(DomainError::InvalidTarget),
    }
}

/// Refuses a grant type the client was not registered for.
pub(crate) fn allowed(client: &Client, grant: &str) -> Result<(), DomainError> {
    if client.grants.iter().any(|g| g == grant) {
        Ok(())
    } else {
        Err(DomainError::UnauthorizedClient)
    }
}

/// What a grant issued.
#[derive(Debug)]
pub(crate) struct Issued {
    /// The signed access token.
    pub(crate) access_token: String,
    /// Its lifetime in seconds.
    pub(crate) expires_in: i64,
    /// The scope granted.
    pub(crate) scope: String,
    /// The next refresh token of the login, if the grant starts or continues one.
    pub(crate) refresh_token: Option<String>,
    /// An OpenID Connect ID token (authorization-code grant with scope `openid`).
    pub(crate) id_token: Option<String>,
}

impl Issued {
    /// A step of a login: an access token (with its lifetime) for `scope`, and the login's
    /// next refresh token.
    fn of_login((access_token, expires_in): (String, i64), scope: String, refresh: String) -> Self {
        Self {
            access_token,
            expires_in,
            scope,
            refresh_token: Some(refresh),
            id_token: None,
        }
    }
}

/// The ids of a new login, chosen before it is stored (an authorization code records them as
/// it is redeemed, so that a replay of the code can revoke them).
#[derive(Debug, Clone)]
pub(crate) struct LoginIds {
    /// The refresh family's id.
    pub(crate) family: String,
    /// The first access token's `jti`.
    pub(crate) jti: String,
}

impl LoginIds {
    /// Fresh random ids.
    pub(crate) fn new() -> Result<Self, DomainError> {
        Ok(Self {
            family: random_token(16)?,
            jti: random_token(16)?,
        })
    }
}

/// Where the `jti` of an access token about to be signed comes from.
pub(crate) enum Jti {
    /// A client's own token: a fresh `jti` (deleting the client denies it by a client cutoff).
    OfClient,
    /// A token of a login: this `jti`, recorded beside its refresh token.
    OfLogin(String),
}

/// Signs an RFC 9068 access token with `ring`'s active key. A token of a login begun in an SSO
/// session carries its `sid`, so that ending the session revokes it by one entry.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn access_token(
    issuer: &Issuer,
    ring: &crate::domain::keys::KeyRing,
    client: &Client,
    user: Option<&User>,
    scope: &str,
    audience: &str,
    jti: Jti,
    sid: Option<&str>,
) -> Result<(String, i64), DomainError> {
    let mut custom = Map::new();
    custom.insert("client_id".into(), json!(client.id));
    if let Some(sid) = sid {
        custom.insert("sid".into(), json!(sid));
    }
    if !scope.is_empty() {
        custom.insert("scope".into(), json!(scope));
    }
    if let Some(user) = user {
        if !user.roles.is_empty() {
            custom.insert("roles".into(), json!(user.roles));
        }
        for (k, v) in &user.claims {
            if !signet::REGISTERED_CLAIMS.contains(&k.as_str()) && !ISSUER_SET.contains(&k.as_str())
            {
                custom.insert(k.clone(), v.clone());
            }
        }
    }
    let jti = match jti {
        Jti::OfLogin(jti) => jti,
        Jti::OfClient => random_token(16)?,
    };
    let lifetime = issuer.config.access_lifetime;
    let iss = issuer.config.issuer().to_owned();
    let sub = user
        .map_or(client.id.as_str(), |u| u.id.as_str())
        .to_owned();
    let aud = audience.to_owned();
    let clock = std::sync::Arc::clone(&issuer.config.clock);
    let token = super::sign_with(&ring.active, move |key| {
        TokenBuilder::with_custom(custom)
            .issuer(iss)
            .subject(sub)
            .audience(aud)
            .expires_in(lifetime)
            .clock(clock)
            .typ("at+jwt")
            .jti(jti)
            .sign(key)
    })
    .await?;
    Ok((token, secs(lifetime)))
}

/// Starts a login: stores its family with the first refresh token and the `jti` of the access
/// token issued beside it; returns the refresh token and that `jti`.
async fn first_refresh_token(
    issuer: &Issuer,
    family: &Family,
    kid: &str,
    jti: String,
) -> Result<(String, String), DomainError> {
    let now = issuer.now();
    let token = random_token(32)?;
    let expires = (now + secs(issuer.config.refresh_idle)).min(family.expires_at);
    let access = crate::store::IssuedAccess {
        jti: &jti,
        exp: now + secs(issuer.config.access_lifetime),
        kid,
    };
    issuer
        .store
        .start_family(family, &refresh_hash(&token), expires, access, now)
        .await?;
    Ok((token, jti))
}

/// The client-credentials grant for an authenticated client: an access token of its own.
pub(crate) async fn client_credentials(
    issuer: &Issuer,
    client: &Client,
    scope: Option<&str>,
    audience: Option<&str>,
) -> Result<Issued, DomainError> {
    allowed(client, "client_credentials")?;
    let scope = grant_scope(client, scope)?;
    let audience = grant_audience(client, audience)?;
    let ring = issuer.keys.current(issuer.now()).await?;
    let (access_token, expires_in) = access_token(
        issuer,
        &ring,
        client,
        None,
        &scope,
        &audience,
        Jti::OfClient,
        None,
    )
    .await?;
    Ok(Issued {
        access_token,
        expires_in,
        scope,
        refresh_token: None,
        id_token: None,
    })
}

/// Checks a user's password, rate-limited per user name and per address; the user on success.
/// Unknown users cost the same hashing as known ones.
pub(crate) async fn check_password(
    issuer: &Issuer,
    client_id: &str,
    username: &str,
    password: Zeroizing<String>,
    peer: Option<IpAddr>,
) -> Result<User, DomainError> {
    if username.len() > crate::limits::MAX_USER_NAME {
        return Err(DomainError::InvalidRequest("the user name is too long"));
    }
    if let Err(retry) = issuer.limits.attempt(username, peer).await {
        inc(&issuer.metrics.rate_limited);
        return Err(DomainError::TooManyAttempts(retry.as_secs()));
    }
    let user = issuer
        .store
        .user_by_name(username)
        .await?
        .filter(|u| !u.disabled);
    let ok = issuer
        .hashing
        .check(
            issuer.config.max_hash_wait,
            password,
            user.as_ref().map(|u| u.password_hash.clone()),
            issuer.dummy_hash.clone(),
        )
        .await?;
    match (ok, user) {
        (true, Some(user)) => Ok(user),
        _ => {
            tracing::info!(client = %client_id, "login failed");
            inc(&issuer.metrics.login_failures);
            Err(DomainError::InvalidGrant("invalid username or password"))
        }
    }
}

/// Checks a user's password (rate-limited) and starts a login: a refresh family, a refresh
/// token and an access token. Shared by the password grant and browser sessions.
pub(crate) async fn password_login(
    issuer: &Issuer,
    client: &Client,
    username: &str,
    password: Zeroizing<String>,
    scope: String,
    audience: String,
    peer: Option<IpAddr>,
) -> Result<Issued, DomainError> {
    let user = check_password(issuer, &client.id, username, password, peer).await?;
    start_login(
        issuer,
        client,
        &user,
        scope,
        audience,
        None,
        LoginIds::new()?,
    )
    .await
}

/// Starts a login of `user` at `client`: a refresh family (in SSO session `session_id`, if
/// any) with its first refresh token, and an access token, under `ids`.
#[allow(clippy::too_many_arguments)] // the parts of a login, each named
pub(crate) async fn start_login(
    issuer: &Issuer,
    client: &Client,
    user: &User,
    scope: String,
    audience: String,
    session_id: Option<&str>,
    ids: LoginIds,
) -> Result<Issued, DomainError> {
    let now = issuer.now();
    let family = Family {
        id: ids.family,
        user_id: Some(user.id.clone()),
        client_id: client.id.clone(),
        scope: scope.clone(),
        audience: audience.clone(),
        expires_at: now + secs(issuer.config.refresh_absolute),
        revoked: false,
        session_id: session_id.map(str::to_owned),
    };
    let ring = issuer.keys.current(now).await?;
    let (refresh, jti) = first_refresh_token(issuer, &family, ring.kid(), ids.jti).await?;
    let access = access_token(
        issuer,
        &ring,
        client,
        Some(user),
        &scope,
        &audience,
        Jti::OfLogin(jti),
        family.session_id.as_deref(),
    )
    .await?;
    Ok(Issued::of_login(access, scope, refresh))
}

/// Uses a refresh token:
///
/// - an unknown, expired or revoked token, or one of another client's logins: `invalid_grant`,
///   nothing changes;
/// - a scope outside what the login was granted *and* what the client may still have:
///   `invalid_scope`, nothing changes (a request that names a scope is checked against the
///   login before the token is touched);
/// - a live token: rotated; of concurrent uses exactly one wins;
/// - a token rotated less than `refresh_grace` ago, presented again by its client while its
///   successor is unused: rotated again, the unused successor discarded (a lost answer, two
///   tabs), so the family still has one live token;
/// - any other rotated token: reuse, and the whole family is revoked.
///
/// The common request (no scope named) costs one write: the store claims the token only if
/// its login is this client's and live, and the access token is signed after that commit. An
/// answer lost after the commit (or a signing failure) is what the grace rule is for.
///
/// Shared by the refresh grant and browser sessions.
pub(crate) async fn rotate(
    issuer: &Issuer,
    client: &Client,
    presented: &str,
    scope_request: Option<&str>,
) -> Result<Issued, DomainError> {
    let client = client.clone();
    let now = issuer.now();
    let hash = refresh_hash(presented);
    let invalid = || DomainError::InvalidGrant("the refresh token is invalid");
    if let Some(requested) = scope_request {
        let Some(family) = issuer.store.family_of(&hash).await? else {
            return Err(invalid());
        };
        if family.client_id != client.id || family.revoked || family.expires_at <= now {
            return Err(invalid());
        }
        granted_scope(&family, &client, Some(requested))?;
    }
    let ring = issuer.keys.current(now).await?;
    let refresh = random_token(32)?;
    let next = Successor {
        hash: refresh_hash(&refresh),
        expires_at: now + secs(issuer.config.refresh_idle),
        jti: random_token(16)?,
        access_exp: now + secs(issuer.config.access_lifetime),
        kid: ring.kid().to_owned(),
    };
    let family = match issuer
        .store
        .use_refresh(&hash, &client.id, now, &next)
        .await?
    {
        RefreshUse::Rotated(family) => family,
        RefreshUse::Invalid => return Err(invalid()),
        RefreshUse::Reused { family_id, used_at } => {
            let grace = secs(issuer.config.refresh_grace);
            let again = if grace > 0 && now - used_at <= grace {
                issuer.store.regrace(&hash, now, now - grace, &next).await?
            } else {
                None
            };
            let Some(family) = again else {
                // A rotated token came back: whoever holds the family's tokens, one copy leaked.
                tracing::warn!(client = %client.id, "refresh token reuse: family revoked");
                inc(&issuer.metrics.reuse_detections);
                issuer.end_login(&family_id, now).await?;
                return Err(invalid());
            };
            family
        }
    };
    let scope = granted_scope(&family, &client, scope_request)?;
    let user = match &family.user_id {
        Some(id) => match issuer
            .users
            .get(id, || issuer.store.user_by_id(id))
            .await?
            .filter(|u| !u.disabled)
        {
            Some(user) => Some(user),
            None => {
                // The user is gone or disabled: the login ends.
                issuer.end_login(&family.id, now).await?;
                return Err(invalid());
            }
        },
        None => None,
    };
    let access = access_token(
        issuer,
        &ring,
        &client,
        user.as_ref(),
        &scope,
        &family.audience,
        Jti::OfLogin(next.jti.clone()),
        family.session_id.as_deref(),
    )
    .await?;
    Ok(Issued::of_login(access, scope, refresh))
}

/// The scope a refresh of `family` by `client` gets: the one requested if the login was
/// granted all of it and the client may still have it, else what the login was granted less
/// what the client may no longer have.
fn granted_scope(
    family: &Family,
    client: &Client,
    requested: Option<&str>,
) -> Result<String, DomainError> {
    let granted: Vec<&str> = signet::scope::words(&family.scope)
        .filter(|s| client.scopes.iter().any(|c| c == s))
        .collect();
    match requested {
        Some(req) if signet::scope::within(req, granted.iter().copied()) => Ok(req.to_owned()),
        Some(_) => Err(DomainError::InvalidScope),
        None => Ok(granted.join(" ")),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;
    use crate::app::AppState;
    use crate::config::Config;

    /// A clock the test moves: no test here sleeps.
    #[derive(Debug)]
    struct TestClock(AtomicU64);

    impl signet::Clock for TestClock {
        fn now(&self) -> u64 {
            self.0.load(Ordering::Relaxed)
        }
    }

    impl TestClock {
        fn advance(&self, secs: u64) {
            self.0.fetch_add(secs, Ordering::Relaxed);
        }
    }

    const PASSWORD: &str = "correct horse battery";

    /// The issuer on a fresh SQLite file, with alice and a public client `web`, on
    /// a test clock; no listener.
    async fn open_issuer(dir: &std::path::Path) -> (AppState, Client, Arc<TestClock>) {
        let clock = Arc::new(TestClock(AtomicU64::new(1_800_000_000)));
        let mut config = Config::new();
        config.data_dir = dir.to_path_buf();
        config.clock = clock.clone();
        config.refresh_idle = Duration::from_secs(3600);
        let admin = crate::Admin::open(&config).await.unwrap();
        admin
            .add_user(
                "alice",
                PASSWORD.to_owned().into(),
                vec![],
                Map::new(),
                crate::store::Profile::default(),
            )
            .await
            .unwrap();
        admin
            .add_client(
                "web",
                true,
                None,
                vec![],
                vec!["a".into()],
                vec!["api".into()],
            )
            .await
            .unwrap();
        let issuer = AppState::open(config).await.unwrap();
        let client = issuer.store.client("web").await.unwrap().unwrap();
        (issuer, client, clock)
    }

    async fn login(issuer: &Issuer, client: &Client) -> String {
        password_login(
            issuer,
            client,
            "alice",
            PASSWORD.to_owned().into(),
            "a".into(),
            "api".into(),
            None,
        )
        .await
        .unwrap()
        .refresh_token
        .unwrap()
    }

    async fn refresh(issuer: &Issuer, client: &Client, token: &str) -> Result<String, DomainError> {
        Ok(rotate(issuer, client, token, None)
            .await?
            .refresh_token
            .unwrap())
    }

    #[tokio::test]
    async fn a_retry_within_the_grace_keeps_the_login_and_a_replay_after_it_ends_the_login() {
        let dir = tempfile::tempdir().unwrap();
        let (issuer, web, clock) = open_issuer(dir.path()).await;
        let r0 = login(&issuer, &web).await;
        let r1 = refresh(&issuer, &web, &r0).await.unwrap();
        // The answer was lost; 5 s later the client presents r0 again: r1 is discarded.
        clock.advance(5);
        let r2 = refresh(&issuer, &web, &r0).await.unwrap();
        assert!(matches!(
            refresh(&issuer, &web, &r1).await,
            Err(DomainError::InvalidGrant(_))
        ));
        // Past the grace (10 s), r0 once more is a replay: the whole login ends.
        clock.advance(11);
        assert!(matches!(
            refresh(&issuer, &web, &r0).await,
            Err(DomainError::InvalidGrant(_))
        ));
        assert!(matches!(
            refresh(&issuer, &web, &r2).await,
            Err(DomainError::InvalidGrant(_))
        ));
        let family = issuer.store.family_of(&refresh_hash(&r2)).await.unwrap();
        assert!(family.unwrap().revoked, "the replay revoked the family");
    }

    #[tokio::test]
    async fn a_refresh_token_unused_past_its_idle_lifetime_is_refused_without_ending_others() {
        let dir = tempfile::tempdir().unwrap();
        let (issuer, web, clock) = open_issuer(dir.path()).await;
        let old = login(&issuer, &web).await;
        clock.advance(1800);
        let fresh = login(&issuer, &web).await;
        clock.advance(1801); // `old` is idle past an hour; `fresh` is not
        assert!(matches!(
            refresh(&issuer, &web, &old).await,
            Err(DomainError::InvalidGrant(_))
        ));
        assert!(refresh(&issuer, &web, &fresh).await.is_ok());
    }

    #[tokio::test]
    async fn scopes_and_audiences_outside_the_clients_registration_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (issuer, web, _) = open_issuer(dir.path()).await;
        assert!(matches!(
            grant_scope(&web, Some("a admin")),
            Err(DomainError::InvalidScope)
        ));
        assert_eq!(grant_scope(&web, None).unwrap(), "a");
        assert!(matches!(
            grant_audience(&web, Some("billing")),
            Err(DomainError::InvalidTarget)
        ));
        assert_eq!(grant_audience(&web, None).unwrap(), "api");
        // A public client has no client-credentials grant.
        assert!(matches!(
            client_credentials(&issuer, &web, None, None).await,
            Err(DomainError::UnauthorizedClient)
        ));
        // A refresh cannot widen the scope of its login.
        let r0 = login(&issuer, &web).await;
        assert!(matches!(
            rotate(&issuer, &web, &r0, Some("a b")).await,
            Err(DomainError::InvalidScope)
        ));
        assert!(
            refresh(&issuer, &web, &r0).await.is_ok(),
            "the refused request burnt nothing"
        );
    }
}
