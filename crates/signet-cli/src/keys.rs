//! Key files (JWK, JWKS, PEM) and the `signet key` commands.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use signet::{Algorithm, Jwk, JwkSet, KeyFamily, KeySet, KeySource, SigningKey, VerifyingKey};

use signet_server::Admin;

use crate::admin::{admin_config, admin_on};
use crate::cli::{DataDir, KeyCommand, KeyFormat};
use crate::input::{parse_duration, read_text};
use crate::runtime;

/// What a key file holds.
pub(crate) enum KeyFile {
    Jwk(Box<Jwk>),
    Jwks(JwkSet),
    Pem(String),
}

/// The algorithms a PEM key is tried as, when `--alg` is not given: the curve of an EC or
/// Ed25519 key names its algorithm; an RSA key's does not.
const PEM_CANDIDATES: [Algorithm; 5] = [
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::ES512,
    Algorithm::ES256K,
    Algorithm::EdDSA,
];

pub(crate) fn read_key_file(name: &str) -> Result<KeyFile> {
    let text = read_text(name, "key")?;
    let trimmed = text.trim_start();
    let shown = if name == "-" { "standard input" } else { name };
    if trimmed.starts_with('{') {
        let value: serde_json::Value =
            serde_json::from_str(trimmed).with_context(|| format!("{shown}: not valid JSON"))?;
        if value.get("keys").is_some() {
            let set = serde_json::from_value(value)
                .with_context(|| format!("{shown}: not a valid JWKS"))?;
            return Ok(KeyFile::Jwks(set));
        }
        let jwk =
            serde_json::from_value(value).with_context(|| format!("{shown}: not a valid JWK"))?;
        return Ok(KeyFile::Jwk(Box::new(jwk)));
    }
    if trimmed.starts_with("-----BEGIN") {
        return Ok(KeyFile::Pem(text));
    }
    bail!("{shown}: not a JWK, JWKS or PEM key file")
}

fn shown(name: &str) -> &str {
    if name == "-" { "standard input" } else { name }
}

/// Tries `load` with `alg`, or with each algorithm a PEM key can be without saying.
fn with_pem_alg<T>(
    name: &str,
    alg: Option<Algorithm>,
    load: impl Fn(Algorithm) -> std::result::Result<T, signet::KeyError>,
) -> Result<T> {
    if let Some(alg) = alg {
        return load(alg).map_err(|e| anyhow!("{}: {e}", shown(name)));
    }
    if let Some(found) = PEM_CANDIDATES.iter().find_map(|a| load(*a).ok()) {
        return Ok(found);
    }
    if load(Algorithm::RS256).is_ok() {
        bail!(
            "{}: an RSA key can be used with several algorithms; say which with --alg (RS256, PS256, ...)",
            shown(name)
        );
    }
    bail!("{}: not a supported private or public key", shown(name))
}

/// A private key from a JWK or PEM file.
pub(crate) fn signing_key(name: &str, alg: Option<Algorithm>) -> Result<SigningKey> {
    match read_key_file(name)? {
        KeyFile::Jwk(jwk) => match alg {
            Some(alg) => SigningKey::from_jwk_with_alg(&jwk, alg),
            None => SigningKey::from_jwk(&jwk),
        }
        .map_err(|e| anyhow!("{}: {e}", shown(name))),
        KeyFile::Pem(pem) => with_pem_alg(name, alg, |a| SigningKey::from_pem(&pem, a)),
        KeyFile::Jwks(_) => bail!(
            "{}: a JWKS holds several keys; give a single private key",
            shown(name)
        ),
    }
}

/// The keys a token is checked against: one key the user named, or a set chosen by `kid`.
pub(crate) enum Keys {
    One(Box<VerifyingKey>),
    Set(KeySet),
}

/// Verification goes through the one path of [`KeySource`]: a single key, or a set choosing
/// by `kid`.
impl KeySource for Keys {
    fn key_for(
        &self,
        header: &signet::Header,
    ) -> std::result::Result<&VerifyingKey, signet::Error> {
        match self {
            Self::One(key) => key.key_for(header),
            Self::Set(set) => set.key_for(header),
        }
    }
}

/// Verifying keys from a JWK, JWKS or PEM file. A single key verifies whatever `kid` the token
/// names; a JWKS chooses by `kid`, and entries it cannot use are reported on standard error.
pub(crate) fn verifying_keys(name: &str, alg: Option<Algorithm>) -> Result<Keys> {
    match read_key_file(name)? {
        KeyFile::Jwk(jwk) => {
            let key = match alg {
                Some(alg) => VerifyingKey::from_jwk_with_alg(&jwk, alg),
                None => VerifyingKey::from_jwk(&jwk),
            }
            .map_err(|e| anyhow!("{}: {e}", shown(name)))?;
            Ok(Keys::One(Box::new(key)))
        }
        KeyFile::Pem(pem) => {
            let key = with_pem_alg(name, alg, |a| VerifyingKey::from_pem(&pem, a))?;
            Ok(Keys::One(Box::new(key)))
        }
        KeyFile::Jwks(set) => Ok(Keys::Set(report_skipped(
            KeySet::from_jwks(&set),
            shown(name),
        ))),
    }
}

/// Prints one warning line per JWKS entry that was left out.
pub(crate) fn report_skipped(set: KeySet, source: &str) -> KeySet {
    for s in set.skipped() {
        let kid = s
            .kid
            .as_deref()
            .map(|k| format!(" (kid {k:?})"))
            .unwrap_or_default();
        eprintln!(
            "signet: warning: {source}: key #{}{kid} skipped: {}",
            s.index, s.reason
        );
    }
    set
}

/// The public half of a key file, for `key public`, `key jwks` and `key thumbprint`. Here
/// `--alg` only fills in what a file does not say (an RSA PEM, a JWK without `alg`); an RSA
/// PEM without it is named RS256, as the choice does not change the public members.
fn public_key(name: &str, alg: Option<Algorithm>) -> Result<VerifyingKey> {
    let public = match read_key_file(name)? {
        KeyFile::Jwk(jwk) => {
            let alg = if jwk.alg.is_some() { None } else { alg };
            if jwk.is_private() {
                signing_key_from_jwk(&jwk, alg, name)?
                    .verifying_key()
                    .clone()
            } else {
                match alg {
                    Some(alg) => VerifyingKey::from_jwk_with_alg(&jwk, alg),
                    None => VerifyingKey::from_jwk(&jwk),
                }
                .map_err(|e| anyhow!("{}: {e}", shown(name)))?
            }
        }
        KeyFile::Pem(pem) => match PEM_CANDIDATES
            .iter()
            .find_map(|a| VerifyingKey::from_pem(&pem, *a).ok())
        {
            Some(key) => key,
            None => with_pem_alg(name, Some(alg.unwrap_or(Algorithm::RS256)), |a| {
                VerifyingKey::from_pem(&pem, a)
            })?,
        },
        KeyFile::Jwks(_) => bail!(
            "{}: a JWKS holds several keys; give a single key",
            shown(name)
        ),
    };
    Ok(public)
}

fn signing_key_from_jwk(jwk: &Jwk, alg: Option<Algorithm>, name: &str) -> Result<SigningKey> {
    match alg {
        Some(alg) => SigningKey::from_jwk_with_alg(jwk, alg),
        None => SigningKey::from_jwk(jwk),
    }
    .map_err(|e| anyhow!("{}: {e}", shown(name)))
}

fn public_jwk(key: &VerifyingKey, name: &str) -> Result<Jwk> {
    if key.alg().family() == KeyFamily::Hmac {
        bail!("{}: an HMAC key has no public half to publish", shown(name));
    }
    key.to_jwk().map_err(|e| anyhow!("{}: {e}", shown(name)))
}

fn pretty(value: &impl serde::Serialize) -> Result<String> {
    serde_json::to_string_pretty(value).context("cannot write JSON")
}

/// Writes `text` to `out` (mode 0600, refusing to overwrite unless `force`) or standard output.
fn write_secret(text: &str, out: Option<&Path>, force: bool) -> Result<()> {
    let Some(path) = out else {
        let mut stdout = std::io::stdout().lock();
        return writeln!(stdout, "{text}").context("cannot write to standard output");
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            anyhow!("{} exists; use --force to overwrite it", path.display())
        } else {
            anyhow!("cannot create {}: {e}", path.display())
        }
    })?;
    #[cfg(unix)]
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .with_context(|| format!("cannot restrict {}", path.display()))?;
    writeln!(file, "{text}").with_context(|| format!("cannot write {}", path.display()))
}

pub(crate) fn run(cmd: KeyCommand) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    match cmd {
        KeyCommand::Generate {
            alg,
            kid,
            format,
            bits,
            out,
            force,
        } => {
            let mut key = SigningKey::generate_with_rsa_bits(alg, bits)?;
            if let Some(kid) = kid {
                key = key.with_kid(kid);
            }
            let text = match format {
                KeyFormat::Jwk => pretty(&key.to_jwk()?)?,
                KeyFormat::Pem if alg.family() == KeyFamily::Hmac => {
                    bail!("an HMAC key has no PEM form; use --format jwk")
                }
                KeyFormat::Pem => key.to_pkcs8_pem()?.expose().trim_end().to_owned(),
            };
            write_secret(&text, out.as_deref(), force)
        }
        KeyCommand::Public(input) => {
            let key = public_key(&input.file, input.alg)?;
            writeln!(stdout, "{}", pretty(&public_jwk(&key, &input.file)?)?).context("cannot write")
        }
        KeyCommand::Jwks { files, alg } => {
            let keys: Vec<Jwk> = files
                .iter()
                .map(|f| public_key(f, alg).and_then(|k| public_jwk(&k, f)))
                .collect::<Result<_>>()?;
            writeln!(stdout, "{}", pretty(&serde_json::json!({ "keys": keys }))?)
                .context("cannot write")
        }
        KeyCommand::List(dir) => key_list(&dir),
        KeyCommand::Rotate {
            now,
            lead_time,
            config,
            dir,
        } => key_rotate(&dir, now, lead_time.as_deref(), config.as_deref()),
        KeyCommand::Revoke { kid, force, dir } => key_revoke(&dir, &kid, force),
        KeyCommand::Thumbprint(input) => {
            let key = public_key(&input.file, input.alg)?;
            writeln!(stdout, "{}", key.thumbprint()?).context("cannot write")
        }
    }
}

pub(crate) fn key_list(dir: &DataDir) -> Result<()> {
    let keys = runtime()?.block_on(async { admin_on(dir).await?.keys().await })?;
    let mut out = std::io::stdout().lock();
    for k in keys {
        writeln!(
            out,
            "{}\t{}\t{}\tactive_from={}",
            k.kid, k.alg, k.state, k.active_from
        )?;
    }
    Ok(())
}

pub(crate) fn key_rotate(
    dir: &DataDir,
    now: bool,
    lead_time: Option<&str>,
    file: Option<&std::path::Path>,
) -> Result<()> {
    let mut config = admin_config(dir);
    let from_file = match file {
        Some(path) => signet_server::Settings::from_toml_file(path)?.key_lead_time,
        None => None,
    };
    if let Some(lead) = lead_time.map(str::to_owned).or(from_file) {
        config.key_lead_time = parse_duration(&lead)?;
    }
    let kid = runtime()?.block_on(async {
        let admin = Admin::open(&config).await?;
        if now {
            admin.rotate_key_now().await
        } else {
            admin.rotate_key().await
        }
    })?;
    let when = if now {
        "signs now".to_owned()
    } else {
        format!(
            "is published now and signs in {} s, once JWKS caches have seen it",
            config.key_lead_time.as_secs()
        )
    };
    writeln!(std::io::stdout().lock(), "new key {kid} {when}")?;
    Ok(())
}

pub(crate) fn key_revoke(dir: &DataDir, kid: &str, force: bool) -> Result<()> {
    let ended = runtime()?.block_on(async { admin_on(dir).await?.revoke_key(kid, force).await })?;
    writeln!(
        std::io::stdout().lock(),
        "revoked key {kid}: removed from the JWKS, {ended} logins it signed for ended; verifiers are told to fetch the keys again"
    )?;
    Ok(())
}
