//! Unit tests of playbook parsing, validation and matching.

use std::path::Path;

use flow_doctor_core::{Category, ReportKind, Severity};

use super::*;

fn report(flow: &str, error_type: Option<&str>, message: &str) -> Report {
    let mut r = Report::new(flow, Severity::Error, ReportKind::Error, message);
    r.error_type = error_type.map(str::to_string);
    r
}

fn yaml(text: &str) -> Result<Playbooks> {
    Playbooks::parse(text, Format::Yaml, Some(Path::new("pb.yaml")))
}

fn yaml_err(text: &str) -> String {
    yaml(text).unwrap_err().to_string()
}

const FULL: &str = r#"
playbooks:
  - name: restart-app
    description: app server refuses connections
    category: infra
    message_regex: "Connection refused"
    flow: "etl-*"
    action:
      type: restart_service
      description: Restart app-server
      executor: ssm
      commands: ["systemctl restart app-server"]
      target:
        tags: [{Key: Role, Values: [app]}]
      timeout: 90s
      safe_to_auto_run: true
  - name: clear-cache
    error_type: CacheCorrupted
    action:
      type: clear_cache
      commands: ["rm -rf /tmp/cache", "mkdir -p /tmp/cache"]
  - name: rerun-sfn
    category: TRANSIENT
    action:
      type: rerun_execution
      target: {state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:etl"}
      input: {reason: flow-doctor, retry: true}
  - name: redrive-sfn
    message_regex: "States.TaskFailed"
    action:
      type: redrive_execution
      target: {execution_arn_from_context: execution_arn}
      timeout: 10m
"#;

#[test]
fn a_full_file_loads_every_action_shape() {
    let pbs = yaml(FULL).unwrap();
    assert_eq!(pbs.len(), 4);
    let names: Vec<&str> = pbs.iter().map(Playbook::name).collect();
    assert_eq!(
        names,
        ["restart-app", "clear-cache", "rerun-sfn", "redrive-sfn"]
    );

    let restart = pbs.get("restart-app").unwrap();
    assert_eq!(restart.category(), Some(Category::Infra));
    assert_eq!(restart.flow(), Some("etl-*"));
    assert_eq!(restart.origin(), "pb.yaml: playbooks[0]");
    let a = restart.action();
    assert_eq!(a.executor, ExecutorKind::Ssm);
    assert_eq!(a.target, Target::tags([SsmTag::new("Role", ["app"])]));
    assert_eq!(a.timeout, Duration::from_secs(90));
    assert!(a.safe_to_auto_run);

    let cc = pbs.get("clear-cache").unwrap().action();
    assert_eq!(
        cc.executor,
        ExecutorKind::Local,
        "commands default to local"
    );
    assert_eq!(cc.target, Target::Host);
    assert_eq!(cc.commands.len(), 2);
    assert!(!cc.safe_to_auto_run, "safe_to_auto_run defaults to false");
    assert_eq!(cc.timeout, DEFAULT_TIMEOUT);

    let rerun = pbs.get("rerun-sfn").unwrap().action();
    assert_eq!(rerun.executor, ExecutorKind::StepFunctions);
    let input: serde_json::Value = serde_json::from_str(rerun.input.as_deref().unwrap()).unwrap();
    assert_eq!(input["retry"], true);

    let redrive = pbs.get("redrive-sfn").unwrap().action();
    assert_eq!(
        redrive.target,
        Target::Execution(ExecutionRef::Context("execution_arn".into()))
    );
}

#[test]
fn toml_files_use_the_same_keys() {
    let text = r#"
[[playbooks]]
name = "rerun"
error_type = "TimeoutError"
[playbooks.action]
type = "rerun_job"
commands = ["./rerun.sh"]
safe_to_auto_run = true
"#;
    let pbs = Playbooks::parse(text, Format::Toml, None).unwrap();
    let p = pbs.get("rerun").unwrap();
    assert_eq!(p.action().action_type, ActionType::RerunJob);
    assert!(p.action().safe_to_auto_run);
}

#[test]
fn first_match_wins_in_declared_order() {
    let text = r#"
playbooks:
  - name: specific
    message_regex: "disk full on /data"
    action: {type: run_command, commands: ["cleanup /data"]}
  - name: general
    message_regex: "disk full"
    action: {type: run_command, commands: ["cleanup /"]}
"#;
    let pbs = yaml(text).unwrap();
    let r = report("etl", None, "disk full on /data");
    assert_eq!(pbs.first_match(&r, None).unwrap().name(), "specific");
    let r = report("etl", None, "disk full on /var");
    assert_eq!(pbs.first_match(&r, None).unwrap().name(), "general");
    let r = report("etl", None, "all good");
    assert!(pbs.first_match(&r, None).is_none());
}

#[test]
fn every_set_criterion_must_hold() {
    let pbs = yaml(FULL).unwrap();
    let restart = pbs.get("restart-app").unwrap();
    let hit = report("etl-nightly", None, "connect failed: Connection refused");
    assert!(restart.matches(&hit, Some(Category::Infra)));
    assert!(restart.matches(&hit, None), "None skips the category check");
    assert_eq!(
        restart.check(&hit, Some(Category::Code)).unwrap_err(),
        "category CODE is not INFRA"
    );
    let other_flow = report("billing", None, "Connection refused");
    assert_eq!(
        restart.check(&other_flow, None).unwrap_err(),
        "flow `billing` does not match `etl-*`"
    );
    let other_msg = report("etl-nightly", None, "timeout");
    assert_eq!(
        restart.check(&other_msg, None).unwrap_err(),
        "message does not match /Connection refused/"
    );
    // A `Caused by` entry counts as the message.
    let mut chained = report("etl-nightly", None, "load failed");
    chained
        .source_chain
        .push("Connection refused (os error 111)".into());
    assert!(restart.matches(&chained, None));
}

#[test]
fn error_type_matches_exactly_or_by_last_segment() {
    let p = Playbook::builder("ce")
        .error_type("ConnectionError")
        .action(PlaybookAction::local(ActionType::RerunJob, ["true"]))
        .build()
        .unwrap();
    for t in [
        "ConnectionError",
        "requests.exceptions.ConnectionError",
        "my_crate::ConnectionError",
    ] {
        assert!(p.matches(&report("f", Some(t), "x"), None), "{t}");
    }
    for t in ["MyConnectionError", "ConnectionErrorX"] {
        assert!(!p.matches(&report("f", Some(t), "x"), None), "{t}");
    }
    assert_eq!(
        p.check(&report("f", None, "x"), None).unwrap_err(),
        "no error type (wants `ConnectionError`)"
    );
}

#[test]
fn invalid_regex_names_file_entry_playbook_and_reason() {
    let e = yaml_err(
        r#"
playbooks:
  - name: ok
    action: {type: run_command, commands: ["true"]}
  - name: broken-regex
    message_regex: "(unclosed"
    action: {type: run_command, commands: ["true"]}
"#,
    );
    assert!(e.starts_with("pb.yaml: "), "{e}");
    assert!(e.contains("playbooks[1].message_regex: "), "{e}");
    assert!(e.contains("playbook `broken-regex`"), "{e}");
    assert!(e.contains("invalid regex"), "{e}");
}

#[test]
fn unknown_action_type_lists_the_valid_ones() {
    let e = yaml_err(
        r#"
playbooks:
  - name: reboot-box
    action: {type: reboot, commands: ["reboot"]}
"#,
    );
    assert!(e.contains("pb.yaml"), "{e}");
    assert!(e.contains("playbooks[0].action.type: "), "{e}");
    assert!(e.contains("playbook `reboot-box`"), "{e}");
    assert!(e.contains("unknown action type `reboot`"), "{e}");
    assert!(e.contains("restart_service"), "{e}");
}

#[test]
fn unknown_keys_are_rejected_at_every_level() {
    let top = yaml_err(
        "playbooks:\n  - name: a\n    mesage_regex: x\n    action: {type: run_command, commands: [x]}\n",
    );
    assert!(
        top.contains("playbooks[0]: ") && top.contains("mesage_regex"),
        "{top}"
    );
    let action =
        yaml_err("playbooks:\n  - name: a\n    action: {type: run_command, command: [x]}\n");
    assert!(
        action.contains("playbooks[0].action: ") && action.contains("unknown field `command`"),
        "{action}"
    );
    let target = yaml_err(
        "playbooks:\n  - name: a\n    action: {type: run_command, executor: ssm, commands: [x], target: {instances: [i-1]}}\n",
    );
    assert!(
        target.contains("playbooks[0].action.target: ") && target.contains("instances"),
        "{target}"
    );
    let file = yaml_err("playbook:\n  - name: a\n");
    assert!(file.contains("unknown key `playbook`"), "{file}");
}

#[test]
fn missing_or_mismatched_targets_fail_at_load() {
    let cases = [
        (
            "{type: restart_service, executor: ssm, commands: [x]}",
            "missing target: executor ssm needs target.instance_ids or target.tags",
        ),
        (
            "{type: rerun_execution}",
            "missing target: rerun_execution needs target.state_machine_arn",
        ),
        (
            "{type: redrive_execution}",
            "missing target: redrive_execution needs target.execution_arn or target.execution_arn_from_context",
        ),
        (
            "{type: run_command, commands: [x], target: {instance_ids: [i-1]}}",
            "executor local runs on this host and takes no target",
        ),
        (
            "{type: run_command, executor: step_functions, commands: [x]}",
            "runs commands",
        ),
        ("{type: run_command}", "needs at least one command"),
        (
            "{type: rerun_execution, target: {state_machine_arn: not-an-arn}}",
            "is not a Step Functions ARN",
        ),
        (
            "{type: rerun_execution, target: {state_machine_arn: 'arn:aws:states:us-east-1:1:stateMachine:x'}, input: '{bad'}",
            "`input` is not valid JSON",
        ),
        (
            "{type: run_command, executor: lambda, commands: [x]}",
            "unknown executor `lambda`",
        ),
        (
            "{type: run_command, commands: [x], timeout: 0s}",
            "timeout must be greater than zero",
        ),
        (
            "{type: run_command, commands: [x], timeout: 3d}",
            "timeout must be at most 48h",
        ),
        (
            "{type: restart_service, executor: ssm, commands: [x], target: {instance_ids: [i-1], tags: [{key: a, values: [b]}]}}",
            "not both",
        ),
    ];
    for (action, want) in cases {
        let text = format!("playbooks:\n  - name: p\n    action: {action}\n");
        let e = yaml_err(&text);
        assert!(e.contains("playbook `p`"), "{action}: {e}");
        assert!(e.contains(want), "{action}: {e}");
    }
}

#[test]
fn duplicate_names_and_bad_categories_fail() {
    let e = yaml_err(
        "playbooks:\n  - {name: a, action: {type: run_command, commands: [x]}}\n  - {name: a, action: {type: run_command, commands: [z]}}\n",
    );
    assert!(e.contains("playbook `a` is defined twice"), "{e}");
    let e = yaml_err(
        "playbooks:\n  - {name: a, category: weather, action: {type: run_command, commands: [x]}}\n",
    );
    assert!(
        e.contains("playbooks[0].category: ") && e.contains("unknown category"),
        "{e}"
    );
    let e = yaml_err("playbooks:\n  - {action: {type: run_command, commands: [x]}}\n");
    assert!(e.contains("missing field `name`"), "{e}");
}

#[test]
fn empty_files_hold_no_playbooks() {
    assert!(yaml("").unwrap().is_empty());
    assert!(yaml("playbooks: []\n").unwrap().is_empty());
    assert!(yaml("playbooks:\n").unwrap().is_empty());
}

#[test]
fn builder_checks_what_files_check() {
    let e = Playbook::builder("bad")
        .message_regex("(")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("playbook `bad`") && e.contains("invalid message_regex"),
        "{e}"
    );
    let e = Playbook::builder("no-action")
        .build()
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing action"), "{e}");
    let e = Playbook::builder("no-target")
        .action(PlaybookAction::ssm(
            ActionType::RestartService,
            Target::instances(Vec::<String>::new()),
            ["x"],
        ))
        .build()
        .unwrap_err()
        .to_string();
    assert!(e.contains("at least one instance id"), "{e}");
    let ok = Playbook::builder("redrive")
        .flow("orders")
        .unwrap()
        .action(
            PlaybookAction::redrive_execution(ExecutionRef::Context("execution_arn".into()))
                .timeout(Duration::from_secs(60))
                .safe_to_auto_run(true),
        )
        .build()
        .unwrap();
    assert_eq!(ok.origin(), "code");
    assert!(ok.matches(&report("orders", None, "x"), None));
    assert!(!ok.matches(&report("orders-v2", None, "x"), None));
    let mut set = Playbooks::new().with(ok.clone()).unwrap();
    assert!(set.push(ok).is_err(), "duplicate names are refused");
}

#[test]
fn ssm_tag_keys_gain_the_tag_prefix() {
    assert_eq!(SsmTag::new("Role", ["app"]).target_key(), "tag:Role");
    assert_eq!(SsmTag::new("tag:Role", ["app"]).target_key(), "tag:Role");
    assert_eq!(
        SsmTag::new("InstanceIds", ["i-1"]).target_key(),
        "InstanceIds"
    );
}
