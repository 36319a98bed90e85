//! The master key: it seals private signing keys (AES-256-GCM) and keys the client-secret
//! hashes. It lives in a file of the data directory (mode 0600) or in `SIGNET_MASTER_KEY`, never
//! in the database.

use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use aws_lc_rs::aead::{
    AES_256_GCM, AES_256_GCM_SIV, Aad, Algorithm, LessSafeKey, NONCE_LEN, Nonce, UnboundKey,
};
use aws_lc_rs::{hmac, rand};
use base64::Engine;
use zeroize::Zeroizing;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The master key and what is derived from it.
pub(crate) struct MasterKey {
    aead: LessSafeKey,
    /// Seals authorization codes: a key of its own, and AES-256-GCM-SIV, whose random nonces
    /// stay safe for far more messages than GCM's (an issuer hands out codes by the billion).
    code_key: LessSafeKey,
    client_pepper: hmac::Key,
}

/// What sealed authorization codes are bound to.
const CODE_CONTEXT: &str = "signet authorization code v1";

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey([redacted])")
    }
}

impl MasterKey {
    /// From `value` (base64url of 32 bytes), or from `dir/master.key`, created on first use.
    pub(crate) fn load(dir: &Path, value: Option<&str>) -> Result<Self> {
        let encoded = match value {
            Some(v) => Zeroizing::new(v.trim().to_owned()),
            None => Zeroizing::new(read_or_create(&dir.join("master.key"))?),
        };
        let bytes = Zeroizing::new(
            B64.decode(encoded.as_bytes())
                .map_err(|_| anyhow!("the master key is not base64url"))?,
        );
        if bytes.len() != 32 {
            bail!("the master key must be 32 bytes");
        }
        let aead = aead_key(&AES_256_GCM, &bytes)?;
        let derive = hmac::Key::new(hmac::HMAC_SHA256, &bytes);
        let derived = |label: &[u8]| Zeroizing::new(hmac::sign(&derive, label).as_ref().to_vec());
        Ok(Self {
            aead,
            code_key: aead_key(
                &AES_256_GCM_SIV,
                &derived(b"signet authorization code key v1"),
            )?,
            client_pepper: hmac::Key::new(
                hmac::HMAC_SHA256,
                &derived(b"signet client-secret pepper v1"),
            ),
        })
    }

    /// Encrypts `plain`, binding it to `context` (the key id).
    pub(crate) fn seal(&self, context: &str, plain: &[u8]) -> Result<Vec<u8>> {
        seal_with(&self.aead, context, plain)
    }

    /// Decrypts what [`MasterKey::seal`] made for the same `context`.
    pub(crate) fn open(&self, context: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        open_with(&self.aead, context, sealed)
            .ok_or_else(|| anyhow!("cannot open sealed key {context}: wrong master key?"))
    }

    /// Encrypts an authorization code's content, as base64url: the code itself.
    pub(crate) fn seal_code(&self, plain: &[u8]) -> Result<String> {
        Ok(B64.encode(seal_with(&self.code_key, CODE_CONTEXT, plain)?))
    }

    /// The content of a code [`MasterKey::seal_code`] made, or `None` for anything else.
    pub(crate) fn open_code(&self, code: &str) -> Option<Zeroizing<Vec<u8>>> {
        let sealed = Zeroizing::new(B64.decode(code).ok()?);
        open_with(&self.code_key, CODE_CONTEXT, &sealed)
    }

    /// The keyed hash a client secret is stored as.
    pub(crate) fn client_secret_hash(&self, secret: &str) -> Vec<u8> {
        hmac::sign(&self.client_pepper, secret.as_bytes())
            .as_ref()
            .to_vec()
    }

    /// Checks a client secret against its stored hash, in constant time.
    pub(crate) fn client_secret_matches(&self, secret: &str, hash: &[u8]) -> bool {
        hmac::verify(&self.client_pepper, secret.as_bytes(), hash).is_ok()
    }
}

/// An AEAD key of `alg` from `bytes`.
fn aead_key(alg: &'static Algorithm, bytes: &[u8]) -> Result<LessSafeKey> {
    Ok(LessSafeKey::new(
        UnboundKey::new(alg, bytes).map_err(|_| anyhow!("bad master key"))?,
    ))
}

/// `plain` encrypted under `key` with a random nonce and bound to `context`: the nonce, then
/// the ciphertext and its tag.
fn seal_with(key: &LessSafeKey, context: &str, plain: &[u8]) -> Result<Vec<u8>> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::fill(&mut nonce).map_err(|_| anyhow!("no randomness"))?;
    let mut data = plain.to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(context.as_bytes()),
        &mut data,
    )
    .map_err(|_| anyhow!("sealing failed"))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&data);
    Ok(out)
}

/// What [`seal_with`] made under `key` for `context`, or `None` if it was not that.
fn open_with(key: &LessSafeKey, context: &str, sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    if sealed.len() < NONCE_LEN {
        return None;
    }
    let (nonce, data) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let mut data = Zeroizing::new(data.to_vec());
    let plain = key
        .open_in_place(nonce, Aad::from(context.as_bytes()), &mut data)
        .ok()?;
    Some(Zeroizing::new(plain.to_vec()))
}

fn read_or_create(path: &Path) -> Result<String> {
    if let Some(dir) = path.parent() {
        crate::datadir::private_dir(dir, !path.exists())?;
    }
    if path.exists() {
        crate::datadir::refuse_if_shared(path, "the master key file", "600")?;
        return std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()));
    }
    let mut key = Zeroizing::new([0u8; 32]);
    rand::fill(key.as_mut()).map_err(|_| anyhow!("no randomness"))?;
    let encoded = B64.encode(key.as_ref());
    // Written whole to a file of its own, then linked into place: a process starting at the
    // same moment either finds no key or the whole key, and one key wins.
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&tmp)
        .with_context(|| format!("cannot create {}", tmp.display()))?;
    std::io::Write::write_all(&mut file, encoded.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(encoded),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
        }
        Err(e) => Err(e).with_context(|| format!("cannot create {}", path.display())),
    }
}

/// A random token of `bytes` bytes, base64url.
/// Whether two secret values are equal, compared in constant time (their lengths are not
/// secret).
pub(crate) fn secret_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}

pub(crate) fn random_token(bytes: usize) -> Result<String> {
    let mut buf = Zeroizing::new(vec![0u8; bytes]);
    rand::fill(&mut buf).map_err(|_| anyhow!("no randomness"))?;
    Ok(B64.encode(&*buf))
}
