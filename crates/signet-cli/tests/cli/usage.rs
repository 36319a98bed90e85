//! Usage mistakes, help, completions, and inputs that must never crash the tool.

use crate::{fails, ok, signet};

#[test]
fn usage_mistakes_exit_2_with_one_line_and_a_hint() {
    for args in [
        vec!["bogus"],
        vec!["token", "verify", "--iss", "x", "--aud", "y", "tok"],
        vec!["token", "verify", "--key", "k.jwk", "--aud", "y", "tok"],
        vec!["token", "verify", "--key", "k.jwk", "--iss", "y", "tok"],
        vec!["key", "generate"],
        vec!["token", "sign", "--key", "k", "--bogus"],
    ] {
        let err = fails(&args, 2);
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 2, "{args:?}: {err}");
        assert!(
            lines[0].starts_with("signet: ") && lines[1].starts_with("hint: "),
            "{err}"
        );
    }
}

#[test]
fn unsupported_algorithm_is_named() {
    // A usage error (exit 2) that names the value and lists the algorithms.
    let err = fails(&["key", "generate", "--alg", "none"], 2);
    assert!(err.contains("invalid value 'none' for '--alg"), "{err}");
    assert!(err.contains("possible values: HS256"), "{err}");
}

#[test]
fn help_version_and_completions() {
    assert!(ok(&["--help"]).contains("token"));
    assert!(ok(&["--version"]).starts_with("signet "));
    assert!(ok(&["token", "verify", "--help"]).contains("--insecure-any-issuer"));
    for shell in ["bash", "zsh", "fish"] {
        let script = ok(&["completions", shell]);
        assert!(script.contains("signet") && script.len() > 500, "{shell}");
    }
    fails(&["completions", "powershell-9"], 2);
}

#[test]
fn hostile_inputs_never_crash_the_tool() {
    let huge = "A".repeat(2 << 20);
    let garbage = ["", ".", "..", "\u{0}", "💥.💥.💥", &huge];
    for g in garbage {
        for cmd in [
            vec!["token", "decode"],
            vec!["token", "lint"],
            vec![
                "token",
                "verify",
                "--key",
                "/dev/null",
                "--iss",
                "a",
                "--aud",
                "b",
            ],
        ] {
            let out = signet()
                .args(&cmd)
                .arg("-")
                .write_stdin(g.to_owned())
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                matches!(out.status.code(), Some(1 | 2)),
                "{cmd:?}: {stderr}"
            );
            assert!(
                !stderr.contains("panicked") && !stderr.contains("internal error"),
                "{stderr}"
            );
        }
    }
}
