//! [`SqliteStore`]: the persistent [`Store`], one SQLite file per host.

mod rows;
mod schema;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{
    Connection, ErrorCode, OptionalExtension, TransactionBehavior, named_params, params,
    params_from_iter,
};

use flow_doctor_core::config::{StoreConfig, StoreKind};
use flow_doctor_core::model::{
    Action, Decision, DecisionKind, Diagnosis, DigestEntry, Feedback, FixAttempt, Id, KnownPattern,
    Report, ReportId, Severity, TokenUsage,
};
use flow_doctor_core::store::{
    ActionQuery, BudgetGrant, BudgetRequest, BudgetUsage, Claim, DecisionCount, DecisionQuery,
    PruneRequest, PruneStats, ReportQuery, SignatureStats, Store, prune_window_floor,
};
use flow_doctor_core::{Error, Result};

use rows::{RowExt, int, json, opt_json, opt_ts, ts};

const COMPONENT: &str = "sqlite";

/// A [`Store`] in one SQLite file (bundled SQLite), shared safely by every
/// process on the host.
///
/// - WAL journal, `synchronous=NORMAL`, foreign keys on, a busy timeout.
/// - The schema is versioned (`PRAGMA user_version`) and migrated on open;
///   a file written by a newer flow-doctor is refused.
/// - Every call runs on tokio's blocking pool (`spawn_blocking`), never on
///   an async worker thread. Outside a tokio runtime it runs inline.
/// - [`Store::claim`], [`Store::try_consume`], [`Store::reserve_budget`]
///   and [`Store::mark_digested`] run in `BEGIN IMMEDIATE` transactions, so
///   they are exact across threads and processes.
/// - [`Store::prune`] runs in one `BEGIN IMMEDIATE` transaction (rolled
///   back for a dry run), then truncates the WAL file with
///   `PRAGMA wal_checkpoint(TRUNCATE)` (best effort). Freed pages are
///   reused by later writes; the file is not vacuumed (that would rewrite
///   the whole database under an exclusive lock).
/// - A busy or locked database is retried until the busy timeout, then
///   reported as [`Error::Transient`]; other failures are
///   [`Error::Permanent`] with the SQLite error as source.
///
/// Each `SqliteStore` holds one connection; clone the `Arc<dyn Store>`
/// rather than opening the same file twice in one process.
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    conn: Mutex<Connection>,
    path: PathBuf,
    busy_timeout: Duration,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.path)
            .field("busy_timeout", &self.inner.busy_timeout)
            .finish()
    }
}

/// Failures inside a blocking call, mapped to [`Error`] at the boundary.
#[derive(Debug, thiserror::Error)]
enum DbError {
    #[error(transparent)]
    Sql(#[from] rusqlite::Error),
    #[error("JSON column: {0}")]
    Json(#[from] serde_json::Error),
    #[error("{0}")]
    Range(String),
    #[error("{0}")]
    Schema(String),
    #[error(
        "it has schema version {found}, newer than version {} that this flow-doctor \
         understands; upgrade flow-doctor or point `store.path` at another file",
        schema::LATEST
    )]
    NewerSchema { found: u32 },
}

impl DbError {
    fn is_busy(&self) -> bool {
        matches!(
            self,
            DbError::Sql(rusqlite::Error::SqliteFailure(e, _))
                if matches!(e.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
        )
    }
}

impl From<DbError> for Error {
    fn from(e: DbError) -> Self {
        if e.is_busy() {
            Error::transient(COMPONENT, e)
        } else {
            Error::permanent(COMPONENT, e)
        }
    }
}

impl SqliteStore {
    /// The schema version this build creates and understands.
    pub const SCHEMA_VERSION: u32 = schema::LATEST;

    /// Opens (creating it and its parent directory if needed) and migrates
    /// the database at `path`. Writers wait up to `busy_timeout` for another
    /// connection's lock.
    ///
    /// Blocking: call it at start-up or inside `spawn_blocking`.
    ///
    /// # Errors
    /// [`Error::Config`] naming the path when the file cannot be opened, is
    /// not a SQLite database, or was written by a newer flow-doctor;
    /// [`Error::Transient`] when another process kept it locked for longer
    /// than `busy_timeout`.
    pub fn open(path: impl AsRef<Path>, busy_timeout: Duration) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        // SQLite takes the timeout in milliseconds as an `int` (rusqlite
        // panics beyond it); longer waits are the same as forever.
        let busy_timeout = busy_timeout.min(Duration::from_millis(i32::MAX as u64));
        let config_err = |what: String| {
            Error::config(
                COMPONENT,
                format!("cannot use database `{}`: {what}", path.display()),
            )
        };
        if let Some(parent) = path.parent()
            && !parent.as_os_str().is_empty()
            && !parent.exists()
        {
            std::fs::create_dir_all(parent)
                .map_err(|e| config_err(format!("cannot create `{}`: {e}", parent.display())))?;
        }
        let conn = Connection::open(&path).map_err(|e| config_err(e.to_string()))?;
        let inner = Inner {
            conn: Mutex::new(conn),
            path: path.clone(),
            busy_timeout,
        };
        inner
            .with_retry(|conn| {
                conn.busy_timeout(busy_timeout)?;
                // Persistent in the file; a no-op once the file is in WAL mode.
                let _mode: String =
                    conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
                conn.pragma_update(None, "synchronous", "NORMAL")?;
                conn.pragma_update(None, "foreign_keys", true)?;
                schema::migrate_to(conn, schema::LATEST)
            })
            .map_err(|e| match e {
                e if e.is_busy() => Error::from(e),
                e => config_err(e.to_string()),
            })?;
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// Opens the store described by the `store:` configuration section.
    ///
    /// # Errors
    /// As [`SqliteStore::open`]; [`Error::Config`] when `store.type` is not
    /// `sqlite`.
    pub fn from_config(config: &StoreConfig) -> Result<Self> {
        if config.kind != StoreKind::Sqlite {
            return Err(Error::config(
                COMPONENT,
                format!(
                    "store.type is `{:?}`, not `sqlite`; use flow_doctor_core::MemoryStore",
                    config.kind
                ),
            ));
        }
        Self::open(&config.path, config.busy_timeout.get())
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` with the connection on the blocking pool, retrying while
    /// the database is busy.
    async fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnMut(&mut Connection) -> Result<T, DbError> + Send + 'static,
    {
        let inner = self.inner.clone();
        let job = move || inner.with_retry(f);
        let out = match tokio::runtime::Handle::try_current() {
            Ok(handle) => handle
                .spawn_blocking(job)
                .await
                .map_err(|e| Error::permanent(COMPONENT, e))?,
            Err(_) => job(),
        };
        out.map_err(Error::from)
    }
}

impl Inner {
    fn with_retry<T>(
        &self,
        mut f: impl FnMut(&mut Connection) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        // The lock only guards the connection; nothing is left half-done in
        // it by a panic (an open transaction rolls back on drop).
        let mut conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let started = Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            match f(&mut conn) {
                Err(e) if e.is_busy() && started.elapsed() < self.busy_timeout => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                other => return other,
            }
        }
    }
}

/// `occurred_at - cooldown` in nanoseconds, saturating.
fn cooldown_floor(occurred_at: i64, cooldown: Duration) -> i64 {
    let c = i64::try_from(cooldown.as_nanos()).unwrap_or(i64::MAX);
    occurred_at.saturating_sub(c)
}

fn insert_report(conn: &Connection, r: &Report) -> Result<(), DbError> {
    let at = ts(r.occurred_at)?;
    conn.prepare_cached(
        "INSERT INTO reports (id, flow, signature, stage, run_id, severity, kind, error_type, \
         message, source_chain, frames, language, traceback, logs, context, exit, host, \
         occurred_at, fingerprint, custom_fingerprint, dedup_count, first_seen, last_seen, \
         cascade_source, diagnosis_error) VALUES (:id, :flow, :signature, :stage, :run_id, \
         :severity, :kind, :error_type, :message, :source_chain, :frames, :language, :traceback, \
         :logs, :context, :exit, :host, :at, :fingerprint, :custom_fingerprint, 1, :at, :at, \
         :cascade_source, :diagnosis_error)",
    )?
    .execute(named_params! {
        ":id": r.id.as_str(),
        ":flow": r.flow,
        ":signature": r.signature,
        ":stage": r.stage,
        ":run_id": r.run_id,
        ":severity": r.severity.as_str(),
        ":kind": r.kind.as_str(),
        ":error_type": r.error_type,
        ":message": r.message,
        ":source_chain": json(&r.source_chain)?,
        ":frames": json(&r.frames)?,
        ":language": r.language,
        ":traceback": r.traceback,
        ":logs": json(&r.logs)?,
        ":context": json(&r.context)?,
        ":exit": opt_json(&r.exit)?,
        ":host": r.host,
        ":at": at,
        ":fingerprint": r.fingerprint,
        ":custom_fingerprint": r.custom_fingerprint,
        ":cascade_source": opt_json(&r.cascade_source)?,
        ":diagnosis_error": r.diagnosis_error,
    })?;
    Ok(())
}

/// A `WHERE` clause built from optional filters.
#[derive(Default)]
struct Filter {
    sql: String,
    args: Vec<Value>,
}

impl Filter {
    fn eq(&mut self, col: &str, v: Option<impl Into<Value>>) {
        if let Some(v) = v {
            self.push(&format!("{col} = ?"), [v.into()]);
        }
    }

    fn at_least(&mut self, col: &str, v: Option<DateTime<Utc>>) -> Result<(), DbError> {
        if let Some(v) = v {
            self.push(&format!("{col} >= ?"), [ts(v)?.into()]);
        }
        Ok(())
    }

    fn any_of(&mut self, col: &str, vs: Vec<Value>) {
        let marks = vec!["?"; vs.len()].join(", ");
        self.push(&format!("{col} IN ({marks})"), vs);
    }

    fn push(&mut self, cond: &str, args: impl IntoIterator<Item = Value>) {
        self.sql.push_str(if self.sql.is_empty() {
            " WHERE "
        } else {
            " AND "
        });
        self.sql.push_str(cond);
        self.args.extend(args);
    }

    fn query<T>(
        self,
        conn: &Connection,
        select: &str,
        order: &str,
        limit: Option<usize>,
        row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, DbError> {
        let mut sql = format!("{select}{} ORDER BY {order}", self.sql);
        if let Some(limit) = limit {
            sql.push_str(&format!(
                " LIMIT {}",
                i64::try_from(limit).unwrap_or(i64::MAX)
            ));
        }
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(params_from_iter(self.args), row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// Which instant a [`PRUNE_DELETES`] statement binds as `?1`.
#[derive(Clone, Copy)]
enum Cut {
    /// The cut-off, `PruneRequest::before`.
    Before,
    /// The accounting floor: the earlier of the cut-off and
    /// [`prune_window_floor`] of `now`.
    Windows,
}

/// Statements of [`Store::prune`], in order, each counted in one field of
/// [`PruneStats`]. The expired incidents are in `temp.prune_expired`.
/// Children go before `reports` so that "its incident is not stored" means
/// an orphan, never an incident removed by this call.
const PRUNE_DELETES: &[(&str, Cut)] = &[
    // diagnoses
    (
        "DELETE FROM diagnoses WHERE report_id IN (SELECT id FROM temp.prune_expired) \
         OR (created_at < ?1 AND report_id NOT IN (SELECT id FROM reports))",
        Cut::Before,
    ),
    // decisions
    (
        "DELETE FROM decisions WHERE incident_id IN (SELECT id FROM temp.prune_expired) \
         OR (at < ?1 AND incident_id NOT IN (SELECT id FROM reports))",
        Cut::Before,
    ),
    // actions
    (
        "DELETE FROM actions WHERE status <> 'pending' \
         AND (report_id IN (SELECT id FROM temp.prune_expired) \
         OR (started_at < ?1 AND report_id NOT IN (SELECT id FROM reports)))",
        Cut::Before,
    ),
    // feedback
    (
        "DELETE FROM feedback WHERE report_id IN (SELECT id FROM temp.prune_expired) \
         OR (at < ?1 AND report_id NOT IN (SELECT id FROM reports))",
        Cut::Before,
    ),
    // digest entries
    (
        "DELETE FROM digest_queue WHERE digested_at IS NOT NULL \
         AND (report_id IN (SELECT id FROM temp.prune_expired) \
         OR (at < ?1 AND report_id NOT IN (SELECT id FROM reports)))",
        Cut::Before,
    ),
    // fix attempts
    (
        "DELETE FROM fix_attempts WHERE report_id IN (SELECT id FROM temp.prune_expired) \
         OR (at < ?1 AND (report_id IS NULL OR report_id NOT IN (SELECT id FROM reports)))",
        Cut::Before,
    ),
    // budget reservations
    (
        "DELETE FROM cost_ledger WHERE window_start < ?1",
        Cut::Windows,
    ),
    // rate-limit windows
    (
        "DELETE FROM rate_limits WHERE window_start < ?1",
        Cut::Windows,
    ),
    // incidents
    (
        "DELETE FROM reports WHERE last_seen < ?1 AND id IN (SELECT id FROM temp.prune_expired)",
        Cut::Before,
    ),
];

fn prune(conn: &mut Connection, req: &PruneRequest) -> Result<PruneStats, DbError> {
    let before = ts(req.before)?;
    let floor = ts(req.before.min(prune_window_floor(req.now)))?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS prune_expired (id TEXT PRIMARY KEY NOT NULL) \
         WITHOUT ROWID; DELETE FROM temp.prune_expired;",
    )?;
    let expired = tx
        .prepare_cached(
            "INSERT INTO temp.prune_expired (id) SELECT r.id FROM reports r \
             WHERE r.last_seen < ?1 \
             AND NOT EXISTS (SELECT 1 FROM actions a \
                             WHERE a.report_id = r.id AND a.status = 'pending') \
             AND NOT EXISTS (SELECT 1 FROM digest_queue d \
                             WHERE d.report_id = r.id AND d.digested_at IS NULL)",
        )?
        .execute([before])? as u64;
    let old: i64 = tx
        .prepare_cached("SELECT COUNT(*) FROM reports WHERE last_seen < ?1")?
        .query_row([before], |r| r.get(0))?;
    let mut removed = [0u64; PRUNE_DELETES.len()];
    for (n, (sql, cut)) in removed.iter_mut().zip(PRUNE_DELETES) {
        let at = match cut {
            Cut::Before => before,
            Cut::Windows => floor,
        };
        *n = tx.prepare_cached(sql)?.execute([at])? as u64;
    }
    let [
        diagnoses,
        decisions,
        actions,
        feedback,
        digest_entries,
        fix_attempts,
        budget_reservations,
        rate_limit_windows,
        incidents,
    ] = removed;
    debug_assert_eq!(incidents, expired);
    let stats = PruneStats {
        incidents,
        incidents_kept: u64::try_from(old).unwrap_or(0).saturating_sub(expired),
        diagnoses,
        decisions,
        actions,
        feedback,
        digest_entries,
        fix_attempts,
        budget_reservations,
        rate_limit_windows,
    };
    if req.dry_run {
        tx.rollback()?;
        return Ok(stats);
    }
    tx.commit()?;
    if stats.total() > 0 {
        // Best effort: shrinks the WAL file now rather than at the next
        // automatic checkpoint. A reader holding an old snapshot only makes
        // it partial; it never undoes the committed prune, so its outcome
        // is not an error of this call.
        let _checkpoint = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
    }
    Ok(stats)
}

fn id_value(id: &Option<Id>) -> Option<String> {
    id.as_ref().map(|i| i.as_str().to_string())
}

fn budget_usage(conn: &Connection, scope: &str, window_start: i64) -> Result<BudgetUsage, DbError> {
    Ok(conn
        .prepare_cached(
            "SELECT COUNT(*), COALESCE(SUM(cost_usd), 0.0), COALESCE(SUM(input_tokens), 0), \
             COALESCE(SUM(output_tokens), 0) FROM cost_ledger \
             WHERE scope = ?1 AND window_start = ?2",
        )?
        .query_row(params![scope, window_start], |r| {
            Ok(BudgetUsage {
                count: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                cost_usd: r.get(1)?,
                tokens: TokenUsage {
                    input: u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
                    output: u64::try_from(r.get::<_, i64>(3)?).unwrap_or(0),
                },
            })
        })?)
}

#[async_trait]
impl Store for SqliteStore {
    fn name(&self) -> &str {
        COMPONENT
    }

    async fn claim(&self, report: &Report, cooldown: Duration) -> Result<Claim> {
        let report = report.clone();
        self.run(move |conn| {
            let occurred = ts(report.occurred_at)?;
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let existing: Option<String> = if cooldown.is_zero() {
                None
            } else {
                tx.prepare_cached(
                    "SELECT id FROM reports WHERE flow = ?1 AND signature = ?2 \
                     AND first_seen >= ?3 ORDER BY first_seen DESC, id DESC LIMIT 1",
                )?
                .query_row(
                    params![
                        report.flow,
                        report.signature,
                        cooldown_floor(occurred, cooldown)
                    ],
                    |r| r.get(0),
                )
                .optional()?
            };
            let claim = match existing {
                Some(id) => {
                    let count: i64 = tx
                        .prepare_cached(
                            "UPDATE reports SET dedup_count = dedup_count + 1, \
                             last_seen = max(last_seen, ?2) WHERE id = ?1 RETURNING dedup_count",
                        )?
                        .query_row(params![id, occurred], |r| r.get(0))?;
                    Claim::Duplicate {
                        incident_id: Id::from_string(id),
                        dedup_count: u64::try_from(count).unwrap_or(0),
                    }
                }
                None => {
                    insert_report(&tx, &report)?;
                    Claim::New
                }
            };
            tx.commit()?;
            Ok(claim)
        })
        .await
    }

    async fn get_report(&self, id: &ReportId) -> Result<Option<Report>> {
        let id = id.clone();
        self.run(move |conn| {
            Ok(conn
                .prepare_cached(&format!(
                    "SELECT {} FROM reports WHERE id = ?1",
                    rows::REPORT_COLUMNS
                ))?
                .query_row([id.as_str()], rows::report)
                .optional()?)
        })
        .await
    }

    async fn list_reports(&self, query: &ReportQuery) -> Result<Vec<Report>> {
        let q = query.clone();
        self.run(move |conn| {
            let mut f = Filter::default();
            f.eq("flow", q.flow.clone());
            if !q.flows.is_empty() {
                f.any_of("flow", q.flows.iter().cloned().map(Value::from).collect());
            }
            f.eq("signature", q.signature.clone());
            f.at_least("last_seen", q.since)?;
            if let Some(min) = q.min_severity {
                let allowed = Severity::ALL
                    .into_iter()
                    .filter(|s| *s >= min)
                    .map(|s| Value::from(s.as_str().to_string()))
                    .collect();
                f.any_of("severity", allowed);
            }
            f.eq("kind", q.kind.map(|k| k.as_str().to_string()));
            if let Some(k) = q.exclude_kind {
                f.push("kind <> ?", [Value::from(k.as_str().to_string())]);
            }
            f.query(
                conn,
                &format!("SELECT {} FROM reports", rows::REPORT_COLUMNS),
                "last_seen DESC, id DESC",
                q.limit,
                rows::report,
            )
        })
        .await
    }

    async fn signature_stats(&self, flow: &str, signature: &str) -> Result<SignatureStats> {
        let (flow, signature) = (flow.to_string(), signature.to_string());
        self.run(move |conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT COUNT(*), COALESCE(SUM(dedup_count), 0), MIN(first_seen), \
                     MAX(last_seen) FROM reports WHERE flow = ?1 AND signature = ?2",
                )?
                .query_row(params![flow, signature], |r| {
                    Ok(SignatureStats {
                        incidents: u64::try_from(r.get::<_, i64>(0)?).unwrap_or(0),
                        occurrences: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                        first_seen: r
                            .get::<_, Option<i64>>(2)?
                            .map(DateTime::from_timestamp_nanos),
                        last_seen: r
                            .get::<_, Option<i64>>(3)?
                            .map(DateTime::from_timestamp_nanos),
                    })
                })?)
        })
        .await
    }

    async fn set_diagnosis_error(&self, id: &ReportId, reason: Option<&str>) -> Result<()> {
        let (id, reason) = (id.clone(), reason.map(str::to_string));
        self.run(move |conn| {
            conn.prepare_cached("UPDATE reports SET diagnosis_error = ?2 WHERE id = ?1")?
                .execute(params![id.as_str(), reason])?;
            Ok(())
        })
        .await
    }

    async fn save_diagnosis(&self, report_id: &ReportId, diagnosis: &Diagnosis) -> Result<()> {
        let (id, d) = (report_id.clone(), diagnosis.clone());
        self.run(move |conn| {
            conn.prepare_cached(&format!(
                "INSERT OR REPLACE INTO diagnoses (report_id, {}) VALUES (:report_id, \
                 :category, :root_cause, :confidence, :affected_files, :remediation, \
                 :auto_fixable, :reasoning, :alternative_hypotheses, :source, :pattern, :model, \
                 :input_tokens, :output_tokens, :cost_usd, :created_at)",
                rows::DIAGNOSIS_COLUMNS
            ))?
            .execute(named_params! {
                ":report_id": id.as_str(),
                ":category": d.category.as_str(),
                ":root_cause": d.root_cause,
                ":confidence": d.confidence,
                ":affected_files": json(&d.affected_files)?,
                ":remediation": d.remediation,
                ":auto_fixable": d.auto_fixable,
                ":reasoning": d.reasoning,
                ":alternative_hypotheses": json(&d.alternative_hypotheses)?,
                ":source": d.source.as_str(),
                ":pattern": d.pattern,
                ":model": d.model,
                ":input_tokens": d.tokens.map(|t| int(t.input)),
                ":output_tokens": d.tokens.map(|t| int(t.output)),
                ":cost_usd": d.cost_usd,
                ":created_at": ts(d.created_at)?,
            })?;
            Ok(())
        })
        .await
    }

    async fn get_diagnosis(&self, report_id: &ReportId) -> Result<Option<Diagnosis>> {
        let id = report_id.clone();
        self.run(move |conn| {
            Ok(conn
                .prepare_cached(&format!(
                    "SELECT {} FROM diagnoses WHERE report_id = ?1",
                    rows::DIAGNOSIS_COLUMNS
                ))?
                .query_row([id.as_str()], rows::diagnosis)
                .optional()?)
        })
        .await
    }

    async fn record_decision(&self, decision: &Decision) -> Result<()> {
        let d = decision.clone();
        self.run(move |conn| {
            // OR REPLACE: a second decision for the same report_id (UNIQUE)
            // replaces the first.
            conn.prepare_cached(&format!(
                "INSERT OR REPLACE INTO decisions ({}) VALUES (:id, :report_id, :incident_id, \
                 :flow, :signature, :kind, :reason, :channels, :at)",
                rows::DECISION_COLUMNS
            ))?
            .execute(named_params! {
                ":id": d.id.as_str(),
                ":report_id": d.report_id.as_str(),
                ":incident_id": d.incident_id.as_str(),
                ":flow": d.flow,
                ":signature": d.signature,
                ":kind": d.kind.as_str(),
                ":reason": d.reason,
                ":channels": json(&d.channels)?,
                ":at": ts(d.at)?,
            })?;
            Ok(())
        })
        .await
    }

    async fn decisions(&self, query: &DecisionQuery) -> Result<Vec<Decision>> {
        let q = query.clone();
        self.run(move |conn| {
            let mut f = Filter::default();
            f.eq("report_id", id_value(&q.report_id));
            f.eq("incident_id", id_value(&q.incident_id));
            f.eq("flow", q.flow.clone());
            f.eq("kind", q.kind.map(|k| k.as_str().to_string()));
            f.at_least("at", q.since)?;
            f.query(
                conn,
                &format!("SELECT {} FROM decisions", rows::DECISION_COLUMNS),
                "at DESC, id DESC",
                q.limit,
                rows::decision,
            )
        })
        .await
    }

    async fn decision_counts(
        &self,
        since: DateTime<Utc>,
        flow: Option<&str>,
    ) -> Result<Vec<DecisionCount>> {
        let flow = flow.map(str::to_string);
        self.run(move |conn| {
            let mut f = Filter::default();
            f.at_least("at", Some(since))?;
            f.eq("flow", flow.clone());
            let sql = format!(
                "SELECT flow, kind, COUNT(*) AS n FROM decisions{} GROUP BY flow, kind",
                f.sql
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut counts = stmt
                .query_map(params_from_iter(f.args), |r| {
                    Ok(DecisionCount {
                        flow: r.get("flow")?,
                        kind: r.enum_of::<DecisionKind>("kind")?,
                        count: r.uint("n")?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            counts.sort_by(|a, b| (&a.flow, a.kind).cmp(&(&b.flow, b.kind)));
            Ok(counts)
        })
        .await
    }

    async fn record_action(&self, action: &Action) -> Result<()> {
        let a = action.clone();
        self.run(move |conn| {
            let data = if a.data.is_null() {
                None
            } else {
                Some(json(&a.data)?)
            };
            conn.prepare_cached(&format!(
                "INSERT OR REPLACE INTO actions ({}) VALUES (:id, :report_id, :flow, :signature, \
                 :kind, :target, :status, :detail, :url, :attempts, :data, :started_at, \
                 :finished_at)",
                rows::ACTION_COLUMNS
            ))?
            .execute(named_params! {
                ":id": a.id.as_str(),
                ":report_id": a.report_id.as_str(),
                ":flow": a.flow,
                ":signature": a.signature,
                ":kind": a.kind.as_str(),
                ":target": a.target,
                ":status": a.status.as_str(),
                ":detail": a.detail,
                ":url": a.url,
                ":attempts": a.attempts,
                ":data": data,
                ":started_at": ts(a.started_at)?,
                ":finished_at": ts(a.finished_at)?,
            })?;
            Ok(())
        })
        .await
    }

    async fn actions(&self, query: &ActionQuery) -> Result<Vec<Action>> {
        let q = query.clone();
        self.run(move |conn| {
            let mut f = Filter::default();
            f.eq("report_id", id_value(&q.report_id));
            f.eq("flow", q.flow.clone());
            f.eq("signature", q.signature.clone());
            f.eq("kind", q.kind.map(|k| k.as_str().to_string()));
            f.eq("target", q.target.clone());
            f.eq("status", q.status.map(|s| s.as_str().to_string()));
            f.at_least("started_at", q.since)?;
            f.query(
                conn,
                &format!("SELECT {} FROM actions", rows::ACTION_COLUMNS),
                "started_at DESC, id DESC",
                q.limit,
                rows::action,
            )
        })
        .await
    }

    async fn try_consume(
        &self,
        key: &str,
        window_start: DateTime<Utc>,
        limit: u64,
    ) -> Result<bool> {
        let key = key.to_string();
        self.run(move |conn| {
            let window = ts(window_start)?;
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let used: i64 = tx
                .prepare_cached(
                    "SELECT used FROM rate_limits WHERE key = ?1 AND window_start = ?2",
                )?
                .query_row(params![key, window], |r| r.get(0))
                .optional()?
                .unwrap_or(0);
            if used >= int(limit) {
                return Ok(false);
            }
            tx.prepare_cached(
                "INSERT INTO rate_limits (key, window_start, used) VALUES (?1, ?2, 1) \
                 ON CONFLICT (key, window_start) DO UPDATE SET used = used + 1",
            )?
            .execute(params![key, window])?;
            tx.commit()?;
            Ok(true)
        })
        .await
    }

    async fn release(&self, key: &str, window_start: DateTime<Utc>) -> Result<()> {
        let key = key.to_string();
        self.run(move |conn| {
            let window = ts(window_start)?;
            conn.prepare_cached(
                "UPDATE rate_limits SET used = used - 1 \
                 WHERE key = ?1 AND window_start = ?2 AND used > 0",
            )?
            .execute(params![key, window])?;
            Ok(())
        })
        .await
    }

    async fn enqueue_digest(&self, entry: &DigestEntry) -> Result<()> {
        let e = entry.clone();
        self.run(move |conn| {
            conn.prepare_cached(&format!(
                "INSERT OR REPLACE INTO digest_queue ({}) VALUES (:id, :report_id, :flow, \
                 :signature, :headline, :severity, :channel, :reason, :at, :digested_at)",
                rows::DIGEST_COLUMNS
            ))?
            .execute(named_params! {
                ":id": e.id.as_str(),
                ":report_id": e.report_id.as_str(),
                ":flow": e.flow,
                ":signature": e.signature,
                ":headline": e.headline,
                ":severity": e.severity.as_str(),
                ":channel": e.channel,
                ":reason": e.reason.as_str(),
                ":at": ts(e.at)?,
                ":digested_at": opt_ts(e.digested_at)?,
            })?;
            Ok(())
        })
        .await
    }

    async fn pending_digest(&self, since: Option<DateTime<Utc>>) -> Result<Vec<DigestEntry>> {
        self.run(move |conn| {
            let mut f = Filter::default();
            f.push("digested_at IS NULL", []);
            f.at_least("at", since)?;
            f.query(
                conn,
                &format!("SELECT {} FROM digest_queue", rows::DIGEST_COLUMNS),
                "at ASC, id ASC",
                None,
                rows::digest_entry,
            )
        })
        .await
    }

    async fn mark_digested(&self, ids: &[Id], at: DateTime<Utc>) -> Result<u64> {
        let ids = ids.to_vec();
        self.run(move |conn| {
            let at = ts(at)?;
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut marked = 0u64;
            {
                let mut stmt = tx.prepare_cached(
                    "UPDATE digest_queue SET digested_at = ?2 \
                     WHERE id = ?1 AND digested_at IS NULL",
                )?;
                for id in &ids {
                    marked += stmt.execute(params![id.as_str(), at])? as u64;
                }
            }
            tx.commit()?;
            Ok(marked)
        })
        .await
    }

    async fn record_feedback(&self, feedback: &Feedback) -> Result<()> {
        let fb = feedback.clone();
        self.run(move |conn| {
            let (verdict, category, root_cause) = rows::verdict_columns(&fb.verdict)?;
            conn.prepare_cached(&format!(
                "INSERT OR REPLACE INTO feedback ({}) VALUES (:id, :report_id, :signature, \
                 :verdict, :category, :root_cause, :note, :author, :at)",
                rows::FEEDBACK_COLUMNS
            ))?
            .execute(named_params! {
                ":id": fb.id.as_str(),
                ":report_id": fb.report_id.as_str(),
                ":signature": fb.signature,
                ":verdict": verdict,
                ":category": category,
                ":root_cause": root_cause,
                ":note": fb.note,
                ":author": fb.author,
                ":at": ts(fb.at)?,
            })?;
            Ok(())
        })
        .await
    }

    async fn feedback_for(&self, report_id: &ReportId) -> Result<Vec<Feedback>> {
        let id = report_id.clone();
        self.run(move |conn| {
            let mut f = Filter::default();
            f.eq("report_id", Some(id.as_str().to_string()));
            f.query(
                conn,
                &format!("SELECT {} FROM feedback", rows::FEEDBACK_COLUMNS),
                "at DESC, id DESC",
                None,
                rows::feedback,
            )
        })
        .await
    }

    async fn upsert_pattern(&self, pattern: &KnownPattern) -> Result<()> {
        let p = pattern.clone();
        self.run(move |conn| {
            conn.prepare_cached(&format!(
                "INSERT INTO patterns ({}) VALUES (:name, :signature, :error_type, \
                 :message_regex, :category, :root_cause, :remediation, :confidence, :origin, \
                 :hit_count, :last_seen, :created_at) \
                 ON CONFLICT (name) DO UPDATE SET signature = excluded.signature, \
                 error_type = excluded.error_type, message_regex = excluded.message_regex, \
                 category = excluded.category, root_cause = excluded.root_cause, \
                 remediation = excluded.remediation, confidence = excluded.confidence, \
                 origin = excluded.origin, created_at = excluded.created_at",
                rows::PATTERN_COLUMNS
            ))?
            .execute(named_params! {
                ":name": p.name,
                ":signature": p.signature,
                ":error_type": p.error_type,
                ":message_regex": p.message_regex,
                ":category": p.category.as_str(),
                ":root_cause": p.root_cause,
                ":remediation": p.remediation,
                ":confidence": p.confidence,
                ":origin": p.origin.as_str(),
                ":hit_count": int(p.hit_count),
                ":last_seen": opt_ts(p.last_seen)?,
                ":created_at": ts(p.created_at)?,
            })?;
            Ok(())
        })
        .await
    }

    async fn patterns(&self) -> Result<Vec<KnownPattern>> {
        self.run(move |conn| {
            Filter::default().query(
                conn,
                &format!("SELECT {} FROM patterns", rows::PATTERN_COLUMNS),
                "name ASC",
                None,
                rows::pattern,
            )
        })
        .await
    }

    async fn pattern_for_signature(&self, signature: &str) -> Result<Option<KnownPattern>> {
        let signature = signature.to_string();
        self.run(move |conn| {
            let mut f = Filter::default();
            f.eq("signature", Some(signature.clone()));
            Ok(f.query(
                conn,
                &format!("SELECT {} FROM patterns", rows::PATTERN_COLUMNS),
                "created_at DESC, name ASC",
                Some(1),
                rows::pattern,
            )?
            .pop())
        })
        .await
    }

    async fn record_pattern_hit(&self, name: &str, at: DateTime<Utc>) -> Result<()> {
        let name = name.to_string();
        self.run(move |conn| {
            let at = ts(at)?;
            conn.prepare_cached(
                "UPDATE patterns SET hit_count = hit_count + 1, \
                 last_seen = max(COALESCE(last_seen, ?2), ?2) WHERE name = ?1",
            )?
            .execute(params![name, at])?;
            Ok(())
        })
        .await
    }

    async fn record_fix_attempt(&self, attempt: &FixAttempt) -> Result<()> {
        let a = attempt.clone();
        self.run(move |conn| {
            conn.prepare_cached(&format!(
                "INSERT OR REPLACE INTO fix_attempts ({}) VALUES (:id, :signature, :repo, \
                 :issue_number, :report_id, :status, :step, :reason, :branch, :pr_url, :at)",
                rows::FIX_ATTEMPT_COLUMNS
            ))?
            .execute(named_params! {
                ":id": a.id.as_str(),
                ":signature": a.signature,
                ":repo": a.repo,
                ":issue_number": int(a.issue_number),
                ":report_id": id_value(&a.report_id),
                ":status": a.status.as_str(),
                ":step": a.step,
                ":reason": a.reason,
                ":branch": a.branch,
                ":pr_url": a.pr_url,
                ":at": ts(a.at)?,
            })?;
            Ok(())
        })
        .await
    }

    async fn fix_attempts(&self, signature: &str) -> Result<Vec<FixAttempt>> {
        let signature = signature.to_string();
        self.run(move |conn| {
            let mut f = Filter::default();
            f.eq("signature", Some(signature.clone()));
            f.query(
                conn,
                &format!("SELECT {} FROM fix_attempts", rows::FIX_ATTEMPT_COLUMNS),
                "at DESC, id DESC",
                None,
                rows::fix_attempt,
            )
        })
        .await
    }

    async fn reserve_budget(&self, request: &BudgetRequest) -> Result<BudgetGrant> {
        let req = request.clone();
        self.run(move |conn| {
            let window = ts(req.window_start)?;
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let usage = budget_usage(&tx, &req.scope, window)?;
            if usage.count >= req.max_count {
                return Ok(BudgetGrant::CountExceeded(usage));
            }
            if usage.cost_usd >= req.max_cost_usd {
                return Ok(BudgetGrant::CostExceeded(usage));
            }
            let id = Id::new();
            tx.prepare_cached(
                "INSERT INTO cost_ledger (id, scope, window_start, reserved_at) \
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![id.as_str(), req.scope, window, ts(Utc::now())?])?;
            tx.commit()?;
            Ok(BudgetGrant::Granted(id))
        })
        .await
    }

    async fn settle_budget(
        &self,
        reservation: &Id,
        tokens: TokenUsage,
        cost_usd: f64,
        model: &str,
    ) -> Result<()> {
        let (id, model) = (reservation.clone(), model.to_string());
        self.run(move |conn| {
            conn.prepare_cached(
                "UPDATE cost_ledger SET input_tokens = ?2, output_tokens = ?3, cost_usd = ?4, \
                 model = ?5, settled_at = ?6 WHERE id = ?1",
            )?
            .execute(params![
                id.as_str(),
                int(tokens.input),
                int(tokens.output),
                cost_usd,
                model,
                ts(Utc::now())?
            ])?;
            Ok(())
        })
        .await
    }

    async fn budget_usage(&self, scope: &str, window_start: DateTime<Utc>) -> Result<BudgetUsage> {
        let scope = scope.to_string();
        self.run(move |conn| budget_usage(conn, &scope, ts(window_start)?))
            .await
    }

    async fn counter_add(&self, key: &str, delta: i64) -> Result<i64> {
        let key = key.to_string();
        self.run(move |conn| {
            Ok(conn
                .prepare_cached(
                    "INSERT INTO counters (key, value) VALUES (?1, ?2) \
                     ON CONFLICT (key) DO UPDATE SET value = value + excluded.value \
                     RETURNING value",
                )?
                .query_row(params![key, delta], |r| r.get(0))?)
        })
        .await
    }

    async fn prune(&self, request: &PruneRequest) -> Result<PruneStats> {
        let req = *request;
        self.run(move |conn| prune(conn, &req)).await
    }

    async fn counter_set(&self, key: &str, value: i64) -> Result<()> {
        let key = key.to_string();
        self.run(move |conn| {
            conn.prepare_cached(
                "INSERT INTO counters (key, value) VALUES (?1, ?2) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )?
            .execute(params![key, value])?;
            Ok(())
        })
        .await
    }
}
