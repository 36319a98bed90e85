//! `signet token verify --jwks-url` and `--issuer-url` against a small HTTP server.

use std::sync::Arc;
use std::thread;

use crate::{AUD, dir, fails, keyfile, ok, verify_args};

/// Serves `routes` (path, JSON body) on an ephemeral loopback port until dropped; answers 404
/// elsewhere. Returns the base URL.
struct Server {
    base: String,
    server: Arc<tiny_http::Server>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Server {
    fn start(routes: impl Fn(&str) -> Vec<(String, String)> + Send + 'static) -> Self {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let base = format!("http://{}", server.server_addr().to_ip().unwrap());
        let routes = routes(&base);
        let s = Arc::clone(&server);
        let thread = thread::spawn(move || {
            for request in s.incoming_requests() {
                let found = routes.iter().find(|(p, _)| p == request.url());
                let response = match found {
                    Some((_, body)) => {
                        tiny_http::Response::from_string(body.clone()).with_status_code(200)
                    }
                    None => tiny_http::Response::from_string("not found").with_status_code(404),
                };
                let _ = request.respond(response);
            }
        });
        Self {
            base,
            server,
            thread: Some(thread),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn verify_through_a_jwks_url_and_through_issuer_discovery() {
    let d = dir();
    let key = keyfile(d.path(), "k.jwk", "ES256", "jwk");
    let jwks = ok(&["key", "jwks", key.to_str().unwrap()]);
    let server = Server::start(move |base| {
        vec![
            ("/jwks.json".to_owned(), jwks.clone()),
            (
                "/.well-known/openid-configuration".to_owned(),
                format!(r#"{{"issuer":"{base}","jwks_uri":"{base}/jwks.json"}}"#),
            ),
        ]
    });
    let base = server.base.clone();
    let token = ok(&[
        "token",
        "sign",
        "--key",
        key.to_str().unwrap(),
        "--iss",
        &base,
        "--aud",
        AUD,
    ])
    .trim()
    .to_owned();
    let url = format!("{base}/jwks.json");
    ok(&verify_args("--jwks-url", &url, &base, &[], &token));
    // Discovery finds the JWKS, and the issuer becomes the required `iss`.
    ok(&[
        "token",
        "verify",
        "--issuer-url",
        &base,
        "--aud",
        AUD,
        &token,
    ]);
    let err = fails(
        &[
            "token",
            "verify",
            "--issuer-url",
            &base,
            "--iss",
            "https://other.example",
            "--aud",
            AUD,
            &token,
        ],
        1,
    );
    assert!(err.contains("wrong issuer"), "{err}");
    let missing = format!("{base}/missing.json");
    let err = fails(&verify_args("--jwks-url", &missing, &base, &[], &token), 1);
    assert!(err.contains("HTTP 404"), "{err}");
}

#[test]
fn discovery_document_naming_another_issuer_is_refused() {
    let d = dir();
    let key = keyfile(d.path(), "k.jwk", "ES256", "jwk");
    let jwks = ok(&["key", "jwks", key.to_str().unwrap()]);
    let server = Server::start(move |base| {
        vec![
            ("/jwks.json".to_owned(), jwks.clone()),
            (
                "/.well-known/openid-configuration".to_owned(),
                format!(r#"{{"issuer":"https://evil.example","jwks_uri":"{base}/jwks.json"}}"#),
            ),
        ]
    });
    let token = ok(&[
        "token",
        "sign",
        "--key",
        key.to_str().unwrap(),
        "--iss",
        &server.base,
        "--aud",
        AUD,
    ]);
    let err = fails(
        &[
            "token",
            "verify",
            "--issuer-url",
            &server.base,
            "--aud",
            AUD,
            token.trim(),
        ],
        1,
    );
    assert!(
        err.contains("names the issuer \"https://evil.example\""),
        "{err}"
    );
}

#[test]
fn keys_are_never_fetched_over_plain_http_from_elsewhere() {
    let err = fails(
        &[
            "token",
            "verify",
            "--jwks-url",
            "http://keys.example.com/jwks.json",
            "--iss",
            "i",
            "--aud",
            AUD,
            "a.b.c",
        ],
        1,
    );
    assert!(err.contains("must come over https"), "{err}");
}
