//! `flow-doctor digest`: the real binary on a real SQLite store, sending by
//! email to a real SMTP server (aiosmtpd from the peers virtualenv).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use flow_doctor::model::ReportKind;
use flow_doctor::storage::SqliteStore;
use flow_doctor::store::ActionQuery;
use flow_doctor::{
    ActionKind, ActionStatus, Category, DecisionKind, Diagnosis, DigestEntry, Id, Report, Severity,
    Store,
};
use serde_json::Value;

/// A real SMTP server writing each message as JSON; killed on drop.
struct SmtpSink {
    port: u16,
    dir: tempfile::TempDir,
    child: Child,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl SmtpSink {
    fn start() -> Self {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let venv = std::env::var_os("FLOW_DOCTOR_PEERS_VENV")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join(".peers/venv"));
        let python = venv.join("bin/python");
        assert!(
            python.exists(),
            "no Python peers virtualenv at {}: run `cargo xtask peers` first",
            venv.display()
        );
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut child = Command::new(python)
            .arg("-u")
            .arg(root.join("crates/flow-doctor-notify/tests/peers/smtp_sink.py"))
            .arg("--dir")
            .arg(dir.path())
            .arg("--port")
            .arg(port.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the SMTP sink");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        // a guard against a hung peer, not a timing assertion
        let line = rx
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_default();
        assert_eq!(line.trim(), "READY", "the SMTP sink did not start");
        Self { port, dir, child }
    }

    fn messages(&self) -> Vec<Value> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        paths.sort();
        paths
            .iter()
            .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn flow_doctor(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_flow-doctor"));
    cmd.current_dir(dir).env_clear().args(args);
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    cmd.output().expect("run flow-doctor")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn write_config(dir: &Path, smtp_port: u16) -> PathBuf {
    let path = dir.join("flow-doctor.yaml");
    std::fs::write(
        &path,
        format!(
            "flow_name: etl\nstore:\n  path: {}\nnotify:\n  - type: console\n  - type: email\n    smtp_host: 127.0.0.1\n    smtp_port: {smtp_port}\n    security: none\n    from: flow-doctor@example.com\n    to: [oncall@example.com]\n",
            dir.join("fd.db").display()
        ),
    )
    .unwrap();
    path
}

/// Two held-back failures of flow `etl`, one of them diagnosed.
async fn populate(db: &Path) -> SqliteStore {
    let store = SqliteStore::open(db, Duration::from_secs(10)).unwrap();
    for (sig, message, reason, diagnosed) in [
        ("sig-a", "'customer_id'", DecisionKind::RateLimited, true),
        ("sig-b", "disk full", DecisionKind::DeliveryFailed, false),
    ] {
        let mut r = Report::new("etl", Severity::Error, ReportKind::Error, message);
        r.error_type = Some(if diagnosed { "KeyError" } else { "OSError" }.into());
        r.signature = sig.into();
        store.claim(&r, Duration::from_secs(3600)).await.unwrap();
        if diagnosed {
            let d = Diagnosis::new(Category::Data, "the export dropped a column", 0.9);
            store.save_diagnosis(&r.id, &d).await.unwrap();
        }
        store
            .enqueue_digest(&DigestEntry {
                id: Id::new(),
                report_id: r.id.clone(),
                flow: "etl".into(),
                signature: sig.into(),
                headline: r.headline(),
                severity: r.severity,
                channel: Some("github".into()),
                reason,
                at: r.occurred_at,
                digested_at: None,
            })
            .await
            .unwrap();
    }
    store
}

#[tokio::test]
async fn prints_the_digest_and_send_delivers_it_by_email_exactly_once() {
    let sink = SmtpSink::start();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), sink.port);
    let config = config.to_str().unwrap();
    let store = populate(&dir.path().join("fd.db")).await;

    let out = flow_doctor(dir.path(), &["digest", "--config", config]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("flow-doctor digest: 2 held-back reports in 1 flow"),
        "{stdout}"
    );
    assert!(
        stdout.contains("KeyError: 'customer_id' [rate_limited 1]"),
        "{stdout}"
    );
    assert!(
        stdout.contains("OSError: disk full [delivery_failed 1]"),
        "{stdout}"
    );
    assert!(
        stdout.contains("DATA: the export dropped a column"),
        "{stdout}"
    );
    assert!(sink.messages().is_empty(), "printing sends nothing");

    let out = flow_doctor(dir.path(), &["digest", "--json", "--config", config]);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["flows"][0]["flow"], "etl");
    assert_eq!(json["flows"][0]["total"], 2);
    assert_eq!(json["entry_ids"].as_array().unwrap().len(), 2);

    let out = flow_doctor(dir.path(), &["digest", "--send", "--config", config]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("digest sent to email"), "{stderr}");
    assert!(
        stderr.contains("marked 2 digest entries as sent"),
        "{stderr}"
    );
    let mail = sink.messages();
    assert_eq!(mail.len(), 1);
    let subject = mail[0]["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h[0] == "Subject")
        .unwrap()[1]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        subject,
        "[flow-doctor] flow-doctor digest: 2 held-back reports in 1 flow"
    );
    let raw = mail[0]["parts"].to_string();
    assert!(
        raw.contains("KeyError: 'customer_id'")
            || raw.contains("KeyError: &#x27;customer_id&#x27;"),
        "{raw}"
    );
    assert!(raw.contains("disk full"), "{raw}");

    assert!(store.pending_digest(None).await.unwrap().is_empty());
    let actions = store
        .actions(&ActionQuery {
            kind: Some(ActionKind::Digest),
            ..ActionQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(actions.len(), 1);
    assert_eq!(actions[0].target, "email");
    assert_eq!(actions[0].status, ActionStatus::Succeeded);
    assert_eq!(actions[0].flow, "etl");

    // nothing is sent twice
    let out = flow_doctor(dir.path(), &["digest", "--send", "--config", config]);
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("Nothing held back."));
    assert_eq!(sink.messages().len(), 1);
}

#[tokio::test]
async fn a_failed_send_keeps_the_entries_pending() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), free_port());
    let store = populate(&dir.path().join("fd.db")).await;

    let out = flow_doctor(
        dir.path(),
        &["digest", "--send", "--config", config.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("digest to email failed"), "{stderr}");
    assert!(stderr.contains("entries stay pending"), "{stderr}");
    assert_eq!(store.pending_digest(None).await.unwrap().len(), 2);
    let actions = store
        .actions(&ActionQuery {
            kind: Some(ActionKind::Digest),
            ..ActionQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(actions.len(), 1);
    assert_eq!(actions[0].status, ActionStatus::Failed);
    assert_eq!(actions[0].attempts, 3);
}
