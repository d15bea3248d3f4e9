//! The [`Store`] conformance suite: public async functions that check every
//! point of the contract documented on [`Store`].
//!
//! **Not a stable API:** checks are added as the contract grows.
//!
//! Every implementation runs [`store_conformance`] (all checks) on a fresh
//! store; the per-capability `check_*` functions can also be called one by
//! one. Each check uses its own unique flow names, keys and signatures, so
//! checks can run in any order, concurrently, and again on a store that
//! already holds data (a reopened SQLite file). A failed check panics with
//! a message naming the broken point of the contract.
//!
//! ```no_run
//! # async fn demo() {
//! use std::sync::Arc;
//! use flow_doctor_core::{MemoryStore, Store};
//!
//! let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
//! flow_doctor_core::testing::store_conformance(store).await;
//! # }
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::model::{
    Action, ActionKind, ActionStatus, CascadeSource, Category, Decision, DecisionKind, Diagnosis,
    DiagnosisSource, DigestEntry, ExitInfo, Feedback, FixAttempt, FixStatus, Frame, Id,
    KnownPattern, LogLine, PatternOrigin, Report, ReportKind, Severity, TokenUsage, Verdict,
};
use crate::store::{
    ActionQuery, BudgetGrant, BudgetRequest, BudgetUsage, Claim, DecisionCount, DecisionQuery,
    PruneRequest, PruneStats, ReportQuery, Store,
};

/// Tasks started at once by the concurrency checks.
pub const CONCURRENT_TASKS: usize = 16;

const HOUR: Duration = Duration::from_secs(3600);

/// Runs every check of the suite on `store`, the concurrency checks
/// included (they spawn tokio tasks sharing the `Arc`).
pub async fn store_conformance(store: Arc<dyn Store>) {
    let s: &dyn Store = store.as_ref();
    check_claim(s).await;
    check_reports(s).await;
    check_diagnoses(s).await;
    check_decisions(s).await;
    check_actions(s).await;
    check_rate_limits(s).await;
    check_digest(s).await;
    check_feedback_and_patterns(s).await;
    check_fix_attempts(s).await;
    check_budget(s).await;
    check_counters(s).await;
    check_prune(s).await;
    check_concurrent_claims(store.clone()).await;
    check_concurrent_rate_limits(store.clone()).await;
    check_concurrent_budget(store.clone()).await;
    check_concurrent_digest(store).await;
}

/// A name unique to this call (flows, keys, signatures, scopes).
fn unique(what: &str) -> String {
    format!("conformance-{what}-{}", Id::new())
}

fn secs(n: i64) -> chrono::Duration {
    chrono::Duration::seconds(n)
}

fn mins(n: i64) -> chrono::Duration {
    chrono::Duration::minutes(n)
}

/// A report with every field set, so a store that drops one fails the
/// round trip.
fn rich_report(flow: &str, signature: &str, at: DateTime<Utc>) -> Report {
    let mut r = Report::new(flow, Severity::Error, ReportKind::ProcessExit, "boom: é ✓");
    r.stage = Some("load".into());
    r.run_id = Some("run-42".into());
    r.error_type = Some("KeyError".into());
    r.source_chain = vec!["outer".into(), "inner".into()];
    r.frames = vec![
        Frame {
            file: "etl.py".into(),
            function: "load".into(),
            line: Some(12),
            module: Some("pipeline".into()),
            in_app: true,
        },
        Frame {
            file: "/usr/lib/python3/json.py".into(),
            function: "loads".into(),
            line: None,
            module: None,
            in_app: false,
        },
    ];
    r.language = Some("python".into());
    r.traceback = Some("Traceback (most recent call last):\n  ...".into());
    r.logs = vec![LogLine {
        at: at - secs(1),
        level: "WARN".into(),
        target: "etl".into(),
        message: "retrying".into(),
    }];
    r.context = BTreeMap::from([
        ("region".to_string(), "eu-west-1".to_string()),
        ("rows".to_string(), "17".to_string()),
    ]);
    r.exit = Some(ExitInfo {
        command: "python3 etl.py".into(),
        code: Some(1),
        signal: None,
        timed_out: false,
        duration_ms: 1234,
    });
    r.host = "host-1".into();
    r.occurred_at = at;
    r.signature = signature.into();
    r.fingerprint = "KeyError|etl.py:load".into();
    r.custom_fingerprint = Some("custom".into());
    r.cascade_source = Some(CascadeSource {
        flow: "upstream".into(),
        report_id: Id::new(),
        at: at - mins(3),
        summary: "upstream failed".into(),
    });
    r.diagnosis_error = None;
    r
}

/// A minimal report of `flow`/`signature` occurring at `at`.
fn plain_report(flow: &str, signature: &str, at: DateTime<Utc>) -> Report {
    let mut r = Report::new(flow, Severity::Error, ReportKind::Error, "boom");
    r.signature = signature.into();
    r.occurred_at = at;
    r
}

async fn claim(store: &dyn Store, report: &Report, cooldown: Duration) -> Claim {
    store
        .claim(report, cooldown)
        .await
        .unwrap_or_else(|e| panic!("claim failed: {}", e.chain_string()))
}

fn ok<T>(what: &str, r: crate::Result<T>) -> T {
    r.unwrap_or_else(|e| panic!("{what} failed: {}", e.chain_string()))
}

/// Dedup: a repeat within the cooldown (inclusive) is folded into the
/// incident with `dedup_count`, `first_seen` and `last_seen` maintained; a
/// repeat after it, or with a zero cooldown, is a new incident; the same
/// signature in another flow never dedups; a stored incident round-trips
/// every field.
pub async fn check_claim(store: &dyn Store) {
    let flow = unique("claim");
    let other_flow = unique("claim-other");
    let sig = unique("sig");
    let t0 = Utc::now();

    let first = rich_report(&flow, &sig, t0);
    assert_eq!(claim(store, &first, HOUR).await, Claim::New, "first claim");

    let stored = ok("get_report", store.get_report(&first.id).await)
        .expect("a claimed report must be stored under its id");
    let mut expected = first.clone();
    expected.dedup_count = 1;
    expected.first_seen = t0;
    expected.last_seen = t0;
    assert_eq!(stored, expected, "a new incident round-trips every field");

    let repeat = plain_report(&flow, &sig, t0 + mins(10));
    assert_eq!(
        claim(store, &repeat, HOUR).await,
        Claim::Duplicate {
            incident_id: first.id.clone(),
            dedup_count: 2
        },
        "a repeat within the cooldown is a duplicate"
    );
    assert!(
        ok("get_report", store.get_report(&repeat.id).await).is_none(),
        "a duplicate is not stored under its own id"
    );

    // An occurrence older than last_seen does not move last_seen back.
    let late = plain_report(&flow, &sig, t0 + mins(5));
    assert_eq!(
        claim(store, &late, HOUR).await,
        Claim::Duplicate {
            incident_id: first.id.clone(),
            dedup_count: 3
        }
    );
    let incident = ok("get_report", store.get_report(&first.id).await).expect("incident");
    assert_eq!(
        incident.last_seen,
        t0 + mins(10),
        "last_seen is the latest occurrence, not the latest claim"
    );
    // The cooldown bound is inclusive: first_seen == occurred_at - cooldown.
    let boundary = plain_report(&flow, &sig, t0 + mins(60));
    assert_eq!(
        claim(store, &boundary, HOUR).await,
        Claim::Duplicate {
            incident_id: first.id.clone(),
            dedup_count: 4
        },
        "first_seen >= occurred_at - cooldown is inclusive"
    );
    let incident = ok("get_report", store.get_report(&first.id).await).expect("incident");
    assert_eq!(incident.dedup_count, 4);
    assert_eq!(incident.first_seen, t0);
    assert_eq!(incident.last_seen, t0 + mins(60));
    assert_eq!(
        incident.message, first.message,
        "folding keeps the first report"
    );

    // After the cooldown: a new incident, and later repeats fold into it.
    let after = plain_report(&flow, &sig, t0 + mins(61));
    assert_eq!(
        claim(store, &after, HOUR).await,
        Claim::New,
        "after cooldown"
    );
    let again = plain_report(&flow, &sig, t0 + mins(62));
    assert_eq!(
        claim(store, &again, HOUR).await,
        Claim::Duplicate {
            incident_id: after.id.clone(),
            dedup_count: 2
        },
        "repeats fold into the newest incident"
    );

    // A zero cooldown always inserts.
    let zero_a = plain_report(&flow, &sig, t0 + mins(62));
    let zero_b = plain_report(&flow, &sig, t0 + mins(62));
    assert_eq!(claim(store, &zero_a, Duration::ZERO).await, Claim::New);
    assert_eq!(claim(store, &zero_b, Duration::ZERO).await, Claim::New);

    // Scoped by flow: the same signature in another flow is its own incident.
    let elsewhere = plain_report(&other_flow, &sig, t0 + mins(1));
    assert_eq!(
        claim(store, &elsewhere, HOUR).await,
        Claim::New,
        "dedup must be scoped by flow"
    );
    let elsewhere_again = plain_report(&other_flow, &sig, t0 + mins(2));
    assert_eq!(
        claim(store, &elsewhere_again, HOUR).await,
        Claim::Duplicate {
            incident_id: elsewhere.id.clone(),
            dedup_count: 2
        }
    );

    let stats = ok("signature_stats", store.signature_stats(&flow, &sig).await);
    assert_eq!(stats.incidents, 4, "incidents of {flow}");
    assert_eq!(stats.occurrences, 4 + 2 + 1 + 1);
    assert_eq!(stats.first_seen, Some(t0));
    assert_eq!(stats.last_seen, Some(t0 + mins(62)));
    let other = ok(
        "signature_stats",
        store.signature_stats(&other_flow, &sig).await,
    );
    assert_eq!(other.incidents, 1);
    assert_eq!(other.occurrences, 2);
    assert_eq!(other.first_seen, Some(t0 + mins(1)));
    assert_eq!(other.last_seen, Some(t0 + mins(2)));
    let none = ok(
        "signature_stats",
        store.signature_stats(&flow, "no-such-signature").await,
    );
    assert_eq!(none, Default::default());

    assert!(
        ok("get_report", store.get_report(&Id::new()).await).is_none(),
        "a missing report is Ok(None)"
    );
}

/// `list_reports`: every filter, newest `last_seen` first, `limit`.
pub async fn check_reports(store: &dyn Store) {
    let f1 = unique("list-a");
    let f2 = unique("list-b");
    let s1 = unique("sig1");
    let t0 = Utc::now();
    let mk = |flow: &str, sig: &str, sev, kind, at| {
        let mut r = plain_report(flow, sig, at);
        r.severity = sev;
        r.kind = kind;
        r
    };
    let a = mk(&f1, &s1, Severity::Error, ReportKind::Error, t0 + secs(1));
    let b = mk(
        &f1,
        "s2",
        Severity::Critical,
        ReportKind::Panic,
        t0 + secs(2),
    );
    let c = mk(
        &f1,
        "s3",
        Severity::Warning,
        ReportKind::LogEvent,
        t0 + secs(3),
    );
    let d = mk(&f1, "s4", Severity::Info, ReportKind::Success, t0 + secs(4));
    let e = mk(&f2, &s1, Severity::Error, ReportKind::Error, t0 + secs(5));
    // Insert out of order: ordering must come from last_seen.
    for r in [&c, &a, &e, &d, &b] {
        assert_eq!(claim(store, r, HOUR).await, Claim::New);
    }
    // A repeat of `a` moves its last_seen after everything else.
    let a_again = mk(&f1, &s1, Severity::Error, ReportKind::Error, t0 + secs(9));
    assert!(matches!(
        claim(store, &a_again, HOUR).await,
        Claim::Duplicate { .. }
    ));

    let ids = |q: ReportQuery| async move {
        ok("list_reports", store.list_reports(&q).await)
            .into_iter()
            .map(|r| r.id)
            .collect::<Vec<_>>()
    };
    let by_flow = |flow: &str| ReportQuery {
        flow: Some(flow.to_string()),
        ..Default::default()
    };
    let both = ReportQuery {
        flows: vec![f1.clone(), f2.clone()],
        ..Default::default()
    };

    assert_eq!(
        ids(by_flow(&f1)).await,
        [a.id.clone(), d.id.clone(), c.id.clone(), b.id.clone()],
        "newest last_seen first"
    );
    assert_eq!(
        ids(both.clone()).await,
        [
            a.id.clone(),
            e.id.clone(),
            d.id.clone(),
            c.id.clone(),
            b.id.clone()
        ]
    );
    assert_eq!(
        ids(ReportQuery {
            signature: Some(s1.clone()),
            ..both.clone()
        })
        .await,
        [a.id.clone(), e.id.clone()]
    );
    assert_eq!(
        ids(ReportQuery {
            since: Some(t0 + secs(3)),
            ..by_flow(&f1)
        })
        .await,
        [a.id.clone(), d.id.clone(), c.id.clone()],
        "since is inclusive and applies to last_seen"
    );
    assert_eq!(
        ids(ReportQuery {
            min_severity: Some(Severity::Error),
            ..by_flow(&f1)
        })
        .await,
        [a.id.clone(), b.id.clone()]
    );
    assert_eq!(
        ids(ReportQuery {
            kind: Some(ReportKind::Panic),
            ..both.clone()
        })
        .await,
        vec![b.id.clone()]
    );
    assert_eq!(
        ids(ReportQuery {
            exclude_kind: Some(ReportKind::Success),
            ..by_flow(&f1)
        })
        .await,
        [a.id.clone(), c.id.clone(), b.id.clone()]
    );
    assert_eq!(
        ids(ReportQuery {
            limit: Some(2),
            ..both.clone()
        })
        .await,
        [a.id.clone(), e.id.clone()]
    );
    assert_eq!(
        ids(ReportQuery {
            limit: Some(0),
            ..both.clone()
        })
        .await,
        Vec::<Id>::new()
    );
    assert_eq!(
        ids(ReportQuery {
            flow: Some(f2.clone()),
            flows: vec![f1.clone()],
            ..Default::default()
        })
        .await,
        Vec::<Id>::new(),
        "flow and flows must both match"
    );
    assert!(ids(by_flow(&unique("nothing"))).await.is_empty());

    let listed = ok("list_reports", store.list_reports(&by_flow(&f2)).await);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].dedup_count, 1);
    assert_eq!(listed[0].signature, s1);
}

fn rich_diagnosis(at: DateTime<Utc>) -> Diagnosis {
    Diagnosis {
        category: Category::Data,
        root_cause: "the input lost a column".into(),
        confidence: 0.875,
        affected_files: vec!["etl.py".into(), "schema.sql".into()],
        remediation: "restore the column".into(),
        auto_fixable: true,
        reasoning: Some("KeyError on a column name".into()),
        alternative_hypotheses: vec!["a renamed header".into()],
        source: DiagnosisSource::Llm,
        pattern: Some("missing-column".into()),
        model: Some("model-x".into()),
        tokens: Some(TokenUsage {
            input: 1200,
            output: 300,
        }),
        cost_usd: Some(0.015625),
        created_at: at,
    }
}

/// Diagnoses: save, replace, get; `diagnosis_error` set and clear.
pub async fn check_diagnoses(store: &dyn Store) {
    let flow = unique("diagnosis");
    let t0 = Utc::now();
    let report = plain_report(&flow, "sig", t0);
    assert_eq!(claim(store, &report, HOUR).await, Claim::New);

    assert_eq!(
        ok("get_diagnosis", store.get_diagnosis(&report.id).await),
        None
    );
    let first = rich_diagnosis(t0);
    ok(
        "save_diagnosis",
        store.save_diagnosis(&report.id, &first).await,
    );
    assert_eq!(
        ok("get_diagnosis", store.get_diagnosis(&report.id).await),
        Some(first),
        "a diagnosis round-trips every field"
    );
    let mut second = Diagnosis::new(Category::Transient, "a blip", 0.5);
    second.created_at = t0 + secs(1);
    ok(
        "save_diagnosis",
        store.save_diagnosis(&report.id, &second).await,
    );
    assert_eq!(
        ok("get_diagnosis", store.get_diagnosis(&report.id).await),
        Some(second),
        "saving again replaces"
    );

    ok(
        "set_diagnosis_error",
        store
            .set_diagnosis_error(&report.id, Some("budget exhausted"))
            .await,
    );
    let stored = ok("get_report", store.get_report(&report.id).await).expect("report");
    assert_eq!(stored.diagnosis_error.as_deref(), Some("budget exhausted"));
    ok(
        "set_diagnosis_error",
        store.set_diagnosis_error(&report.id, None).await,
    );
    let stored = ok("get_report", store.get_report(&report.id).await).expect("report");
    assert_eq!(stored.diagnosis_error, None, "None clears the reason");
    assert_eq!(
        stored.dedup_count, 1,
        "setting the reason leaves the rest alone"
    );
}

fn decision(
    flow: &str,
    report_id: &Id,
    incident_id: &Id,
    kind: DecisionKind,
    at: DateTime<Utc>,
) -> Decision {
    Decision {
        id: Id::new(),
        report_id: report_id.clone(),
        incident_id: incident_id.clone(),
        flow: flow.to_string(),
        signature: "sig".into(),
        kind,
        reason: format!("{kind} because"),
        channels: vec!["console".into(), "slack".into()],
        at,
    }
}

/// Decisions: one per `report_id` (a second replaces the first), every
/// query filter, newest first, `limit`, and counts per flow and kind.
pub async fn check_decisions(store: &dyn Store) {
    let f = unique("decisions-a");
    let g = unique("decisions-b");
    let t0 = Utc::now();
    let (r1, r2, r3, r4) = (Id::new(), Id::new(), Id::new(), Id::new());
    let (i1, i2) = (Id::new(), Id::new());

    let d1 = decision(&f, &r1, &i1, DecisionKind::Fired, t0);
    let d2 = decision(&f, &r2, &i1, DecisionKind::Deduped, t0 + secs(1));
    let d3 = decision(&f, &r3, &i2, DecisionKind::RateLimited, t0 + secs(2));
    let d4 = decision(&g, &r4, &i2, DecisionKind::Deduped, t0 + secs(3));
    for d in [&d1, &d2, &d3, &d4] {
        ok("record_decision", store.record_decision(d).await);
    }
    // A second decision for r1 replaces the first.
    let d1b = decision(&f, &r1, &i1, DecisionKind::DeliveryFailed, t0 + secs(4));
    ok("record_decision", store.record_decision(&d1b).await);

    let q = |query: DecisionQuery| async move { ok("decisions", store.decisions(&query).await) };
    assert_eq!(
        q(DecisionQuery {
            report_id: Some(r1.clone()),
            ..Default::default()
        })
        .await,
        vec![d1b.clone()],
        "one decision per report_id, the latest replacing"
    );
    let of_f = DecisionQuery {
        flow: Some(f.clone()),
        ..Default::default()
    };
    assert_eq!(
        q(of_f.clone()).await,
        [d1b.clone(), d3.clone(), d2.clone()],
        "newest first"
    );
    assert_eq!(
        q(DecisionQuery {
            incident_id: Some(i1.clone()),
            ..Default::default()
        })
        .await,
        [d1b.clone(), d2.clone()]
    );
    assert_eq!(
        q(DecisionQuery {
            incident_id: Some(i2.clone()),
            ..Default::default()
        })
        .await,
        [d4.clone(), d3.clone()]
    );
    assert_eq!(
        q(DecisionQuery {
            kind: Some(DecisionKind::Deduped),
            ..of_f.clone()
        })
        .await,
        vec![d2.clone()]
    );
    assert_eq!(
        q(DecisionQuery {
            since: Some(t0 + secs(2)),
            ..of_f.clone()
        })
        .await,
        [d1b.clone(), d3.clone()],
        "since is inclusive"
    );
    assert_eq!(
        q(DecisionQuery {
            limit: Some(1),
            ..of_f.clone()
        })
        .await,
        vec![d1b.clone()]
    );
    assert!(
        q(DecisionQuery {
            report_id: Some(Id::new()),
            ..Default::default()
        })
        .await
        .is_empty()
    );

    let count = |flow: &str, kind, count| DecisionCount {
        flow: flow.to_string(),
        kind,
        count,
    };
    let sorted = |mut v: Vec<DecisionCount>| {
        v.retain(|c| c.flow == f || c.flow == g);
        v.sort_by(|a, b| (&a.flow, a.kind).cmp(&(&b.flow, b.kind)));
        v
    };
    let mut expected = vec![
        count(&f, DecisionKind::Deduped, 1),
        count(&f, DecisionKind::RateLimited, 1),
        count(&f, DecisionKind::DeliveryFailed, 1),
        count(&g, DecisionKind::Deduped, 1),
    ];
    expected.sort_by(|a, b| (&a.flow, a.kind).cmp(&(&b.flow, b.kind)));
    assert_eq!(
        sorted(ok("decision_counts", store.decision_counts(t0, None).await)),
        expected
    );
    assert_eq!(
        sorted(ok(
            "decision_counts",
            store.decision_counts(t0 + secs(2), Some(&f)).await
        )),
        [
            count(&f, DecisionKind::RateLimited, 1),
            count(&f, DecisionKind::DeliveryFailed, 1),
        ]
    );
    assert!(
        ok(
            "decision_counts",
            store.decision_counts(t0, Some(&unique("none"))).await
        )
        .is_empty()
    );
}

/// Actions: insert, replace by id, every query filter, newest first, `limit`.
pub async fn check_actions(store: &dyn Store) {
    let f = unique("actions");
    let t0 = Utc::now();
    let r1 = plain_report(&f, "s1", t0);
    let r2 = plain_report(&f, "s2", t0);
    let mk = |r: &Report, kind, target: &str, status, at| {
        let mut a = Action::new(r, kind, target, status, format!("{target} detail"));
        a.started_at = at;
        a.finished_at = at + secs(1);
        a
    };
    let mut a1 = mk(
        &r1,
        ActionKind::Notify,
        "slack",
        ActionStatus::Succeeded,
        t0,
    );
    a1.url = Some("https://example.test/msg/1".into());
    let mut a2 = mk(
        &r1,
        ActionKind::Remediate,
        "ssm",
        ActionStatus::Pending,
        t0 + secs(1),
    );
    a2.data = serde_json::json!({"command_id": "c-1", "commands": ["restart", "check"], "exit": 0});
    let a3 = mk(
        &r2,
        ActionKind::Notify,
        "email",
        ActionStatus::Skipped,
        t0 + secs(2),
    );
    for a in [&a1, &a2, &a3] {
        ok("record_action", store.record_action(a).await);
    }
    // Replace a2 by id: the remediation finished.
    a2.status = ActionStatus::Failed;
    a2.attempts = 3;
    a2.detail = "exit 1".into();
    a2.finished_at = t0 + secs(30);
    ok("record_action", store.record_action(&a2).await);

    let q = |query: ActionQuery| async move { ok("actions", store.actions(&query).await) };
    let of_f = ActionQuery {
        flow: Some(f.clone()),
        ..Default::default()
    };
    assert_eq!(
        q(of_f.clone()).await,
        [a3.clone(), a2.clone(), a1.clone()],
        "every field round-trips, newest first, replaced by id"
    );
    assert_eq!(
        q(ActionQuery {
            report_id: Some(r1.id.clone()),
            ..Default::default()
        })
        .await,
        [a2.clone(), a1.clone()]
    );
    assert_eq!(
        q(ActionQuery {
            signature: Some("s2".into()),
            ..of_f.clone()
        })
        .await,
        vec![a3.clone()]
    );
    assert_eq!(
        q(ActionQuery {
            kind: Some(ActionKind::Notify),
            ..of_f.clone()
        })
        .await,
        [a3.clone(), a1.clone()]
    );
    assert_eq!(
        q(ActionQuery {
            target: Some("ssm".into()),
            ..of_f.clone()
        })
        .await,
        vec![a2.clone()]
    );
    assert_eq!(
        q(ActionQuery {
            status: Some(ActionStatus::Failed),
            ..of_f.clone()
        })
        .await,
        vec![a2.clone()]
    );
    assert!(
        q(ActionQuery {
            status: Some(ActionStatus::Pending),
            ..of_f.clone()
        })
        .await
        .is_empty(),
        "the replaced status is gone"
    );
    assert_eq!(
        q(ActionQuery {
            since: Some(t0 + secs(1)),
            ..of_f.clone()
        })
        .await,
        [a3.clone(), a2.clone()],
        "since is inclusive and applies to started_at"
    );
    assert_eq!(
        q(ActionQuery {
            limit: Some(2),
            ..of_f.clone()
        })
        .await,
        [a3.clone(), a2.clone()]
    );
    assert!(
        q(ActionQuery {
            report_id: Some(Id::new()),
            ..Default::default()
        })
        .await
        .is_empty()
    );
}

/// `try_consume`: grants up to `limit` per window, windows and keys are
/// independent, a zero limit grants nothing.
pub async fn check_rate_limits(store: &dyn Store) {
    let key = unique("rate");
    let other = unique("rate-other");
    let w1 = Utc::now();
    let w2 = w1 + chrono::Duration::days(1);
    let consume = |key: String, window, limit| async move {
        ok("try_consume", store.try_consume(&key, window, limit).await)
    };
    assert!(consume(key.clone(), w1, 2).await);
    assert!(consume(key.clone(), w1, 2).await);
    assert!(!consume(key.clone(), w1, 2).await, "third of limit 2");
    assert!(
        !consume(key.clone(), w1, 2).await,
        "refusals consume nothing"
    );
    assert!(
        consume(key.clone(), w1, 3).await,
        "a higher limit grants again"
    );
    assert!(!consume(key.clone(), w1, 3).await);
    assert!(
        consume(key.clone(), w2, 2).await,
        "a new window starts at 0"
    );
    assert!(consume(other.clone(), w1, 1).await, "keys are independent");
    assert!(!consume(other.clone(), w1, 1).await);
    assert!(!consume(unique("rate-zero"), w1, 0).await, "limit 0");

    // `release` gives one unit back, in its window only, never below zero.
    ok("release", store.release(&other, w1).await);
    assert!(
        consume(other.clone(), w1, 1).await,
        "released unit granted again"
    );
    assert!(!consume(other.clone(), w1, 1).await);
    ok("release", store.release(&other, w2).await);
    assert!(
        !consume(other.clone(), w1, 1).await,
        "another window's release"
    );
    let fresh = unique("rate-release");
    ok("release", store.release(&fresh, w1).await);
    ok("release", store.release(&fresh, w1).await);
    assert!(consume(fresh.clone(), w1, 1).await);
    assert!(
        !consume(fresh, w1, 1).await,
        "releasing an unused counter does not go below zero"
    );
}

fn digest_entry(flow: &str, at: DateTime<Utc>) -> DigestEntry {
    DigestEntry {
        id: Id::new(),
        report_id: Id::new(),
        flow: flow.to_string(),
        signature: "sig".into(),
        headline: "KeyError: boom".into(),
        severity: Severity::Critical,
        channel: Some("slack".into()),
        reason: DecisionKind::RateLimited,
        at,
        digested_at: None,
    }
}

async fn pending_of(
    store: &dyn Store,
    flow: &str,
    since: Option<DateTime<Utc>>,
) -> Vec<DigestEntry> {
    let mut all = ok("pending_digest", store.pending_digest(since).await);
    all.retain(|e| e.flow == flow);
    all
}

/// Digest queue: pending entries oldest first, `since` filter,
/// `mark_digested` counts only still-pending entries.
pub async fn check_digest(store: &dyn Store) {
    let flow = unique("digest");
    let t0 = Utc::now();
    let e1 = digest_entry(&flow, t0);
    let mut e2 = digest_entry(&flow, t0 + secs(1));
    e2.channel = None;
    e2.reason = DecisionKind::DeliveryFailed;
    e2.severity = Severity::Warning;
    let e3 = digest_entry(&flow, t0 + secs(2));
    for e in [&e3, &e1, &e2] {
        ok("enqueue_digest", store.enqueue_digest(e).await);
    }
    assert_eq!(
        pending_of(store, &flow, None).await,
        [e1.clone(), e2.clone(), e3.clone()],
        "oldest first, every field round-trips"
    );
    assert_eq!(
        pending_of(store, &flow, Some(t0 + secs(1))).await,
        [e2.clone(), e3.clone()],
        "since is inclusive"
    );
    let at = t0 + secs(10);
    assert_eq!(
        ok(
            "mark_digested",
            store
                .mark_digested(&[e1.id.clone(), e2.id.clone()], at)
                .await
        ),
        2
    );
    assert_eq!(pending_of(store, &flow, None).await, vec![e3.clone()]);
    assert_eq!(
        ok(
            "mark_digested",
            store
                .mark_digested(
                    &[e1.id.clone(), e2.id.clone(), e3.id.clone(), Id::new()],
                    at
                )
                .await
        ),
        1,
        "already-digested and unknown entries are not counted"
    );
    assert!(pending_of(store, &flow, None).await.is_empty());
    assert_eq!(ok("mark_digested", store.mark_digested(&[], at).await), 0);
}

fn pattern(name: &str, signature: Option<&str>, at: DateTime<Utc>) -> KnownPattern {
    KnownPattern {
        name: name.to_string(),
        signature: signature.map(str::to_string),
        error_type: Some("KeyError".into()),
        message_regex: Some("^missing (?P<col>\\w+)$".into()),
        category: Category::Data,
        root_cause: "a column went missing".into(),
        remediation: "check the upstream schema".into(),
        confidence: 0.75,
        origin: PatternOrigin::Feedback,
        hit_count: 0,
        last_seen: None,
        created_at: at,
    }
}

/// Feedback newest first per report; patterns upsert keeping `hit_count`
/// and `last_seen`, list by name, lookup by signature, hits.
pub async fn check_feedback_and_patterns(store: &dyn Store) {
    let t0 = Utc::now();
    let report_id = Id::new();
    let f1 = Feedback {
        id: Id::new(),
        report_id: report_id.clone(),
        signature: "sig".into(),
        verdict: Verdict::Confirmed,
        note: None,
        author: None,
        at: t0,
    };
    let f2 = Feedback {
        id: Id::new(),
        report_id: report_id.clone(),
        signature: "sig".into(),
        verdict: Verdict::Corrected {
            category: Category::Config,
            root_cause: "an expired credential".into(),
        },
        note: Some("rotated the key".into()),
        author: Some("ana".into()),
        at: t0 + secs(5),
    };
    ok("record_feedback", store.record_feedback(&f1).await);
    ok("record_feedback", store.record_feedback(&f2).await);
    assert_eq!(
        ok("feedback_for", store.feedback_for(&report_id).await),
        [f2.clone(), f1.clone()],
        "newest first, every field round-trips"
    );
    assert!(ok("feedback_for", store.feedback_for(&Id::new()).await).is_empty());

    let prefix = unique("pattern");
    let sig = unique("pattern-sig");
    let a_name = format!("{prefix}-a");
    let b_name = format!("{prefix}-b");
    let b = pattern(&b_name, Some(&sig), t0);
    let mut a = pattern(&a_name, None, t0);
    a.hit_count = 3;
    a.origin = PatternOrigin::User;
    ok("upsert_pattern", store.upsert_pattern(&b).await);
    ok("upsert_pattern", store.upsert_pattern(&a).await);
    let ours = |all: Vec<KnownPattern>| -> Vec<KnownPattern> {
        all.into_iter()
            .filter(|p| p.name.starts_with(&prefix))
            .collect()
    };
    assert_eq!(
        ours(ok("patterns", store.patterns().await)),
        [a.clone(), b.clone()],
        "patterns come back by name; a new pattern keeps its given hit_count"
    );

    ok(
        "record_pattern_hit",
        store.record_pattern_hit(&b_name, t0 + secs(1)).await,
    );
    ok(
        "record_pattern_hit",
        store.record_pattern_hit(&b_name, t0 + secs(2)).await,
    );
    ok(
        "record_pattern_hit",
        store
            .record_pattern_hit(&unique("no-such-pattern"), t0)
            .await,
    );
    let mut b_hit = b.clone();
    b_hit.hit_count = 2;
    b_hit.last_seen = Some(t0 + secs(2));
    assert_eq!(
        ok(
            "pattern_for_signature",
            store.pattern_for_signature(&sig).await
        ),
        Some(b_hit.clone())
    );

    // Replacing keeps the stored hit_count and last_seen.
    let mut b_new = pattern(&b_name, Some(&sig), t0);
    b_new.root_cause = "a renamed column".into();
    b_new.confidence = 0.5;
    ok("upsert_pattern", store.upsert_pattern(&b_new).await);
    let mut expected = b_new.clone();
    expected.hit_count = 2;
    expected.last_seen = Some(t0 + secs(2));
    assert_eq!(
        ok(
            "pattern_for_signature",
            store.pattern_for_signature(&sig).await
        ),
        Some(expected.clone()),
        "upsert keeps hit_count and last_seen"
    );
    assert_eq!(
        ours(ok("patterns", store.patterns().await)),
        [a.clone(), expected]
    );
    assert_eq!(
        ok(
            "pattern_for_signature",
            store.pattern_for_signature(&unique("no-sig")).await
        ),
        None
    );
}

/// Fix attempts for a signature, newest first.
pub async fn check_fix_attempts(store: &dyn Store) {
    let sig = unique("fix");
    let t0 = Utc::now();
    let mk = |status, step: &str, at| FixAttempt {
        id: Id::new(),
        signature: sig.clone(),
        repo: "acme/etl".into(),
        issue_number: 7,
        report_id: Some(Id::new()),
        status,
        step: step.to_string(),
        reason: format!("{step} said so"),
        branch: None,
        pr_url: None,
        at,
    };
    let a = mk(FixStatus::Refused, "confidence", t0);
    let mut b = mk(FixStatus::Succeeded, "pr", t0 + secs(2));
    b.branch = Some("flow-doctor/fix-7".into());
    b.pr_url = Some("https://example.test/pr/8".into());
    b.report_id = None;
    let c = mk(FixStatus::Failed, "tests", t0 + secs(1));
    for x in [&a, &b, &c] {
        ok("record_fix_attempt", store.record_fix_attempt(x).await);
    }
    assert_eq!(
        ok("fix_attempts", store.fix_attempts(&sig).await),
        [b, c, a],
        "newest first, every field round-trips"
    );
    assert!(ok("fix_attempts", store.fix_attempts(&unique("none")).await).is_empty());
}

async fn reserve(store: &dyn Store, request: &BudgetRequest) -> BudgetGrant {
    ok("reserve_budget", store.reserve_budget(request).await)
}

/// Budget: the count cap, the cost cap after settling (refusals carry the
/// usage), independent windows.
pub async fn check_budget(store: &dyn Store) {
    let scope = unique("budget");
    let w1 = Utc::now();
    let w2 = w1 + chrono::Duration::days(1);
    let by_count = BudgetRequest {
        scope: scope.clone(),
        window_start: w1,
        max_count: 2,
        max_cost_usd: 100.0,
    };
    let BudgetGrant::Granted(r1) = reserve(store, &by_count).await else {
        panic!("first reservation must be granted");
    };
    let BudgetGrant::Granted(r2) = reserve(store, &by_count).await else {
        panic!("second reservation must be granted");
    };
    assert_ne!(r1, r2, "each reservation has its own id");
    assert_eq!(
        reserve(store, &by_count).await,
        BudgetGrant::CountExceeded(BudgetUsage {
            count: 2,
            cost_usd: 0.0,
            tokens: TokenUsage::default(),
        })
    );
    let tokens = TokenUsage {
        input: 1000,
        output: 250,
    };
    ok(
        "settle_budget",
        store.settle_budget(&r1, tokens, 0.25, "model-x").await,
    );
    ok(
        "settle_budget",
        store.settle_budget(&r2, tokens, 0.5, "model-x").await,
    );
    let settled = BudgetUsage {
        count: 2,
        cost_usd: 0.75,
        tokens: TokenUsage {
            input: 2000,
            output: 500,
        },
    };
    assert_eq!(
        ok("budget_usage", store.budget_usage(&scope, w1).await),
        settled
    );
    assert_eq!(
        reserve(store, &by_count).await,
        BudgetGrant::CountExceeded(settled.clone()),
        "a refusal carries the window's usage"
    );

    // The cost cap, in an independent window of the same scope.
    assert_eq!(
        ok("budget_usage", store.budget_usage(&scope, w2).await),
        BudgetUsage::default(),
        "a new window starts empty"
    );
    let by_cost = BudgetRequest {
        scope: scope.clone(),
        window_start: w2,
        max_count: 100,
        max_cost_usd: 1.0,
    };
    let BudgetGrant::Granted(c1) = reserve(store, &by_cost).await else {
        panic!("first reservation in a new window must be granted");
    };
    ok(
        "settle_budget",
        store.settle_budget(&c1, tokens, 0.5, "model-x").await,
    );
    let BudgetGrant::Granted(c2) = reserve(store, &by_cost).await else {
        panic!("0.5 spent of 1.0: must be granted");
    };
    ok(
        "settle_budget",
        store.settle_budget(&c2, tokens, 0.625, "model-y").await,
    );
    assert_eq!(
        reserve(store, &by_cost).await,
        BudgetGrant::CostExceeded(BudgetUsage {
            count: 2,
            cost_usd: 1.125,
            tokens: TokenUsage {
                input: 2000,
                output: 500,
            },
        })
    );
    assert_eq!(
        ok("budget_usage", store.budget_usage(&scope, w1).await),
        settled,
        "windows are independent"
    );
    assert_eq!(
        ok(
            "budget_usage",
            store.budget_usage(&unique("none"), w1).await
        ),
        BudgetUsage::default()
    );
}

/// Named counters: add (from 0) returns the new value; set.
pub async fn check_counters(store: &dyn Store) {
    let key = unique("counter");
    assert_eq!(ok("counter_add", store.counter_add(&key, 1).await), 1);
    assert_eq!(ok("counter_add", store.counter_add(&key, 2).await), 3);
    assert_eq!(ok("counter_add", store.counter_add(&key, -5).await), -2);
    ok("counter_set", store.counter_set(&key, 10).await);
    assert_eq!(ok("counter_add", store.counter_add(&key, 1).await), 11);
    ok("counter_set", store.counter_set(&key, 0).await);
    assert_eq!(ok("counter_add", store.counter_add(&key, 0).await), 0);
    let other = unique("counter-other");
    ok("counter_set", store.counter_set(&other, 7).await);
    assert_eq!(ok("counter_add", store.counter_add(&other, 0).await), 7);
    assert_eq!(ok("counter_add", store.counter_add(&key, 0).await), 0);
}

/// Runs `f(i)` in [`CONCURRENT_TASKS`] spawned tasks released together.
async fn concurrently<T, F, Fut>(f: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let barrier = Arc::new(tokio::sync::Barrier::new(CONCURRENT_TASKS));
    let mut handles = Vec::with_capacity(CONCURRENT_TASKS);
    for i in 0..CONCURRENT_TASKS {
        let barrier = barrier.clone();
        let fut = f(i);
        handles.push(tokio::spawn(async move {
            barrier.wait().await;
            fut.await
        }));
    }
    let mut out = Vec::with_capacity(CONCURRENT_TASKS);
    for h in handles {
        out.push(h.await.expect("a concurrent task panicked"));
    }
    out
}

/// Concurrent claims of one signature: exactly one `New`, the others
/// `Duplicate` with counts 2..=N each once, stored `dedup_count` == N.
pub async fn check_concurrent_claims(store: Arc<dyn Store>) {
    let flow = unique("concurrent-claim");
    let sig = unique("sig");
    let t0 = Utc::now();
    let results = concurrently(|i| {
        let store = store.clone();
        let report = plain_report(&flow, &sig, t0 + chrono::Duration::milliseconds(i as i64));
        async move { ok("claim", store.claim(&report, HOUR).await) }
    })
    .await;
    let new = results.iter().filter(|c| **c == Claim::New).count();
    assert_eq!(new, 1, "exactly one concurrent claim is New: {results:?}");
    let mut counts: Vec<u64> = results
        .iter()
        .filter_map(|c| match c {
            Claim::Duplicate { dedup_count, .. } => Some(*dedup_count),
            Claim::New => None,
        })
        .collect();
    counts.sort_unstable();
    let n = CONCURRENT_TASKS as u64;
    assert_eq!(counts, (2..=n).collect::<Vec<_>>());
    let stats = ok("signature_stats", store.signature_stats(&flow, &sig).await);
    assert_eq!(stats.incidents, 1);
    assert_eq!(stats.occurrences, n);
    let incidents = ok(
        "list_reports",
        store
            .list_reports(&ReportQuery {
                flow: Some(flow.clone()),
                ..Default::default()
            })
            .await,
    );
    assert_eq!(incidents.len(), 1);
    assert_eq!(incidents[0].dedup_count, n);
}

/// Concurrent `try_consume` of one window: exactly `limit` granted.
pub async fn check_concurrent_rate_limits(store: Arc<dyn Store>) {
    let key = unique("concurrent-rate");
    let window = Utc::now();
    let granted = concurrently(|_| {
        let store = store.clone();
        let key = key.clone();
        async move { ok("try_consume", store.try_consume(&key, window, 5).await) }
    })
    .await;
    assert_eq!(granted.iter().filter(|g| **g).count(), 5);
    assert!(!ok("try_consume", store.try_consume(&key, window, 5).await));
}

/// Concurrent reservations: exactly `max_count` granted, the rest refused
/// with the full usage.
pub async fn check_concurrent_budget(store: Arc<dyn Store>) {
    let request = BudgetRequest {
        scope: unique("concurrent-budget"),
        window_start: Utc::now(),
        max_count: 4,
        max_cost_usd: 10.0,
    };
    let grants = concurrently(|_| {
        let store = store.clone();
        let request = request.clone();
        async move { ok("reserve_budget", store.reserve_budget(&request).await) }
    })
    .await;
    let granted = grants
        .iter()
        .filter(|g| matches!(g, BudgetGrant::Granted(_)))
        .count();
    assert_eq!(granted, 4, "{grants:?}");
    let full = BudgetUsage {
        count: 4,
        ..Default::default()
    };
    assert_eq!(
        grants
            .iter()
            .filter(|g| **g == BudgetGrant::CountExceeded(full.clone()))
            .count(),
        CONCURRENT_TASKS - 4
    );
    assert_eq!(
        ok(
            "budget_usage",
            store
                .budget_usage(&request.scope, request.window_start)
                .await
        ),
        full
    );
}

/// Concurrent `mark_digested` of the same entries: each entry is counted
/// by exactly one caller.
pub async fn check_concurrent_digest(store: Arc<dyn Store>) {
    let flow = unique("concurrent-digest");
    let t0 = Utc::now();
    let mut ids = Vec::new();
    for i in 0..8 {
        let e = digest_entry(&flow, t0 + secs(i));
        ok("enqueue_digest", store.enqueue_digest(&e).await);
        ids.push(e.id);
    }
    let ids = Arc::new(ids);
    let marked = concurrently(|_| {
        let store = store.clone();
        let ids = ids.clone();
        async move { ok("mark_digested", store.mark_digested(&ids, t0).await) }
    })
    .await;
    assert_eq!(marked.iter().sum::<u64>(), 8, "{marked:?}");
    assert!(pending_of(store.as_ref(), &flow, None).await.is_empty());
}

/// What [`check_prune`] seeds, per incident.
struct PruneSeed {
    a: Report,
    b: Report,
    c: Report,
    d: Report,
    b_pending: Action,
    c_unsent: DigestEntry,
    orphan_unsent: DigestEntry,
    orphan_pending: Action,
    orphan_decision: Decision,
    pattern: String,
    counter: String,
    scope: String,
    rate_key: String,
}

/// 2000-06-15 12:00 UTC: [`check_prune`] lives in the year 2000 so that its
/// cut-offs never reach the data of the other checks (all near now).
fn prune_now() -> DateTime<Utc> {
    DateTime::from_timestamp(961_070_400, 0).unwrap_or_default()
}

async fn seed_prune(store: &dyn Store, flow: &str, now: DateTime<Utc>) -> PruneSeed {
    let old = now - chrono::Duration::days(75);
    let day = chrono::Duration::days(1);
    let today = crate::clock::day_start(now);
    // A: old and finished, with one of everything hanging off it.
    let a = plain_report(flow, "sig-a", old);
    assert_eq!(claim(store, &a, HOUR).await, Claim::New);
    let a_repeat = plain_report(flow, "sig-a", old + mins(30));
    assert!(matches!(
        claim(store, &a_repeat, HOUR).await,
        Claim::Duplicate { .. }
    ));
    ok(
        "save_diagnosis",
        store.save_diagnosis(&a.id, &rich_diagnosis(old)).await,
    );
    for (report_id, kind) in [
        (&a.id, DecisionKind::Fired),
        (&a_repeat.id, DecisionKind::Deduped),
    ] {
        let d = decision(flow, report_id, &a.id, kind, old);
        ok("record_decision", store.record_decision(&d).await);
    }
    let mut notified = Action::new(
        &a,
        ActionKind::Notify,
        "slack",
        ActionStatus::Succeeded,
        "ok",
    );
    notified.started_at = old;
    notified.finished_at = old;
    ok("record_action", store.record_action(&notified).await);
    let feedback = Feedback {
        id: Id::new(),
        report_id: a.id.clone(),
        signature: "sig-a".into(),
        verdict: Verdict::Confirmed,
        note: None,
        author: None,
        at: old,
    };
    ok("record_feedback", store.record_feedback(&feedback).await);
    let mut sent = digest_entry(flow, old);
    sent.report_id = a.id.clone();
    sent.digested_at = Some(old + mins(5));
    ok("enqueue_digest", store.enqueue_digest(&sent).await);
    let fix = |report_id: Option<Id>, at| FixAttempt {
        id: Id::new(),
        signature: format!("{flow}-fix"),
        repo: "acme/etl".into(),
        issue_number: 7,
        report_id,
        status: FixStatus::Failed,
        step: "tests".into(),
        reason: "tests failed".into(),
        branch: None,
        pr_url: None,
        at,
    };
    ok(
        "record_fix_attempt",
        store
            .record_fix_attempt(&fix(Some(a.id.clone()), old))
            .await,
    );
    // B: old, but a remediation is still running.
    let b = plain_report(flow, "sig-b", old);
    assert_eq!(claim(store, &b, HOUR).await, Claim::New);
    ok(
        "save_diagnosis",
        store.save_diagnosis(&b.id, &rich_diagnosis(old)).await,
    );
    let mut b_pending = Action::new(&b, ActionKind::Remediate, "ssm", ActionStatus::Pending, "");
    b_pending.started_at = old;
    b_pending.finished_at = old;
    ok("record_action", store.record_action(&b_pending).await);
    // C: old, but still waiting for the digest.
    let c = plain_report(flow, "sig-c", old);
    assert_eq!(claim(store, &c, HOUR).await, Claim::New);
    let mut c_unsent = digest_entry(flow, old);
    c_unsent.report_id = c.id.clone();
    ok("enqueue_digest", store.enqueue_digest(&c_unsent).await);
    // D: first seen long ago, last seen yesterday.
    let d = plain_report(flow, "sig-d", old);
    let long = Duration::from_secs(100 * 86_400);
    assert_eq!(claim(store, &d, long).await, Claim::New);
    let d_repeat = plain_report(flow, "sig-d", now - day);
    assert!(matches!(
        claim(store, &d_repeat, long).await,
        Claim::Duplicate { .. }
    ));
    let d_decision = decision(flow, &d.id, &d.id, DecisionKind::Fired, old);
    ok("record_decision", store.record_decision(&d_decision).await);
    // Orphans (their incident is not stored).
    let orphan_decision = decision(flow, &Id::new(), &Id::new(), DecisionKind::Fired, old);
    ok(
        "record_decision",
        store.record_decision(&orphan_decision).await,
    );
    ok(
        "record_fix_attempt",
        store.record_fix_attempt(&fix(None, old)).await,
    );
    ok(
        "record_fix_attempt",
        store.record_fix_attempt(&fix(None, now - day)).await,
    );
    let orphan_unsent = digest_entry(flow, old);
    ok("enqueue_digest", store.enqueue_digest(&orphan_unsent).await);
    let ghost = plain_report(flow, "sig-ghost", old);
    let mut orphan_pending = Action::new(
        &ghost,
        ActionKind::Remediate,
        "sfn",
        ActionStatus::Pending,
        "",
    );
    orphan_pending.started_at = old;
    orphan_pending.finished_at = old;
    ok("record_action", store.record_action(&orphan_pending).await);
    // The knowledge base, counters, and accounting windows.
    let pattern_name = unique("prune-pattern");
    ok(
        "upsert_pattern",
        store
            .upsert_pattern(&pattern(&pattern_name, Some("sig-a"), old))
            .await,
    );
    ok(
        "record_pattern_hit",
        store.record_pattern_hit(&pattern_name, old).await,
    );
    let counter = unique("prune-counter");
    ok("counter_set", store.counter_set(&counter, 5).await);
    let scope = unique("prune-budget");
    for window in [crate::clock::day_start(old), today - day, today] {
        let request = BudgetRequest {
            scope: scope.clone(),
            window_start: window,
            max_count: 10,
            max_cost_usd: 10.0,
        };
        assert!(matches!(
            reserve(store, &request).await,
            BudgetGrant::Granted(_)
        ));
    }
    let rate_key = unique("prune-rate");
    for window in [crate::clock::day_start(old), today] {
        assert!(ok(
            "try_consume",
            store.try_consume(&rate_key, window, 1).await
        ));
    }
    PruneSeed {
        a,
        b,
        c,
        d,
        b_pending,
        c_unsent,
        orphan_unsent,
        orphan_pending,
        orphan_decision,
        pattern: pattern_name,
        counter,
        scope,
        rate_key,
    }
}

/// Retention ([`Store::prune`]): a dry run counts exactly what the real run
/// then removes and removes nothing; an old finished incident goes with its
/// diagnosis, decisions, actions, feedback, digested entries and fix
/// attempts, and old orphans go too; an incident with a pending action or
/// an unsent digest entry stays, as do unsent entries, pending actions,
/// patterns, counters, incidents active after the cut-off and the budget
/// and rate-limit windows of today and yesterday; a repeat of a pruned
/// incident starts a new one; pruning twice removes nothing more.
///
/// It prunes the whole store before a cut-off in the year 2000 (the other
/// checks' data is near now), so run at most one `check_prune` at a time on
/// a store.
pub async fn check_prune(store: &dyn Store) {
    let flow = unique("prune");
    let now = prune_now();
    let day = chrono::Duration::days(1);
    let today = crate::clock::day_start(now);
    let before = now - chrono::Duration::days(30);
    // Leftovers of an interrupted earlier run must not skew the counts.
    let sweep = PruneRequest::new(before, now);
    ok("prune", store.prune(&sweep).await);
    let seed = seed_prune(store, &flow, now).await;

    let expected = PruneStats {
        incidents: 1,
        incidents_kept: 2,
        diagnoses: 1,
        decisions: 3,
        actions: 1,
        feedback: 1,
        digest_entries: 1,
        fix_attempts: 2,
        budget_reservations: 1,
        rate_limit_windows: 1,
    };
    let request = PruneRequest::new(before, now);
    let dry = ok("prune (dry run)", store.prune(&request.dry_run()).await);
    assert_eq!(dry, expected, "a dry run counts what a real run removes");
    assert!(
        ok("get_report", store.get_report(&seed.a.id).await).is_some()
            && ok("get_diagnosis", store.get_diagnosis(&seed.a.id).await).is_some(),
        "a dry run removes nothing"
    );
    let stats = ok("prune", store.prune(&request).await);
    assert_eq!(stats, expected, "what the real run removed");
    assert_eq!(stats.total(), 12);

    // Removed: A and everything hanging off it, and the old orphans.
    let a = &seed.a.id;
    assert_eq!(ok("get_report", store.get_report(a).await), None);
    assert_eq!(ok("get_diagnosis", store.get_diagnosis(a).await), None);
    let of_incident = DecisionQuery {
        incident_id: Some(a.clone()),
        ..DecisionQuery::default()
    };
    assert!(ok("decisions", store.decisions(&of_incident).await).is_empty());
    let of_orphan = DecisionQuery {
        report_id: Some(seed.orphan_decision.report_id.clone()),
        ..DecisionQuery::default()
    };
    assert!(ok("decisions", store.decisions(&of_orphan).await).is_empty());
    let actions_of = |id: &Id| ActionQuery {
        report_id: Some(id.clone()),
        ..ActionQuery::default()
    };
    assert!(ok("actions", store.actions(&actions_of(a)).await).is_empty());
    assert!(ok("feedback_for", store.feedback_for(a).await).is_empty());
    let fixes = ok(
        "fix_attempts",
        store.fix_attempts(&format!("{flow}-fix")).await,
    );
    assert_eq!(fixes.len(), 1, "only the recent orphan fix attempt is left");
    assert_eq!(fixes[0].at, now - day);

    // Kept.
    assert!(
        ok("get_report", store.get_report(&seed.b.id).await).is_some(),
        "pending action keeps its incident"
    );
    assert!(ok("get_diagnosis", store.get_diagnosis(&seed.b.id).await).is_some());
    assert_eq!(
        ok("actions", store.actions(&actions_of(&seed.b.id)).await),
        std::slice::from_ref(&seed.b_pending),
        "pending action kept"
    );
    assert!(
        ok("get_report", store.get_report(&seed.c.id).await).is_some(),
        "unsent digest entry keeps its incident"
    );
    let unsent = pending_of(store, &flow, None).await;
    assert_eq!(
        unsent.len(),
        2,
        "unsent digest entries are never pruned: {unsent:?}"
    );
    let d = ok("get_report", store.get_report(&seed.d.id).await);
    assert_eq!(
        d.map(|d| d.dedup_count),
        Some(2),
        "active after the cut-off: kept"
    );
    let d_decisions = DecisionQuery {
        incident_id: Some(seed.d.id.clone()),
        ..DecisionQuery::default()
    };
    assert_eq!(
        ok("decisions", store.decisions(&d_decisions).await).len(),
        1,
        "a kept incident keeps its old decisions"
    );
    let ghost_actions = ok(
        "actions",
        store
            .actions(&actions_of(&seed.orphan_pending.report_id))
            .await,
    );
    assert_eq!(ghost_actions.len(), 1, "pending actions are never pruned");
    let patterns = ok("patterns", store.patterns().await);
    let kept = patterns.iter().find(|p| p.name == seed.pattern);
    assert_eq!(
        kept.map(|p| p.hit_count),
        Some(1),
        "patterns are never pruned"
    );
    assert_eq!(
        ok("counter_add", store.counter_add(&seed.counter, 0).await),
        5,
        "counters are never pruned"
    );
    for (window, count) in [
        (crate::clock::day_start(now - chrono::Duration::days(75)), 0),
        (today - day, 1),
        (today, 1),
    ] {
        let usage = ok(
            "budget_usage",
            store.budget_usage(&seed.scope, window).await,
        );
        assert_eq!(usage.count, count, "budget window {window}");
    }
    assert!(
        !ok(
            "try_consume",
            store.try_consume(&seed.rate_key, today, 1).await
        ),
        "today's rate-limit window kept"
    );

    // Idempotent.
    let again = ok("prune", store.prune(&request).await);
    assert_eq!(
        again,
        PruneStats {
            incidents_kept: 2,
            ..PruneStats::default()
        },
        "a second prune removes nothing"
    );

    // Dedup after pruning: a repeat within A's cooldown starts a new incident.
    let repeat = plain_report(&flow, "sig-a", seed.a.occurred_at + mins(45));
    assert_eq!(
        claim(store, &repeat, HOUR).await,
        Claim::New,
        "a repeat of a pruned incident is new"
    );
    let fresh = ok("get_report", store.get_report(&repeat.id).await);
    assert_eq!(fresh.map(|r| r.dedup_count), Some(1));

    // A cut-off after now still keeps today's and yesterday's accounting.
    let late = ok(
        "prune",
        store
            .prune(&PruneRequest::new(now + chrono::Duration::hours(1), now))
            .await,
    );
    assert_eq!(
        (late.incidents, late.incidents_kept),
        (2, 2),
        "D and the repeat go; B and C stay: {late:?}"
    );
    assert_eq!(
        (late.budget_reservations, late.rate_limit_windows),
        (0, 0),
        "{late:?}"
    );
    for window in [today - day, today] {
        let usage = ok(
            "budget_usage",
            store.budget_usage(&seed.scope, window).await,
        );
        assert_eq!(usage.count, 1, "budget window {window} is within the guard");
    }

    // Once nothing is in flight, everything of this check goes.
    let mut done = seed.b_pending.clone();
    done.status = ActionStatus::Succeeded;
    ok("record_action", store.record_action(&done).await);
    let mut ghost_done = seed.orphan_pending.clone();
    ghost_done.status = ActionStatus::Failed;
    ok("record_action", store.record_action(&ghost_done).await);
    let ids = [seed.c_unsent.id.clone(), seed.orphan_unsent.id.clone()];
    assert_eq!(ok("mark_digested", store.mark_digested(&ids, now).await), 2);
    let later = now + chrono::Duration::days(3);
    let last = ok("prune", store.prune(&PruneRequest::new(later, later)).await);
    assert_eq!((last.incidents, last.incidents_kept), (2, 0), "{last:?}");
    assert_eq!(
        (last.budget_reservations, last.rate_limit_windows),
        (2, 1),
        "{last:?}"
    );
    let ours = ReportQuery {
        flow: Some(flow.clone()),
        ..ReportQuery::default()
    };
    assert!(ok("list_reports", store.list_reports(&ours).await).is_empty());
    assert!(
        ok(
            "fix_attempts",
            store.fix_attempts(&format!("{flow}-fix")).await
        )
        .is_empty()
    );
}
