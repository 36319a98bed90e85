use std::hint::black_box;
use std::time::Instant;
use base64::Engine;
fn t<T>(name: &str, mut f: impl FnMut() -> T) {
    for _ in 0..3 { let n = 200_000; let s = Instant::now(); for _ in 0..n { black_box(f()); } println!("{name}: {:.0} ns", s.elapsed().as_nanos() as f64 / n as f64); }
}
fn main() {
    let payload = r#"{"iss":"https://auth.example.com","sub":"user-8c1f2d7e-41a5-4f4b-9a51-2b3c","aud":"https://api.example.com","exp":4102444800,"nbf":1794990000,"iat":1794990000,"jti":"5d3a9c1e7b6d4a58b0f2c3d4e5f60718","client_id":"web-frontend","scope":"orders:read orders:write profile"}"#;
    let e = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(payload);
    t("b64 decode payload", || base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&e).unwrap());
    let key = signet::SigningKey::from_hmac_secret(signet::Algorithm::HS256, &[1u8;32]).unwrap();
    let tok = key.sign_jws_with_header(br#"{"alg":"HS256","typ":"JWT"}"#, payload.as_bytes()).unwrap();
    t("parse", || signet::UnverifiedToken::parse(&tok).unwrap());
    let p = signet::UnverifiedToken::parse(&tok).unwrap();
    #[derive(serde::Deserialize)] struct S<'a> { #[serde(borrow)] client_id: std::borrow::Cow<'a, str>, #[serde(borrow)] scope: std::borrow::Cow<'a,str> }
    t("claims (dangerous decode)", || signet::dangerous::insecure_decode_claims::<S<'_>>(&p).unwrap().custom.scope.len());
    t("claims serde_json Value", || serde_json::from_str::<serde_json::Value>(payload).unwrap());
    t("from_utf8", || std::str::from_utf8(black_box(payload.as_bytes())).unwrap().len());
    t("now", || std::time::SystemTime::now());
    let v = signet::Validation::builder().insecure_any_issuer().insecure_any_audience().insecure_allow_missing_exp().build();
    t("verify (all)", || p.verify::<S<'_>>(key.verifying_key(), &v).unwrap().claims().custom.scope.len());
    t("sign", || key.sign_jws_with_header(br#"{"alg":"HS256","typ":"JWT"}"#, payload.as_bytes()).unwrap());
}
