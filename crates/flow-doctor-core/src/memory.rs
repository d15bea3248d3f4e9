//! [`MemoryStore`]: a [`Store`] kept in process memory.
//!
//! For tests and for programs that want no persistence. Everything is lost
//! when the store is dropped, and dedup only holds within the process (use
//! the SQLite store to share incidents between processes).
//!
//! Memory is bounded: each growing collection (incidents, decisions,
//! actions, digest entries, feedback, fix attempts, budget reservations,
//! rate-limit windows) keeps at most `capacity` records, evicting the oldest
//! inserted first. [`MemoryStore::new`] uses [`MemoryStore::DEFAULT_CAPACITY`]
//! (100,000 each). An evicted incident can no longer absorb duplicates, so a
//! repeat of it starts a new incident. Patterns and named counters are keyed
//! by name and are not evicted.
//!
//! ```
//! use std::sync::Arc;
//! use flow_doctor_core::{MemoryStore, Store};
//!
//! let store: Arc<dyn Store> = Arc::new(MemoryStore::with_capacity(1_000));
//! assert_eq!(store.name(), "memory");
//! ```

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::{Error, Result};
use crate::model::{
    Action, ActionStatus, Decision, Diagnosis, DigestEntry, Feedback, FixAttempt, Id, KnownPattern,
    Report, ReportId, TokenUsage,
};
use crate::store::{
    ActionQuery, BudgetGrant, BudgetRequest, BudgetUsage, Claim, DecisionCount, DecisionQuery,
    PruneRequest, PruneStats, ReportQuery, SignatureStats, Store, prune_window_floor,
};

/// An in-memory, bounded [`Store`]. See the [module docs](self).
///
/// All state sits behind one mutex, so check-and-set operations
/// ([`Store::claim`], [`Store::try_consume`], [`Store::reserve_budget`],
/// [`Store::mark_digested`]) are atomic across threads. The mutex is never
/// held across an `.await`.
pub struct MemoryStore {
    capacity: usize,
    state: Mutex<State>,
}

impl MemoryStore {
    /// Records kept per collection by [`MemoryStore::new`].
    pub const DEFAULT_CAPACITY: usize = 100_000;

    /// An empty store keeping at most [`MemoryStore::DEFAULT_CAPACITY`]
    /// records per collection.
    pub fn new() -> Self {
        Self::with_capacity(Self::DEFAULT_CAPACITY)
    }

    /// An empty store keeping at most `capacity` records per collection
    /// (at least 1), evicting the oldest inserted first.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            state: Mutex::new(State::default()),
        }
    }

    /// The per-collection capacity.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave a half-written record
        // behind (every update is a single insert or field write), so a
        // poisoned lock is safe to keep using.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state();
        f.debug_struct("MemoryStore")
            .field("capacity", &self.capacity)
            .field("incidents", &state.reports.len())
            .field("decisions", &state.decisions.len())
            .field("actions", &state.actions.len())
            .finish()
    }
}

/// A map that remembers insertion order and evicts the oldest entry beyond
/// a capacity. Replacing an existing key keeps its position.
struct Bounded<K, V> {
    map: HashMap<K, V>,
    order: VecDeque<K>,
}

impl<K, V> Default for Bounded<K, V> {
    fn default() -> Self {
        Self {
            map: HashMap::new(),
            order: VecDeque::new(),
        }
    }
}

impl<K: Eq + Hash + Clone, V> Bounded<K, V> {
    /// Inserts or replaces; returns the entries evicted to stay within `cap`.
    fn insert(&mut self, key: K, value: V, cap: usize) -> Vec<(K, V)> {
        if self.map.insert(key.clone(), value).is_none() {
            self.order.push_back(key);
        }
        let mut evicted = Vec::new();
        while self.map.len() > cap {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Some(v) = self.map.remove(&old) {
                evicted.push((old, v));
            }
        }
        evicted
    }

    fn get(&self, key: &K) -> Option<&V> {
        self.map.get(key)
    }

    fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.map.get_mut(key)
    }

    fn values(&self) -> impl Iterator<Item = &V> {
        self.map.values()
    }

    fn len(&self) -> usize {
        self.map.len()
    }

    /// Counts the entries matching `remove` and, unless `dry_run`, removes
    /// them.
    fn sweep(&mut self, dry_run: bool, mut remove: impl FnMut(&K, &V) -> bool) -> u64 {
        if dry_run {
            return self.map.iter().filter(|(k, v)| remove(k, v)).count() as u64;
        }
        let before = self.map.len();
        self.map.retain(|k, v| !remove(k, v));
        let removed = before - self.map.len();
        if removed > 0 {
            let map = &self.map;
            self.order.retain(|k| map.contains_key(k));
        }
        removed as u64
    }
}

struct Reservation {
    scope: String,
    window_start: DateTime<Utc>,
    cost_usd: f64,
    tokens: TokenUsage,
}

#[derive(Default)]
struct State {
    reports: Bounded<ReportId, Report>,
    /// Incident ids per (flow, signature), oldest inserted first.
    by_signature: HashMap<(String, String), Vec<ReportId>>,
    diagnoses: Bounded<ReportId, Diagnosis>,
    /// One decision per occurrence (`report_id`).
    decisions: Bounded<ReportId, Decision>,
    actions: Bounded<Id, Action>,
    digest: Bounded<Id, DigestEntry>,
    feedback: Bounded<Id, Feedback>,
    patterns: BTreeMap<String, KnownPattern>,
    fix_attempts: Bounded<Id, FixAttempt>,
    rate_windows: Bounded<(String, DateTime<Utc>), u64>,
    budget_windows: Bounded<(String, DateTime<Utc>), BudgetUsage>,
    reservations: Bounded<Id, Reservation>,
    counters: HashMap<String, i64>,
}

impl State {
    fn insert_report(&mut self, report: Report, cap: usize) {
        let key = (report.flow.clone(), report.signature.clone());
        let id = report.id.clone();
        for (old_id, old) in self.reports.insert(id.clone(), report, cap) {
            let old_key = (old.flow, old.signature);
            if let Some(ids) = self.by_signature.get_mut(&old_key) {
                ids.retain(|i| *i != old_id);
                if ids.is_empty() {
                    self.by_signature.remove(&old_key);
                }
            }
        }
        if self.reports.get(&id).is_some() {
            self.by_signature.entry(key).or_default().push(id);
        }
    }
}

impl State {
    /// [`Store::prune`]: one selection, counted or applied.
    fn prune(&mut self, req: &PruneRequest) -> PruneStats {
        let (before, dry) = (req.before, req.dry_run);
        let mut in_flight: HashSet<ReportId> = self
            .actions
            .values()
            .filter(|a| a.status == ActionStatus::Pending)
            .map(|a| a.report_id.clone())
            .collect();
        in_flight.extend(
            self.digest
                .values()
                .filter(|e| e.digested_at.is_none())
                .map(|e| e.report_id.clone()),
        );
        let old: Vec<&Report> = self
            .reports
            .values()
            .filter(|r| r.last_seen < before)
            .collect();
        let expired: HashSet<ReportId> = old
            .iter()
            .filter(|r| !in_flight.contains(&r.id))
            .map(|r| r.id.clone())
            .collect();
        let mut stats = PruneStats {
            incidents_kept: (old.len() - expired.len()) as u64,
            ..PruneStats::default()
        };
        // A record goes with its expired incident, or on its own age when
        // its incident is not stored (an orphan).
        let reports = &self.reports;
        let gone = |id: &ReportId, at: DateTime<Utc>| {
            expired.contains(id) || (at < before && reports.get(id).is_none())
        };
        stats.diagnoses = self.diagnoses.sweep(dry, |id, d| gone(id, d.created_at));
        stats.decisions = self.decisions.sweep(dry, |_, d| gone(&d.incident_id, d.at));
        stats.actions = self.actions.sweep(dry, |_, a| {
            a.status != ActionStatus::Pending && gone(&a.report_id, a.started_at)
        });
        stats.feedback = self.feedback.sweep(dry, |_, f| gone(&f.report_id, f.at));
        stats.digest_entries = self.digest.sweep(dry, |_, e| {
            e.digested_at.is_some() && gone(&e.report_id, e.at)
        });
        stats.fix_attempts = self.fix_attempts.sweep(dry, |_, a| match &a.report_id {
            Some(id) => gone(id, a.at),
            None => a.at < before,
        });
        let floor = before.min(prune_window_floor(req.now));
        stats.budget_reservations = self.reservations.sweep(dry, |_, r| r.window_start < floor);
        self.budget_windows.sweep(dry, |(_, w), _| *w < floor);
        stats.rate_limit_windows = self.rate_windows.sweep(dry, |(_, w), _| *w < floor);
        stats.incidents = self.reports.sweep(dry, |id, _| expired.contains(id));
        if !dry {
            self.by_signature.retain(|_, ids| {
                ids.retain(|id| !expired.contains(id));
                !ids.is_empty()
            });
        }
        stats
    }
}

/// Sorts newest first by `key`, breaking ties by id (newest first), and
/// applies `limit`.
fn newest_first<T, K: Ord>(
    mut items: Vec<T>,
    key: impl Fn(&T) -> (K, &Id),
    limit: Option<usize>,
) -> Vec<T> {
    items.sort_by(|a, b| key(b).cmp(&key(a)));
    if let Some(limit) = limit {
        items.truncate(limit);
    }
    items
}

/// `occurred_at - cooldown`, or `None` when that is before any
/// representable instant (every incident matches).
pub(crate) fn cooldown_start(
    occurred_at: DateTime<Utc>,
    cooldown: Duration,
) -> Option<DateTime<Utc>> {
    chrono::Duration::from_std(cooldown)
        .ok()
        .and_then(|c| occurred_at.checked_sub_signed(c))
}

#[async_trait]
impl Store for MemoryStore {
    fn name(&self) -> &str {
        "memory"
    }

    async fn claim(&self, report: &Report, cooldown: Duration) -> Result<Claim> {
        let mut state = self.state();
        if state.reports.get(&report.id).is_some() {
            return Err(Error::permanent(
                "memory",
                format!("report {} is already stored", report.id),
            ));
        }
        if !cooldown.is_zero() {
            let start = cooldown_start(report.occurred_at, cooldown);
            let key = (report.flow.clone(), report.signature.clone());
            let latest = state.by_signature.get(&key).and_then(|ids| {
                ids.iter()
                    .filter_map(|id| state.reports.get(id))
                    .filter(|r| start.is_none_or(|s| r.first_seen >= s))
                    .max_by(|a, b| (a.first_seen, &a.id).cmp(&(b.first_seen, &b.id)))
                    .map(|r| r.id.clone())
            });
            if let Some(id) = latest
                && let Some(incident) = state.reports.get_mut(&id)
            {
                incident.dedup_count += 1;
                incident.last_seen = incident.last_seen.max(report.occurred_at);
                return Ok(Claim::Duplicate {
                    incident_id: id,
                    dedup_count: incident.dedup_count,
                });
            }
        }
        let mut incident = report.clone();
        incident.dedup_count = 1;
        incident.first_seen = report.occurred_at;
        incident.last_seen = report.occurred_at;
        state.insert_report(incident, self.capacity);
        Ok(Claim::New)
    }

    async fn get_report(&self, id: &ReportId) -> Result<Option<Report>> {
        Ok(self.state().reports.get(id).cloned())
    }

    async fn list_reports(&self, query: &ReportQuery) -> Result<Vec<Report>> {
        let state = self.state();
        let matches: Vec<Report> = state
            .reports
            .values()
            .filter(|r| query.flow.as_ref().is_none_or(|f| r.flow == *f))
            .filter(|r| query.flows.is_empty() || query.flows.contains(&r.flow))
            .filter(|r| query.signature.as_ref().is_none_or(|s| r.signature == *s))
            .filter(|r| query.since.is_none_or(|s| r.last_seen >= s))
            .filter(|r| query.min_severity.is_none_or(|s| r.severity >= s))
            .filter(|r| query.kind.is_none_or(|k| r.kind == k))
            .filter(|r| query.exclude_kind.is_none_or(|k| r.kind != k))
            .cloned()
            .collect();
        Ok(newest_first(matches, |r| (r.last_seen, &r.id), query.limit))
    }

    async fn signature_stats(&self, flow: &str, signature: &str) -> Result<SignatureStats> {
        let state = self.state();
        let mut stats = SignatureStats::default();
        let key = (flow.to_string(), signature.to_string());
        for r in state
            .by_signature
            .get(&key)
            .into_iter()
            .flatten()
            .filter_map(|id| state.reports.get(id))
        {
            stats.incidents += 1;
            stats.occurrences += r.dedup_count;
            stats.first_seen = Some(
                stats
                    .first_seen
                    .map_or(r.first_seen, |f| f.min(r.first_seen)),
            );
            stats.last_seen = Some(stats.last_seen.map_or(r.last_seen, |l| l.max(r.last_seen)));
        }
        Ok(stats)
    }

    async fn set_diagnosis_error(&self, id: &ReportId, reason: Option<&str>) -> Result<()> {
        if let Some(r) = self.state().reports.get_mut(id) {
            r.diagnosis_error = reason.map(str::to_string);
        }
        Ok(())
    }

    async fn save_diagnosis(&self, report_id: &ReportId, diagnosis: &Diagnosis) -> Result<()> {
        let cap = self.capacity;
        self.state()
            .diagnoses
            .insert(report_id.clone(), diagnosis.clone(), cap);
        Ok(())
    }

    async fn get_diagnosis(&self, report_id: &ReportId) -> Result<Option<Diagnosis>> {
        Ok(self.state().diagnoses.get(report_id).cloned())
    }

    async fn record_decision(&self, decision: &Decision) -> Result<()> {
        let cap = self.capacity;
        self.state()
            .decisions
            .insert(decision.report_id.clone(), decision.clone(), cap);
        Ok(())
    }

    async fn decisions(&self, query: &DecisionQuery) -> Result<Vec<Decision>> {
        let state = self.state();
        let matches: Vec<Decision> = state
            .decisions
            .values()
            .filter(|d| query.report_id.as_ref().is_none_or(|i| d.report_id == *i))
            .filter(|d| {
                query
                    .incident_id
                    .as_ref()
                    .is_none_or(|i| d.incident_id == *i)
            })
            .filter(|d| query.flow.as_ref().is_none_or(|f| d.flow == *f))
            .filter(|d| query.kind.is_none_or(|k| d.kind == k))
            .filter(|d| query.since.is_none_or(|s| d.at >= s))
            .cloned()
            .collect();
        Ok(newest_first(matches, |d| (d.at, &d.id), query.limit))
    }

    async fn decision_counts(
        &self,
        since: DateTime<Utc>,
        flow: Option<&str>,
    ) -> Result<Vec<DecisionCount>> {
        let state = self.state();
        let mut counts = BTreeMap::new();
        for d in state
            .decisions
            .values()
            .filter(|d| d.at >= since && flow.is_none_or(|f| d.flow == f))
        {
            *counts.entry((d.flow.clone(), d.kind)).or_insert(0u64) += 1;
        }
        Ok(counts
            .into_iter()
            .map(|((flow, kind), count)| DecisionCount { flow, kind, count })
            .collect())
    }

    async fn record_action(&self, action: &Action) -> Result<()> {
        let cap = self.capacity;
        self.state()
            .actions
            .insert(action.id.clone(), action.clone(), cap);
        Ok(())
    }

    async fn actions(&self, query: &ActionQuery) -> Result<Vec<Action>> {
        let state = self.state();
        let matches: Vec<Action> = state
            .actions
            .values()
            .filter(|a| query.report_id.as_ref().is_none_or(|i| a.report_id == *i))
            .filter(|a| query.flow.as_ref().is_none_or(|f| a.flow == *f))
            .filter(|a| query.signature.as_ref().is_none_or(|s| a.signature == *s))
            .filter(|a| query.kind.is_none_or(|k| a.kind == k))
            .filter(|a| query.target.as_ref().is_none_or(|t| a.target == *t))
            .filter(|a| query.status.is_none_or(|s| a.status == s))
            .filter(|a| query.since.is_none_or(|s| a.started_at >= s))
            .cloned()
            .collect();
        Ok(newest_first(
            matches,
            |a| (a.started_at, &a.id),
            query.limit,
        ))
    }

    async fn try_consume(
        &self,
        key: &str,
        window_start: DateTime<Utc>,
        limit: u64,
    ) -> Result<bool> {
        let mut state = self.state();
        let window = (key.to_string(), window_start);
        let used = state.rate_windows.get(&window).copied().unwrap_or(0);
        if used >= limit {
            return Ok(false);
        }
        state.rate_windows.insert(window, used + 1, self.capacity);
        Ok(true)
    }

    async fn release(&self, key: &str, window_start: DateTime<Utc>) -> Result<()> {
        let mut state = self.state();
        let window = (key.to_string(), window_start);
        if let Some(used) = state.rate_windows.get(&window).copied()
            && used > 0
        {
            let cap = self.capacity;
            state.rate_windows.insert(window, used - 1, cap);
        }
        Ok(())
    }

    async fn enqueue_digest(&self, entry: &DigestEntry) -> Result<()> {
        let cap = self.capacity;
        self.state()
            .digest
            .insert(entry.id.clone(), entry.clone(), cap);
        Ok(())
    }

    async fn pending_digest(&self, since: Option<DateTime<Utc>>) -> Result<Vec<DigestEntry>> {
        let state = self.state();
        let mut pending: Vec<DigestEntry> = state
            .digest
            .values()
            .filter(|e| e.digested_at.is_none() && since.is_none_or(|s| e.at >= s))
            .cloned()
            .collect();
        pending.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
        Ok(pending)
    }

    async fn mark_digested(&self, ids: &[Id], at: DateTime<Utc>) -> Result<u64> {
        let mut state = self.state();
        let mut marked = 0;
        for id in ids {
            if let Some(e) = state.digest.get_mut(id)
                && e.digested_at.is_none()
            {
                e.digested_at = Some(at);
                marked += 1;
            }
        }
        Ok(marked)
    }

    async fn record_feedback(&self, feedback: &Feedback) -> Result<()> {
        let cap = self.capacity;
        self.state()
            .feedback
            .insert(feedback.id.clone(), feedback.clone(), cap);
        Ok(())
    }

    async fn feedback_for(&self, report_id: &ReportId) -> Result<Vec<Feedback>> {
        let state = self.state();
        let matches: Vec<Feedback> = state
            .feedback
            .values()
            .filter(|f| f.report_id == *report_id)
            .cloned()
            .collect();
        Ok(newest_first(matches, |f| (f.at, &f.id), None))
    }

    async fn upsert_pattern(&self, pattern: &KnownPattern) -> Result<()> {
        let mut state = self.state();
        let mut stored = pattern.clone();
        if let Some(old) = state.patterns.get(&pattern.name) {
            stored.hit_count = old.hit_count;
            stored.last_seen = old.last_seen;
        }
        state.patterns.insert(pattern.name.clone(), stored);
        Ok(())
    }

    async fn patterns(&self) -> Result<Vec<KnownPattern>> {
        Ok(self.state().patterns.values().cloned().collect())
    }

    async fn pattern_for_signature(&self, signature: &str) -> Result<Option<KnownPattern>> {
        let state = self.state();
        Ok(state
            .patterns
            .values()
            .filter(|p| p.signature.as_deref() == Some(signature))
            .max_by(|a, b| (a.created_at, &b.name).cmp(&(b.created_at, &a.name)))
            .cloned())
    }

    async fn record_pattern_hit(&self, name: &str, at: DateTime<Utc>) -> Result<()> {
        if let Some(p) = self.state().patterns.get_mut(name) {
            p.hit_count += 1;
            p.last_seen = Some(p.last_seen.map_or(at, |l| l.max(at)));
        }
        Ok(())
    }

    async fn record_fix_attempt(&self, attempt: &FixAttempt) -> Result<()> {
        let cap = self.capacity;
        self.state()
            .fix_attempts
            .insert(attempt.id.clone(), attempt.clone(), cap);
        Ok(())
    }

    async fn fix_attempts(&self, signature: &str) -> Result<Vec<FixAttempt>> {
        let state = self.state();
        let matches: Vec<FixAttempt> = state
            .fix_attempts
            .values()
            .filter(|a| a.signature == signature)
            .cloned()
            .collect();
        Ok(newest_first(matches, |a| (a.at, &a.id), None))
    }

    async fn reserve_budget(&self, request: &BudgetRequest) -> Result<BudgetGrant> {
        let mut state = self.state();
        let window = (request.scope.clone(), request.window_start);
        let usage = state
            .budget_windows
            .get(&window)
            .cloned()
            .unwrap_or_default();
        if usage.count >= request.max_count {
            return Ok(BudgetGrant::CountExceeded(usage));
        }
        if usage.cost_usd >= request.max_cost_usd {
            return Ok(BudgetGrant::CostExceeded(usage));
        }
        let id = Id::new();
        let cap = self.capacity;
        let mut granted = usage;
        granted.count += 1;
        state.budget_windows.insert(window, granted, cap);
        state.reservations.insert(
            id.clone(),
            Reservation {
                scope: request.scope.clone(),
                window_start: request.window_start,
                cost_usd: 0.0,
                tokens: TokenUsage::default(),
            },
            cap,
        );
        Ok(BudgetGrant::Granted(id))
    }

    async fn settle_budget(
        &self,
        reservation: &Id,
        tokens: TokenUsage,
        cost_usd: f64,
        _model: &str,
    ) -> Result<()> {
        let mut state = self.state();
        let Some(r) = state.reservations.get_mut(reservation) else {
            return Ok(());
        };
        let (old_cost, old_tokens) = (r.cost_usd, r.tokens);
        r.cost_usd = cost_usd;
        r.tokens = tokens;
        let window = (r.scope.clone(), r.window_start);
        if let Some(usage) = state.budget_windows.get_mut(&window) {
            usage.cost_usd += cost_usd - old_cost;
            usage.tokens.input = usage.tokens.input.saturating_sub(old_tokens.input) + tokens.input;
            usage.tokens.output =
                usage.tokens.output.saturating_sub(old_tokens.output) + tokens.output;
        }
        Ok(())
    }

    async fn budget_usage(&self, scope: &str, window_start: DateTime<Utc>) -> Result<BudgetUsage> {
        Ok(self
            .state()
            .budget_windows
            .get(&(scope.to_string(), window_start))
            .cloned()
            .unwrap_or_default())
    }

    async fn counter_add(&self, key: &str, delta: i64) -> Result<i64> {
        let mut state = self.state();
        let value = state.counters.entry(key.to_string()).or_insert(0);
        *value = value.saturating_add(delta);
        Ok(*value)
    }

    async fn counter_set(&self, key: &str, value: i64) -> Result<()> {
        self.state().counters.insert(key.to_string(), value);
        Ok(())
    }

    async fn prune(&self, request: &PruneRequest) -> Result<PruneStats> {
        Ok(self.state().prune(request))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::model::{ReportKind, Severity};
    use crate::testing;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn passes_the_conformance_suite_through_arc_dyn_store() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        testing::store_conformance(store).await;
    }

    #[tokio::test]
    async fn passes_each_check_called_directly() {
        let store = MemoryStore::new();
        testing::check_claim(&store).await;
        testing::check_reports(&store).await;
        testing::check_diagnoses(&store).await;
        testing::check_decisions(&store).await;
        testing::check_actions(&store).await;
        testing::check_rate_limits(&store).await;
        testing::check_digest(&store).await;
        testing::check_feedback_and_patterns(&store).await;
        testing::check_fix_attempts(&store).await;
        testing::check_budget(&store).await;
        testing::check_counters(&store).await;
    }

    fn report(flow: &str, sig: &str, at: DateTime<Utc>) -> Report {
        let mut r = Report::new(flow, Severity::Error, ReportKind::Error, "boom");
        r.signature = sig.into();
        r.occurred_at = at;
        r
    }

    #[tokio::test]
    async fn evicts_oldest_incidents_beyond_capacity() {
        let store = MemoryStore::with_capacity(3);
        let t0 = Utc::now();
        let mut ids = Vec::new();
        for i in 0..5 {
            let r = report("etl", &format!("sig-{i}"), t0);
            ids.push(r.id.clone());
            assert_eq!(
                store.claim(&r, Duration::from_secs(60)).await.unwrap(),
                Claim::New
            );
        }
        let all = store.list_reports(&ReportQuery::default()).await.unwrap();
        assert_eq!(all.len(), 3);
        assert!(store.get_report(&ids[0]).await.unwrap().is_none());
        assert!(store.get_report(&ids[1]).await.unwrap().is_none());
        assert!(store.get_report(&ids[4]).await.unwrap().is_some());
        // The evicted incident's signature no longer dedups: a repeat is new.
        let again = report("etl", "sig-0", t0);
        assert_eq!(
            store.claim(&again, Duration::from_secs(60)).await.unwrap(),
            Claim::New
        );
        assert_eq!(
            store
                .signature_stats("etl", "sig-0")
                .await
                .unwrap()
                .incidents,
            1
        );
        assert_eq!(store.capacity(), 3);
    }

    #[tokio::test]
    async fn bounds_decisions_and_actions() {
        let store = MemoryStore::with_capacity(2);
        let r = report("etl", "sig", Utc::now());
        for i in 0..4 {
            let mut a = Action::new(
                &r,
                crate::model::ActionKind::Notify,
                format!("ch-{i}"),
                crate::model::ActionStatus::Succeeded,
                "",
            );
            a.started_at = r.occurred_at + chrono::Duration::seconds(i);
            store.record_action(&a).await.unwrap();
            store
                .record_decision(&Decision {
                    id: Id::new(),
                    report_id: Id::new(),
                    incident_id: r.id.clone(),
                    flow: "etl".into(),
                    signature: "sig".into(),
                    kind: crate::model::DecisionKind::Fired,
                    reason: String::new(),
                    channels: Vec::new(),
                    at: r.occurred_at,
                })
                .await
                .unwrap();
        }
        let actions = store.actions(&ActionQuery::default()).await.unwrap();
        let targets: Vec<&str> = actions.iter().map(|a| a.target.as_str()).collect();
        assert_eq!(targets, ["ch-3", "ch-2"]);
        assert_eq!(
            store
                .decisions(&DecisionQuery::default())
                .await
                .unwrap()
                .len(),
            2
        );
    }
}
