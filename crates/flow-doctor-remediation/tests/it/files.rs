//! Playbook files on disk: acceptance 4 (a bad file fails at load with the
//! file, the playbook name and the reason), the shipped example, and
//! `from_config`.

use std::path::{Path, PathBuf};

use flow_doctor_core::Config;
use flow_doctor_core::config::Format;
use flow_doctor_remediation::{ExecutorKind, Playbooks, from_config};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn config(text: &str) -> Config {
    Config::from_str_as(text, Format::Yaml).unwrap()
}

#[test]
fn a_yaml_file_with_an_invalid_regex_fails_at_load_naming_file_playbook_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "playbooks.yaml",
        r#"
playbooks:
  - name: restart-app
    message_regex: "Connection (refused"
    action:
      type: restart_service
      commands: ["systemctl restart app"]
"#,
    );
    let err = Playbooks::load_file(&path).unwrap_err().to_string();
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(err.contains("playbook `restart-app`"), "{err}");
    assert!(err.contains("invalid regex"), "{err}");
    assert!(err.contains("unclosed group"), "{err}");
}

#[test]
fn a_yaml_file_with_an_unknown_action_type_fails_at_load_naming_file_playbook_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "playbooks.yml",
        r#"
playbooks:
  - name: reboot-host
    category: INFRA
    action:
      type: reboot_host
      commands: ["reboot"]
"#,
    );
    let err = Playbooks::load_file(&path).unwrap_err().to_string();
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(err.contains("playbook `reboot-host`"), "{err}");
    assert!(err.contains("unknown action type `reboot_host`"), "{err}");
}

#[test]
fn a_bad_playbook_file_makes_the_remediator_fail_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "pb.toml",
        "[[playbooks]]\nname = \"x\"\n[playbooks.action]\ntype = \"restart_service\"\nexecutor = \"ssm\"\ncommands = [\"true\"]\n",
    );
    let cfg = config(&format!(
        "flow_name: etl\nremediation:\n  enabled: true\n  playbook_files: ['{}']\n",
        path.display()
    ));
    let err = from_config(&cfg).err().expect("a load error").to_string();
    assert!(err.contains("pb.toml"), "{err}");
    assert!(err.contains("playbook `x`"), "{err}");
    assert!(err.contains("missing target"), "{err}");
}

#[test]
fn the_shipped_example_file_loads() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/playbooks.example.yaml");
    let pbs = Playbooks::load_file(&path).unwrap();
    let names: Vec<&str> = pbs.iter().map(|p| p.name()).collect();
    assert_eq!(
        names,
        [
            "restart-app-server",
            "clean-scratch-space",
            "redrive-throttled-execution",
            "rerun-nightly-load"
        ]
    );
    let executors: Vec<ExecutorKind> = pbs.iter().map(|p| p.action().executor).collect();
    assert_eq!(
        executors,
        [
            ExecutorKind::Ssm,
            ExecutorKind::Local,
            ExecutorKind::StepFunctions,
            ExecutorKind::StepFunctions
        ]
    );
}

#[test]
fn from_config_is_none_when_disabled_and_loads_inline_then_files_when_enabled() {
    assert!(from_config(&config("flow_name: etl\n")).unwrap().is_none());

    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "more.yaml",
        "playbooks:\n  - {name: from-file, action: {type: run_command, commands: ['true']}}\n",
    );
    let cfg = config(&format!(
        r#"
flow_name: etl
remediation:
  enabled: true
  playbooks:
    - name: inline
      message_regex: boom
      action: {{type: run_command, commands: ["true"]}}
  playbook_files: ['{}']
"#,
        path.display()
    ));
    let remediator = from_config(&cfg).unwrap().expect("enabled");
    assert_eq!(remediator.name(), "playbooks");
    let all = Playbooks::from_config(&cfg.remediation).unwrap();
    let names: Vec<&str> = all.iter().map(|p| p.name()).collect();
    assert_eq!(names, ["inline", "from-file"]);

    // Inline entries are checked too, with their key path.
    let bad = config(
        "flow_name: etl\nremediation:\n  enabled: true\n  playbooks:\n    - {name: bad, action: {type: nope}}\n",
    );
    let err = from_config(&bad).err().expect("a load error").to_string();
    assert!(
        err.contains("remediation.playbooks[0].action.type"),
        "{err}"
    );
    assert!(
        err.contains("playbook `bad`") && err.contains("unknown action type `nope`"),
        "{err}"
    );
}
