//! The remediator with the local executor: dry run (acceptance 2), real runs,
//! failures, timeouts and output capture.

use std::time::Duration;

use flow_doctor_core::config::RemediationConfig;
use flow_doctor_core::{ActionKind, ActionStatus, Category, Clock, Remediator, Store};
use flow_doctor_remediation::{
    ActionType, ExecutionRef, Gate, Playbook, PlaybookAction, PlaybookRemediator, Playbooks,
};

use crate::support::{clock, context, diagnosis, report};

fn remediator(action: PlaybookAction) -> PlaybookRemediator {
    let playbook = Playbook::builder("fix-it")
        .category(Category::Infra)
        .message_regex("Connection refused")
        .unwrap()
        .action(action.safe_to_auto_run(true))
        .build()
        .unwrap();
    let gate = Gate::new(&RemediationConfig::default(), None).unwrap();
    PlaybookRemediator::new(Playbooks::new().with(playbook).unwrap(), gate).unwrap()
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

#[tokio::test]
async fn dry_run_records_the_planned_commands_and_runs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let command = format!("touch {}", shell_quote(&marker.display().to_string()));
    let rem = remediator(PlaybookAction::local(
        ActionType::RunCommand,
        [command.clone()],
    ));
    assert!(rem.is_dry_run(), "dry run is the default");
    let clock = clock();
    let (_store, ctx) = context(&clock);
    let r = report("etl", "db: Connection refused");

    let actions = rem
        .remediate(&r, &diagnosis(Category::Infra, 0.95), &ctx)
        .await
        .unwrap();
    assert_eq!(actions.len(), 1);
    let a = &actions[0];
    assert_eq!(a.kind, ActionKind::Remediate);
    assert_eq!(a.status, ActionStatus::DryRun);
    assert_eq!(a.target, "fix-it");
    assert_eq!(a.started_at, clock.now());
    assert!(
        a.detail
            .starts_with("dry run: would run run_command via local on this host"),
        "{}",
        a.detail
    );
    assert!(a.detail.contains(&command), "{}", a.detail);
    assert_eq!(a.data["route"], "auto_remediate");
    assert_eq!(a.data["dry_run"], true);
    assert_eq!(a.data["plan"]["commands"][0], command.as_str());
    assert_eq!(a.data["plan"]["executor"], "local");
    assert_eq!(a.data["plan"]["target"]["kind"], "host");
    assert!(!marker.exists(), "a dry run must not run the command");

    // The same remediator with dry run off runs it.
    let rem = remediator(PlaybookAction::local(ActionType::RunCommand, [command])).dry_run(false);
    let actions = rem
        .remediate(&r, &diagnosis(Category::Infra, 0.95), &ctx)
        .await
        .unwrap();
    assert_eq!(
        actions[0].status,
        ActionStatus::Succeeded,
        "{}",
        actions[0].detail
    );
    assert!(marker.exists(), "a real run runs the command");
}

#[tokio::test]
async fn a_real_run_records_exit_status_output_and_the_report_environment() {
    let rem = remediator(PlaybookAction::local(
        ActionType::RestartService,
        [
            "echo restarting $FLOW_DOCTOR_FLOW for $FLOW_DOCTOR_PLAYBOOK",
            "echo second step >&2",
        ],
    ))
    .dry_run(false);
    let clock = clock();
    let (store, ctx) = context(&clock);
    let r = report("etl-nightly", "Connection refused");
    let a = rem
        .remediate(&r, &diagnosis(Category::Infra, 0.95), &ctx)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(a.status, ActionStatus::Succeeded, "{}", a.detail);
    assert!(
        a.detail.ends_with(": succeeded (2 commands)"),
        "{}",
        a.detail
    );
    let cmds = a.data["result"]["commands"].as_array().unwrap();
    assert_eq!(cmds[0]["exit_code"], 0);
    assert_eq!(
        cmds[0]["stdout_tail"],
        "restarting etl-nightly for fix-it\n"
    );
    assert_eq!(cmds[1]["stderr_tail"], "second step\n");

    // The attempt was recorded as pending before it ran (the engine replaces
    // it by id with the returned action).
    let stored = store
        .actions(&flow_doctor_core::store::ActionQuery::default())
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].id, a.id);
    assert_eq!(stored[0].status, ActionStatus::Pending);
}

#[tokio::test]
async fn a_failing_command_stops_the_action_and_says_why() {
    let rem = remediator(PlaybookAction::local(
        ActionType::ClearCache,
        ["true", "echo cache is locked >&2; exit 3", "echo never"],
    ))
    .dry_run(false);
    let clock = clock();
    let (_store, ctx) = context(&clock);
    let a = rem
        .remediate(
            &report("etl", "Connection refused"),
            &diagnosis(Category::Infra, 0.99),
            &ctx,
        )
        .await
        .unwrap()
        .remove(0);
    assert_eq!(a.status, ActionStatus::Failed);
    assert!(
        a.detail.ends_with("command 2 of 3 `echo cache is locked >&2; exit 3` exited with status 3: cache is locked"),
        "{}",
        a.detail
    );
    assert_eq!(a.data["result"]["commands"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_command_past_its_timeout_is_killed_with_its_children() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    // The shell starts a child, records its pid and waits for it.
    let command = format!(
        "sleep 300 & echo $! > {}; wait",
        shell_quote(&pid_file.display().to_string())
    );
    let rem = remediator(
        PlaybookAction::local(ActionType::RunCommand, [command]).timeout(Duration::from_secs(1)),
    )
    .dry_run(false);
    let clock = clock();
    let (_store, ctx) = context(&clock);
    let a = rem
        .remediate(
            &report("etl", "Connection refused"),
            &diagnosis(Category::Infra, 0.99),
            &ctx,
        )
        .await
        .unwrap()
        .remove(0);
    assert_eq!(a.status, ActionStatus::Failed);
    assert!(
        a.detail.ends_with("timed out after 1s and was killed"),
        "{}",
        a.detail
    );
    assert_eq!(a.data["result"]["commands"][0]["timed_out"], true);
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let proc_dir = std::path::Path::new("/proc").join(pid.trim());
    // SIGKILL is delivered asynchronously: on a loaded machine the child may
    // still be scheduled for a moment. Dead means gone or a zombie; a child
    // that survived keeps sleeping for 300 s and this gives up long before.
    let dead = || {
        std::fs::read_to_string(proc_dir.join("stat"))
            .map(|s| s.contains(") Z") || s.contains(") X"))
            .unwrap_or(true)
    };
    let mut waited = 0;
    while !dead() && waited < 200 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += 1;
    }
    assert!(dead(), "the background child {pid} survived the timeout");
}

#[tokio::test]
async fn only_the_tail_of_long_output_is_kept() {
    let rem = remediator(PlaybookAction::local(
        ActionType::RunCommand,
        ["i=0; while [ $i -lt 2000 ]; do echo line-$i; i=$((i+1)); done"],
    ))
    .dry_run(false)
    .local_executor(flow_doctor_remediation::LocalExecutor::new().output_tail(64));
    let clock = clock();
    let (_store, ctx) = context(&clock);
    let a = rem
        .remediate(
            &report("etl", "Connection refused"),
            &diagnosis(Category::Infra, 0.99),
            &ctx,
        )
        .await
        .unwrap()
        .remove(0);
    let tail = a.data["result"]["commands"][0]["stdout_tail"]
        .as_str()
        .unwrap();
    assert!(tail.starts_with('…'), "{tail}");
    assert!(tail.ends_with("line-1999\n"), "{tail}");
    assert!(tail.len() <= 64 + '…'.len_utf8(), "{} bytes", tail.len());
}

#[tokio::test]
async fn below_the_threshold_nothing_runs_and_the_action_says_escalated() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let rem = remediator(PlaybookAction::local(
        ActionType::RunCommand,
        [format!(
            "touch {}",
            shell_quote(&marker.display().to_string())
        )],
    ))
    .dry_run(false);
    let clock = clock();
    let (_store, ctx) = context(&clock);
    let a = rem
        .remediate(
            &report("etl", "Connection refused"),
            &diagnosis(Category::Infra, 0.80),
            &ctx,
        )
        .await
        .unwrap()
        .remove(0);
    assert_eq!(a.status, ActionStatus::Skipped);
    assert_eq!(
        a.detail,
        "escalated: confidence 0.80 below auto-remediate threshold 0.90"
    );
    assert_eq!(a.data["route"], "escalate");
    assert_eq!(a.data["playbook"], "fix-it");
    assert!(!marker.exists());

    // No playbook matches a different message: escalated, target `playbooks`.
    let a = rem
        .remediate(
            &report("etl", "disk full"),
            &diagnosis(Category::Infra, 0.99),
            &ctx,
        )
        .await
        .unwrap()
        .remove(0);
    assert_eq!(a.detail, "escalated: no playbook matches");
    assert_eq!(a.target, "playbooks");
}

#[tokio::test]
async fn a_redrive_without_the_execution_arn_in_the_context_escalates() {
    let playbook = Playbook::builder("redrive")
        .action(
            PlaybookAction::redrive_execution(ExecutionRef::Context("execution_arn".into()))
                .safe_to_auto_run(true),
        )
        .build()
        .unwrap();
    let gate = Gate::new(&RemediationConfig::default(), None).unwrap();
    let built = PlaybookRemediator::new(Playbooks::new().with(playbook).unwrap(), gate);
    if !cfg!(feature = "aws") {
        let err = built.unwrap_err().to_string();
        assert!(
            err.contains("needs flow-doctor built with the `aws` feature"),
            "{err}"
        );
        return;
    }
    let rem = built.unwrap();
    let clock = clock();
    let (_store, ctx) = context(&clock);
    let mut r = report("orders", "States.TaskFailed");
    let a = rem
        .remediate(&r, &diagnosis(Category::External, 0.95), &ctx)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(a.status, ActionStatus::Skipped);
    assert_eq!(
        a.detail,
        "escalated: playbook `redrive` needs the execution ARN in report context key `execution_arn`, which the report does not have"
    );
    // With the key, the dry run plans the redrive of that execution.
    let arn = "arn:aws:states:us-east-1:123456789012:execution:orders:run-7";
    r.context.insert("execution_arn".into(), arn.into());
    let a = rem
        .remediate(&r, &diagnosis(Category::External, 0.95), &ctx)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(a.status, ActionStatus::DryRun);
    assert_eq!(a.data["plan"]["target"]["execution_arn"], arn);
    assert_eq!(a.data["plan"]["executor"], "step_functions");
}

#[tokio::test]
async fn secrets_in_commands_and_output_are_scrubbed_from_the_action() {
    let token = format!("ghp_{}", "a1B2c3D4e5".repeat(4));
    let rem = remediator(PlaybookAction::local(
        ActionType::RunCommand,
        [format!("echo pushing with {token}")],
    ))
    .dry_run(false);
    let clock = clock();
    let (store, ctx) = context(&clock);
    let a = rem
        .remediate(
            &report("etl", "Connection refused"),
            &diagnosis(Category::Infra, 0.99),
            &ctx,
        )
        .await
        .unwrap()
        .remove(0);
    assert_eq!(a.status, ActionStatus::Succeeded, "{}", a.detail);
    let recorded = serde_json::to_string(&a).unwrap();
    assert!(!recorded.contains(&token), "{recorded}");
    assert!(recorded.contains("[REDACTED:github_token]"), "{recorded}");
    let pending = serde_json::to_string(
        &store
            .actions(&flow_doctor_core::store::ActionQuery::default())
            .await
            .unwrap(),
    )
    .unwrap();
    assert!(!pending.contains(&token), "{pending}");
}
