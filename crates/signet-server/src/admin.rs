//! Administration: users, clients and keys, for the `signet` binary on a data directory and
//! for the issuer's `/admin` API alike. The actions that revoke whatever a user, a client or
//! a key covers (a subject or client cutoff, a key entry in the revocation feed) fail with a
//! typed [`AdminError`], which the HTTP API answers with a 4xx status.

use std::sync::Arc;

use anyhow::{Result, bail};

use crate::config::Config;
use crate::domain::keys::{KeyInfo, KeyManager};
use crate::passwords;
use crate::sealing::{MasterKey, random_token};
use crate::store::{Client, OidcRegistration, Profile, SharedStore, User, UserChange};

/// Grant types a client can be given.
pub const GRANTS: [&str; 4] = [
    "authorization_code",
    "client_credentials",
    "password",
    "refresh_token",
];

/// A client to register: what `signet client add` takes.
#[derive(Debug, Default)]
pub struct ClientSpec {
    /// The client id.
    pub id: String,
    /// No secret (a browser or native app).
    pub public: bool,
    /// The secret of a confidential client; generated when `None`.
    pub secret: Option<zeroize::Zeroizing<String>>,
    /// Grant types; empty for the default of its kind.
    pub grants: Vec<String>,
    /// Scopes it may have.
    pub scopes: Vec<String>,
    /// Audiences it may ask for; the first is the default.
    pub audiences: Vec<String>,
    /// A resource server that may introspect tokens meant for its audiences.
    pub introspect: bool,
    /// What it registers for logins through the authorization endpoint.
    pub oidc: crate::store::OidcRegistration,
    /// Roles; `admin` may call the administration API.
    pub roles: Vec<String>,
}

/// Why an administrative action was refused or failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// No such user, client or key.
    #[error("no {what} {id}")]
    NotFound {
        /// `user`, `client`, `signing key` or `session`.
        what: &'static str,
        /// The name or id asked for.
        id: String,
    },
    /// The action is not allowed as asked (a weak password, the signing key without force).
    #[error("{0}")]
    Refused(String),
    /// The store or the key handling failed.
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

impl From<crate::store::StoreError> for AdminError {
    fn from(e: crate::store::StoreError) -> Self {
        Self::Failed(e.into())
    }
}

/// Refuses a password that is too short.
fn check_password(password: &str) -> Result<(), AdminError> {
    if password.chars().count() < 8 {
        return Err(AdminError::Refused(
            "a password must have at least 8 characters".into(),
        ));
    }
    Ok(())
}

/// Waits until the wall clock has passed the whole second `cutoff`. A cutoff covers tokens
/// whose `iat` is at or before it, so a token issued once this returns is never covered by
/// it (a user who logs in again after "log out everywhere" is not logged out with the rest).
async fn past_second(clock: &dyn signet::Clock, cutoff: i64) {
    let now_ms = clock.now_ms();
    let end_ms = u64::try_from(cutoff.saturating_add(1))
        .unwrap_or(0)
        .saturating_mul(1000);
    let wait = end_ms.saturating_sub(now_ms).min(1_000);
    tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
}

/// A handle on a data directory, for administration.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> anyhow::Result<()> {
/// use signet_server::{Admin, ClientSpec, Config};
/// let dir = std::env::temp_dir().join(format!("signet-doc-admin-{}", std::process::id()));
/// let mut config = Config::default();
/// config.data_dir = dir.clone();
/// let admin = Admin::open(&config).await?; // makes the data directory and its database
/// let mut spec = ClientSpec::default();
/// spec.id = "web".into();
/// spec.public = true;
/// spec.audiences = vec!["orders-api".into()];
/// let made = admin.register_client(spec).await?;
/// assert!(made.secret.is_none()); // a public client has none
/// assert_eq!(admin.clients().await?.len(), 1);
/// # drop(admin);
/// # std::fs::remove_dir_all(dir)?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Admin {
    store: SharedStore,
    master: Arc<MasterKey>,
    keys: Arc<KeyManager>,
    retention: std::time::Duration,
    access_lifetime: std::time::Duration,
    /// Whether `access_lifetime` is the serving issuer's own (the `/admin` API), not a guess.
    lifetime_known: bool,
    clock: Arc<dyn signet::Clock>,
}

/// A new client and, for a confidential client whose secret was generated, that secret.
#[derive(Debug)]
pub struct NewClient {
    /// The client.
    pub client: Client,
    /// The generated secret, shown once.
    pub secret: Option<zeroize::Zeroizing<String>>,
}

impl Admin {
    /// Runs the database migrations of `config` (under a lock, so that several processes may
    /// start at once) and returns.
    pub async fn migrate(config: &Config) -> Result<()> {
        let mut config = config.clone();
        config.migrate = true;
        crate::store::open(&config.database()?, true).await?;
        Ok(())
    }

    /// Opens the data directory named in `config`.
    pub async fn open(config: &Config) -> Result<Self> {
        let (store, master, keys) = KeyManager::open(config).await?;
        Ok(Self {
            store,
            master,
            keys,
            retention: config.revocation_retention,
            access_lifetime: config.access_lifetime,
            lifetime_known: false,
            clock: Arc::clone(&config.clock),
        })
    }

    /// Administration through a running issuer's parts (its `/admin` API). Its cutoffs last
    /// as long as its own access tokens.
    pub(crate) fn of_issuer(issuer: &crate::domain::Issuer, master: Arc<MasterKey>) -> Self {
        Self {
            store: issuer.store.clone(),
            master,
            keys: Arc::clone(&issuer.keys),
            retention: issuer.config.revocation_retention,
            access_lifetime: issuer.config.access_lifetime,
            lifetime_known: true,
            clock: Arc::clone(&issuer.config.clock),
        }
    }

    /// The time now on the configured clock, in Unix seconds.
    fn now(&self) -> i64 {
        i64::try_from(self.clock.now()).unwrap_or(i64::MAX)
    }

    /// Until when a cutoff made now matters: the longest an access token issued before it can
    /// live. A process that is not the issuer (the CLI) may not know the issuer's lifetime, so
    /// it assumes at least the longest one allowed without the long-lived setting.
    fn cutoff_until(&self, now: i64) -> i64 {
        let lifetime = if self.lifetime_known {
            self.access_lifetime
        } else {
            self.access_lifetime.max(crate::config::MAX_ACCESS_LIFETIME)
        };
        now.saturating_add(i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX))
    }

    /// Changes a user, ends all of their logins and publishes a subject cutoff; returns once
    /// the cutoff's second has passed.
    async fn cut_off_user(&self, name: &str, change: UserChange) -> Result<String, AdminError> {
        let now = self.now();
        let id = self
            .store
            .cut_off_user(name, &change, now, self.cutoff_until(now))
            .await?
            .ok_or_else(|| AdminError::NotFound {
                what: "user",
                id: name.to_owned(),
            })?;
        let password = matches!(change, UserChange::Password(_));
        if let Err(e) = crate::domain::ssf::user_revoked(&self.store, &id, password, now).await {
            tracing::error!(error = %e, "the CAEP events could not be queued for SSF streams");
        }
        past_second(self.clock.as_ref(), now).await;
        Ok(id)
    }

    /// Ends every login of a user and revokes every token of theirs issued so far ("log out
    /// everywhere"); returns the user's id.
    pub async fn log_out_user(&self, name: &str) -> Result<String, AdminError> {
        self.cut_off_user(name, UserChange::LogOut).await
    }

    /// Gives a user a new password, ends every login of theirs and revokes every token of
    /// theirs issued so far; returns the user's id.
    pub async fn set_password(
        &self,
        name: &str,
        password: zeroize::Zeroizing<String>,
    ) -> Result<String, AdminError> {
        check_password(&password)?;
        let hash = tokio::task::spawn_blocking(move || passwords::hash(&password))
            .await
            .map_err(anyhow::Error::from)??;
        self.cut_off_user(name, UserChange::Password(hash)).await
    }

    /// Gives a confidential client a new secret (returned, shown once), ends its logins and
    /// revokes every token issued to it so far.
    pub async fn rotate_client_secret(
        &self,
        id: &str,
    ) -> Result<zeroize::Zeroizing<String>, AdminError> {
        let client = self
            .store
            .client(id)
            .await?
            .ok_or_else(|| AdminError::NotFound {
                what: "client",
                id: id.to_owned(),
            })?;
        if client.secret_hash.is_none() {
            return Err(AdminError::Refused(format!(
                "{id} is a public client: it has no secret"
            )));
        }
        let secret = zeroize::Zeroizing::new(random_token(32)?);
        let hash = self.master.client_secret_hash(&secret);
        self.cut_off_client(id, crate::store::ClientChange::Secret(hash))
            .await?;
        Ok(secret)
    }

    /// Adds a user.
    pub async fn add_user(
        &self,
        name: &str,
        password: zeroize::Zeroizing<String>,
        roles: Vec<String>,
        claims: serde_json::Map<String, serde_json::Value>,
        profile: Profile,
    ) -> Result<User> {
        if name.is_empty() || name.len() > 256 || name.chars().any(char::is_control) {
            bail!("a user name must be 1 to 256 printable characters");
        }
        check_password(&password)?;
        let password_hash =
            tokio::task::spawn_blocking(move || passwords::hash(&password)).await??;
        let user = User {
            id: random_token(16)?,
            name: name.to_owned(),
            password_hash,
            roles,
            claims,
            disabled: false,
            profile,
        };
        self.store.add_user(&user, self.now()).await?;
        Ok(user)
    }

    /// Replaces a user's profile claims.
    pub async fn set_profile(&self, name: &str, profile: Profile) -> Result<()> {
        if !self.store.set_profile(name, &profile).await? {
            bail!("no user {name}");
        }
        Ok(())
    }

    /// All users.
    pub async fn users(&self) -> Result<Vec<User>> {
        Ok(self.store.users().await?)
    }

    /// Disables a user, ends all of their logins and revokes every token of theirs issued so
    /// far (a subject cutoff); returns the user's id.
    pub async fn disable_user(&self, name: &str) -> Result<String, AdminError> {
        self.cut_off_user(name, UserChange::Disable).await
    }

    /// Deletes a user, ends all of their logins and revokes every token of theirs issued so
    /// far; returns the user's id.
    pub async fn delete_user(&self, name: &str) -> Result<String, AdminError> {
        self.cut_off_user(name, UserChange::Delete).await
    }

    /// Adds a client: public, or confidential with the given secret or a generated one.
    pub async fn add_client(
        &self,
        id: &str,
        public: bool,
        secret: Option<zeroize::Zeroizing<String>>,
        grants: Vec<String>,
        scopes: Vec<String>,
        audiences: Vec<String>,
    ) -> Result<NewClient> {
        self.register_client(ClientSpec {
            id: id.to_owned(),
            public,
            secret,
            grants,
            scopes,
            audiences,
            ..ClientSpec::default()
        })
        .await
    }

    /// Registers a client as `spec` says.
    pub async fn register_client(&self, spec: ClientSpec) -> Result<NewClient> {
        let ClientSpec {
            id,
            public,
            secret,
            grants,
            scopes,
            audiences,
            introspect,
            oidc,
            roles,
        } = spec;
        let id = id.as_str();
        if introspect && public {
            bail!("a public client cannot introspect tokens");
        }
        if id.is_empty() || id.len() > 256 || id.chars().any(|c| c.is_control() || c == ':') {
            bail!("a client id must be 1 to 256 printable characters without ':'");
        }
        if let Some(g) = grants.iter().find(|g| !GRANTS.contains(&g.as_str())) {
            bail!(
                "unknown grant type {g:?} (use authorization_code, client_credentials, password or refresh_token)"
            );
        }
        check_registration(&grants, &oidc)?;
        if public && roles.iter().any(|r| r == "admin") {
            bail!("a public client cannot have the admin role (it cannot authenticate)");
        }
        if let Some(r) = roles.iter().find(|r| {
            r.is_empty() || r.len() > 64 || r.chars().any(|c| c.is_control() || c.is_whitespace())
        }) {
            bail!("a role must be 1 to 64 printable characters without spaces, not {r:?}");
        }
        if public && grants.iter().any(|g| g == "client_credentials") {
            bail!("a public client cannot use client_credentials");
        }
        let grants = if grants.is_empty() {
            let default: &[&str] = if public {
                &["password", "refresh_token"]
            } else {
                &["client_credentials"]
            };
            default.iter().map(|s| (*s).to_owned()).collect()
        } else {
            grants
        };
        let (secret_hash, shown) = if public {
            (None, None)
        } else {
            let (secret, generated) = match secret {
                Some(s) if s.len() >= 32 => (s, false),
                Some(_) => bail!(
                    "a client secret must have at least 32 characters; leave it out to generate one"
                ),
                None => (zeroize::Zeroizing::new(random_token(32)?), true),
            };
            (
                Some(self.master.client_secret_hash(&secret)),
                generated.then_some(secret),
            )
        };
        let client = Client {
            id: id.to_owned(),
            secret_hash,
            grants,
            scopes,
            audiences,
            introspect,
            oidc,
            roles,
        };
        self.store.add_client(&client, self.now()).await?;
        Ok(NewClient {
            client,
            secret: shown,
        })
    }

    /// All clients.
    pub async fn clients(&self) -> Result<Vec<Client>> {
        Ok(self.store.clients().await?)
    }

    /// Replaces the scopes a client may have. Its logins keep going, but a refresh grants only
    /// the scopes it still has.
    pub async fn set_client_scopes(&self, id: &str, scopes: Vec<String>) -> Result<()> {
        if !self.store.set_client_scopes(id, &scopes).await? {
            bail!("no client {id}");
        }
        Ok(())
    }

    /// Deletes a client, ends its logins, and denies every token issued to it so far (a client
    /// cutoff in the revocation feed, kept while such a token can be live).
    pub async fn delete_client(&self, id: &str) -> Result<(), AdminError> {
        self.cut_off_client(id, crate::store::ClientChange::Delete)
            .await
    }

    /// Changes a client, ends its logins and publishes a client cutoff; returns once the
    /// cutoff's second has passed.
    async fn cut_off_client(
        &self,
        id: &str,
        change: crate::store::ClientChange,
    ) -> Result<(), AdminError> {
        let now = self.now();
        if !self
            .store
            .cut_off_client(id, &change, now, self.cutoff_until(now))
            .await?
        {
            return Err(AdminError::NotFound {
                what: "client",
                id: id.to_owned(),
            });
        }
        past_second(self.clock.as_ref(), now).await;
        Ok(())
    }

    /// The signing keys and their states (making the first key if there is none).
    pub async fn keys(&self) -> Result<Vec<KeyInfo>> {
        let now = self.now();
        self.keys.refresh(now, None).await?;
        self.keys.list(now).await
    }

    /// Withdraws a signing key at once (a compromised key): it leaves the JWKS, every login
    /// whose access tokens it signed is revoked, the tokens the issuer recorded are denied,
    /// and running issuers tell their verifiers to fetch the keys again. The key signing now
    /// needs `force`, and a new key then signs at once. Returns how many logins ended.
    pub async fn revoke_key(&self, kid: &str, force: bool) -> Result<u64, AdminError> {
        let now = self.now();
        self.keys.refresh(now, None).await?;
        let keys = self.keys.list(now).await?;
        let Some(key) = keys.iter().find(|k| k.kid == kid) else {
            return Err(AdminError::NotFound {
                what: "signing key",
                id: kid.to_owned(),
            });
        };
        if key.state == crate::domain::keys::KeyState::Active && !force {
            return Err(AdminError::Refused(format!(
                "{kid} is the key signing now; add --force to withdraw it (a new key then signs at once)"
            )));
        }
        Ok(self.keys.revoke(kid, now, force, self.retention).await?)
    }

    /// Makes a new key that signs at once (an emergency rotation); returns its id.
    pub async fn rotate_key_now(&self) -> Result<String, AdminError> {
        let now = self.now();
        self.keys.refresh(now, None).await?;
        Ok(self.keys.rotate_now(now).await?)
    }

    /// Starts a rotation; returns the new key's id. It is published now and signs after the
    /// key lead time (`key_lead_time`), once verifiers' JWKS caches have had time to see it.
    pub async fn rotate_key(&self) -> Result<String, AdminError> {
        let now = self.now();
        self.keys.refresh(now, None).await?;
        Ok(self.keys.rotate(now).await?)
    }
}

/// Refuses a registration a browser login could be led astray by: the authorization-code
/// grant needs redirect URIs; every URI is absolute, without a fragment, and `https` unless it
/// is a loopback `http` one (RFC 8252).
fn check_registration(grants: &[String], oidc: &OidcRegistration) -> Result<()> {
    let code = grants.iter().any(|g| g == "authorization_code");
    if code && oidc.redirect_uris.is_empty() {
        bail!("the authorization_code grant needs at least one --redirect-uri");
    }
    if !code && !oidc.redirect_uris.is_empty() {
        bail!(
            "redirect URIs are for the authorization_code grant (add --grant authorization_code)"
        );
    }
    let uris = oidc
        .redirect_uris
        .iter()
        .chain(&oidc.post_logout_redirect_uris)
        .chain(&oidc.backchannel_logout_uri);
    for uri in uris {
        check_endpoint(uri).map_err(anyhow::Error::msg)?;
    }
    Ok(())
}

/// Refuses a URL the issuer would send a browser or a request to unless it is absolute,
/// without a fragment, and `https` (plain `http` only on a loopback address, RFC 8252).
pub(crate) fn check_endpoint(uri: &str) -> std::result::Result<(), String> {
    let parsed = url::Url::parse(uri).map_err(|e| format!("{uri:?} is not a URL: {e}"))?;
    if parsed.fragment().is_some() {
        return Err(format!("{uri:?} has a fragment, which it cannot have"));
    }
    let loopback = parsed.scheme() == "http" && crate::config::is_loopback_host(&parsed);
    if parsed.scheme() != "https" && !loopback {
        return Err(format!(
            "{uri:?} must be https (plain http only on a loopback address)"
        ));
    }
    Ok(())
}
