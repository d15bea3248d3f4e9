//! `flow-doctor generate-fix --issue-number N [--repo owner/name]
//! [--token T] [--config PATH] [--workdir DIR] [--dry-run] [--base-url URL]
//! [--retry-failed] [--show-prompt] [--json]`
//!
//! Reads a flow-doctor GitHub issue, passes the safety gates, asks the LLM
//! of `diagnosis:` for a diff, checks it with the scope guard, applies it in
//! a fresh worktree of the checkout at `--workdir` (default `.`), runs
//! `auto_fix.test_command`, and on success pushes
//! `flow-doctor/fix-<issue>-<short-sig>` to `origin` and opens a pull
//! request. See `flow_doctor::fix` for every step.
//!
//! - `--repo` defaults to the configuration's `repo`; `--token` to
//!   `github.token` (then `FLOW_DOCTOR_GITHUB_TOKEN`, `GITHUB_TOKEN`,
//!   `GH_TOKEN`); `--base-url` to `github.base_url`. Prefer the variables
//!   to `--token`: arguments are visible to other processes.
//! - `--dry-run` runs everything up to the tests, prints the diff and the
//!   pull request it would open, and pushes, opens and comments nothing.
//! - Exit status: 0 when a PR was opened (or a dry run passed), 2 when a
//!   safety gate refused, 1 when a step failed or the issue could not be read.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, anyhow};
use clap::Args;
use flow_doctor::config::{Config, Loader, Secret};
use flow_doctor::fix::github::GithubForge;
use flow_doctor::fix::{FixOutcome, FixPipeline, FixRequest};
use flow_doctor::{FixStatus, Scrubber};

/// Arguments of `flow-doctor generate-fix`.
#[derive(Debug, Args)]
pub(crate) struct GenerateFixArgs {
    /// The issue to fix.
    #[arg(long)]
    issue_number: u64,
    /// Repository, owner/name (default: `repo` from the configuration).
    #[arg(long)]
    repo: Option<String>,
    /// GitHub token (default: github.token, FLOW_DOCTOR_GITHUB_TOKEN, GITHUB_TOKEN, GH_TOKEN).
    #[arg(long)]
    token: Option<String>,
    /// Configuration file (default: $FLOW_DOCTOR_CONFIG, else flow-doctor.yaml/.yml/.toml in --workdir).
    #[arg(long)]
    config: Option<PathBuf>,
    /// The repository checkout (default: the current directory).
    #[arg(long, default_value = ".")]
    workdir: PathBuf,
    /// Print the diff and the would-be pull request; push, open and comment nothing.
    #[arg(long)]
    dry_run: bool,
    /// GitHub API base URL (default: github.base_url, else https://api.github.com).
    #[arg(long)]
    base_url: Option<String>,
    /// Try again although an earlier attempt for this failure failed.
    #[arg(long)]
    retry_failed: bool,
    /// Print the exact (scrubbed) prompt sent to the LLM.
    #[arg(long)]
    show_prompt: bool,
    /// Print the outcome as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `generate-fix`.
pub(crate) fn run(args: GenerateFixArgs) -> anyhow::Result<ExitCode> {
    let config = Loader::new()
        .current_dir(&args.workdir)
        .load(args.config.as_deref())
        .map_err(|e| anyhow!("{e}"))
        .context("cannot load the configuration")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(run_async(args, config))
}

async fn run_async(args: GenerateFixArgs, config: Config) -> anyhow::Result<ExitCode> {
    let repo = args
        .repo
        .clone()
        .or_else(|| config.repo.clone())
        .ok_or_else(|| {
            anyhow!("no repository: pass --repo owner/name or set `repo` in the configuration")
        })?;
    let token = args
        .token
        .clone()
        .map(Secret::new)
        .or_else(|| config.github.token.clone())
        .ok_or_else(|| {
            anyhow!("no GitHub token: set GITHUB_TOKEN (or FLOW_DOCTOR_GITHUB_TOKEN, github.token, --token)")
        })?;
    let base_url = args
        .base_url
        .clone()
        .or_else(|| config.github.base_url.clone());
    let forge = GithubForge::new(&repo, token, base_url.as_deref())?;
    let store = crate::app::open_store(&config)?;
    let mut pipeline = FixPipeline::new(Arc::new(forge), store, config.auto_fix.clone())
        .scrubber(Scrubber::from_config(&config.scrub).context("invalid `scrub` configuration")?);
    pipeline = match flow_doctor::diagnosis::llm::LlmClient::from_config(&config.diagnosis) {
        Ok(client) => pipeline.model(Arc::new(client)),
        Err(e) => pipeline.model_unavailable(e.to_string()),
    };
    let request = FixRequest::new(args.issue_number, &args.workdir)
        .dry_run(args.dry_run)
        .retry_failed(args.retry_failed);
    let outcome = pipeline
        .run(&request)
        .await
        .with_context(|| format!("cannot read issue #{} of {repo}", args.issue_number))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&json(&outcome))?);
    } else {
        print_human(&args, &outcome);
    }
    for w in &outcome.warnings {
        eprintln!("flow-doctor: warning: {w}");
    }
    Ok(match outcome.attempt.status {
        FixStatus::Succeeded | FixStatus::DryRun => ExitCode::SUCCESS,
        FixStatus::Refused => ExitCode::from(2),
        FixStatus::Failed => ExitCode::FAILURE,
    })
}

fn print_human(args: &GenerateFixArgs, o: &FixOutcome) {
    let a = &o.attempt;
    if args.show_prompt
        && let Some(p) = &o.prompt
    {
        println!("----- prompt (scrubbed) -----\n{p}\n----- end of prompt -----");
    }
    match a.status {
        FixStatus::Succeeded => println!(
            "opened {} for issue #{} (branch {})",
            a.pr_url.as_deref().unwrap_or("a pull request"),
            a.issue_number,
            a.branch.as_deref().unwrap_or("?")
        ),
        FixStatus::DryRun => {
            println!("dry run: the fix applied and the tests passed; nothing was pushed\n");
            for c in &o.changes {
                print!("{c}");
            }
            if let Some(d) = &o.draft {
                println!(
                    "\nwould open a pull request {} -> {}\ntitle: {}\n\n{}",
                    d.head, d.base, d.title, d.body
                );
            }
        }
        FixStatus::Refused => {
            println!("refused at `{}`: {}", a.step, a.reason);
        }
        FixStatus::Failed => {
            println!("failed at `{}`: {}", a.step, a.reason);
            if let Some(t) = &o.tests
                && !t.status.passed()
            {
                println!("\n{}", t.tail(40));
            }
        }
    }
    if args.dry_run
        && a.status != FixStatus::DryRun
        && let Some(d) = &o.diff
    {
        println!("\nproposed diff:\n{d}");
    }
    if let Some(url) = &o.comment_url {
        println!("commented: {url}");
    }
}

fn json(o: &FixOutcome) -> serde_json::Value {
    serde_json::json!({
        "attempt": o.attempt,
        "diff": o.diff,
        "changes": o.changes.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
        "tests": o.tests.as_ref().map(|t| serde_json::json!({
            "command": t.command,
            "status": t.status.to_string(),
            "passed": t.status.passed(),
            "duration_ms": t.duration.as_millis() as u64,
            "output_tail": t.tail(40),
        })),
        "pull_request": o.draft.as_ref().map(|d| serde_json::json!({
            "title": d.title, "head": d.head, "base": d.base, "body": d.body,
            "url": o.pull_request.as_ref().map(|p| p.url.clone()),
        })),
        "comment_url": o.comment_url,
        "prompt": o.prompt,
        "warnings": o.warnings,
    })
}
