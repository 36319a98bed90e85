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

fn client_token(issuer: &Issuer, secret: &str) -> String {
    let (_, body) = post(
        &issuer.url("/oauth2/token"),
        &[("grant_type", "client_credentials")],
        Some(("backend", secret)),
    );
    body["access_token"].as_str().unwrap().to_owned()
}

fn jti_of(token: &str) -> String {
    let parsed = signet::UnverifiedToken::parse(token).unwrap();
    signet::dangerous::insecure_decode_claims::<()>(&parsed)
        .unwrap()
        .jti
        .unwrap()
        .into_owned()
}

pub(crate) fn feed(issuer: &Issuer, secret: &str, after: i64) -> serde_json::Value {
    use base64::Engine;
    let cred = base64::engine::general_purpose::STANDARD.encode(format!("backend:{secret}"));
    let mut res = crate::agent()
        .get(&issuer.url(&format!("/oauth2/revocations?after={after}")))
        .header("authorization", &format!("Basic {cred}"))
        .call()
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    serde_json::from_str(&res.body_mut().read_to_string().unwrap()).unwrap()
}

#[test]
fn the_feed_lists_denied_jtis_after_a_cursor() {
    let (d, secret) = seeded();
    let issuer = Issuer::start(d.path(), |_| {});
    assert_eq!(
        feed(&issuer, &secret, 0)["revocations"],
        serde_json::json!([])
    );
    let first = client_token(&issuer, &secret);
    post(
        &issuer.url("/oauth2/revoke"),
        &[("token", &first)],
        Some(("backend", &secret)),
    );
    let page = feed(&issuer, &secret, 0);
    assert_eq!(page["revocations"][0]["jti"], jti_of(&first));
    assert!(page["revocations"][0]["exp"].as_i64().unwrap() > 0);
    let cursor = page["cursor"].as_i64().unwrap();
    let second = client_token(&issuer, &secret);
    post(
        &issuer.url("/oauth2/revoke"),
        &[("token", &second)],
        Some(("backend", &secret)),
    );
    let next = feed(&issuer, &secret, cursor);
    assert_eq!(next["revocations"].as_array().unwrap().len(), 1);
    assert_eq!(next["revocations"][0]["jti"], jti_of(&second));
    // Without client authentication there is no feed.
    let res = crate::agent()
        .get(&issuer.url("/oauth2/revocations"))
        .call()
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
}

/// Opens a revocation stream (resumed after `last_event_id` when given) on its own thread;
/// sends each event's id and data as they arrive. Returns once the stream answered.
fn follow(
    issuer: &Issuer,
    secret: &str,
    last_event_id: Option<i64>,
) -> std::sync::mpsc::Receiver<(i64, serde_json::Value)> {
    use base64::Engine;
    use std::io::BufRead;
    let url = issuer.url("/oauth2/revocations");
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("backend:{secret}"))
    );
    let (tx, rx) = std::sync::mpsc::channel();
    let (opened, open) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut req = crate::agent()
            .get(&url)
            .header("authorization", &auth)
            .header("accept", "text/event-stream");
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", &id.to_string());
        }
        let res = req.call().unwrap();
        opened.send(res.status().as_u16()).unwrap();
        let reader = std::io::BufReader::new(res.into_body().into_reader());
        let mut id = 0;
        for line in reader.lines().map_while(Result::ok) {
            if let Some(seen) = line.strip_prefix("id: ") {
                id = seen.parse().unwrap();
            } else if let Some(data) = line.strip_prefix("data: ")
                && tx.send((id, serde_json::from_str(data).unwrap())).is_err()
            {
                return;
            }
        }
    });
    let status = open
        .recv_timeout(std::time::Duration::from_secs(10))
        .unwrap();
    assert_eq!(status, 200);
    rx
}

#[test]
fn the_stream_pushes_a_revocation_as_it_happens() {
    let (d, secret) = seeded();
    let issuer = Issuer::start(d.path(), |_| {});
    let token = client_token(&issuer, &secret);
    let events = follow(&issuer, &secret, None);
    std::thread::sleep(std::time::Duration::from_millis(300));
    post(
        &issuer.url("/oauth2/revoke"),
        &[("token", &token)],
        Some(("backend", &secret)),
    );
    let (_, event) = events
        .recv_timeout(std::time::Duration::from_secs(5))
        .expect("no event within 5 s");
    assert_eq!(event["jti"], jti_of(&token));
}

#[test]
fn every_open_stream_gets_every_revocation_once_in_order_and_a_resumed_one_misses_none() {
    let (d, secret) = seeded();
    let issuer = Issuer::start(d.path(), |c| c.max_streams_per_client = 64);
    let tokens: Vec<String> = (0..6).map(|_| client_token(&issuer, &secret)).collect();
    let revoke = |token: &str| {
        post(
            &issuer.url("/oauth2/revoke"),
            &[("token", token)],
            Some(("backend", &secret)),
        )
    };
    // Two revocations before any stream opens: each stream catches them up from the database.
    revoke(&tokens[0]);
    revoke(&tokens[1]);
    let streams: Vec<_> = (0..40).map(|_| follow(&issuer, &secret, None)).collect();
    for token in &tokens[2..] {
        revoke(token);
    }
    let wanted: Vec<String> = tokens.iter().map(|t| jti_of(t)).collect();
    let mut ids = Vec::new();
    for events in &streams {
        let got: Vec<(i64, serde_json::Value)> = (0..wanted.len())
            .map(|_| {
                events
                    .recv_timeout(std::time::Duration::from_secs(5))
                    .expect("a stream missed a revocation")
            })
            .collect();
        let jtis: Vec<&str> = got
            .iter()
            .map(|(_, e)| e["jti"].as_str().unwrap())
            .collect();
        assert_eq!(jtis, wanted);
        // Nothing is sent twice (the catch-up and the broadcast overlap).
        assert!(
            events
                .recv_timeout(std::time::Duration::from_millis(200))
                .is_err()
        );
        ids = got.iter().map(|(id, _)| *id).collect();
    }
    // A follower that reconnects with the id of the third event gets the three after it.
    let resumed = follow(&issuer, &secret, Some(ids[2]));
    let rest: Vec<String> = (0..3)
        .map(|_| {
            let (_, e) = resumed
                .recv_timeout(std::time::Duration::from_secs(5))
                .unwrap();
            e["jti"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(rest, wanted[3..]);
}
