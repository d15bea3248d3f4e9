//! `flow-doctor fingerprint` run as a process on a Python traceback.

use std::io::Write;
use std::process::{Command, Output, Stdio};

const TRACEBACK: &str = "\
2024-05-02 03:00:01,112 INFO etl.main: starting run 8c1f2e7a-4b7d-4a0e-9d3b-2f6a1c9e0b11
Traceback (most recent call last):
  File \"/opt/app/etl/main.py\", line 120, in <module>
    main()
  File \"/opt/app/etl/load.py\", line 42, in load
    row = rows[key]
KeyError: 'user_id'
2024-05-02 03:00:01,300 INFO etl.main: exiting with status 1
";

fn flow_doctor(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_flow-doctor"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("flow-doctor starts");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(stdin.as_bytes())
        .expect("stdin accepts the traceback");
    child.wait_with_output().expect("flow-doctor exits")
}

#[test]
fn json_from_stdin_describes_the_traceback() {
    let out = flow_doctor(&["fingerprint", "--json"], TRACEBACK);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    let mut keys: Vec<&str> = v
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "error_type",
            "fingerprint",
            "frames",
            "language",
            "message",
            "signature"
        ]
    );
    assert_eq!(v["language"], "python");
    assert_eq!(v["error_type"], "KeyError");
    assert_eq!(v["message"], "'user_id'");
    assert_eq!(
        v["fingerprint"],
        "KeyError: 'user_id' @ load.py:load < main.py:<module>"
    );
    let signature = v["signature"].as_str().expect("a string");
    assert!(signature.len() >= 16 && signature.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(
        v["frames"],
        serde_json::json!([
            {"file": "/opt/app/etl/load.py", "function": "load", "line": 42},
            {"file": "/opt/app/etl/main.py", "function": "<module>", "line": 120},
        ])
    );
}

#[test]
fn file_argument_and_human_summary_agree_with_stdin() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("stderr.log");
    std::fs::write(&path, TRACEBACK).expect("write the log");
    let path = path.to_str().expect("a UTF-8 path");

    let from_file = flow_doctor(&["fingerprint", "--json", path], "");
    let from_stdin = flow_doctor(&["fingerprint", "--json"], TRACEBACK);
    assert!(from_file.status.success());
    assert_eq!(from_file.stdout, from_stdin.stdout);

    let human = flow_doctor(&["fingerprint", path], "");
    assert!(human.status.success());
    let text = String::from_utf8_lossy(&human.stdout);
    let json: serde_json::Value = serde_json::from_slice(&from_file.stdout).expect("JSON");
    let signature = json["signature"].as_str().expect("a string");
    assert!(text.starts_with("KeyError: 'user_id'\n"), "{text}");
    assert!(text.contains(signature), "{text}");
    assert!(text.contains("load  /opt/app/etl/load.py:42"), "{text}");
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let out = flow_doctor(&["fingerprint", "/nonexistent/flow-doctor/stderr.log"], "");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot read /nonexistent/flow-doctor/stderr.log"),
        "{err}"
    );
}

/// Secrets in the text are scrubbed before anything is printed, and two
/// failures differing only in the secret get one signature, as in the
/// engine (which fingerprints the scrubbed report).
#[test]
fn secrets_are_never_printed_and_do_not_change_the_signature() {
    let text = |password: &str| {
        format!(
            "Traceback (most recent call last):\n  File \"/app/etl/load.py\", line 12, in connect\n    conn = psycopg2.connect(dsn)\npsycopg2.OperationalError: connection to postgresql://etl:{password}@db:5432/x failed\n"
        )
    };
    let first = flow_doctor(&["fingerprint", "--json"], &text("hunter2secret"));
    assert!(first.status.success(), "{}", crate::text(&first.stderr));
    let shown = crate::text(&first.stdout);
    assert!(!shown.contains("hunter2secret"), "{shown}");
    let v: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert!(v["message"].as_str().unwrap().contains("REDACTED"), "{v}");
    let second = flow_doctor(&["fingerprint", "--json"], &text("0therPassw0rd"));
    let w: serde_json::Value = serde_json::from_slice(&second.stdout).unwrap();
    assert_eq!(v["signature"], w["signature"]);
    let human = flow_doctor(&["fingerprint"], &text("hunter2secret"));
    assert!(!crate::text(&human.stdout).contains("hunter2secret"));
}
