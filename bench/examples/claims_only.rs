use std::hint::black_box;
use std::borrow::Cow;
#[derive(serde::Deserialize)] struct S<'a> { #[serde(borrow)] client_id: Cow<'a, str>, #[serde(borrow)] scope: Cow<'a,str> }
fn main() {
    let payload = r#"{"iss":"https://auth.example.com","sub":"user-8c1f2d","aud":"https://api.example.com","exp":4102444800,"nbf":1794990000,"iat":1794990000,"jti":"Vd8sK2xq9LmN3pQr7TuWyA","client_id":"web-frontend","scope":"orders:read"}"#;
    let key = signet::SigningKey::from_hmac_secret(signet::Algorithm::HS256, &[1u8;32]).unwrap();
    let tok = key.sign_jws_with_header(br#"{"alg":"HS256","typ":"JWT"}"#, payload.as_bytes()).unwrap();
    let v = signet::Validation::builder().issuer("https://auth.example.com").audience("https://api.example.com").build();
    let mut n = 0;
    for _ in 0..20000 {
        let p = signet::UnverifiedToken::parse(black_box(&tok)).unwrap();
        n += p.verify::<S<'_>>(key.verifying_key(), &v).unwrap().claims().custom.scope.len();
    }
    println!("{n}");
}
