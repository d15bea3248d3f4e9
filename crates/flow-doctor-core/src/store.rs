//! The [`Store`] trait: where incidents, decisions, actions, feedback,
//! patterns, fix attempts, the digest queue and the cost ledger live.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Result;
use crate::model::{
    Action, ActionKind, ActionStatus, Decision, DecisionKind, Diagnosis, DigestEntry, Feedback,
    FixAttempt, Id, KnownPattern, Report, ReportId, ReportKind, Severity, TokenUsage,
};

/// What [`Store::claim`] did with a report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// No incident with this flow and signature started within the cooldown:
    /// the report was stored as a new incident. The caller owns it and
    /// carries on with the pipeline.
    New,
    /// A repeat within the cooldown: folded into `incident_id`, whose
    /// `dedup_count` is now `dedup_count`. The caller records a
    /// [`DecisionKind::Deduped`] decision and stops.
    Duplicate {
        /// The incident the occurrence was folded into.
        incident_id: ReportId,
        /// That incident's occurrence count, this one included.
        dedup_count: u64,
    },
}

/// Filter for [`Store::list_reports`]. Every set field must match.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportQuery {
    /// Only this flow.
    pub flow: Option<String>,
    /// Only these flows (any of them); ignored when empty.
    #[serde(default)]
    pub flows: Vec<String>,
    /// Only this signature.
    pub signature: Option<String>,
    /// Only incidents whose `last_seen` is at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Only incidents at or above this severity.
    pub min_severity: Option<Severity>,
    /// Only this kind.
    pub kind: Option<ReportKind>,
    /// Leave out this kind (e.g. success pings from incident lists).
    pub exclude_kind: Option<ReportKind>,
    /// At most this many, newest `last_seen` first.
    pub limit: Option<usize>,
}

/// Filter for [`Store::decisions`]. Every set field must match.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DecisionQuery {
    /// Only the decision for this occurrence.
    pub report_id: Option<ReportId>,
    /// Only decisions about occurrences of this incident.
    pub incident_id: Option<ReportId>,
    /// Only this flow.
    pub flow: Option<String>,
    /// Only this kind.
    pub kind: Option<DecisionKind>,
    /// Only decisions taken at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// At most this many, newest first.
    pub limit: Option<usize>,
}

/// Decision counts per flow and kind, for `flow-doctor status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionCount {
    /// Flow.
    pub flow: String,
    /// Decision kind.
    pub kind: DecisionKind,
    /// How many.
    pub count: u64,
}

/// Filter for [`Store::actions`]. Every set field must match.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ActionQuery {
    /// Only actions for this report.
    pub report_id: Option<ReportId>,
    /// Only this flow.
    pub flow: Option<String>,
    /// Only this signature.
    pub signature: Option<String>,
    /// Only this kind.
    pub kind: Option<ActionKind>,
    /// Only this target (channel, executor, playbook).
    pub target: Option<String>,
    /// Only this status.
    pub status: Option<ActionStatus>,
    /// Only actions started at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// At most this many, newest first.
    pub limit: Option<usize>,
}

/// Occurrence totals of one signature across all its incidents.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureStats {
    /// Incidents stored with this flow and signature.
    pub incidents: u64,
    /// Occurrences across those incidents (sum of `dedup_count`).
    pub occurrences: u64,
    /// First occurrence, if any.
    pub first_seen: Option<DateTime<Utc>>,
    /// Latest occurrence, if any.
    pub last_seen: Option<DateTime<Utc>>,
}

/// A request to spend from a daily budget (LLM diagnoses).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BudgetRequest {
    /// Budget name (`"diagnosis"`, `"fix"`).
    pub scope: String,
    /// Start of the current window (midnight UTC for daily budgets).
    pub window_start: DateTime<Utc>,
    /// Grant only while fewer than this many were granted in the window.
    pub max_count: u64,
    /// Grant only while the settled cost in the window is below this.
    pub max_cost_usd: f64,
}

/// Spend of one budget window.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BudgetUsage {
    /// Reservations granted in the window.
    pub count: u64,
    /// Settled cost in US dollars.
    pub cost_usd: f64,
    /// Settled tokens.
    pub tokens: TokenUsage,
}

/// Why a budget reservation was refused.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum BudgetGrant {
    /// Granted; settle it with this id.
    Granted(Id),
    /// `max_count` reached.
    CountExceeded(BudgetUsage),
    /// `max_cost_usd` reached.
    CostExceeded(BudgetUsage),
}

/// What [`Store::prune`] removes: records that went quiet before `before`.
///
/// `now` anchors the accounting guard (budget ledger and rate-limit windows
/// of `now`'s UTC day and the previous one are always kept); pass the
/// engine's clock, not a constant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PruneRequest {
    /// The cut-off: incidents whose last activity is before this instant
    /// are removed (see [`Store::prune`] for the exceptions).
    pub before: DateTime<Utc>,
    /// The current time.
    pub now: DateTime<Utc>,
    /// Count what would be removed without removing anything.
    pub dry_run: bool,
}

impl PruneRequest {
    /// Removes what went quiet before `before`, as seen at `now`.
    pub fn new(before: DateTime<Utc>, now: DateTime<Utc>) -> Self {
        Self {
            before,
            now,
            dry_run: false,
        }
    }

    /// The same request, counting only.
    pub fn dry_run(mut self) -> Self {
        self.dry_run = true;
        self
    }
}

/// How many records [`Store::prune`] removed (or, for a dry run, would
/// remove), per kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PruneStats {
    /// Incidents (stored reports) removed.
    pub incidents: u64,
    /// Incidents older than the cut-off kept because they still have a
    /// pending action or an unsent digest entry.
    pub incidents_kept: u64,
    /// Diagnoses removed.
    pub diagnoses: u64,
    /// Decisions removed.
    pub decisions: u64,
    /// Actions removed.
    pub actions: u64,
    /// Feedback records removed.
    pub feedback: u64,
    /// Digest entries (already digested) removed.
    pub digest_entries: u64,
    /// Fix attempts removed.
    pub fix_attempts: u64,
    /// Budget ledger rows (reservations) removed.
    pub budget_reservations: u64,
    /// Rate-limit windows removed.
    pub rate_limit_windows: u64,
}

impl PruneStats {
    /// Records removed, all kinds together (`incidents_kept` not counted).
    pub fn total(&self) -> u64 {
        self.incidents
            + self.diagnoses
            + self.decisions
            + self.actions
            + self.feedback
            + self.digest_entries
            + self.fix_attempts
            + self.budget_reservations
            + self.rate_limit_windows
    }
}

/// Start of the UTC day before `now`'s: ledger and rate-limit windows
/// starting at or after it are never pruned.
pub fn prune_window_floor(now: DateTime<Utc>) -> DateTime<Utc> {
    let today = crate::clock::day_start(now);
    today
        .checked_sub_signed(chrono::Duration::days(1))
        .unwrap_or(today)
}

/// Persistence for every stage.
///
/// # Contract
/// - Every method may be called concurrently from many tasks; a store shared
///   between processes (SQLite) keeps the same guarantees across processes.
/// - [`Store::claim`], [`Store::try_consume`] and [`Store::reserve_budget`]
///   are atomic check-and-set operations: two concurrent callers never both
///   win the same slot.
/// - Lists come back newest first; `limit: None` means no limit.
/// - A missing record is `Ok(None)` or an empty list, never an error.
/// - Implementations never block an async worker thread: blocking I/O runs
///   on a blocking pool (`spawn_blocking`).
/// - Storage failures map to [`crate::Error::Transient`] when retrying may
///   help (busy, locked) and [`crate::Error::Permanent`] otherwise.
///
/// `flow_doctor_core::testing::store_conformance` (feature `test-util`)
/// checks this contract; every implementation runs it.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Short, stable name (`"memory"`, `"sqlite"`).
    fn name(&self) -> &str;

    /// Deduplicates and stores `report` in one atomic step.
    ///
    /// If an incident with the same `flow` and `signature` has
    /// `first_seen >= report.occurred_at - cooldown`, the occurrence is
    /// folded into it (`dedup_count += 1`, `last_seen = max(last_seen,
    /// occurred_at)`) and [`Claim::Duplicate`] is returned. Otherwise
    /// `report` is inserted as a new incident (with `dedup_count` 1 and
    /// `first_seen` = `last_seen` = `occurred_at`) and [`Claim::New`]
    /// returned. A zero cooldown always inserts. When several incidents
    /// match, the one with the latest `first_seen` absorbs the repeat.
    async fn claim(&self, report: &Report, cooldown: Duration) -> Result<Claim>;

    /// One incident by id.
    async fn get_report(&self, id: &ReportId) -> Result<Option<Report>>;

    /// Incidents matching `query`, newest `last_seen` first.
    async fn list_reports(&self, query: &ReportQuery) -> Result<Vec<Report>>;

    /// Totals of one flow's signature across all its incidents.
    async fn signature_stats(&self, flow: &str, signature: &str) -> Result<SignatureStats>;

    /// Records why diagnosis of an incident did not produce a diagnosis
    /// (`None` clears it).
    async fn set_diagnosis_error(&self, id: &ReportId, reason: Option<&str>) -> Result<()>;

    /// Stores (or replaces) the diagnosis of an incident.
    async fn save_diagnosis(&self, report_id: &ReportId, diagnosis: &Diagnosis) -> Result<()>;

    /// The diagnosis of an incident, if any.
    async fn get_diagnosis(&self, report_id: &ReportId) -> Result<Option<Diagnosis>>;

    /// Records a decision. At most one per `report_id`: a second one for the
    /// same occurrence replaces the first.
    async fn record_decision(&self, decision: &Decision) -> Result<()>;

    /// Decisions matching `query`, newest first.
    async fn decisions(&self, query: &DecisionQuery) -> Result<Vec<Decision>>;

    /// Decision counts per flow and kind since `since` (optionally one flow).
    async fn decision_counts(
        &self,
        since: DateTime<Utc>,
        flow: Option<&str>,
    ) -> Result<Vec<DecisionCount>>;

    /// Records an action (insert or replace by id).
    async fn record_action(&self, action: &Action) -> Result<()>;

    /// Actions matching `query`, newest first.
    async fn actions(&self, query: &ActionQuery) -> Result<Vec<Action>>;

    /// Consumes one unit of the counter `key` for the window starting at
    /// `window_start`, if fewer than `limit` were consumed in that window.
    /// Returns whether the unit was granted. Windows are independent: a new
    /// `window_start` starts from zero.
    async fn try_consume(&self, key: &str, window_start: DateTime<Utc>, limit: u64)
    -> Result<bool>;

    /// Gives back one unit [`Store::try_consume`] granted for `key` in the
    /// window starting at `window_start` (a notification whose every
    /// delivery failed: a daily limit counts what people received, not
    /// attempts). Never goes below zero; an unknown key or window is left
    /// alone.
    async fn release(&self, key: &str, window_start: DateTime<Utc>) -> Result<()>;

    /// Queues a held-back report for the digest.
    async fn enqueue_digest(&self, entry: &DigestEntry) -> Result<()>;

    /// Digest entries not yet digested, queued at or after `since` when
    /// given, oldest first.
    async fn pending_digest(&self, since: Option<DateTime<Utc>>) -> Result<Vec<DigestEntry>>;

    /// Marks entries as digested at `at`; returns how many were still
    /// pending (already-digested entries are left alone).
    async fn mark_digested(&self, ids: &[Id], at: DateTime<Utc>) -> Result<u64>;

    /// Records feedback on a diagnosis.
    async fn record_feedback(&self, feedback: &Feedback) -> Result<()>;

    /// Feedback given on a report, newest first.
    async fn feedback_for(&self, report_id: &ReportId) -> Result<Vec<Feedback>>;

    /// Inserts or replaces a knowledge-base pattern by `name`, keeping the
    /// stored `hit_count` and `last_seen` when replacing.
    async fn upsert_pattern(&self, pattern: &KnownPattern) -> Result<()>;

    /// Every stored pattern, by name.
    async fn patterns(&self) -> Result<Vec<KnownPattern>>;

    /// The pattern learned for an exact signature, if any.
    async fn pattern_for_signature(&self, signature: &str) -> Result<Option<KnownPattern>>;

    /// Counts a match of pattern `name` at `at`.
    async fn record_pattern_hit(&self, name: &str, at: DateTime<Utc>) -> Result<()>;

    /// Records a fix attempt.
    async fn record_fix_attempt(&self, attempt: &FixAttempt) -> Result<()>;

    /// Fix attempts for a signature, newest first.
    async fn fix_attempts(&self, signature: &str) -> Result<Vec<FixAttempt>>;

    /// Atomically reserves one unit of a budget: granted only while the
    /// window's count is below `max_count` and its settled cost below
    /// `max_cost_usd`.
    async fn reserve_budget(&self, request: &BudgetRequest) -> Result<BudgetGrant>;

    /// Settles a granted reservation with what it actually cost.
    async fn settle_budget(
        &self,
        reservation: &Id,
        tokens: TokenUsage,
        cost_usd: f64,
        model: &str,
    ) -> Result<()>;

    /// Spend of a budget window.
    async fn budget_usage(&self, scope: &str, window_start: DateTime<Utc>) -> Result<BudgetUsage>;

    /// Adds `delta` to the named counter (created at 0) and returns the new
    /// value. Used for consecutive-failure streaks.
    async fn counter_add(&self, key: &str, delta: i64) -> Result<i64>;

    /// Sets the named counter.
    async fn counter_set(&self, key: &str, value: i64) -> Result<()>;

    /// Retention: removes incidents that went quiet before
    /// `request.before`, with everything hanging off them, in one atomic
    /// step, and returns what it removed per kind. With
    /// `request.dry_run` it removes nothing and returns what it would
    /// remove, from the same selection.
    ///
    /// An incident is *expired* when its `last_seen` is before `before`,
    /// and none of its actions is [`ActionStatus::Pending`], and none of
    /// its digest entries is still undigested (both keep it alive, counted
    /// in [`PruneStats::incidents_kept`]). Removed:
    /// - expired incidents;
    /// - their diagnosis, the decisions whose `incident_id` is theirs, their
    ///   actions, feedback, digested digest entries and fix attempts (by
    ///   `report_id`);
    /// - orphans (records whose incident is not stored, e.g. fix attempts
    ///   without a `report_id`) whose own time (`created_at`, `at`,
    ///   `started_at`) is before `before`;
    /// - budget ledger rows and rate-limit windows whose window starts
    ///   before `before` and before [`prune_window_floor`]`(now)`.
    ///
    /// Never removed: knowledge-base patterns, named counters, pending
    /// actions, undigested digest entries, and budget/rate-limit windows of
    /// `now`'s UTC day and the previous one. A repeat of a removed incident
    /// starts a new incident ([`Claim::New`]).
    async fn prune(&self, request: &PruneRequest) -> Result<PruneStats>;
}
