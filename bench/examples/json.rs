use std::hint::black_box;
use std::time::Instant;
use std::borrow::Cow;
fn t<T>(name: &str, mut f: impl FnMut() -> T) {
    for _ in 0..3 { let n = 300_000; let s = Instant::now(); for _ in 0..n { black_box(f()); } println!("{name}: {:.0} ns", s.elapsed().as_nanos() as f64 / n as f64); }
}
#[derive(serde::Deserialize)]
struct C<'a> { #[serde(borrow)] iss: Cow<'a,str>, #[serde(borrow)] sub: Cow<'a,str>, #[serde(borrow)] aud: Cow<'a,str>, exp: u64, nbf: u64, iat: u64, #[serde(borrow)] jti: Cow<'a,str>, #[serde(borrow)] client_id: Cow<'a,str>, #[serde(borrow)] scope: Cow<'a,str> }
fn main() {
    let payload = r#"{"iss":"https://auth.example.com","sub":"user-8c1f2d7e-41a5-4f4b-9a51-2b3c","aud":"https://api.example.com","exp":4102444800,"nbf":1794990000,"iat":1794990000,"jti":"5d3a9c1e7b6d4a58b0f2c3d4e5f60718","client_id":"web-frontend","scope":"orders:read orders:write profile"}"#;
    t("serde_json struct", || serde_json::from_str::<C>(payload).unwrap().exp);
    t("sonic_rs struct", || sonic_rs::from_str::<C>(payload).unwrap().exp);
    let mut buf = payload.as_bytes().to_vec();
    t("simd_json struct (copy+parse)", || { let mut b = buf.clone(); simd_json::serde::from_slice::<serde::de::IgnoredAny>(&mut b).is_ok() });
    let _ = &mut buf;
}
