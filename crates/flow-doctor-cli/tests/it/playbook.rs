//! `flow-doctor playbook test`: the real binary on real playbook files and
//! failure texts. It shows the match, the plan and the gate's route, and
//! never executes anything.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::text;

const TRACEBACK: &str = r#"Traceback (most recent call last):
  File "/app/etl/load.py", line 42, in load
    conn = psycopg2.connect(dsn)
ConnectionRefusedError: [Errno 111] Connection refused
"#;

/// Runs the binary in `dir` with a clean environment, `stdin` as input.
fn flow_doctor(dir: &Path, args: &[&str], stdin: &str) -> Output {
    crate::run_bin(dir, args, &[], stdin)
}

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/playbooks.example.yaml")
}

#[test]
fn a_traceback_on_stdin_shows_the_match_the_commands_and_the_route() {
    let dir = tempfile::tempdir().unwrap();
    let pb = example();
    let out = flow_doctor(
        dir.path(),
        &[
            "playbook",
            "test",
            "--playbooks",
            pb.to_str().unwrap(),
            "--flow",
            "etl-nightly",
            "--category",
            "INFRA",
            "--confidence",
            "0.95",
        ],
        TRACEBACK,
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "stderr:\n{stderr}");
    assert!(
        stdout.contains("failure: ConnectionRefusedError: [Errno 111] Connection refused"),
        "{stdout}"
    );
    assert!(stdout.contains("=> restart-app-server"), "{stdout}");
    assert!(stdout.contains("matched: restart-app-server"), "{stdout}");
    assert!(stdout.contains("executor: ssm"), "{stdout}");
    assert!(stdout.contains("target:   tag:Role=app"), "{stdout}");
    assert!(
        stdout.contains("    systemctl restart app-server\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("gate (attempt counts taken as zero): auto_remediate"),
        "{stdout}"
    );
    assert!(
        stdout.contains("remediation is disabled (remediation.enabled: false): nothing runs"),
        "{stdout}"
    );
    // Playbooks that do not match say why.
    assert!(
        stdout.contains("clean-scratch-space") && stdout.contains("no: message does not match"),
        "{stdout}"
    );
}

#[test]
fn low_confidence_escalates_and_an_unmatched_failure_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let pb = example();
    let failure = dir.path().join("failure.txt");
    std::fs::write(&failure, TRACEBACK).unwrap();
    let out = flow_doctor(
        dir.path(),
        &[
            "playbook",
            "test",
            failure.to_str().unwrap(),
            "--playbooks",
            pb.to_str().unwrap(),
            "--flow",
            "etl-nightly",
            "--category",
            "INFRA",
            "--confidence",
            "0.8",
        ],
        "",
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        stdout.contains("escalated: confidence 0.80 below auto-remediate threshold 0.90"),
        "{stdout}"
    );

    let out = flow_doctor(
        dir.path(),
        &[
            "playbook",
            "test",
            "--playbooks",
            pb.to_str().unwrap(),
            "--flow",
            "etl-nightly",
        ],
        "KeyError: 'customer_id'\n",
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stdout.contains("\nno playbook matches\n"), "{stdout}");
    assert!(
        stdout.contains("gate: pass --category and --confidence"),
        "{stdout}"
    );
}

#[test]
fn a_bad_playbook_file_fails_with_the_file_the_playbook_and_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "playbooks:\n  - name: reboot-box\n    action: {type: reboot, commands: [reboot]}\n",
    )
    .unwrap();
    let out = flow_doctor(
        dir.path(),
        &["playbook", "test", "--playbooks", bad.to_str().unwrap()],
        TRACEBACK,
    );
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("bad.yaml"), "{stderr}");
    assert!(stderr.contains("playbook `reboot-box`"), "{stderr}");
    assert!(stderr.contains("unknown action type `reboot`"), "{stderr}");
}

#[test]
fn it_never_executes_anything_even_when_the_configuration_would() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    std::fs::write(
        dir.path().join("flow-doctor.yaml"),
        format!(
            r#"flow_name: etl-nightly
store: {{type: memory}}
remediation:
  enabled: true
  dry_run: false
  playbooks:
    - name: touch-marker
      category: INFRA
      message_regex: Connection refused
      action:
        type: run_command
        commands: ["touch '{}'"]
        safe_to_auto_run: true
"#,
            marker.display()
        ),
    )
    .unwrap();
    let out = flow_doctor(
        dir.path(),
        &[
            "playbook",
            "test",
            "--category",
            "INFRA",
            "--confidence",
            "0.99",
            "--json",
        ],
        TRACEBACK,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["matched"], "touch-marker");
    assert_eq!(v["decision"]["route"], "auto_remediate");
    assert_eq!(v["would_run"], true);
    assert_eq!(v["dry_run"], false);
    assert_eq!(
        v["plan"]["commands"][0],
        format!("touch '{}'", marker.display())
    );
    assert_eq!(v["failure"]["error_type"], "ConnectionRefusedError");
    assert_eq!(v["failure"]["flow"], "etl-nightly");
    assert!(!marker.exists(), "playbook test must not run the command");
}
