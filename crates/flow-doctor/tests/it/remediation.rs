//! Remediation through the engine: a report is diagnosed, the playbook
//! remediator configured in YAML runs a real local command behind the gate,
//! the action lands in a real SQLite store, and people get a remediation
//! notice. A lower confidence escalates and runs nothing.

use std::sync::Arc;
use std::time::Duration;

use flow_doctor::config::Format;
use flow_doctor::store::ActionQuery;
use flow_doctor::testing::{RecordingNotifier, ScriptedDiagnoser};
use flow_doctor::{
    ActionKind, ActionStatus, Category, Config, DiagnoseOutcome, Diagnosis, FlowDoctor,
    Notification, Severity, Store,
};

const WAIT: Duration = Duration::from_secs(60);

fn config(marker: &std::path::Path) -> Config {
    let yaml = format!(
        r#"
flow_name: etl-nightly
remediation:
  enabled: true
  dry_run: false
  auto_remediate_threshold: 0.9
  playbooks:
    - name: restart-db-tunnel
      category: INFRA
      message_regex: "(?i)connection refused"
      action:
        type: restart_service
        commands: ["echo restarted >> '{}'", "echo done"]
        safe_to_auto_run: true
"#,
        marker.display()
    );
    Config::from_str_as(&yaml, Format::Yaml).expect("valid config")
}

fn infra(confidence: f64) -> flow_doctor::Result<DiagnoseOutcome> {
    let mut d = Diagnosis::new(Category::Infra, "the database tunnel is down", confidence);
    d.remediation = "restart the tunnel".into();
    Ok(DiagnoseOutcome::Diagnosed(d))
}

#[test]
fn a_confident_infra_diagnosis_runs_the_playbook_and_a_weaker_one_escalates() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("restarted.log");
    let cfg = config(&marker);
    let store: Arc<dyn Store> = Arc::new(
        flow_doctor::storage::SqliteStore::open(dir.path().join("fd.db"), Duration::from_secs(5))
            .unwrap(),
    );
    let remediator = flow_doctor::remediation::from_config(&cfg)
        .unwrap()
        .expect("remediation is enabled");
    let notifier = RecordingNotifier::new();
    let fd = FlowDoctor::builder("etl-nightly")
        .config(&cfg)
        .store(store.clone())
        .diagnoser(Arc::new(ScriptedDiagnoser::outcomes([
            infra(0.95),
            infra(0.80),
        ])))
        .remediator(remediator)
        .notifier(Arc::new(notifier.clone()))
        .build()
        .unwrap();

    let first = fd
        .report_message(
            Severity::Error,
            "psql: could not connect: Connection refused",
        )
        .wait(WAIT)
        .expect("processed");
    assert_eq!(first.diagnosis.as_ref().unwrap().confidence, 0.95);
    assert!(fd.flush(WAIT));
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap(),
        "restarted\n",
        "the playbook's command ran once"
    );

    let second = fd
        .report_message(Severity::Error, "redis: Connection refused on 6379")
        .wait(WAIT)
        .expect("processed");
    assert_ne!(second.signature, first.signature);
    assert!(fd.flush(WAIT));
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap(),
        "restarted\n",
        "an escalation runs nothing"
    );

    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let actions = rt.block_on(store.actions(&ActionQuery::default())).unwrap();
    let ran: Vec<_> = actions
        .iter()
        .filter(|a| a.report_id == first.report_id && a.kind == ActionKind::Remediate)
        .collect();
    assert_eq!(
        ran.len(),
        1,
        "one stored action, pending replaced: {ran:#?}"
    );
    assert_eq!(ran[0].kind, ActionKind::Remediate);
    assert_eq!(ran[0].status, ActionStatus::Succeeded, "{}", ran[0].detail);
    assert_eq!(ran[0].target, "restart-db-tunnel");
    assert_eq!(
        ran[0].data["result"]["commands"][1]["stdout_tail"],
        "done\n"
    );

    let escalated: Vec<_> = actions
        .iter()
        .filter(|a| a.report_id == second.report_id && a.kind == ActionKind::Remediate)
        .collect();
    assert_eq!(escalated.len(), 1, "{escalated:#?}");
    assert_ne!(escalated[0].status, ActionStatus::Succeeded);
    assert!(
        escalated[0].detail.contains("escalat"),
        "{}",
        escalated[0].detail
    );

    let sent = notifier.take();
    let notices: Vec<_> = sent
        .iter()
        .filter_map(|n| match n {
            Notification::Remediation(r) => Some(r),
            _ => None,
        })
        .collect();
    assert!(
        notices
            .iter()
            .any(|n| n.report.id == first.report_id && n.action.status == ActionStatus::Succeeded),
        "people hear what ran: {notices:#?}"
    );
    assert!(
        sent.iter()
            .filter_map(|n| n.report())
            .any(|r| r.id == second.report_id),
        "the escalated failure is still notified"
    );
}
