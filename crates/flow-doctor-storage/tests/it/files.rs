//! Opening files: WAL, migrations, refusals, persistence, busy handling.

use std::time::Duration;

use chrono::Utc;
use flow_doctor_core::config::{StoreConfig, StoreKind};
use flow_doctor_core::model::{Decision, DecisionKind, Id, Report, ReportKind, Severity};
use flow_doctor_core::{Claim, Error, Store};
use flow_doctor_storage::SqliteStore;
use rusqlite::Connection;

const HOUR: Duration = Duration::from_secs(3600);
const TIMEOUT: Duration = Duration::from_secs(10);

fn report(flow: &str, signature: &str) -> Report {
    let mut r = Report::new(flow, Severity::Error, ReportKind::Error, "boom");
    r.signature = signature.into();
    r
}

fn user_version(conn: &Connection) -> u32 {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap()
}

fn config_message(err: Error) -> String {
    match err {
        Error::Config { component, message } => {
            assert_eq!(component, "sqlite");
            message
        }
        other => panic!("expected a configuration error, got {other:?}"),
    }
}

#[test]
fn a_fresh_file_is_in_wal_mode_with_every_table() {
    let dir = tempfile::tempdir().unwrap();
    // The parent directory is created.
    let path = dir.path().join("nested/dir/flow_doctor.db");
    let store = SqliteStore::open(&path, TIMEOUT).unwrap();
    assert_eq!(store.path(), path);

    let conn = Connection::open(&path).unwrap();
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    assert_eq!(user_version(&conn), SqliteStore::SCHEMA_VERSION);
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap();
    let tables: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        tables,
        [
            "actions",
            "cost_ledger",
            "counters",
            "decisions",
            "diagnoses",
            "digest_queue",
            "feedback",
            "fix_attempts",
            "patterns",
            "rate_limits",
            "reports",
        ]
    );
}

#[tokio::test]
async fn reopening_keeps_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flow_doctor.db");
    let first = report("etl", "sig");
    {
        let store = SqliteStore::open(&path, TIMEOUT).unwrap();
        assert_eq!(store.claim(&first, HOUR).await.unwrap(), Claim::New);
        store
            .record_decision(&Decision {
                id: Id::new(),
                report_id: first.id.clone(),
                incident_id: first.id.clone(),
                flow: "etl".into(),
                signature: "sig".into(),
                kind: DecisionKind::Fired,
                reason: "delivered".into(),
                channels: vec!["console".into()],
                at: Utc::now(),
            })
            .await
            .unwrap();
        assert_eq!(store.counter_add("streak", 3).await.unwrap(), 3);
    }
    let store = SqliteStore::open(&path, TIMEOUT).unwrap();
    let stored = store.get_report(&first.id).await.unwrap().unwrap();
    assert_eq!(stored.message, "boom");
    assert_eq!(stored.occurred_at, first.occurred_at);
    let decisions = store.decisions(&Default::default()).await.unwrap();
    assert_eq!(decisions.len(), 1);
    assert_eq!(decisions[0].kind, DecisionKind::Fired);
    assert_eq!(store.counter_add("streak", 1).await.unwrap(), 4);
    // Dedup state survives too.
    assert_eq!(
        store.claim(&report("etl", "sig"), HOUR).await.unwrap(),
        Claim::Duplicate {
            incident_id: first.id.clone(),
            dedup_count: 2
        }
    );
}

#[tokio::test]
async fn an_older_schema_is_migrated_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let first = report("etl", "sig");
    {
        let store = SqliteStore::open(&path, TIMEOUT).unwrap();
        assert_eq!(store.claim(&first, HOUR).await.unwrap(), Claim::New);
    }
    // Turn the file back into a version-1 database: migrations 2 and 3 add
    // the indexes, so drop them and the version.
    let conn = Connection::open(&path).unwrap();
    let indexes: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(indexes.len(), 17);
    for index in &indexes {
        conn.execute_batch(&format!("DROP INDEX {index}")).unwrap();
    }
    conn.pragma_update(None, "user_version", 1).unwrap();
    drop(conn);

    let store = SqliteStore::open(&path, TIMEOUT).unwrap();
    let conn = Connection::open(&path).unwrap();
    assert_eq!(user_version(&conn), SqliteStore::SCHEMA_VERSION);
    let count: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(count, 17);
    assert_eq!(
        store.claim(&report("etl", "sig"), HOUR).await.unwrap(),
        Claim::Duplicate {
            incident_id: first.id.clone(),
            dedup_count: 2
        },
        "rows written before the migration are kept"
    );
}

#[test]
fn a_database_from_a_newer_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("future.db");
    let conn = Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", SqliteStore::SCHEMA_VERSION + 1)
        .unwrap();
    drop(conn);
    let message = config_message(SqliteStore::open(&path, TIMEOUT).unwrap_err());
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(
        message.contains(&format!(
            "schema version {}, newer than version {}",
            SqliteStore::SCHEMA_VERSION + 1,
            SqliteStore::SCHEMA_VERSION
        )),
        "{message}"
    );
    // Nothing was changed.
    let conn = Connection::open(&path).unwrap();
    assert_eq!(user_version(&conn), SqliteStore::SCHEMA_VERSION + 1);
}

#[test]
fn unusable_paths_are_configuration_errors_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    // A directory.
    let message = config_message(SqliteStore::open(dir.path(), TIMEOUT).unwrap_err());
    assert!(
        message.contains(&dir.path().display().to_string()),
        "{message}"
    );

    // A file that is not a database.
    let garbage = dir.path().join("notes.txt");
    std::fs::write(
        &garbage,
        "these are not the pages you are looking for\n".repeat(200),
    )
    .unwrap();
    let message = config_message(SqliteStore::open(&garbage, TIMEOUT).unwrap_err());
    assert!(message.contains("notes.txt"), "{message}");
    assert!(message.contains("not a database"), "{message}");

    // A parent that is a file.
    let under_file = garbage.join("flow_doctor.db");
    let message = config_message(SqliteStore::open(&under_file, TIMEOUT).unwrap_err());
    assert!(
        message.contains(&under_file.display().to_string()),
        "{message}"
    );
    assert!(message.contains("unable to open"), "{message}");

    // A parent that cannot be created (below a file).
    let below_file = garbage.join("sub/flow_doctor.db");
    let message = config_message(SqliteStore::open(&below_file, TIMEOUT).unwrap_err());
    assert!(message.contains("cannot create"), "{message}");
}

#[tokio::test]
async fn from_config_opens_the_configured_path_and_refuses_memory() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = StoreConfig::default();
    config.path = dir.path().join("configured.db");
    let store = SqliteStore::from_config(&config).unwrap();
    assert_eq!(store.path(), config.path);
    assert!(config.path.exists());

    config.kind = StoreKind::Memory;
    let message = config_message(SqliteStore::from_config(&config).unwrap_err());
    assert!(message.contains("MemoryStore"), "{message}");
}

#[tokio::test]
async fn a_database_locked_past_the_busy_timeout_is_a_transient_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("locked.db");
    let store = SqliteStore::open(&path, Duration::from_millis(50)).unwrap();
    let holder = Connection::open(&path).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();

    let err = store.claim(&report("etl", "sig"), HOUR).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Transient {
                component: "sqlite",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert!(
        err.chain_string().contains("locked"),
        "{}",
        err.chain_string()
    );
    // Readers are not blocked in WAL mode.
    assert!(store.get_report(&Id::new()).await.unwrap().is_none());

    holder.execute_batch("COMMIT").unwrap();
    assert_eq!(
        store.claim(&report("etl", "sig"), HOUR).await.unwrap(),
        Claim::New,
        "works again once the lock is released"
    );
}

#[test]
fn a_busy_timeout_beyond_what_sqlite_takes_is_capped_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fd.db");
    // 25 days: more milliseconds than SQLite's `int` holds.
    let store = SqliteStore::open(&path, Duration::from_secs(25 * 86_400)).unwrap();
    assert_eq!(store.path(), path.as_path());
    let conn = Connection::open(&path).unwrap();
    assert_eq!(user_version(&conn), SqliteStore::SCHEMA_VERSION);
}
