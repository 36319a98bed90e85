//! Regression tests for the adversarial review's findings, each named after the attack (or the
//! failure) it stops.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::{Issuer, PASSWORD, admin, agent, introspect, login, post, refresh, seeded};

fn token_of(body: &serde_json::Value, name: &str) -> String {
    body[name].as_str().unwrap().to_owned()
}

#[test]
fn refresh_with_a_bad_scope_or_another_client_does_not_burn_the_token() {
    let (d, _) = seeded();
    admin(d.path(), async |a| {
        a.add_client(
            "other",
            true,
            None,
            vec![],
            vec!["orders:read".into()],
            vec![crate::AUD.into()],
        )
        .await
        .unwrap()
    });
    let issuer = Issuer::start(d.path(), |c| c.refresh_grace = Duration::ZERO);
    let r = token_of(&login(&issuer), "refresh_token");
    let url = issuer.url("/oauth2/token");
    let bad_scope = post(
        &url,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "web"),
            ("refresh_token", &r),
            ("scope", "orders:admin"),
        ],
        None,
    );
    assert_eq!(
        (bad_scope.0, bad_scope.1["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    let wrong_client = post(
        &url,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "other"),
            ("refresh_token", &r),
        ],
        None,
    );
    assert_eq!(wrong_client.0, 400);
    let (status, body) = refresh(&issuer, &r);
    assert_eq!(status, 200, "the honest retry still works: {body}");
}

#[test]
fn lost_refresh_answer_retried_within_the_grace_keeps_the_login_with_one_live_token() {
    let (d, _) = seeded();
    let issuer = Issuer::start(d.path(), |_| {}); // the default grace, 10 s
    let r0 = token_of(&login(&issuer), "refresh_token");
    let (s1, first) = refresh(&issuer, &r0);
    assert_eq!(s1, 200);
    let r1 = token_of(&first, "refresh_token");
    // The answer was lost: the client presents r0 again.
    let (s2, second) = refresh(&issuer, &r0);
    assert_eq!(s2, 200, "{second}");
    let r2 = token_of(&second, "refresh_token");
    assert_ne!(r1, r2);
    // One live token at the end: r1 was discarded, r2 works.
    let (dead, _) = refresh(&issuer, &r1);
    assert_eq!(dead, 400, "the discarded successor does not work");
    let (live, third) = refresh(&issuer, &r2);
    assert_eq!(live, 200, "{third}");
}

#[test]
fn stolen_refresh_token_replayed_after_the_grace_revokes_the_family() {
    let (d, _) = seeded();
    let clock = crate::MovableClock::new();
    let issuer = Issuer::start(d.path(), {
        let clock = clock.clone();
        move |c| {
            c.refresh_grace = Duration::from_secs(1);
            c.clock = clock;
        }
    });
    let r0 = token_of(&login(&issuer), "refresh_token");
    let (_, first) = refresh(&issuer, &r0);
    let r1 = token_of(&first, "refresh_token");
    clock.advance(Duration::from_secs(2));
    assert_eq!(refresh(&issuer, &r0).0, 400, "replay after the grace");
    assert_eq!(refresh(&issuer, &r1).0, 400, "the family is revoked");
}

#[test]
fn replaying_a_rotated_token_whose_successor_was_used_revokes_the_family_even_in_grace() {
    let (d, _) = seeded();
    let issuer = Issuer::start(d.path(), |_| {});
    let r0 = token_of(&login(&issuer), "refresh_token");
    let r1 = token_of(&refresh(&issuer, &r0).1, "refresh_token");
    let r2 = token_of(&refresh(&issuer, &r1).1, "refresh_token");
    assert_eq!(refresh(&issuer, &r0).0, 400);
    assert_eq!(refresh(&issuer, &r2).0, 400, "the family is revoked");
}

#[test]
fn introspection_by_a_client_that_does_not_own_the_token_learns_nothing() {
    let (d, secret) = seeded();
    let spy = admin(d.path(), async |a| {
        a.add_client(
            "spy",
            false,
            None,
            vec!["client_credentials".into()],
            vec![],
            vec!["spy-api".into()],
        )
        .await
        .unwrap()
        .secret
        .unwrap()
        .to_string()
    });
    let issuer = Issuer::start(d.path(), |_| {});
    let body = login(&issuer);
    for token in [
        token_of(&body, "access_token"),
        token_of(&body, "refresh_token"),
    ] {
        let (status, answer) = post(
            &issuer.url("/oauth2/introspect"),
            &[("token", &token)],
            Some(("spy", &spy)),
        );
        assert_eq!(status, 200);
        assert_eq!(answer, serde_json::json!({"active": false}));
        // The resource server registered for the token's audience still sees it.
        assert_eq!(introspect(&issuer, &secret, &token)["active"], true);
    }
}

#[test]
fn deleted_client_keeps_no_live_client_credentials_token() {
    let (d, secret) = seeded();
    let doomed = admin(d.path(), async |a| {
        a.add_client(
            "doomed",
            false,
            None,
            vec!["client_credentials".into()],
            vec![],
            vec![crate::AUD.into()],
        )
        .await
        .unwrap()
        .secret
        .unwrap()
        .to_string()
    });
    let issuer = Issuer::start(d.path(), |_| {});
    let (status, body) = post(
        &issuer.url("/oauth2/token"),
        &[("grant_type", "client_credentials")],
        Some(("doomed", &doomed)),
    );
    assert_eq!(status, 200);
    let access = token_of(&body, "access_token");
    assert_eq!(introspect(&issuer, &secret, &access)["active"], true);
    admin(d.path(), async |a| a.delete_client("doomed").await.unwrap());
    assert_eq!(
        introspect(&issuer, &secret, &access)["active"],
        false,
        "the deleted client's token is denied"
    );
    let page = crate::revocation::feed(&issuer, &secret, 0);
    assert!(
        page["revocations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["client_id"] == "doomed" && e["issued_before"].is_i64()),
        "a client cutoff is in the feed: {page}"
    );
}

fn base64_of(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[test]
fn revoking_an_already_rotated_refresh_token_still_ends_its_login() {
    let (d, _) = seeded();
    let issuer = Issuer::start(d.path(), |_| {});
    let r0 = token_of(&login(&issuer), "refresh_token");
    let r1 = token_of(&refresh(&issuer, &r0).1, "refresh_token");
    let (status, _) = post(
        &issuer.url("/oauth2/revoke"),
        &[("client_id", "web"), ("token", &r0)],
        None,
    );
    assert_eq!(status, 200);
    assert_eq!(refresh(&issuer, &r1).0, 400, "the family is revoked");
}

#[test]
fn refresh_after_the_clients_scopes_were_reduced_grants_only_what_is_left() {
    let (d, _) = seeded();
    admin(d.path(), async |a| {
        a.set_client_scopes("web", vec!["orders:read".into(), "orders:write".into()])
            .await
            .unwrap()
    });
    let issuer = Issuer::start(d.path(), |_| {});
    let body = login(&issuer);
    assert_eq!(body["scope"], "orders:read orders:write");
    admin(d.path(), async |a| {
        a.set_client_scopes("web", vec!["orders:read".into()])
            .await
            .unwrap()
    });
    std::thread::sleep(Duration::from_millis(1200)); // the issuer's client cache
    let (status, refreshed) = refresh(&issuer, &token_of(&body, "refresh_token"));
    assert_eq!(status, 200, "{refreshed}");
    assert_eq!(refreshed["scope"], "orders:read");
}

#[test]
fn metrics_are_not_public_on_the_api_listener() {
    let (d, _) = seeded();
    let issuer = Issuer::start(d.path(), |_| {});
    let res = agent().get(&issuer.url("/metrics")).call().unwrap();
    assert_eq!(res.status().as_u16(), 404);
    let with_token = Issuer::start(d.path(), |c| {
        c.metrics_token = Some(signet::SecretString::new("right-token".into()))
    });
    let res = agent()
        .get(&with_token.url("/metrics"))
        .header("authorization", "Bearer wrong-token")
        .call()
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
}

#[test]
fn data_directory_and_database_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("data");
    let issuer = Issuer::start(&dir, |_| {});
    login_fails_cleanly(&issuer);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    for f in ["signet.db", "signet.db-wal", "signet.db-shm", "master.key"] {
        let p = dir.join(f);
        if p.exists() {
            assert_eq!(mode(&p), 0o600, "{f}");
        }
    }
    drop(issuer);
    // A directory other users can read is refused, with a message that says what to do.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let err = crate::runtime()
        .block_on(signet_server::AppState::open(crate::config(&dir)))
        .unwrap_err();
    assert!(format!("{err:#}").contains("chmod 700"), "{err:#}");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::set_permissions(
        dir.join("master.key"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let err = crate::runtime()
        .block_on(signet_server::AppState::open(crate::config(&dir)))
        .unwrap_err();
    assert!(format!("{err:#}").contains("chmod 600"), "{err:#}");
}

fn login_fails_cleanly(issuer: &Issuer) {
    let (status, _) = post(
        &issuer.url("/oauth2/token"),
        &[
            ("grant_type", "password"),
            ("client_id", "nobody"),
            ("username", "a"),
            ("password", PASSWORD),
        ],
        None,
    );
    assert_eq!(status, 401);
}

#[test]
fn slowloris_header_trickle_is_cut_off() {
    let (d, _) = seeded();
    let issuer = Issuer::start(d.path(), |c| {
        c.connections.header_read_timeout = Duration::from_secs(1);
    });
    let addr = issuer.base.trim_start_matches("http://").to_owned();
    let mut s = TcpStream::connect(&addr).unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let started = Instant::now();
    let mut dripping = true;
    while dripping && started.elapsed() < Duration::from_secs(6) {
        std::thread::sleep(Duration::from_millis(300));
        dripping = s.write_all(b"X-Drip: 1\r\n").is_ok();
    }
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "the trickling connection stayed open"
    );
}

#[test]
fn stalled_request_body_is_cut_off_at_the_idle_timeout() {
    let (d, _) = seeded();
    let issuer = Issuer::start(d.path(), |c| {
        c.connections.idle_timeout = Duration::from_secs(1);
    });
    let addr = issuer.base.trim_start_matches("http://").to_owned();
    let mut s = TcpStream::connect(&addr).unwrap();
    // Headers promise a body, a little of it comes, then nothing.
    s.write_all(b"POST /oauth2/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant_type")
        .unwrap();
    let started = Instant::now();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let held = started.elapsed();
    assert!(
        held >= Duration::from_millis(900) && held < Duration::from_secs(4),
        "the stalled connection was held {held:?}"
    );
}

#[test]
fn connection_flood_over_the_cap_gets_503_not_a_hang() {
    let (d, _) = seeded();
    let issuer = Issuer::start(d.path(), |c| c.connections.max_connections = 2);
    let addr = issuer.base.trim_start_matches("http://").to_owned();
    let _held: Vec<TcpStream> = (0..2).map(|_| TcpStream::connect(&addr).unwrap()).collect();
    std::thread::sleep(Duration::from_millis(200));
    let mut third = TcpStream::connect(&addr).unwrap();
    third
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut answer = String::new();
    let _ = third.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("retry-after"), "{answer}");
}

#[test]
fn huge_user_names_are_refused_before_hashing_or_counting() {
    let (d, _) = seeded();
    let issuer = Issuer::start(d.path(), |_| {});
    let name = "u".repeat(60_000);
    let (status, body) = post(
        &issuer.url("/oauth2/token"),
        &[
            ("grant_type", "password"),
            ("client_id", "web"),
            ("username", &name),
            ("password", PASSWORD),
        ],
        None,
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );
}

#[test]
fn revocation_stays_in_the_feed_past_exp_for_the_verifiers_leeway() {
    let (d, secret) = seeded();
    let clock = crate::MovableClock::new();
    let issuer = Issuer::start(d.path(), {
        let clock = clock.clone();
        move |c| c.clock = clock
    });
    let body = login(&issuer);
    let (status, _) = post(
        &issuer.url("/oauth2/revoke"),
        &[
            ("client_id", "web"),
            ("token", &token_of(&body, "refresh_token")),
        ],
        None,
    );
    assert_eq!(status, 200);
    // The access token (10 minutes) has expired, but a verifier allowing leeway could still
    // take it: the feed keeps its revocation for the retention (120 s) past exp.
    clock.advance(Duration::from_secs(600 + 100));
    let page = crate::revocation::feed(&issuer, &secret, 0);
    assert_eq!(page["revocations"].as_array().unwrap().len(), 1, "{page}");
    assert_eq!(page["retention_seconds"], 120);
    // Past exp plus the retention no verifier accepts the token: the entry goes.
    clock.advance(Duration::from_secs(30));
    let page = crate::revocation::feed(&issuer, &secret, 0);
    assert_eq!(page["revocations"], serde_json::json!([]), "{page}");
}

#[test]
fn too_many_revocation_streams_from_one_client_are_refused() {
    let (d, secret) = seeded();
    let issuer = Issuer::start(d.path(), |c| c.max_streams_per_client = 1);
    let open = || {
        agent()
            .get(&issuer.url("/oauth2/revocations"))
            .header(
                "authorization",
                &format!("Basic {}", base64_of(&format!("backend:{secret}"))),
            )
            .header("accept", "text/event-stream")
            .call()
            .unwrap()
    };
    let first = open();
    assert_eq!(first.status().as_u16(), 200);
    let second = open();
    assert_eq!(second.status().as_u16(), 429);
    assert!(second.headers().get("retry-after").is_some());
    drop(first);
}

#[test]
fn login_flood_beyond_the_hashing_slots_gets_503_with_retry_after() {
    let (d, _) = seeded();
    let issuer = std::sync::Arc::new(Issuer::start(d.path(), |c| {
        c.max_concurrent_hashes = 1;
        c.max_hash_wait = Duration::ZERO;
        c.login_attempts_per_user = 1000;
        c.login_attempts_per_address = 1000;
    }));
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(6));
    let answers: Vec<(u16, Option<String>)> = (0..6)
        .map(|i| {
            let (issuer, barrier) = (
                std::sync::Arc::clone(&issuer),
                std::sync::Arc::clone(&barrier),
            );
            std::thread::spawn(move || {
                barrier.wait();
                let res = agent()
                    .post(&issuer.url("/oauth2/token"))
                    .send_form([
                        ("grant_type", "password"),
                        ("client_id", "web"),
                        ("username", format!("nobody-{i}").as_str()),
                        ("password", "wrong password"),
                    ])
                    .unwrap();
                let retry = res
                    .headers()
                    .get("retry-after")
                    .map(|v| v.to_str().unwrap().to_owned());
                (res.status().as_u16(), retry)
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();
    assert!(
        answers.iter().all(|(s, _)| *s == 400 || *s == 503),
        "{answers:?}"
    );
    let busy: Vec<_> = answers.iter().filter(|(s, _)| *s == 503).collect();
    assert!(!busy.is_empty(), "no login was turned away: {answers:?}");
    assert!(
        busy.iter().all(|(_, r)| r.as_deref() == Some("1")),
        "{answers:?}"
    );
}
