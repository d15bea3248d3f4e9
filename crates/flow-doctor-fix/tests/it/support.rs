//! Shared fixtures: a real git repository with a small Python program and a
//! failing test, a bare `origin`, a wiremock GitHub speaking the REST API's
//! JSON, and a wiremock Anthropic Messages endpoint returning a canned diff.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use flow_doctor_core::config::{AutoFixConfig, DiagnosisConfig, LlmProvider, Secret};
use flow_doctor_core::metadata::IssueMetadata;
use flow_doctor_core::model::{Category, Diagnosis, Report, ReportKind, Severity};
use flow_doctor_core::{MemoryStore, Store};
use flow_doctor_diagnosis::llm::LlmClient;
use flow_doctor_fix::github::GithubForge;
use flow_doctor_fix::{FixPipeline, FixRequest};
use git2::{Repository, Signature};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

pub(crate) const REPO: &str = "octo/etl";
pub(crate) const SIGNATURE: &str = "3fa2c1d0e9b84f11";
pub(crate) const ISSUE_TITLE: &str = "[etl] AssertionError: -1 != 3";
/// A token-looking string planted in the issue body; it must never reach the LLM.
pub(crate) const PLANTED_SECRET: &str = "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8";

pub(crate) const CALC_PY: &str =
    "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n";
pub(crate) const TEST_CALC_PY: &str = "import unittest\n\nimport calc\n\n\nclass CalcTest(unittest.TestCase):\n    def test_add(self):\n        self.assertEqual(calc.add(1, 2), 3)\n\n    def test_mul(self):\n        self.assertEqual(calc.mul(2, 3), 6)\n\n\nif __name__ == \"__main__\":\n    unittest.main()\n";

pub(crate) const GOOD_DIFF: &str = "--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,2 @@\n def add(a, b):\n-    return a - b\n+    return a + b\n";

/// The temp directory with the checkout, its bare origin and a sentinel
/// file outside both.
pub(crate) struct Fixture {
    _tmp: tempfile::TempDir,
    pub(crate) work: PathBuf,
    pub(crate) origin: PathBuf,
    pub(crate) sentinel: PathBuf,
    pub(crate) worktrees: PathBuf,
}

impl Fixture {
    pub(crate) fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let work = tmp.path().join("work");
        let origin = tmp.path().join("origin.git");
        let outside = tmp.path().join("outside");
        let worktrees = tmp.path().join("worktrees");
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::create_dir_all(&worktrees).unwrap();
        let sentinel = outside.join("sentinel.txt");
        std::fs::write(&sentinel, "untouched\n").unwrap();

        Repository::init_bare(&origin).unwrap();
        let repo = Repository::init(&work).unwrap();
        std::fs::write(work.join("calc.py"), CALC_PY).unwrap();
        std::fs::write(work.join("test_calc.py"), TEST_CALC_PY).unwrap();
        // A committed symlink to a directory outside the repository.
        std::os::unix::fs::symlink(&outside, work.join("shared")).unwrap();
        let mut index = repo.index().unwrap();
        for p in ["calc.py", "test_calc.py", "shared"] {
            index.add_path(Path::new(p)).unwrap();
        }
        index.write().unwrap();
        let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
        let sig = Signature::now("dev", "dev@example.com").unwrap();
        let c = repo.commit(None, &sig, &sig, "calc", &tree, &[]).unwrap();
        repo.branch("main", &repo.find_commit(c).unwrap(), true)
            .unwrap();
        repo.set_head("refs/heads/main").unwrap();
        repo.remote("origin", origin.to_str().unwrap()).unwrap();
        Self {
            _tmp: tmp,
            work,
            origin,
            sentinel,
            worktrees,
        }
    }

    /// Branches in the bare origin.
    pub(crate) fn origin_branches(&self) -> Vec<String> {
        let repo = Repository::open_bare(&self.origin).unwrap();
        repo.references()
            .unwrap()
            .filter_map(|r| r.ok().and_then(|r| r.name().ok().map(str::to_string)))
            .collect()
    }

    pub(crate) fn sentinel_untouched(&self) -> bool {
        std::fs::read_to_string(&self.sentinel).unwrap() == "untouched\n"
            && std::fs::read_dir(self.sentinel.parent().unwrap())
                .unwrap()
                .count()
                == 1
    }
}

/// Issue metadata as the GitHub notifier renders it.
pub(crate) fn metadata(category: Category, confidence: f64, files: &[&str]) -> IssueMetadata {
    let mut r = Report::new("etl", Severity::Error, ReportKind::Error, "-1 != 3");
    r.signature = SIGNATURE.into();
    r.error_type = Some("AssertionError".into());
    let mut d = Diagnosis::new(category, "add() subtracts instead of adding", confidence);
    d.affected_files = files.iter().map(|s| s.to_string()).collect();
    IssueMetadata::new(&r, Some(&d))
}

pub(crate) fn issue_body(meta: Option<&IssueMetadata>) -> String {
    let mut body = format!(
        "## [etl] AssertionError\n\n```\nTraceback (most recent call last):\n  File \"test_calc.py\", line 8, in test_add\n    self.assertEqual(calc.add(1, 2), 3)\nAssertionError: -1 != 3\n```\n\nLogs: connecting with token {PLANTED_SECRET}\n\n"
    );
    if let Some(m) = meta {
        body.push_str(&m.render());
    }
    body
}

/// A GitHub fake for issue `number` with `title`, `body` and `comments`.
pub(crate) async fn github(
    number: u64,
    title: &str,
    body: &str,
    comments: &[String],
) -> MockServer {
    let server = MockServer::start().await;
    let base = format!("/repos/{REPO}");
    Mock::given(method("GET"))
        .and(path(format!("{base}/issues/{number}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": 1000 + number,
            "number": number,
            "title": title,
            "body": body,
            "state": "open",
            "html_url": format!("https://github.com/{REPO}/issues/{number}"),
            "labels": [{"name": "flow-doctor:fix"}],
        })))
        .mount(&server)
        .await;
    let comment_list: Vec<Value> = comments
        .iter()
        .enumerate()
        .map(|(i, b)| json!({"id": i + 1, "body": b, "html_url": format!("https://github.com/{REPO}/issues/{number}#issuecomment-{}", i + 1)}))
        .collect();
    Mock::given(method("GET"))
        .and(path(format!("{base}/issues/{number}/comments")))
        .respond_with(ResponseTemplate::new(200).set_body_json(Value::Array(comment_list)))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(base.clone()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": 1, "name": "etl", "full_name": REPO, "default_branch": "main"
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{base}/issues/{number}/comments")))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": 99,
            "body": "ok",
            "html_url": format!("https://github.com/{REPO}/issues/{number}#issuecomment-99"),
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{base}/pulls")))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": 5000,
            "number": 42,
            "state": "open",
            "html_url": format!("https://github.com/{REPO}/pull/42"),
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{base}/issues/42/labels")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"id": 1, "name": "flow-doctor", "color": "ededed"}
        ])))
        .mount(&server)
        .await;
    server
}

/// An Anthropic Messages endpoint answering `answer_text`.
pub(crate) async fn anthropic(answer_text: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-5",
            "content": [{"type": "text", "text": answer_text}],
            "stop_reason": "end_turn",
            "stop_sequence": null,
            "usage": {"input_tokens": 1200, "output_tokens": 90}
        })))
        .mount(&server)
        .await;
    server
}

/// A model answer wrapping `diff` the way models do.
pub(crate) fn answer(diff: &str) -> String {
    format!("The bug is in `add`.\n\n```diff\n{diff}```\n")
}

pub(crate) fn auto_fix() -> AutoFixConfig {
    let mut c = AutoFixConfig::default();
    c.enabled = true;
    c.test_command = Some("python3 -m unittest -q".into());
    c.pr_labels = vec!["flow-doctor".into()];
    c
}

pub(crate) fn llm(server: &MockServer) -> LlmClient {
    let mut cfg = DiagnosisConfig::default();
    cfg.provider = LlmProvider::Anthropic;
    cfg.api_key = Some(Secret::new("sk-ant-test-key"));
    cfg.base_url = Some(server.uri());
    cfg.model = Some("claude-sonnet-4-5".into());
    cfg.max_retries = 0;
    LlmClient::from_config(&cfg).unwrap()
}

pub(crate) struct Run {
    pub(crate) outcome: flow_doctor_fix::FixOutcome,
    pub(crate) github: Vec<Request>,
    pub(crate) llm: Vec<Request>,
}

impl Run {
    pub(crate) fn posts_to(&self, suffix: &str) -> Vec<&Request> {
        self.github
            .iter()
            .filter(|r| r.method.as_str() == "POST" && r.url.path().ends_with(suffix))
            .collect()
    }

    pub(crate) fn comment_bodies(&self) -> Vec<String> {
        self.posts_to("/comments")
            .iter()
            .map(|r| {
                r.body_json::<Value>().unwrap()["body"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    }
}

/// How a run is set up.
pub(crate) struct Setup {
    pub(crate) config: AutoFixConfig,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) dry_run: bool,
    /// The issue's title (default [`ISSUE_TITLE`]).
    pub(crate) title: &'static str,
}

impl Default for Setup {
    /// Auto-fix on, a fresh memory store, a real run.
    fn default() -> Self {
        Self {
            config: auto_fix(),
            store: memory_store(),
            dry_run: false,
            title: ISSUE_TITLE,
        }
    }
}

/// Runs the pipeline once against fresh fakes.
pub(crate) async fn run(
    fx: &Fixture,
    number: u64,
    body: &str,
    comments: &[String],
    model_answer: &str,
    setup: Setup,
) -> Run {
    let Setup {
        config,
        store,
        dry_run,
        title,
    } = setup;
    let gh = github(number, title, body, comments).await;
    let ai = anthropic(model_answer).await;
    let forge = GithubForge::new(
        REPO,
        Secret::new("ghp_forgeTokenForTests0123456789abcdefABCD"),
        Some(&gh.uri()),
    )
    .unwrap();
    let pipeline = FixPipeline::new(Arc::new(forge), store, config)
        .model(Arc::new(llm(&ai)))
        .worktree_parent(&fx.worktrees);
    let outcome = pipeline
        .run(&FixRequest::new(number, &fx.work).dry_run(dry_run))
        .await
        .unwrap();
    Run {
        outcome,
        github: gh.received_requests().await.unwrap_or_default(),
        llm: ai.received_requests().await.unwrap_or_default(),
    }
}

pub(crate) fn memory_store() -> Arc<dyn Store> {
    Arc::new(MemoryStore::new())
}
