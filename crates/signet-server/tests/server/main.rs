//! The issuer on a real port with a real SQLite file, driven over real HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers fail loudly by design

mod grants;
mod hardening;
mod inputs;
mod keys;
mod revocation;
mod sessions;
mod sso;

use std::path::Path;
use std::thread;
use std::time::Duration;

use serde_json::Value;
use signet_server::{Admin, AppState, Config};

pub(crate) const AUD: &str = "orders-api";
pub(crate) const PASSWORD: &str = "correct horse battery";

/// A clock a test moves forward instead of sleeping; starts at the system time.
#[derive(Debug)]
pub(crate) struct MovableClock(std::sync::atomic::AtomicU64);

impl MovableClock {
    pub(crate) fn new() -> std::sync::Arc<Self> {
        std::sync::Arc::new(Self(signet::Clock::now(&signet::SystemClock).into()))
    }

    /// Moves the clock `by` forward.
    pub(crate) fn advance(&self, by: Duration) {
        self.0
            .fetch_add(by.as_secs(), std::sync::atomic::Ordering::Relaxed);
    }
}

impl signet::Clock for MovableClock {
    fn now(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// A running issuer; stopped (gracefully) when dropped.
pub(crate) struct Issuer {
    pub(crate) base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

pub(crate) fn config(dir: &Path) -> Config {
    let mut c = Config::new();
    c.data_dir = dir.to_path_buf();
    c.housekeeping = Duration::from_millis(200);
    c.database_url = postgres_for(dir);
    c
}

/// With `SIGNET_TEST_STORE=postgres`, the whole suite runs on PostgreSQL
/// (`SIGNET_TEST_POSTGRES_URL`): each data directory gets a schema of its own, so tests run in
/// parallel; otherwise on SQLite in the data directory.
fn postgres_for(dir: &Path) -> Option<String> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    if std::env::var("SIGNET_TEST_STORE").as_deref() != Ok("postgres") {
        return None;
    }
    static SCHEMAS: OnceLock<Mutex<HashMap<std::path::PathBuf, String>>> = OnceLock::new();
    let mut schemas = SCHEMAS.get_or_init(Mutex::default).lock().unwrap();
    let url = schemas.entry(dir.to_path_buf()).or_insert_with(|| {
        let base = std::env::var("SIGNET_TEST_POSTGRES_URL")
            .expect("SIGNET_TEST_STORE=postgres needs SIGNET_TEST_POSTGRES_URL");
        let name = format!("signet_it_{:016x}", {
            use std::hash::{BuildHasher, Hasher};
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write(dir.as_os_str().as_encoded_bytes());
            h.finish()
        });
        let sql = format!("CREATE SCHEMA {name}");
        let connect_to = base.clone();
        // Its own runtime on its own thread: callers may be inside a runtime already.
        std::thread::spawn(move || {
            runtime().block_on(async {
                use sqlx::Connection;
                let mut conn = sqlx::PgConnection::connect(&connect_to).await.unwrap();
                sqlx::query(&sql).execute(&mut conn).await.unwrap();
            })
        })
        .join()
        .unwrap();
        let sep = if base.contains('?') { '&' } else { '?' };
        format!("{base}{sep}options=-c%20search_path%3D{name}")
    });
    Some(url.clone())
}

impl Issuer {
    /// Starts an issuer on an ephemeral port over `dir`, after `tweak` adjusts its config.
    pub(crate) fn start(dir: &Path, tweak: impl FnOnce(&mut Config) + Send + 'static) -> Self {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let dir_owned = dir.to_path_buf();
        let thread = thread::spawn(move || {
            runtime().block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                let mut c = config(&dir_owned);
                c.listen = addr;
                c.issuer = format!("http://{addr}");
                tweak(&mut c);
                let state = AppState::open(c).await.unwrap();
                addr_tx.send(addr).unwrap();
                signet_server::serve_on(state, listener, async move {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
            });
        });
        let addr = addr_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("issuer did not start");
        Self {
            base: format!("http://{addr}"),
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Issuer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Runs administration on a data directory.
pub(crate) fn admin<T>(dir: &Path, f: impl AsyncFnOnce(Admin) -> T) -> T {
    runtime().block_on(async {
        let admin = Admin::open(&config(dir)).await.unwrap();
        f(admin).await
    })
}

/// A data directory with a user `alice`, a public client `web` and a confidential client
/// `backend`; returns the directory and backend's secret.
pub(crate) fn seeded() -> (tempfile::TempDir, String) {
    let d = tempfile::tempdir().unwrap();
    let secret = admin(d.path(), async |a| {
        a.add_user(
            "alice",
            PASSWORD.to_owned().into(),
            vec!["admin".into()],
            serde_json::Map::new(),
            signet_server::Profile {
                email: Some("alice@example.com".into()),
                email_verified: true,
                display_name: Some("Alice Liddell".into()),
            },
        )
        .await
        .unwrap();
        a.add_client(
            "web",
            true,
            None,
            vec![],
            vec!["orders:read".into()],
            vec![AUD.into()],
        )
        .await
        .unwrap();
        // A resource server too: it introspects tokens meant for its audiences.
        let backend = a
            .register_client(signet_server::ClientSpec {
                id: "backend".into(),
                grants: vec!["client_credentials".into()],
                scopes: vec!["orders:read".into(), "orders:write".into()],
                audiences: vec![AUD.into(), "billing-api".into()],
                introspect: true,
                ..Default::default()
            })
            .await
            .unwrap();
        backend.secret.unwrap().to_string()
    });
    (d, secret)
}

pub(crate) fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// POSTs a form; returns the status and the JSON body (or `Value::Null`).
pub(crate) fn post(url: &str, form: &[(&str, &str)], basic: Option<(&str, &str)>) -> (u16, Value) {
    let mut req = agent().post(url);
    if let Some((id, secret)) = basic {
        use base64::Engine;
        let cred = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
        req = req.header("authorization", &format!("Basic {cred}"));
    }
    let mut res = req.send_form(form.iter().copied()).unwrap();
    let status = res.status().as_u16();
    let text = res.body_mut().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

pub(crate) fn get_json(url: &str) -> Value {
    let mut res = agent().get(url).call().unwrap();
    assert_eq!(res.status().as_u16(), 200, "{url}");
    serde_json::from_str(&res.body_mut().read_to_string().unwrap()).unwrap()
}

/// Logs alice in through the public client; returns the token response.
pub(crate) fn login(issuer: &Issuer) -> Value {
    let (status, body) = post(
        &issuer.url("/oauth2/token"),
        &[
            ("grant_type", "password"),
            ("client_id", "web"),
            ("username", "alice"),
            ("password", PASSWORD),
        ],
        None,
    );
    assert_eq!(status, 200, "{body}");
    body
}

pub(crate) fn refresh(issuer: &Issuer, token: &str) -> (u16, Value) {
    post(
        &issuer.url("/oauth2/token"),
        &[
            ("grant_type", "refresh_token"),
            ("client_id", "web"),
            ("refresh_token", token),
        ],
        None,
    )
}

/// Verifies an access token with the keys the issuer publishes, as any service would.
pub(crate) fn verify(
    issuer: &Issuer,
    token: &str,
) -> Result<signet::Claims<'static, serde_json::Map<String, Value>>, signet::Error> {
    let discovery = get_json(&issuer.url("/.well-known/openid-configuration"));
    let jwks = get_json(discovery["jwks_uri"].as_str().unwrap());
    let keys = signet::KeySet::from_jwks_json(jwks.to_string().as_bytes()).unwrap();
    let validation = signet::Validation::builder()
        .issuer(issuer.base.clone())
        .audience(AUD)
        .required_typ("at+jwt")
        .build();
    keys.verify_as(token, &validation)
}

pub(crate) fn introspect(issuer: &Issuer, secret: &str, token: &str) -> Value {
    let (status, body) = post(
        &issuer.url("/oauth2/introspect"),
        &[("token", token)],
        Some(("backend", secret)),
    );
    assert_eq!(status, 200, "{body}");
    body
}
