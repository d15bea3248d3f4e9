//! Fix pull requests: from a labelled issue to an LLM diff, checked by the
//! scope guard, applied in a fresh git worktree, tested, pushed and opened
//! as a pull request. This is what `flow-doctor generate-fix` runs.
//!
//! | Module | What |
//! |---|---|
//! | [`pipeline`] | [`FixPipeline`]: the whole run, one [`FixAttempt`](flow_doctor_core::FixAttempt) recorded per run |
//! | [`gates`] | the safety gates (enabled, category, confidence, credentials, earlier attempts, ...) |
//! | [`diff`] | unified-diff extraction and parsing |
//! | [`scope`] | the scope guard (allow/deny globs, `..`, absolute paths, `.git`, symlinks, binary, size) |
//! | [`apply`] | two-phase application of a diff to a directory |
//! | [`worktree`] | git2 worktree, commit and push |
//! | [`runner`] | the test command with a timeout and captured output |
//! | [`forge`] | the [`Forge`] trait; [`github`] implements it (feature `github`) |
//! | [`prompt`], [`render`] | what the model is asked; what the forge is told |
//! | [`model`] | the [`FixModel`] trait, implemented for the diagnosis crate's LLM client |
//!
//! # Features
//! | Feature | Adds |
//! |---|---|
//! | `github` | [`github::GithubForge`] (octocrab) |
//! | `https` | pushing to `https://` remotes (git2's https transport, links OpenSSL) |
//! | `anthropic`, `openai` | [`FixModel`] for `flow_doctor_diagnosis::llm::LlmClient` |
//!
//! # Configuration (`auto_fix:`)
//! `enabled`, `confidence_threshold` (0.90), `test_command` (required),
//! `test_timeout` (10m), `max_diff_lines` (400), `base_branch` (default: the
//! forge's default branch), `pr_labels`, `scope.allow` / `scope.deny`,
//! `max_fixes_per_day` (5) and `max_daily_cost_usd` (2.00). The model comes
//! from the `diagnosis:` section, the token from `github:`.
//!
//! **Invariant:** nothing outside the fix worktree is written (the checkout
//! only gains a branch), and nothing is pushed, opened or commented in a dry
//! run. The scope guard runs before the diff is applied.

pub mod apply;
pub mod diff;
pub mod forge;
pub mod gates;
#[cfg(feature = "github")]
#[cfg_attr(docsrs, doc(cfg(feature = "github")))]
pub mod github;
pub mod model;
pub mod pipeline;
pub mod prompt;
pub mod render;
pub mod runner;
pub mod scope;
pub mod worktree;

pub use forge::{Forge, ForgeIssue, PullRequest, PullRequestDraft, PushCredentials};
pub use model::{FixModel, ModelAnswer};
pub use pipeline::{FixOutcome, FixPipeline, FixRequest};
pub use scope::{ScopeGuard, ScopeRejection, Violation, ViolationKind};
