//! End-to-end runs of the fix pipeline with real parts.

use flow_doctor_core::MemoryStore;
use flow_doctor_core::model::{Category, FixStatus};
use flow_doctor_core::store::BudgetUsage;
use git2::Repository;
use serde_json::Value;

use crate::support::*;

fn good_body() -> String {
    issue_body(Some(&metadata(Category::Code, 0.93, &["calc.py"])))
}

/// Acceptance 1: the fix passes the tests, the PR request names the right
/// head and base, and the pushed branch is in the bare origin with the fix.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fix_that_passes_the_tests_is_pushed_and_opened_as_a_pr() {
    let fx = Fixture::new();
    let store = memory_store();
    let run = run(
        &fx,
        7,
        &good_body(),
        &[],
        &answer(GOOD_DIFF),
        Setup {
            store: store.clone(),
            ..Setup::default()
        },
    )
    .await;
    let o = &run.outcome;
    assert_eq!(
        o.attempt.status,
        FixStatus::Succeeded,
        "{:?} {:?}",
        o.attempt,
        o.warnings
    );
    assert!(o.warnings.is_empty(), "{:?}", o.warnings);
    assert!(o.tests.as_ref().unwrap().status.passed());
    let branch = format!("flow-doctor/fix-7-{}", &SIGNATURE[..8]);
    assert_eq!(o.attempt.branch.as_deref(), Some(branch.as_str()));

    // The PR request.
    let pulls = run.posts_to("/pulls");
    assert_eq!(pulls.len(), 1);
    let pr: Value = pulls[0].body_json().unwrap();
    assert_eq!(pr["head"], branch.as_str());
    assert_eq!(pr["base"], "main");
    assert_eq!(pr["title"], format!("Fix: {ISSUE_TITLE}"));
    let body = pr["body"].as_str().unwrap();
    assert!(body.starts_with("Fixes #7\n"), "{body}");
    assert!(body.contains("add() subtracts instead of adding"));
    assert!(
        body.contains("-    return a - b\n+    return a + b"),
        "{body}"
    );
    assert!(body.contains("`python3 -m unittest -q` passed"), "{body}");
    // Labels on the PR, then a comment on the issue linking it.
    let labels: Value = run.posts_to("/issues/42/labels")[0].body_json().unwrap();
    assert_eq!(labels["labels"], serde_json::json!(["flow-doctor"]));
    let comments = run.comment_bodies();
    assert_eq!(comments.len(), 1);
    assert!(comments[0].contains("https://github.com/octo/etl/pull/42"));
    assert_eq!(
        o.attempt.pr_url.as_deref(),
        Some("https://github.com/octo/etl/pull/42")
    );

    // The branch is in the bare origin, with the fix commit on top of main.
    let origin = Repository::open_bare(&fx.origin).unwrap();
    let tip = origin
        .find_reference(&format!("refs/heads/{branch}"))
        .unwrap()
        .peel_to_commit()
        .unwrap();
    assert!(
        tip.message()
            .unwrap()
            .starts_with(&format!("Fix: {ISSUE_TITLE}"))
    );
    assert_eq!(
        tip.author().email().ok(),
        Some("flow-doctor@users.noreply.github.com")
    );
    let blob = tip
        .tree()
        .unwrap()
        .get_path("calc.py".as_ref())
        .unwrap()
        .to_object(&origin)
        .unwrap();
    let fixed = std::str::from_utf8(blob.as_blob().unwrap().content())
        .unwrap()
        .to_string();
    assert!(fixed.contains("return a + b"));
    let work = Repository::open(&fx.work).unwrap();
    let main = work
        .find_reference("refs/heads/main")
        .unwrap()
        .peel_to_commit()
        .unwrap();
    assert_eq!(tip.parent_id(0).unwrap(), main.id());

    // The checkout is untouched and the worktree is gone.
    assert_eq!(
        std::fs::read_to_string(fx.work.join("calc.py")).unwrap(),
        CALC_PY
    );
    assert_eq!(work.worktrees().unwrap().len(), 0);
    assert_eq!(std::fs::read_dir(&fx.worktrees).unwrap().count(), 0);

    // The prompt was scrubbed, and carried the file and the traceback.
    assert_eq!(run.llm.len(), 1);
    let sent = String::from_utf8_lossy(&run.llm[0].body).into_owned();
    assert!(!sent.contains(PLANTED_SECRET), "secret reached the LLM");
    assert!(sent.contains("return a - b"));
    assert!(sent.contains("AssertionError: -1 != 3"));
    assert!(!o.prompt.as_deref().unwrap().contains(PLANTED_SECRET));

    // One attempt recorded; the LLM cost is in the budget ledger.
    let attempts = store.fix_attempts(SIGNATURE).await.unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].status, FixStatus::Succeeded);
    assert!(
        attempts[0]
            .reason
            .contains("LLM claude-sonnet-4-5: 1200 in / 90 out tokens"),
        "{}",
        attempts[0].reason
    );
    let day = chrono::Utc::now()
        .date_naive()
        .and_time(chrono::NaiveTime::MIN)
        .and_utc();
    let usage: BudgetUsage = store.budget_usage("fix", day).await.unwrap();
    assert_eq!(usage.count, 1);
    assert_eq!(usage.tokens.input, 1200);
    assert!(usage.cost_usd > 0.0);
}

/// Acceptance 2: diffs reaching outside the repository, into denied paths
/// or through symlinks are rejected before anything is applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_scope_diffs_are_rejected_before_anything_is_applied() {
    let fx = Fixture::new();
    let abs = fx.sentinel.to_string_lossy().into_owned();
    // Each diff also carries the good change to calc.py, which must not be applied either.
    let cases: Vec<(String, &str)> = vec![
        (
            "--- a/../../../outside/sentinel.txt\n+++ b/../../../outside/sentinel.txt\n@@ -1 +1 @@\n-untouched\n+pwned\n".into(),
            "`..` component",
        ),
        (
            format!("--- a/{abs}\n+++ b/{abs}\n@@ -1 +1 @@\n-untouched\n+pwned\n"),
            "absolute path",
        ),
        (
            "--- /dev/null\n+++ b/.github/workflows/pwn.yml\n@@ -0,0 +1 @@\n+on: push\n".into(),
            "`auto_fix.scope.deny` entry `.github/**`",
        ),
        (
            "--- a/shared/sentinel.txt\n+++ b/shared/sentinel.txt\n@@ -1 +1 @@\n-untouched\n+pwned\n".into(),
            "symbolic link",
        ),
        (
            "diff --git a/link b/link\nnew file mode 120000\n--- /dev/null\n+++ b/link\n@@ -0,0 +1 @@\n+../outside/sentinel.txt\n".into(),
            "mode 120000",
        ),
    ];
    for (i, (bad, why)) in cases.iter().enumerate() {
        let number = 20 + i as u64;
        let diff = format!("{GOOD_DIFF}{bad}");
        let store = memory_store();
        let run = run(
            &fx,
            number,
            &good_body(),
            &[],
            &answer(&diff),
            Setup {
                store: store.clone(),
                ..Setup::default()
            },
        )
        .await;
        let o = &run.outcome;
        assert_eq!(o.attempt.status, FixStatus::Failed, "case {why}");
        assert_eq!(
            o.attempt.step, "scope_guard",
            "case {why}: {}",
            o.attempt.reason
        );
        assert!(
            o.attempt.reason.contains(why),
            "case {why}: {}",
            o.attempt.reason
        );
        assert!(
            o.changes.is_empty() && o.tests.is_none(),
            "case {why}: applied or tested"
        );
        assert!(run.posts_to("/pulls").is_empty());
        let comments = run.comment_bodies();
        assert_eq!(comments.len(), 1);
        assert!(
            comments[0].contains("the `scope_guard` step failed"),
            "{}",
            comments[0]
        );
        assert!(
            fx.sentinel_untouched(),
            "case {why}: the sentinel was written"
        );
        assert_eq!(fx.origin_branches(), Vec::<String>::new());
        assert_eq!(
            std::fs::read_to_string(fx.work.join("calc.py")).unwrap(),
            CALC_PY
        );
        assert_eq!(
            store.fix_attempts(SIGNATURE).await.unwrap()[0].step,
            "scope_guard"
        );
    }
    assert_eq!(std::fs::read_dir(&fx.worktrees).unwrap().count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fix_that_fails_the_tests_gets_a_comment_and_no_pr() {
    let fx = Fixture::new();
    let wrong = "--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,2 @@\n def add(a, b):\n-    return a - b\n+    return a * b\n";
    let run = run(&fx, 8, &good_body(), &[], &answer(wrong), Setup::default()).await;
    let o = &run.outcome;
    assert_eq!(
        (o.attempt.status, o.attempt.step.as_str()),
        (FixStatus::Failed, "tests")
    );
    assert!(!o.tests.as_ref().unwrap().status.passed());
    assert!(run.posts_to("/pulls").is_empty());
    let comments = run.comment_bodies();
    assert_eq!(comments.len(), 1);
    let c = &comments[0];
    assert!(c.contains("the `tests` step failed"), "{c}");
    assert!(
        c.contains("AssertionError: 2 != 3"),
        "output tail missing: {c}"
    );
    assert!(
        c.contains("+    return a * b"),
        "proposed diff missing: {c}"
    );
    assert!(c.contains("<!-- flow-doctor:fix-attempt"), "{c}");
    assert_eq!(fx.origin_branches(), Vec::<String>::new());
    let work = Repository::open(&fx.work).unwrap();
    assert!(
        work.find_branch(&o.attempt.branch.clone().unwrap(), git2::BranchType::Local)
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_in_the_test_output_are_scrubbed_from_the_pr_the_comment_and_the_dry_run() {
    let fx = Fixture::new();
    let wrong = "--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,2 @@\n def add(a, b):\n-    return a - b\n+    return a * b\n";
    for (number, diff, passes, dry_run) in [
        (21, GOOD_DIFF, true, false),
        (22, wrong, false, false),
        (23, GOOD_DIFF, true, true),
    ] {
        let mut config = auto_fix();
        config.test_command = Some(format!(
            "echo 'connecting with token {PLANTED_SECRET}'; python3 -m unittest -q"
        ));
        let run = run(
            &fx,
            number,
            &good_body(),
            &[],
            &answer(diff),
            Setup {
                config,
                dry_run,
                ..Setup::default()
            },
        )
        .await;
        let o = &run.outcome;
        let tests = o.tests.as_ref().unwrap();
        assert_eq!(tests.status.passed(), passes);
        // The outcome itself (printed by `generate-fix`, in CI logs).
        assert!(
            !tests.output.contains(PLANTED_SECRET),
            "secret in the outcome: {}",
            tests.output
        );
        assert!(
            tests.output.contains("connecting with token"),
            "{}",
            tests.output
        );
        let shown: Vec<String> = if dry_run {
            vec![o.draft.as_ref().unwrap().body.clone()]
        } else if passes {
            let pr: Value = run.posts_to("/pulls")[0].body_json().unwrap();
            vec![pr["body"].as_str().unwrap().to_string()]
        } else {
            run.comment_bodies()
        };
        assert_eq!(shown.len(), 1, "{shown:?}");
        let text = &shown[0];
        assert!(
            text.contains("connecting with token"),
            "the output tail is there: {text}"
        );
        assert!(!text.contains(PLANTED_SECRET), "secret shown: {text}");
        assert!(text.contains("[REDACTED"), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hunk_that_does_not_apply_is_shown() {
    let fx = Fixture::new();
    let stale = "--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,2 @@\n def add(x, y):\n-    return x - y\n+    return x + y\n";
    let run = run(&fx, 9, &good_body(), &[], &answer(stale), Setup::default()).await;
    let o = &run.outcome;
    assert_eq!(
        (o.attempt.status, o.attempt.step.as_str()),
        (FixStatus::Failed, "apply")
    );
    assert!(
        o.attempt.reason.contains("-    return x - y"),
        "{}",
        o.attempt.reason
    );
    assert!(run.comment_bodies()[0].contains("hunk 1 of `calc.py` does not apply"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_failure_naming_a_secret_in_its_title_is_refused_before_the_llm() {
    let fx = Fixture::new();
    let mut meta = metadata(Category::Config, 0.97, &["settings.py"]);
    meta.root_cause = Some("A required environment variable is not set.".into());
    let run = run(
        &fx,
        14,
        &issue_body(Some(&meta)),
        &[],
        &answer(GOOD_DIFF),
        Setup {
            title: "[etl] KeyError: 'DB_PASSWORD'",
            ..Setup::default()
        },
    )
    .await;
    let o = &run.outcome;
    assert_eq!(
        (o.attempt.status, o.attempt.step.as_str()),
        (FixStatus::Refused, "credentials")
    );
    assert!(
        run.llm.is_empty(),
        "the LLM was called for a refused request"
    );
    let comments = run.comment_bodies();
    assert_eq!(comments.len(), 1);
    assert!(comments[0].contains("`PASSWORD`"), "{}", comments[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn low_confidence_and_infra_are_refused_with_a_comment_and_no_llm_call() {
    let fx = Fixture::new();
    for (number, meta, step) in [
        (
            11,
            metadata(Category::Code, 0.62, &["calc.py"]),
            "confidence",
        ),
        (
            12,
            metadata(Category::Infra, 0.97, &["calc.py"]),
            "category",
        ),
        (
            13,
            metadata(Category::External, 0.97, &["calc.py"]),
            "category",
        ),
    ] {
        let store = memory_store();
        let run = run(
            &fx,
            number,
            &issue_body(Some(&meta)),
            &[],
            &answer(GOOD_DIFF),
            Setup {
                store: store.clone(),
                ..Setup::default()
            },
        )
        .await;
        let o = &run.outcome;
        assert_eq!(
            (o.attempt.status, o.attempt.step.as_str()),
            (FixStatus::Refused, step)
        );
        assert!(
            run.llm.is_empty(),
            "the LLM was called for a refused request"
        );
        let comments = run.comment_bodies();
        assert_eq!(comments.len(), 1);
        assert!(
            comments[0].contains(&format!("refused at the `{step}` gate")),
            "{}",
            comments[0]
        );
        assert_eq!(
            store.fix_attempts(SIGNATURE).await.unwrap()[0].status,
            FixStatus::Refused
        );
    }
    assert_eq!(fx.origin_branches(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_or_malformed_metadata_is_refused_with_a_comment() {
    let fx = Fixture::new();
    for (number, body, says) in [
        (14, issue_body(None), "no flow-doctor metadata block"),
        (
            15,
            format!(
                "{}<!-- flow-doctor:metadata\n{{\"version\":1,\"signature\":\n-->",
                issue_body(None)
            ),
            "malformed",
        ),
    ] {
        let run = run(
            &fx,
            number,
            &body,
            &[],
            &answer(GOOD_DIFF),
            Setup::default(),
        )
        .await;
        let o = &run.outcome;
        assert_eq!(
            (o.attempt.status, o.attempt.step.as_str()),
            (FixStatus::Refused, "metadata")
        );
        let comments = run.comment_bodies();
        assert_eq!(comments.len(), 1);
        assert!(comments[0].contains(says), "{}", comments[0]);
        assert!(comments[0].contains("refused at the `metadata` gate"));
        assert!(run.llm.is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_pushes_opens_and_comments_nothing() {
    let fx = Fixture::new();
    let store = memory_store();
    let run = run(
        &fx,
        16,
        &good_body(),
        &[],
        &answer(GOOD_DIFF),
        Setup {
            config: auto_fix(),
            store: store.clone(),
            dry_run: true,
            title: ISSUE_TITLE,
        },
    )
    .await;
    let o = &run.outcome;
    assert_eq!(
        (o.attempt.status, o.attempt.step.as_str()),
        (FixStatus::DryRun, "dry_run")
    );
    assert!(o.tests.as_ref().unwrap().status.passed());
    let draft = o.draft.as_ref().unwrap();
    assert_eq!(draft.base, "main");
    assert_eq!(
        draft.head,
        format!("flow-doctor/fix-16-{}", &SIGNATURE[..8])
    );
    assert!(draft.body.contains("Fixes #16"));
    assert!(o.diff.as_deref().unwrap().contains("+    return a + b"));
    assert!(o.pull_request.is_none());
    let posts: Vec<_> = run
        .github
        .iter()
        .filter(|r| r.method.as_str() != "GET")
        .collect();
    assert!(
        posts.is_empty(),
        "a dry run wrote to GitHub: {:?}",
        posts.iter().map(|r| r.url.path()).collect::<Vec<_>>()
    );
    assert_eq!(fx.origin_branches(), Vec::<String>::new());
    let work = Repository::open(&fx.work).unwrap();
    assert!(
        work.find_branch(&draft.head, git2::BranchType::Local)
            .is_err()
    );
    assert_eq!(
        store.fix_attempts(SIGNATURE).await.unwrap()[0].status,
        FixStatus::DryRun
    );
}

/// No retry loops, even when each run starts with an empty store (a CI
/// runner): the failure marker in the issue's comments blocks the next run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_attempt_blocks_the_next_run_without_a_shared_store() {
    let fx = Fixture::new();
    let wrong = "--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,2 @@\n def add(a, b):\n-    return a - b\n+    return a * b\n";
    let first = run(&fx, 17, &good_body(), &[], &answer(wrong), Setup::default()).await;
    assert_eq!(first.outcome.attempt.status, FixStatus::Failed);
    let comments = first.comment_bodies();
    let second = run(
        &fx,
        17,
        &good_body(),
        &comments,
        &answer(GOOD_DIFF),
        Setup::default(),
    )
    .await;
    let o = &second.outcome;
    assert_eq!(
        (o.attempt.status, o.attempt.step.as_str()),
        (FixStatus::Refused, "previous_attempt")
    );
    assert!(
        o.attempt.reason.contains("failed at `tests`"),
        "{}",
        o.attempt.reason
    );
    assert!(second.llm.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_budget_is_a_gate() {
    let fx = Fixture::new();
    let store = std::sync::Arc::new(MemoryStore::new());
    let mut cfg = auto_fix();
    cfg.max_fixes_per_day = 1;
    let first = run(
        &fx,
        18,
        &good_body(),
        &[],
        &answer(GOOD_DIFF),
        Setup {
            config: cfg.clone(),
            store: store.clone(),
            dry_run: true,
            title: ISSUE_TITLE,
        },
    )
    .await;
    assert_eq!(first.outcome.attempt.status, FixStatus::DryRun);
    let second = run(
        &fx,
        18,
        &good_body(),
        &[],
        &answer(GOOD_DIFF),
        Setup {
            config: cfg,
            store: store.clone(),
            dry_run: true,
            title: ISSUE_TITLE,
        },
    )
    .await;
    let o = &second.outcome;
    assert_eq!(
        (o.attempt.status, o.attempt.step.as_str()),
        (FixStatus::Refused, "budget")
    );
    assert!(second.llm.is_empty());
}
