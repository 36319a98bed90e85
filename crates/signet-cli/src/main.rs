//! The `signet` command-line tool.
//!
//! Only `--version` and `--help` exist so far; the key, token, serve and proxy commands are
//! built by their own issues.

use std::io::Write;
use std::process::ExitCode;

const HELP: &str = "signet: JSON Web Token keys, tokens, issuer and proxy

Usage: signet [--help | --version]

This build has the core library only; the key, token, serve and proxy commands are not in it yet.";

fn run(args: &[String]) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match args.first().map(String::as_str) {
        None | Some("--help" | "-h" | "help") => {
            let _ = writeln!(out, "{HELP}");
            ExitCode::SUCCESS
        }
        Some("--version" | "-V") => {
            let _ = writeln!(out, "signet {}", signet::VERSION);
            ExitCode::SUCCESS
        }
        Some(other) => {
            let name: String = other.chars().take(40).collect();
            eprintln!("signet: unknown command `{name}` (try `signet --help`)");
            ExitCode::from(2)
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    run(&args)
}
