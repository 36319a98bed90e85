//! The `signet` command-line tool: keys and tokens (sign, verify, decode, lint), the issuer,
//! the proxy, administration and the single sign-on demo.

mod admin;
mod cli;
mod demo;
mod input;
mod keys;
mod lint;
mod proxy;
mod remote;
mod serve;
mod token;

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{CommandFactory, Parser};

use crate::cli::{Cli, Command, Shell, TokenCommand};

/// Exit status for a usage mistake.
const USAGE: u8 = 2;

/// A usage mistake found after parsing: printed with a hint, exits 2.
#[derive(Debug)]
pub(crate) struct Usage(pub(crate) String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Key(cmd) => keys::run(cmd)?,
        Command::Serve(args) => serve::serve(&args)?,
        Command::Proxy(args) => proxy::proxy(&args)?,
        Command::Demo(args) => demo::demo(&args)?,
        Command::User(cmd) => admin::user(cmd)?,
        Command::Client(cmd) => admin::client(cmd)?,
        Command::Migrate(dir) => admin::migrate(&dir)?,
        Command::Token(TokenCommand::Sign(args)) => token::sign(args)?,
        Command::Token(TokenCommand::Verify(args)) => token::verify(args)?,
        Command::Token(TokenCommand::Decode { token, json }) => token::decode(&token, json)?,
        Command::Token(TokenCommand::Lint {
            list_rules: true, ..
        }) => lint::list_rules()?,
        Command::Token(TokenCommand::Lint {
            token, key, json, ..
        }) => {
            return Ok(if lint::run(&token, key.as_deref(), json)? {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
        Command::Completions { shell } => {
            let shell = match shell {
                Shell::Bash => clap_complete::Shell::Bash,
                Shell::Zsh => clap_complete::Shell::Zsh,
                Shell::Fish => clap_complete::Shell::Fish,
            };
            clap_complete::generate(shell, &mut Cli::command(), "signet", &mut std::io::stdout());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    // No command may panic; should one, say so in one line rather than with a backtrace.
    std::panic::set_hook(Box::new(|info| {
        eprintln!(
            "signet: internal error: {}",
            info.payload_as_str().unwrap_or("unexpected failure")
        );
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let rendered = e.render().to_string();
            let mut lines = rendered.lines().map(str::trim).filter(|l| !l.is_empty());
            let mut first = lines
                .next()
                .unwrap_or("invalid usage")
                .trim_start_matches("error: ")
                .to_owned();
            // "the following required arguments were not provided:" names them on the lines
            // after it: keep them on the one line.
            if first.ends_with(':') {
                let named: Vec<&str> = lines
                    .take_while(|l| l.starts_with('-') || l.starts_with('<'))
                    .collect();
                first = format!("{first} {}", named.join(", "));
            } else if let Some(values) = lines.next().filter(|l| l.starts_with("[possible values:"))
            {
                // A value outside a fixed list: say which are allowed, on the same line.
                first = format!("{first} {values}");
            }
            eprintln!("signet: {first}\nhint: see `signet --help`, or `--help` after any command");
            return ExitCode::from(USAGE);
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => match e.downcast_ref::<Usage>() {
            Some(usage) => {
                eprintln!(
                    "signet: {usage}\nhint: see `signet --help`, or `--help` after any command"
                );
                ExitCode::from(USAGE)
            }
            None => {
                eprintln!("signet: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}

/// The async runtime the issuer's commands run on.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Logging to standard error, `text` or `json`, filtered by `SIGNET_LOG` (default `info`).
pub(crate) fn init_logs(format: &str) -> Result<()> {
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("SIGNET_LOG").unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none());
    match format {
        "json" => builder.json().init(),
        "text" => builder.init(),
        other => bail!("unknown log format {other:?} (use text or json)"),
    }
    Ok(())
}

/// Waits for SIGINT or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}
