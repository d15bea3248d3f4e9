//! Building the daily [`Digest`] from the store's digest queue.
//!
//! Reports held back from a channel (daily limit reached, every delivery
//! failed, suppressed) are queued as [`DigestEntry`]s. [`build_digest`]
//! summarizes the pending ones per flow: counts by signature and by
//! decision, first and last time held back, and the latest diagnosis of
//! each signature. Sending it and marking the entries digested
//! ([`Store::mark_digested`] with [`Digest::entry_ids`]) is the caller's
//! job (`flow-doctor digest --send`), so a digest that reached nobody can be
//! sent again.
//!
//! Counts are of *reports*: a report held back from two channels is one
//! report in `count` and `total`, and one per distinct reason in
//! `by_decision`.
//!
//! ```
//! # async fn demo(store: &dyn flow_doctor_core::Store) -> flow_doctor_core::Result<()> {
//! let digest = flow_doctor_core::digest::build_digest(store, None, chrono::Utc::now()).await?;
//! for flow in &digest.flows {
//!     println!("{}: {} held back", flow.flow, flow.total);
//! }
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};

use crate::Result;
use crate::model::{Diagnosis, DigestEntry, ReportId};
use crate::notify::{Digest, FlowDigest, SignatureDigest};
use crate::store::Store;

/// How many reports of one signature are looked at, newest first, to find
/// a diagnosis.
const DIAGNOSIS_LOOKUPS: usize = 5;

/// Builds the digest of the entries pending in `store`, queued at or after
/// `since` when given. `now` is recorded as `generated_at`.
pub async fn build_digest(
    store: &dyn Store,
    since: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Digest> {
    let entries = store.pending_digest(since).await?;
    build_digest_of(store, entries, since, now).await
}

/// Builds the digest of some of the pending entries (oldest first), as
/// [`build_digest`] does for all of them: `digest --send` gives each
/// channel the entries it has not received yet.
pub async fn build_digest_of(
    store: &dyn Store,
    mut entries: Vec<DigestEntry>,
    since: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Digest> {
    // Fill headlines the queue did not carry from the stored report.
    let mut headlines: HashMap<ReportId, String> = HashMap::new();
    for e in entries.iter_mut().filter(|e| e.headline.trim().is_empty()) {
        if !headlines.contains_key(&e.report_id)
            && let Some(r) = store.get_report(&e.report_id).await?
        {
            headlines.insert(e.report_id.clone(), r.headline());
        }
        if let Some(h) = headlines.get(&e.report_id) {
            e.headline = h.clone();
        }
    }

    // The latest diagnosis of each signature.
    let mut newest_first: BTreeMap<(&str, &str), Vec<&ReportId>> = BTreeMap::new();
    for e in entries.iter().rev() {
        let ids = newest_first
            .entry((e.flow.as_str(), e.signature.as_str()))
            .or_default();
        if !ids.contains(&&e.report_id) {
            ids.push(&e.report_id);
        }
    }
    let mut diagnoses: HashMap<ReportId, Diagnosis> = HashMap::new();
    for ids in newest_first.values() {
        for id in ids.iter().take(DIAGNOSIS_LOOKUPS) {
            if let Some(d) = store.get_diagnosis(id).await? {
                diagnoses.insert((*id).clone(), d);
                break;
            }
        }
    }
    Ok(assemble(&entries, &diagnoses, since, now))
}

/// Summarizes entries (oldest first) given the diagnoses known for their
/// reports.
pub fn assemble(
    entries: &[DigestEntry],
    diagnoses: &HashMap<ReportId, Diagnosis>,
    since: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Digest {
    #[derive(Default)]
    struct Acc<'a> {
        reports: BTreeSet<&'a ReportId>,
        reasons: BTreeSet<(&'a ReportId, &'static str)>,
        latest: Option<&'a DigestEntry>,
        first: Option<DateTime<Utc>>,
        last: Option<DateTime<Utc>>,
        severity: Option<crate::Severity>,
        diagnosis: Option<(DateTime<Utc>, &'a Diagnosis)>,
    }

    let mut flows: BTreeMap<&str, BTreeMap<&str, Acc<'_>>> = BTreeMap::new();
    for e in entries {
        let acc = flows
            .entry(e.flow.as_str())
            .or_default()
            .entry(e.signature.as_str())
            .or_default();
        acc.reports.insert(&e.report_id);
        acc.reasons.insert((&e.report_id, e.reason.as_str()));
        if acc.latest.is_none_or(|l| e.at >= l.at) {
            acc.latest = Some(e);
        }
        acc.first = Some(acc.first.map_or(e.at, |f| f.min(e.at)));
        acc.last = Some(acc.last.map_or(e.at, |l| l.max(e.at)));
        acc.severity = Some(acc.severity.map_or(e.severity, |s| s.max(e.severity)));
        if let Some(d) = diagnoses.get(&e.report_id)
            && acc.diagnosis.is_none_or(|(at, _)| e.at >= at)
        {
            acc.diagnosis = Some((e.at, d));
        }
    }

    let flows = flows
        .into_iter()
        .map(|(flow, signatures)| {
            let mut total_reports: BTreeSet<&ReportId> = BTreeSet::new();
            let mut by_decision: BTreeMap<String, u64> = BTreeMap::new();
            let mut sigs: Vec<SignatureDigest> = signatures
                .into_iter()
                .filter_map(|(signature, acc)| {
                    let latest = acc.latest?;
                    total_reports.extend(acc.reports.iter().copied());
                    let mut sig_by_decision: BTreeMap<String, u64> = BTreeMap::new();
                    for (_, reason) in &acc.reasons {
                        *sig_by_decision.entry((*reason).to_string()).or_default() += 1;
                        *by_decision.entry((*reason).to_string()).or_default() += 1;
                    }
                    Some(SignatureDigest {
                        signature: signature.to_string(),
                        headline: latest.headline.clone(),
                        severity: acc.severity.unwrap_or(latest.severity),
                        count: acc.reports.len() as u64,
                        by_decision: sig_by_decision,
                        first_seen: acc.first.unwrap_or(latest.at),
                        last_seen: acc.last.unwrap_or(latest.at),
                        category: acc.diagnosis.map(|(_, d)| d.category),
                        root_cause: acc.diagnosis.map(|(_, d)| d.root_cause.clone()),
                    })
                })
                .collect();
            sigs.sort_by(|a, b| {
                b.count
                    .cmp(&a.count)
                    .then(b.last_seen.cmp(&a.last_seen))
                    .then(a.signature.cmp(&b.signature))
            });
            FlowDigest {
                flow: flow.to_string(),
                total: total_reports.len() as u64,
                by_decision,
                signatures: sigs,
            }
        })
        .collect();

    Digest {
        generated_at: now,
        since,
        flows,
        entry_ids: entries.iter().map(|e| e.id.clone()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Category, DecisionKind, Id, Severity};
    use chrono::{Duration, TimeZone};

    fn entry(
        flow: &str,
        sig: &str,
        report: &ReportId,
        reason: DecisionKind,
        at: DateTime<Utc>,
        severity: Severity,
    ) -> DigestEntry {
        DigestEntry {
            id: Id::new(),
            report_id: report.clone(),
            flow: flow.into(),
            signature: sig.into(),
            headline: format!("{sig} failed"),
            severity,
            channel: Some("github".into()),
            reason,
            at,
            digested_at: None,
        }
    }

    #[test]
    fn groups_by_flow_and_signature_and_counts_reports() {
        let t0 = Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).unwrap();
        let (a1, a2, b1, c1) = (Id::new(), Id::new(), Id::new(), Id::new());
        let entries = vec![
            entry(
                "etl",
                "aaa",
                &a1,
                DecisionKind::RateLimited,
                t0,
                Severity::Error,
            ),
            // the same report held back from a second channel
            entry(
                "etl",
                "aaa",
                &a1,
                DecisionKind::RateLimited,
                t0,
                Severity::Error,
            ),
            entry(
                "etl",
                "aaa",
                &a2,
                DecisionKind::DeliveryFailed,
                t0 + Duration::hours(2),
                Severity::Critical,
            ),
            entry(
                "etl",
                "bbb",
                &b1,
                DecisionKind::RateLimited,
                t0 + Duration::hours(1),
                Severity::Warning,
            ),
            entry(
                "load",
                "ccc",
                &c1,
                DecisionKind::CascadeSuppressed,
                t0,
                Severity::Error,
            ),
        ];
        let mut diagnoses = HashMap::new();
        diagnoses.insert(a2.clone(), Diagnosis::new(Category::Data, "bad rows", 0.8));
        let now = t0 + Duration::days(1);
        let d = assemble(&entries, &diagnoses, Some(t0), now);

        assert_eq!(d.generated_at, now);
        assert_eq!(d.entry_ids.len(), 5);
        assert_eq!(d.total(), 4);
        let names: Vec<&str> = d.flows.iter().map(|f| f.flow.as_str()).collect();
        assert_eq!(names, ["etl", "load"]);
        let etl = &d.flows[0];
        assert_eq!(etl.total, 3);
        assert_eq!(etl.by_decision["rate_limited"], 2);
        assert_eq!(etl.by_decision["delivery_failed"], 1);
        let aaa = &etl.signatures[0];
        assert_eq!(aaa.signature, "aaa");
        assert_eq!(aaa.count, 2);
        assert_eq!(aaa.reasons(), "delivery_failed 1, rate_limited 1");
        assert_eq!(aaa.severity, Severity::Critical);
        assert_eq!(aaa.first_seen, t0);
        assert_eq!(aaa.last_seen, t0 + Duration::hours(2));
        assert_eq!(aaa.category, Some(Category::Data));
        assert_eq!(aaa.root_cause.as_deref(), Some("bad rows"));
        assert_eq!(etl.signatures[1].signature, "bbb");
        assert_eq!(etl.signatures[1].category, None);
        assert_eq!(d.flows[1].by_decision["cascade_suppressed"], 1);
    }

    #[test]
    fn nothing_pending_is_empty() {
        let d = assemble(&[], &HashMap::new(), None, Utc::now());
        assert!(d.is_empty());
        assert!(d.entry_ids.is_empty());
    }
}
