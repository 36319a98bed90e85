//! An axum API behind the guard: keys and revocations come from the issuer, every request is
//! checked locally, and the handler reads the verified claims.
//!
//! Run `signet serve` and add a client for the revocation feed, then:
//! `SIGNET_CLIENT_SECRET=... cargo run -p signet-guard --example axum_api -- http://127.0.0.1:8080 orders-api CLIENT_ID`
//! and call `curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:3000/orders`.

#![allow(clippy::print_stdout)] // an example shows its results on standard output

use axum::Router;
use axum::routing::get;
use signet_guard::{Auth, Guard, GuardLayer, IssuerOptions};

async fn orders(auth: Auth) -> String {
    let scopes: Vec<&str> = auth.scopes().collect();
    format!(
        "orders of {} (scopes: {scopes:?})",
        auth.subject().unwrap_or("nobody")
    )
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(issuer), Some(audience), Some(client)) = (args.next(), args.next(), args.next())
    else {
        return Err(
            "usage: axum_api ISSUER AUDIENCE CLIENT_ID (secret in SIGNET_CLIENT_SECRET)".into(),
        );
    };
    let mut options = IssuerOptions::new(issuer, audience);
    let secret = std::env::var("SIGNET_CLIENT_SECRET")?;
    options.client = Some((client, signet::SecretString::new(secret)));
    let guard = Guard::from_issuer(options).await?;
    let app = Router::new()
        .route("/orders", get(orders))
        .layer(GuardLayer::new(guard));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://127.0.0.1:3000/orders");
    axum::serve(listener, app).await?;
    Ok(())
}
