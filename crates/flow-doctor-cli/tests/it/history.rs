//! `flow-doctor report` from stdin, and `history --flow` / `--limit`,
//! against a real SQLite file (the default `./flow_doctor.db`) in a
//! temporary directory, with no configuration file.

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::{run_bin, text};

/// `flow-doctor report ARGS` with `stdin` as its input.
fn report(dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut all = vec!["report"];
    all.extend_from_slice(args);
    run_bin(dir, &all, &[], stdin)
}

/// `flow-doctor history --json ARGS`, parsed.
fn history(dir: &Path, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["history", "--json"];
    all.extend_from_slice(args);
    let out = run_bin(dir, &all, &[], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// The messages of `history`'s incidents, in its order.
fn messages(incidents: &[Value]) -> Vec<String> {
    incidents
        .iter()
        .map(|v| v["report"]["message"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn report_reads_the_failure_text_from_stdin_with_the_given_severity_and_flow() {
    let dir = tempfile::tempdir().unwrap();
    let out = report(
        dir.path(),
        &["--severity", "warning", "--flow", "cron", "--json"],
        "disk quota exceeded on /data/cron\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let outcome: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(outcome["flow"], "cron", "{outcome}");
    let id = outcome["report_id"].as_str().unwrap().to_string();

    let incidents = history(dir.path(), &[]);
    assert_eq!(incidents.len(), 1, "{incidents:#?}");
    let r = &incidents[0]["report"];
    assert_eq!(r["id"], id.as_str());
    assert_eq!(r["flow"], "cron");
    assert_eq!(r["severity"], "warning");
    assert_eq!(r["kind"], "message");
    assert_eq!(r["message"], "disk quota exceeded on /data/cron");
    assert_eq!(r["traceback"], "disk quota exceeded on /data/cron\n");

    let show = run_bin(dir.path(), &["show", &id, "--json"], &[], "");
    assert!(show.status.success(), "{}", text(&show.stderr));
    let detail: Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(detail["report"]["flow"], "cron");
    assert_eq!(detail["report"]["severity"], "warning");
    assert_eq!(
        detail["report"]["message"],
        "disk quota exceeded on /data/cron"
    );

    // `-` is stdin too; another severity is stored as given.
    let out = report(
        dir.path(),
        &["--severity", "critical", "--flow", "cron", "-"],
        "payments ledger is locked by another writer\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let incidents = history(dir.path(), &[]);
    assert_eq!(incidents.len(), 2, "{incidents:#?}");
    let r = &incidents[0]["report"];
    assert_eq!(r["flow"], "cron");
    assert_eq!(r["severity"], "critical");
    assert_eq!(r["message"], "payments ledger is locked by another writer");
}

#[test]
fn report_refuses_empty_stdin_and_unknown_severities() {
    let dir = tempfile::tempdir().unwrap();
    let out = report(dir.path(), &["--flow", "cron"], "  \n\n");
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("the failure text is empty"), "{err}");

    let out = report(
        dir.path(),
        &["--severity", "urgent", "--flow", "cron"],
        "something broke\n",
    );
    assert_eq!(out.status.code(), Some(2), "a usage error");
    let err = text(&out.stderr);
    assert!(err.contains("--severity"), "{err}");
    assert!(
        err.contains("unknown severity `urgent`; expected one of: info, warning, error, critical"),
        "{err}"
    );
    assert!(history(dir.path(), &[]).is_empty(), "nothing was stored");
}

#[test]
fn history_filters_by_flow_and_limit_keeps_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    // Interleaved, each a distinct failure (distinct signatures).
    let reports = [
        ("a", "alpha extract lost its connection"),
        ("b", "bravo upload was rejected by the bucket"),
        ("a", "alpha transform found an empty column"),
        ("b", "bravo manifest is missing"),
        ("a", "alpha load hit a unique constraint"),
    ];
    for (flow, message) in reports {
        let out = report(dir.path(), &["--flow", flow], &format!("{message}\n"));
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    assert_eq!(history(dir.path(), &[]).len(), 5);

    let a = history(dir.path(), &["--flow", "a"]);
    assert!(a.iter().all(|v| v["report"]["flow"] == "a"), "{a:#?}");
    assert_eq!(
        messages(&a),
        [
            "alpha load hit a unique constraint",
            "alpha transform found an empty column",
            "alpha extract lost its connection",
        ],
        "flow a only, newest first"
    );
    let b = history(dir.path(), &["--flow", "b"]);
    assert_eq!(
        messages(&b),
        [
            "bravo manifest is missing",
            "bravo upload was rejected by the bucket",
        ]
    );

    assert_eq!(
        messages(&history(dir.path(), &["--limit", "2"])),
        [
            "alpha load hit a unique constraint",
            "bravo manifest is missing",
        ],
        "the two newest of all flows"
    );
    assert_eq!(
        messages(&history(dir.path(), &["--flow", "a", "--limit", "2"])),
        [
            "alpha load hit a unique constraint",
            "alpha transform found an empty column",
        ]
    );
    assert_eq!(
        messages(&history(dir.path(), &["--flow", "b", "--limit", "1"])),
        ["bravo manifest is missing"]
    );
    assert!(history(dir.path(), &["--flow", "nope"]).is_empty());

    // The table shows the same selection.
    let out = run_bin(dir.path(), &["history", "--flow", "b"], &[], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    let rows: Vec<&str> = table.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{table}");
    assert!(rows.iter().all(|l| l.contains("bravo")), "{table}");
    assert!(!table.contains("alpha"), "{table}");
    let out = run_bin(dir.path(), &["history", "--flow", "nope"], &[], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("no incidents recorded in "),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn history_and_show_carry_the_diagnosis_and_the_actions_taken() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("restarted.log");
    std::fs::write(
        dir.path().join("flow-doctor.yaml"),
        format!(
            r#"flow_name: etl-nightly
diagnosis:
  enabled: true
  provider: none
remediation:
  enabled: true
  dry_run: false
  auto_remediate_threshold: 0.5
  playbooks:
    - name: restart-db-tunnel
      category: INFRA
      message_regex: "(?i)connection refused"
      action:
        type: restart_service
        commands: ["echo restarted >> '{}'"]
        safe_to_auto_run: true
"#,
            marker.display()
        ),
    )
    .unwrap();
    let traceback = "Traceback (most recent call last):\n  File \"/app/etl/load.py\", line 42, in load\n    conn = psycopg2.connect(dsn)\nConnectionRefusedError: [Errno 111] Connection refused\n";
    let out = report(dir.path(), &["--json"], traceback);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let outcome: Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = outcome["report_id"].as_str().unwrap().to_string();
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap(),
        "restarted\n",
        "the playbook ran before `report` exited"
    );

    let incidents = history(dir.path(), &[]);
    assert_eq!(incidents.len(), 1, "{incidents:#?}");
    let diagnosis = &incidents[0]["diagnosis"];
    assert_eq!(diagnosis["category"], "INFRA", "{diagnosis}");
    assert_eq!(diagnosis["source"], "knowledge_base", "{diagnosis}");
    assert!(
        diagnosis["confidence"].as_f64().unwrap() >= 0.5,
        "{diagnosis}"
    );

    let show = run_bin(dir.path(), &["show", &id, "--json"], &[], "");
    assert!(show.status.success(), "{}", text(&show.stderr));
    let detail: Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(detail["diagnosis"], *diagnosis);
    let actions = detail["actions"].as_array().unwrap();
    let remediation: Vec<&Value> = actions
        .iter()
        .filter(|a| a["kind"] == "remediate")
        .collect();
    assert_eq!(remediation.len(), 1, "{actions:#?}");
    assert_eq!(remediation[0]["status"], "succeeded", "{actions:#?}");
    assert_eq!(remediation[0]["target"], "restart-db-tunnel");
    assert_eq!(remediation[0]["report_id"], id.as_str());

    // The human form says the same.
    let show = run_bin(dir.path(), &["show", &id], &[], "");
    let page = text(&show.stdout);
    assert!(page.contains("diagnosis  INFRA"), "{page}");
    assert!(page.contains("actions"), "{page}");
    assert!(page.contains("restart-db-tunnel"), "{page}");
}

/// One byte that is not UTF-8 does not lose a report, and a huge input is
/// read in bounded memory: its last MiB (where a traceback ends) is kept.
#[test]
fn report_takes_any_bytes_and_keeps_the_end_of_a_huge_input() {
    let dir = tempfile::tempdir().unwrap();
    let out = crate::run_bin_bytes(
        dir.path(),
        &["report", "--flow", "latin1"],
        b"ValueError: caf\xe9 bad\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let r = &history(dir.path(), &[])[0]["report"];
    assert_eq!(r["message"], "caf\u{fffd} bad", "{r}");

    let mut huge = Vec::with_capacity(3 << 20);
    while huge.len() < 3 << 20 {
        huge.extend_from_slice(b"INFO loading partition 0042 of the orders table\n");
    }
    huge.extend_from_slice(b"RuntimeError: the last partition is corrupt\n");
    let out = crate::run_bin_bytes(dir.path(), &["report", "--flow", "huge"], &huge);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let all = history(dir.path(), &["--flow", "huge"]);
    let r = &all[0]["report"];
    assert_eq!(
        r["message"], "the last partition is corrupt",
        "{}",
        r["message"]
    );
    let tb = r["traceback"].as_str().unwrap();
    assert!(tb.len() <= 1 << 20, "{} bytes kept", tb.len());
    assert!(tb.starts_with("INFO loading"), "starts at a line");
}

/// `flow-doctor history | head`: the reader closing the pipe ends the
/// listing quietly (141, as a program killed by SIGPIPE), not with a panic.
#[test]
fn a_closed_stdout_ends_history_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let out = report(dir.path(), &["--flow", "one"], "disk quota exceeded\n");
    assert!(out.status.success());
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_flow-doctor"))
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .arg("history")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The reader is gone before the listing is written (opening the store
    // comes first).
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = text(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(141), "{err}");
}
