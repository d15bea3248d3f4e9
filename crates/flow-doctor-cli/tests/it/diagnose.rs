//! `flow-doctor diagnose` and `flow-doctor feedback`: the real binary on
//! real files and a real SQLite store.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use flow_doctor::storage::SqliteStore;
use flow_doctor::{Category, Diagnosis, PatternOrigin, Report, ReportKind, Severity, Store};

const ENV_KEYERROR: &str = r#"Traceback (most recent call last):
  File "/opt/jobs/nightly_sync/main.py", line 18, in main
    dsn = os.environ["WAREHOUSE_DSN"]
  File "<frozen os>", line 714, in __getitem__
KeyError: 'WAREHOUSE_DSN'
"#;

fn flow_doctor(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    crate::run_bin(dir, args, &[], stdin.unwrap_or(""))
}

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

#[test]
fn offline_json_has_exactly_the_documented_keys() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("failure.txt"), ENV_KEYERROR).unwrap();
    let v = json(&flow_doctor(
        dir.path(),
        &["diagnose", "--offline", "--json", "failure.txt"],
        None,
    ));
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    let mut keys: Vec<&str> = keys.into_iter().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "category",
            "confidence",
            "pattern",
            "remediation",
            "root_cause",
            "source"
        ]
    );
    assert_eq!(v["category"], "CONFIG");
    assert_eq!(v["source"], "knowledge_base");
    assert_eq!(v["pattern"], "missing-env-var-python-environ");
    assert!(v["confidence"].as_f64().unwrap() >= 0.8);
}

#[test]
fn stdin_is_the_default_input_and_unknown_failures_give_null() {
    let dir = tempfile::tempdir().unwrap();
    let v = json(&flow_doctor(
        dir.path(),
        &["diagnose", "--offline", "--json"],
        Some("finance.errors.ReconciliationError: ledger GL-4410 off by 1250.00\n"),
    ));
    for key in [
        "category",
        "root_cause",
        "confidence",
        "remediation",
        "source",
        "pattern",
    ] {
        assert!(v[key].is_null(), "{key}: {v}");
    }
    let out = flow_doctor(
        dir.path(),
        &["diagnose", "--offline"],
        Some("OSError: [Errno 28] No space left on device\n"),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("INFRA (confidence"), "{text}");
    assert!(text.contains("root cause: "), "{text}");
}

#[test]
fn show_prompt_prints_the_scrubbed_prompt_and_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let failure = format!("{ENV_KEYERROR}while using key AKIAIOSFODNN7EXAMPLE\n");
    let out = flow_doctor(dir.path(), &["diagnose", "--show-prompt"], Some(&failure));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("=== system ===\n"), "{text}");
    assert!(text.contains("=== user ===\n# Failure\n"), "{text}");
    assert!(text.contains("WAREHOUSE_DSN"), "{text}");
    assert!(!text.contains("AKIAIOSFODNN7EXAMPLE"), "{text}");
    assert!(text.contains("tokens (budget 8000)"), "{text}");
}

#[test]
fn an_llm_without_a_key_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("flow-doctor.yaml"),
        "flow_name: etl\nstore:\n  type: memory\ndiagnosis:\n  provider: anthropic\n  model: claude-sonnet-4-5\n",
    )
    .unwrap();
    let out = flow_doctor(dir.path(), &["diagnose"], Some(ENV_KEYERROR));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("API key"), "{err}");
}

#[test]
fn feedback_confirms_and_teaches_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("fd.db");
    std::fs::write(
        dir.path().join("flow-doctor.yaml"),
        format!("flow_name: billing\nstore:\n  path: {}\n", db.display()),
    )
    .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = Arc::new(SqliteStore::open(&db, Duration::from_secs(5)).unwrap());
    let mut r = Report::new("billing", Severity::Error, ReportKind::Error, "ledger off");
    r.signature = "0123456789abcdef".into();
    let id = r.id.clone();
    rt.block_on(async {
        store.claim(&r, Duration::ZERO).await.unwrap();
        store
            .save_diagnosis(
                &id,
                &Diagnosis::new(Category::Data, "bank feed missed a refund", 0.8),
            )
            .await
            .unwrap();
    });

    let out = flow_doctor(
        dir.path(),
        &["feedback", id.as_str(), "--confirm", "--note", "yes"],
        None,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("confirmed"), "{text}");
    assert!(
        text.contains("learned pattern `learned-0123456789ab`"),
        "{text}"
    );
    let learned = rt
        .block_on(store.pattern_for_signature("0123456789abcdef"))
        .unwrap()
        .unwrap();
    assert_eq!(learned.origin, PatternOrigin::Feedback);
    assert_eq!(learned.category, Category::Data);

    let out = flow_doctor(
        dir.path(),
        &[
            "feedback",
            id.as_str(),
            "--category",
            "CONFIG",
            "--root-cause",
            "expired bank token ghp_abcdefghijklmnopqrstuvwxyz0123456789AB",
            "--note",
            "rotated; old password=hunter2secret",
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let learned = rt
        .block_on(store.pattern_for_signature("0123456789abcdef"))
        .unwrap()
        .unwrap();
    assert_eq!(learned.category, Category::Config);
    // What a person typed is scrubbed before it is kept or learned.
    assert!(
        learned.root_cause.starts_with("expired bank token"),
        "{}",
        learned.root_cause
    );
    let file = String::from_utf8_lossy(&std::fs::read(&db).unwrap()).into_owned()
        + &String::from_utf8_lossy(
            &std::fs::read(dir.path().join("fd.db-wal")).unwrap_or_default(),
        );
    assert!(!file.contains("ghp_abcdefghijklmnopqrstuvwxyz0123456789AB"));
    assert!(!file.contains("hunter2secret"));

    // A verdict is required; an unknown id is a clear error.
    let out = flow_doctor(dir.path(), &["feedback", id.as_str()], None);
    assert!(!out.status.success());
    let out = flow_doctor(dir.path(), &["feedback", "nope", "--reject"], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no incident with id nope"));
}

/// Acceptance (issue 4, point 3) with real processes: six `flow-doctor
/// diagnose` processes share one SQLite store and a daily cap of two LLM
/// diagnoses; exactly two reach the (local) Anthropic Messages endpoint and
/// the other four are skipped with the cap as the reason.
#[test]
fn the_daily_llm_cap_holds_across_processes_sharing_one_store() {
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(async {
        let server = MockServer::start().await;
        let answer = r#"{"category":"CODE","root_cause":"The frobnicator is called before it is configured.","confidence":0.8,"affected_files":[],"remediation":"Configure it first.","auto_fixable":false,"reasoning":"order of calls","alternative_hypotheses":[]}"#;
        Mock::given(method("POST"))
            .and(path("/v1/messages"))
            .and(header("x-api-key", "sk-ant-test-0123456789"))
            .and(header("anthropic-version", "2023-06-01"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "id": "msg_01",
                "type": "message",
                "role": "assistant",
                "model": "claude-sonnet-4-5-20250929",
                "content": [{ "type": "text", "text": answer }],
                "stop_reason": "end_turn",
                "stop_sequence": null,
                "usage": { "input_tokens": 900, "output_tokens": 80 }
            })))
            .mount(&server)
            .await;
        server
    });
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("flow-doctor.yaml"),
        format!(
            "flow_name: nightly\nstore:\n  path: fd.db\ndiagnosis:\n  provider: anthropic\n  \
             base_url: {}\n  api_key: sk-ant-test-0123456789\n  model: claude-sonnet-4-5\n  \
             max_retries: 0\n  max_diagnosed_per_day: 2\n  max_daily_cost_usd: 5.0\n",
            server.uri()
        ),
    )
    .unwrap();
    // Nothing in the knowledge base matches, so each process asks the LLM.
    std::fs::write(
        dir.path().join("failure.txt"),
        "FrobnicatorError: the frobnicator refused to frobnicate widget quux\n",
    )
    .unwrap();
    let children: Vec<_> = (0..6)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_flow-doctor"))
                .current_dir(dir.path())
                .env_clear()
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .args(["diagnose", "--json", "failure.txt"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn flow-doctor")
        })
        .collect();
    let outputs: Vec<serde_json::Value> = children
        .into_iter()
        .map(|c| json(&c.wait_with_output().expect("wait")))
        .collect();
    let diagnosed = outputs.iter().filter(|v| v["source"] == "llm").count();
    let skipped = outputs.iter().filter(|v| v["category"].is_null()).count();
    assert_eq!((diagnosed, skipped), (2, 4), "{outputs:#?}");
    let requests = rt.block_on(server.received_requests()).unwrap();
    assert_eq!(requests.len(), 2, "exactly the cap reached the provider");
    let store = SqliteStore::open(dir.path().join("fd.db"), Duration::from_secs(10)).unwrap();
    let usage = rt
        .block_on(store.budget_usage(
            "diagnosis",
            flow_doctor::clock::day_start(chrono::Utc::now()),
        ))
        .unwrap();
    assert_eq!(usage.count, 2);
    assert!(usage.cost_usd > 0.0, "the real cost was settled: {usage:?}");
}
