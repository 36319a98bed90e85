//! Signing keys: generated in the database, sealed under the master key, published in the JWKS
//! before they sign, and kept published until the last token they signed has expired.
//!
//! A key's state follows from its `active_from` time: published from creation; the active
//! signing key is the newest whose `active_from` has passed; an older key stays published
//! while tokens it signed can still be live, then is removed.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use signet::{Algorithm, Jwk, SigningKey};
use tokio::sync::RwLock;

use crate::sealing::MasterKey;
use crate::store::{KeyAddition, SharedStore, StoredKey};

/// The keys in force.
#[derive(Debug, Clone)]
pub(crate) struct KeyRing {
    /// The key that signs now.
    pub(crate) active: Arc<SigningKey>,
    /// Its `kid`.
    kid: Arc<str>,
    /// The public JWKS: next, active and retired keys.
    pub(crate) jwks: Arc<String>,
    /// The same keys, for checking this issuer's own tokens (revocation, introspection).
    pub(crate) verifier: Arc<signet::KeySet>,
}

impl KeyRing {
    /// The `kid` of the key that signs now.
    pub(crate) fn kid(&self) -> &str {
        &self.kid
    }
}

/// Where a signing key is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum KeyState {
    /// Published, not yet signing (a rotation's lead time).
    Next,
    /// Signing now.
    Active,
    /// No longer signing; published while tokens it signed may be live.
    Retired,
}

impl KeyState {
    /// `next`, `active` or `retired`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Next => "next",
            Self::Active => "active",
            Self::Retired => "retired",
        }
    }
}

impl std::fmt::Display for KeyState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What `signet key list` shows for each key.
#[derive(Debug, Clone, serde::Serialize)]
pub struct KeyInfo {
    /// The RFC 7638 thumbprint.
    pub kid: String,
    /// The algorithm.
    pub alg: String,
    /// Where it is in its life.
    pub state: KeyState,
    /// When it was made (Unix seconds).
    pub created_at: i64,
    /// When it starts (or started) signing.
    pub active_from: i64,
}

/// Loads, rotates and publishes signing keys.
#[derive(Debug)]
pub(crate) struct KeyManager {
    store: SharedStore,
    master: Arc<MasterKey>,
    alg: Algorithm,
    /// How long a token may live: a retired key is published this long after it stopped.
    token_lifetime: Duration,
    /// How long a new key is published before it signs.
    lead_time: Duration,
    ring: RwLock<Option<KeyRing>>,
}

/// The state of each key (ordered by `active_from`): the last one that has started signing is
/// active, those before it retired, those after it next.
fn states(keys: &[StoredKey], now: i64) -> Vec<KeyState> {
    let active = keys.iter().rposition(|k| k.active_from <= now);
    (0..keys.len())
        .map(|i| match active {
            Some(a) if i == a => KeyState::Active,
            Some(a) if i < a => KeyState::Retired,
            _ => KeyState::Next,
        })
        .collect()
}

impl KeyManager {
    /// Opens what every process working on `config`'s data directory needs first: the store,
    /// the master key, and the manager of the signing keys over both (keys not loaded yet).
    pub(crate) async fn open(
        config: &crate::Config,
    ) -> Result<(SharedStore, Arc<MasterKey>, Arc<Self>)> {
        let store = crate::store::open(&config.database()?, config.migrate).await?;
        let master = Arc::new(MasterKey::load(
            &config.data_dir,
            config.master_key.as_deref(),
        )?);
        let keys = Arc::new(Self {
            store: store.clone(),
            master: Arc::clone(&master),
            alg: config.signing_alg,
            token_lifetime: config.access_lifetime,
            lead_time: config.key_lead_time,
            ring: RwLock::new(None),
        });
        Ok((store, master, keys))
    }

    /// An authorization code: `code` sealed under (a key derived from) the master key, so that
    /// issuing one writes nothing, and any instance sharing the master key can read it.
    pub(crate) fn seal_code(&self, code: &crate::store::AuthCode) -> Result<String> {
        self.master.seal_code(&serde_json::to_vec(code)?)
    }

    /// What an authorization code [`KeyManager::seal_code`] made holds; `None` for anything
    /// else (altered, made under another master key, or not a code at all).
    pub(crate) fn open_code(&self, code: &str) -> Option<crate::store::AuthCode> {
        serde_json::from_slice(&self.master.open_code(code)?).ok()
    }

    /// Seals a secret the issuer keeps but never shows (a push receiver's `Authorization`
    /// header) under the master key, bound to `context`, as base64url: the database never holds
    /// it in the clear.
    pub(crate) fn seal_secret(&self, context: &str, plain: &str) -> Result<String> {
        let sealed = self.master.seal(context, plain.as_bytes())?;
        Ok(base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            sealed,
        ))
    }

    /// Opens what [`KeyManager::seal_secret`] sealed for `context`.
    pub(crate) fn open_secret(
        &self,
        context: &str,
        sealed: &str,
    ) -> Result<zeroize::Zeroizing<String>> {
        let bytes =
            base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, sealed)
                .context("a sealed secret is not base64url")?;
        let plain = self.master.open(context, &bytes)?;
        Ok(zeroize::Zeroizing::new(
            String::from_utf8(plain.to_vec()).context("a sealed secret is not text")?,
        ))
    }

    /// Makes a new key that starts signing at `active_from`.
    pub(crate) async fn create(&self, now: i64, active_from: i64) -> Result<String> {
        self.make(now, active_from, KeyAddition::Always).await
    }

    /// Makes a key that signs from `now`, unless some key already signs: of processes starting
    /// at once on a fresh database, one makes the first key and the others load it.
    async fn create_first(&self, now: i64) -> Result<()> {
        self.make(now, now, KeyAddition::First).await.map(|_| ())
    }

    async fn make(&self, now: i64, active_from: i64, when: KeyAddition) -> Result<String> {
        let alg = self.alg;
        let key = tokio::task::spawn_blocking(move || SigningKey::generate(alg)).await??;
        let kid = key
            .kid()
            .ok_or_else(|| anyhow!("generated key without kid"))?
            .to_owned();
        let private = zeroize::Zeroizing::new(key.to_jwk()?.to_json()?);
        let stored = StoredKey {
            kid: kid.clone(),
            alg: alg.name().to_owned(),
            sealed: self.master.seal(&kid, private.as_bytes())?,
            public_jwk: key.public_jwk()?.to_json()?,
            created_at: now,
            active_from,
        };
        self.store.add_key(&stored, when).await?;
        Ok(kid)
    }

    /// Starts a rotation: a new key, published now, signing once JWKS caches have seen it.
    pub(crate) async fn rotate(&self, now: i64) -> Result<String> {
        self.create(now, now + i64::try_from(self.lead_time.as_secs())?)
            .await
    }

    /// Loads the keys, making the first one if there is none, dropping retired keys whose
    /// tokens have all expired, and making a rotation once the active key is older than
    /// `rotate_after` (when given).
    pub(crate) async fn refresh(
        &self,
        now: i64,
        rotate_after: Option<Duration>,
    ) -> Result<KeyRing> {
        let mut keys = self.store.keys().await?;
        if !keys.iter().any(|k| k.active_from <= now) {
            self.create_first(now).await?;
            keys = self.store.keys().await?;
        }
        let lifetime = i64::try_from(self.token_lifetime.as_secs())?;
        let st = states(&keys, now);
        let active_index = st
            .iter()
            .position(|s| *s == KeyState::Active)
            .ok_or_else(|| anyhow!("no active key"))?;
        let active_since = keys[active_index].active_from;
        // A retired key signed nothing after its successor became active.
        for (i, k) in keys.iter().enumerate() {
            let successor_from = keys.get(i + 1).map_or(i64::MAX, |n| n.active_from);
            if st[i] == KeyState::Retired
                && successor_from.saturating_add(lifetime) < now
                && i < active_index
            {
                self.store.delete_key(&k.kid).await?;
            }
        }
        if let Some(every) = rotate_after {
            let pending = st.contains(&KeyState::Next);
            if !pending && now - active_since >= i64::try_from(every.as_secs())? {
                // Of instances that find the rotation due at once, one makes the key.
                let lead = i64::try_from(self.lead_time.as_secs())?;
                self.make(now, now + lead, KeyAddition::Rotation).await?;
            }
        }
        let keys = self.store.keys().await?;
        let st = states(&keys, now);
        let active = keys
            .iter()
            .zip(&st)
            .find(|(_, s)| **s == KeyState::Active)
            .map(|(k, _)| k)
            .ok_or_else(|| anyhow!("no active key"))?;
        let private = self.master.open(&active.kid, &active.sealed)?;
        let jwk = Jwk::from_json(&private).context("stored key")?;
        let signing = SigningKey::from_jwk(&jwk).context("stored key")?;
        if signing.kid() != Some(active.kid.as_str()) {
            bail!("the stored key {} carries another kid", active.kid);
        }
        let public = keys
            .iter()
            .map(|k| serde_json::from_str(&k.public_jwk))
            .collect::<Result<Vec<serde_json::Value>, _>>()
            .context("a stored public key is not JSON")?;
        let jwks = serde_json::json!({ "keys": public }).to_string();
        let verifier = signet::KeySet::from_jwks_json(jwks.as_bytes())?;
        let ring = KeyRing {
            active: Arc::new(signing),
            kid: Arc::from(active.kid.as_str()),
            jwks: Arc::new(jwks),
            verifier: Arc::new(verifier),
        };
        *self.ring.write().await = Some(ring.clone());
        Ok(ring)
    }

    /// The keys in force, loading them on first use.
    pub(crate) async fn current(&self, now: i64) -> Result<KeyRing> {
        if let Some(ring) = self.ring.read().await.as_ref() {
            return Ok(ring.clone());
        }
        self.refresh(now, None).await
    }

    /// Withdraws a key at once (see [`crate::store::KeyStore::revoke_key`]). The key that signs now is withdrawn
    /// only with `force`, and then a new key signs at once. Returns how many logins ended.
    pub(crate) async fn revoke(
        &self,
        kid: &str,
        now: i64,
        force: bool,
        retention: Duration,
    ) -> Result<u64> {
        let keys = self.store.keys().await?;
        let st = states(&keys, now);
        let Some(index) = keys.iter().position(|k| k.kid == kid) else {
            anyhow::bail!("no signing key {kid}");
        };
        if st[index] == KeyState::Active && !force {
            anyhow::bail!(
                "{kid} is the key signing now; add --force to withdraw it (a new key then signs at once)"
            );
        }
        let lifetime = i64::try_from((self.token_lifetime + retention).as_secs())?;
        let ended = self
            .store
            .revoke_key(kid, now, now.saturating_add(lifetime))
            .await?
            .ok_or_else(|| anyhow!("no signing key {kid}"))?;
        let left = self.store.keys().await?;
        if !left.iter().any(|k| k.active_from <= now) {
            self.create(now, now).await?;
        }
        self.refresh(now, None).await?;
        Ok(ended)
    }

    /// Makes a new key that signs at once (an emergency rotation).
    pub(crate) async fn rotate_now(&self, now: i64) -> Result<String> {
        let kid = self.create(now, now).await?;
        self.refresh(now, None).await?;
        Ok(kid)
    }

    /// The keys with their states.
    pub(crate) async fn list(&self, now: i64) -> Result<Vec<KeyInfo>> {
        let keys = self.store.keys().await?;
        let st = states(&keys, now);
        Ok(keys
            .iter()
            .zip(st)
            .map(|(k, state)| KeyInfo {
                kid: k.kid.clone(),
                alg: k.alg.clone(),
                state,
                created_at: k.created_at,
                active_from: k.active_from,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    async fn manager(dir: &std::path::Path) -> Arc<KeyManager> {
        let mut config = crate::Config::new();
        config.data_dir = dir.to_path_buf();
        KeyManager::open(&config).await.unwrap().2
    }

    /// A stored key row as an attacker with write access to the database, or a corruption,
    /// could leave it.
    fn row(kid: &str, sealed: Vec<u8>, public_jwk: String, active_from: i64) -> StoredKey {
        StoredKey {
            kid: kid.into(),
            alg: "ES256".into(),
            sealed,
            public_jwk,
            created_at: 1_000,
            active_from,
        }
    }

    #[tokio::test]
    async fn a_stored_key_swapped_under_another_kid_is_refused_not_signed_with() {
        let dir = tempfile::tempdir().unwrap();
        let keys = manager(dir.path()).await;
        let other = SigningKey::generate(Algorithm::ES256).unwrap();
        // Sealed for kid "swapped", but the JWK inside names its own thumbprint.
        let sealed = keys
            .master
            .seal(
                "swapped",
                other.to_jwk().unwrap().to_json().unwrap().as_bytes(),
            )
            .unwrap();
        let public = other.public_jwk().unwrap().to_json().unwrap();
        keys.store
            .add_key(&row("swapped", sealed, public, 1_000), KeyAddition::Always)
            .await
            .unwrap();
        let err = keys.refresh(2_000, None).await.unwrap_err();
        assert!(
            format!("{err:#}").contains("carries another kid"),
            "{err:#}"
        );
    }

    #[tokio::test]
    async fn a_stored_public_key_that_is_not_json_fails_the_jwks_instead_of_vanishing() {
        let dir = tempfile::tempdir().unwrap();
        let keys = manager(dir.path()).await;
        keys.create(1_000, 1_000).await.unwrap();
        keys.store
            .add_key(
                // The next key, published ahead of signing.
                &row("broken", vec![0; 40], "{not json".into(), 5_000),
                KeyAddition::Always,
            )
            .await
            .unwrap();
        let err = keys.refresh(2_000, None).await.unwrap_err();
        assert!(
            format!("{err:#}").contains("stored public key is not JSON"),
            "{err:#}"
        );
    }
}
