//! Unit tests of the decision gate: one test per branch, time from a
//! `ManualClock`.

use chrono::TimeZone;
use flow_doctor_core::testing::ManualClock;
use flow_doctor_core::{Clock, ReportKind};
use serde_json::json;

use super::*;
use crate::playbook::{ActionType, PlaybookAction};

fn cfg() -> RemediationConfig {
    RemediationConfig::default()
}

fn gate(cfg: &RemediationConfig) -> Gate {
    Gate::new(cfg, Some("acme/etl")).unwrap()
}

fn report(flow: &str, severity: Severity) -> Report {
    let mut r = Report::new(flow, severity, ReportKind::Error, "Connection refused");
    r.signature = "sig-1".into();
    r
}

fn diag(category: Category, confidence: f64) -> Diagnosis {
    Diagnosis::new(category, "app server down", confidence)
}

fn playbook(safe: bool) -> Playbook {
    Playbook::builder("restart-app")
        .action(
            PlaybookAction::local(ActionType::RestartService, ["systemctl restart app"])
                .safe_to_auto_run(safe),
        )
        .build()
        .unwrap()
}

/// Wednesday 2026-01-14 12:00 UTC (07:00 in New York).
fn clock() -> ManualClock {
    ManualClock::new(Utc.with_ymd_and_hms(2026, 1, 14, 12, 0, 0).unwrap())
}

fn none() -> AttemptCounts {
    AttemptCounts::default()
}

#[test]
fn infra_at_high_confidence_with_a_safe_playbook_auto_remediates() {
    let g = gate(&cfg());
    let pb = playbook(true);
    let d = g.decide(
        &report("etl", Severity::Error),
        &diag(Category::Infra, 0.95),
        Some(&pb),
        none(),
        clock().now(),
    );
    assert_eq!(d.route, Route::AutoRemediate);
    assert_eq!(
        d.reason,
        "category INFRA, confidence 0.95 ≥ 0.90, playbook `restart-app` is safe to auto-run"
    );
    assert_eq!(d.playbook.as_deref(), Some("restart-app"));
    assert_eq!(d.data["route"], "auto_remediate");
    assert_eq!(d.data["playbook"], "restart-app");
    assert_eq!(d.data["category"], "INFRA");
}

#[test]
fn below_the_auto_threshold_escalates() {
    let g = gate(&cfg());
    let pb = playbook(true);
    let d = g.decide(
        &report("etl", Severity::Error),
        &diag(Category::Infra, 0.80),
        Some(&pb),
        none(),
        clock().now(),
    );
    assert_eq!(d.route, Route::Escalate);
    assert_eq!(
        d.detail(),
        "escalated: confidence 0.80 below auto-remediate threshold 0.90"
    );
    assert_eq!(d.data["reason"], d.reason.as_str());
}

#[test]
fn thresholds_are_configurable() {
    let mut c = cfg();
    c.auto_remediate_threshold = 0.75;
    let g = gate(&c);
    let pb = playbook(true);
    let d = g.decide(
        &report("etl", Severity::Error),
        &diag(Category::Infra, 0.80),
        Some(&pb),
        none(),
        clock().now(),
    );
    assert_eq!(d.route, Route::AutoRemediate);
    assert_eq!(d.data["auto_remediate_threshold"], 0.75);
}

#[test]
fn code_never_auto_remediates_and_goes_to_a_fix_pr_when_confident() {
    let g = gate(&cfg());
    let pb = playbook(true);
    let d = g.decide(
        &report("etl", Severity::Error),
        &diag(Category::Code, 0.95),
        Some(&pb),
        none(),
        clock().now(),
    );
    assert_eq!(d.route, Route::FixPr);
    assert_eq!(
        d.reason,
        "category CODE, confidence 0.95 ≥ fix-PR threshold 0.85 (category CODE is never auto-remediated)"
    );
    let d = g.decide(
        &report("etl", Severity::Error),
        &diag(Category::Code, 0.70),
        None,
        none(),
        clock().now(),
    );
    assert_eq!(d.route, Route::Escalate);
    assert_eq!(
        d.reason,
        "category CODE is never auto-remediated; confidence 0.70 below fix-PR threshold 0.85"
    );
}

#[test]
fn config_and_data_go_to_fix_prs_but_external_and_infra_never_do() {
    let g = gate(&cfg());
    for (cat, conf) in [(Category::Config, 0.90), (Category::Data, 0.86)] {
        let d = g.decide(
            &report("etl", Severity::Error),
            &diag(cat, conf),
            None,
            none(),
            clock().now(),
        );
        assert_eq!(d.route, Route::FixPr, "{cat}");
    }
    for cat in [Category::External, Category::Infra] {
        let d = g.decide(
            &report("etl", Severity::Error),
            &diag(cat, 0.99),
            None,
            none(),
            clock().now(),
        );
        assert_eq!(d.route, Route::Escalate, "{cat}");
        assert_eq!(d.reason, "no playbook matches");
    }
}

#[test]
fn a_playbook_not_marked_safe_never_runs_automatically() {
    let g = gate(&cfg());
    let pb = playbook(false);
    let d = g.decide(
        &report("etl", Severity::Error),
        &diag(Category::Infra, 0.99),
        Some(&pb),
        none(),
        clock().now(),
    );
    assert_eq!(d.route, Route::Escalate);
    assert_eq!(
        d.reason,
        "playbook `restart-app` is not marked safe_to_auto_run"
    );
}

#[test]
fn deny_lists_escalate_flows_and_repositories() {
    let mut c = cfg();
    c.deny_flows = vec!["billing-daily".into()];
    c.deny_repos = vec!["acme/payments".into()];
    let g = gate(&c);
    let pb = playbook(true);
    let d = g.decide(
        &report("billing-daily", Severity::Error),
        &diag(Category::Infra, 0.99),
        Some(&pb),
        none(),
        clock().now(),
    );
    assert_eq!(d.route, Route::Escalate);
    assert_eq!(
        d.reason,
        "flow `billing-daily` is on the remediation deny list"
    );
    // The report's `repo` context key wins over the configured repo.
    let mut r = report("etl", Severity::Error);
    r.context.insert("repo".into(), "acme/payments".into());
    let d = g.decide(&r, &diag(Category::Code, 0.99), None, none(), clock().now());
    assert_eq!(
        d.route,
        Route::Escalate,
        "a denied repo gets no fix PR either"
    );
    assert_eq!(
        d.reason,
        "repository `acme/payments` is on the remediation deny list"
    );
    // The configured default repo applies when the report names none.
    let g = Gate::new(&c, Some("acme/payments")).unwrap();
    let d = g.decide(
        &report("etl", Severity::Error),
        &diag(Category::Infra, 0.99),
        Some(&pb),
        none(),
        clock().now(),
    );
    assert_eq!(d.route, Route::Escalate);
    assert!(!g.needs_counts(
        &report("etl", Severity::Error),
        &diag(Category::Infra, 0.99),
        Some(&pb)
    ));
}

#[test]
fn lockout_windows_block_only_while_active() {
    let mut c = cfg();
    c.lockouts = vec![
        serde_json::from_value(json!({
            "name": "market hours",
            "days": ["mon-fri"],
            "start": "09:30",
            "end": "16:00",
            "timezone": "America/New_York"
        }))
        .unwrap(),
    ];
    let g = gate(&c);
    let pb = playbook(true);
    let clock = clock();
    let r = report("etl", Severity::Error);
    let d95 = diag(Category::Infra, 0.95);
    // 07:00 in New York: open for remediation.
    assert_eq!(
        g.decide(&r, &d95, Some(&pb), none(), clock.now()).route,
        Route::AutoRemediate
    );
    // 10:00 in New York: locked out.
    clock.advance(chrono::Duration::hours(3));
    let d = g.decide(&r, &d95, Some(&pb), none(), clock.now());
    assert_eq!(d.route, Route::Escalate);
    assert_eq!(
        d.reason,
        "lockout window market hours (mon,tue,wed,thu,fri 09:30-16:00 America/New_York) is active"
    );
    assert_eq!(
        d.lockout.as_deref(),
        Some("market hours (mon,tue,wed,thu,fri 09:30-16:00 America/New_York)")
    );
    assert!(d.data["lockout"].is_string());
    // 16:00 in New York: open again.
    clock.advance(chrono::Duration::hours(6));
    assert_eq!(
        g.decide(&r, &d95, Some(&pb), none(), clock.now()).route,
        Route::AutoRemediate
    );
    // Saturday at 10:00 in New York: open.
    clock.set(Utc.with_ymd_and_hms(2026, 1, 17, 15, 0, 0).unwrap());
    assert_eq!(
        g.decide(&r, &d95, Some(&pb), none(), clock.now()).route,
        Route::AutoRemediate
    );
}

#[test]
fn attempt_limits_escalate_once_reached() {
    let mut c = cfg();
    c.max_attempts_per_day = 3;
    c.max_attempts_per_failure = 1;
    let g = gate(&c);
    let pb = playbook(true);
    let r = report("etl", Severity::Error);
    let d95 = diag(Category::Infra, 0.95);
    let now = clock().now();
    let d = g.decide(
        &r,
        &d95,
        Some(&pb),
        AttemptCounts {
            today: 2,
            today_for_failure: 0,
        },
        now,
    );
    assert_eq!(d.route, Route::AutoRemediate);
    let d = g.decide(
        &r,
        &d95,
        Some(&pb),
        AttemptCounts {
            today: 3,
            today_for_failure: 0,
        },
        now,
    );
    assert_eq!(d.route, Route::Escalate);
    assert_eq!(d.reason, "daily limit reached: 3 of 3 remediations today");
    let d = g.decide(
        &r,
        &d95,
        Some(&pb),
        AttemptCounts {
            today: 1,
            today_for_failure: 1,
        },
        now,
    );
    assert_eq!(d.route, Route::Escalate);
    assert_eq!(
        d.reason,
        "per-failure limit reached: 1 of 1 attempts today for this failure"
    );
    assert_eq!(d.data["attempts_today_for_failure"], 1);
    assert_eq!(d.data["max_attempts_per_failure"], 1);
}

#[test]
fn warnings_and_transient_failures_are_logged_only() {
    let g = gate(&cfg());
    let d = g.decide(
        &report("etl", Severity::Warning),
        &diag(Category::Infra, 0.95),
        None,
        none(),
        clock().now(),
    );
    assert_eq!(d.route, Route::LogOnly);
    assert_eq!(
        d.detail(),
        "logged only: severity warning (no playbook matches)"
    );
    let d = g.decide(
        &report("etl", Severity::Critical),
        &diag(Category::Transient, 0.95),
        None,
        none(),
        clock().now(),
    );
    assert_eq!(d.route, Route::LogOnly);
    assert_eq!(
        d.reason,
        "category TRANSIENT passes on retry (no playbook matches)"
    );
    // A transient failure with a safe playbook (rerun) is remediated.
    let pb = playbook(true);
    let d = g.decide(
        &report("etl", Severity::Error),
        &diag(Category::Transient, 0.95),
        Some(&pb),
        none(),
        clock().now(),
    );
    assert_eq!(d.route, Route::AutoRemediate);
}

#[test]
fn counts_are_only_needed_when_they_can_change_the_route() {
    let g = gate(&cfg());
    let r = report("etl", Severity::Error);
    let safe = playbook(true);
    let unsafe_pb = playbook(false);
    assert!(g.needs_counts(&r, &diag(Category::Infra, 0.95), Some(&safe)));
    assert!(!g.needs_counts(&r, &diag(Category::Infra, 0.80), Some(&safe)));
    assert!(!g.needs_counts(&r, &diag(Category::Code, 0.99), Some(&safe)));
    assert!(!g.needs_counts(&r, &diag(Category::Infra, 0.99), Some(&unsafe_pb)));
    assert!(!g.needs_counts(&r, &diag(Category::Infra, 0.99), None));
}

#[test]
fn invalid_gate_settings_fail_with_the_key() {
    let mut c = cfg();
    c.auto_remediate_threshold = 1.5;
    let e = Gate::new(&c, None).unwrap_err().to_string();
    assert!(
        e.contains("remediation.auto_remediate_threshold is 1.5"),
        "{e}"
    );
    let mut c = cfg();
    c.lockouts = vec![
        serde_json::from_value(
            json!({"start": "09:00", "end": "17:00", "timezone": "Nowhere/Land"}),
        )
        .unwrap(),
    ];
    let e = Gate::new(&c, None).unwrap_err().to_string();
    assert!(
        e.contains("remediation.lockouts[0]") && e.contains("Nowhere/Land"),
        "{e}"
    );
}
