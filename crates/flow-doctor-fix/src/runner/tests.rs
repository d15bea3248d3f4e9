//! Tests of the test-command runner with real shells.

use super::*;

const LONG: Duration = Duration::from_secs(120);

#[tokio::test]
async fn passing_and_failing_commands_with_output() {
    let dir = tempfile::tempdir().unwrap();
    let ok = run_tests("echo out; echo err >&2", dir.path(), LONG)
        .await
        .unwrap();
    assert_eq!(ok.status, TestStatus::Passed);
    assert!(
        ok.output.contains("out") && ok.output.contains("err"),
        "{}",
        ok.output
    );
    let bad = run_tests("echo FAILED test_add; exit 3", dir.path(), LONG)
        .await
        .unwrap();
    assert_eq!(bad.status, TestStatus::Failed(3));
    assert_eq!(bad.tail(1), "FAILED test_add");
    assert_eq!(bad.status.to_string(), "failed (exit status 3)");
}

#[tokio::test]
async fn runs_in_the_given_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("marker.txt"), "here").unwrap();
    let run = run_tests("cat marker.txt", dir.path(), LONG).await.unwrap();
    assert_eq!(run.output, "here");
}

#[tokio::test]
async fn timeout_kills_the_whole_process_group() {
    let dir = tempfile::tempdir().unwrap();
    // A grandchild in the background writes its pid, then everything sleeps.
    let run = run_tests(
        "sleep 300 & echo $! > child.pid; sleep 300",
        dir.path(),
        Duration::from_secs(1),
    )
    .await
    .unwrap();
    assert_eq!(run.status, TestStatus::TimedOut);
    let pid = std::fs::read_to_string(dir.path().join("child.pid")).unwrap();
    let stat = std::path::PathBuf::from(format!("/proc/{}/stat", pid.trim()));
    // SIGKILL is delivered at once but a loaded machine may take a moment to
    // schedule the exit: the grandchild must be gone (or a zombie waiting
    // for init) within a few seconds, where without the group kill it would
    // sleep for five minutes.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let alive = std::fs::read_to_string(&stat)
            .map(|s| !s.contains(") Z ") && !s.contains(") X "))
            .unwrap_or(false);
        if !alive {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "grandchild {} survived the timeout by 10 s",
            pid.trim()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn secrets_are_not_inherited() {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("PATH", std::env::var("PATH").unwrap_or_default()),
        ("GITHUB_TOKEN", "ghp_secret".into()),
        ("FLOW_DOCTOR_X", "x".into()),
        ("ANTHROPIC_API_KEY", "sk-ant".into()),
        ("LANG_HINT", "kept".into()),
    ]
    .map(|(k, v)| (k.into(), v.into()));
    let run = run_tests_in_env(
        "echo \"[${GITHUB_TOKEN:-unset}] [${FLOW_DOCTOR_X:-unset}] [${ANTHROPIC_API_KEY:-unset}] [${LANG_HINT:-unset}]\"",
        dir.path(),
        LONG,
        env,
    )
    .await
    .unwrap();
    assert_eq!(run.output.trim(), "[unset] [unset] [unset] [kept]");
    assert!(is_secret_env("github_token"));
    assert!(is_secret_env("AWS_SECRET_ACCESS_KEY"));
    assert!(!is_secret_env("PATH"));
    assert!(!is_secret_env("HOME"));
}

#[tokio::test]
async fn output_keeps_only_the_tail() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_tests(
        "i=0; while [ $i -lt 20000 ]; do echo line-$i; i=$((i+1)); done",
        dir.path(),
        LONG,
    )
    .await
    .unwrap();
    assert!(run.truncated);
    assert!(run.output.len() <= OUTPUT_KEEP_BYTES);
    assert_eq!(run.tail(1), "line-19999");
}
