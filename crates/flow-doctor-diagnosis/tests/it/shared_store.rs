//! Budget caps hold for diagnosers in different "processes": each has its
//! own `SqliteStore` connection to one database file.

use std::sync::Arc;
use std::time::Duration;

use flow_doctor_core::config::{DiagnosisConfig, LlmProvider, Secret};
use flow_doctor_core::{
    DiagnoseContext, DiagnoseOutcome, Diagnoser, Report, ReportKind, Scrubber, Severity, Store,
    SystemClock,
};
use flow_doctor_diagnosis::LlmDiagnoser;
use flow_doctor_storage::SqliteStore;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn two_processes_sharing_a_sqlite_store_never_exceed_the_caps() {
    let server = MockServer::start().await;
    let answer = r#"{"category":"INFRA","root_cause":"disk full","confidence":0.9}"#;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({
                    "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
                    "content": [{"type": "text", "text": answer}],
                    "usage": {"input_tokens": 1000, "output_tokens": 100}
                }))
                .set_delay(Duration::from_millis(30)),
        )
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("flow_doctor.db");
    let mut cfg = DiagnosisConfig::default();
    cfg.provider = LlmProvider::Anthropic;
    cfg.api_key = Some(Secret::new("sk-test"));
    cfg.base_url = Some(server.uri());
    cfg.max_diagnosed_per_day = 4;
    cfg.repo_path = Some(dir.path().to_path_buf());

    let mut contexts = Vec::new();
    for _ in 0..2 {
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(&db, Duration::from_secs(10)).unwrap());
        contexts.push(DiagnoseContext {
            store,
            clock: Arc::new(SystemClock),
            scrubber: Arc::new(Scrubber::new()),
        });
    }
    let diagnosers: Vec<Arc<LlmDiagnoser>> = (0..2)
        .map(|_| Arc::new(LlmDiagnoser::from_config(&cfg).unwrap()))
        .collect();
    let mut tasks = Vec::new();
    for i in 0..10 {
        let d = diagnosers[i % 2].clone();
        let ctx = contexts[i % 2].clone();
        tasks.push(tokio::spawn(async move {
            let mut r = Report::new(
                "etl",
                Severity::Error,
                ReportKind::Error,
                "No space left on device",
            );
            r.signature = format!("sig-{i}");
            d.diagnose(&r, &ctx).await
        }));
    }
    let mut diagnosed = 0;
    for t in tasks {
        if let DiagnoseOutcome::Diagnosed(_) = t.await.unwrap().unwrap() {
            diagnosed += 1;
        }
    }
    assert_eq!(diagnosed, 4);
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
    let day = flow_doctor_core::clock::day_start(chrono::Utc::now());
    let usage = contexts[0]
        .store
        .budget_usage("diagnosis", day)
        .await
        .unwrap();
    assert_eq!(usage.count, 4);
    // claude-sonnet-4-5 list price: 3/15 USD per Mtok.
    assert!(
        (usage.cost_usd - 4.0 * 0.0045).abs() < 1e-9,
        "{}",
        usage.cost_usd
    );
}
