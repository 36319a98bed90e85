//! The administration the `signet` binary does on a data directory: users, clients, keys.

use std::sync::Arc;

use anyhow::{Result, bail};

use crate::config::Config;
use crate::domain::keys::{KeyInfo, KeyManager};
use crate::passwords;
use crate::sealing::{MasterKey, random_token};
use crate::store::{Client, OidcRegistration, Profile, SharedStore, User};

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
}

/// A handle on a data directory, for administration.
#[derive(Debug)]
pub struct Admin {
    store: SharedStore,
    master: Arc<MasterKey>,
    keys: KeyManager,
    retention: std::time::Duration,
    access_lifetime: std::time::Duration,
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
        let store = crate::store::open(&config.database()?, config.migrate).await?;
        let master = Arc::new(MasterKey::load(
            &config.data_dir,
            config.master_key.as_deref(),
        )?);
        let keys = KeyManager::new(
            store.clone(),
            Arc::clone(&master),
            config.signing_alg,
            config.access_lifetime,
            config.jwks_max_age,
        );
        Ok(Self {
            store,
            master,
            keys,
            retention: config.revocation_retention,
            access_lifetime: config.access_lifetime,
            clock: Arc::clone(&config.clock),
        })
    }

    /// The time now on the configured clock, in Unix seconds.
    fn now(&self) -> i64 {
        i64::try_from(self.clock.now()).unwrap_or(i64::MAX)
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
        if password.chars().count() < 8 {
            bail!("a password must have at least 8 characters");
        }
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

    /// Disables a user and ends all of their logins.
    pub async fn disable_user(&self, name: &str) -> Result<()> {
        if !self.store.remove_user(name, false, self.now()).await? {
            bail!("no user {name}");
        }
        Ok(())
    }

    /// Deletes a user and ends all of their logins.
    pub async fn delete_user(&self, name: &str) -> Result<()> {
        if !self.store.remove_user(name, true, self.now()).await? {
            bail!("no user {name}");
        }
        Ok(())
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
    pub async fn delete_client(&self, id: &str) -> Result<()> {
        let now = self.now();
        // This process may not know the issuer's access-token lifetime: keep the cutoff at
        // least as long as the longest lifetime allowed without the long-lived setting.
        let lifetime = self.access_lifetime.max(crate::config::MAX_ACCESS_LIFETIME);
        let live = i64::try_from((lifetime + self.retention).as_secs())?;
        if !self
            .store
            .delete_client(id, now, now.saturating_add(live))
            .await?
        {
            bail!("no client {id}");
        }
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
    pub async fn revoke_key(&self, kid: &str, force: bool) -> Result<u64> {
        let now = self.now();
        self.keys.refresh(now, None).await?;
        self.keys.revoke(kid, now, force, self.retention).await
    }

    /// Makes a new key that signs at once (an emergency rotation); returns its id.
    pub async fn rotate_key_now(&self) -> Result<String> {
        let now = self.now();
        self.keys.refresh(now, None).await?;
        self.keys.rotate_now(now).await
    }

    /// Starts a rotation; returns the new key's id. It is published now and signs once JWKS
    /// caches have had time to see it.
    pub async fn rotate_key(&self) -> Result<String> {
        let now = self.now();
        self.keys.refresh(now, None).await?;
        self.keys.rotate(now).await
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
        let parsed =
            url::Url::parse(uri).map_err(|e| anyhow::anyhow!("{uri:?} is not a URL: {e}"))?;
        if parsed.fragment().is_some() {
            bail!("{uri:?} has a fragment, which a redirect URI cannot have");
        }
        let loopback = parsed.scheme() == "http" && crate::config::is_loopback_host(&parsed);
        if parsed.scheme() != "https" && !loopback {
            bail!("{uri:?} must be https (plain http only on a loopback address)");
        }
    }
    Ok(())
}
