//! `signet user`, `signet client` and `signet migrate`: administration of the issuer's users
//! and clients on its data directory or database.

use std::io::{IsTerminal, Read, Write};

use anyhow::{Context, Result, anyhow, bail};
use signet_server::{Admin, Config};
use zeroize::Zeroizing;

use crate::cli::{ClientCommand, DataDir, UserCommand};
use crate::input::parse_duration;
use crate::runtime;

pub(crate) fn admin_config(dir: &DataDir) -> Config {
    let mut config = Config::new();
    config.data_dir = dir.data_dir.clone();
    config.database_url = dir.database_url.clone();
    config.master_key = std::env::var("SIGNET_MASTER_KEY")
        .ok()
        .filter(|v| !v.is_empty());
    // Cutoffs last as long as the issuer's tokens: at least the longest lifetime allowed
    // without the long-lived setting, longer when the issuer's variable says so.
    if let Some(lifetime) = std::env::var("SIGNET_ACCESS_TOKEN_LIFETIME")
        .ok()
        .and_then(|v| parse_duration(&v).ok())
    {
        config.access_lifetime = lifetime;
    }
    config
}

/// Opens the data directory or database `dir` names, for administration.
pub(crate) async fn admin_on(dir: &DataDir) -> Result<Admin> {
    Admin::open(&admin_config(dir)).await
}

/// Reads a secret from standard input, which must not be a terminal (so it is not echoed and
/// not left in the shell history as an argument).
fn secret_from_stdin(what: &str) -> Result<Zeroizing<String>> {
    if std::io::stdin().is_terminal() {
        bail!("pipe the {what} into standard input (it is never taken as an argument)");
    }
    let mut s = Zeroizing::new(String::new());
    std::io::stdin()
        .read_to_string(&mut s)
        .with_context(|| format!("cannot read the {what}"))?;
    let trimmed = Zeroizing::new(s.trim_end_matches(['\r', '\n']).to_owned());
    if trimmed.is_empty() {
        bail!("the {what} is empty");
    }
    Ok(trimmed)
}

fn claims(pairs: &[String]) -> Result<serde_json::Map<String, serde_json::Value>> {
    pairs
        .iter()
        .map(|p| {
            let (k, v) = p
                .split_once('=')
                .ok_or_else(|| anyhow!("--claim {p:?}: use KEY=VALUE"))?;
            let value =
                serde_json::from_str(v).unwrap_or_else(|_| serde_json::Value::String(v.to_owned()));
            Ok((k.to_owned(), value))
        })
        .collect()
}

fn profile_of(args: crate::cli::ProfileArgs) -> signet_server::Profile {
    signet_server::Profile {
        email: args.email,
        email_verified: args.email_verified,
        display_name: args.display_name,
    }
}

pub(crate) fn user(cmd: UserCommand) -> Result<()> {
    let mut out = std::io::stdout().lock();
    runtime()?.block_on(async {
        match cmd {
            UserCommand::Add {
                name,
                password_stdin: _,
                roles,
                claims: pairs,
                profile,
                dir,
            } => {
                let password = secret_from_stdin("password")?;
                let admin = admin_on(&dir).await?;
                let user = admin
                    .add_user(&name, password, roles, claims(&pairs)?, profile_of(profile))
                    .await?;
                writeln!(out, "added user {} (sub {})", user.name, user.id)?;
            }
            UserCommand::Set { name, profile, dir } => {
                admin_on(&dir)
                    .await?
                    .set_profile(&name, profile_of(profile))
                    .await?;
                writeln!(out, "updated user {name}")?;
            }
            UserCommand::List(dir) => {
                let admin = admin_on(&dir).await?;
                for u in admin.users().await? {
                    let state = if u.disabled { "disabled" } else { "active" };
                    writeln!(
                        out,
                        "{}\t{}\t{state}\troles={}",
                        u.name,
                        u.id,
                        u.roles.join(",")
                    )?;
                }
            }
            UserCommand::Disable { name, dir } => {
                admin_on(&dir).await?.disable_user(&name).await?;
                writeln!(
                    out,
                    "disabled user {name}; their logins and tokens are revoked"
                )?;
            }
            UserCommand::SetPassword {
                name,
                password_stdin: _,
                dir,
            } => {
                let password = secret_from_stdin("password")?;
                admin_on(&dir).await?.set_password(&name, password).await?;
                writeln!(
                    out,
                    "set the password of {name}; their logins and tokens are revoked"
                )?;
            }
            UserCommand::Revoke { name, dir } => {
                admin_on(&dir).await?.log_out_user(&name).await?;
                writeln!(
                    out,
                    "logged {name} out everywhere; their logins and tokens are revoked"
                )?;
            }
            UserCommand::Delete { name, dir } => {
                admin_on(&dir).await?.delete_user(&name).await?;
                writeln!(
                    out,
                    "deleted user {name}; their logins and tokens are revoked"
                )?;
            }
        }
        Ok(())
    })
}

pub(crate) fn client(cmd: ClientCommand) -> Result<()> {
    let mut out = std::io::stdout().lock();
    runtime()?.block_on(async {
        match cmd {
            ClientCommand::Add {
                id,
                secret_stdin,
                public,
                grants,
                scopes,
                audiences,
                introspect,
                roles,
                oidc,
                dir,
            } => {
                let secret = if secret_stdin {
                    Some(secret_from_stdin("client secret")?)
                } else {
                    None
                };
                let admin = admin_on(&dir).await?;
                let new = admin
                    .register_client(signet_server::ClientSpec {
                        id,
                        public,
                        secret,
                        grants,
                        scopes: scopes
                            .iter()
                            .flat_map(|s| s.split_whitespace())
                            .map(str::to_owned)
                            .collect(),
                        audiences,
                        introspect,
                        roles,
                        oidc: signet_server::OidcRegistration {
                            redirect_uris: oidc.redirect_uris,
                            post_logout_redirect_uris: oidc.post_logout_redirect_uris,
                            backchannel_logout_uri: oidc.backchannel_logout_uri,
                            first_party: oidc.first_party,
                            name: oidc.name,
                        },
                    })
                    .await?;
                writeln!(
                    out,
                    "added client {} (grants: {})",
                    new.client.id,
                    new.client.grants.join(", ")
                )?;
                if let Some(secret) = new.secret {
                    writeln!(out, "client secret (shown once): {}", secret.as_str())?;
                }
            }
            ClientCommand::List(dir) => {
                let admin = admin_on(&dir).await?;
                for c in admin.clients().await? {
                    let kind = if c.is_public() {
                        "public"
                    } else {
                        "confidential"
                    };
                    writeln!(
                        out,
                        "{}\t{kind}\tgrants={}\tscopes={}\taudiences={}",
                        c.id,
                        c.grants.join(","),
                        c.scopes.join(","),
                        c.audiences.join(",")
                    )?;
                }
            }
            ClientCommand::Delete { id, dir } => {
                admin_on(&dir).await?.delete_client(&id).await?;
                writeln!(
                    out,
                    "deleted client {id}; its logins and tokens are revoked"
                )?;
            }
            ClientCommand::RotateSecret { id, dir } => {
                let secret = admin_on(&dir).await?.rotate_client_secret(&id).await?;
                writeln!(
                    out,
                    "rotated the secret of {id}; its logins and tokens are revoked"
                )?;
                writeln!(out, "client secret (shown once): {}", secret.as_str())?;
            }
        }
        Ok(())
    })
}

pub(crate) fn migrate(dir: &DataDir) -> Result<()> {
    runtime()?.block_on(Admin::migrate(&admin_config(dir)))?;
    writeln!(std::io::stdout().lock(), "the database is migrated")?;
    Ok(())
}
