//! `signet token lint`: an audit of the pitfalls every JWT guide warns about.

use std::fmt::Write as _;
use std::io::Write;
use std::sync::LazyLock;

use anyhow::{Context, Result, anyhow};
use aws_lc_rs::hmac;
use base64::Engine;
use regex::Regex;
use serde::Serialize;
use serde_json::{Map, Value};
use signet::{Algorithm, dangerous};

use crate::input::{Style, human, read_token};
use crate::keys::{KeyFile, read_key_file};
use crate::token::{MAX_INSPECT, lifetime};

/// Well-known or leaked HMAC secrets, one per line.
const COMMON_SECRETS: &str = include_str!("common-secrets.txt");

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
enum Severity {
    Info,
    Warning,
    Error,
}

#[derive(Debug, Serialize)]
struct Finding {
    severity: Severity,
    code: &'static str,
    reason: String,
    fix: &'static str,
}

#[derive(Default)]
struct Report(Vec<Finding>);

impl Report {
    fn add(
        &mut self,
        severity: Severity,
        code: &'static str,
        reason: impl Into<String>,
        fix: &'static str,
    ) {
        self.0.push(Finding {
            severity,
            code,
            reason: reason.into(),
            fix,
        });
    }
}

/// Claim names that should never hold a value in a token.
const SECRET_NAMES: [&str; 14] = [
    "password",
    "passwd",
    "pwd",
    "secret",
    "client_secret",
    "api_key",
    "apikey",
    "access_key",
    "private_key",
    "secret_key",
    "credit_card",
    "card_number",
    "cvv",
    "pin",
];
/// Claim names that hold personal data.
const PERSONAL_NAMES: [&str; 10] = [
    "ssn",
    "social_security",
    "national_id",
    "birthdate",
    "date_of_birth",
    "dob",
    "address",
    "street",
    "phone",
    "passport",
];
/// Claims that are random by design.
const RANDOM_BY_DESIGN: [&str; 6] = ["jti", "sid", "nonce", "at_hash", "c_hash", "kid"];

/// Compiles one of the constant patterns below; the detector tests run each of them.
#[allow(clippy::expect_used)]
fn pattern(re: &str) -> Regex {
    Regex::new(re).expect("constant pattern")
}

static EMAIL: LazyLock<Regex> = LazyLock::new(|| pattern(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$"));
static PHONE: LazyLock<Regex> = LazyLock::new(|| pattern(r"^\+?[0-9][0-9 ().-]{7,18}[0-9]$"));
static SSN: LazyLock<Regex> = LazyLock::new(|| pattern(r"^\d{3}-\d{2}-\d{4}$"));
static DATE: LazyLock<Regex> = LazyLock::new(|| pattern(r"^(19|20)\d{2}-\d{2}-\d{2}$"));
static STREET: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"(?i)^\d+[a-z]?\s+\w+.*\b(street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|way|strasse|straße|rue)\b",
    )
});
static CARD: LazyLock<Regex> = LazyLock::new(|| pattern(r"^[0-9][0-9 -]{11,21}[0-9]$"));

fn luhn(digits: &[u32]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                if d * 2 > 9 { d * 2 - 9 } else { d * 2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn is_card_number(s: &str) -> bool {
    if !CARD.is_match(s) {
        return false;
    }
    let digits: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    (13..=19).contains(&digits.len()) && luhn(&digits)
}

/// Bits of entropy per character, from character frequencies.
fn entropy(s: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in s.bytes() {
        counts[usize::from(b)] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

fn looks_like_secret(s: &str) -> bool {
    let token_chars = s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"+/=_-".contains(&b));
    let classes = [
        s.bytes().any(|b| b.is_ascii_lowercase()),
        s.bytes().any(|b| b.is_ascii_uppercase()),
        s.bytes().any(|b| b.is_ascii_digit()),
    ];
    let hex = s.bytes().all(|b| b.is_ascii_hexdigit());
    token_chars
        && s.len() >= 20
        && ((hex && s.len() >= 32 && entropy(s) > 3.0)
            || (classes.iter().filter(|c| **c).count() == 3 && entropy(s) > 4.0))
}

fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(12).collect();
    if s.chars().count() > 12 {
        out.push('…');
    }
    out
}

/// Walks the payload: names and values.
fn scan(path: &str, value: &Value, report: &mut Report) {
    match value {
        Value::Object(map) => {
            for (name, v) in map {
                let lower = name.to_ascii_lowercase();
                let here = if path.is_empty() {
                    name.clone()
                } else {
                    format!("{path}.{name}")
                };
                if SECRET_NAMES
                    .iter()
                    .any(|s| lower == *s || lower.ends_with(&format!("_{s}")))
                {
                    report.add(Severity::Error, "secret-in-payload", format!("claim `{here}` looks like a secret; any holder of the token can read it"), "remove it: a JWT payload is encoded, not encrypted");
                } else if PERSONAL_NAMES.iter().any(|s| lower.contains(s)) {
                    report.add(
                        Severity::Warning,
                        "personal-data",
                        format!("claim `{here}` looks like personal data"),
                        "carry an identifier and look personal data up server-side",
                    );
                }
                if !RANDOM_BY_DESIGN.contains(&lower.as_str()) {
                    scan(&here, v, report);
                }
            }
        }
        Value::Array(list) => list.iter().for_each(|v| scan(path, v, report)),
        Value::String(s) => scan_string(path, s, report),
        _ => {}
    }
}

fn scan_string(path: &str, s: &str, report: &mut Report) {
    let shown = shorten(s);
    let personal = "carry an identifier and look personal data up server-side";
    if EMAIL.is_match(s) {
        report.add(
            Severity::Warning,
            "email",
            format!("`{path}` holds an email address ({shown})"),
            personal,
        );
    } else if is_card_number(s) {
        report.add(
            Severity::Error,
            "card-number",
            format!("`{path}` holds what looks like a payment card number"),
            "never put card data in a token",
        );
    } else if SSN.is_match(s) {
        report.add(
            Severity::Error,
            "national-id",
            format!("`{path}` holds what looks like a national id number"),
            personal,
        );
    } else if PHONE.is_match(s) && s.chars().filter(char::is_ascii_digit).count() >= 10 {
        report.add(
            Severity::Warning,
            "phone-number",
            format!("`{path}` holds what looks like a phone number"),
            personal,
        );
    } else if DATE.is_match(s)
        && ["birth", "dob", "born"]
            .iter()
            .any(|b| path.to_ascii_lowercase().contains(b))
    {
        report.add(
            Severity::Warning,
            "birth-date",
            format!("`{path}` holds a birth date"),
            personal,
        );
    } else if STREET.is_match(s) {
        report.add(
            Severity::Warning,
            "postal-address",
            format!("`{path}` holds what looks like a postal address"),
            personal,
        );
    } else if looks_like_secret(s) {
        report.add(
            Severity::Warning,
            "high-entropy-value",
            format!("`{path}` holds a random-looking string ({shown}) that may be a secret"),
            "remove secrets: anyone holding the token can read the payload",
        );
    }
}

fn hmac_secret_findings(
    alg: Option<Algorithm>,
    token: &str,
    key: Option<&str>,
    report: &mut Report,
) -> Result<()> {
    let Some(alg) = alg.filter(|a| a.family() == signet::KeyFamily::Hmac) else {
        return Ok(());
    };
    let hash = match alg {
        Algorithm::HS256 => hmac::HMAC_SHA256,
        Algorithm::HS384 => hmac::HMAC_SHA384,
        _ => hmac::HMAC_SHA512,
    };
    let min = hash.digest_algorithm().output_len();
    let (input, sig) = token.rsplit_once('.').unwrap_or_default();
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(sig)
        .unwrap_or_default();
    let signed_with =
        |secret: &[u8]| hmac::verify(&hmac::Key::new(hash, secret), input.as_bytes(), &sig).is_ok();
    if let Some(name) = key {
        let secret = match read_key_file(name)? {
            KeyFile::Jwk(jwk) => jwk
                .k
                .as_ref()
                .map(|k| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(k.expose()))
                .transpose()
                .map_err(|_| anyhow!("{name}: `k` is not base64url"))?,
            _ => None,
        }
        .ok_or_else(|| anyhow!("{name}: an HS token needs a JWK with `k` (kty oct)"))?;
        if secret.len() < min {
            report.add(
                Severity::Error,
                "weak-hmac-key",
                format!(
                    "the {alg} secret is {} bytes; at least {min} are needed",
                    secret.len()
                ),
                "generate one with `signet key generate --alg HS256`",
            );
        }
        if COMMON_SECRETS
            .lines()
            .any(|c| c.as_bytes() == secret.as_slice())
        {
            report.add(
                Severity::Error,
                "common-hmac-key",
                "the HMAC secret is on the list of well-known secrets",
                "generate a random secret and rotate it now",
            );
        }
        return Ok(());
    }
    if let Some(found) = COMMON_SECRETS
        .lines()
        .find(|c| !c.is_empty() && signed_with(c.as_bytes()))
    {
        report.add(
            Severity::Error,
            "cracked-hmac-key",
            format!("the token is signed with the well-known secret {found:?}"),
            "generate a random secret, rotate it now, and treat every token it signed as forged",
        );
    }
    Ok(())
}

fn audit(token: &str, key: Option<&str>) -> Result<Report> {
    let parts = dangerous::insecure_inspect(token, MAX_INSPECT)
        .map_err(|e| anyhow!("not a compact JWS: {e}"))?;
    let mut report = Report::default();
    let header = &parts.header;
    let alg_name = header.get("alg").and_then(Value::as_str).unwrap_or("");
    let alg = Algorithm::from_name(alg_name);
    if alg_name.eq_ignore_ascii_case("none") {
        report.add(
            Severity::Error,
            "alg-none",
            "alg is none: the token is not signed at all",
            "sign with a real algorithm; verifiers must refuse none",
        );
    } else if alg.is_none() {
        report.add(
            Severity::Error,
            "alg-unknown",
            format!(
                "alg {:?} is not a JOSE signature algorithm Signet knows",
                shorten(alg_name)
            ),
            "use ES256, EdDSA, RS256/PS256 or HS256 with a strong secret",
        );
    }
    for r in ["jku", "x5u", "jwk", "x5c"] {
        if header.contains_key(r) {
            report.add(Severity::Warning, "key-in-header", format!("the header carries `{r}`: a verifier that trusts it lets the attacker pick the key"), "remove it; verifiers must use their own key set");
        }
    }
    if let Some(kid) = header.get("kid").and_then(Value::as_str)
        && (kid.contains("..")
            || kid.contains('/')
            || kid.contains('\\')
            || kid.contains('\'')
            || kid.contains('"')
            || kid.contains(';')
            || kid.contains("--")
            || kid.contains('\0'))
    {
        report.add(Severity::Warning, "kid-injection", format!("kid {:?} holds path or SQL characters", shorten(kid)), "use plain ids such as the RFC 7638 thumbprint; look kids up, never build paths or queries from them");
    }
    match header.get("typ").and_then(Value::as_str) {
        None => report.add(
            Severity::Warning,
            "no-typ",
            "no typ: the token does not say what it is for",
            "set typ, such as at+jwt for access tokens (RFC 8725 §3.11, RFC 9068)",
        ),
        Some(t) if t.eq_ignore_ascii_case("jwt") || t.eq_ignore_ascii_case("application/jwt") => {
            report.add(
                Severity::Info,
                "generic-typ",
                "typ JWT does not say what the token is for",
                "use an explicit type such as at+jwt, so one kind of token cannot pass for another",
            )
        }
        Some(_) => {}
    }
    let claims: Map<String, Value> = serde_json::from_slice(&parts.payload).unwrap_or_default();
    if !claims.contains_key("exp") {
        report.add(
            Severity::Error,
            "no-exp",
            "no exp: the token is valid forever",
            "give every token an expiry, minutes for access tokens",
        );
    } else if let Some(life) = lifetime(&claims) {
        if life > 86_400 {
            report.add(
                Severity::Error,
                "lifetime-over-24h",
                format!("the token lives {}", human(life)),
                "issue short-lived access tokens (5 to 15 minutes) and refresh them",
            );
        } else if life > 3600 {
            report.add(
                Severity::Warning,
                "lifetime-over-1h",
                format!("the token lives {}", human(life)),
                "issue short-lived access tokens (5 to 15 minutes) and refresh them",
            );
        }
    }
    if !claims.contains_key("iss") {
        report.add(
            Severity::Warning,
            "no-iss",
            "no iss: verifiers cannot check who issued it",
            "set iss and have verifiers require it",
        );
    }
    if !claims.contains_key("aud") {
        report.add(
            Severity::Warning,
            "no-aud",
            "no aud: any service that trusts the issuer would accept it",
            "set aud to the service the token is for",
        );
    }
    scan("", &Value::Object(claims), &mut report);
    hmac_secret_findings(alg, token, key, &mut report)?;
    Ok(report)
}

/// Runs the linter; `Ok(false)` when it found errors.
pub(crate) fn run(token: &str, key: Option<&str>, json: bool) -> Result<bool> {
    let token = read_token(token)?;
    let mut report = audit(&token, key)?;
    report.0.sort_by_key(|f| std::cmp::Reverse(f.severity));
    let errors = report
        .0
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let warnings = report
        .0
        .iter()
        .filter(|f| f.severity == Severity::Warning)
        .count();
    let mut out = std::io::stdout().lock();
    if json {
        let doc = serde_json::json!({"findings": report.0, "errors": errors, "warnings": warnings});
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?).context("cannot write")?;
        return Ok(errors == 0);
    }
    let style = Style::stdout();
    let mut text = String::new();
    for f in &report.0 {
        let (label, colour) = match f.severity {
            Severity::Error => ("error", "1;31"),
            Severity::Warning => ("warning", "1;33"),
            Severity::Info => ("info", "1;36"),
        };
        let _ = writeln!(
            text,
            "{} [{}] {}\n  fix: {}",
            style.paint(colour, label),
            f.code,
            f.reason,
            f.fix
        );
    }
    let _ = writeln!(text, "{errors} error(s), {warnings} warning(s)");
    write!(out, "{text}").context("cannot write")?;
    Ok(errors == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detectors() {
        assert!(is_card_number("4111 1111 1111 1111"));
        assert!(!is_card_number("4111 1111 1111 1112"));
        assert!(looks_like_secret("sk_live_4eC39HqLyjWDarjtT1zdp7dc"));
        assert!(!looks_like_secret("orders:read orders:write"));
        assert!(!looks_like_secret("https://auth.example.com"));
        assert!(STREET.is_match("221B Baker Street, London"));
        assert!(EMAIL.is_match("ada@example.com"));
        assert!(PHONE.is_match("+44 20 7946 0958"));
    }
}
