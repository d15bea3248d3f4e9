//! `flow-doctor prune`: the real binary on a real SQLite file populated
//! through the store API with old timestamps.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use chrono::Utc;
use flow_doctor::model::ReportKind;
use flow_doctor::storage::SqliteStore;
use flow_doctor::{
    Action, ActionKind, ActionStatus, Category, Diagnosis, Id, Report, ReportId, Severity, Store,
};
use serde_json::Value;

use crate::text;

const HOUR: Duration = Duration::from_secs(3600);

fn flow_doctor(dir: &Path, args: &[&str]) -> Output {
    crate::run_bin(dir, args, &[], "")
}

fn write_config(dir: &Path, retention_days: u32) -> PathBuf {
    let path = dir.join("flow-doctor.yaml");
    std::fs::write(
        &path,
        format!(
            "flow_name: etl\nstore:\n  path: {}\n  retention_days: {retention_days}\n",
            dir.join("fd.db").display()
        ),
    )
    .unwrap();
    path
}

fn open(dir: &Path) -> SqliteStore {
    SqliteStore::open(dir.join("fd.db"), Duration::from_secs(10)).unwrap()
}

/// The incidents `populate` stores.
struct Seeded {
    /// Quiet for 60 days, diagnosed: pruned at 30 days.
    old: ReportId,
    /// Quiet for 60 days with a remediation still running: kept.
    pending: ReportId,
    /// Seen 2 days ago: kept at 30 days, pruned at 12h.
    recent: ReportId,
}

async fn populate(store: &SqliteStore) -> Seeded {
    let now = Utc::now();
    let report = |sig: &str, days: i64| {
        let mut r = Report::new("etl", Severity::Error, ReportKind::Error, "boom");
        r.signature = sig.into();
        r.occurred_at = now - chrono::Duration::days(days);
        r
    };
    let old = report("sig-old", 60);
    let pending = report("sig-pending", 60);
    let recent = report("sig-recent", 2);
    for r in [&old, &pending, &recent] {
        store.claim(r, HOUR).await.unwrap();
    }
    let mut d = Diagnosis::new(Category::Data, "the export dropped a column", 0.9);
    d.created_at = old.occurred_at;
    store.save_diagnosis(&old.id, &d).await.unwrap();
    let mut action = Action::new(
        &pending,
        ActionKind::Remediate,
        "local",
        ActionStatus::Pending,
        "restarting",
    );
    action.started_at = pending.occurred_at;
    action.finished_at = pending.occurred_at;
    store.record_action(&action).await.unwrap();
    Seeded {
        old: old.id,
        pending: pending.id,
        recent: recent.id,
    }
}

fn json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "stdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out.stdout)))
}

async fn exists(store: &SqliteStore, id: &Id) -> bool {
    store.get_report(id).await.unwrap().is_some()
}

#[tokio::test]
async fn prunes_by_retention_days_with_a_dry_run_first_and_older_than_overrides() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), 30);
    let config = config.to_str().unwrap();
    let store = open(dir.path());
    let seeded = populate(&store).await;

    let dry = json(&flow_doctor(
        dir.path(),
        &["prune", "--dry-run", "--json", "--config", config],
    ));
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["removed"]["incidents"], 1, "{dry}");
    assert_eq!(dry["removed"]["diagnoses"], 1, "{dry}");
    assert_eq!(dry["removed"]["incidents_kept"], 1, "{dry}");
    let before = dry["before"].as_str().unwrap();
    let before: chrono::DateTime<Utc> = before.parse().unwrap();
    let age = Utc::now() - before;
    assert!(
        age >= chrono::Duration::days(30) && age < chrono::Duration::days(31),
        "the default cut-off is now - retention_days: {before}"
    );
    assert!(
        exists(&store, &seeded.old).await,
        "a dry run removes nothing"
    );

    let real = json(&flow_doctor(
        dir.path(),
        &["prune", "--json", "--config", config],
    ));
    assert_eq!(real["dry_run"], false);
    assert_eq!(real["removed"], dry["removed"], "the dry run counted this");
    assert!(!exists(&store, &seeded.old).await);
    assert_eq!(store.get_diagnosis(&seeded.old).await.unwrap(), None);
    assert!(
        exists(&store, &seeded.pending).await,
        "a pending action keeps its incident"
    );
    assert!(exists(&store, &seeded.recent).await);

    let out = flow_doctor(
        dir.path(),
        &["prune", "--older-than", "12h", "--config", config],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("removed 1 records"), "{stdout}");
    assert!(stdout.contains("incidents"), "{stdout}");
    assert!(
        stdout.contains("kept 1 older incidents still in flight"),
        "{stdout}"
    );
    assert!(
        !text(&out.stderr).contains("warning"),
        "12h is longer than the 60m cooldown: {}",
        text(&out.stderr)
    );
    assert!(!exists(&store, &seeded.recent).await);
    assert!(exists(&store, &seeded.pending).await);
}

#[tokio::test]
async fn retention_zero_keeps_everything_unless_older_than_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), 0);
    let config = config.to_str().unwrap();
    let store = open(dir.path());
    let seeded = populate(&store).await;

    let out = json(&flow_doctor(
        dir.path(),
        &["prune", "--json", "--config", config],
    ));
    assert_eq!(out["before"], Value::Null);
    assert_eq!(out["removed"]["incidents"], 0);
    let out = flow_doctor(dir.path(), &["prune", "--config", config]);
    assert!(
        text(&out.stdout).contains("keeping everything"),
        "{}",
        text(&out.stdout)
    );
    assert!(exists(&store, &seeded.old).await);

    let out = json(&flow_doctor(
        dir.path(),
        &["prune", "--older-than", "45d", "--json", "--config", config],
    ));
    assert_eq!(out["removed"]["incidents"], 1, "{out}");
    assert!(!exists(&store, &seeded.old).await);
}

#[test]
fn a_bad_duration_is_refused_before_touching_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), 30);
    let out = flow_doctor(
        dir.path(),
        &[
            "prune",
            "--older-than",
            "5x",
            "--config",
            config.to_str().unwrap(),
        ],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("unknown unit `x`"),
        "{}",
        text(&out.stderr)
    );
    assert!(!dir.path().join("fd.db").exists(), "no store was created");
}
