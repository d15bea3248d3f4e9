//! `flow-doctor config check`: the real binary on real files.

use std::path::Path;
use std::process::Output;

use crate::text;

const EXAMPLE: &str = include_str!("../../../../docs/flow-doctor.example.yaml");

const SECRETS: [(&str, &str); 5] = [
    (
        "SLACK_WEBHOOK_URL",
        "https://hooks.slack.com/services/T000/B000/slack-secret-xyz",
    ),
    ("SMTP_PASSWORD", "smtp-secret-password"),
    ("TELEGRAM_BOT_TOKEN", "123456:telegram-secret-token"),
    ("ANTHROPIC_API_KEY", "sk-ant-secret-key-value"),
    ("GITHUB_TOKEN", "ghp_githubsecrettokenvalue0123456789abcd"),
];

/// Runs the binary in `dir` with only `vars` (and PATH) in its environment.
fn flow_doctor(dir: &Path, args: &[&str], vars: &[(&str, &str)]) -> Output {
    crate::run_bin(dir, args, vars, "")
}

#[test]
fn a_valid_file_prints_the_resolved_configuration_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("flow-doctor.yaml"), EXAMPLE).unwrap();
    let out = flow_doctor(dir.path(), &["config", "check"], &SECRETS);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "stderr:\n{stderr}");
    assert!(stderr.starts_with("ok: "), "{stderr}");
    assert!(
        stdout.starts_with("# flow-doctor configuration resolved from"),
        "{stdout}"
    );
    assert!(stdout.contains("flow_name: nightly-etl"), "{stdout}");
    assert!(stdout.contains("<redacted>"), "{stdout}");
    // Interpolated defaults and fallbacks are resolved.
    assert!(stdout.contains("claude-sonnet-4-5"), "{stdout}");
    for (_, secret) in SECRETS {
        assert!(!stdout.contains(secret), "`{secret}` leaked:\n{stdout}");
        assert!(!stderr.contains(secret), "`{secret}` leaked:\n{stderr}");
    }
}

#[test]
fn json_output_parses_and_shows_fallbacks() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("custom.toml");
    std::fs::write(
        &file,
        "flow_name = 'etl'\nrepo = 'acme/app'\n[[notify]]\ntype = 'github'\n",
    )
    .unwrap();
    let out = flow_doctor(
        dir.path(),
        &["config", "check", "--json", "custom.toml"],
        &[("GH_TOKEN", "ghp_fallbacktoken")],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["flow_name"], "etl");
    assert_eq!(json["notify"][0]["type"], "github");
    assert_eq!(json["notify"][0]["repo"], "acme/app");
    assert_eq!(json["notify"][0]["token"], "<redacted>");
    assert!(!text(&out.stdout).contains("fallbacktoken"));
}

#[test]
fn every_problem_is_printed_as_file_line_key_message_fix_and_exit_is_1() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("flow-doctor.yaml"),
        "flow_name: etl\nnotfy: []\nnotify:\n  - type: slack\nremediation:\n  fix_pr_threshold: 2\n",
    )
    .unwrap();
    let out = flow_doctor(dir.path(), &["config", "check", "flow-doctor.yaml"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = text(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    // Shown as given on the command line.
    let shown = "flow-doctor.yaml";
    assert!(
        lines[0].starts_with(&format!(
            "{shown}:2: notfy: unknown key `notfy` (fix: did you mean `notify`?"
        )),
        "{stderr}"
    );
    assert!(
        lines[1].starts_with(&format!("{shown}:4: notify[0].webhook_url: ")),
        "{stderr}"
    );
    assert!(lines[1].contains("SLACK_WEBHOOK_URL"), "{stderr}");
    assert!(
        lines[2].starts_with(&format!("{shown}:6: remediation.fix_pr_threshold: ")),
        "{stderr}"
    );
    assert!(lines[..3].iter().all(|l| l.contains(" (fix: ")), "{stderr}");
    assert_eq!(lines[3], "flow-doctor: configuration invalid: 3 problems");
}

#[test]
fn an_unset_variable_fails_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("flow-doctor.yml"), "flow_name: ${FLOW}\n").unwrap();
    let out = flow_doctor(dir.path(), &["config", "check"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(":1: flow_name: environment variable `FLOW` is not set"),
        "{stderr}"
    );
    // A .env next to the file fixes it.
    std::fs::write(dir.path().join(".env"), "FLOW=from-dotenv\n").unwrap();
    let out = flow_doctor(dir.path(), &["config", "check"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("flow_name: from-dotenv"));
}

#[test]
fn flow_doctor_config_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let file = elsewhere.path().join("prod.yaml");
    std::fs::write(&file, "flow_name: prod-etl\n").unwrap();
    let out = flow_doctor(
        dir.path(),
        &["config", "check"],
        &[("FLOW_DOCTOR_CONFIG", file.to_str().unwrap())],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("flow_name: prod-etl"));
}

#[test]
fn without_a_file_it_shows_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let out = flow_doctor(
        dir.path(),
        &["config", "check"],
        &[("FLOW_DOCTOR_FLOW", "cron-job")],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).starts_with("note: no configuration file"));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("built-in defaults"), "{stdout}");
    assert!(stdout.contains("flow_name: cron-job"), "{stdout}");
    assert!(stdout.contains("cooldown: 1h"), "{stdout}");
}

#[test]
fn a_missing_explicit_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = flow_doctor(dir.path(), &["config", "check", "nope.yaml"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("cannot read the file"),
        "{}",
        text(&out.stderr)
    );
}

/// What only a stage can check fails `config check` as it would fail
/// `run`: the file is named, then the component, the key and the problem.
#[test]
fn problems_only_a_stage_finds_fail_the_check_as_they_would_fail_run() {
    let cases = [
        (
            "flow_name: etl\nremediation:\n  enabled: true\n  playbooks:\n    - name: restart\n      category: INFRA\n      message_regex: \"Connection (refused\"\n      action:\n        type: run_command\n        commands: [\"true\"]\n",
            "remediation.playbooks[0].message_regex: playbook `restart`: invalid regex `Connection (refused`: unclosed group",
        ),
        (
            "flow_name: etl\ndiagnosis:\n  enabled: true\n  provider: none\n  patterns: [missing-patterns.yaml]\n",
            "cannot read pattern file",
        ),
        (
            "flow_name: etl\nnotify:\n  - type: webhook\n    url: http://127.0.0.1:9/hook\n    headers: {X-Team: \"a\\nb\"}\n",
            "`notify[0]`: `headers.X-Team`: the value is not a valid header value",
        ),
    ];
    for (yaml, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("flow-doctor.yaml");
        std::fs::write(&file, yaml).unwrap();
        let out = flow_doctor(dir.path(), &["config", "check"], &[]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{yaml}\n{stderr}");
        assert!(
            stderr.starts_with(&format!("{}: ", file.display())),
            "names the file: {stderr}"
        );
        assert!(stderr.contains(expected), "{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
        assert!(out.stdout.is_empty(), "nothing printed as valid");
        // `run` refuses it the same way, before running anything.
        let run = flow_doctor(dir.path(), &["run", "--", "sh", "-c", "touch ran"], &[]);
        assert_eq!(run.status.code(), Some(1), "{}", text(&run.stderr));
        assert!(
            text(&run.stderr).contains(expected),
            "{}",
            text(&run.stderr)
        );
        assert!(!dir.path().join("ran").exists());
    }
    // The fix pipeline's scope globs are checked too (otherwise only
    // `generate-fix` would find them).
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("flow-doctor.yaml");
    std::fs::write(
        &file,
        "flow_name: etl\nauto_fix:\n  scope:\n    allow: ['src/[']\n",
    )
    .unwrap();
    let out = flow_doctor(dir.path(), &["config", "check"], &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("`auto_fix.scope.allow[0]` `src/[`"),
        "{stderr}"
    );
}
