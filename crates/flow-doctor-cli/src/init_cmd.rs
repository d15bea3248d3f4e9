//! `flow-doctor init [--github-workflow] [--force] [--dir DIR]`: writes a
//! starter `flow-doctor.yaml` (every section, commented, valid as written)
//! and, with `--github-workflow`, `.github/workflows/flow-doctor-fix.yml`,
//! which runs `flow-doctor generate-fix` when an issue gets the
//! `flow-doctor:fix` label.
//!
//! Existing files are left alone unless `--force` is given; nothing is
//! written when any target exists.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;

/// Arguments of `flow-doctor init`.
#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// Also write `.github/workflows/flow-doctor-fix.yml`.
    #[arg(long)]
    github_workflow: bool,
    /// Overwrite existing files.
    #[arg(long)]
    force: bool,
    /// Directory to write into (default: the current directory).
    #[arg(long, default_value = ".")]
    dir: PathBuf,
}

/// Where the starter configuration goes.
pub(crate) const CONFIG_FILE: &str = "flow-doctor.yaml";
/// Where the workflow goes.
pub(crate) const WORKFLOW_FILE: &str = ".github/workflows/flow-doctor-fix.yml";
/// The label that triggers the workflow.
pub(crate) const FIX_LABEL: &str = "flow-doctor:fix";
/// The command the workflow runs; the README documents the same line.
pub(crate) const WORKFLOW_COMMAND: &str = "flow-doctor generate-fix --issue-number ${{ github.event.issue.number }} --repo ${{ github.repository }}";

/// Runs `init`.
pub(crate) fn run(args: InitArgs) -> anyhow::Result<ExitCode> {
    let mut targets: Vec<(PathBuf, String)> = vec![(
        args.dir.join(CONFIG_FILE),
        starter_config(&flow_name_for(&args.dir)),
    )];
    if args.github_workflow {
        targets.push((args.dir.join(WORKFLOW_FILE), workflow()));
    }
    if !args.force {
        let existing: Vec<String> = targets
            .iter()
            .filter(|(p, _)| p.exists())
            .map(|(p, _)| p.display().to_string())
            .collect();
        if !existing.is_empty() {
            eprintln!(
                "flow-doctor: {} already exist(s); nothing was written (use --force to overwrite)",
                existing.join(", ")
            );
            return Ok(ExitCode::FAILURE);
        }
    }
    for (path, text) in &targets {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    println!(
        "next: edit {CONFIG_FILE}, then check it with `flow-doctor config check {CONFIG_FILE}`"
    );
    if args.github_workflow {
        println!(
            "workflow: set `auto_fix.enabled: true`, `diagnosis.provider` and add the ANTHROPIC_API_KEY (or OPENAI_API_KEY) repository secret; label an issue `{FIX_LABEL}` to run it"
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A flow name from the directory's name, when it is a valid one.
fn flow_name_for(dir: &Path) -> String {
    let name = dir
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid { name } else { "my-flow".into() }
}

/// The starter configuration: every section, defaults spelled out,
/// optional parts commented, valid as written.
pub(crate) fn starter_config(flow_name: &str) -> String {
    format!(
        r#"# flow-doctor configuration. Check it with: flow-doctor config check flow-doctor.yaml
#
# ${{VAR}} is replaced by an environment variable, ${{VAR:-default}} has a fallback.
# Credentials left out fall back to FLOW_DOCTOR_* variables, then the usual
# names (GITHUB_TOKEN, ANTHROPIC_API_KEY, SLACK_WEBHOOK_URL, ...).

# Name of this flow (pipeline, job). Required.
flow_name: {flow_name}

# Repository of the flow's code, owner/name (GitHub issues and fix PRs).
# repo: your-org/your-repo

# Where incidents are stored.
store:
  type: sqlite                # sqlite or memory
  path: flow_doctor.db
  busy_timeout: 10s

# A repeat within the cooldown is counted, not re-notified.
dedup:
  cooldown: 60m

# What becomes a report.
capture:
  min_level: warning          # events at or above become reports
  ring_level: info            # events kept and attached to the next report
  ring_size: 100
  queue_capacity: 65536
  success_pings: false

# Notification channels, in order. Empty means the console.
notify:
  - type: console
  # - type: github            # issues with the metadata generate-fix reads
  #   labels: [flow-doctor]
  #   auto_fix_pr: false      # label diagnosed, auto-fixable issues flow-doctor:fix
  # - type: slack
  #   webhook_url: ${{SLACK_WEBHOOK_URL}}

# Daily limits per flow and channel; held-back reports go to the digest.
rate_limits:
  max_issues_per_day: 5
  max_alerts_per_day: 50
  exempt: [critical]

# Upstream flows: their recent failure makes ours a cascade.
dependencies: []
cascade_window: 2h

# Diagnosis: the offline knowledge base, then an LLM when a provider is set.
diagnosis:
  enabled: true
  provider: none              # none, anthropic or openai (any OpenAI-compatible endpoint)
  # model: claude-sonnet-4-5
  # api_key: ${{ANTHROPIC_API_KEY}}
  max_diagnosed_per_day: 3
  max_daily_cost_usd: 1.0

# GitHub credentials shared by the issue notifier and generate-fix.
github: {{}}
  # token: ${{GITHUB_TOKEN}}
  # base_url: https://api.github.com

# Remediation playbooks and the decision gate (dry run by default).
remediation:
  enabled: false
  dry_run: true

# Fix pull requests (flow-doctor generate-fix).
auto_fix:
  enabled: false              # true to let generate-fix open PRs
  confidence_threshold: 0.9
  # test_command: pytest -q   # required when enabled; runs through sh -c in the fix worktree
  test_timeout: 10m
  max_diff_lines: 400
  # base_branch: main         # default: the repository's default branch
  pr_labels: [flow-doctor]
  max_fixes_per_day: 5
  max_daily_cost_usd: 2.0
  scope:
    allow: ["**"]
    deny: [".github/**", "**/.env", "**/*.pem", "**/*.key", "flow-doctor.yaml", "flow-doctor.toml"]

# Extra secrets to remove before anything leaves the process.
scrub:
  patterns: []
  keys: []
"#
    )
}

/// The GitHub Actions workflow running `generate-fix` on the fix label.
pub(crate) fn workflow() -> String {
    let repo_url = env!("CARGO_PKG_REPOSITORY");
    format!(
        r#"# flow-doctor: turn an issue labelled `{FIX_LABEL}` into a tested fix pull request.
# Written by `flow-doctor init --github-workflow`.
#
# Needs, in flow-doctor.yaml: auto_fix.enabled: true, auto_fix.test_command,
# diagnosis.provider; and the LLM key as a repository secret.
# Pull requests opened with GITHUB_TOKEN do not trigger other workflows; use a
# GitHub App or fine-grained token secret instead of it if CI must run on them.
name: flow-doctor fix

on:
  issues:
    types: [labeled]

permissions:
  contents: write
  issues: write
  pull-requests: write

concurrency:
  group: flow-doctor-fix-${{{{ github.event.issue.number }}}}
  cancel-in-progress: false

jobs:
  fix:
    if: github.event.label.name == '{FIX_LABEL}'
    runs-on: ubuntu-latest
    timeout-minutes: 60
    steps:
      - name: Check out the repository
        uses: actions/checkout@v4
        with:
          fetch-depth: 0
          persist-credentials: false

      - name: Install flow-doctor
        run: cargo install --locked --git {repo_url} flow-doctor-cli

      - name: Generate the fix
        env:
          GITHUB_TOKEN: ${{{{ secrets.GITHUB_TOKEN }}}}
          ANTHROPIC_API_KEY: ${{{{ secrets.ANTHROPIC_API_KEY }}}}
          OPENAI_API_KEY: ${{{{ secrets.OPENAI_API_KEY }}}}
        run: {WORKFLOW_COMMAND}
"#
    )
}
