//! Published keys and rotation.

use std::time::Duration;

use crate::{Issuer, admin, agent, get_json, post, seeded, verify};

fn kid_of(token: &str) -> String {
    signet::UnverifiedToken::parse(token)
        .unwrap()
        .header()
        .kid()
        .unwrap()
        .to_owned()
}

fn token(issuer: &Issuer, secret: &str) -> String {
    let (status, body) = post(
        &issuer.url("/oauth2/token"),
        &[("grant_type", "client_credentials")],
        Some(("backend", secret)),
    );
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

#[test]
fn discovery_and_jwks_are_published_with_cache_lifetimes() {
    let (d, _) = seeded();
    let issuer = Issuer::start(d.path(), |_| {});
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let doc = get_json(&issuer.url(path));
        assert_eq!(doc["issuer"], issuer.base);
        assert_eq!(doc["token_endpoint"], issuer.url("/oauth2/token"));
        assert_eq!(doc["jwks_uri"], issuer.url("/.well-known/jwks.json"));
    }
    let res = agent()
        .get(&issuer.url("/.well-known/jwks.json"))
        .call()
        .unwrap();
    assert_eq!(
        res.headers().get("cache-control").unwrap(),
        "public, max-age=300"
    );
    let jwks = get_json(&issuer.url("/.well-known/jwks.json"));
    let key = &jwks["keys"][0];
    assert_eq!(
        (key["kty"].as_str(), key["alg"].as_str()),
        (Some("EC"), Some("ES256"))
    );
    assert!(key.get("d").is_none(), "no private member is published");
    // The kid is the RFC 7638 thumbprint.
    let jwk: signet::Jwk = serde_json::from_value(key.clone()).unwrap();
    assert_eq!(key["kid"].as_str().unwrap(), jwk.thumbprint().unwrap());
}

#[test]
fn rotation_publishes_first_then_signs_and_old_tokens_keep_verifying() {
    let (d, secret) = seeded();
    let issuer = Issuer::start(d.path(), |c| {
        c.jwks_max_age = Duration::from_secs(1);
        c.key_lead_time = Duration::from_secs(1);
    });
    let old = token(&issuer, &secret);
    // `signet key rotate` with the same key lead time as the issuer: 1 s.
    let new_kid = crate::runtime().block_on(async {
        let mut c = crate::config(d.path());
        c.key_lead_time = Duration::from_secs(1);
        signet_server::Admin::open(&c)
            .await
            .unwrap()
            .rotate_key()
            .await
            .unwrap()
    });
    // Published before it signs.
    std::thread::sleep(Duration::from_millis(400));
    let kids: Vec<String> = get_json(&issuer.url("/.well-known/jwks.json"))["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        kids.contains(&new_kid) && kids.contains(&kid_of(&old)),
        "{kids:?}"
    );
    // Once the lead time has passed and the issuer has reloaded, new tokens carry the new kid.
    std::thread::sleep(Duration::from_millis(1500));
    let new = token(&issuer, &secret);
    assert_eq!(kid_of(&new), new_kid);
    assert!(verify(&issuer, &new).is_ok());
    assert!(
        verify(&issuer, &old).is_ok(),
        "tokens signed by the old key verify until they expire"
    );
    let listed = admin(d.path(), async |a| a.keys().await.unwrap());
    let states: Vec<&str> = listed.iter().map(|k| k.state.name()).collect();
    assert_eq!(states, ["retired", "active"]);
}

#[test]
fn private_keys_are_sealed_in_the_database() {
    let (d, _) = seeded();
    let issuer = Issuer::start(d.path(), |_| {});
    drop(issuer);
    let stored: Vec<Vec<u8>> = match crate::config(d.path()).database_url {
        // PostgreSQL: what the key table holds.
        Some(url) => crate::runtime().block_on(async {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
            let rows: Vec<(Vec<u8>, String)> =
                sqlx::query_as("SELECT sealed, public_jwk FROM signing_keys")
                    .fetch_all(&mut conn)
                    .await
                    .unwrap();
            assert!(!rows.is_empty());
            rows.into_iter()
                .flat_map(|(sealed, public)| [sealed, public.into_bytes()])
                .collect()
        }),
        // SQLite: the whole file and its write-ahead log.
        None => vec![
            std::fs::read(d.path().join("signet.db")).unwrap(),
            std::fs::read(d.path().join("signet.db-wal")).unwrap_or_default(),
        ],
    };
    let needle = b"\"d\":";
    for bytes in &stored {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "a private JWK member is stored in the clear"
        );
    }
    let master = d.path().join("master.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&master).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}

#[test]
fn the_openapi_document_lists_every_endpoint() {
    let (d, _) = seeded();
    let issuer = Issuer::start(d.path(), |_| {});
    let doc = get_json(&issuer.url("/openapi.json"));
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/oauth2/token",
        "/oauth2/revoke",
        "/oauth2/introspect",
        "/oauth2/revocations",
        "/session/login",
        "/session/refresh",
        "/session/logout",
        "/.well-known/openid-configuration",
        "/.well-known/jwks.json",
        "/readyz",
        "/openapi.json",
    ] {
        assert!(paths.contains_key(p), "{p} missing");
    }
    assert!(doc["components"]["schemas"]["TokenResponse"].is_object());
}

#[test]
fn eddsa_rs256_and_ps256_are_selectable_signing_algorithms() {
    for alg in [
        signet::Algorithm::EdDSA,
        signet::Algorithm::RS256,
        signet::Algorithm::PS256,
    ] {
        let (d, secret) = seeded();
        let issuer = Issuer::start(d.path(), move |c| c.signing_alg = alg);
        let token = token(&issuer, &secret);
        assert_eq!(
            signet::UnverifiedToken::parse(&token)
                .unwrap()
                .header()
                .alg(),
            alg
        );
        assert!(verify(&issuer, &token).is_ok(), "{alg}");
    }
    // Anything else is refused at start-up.
    let mut c = crate::config(std::path::Path::new("unused"));
    c.signing_alg = signet::Algorithm::HS256;
    assert!(c.check().is_err());
    c.signing_alg = signet::Algorithm::ES256;
    c.access_lifetime = Duration::from_secs(7200);
    assert!(c.check().unwrap_err().contains("over one hour"));
    c.allow_long_lived_access_tokens = true;
    assert!(c.check().is_ok());
}
