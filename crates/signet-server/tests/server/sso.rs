//! Single sign-on over real HTTP: the authorization endpoint, the login form, the code
//! exchange with PKCE, the ID token, userinfo and the SSO session cookie, driven the way a
//! browser would (cookies kept, redirects read, not followed).

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use super::{AUD, Issuer, MovableClock, PASSWORD, admin, agent, post, seeded};

const SPA_CB: &str = "http://127.0.0.1:9/spa/callback";
const WIKI_CB: &str = "http://127.0.0.1:9/wiki/callback";

/// A data directory with alice, a first-party SPA (code + refresh) and a wiki (code only).
fn sso_seeded() -> tempfile::TempDir {
    let (dir, _) = seeded();
    admin(dir.path(), async |a| {
        for (id, cb, grants) in [
            ("spa", SPA_CB, vec!["authorization_code", "refresh_token"]),
            ("wiki", WIKI_CB, vec!["authorization_code"]),
        ] {
            a.register_client(signet_server::ClientSpec {
                id: id.into(),
                public: true,
                grants: grants.into_iter().map(Into::into).collect(),
                scopes: ["openid", "profile", "email", "orders:read"]
                    .map(Into::into)
                    .to_vec(),
                audiences: vec![AUD.into()],
                oidc: signet_server::OidcRegistration {
                    redirect_uris: vec![cb.into()],
                    first_party: true,
                    name: Some(format!("The {id}")),
                    ..Default::default()
                },
                ..Default::default()
            })
            .await
            .unwrap();
        }
    });
    dir
}

/// A browser: a cookie jar, and answers read without following redirects.
struct Browser {
    agent: ureq::Agent,
    cookies: HashMap<String, String>,
}

/// An answer: status, headers that matter, body.
struct Answer {
    status: u16,
    location: Option<String>,
    set_cookies: Vec<String>,
    headers: HashMap<String, String>,
    body: String,
}

impl Browser {
    fn new() -> Self {
        Self {
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .max_redirects(0)
                .build()
                .into(),
            cookies: HashMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&mut self, res: ureq::http::Response<ureq::Body>) -> Answer {
        let mut res = res;
        let status = res.status().as_u16();
        let set_cookies: Vec<String> = res
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        for c in &set_cookies {
            let (pair, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attrs.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let headers = res
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
            .collect();
        let location = res
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = res.body_mut().read_to_string().unwrap_or_default();
        Answer {
            status,
            location,
            set_cookies,
            headers,
            body,
        }
    }

    fn get(&mut self, url: &str) -> Answer {
        let res = self
            .agent
            .get(url)
            .header("cookie", &self.cookie_header())
            .call()
            .unwrap();
        self.keep(res)
    }

    fn post(&mut self, url: &str, form: &[(String, String)], origin: Option<&str>) -> Answer {
        let mut req = self.agent.post(url).header("cookie", &self.cookie_header());
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        let res = req
            .send_form(form.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .unwrap();
        self.keep(res)
    }
}

/// The hidden and named inputs of the page's form, as a browser would submit them.
fn form_fields(html: &str) -> Vec<(String, String)> {
    let unescape = |s: &str| {
        s.replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    };
    let attr = |tag: &str, name: &str| {
        let key = format!("{name}=\"");
        tag.find(&key).map(|i| {
            let rest = &tag[i + key.len()..];
            unescape(&rest[..rest.find('"').unwrap()])
        })
    };
    html.split("<input")
        .skip(1)
        .filter_map(|tag| {
            let tag = &tag[..tag.find('>').unwrap()];
            if attr(tag, "type").as_deref() != Some("hidden") {
                return None;
            }
            Some((attr(tag, "name")?, attr(tag, "value").unwrap_or_default()))
        })
        .collect()
}

/// A PKCE verifier and its S256 challenge.
fn pkce() -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode(rand_bytes());
    let challenge = URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        verifier.as_bytes(),
    ));
    (verifier, challenge)
}

fn rand_bytes() -> [u8; 32] {
    let mut b = [0u8; 32];
    aws_lc_rs::rand::fill(&mut b).unwrap();
    b
}

fn authorize_url(issuer: &Issuer, client: &str, cb: &str, challenge: &str, extra: &str) -> String {
    format!(
        "{}?response_type=code&client_id={client}&redirect_uri={}&scope=openid%20profile%20email&state=st-1&nonce=n-1&code_challenge={challenge}&code_challenge_method=S256{extra}",
        issuer.url("/oauth2/authorize"),
        urlencode(cb),
    )
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The query parameters of a redirect.
fn query(location: &str) -> HashMap<String, String> {
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Submits the login form of `page` with `password`.
fn submit_login(browser: &mut Browser, issuer: &Issuer, page: &Answer, password: &str) -> Answer {
    let mut form = form_fields(&page.body);
    form.push(("username".into(), "alice".into()));
    form.push(("password".into(), password.into()));
    browser.post(&issuer.url("/oauth2/login"), &form, Some(&issuer.base))
}

/// Logs alice in at `client` (through the login page unless the browser's session suffices);
/// returns the code and the verifier.
fn log_in(browser: &mut Browser, issuer: &Issuer, client: &str, cb: &str) -> (String, String) {
    let (verifier, challenge) = pkce();
    let page = browser.get(&authorize_url(issuer, client, cb, &challenge, ""));
    let done = if page.status == 303 {
        page
    } else {
        assert_eq!(page.status, 200, "{}", page.body);
        submit_login(browser, issuer, &page, PASSWORD)
    };
    assert_eq!(done.status, 303, "{}", done.body);
    let q = query(done.location.as_deref().unwrap());
    assert_eq!(q["state"], "st-1");
    assert_eq!(q["iss"], issuer.base);
    (q["code"].clone(), verifier)
}

fn exchange(issuer: &Issuer, client: &str, cb: &str, code: &str, verifier: &str) -> (u16, Value) {
    post(
        &issuer.url("/oauth2/token"),
        &[
            ("grant_type", "authorization_code"),
            ("client_id", client),
            ("code", code),
            ("redirect_uri", cb),
            ("code_verifier", verifier),
        ],
        None,
    )
}

/// Verifies an ID token with the issuer's JWKS as a relying party would.
fn verify_id_token(issuer: &Issuer, token: &str, client: &str) -> serde_json::Map<String, Value> {
    let jwks = super::get_json(&issuer.url("/.well-known/jwks.json"));
    let keys = signet::KeySet::from_jwks_json(jwks.to_string().as_bytes()).unwrap();
    let validation = signet::Validation::builder()
        .issuer(issuer.base.clone())
        .audience(client)
        .required_typ("JWT")
        .build();
    let claims: signet::Claims<'static, serde_json::Map<String, Value>> =
        keys.verify_as(token, &validation).unwrap();
    let mut all = claims.custom.clone();
    all.insert("sub".into(), Value::from(claims.sub.as_deref().unwrap()));
    all
}

#[test]
fn code_flow_with_pkce_gives_an_id_token_userinfo_and_single_sign_on_to_a_second_client() {
    let dir = sso_seeded();
    let issuer = Issuer::start(dir.path(), |_| {});
    let discovery = super::get_json(&issuer.url("/.well-known/openid-configuration"));
    assert_eq!(
        discovery["authorization_endpoint"],
        issuer.url("/oauth2/authorize")
    );
    assert_eq!(
        discovery["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(
        discovery["response_types_supported"],
        serde_json::json!(["code"])
    );
    assert_eq!(
        discovery["authorization_response_iss_parameter_supported"],
        true
    );

    let mut browser = Browser::new();
    let (code, verifier) = log_in(&mut browser, &issuer, "spa", SPA_CB);
    assert!(
        browser.cookies.contains_key("signet-sso"),
        "the SSO session is a cookie"
    );
    let (status, tokens) = exchange(&issuer, "spa", SPA_CB, &code, &verifier);
    assert_eq!(status, 200, "{tokens}");
    assert!(
        tokens["refresh_token"].is_string(),
        "spa has the refresh grant"
    );
    let access = tokens["access_token"].as_str().unwrap();
    let id = verify_id_token(&issuer, tokens["id_token"].as_str().unwrap(), "spa");
    assert_eq!(id["nonce"], "n-1");
    assert_eq!(id["email"], "alice@example.com");
    assert_eq!(id["name"], "Alice Liddell");
    assert!(id["sid"].is_string() && id["auth_time"].is_u64());
    let expected_hash = {
        let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, access.as_bytes());
        URL_SAFE_NO_PAD.encode(&d.as_ref()[..16])
    };
    assert_eq!(id["at_hash"], expected_hash.as_str());
    // An ID token is no access token: a verifier that wants `at+jwt` refuses it.
    assert!(super::verify(&issuer, tokens["id_token"].as_str().unwrap()).is_err());
    // The access token is an RFC 9068 one for the API.
    let claims = super::verify(&issuer, access).unwrap();
    assert_eq!(
        claims.sub,
        Some(id["sub"].as_str().unwrap().to_owned().into())
    );

    // userinfo: sub and what the scope selects.
    let mut res = agent()
        .get(&issuer.url("/oauth2/userinfo"))
        .header("authorization", &format!("Bearer {access}"))
        .call()
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let info: Value = serde_json::from_str(&res.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(info["sub"], id["sub"]);
    assert_eq!(info["email_verified"], true);

    // The wiki, in the same browser: a code at once, no password.
    let (wiki_verifier, challenge) = pkce();
    let sso = browser.get(&authorize_url(&issuer, "wiki", WIKI_CB, &challenge, ""));
    assert_eq!(sso.status, 303, "single sign-on: {}", sso.body);
    let q = query(sso.location.as_deref().unwrap());
    let (status, wiki) = exchange(&issuer, "wiki", WIKI_CB, &q["code"], &wiki_verifier);
    assert_eq!(status, 200, "{wiki}");
    assert!(wiki["refresh_token"].is_null(), "wiki has no refresh grant");
    let wiki_id = verify_id_token(&issuer, wiki["id_token"].as_str().unwrap(), "wiki");
    assert_eq!(wiki_id["sid"], id["sid"], "one SSO session");

    // prompt=login asks for the password again; max_age=0 too.
    for extra in ["&prompt=login", "&max_age=0"] {
        let again = browser.get(&authorize_url(&issuer, "wiki", WIKI_CB, &challenge, extra));
        assert_eq!(again.status, 200, "{extra}: the login page");
    }
    // prompt=none without a session: login_required, at the client.
    let mut stranger = Browser::new();
    let none = stranger.get(&authorize_url(
        &issuer,
        "wiki",
        WIKI_CB,
        &challenge,
        "&prompt=none",
    ));
    assert_eq!(none.status, 303);
    let q = query(none.location.as_deref().unwrap());
    assert_eq!(q["error"], "login_required");
    assert_eq!(q["state"], "st-1");
}

#[test]
fn the_login_page_is_a_plain_form_that_cannot_be_framed_or_cached() {
    let dir = sso_seeded();
    let issuer = Issuer::start(dir.path(), |_| {});
    let mut browser = Browser::new();
    let (_, challenge) = pkce();
    let page = browser.get(&authorize_url(
        &issuer,
        "spa",
        SPA_CB,
        &challenge,
        "&login_hint=alice",
    ));
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<form method=\"post\""));
    assert!(page.body.contains("name=\"username\"") && page.body.contains("name=\"password\""));
    assert!(page.body.contains("autocomplete=\"current-password\""));
    assert!(
        page.body.contains("value=\"alice\""),
        "login_hint fills the name"
    );
    assert!(page.body.contains("The spa"), "the client's name is shown");
    let csp = &page.headers["content-security-policy"];
    assert!(csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"));
    assert_eq!(page.headers["x-frame-options"], "DENY");
    assert_eq!(page.headers["referrer-policy"], "no-referrer");
    assert_eq!(page.headers["cache-control"], "no-store");
    assert!(page.set_cookies.iter().any(|c| c.contains("HttpOnly")));
    let css = agent()
        .get(&issuer.url("/assets/signet.css"))
        .call()
        .unwrap();
    assert_eq!(css.status().as_u16(), 200);

    // A wrong password: the form again, one generic message, no session.
    let wrong = submit_login(&mut browser, &issuer, &page, "not the password");
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("The username or password is wrong."));
    assert!(!browser.cookies.contains_key("signet-sso"));
}

#[test]
fn redirect_uris_that_are_not_registered_are_never_redirected_to() {
    let dir = sso_seeded();
    let issuer = Issuer::start(dir.path(), |_| {});
    let (_, challenge) = pkce();
    let mut browser = Browser::new();
    for cb in [
        "https://attacker.example/cb",
        "http://127.0.0.1:9/spa/callback/../evil",
        "http://127.0.0.1:9/spa/callback?x=1",
        WIKI_CB, // another client's
    ] {
        let page = browser.get(&authorize_url(&issuer, "spa", cb, &challenge, ""));
        assert_eq!(page.status, 400, "{cb}");
        assert!(page.location.is_none(), "{cb}: no redirect");
    }
    let unknown = browser.get(&authorize_url(&issuer, "nobody", SPA_CB, &challenge, ""));
    assert_eq!(unknown.status, 400);
    assert!(unknown.location.is_none());
}

#[test]
fn pkce_plain_or_missing_is_refused_at_the_client() {
    let dir = sso_seeded();
    let issuer = Issuer::start(dir.path(), |_| {});
    let mut browser = Browser::new();
    let (verifier, _) = pkce();
    let base = format!(
        "{}?response_type=code&client_id=spa&redirect_uri={}&scope=openid&state=s",
        issuer.url("/oauth2/authorize"),
        urlencode(SPA_CB)
    );
    for extra in [
        format!("&code_challenge={verifier}&code_challenge_method=plain"),
        format!("&code_challenge={verifier}"),
        String::new(),
    ] {
        let answer = browser.get(&format!("{base}{extra}"));
        assert_eq!(answer.status, 303, "{extra}");
        let q = query(answer.location.as_deref().unwrap());
        assert_eq!(q["error"], "invalid_request", "{extra}");
        assert_eq!(q["iss"], issuer.base);
    }
    let implicit = browser.get(&base.replace("response_type=code", "response_type=token"));
    assert_eq!(
        query(implicit.location.as_deref().unwrap())["error"],
        "unsupported_response_type"
    );
}

#[test]
fn a_wrong_verifier_a_code_of_another_client_and_an_expired_code_are_refused() {
    let dir = sso_seeded();
    let clock = MovableClock::new();
    let moved = clock.clone();
    let issuer = Issuer::start(dir.path(), move |c| c.clock = moved);
    let mut browser = Browser::new();
    let (code, _) = log_in(&mut browser, &issuer, "spa", SPA_CB);
    let (wrong, _) = pkce();
    let (status, body) = exchange(&issuer, "spa", SPA_CB, &code, &wrong);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    let (code, verifier) = log_in(&mut browser, &issuer, "spa", SPA_CB);
    let (status, body) = exchange(&issuer, "wiki", SPA_CB, &code, &verifier);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "another client"
    );

    let (code, verifier) = log_in(&mut browser, &issuer, "spa", SPA_CB);
    let (status, _) = exchange(&issuer, "spa", WIKI_CB, &code, &verifier);
    assert_eq!(status, 400, "another redirect URI");

    let (code, verifier) = log_in(&mut browser, &issuer, "spa", SPA_CB);
    clock.advance(Duration::from_secs(61));
    let (status, body) = exchange(&issuer, "spa", SPA_CB, &code, &verifier);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "expired"
    );
}

#[test]
fn a_forged_or_altered_code_or_one_sealed_by_another_issuer_is_refused_and_burns_nothing() {
    let dir = sso_seeded();
    let issuer = Issuer::start(dir.path(), |_| {});
    let other_dir = sso_seeded();
    let other = Issuer::start(other_dir.path(), |_| {});
    let mut browser = Browser::new();
    let (code, verifier) = log_in(&mut browser, &issuer, "spa", SPA_CB);
    // A code is opaque: what it grants is sealed in it, not readable.
    assert!(!code.contains("spa") && !code.contains("openid"), "{code}");
    let mut altered = code.clone().into_bytes();
    let middle = altered.len() / 2;
    altered[middle] = if altered[middle] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).unwrap();
    let (elsewhere, elsewhere_verifier) = log_in(&mut Browser::new(), &other, "spa", SPA_CB);
    for (forged, v, attack) in [
        (altered.as_str(), verifier.as_str(), "one character changed"),
        (&code[..code.len() - 1], verifier.as_str(), "cut short"),
        (
            elsewhere.as_str(),
            elsewhere_verifier.as_str(),
            "sealed under another master key",
        ),
        (
            "Zm9yZ2VkLWNvZGUtb2YtNDMtY2hhcmFjdGVycy1sb25n",
            verifier.as_str(),
            "made up",
        ),
        (&"A".repeat(20_000), verifier.as_str(), "huge"),
    ] {
        let (status, body) = exchange(&issuer, "spa", SPA_CB, forged, v);
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "{attack}"
        );
    }
    let (status, body) = exchange(&issuer, "spa", SPA_CB, &code, &verifier);
    assert_eq!(status, 200, "the real code still works: {body}");
}

#[test]
fn a_replayed_code_is_refused_and_revokes_what_its_first_use_issued() {
    let dir = sso_seeded();
    let issuer = Issuer::start(dir.path(), |_| {});
    let mut browser = Browser::new();
    let (code, verifier) = log_in(&mut browser, &issuer, "spa", SPA_CB);
    let (status, first) = exchange(&issuer, "spa", SPA_CB, &code, &verifier);
    assert_eq!(status, 200);
    let (status, again) = exchange(&issuer, "spa", SPA_CB, &code, &verifier);
    assert_eq!(
        (status, again["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, _) = post(
        &issuer.url("/oauth2/token"),
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "spa"),
            ("refresh_token", first["refresh_token"].as_str().unwrap()),
        ],
        None,
    );
    assert_eq!(status, 400, "the first use's refresh token is dead");
    let res = agent()
        .get(&issuer.url("/oauth2/userinfo"))
        .header(
            "authorization",
            &format!("Bearer {}", first["access_token"].as_str().unwrap()),
        )
        .call()
        .unwrap();
    assert_eq!(res.status().as_u16(), 401, "its access token is denied");
    assert!(res.headers().get("www-authenticate").is_some());
}

#[test]
fn login_csrf_a_form_without_its_field_or_from_another_origin_is_refused() {
    let dir = sso_seeded();
    let issuer = Issuer::start(dir.path(), |_| {});
    let mut browser = Browser::new();
    let (_, challenge) = pkce();
    let page = browser.get(&authorize_url(&issuer, "spa", SPA_CB, &challenge, ""));
    let mut fields = form_fields(&page.body);
    fields.push(("username".into(), "alice".into()));
    fields.push(("password".into(), PASSWORD.into()));
    let without: Vec<_> = fields
        .iter()
        .filter(|(k, _)| k != "csrf")
        .cloned()
        .collect();
    let answer = browser.post(&issuer.url("/oauth2/login"), &without, Some(&issuer.base));
    assert_eq!(answer.status, 403);
    let answer = browser.post(
        &issuer.url("/oauth2/login"),
        &fields,
        Some("https://attacker.example"),
    );
    assert_eq!(answer.status, 403, "another origin");
    // An attacker's own browser has no matching cookie.
    let mut attacker = Browser::new();
    let answer = attacker.post(&issuer.url("/oauth2/login"), &fields, None);
    assert_eq!(answer.status, 403, "the cookie is missing");
    assert!(!browser.cookies.contains_key("signet-sso"));
    assert!(answer.location.is_none());
}

/// A back-channel logout receiver that is down at first: it drops the first connection without
/// an answer and answers the second 503, then answers each POST 200 and hands over its body
/// with the number of the attempt that delivered it.
fn backchannel_receiver() -> (String, std::sync::mpsc::Receiver<(usize, String)>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/backchannel", listener.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for (attempt, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            match attempt {
                0 => drop(stream),
                1 => {
                    let _ = stream.write_all(
                        b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                    );
                }
                _ => {
                    let _ = stream.write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                    );
                    let _ = tx.send((attempt + 1, String::from_utf8(body).unwrap()));
                }
            }
        }
    });
    (url, rx)
}

#[test]
fn logout_ends_the_session_its_tokens_and_codes_and_retries_the_back_channel_until_delivered() {
    let dir = sso_seeded();
    let (receiver, bodies) = backchannel_receiver();
    let feed_secret = admin(dir.path(), async |a| {
        let rs = a
            .register_client(signet_server::ClientSpec {
                id: "rs".into(),
                ..Default::default()
            })
            .await
            .unwrap();
        a.register_client(signet_server::ClientSpec {
            id: "portal".into(),
            public: true,
            grants: vec!["authorization_code".into(), "refresh_token".into()],
            scopes: ["openid", "profile", "email"].map(Into::into).to_vec(),
            oidc: signet_server::OidcRegistration {
                redirect_uris: vec!["http://127.0.0.1:9/portal".into()],
                post_logout_redirect_uris: vec!["http://127.0.0.1:9/bye".into()],
                backchannel_logout_uri: Some(receiver),
                first_party: true,
                name: None,
            },
            ..Default::default()
        })
        .await
        .unwrap();
        rs.secret.unwrap().to_string()
    });
    let issuer = Issuer::start(dir.path(), |_| {});
    let discovery = super::get_json(&issuer.url("/.well-known/openid-configuration"));
    assert_eq!(
        discovery["end_session_endpoint"],
        issuer.url("/oauth2/logout")
    );
    assert_eq!(discovery["backchannel_logout_session_supported"], true);
    let mut browser = Browser::new();
    let (code, verifier) = log_in(&mut browser, &issuer, "portal", "http://127.0.0.1:9/portal");
    let (_, tokens) = exchange(
        &issuer,
        "portal",
        "http://127.0.0.1:9/portal",
        &code,
        &verifier,
    );
    let id_token = tokens["id_token"].as_str().unwrap();
    let sid = verify_id_token(&issuer, id_token, "portal")["sid"].clone();
    // A code handed out in the session but not yet exchanged when the user logs out.
    let (late_verifier, late_challenge) = pkce();
    let late = browser.get(&authorize_url(
        &issuer,
        "portal",
        "http://127.0.0.1:9/portal",
        &late_challenge,
        "",
    ));
    let late_code = query(late.location.as_deref().unwrap())["code"].clone();

    // Open redirect: an unregistered post-logout URI is shown an error, not followed.
    let evil = browser.get(&format!(
        "{}?id_token_hint={id_token}&post_logout_redirect_uri={}",
        issuer.url("/oauth2/logout"),
        urlencode("https://attacker.example/")
    ));
    assert_eq!(evil.status, 400);
    assert!(evil.location.is_none());

    let out = browser.get(&format!(
        "{}?id_token_hint={id_token}&post_logout_redirect_uri={}&state=bye-1",
        issuer.url("/oauth2/logout"),
        urlencode("http://127.0.0.1:9/bye")
    ));
    assert_eq!(out.status, 303, "{}", out.body);
    assert_eq!(query(out.location.as_deref().unwrap())["state"], "bye-1");
    assert!(
        !browser.cookies.contains_key("signet-sso"),
        "the cookie is cleared"
    );

    // The session's access tokens carry its sid, and one session entry in the revocation
    // feed denies them all at every verifier.
    let access = tokens["access_token"].as_str().unwrap();
    let payload = access.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert_eq!(claims["sid"], sid, "the access token names its session");
    let mut res = agent()
        .get(&format!("{}?after=0", issuer.url("/oauth2/revocations")))
        .header(
            "authorization",
            &format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("rs:{feed_secret}"))
            ),
        )
        .call()
        .unwrap();
    let page: Value = serde_json::from_str(&res.body_mut().read_to_string().unwrap()).unwrap();
    let entry = page["revocations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["sid"] == sid)
        .unwrap_or_else(|| panic!("no session entry in {page}"));
    assert!(entry["exp"].as_i64().unwrap() >= claims["exp"].as_i64().unwrap());
    assert!(
        entry["revoked_at"].as_i64().unwrap() > 1_000_000_000_000,
        "milliseconds"
    );

    // The session's refresh token and access token are dead.
    let (status, _) = post(
        &issuer.url("/oauth2/token"),
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "portal"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ],
        None,
    );
    assert_eq!(status, 400);
    let res = agent()
        .get(&issuer.url("/oauth2/userinfo"))
        .header(
            "authorization",
            &format!("Bearer {}", tokens["access_token"].as_str().unwrap()),
        )
        .call()
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
    // The code of the ended session buys nothing.
    let (status, refused) = exchange(
        &issuer,
        "portal",
        "http://127.0.0.1:9/portal",
        &late_code,
        &late_verifier,
    );
    assert_eq!(
        (status, refused["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    // The back-channel logout token, delivered though the receiver was down at first: the
    // issuer retried with backoff.
    let (attempt, body) = bodies.recv_timeout(Duration::from_secs(15)).unwrap();
    assert_eq!(attempt, 3, "delivered on the third attempt");
    let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let jwks = super::get_json(&issuer.url("/.well-known/jwks.json"));
    let keys = signet::KeySet::from_jwks_json(jwks.to_string().as_bytes()).unwrap();
    let validation = signet::Validation::builder()
        .issuer(issuer.base.clone())
        .audience("portal")
        .required_typ("logout+jwt")
        .build();
    let claims: signet::Claims<'static, serde_json::Map<String, Value>> =
        keys.verify_as(&form["logout_token"], &validation).unwrap();
    assert_eq!(claims.custom["sid"], sid);
    assert!(
        claims.custom["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object()
    );
    assert!(!claims.custom.contains_key("nonce"));
    assert!(claims.sub.is_some() && claims.jti.is_some());

    // The browser is logged out: the next authorization request shows the login page.
    let (_, challenge) = pkce();
    let again = browser.get(&authorize_url(&issuer, "spa", SPA_CB, &challenge, ""));
    assert_eq!(again.status, 200);
}

#[test]
fn logout_without_a_hint_asks_first_and_the_confirmation_needs_its_anti_csrf_field() {
    let dir = sso_seeded();
    let issuer = Issuer::start(dir.path(), |_| {});
    let mut browser = Browser::new();
    log_in(&mut browser, &issuer, "spa", SPA_CB);
    let ask = browser.get(&issuer.url("/oauth2/logout"));
    assert_eq!(ask.status, 200);
    assert!(ask.body.contains("name=\"confirm\""));
    let fields = form_fields(&ask.body);
    let forged: Vec<_> = fields
        .iter()
        .filter(|(k, _)| k != "csrf")
        .cloned()
        .collect();
    let answer = browser.post(&issuer.url("/oauth2/logout"), &forged, Some(&issuer.base));
    assert_eq!(answer.status, 200, "asked again");
    assert!(answer.body.contains("name=\"confirm\""));
    // Still logged in: SSO works.
    let (_, challenge) = pkce();
    assert_eq!(
        browser
            .get(&authorize_url(&issuer, "wiki", WIKI_CB, &challenge, ""))
            .status,
        303
    );
    // The form as last shown (each showing sets a fresh anti-CSRF cookie).
    let done = browser.post(
        &issuer.url("/oauth2/logout"),
        &form_fields(&answer.body),
        Some(&issuer.base),
    );
    assert_eq!(done.status, 200);
    assert!(done.body.contains("You are signed out."), "{}", done.body);
    assert_eq!(
        browser
            .get(&authorize_url(&issuer, "wiki", WIKI_CB, &challenge, ""))
            .status,
        200
    );
}

#[test]
fn a_third_party_client_gets_a_consent_page_in_words_and_a_denial_goes_back_as_access_denied() {
    let dir = sso_seeded();
    admin(dir.path(), async |a| {
        a.register_client(signet_server::ClientSpec {
            id: "partner".into(),
            public: true,
            grants: vec!["authorization_code".into()],
            scopes: ["openid", "profile", "email"].map(Into::into).to_vec(),
            oidc: signet_server::OidcRegistration {
                redirect_uris: vec!["http://127.0.0.1:9/partner".into()],
                name: Some("Partner & Co".into()),
                ..Default::default()
            },
            ..Default::default()
        })
        .await
        .unwrap();
    });
    let issuer = Issuer::start(dir.path(), |_| {});
    let cb = "http://127.0.0.1:9/partner";
    let mut browser = Browser::new();
    let (_, challenge) = pkce();
    let page = browser.get(&authorize_url(&issuer, "partner", cb, &challenge, ""));
    let asked = submit_login(&mut browser, &issuer, &page, PASSWORD);
    assert_eq!(asked.status, 200, "the consent page, not a code");
    assert!(
        asked.body.contains("Partner &amp; Co"),
        "the client's name, escaped"
    );
    assert!(asked.body.contains("See your email address"));
    assert!(asked.body.contains("value=\"deny\""));
    let consent = |browser: &mut Browser, page: &Answer, decision: &str| {
        let mut form = form_fields(&page.body);
        form.push(("decision".into(), decision.into()));
        browser.post(&issuer.url("/oauth2/consent"), &form, Some(&issuer.base))
    };
    let denied = consent(&mut browser, &asked, "deny");
    assert_eq!(denied.status, 303);
    let q = query(denied.location.as_deref().unwrap());
    assert_eq!(q["error"], "access_denied");
    assert_eq!(q["state"], "st-1");

    // Asked again (nothing was recorded); this time allowed.
    let asked = browser.get(&authorize_url(&issuer, "partner", cb, &challenge, ""));
    assert_eq!(asked.status, 200);
    let allowed = consent(&mut browser, &asked, "allow");
    assert_eq!(allowed.status, 303);
    assert!(query(allowed.location.as_deref().unwrap()).contains_key("code"));
    // Remembered: the next request gets a code at once, unless prompt=consent.
    let again = browser.get(&authorize_url(&issuer, "partner", cb, &challenge, ""));
    assert_eq!(again.status, 303);
    let forced = browser.get(&authorize_url(
        &issuer,
        "partner",
        cb,
        &challenge,
        "&prompt=consent",
    ));
    assert_eq!(forced.status, 200);
    assert!(forced.body.contains("value=\"allow\""));
    // A forged consent (no anti-CSRF field) is refused.
    let forged: Vec<_> = form_fields(&forced.body)
        .into_iter()
        .filter(|(k, _)| k != "csrf")
        .chain([("decision".to_owned(), "allow".to_owned())])
        .collect();
    let answer = browser.post(&issuer.url("/oauth2/consent"), &forged, Some(&issuer.base));
    assert_eq!(answer.status, 403);
}
