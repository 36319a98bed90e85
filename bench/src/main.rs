//! Signet against the Rust JWT crates people use today and against the raw aws-lc-rs
//! primitive, on the same token with the same checks, in one run. Prints a Markdown table.
//!
//! Run: `cargo run --release --manifest-path bench/Cargo.toml`

use std::borrow::Cow;
use std::collections::HashSet;
use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use serde::{Deserialize, Serialize};

const ISS: &str = "https://auth.example.com";
const AUD: &str = "https://api.example.com";
const ROUNDS: usize = 41;
const SAMPLE: Duration = Duration::from_millis(8);

/// The nine claims every library reads, owned (what the peers' APIs produce).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct AccessClaims {
    iss: String,
    sub: String,
    aud: String,
    exp: u64,
    nbf: u64,
    iat: u64,
    jti: String,
    client_id: String,
    scope: String,
}

/// The two custom claims, borrowed from the token (Signet's borrowing path).
#[derive(Debug, Serialize, Deserialize)]
struct Scoped<'a> {
    #[serde(borrow)]
    client_id: Cow<'a, str>,
    #[serde(borrow)]
    scope: Cow<'a, str>,
}

/// The two custom claims, owned.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ScopedOwned {
    client_id: String,
    scope: String,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn claims() -> AccessClaims {
    let now = now();
    AccessClaims {
        iss: ISS.into(),
        sub: "user-8c1f2d".into(),
        aud: AUD.into(),
        exp: now + 3600,
        nbf: now - 10,
        iat: now - 10,
        jti: "Vd8sK2xq9LmN3pQr7TuWyA".into(),
        client_id: "web-frontend".into(),
        scope: "orders:read".into(),
    }
}

fn signet_claims(c: &AccessClaims) -> signet::Claims<'_, Scoped<'_>> {
    let mut s = signet::Claims::with_custom(Scoped {
        client_id: Cow::Borrowed(&c.client_id),
        scope: Cow::Borrowed(&c.scope),
    });
    s.iss = Some(Cow::Borrowed(&c.iss));
    s.sub = Some(Cow::Borrowed(&c.sub));
    s.aud = Some(signet::Audience::One(Cow::Borrowed(&c.aud)));
    s.exp = signet::NumericDate::from_secs(c.exp);
    s.nbf = signet::NumericDate::from_secs(c.nbf);
    s.iat = signet::NumericDate::from_secs(c.iat);
    s.jti = Some(Cow::Borrowed(&c.jti));
    s
}

struct Case<'a> {
    name: &'static str,
    run: Box<dyn FnMut() -> usize + 'a>,
    iters: u64,
    samples: Vec<f64>,
}

fn case<'a>(name: &'static str, run: impl FnMut() -> usize + 'a) -> Case<'a> {
    Case {
        name,
        run: Box::new(run),
        iters: 0,
        samples: Vec::new(),
    }
}

/// One measured implementation: median time per operation, and the median over rounds of its
/// speed relative to the baseline measured in the same round.
struct Row {
    name: &'static str,
    ns: f64,
    ratio: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Measures the cases of one group in interleaved rounds (each round samples every case once,
/// so drift in the machine's speed hits all of them alike).
fn measure(group: &str, baseline: &str, mut cases: Vec<Case<'_>>) -> Vec<Row> {
    for c in &mut cases {
        assert!((c.run)() > 0, "{group}/{}: the case failed", c.name);
        let mut n = 1u64;
        loop {
            let t = Instant::now();
            for _ in 0..n {
                black_box((c.run)());
            }
            let spent = t.elapsed();
            if spent >= SAMPLE / 4 {
                c.iters = (n as f64 * SAMPLE.as_secs_f64() / spent.as_secs_f64()).max(1.0) as u64;
                break;
            }
            n *= 2;
        }
    }
    for _ in 0..ROUNDS {
        for c in &mut cases {
            let t = Instant::now();
            for _ in 0..c.iters {
                black_box((c.run)());
            }
            c.samples
                .push(t.elapsed().as_nanos() as f64 / c.iters as f64);
        }
    }
    let base = cases
        .iter()
        .position(|c| c.name == baseline)
        .expect("baseline case");
    let base_samples = cases[base].samples.clone();
    cases
        .into_iter()
        .map(|c| {
            let ratios = base_samples
                .iter()
                .zip(&c.samples)
                .map(|(b, x)| b / x)
                .collect();
            Row {
                name: c.name,
                ns: median(c.samples),
                ratio: median(ratios),
            }
        })
        .collect()
}

fn report(title: &str, baseline: &str, rows: &[Row]) {
    println!("\n### {title}\n");
    println!("| implementation | time per op | speed relative to {baseline} |");
    println!("|---|---:|---:|");
    for r in rows {
        let time = if r.ns >= 1000.0 {
            format!("{:.2} µs", r.ns / 1000.0)
        } else {
            format!("{:.0} ns", r.ns)
        };
        println!("| {} | {time} | {:.3}x |", r.name, r.ratio);
    }
}

fn b64d(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .unwrap_or_default()
}

fn split(token: &str) -> (&str, Vec<u8>) {
    let (input, sig) = token.rsplit_once('.').unwrap_or_default();
    (input, b64d(sig))
}

fn jwt_simple_options() -> jwt_simple::prelude::VerificationOptions {
    jwt_simple::prelude::VerificationOptions {
        allowed_issuers: Some(HashSet::from([ISS.to_string()])),
        allowed_audiences: Some(HashSet::from([AUD.to_string()])),
        ..Default::default()
    }
}

fn jsonwebtoken_validation(alg: jsonwebtoken::Algorithm) -> jsonwebtoken::Validation {
    let mut v = jsonwebtoken::Validation::new(alg);
    v.set_issuer(&[ISS]);
    v.set_audience(&[AUD]);
    v
}

fn josekit_validator() -> josekit::jwt::JwtPayloadValidator {
    let mut v = josekit::jwt::JwtPayloadValidator::new();
    v.set_issuer(ISS);
    v.set_audience(AUD);
    v.set_base_time(SystemTime::now());
    v
}

fn signet_validation() -> signet::Validation {
    signet::Validation::builder()
        .issuer(ISS)
        .audience(AUD)
        .build()
}

/// The naive floor the issue names: split, base64-decode, HMAC, header as a
/// `serde_json::Value`, typed claims, then iss, aud and exp.
fn naive_hs256(token: &str, key: &aws_lc_rs::hmac::Key) -> Option<AccessClaims> {
    let mut parts = token.split('.');
    let (h, p, s) = (parts.next()?, parts.next()?, parts.next()?);
    let header: serde_json::Value = serde_json::from_slice(&b64d(h)).ok()?;
    if header["alg"] != "HS256" {
        return None;
    }
    let sig = b64d(s);
    aws_lc_rs::hmac::verify(key, &token.as_bytes()[..h.len() + 1 + p.len()], &sig).ok()?;
    let c: AccessClaims = serde_json::from_slice(&b64d(p)).ok()?;
    (c.iss == ISS && c.aud == AUD && c.exp > now()).then_some(c)
}

fn hs256(c: &AccessClaims) {
    let secret = b"a 32-byte secret for the bench..";
    let signet_key =
        signet::SigningKey::from_hmac_secret(signet::Algorithm::HS256, secret).unwrap();
    let signer = signet_key.signer();
    let sc = signet_claims(c);
    let token = signer.sign(&sc).unwrap();
    println!("\nToken: {} bytes, 9 claims, HS256.", token.len());
    let v = signet_validation();
    let vk = signet_key.verifying_key();
    let jwt_dec = jsonwebtoken::DecodingKey::from_secret(secret).unwrap();
    let jwt_enc = jsonwebtoken::EncodingKey::from_secret(secret).unwrap();
    let jwt_val = jsonwebtoken_validation(jsonwebtoken::Algorithm::HS256);
    let simple = jwt_simple::prelude::HS256Key::from_bytes(secret);
    let simple_opts = jwt_simple_options();
    let jose_verifier = josekit::jws::HS256.verifier_from_bytes(secret).unwrap();
    let jose_signer = josekit::jws::HS256.signer_from_bytes(secret).unwrap();
    let hmac = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    let (input, sig) = split(&token);

    use jwt_simple::prelude::MACLike;
    let verify = measure(
        "HS256 verify",
        "jsonwebtoken 12 (aws_lc_rs)",
        vec![
            case("signet (borrowed claims)", || {
                let t = signet::UnverifiedToken::parse(&token).unwrap();
                let v = t.verify_as::<Scoped<'_>>(vk, &v).unwrap();
                v.claims().custom.scope.len()
            }),
            case("signet (owned claims)", || {
                vk.verify_as::<ScopedOwned>(&token, &v)
                    .unwrap()
                    .custom
                    .scope
                    .len()
            }),
            case("jsonwebtoken 12 (aws_lc_rs)", || {
                jsonwebtoken::decode::<AccessClaims>(&token, &jwt_dec, &jwt_val)
                    .unwrap()
                    .claims
                    .scope
                    .len()
            }),
            case("jwt-simple 0.15 (pure-rust)", || {
                simple
                    .verify_token::<ScopedOwned>(&token, Some(simple_opts.clone()))
                    .unwrap()
                    .custom
                    .scope
                    .len()
            }),
            case("josekit 0.10", || {
                let (p, _) = josekit::jwt::decode_with_verifier(&token, &*jose_verifier).unwrap();
                josekit_validator().validate(&p).unwrap();
                p.claims_set().len()
            }),
            case("naive floor", || {
                naive_hs256(&token, &hmac).unwrap().scope.len()
            }),
            case("HMAC alone (aws-lc-rs)", || {
                aws_lc_rs::hmac::verify(&hmac, input.as_bytes(), &sig)
                    .map(|()| 1)
                    .unwrap()
            }),
        ],
    );
    report(
        "HS256 verify with validation (signature, iss, aud, exp)",
        "jsonwebtoken 12 (aws_lc_rs)",
        &verify,
    );

    let simple_claims = jwt_simple::prelude::JWTClaims {
        issued_at: Some(jwt_simple::prelude::UnixTimeStamp::from_secs(c.iat)),
        expires_at: Some(jwt_simple::prelude::UnixTimeStamp::from_secs(c.exp)),
        invalid_before: Some(jwt_simple::prelude::UnixTimeStamp::from_secs(c.nbf)),
        issuer: Some(c.iss.clone()),
        subject: Some(c.sub.clone()),
        audiences: Some(jwt_simple::prelude::Audiences::AsString(c.aud.clone())),
        jwt_id: Some(c.jti.clone()),
        nonce: None,
        custom: ScopedOwned {
            client_id: c.client_id.clone(),
            scope: c.scope.clone(),
        },
    };
    let mut jose_payload = josekit::jwt::JwtPayload::from_map(
        serde_json::to_value(c)
            .unwrap()
            .as_object()
            .unwrap()
            .clone(),
    )
    .unwrap();
    jose_payload.set_issuer(ISS);
    let mut jose_header = josekit::jws::JwsHeader::new();
    jose_header.set_token_type("JWT");
    let jwt_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    let sign = measure(
        "HS256 sign",
        "jsonwebtoken 12 (aws_lc_rs)",
        vec![
            case("signet (Signer)", || signer.sign(&sc).unwrap().len()),
            case("jsonwebtoken 12 (aws_lc_rs)", || {
                jsonwebtoken::encode(&jwt_header, c, &jwt_enc)
                    .unwrap()
                    .len()
            }),
            case("jwt-simple 0.15 (pure-rust)", || {
                simple.authenticate(simple_claims.clone()).unwrap().len()
            }),
            case("josekit 0.10", || {
                josekit::jwt::encode_with_signer(&jose_payload, &jose_header, &*jose_signer)
                    .unwrap()
                    .len()
            }),
            case("HMAC alone (aws-lc-rs)", || {
                aws_lc_rs::hmac::sign(&hmac, input.as_bytes())
                    .as_ref()
                    .len()
            }),
        ],
    );
    report(
        "HS256 sign (same 9 claims)",
        "jsonwebtoken 12 (aws_lc_rs)",
        &sign,
    );
}

/// One asymmetric algorithm: Signet, the peers and the raw aws-lc-rs verification.
fn asymmetric(c: &AccessClaims, alg: signet::Algorithm) {
    let key = signet::SigningKey::generate(alg).unwrap();
    let sc = signet_claims(c);
    let token = key.sign(&sc).unwrap();
    let v = signet_validation();
    let vk = key.verifying_key();
    let pem = vk.to_spki_pem().unwrap();
    let jwk = vk.to_jwk().unwrap();
    let (input, sig) = split(&token);

    use jwt_simple::prelude::{ECDSAP256PublicKeyLike, EdDSAPublicKeyLike, RSAPublicKeyLike};
    let (jwt_alg, jwt_dec, raw, jose_verifier): (
        _,
        _,
        aws_lc_rs::signature::ParsedPublicKey,
        Box<dyn josekit::jws::JwsVerifier>,
    ) = match alg {
        signet::Algorithm::ES256 => {
            let point = [
                vec![4u8],
                b64d(jwk.x.as_deref().unwrap()),
                b64d(jwk.y.as_deref().unwrap()),
            ]
            .concat();
            (
                jsonwebtoken::Algorithm::ES256,
                jsonwebtoken::DecodingKey::from_ec_pem(pem.as_bytes()).unwrap(),
                aws_lc_rs::signature::ParsedPublicKey::new(
                    &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED,
                    point,
                )
                .unwrap(),
                Box::new(
                    josekit::jws::ES256
                        .verifier_from_pem(pem.as_bytes())
                        .unwrap(),
                ),
            )
        }
        signet::Algorithm::EdDSA => (
            jsonwebtoken::Algorithm::EdDSA,
            jsonwebtoken::DecodingKey::from_ed_pem(pem.as_bytes()).unwrap(),
            aws_lc_rs::signature::ParsedPublicKey::new(
                &aws_lc_rs::signature::ED25519,
                b64d(jwk.x.as_deref().unwrap()),
            )
            .unwrap(),
            Box::new(
                josekit::jws::EdDSA
                    .verifier_from_pem(pem.as_bytes())
                    .unwrap(),
            ),
        ),
        _ => {
            let (n, e) = (
                b64d(jwk.n.as_deref().unwrap()),
                b64d(jwk.e.as_deref().unwrap()),
            );
            (
                jsonwebtoken::Algorithm::RS256,
                jsonwebtoken::DecodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
                aws_lc_rs::rsa::PublicKeyComponents {
                    n: &n[..],
                    e: &e[..],
                }
                .to_parsed_public_key(&aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256)
                .unwrap(),
                Box::new(
                    josekit::jws::RS256
                        .verifier_from_pem(pem.as_bytes())
                        .unwrap(),
                ),
            )
        }
    };
    let jwt_val = jsonwebtoken_validation(jwt_alg);
    let opts = jwt_simple_options();
    let simple: Box<dyn Fn() -> usize> = match alg {
        signet::Algorithm::ES256 => {
            let k = jwt_simple::prelude::ES256PublicKey::from_pem(&pem).unwrap();
            let t = token.clone();
            Box::new(move || {
                k.verify_token::<ScopedOwned>(&t, Some(opts.clone()))
                    .map_or(0, |c| c.custom.scope.len())
            })
        }
        signet::Algorithm::EdDSA => {
            let k = jwt_simple::prelude::Ed25519PublicKey::from_pem(&pem).unwrap();
            let t = token.clone();
            Box::new(move || {
                k.verify_token::<ScopedOwned>(&t, Some(opts.clone()))
                    .map_or(0, |c| c.custom.scope.len())
            })
        }
        _ => {
            let k = jwt_simple::prelude::RS256PublicKey::from_pem(&pem).unwrap();
            let t = token.clone();
            Box::new(move || {
                k.verify_token::<ScopedOwned>(&t, Some(opts.clone()))
                    .map_or(0, |c| c.custom.scope.len())
            })
        }
    };
    let rows = measure(
        alg.name(),
        "raw aws-lc-rs verify",
        vec![
            case("signet (borrowed claims)", || {
                let t = signet::UnverifiedToken::parse(&token).unwrap();
                t.verify_as::<Scoped<'_>>(vk, &v)
                    .unwrap()
                    .claims()
                    .custom
                    .scope
                    .len()
            }),
            case("jsonwebtoken 12 (aws_lc_rs)", || {
                jsonwebtoken::decode::<AccessClaims>(&token, &jwt_dec, &jwt_val)
                    .unwrap()
                    .claims
                    .scope
                    .len()
            }),
            case("jwt-simple 0.15 (pure-rust)", || simple()),
            case("josekit 0.10", || {
                let (p, _) = josekit::jwt::decode_with_verifier(&token, &*jose_verifier).unwrap();
                josekit_validator().validate(&p).unwrap();
                p.claims_set().len()
            }),
            case("raw aws-lc-rs verify", || {
                raw.verify_sig(input.as_bytes(), &sig).map(|()| 1).unwrap()
            }),
        ],
    );
    report(
        &format!("{} verify with validation", alg.name()),
        "raw aws-lc-rs verify",
        &rows,
    );
}

fn main() {
    let c = claims();
    println!("Signet benchmark: one run, same token and checks for every implementation.");
    println!(
        "Median of {ROUNDS} interleaved samples of ~{} ms each.",
        SAMPLE.as_millis()
    );
    hs256(&c);
    for alg in [
        signet::Algorithm::ES256,
        signet::Algorithm::EdDSA,
        signet::Algorithm::RS256,
    ] {
        asymmetric(&c, alg);
    }
}
