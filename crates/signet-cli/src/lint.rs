//! `signet token lint`: an audit of the pitfalls every JWT guide warns about.

use std::fmt::Write as _;
use std::io::Write;
use std::sync::LazyLock;

use anyhow::{Context, Result, anyhow, bail};
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

/// What the rules look at: the token as sent, its header and claims, and the key file given.
struct Token<'a> {
    raw: &'a str,
    header: &'a dangerous::InspectedHeader,
    claims: &'a Map<String, Value>,
    alg_name: &'a str,
    alg: Option<Algorithm>,
    key: Option<&'a str>,
    /// Every claim name in the payload: its path and its lowercase name.
    names: Vec<(String, String)>,
    /// Every string value worth a finding: the rule it falls under, and the reason.
    values: Vec<(&'static str, String)>,
}

/// One rule of the linter: its id, how bad a finding is, what it looks for (for
/// `--list-rules`), the fix, and its check, which returns one reason per finding. Adding a
/// rule is one entry in [`RULES`].
struct Rule {
    id: &'static str,
    severity: Severity,
    finds: &'static str,
    fix: &'static str,
    check: fn(&Token<'_>) -> Result<Vec<String>>,
}

const PERSONAL_FIX: &str = "carry an identifier and look personal data up server-side";
const SHORT_LIVED: &str = "issue short-lived access tokens (5 to 15 minutes) and refresh them";

/// Every rule, in the order findings are reported within a severity.
const RULES: &[Rule] = &[
    Rule {
        id: "alg-none",
        severity: Severity::Error,
        finds: "alg none: an unsigned token",
        fix: "sign with a real algorithm; verifiers must refuse none",
        check: alg_none,
    },
    Rule {
        id: "alg-unknown",
        severity: Severity::Error,
        finds: "an alg that is not a JOSE signature algorithm",
        fix: "use ES256, EdDSA, RS256/PS256 or HS256 with a strong secret",
        check: alg_unknown,
    },
    Rule {
        id: "key-in-header",
        severity: Severity::Warning,
        finds: "jku, x5u, jwk or x5c in the header",
        fix: "remove it; verifiers must use their own key set",
        check: key_in_header,
    },
    Rule {
        id: "kid-injection",
        severity: Severity::Warning,
        finds: "a kid with path or SQL characters",
        fix: "use plain ids such as the RFC 7638 thumbprint; look kids up, never build paths or queries from them",
        check: kid_injection,
    },
    Rule {
        id: "no-typ",
        severity: Severity::Warning,
        finds: "no typ header",
        fix: "set typ, such as at+jwt for access tokens (RFC 8725 §3.11, RFC 9068)",
        check: no_typ,
    },
    Rule {
        id: "generic-typ",
        severity: Severity::Info,
        finds: "typ JWT, which says nothing of the token's use",
        fix: "use an explicit type such as at+jwt, so one kind of token cannot pass for another",
        check: generic_typ,
    },
    Rule {
        id: "no-exp",
        severity: Severity::Error,
        finds: "no exp: a token valid forever",
        fix: "give every token an expiry, minutes for access tokens",
        check: no_exp,
    },
    Rule {
        id: "lifetime-over-24h",
        severity: Severity::Error,
        finds: "a lifetime over 24 hours",
        fix: SHORT_LIVED,
        check: lifetime_over_24h,
    },
    Rule {
        id: "lifetime-over-1h",
        severity: Severity::Warning,
        finds: "a lifetime over 1 hour",
        fix: SHORT_LIVED,
        check: lifetime_over_1h,
    },
    Rule {
        id: "no-iss",
        severity: Severity::Warning,
        finds: "no iss",
        fix: "set iss and have verifiers require it",
        check: no_iss,
    },
    Rule {
        id: "no-aud",
        severity: Severity::Warning,
        finds: "no aud",
        fix: "set aud to the service the token is for",
        check: no_aud,
    },
    Rule {
        id: "secret-in-payload",
        severity: Severity::Error,
        finds: "a claim named like a secret (password, api_key ...)",
        fix: "remove it: a JWT payload is encoded, not encrypted",
        check: secret_in_payload,
    },
    Rule {
        id: "personal-data",
        severity: Severity::Warning,
        finds: "a claim named like personal data (ssn, address ...)",
        fix: PERSONAL_FIX,
        check: personal_data,
    },
    Rule {
        id: "email",
        severity: Severity::Warning,
        finds: "an email address in a value",
        fix: PERSONAL_FIX,
        check: |t| strings_of(t, "email"),
    },
    Rule {
        id: "card-number",
        severity: Severity::Error,
        finds: "a payment card number (Luhn-valid) in a value",
        fix: "never put card data in a token",
        check: |t| strings_of(t, "card-number"),
    },
    Rule {
        id: "national-id",
        severity: Severity::Error,
        finds: "a national id number in a value",
        fix: PERSONAL_FIX,
        check: |t| strings_of(t, "national-id"),
    },
    Rule {
        id: "phone-number",
        severity: Severity::Warning,
        finds: "a phone number in a value",
        fix: PERSONAL_FIX,
        check: |t| strings_of(t, "phone-number"),
    },
    Rule {
        id: "birth-date",
        severity: Severity::Warning,
        finds: "a date under a birth-date name",
        fix: PERSONAL_FIX,
        check: |t| strings_of(t, "birth-date"),
    },
    Rule {
        id: "postal-address",
        severity: Severity::Warning,
        finds: "a postal address in a value",
        fix: PERSONAL_FIX,
        check: |t| strings_of(t, "postal-address"),
    },
    Rule {
        id: "high-entropy-value",
        severity: Severity::Warning,
        finds: "a random-looking value that may be a secret",
        fix: "remove secrets: anyone holding the token can read the payload",
        check: |t| strings_of(t, "high-entropy-value"),
    },
    Rule {
        id: "weak-hmac-key",
        severity: Severity::Error,
        finds: "an HMAC secret (--key) shorter than its hash",
        fix: "generate one with `signet key generate --alg HS256`",
        check: weak_hmac_key,
    },
    Rule {
        id: "common-hmac-key",
        severity: Severity::Error,
        finds: "an HMAC secret (--key) on the list of well-known secrets",
        fix: "generate a random secret and rotate it now",
        check: common_hmac_key,
    },
    Rule {
        id: "cracked-hmac-key",
        severity: Severity::Error,
        finds: "a token signed with a well-known HMAC secret (no --key)",
        fix: "generate a random secret, rotate it now, and treat every token it signed as forged",
        check: cracked_hmac_key,
    },
];

fn alg_none(t: &Token<'_>) -> Result<Vec<String>> {
    Ok(when(t.alg_name.eq_ignore_ascii_case("none"), || {
        "alg is none: the token is not signed at all".into()
    }))
}

fn alg_unknown(t: &Token<'_>) -> Result<Vec<String>> {
    Ok(when(
        !t.alg_name.eq_ignore_ascii_case("none") && t.alg.is_none(),
        || {
            format!(
                "alg {:?} is not a JOSE signature algorithm Signet knows",
                shorten(t.alg_name)
            )
        },
    ))
}

fn key_in_header(t: &Token<'_>) -> Result<Vec<String>> {
    Ok(["jku", "x5u", "jwk", "x5c"]
        .into_iter()
        .filter(|r| t.header.has(r))
        .map(|r| {
            format!(
                "the header carries `{r}`: a verifier that trusts it lets the attacker pick the key"
            )
        })
        .collect())
}

fn kid_injection(t: &Token<'_>) -> Result<Vec<String>> {
    let bad = ["..", "/", "\\", "'", "\"", ";", "--", "\0"];
    Ok(match t.header.kid.as_deref() {
        Some(kid) if bad.iter().any(|b| kid.contains(b)) => {
            vec![format!(
                "kid {:?} holds path or SQL characters",
                shorten(kid)
            )]
        }
        _ => vec![],
    })
}

fn typ<'a>(t: &Token<'a>) -> Option<&'a str> {
    t.header.typ.as_deref()
}

fn no_typ(t: &Token<'_>) -> Result<Vec<String>> {
    Ok(when(typ(t).is_none(), || {
        "no typ: the token does not say what it is for".into()
    }))
}

fn generic_typ(t: &Token<'_>) -> Result<Vec<String>> {
    let generic = typ(t).is_some_and(|t| {
        t.eq_ignore_ascii_case("jwt") || t.eq_ignore_ascii_case("application/jwt")
    });
    Ok(when(generic, || {
        "typ JWT does not say what the token is for".into()
    }))
}

fn no_exp(t: &Token<'_>) -> Result<Vec<String>> {
    Ok(when(!t.claims.contains_key("exp"), || {
        "no exp: the token is valid forever".into()
    }))
}

fn lifetime_over(t: &Token<'_>, above: u64, up_to: u64) -> Vec<String> {
    match lifetime(t.claims) {
        Some(life) if life > above && life <= up_to => {
            vec![format!("the token lives {}", human(life))]
        }
        _ => vec![],
    }
}

fn lifetime_over_24h(t: &Token<'_>) -> Result<Vec<String>> {
    Ok(lifetime_over(t, 86_400, u64::MAX))
}

fn lifetime_over_1h(t: &Token<'_>) -> Result<Vec<String>> {
    Ok(lifetime_over(t, 3600, 86_400))
}

fn no_iss(t: &Token<'_>) -> Result<Vec<String>> {
    Ok(when(!t.claims.contains_key("iss"), || {
        "no iss: verifiers cannot check who issued it".into()
    }))
}

fn no_aud(t: &Token<'_>) -> Result<Vec<String>> {
    Ok(when(!t.claims.contains_key("aud"), || {
        "no aud: any service that trusts the issuer would accept it".into()
    }))
}

/// One reason when `found`.
fn when(found: bool, reason: impl FnOnce() -> String) -> Vec<String> {
    if found { vec![reason()] } else { vec![] }
}

/// Walks the payload: every claim name (with its path) and every string value (with the path
/// it sits at). The subtrees of claims that are random by design are not looked into.
fn walk<'v>(
    path: &str,
    value: &'v Value,
    names: &mut Vec<(String, String)>,
    strings: &mut Vec<(String, &'v str)>,
) {
    match value {
        Value::Object(map) => {
            for (name, v) in map {
                let lower = name.to_ascii_lowercase();
                let here = if path.is_empty() {
                    name.clone()
                } else {
                    format!("{path}.{name}")
                };
                names.push((here.clone(), lower.clone()));
                if !RANDOM_BY_DESIGN.contains(&lower.as_str()) {
                    walk(&here, v, names, strings);
                }
            }
        }
        Value::Array(list) => list.iter().for_each(|v| walk(path, v, names, strings)),
        Value::String(s) => strings.push((path.to_owned(), s)),
        _ => {}
    }
}

fn secret_name(lower: &str) -> bool {
    SECRET_NAMES
        .iter()
        .any(|s| lower == *s || lower.ends_with(&format!("_{s}")))
}

fn secret_in_payload(t: &Token<'_>) -> Result<Vec<String>> {
    Ok(t.names
        .iter()
        .filter(|(_, lower)| secret_name(lower))
        .map(|(here, _)| {
            format!("claim `{here}` looks like a secret; any holder of the token can read it")
        })
        .collect())
}

fn personal_data(t: &Token<'_>) -> Result<Vec<String>> {
    Ok(t.names
        .iter()
        .filter(|(_, lower)| {
            !secret_name(lower) && PERSONAL_NAMES.iter().any(|s| lower.contains(s))
        })
        .map(|(here, _)| format!("claim `{here}` looks like personal data"))
        .collect())
}

/// What a string value is, if anything worth a finding: the first matching rule id, and the
/// reason.
fn classify(path: &str, s: &str) -> Option<(&'static str, String)> {
    let shown = shorten(s);
    if EMAIL.is_match(s) {
        Some((
            "email",
            format!("`{path}` holds an email address ({shown})"),
        ))
    } else if is_card_number(s) {
        Some((
            "card-number",
            format!("`{path}` holds what looks like a payment card number"),
        ))
    } else if SSN.is_match(s) {
        Some((
            "national-id",
            format!("`{path}` holds what looks like a national id number"),
        ))
    } else if PHONE.is_match(s) && s.chars().filter(char::is_ascii_digit).count() >= 10 {
        Some((
            "phone-number",
            format!("`{path}` holds what looks like a phone number"),
        ))
    } else if DATE.is_match(s)
        && ["birth", "dob", "born"]
            .iter()
            .any(|b| path.to_ascii_lowercase().contains(b))
    {
        Some(("birth-date", format!("`{path}` holds a birth date")))
    } else if STREET.is_match(s) {
        Some((
            "postal-address",
            format!("`{path}` holds what looks like a postal address"),
        ))
    } else if looks_like_secret(s) {
        Some((
            "high-entropy-value",
            format!("`{path}` holds a random-looking string ({shown}) that may be a secret"),
        ))
    } else {
        None
    }
}

/// The findings of string rule `id`: values that [`classify`] puts under it.
fn strings_of(t: &Token<'_>, id: &str) -> Result<Vec<String>> {
    Ok(t.values
        .iter()
        .filter(|(rule, _)| *rule == id)
        .map(|(_, reason)| reason.clone())
        .collect())
}

/// The HMAC hash of an HS token's algorithm.
fn hmac_of(t: &Token<'_>) -> Option<(Algorithm, hmac::Algorithm)> {
    let alg = t.alg.filter(|a| a.family() == signet::KeyFamily::Hmac)?;
    let hash = match alg {
        Algorithm::HS256 => hmac::HMAC_SHA256,
        Algorithm::HS384 => hmac::HMAC_SHA384,
        _ => hmac::HMAC_SHA512,
    };
    Some((alg, hash))
}

/// The secret of the `--key` given for an HS token.
fn hmac_secret(t: &Token<'_>) -> Result<Option<Vec<u8>>> {
    let (Some(name), Some(_)) = (t.key, hmac_of(t)) else {
        return Ok(None);
    };
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
    Ok(Some(secret))
}

fn weak_hmac_key(t: &Token<'_>) -> Result<Vec<String>> {
    let (Some(secret), Some((alg, hash))) = (hmac_secret(t)?, hmac_of(t)) else {
        return Ok(vec![]);
    };
    let min = hash.digest_algorithm().output_len();
    Ok(when(secret.len() < min, || {
        format!(
            "the {alg} secret is {} bytes; at least {min} are needed",
            secret.len()
        )
    }))
}

fn common_hmac_key(t: &Token<'_>) -> Result<Vec<String>> {
    let Some(secret) = hmac_secret(t)? else {
        return Ok(vec![]);
    };
    Ok(when(
        COMMON_SECRETS
            .lines()
            .any(|c| c.as_bytes() == secret.as_slice()),
        || "the HMAC secret is on the list of well-known secrets".into(),
    ))
}

fn cracked_hmac_key(t: &Token<'_>) -> Result<Vec<String>> {
    let Some((_, hash)) = hmac_of(t).filter(|_| t.key.is_none()) else {
        return Ok(vec![]);
    };
    let (input, sig) = t.raw.rsplit_once('.').unwrap_or_default();
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(sig)
        .unwrap_or_default();
    let signed_with =
        |secret: &[u8]| hmac::verify(&hmac::Key::new(hash, secret), input.as_bytes(), &sig).is_ok();
    Ok(COMMON_SECRETS
        .lines()
        .find(|c| !c.is_empty() && signed_with(c.as_bytes()))
        .map(|found| format!("the token is signed with the well-known secret {found:?}"))
        .into_iter()
        .collect())
}

fn audit(token: &str, key: Option<&str>) -> Result<Report> {
    let parts = dangerous::insecure_inspect(token, MAX_INSPECT)
        .map_err(|e| anyhow!("not a compact JWS: {e}"))?;
    let header = &parts.header;
    let alg_name = header.alg.as_deref().unwrap_or("");
    let payload: Value = serde_json::from_slice(&parts.payload)
        .map_err(|e| anyhow!("the payload is not JSON: {e}"))?;
    let Some(claims) = payload.as_object() else {
        bail!("the payload is not a JSON object of claims");
    };
    // The payload is walked once; the rules read what the walk found.
    let (mut names, mut strings) = (Vec::new(), Vec::new());
    walk("", &payload, &mut names, &mut strings);
    let values = strings
        .into_iter()
        .filter_map(|(path, s)| classify(&path, s))
        .collect();
    let t = Token {
        raw: token,
        header,
        claims,
        alg_name,
        alg: Algorithm::from_name(alg_name),
        key,
        names,
        values,
    };
    let mut report = Report::default();
    for rule in RULES {
        for reason in (rule.check)(&t)? {
            report.add(rule.severity, rule.id, reason, rule.fix);
        }
    }
    Ok(report)
}

/// `signet token lint --list-rules`: the rule table.
pub(crate) fn list_rules() -> Result<()> {
    let mut out = std::io::stdout().lock();
    for rule in RULES {
        let severity = match rule.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        };
        writeln!(
            out,
            "{:<20} {severity:<8} {}\n{:<29} fix: {}",
            rule.id, rule.finds, "", rule.fix
        )
        .context("cannot write")?;
    }
    Ok(())
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
