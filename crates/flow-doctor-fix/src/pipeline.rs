//! [`FixPipeline`]: one run of `flow-doctor generate-fix`, from the issue
//! to a pull request (or a refusal or failure comment).
//!
//! Steps, each named in the recorded [`FixAttempt`] when it decides:
//! 1. read the issue and its metadata block (`issue`, `metadata`);
//! 2. the [safety gates](crate::gates) (`enabled`, `test_command`,
//!    `category`, `confidence`, `credentials`, `previous_attempt`,
//!    `affected_files`), earlier attempts read from the store and from the
//!    issue's comments;
//! 3. a fresh worktree on `flow-doctor/fix-<issue>-<short-sig>` from the
//!    base branch (`worktree`); the affected files are read from it
//!    (`context`);
//! 4. the daily budget (`budget`, scope `fix` in the store's ledger), then
//!    the model with the scrubbed prompt (`llm`); its diff is parsed
//!    (`diff`);
//! 5. the [scope guard](crate::scope) (`scope_guard`), then the diff is
//!    applied (`apply`) and the tests run (`tests`);
//! 6. commit, push, pull request, labels, issue comment (`commit`, `push`,
//!    `pr`).
//!
//! Refusals and failures are commented on the issue (scrubbed, with the
//! output tail) unless it is a dry run; every run records one
//! [`FixAttempt`]. A dry run does everything up to the tests and then
//! stops: nothing is committed, pushed or commented, and the attempt is
//! recorded as `dry_run`.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::Utc;
use flow_doctor_core::config::AutoFixConfig;
use flow_doctor_core::metadata::IssueMetadata;
use flow_doctor_core::model::{FixAttempt, FixStatus, Id, TokenUsage};
use flow_doctor_core::store::{BudgetGrant, BudgetRequest};
use flow_doctor_core::{Result, Scrubber, Store};

use crate::apply::{self, FileChange};
use crate::diff::{Patch, extract_diff};
use crate::forge::{Forge, ForgeIssue, PullRequest, PullRequestDraft};
use crate::gates::{self, PriorAttempt};
use crate::model::{FixModel, ModelAnswer};
use crate::prompt::{self, ContextLimits, SYSTEM_PROMPT};
use crate::render::{self, PrBodyParts, TAIL_LINES};
use crate::runner::{self, TestRun};
use crate::scope::ScopeGuard;
use crate::worktree::{self, FixWorktree};

/// Completion tokens asked of the model.
pub const MAX_ANSWER_TOKENS: u32 = 8192;
/// Budget scope of fix generations in the store's ledger.
pub const BUDGET_SCOPE: &str = "fix";

/// What to fix and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixRequest {
    /// The issue.
    pub issue_number: u64,
    /// The local checkout of the repository (its `origin` is pushed to).
    pub repo_path: PathBuf,
    /// Stop after the tests: push, open and comment nothing.
    pub dry_run: bool,
    /// Let a request through although an earlier attempt failed.
    pub retry_failed: bool,
}

impl FixRequest {
    /// A request for `issue_number` in the checkout at `repo_path`.
    pub fn new(issue_number: u64, repo_path: impl Into<PathBuf>) -> Self {
        Self {
            issue_number,
            repo_path: repo_path.into(),
            dry_run: false,
            retry_failed: false,
        }
    }

    /// Sets `dry_run`.
    pub fn dry_run(mut self, yes: bool) -> Self {
        self.dry_run = yes;
        self
    }

    /// Sets `retry_failed`.
    pub fn retry_failed(mut self, yes: bool) -> Self {
        self.retry_failed = yes;
        self
    }
}

/// What a run did.
#[derive(Clone, Debug)]
pub struct FixOutcome {
    /// The recorded attempt (status, step, reason, branch, PR).
    pub attempt: FixAttempt,
    /// The scrubbed prompt sent to the model, when one was sent.
    pub prompt: Option<String>,
    /// The diff the model proposed, when it wrote one.
    pub diff: Option<String>,
    /// The applied changes, when the diff applied.
    pub changes: Vec<FileChange>,
    /// The test run, when tests ran.
    pub tests: Option<TestRun>,
    /// The pull request opened (or, for a dry run, the one that would be).
    pub draft: Option<PullRequestDraft>,
    /// The opened pull request.
    pub pull_request: Option<PullRequest>,
    /// The issue comment posted.
    pub comment_url: Option<String>,
    /// The model's answer details (model, tokens, cost), when it was called.
    pub model: Option<(String, TokenUsage, f64)>,
    /// Problems that did not change the outcome (a label or comment that
    /// could not be posted, the store refusing the record).
    pub warnings: Vec<String>,
}

/// The fix pipeline.
pub struct FixPipeline {
    forge: Arc<dyn Forge>,
    store: Arc<dyn Store>,
    model: std::result::Result<Arc<dyn FixModel>, String>,
    scrubber: Scrubber,
    config: AutoFixConfig,
    remote: String,
    worktree_parent: Option<PathBuf>,
    limits: ContextLimits,
}

impl std::fmt::Debug for FixPipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FixPipeline")
            .field("forge", &self.forge.name())
            .field("repo", &self.forge.repo())
            .field("store", &self.store.name())
            .field("config", &self.config)
            .field("remote", &self.remote)
            .finish_non_exhaustive()
    }
}

/// A step's verdict inside [`FixPipeline::run`].
struct Stop {
    status: FixStatus,
    step: &'static str,
    reason: String,
    tail: Option<String>,
}

impl Stop {
    fn refused(step: &'static str, reason: impl Into<String>) -> Self {
        Self {
            status: FixStatus::Refused,
            step,
            reason: reason.into(),
            tail: None,
        }
    }

    fn failed(step: &'static str, reason: impl Into<String>) -> Self {
        Self {
            status: FixStatus::Failed,
            step,
            reason: reason.into(),
            tail: None,
        }
    }

    fn with_tail(mut self, tail: String) -> Self {
        self.tail = Some(tail);
        self
    }
}

impl FixPipeline {
    /// A pipeline over a forge and a store with the `auto_fix:` settings.
    /// Without [`model`](Self::model) every request that passes the gates
    /// fails at `llm`.
    pub fn new(forge: Arc<dyn Forge>, store: Arc<dyn Store>, config: AutoFixConfig) -> Self {
        Self {
            forge,
            store,
            model: Err("no LLM is configured (set `diagnosis.provider` and its API key)".into()),
            scrubber: Scrubber::new(),
            config,
            remote: "origin".into(),
            worktree_parent: None,
            limits: ContextLimits::default(),
        }
    }

    /// The model that writes diffs.
    pub fn model(mut self, model: Arc<dyn FixModel>) -> Self {
        self.model = Ok(model);
        self
    }

    /// No model: requests that pass the gates fail at `llm` with `reason`.
    pub fn model_unavailable(mut self, reason: impl Into<String>) -> Self {
        self.model = Err(reason.into());
        self
    }

    /// The scrubber for prompts, comments and PR bodies (default: built-in rules).
    pub fn scrubber(mut self, scrubber: Scrubber) -> Self {
        self.scrubber = scrubber;
        self
    }

    /// The remote pushed to (default `origin`).
    pub fn remote(mut self, name: impl Into<String>) -> Self {
        self.remote = name.into();
        self
    }

    /// Where fix worktrees are created (default: the system temporary directory).
    pub fn worktree_parent(mut self, dir: impl Into<PathBuf>) -> Self {
        self.worktree_parent = Some(dir.into());
        self
    }

    /// Context bounds (default [`ContextLimits::default`]).
    pub fn context_limits(mut self, limits: ContextLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Runs one request. `Err` only when the issue cannot be read at all;
    /// every other outcome is an `Ok` [`FixOutcome`] with its attempt.
    pub async fn run(&self, req: &FixRequest) -> Result<FixOutcome> {
        let issue = self.forge.issue(req.issue_number).await?;
        let mut out = FixOutcome {
            attempt: FixAttempt {
                id: Id::new(),
                signature: String::new(),
                repo: self.forge.repo().to_string(),
                issue_number: req.issue_number,
                report_id: None,
                status: FixStatus::Refused,
                step: String::new(),
                reason: String::new(),
                branch: None,
                pr_url: None,
                at: Utc::now(),
            },
            prompt: None,
            diff: None,
            changes: Vec::new(),
            tests: None,
            draft: None,
            pull_request: None,
            comment_url: None,
            model: None,
            warnings: Vec::new(),
        };
        let mut worktree: Option<FixWorktree> = None;
        let verdict = self.steps(req, &issue, &mut out, &mut worktree).await;
        let (status, step, reason, tail) = match verdict {
            Ok(()) if req.dry_run => (
                FixStatus::DryRun,
                "dry_run",
                "dry run: the fix applied and the tests passed; nothing was pushed".to_string(),
                None,
            ),
            Ok(()) => (FixStatus::Succeeded, "pr", String::new(), None),
            Err(stop) => (stop.status, stop.step, stop.reason, stop.tail),
        };
        let keep_branch = status == FixStatus::Succeeded;
        if let Some(wt) = worktree.take()
            && let Err(e) = wt.remove(keep_branch)
        {
            out.warnings
                .push(format!("could not remove the worktree: {e}"));
        }
        out.attempt.status = status;
        out.attempt.step = step.to_string();
        let mut reason = match (&out.model, status) {
            (_, FixStatus::Succeeded) => format!(
                "opened {}; the tests passed",
                out.pull_request
                    .as_ref()
                    .map(|p| p.url.clone())
                    .unwrap_or_else(|| "a pull request".into())
            ),
            _ => reason,
        };
        if let Some((model, usage, cost)) = &out.model {
            reason.push_str(&format!(
                " (LLM {model}: {} in / {} out tokens, ${cost:.4})",
                usage.input, usage.output
            ));
        }
        out.attempt.reason = self.scrubber.scrub(&reason).into_owned();
        out.attempt.at = Utc::now();

        if !req.dry_run && status != FixStatus::Succeeded {
            let body = match status {
                FixStatus::Refused => render::refusal_comment(&out.attempt),
                _ => render::failure_comment(&out.attempt, tail.as_deref(), out.diff.as_deref()),
            };
            let body = self.scrubber.scrub(&body).into_owned();
            match self.forge.comment(req.issue_number, &body).await {
                Ok(url) => out.comment_url = Some(url),
                Err(e) => out.warnings.push(format!(
                    "could not comment on the issue: {}",
                    e.chain_string()
                )),
            }
        }
        if let Err(e) = self.store.record_fix_attempt(&out.attempt).await {
            out.warnings.push(format!(
                "could not record the attempt: {}",
                e.chain_string()
            ));
        }
        Ok(out)
    }

    async fn steps(
        &self,
        req: &FixRequest,
        issue: &ForgeIssue,
        out: &mut FixOutcome,
        worktree: &mut Option<FixWorktree>,
    ) -> std::result::Result<(), Stop> {
        if issue.is_pull_request {
            return Err(Stop::refused(
                "issue",
                format!("#{} is a pull request, not an issue", issue.number),
            ));
        }
        let meta = IssueMetadata::parse(&issue.body).map_err(|e| {
            Stop::refused(
                "metadata",
                format!(
                    "{e}; generate-fix only works on issues filed by flow-doctor's GitHub notifier (the block is an HTML comment at the end of the body)"
                ),
            )
        })?;
        out.attempt.signature = meta.signature.clone();
        out.attempt.report_id = Some(meta.report_id.clone());
        let meta = &meta;

        // Earlier attempts: the store, and the markers in the issue's comments.
        let mut prior: Vec<PriorAttempt> = self
            .store
            .fix_attempts(&meta.signature)
            .await
            .map_err(|e| {
                Stop::failed(
                    "previous_attempt",
                    format!(
                        "cannot read earlier attempts from the store: {}",
                        e.chain_string()
                    ),
                )
            })?
            .iter()
            .map(PriorAttempt::from)
            .collect();
        let comments = self
            .forge
            .issue_comments(req.issue_number)
            .await
            .map_err(|e| {
                Stop::failed(
                    "previous_attempt",
                    format!("cannot read the issue's comments: {}", e.chain_string()),
                )
            })?;
        prior.extend(render::parse_markers(comments.iter().map(String::as_str)));
        gates::check(meta, &self.config, &prior, req.retry_failed)
            .and_then(|()| gates::check_title(meta, &issue.title))
            .map_err(|r| Stop::refused(r.step, r.reason))?;

        let guard = ScopeGuard::from_config(&self.config)
            .map_err(|e| Stop::refused("scope_guard", e.to_string()))?;

        // The worktree: the context is read from exactly what the diff applies to.
        let base = match &self.config.base_branch {
            Some(b) => b.clone(),
            None => self.forge.default_branch().await.map_err(|e| {
                Stop::failed(
                    "worktree",
                    format!("cannot read the default branch: {}", e.chain_string()),
                )
            })?,
        };
        let branch = branch_name(req.issue_number, &meta.signature);
        let wt = FixWorktree::create(
            &req.repo_path,
            &base,
            &branch,
            self.worktree_parent.as_deref(),
        )
        .map_err(|e| Stop::failed("worktree", e.to_string()))?;
        let wt = worktree.insert(wt);
        out.attempt.branch = Some(branch.clone());

        let (files, skipped) =
            prompt::gather_context(wt.path(), &meta.affected_files, &guard, self.limits);
        if files.is_empty() {
            let why = skipped
                .iter()
                .map(|s| format!("`{}`: {}", s.path, s.reason))
                .collect::<Vec<_>>()
                .join("; ");
            return Err(Stop::refused(
                "context",
                format!("none of the affected files can be shown to the model ({why})"),
            ));
        }

        let model = self
            .model
            .as_ref()
            .map_err(|why| Stop::failed("llm", why.clone()))?;
        let grant = self
            .store
            .reserve_budget(&BudgetRequest {
                scope: BUDGET_SCOPE.into(),
                window_start: today(),
                max_count: self.config.max_fixes_per_day,
                max_cost_usd: self.config.max_daily_cost_usd,
            })
            .await
            .map_err(|e| Stop::failed("budget", e.chain_string()))?;
        let reservation = match grant {
            BudgetGrant::Granted(id) => id,
            BudgetGrant::CountExceeded(u) => {
                return Err(Stop::refused(
                    "budget",
                    format!(
                        "{} fixes were generated today, the `auto_fix.max_fixes_per_day` limit",
                        u.count
                    ),
                ));
            }
            BudgetGrant::CostExceeded(u) => {
                return Err(Stop::refused(
                    "budget",
                    format!(
                        "today's fix spend ${:.2} reached `auto_fix.max_daily_cost_usd`",
                        u.cost_usd
                    ),
                ));
            }
        };
        let user = prompt::build_prompt(issue, meta, &files, self.limits);
        let user = self.scrubber.scrub(&user).into_owned();
        out.prompt = Some(user.clone());
        let answer = model
            .complete(SYSTEM_PROMPT, &user, MAX_ANSWER_TOKENS)
            .await;
        let settle = match &answer {
            Ok(a) => (a.usage, a.cost_usd, a.model.clone()),
            Err(_) => (TokenUsage::default(), 0.0, String::new()),
        };
        if let Err(e) = self
            .store
            .settle_budget(&reservation, settle.0, settle.1, &settle.2)
            .await
        {
            out.warnings
                .push(format!("could not settle the budget: {}", e.chain_string()));
        }
        let ModelAnswer {
            text,
            model: model_name,
            usage,
            cost_usd,
        } = answer.map_err(|e| Stop::failed("llm", e.chain_string()))?;
        out.model = Some((model_name, usage, cost_usd));

        let diff_text = extract_diff(&text).map_err(|e| {
            Stop::failed("diff", e.to_string()).with_tail(last_lines(&text, TAIL_LINES))
        })?;
        out.diff = Some(diff_text.clone());
        let patch = Patch::parse(&diff_text).map_err(|e| Stop::failed("diff", e.to_string()))?;

        // Nothing is written before the guard has accepted every path.
        guard
            .check(&patch, wt.path())
            .map_err(|e| Stop::failed("scope_guard", e.to_string()))?;
        let changes =
            apply::apply(wt.path(), &patch).map_err(|e| Stop::failed("apply", e.to_string()))?;
        out.changes = changes;

        let command = self.config.test_command.clone().unwrap_or_default();
        let mut run = runner::run_tests(&command, wt.path(), self.config.test_timeout.get())
            .await
            .map_err(|e| Stop::failed("tests", format!("cannot start `sh -c {command}`: {e}")))?;
        // The outcome is printed (CI logs) and may be serialised: the
        // output is scrubbed once, here, for every use.
        self.scrubber.scrub_string(&mut run.output);
        let passed = run.status.passed();
        let tail = run.tail(TAIL_LINES);
        let status_line = format!(
            "`{}` {} after {:.1}s",
            run.command,
            run.status,
            run.duration.as_secs_f64()
        );
        out.tests = Some(run);
        if !passed {
            return Err(Stop::failed(
                "tests",
                format!("the tests failed with the fix applied: {status_line}"),
            )
            .with_tail(tail));
        }

        let title = format!("Fix: {}", issue.title);
        let note = out.model.as_ref().map(|(m, _, c)| format!("{m}, ${c:.4}"));
        let body = render::pr_body(PrBodyParts {
            issue_number: req.issue_number,
            meta,
            changes: &out.changes,
            tests: out
                .tests
                .as_ref()
                .ok_or_else(|| Stop::failed("tests", "no test run"))?,
            model_note: note.as_deref(),
        });
        let draft = PullRequestDraft {
            title: self.scrubber.scrub(&title).into_owned(),
            body: self.scrubber.scrub(&body).into_owned(),
            head: branch.clone(),
            base: base.clone(),
        };
        out.draft = Some(draft.clone());
        if req.dry_run {
            return Ok(());
        }

        let mut changed = Vec::new();
        let mut removed = Vec::new();
        for c in &out.changes {
            match c.after {
                Some(_) => changed.push(c.path.clone()),
                None => removed.push(c.path.clone()),
            }
            if let Some(old) = &c.old_path {
                removed.push(old.clone());
            }
        }
        let message = format!(
            "{title}\n\nFixes #{} (flow-doctor failure {}).\n\nGenerated by flow-doctor; the tests passed: {status_line}.",
            req.issue_number, meta.signature
        );
        wt.commit(&self.scrubber.scrub(&message), &changed, &removed)
            .map_err(|e| Stop::failed("commit", e.to_string()))?;
        let repo_path = wt.repo_path().to_path_buf();
        let remote = self.remote.clone();
        let creds = self.forge.push_credentials();
        let push_branch = branch.clone();
        tokio::task::spawn_blocking(move || {
            worktree::push_branch(&repo_path, &remote, &push_branch, creds.as_ref())
        })
        .await
        .map_err(|e| Stop::failed("push", format!("the push task failed: {e}")))?
        .map_err(|e| Stop::failed("push", e.to_string()))?;

        let pr = self.forge.open_pull_request(&draft).await.map_err(|e| {
            Stop::failed(
                "pr",
                format!(
                    "the branch `{branch}` was pushed but the pull request could not be opened: {}",
                    e.chain_string()
                ),
            )
        })?;
        out.attempt.pr_url = Some(pr.url.clone());
        out.pull_request = Some(pr.clone());
        if let Err(e) = self
            .forge
            .label_pull_request(&pr, &self.config.pr_labels)
            .await
        {
            out.warnings.push(format!(
                "could not label the pull request: {}",
                e.chain_string()
            ));
        }
        let mut done = out.attempt.clone();
        done.status = FixStatus::Succeeded;
        done.step = "pr".into();
        let comment = self
            .scrubber
            .scrub(&render::success_comment(&done, &pr.url))
            .into_owned();
        match self.forge.comment(req.issue_number, &comment).await {
            Ok(url) => out.comment_url = Some(url),
            Err(e) => out.warnings.push(format!(
                "could not comment on the issue: {}",
                e.chain_string()
            )),
        }
        Ok(())
    }
}

/// `flow-doctor/fix-<issue>-<first 8 characters of the signature>`.
pub fn branch_name(issue_number: u64, signature: &str) -> String {
    let short: String = signature
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .take(8)
        .collect();
    if short.is_empty() {
        format!("flow-doctor/fix-{issue_number}")
    } else {
        format!("flow-doctor/fix-{issue_number}-{short}")
    }
}

fn today() -> chrono::DateTime<Utc> {
    Utc::now()
        .date_naive()
        .and_time(chrono::NaiveTime::MIN)
        .and_utc()
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_names_are_safe_and_short() {
        assert_eq!(branch_name(7, "3FA2c1d0e9b8"), "flow-doctor/fix-7-3fa2c1d0");
        assert_eq!(branch_name(7, "a/b..c"), "flow-doctor/fix-7-abc");
        assert_eq!(branch_name(7, ""), "flow-doctor/fix-7");
    }
}
