//! Acceptance 3: attempt limits and lockout windows hold, counted through a
//! real store (`MemoryStore`) with a `ManualClock`.

use chrono::{Duration, TimeZone, Utc};
use flow_doctor_core::config::RemediationConfig;
use flow_doctor_core::{Action, ActionStatus, Category, Clock, Remediator};
use flow_doctor_remediation::{
    ActionType, AttemptCounts, Gate, Playbook, PlaybookAction, PlaybookRemediator, Playbooks,
    attempt_keys, count_attempts,
};
use serde_json::json;

use crate::support::{clock, context, diagnosis, report};

fn remediator(cfg: &RemediationConfig, command: &str) -> PlaybookRemediator {
    let playbook = Playbook::builder("restart")
        .category(Category::Infra)
        .action(PlaybookAction::local(ActionType::RestartService, [command]).safe_to_auto_run(true))
        .build()
        .unwrap();
    let gate = Gate::new(cfg, None).unwrap();
    PlaybookRemediator::new(Playbooks::new().with(playbook).unwrap(), gate)
        .unwrap()
        .dry_run(false)
}

/// Runs one remediation and stores the result, as the engine does.
async fn once(
    rem: &PlaybookRemediator,
    ctx: &flow_doctor_core::RemediationContext,
    flow: &str,
) -> Action {
    let mut actions = rem
        .remediate(
            &report(flow, "Connection refused"),
            &diagnosis(Category::Infra, 0.95),
            ctx,
        )
        .await
        .unwrap();
    assert_eq!(actions.len(), 1);
    let a = actions.remove(0);
    ctx.store.record_action(&a).await.unwrap();
    a
}

#[tokio::test]
async fn per_failure_and_per_day_limits_hold_and_reset_the_next_utc_day() {
    let mut cfg = RemediationConfig::default();
    cfg.max_attempts_per_failure = 2;
    cfg.max_attempts_per_day = 3;
    let rem = remediator(&cfg, "true");
    let clock = clock();
    let (_store, ctx) = context(&clock);

    assert_eq!(
        once(&rem, &ctx, "etl").await.status,
        ActionStatus::Succeeded
    );
    clock.advance(Duration::minutes(10));
    assert_eq!(
        once(&rem, &ctx, "etl").await.status,
        ActionStatus::Succeeded
    );
    clock.advance(Duration::minutes(10));
    let third = once(&rem, &ctx, "etl").await;
    assert_eq!(third.status, ActionStatus::Skipped);
    assert_eq!(
        third.detail,
        "escalated: per-failure limit reached: 2 of 2 attempts today for this failure"
    );

    // Another failure still has its own allowance, until the daily limit.
    assert_eq!(
        once(&rem, &ctx, "billing").await.status,
        ActionStatus::Succeeded
    );
    let over = once(&rem, &ctx, "billing").await;
    assert_eq!(over.status, ActionStatus::Skipped);
    assert_eq!(
        over.detail,
        "escalated: daily limit reached: 3 of 3 remediations today"
    );
    assert_eq!(
        count_attempts(&*ctx.store, &report("etl", "x"), clock.now())
            .await
            .unwrap(),
        AttemptCounts {
            today: 3,
            today_for_failure: 2
        },
        "escalations (skipped) do not count as attempts"
    );

    // Midnight UTC starts a new day.
    clock.set(Utc.with_ymd_and_hms(2026, 1, 15, 0, 0, 0).unwrap());
    assert_eq!(
        once(&rem, &ctx, "etl").await.status,
        ActionStatus::Succeeded
    );
}

#[tokio::test]
async fn failed_attempts_count_toward_the_limits_and_dry_runs_do_not() {
    let mut cfg = RemediationConfig::default();
    cfg.max_attempts_per_failure = 1;
    let failing = remediator(&cfg, "exit 1");
    let clock = clock();
    let (_store, ctx) = context(&clock);

    let dry = remediator(&cfg, "exit 1").dry_run(true);
    for _ in 0..3 {
        assert_eq!(once(&dry, &ctx, "etl").await.status, ActionStatus::DryRun);
    }
    assert_eq!(
        once(&failing, &ctx, "etl").await.status,
        ActionStatus::Failed
    );
    let next = once(&failing, &ctx, "etl").await;
    assert_eq!(next.status, ActionStatus::Skipped);
    assert!(
        next.detail.contains("per-failure limit reached: 1 of 1"),
        "{}",
        next.detail
    );
}

#[tokio::test]
async fn a_pending_attempt_still_running_counts_for_other_processes() {
    let mut cfg = RemediationConfig::default();
    cfg.max_attempts_per_failure = 1;
    let rem = remediator(&cfg, "true");
    let clock = clock();
    let (_store, ctx) = context(&clock);
    // Another process recorded its attempt as pending and has not finished.
    let mut theirs = Action::new(
        &report("etl", "Connection refused"),
        flow_doctor_core::ActionKind::Remediate,
        "restart",
        ActionStatus::Pending,
        "running restart_service",
    );
    theirs.started_at = clock.now();
    ctx.store.record_action(&theirs).await.unwrap();
    let ours = once(&rem, &ctx, "etl").await;
    assert_eq!(ours.status, ActionStatus::Skipped);
    assert!(
        ours.detail.contains("per-failure limit reached"),
        "{}",
        ours.detail
    );
}

#[tokio::test]
async fn an_attempt_reserved_at_the_same_moment_by_another_process_holds_the_limit() {
    let mut cfg = RemediationConfig::default();
    cfg.max_attempts_per_failure = 1;
    let rem = remediator(&cfg, "true");
    let clock = clock();
    let (_store, ctx) = context(&clock);
    // Another process counted zero attempts too and reserved its attempt,
    // but has not recorded its action yet: the counts still say zero.
    let r = report("etl", "Connection refused");
    let (per_failure, _) = attempt_keys(&r);
    let window = flow_doctor_core::clock::day_start(clock.now());
    assert!(
        ctx.store
            .try_consume(&per_failure, window, 1)
            .await
            .unwrap()
    );
    assert_eq!(
        count_attempts(&*ctx.store, &r, clock.now()).await.unwrap(),
        AttemptCounts::default()
    );
    let ours = once(&rem, &ctx, "etl").await;
    assert_eq!(ours.status, ActionStatus::Skipped, "{}", ours.detail);
    assert!(
        ours.detail
            .contains("`remediation.max_attempts_per_failure` (1) was reached by an attempt that started at the same time"),
        "{}",
        ours.detail
    );
    // Another failure of the same day is not held back by it.
    let other = once(&rem, &ctx, "billing").await;
    assert_eq!(other.status, ActionStatus::Succeeded, "{}", other.detail);
}

#[tokio::test]
async fn a_lockout_window_holds_in_its_time_zone() {
    let mut cfg = RemediationConfig::default();
    cfg.lockouts = vec![
        serde_json::from_value(json!({
            "name": "market hours",
            "days": ["mon-fri"],
            "start": "09:30",
            "end": "16:00",
            "timezone": "America/New_York"
        }))
        .unwrap(),
    ];
    let rem = remediator(&cfg, "true");
    let clock = clock();
    let (_store, ctx) = context(&clock);

    // Wednesday 10:00 in New York (15:00 UTC, EST).
    clock.set(Utc.with_ymd_and_hms(2026, 1, 14, 15, 0, 0).unwrap());
    let locked = once(&rem, &ctx, "etl").await;
    assert_eq!(locked.status, ActionStatus::Skipped);
    assert_eq!(
        locked.detail,
        "escalated: lockout window market hours (mon,tue,wed,thu,fri 09:30-16:00 America/New_York) is active"
    );
    assert_eq!(
        locked.data["lockout"],
        "market hours (mon,tue,wed,thu,fri 09:30-16:00 America/New_York)"
    );
    // Same UTC time in July is 11:00 EDT: still locked.
    clock.set(Utc.with_ymd_and_hms(2026, 7, 15, 15, 0, 0).unwrap());
    assert_eq!(once(&rem, &ctx, "etl").await.status, ActionStatus::Skipped);
    // 16:30 in New York: the window is over.
    clock.set(Utc.with_ymd_and_hms(2026, 7, 15, 20, 30, 0).unwrap());
    assert_eq!(
        once(&rem, &ctx, "etl").await.status,
        ActionStatus::Succeeded
    );
}

/// Two remediators with their own handles on one SQLite file stand for two
/// processes on a host: an attempt by one counts against the other.
#[tokio::test]
async fn limits_hold_across_processes_sharing_a_sqlite_store() {
    use std::sync::Arc;

    use flow_doctor_core::{RemediationContext, Store};
    use flow_doctor_storage::SqliteStore;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flow_doctor.db");
    let clock = clock();
    let open = |clock: &Arc<flow_doctor_core::testing::ManualClock>| RemediationContext {
        store: Arc::new(SqliteStore::open(&path, std::time::Duration::from_secs(5)).unwrap())
            as Arc<dyn Store>,
        clock: clock.clone(),
    };
    let (ctx_a, ctx_b) = (open(&clock), open(&clock));
    let mut cfg = RemediationConfig::default();
    cfg.max_attempts_per_failure = 1;
    let (rem_a, rem_b) = (remediator(&cfg, "true"), remediator(&cfg, "true"));

    assert_eq!(
        once(&rem_a, &ctx_a, "etl").await.status,
        ActionStatus::Succeeded
    );
    let b = once(&rem_b, &ctx_b, "etl").await;
    assert_eq!(b.status, ActionStatus::Skipped);
    assert_eq!(
        b.detail,
        "escalated: per-failure limit reached: 1 of 1 attempts today for this failure"
    );
}
