//! `flow-doctor init`: the real binary writing real files.

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::text;

const README: &str = include_str!("../../../../README.md");
/// The command the README documents for the workflow (acceptance 3).
const DOCUMENTED: &str = "flow-doctor generate-fix --issue-number ${{ github.event.issue.number }} --repo ${{ github.repository }}";

fn flow_doctor(dir: &Path, args: &[&str]) -> Output {
    crate::run_bin(dir, args, &[], "")
}

#[test]
fn init_writes_a_starter_config_that_loads() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("nightly-etl");
    std::fs::create_dir(&project).unwrap();
    let out = flow_doctor(&project, &["init"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let path = project.join("flow-doctor.yaml");
    assert!(text(&out.stdout).contains("wrote"), "{}", text(&out.stdout));
    assert!(!project.join(".github").exists());

    let cfg = flow_doctor::Config::from_path(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfg.flow_name, "nightly-etl");
    assert!(!cfg.auto_fix.enabled);
    assert_eq!(cfg.auto_fix.confidence_threshold, 0.9);
    assert_eq!(cfg.auto_fix.pr_labels, vec!["flow-doctor".to_string()]);
    // Every top-level section is present in the starter file.
    let yaml = std::fs::read_to_string(&path).unwrap();
    let doc: Value = serde_saphyr::from_str(&yaml).unwrap();
    for key in [
        "flow_name",
        "store",
        "dedup",
        "capture",
        "notify",
        "rate_limits",
        "dependencies",
        "cascade_window",
        "diagnosis",
        "github",
        "remediation",
        "auto_fix",
        "scrub",
    ] {
        assert!(doc.get(key).is_some(), "missing section `{key}`");
    }
    // `config check` agrees.
    let check = flow_doctor(&project, &["config", "check"]);
    assert!(check.status.success(), "{}", text(&check.stderr));
}

#[test]
fn the_workflow_is_valid_yaml_and_runs_the_documented_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = flow_doctor(dir.path(), &["init", "--github-workflow"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let yaml =
        std::fs::read_to_string(dir.path().join(".github/workflows/flow-doctor-fix.yml")).unwrap();
    let wf: Value = serde_saphyr::from_str(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));

    assert_eq!(
        wf["on"]["issues"]["types"],
        serde_json::json!(["labeled"]),
        "{wf:#}"
    );
    let perms = &wf["permissions"];
    assert_eq!(perms["contents"], "write");
    assert_eq!(perms["issues"], "write");
    assert_eq!(perms["pull-requests"], "write");
    let job = &wf["jobs"]["fix"];
    assert_eq!(job["if"], "github.event.label.name == 'flow-doctor:fix'");
    let steps = job["steps"].as_array().unwrap();
    assert!(steps.iter().any(|s| {
        s["uses"]
            .as_str()
            .is_some_and(|u| u.starts_with("actions/checkout@"))
    }));
    let install = steps
        .iter()
        .find_map(|s| s["run"].as_str().filter(|r| r.contains("cargo install")))
        .unwrap();
    assert!(
        install.contains("--locked") && install.contains("flow-doctor-cli"),
        "{install}"
    );
    let fix = steps
        .iter()
        .find(|s| {
            s["run"]
                .as_str()
                .is_some_and(|r| r.contains("generate-fix"))
        })
        .unwrap();
    assert_eq!(fix["run"], DOCUMENTED);
    assert_eq!(fix["env"]["GITHUB_TOKEN"], "${{ secrets.GITHUB_TOKEN }}");
    assert_eq!(
        fix["env"]["ANTHROPIC_API_KEY"],
        "${{ secrets.ANTHROPIC_API_KEY }}"
    );

    // The README documents exactly this command.
    assert!(
        README.contains(DOCUMENTED),
        "README does not document `{DOCUMENTED}`"
    );
}

#[test]
fn init_refuses_to_overwrite_without_force() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("flow-doctor.yaml"), "flow_name: mine\n").unwrap();
    let out = flow_doctor(dir.path(), &["init", "--github-workflow"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("--force"),
        "{}",
        text(&out.stderr)
    );
    // Nothing was written: neither the config nor the workflow.
    assert_eq!(
        std::fs::read_to_string(dir.path().join("flow-doctor.yaml")).unwrap(),
        "flow_name: mine\n"
    );
    assert!(!dir.path().join(".github").exists());

    let out = flow_doctor(dir.path(), &["init", "--github-workflow", "--force"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_ne!(
        std::fs::read_to_string(dir.path().join("flow-doctor.yaml")).unwrap(),
        "flow_name: mine\n"
    );
    assert!(
        dir.path()
            .join(".github/workflows/flow-doctor-fix.yml")
            .is_file()
    );
}
