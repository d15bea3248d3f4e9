//! Engine tests: the pipeline end to end on the in-memory store with
//! recording notifiers and scripted diagnosers.

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeZone;

use super::*;
use crate::memory::MemoryStore;
use crate::model::{ActionKind, ActionStatus, Category, DecisionKind, Diagnosis};
use crate::notify::Notification;
use crate::store::{ActionQuery, DecisionQuery, ReportQuery};
use crate::testing::{ManualClock, RecordingNotifier, ScriptedDiagnoser};

const WAIT: Duration = Duration::from_secs(10);

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(
        chrono::Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap(),
    ))
}

fn fast_retry() -> RetryPolicy {
    RetryPolicy::new(3, Duration::from_millis(5))
}

#[derive(Debug, thiserror::Error)]
#[error("orders.csv has no column `amount`")]
struct MissingColumn;

#[derive(Debug, thiserror::Error)]
#[error("connection refused to warehouse:5432")]
struct Refused;

fn outcome(h: &ReportHandle) -> Outcome {
    h.wait(WAIT).expect("the worker answers")
}

#[test]
fn a_failure_is_stored_fired_and_decided_once() {
    let store = Arc::new(MemoryStore::new());
    let notifier = RecordingNotifier::new();
    let fd = FlowDoctor::builder("etl")
        .store(store.clone())
        .notifier(Arc::new(notifier.clone()))
        .build()
        .unwrap();
    let o = outcome(&fd.report(&MissingColumn));
    assert_eq!(o.decision, DecisionKind::Fired, "{}", o.reason);
    assert_eq!(o.reason, "delivered to recording");
    assert!(!o.signature.is_empty());
    let sent = notifier.take();
    assert_eq!(sent.len(), 1);
    let Notification::Incident(incident) = &sent[0] else {
        panic!("expected an incident, got {:?}", sent[0]);
    };
    assert_eq!(incident.report.message, "orders.csv has no column `amount`");
    assert!(
        incident
            .report
            .error_type
            .as_deref()
            .unwrap()
            .ends_with("MissingColumn")
    );
    assert!(incident.report.context["reported_at"].contains("engine/tests.rs"));

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let stored = store.get_report(&o.report_id).await.unwrap().unwrap();
        assert_eq!(stored.signature, o.signature);
        let decisions = store
            .decisions(&DecisionQuery {
                report_id: Some(o.report_id.clone()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(decisions.len(), 1);
        assert_eq!(decisions[0].kind, DecisionKind::Fired);
        let actions = store
            .actions(&ActionQuery {
                report_id: Some(o.report_id.clone()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(actions.len(), 1);
        assert_eq!(actions[0].kind, ActionKind::Notify);
        assert_eq!(actions[0].status, ActionStatus::Succeeded);
    });
}

#[test]
fn repeats_within_the_cooldown_are_counted_not_renotified() {
    let store = Arc::new(MemoryStore::new());
    let notifier = RecordingNotifier::new();
    let clock = clock();
    let fd = FlowDoctor::builder("etl")
        .store(store.clone())
        .clock(clock.clone())
        .notifier(Arc::new(notifier.clone()))
        .build()
        .unwrap();
    let first = outcome(&fd.report(&MissingColumn));
    assert_eq!(first.decision, DecisionKind::Fired);
    for n in 2..=3 {
        clock.advance(chrono::Duration::minutes(10));
        let o = outcome(&fd.report(&MissingColumn));
        assert_eq!(o.decision, DecisionKind::Deduped, "{}", o.reason);
        assert_eq!(o.incident_id, first.report_id);
        assert_eq!(o.dedup_count, n);
    }
    assert_eq!(notifier.take().len(), 1);

    // Past the cooldown (60 min from the first occurrence) it fires again,
    // as a recurrence of the earlier incident.
    clock.advance(chrono::Duration::minutes(45));
    let again = outcome(&fd.report(&MissingColumn));
    assert_eq!(again.decision, DecisionKind::Fired, "{}", again.reason);
    let sent = notifier.take();
    let Notification::Incident(incident) = &sent[0] else {
        panic!("expected an incident");
    };
    let rec = incident.recurrence.as_ref().expect("a recurrence");
    assert_eq!(rec.previous_incident, first.report_id);
    assert_eq!(rec.incidents, 2);
    assert_eq!(rec.occurrences, 4);
}

#[test]
fn filters_explain_why_nothing_was_sent() {
    let notifier = RecordingNotifier::new();
    let fd = FlowDoctor::builder("etl")
        .notifier_with_route(
            Arc::new(notifier.clone()),
            Route::new().notify_on_category([Category::Code]),
        )
        .diagnoser(Arc::new(ScriptedDiagnoser::answer(Diagnosis::new(
            Category::Infra,
            "the warehouse is down",
            0.9,
        ))))
        .build()
        .unwrap();
    let warn = outcome(&fd.report_message(Severity::Warning, "slow query"));
    assert_eq!(warn.decision, DecisionKind::SeverityFiltered);
    assert_eq!(
        warn.reason,
        "no notifier accepts severity warning (recording: error/critical)"
    );
    let infra = outcome(&fd.report(&Refused));
    assert_eq!(infra.decision, DecisionKind::CategoryFiltered);
    assert_eq!(infra.reason, "no notifier accepts category INFRA");
    assert_eq!(notifier.delivered(), 0);

    let quiet = FlowDoctor::builder("etl").build().unwrap();
    let o = outcome(&quiet.report(&Refused));
    assert_eq!(o.decision, DecisionKind::NoNotifiers);
}

#[test]
fn downstream_failures_after_an_upstream_failure_are_cascades() {
    let store = Arc::new(MemoryStore::new());
    let clock = clock();
    let upstream = FlowDoctor::builder("extract")
        .store(store.clone())
        .clock(clock.clone())
        .build()
        .unwrap();
    let notifier = RecordingNotifier::new();
    let downstream = FlowDoctor::builder("load")
        .store(store.clone())
        .clock(clock.clone())
        .dependencies(["extract"])
        .notifier(Arc::new(notifier.clone()))
        .build()
        .unwrap();

    let up = outcome(&upstream.report(&Refused));
    clock.advance(chrono::Duration::minutes(5));
    let down = outcome(&downstream.report(&MissingColumn));
    assert_eq!(
        down.decision,
        DecisionKind::CascadeSuppressed,
        "{}",
        down.reason
    );
    assert!(
        down.reason.contains("upstream flow `extract` failed"),
        "{}",
        down.reason
    );
    assert!(down.reason.contains(up.report_id.as_str()));
    assert_eq!(notifier.delivered(), 0);

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let stored = store.get_report(&down.report_id).await.unwrap().unwrap();
        assert_eq!(stored.cascade_source.unwrap().report_id, up.report_id);
        let digest = store.pending_digest(None).await.unwrap();
        assert_eq!(digest.len(), 1);
        assert_eq!(digest[0].reason, DecisionKind::CascadeSuppressed);
    });

    // Once the upstream flow succeeded, a downstream failure is its own incident.
    clock.advance(chrono::Duration::minutes(1));
    outcome(&upstream.notify_success("extract done"));
    clock.advance(chrono::Duration::minutes(1));
    let later = outcome(&downstream.report(&Refused));
    assert_eq!(later.decision, DecisionKind::Fired, "{}", later.reason);
}

#[test]
fn a_flaky_notifier_delivers_after_retries_and_a_dead_one_loses_nothing() {
    let store = Arc::new(MemoryStore::new());
    let flaky = RecordingNotifier::named("flaky").failing_with([
        Error::transient("flaky", "502 bad gateway"),
        Error::rate_limited("flaky", Some(Duration::from_millis(10))),
    ]);
    let dead = RecordingNotifier::named("dead").always_failing();
    let fd = FlowDoctor::builder("etl")
        .store(store.clone())
        .retry_policy(fast_retry())
        .notifier(Arc::new(flaky.clone()))
        .notifier(Arc::new(dead.clone()))
        .build()
        .unwrap();
    let o = outcome(&fd.report(&MissingColumn));
    assert_eq!(o.decision, DecisionKind::Fired);
    assert!(
        o.reason.starts_with("delivered to flaky; failed: dead ("),
        "{}",
        o.reason
    );
    assert_eq!(flaky.delivered(), 1);
    assert_eq!(flaky.attempts(), 3);
    assert_eq!(dead.attempts(), 3);

    let only_dead = FlowDoctor::builder("etl2")
        .store(store.clone())
        .retry_policy(fast_retry())
        .notifier(Arc::new(dead.clone()))
        .build()
        .unwrap();
    let lost = outcome(&only_dead.report(&Refused));
    assert_eq!(
        lost.decision,
        DecisionKind::DeliveryFailed,
        "{}",
        lost.reason
    );

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let pending = store.pending_digest(None).await.unwrap();
        let ids: Vec<_> = pending
            .iter()
            .map(|e| (&e.report_id, e.channel.as_deref(), e.reason))
            .collect();
        assert!(ids.contains(&(&o.report_id, Some("dead"), DecisionKind::DeliveryFailed)));
        assert!(ids.contains(&(&lost.report_id, Some("dead"), DecisionKind::DeliveryFailed)));
        let failed = store
            .actions(&ActionQuery {
                report_id: Some(lost.report_id.clone()),
                status: Some(ActionStatus::Failed),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].attempts, 3);
        assert!(
            failed[0].detail.contains("scripted outage"),
            "{}",
            failed[0].detail
        );
    });
}

#[test]
fn daily_limits_hold_back_into_the_digest_but_criticals_are_exempt() {
    let store = Arc::new(MemoryStore::new());
    let notifier = RecordingNotifier::named("alerts");
    let fd = FlowDoctor::builder("etl")
        .store(store.clone())
        .notifier_with_route(
            Arc::new(notifier.clone()),
            Route::new().daily_limit(Some(1)),
        )
        .build()
        .unwrap();
    assert_eq!(
        outcome(&fd.report(&MissingColumn)).decision,
        DecisionKind::Fired
    );
    let held = outcome(&fd.report(&Refused));
    assert_eq!(held.decision, DecisionKind::RateLimited, "{}", held.reason);
    assert_eq!(
        held.reason,
        "daily limit reached on every eligible channel; held back from alerts (daily limit 1 reached)"
    );
    let critical = outcome(&fd.report_message(Severity::Critical, "warehouse credentials revoked"));
    assert_eq!(critical.decision, DecisionKind::Fired);
    assert_eq!(notifier.delivered(), 2);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let pending = rt.block_on(store.pending_digest(None)).unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].report_id, held.report_id);
    assert_eq!(pending[0].reason, DecisionKind::RateLimited);
}

/// A daily limit counts notifications people received: a delivery that
/// failed every attempt gives its slot back, so the channel, once it
/// recovers, still gets the day's allowance.
#[test]
fn failed_deliveries_do_not_use_up_the_daily_limit() {
    let store = Arc::new(MemoryStore::new());
    let notifier = RecordingNotifier::named("alerts").failing_with([
        Error::permanent("alerts", "400 bad request"),
        Error::permanent("alerts", "400 bad request"),
    ]);
    let fd = FlowDoctor::builder("etl")
        .store(store.clone())
        .retry_policy(fast_retry())
        .notifier_with_route(
            Arc::new(notifier.clone()),
            Route::new().daily_limit(Some(1)),
        )
        .build()
        .unwrap();
    let failed = outcome(&fd.report(&MissingColumn));
    assert_eq!(
        failed.decision,
        DecisionKind::DeliveryFailed,
        "{}",
        failed.reason
    );
    let failed = outcome(&fd.report(&Refused));
    assert_eq!(
        failed.decision,
        DecisionKind::DeliveryFailed,
        "{}",
        failed.reason
    );
    // The channel works again: the day's one notification is still there.
    let fired = outcome(&fd.report_message(Severity::Error, "warehouse unreachable"));
    assert_eq!(fired.decision, DecisionKind::Fired, "{}", fired.reason);
    assert_eq!(notifier.delivered(), 1);
    // And it is used up now.
    let held = outcome(&fd.report_message(Severity::Error, "ledger locked"));
    assert_eq!(held.decision, DecisionKind::RateLimited, "{}", held.reason);
}

#[test]
fn two_channels_of_one_kind_keep_their_own_limits_and_names() {
    let store = Arc::new(MemoryStore::new());
    // Both notifiers call themselves `slack`; the routes name them apart.
    let ops = RecordingNotifier::named("slack");
    let data = RecordingNotifier::named("slack");
    let fd = FlowDoctor::builder("etl")
        .store(store.clone())
        .notifier_with_route(
            Arc::new(ops.clone()),
            Route::new().daily_limit(Some(1)).named("slack-ops"),
        )
        .notifier_with_route(
            Arc::new(data.clone()),
            Route::new().daily_limit(Some(2)).named("slack-data"),
        )
        .build()
        .unwrap();
    let first = outcome(&fd.report(&MissingColumn));
    assert_eq!(first.decision, DecisionKind::Fired);
    assert_eq!(first.reason, "delivered to slack-ops, slack-data");
    // slack-ops is at its limit of 1; slack-data has its own count (1 of 2).
    let second = outcome(&fd.report(&Refused));
    assert_eq!(second.decision, DecisionKind::Fired, "{}", second.reason);
    assert!(
        second.reason.contains("delivered to slack-data")
            && second.reason.contains("slack-ops (daily limit 1 reached)"),
        "{}",
        second.reason
    );
    assert_eq!(ops.delivered(), 1);
    assert_eq!(data.delivered(), 2);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let actions = rt.block_on(store.actions(&ActionQuery::default())).unwrap();
    let mut targets: Vec<(&str, ActionStatus)> = actions
        .iter()
        .map(|a| (a.target.as_str(), a.status))
        .collect();
    targets.sort_unstable_by_key(|(t, s)| (*t, format!("{s:?}")));
    assert_eq!(
        targets,
        [
            ("slack-data", ActionStatus::Succeeded),
            ("slack-data", ActionStatus::Succeeded),
            ("slack-ops", ActionStatus::Skipped),
            ("slack-ops", ActionStatus::Succeeded),
        ],
        "{actions:#?}"
    );
}

/// A notifier that panics: the engine records it and carries on.
struct Panicking;

#[async_trait::async_trait]
impl Notifier for Panicking {
    fn name(&self) -> &str {
        "panicking"
    }
    async fn notify(&self, _: &Notification) -> crate::Result<crate::notify::Delivery> {
        panic!("bug in a notifier")
    }
}

#[test]
fn a_panicking_notifier_never_takes_the_host_down() {
    let fd = FlowDoctor::builder("etl")
        .retry_policy(fast_retry())
        .notifier(Arc::new(Panicking))
        .build()
        .unwrap();
    let o = outcome(&fd.report(&Refused));
    assert_eq!(o.decision, DecisionKind::DeliveryFailed);
    assert!(o.reason.contains("the notifier panicked"), "{}", o.reason);
}

/// A notifier that talks to a loopback socket, as network notifiers do.
struct Loopback;

#[async_trait::async_trait]
impl Notifier for Loopback {
    fn name(&self) -> &str {
        "loopback"
    }
    async fn notify(&self, _: &Notification) -> crate::Result<crate::notify::Delivery> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| Error::transient("loopback", e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::transient("loopback", e))?;
        let _stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| Error::transient("loopback", e))?;
        Ok(crate::notify::Delivery::delivered())
    }
}

#[test]
fn notifiers_can_use_sockets_on_the_worker_runtime() {
    let fd = FlowDoctor::builder("etl")
        .retry_policy(fast_retry())
        .notifier(Arc::new(Loopback))
        .build()
        .unwrap();
    let o = outcome(&fd.report(&Refused));
    assert_eq!(o.decision, DecisionKind::Fired, "{}", o.reason);
}

#[test]
fn diagnoses_are_stored_and_failures_raise_one_critical_alert() {
    let store = Arc::new(MemoryStore::new());
    let notifier = RecordingNotifier::new();
    let mut diagnosis = Diagnosis::new(Category::Data, "the input lost a column", 0.92);
    diagnosis.remediation = "ask the upstream team".into();
    let outcomes = vec![
        Ok(crate::diagnose::DiagnoseOutcome::Diagnosed(diagnosis)),
        Err(Error::transient("llm", "503 from the provider")),
        Err(Error::transient("llm", "503 from the provider")),
        Err(Error::transient("llm", "503 from the provider")),
        Err(Error::transient("llm", "503 from the provider")),
    ];
    let mut cfg = Config::new("etl");
    cfg.diagnosis.alert_after_failures = 3;
    let fd = FlowDoctor::builder("etl")
        .config(&cfg)
        .store(store.clone())
        .diagnoser(Arc::new(ScriptedDiagnoser::outcomes(outcomes)))
        .notifier(Arc::new(notifier.clone()))
        .build()
        .unwrap();
    let first = outcome(&fd.report(&MissingColumn));
    assert_eq!(first.diagnosis.as_ref().unwrap().category, Category::Data);
    for i in 0..4 {
        let o = outcome(&fd.report_message(
            Severity::Error,
            format!("failure number {i} of a new kind {}", "x".repeat(i + 1)),
        ));
        assert!(o.diagnosis.is_none());
    }
    assert!(fd.flush(WAIT));
    let sent = notifier.take();
    let alerts: Vec<_> = sent
        .iter()
        .filter_map(|n| n.report())
        .filter(|r| r.severity == Severity::Critical)
        .collect();
    assert_eq!(alerts.len(), 1, "exactly one alert: {alerts:#?}");
    assert!(
        alerts[0]
            .message
            .starts_with("diagnosis unavailable for 3 consecutive reports")
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let stored = store
            .get_diagnosis(&first.report_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.root_cause, "the input lost a column");
        let reports = store
            .list_reports(&ReportQuery {
                flow: Some("etl".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        let failed: Vec<_> = reports
            .iter()
            .filter(|r| r.diagnosis_error.is_some())
            .collect();
        assert_eq!(failed.len(), 4);
        assert!(
            failed[0]
                .diagnosis_error
                .as_ref()
                .unwrap()
                .contains("503 from the provider")
        );
    });
}

#[test]
fn a_full_queue_drops_and_counts_without_blocking() {
    let fd = FlowDoctor::builder("etl")
        .queue_capacity(4)
        .build()
        .unwrap();
    let handles: Vec<_> = (0..1000)
        .map(|i| fd.report_message(Severity::Error, format!("failure {i}")))
        .collect();
    assert!(fd.flush(WAIT));
    let stats = fd.stats();
    assert_eq!(stats.captured, 1000);
    assert!(stats.dropped > 0, "{stats:?}");
    assert_eq!(stats.dropped + stats.processed, 1000, "{stats:?}");
    let dropped = handles
        .iter()
        .filter(|h| {
            h.try_outcome()
                .is_some_and(|o| o.decision == DecisionKind::Dropped)
        })
        .count() as u64;
    assert_eq!(dropped, stats.dropped);
}

#[test]
fn scopes_guards_and_secrets() {
    let notifier = RecordingNotifier::new();
    let fd = FlowDoctor::builder("etl")
        .notifier(Arc::new(notifier.clone()))
        .build()
        .unwrap();
    let result: std::result::Result<(), MissingColumn> = crate::scope()
        .stage("load")
        .run_id("run-7")
        .set("table", "orders")
        .run(|| fd.guard(|| Err(MissingColumn)));
    assert!(result.is_err(), "guard hands the error back");
    let token = "ghp_abcdefghijklmnopqrstuvwxyz0123456789AB";
    let _ = fd.guard(|| -> std::result::Result<(), std::io::Error> {
        Err(std::io::Error::other(format!(
            "push failed with token {token}"
        )))
    });
    assert!(fd.flush(WAIT));
    let sent = notifier.take();
    assert_eq!(sent.len(), 2);
    let first = sent[0].report().unwrap();
    assert_eq!(first.stage.as_deref(), Some("load"));
    assert_eq!(first.run_id.as_deref(), Some("run-7"));
    assert_eq!(first.context["table"], "orders");
    let second = sent[1].report().unwrap();
    let json = serde_json::to_string(second).unwrap();
    assert!(!json.contains(token), "secret leaked: {json}");
    assert!(second.message.contains("[REDACTED"), "{}", second.message);
}

#[test]
fn a_guarded_panic_is_reported_and_resumed() {
    let notifier = RecordingNotifier::new();
    let fd = FlowDoctor::builder("etl")
        .notifier(Arc::new(notifier.clone()))
        .build()
        .unwrap();
    let caught = std::panic::catch_unwind(AssertUnwindSafe(|| {
        fd.guard(|| -> std::result::Result<(), MissingColumn> { panic!("index 7 out of range") })
    }));
    assert!(caught.is_err(), "the panic continues to unwind");
    assert!(fd.flush(WAIT));
    let sent = notifier.take();
    let report = sent[0].report().unwrap();
    assert_eq!(report.kind, ReportKind::Panic);
    assert_eq!(report.severity, Severity::Critical);
    assert_eq!(report.message, "index 7 out of range");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guard_async_reports_errors_and_the_async_outcome_arrives() {
    let notifier = RecordingNotifier::new();
    let fd = FlowDoctor::builder("etl")
        .notifier(Arc::new(notifier.clone()))
        .build()
        .unwrap();
    let r = fd
        .guard_async(async {
            tokio::task::yield_now().await;
            Err::<(), _>(Refused)
        })
        .await;
    assert!(r.is_err());
    let h = fd.report_message(Severity::Error, "async path");
    let o = h.outcome().await;
    assert_eq!(o.decision, DecisionKind::Fired);
    let monitored = fd.monitor(|x: u32| if x > 1 { Err(Refused) } else { Ok(x) });
    assert_eq!(monitored(1).unwrap(), 1);
    assert!(monitored(2).is_err());
    let fd2 = fd.clone();
    tokio::task::spawn_blocking(move || fd2.flush(WAIT))
        .await
        .unwrap();
    // The monitored failure repeats the guarded one: counted, not re-sent.
    assert_eq!(notifier.delivered(), 2);
    assert_eq!(fd.stats().decisions[&DecisionKind::Deduped], 1);
}

#[test]
fn success_pings_reach_only_opted_in_channels() {
    let store = Arc::new(MemoryStore::new());
    let pings = RecordingNotifier::named("pings");
    let alerts = RecordingNotifier::named("alerts");
    let mut cfg = Config::new("etl");
    cfg.capture.success_pings = true;
    let fd = FlowDoctor::builder("etl")
        .config(&cfg)
        .store(store.clone())
        .notifier_with_route(Arc::new(pings.clone()), Route::new().success(true))
        .notifier(Arc::new(alerts.clone()))
        .build()
        .unwrap();
    let o = outcome(&fd.notify_success("loaded 1200 rows"));
    assert_eq!(o.decision, DecisionKind::Fired);
    assert_eq!(pings.delivered(), 1);
    assert_eq!(alerts.delivered(), 0);
    let off = FlowDoctor::builder("etl")
        .store(store)
        .notifier_with_route(Arc::new(pings.clone()), Route::new().success(true))
        .build()
        .unwrap();
    let o = outcome(&off.notify_success("again"));
    assert_eq!(o.decision, DecisionKind::NoNotifiers);
    assert!(o.reason.contains("success pings are off"));
}

/// Records the remediation it is asked for and returns a dry-run action.
struct DryRunRemediator;

#[async_trait::async_trait]
impl Remediator for DryRunRemediator {
    fn name(&self) -> &str {
        "dry"
    }
    async fn remediate(
        &self,
        report: &Report,
        diagnosis: &Diagnosis,
        _ctx: &crate::remediate::RemediationContext,
    ) -> crate::Result<Vec<crate::model::Action>> {
        Ok(vec![crate::model::Action::new(
            report,
            ActionKind::Remediate,
            "restart-warehouse",
            ActionStatus::DryRun,
            format!("would restart for {}", diagnosis.category),
        )])
    }
}

#[test]
fn remediation_actions_are_stored_and_announced() {
    let store = Arc::new(MemoryStore::new());
    let notifier = RecordingNotifier::new();
    let fd = FlowDoctor::builder("etl")
        .store(store.clone())
        .diagnoser(Arc::new(ScriptedDiagnoser::answer(Diagnosis::new(
            Category::Infra,
            "warehouse down",
            0.95,
        ))))
        .remediator(Arc::new(DryRunRemediator))
        .notifier(Arc::new(notifier.clone()))
        .build()
        .unwrap();
    let o = outcome(&fd.report(&Refused));
    assert!(fd.flush(WAIT));
    let sent = notifier.take();
    assert_eq!(sent.len(), 2);
    let Notification::Remediation(notice) = &sent[1] else {
        panic!("expected a remediation notice, got {:?}", sent[1]);
    };
    assert_eq!(notice.action.detail, "would restart for INFRA");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let remediations = rt
        .block_on(store.actions(&ActionQuery {
            report_id: Some(o.report_id.clone()),
            kind: Some(ActionKind::Remediate),
            ..Default::default()
        }))
        .unwrap();
    assert_eq!(remediations.len(), 1);
    assert_eq!(remediations[0].status, ActionStatus::DryRun);
}

/// Issue 3, acceptance 4: an error storm of 1,000,000 tracing events from
/// two threads never blocks the threads (a full queue drops and counts)
/// and the counters add up exactly. Memory stays bounded: the queue is
/// bounded and the in-memory store evicts beyond its capacity.
#[cfg(feature = "tracing")]
#[test]
fn an_error_storm_drops_and_counts_exactly() {
    use tracing_subscriber::prelude::*;
    const PER_THREAD: u64 = 500_000;
    let fd = FlowDoctor::builder("storm")
        .store(Arc::new(MemoryStore::with_capacity(10_000)))
        .queue_capacity(4096)
        .build()
        .unwrap();
    let threads: Vec<_> = (0..2)
        .map(|t| {
            let fd = fd.clone();
            std::thread::spawn(move || {
                let subscriber =
                    tracing_subscriber::registry().with(crate::tracing_layer::layer(&fd));
                tracing::subscriber::with_default(subscriber, || {
                    for i in 0..PER_THREAD {
                        tracing::error!(target: "etl::storm", thread = t, i, "warehouse unreachable");
                    }
                });
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!(
        fd.flush(Duration::from_secs(120)),
        "the worker drains the queue"
    );
    let stats = fd.stats();
    assert_eq!(stats.captured, 2 * PER_THREAD);
    assert_eq!(stats.dropped + stats.processed, 2 * PER_THREAD, "{stats:?}");
    assert!(stats.processed > 0);
    let decided: u64 = stats.decisions.values().sum();
    assert_eq!(
        decided, stats.processed,
        "one decision per processed report: {stats:?}"
    );
}

/// An engine on the memory store and a manual clock, with
/// `store.retention_days` set.
fn retention_engine(days: u32) -> (FlowDoctor, Arc<MemoryStore>, Arc<ManualClock>) {
    let store = Arc::new(MemoryStore::new());
    let clock = clock();
    let mut cfg = crate::Config::new("etl");
    cfg.store.retention_days = days;
    let fd = FlowDoctor::builder("etl")
        .config(&cfg)
        .store(store.clone())
        .clock(clock.clone())
        .build()
        .unwrap();
    (fd, store, clock)
}

/// Stores an incident that occurred `at`, straight through the store.
fn seed_incident(
    rt: &tokio::runtime::Runtime,
    store: &MemoryStore,
    at: chrono::DateTime<chrono::Utc>,
    signature: &str,
) -> ReportId {
    let mut r = Report::new(
        "etl",
        Severity::Error,
        crate::model::ReportKind::Error,
        "old",
    );
    r.signature = signature.into();
    r.occurred_at = at;
    rt.block_on(store.claim(&r, Duration::ZERO)).unwrap();
    r.id
}

#[test]
fn the_worker_prunes_by_retention_days_once_per_utc_day() {
    let (fd, store, clock) = retention_engine(30);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let seed_old =
        |sig: &str| seed_incident(&rt, &store, clock.now() - chrono::Duration::days(40), sig);
    let stored = |id: &ReportId| rt.block_on(store.get_report(id)).unwrap().is_some();

    let first = seed_old("old-1");
    outcome(&fd.report(&MissingColumn));
    assert!(fd.flush(WAIT));
    assert!(!stored(&first), "the first report of the day prunes");
    let day = clock.now().timestamp().div_euclid(86_400);
    let recorded = rt.block_on(store.counter_add(pipeline::PRUNE_DAY_COUNTER, 0));
    assert_eq!(recorded.unwrap(), day);

    let second = seed_old("old-2");
    outcome(&fd.report(&Refused));
    assert!(fd.flush(WAIT));
    assert!(stored(&second), "at most once per day");

    clock.advance(chrono::Duration::days(1));
    outcome(&fd.report(&Refused));
    assert!(fd.flush(WAIT));
    assert!(!stored(&second), "the next day prunes again");
}

#[test]
fn retention_zero_never_prunes() {
    let (fd, store, clock) = retention_engine(0);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let old = seed_incident(&rt, &store, clock.now() - chrono::Duration::days(4000), "");
    outcome(&fd.report(&MissingColumn));
    assert!(fd.flush(WAIT));
    assert!(rt.block_on(store.get_report(&old)).unwrap().is_some());
    let recorded = rt.block_on(store.counter_add(pipeline::PRUNE_DAY_COUNTER, 0));
    assert_eq!(recorded.unwrap(), 0, "no prune was attempted");
}

/// A notifier that holds every delivery until released, to keep the
/// worker's in-flight slots busy while a test fills the queues.
#[derive(Clone)]
struct GateNotifier {
    entered: Arc<std::sync::atomic::AtomicUsize>,
    gate: Arc<tokio::sync::Semaphore>,
}

impl GateNotifier {
    fn closed() -> Self {
        Self {
            entered: Arc::default(),
            gate: Arc::new(tokio::sync::Semaphore::new(0)),
        }
    }

    fn open(&self) {
        self.gate
            .add_permits(tokio::sync::Semaphore::MAX_PERMITS / 2);
    }

    /// Waits until `n` deliveries are held at the gate.
    fn wait_for(&self, n: usize) {
        let deadline = Instant::now() + WAIT;
        while self.entered.load(Ordering::SeqCst) < n {
            assert!(Instant::now() < deadline, "only {self:?} reached the gate");
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

impl std::fmt::Debug for GateNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} deliveries", self.entered.load(Ordering::SeqCst))
    }
}

#[async_trait::async_trait]
impl crate::notify::Notifier for GateNotifier {
    fn name(&self) -> &str {
        "gate"
    }

    async fn notify(&self, _: &Notification) -> crate::error::Result<crate::notify::Delivery> {
        self.entered.fetch_add(1, Ordering::SeqCst);
        let _held = self.gate.acquire().await;
        Ok(crate::notify::Delivery::delivered())
    }
}

/// An engine whose worker is stuck on `MAX_IN_FLIGHT` held deliveries, so
/// that whatever is captured next waits in the queues.
fn stuck_engine(capacity: usize) -> (FlowDoctor, GateNotifier) {
    let gate = GateNotifier::closed();
    let route = Route {
        daily_limit: None,
        ..Route::default()
    };
    let fd = FlowDoctor::builder("etl")
        .store(Arc::new(MemoryStore::new()))
        .queue_capacity(capacity)
        .notifier_with_route(Arc::new(gate.clone()), route)
        .build()
        .unwrap();
    // Distinct words, so that each is a new incident and is delivered.
    let words = "ghijklmnopqrstuvwxyz".as_bytes();
    for i in 0..MAX_IN_FLIGHT {
        let word: String = [words[i % 20] as char, words[(i / 20) % 20] as char, 'x']
            .iter()
            .collect();
        let _ = fd.report_message(Severity::Error, format!("stuck on {word}"));
    }
    gate.wait_for(MAX_IN_FLIGHT);
    (fd, gate)
}

fn load_failed(i: u64) -> CapturedEvent {
    let mut ev = CapturedEvent::new(Severity::Error, "ERROR", "etl::load".into());
    ev.push_message_str("load failed");
    ev.push_field_str("table", "orders");
    ev.push_field_u64("row", i);
    ev
}

#[test]
fn events_beyond_the_inline_slots_go_boxed_and_none_is_lost() {
    let (fd, gate) = stuck_engine(10_000);
    for i in 0..3_000 {
        fd.report_event(load_failed(i));
    }
    assert_eq!(fd.inner.events.len(), EVENT_SLOTS, "inline slots full");
    assert_eq!(fd.inner.queue.len(), 3_000 - EVENT_SLOTS, "the rest boxed");
    assert_eq!(fd.stats().dropped, 0);
    gate.open();
    assert!(fd.flush(Duration::from_secs(60)));
    let stats = fd.stats();
    assert_eq!(stats.processed, 3_000 + MAX_IN_FLIGHT as u64, "{stats:?}");
    assert_eq!(stats.dropped, 0);
    let decided: u64 = stats.decisions.values().sum();
    assert_eq!(decided, stats.processed);
}

#[test]
fn with_both_queues_full_events_drop_and_are_counted_exactly() {
    let (fd, gate) = stuck_engine(100);
    for i in 0..500 {
        fd.report_event(load_failed(i));
    }
    // 100 inline slots (the capacity is below EVENT_SLOTS) and 100 boxed.
    assert_eq!(fd.inner.events.len(), 100);
    assert_eq!(fd.inner.queue.len(), 100);
    assert_eq!(fd.stats().dropped, 300);
    gate.open();
    assert!(fd.flush(Duration::from_secs(60)));
    let stats = fd.stats();
    assert_eq!(stats.captured, 500 + MAX_IN_FLIGHT as u64);
    assert_eq!(stats.processed, 200 + MAX_IN_FLIGHT as u64, "{stats:?}");
    assert_eq!(stats.dropped, 300);
}

#[test]
fn an_inline_event_keeps_its_fields_time_and_location_in_the_report() {
    let store = Arc::new(MemoryStore::new());
    let fd = FlowDoctor::builder("etl")
        .store(store.clone())
        .build()
        .unwrap();
    let mut ev = load_failed(7);
    ev.push_field_str("stage", "load");
    ev.set_location(Some("src/load.rs".into()), Some(42));
    // Recent, or the daily retention prune would remove it at once.
    let at = chrono::Utc::now() - chrono::Duration::minutes(5);
    ev.set_at(at);
    fd.report_event(ev);
    assert!(fd.flush(WAIT));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let reports = rt
        .block_on(store.list_reports(&ReportQuery::default()))
        .unwrap();
    assert_eq!(reports.len(), 1);
    let r = &reports[0];
    assert_eq!(r.message, "load failed");
    assert_eq!(r.stage.as_deref(), Some("load"));
    assert_eq!(r.context["table"], "orders");
    assert_eq!(r.context["row"], "7");
    assert_eq!(r.context["location"], "src/load.rs:42");
    assert_eq!(r.context["logger"], "etl::load");
    assert_eq!(r.occurred_at, at);
    assert_eq!(r.kind, ReportKind::LogEvent);
}

#[test]
fn dropping_the_last_handle_or_a_flush_guard_drains_the_queue() {
    let store = Arc::new(MemoryStore::new());
    let fd = FlowDoctor::builder("etl")
        .store(store.clone())
        .drop_flush_timeout(WAIT)
        .build()
        .unwrap();
    // One failure, 31 times: each occurrence is one more on the stored
    // report's dedup count, so the count shows that none was lost.
    {
        let _guard = fd.flush_guard(WAIT);
        for i in 0..10 {
            fd.report_message(Severity::Error, format!("batch {i} failed"));
        }
    }
    let stats = fd.stats();
    assert_eq!(
        (stats.pending, stats.processed),
        (0, 10),
        "the guard waited"
    );

    let clone = fd.clone();
    for i in 10..30 {
        clone.report_message(Severity::Error, format!("batch {i} failed"));
    }
    drop(fd);
    // A clone keeps the engine alive; the last one drains on drop, without
    // any flush call.
    clone.report_message(Severity::Error, "batch 30 failed");
    drop(clone);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let reports = rt
        .block_on(store.list_reports(&ReportQuery::default()))
        .unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].dedup_count, 31);
}

#[test]
fn nested_scopes_merge_onto_reports_and_explicit_context_wins() {
    let notifier = RecordingNotifier::new();
    let fd = FlowDoctor::builder("etl")
        .notifier(Arc::new(notifier.clone()))
        .build()
        .unwrap();
    crate::scope()
        .flow("nightly")
        .run_id("run-9")
        .set("table", "orders")
        .set("region", "eu")
        .run(|| {
            crate::scope()
                .stage("load")
                .set("table", "refunds")
                .run(|| {
                    fd.report_with(&MissingColumn, [("region", "us"), ("attempt", "2")]);
                });
            fd.report(&Refused);
        });
    fd.report_message(Severity::Error, "outside every scope");
    assert!(fd.flush(WAIT));
    let sent = notifier.take();
    let by = |message: &str| {
        sent.iter()
            .filter_map(|n| n.report())
            .find(|r| r.message.contains(message))
            .unwrap_or_else(|| panic!("no report {message:?}"))
            .clone()
    };
    let inner = by("no column");
    assert_eq!(
        inner.flow, "nightly",
        "the scope's flow overrides the engine's"
    );
    assert_eq!(inner.stage.as_deref(), Some("load"));
    assert_eq!(
        inner.run_id.as_deref(),
        Some("run-9"),
        "inherited from the outer scope"
    );
    assert_eq!(inner.context["table"], "refunds", "the inner scope wins");
    assert_eq!(inner.context["region"], "us", "the call's own context wins");
    assert_eq!(inner.context["attempt"], "2");
    let outer = by("connection refused");
    assert_eq!(
        (outer.flow.as_str(), outer.stage.as_deref()),
        ("nightly", None)
    );
    assert_eq!(outer.context["table"], "orders");
    let outside = by("outside every scope");
    assert_eq!(outside.flow, "etl");
    assert_eq!(outside.run_id, None);
    assert!(!outside.context.contains_key("table"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scope_follows_an_async_task_across_awaits_and_threads() {
    let notifier = RecordingNotifier::new();
    let fd = FlowDoctor::builder("etl")
        .notifier(Arc::new(notifier.clone()))
        .build()
        .unwrap();
    let task = {
        let fd = fd.clone();
        crate::scope()
            .stage("extract")
            .run_id("run-3")
            .in_scope(async move {
                tokio::task::yield_now().await;
                tokio::time::sleep(Duration::from_millis(5)).await;
                fd.guard_async(async { Err::<(), _>(MissingColumn) }).await
            })
    };
    assert!(tokio::spawn(task).await.unwrap().is_err());
    fd.report_message(Severity::Error, "after the task");
    let fd2 = fd.clone();
    assert!(
        tokio::task::spawn_blocking(move || fd2.flush(WAIT))
            .await
            .unwrap()
    );
    let sent = notifier.take();
    let reports: Vec<_> = sent.iter().filter_map(|n| n.report()).collect();
    assert_eq!(reports.len(), 2);
    let failed = reports
        .iter()
        .find(|r| r.message.contains("no column"))
        .unwrap();
    assert_eq!(failed.stage.as_deref(), Some("extract"));
    assert_eq!(failed.run_id.as_deref(), Some("run-3"));
    let after = reports
        .iter()
        .find(|r| r.message == "after the task")
        .unwrap();
    assert_eq!(after.stage, None, "the scope ended with the task");
}

#[test]
fn captured_log_lines_are_bounded_and_attached_to_the_next_report_only() {
    let store = Arc::new(MemoryStore::new());
    let mut cfg = Config::new("etl");
    cfg.capture.ring_size = 3;
    let fd = FlowDoctor::builder("etl")
        .config(&cfg)
        .store(store.clone())
        .build()
        .unwrap();
    let line = |i: usize| crate::model::LogLine {
        at: chrono::Utc::now(),
        level: "INFO".into(),
        target: "etl::extract".into(),
        message: format!("step {i}"),
    };
    for i in 0..5 {
        fd.capture_log(line(i));
    }
    outcome(&fd.report_message(Severity::Error, "load failed"));
    fd.capture_log(line(5));
    outcome(&fd.report_message(Severity::Error, "connection refused"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let reports = rt
        .block_on(store.list_reports(&ReportQuery::default()))
        .unwrap();
    let logs = |message: &str| -> Vec<String> {
        let r = reports.iter().find(|r| r.message == message).unwrap();
        r.logs.iter().map(|l| l.message.clone()).collect()
    };
    assert_eq!(
        logs("load failed"),
        ["step 2", "step 3", "step 4"],
        "the oldest evicted"
    );
    assert_eq!(
        logs("connection refused"),
        ["step 3", "step 4", "step 5"],
        "lines before it, bounded"
    );
}

/// A notifier that files a ticket and answers with its URL, as the GitHub
/// notifier does with the issue it opened.
struct Tracker;

#[async_trait::async_trait]
impl Notifier for Tracker {
    fn name(&self) -> &str {
        "github"
    }
    async fn notify(&self, _: &Notification) -> crate::Result<crate::notify::Delivery> {
        Ok(crate::notify::Delivery::delivered()
            .with_url("https://github.example/acme/etl/issues/42")
            .with_external_id("42"))
    }
}

#[test]
fn later_channels_get_the_link_to_the_issue_an_earlier_channel_filed() {
    let store = Arc::new(MemoryStore::new());
    let slack = RecordingNotifier::named("slack");
    let fd = FlowDoctor::builder("etl")
        .store(store.clone())
        .notifier(Arc::new(Tracker))
        .notifier(Arc::new(slack.clone()))
        .build()
        .unwrap();
    let o = outcome(&fd.report(&MissingColumn));
    assert_eq!(o.decision, DecisionKind::Fired, "{}", o.reason);
    let sent = slack.take();
    let Some(Notification::Incident(incident)) = sent.first() else {
        panic!("expected an incident, got {sent:?}");
    };
    assert_eq!(
        incident.links,
        [crate::notify::Link {
            channel: "github".into(),
            label: "GitHub issue #42".into(),
            url: "https://github.example/acme/etl/issues/42".into(),
        }]
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let actions = rt.block_on(store.actions(&ActionQuery::default())).unwrap();
    let filed = actions.iter().find(|a| a.target == "github").unwrap();
    assert_eq!(
        filed.url.as_deref(),
        Some("https://github.example/acme/etl/issues/42")
    );

    // Without an issue filed first there is no link.
    let alone = RecordingNotifier::named("slack");
    let fd = FlowDoctor::builder("etl")
        .notifier(Arc::new(alone.clone()))
        .build()
        .unwrap();
    outcome(&fd.report(&MissingColumn));
    let sent = alone.take();
    let Some(Notification::Incident(incident)) = sent.first() else {
        panic!("expected an incident, got {sent:?}");
    };
    assert!(incident.links.is_empty(), "{:?}", incident.links);
}

/// A JSON log line hides a secret behind escapes (`\u003d`, `\/`) that the
/// scrubber sees as harmless; the parser decodes them into the message,
/// which must be scrubbed again before it is stored or sent.
#[test]
fn secrets_revealed_by_decoding_a_json_log_line_are_scrubbed() {
    let (fd, store) = crate::testing::memory_engine();
    fd.report_text(
        Severity::Error,
        r#"{"level":"error","msg":"login failed password\u003dhunter2secret","svc":"auth"}"#,
    );
    fd.report_text(
        Severity::Error,
        r#"{"level":"error","message":"cannot reach ghp\u005fabcdefghijklmnopqrstuvwxyz0123456789AB repo"}"#,
    );
    let reports = crate::testing::stored_reports(&fd, &store);
    assert_eq!(reports.len(), 2);
    for r in &reports {
        // The whole report: the parsed fields and the raw traceback.
        let all = serde_json::to_string(r).unwrap();
        assert!(!all.contains("hunter2secret"), "{all}");
        assert!(
            !all.contains("abcdefghijklmnopqrstuvwxyz0123456789AB"),
            "{all}"
        );
        assert!(r.message.contains("REDACTED"), "{}", r.message);
    }
    assert!(
        reports[0].message.starts_with("login failed"),
        "{}",
        reports[0].message
    );
}

/// A third-party remediator that puts raw command output in its action's
/// data.
struct LeakyRemediator;

#[async_trait::async_trait]
impl Remediator for LeakyRemediator {
    fn name(&self) -> &str {
        "leaky"
    }
    async fn remediate(
        &self,
        report: &Report,
        _diagnosis: &Diagnosis,
        _ctx: &crate::remediate::RemediationContext,
    ) -> crate::Result<Vec<crate::model::Action>> {
        let mut action = crate::model::Action::new(
            report,
            ActionKind::Remediate,
            "rotate-session",
            ActionStatus::Succeeded,
            "rotated",
        );
        action.data = serde_json::json!({
            "commands": [{
                "command": "vault login -method=token",
                "stdout_tail": "Success! token=hvs_ZZZ ACME-0123456789ABCDEF issued",
                "stderr_tail": "warning: GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789AB is set",
            }],
            "env": {"DB_PASSWORD": "hunter2secret", "REGION": "eu-west-1"},
        });
        Ok(vec![action])
    }
}

/// Whatever a remediator writes in an action's data is scrubbed with the
/// configured rules (built-in and `scrub:` patterns and keys) before it is
/// stored or announced.
#[test]
fn remediation_action_data_is_scrubbed_with_the_configured_rules() {
    let store = Arc::new(MemoryStore::new());
    let notifier = RecordingNotifier::new();
    let cfg = crate::Config::from_str_as(
        "flow_name: etl\nscrub:\n  patterns:\n    - name: acme_key\n      regex: 'ACME-[0-9A-F]{16}'\n",
        crate::config::Format::Yaml,
    )
    .unwrap();
    let fd = FlowDoctor::builder("etl")
        .config(&cfg)
        .store(store.clone())
        .diagnoser(Arc::new(ScriptedDiagnoser::answer(Diagnosis::new(
            Category::Infra,
            "session expired",
            0.95,
        ))))
        .remediator(Arc::new(LeakyRemediator))
        .notifier(Arc::new(notifier.clone()))
        .build()
        .unwrap();
    let o = outcome(&fd.report(&Refused));
    assert!(fd.flush(WAIT));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let stored = rt
        .block_on(store.actions(&ActionQuery {
            report_id: Some(o.report_id.clone()),
            kind: Some(ActionKind::Remediate),
            ..Default::default()
        }))
        .unwrap();
    assert_eq!(stored.len(), 1);
    let announced = notifier
        .take()
        .into_iter()
        .find_map(|n| match n {
            Notification::Remediation(notice) => Some(notice.action),
            _ => None,
        })
        .expect("a remediation notice");
    for data in [&stored[0].data, &announced.data] {
        let text = data.to_string();
        for secret in [
            "ACME-0123456789ABCDEF",
            "ghp_abcdefghijklmnopqrstuvwxyz0123456789AB",
            "hunter2secret",
        ] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert_eq!(data["env"]["REGION"], "eu-west-1", "{text}");
        assert_eq!(
            data["commands"][0]["command"], "vault login -method=token",
            "{text}"
        );
        assert!(text.contains("[REDACTED:acme_key]"), "{text}");
    }
}

/// A remote error can echo what it was sent; the recorded decision's
/// reason (stored, printed by `run`) is scrubbed like everything else.
#[test]
fn a_delivery_failure_reason_quoting_a_secret_is_scrubbed() {
    let store = Arc::new(MemoryStore::new());
    let echo = RecordingNotifier::named("echo").failing_with([Error::permanent(
        "echo",
        "400 bad request: invalid header Authorization: Bearer ghp_abcdefghijklmnopqrstuvwxyz0123456789AB",
    )]);
    let fd = FlowDoctor::builder("etl")
        .store(store.clone())
        .retry_policy(fast_retry())
        .notifier(Arc::new(echo))
        .build()
        .unwrap();
    let o = outcome(&fd.report(&MissingColumn));
    assert!(fd.flush(WAIT));
    assert_eq!(o.decision, DecisionKind::DeliveryFailed, "{o:?}");
    assert!(!o.reason.contains("ghp_abcdef"), "{}", o.reason);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let decisions = rt
        .block_on(store.decisions(&DecisionQuery::default()))
        .unwrap();
    assert_eq!(decisions.len(), 1);
    assert!(
        decisions[0].reason.contains("400 bad request"),
        "{}",
        decisions[0].reason
    );
    assert!(
        !decisions[0].reason.contains("ghp_abcdef"),
        "{}",
        decisions[0].reason
    );
}

/// A diagnosis comes back from an LLM: every text in it is scrubbed before
/// it is stored or sent, the file list included.
#[test]
fn every_text_of_a_diagnosis_is_scrubbed() {
    let store = Arc::new(MemoryStore::new());
    let notifier = RecordingNotifier::new();
    const TOKEN: &str = "ghp_abcdefghijklmnopqrstuvwxyz0123456789AB";
    let mut d = Diagnosis::new(Category::Config, format!("the token {TOKEN} expired"), 0.9);
    d.remediation = format!("rotate {TOKEN}");
    d.reasoning = Some(format!("401 for {TOKEN}"));
    d.alternative_hypotheses = vec![format!("{TOKEN} revoked")];
    d.affected_files = vec![
        "etl/load.py".into(),
        format!("https://x-access-token:{TOKEN}@github.com/acme/etl.git"),
    ];
    let fd = FlowDoctor::builder("etl")
        .store(store.clone())
        .diagnoser(Arc::new(ScriptedDiagnoser::answer(d)))
        .notifier(Arc::new(notifier.clone()))
        .build()
        .unwrap();
    let o = outcome(&fd.report(&MissingColumn));
    assert!(fd.flush(WAIT));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let stored = rt
        .block_on(store.get_diagnosis(&o.report_id))
        .unwrap()
        .unwrap();
    let sent = serde_json::to_string(&notifier.take()).unwrap();
    let kept = serde_json::to_string(&stored).unwrap();
    for text in [&kept, &sent] {
        assert!(!text.contains(TOKEN), "{text}");
    }
    assert_eq!(stored.affected_files[0], "etl/load.py");
    assert!(
        stored.affected_files[1].contains("REDACTED"),
        "{:?}",
        stored.affected_files
    );
}
