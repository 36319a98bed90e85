//! Verify one token with the keys an issuer publishes: discovery finds its JWKS, the JWKS is
//! fetched once, and the token is checked against it with the issuer and audience required.
//!
//! Run: `cargo run -p signet-guard --example verify_from_jwks_url -- ISSUER AUDIENCE TOKEN`
//! (for instance against `signet serve`: `http://127.0.0.1:8080 orders-api eyJ...`).

#![allow(clippy::print_stdout)] // an example shows its results on standard output

use signet::Validation;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(issuer), Some(audience), Some(token)) = (args.next(), args.next(), args.next())
    else {
        return Err("usage: verify_from_jwks_url ISSUER AUDIENCE TOKEN".into());
    };
    let found = signet_guard::discovery::discover(&issuer).await?;
    let keys = signet_guard::discovery::jwks(&found.jwks_uri).await?;
    let rules = Validation::builder()
        .issuer(issuer)
        .audience(audience)
        .required_typ("at+jwt")
        .build();
    let claims = keys.verify_as::<serde_json::Map<String, serde_json::Value>>(&token, &rules)?;
    println!(
        "valid: sub {:?}, scope {:?}",
        claims.sub,
        claims.custom.get("scope")
    );
    Ok(())
}
