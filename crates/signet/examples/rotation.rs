//! Sign and verify across a key rotation: the verifier trusts a key set holding the old key and
//! the new one, so tokens signed before the rotation keep verifying until they expire, and the
//! `kid` in each token picks its key.
//!
//! Run: `cargo run -p signet --example rotation`

#![allow(clippy::print_stdout)] // an example shows its results on standard output

use std::time::Duration;

use signet::{Algorithm, KeySet, SigningKey, TokenBuilder, Validation};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let old = SigningKey::generate(Algorithm::ES256)?;
    let before = token(&old, "user-1")?;

    // Rotation: a new key signs from now on; the old one stays published for a while.
    let new = SigningKey::generate(Algorithm::ES256)?;
    let after = token(&new, "user-2")?;
    let published = KeySet::new([old.verifying_key().clone(), new.verifying_key().clone()]);

    let rules = Validation::builder()
        .issuer("https://auth.example.com")
        .audience("orders-api")
        .required_typ("at+jwt")
        .build();
    for t in [&before, &after] {
        let claims = published.verify(t, &rules)?;
        println!("verified {:?}", claims.sub);
    }

    // Once the old key's tokens have expired it leaves the set, and so do they.
    let later = KeySet::new([new.verifying_key().clone()]);
    assert_eq!(
        later.verify(&before, &rules).err(),
        Some(signet::Error::UnknownKey)
    );
    println!("a token of the retired key is refused: unknown key");
    Ok(())
}

fn token(key: &SigningKey, sub: &str) -> Result<String, signet::SignError> {
    TokenBuilder::new()
        .issuer("https://auth.example.com")
        .audience("orders-api")
        .subject(sub)
        .typ("at+jwt")
        .expires_in(Duration::from_secs(600))
        .sign(key)
}
