//! The command line, as clap types. Names and flags are part of the interface.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
        /// The algorithm the key is for (HS256 ... EdDSA).
        #[arg(long)]
        alg: String,
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
        #[arg(long)]
        alg: Option<String>,
    },
    /// Print the RFC 7638 thumbprint of a key.
    Thumbprint(KeyInput),
}

#[derive(Debug, Args)]
pub(crate) struct KeyInput {
    /// Key file (JWK or PEM); `-` or nothing reads standard input.
    #[arg(default_value = "-")]
    pub(crate) file: String,
    /// The algorithm, for PEM RSA keys (whose PEM does not say).
    #[arg(long)]
    pub(crate) alg: Option<String>,
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
    },
}

#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    /// Private key file (JWK or PEM); `-` reads standard input.
    #[arg(long, env = "SIGNET_KEY")]
    pub(crate) key: String,
    /// The algorithm, for PEM RSA keys.
    #[arg(long)]
    pub(crate) alg: Option<String>,
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
    #[arg(long)]
    pub(crate) alg: Option<String>,
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
