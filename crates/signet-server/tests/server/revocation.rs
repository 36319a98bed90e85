//! RFC 7009 revocation and RFC 7662 introspection.

use crate::{Issuer, introspect, login, post, refresh, seeded};

#[test]
fn revoking_a_refresh_token_ends_its_login() {
    let (d, secret) = seeded();
    let issuer = Issuer::start(d.path(), |_| {});
    let body = login(&issuer);
    let (r, access) = (
        body["refresh_token"].as_str().unwrap(),
        body["access_token"].as_str().unwrap(),
    );
    assert_eq!(
        introspect(&issuer, &secret, r)["token_type"],
        "refresh_token"
    );
    let (status, _) = post(
        &issuer.url("/oauth2/revoke"),
        &[("token", r), ("client_id", "web")],
        None,
    );
    assert_eq!(status, 200);
    assert_eq!(refresh(&issuer, r).0, 400);
    assert_eq!(introspect(&issuer, &secret, r)["active"], false);
    assert_eq!(
        introspect(&issuer, &secret, access)["active"],
        false,
        "the login's access token is denied"
    );
}

#[test]
fn revoking_an_access_token_denies_its_jti_until_it_expires() {
    let (d, secret) = seeded();
    let issuer = Issuer::start(d.path(), |_| {});
    let (_, body) = post(
        &issuer.url("/oauth2/token"),
        &[("grant_type", "client_credentials")],
        Some(("backend", &secret)),
    );
    let access = body["access_token"].as_str().unwrap();
    let info = introspect(&issuer, &secret, access);
    assert_eq!(info["active"], true);
    assert_eq!(info["client_id"], "backend");
    let (status, _) = post(
        &issuer.url("/oauth2/revoke"),
        &[("token", access)],
        Some(("backend", &secret)),
    );
    assert_eq!(status, 200);
    assert_eq!(introspect(&issuer, &secret, access)["active"], false);
}

#[test]
fn unknown_tokens_are_inactive_and_revoking_them_is_harmless() {
    let (d, secret) = seeded();
    let issuer = Issuer::start(d.path(), |_| {});
    for token in ["", "garbage", "a.b.c", &"x".repeat(5000)] {
        let (status, body) = post(
            &issuer.url("/oauth2/introspect"),
            &[("token", token)],
            Some(("backend", &secret)),
        );
        if token.is_empty() {
            assert_eq!(
                (status, body["error"].as_str()),
                (400, Some("invalid_request"))
            );
            continue;
        }
        assert_eq!((status, body["active"].as_bool()), (200, Some(false)));
        let (status, _) = post(
            &issuer.url("/oauth2/revoke"),
            &[("token", token)],
            Some(("backend", &secret)),
        );
        assert_eq!(status, 200);
    }
    // Introspection is for confidential clients only.
    let (status, body) = post(
        &issuer.url("/oauth2/introspect"),
        &[("token", "x"), ("client_id", "web")],
        None,
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
}
