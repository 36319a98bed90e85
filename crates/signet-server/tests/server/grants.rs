//! The token endpoint's grants.

use std::sync::{Arc, Barrier};
use std::time::Duration;

use crate::{AUD, Issuer, login, post, refresh, seeded, verify};

#[test]
fn client_credentials_issues_an_rfc9068_access_token() {
    let (d, secret) = seeded();
    let issuer = Issuer::start(d.path(), |_| {});
    for basic in [true, false] {
        let (status, body) = if basic {
            post(
                &issuer.url("/oauth2/token"),
                &[("grant_type", "client_credentials")],
                Some(("backend", &secret)),
            )
        } else {
            post(
                &issuer.url("/oauth2/token"),
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", "backend"),
                    ("client_secret", &secret),
                    ("scope", "orders:read"),
                ],
                None,
            )
        };
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 600);
        assert!(
            body.get("refresh_token").is_none(),
            "no refresh token for client credentials"
        );
        let claims = verify(&issuer, body["access_token"].as_str().unwrap()).unwrap();
        assert_eq!(claims.sub.as_deref(), Some("backend"));
        assert_eq!(claims.custom["client_id"], "backend");
        assert!(claims.jti.is_some() && claims.iat.is_some());
        let expected_scope = if basic {
            "orders:read orders:write"
        } else {
            "orders:read"
        };
        assert_eq!(claims.custom["scope"], expected_scope);
    }
    // Another audience the client may ask for.
    let (_, body) = post(
        &issuer.url("/oauth2/token"),
        &[
            ("grant_type", "client_credentials"),
            ("audience", "billing-api"),
        ],
        Some(("backend", &secret)),
    );
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(
        verify(&issuer, token),
        Err(signet::Error::WrongAudience),
        "billing tokens are not for {AUD}"
    );
}

#[test]
fn wrong_client_credentials_are_refused_with_a_challenge() {
    let (d, secret) = seeded();
    let issuer = Issuer::start(d.path(), |_| {});
    let url = issuer.url("/oauth2/token");
    let wrong = format!("{}x", &secret[..secret.len() - 1]);
    for (who, pass) in [("backend", wrong.as_str()), ("nobody", secret.as_str())] {
        let mut res = crate::agent()
            .post(&url)
            .header(
                "authorization",
                &format!("Basic {}", base64_of(&format!("{who}:{pass}"))),
            )
            .send_form([("grant_type", "client_credentials")])
            .unwrap();
        assert_eq!(res.status().as_u16(), 401);
        assert!(res.headers().get("www-authenticate").is_some());
        let body: serde_json::Value =
            serde_json::from_str(&res.body_mut().read_to_string().unwrap()).unwrap();
        assert_eq!(body["error"], "invalid_client");
    }
    // A public client cannot use client credentials; a confidential one only its own grants.
    let (status, body) = post(
        &url,
        &[("grant_type", "client_credentials"), ("client_id", "web")],
        None,
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let (status, body) = post(
        &url,
        &[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", crate::PASSWORD),
        ],
        Some(("backend", &secret)),
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
    let (status, body) = post(
        &url,
        &[("grant_type", "client_credentials"), ("scope", "admin")],
        Some(("backend", &secret)),
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    let (status, body) = post(
        &url,
        &[
            ("grant_type", "client_credentials"),
            ("audience", "other-api"),
        ],
        Some(("backend", &secret)),
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_target"))
    );
}

fn base64_of(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[test]
fn password_login_never_says_whether_the_user_exists() {
    let (d, _) = seeded();
    let issuer = Issuer::start(d.path(), |_| {});
    let body = login(&issuer);
    let claims = verify(&issuer, body["access_token"].as_str().unwrap()).unwrap();
    assert_eq!(claims.custom["roles"], serde_json::json!(["admin"]));
    assert_eq!(claims.custom["client_id"], "web");
    let url = issuer.url("/oauth2/token");
    let attempt = |user: &str, pass: &str| {
        post(
            &url,
            &[
                ("grant_type", "password"),
                ("client_id", "web"),
                ("username", user),
                ("password", pass),
            ],
            None,
        )
    };
    let wrong_password = attempt("alice", "not the password");
    let unknown_user = attempt("mallory", "not the password");
    assert_eq!(wrong_password.0, 400);
    assert_eq!(
        wrong_password, unknown_user,
        "same status and body for both"
    );
}

#[test]
fn refresh_rotates_and_reuse_revokes_the_whole_family() {
    let (d, secret) = seeded();
    let issuer = Issuer::start(d.path(), |c| c.refresh_grace = Duration::ZERO);
    let first = login(&issuer);
    let r1 = first["refresh_token"].as_str().unwrap();
    let (status, second) = refresh(&issuer, r1);
    assert_eq!(status, 200, "{second}");
    let r2 = second["refresh_token"].as_str().unwrap();
    assert_ne!(r1, r2, "every use rotates");
    let access = second["access_token"].as_str().unwrap();
    assert!(verify(&issuer, access).is_ok());
    assert_eq!(crate::introspect(&issuer, &secret, access)["active"], true);
    // The rotated-out token comes back: someone copied it. The family dies.
    let (status, body) = refresh(&issuer, r1);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, _) = refresh(&issuer, r2);
    assert_eq!(status, 400, "the newest token of the family is revoked too");
    assert_eq!(
        crate::introspect(&issuer, &secret, access)["active"],
        false,
        "its access tokens are denied"
    );
    assert_eq!(crate::introspect(&issuer, &secret, r2)["active"], false);
}

#[test]
fn concurrent_refreshes_of_one_token_have_exactly_one_winner() {
    let (d, _) = seeded();
    let issuer = Arc::new(Issuer::start(d.path(), |c| {
        c.refresh_grace = Duration::ZERO
    }));
    let token = login(&issuer)["refresh_token"].as_str().unwrap().to_owned();
    const N: usize = 8;
    let barrier = Arc::new(Barrier::new(N));
    let handles: Vec<_> = (0..N)
        .map(|_| {
            let (issuer, token, barrier) =
                (Arc::clone(&issuer), token.clone(), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                refresh(&issuer, &token).0
            })
        })
        .collect();
    let statuses: Vec<u16> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 400),
        "{statuses:?}"
    );
}

#[test]
fn disabled_or_deleted_users_lose_their_logins() {
    let (d, _) = seeded();
    let issuer = Issuer::start(d.path(), |_| {});
    let token = login(&issuer)["refresh_token"].as_str().unwrap().to_owned();
    crate::admin(d.path(), async |a| a.disable_user("alice").await.unwrap());
    assert_eq!(refresh(&issuer, &token).0, 400);
    let (status, _) = post(
        &issuer.url("/oauth2/token"),
        &[
            ("grant_type", "password"),
            ("client_id", "web"),
            ("username", "alice"),
            ("password", crate::PASSWORD),
        ],
        None,
    );
    assert_eq!(status, 400);
}

#[test]
fn restart_keeps_users_clients_keys_and_refresh_tokens() {
    let (d, secret) = seeded();
    let (token, kid) = {
        let issuer = Issuer::start(d.path(), |_| {});
        let body = login(&issuer);
        let kid = signet::UnverifiedToken::parse(body["access_token"].as_str().unwrap())
            .unwrap()
            .header()
            .kid()
            .map(str::to_owned);
        (body["refresh_token"].as_str().unwrap().to_owned(), kid)
    };
    let issuer = Issuer::start(d.path(), |_| {});
    let (status, body) = refresh(&issuer, &token);
    assert_eq!(status, 200, "{body}");
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(
        signet::UnverifiedToken::parse(access)
            .unwrap()
            .header()
            .kid()
            .map(str::to_owned),
        kid,
        "same key"
    );
    assert!(verify(&issuer, access).is_ok());
    let (status, _) = post(
        &issuer.url("/oauth2/token"),
        &[("grant_type", "client_credentials")],
        Some(("backend", &secret)),
    );
    assert_eq!(status, 200);
}
