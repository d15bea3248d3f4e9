//! Per-failure cost of the remediation decision: finding the first matching
//! playbook among 100 (the match is the last one) and routing it through the
//! gate with a lockout window.
//!
//! `cargo bench -p flow-doctor-remediation --bench gate`

use std::hint::black_box;

use chrono::{TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use flow_doctor_core::config::{Format, RemediationConfig};
use flow_doctor_core::{Category, Diagnosis, Report, ReportKind, Severity};
use flow_doctor_remediation::{AttemptCounts, Gate, Playbooks};

fn playbooks() -> Playbooks {
    let mut text = String::from("playbooks:\n");
    for i in 0..99 {
        text.push_str(&format!(
            "  - name: p{i}\n    category: INFRA\n    error_type: Error{i}\n    message_regex: \"disk {i} (full|gone)\"\n    \
             flow: \"etl-{i}-*\"\n    action: {{type: run_command, commands: [\"true\"], safe_to_auto_run: true}}\n"
        ));
    }
    text.push_str(
        "  - name: hit\n    category: INFRA\n    message_regex: \"(?i)connection refused\"\n    flow: \"etl-*\"\n    \
         action: {type: restart_service, commands: [\"systemctl restart app\"], safe_to_auto_run: true}\n",
    );
    Playbooks::parse(&text, Format::Yaml, None).expect("bench playbooks")
}

fn bench(c: &mut Criterion) {
    let pbs = playbooks();
    let mut cfg = RemediationConfig::default();
    cfg.lockouts = vec![
        serde_json::from_value(serde_json::json!({
            "name": "market hours", "days": ["mon-fri"], "start": "09:30", "end": "16:00",
            "timezone": "America/New_York"
        }))
        .expect("lockout"),
    ];
    let gate = Gate::new(&cfg, None).expect("gate");
    let mut report = Report::new(
        "etl-nightly",
        Severity::Error,
        ReportKind::Error,
        "could not connect to server: Connection refused",
    );
    report.error_type = Some("psycopg2.OperationalError".into());
    let diagnosis = Diagnosis::new(Category::Infra, "database down", 0.95);
    let now = Utc.with_ymd_and_hms(2026, 1, 14, 12, 0, 0).unwrap();

    c.bench_function("first_match_of_100", |b| {
        b.iter(|| black_box(pbs.first_match(black_box(&report), Some(Category::Infra))))
    });
    let hit = pbs.first_match(&report, Some(Category::Infra));
    c.bench_function("gate_decide", |b| {
        b.iter(|| {
            black_box(gate.decide(
                black_box(&report),
                &diagnosis,
                hit,
                AttemptCounts::default(),
                now,
            ))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
