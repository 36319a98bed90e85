//! The command line, as clap types. Names and flags are part of the interface.

use std::path::PathBuf;

use clap::builder::TypedValueParser;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// Parses an algorithm flag into [`signet::Algorithm`]; `--help` lists the names.
fn algorithm() -> impl TypedValueParser<Value = signet::Algorithm> {
    clap::builder::PossibleValuesParser::new(signet::Algorithm::ALL.map(signet::Algorithm::name))
        .try_map(|name| name.parse::<signet::Algorithm>())
}

/// Signet: JSON Web Token keys and tokens, safe by default.
#[derive(Debug, Parser)]
#[command(name = "signet", version, about, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process
pub(crate) enum Command {
    /// Make and inspect keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Sign, verify, decode and audit tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Run the issuer: logins, access and refresh tokens, revocation, published keys.
    Serve(ServeArgs),
    /// Put the token check in front of a service written in any language.
    Proxy(ProxyArgs),
    /// Try single sign-on: the issuer, a single-page app that logs in with it and an API
    /// behind signet-guard, in one process on a temporary database.
    Demo(DemoArgs),
    /// Manage the issuer's users (on its data directory).
    #[command(subcommand)]
    User(UserCommand),
    /// Manage the issuer's OAuth clients (on its data directory).
    #[command(subcommand)]
    Client(ClientCommand),
    /// Run the issuer's database migrations (`serve` runs them too, unless --no-migrate).
    Migrate(DataDir),
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: Shell,
    },
}

/// Shells with completion scripts.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// The formats a private key can be written in.
#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub(crate) enum KeyFormat {
    #[default]
    Jwk,
    Pem,
}

#[derive(Debug, Subcommand)]
pub(crate) enum KeyCommand {
    /// Generate a new private key.
    Generate {
        /// The algorithm the key is for.
        #[arg(long, value_parser = algorithm())]
        alg: signet::Algorithm,
        /// Key id; defaults to the RFC 7638 thumbprint (HMAC keys have none by default).
        #[arg(long)]
        kid: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: KeyFormat,
        /// RSA modulus size in bits (2048, 3072 or 4096).
        #[arg(long, default_value_t = 2048)]
        bits: usize,
        /// Write to this file (created with mode 0600) instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Overwrite the --out file if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Print the public JWK of a private key (JWK or PEM).
    Public(KeyInput),
    /// Print a JWKS of the public halves of the given keys.
    Jwks {
        /// Key files (JWK or PEM); `-` reads standard input.
        #[arg(required = true)]
        files: Vec<String>,
        /// The algorithm, for PEM RSA keys.
        #[arg(long, value_parser = algorithm())]
        alg: Option<signet::Algorithm>,
    },
    /// Print the RFC 7638 thumbprint of a key.
    Thumbprint(KeyInput),
    /// List the issuer's signing keys and their states.
    List(DataDir),
    /// Start a rotation of the issuer's signing key: the new key is published at once and signs
    /// after the lead time.
    Rotate {
        /// Make the new key sign at once (an emergency; verifiers fetch it on its unknown kid).
        #[arg(long)]
        now: bool,
        /// How long the new key is published before it signs: the issuer's `key_lead_time`
        /// setting [default: 5m].
        #[arg(long, env = "SIGNET_KEY_LEAD_TIME", conflicts_with = "now")]
        lead_time: Option<String>,
        /// The issuer's TOML configuration file, for its `key_lead_time` (a flag or variable
        /// wins over it).
        #[arg(long, env = "SIGNET_CONFIG")]
        config: Option<PathBuf>,
        #[command(flatten)]
        dir: DataDir,
    },
    /// Withdraw a signing key at once (a compromised key): it leaves the JWKS, every login
    /// whose tokens it signed is revoked, and verifiers are told to fetch the keys again.
    Revoke {
        /// The key's id.
        kid: String,
        /// Allowed for the key that signs now; a new key then signs at once.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        dir: DataDir,
    },
}

/// Where the issuer keeps its data.
#[derive(Debug, Clone, Args)]
pub(crate) struct DataDir {
    /// The issuer's data directory.
    #[arg(long, env = "SIGNET_DATA_DIR", default_value = "signet-data")]
    pub(crate) data_dir: PathBuf,
    /// The database: sqlite://PATH or postgres://... [default: signet.db in the data
    /// directory].
    #[arg(long, env = "SIGNET_DATABASE_URL")]
    pub(crate) database_url: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "SIGNET_LISTEN")]
    pub(crate) listen: Option<String>,
    /// Issuer URL [default: http://LISTEN].
    #[arg(long, env = "SIGNET_ISSUER")]
    pub(crate) issuer: Option<String>,
    /// Data directory [default: ./signet-data].
    #[arg(long, env = "SIGNET_DATA_DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    /// The database: sqlite://PATH or postgres://... [default: signet.db in the data
    /// directory].
    #[arg(long, env = "SIGNET_DATABASE_URL")]
    pub(crate) database_url: Option<String>,
    /// Redis (redis://HOST:PORT) for login rate limits shared by every instance [default: per
    /// instance, in memory].
    #[arg(long, env = "SIGNET_REDIS_URL")]
    pub(crate) redis_url: Option<String>,
    /// Do not run the database migrations at start-up (refuse a database that needs them; run
    /// `signet migrate`).
    #[arg(long)]
    pub(crate) no_migrate: bool,
    /// TOML configuration file; flags and SIGNET_* variables take precedence over it.
    #[arg(long, env = "SIGNET_CONFIG")]
    pub(crate) config: Option<PathBuf>,
    /// Access-token lifetime [default: 10m].
    #[arg(long, env = "SIGNET_ACCESS_TOKEN_LIFETIME")]
    pub(crate) access_token_lifetime: Option<String>,
    /// Allow access-token lifetimes over one hour.
    #[arg(long, env = "SIGNET_ALLOW_LONG_LIVED_ACCESS_TOKENS")]
    pub(crate) allow_long_lived_access_tokens: bool,
    /// Signing algorithm for new keys: ES256, EdDSA, RS256 or PS256 [default: ES256].
    #[arg(long, env = "SIGNET_SIGNING_ALG", value_parser = algorithm())]
    pub(crate) signing_alg: Option<signet::Algorithm>,
    /// How long a rotated key is published before it signs; `signet key rotate` reads the
    /// same variable [default: 5m].
    #[arg(long, env = "SIGNET_KEY_LEAD_TIME")]
    pub(crate) key_lead_time: Option<String>,
    /// Log format: text or json [default: text].
    #[arg(long, env = "SIGNET_LOG_FORMAT")]
    pub(crate) log_format: Option<String>,
    /// Where /metrics is served, apart from the API ("off" for nowhere) [default:
    /// 127.0.0.1:9464; skipped with a warning if taken]. SIGNET_METRICS_TOKEN also opens
    /// /metrics on the main listener to that bearer token.
    #[arg(long, env = "SIGNET_METRICS_LISTEN")]
    pub(crate) metrics_listen: Option<String>,
    /// A proxy (CIDR) whose X-Forwarded-For / Forwarded headers name the client address;
    /// repeat for several. Without it those headers are ignored.
    #[arg(
        long = "trusted-proxy",
        env = "SIGNET_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub(crate) trusted_proxies: Vec<String>,
    /// How long a just-rotated refresh token may be presented again by its client [default:
    /// 10s; 0 turns it off].
    #[arg(long, env = "SIGNET_REFRESH_GRACE")]
    pub(crate) refresh_grace: Option<String>,
    #[command(flatten)]
    pub(crate) connections: ConnectionArgs,
    /// Revocation streams open at once, in all [default: 1024].
    #[arg(long, env = "SIGNET_MAX_STREAMS")]
    pub(crate) max_streams: Option<usize>,
    /// Revocation streams open at once per client [default: 16].
    #[arg(long, env = "SIGNET_MAX_STREAMS_PER_CLIENT")]
    pub(crate) max_streams_per_client: Option<usize>,
}

/// Bounds on the connections of a listener.
#[derive(Debug, Clone, Args)]
pub(crate) struct ConnectionArgs {
    /// Time a client has to send a request's head, also between requests [default: 10s].
    #[arg(long, env = "SIGNET_HEADER_READ_TIMEOUT")]
    pub(crate) header_read_timeout: Option<String>,
    /// Time a connection may move no byte at all before it is closed [default: 60s].
    #[arg(long, env = "SIGNET_IDLE_TIMEOUT")]
    pub(crate) idle_timeout: Option<String>,
    /// Connections open at once; more are answered 503 [default: 1024].
    #[arg(long, env = "SIGNET_MAX_CONNECTIONS")]
    pub(crate) max_connections: Option<usize>,
}

/// What `signet proxy` does while the revocation feed is silent.
#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub(crate) enum FeedDown {
    /// Keep accepting valid tokens (logged, and shown in /metrics).
    #[default]
    KeepServing,
    /// Refuse every request (503) until the feed is back.
    Refuse,
}

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Where the issuer and the app listen.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub(crate) listen: std::net::SocketAddr,
    /// Where the API listens.
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub(crate) api_listen: std::net::SocketAddr,
}

#[derive(Debug, Args)]
pub(crate) struct ProxyArgs {
    /// The issuer: keys and the revocation feed are found by discovery.
    #[arg(long, env = "SIGNET_ISSUER_URL")]
    pub(crate) issuer_url: String,
    /// The audience tokens must be for.
    #[arg(long)]
    pub(crate) audience: String,
    /// The service to protect, such as http://127.0.0.1:3000.
    #[arg(long)]
    pub(crate) upstream: String,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub(crate) listen: String,
    /// A scope every request's token must have; repeat for several.
    #[arg(long = "require-scope")]
    pub(crate) require_scope: Vec<String>,
    /// A confidential client of the issuer, to follow its revocation feed (required unless
    /// --insecure-no-revocation); its secret comes from --client-secret-file or
    /// SIGNET_CLIENT_SECRET.
    #[arg(long, env = "SIGNET_CLIENT_ID")]
    pub(crate) client_id: Option<String>,
    /// A file holding the client's secret.
    #[arg(long)]
    pub(crate) client_secret_file: Option<PathBuf>,
    /// INSECURE: do not follow revocations; revoked tokens pass until they expire.
    #[arg(long, conflicts_with_all = ["client_id", "client_secret_file"])]
    pub(crate) insecure_no_revocation: bool,
    /// INSECURE: allow a plain-http issuer on a host that is not loopback.
    #[arg(long)]
    pub(crate) insecure_http: bool,
    /// What to do while the revocation feed is silent longer than --feed-max-silence.
    #[arg(long, value_enum, default_value_t)]
    pub(crate) on_feed_down: FeedDown,
    /// How long the revocation feed may be silent before --on-feed-down applies.
    #[arg(long, default_value = "60s")]
    pub(crate) feed_max_silence: String,
    /// Where the proxy's own /metrics is served (off by default).
    #[arg(long)]
    pub(crate) metrics_listen: Option<String>,
    #[command(flatten)]
    pub(crate) connections: ConnectionArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum UserCommand {
    /// Add a user; the password is read from standard input.
    Add {
        /// Login name.
        name: String,
        /// Read the password from standard input (the only way it is taken).
        #[arg(long)]
        password_stdin: bool,
        /// A role; repeat for several.
        #[arg(long = "role")]
        roles: Vec<String>,
        /// A claim KEY=VALUE put into the user's access tokens; repeat for several.
        #[arg(long = "claim")]
        claims: Vec<String>,
        #[command(flatten)]
        profile: ProfileArgs,
        #[command(flatten)]
        dir: DataDir,
    },
    /// Change a user's profile claims (what ID tokens and userinfo show).
    Set {
        /// Login name.
        name: String,
        #[command(flatten)]
        profile: ProfileArgs,
        #[command(flatten)]
        dir: DataDir,
    },
    /// List users.
    List(DataDir),
    /// Disable a user, end their logins and revoke every token of theirs at every verifier.
    Disable {
        /// Login name.
        name: String,
        #[command(flatten)]
        dir: DataDir,
    },
    /// Set a user's password (read from standard input), end their logins and revoke every
    /// token of theirs at every verifier.
    SetPassword {
        /// Login name.
        name: String,
        /// Read the password from standard input (the only way it is taken).
        #[arg(long, required = true)]
        password_stdin: bool,
        #[command(flatten)]
        dir: DataDir,
    },
    /// Log a user out everywhere: end their logins and revoke every token of theirs at every
    /// verifier. They may log in again.
    Revoke {
        /// Login name.
        name: String,
        #[command(flatten)]
        dir: DataDir,
    },
    /// Delete a user and end their logins.
    Delete {
        /// Login name.
        name: String,
        #[command(flatten)]
        dir: DataDir,
    },
}

/// A user's OpenID Connect profile claims.
#[derive(Debug, clap::Args)]
pub(crate) struct ProfileArgs {
    /// The `email` claim (scope `email`).
    #[arg(long)]
    pub(crate) email: Option<String>,
    /// The email address is verified (`email_verified`).
    #[arg(long)]
    pub(crate) email_verified: bool,
    /// The `name` claim (scope `profile`).
    #[arg(long)]
    pub(crate) display_name: Option<String>,
}

/// What a client registers for logins through the authorization endpoint.
#[derive(Debug, clap::Args)]
pub(crate) struct OidcArgs {
    /// A redirect URI for the authorization_code grant (exact match); repeat for several.
    #[arg(long = "redirect-uri")]
    pub(crate) redirect_uris: Vec<String>,
    /// Where logout may send the browser back to; repeat for several.
    #[arg(long = "post-logout-redirect-uri")]
    pub(crate) post_logout_redirect_uris: Vec<String>,
    /// Where OpenID Connect back-channel logout tokens are posted.
    #[arg(long)]
    pub(crate) backchannel_logout_uri: Option<String>,
    /// A client of this issuer's own operator: no consent page.
    #[arg(long)]
    pub(crate) first_party: bool,
    /// The name shown to users at login.
    #[arg(long)]
    pub(crate) name: Option<String>,
}

// Parsed once per run: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub(crate) enum ClientCommand {
    /// Add a client; a confidential client's secret is generated and printed once, or read
    /// from standard input.
    Add {
        /// Client id.
        id: String,
        /// Read the secret from standard input.
        #[arg(long, conflicts_with = "public")]
        secret_stdin: bool,
        /// A public client (no secret): a browser or native app.
        #[arg(long)]
        public: bool,
        /// A grant type: authorization_code, client_credentials, password, refresh_token;
        /// repeat for several.
        #[arg(long = "grant")]
        grants: Vec<String>,
        /// Scopes the client may ask for, space-separated ("openid profile email"); repeat
        /// for more.
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// An audience its tokens may name; the first is the default; repeat for several.
        #[arg(long = "audience")]
        audiences: Vec<String>,
        /// A resource server: may introspect tokens meant for its audiences.
        #[arg(long)]
        introspect: bool,
        /// A role; `admin` may call the administration API (/admin). Repeat for several.
        #[arg(long = "role")]
        roles: Vec<String>,
        #[command(flatten)]
        oidc: OidcArgs,
        #[command(flatten)]
        dir: DataDir,
    },
    /// List clients.
    List(DataDir),
    /// Delete a client, end its logins and revoke every token issued to it at every verifier.
    Delete {
        /// Client id.
        id: String,
        #[command(flatten)]
        dir: DataDir,
    },
    /// Give a confidential client a new secret (printed once), end its logins and revoke every
    /// token issued to it at every verifier (a leaked secret).
    RotateSecret {
        /// Client id.
        id: String,
        #[command(flatten)]
        dir: DataDir,
    },
}

#[derive(Debug, Args)]
pub(crate) struct KeyInput {
    /// Key file (JWK or PEM); `-` or nothing reads standard input.
    #[arg(default_value = "-")]
    pub(crate) file: String,
    /// The algorithm, for PEM RSA keys (whose PEM does not say).
    #[arg(long, value_parser = algorithm())]
    pub(crate) alg: Option<signet::Algorithm>,
}

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process
pub(crate) enum TokenCommand {
    /// Sign a token and print it.
    Sign(SignArgs),
    /// Verify a token; print its claims, or why it is refused.
    Verify(VerifyArgs),
    /// Show a token's header and claims, NOT VERIFIED.
    Decode {
        /// The token; `-` or nothing reads standard input.
        #[arg(default_value = "-")]
        token: String,
        /// Machine-readable JSON.
        #[arg(long)]
        json: bool,
    },
    /// Audit a token for the classic JWT pitfalls.
    Lint {
        /// The token; `-` or nothing reads standard input.
        #[arg(default_value = "-")]
        token: String,
        /// The key the token is meant for (checks HMAC secret strength).
        #[arg(long)]
        key: Option<String>,
        /// Machine-readable JSON.
        #[arg(long)]
        json: bool,
        /// Print the linter's rules (id, severity, what each finds, the fix) and exit.
        #[arg(long, conflicts_with_all = ["key", "json"])]
        list_rules: bool,
    },
}

#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    /// Private key file (JWK or PEM); `-` reads standard input.
    #[arg(long, env = "SIGNET_KEY")]
    pub(crate) key: String,
    /// The algorithm, for PEM RSA keys.
    #[arg(long, value_parser = algorithm())]
    pub(crate) alg: Option<signet::Algorithm>,
    /// Claims as JSON, `@FILE`, or `-` for standard input.
    #[arg(long)]
    pub(crate) claims: Option<String>,
    /// Subject (`sub`).
    #[arg(long)]
    pub(crate) sub: Option<String>,
    /// Issuer (`iss`).
    #[arg(long)]
    pub(crate) iss: Option<String>,
    /// Audience (`aud`); repeat for several.
    #[arg(long)]
    pub(crate) aud: Vec<String>,
    /// Lifetime, such as 90s, 15m, 1h or 7d.
    #[arg(long, default_value = "15m")]
    pub(crate) exp: String,
    /// Not valid before now plus this delay.
    #[arg(long)]
    pub(crate) nbf: Option<String>,
    /// Header `typ` (default JWT), such as at+jwt.
    #[arg(long)]
    pub(crate) typ: Option<String>,
    /// Header `kid` (default: the key's).
    #[arg(long)]
    pub(crate) kid: Option<String>,
    /// Leave out the random `jti`.
    #[arg(long)]
    pub(crate) no_jti: bool,
    /// Allow a lifetime over 24 hours (a warning is still printed).
    #[arg(long)]
    pub(crate) allow_long_lived: bool,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("keys").required(true).args(["key", "jwks", "jwks_url", "issuer_url"]))]
pub(crate) struct VerifyArgs {
    /// The token; `-` or nothing reads standard input.
    #[arg(default_value = "-")]
    pub(crate) token: String,
    /// Key file: a JWK, a JWKS or a PEM.
    #[arg(long)]
    pub(crate) key: Option<String>,
    /// JWKS file.
    #[arg(long)]
    pub(crate) jwks: Option<String>,
    /// JWKS URL (https, or http on a loopback address).
    #[arg(long)]
    pub(crate) jwks_url: Option<String>,
    /// Issuer URL: the JWKS is found by OpenID / RFC 8414 discovery, and `--iss` defaults to it.
    #[arg(long, env = "SIGNET_ISSUER_URL")]
    pub(crate) issuer_url: Option<String>,
    /// The algorithm, for PEM RSA keys.
    #[arg(long, value_parser = algorithm())]
    pub(crate) alg: Option<signet::Algorithm>,
    /// The issuer the token must name.
    #[arg(long)]
    pub(crate) iss: Option<String>,
    /// The audience the token must name.
    #[arg(long)]
    pub(crate) aud: Option<String>,
    /// INSECURE: accept any issuer.
    #[arg(long, conflicts_with = "iss")]
    pub(crate) insecure_any_issuer: bool,
    /// INSECURE: accept any audience.
    #[arg(long, conflicts_with = "aud")]
    pub(crate) insecure_any_audience: bool,
    /// Required header `typ`, such as at+jwt.
    #[arg(long)]
    pub(crate) typ: Option<String>,
    /// Clock-skew tolerance (default 60s).
    #[arg(long)]
    pub(crate) leeway: Option<String>,
    /// Refuse tokens issued longer ago than this.
    #[arg(long)]
    pub(crate) max_age: Option<String>,
    /// A claim that must be present; repeat for several.
    #[arg(long = "require")]
    pub(crate) require: Vec<String>,
}
