//! Bad input gets an RFC-shaped 4xx answer, never a 5xx.

use crate::{Issuer, agent, post, seeded};

fn raw(issuer: &Issuer, content_type: Option<&str>, body: Vec<u8>) -> (u16, serde_json::Value) {
    let mut req = agent().post(&issuer.url("/oauth2/token"));
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let mut res = req.send(body).unwrap();
    let status = res.status().as_u16();
    let text = res.body_mut().read_to_string().unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    )
}

#[test]
fn malformed_requests_get_oauth_errors_never_5xx() {
    let (d, secret) = seeded();
    let issuer = Issuer::start(d.path(), |_| {});
    let form = Some("application/x-www-form-urlencoded");
    let cases: Vec<(Option<&str>, Vec<u8>, u16, &str)> = vec![
        (
            Some("application/json"),
            br#"{"grant_type":"password"}"#.to_vec(),
            415,
            "invalid_request",
        ),
        (
            None,
            b"grant_type=password".to_vec(),
            415,
            "invalid_request",
        ),
        (form, b"".to_vec(), 400, "invalid_request"),
        (
            form,
            b"grant_type=magic".to_vec(),
            400,
            "unsupported_grant_type",
        ),
        (
            form,
            b"grant_type=password&grant_type=password".to_vec(),
            400,
            "invalid_request",
        ),
        (
            form,
            b"grant_type=password&client_id=web".to_vec(),
            400,
            "invalid_request",
        ),
        (
            form,
            b"grant_type=password&client_id=web&username=alice".to_vec(),
            400,
            "invalid_request",
        ),
        (
            form,
            b"grant_type=refresh_token&client_id=web".to_vec(),
            400,
            "invalid_request",
        ),
        // A stray `%` is taken literally (as browsers do): an unknown grant type.
        (
            form,
            b"grant_type=%ZZ".to_vec(),
            400,
            "unsupported_grant_type",
        ),
        (
            form,
            b"grant_type=pass\xffword".to_vec(),
            400,
            "invalid_request",
        ),
        (
            form,
            b"grant_type=pass%FFword".to_vec(),
            400,
            "invalid_request",
        ),
        (form, vec![b'a'; 200 * 1024], 413, "invalid_request"),
    ];
    for (ct, body, status, error) in cases {
        let shown = String::from_utf8_lossy(&body[..body.len().min(60)]).into_owned();
        let (got, json) = raw(&issuer, ct, body);
        assert_eq!(
            (got, json["error"].as_str()),
            (status, Some(error)),
            "{ct:?} {shown}"
        );
    }
    // Basic credentials that do not decode, or both methods at once.
    let (status, json) = post(
        &issuer.url("/oauth2/token"),
        &[("grant_type", "client_credentials")],
        Some(("backend", "")),
    );
    assert_eq!(
        (status, json["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let mut res = agent()
        .post(&issuer.url("/oauth2/token"))
        .header("authorization", "Basic !!!")
        .send_form([("grant_type", "client_credentials")])
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
    let _ = res.body_mut().read_to_string();
    let (status, json) = post(
        &issuer.url("/oauth2/token"),
        &[
            ("grant_type", "client_credentials"),
            ("client_secret", &secret),
        ],
        Some(("backend", &secret)),
    );
    assert_eq!(
        (status, json["error"].as_str()),
        (400, Some("invalid_request"))
    );
}

#[test]
fn unknown_paths_and_methods_are_4xx() {
    let (d, _) = seeded();
    let issuer = Issuer::start(d.path(), |_| {});
    let res = agent().get(&issuer.url("/nope")).call().unwrap();
    assert_eq!(res.status().as_u16(), 404);
    let res = agent().get(&issuer.url("/oauth2/token")).call().unwrap();
    assert_eq!(res.status().as_u16(), 405);
    assert_eq!(
        agent()
            .get(&issuer.url("/healthz"))
            .call()
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    assert_eq!(
        agent()
            .get(&issuer.url("/readyz"))
            .call()
            .unwrap()
            .status()
            .as_u16(),
        200
    );
}

#[test]
fn login_attempts_are_rate_limited_per_user_with_retry_after() {
    let (d, _) = seeded();
    let issuer = Issuer::start(d.path(), |c| c.login_attempts_per_user = 3);
    let url = issuer.url("/oauth2/token");
    let attempt = |user: &str| {
        let mut res = agent()
            .post(&url)
            .send_form([
                ("grant_type", "password"),
                ("client_id", "web"),
                ("username", user),
                ("password", "wrong password"),
            ])
            .unwrap();
        let retry = res
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body: serde_json::Value =
            serde_json::from_str(&res.body_mut().read_to_string().unwrap()).unwrap();
        (res.status().as_u16(), retry, body)
    };
    for _ in 0..3 {
        assert_eq!(attempt("alice").0, 400);
    }
    let (status, retry, body) = attempt("alice");
    assert_eq!(status, 429);
    assert!(retry.unwrap().parse::<u64>().unwrap() >= 1);
    assert_eq!(body["error"], "temporarily_unavailable");
    // Even the right password waits out the window; other users are not affected.
    let (status, _) = post(
        &url,
        &[
            ("grant_type", "password"),
            ("client_id", "web"),
            ("username", "alice"),
            ("password", crate::PASSWORD),
        ],
        None,
    );
    assert_eq!(status, 429);
    assert_eq!(attempt("bob").0, 400);
}

#[test]
fn metrics_count_grants_failures_and_responses() {
    let (d, secret) = seeded();
    let issuer = Issuer::start(d.path(), |c| {
        c.metrics_token = Some(signet::SecretString::new("metrics-reader-token".into()))
    });
    crate::login(&issuer);
    post(
        &issuer.url("/oauth2/token"),
        &[("grant_type", "client_credentials")],
        Some(("backend", &secret)),
    );
    post(
        &issuer.url("/oauth2/token"),
        &[
            ("grant_type", "password"),
            ("client_id", "web"),
            ("username", "alice"),
            ("password", "nope nope"),
        ],
        None,
    );
    let mut res = agent()
        .get(&issuer.url("/metrics"))
        .header("authorization", "Bearer metrics-reader-token")
        .call()
        .unwrap();
    let text = res.body_mut().read_to_string().unwrap();
    for line in [
        "signet_tokens_issued_total{grant_type=\"password\"} 1",
        "signet_tokens_issued_total{grant_type=\"client_credentials\"} 1",
        "signet_login_failures_total 1",
        "signet_http_requests_total{class=\"4xx\"} 1",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "{line} missing from:\n{text}"
        );
    }
}

#[test]
fn login_attempts_are_rate_limited_per_address_too() {
    let (d, _) = seeded();
    let issuer = Issuer::start(d.path(), |c| c.login_attempts_per_address = 4);
    let url = issuer.url("/oauth2/token");
    let statuses: Vec<u16> = (0..6)
        .map(|i| {
            let user = format!("user-{i}");
            post(
                &url,
                &[
                    ("grant_type", "password"),
                    ("client_id", "web"),
                    ("username", &user),
                    ("password", "wrong password"),
                ],
                None,
            )
            .0
        })
        .collect();
    assert_eq!(statuses, [400, 400, 400, 400, 429, 429]);
}
