//! `signet token sign`, `verify` and `decode`.

use std::io::Write;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Map, Value};
use signet::{Claims, Error, TokenBuilder, UnverifiedToken, Validation, dangerous};

use crate::cli::{SignArgs, VerifyArgs};
use crate::input::{Style, now, parse_duration, read_text, read_token, relative};
use signet::KeySource;

use crate::keys::{Keys, signing_key, verifying_keys};

/// The largest token `decode` and `lint` will take apart.
pub(crate) const MAX_INSPECT: usize = 1 << 20;
const DAY: Duration = Duration::from_secs(86_400);

fn claims_json(arg: Option<&str>) -> Result<Map<String, Value>> {
    let Some(arg) = arg else {
        return Ok(Map::new());
    };
    let text = match arg.strip_prefix('@') {
        Some(file) => read_text(file, "claims")?,
        None if arg == "-" => read_text("-", "claims")?,
        None => arg.to_owned(),
    };
    match serde_json::from_str(&text).context("--claims: not valid JSON")? {
        Value::Object(map) => Ok(map),
        _ => bail!("--claims: must be a JSON object"),
    }
}

fn take_string(map: &mut Map<String, Value>, name: &str) -> Result<Option<String>> {
    match map.remove(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => bail!("--claims: `{name}` must be a string"),
    }
}

pub(crate) fn sign(args: SignArgs) -> Result<()> {
    let mut custom = claims_json(args.claims.as_deref())?;
    for timed in ["exp", "nbf", "iat"] {
        if custom.contains_key(timed) {
            bail!("--claims: `{timed}` is set from the clock; use --exp and --nbf");
        }
    }
    let lifetime = parse_duration(&args.exp)?;
    if lifetime.is_zero() {
        bail!("--exp: a token must live longer than 0s");
    }
    if lifetime > DAY {
        if !args.allow_long_lived {
            bail!(
                "--exp {}: lifetimes over 24h are refused; pass --allow-long-lived if you mean it",
                args.exp
            );
        }
        eprintln!(
            "signet: warning: a token valid for {} cannot be taken back once leaked",
            args.exp
        );
    }
    let mut key = signing_key(&args.key, args.alg)?;
    if let Some(kid) = args.kid {
        key = key.with_kid(kid);
    }
    let iss = args.iss.or(take_string(&mut custom, "iss")?);
    let sub = args.sub.or(take_string(&mut custom, "sub")?);
    let jti = take_string(&mut custom, "jti")?;
    let mut audiences = args.aud;
    match custom.remove("aud") {
        None => {}
        Some(_) if !audiences.is_empty() => {}
        Some(Value::String(a)) => audiences.push(a),
        Some(Value::Array(list)) => {
            for a in list {
                audiences.push(
                    a.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| anyhow!("--claims: `aud` must hold strings"))?,
                );
            }
        }
        Some(_) => bail!("--claims: `aud` must be a string or an array of strings"),
    }
    let mut builder = TokenBuilder::with_custom(custom).expires_in(lifetime);
    if let Some(iss) = iss {
        builder = builder.issuer(iss);
    }
    if let Some(sub) = sub {
        builder = builder.subject(sub);
    }
    for aud in audiences {
        builder = builder.audience(aud);
    }
    if let Some(nbf) = args.nbf {
        builder = builder.not_before_in(parse_duration(&nbf)?);
    }
    if let Some(typ) = args.typ {
        builder = builder.typ(typ);
    }
    builder = match (jti, args.no_jti) {
        (_, true) => builder.no_jti(),
        (Some(jti), false) => builder.jti(jti),
        (None, false) => builder,
    };
    let token = builder.sign(&key)?;
    writeln!(std::io::stdout().lock(), "{token}").context("cannot write")
}

fn keys_for(args: &VerifyArgs) -> Result<Keys> {
    let alg = args.alg;
    if let Some(file) = args.key.as_deref().or(args.jwks.as_deref()) {
        return verifying_keys(file, alg);
    }
    if let Some(url) = &args.jwks_url {
        return crate::remote::jwks(url).map(Keys::Set);
    }
    match &args.issuer_url {
        Some(issuer) => crate::remote::discover(issuer).map(Keys::Set),
        None => bail!("give one of --key, --jwks, --jwks-url or --issuer-url"),
    }
}

fn validation(args: &VerifyArgs) -> Result<Validation> {
    let builder = Validation::builder();
    let builder = match (&args.iss, &args.issuer_url, args.insecure_any_issuer) {
        (Some(iss), _, _) => builder.issuer(iss.clone()),
        (None, _, true) => builder.insecure_any_issuer(),
        (None, Some(url), false) => builder.issuer(url.clone()),
        (None, None, false) => {
            return Err(crate::Usage("--iss is required (or --insecure-any-issuer)".into()).into());
        }
    };
    let mut builder = match (&args.aud, args.insecure_any_audience) {
        (Some(aud), _) => builder.audience(aud.clone()),
        (None, true) => builder.insecure_any_audience(),
        (None, false) => {
            return Err(
                crate::Usage("--aud is required (or --insecure-any-audience)".into()).into(),
            );
        }
    };
    if let Some(typ) = &args.typ {
        builder = builder.required_typ(typ.clone());
    }
    if let Some(leeway) = &args.leeway {
        builder = builder.leeway(parse_duration(leeway)?);
    }
    if let Some(max_age) = &args.max_age {
        builder = builder.max_age(parse_duration(max_age)?);
    }
    for claim in &args.require {
        builder = builder.require_claim(claim.clone());
    }
    Ok(builder.build())
}

/// A short rendering of what the unverified token says about `claim`, for error messages.
fn claimed(token: &str, claim: &str) -> String {
    let said = dangerous::insecure_inspect(token, MAX_INSPECT)
        .ok()
        .and_then(|i| serde_json::from_slice::<Map<String, Value>>(&i.payload).ok())
        .and_then(|m| m.get(claim).cloned());
    match said {
        None => format!("the token has no {claim}"),
        Some(v) => {
            let shown: String = v.to_string().chars().take(80).collect();
            format!("the token says {shown}")
        }
    }
}

/// One line saying why a token was refused.
fn why(e: &Error, token: &str, args: &VerifyArgs) -> String {
    let header = UnverifiedToken::parse_with_limit(token, MAX_INSPECT).ok();
    match e {
        Error::Expired { ago_secs } => {
            format!("token expired {} ago", crate::input::human(*ago_secs))
        }
        Error::NotYetValid { in_secs } => {
            format!(
                "token not valid yet (valid in {})",
                crate::input::human(*in_secs)
            )
        }
        Error::WrongIssuer => format!(
            "wrong issuer: {}, expected {:?}",
            claimed(token, "iss"),
            args.iss
                .as_deref()
                .or(args.issuer_url.as_deref())
                .unwrap_or("")
        ),
        Error::WrongAudience => format!(
            "wrong audience: {}, expected {:?}",
            claimed(token, "aud"),
            args.aud.as_deref().unwrap_or("")
        ),
        Error::WrongType => {
            let typ = header
                .as_ref()
                .and_then(|t| t.header().typ().map(str::to_owned));
            format!(
                "wrong token type: typ is {typ:?}, expected {:?}",
                args.typ.as_deref().unwrap_or("")
            )
        }
        Error::UnknownKey => match header
            .as_ref()
            .and_then(|t| t.header().kid().map(str::to_owned))
        {
            Some(kid) => format!(
                "unknown kid {:?}: no key for it",
                kid.chars().take(64).collect::<String>()
            ),
            None => "no key fits: the token has no kid and no key is for its algorithm".to_owned(),
        },
        other => other.to_string(),
    }
}

pub(crate) fn verify(args: VerifyArgs) -> Result<()> {
    let token = read_token(&args.token)?;
    let validation = validation(&args)?;
    let keys = keys_for(&args)?;
    let claims: Claims<'static, Map<String, Value>> = keys
        .verify_as(&token, &validation)
        .map_err(|e| anyhow!(why(&e, &token, &args)))?;
    let json = serde_json::to_string_pretty(&claims).context("cannot write JSON")?;
    writeln!(std::io::stdout().lock(), "{json}").context("cannot write")
}

/// Colours JSON for a terminal: keys, strings, numbers.
fn colour_json(value: &Value, style: Style, indent: usize) -> String {
    let pad = "  ".repeat(indent + 1);
    match value {
        Value::Object(map) if !map.is_empty() => {
            let items: Vec<String> = map
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{pad}{}: {}",
                        style.paint("34", &format!("{k:?}")),
                        colour_json(v, style, indent + 1)
                    )
                })
                .collect();
            format!("{{\n{}\n{}}}", items.join(",\n"), "  ".repeat(indent))
        }
        Value::Array(list) if !list.is_empty() => {
            let items: Vec<String> = list
                .iter()
                .map(|v| format!("{pad}{}", colour_json(v, style, indent + 1)))
                .collect();
            format!("[\n{}\n{}]", items.join(",\n"), "  ".repeat(indent))
        }
        Value::String(_) => style.paint("32", &value.to_string()),
        Value::Number(_) | Value::Bool(_) | Value::Null => style.paint("33", &value.to_string()),
        other => other.to_string(),
    }
}

fn time_notes(claims: &Map<String, Value>) -> Vec<String> {
    let mut notes = Vec::new();
    for (name, verb) in [("exp", "expires"), ("iat", "issued"), ("nbf", "valid from")] {
        if let Some(at) = claims.get(name).and_then(Value::as_u64) {
            let when = relative(at);
            let verb = if name == "exp" && at < now() {
                "expired"
            } else {
                verb
            };
            notes.push(format!("{name}: {verb} {when}"));
        }
    }
    notes
}

pub(crate) fn decode(token: &str, json: bool) -> Result<()> {
    let token = read_token(token)?;
    let parts = dangerous::insecure_inspect(&token, MAX_INSPECT)
        .map_err(|e| anyhow!("not a compact JWS: {e}"))?;
    let payload: Value = serde_json::from_slice(&parts.payload)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&parts.payload).into_owned()));
    let header: Value = serde_json::from_str(&parts.header.json)?;
    let mut out = std::io::stdout().lock();
    if json {
        let doc = serde_json::json!({"verified": false, "header": header, "payload": payload});
        return writeln!(out, "{}", serde_json::to_string_pretty(&doc)?).context("cannot write");
    }
    let style = Style::stdout();
    let banner = style.paint(
        "1;31",
        "NOT VERIFIED: anyone can write these; verify with `signet token verify`",
    );
    writeln!(out, "{banner}")?;
    writeln!(
        out,
        "{}\n{}",
        style.paint("1", "header"),
        colour_json(&header, style, 0)
    )?;
    writeln!(
        out,
        "{}\n{}",
        style.paint("1", "payload"),
        colour_json(&payload, style, 0)
    )?;
    if let Value::Object(claims) = &payload {
        for note in time_notes(claims) {
            writeln!(out, "{}", style.paint("2", &note))?;
        }
    }
    Ok(())
}

/// Shared with the linter: the lifetime a token claims, in seconds, if it has an `exp`.
pub(crate) fn lifetime(claims: &Map<String, Value>) -> Option<u64> {
    let exp = claims.get("exp")?.as_u64()?;
    let from = claims
        .get("iat")
        .and_then(Value::as_u64)
        .unwrap_or_else(now);
    Some(exp.saturating_sub(from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetime_counts_from_iat_or_now() {
        let m = |v: Value| v.as_object().cloned().unwrap();
        assert_eq!(
            lifetime(&m(serde_json::json!({"iat": 100, "exp": 400}))),
            Some(300)
        );
        assert_eq!(lifetime(&m(serde_json::json!({"iat": 100}))), None);
    }
}
