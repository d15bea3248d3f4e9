//! Eight OS processes sharing one SQLite file, released at the same moment.
//!
//! Each test re-executes this test binary (`current_exe`) filtered to
//! itself with `FD_MP_ROLE` set: in the children the same test function
//! runs the child side (open the store, say ready, wait for the `go` file,
//! do one operation, write its outcome to a file) and returns; in the
//! parent it spawns the children, releases them together and checks the
//! outcomes.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use flow_doctor_core::model::{Report, ReportKind, Severity};
use flow_doctor_core::store::{BudgetGrant, BudgetRequest, ReportQuery};
use flow_doctor_core::{Claim, Store};
use flow_doctor_storage::SqliteStore;

const PROCESSES: usize = 8;
const ROLE: &str = "FD_MP_ROLE";
const DIR: &str = "FD_MP_DIR";
const INDEX: &str = "FD_MP_INDEX";
/// Generous: only guards against a hung child on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(120);
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);
const FLOW: &str = "nightly-etl";
const SIGNATURE: &str = "3fa2c1d0";

/// The daily window every child uses, fixed so all agree.
fn window() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn db(dir: &Path) -> PathBuf {
    dir.join("shared.db")
}

/// In a child: the role and working directory. `None` in the parent.
fn child_role() -> Option<(String, PathBuf, usize)> {
    let role = std::env::var(ROLE).ok()?;
    let dir = PathBuf::from(std::env::var(DIR).expect("FD_MP_DIR"));
    let index = std::env::var(INDEX)
        .expect("FD_MP_INDEX")
        .parse()
        .expect("index");
    Some((role, dir, index))
}

/// The child side: open, signal ready, wait for `go`, run `op`, write the
/// outcome.
fn child<F>(dir: &Path, index: usize, op: F)
where
    F: AsyncFnOnce(&dyn Store) -> String,
{
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let store = SqliteStore::open(db(dir), BUSY_TIMEOUT).unwrap();
    std::fs::write(dir.join(format!("ready-{index}")), "").unwrap();
    let go = dir.join("go");
    let deadline = Instant::now() + PATIENCE;
    while !go.exists() {
        assert!(Instant::now() < deadline, "child {index}: never released");
        std::thread::sleep(Duration::from_micros(200));
    }
    let outcome = rt.block_on(op(&store));
    std::fs::write(dir.join(format!("result-{index}")), outcome).unwrap();
}

/// The parent side: spawns the children running `test` with `role`,
/// releases them together and returns their outcomes.
fn run_children(test: &str, role: &str, dir: &Path) -> Vec<String> {
    let exe = std::env::current_exe().unwrap();
    let mut children: Vec<Child> = (0..PROCESSES)
        .map(|i| {
            let out = std::fs::File::create(dir.join(format!("output-{i}"))).unwrap();
            Command::new(&exe)
                .args([test, "--exact", "--test-threads=1", "--nocapture"])
                .env(ROLE, role)
                .env(DIR, dir)
                .env(INDEX, i.to_string())
                .stdin(Stdio::null())
                .stdout(out.try_clone().unwrap())
                .stderr(out)
                .spawn()
                .unwrap()
        })
        .collect();
    let output = |i: usize| std::fs::read_to_string(dir.join(format!("output-{i}"))).unwrap();

    let deadline = Instant::now() + PATIENCE;
    loop {
        let ready = (0..PROCESSES)
            .filter(|i| dir.join(format!("ready-{i}")).exists())
            .count();
        if ready == PROCESSES {
            break;
        }
        for (i, c) in children.iter_mut().enumerate() {
            if let Some(status) = c.try_wait().unwrap() {
                panic!("child {i} exited early ({status}):\n{}", output(i));
            }
        }
        assert!(Instant::now() < deadline, "only {ready} children got ready");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::fs::write(dir.join("go"), "").unwrap();

    children
        .iter_mut()
        .enumerate()
        .map(|(i, c)| {
            let status = c.wait().unwrap();
            assert!(
                status.success(),
                "child {i} failed ({status}):\n{}",
                output(i)
            );
            std::fs::read_to_string(dir.join(format!("result-{i}")))
                .unwrap_or_else(|e| panic!("child {i} wrote no result ({e}):\n{}", output(i)))
        })
        .collect()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn eight_processes_claiming_one_failure_make_one_incident() {
    const TEST: &str = "multiprocess::eight_processes_claiming_one_failure_make_one_incident";
    if let Some((role, dir, index)) = child_role() {
        assert_eq!(role, "claim");
        return child(&dir, index, async |store| {
            let mut report = Report::new(FLOW, Severity::Error, ReportKind::ProcessExit, "boom");
            report.signature = SIGNATURE.into();
            match store
                .claim(&report, Duration::from_secs(3600))
                .await
                .unwrap()
            {
                Claim::New => format!("new {}", report.id),
                Claim::Duplicate {
                    incident_id,
                    dedup_count,
                } => format!("duplicate {incident_id} {dedup_count}"),
            }
        });
    }

    // A fresh file: the children also race to create the schema.
    let dir = tempfile::tempdir().unwrap();
    let outcomes = run_children(TEST, "claim", dir.path());
    let new: Vec<&str> = outcomes
        .iter()
        .filter_map(|o| o.strip_prefix("new "))
        .collect();
    assert_eq!(
        new.len(),
        1,
        "exactly one process owns the incident: {outcomes:?}"
    );
    let incident = new[0];
    let mut counts: Vec<u64> = outcomes
        .iter()
        .filter_map(|o| o.strip_prefix("duplicate "))
        .map(|rest| {
            let (id, count) = rest.split_once(' ').unwrap();
            assert_eq!(id, incident, "every duplicate folds into the one incident");
            count.parse().unwrap()
        })
        .collect();
    counts.sort_unstable();
    assert_eq!(counts, [2, 3, 4, 5, 6, 7, 8]);

    let store = SqliteStore::open(db(dir.path()), BUSY_TIMEOUT).unwrap();
    let incidents = runtime()
        .block_on(store.list_reports(&ReportQuery {
            flow: Some(FLOW.into()),
            ..Default::default()
        }))
        .unwrap();
    assert_eq!(incidents.len(), 1);
    assert_eq!(incidents[0].id.as_str(), incident);
    assert_eq!(incidents[0].dedup_count, 8);
}

#[test]
fn eight_processes_consuming_a_limit_of_three_get_three() {
    const TEST: &str = "multiprocess::eight_processes_consuming_a_limit_of_three_get_three";
    if let Some((role, dir, index)) = child_role() {
        assert_eq!(role, "consume");
        return child(&dir, index, async |store| {
            let granted = store.try_consume("slack:etl", window(), 3).await.unwrap();
            granted.to_string()
        });
    }
    let dir = tempfile::tempdir().unwrap();
    // Created up front this time: the children only race on the limit.
    drop(SqliteStore::open(db(dir.path()), BUSY_TIMEOUT).unwrap());
    let outcomes = run_children(TEST, "consume", dir.path());
    assert_eq!(
        outcomes.iter().filter(|o| *o == "true").count(),
        3,
        "{outcomes:?}"
    );
    assert_eq!(
        outcomes.iter().filter(|o| *o == "false").count(),
        5,
        "{outcomes:?}"
    );
    let store = SqliteStore::open(db(dir.path()), BUSY_TIMEOUT).unwrap();
    assert!(
        !runtime()
            .block_on(store.try_consume("slack:etl", window(), 3))
            .unwrap()
    );
}

#[test]
fn eight_processes_reserving_a_budget_of_three_get_three() {
    const TEST: &str = "multiprocess::eight_processes_reserving_a_budget_of_three_get_three";
    let request = BudgetRequest {
        scope: "diagnosis".into(),
        window_start: window(),
        max_count: 3,
        max_cost_usd: 5.0,
    };
    if let Some((role, dir, index)) = child_role() {
        assert_eq!(role, "budget");
        return child(&dir, index, async |store| {
            match store.reserve_budget(&request).await.unwrap() {
                BudgetGrant::Granted(_) => "granted".to_string(),
                BudgetGrant::CountExceeded(usage) => format!("count_exceeded {}", usage.count),
                BudgetGrant::CostExceeded(usage) => format!("cost_exceeded {}", usage.count),
            }
        });
    }
    let dir = tempfile::tempdir().unwrap();
    drop(SqliteStore::open(db(dir.path()), BUSY_TIMEOUT).unwrap());
    let outcomes = run_children(TEST, "budget", dir.path());
    assert_eq!(
        outcomes.iter().filter(|o| *o == "granted").count(),
        3,
        "{outcomes:?}"
    );
    assert_eq!(
        outcomes.iter().filter(|o| *o == "count_exceeded 3").count(),
        5,
        "{outcomes:?}"
    );
    let store = SqliteStore::open(db(dir.path()), BUSY_TIMEOUT).unwrap();
    let usage = runtime()
        .block_on(store.budget_usage("diagnosis", window()))
        .unwrap();
    assert_eq!(usage.count, 3);
}
