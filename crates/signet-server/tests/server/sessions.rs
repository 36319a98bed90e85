//! Browser sessions: cookies, CSRF and Origin.

use crate::{AUD, Issuer, PASSWORD, agent, seeded, verify};

struct Reply {
    status: u16,
    cookies: Vec<String>,
    body: serde_json::Value,
}

fn send(
    issuer: &Issuer,
    path: &str,
    origin: Option<&str>,
    cookie: Option<&str>,
    csrf: Option<&str>,
    json: Option<&str>,
) -> Reply {
    let mut req = agent().post(&issuer.url(path));
    if let Some(o) = origin {
        req = req.header("origin", o);
    }
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    if let Some(t) = csrf {
        req = req.header("x-csrf-token", t);
    }
    let mut res = match json {
        Some(j) => req
            .header("content-type", "application/json")
            .send(j)
            .unwrap(),
        None => req.send_empty().unwrap(),
    };
    let cookies = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let status = res.status().as_u16();
    let body = serde_json::from_str(&res.body_mut().read_to_string().unwrap_or_default())
        .unwrap_or_default();
    Reply {
        status,
        cookies,
        body,
    }
}

fn value<'a>(cookies: &'a [String], name: &str) -> &'a str {
    let c = cookies
        .iter()
        .find(|c| c.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} in {cookies:?}"));
    c[name.len() + 1..].split(';').next().unwrap()
}

/// Logs in from `origin`; returns the login reply, the cookie jar and the CSRF token.
fn session(issuer: &Issuer, origin: &str) -> (Reply, String, String) {
    let login = send(
        issuer,
        "/session/login",
        Some(origin),
        None,
        None,
        Some(LOGIN),
    );
    assert_eq!(login.status, 200, "{}", login.body);
    let (refresh, csrf) = (
        value(&login.cookies, "signet-refresh").to_owned(),
        value(&login.cookies, "signet-csrf").to_owned(),
    );
    let jar = format!("signet-refresh={refresh}; signet-csrf={csrf}");
    (login, jar, csrf)
}

const LOGIN: &str = r#"{"client_id":"web","username":"alice","password":"correct horse battery"}"#;

#[test]
fn the_cookie_flow_logs_in_refreshes_and_logs_out() {
    let (d, secret) = seeded();
    let issuer = Issuer::start(d.path(), |_| {});
    let origin = issuer.base.clone();
    let (login, jar, csrf) = session(&issuer, &origin);
    let refresh = value(&login.cookies, "signet-refresh").to_owned();
    let csrf = csrf.as_str();
    assert!(
        login.body.get("refresh_token").is_none(),
        "the refresh token never reaches page script"
    );
    let access = login.body["access_token"].as_str().unwrap();
    assert!(verify(&issuer, access).is_ok());
    let refresh_cookie = login
        .cookies
        .iter()
        .find(|c| c.starts_with("signet-refresh="))
        .unwrap();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(refresh_cookie.contains(attr), "{refresh_cookie}");
    }
    let csrf_cookie = login
        .cookies
        .iter()
        .find(|c| c.starts_with("signet-csrf="))
        .unwrap();
    assert!(
        !csrf_cookie.contains("HttpOnly"),
        "the page reads the CSRF token"
    );

    let refreshed = send(
        &issuer,
        "/session/refresh",
        Some(&origin),
        Some(&jar),
        Some(csrf),
        None,
    );
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    assert_ne!(
        value(&refreshed.cookies, "signet-refresh"),
        refresh,
        "the cookie's token rotates"
    );
    let (refresh2, csrf2) = (
        value(&refreshed.cookies, "signet-refresh"),
        value(&refreshed.cookies, "signet-csrf"),
    );
    let jar2 = format!("signet-refresh={refresh2}; signet-csrf={csrf2}");

    let out = send(
        &issuer,
        "/session/logout",
        Some(&origin),
        Some(&jar2),
        Some(csrf2),
        None,
    );
    assert_eq!(out.status, 204);
    assert!(
        out.cookies.iter().all(|c| c.contains("Max-Age=0")),
        "{:?}",
        out.cookies
    );
    let again = send(
        &issuer,
        "/session/refresh",
        Some(&origin),
        Some(&jar2),
        Some(csrf2),
        None,
    );
    assert_eq!(
        (again.status, again.body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let token = refreshed.body["access_token"].as_str().unwrap();
    assert_eq!(
        crate::introspect(&issuer, &secret, token)["active"],
        false,
        "logout denies the access token"
    );
    let _ = AUD;
}

#[test]
fn cross_site_requests_without_origin_or_csrf_token_are_refused() {
    let (d, _) = seeded();
    let issuer = Issuer::start(d.path(), |_| {});
    let origin = issuer.base.clone();
    let (_, jar, csrf) = session(&issuer, &origin);
    let csrf = csrf.as_str();
    for (origin, token) in [
        (Some("https://evil.example"), Some(csrf)),
        (None, Some(csrf)),
        (Some(origin.as_str()), None),
        (
            Some(origin.as_str()),
            Some("forged-token-of-the-same-length-xxxxxxxxxxx"),
        ),
    ] {
        for path in ["/session/refresh", "/session/logout"] {
            let r = send(&issuer, path, origin, Some(&jar), token, None);
            assert_eq!(
                (r.status, r.body["error"].as_str()),
                (403, Some("access_denied")),
                "{path} {origin:?} {token:?}"
            );
        }
    }
    let r = send(
        &issuer,
        "/session/login",
        Some("https://evil.example"),
        None,
        None,
        Some(LOGIN),
    );
    assert_eq!(r.status, 403);
    // The session still works for its own origin afterwards.
    assert_eq!(
        send(
            &issuer,
            "/session/refresh",
            Some(&origin),
            Some(&jar),
            Some(csrf),
            None
        )
        .status,
        200
    );
    let wrong = LOGIN.replace(PASSWORD, "wrong password");
    assert_eq!(
        send(
            &issuer,
            "/session/login",
            Some(&origin),
            None,
            None,
            Some(&wrong)
        )
        .status,
        400
    );
    assert_eq!(
        send(
            &issuer,
            "/session/login",
            Some(&origin),
            None,
            None,
            Some("{")
        )
        .status,
        400
    );
}

#[test]
fn an_https_issuer_sets_host_prefixed_secure_cookies() {
    let (d, _) = seeded();
    let issuer = Issuer::start(d.path(), |c| c.issuer = "https://auth.example".into());
    let login = send(
        &issuer,
        "/session/login",
        Some("https://auth.example"),
        None,
        None,
        Some(LOGIN),
    );
    assert_eq!(login.status, 200, "{}", login.body);
    for name in ["__Host-signet-refresh=", "__Host-signet-csrf="] {
        let c = login
            .cookies
            .iter()
            .find(|c| c.starts_with(name))
            .unwrap_or_else(|| panic!("{name} in {:?}", login.cookies));
        assert!(
            c.contains("; Secure") && c.contains("Path=/") && !c.contains("Domain"),
            "{c}"
        );
    }
}
