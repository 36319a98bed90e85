//! The Shared Signals transmitter of `signet serve`, judged by a receiver written in Python
//! (`ssf_receiver.py`, PyJWT and jwcrypto): push delivery to a receiver that is down at first,
//! poll delivery with acknowledgements, subjects, verification, and stream management.

use std::process::Command;

use serde_json::{Value, json};

use crate::serve::Serve;
use crate::{ok, secret_of, signet};

#[test]
fn ssf_receiver_in_python_gets_verified_sets_by_push_after_an_outage_and_by_poll() {
    let ready = Command::new("python3")
        .args(["-c", "import jwt, jwcrypto"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ready && crate::interop::missing("python3 with PyJWT and jwcrypto") {
        return;
    }
    let d = crate::dir();
    let data = d.path().join("data");
    let data_arg = data.to_str().unwrap();
    for user in ["alice", "bob", "carol"] {
        let out = signet()
            .args([
                "user",
                "add",
                user,
                "--password-stdin",
                "--data-dir",
                data_arg,
            ])
            .write_stdin(format!("{user}-password-1\n"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    }
    let siem = secret_of(&ok(&[
        "client",
        "add",
        "siem",
        "--role",
        "ssf",
        "--data-dir",
        data_arg,
    ]));
    let ops = secret_of(&ok(&[
        "client",
        "add",
        "ops",
        "--role",
        "admin",
        "--data-dir",
        data_arg,
    ]));
    let server = Serve::start(&data);
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port().to_string()
    };
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli/ssf_receiver.py");
    let run = Command::new("python3")
        .arg(script)
        .args([&server.base, "siem", &siem, "ops", &ops, &port])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "the receiver failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let out: Value = serde_json::from_slice(&run.stdout).unwrap();
    let iss = server.base.as_str();

    // A stolen copy of the database reveals no receiver's push secret: it is stored sealed
    // under the master key, as the signing keys are (and the pushes above carried it, or the
    // receiver would have refused them).
    let push_secret = b"push-secret-of-the-receiver";
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("signet.db") {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes.windows(push_secret.len()).any(|w| w == push_secret),
                "{} holds a push secret in the clear",
                path.display()
            );
        }
    }

    let config = &out["config"];
    assert_eq!(config["spec_version"], "1_0");
    assert_eq!(config["issuer"], iss);
    assert_eq!(
        config["delivery_methods_supported"],
        json!(["urn:ietf:rfc:8935", "urn:ietf:rfc:8936"])
    );
    assert_eq!(out["push_create"], 201);
    assert_eq!(out["push_stream"]["aud"], "siem");
    assert!(
        out["push_stream"]["delivery"]
            .get("authorization_header")
            .is_none(),
        "the push secret is never shown back"
    );
    assert_eq!(out["verify_status"], 204);

    // Push: every event arrived once the receiver came up, verified, exactly once.
    let pushed = out["pushed"].as_array().unwrap();
    assert_eq!(pushed.len(), 4, "{pushed:#?}");
    for set in pushed {
        assert_eq!(set["typ"], "secevent+jwt");
        assert_eq!(set["content_type"], "application/secevent+jwt");
        assert_eq!(set["kid_in_jwks"], true);
        assert_eq!(set["has_exp"], false);
    }
    let find = |event: &str, sub: &Value| {
        pushed
            .iter()
            .find(|s| s["event"] == event && s["sub_id"]["sub"] == *sub)
            .unwrap_or_else(|| panic!("no {event} for {sub} in {pushed:#?}"))
    };
    let verification = pushed
        .iter()
        .find(|s| s["event"] == "https://schemas.openid.net/secevent/ssf/event-type/verification")
        .unwrap();
    assert_eq!(verification["payload"]["state"], "are-you-there");
    assert_eq!(
        verification["sub_id"],
        json!({"format": "opaque", "id": out["push_stream"]["stream_id"]})
    );
    let revoked = "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
    let alice = find(revoked, &out["alice_sub"]);
    assert_eq!(
        alice["sub_id"],
        json!({"format": "iss_sub", "iss": iss, "sub": out["alice_sub"]})
    );
    assert!(alice["payload"]["event_timestamp"].is_i64());
    find(revoked, &out["bob_sub"]);
    let change = find(
        "https://schemas.openid.net/secevent/caep/event-type/credential-change",
        &out["bob_sub"],
    );
    assert_eq!(change["payload"]["credential_type"], "password");
    assert_eq!(change["payload"]["change_type"], "update");
    assert_eq!(out["unauthorized_pushes"], 0);

    // Poll: delivered until acknowledged, then gone; a removed subject gets nothing more.
    let first = out["poll_first"].as_object().unwrap();
    assert_eq!(first.len(), 1, "{first:#?}");
    let carol = first.values().next().unwrap();
    assert_eq!(carol["event"], revoked);
    assert_eq!(carol["sub_id"]["sub"], out["carol_sub"]);
    assert_eq!(out["poll_after_ack"]["sets"], json!({}));
    assert_eq!(out["remove_subject"], 204);
    assert_eq!(out["poll_after_remove"]["sets"], json!({}));
    assert_eq!(out["add_subject"], 200);

    // Management.
    assert_eq!(out["read_one"][0], 200);
    assert_eq!(
        out["read_one"][1]["delivery"]["endpoint_url"],
        format!(
            "{iss}/ssf/poll/{}",
            out["poll_stream"]["stream_id"].as_str().unwrap()
        )
    );
    assert_eq!(out["read_all"].as_array().unwrap().len(), 2);
    assert_eq!(out["patch"][0], 200);
    assert_eq!(out["patch"][1]["description"], "changed");
    assert_eq!(
        out["patch"][1]["events_requested"], out["poll_stream"]["events_requested"],
        "a PATCH keeps what it does not name"
    );
    assert_eq!(out["paused"][1]["status"], "paused");
    assert_eq!(out["status"][1]["reason"], "maintenance");
    assert_eq!(out["bad_method"][0], 400);
    assert_eq!(out["bad_method"][1]["error"], "invalid_request");
    assert_eq!(out["plain_http_push"][0], 400);
    assert_eq!(out["admin_reads_receivers_stream"], 404);
    assert_eq!(out["no_credentials"], 401);
    assert_eq!(out["delete"], 204);
    assert_eq!(out["read_deleted"], 404);
}
