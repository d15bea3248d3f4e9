//! `flow-doctor digest`: the real binary on a real SQLite store, sending by
//! email to a real SMTP server (aiosmtpd from the peers virtualenv).

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use flow_doctor::model::ReportKind;
use flow_doctor::storage::SqliteStore;
use flow_doctor::store::ActionQuery;
use flow_doctor::{
    ActionKind, ActionStatus, Category, DecisionKind, Diagnosis, DigestEntry, Id, Report, Severity,
    Store,
};
use serde_json::Value;

use crate::smtp_peer::{SmtpSink, free_port};
use crate::text;

fn flow_doctor(dir: &Path, args: &[&str]) -> Output {
    crate::run_bin(dir, args, &[], "")
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
    let sink = SmtpSink::start(None);
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

/// Issue 5, acceptance 2, end to end: the real engine (configuration →
/// `flow_doctor::notifiers` → GitHub fake and SMTP) files the first failure,
/// holds back a second distinct one at `max_issues_per_day: 1`; the real
/// binary then lists it in `flow-doctor digest` and `--send` mails it to
/// the real SMTP server (and files it as a GitHub digest issue), once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_held_back_at_max_issues_per_day_is_in_the_digest_and_mailed() {
    use std::sync::Arc;

    use chrono::TimeZone;
    use flow_doctor::FlowDoctor;
    use flow_doctor::clock::ManualClock;
    use flow_doctor::store::DecisionQuery;

    use crate::github_fake::FakeGithub;
    use crate::smtp_peer::{header, part};

    const TOKEN: &str = "ghs_e2eInstallationToken0000000000000";
    let github = FakeGithub::start(TOKEN).await;
    let sink = SmtpSink::start(None);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("flow-doctor.yaml");
    // GitHub takes incidents (one a day); email takes only critical alerts
    // and digests.
    std::fs::write(
        &config,
        format!(
            "flow_name: etl\nrepo: acme/etl\nstore:\n  path: {db}\n\
             rate_limits:\n  max_issues_per_day: 1\n\
             notify:\n  - type: github\n    token: {TOKEN}\n    base_url: {github}\n\
             \x20 - type: email\n    smtp_host: 127.0.0.1\n    smtp_port: {port}\n    security: none\n    \
             from: flow-doctor@example.com\n    to: [oncall@example.com]\n    notify_on: [critical]\n",
            db = dir.path().join("fd.db").display(),
            github = github.uri(),
            port = sink.port,
        ),
    )
    .unwrap();
    let cfg = flow_doctor::Config::from_path(&config).unwrap();
    let clock = Arc::new(ManualClock::new(
        chrono::Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap(),
    ));
    let mut builder = FlowDoctor::builder(cfg.flow_name.clone())
        .config(&cfg)
        .store(flow_doctor::open_store(&cfg).unwrap())
        .clock(clock.clone());
    for (notifier, route) in flow_doctor::notifiers(&cfg).unwrap() {
        builder = builder.notifier_with_route(notifier, route);
    }
    let fd = builder.build().unwrap();
    let wait = Duration::from_secs(120); // a guard against a hung worker
    let traceback = |error: &str, function: &str| {
        format!(
            "Traceback (most recent call last):\n  File \"/srv/etl/load.py\", line 42, in {function}\n    \
             rows = read(table)\n{error}\n"
        )
    };
    let filed = fd.report_text(
        Severity::Error,
        traceback("KeyError: 'customer_id'", "load_rows"),
    );
    let filed = tokio::time::timeout(wait, filed.outcome()).await.unwrap();
    clock.advance(chrono::Duration::minutes(5));
    let held = fd.report_text(
        Severity::Error,
        traceback(
            "OSError: [Errno 28] No space left on device",
            "write_parquet",
        ),
    );
    let held = tokio::time::timeout(wait, held.outcome()).await.unwrap();
    assert!(fd.flush(wait));
    drop(fd);

    assert_eq!(filed.decision, DecisionKind::Fired, "{}", filed.reason);
    assert_eq!(held.decision, DecisionKind::RateLimited, "{}", held.reason);
    assert!(
        held.reason
            .contains("held back from github (daily limit 1 reached)"),
        "{}",
        held.reason
    );
    assert_ne!(held.signature, filed.signature);
    let calls = github.calls().await;
    assert_eq!(
        calls
            .iter()
            .filter(|c| *c == "POST /repos/acme/etl/issues")
            .count(),
        1,
        "{calls:#?}"
    );
    assert_eq!(
        github.real_issues()[0]["title"],
        "[etl] KeyError: 'customer_id'"
    );
    assert!(sink.messages().is_empty(), "email takes digests only");
    let store = flow_doctor::open_store(&cfg).unwrap();
    for o in [&filed, &held] {
        let decisions = store
            .decisions(&DecisionQuery {
                report_id: Some(o.report_id.clone()),
                ..DecisionQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(decisions.len(), 1, "{decisions:#?}");
        assert_eq!(decisions[0].kind, o.decision);
    }

    // The real binary: the held-back failure is in the digest, the filed one is not.
    let cfg_arg = config.to_str().unwrap().to_string();
    let root = dir.path().to_path_buf();
    let run = move |args: Vec<&'static str>| {
        let (root, cfg_arg) = (root.clone(), cfg_arg.clone());
        tokio::task::spawn_blocking(move || {
            let mut all: Vec<&str> = args;
            all.extend(["--config", cfg_arg.as_str()]);
            flow_doctor(&root, &all)
        })
    };
    let out = run(vec!["digest"]).await.unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("flow-doctor digest: 1 held-back report in 1 flow"),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("No space left on device") && l.contains("[rate_limited 1]")),
        "{stdout}"
    );
    assert!(!stdout.contains("customer_id"), "{stdout}");

    let out = run(vec!["digest", "--send"]).await.unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("digest sent to github"), "{stderr}");
    assert!(stderr.contains("digest sent to email"), "{stderr}");
    assert!(
        stderr.contains("marked 1 digest entries as sent"),
        "{stderr}"
    );

    let mail = sink.messages();
    assert_eq!(mail.len(), 1);
    assert_eq!(
        header(&mail[0], "Subject"),
        Some("[flow-doctor] flow-doctor digest: 1 held-back report in 1 flow")
    );
    assert_eq!(
        mail[0]["rcpt_tos"],
        serde_json::json!(["oncall@example.com"])
    );
    let plain = part(&mail[0], "text/plain").expect("a text/plain part");
    assert!(
        plain
            .lines()
            .any(|l| l.contains("No space left on device") && l.contains("[rate_limited 1]")),
        "{plain}"
    );
    assert!(
        !plain.contains("customer_id"),
        "only the held-back failure: {plain}"
    );
    // GitHub got the digest as its own issue; the held-back failure was
    // never filed on its own.
    let issues = github.real_issues();
    assert_eq!(issues.len(), 2, "{issues:#?}");
    let digest_issue = &issues[1];
    assert!(
        digest_issue["title"]
            .as_str()
            .unwrap()
            .starts_with("flow-doctor digest "),
        "{digest_issue}"
    );
    assert!(
        digest_issue["labels"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["name"] == "digest")
    );
    assert!(
        digest_issue["body"]
            .as_str()
            .unwrap()
            .contains("No space left on device")
    );
    assert!(store.pending_digest(None).await.unwrap().is_empty());

    // Nothing is sent twice.
    let out = run(vec!["digest", "--send"]).await.unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Nothing held back."));
    assert_eq!(sink.messages().len(), 1);
    assert_eq!(github.real_issues().len(), 2);
}

/// Holds back one report of flow `etl` at `at` (no configuration needed:
/// the default store `./flow_doctor.db`).
async fn hold_back(
    store: &SqliteStore,
    sig: &str,
    message: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Id {
    let mut r = Report::new("etl", Severity::Error, ReportKind::Error, message);
    r.signature = sig.into();
    store.claim(&r, Duration::from_secs(3600)).await.unwrap();
    let id = Id::new();
    store
        .enqueue_digest(&DigestEntry {
            id: id.clone(),
            report_id: r.id.clone(),
            flow: "etl".into(),
            signature: sig.into(),
            headline: r.headline(),
            severity: r.severity,
            channel: Some("github".into()),
            reason: DecisionKind::RateLimited,
            at,
            digested_at: None,
        })
        .await
        .unwrap();
    id
}

#[tokio::test]
async fn since_leaves_out_entries_held_back_before_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        SqliteStore::open(dir.path().join("flow_doctor.db"), Duration::from_secs(10)).unwrap();
    let now = chrono::Utc::now();
    let old = hold_back(
        &store,
        "sig-old",
        "three hours stale",
        now - chrono::Duration::hours(3),
    )
    .await;
    let fresh = hold_back(
        &store,
        "sig-new",
        "one minute fresh",
        now - chrono::Duration::minutes(1),
    )
    .await;
    let digest_json = |args: &[&str]| -> Value {
        let mut all = vec!["digest", "--json"];
        all.extend_from_slice(args);
        let out = flow_doctor(dir.path(), &all);
        assert!(out.status.success(), "{}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };

    let json = digest_json(&["--since", "1h"]);
    assert_eq!(
        json["entry_ids"],
        serde_json::json!([fresh.as_str()]),
        "{json:#}"
    );
    assert_eq!(json["flows"][0]["total"], 1);
    assert_eq!(
        json["flows"][0]["signatures"][0]["headline"], "one minute fresh",
        "{json:#}"
    );
    let since: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(json["since"].clone()).expect("--since sets `since`");
    let window = now - since;
    assert!(
        window > chrono::Duration::minutes(59) && window < chrono::Duration::minutes(61),
        "since {since} is about an hour before {now}"
    );

    let out = flow_doctor(dir.path(), &["digest", "--since", "1h"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("flow-doctor digest: 1 held-back report in 1 flow"),
        "{stdout}"
    );
    assert!(stdout.contains("one minute fresh"), "{stdout}");
    assert!(!stdout.contains("three hours stale"), "{stdout}");

    // `--since 30s` is before the fresh entry too: nothing.
    let out = flow_doctor(dir.path(), &["digest", "--since", "30s"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("Nothing held back since "),
        "{}",
        text(&out.stdout)
    );

    // A wider window, or none, takes both; excluding never marks anything.
    let mut ids = vec![old.as_str().to_string(), fresh.as_str().to_string()];
    ids.sort();
    for args in [&["--since", "4h"][..], &[]] {
        let json = digest_json(args);
        let mut got: Vec<String> = json["entry_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        got.sort();
        assert_eq!(got, ids, "{args:?}: {json:#}");
        assert_eq!(json["flows"][0]["total"], 2);
    }
    assert!(digest_json(&[])["since"].is_null());
    assert_eq!(store.pending_digest(None).await.unwrap().len(), 2);
}

#[test]
fn a_malformed_since_fails_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    for (value, problem) in [
        ("1x", "`1x` has unknown unit `x`"),
        ("abc", "`abc` is not a duration"),
        ("", "empty duration"),
    ] {
        let out = flow_doctor(dir.path(), &["digest", "--since", value]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "--since {value:?} is a usage error"
        );
        let err = text(&out.stderr);
        assert!(
            err.contains(&format!("invalid value '{value}' for '--since <SINCE>'")),
            "{err}"
        );
        assert!(err.contains(problem), "{err}");
        assert!(text(&out.stdout).is_empty(), "no digest is printed");
    }
    assert!(
        !dir.path().join("flow_doctor.db").exists(),
        "the store is not even opened"
    );
}

/// Asserts that `stderr` has every one of `lines`.
fn says(stderr: &str, lines: &[&str]) {
    for line in lines {
        assert!(stderr.contains(line), "no `{line}` in:\n{stderr}");
    }
}

/// One channel failing does not cost it the digest, and the channels that
/// took it do not get it twice: GitHub takes the digest while email is
/// down; the next `--send` mails those entries and files nothing new, and
/// only then are the entries marked digested.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_that_failed_gets_the_digest_next_time_and_the_others_not_twice() {
    use crate::github_fake::FakeGithub;

    const TOKEN: &str = "ghs_digestInstallationToken00000000000";
    let github = FakeGithub::start(TOKEN).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("flow-doctor.yaml");
    let write = |smtp_port: u16| {
        std::fs::write(
            &config,
            format!(
                "flow_name: etl\nrepo: acme/etl\nstore:\n  path: {db}\n\
                 notify:\n  - type: github\n    token: {TOKEN}\n    base_url: {uri}\n\
                 \x20 - type: email\n    smtp_host: 127.0.0.1\n    smtp_port: {smtp_port}\n    security: none\n    \
                 from: flow-doctor@example.com\n    to: [oncall@example.com]\n",
                db = dir.path().join("fd.db").display(),
                uri = github.uri(),
            ),
        )
        .unwrap();
    };
    let store = populate(&dir.path().join("fd.db")).await;
    let args = ["digest", "--send", "--config", config.to_str().unwrap()];

    // Email is down (nothing listens on the port).
    write(free_port());
    let out = flow_doctor(dir.path(), &args);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "GitHub took it: {stderr}");
    says(
        &stderr,
        &[
            "digest sent to github",
            "digest to email failed",
            "marked 0 digest entries as sent",
            "2 entries stay pending for email",
        ],
    );
    assert_eq!(github.real_issues().len(), 1);
    assert_eq!(store.pending_digest(None).await.unwrap().len(), 2);

    // Email is back: it gets both entries; GitHub gets nothing new.
    let sink = SmtpSink::start(None);
    write(sink.port);
    let out = flow_doctor(dir.path(), &args);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    says(
        &stderr,
        &[
            "digest sent to email",
            "github already has every entry of this digest",
            "marked 2 digest entries as sent",
        ],
    );
    assert_eq!(sink.messages().len(), 1);
    let raw = sink.messages()[0]["parts"].to_string();
    assert!(raw.contains("disk full"), "{raw}");
    assert_eq!(github.real_issues().len(), 1, "no second digest issue");
    assert!(store.pending_digest(None).await.unwrap().is_empty());

    // Nothing is left to send anywhere.
    let out = flow_doctor(dir.path(), &args);
    assert!(text(&out.stdout).contains("Nothing held back."));
    assert_eq!(sink.messages().len(), 1);
    assert_eq!(github.real_issues().len(), 1);
}
