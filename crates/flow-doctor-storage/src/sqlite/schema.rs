//! Versioned schema migrations, tracked in `PRAGMA user_version`.
//!
//! `MIGRATIONS[i]` takes a database from version `i` to `i + 1`. Append new
//! scripts; never edit a released one. Times are `INTEGER` nanoseconds since
//! the Unix epoch (UTC); nested values are JSON text.

use rusqlite::{Connection, TransactionBehavior};

use super::DbError;

/// The ordered migration scripts.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: tables.
    r#"
CREATE TABLE reports (
    id                 TEXT PRIMARY KEY NOT NULL,
    flow               TEXT NOT NULL,
    signature          TEXT NOT NULL,
    stage              TEXT,
    run_id             TEXT,
    severity           TEXT NOT NULL,
    kind               TEXT NOT NULL,
    error_type         TEXT,
    message            TEXT NOT NULL,
    source_chain       TEXT NOT NULL,  -- JSON array of strings
    frames             TEXT NOT NULL,  -- JSON array of frames
    language           TEXT,
    traceback          TEXT,
    logs               TEXT NOT NULL,  -- JSON array of log lines
    context            TEXT NOT NULL,  -- JSON object
    exit               TEXT,           -- JSON object
    host               TEXT NOT NULL,
    occurred_at        INTEGER NOT NULL,
    fingerprint        TEXT NOT NULL,
    custom_fingerprint TEXT,
    dedup_count        INTEGER NOT NULL,
    first_seen         INTEGER NOT NULL,
    last_seen          INTEGER NOT NULL,
    cascade_source     TEXT,           -- JSON object
    diagnosis_error    TEXT
);

CREATE TABLE diagnoses (
    report_id              TEXT PRIMARY KEY NOT NULL,
    category               TEXT NOT NULL,
    root_cause             TEXT NOT NULL,
    confidence             REAL NOT NULL,
    affected_files         TEXT NOT NULL,  -- JSON array
    remediation            TEXT NOT NULL,
    auto_fixable           INTEGER NOT NULL,
    reasoning              TEXT,
    alternative_hypotheses TEXT NOT NULL,  -- JSON array
    source                 TEXT NOT NULL,
    pattern                TEXT,
    model                  TEXT,
    input_tokens           INTEGER,
    output_tokens          INTEGER,
    cost_usd               REAL,
    created_at             INTEGER NOT NULL
);

CREATE TABLE decisions (
    id          TEXT PRIMARY KEY NOT NULL,
    report_id   TEXT NOT NULL UNIQUE,
    incident_id TEXT NOT NULL,
    flow        TEXT NOT NULL,
    signature   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    reason      TEXT NOT NULL,
    channels    TEXT NOT NULL,  -- JSON array
    at          INTEGER NOT NULL
);

CREATE TABLE actions (
    id          TEXT PRIMARY KEY NOT NULL,
    report_id   TEXT NOT NULL,
    flow        TEXT NOT NULL,
    signature   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    target      TEXT NOT NULL,
    status      TEXT NOT NULL,
    detail      TEXT NOT NULL,
    url         TEXT,
    attempts    INTEGER NOT NULL,
    data        TEXT,           -- JSON, NULL for null
    started_at  INTEGER NOT NULL,
    finished_at INTEGER NOT NULL
);

CREATE TABLE feedback (
    id         TEXT PRIMARY KEY NOT NULL,
    report_id  TEXT NOT NULL,
    signature  TEXT NOT NULL,
    verdict    TEXT NOT NULL,
    category   TEXT,
    root_cause TEXT,
    note       TEXT,
    author     TEXT,
    at         INTEGER NOT NULL
);

CREATE TABLE patterns (
    name          TEXT PRIMARY KEY NOT NULL,
    signature     TEXT,
    error_type    TEXT,
    message_regex TEXT,
    category      TEXT NOT NULL,
    root_cause    TEXT NOT NULL,
    remediation   TEXT NOT NULL,
    confidence    REAL NOT NULL,
    origin        TEXT NOT NULL,
    hit_count     INTEGER NOT NULL,
    last_seen     INTEGER,
    created_at    INTEGER NOT NULL
);

CREATE TABLE fix_attempts (
    id           TEXT PRIMARY KEY NOT NULL,
    signature    TEXT NOT NULL,
    repo         TEXT NOT NULL,
    issue_number INTEGER NOT NULL,
    report_id    TEXT,
    status       TEXT NOT NULL,
    step         TEXT NOT NULL,
    reason       TEXT NOT NULL,
    branch       TEXT,
    pr_url       TEXT,
    at           INTEGER NOT NULL
);

CREATE TABLE digest_queue (
    id          TEXT PRIMARY KEY NOT NULL,
    report_id   TEXT NOT NULL,
    flow        TEXT NOT NULL,
    signature   TEXT NOT NULL,
    headline    TEXT NOT NULL,
    severity    TEXT NOT NULL,
    channel     TEXT,
    reason      TEXT NOT NULL,
    at          INTEGER NOT NULL,
    digested_at INTEGER
);

-- One row per granted budget reservation; settled rows carry the cost.
CREATE TABLE cost_ledger (
    id            TEXT PRIMARY KEY NOT NULL,
    scope         TEXT NOT NULL,
    window_start  INTEGER NOT NULL,
    reserved_at   INTEGER NOT NULL,
    input_tokens  INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd      REAL NOT NULL DEFAULT 0,
    model         TEXT,
    settled_at    INTEGER
);

CREATE TABLE rate_limits (
    key          TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    used         INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
) WITHOUT ROWID;

CREATE TABLE counters (
    key   TEXT PRIMARY KEY NOT NULL,
    value INTEGER NOT NULL
) WITHOUT ROWID;
"#,
    // 2: indexes for the lookups the pipeline and the CLI make.
    r#"
CREATE INDEX reports_dedup ON reports (flow, signature, first_seen);
CREATE INDEX reports_last_seen ON reports (last_seen);
CREATE INDEX decisions_incident ON decisions (incident_id, at);
CREATE INDEX decisions_flow_at ON decisions (flow, at);
CREATE INDEX decisions_at ON decisions (at);
CREATE INDEX actions_report ON actions (report_id, started_at);
CREATE INDEX actions_flow ON actions (flow, started_at);
CREATE INDEX actions_signature ON actions (signature, started_at);
CREATE INDEX actions_kind ON actions (kind, started_at);
CREATE INDEX actions_started ON actions (started_at);
CREATE INDEX feedback_report ON feedback (report_id, at);
CREATE INDEX patterns_signature ON patterns (signature) WHERE signature IS NOT NULL;
CREATE INDEX fix_attempts_signature ON fix_attempts (signature, at);
CREATE INDEX digest_pending ON digest_queue (at) WHERE digested_at IS NULL;
CREATE INDEX cost_ledger_window ON cost_ledger (scope, window_start);
"#,
    // 3: lookups by incident for retention (`Store::prune`).
    r#"
CREATE INDEX digest_report ON digest_queue (report_id);
CREATE INDEX fix_attempts_report ON fix_attempts (report_id) WHERE report_id IS NOT NULL;
"#,
];

/// The schema version this build writes.
pub(super) const LATEST: u32 = MIGRATIONS.len() as u32;

/// Reads `PRAGMA user_version`.
pub(super) fn version(conn: &Connection) -> Result<u32, DbError> {
    let v: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    u32::try_from(v).map_err(|_| DbError::Schema(format!("invalid schema version {v}")))
}

/// Brings the database to version `target`, each step in one `BEGIN
/// IMMEDIATE` transaction so concurrent openers migrate exactly once.
pub(super) fn migrate_to(conn: &mut Connection, target: u32) -> Result<(), DbError> {
    let current = version(conn)?;
    if current > LATEST {
        return Err(DbError::NewerSchema { found: current });
    }
    if current >= target {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Another process may have migrated while we waited for the lock.
    let mut current = version(&tx)?;
    if current > LATEST {
        return Err(DbError::NewerSchema { found: current });
    }
    while current < target {
        let Some(script) = MIGRATIONS.get(current as usize) else {
            break;
        };
        tx.execute_batch(script)?;
        current += 1;
        tx.pragma_update(None, "user_version", current)?;
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index_names(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn migrating_a_version_1_database_keeps_its_rows_and_adds_the_indexes() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = Connection::open(dir.path().join("old.db")).unwrap();
        migrate_to(&mut conn, 1).unwrap();
        assert_eq!(version(&conn).unwrap(), 1);
        assert!(index_names(&conn).is_empty());
        conn.execute("INSERT INTO counters (key, value) VALUES ('streak', 4)", [])
            .unwrap();

        migrate_to(&mut conn, 2).unwrap();
        assert_eq!(version(&conn).unwrap(), 2);
        let indexes = index_names(&conn);
        assert!(
            indexes.contains(&"reports_dedup".to_string()),
            "{indexes:?}"
        );
        assert!(
            indexes.contains(&"digest_pending".to_string()),
            "{indexes:?}"
        );
        assert_eq!(indexes.len(), 15);
        let kept: i64 = conn
            .query_row("SELECT value FROM counters WHERE key = 'streak'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(kept, 4);
        // Migrating again is a no-op.
        migrate_to(&mut conn, 2).unwrap();
        assert_eq!(version(&conn).unwrap(), 2);
    }

    #[test]
    fn migration_3_adds_the_retention_indexes_to_a_version_2_database() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = Connection::open(dir.path().join("v2.db")).unwrap();
        migrate_to(&mut conn, 2).unwrap();
        conn.execute(
            "INSERT INTO digest_queue (id, report_id, flow, signature, headline, severity, \
             reason, at) VALUES ('e1', 'r1', 'etl', 's', 'h', 'error', 'rate_limited', 1)",
            [],
        )
        .unwrap();

        migrate_to(&mut conn, LATEST).unwrap();
        assert_eq!(version(&conn).unwrap(), 3);
        let indexes = index_names(&conn);
        for name in ["digest_report", "fix_attempts_report"] {
            assert!(indexes.contains(&name.to_string()), "{indexes:?}");
        }
        assert_eq!(indexes.len(), 17);
        let kept: i64 = conn
            .query_row("SELECT COUNT(*) FROM digest_queue", [], |r| r.get(0))
            .unwrap();
        assert_eq!(kept, 1);
        // The cut-off lookups use them.
        let plan: String = conn
            .query_row(
                "EXPLAIN QUERY PLAN SELECT 1 FROM digest_queue WHERE report_id = 'r1'",
                [],
                |r| r.get(3),
            )
            .unwrap();
        assert!(plan.contains("digest_report"), "{plan}");
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = Connection::open(dir.path().join("new.db")).unwrap();
        conn.pragma_update(None, "user_version", LATEST + 1)
            .unwrap();
        let err = migrate_to(&mut conn, LATEST).unwrap_err();
        assert!(
            matches!(err, DbError::NewerSchema { found } if found == LATEST + 1),
            "{err:?}"
        );
    }
}
