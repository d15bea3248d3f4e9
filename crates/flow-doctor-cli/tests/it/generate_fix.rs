//! `flow-doctor generate-fix`: the real binary against a real git checkout,
//! a wiremock GitHub and a wiremock Anthropic Messages endpoint.

use std::path::Path;
use std::process::{Command, Output};

use flow_doctor::metadata::IssueMetadata;
use flow_doctor::{Category, Diagnosis, Report, ReportKind, Severity};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "ghp_cliTestToken0123456789abcdefghijklmnop";
const CALC: &str = "def add(a, b):\n    return a - b\n";
const TEST: &str = "import unittest\n\nimport calc\n\n\nclass T(unittest.TestCase):\n    def test_add(self):\n        self.assertEqual(calc.add(1, 2), 3)\n";
const DIFF: &str = "--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,2 @@\n def add(a, b):\n-    return a - b\n+    return a + b\n";

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=dev", "-c", "user.email=dev@example.com"])
        .args(args)
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A checkout with a failing test, a bare origin, and a config pointing at the fakes.
fn checkout(root: &Path, github: &str, llm: &str, enabled: bool) -> std::path::PathBuf {
    let work = root.join("work");
    let origin = root.join("origin.git");
    std::fs::create_dir_all(&work).unwrap();
    git(root, &["init", "-q", "--bare", origin.to_str().unwrap()]);
    git(&work, &["init", "-q", "-b", "main"]);
    std::fs::write(work.join("calc.py"), CALC).unwrap();
    std::fs::write(work.join("test_calc.py"), TEST).unwrap();
    git(&work, &["add", "calc.py", "test_calc.py"]);
    git(&work, &["commit", "-q", "-m", "calc"]);
    git(
        &work,
        &["remote", "add", "origin", origin.to_str().unwrap()],
    );
    let config = format!(
        "flow_name: etl\nrepo: octo/etl\nstore:\n  type: memory\ngithub:\n  base_url: {github}\ndiagnosis:\n  provider: anthropic\n  model: claude-sonnet-4-5\n  api_key: sk-ant-cli-test\n  base_url: {llm}\n  max_retries: 0\nauto_fix:\n  enabled: {enabled}\n  test_command: python3 -m unittest -q\n"
    );
    std::fs::write(work.join("flow-doctor.yaml"), config).unwrap();
    work
}

fn issue_body(confidence: f64) -> String {
    let mut r = Report::new("etl", Severity::Error, ReportKind::Error, "-1 != 3");
    r.signature = "cafe0123beef4567".into();
    let mut d = Diagnosis::new(Category::Code, "add() subtracts", confidence);
    d.affected_files = vec!["calc.py".into()];
    format!(
        "AssertionError: -1 != 3\n\n{}",
        IssueMetadata::new(&r, Some(&d)).render()
    )
}

async fn github(number: u64, body: &str) -> MockServer {
    let server = MockServer::start().await;
    let mount = |m: &'static str, p: String, status: u16, body: Value| {
        Mock::given(method(m))
            .and(path(p))
            .respond_with(ResponseTemplate::new(status).set_body_json(body))
    };
    mount(
        "GET",
        format!("/repos/octo/etl/issues/{number}"),
        200,
        json!({"number": number, "title": "[etl] AssertionError", "body": body, "html_url": "https://github.com/octo/etl/issues/1"}),
    )
    .mount(&server)
    .await;
    mount(
        "GET",
        format!("/repos/octo/etl/issues/{number}/comments"),
        200,
        json!([]),
    )
    .mount(&server)
    .await;
    mount(
        "GET",
        "/repos/octo/etl".into(),
        200,
        json!({"default_branch": "main"}),
    )
    .mount(&server)
    .await;
    mount(
        "POST",
        format!("/repos/octo/etl/issues/{number}/comments"),
        201,
        json!({"id": 1, "body": "x", "html_url": "https://github.com/octo/etl/issues/1#c1"}),
    )
    .mount(&server)
    .await;
    server
}

async fn anthropic() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
            "content": [{"type": "text", "text": format!("```diff\n{DIFF}```")}],
            "stop_reason": "end_turn", "usage": {"input_tokens": 500, "output_tokens": 40}
        })))
        .mount(&server)
        .await;
    server
}

fn generate_fix(work: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_flow-doctor"));
    cmd.current_dir(work)
        .env_clear()
        .env("GITHUB_TOKEN", TOKEN)
        .arg("generate-fix")
        .args(args);
    if let Some(p) = std::env::var_os("PATH") {
        cmd.env("PATH", p);
    }
    cmd.output().expect("run flow-doctor")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_prints_the_diff_and_the_would_be_pr_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let gh = github(3, &issue_body(0.95)).await;
    let ai = anthropic().await;
    let work = checkout(tmp.path(), &gh.uri(), &ai.uri(), true);
    let out = generate_fix(&work, &["--issue-number", "3", "--dry-run"]);
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "stdout:\n{stdout}\nstderr:\n{}",
        text(&out.stderr)
    );
    assert!(
        stdout.contains("dry run: the fix applied and the tests passed"),
        "{stdout}"
    );
    assert!(stdout.contains("+    return a + b"), "{stdout}");
    assert!(
        stdout.contains("would open a pull request flow-doctor/fix-3-cafe0123 -> main"),
        "{stdout}"
    );
    assert!(stdout.contains("Fixes #3"), "{stdout}");
    assert!(!stdout.contains(TOKEN) && !text(&out.stderr).contains(TOKEN));
    let writes: Vec<_> = gh
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() != "GET")
        .collect();
    assert!(writes.is_empty(), "dry run wrote to GitHub");
    let heads = tmp.path().join("origin.git/refs/heads");
    assert_eq!(std::fs::read_dir(heads).map(|d| d.count()).unwrap_or(0), 0);
    assert_eq!(std::fs::read_to_string(work.join("calc.py")).unwrap(), CALC);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_comments_and_exits_2_as_json() {
    let tmp = tempfile::tempdir().unwrap();
    let gh = github(4, &issue_body(0.95)).await;
    let ai = anthropic().await;
    let work = checkout(tmp.path(), &gh.uri(), &ai.uri(), false);
    let out = generate_fix(
        &work,
        &["--issue-number", "4", "--repo", "octo/etl", "--json"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["attempt"]["status"], "refused");
    assert_eq!(v["attempt"]["step"], "enabled");
    assert_eq!(v["comment_url"], "https://github.com/octo/etl/issues/1#c1");
    let posted: Vec<_> = gh
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() == "POST")
        .collect();
    assert_eq!(posted.len(), 1);
    let body: Value = posted[0].body_json().unwrap();
    assert!(
        body["body"]
            .as_str()
            .unwrap()
            .contains("refused at the `enabled` gate")
    );
    assert!(ai.received_requests().await.unwrap().is_empty());
}

#[test]
fn a_missing_token_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_flow-doctor"));
    let out = cmd
        .current_dir(tmp.path())
        .env_clear()
        .env("FLOW_DOCTOR_FLOW", "etl")
        .args(["generate-fix", "--issue-number", "1", "--repo", "o/r"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no GitHub token"),
        "{}",
        text(&out.stderr)
    );
}
