//! The `signet` command-line tool: keys and tokens (sign, verify, decode, lint), the issuer,
//! the proxy, administration and the single sign-on demo.

mod cli;
mod demo;
mod input;
mod issuer;
mod keys;
mod lint;
mod remote;
mod token;

use std::process::ExitCode;

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
        Command::Serve(args) => issuer::serve(&args)?,
        Command::Proxy(args) => issuer::proxy(&args)?,
        Command::Demo(args) => demo::demo(&args)?,
        Command::User(cmd) => issuer::user(cmd)?,
        Command::Client(cmd) => issuer::client(cmd)?,
        Command::Migrate(dir) => issuer::migrate(&dir)?,
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
