//! LLM providers against a local HTTP server speaking each provider's wire
//! format (wiremock), with the real client pointed at it.

use std::sync::Arc;
use std::time::Duration;

use flow_doctor_core::config::{DiagnosisConfig, LlmProvider, Secret};
use flow_doctor_core::store::BudgetUsage;
use flow_doctor_core::testing::RecordingNotifier;
use flow_doctor_core::{
    Category, Clock, DiagnoseContext, DiagnoseOutcome, Diagnoser, DiagnosisSource, Error,
    FlowDoctor, Frame, LogLine, MemoryStore, Report, ReportKind, Scrubber, Severity, Store,
    SystemClock,
};
use flow_doctor_diagnosis::LlmDiagnoser;
use flow_doctor_diagnosis::llm::LlmClient;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const KEY: &str = "sk-test-0123456789abcdef";
const ANSWER: &str = r#"{"category":"CONFIG","root_cause":"WAREHOUSE_DSN is not set in the job environment.","confidence":0.93,"affected_files":["etl/load.py"],"remediation":"Set WAREHOUSE_DSN.","auto_fixable":false,"reasoning":"KeyError on os.environ.","alternative_hypotheses":["typo in the variable name"]}"#;

#[derive(Clone, Copy, Debug)]
enum Provider {
    Anthropic,
    Openai,
}

impl Provider {
    fn path(self) -> &'static str {
        match self {
            Self::Anthropic => "/v1/messages",
            Self::Openai => "/v1/chat/completions",
        }
    }

    /// A 200 answer in the provider's format.
    fn ok(self, text: &str, input: u64, output: u64) -> ResponseTemplate {
        let body = match self {
            Self::Anthropic => json!({
                "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
                "type": "message",
                "role": "assistant",
                "model": "claude-sonnet-4-5-20250929",
                "content": [{ "type": "text", "text": text }],
                "stop_reason": "end_turn",
                "stop_sequence": null,
                "usage": { "input_tokens": input, "output_tokens": output }
            }),
            Self::Openai => json!({
                "id": "chatcmpl-abc123",
                "object": "chat.completion",
                "created": 1_741_569_952,
                "model": "gpt-4o-mini-2024-07-18",
                "choices": [{
                    "index": 0,
                    "message": { "role": "assistant", "content": text, "refusal": null },
                    "logprobs": null,
                    "finish_reason": "stop"
                }],
                "usage": {
                    "prompt_tokens": input,
                    "completion_tokens": output,
                    "total_tokens": input + output
                }
            }),
        };
        ResponseTemplate::new(200).set_body_json(body)
    }

    /// An error answer in the provider's format.
    fn error(self, status: u16, kind: &str, message: &str) -> ResponseTemplate {
        let body = match self {
            Self::Anthropic => json!({
                "type": "error",
                "error": { "type": kind, "message": message }
            }),
            Self::Openai => json!({
                "error": { "message": message, "type": kind, "param": null, "code": null }
            }),
        };
        ResponseTemplate::new(status).set_body_json(body)
    }

    /// Expected cost of (input, output) tokens at the configured prices.
    fn cost(self, input: u64, output: u64) -> f64 {
        (input as f64 * 3.0 + output as f64 * 15.0) / 1e6
    }
}

fn config(p: Provider, server: &MockServer, repo: &std::path::Path) -> DiagnosisConfig {
    let mut cfg = DiagnosisConfig::default();
    cfg.provider = match p {
        Provider::Anthropic => LlmProvider::Anthropic,
        Provider::Openai => LlmProvider::Openai,
    };
    cfg.api_key = Some(Secret::new(KEY));
    cfg.base_url = Some(match p {
        Provider::Anthropic => server.uri(),
        // An OpenAI-compatible base that already ends in /v1 (OpenRouter, Ollama).
        Provider::Openai => format!("{}/v1", server.uri()),
    });
    cfg.model = Some(match p {
        Provider::Anthropic => "claude-sonnet-4-5".into(),
        Provider::Openai => "gpt-4o-mini".into(),
    });
    cfg.input_price_per_mtok = Some(3.0);
    cfg.output_price_per_mtok = Some(15.0);
    cfg.max_retries = 2;
    cfg.timeout = Duration::from_secs(5).into();
    cfg.max_diagnosed_per_day = 10;
    cfg.max_daily_cost_usd = 1.0;
    cfg.repo_path = Some(repo.to_path_buf());
    cfg
}

fn diagnoser(cfg: &DiagnosisConfig) -> LlmDiagnoser {
    let client = LlmClient::from_config(cfg)
        .unwrap()
        .with_backoff_base(Duration::from_millis(5));
    LlmDiagnoser::new(client, cfg)
}

fn context(store: Arc<dyn Store>) -> DiagnoseContext {
    DiagnoseContext {
        store,
        clock: Arc::new(SystemClock),
        scrubber: Arc::new(Scrubber::new()),
    }
}

fn report() -> Report {
    let mut r = Report::new(
        "nightly_etl",
        Severity::Error,
        ReportKind::Error,
        "'WAREHOUSE_DSN'",
    );
    r.error_type = Some("KeyError".into());
    r.language = Some("python".into());
    r.signature = "5f2c9a0e".into();
    r
}

async fn usage(store: &dyn Store) -> BudgetUsage {
    let day = flow_doctor_core::clock::day_start(SystemClock.now());
    store.budget_usage("diagnosis", day).await.unwrap()
}

async fn bodies(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

struct Fixture {
    server: MockServer,
    repo: tempfile::TempDir,
    store: Arc<MemoryStore>,
}

async fn fixture() -> Fixture {
    Fixture {
        server: MockServer::start().await,
        repo: tempfile::tempdir().unwrap(),
        store: Arc::new(MemoryStore::new()),
    }
}

impl Fixture {
    fn cfg(&self, p: Provider) -> DiagnosisConfig {
        config(p, &self.server, self.repo.path())
    }
    fn ctx(&self) -> DiagnoseContext {
        context(self.store.clone())
    }
    async fn mount(&self, p: Provider, resp: ResponseTemplate) {
        Mock::given(method("POST"))
            .and(path(p.path()))
            .respond_with(resp)
            .mount(&self.server)
            .await;
    }
}

const PROVIDERS: [Provider; 2] = [Provider::Anthropic, Provider::Openai];

#[tokio::test]
async fn happy_path_speaks_each_wire_format() {
    for p in PROVIDERS {
        let f = fixture().await;
        let auth = match p {
            Provider::Anthropic => Mock::given(method("POST"))
                .and(path(p.path()))
                .and(header("x-api-key", KEY))
                .and(header("anthropic-version", "2023-06-01"))
                .and(header("content-type", "application/json")),
            Provider::Openai => Mock::given(method("POST"))
                .and(path(p.path()))
                .and(header("authorization", format!("Bearer {KEY}").as_str()))
                .and(header("content-type", "application/json")),
        };
        auth.respond_with(p.ok(ANSWER, 1200, 300))
            .expect(1)
            .mount(&f.server)
            .await;

        let outcome = diagnoser(&f.cfg(p))
            .diagnose(&report(), &f.ctx())
            .await
            .unwrap();
        let DiagnoseOutcome::Diagnosed(d) = outcome else {
            panic!("{p:?}: {outcome:?}");
        };
        assert_eq!(d.category, Category::Config);
        assert_eq!(d.confidence, 0.93, "{p:?}: confidence is used as given");
        assert_eq!(d.source, DiagnosisSource::Llm);
        assert_eq!(d.affected_files, vec!["etl/load.py".to_string()]);
        assert_eq!(d.tokens.map(|t| (t.input, t.output)), Some((1200, 300)));
        let cost = d.cost_usd.unwrap();
        assert!((cost - p.cost(1200, 300)).abs() < 1e-12, "{p:?}: {cost}");
        assert!(d.model.unwrap().starts_with(match p {
            Provider::Anthropic => "claude-sonnet-4-5",
            Provider::Openai => "gpt-4o-mini",
        }));
        let u = usage(f.store.as_ref()).await;
        assert_eq!(u.count, 1);
        assert!((u.cost_usd - cost).abs() < 1e-12);
        assert_eq!((u.tokens.input, u.tokens.output), (1200, 300));

        let body = bodies(&f.server).await.remove(0);
        assert_eq!(body["temperature"], 0);
        match p {
            Provider::Anthropic => {
                assert_eq!(body["model"], "claude-sonnet-4-5");
                assert_eq!(body["max_tokens"], 1500);
                assert!(body["system"].as_str().unwrap().contains("\"category\""));
                assert_eq!(body["messages"][0]["role"], "user");
                let user = body["messages"][0]["content"].as_str().unwrap();
                assert!(user.contains("KeyError: 'WAREHOUSE_DSN'"), "{user}");
                assert_eq!(body["messages"].as_array().unwrap().len(), 1);
            }
            Provider::Openai => {
                assert_eq!(body["model"], "gpt-4o-mini");
                assert_eq!(body["max_tokens"], 1500);
                assert_eq!(body["messages"][0]["role"], "system");
                assert_eq!(body["messages"][1]["role"], "user");
                assert_eq!(body["response_format"]["type"], "json_object");
                let user = body["messages"][1]["content"].as_str().unwrap();
                assert!(user.contains("KeyError: 'WAREHOUSE_DSN'"), "{user}");
            }
        }
        f.server.verify().await;
    }
}

#[tokio::test]
async fn response_format_can_be_turned_off_for_strict_servers() {
    let f = fixture().await;
    f.mount(Provider::Openai, Provider::Openai.ok(ANSWER, 10, 10))
        .await;
    let mut cfg = f.cfg(Provider::Openai);
    cfg.json_response_format = false;
    let outcome = diagnoser(&cfg).diagnose(&report(), &f.ctx()).await.unwrap();
    assert!(matches!(outcome, DiagnoseOutcome::Diagnosed(_)));
    assert!(bodies(&f.server).await[0].get("response_format").is_none());
}

/// An OpenAI-compatible server of your own (Ollama, vLLM) at a `base_url`
/// may need no key, as the configuration check allows: the request then
/// carries no `Authorization` header. The public endpoint still needs one.
#[tokio::test]
async fn a_keyless_openai_compatible_server_gets_no_authorization_header() {
    let f = fixture().await;
    f.mount(Provider::Openai, Provider::Openai.ok(ANSWER, 10, 10))
        .await;
    let mut cfg = f.cfg(Provider::Openai);
    cfg.api_key = None;
    let outcome = diagnoser(&cfg).diagnose(&report(), &f.ctx()).await.unwrap();
    assert!(matches!(outcome, DiagnoseOutcome::Diagnosed(_)));
    let requests = f.server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    assert!(
        !requests[0].headers.contains_key("authorization"),
        "{:?}",
        requests[0].headers
    );

    cfg.base_url = None;
    let err = LlmClient::from_config(&cfg).unwrap_err();
    assert!(err.to_string().contains("no API key"), "{err}");
}

#[tokio::test]
async fn fenced_json_with_prose_is_accepted() {
    for p in PROVIDERS {
        let f = fixture().await;
        let text = format!("Here is the diagnosis:\n\n```json\n{ANSWER}\n```\n");
        f.mount(p, p.ok(&text, 900, 200)).await;
        let outcome = diagnoser(&f.cfg(p))
            .diagnose(&report(), &f.ctx())
            .await
            .unwrap();
        let DiagnoseOutcome::Diagnosed(d) = outcome else {
            panic!("{p:?}: {outcome:?}");
        };
        assert_eq!(d.category, Category::Config);
    }
}

#[tokio::test]
async fn malformed_answer_is_a_permanent_error_and_still_costs() {
    for p in PROVIDERS {
        let f = fixture().await;
        f.mount(
            p,
            p.ok("{\"category\": \"CONFIG\", \"root_cause\": ", 800, 40),
        )
        .await;
        let err = diagnoser(&f.cfg(p))
            .diagnose(&report(), &f.ctx())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Permanent { .. }), "{p:?}: {err:?}");
        assert!(
            err.chain_string().contains("no JSON object"),
            "{}",
            err.chain_string()
        );
        let u = usage(f.store.as_ref()).await;
        assert_eq!(u.count, 1);
        assert!(
            (u.cost_usd - p.cost(800, 40)).abs() < 1e-12,
            "settled with the real cost"
        );
    }
}

#[tokio::test]
async fn wrong_category_is_rejected_with_the_reason() {
    for p in PROVIDERS {
        let f = fixture().await;
        let text = ANSWER.replace("\"CONFIG\"", "\"NETWORK\"");
        f.mount(p, p.ok(&text, 100, 50)).await;
        let err = diagnoser(&f.cfg(p))
            .diagnose(&report(), &f.ctx())
            .await
            .unwrap_err();
        let chain = err.chain_string();
        assert!(
            chain.contains("unknown category `NETWORK`"),
            "{p:?}: {chain}"
        );
    }
}

/// 429 with `Retry-After: 1` once, then the answer.
struct RateLimitedOnce {
    provider: Provider,
    calls: std::sync::atomic::AtomicUsize,
}

impl Respond for RateLimitedOnce {
    fn respond(&self, _req: &Request) -> ResponseTemplate {
        if self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            self.provider
                .error(
                    429,
                    "rate_limit_error",
                    "Number of request tokens has exceeded your per-minute rate limit",
                )
                .insert_header("retry-after", "1")
        } else {
            self.provider.ok(ANSWER, 500, 100)
        }
    }
}

#[tokio::test]
async fn rate_limited_then_success_honours_retry_after() {
    for p in PROVIDERS {
        let f = fixture().await;
        Mock::given(method("POST"))
            .and(path(p.path()))
            .respond_with(RateLimitedOnce {
                provider: p,
                calls: Default::default(),
            })
            .mount(&f.server)
            .await;
        let started = std::time::Instant::now();
        let outcome = diagnoser(&f.cfg(p))
            .diagnose(&report(), &f.ctx())
            .await
            .unwrap();
        assert!(
            matches!(outcome, DiagnoseOutcome::Diagnosed(_)),
            "{p:?}: {outcome:?}"
        );
        assert_eq!(f.server.received_requests().await.unwrap().len(), 2);
        // Waited for Retry-After rather than the 5 ms back-off.
        assert!(started.elapsed() >= Duration::from_secs(1));
        assert_eq!(
            usage(f.store.as_ref()).await.count,
            1,
            "one reservation per diagnosis"
        );
    }
}

#[tokio::test]
async fn server_errors_are_retried_then_fail_transient() {
    for p in PROVIDERS {
        let f = fixture().await;
        f.mount(p, p.error(500, "api_error", "Internal server error"))
            .await;
        let err = diagnoser(&f.cfg(p))
            .diagnose(&report(), &f.ctx())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Transient { .. }), "{p:?}: {err:?}");
        assert!(
            err.chain_string().contains("HTTP 500"),
            "{}",
            err.chain_string()
        );
        assert!(err.chain_string().contains("Internal server error"));
        assert_eq!(
            f.server.received_requests().await.unwrap().len(),
            3,
            "1 + max_retries"
        );
        let u = usage(f.store.as_ref()).await;
        assert_eq!((u.count, u.cost_usd), (1, 0.0));
    }
}

#[tokio::test]
async fn client_errors_fail_at_once_with_the_provider_message() {
    for p in PROVIDERS {
        let f = fixture().await;
        f.mount(p, p.error(401, "authentication_error", "invalid x-api-key"))
            .await;
        let err = diagnoser(&f.cfg(p))
            .diagnose(&report(), &f.ctx())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Permanent { .. }), "{p:?}: {err:?}");
        let chain = err.chain_string();
        assert!(
            chain.contains("HTTP 401: authentication_error: invalid x-api-key"),
            "{chain}"
        );
        assert!(!chain.contains(KEY));
        assert_eq!(f.server.received_requests().await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn timeouts_are_transient() {
    for p in PROVIDERS {
        let f = fixture().await;
        f.mount(p, p.ok(ANSWER, 1, 1).set_delay(Duration::from_secs(3)))
            .await;
        let mut cfg = f.cfg(p);
        cfg.timeout = Duration::from_millis(300).into();
        cfg.max_retries = 1;
        let err = diagnoser(&cfg)
            .diagnose(&report(), &f.ctx())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Transient { .. }), "{p:?}: {err:?}");
        assert!(
            err.chain_string().contains("request failed"),
            "{}",
            err.chain_string()
        );
        assert_eq!(f.server.received_requests().await.unwrap().len(), 2);
    }
}

#[tokio::test]
async fn cost_cap_skips_with_the_reason() {
    for p in PROVIDERS {
        let f = fixture().await;
        // 100k in + 10k out at 3/15 per Mtok = $0.45 per call.
        f.mount(p, p.ok(ANSWER, 100_000, 10_000)).await;
        let mut cfg = f.cfg(p);
        cfg.max_daily_cost_usd = 0.5;
        let d = diagnoser(&cfg);
        let ctx = f.ctx();
        assert!(matches!(
            d.diagnose(&report(), &ctx).await.unwrap(),
            DiagnoseOutcome::Diagnosed(_)
        ));
        assert!(matches!(
            d.diagnose(&report(), &ctx).await.unwrap(),
            DiagnoseOutcome::Diagnosed(_)
        ));
        // $0.90 spent >= $0.50: refused before any request.
        let outcome = d.diagnose(&report(), &ctx).await.unwrap();
        let DiagnoseOutcome::Skipped { reason } = outcome else {
            panic!("{p:?}: {outcome:?}");
        };
        assert!(reason.contains("daily LLM cost cap reached"), "{reason}");
        assert!(reason.contains("$0.9000 of $0.50"), "{reason}");
        assert_eq!(f.server.received_requests().await.unwrap().len(), 2);
    }
}

#[tokio::test]
async fn rate_cap_skips_with_the_reason() {
    for p in PROVIDERS {
        let f = fixture().await;
        f.mount(p, p.ok(ANSWER, 10, 10)).await;
        let mut cfg = f.cfg(p);
        cfg.max_diagnosed_per_day = 2;
        let d = diagnoser(&cfg);
        let ctx = f.ctx();
        for _ in 0..2 {
            assert!(matches!(
                d.diagnose(&report(), &ctx).await.unwrap(),
                DiagnoseOutcome::Diagnosed(_)
            ));
        }
        let outcome = d.diagnose(&report(), &ctx).await.unwrap();
        let DiagnoseOutcome::Skipped { reason } = outcome else {
            panic!("{p:?}: {outcome:?}");
        };
        assert!(
            reason.contains("daily LLM diagnosis cap reached: 2/2"),
            "{reason}"
        );
        assert_eq!(f.server.received_requests().await.unwrap().len(), 2);
    }
}

#[tokio::test]
async fn two_diagnosers_sharing_a_store_never_exceed_the_cap() {
    let f = fixture().await;
    let p = Provider::Anthropic;
    f.mount(p, p.ok(ANSWER, 10, 10).set_delay(Duration::from_millis(20)))
        .await;
    let mut cfg = f.cfg(p);
    cfg.max_diagnosed_per_day = 3;
    let a = Arc::new(diagnoser(&cfg));
    let b = Arc::new(diagnoser(&cfg));
    let mut tasks = Vec::new();
    for i in 0..12 {
        let d = if i % 2 == 0 { a.clone() } else { b.clone() };
        let ctx = f.ctx();
        tasks.push(tokio::spawn(
            async move { d.diagnose(&report(), &ctx).await },
        ));
    }
    let mut diagnosed = 0;
    let mut skipped = 0;
    for t in tasks {
        match t.await.unwrap().unwrap() {
            DiagnoseOutcome::Diagnosed(_) => diagnosed += 1,
            DiagnoseOutcome::Skipped { .. } => skipped += 1,
            DiagnoseOutcome::NoMatch => panic!("no match from an LLM"),
        }
    }
    assert_eq!((diagnosed, skipped), (3, 9));
    assert_eq!(f.server.received_requests().await.unwrap().len(), 3);
    assert_eq!(usage(f.store.as_ref()).await.count, 3);
}

/// Through the engine: a provider that keeps failing raises exactly one
/// CRITICAL "diagnosis unavailable" report per streak, and a diagnosis ends
/// the streak.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consecutive_failures_raise_one_critical_report_through_the_engine() {
    let f = fixture().await;
    let p = Provider::Openai;
    let mut dcfg = f.cfg(p);
    dcfg.max_retries = 0;
    let d = Arc::new(diagnoser(&dcfg));
    let mut cfg = flow_doctor_core::Config::new("nightly_etl");
    cfg.diagnosis = dcfg;
    cfg.diagnosis.alert_after_failures = 3;
    let notifier = RecordingNotifier::new();
    let fd = FlowDoctor::builder("nightly_etl")
        .config(&cfg)
        .store(f.store.clone())
        .diagnoser(d)
        .notifier(Arc::new(notifier.clone()))
        .build()
        .unwrap();
    f.mount(p, p.error(503, "server_error", "overloaded")).await;
    let wait = Duration::from_secs(60);
    for i in 0..5 {
        let fd = fd.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            fd.report_message(
                Severity::Error,
                format!("loader failure of kind {}", "x".repeat(i + 1)),
            )
            .wait(wait)
        })
        .await
        .unwrap()
        .expect("processed");
        assert!(outcome.diagnosis.is_none());
    }
    let alerts = |sent: &[flow_doctor_core::Notification]| -> Vec<Report> {
        sent.iter()
            .filter_map(|n| n.report())
            .filter(|r| r.severity == Severity::Critical)
            .cloned()
            .collect()
    };
    let fd2 = fd.clone();
    assert!(
        tokio::task::spawn_blocking(move || fd2.flush(wait))
            .await
            .unwrap()
    );
    let raised = alerts(&notifier.take());
    assert_eq!(raised.len(), 1, "one alert for the streak: {raised:#?}");
    assert!(
        raised[0]
            .message
            .starts_with("diagnosis unavailable for 3 consecutive reports"),
        "{}",
        raised[0].message
    );
    assert!(raised[0].message.contains("503"), "{}", raised[0].message);

    f.server.reset().await;
    f.mount(p, p.ok(ANSWER, 1, 1)).await;
    let fd2 = fd.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        fd2.report_message(Severity::Error, "loader failure after recovery")
            .wait(wait)
    })
    .await
    .unwrap()
    .expect("processed");
    assert_eq!(
        outcome.diagnosis.expect("diagnosed").category,
        Category::Config
    );
    assert_eq!(
        f.store
            .counter_add("diagnosis.unavailable:nightly_etl", 0)
            .await
            .unwrap(),
        0,
        "reset by a diagnosis"
    );
    // A new streak after the reset alerts again, once.
    f.server.reset().await;
    f.mount(p, p.error(500, "server_error", "down")).await;
    for i in 0..4 {
        let fd2 = fd.clone();
        tokio::task::spawn_blocking(move || {
            fd2.report_message(
                Severity::Error,
                format!("second streak {}", "y".repeat(i + 1)),
            )
            .wait(wait)
        })
        .await
        .unwrap()
        .expect("processed");
    }
    let fd2 = fd.clone();
    assert!(
        tokio::task::spawn_blocking(move || fd2.flush(wait))
            .await
            .unwrap()
    );
    assert_eq!(
        alerts(&notifier.take()).len(),
        1,
        "one alert for the second streak"
    );
}

#[tokio::test]
async fn request_bodies_carry_no_planted_secret() {
    const AWS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
    const PASSWORD: &str = "hunter2-Zq8xKw41";
    const BEARER: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJldGwifQ.c2lnbmF0dXJlLXNlY3JldA";
    for p in PROVIDERS {
        let f = fixture().await;
        f.mount(p, p.ok(ANSWER, 10, 10)).await;
        let repo = f.repo.path();
        std::fs::create_dir_all(repo.join("etl")).unwrap();
        std::fs::write(
            repo.join("etl/load.py"),
            format!(
                "import os\n\nAWS_KEY = \"{AWS_KEY}\"\nDSN = \"postgresql://etl:{PASSWORD}@db:5432/wh\"\n\ndef load():\n    dsn = os.environ[\"WAREHOUSE_DSN\"]\n    return dsn\n"
            ),
        )
        .unwrap();
        // The report as the engine would hand it over, before scrubbing.
        let mut r = report();
        r.message = format!("'WAREHOUSE_DSN' (creds {AWS_KEY}, password={PASSWORD})");
        r.frames = vec![Frame {
            file: "etl/load.py".into(),
            function: "load".into(),
            line: Some(6),
            module: None,
            in_app: true,
        }];
        r.logs = vec![LogLine {
            at: chrono::Utc::now(),
            level: "INFO".into(),
            target: "etl".into(),
            message: format!("connecting with key {AWS_KEY}; Authorization: Bearer {BEARER}"),
        }];
        let outcome = diagnoser(&f.cfg(p)).diagnose(&r, &f.ctx()).await.unwrap();
        assert!(matches!(outcome, DiagnoseOutcome::Diagnosed(_)));
        let sent =
            String::from_utf8(f.server.received_requests().await.unwrap()[0].body.clone()).unwrap();
        assert!(sent.contains("def load():"), "the excerpt was sent: {sent}");
        assert!(sent.contains("connecting with key"), "the logs were sent");
        for secret in [AWS_KEY, PASSWORD, BEARER] {
            assert!(!sent.contains(secret), "{p:?}: {secret} leaked: {sent}");
        }
        assert!(!sent.contains(KEY));
    }
}
