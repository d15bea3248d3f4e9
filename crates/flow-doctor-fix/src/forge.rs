//! The [`Forge`] trait: what the fix pipeline needs from a code host
//! (read an issue and its comments, comment, open and label a pull
//! request, credentials to push).
//!
//! GitHub is the one implementation ([`GithubForge`](crate::github::GithubForge),
//! feature `github`). Another forge (GitLab, Gitea, Bitbucket) implements
//! these seven methods and plugs into [`FixPipeline`](crate::FixPipeline)
//! unchanged: the pipeline never speaks a forge's API itself.

use std::fmt;

use async_trait::async_trait;
use flow_doctor_core::Result;
use flow_doctor_core::config::Secret;

/// An issue as the pipeline needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForgeIssue {
    /// Issue number.
    pub number: u64,
    /// Title.
    pub title: String,
    /// Body (Markdown), with the metadata block.
    pub body: String,
    /// Web URL.
    pub url: String,
    /// Whether the number is a pull request rather than an issue.
    pub is_pull_request: bool,
}

/// A pull request to open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PullRequestDraft {
    /// Title.
    pub title: String,
    /// Body (Markdown).
    pub body: String,
    /// Branch with the fix.
    pub head: String,
    /// Branch to merge into.
    pub base: String,
}

/// An opened pull request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PullRequest {
    /// Number.
    pub number: u64,
    /// Web URL.
    pub url: String,
}

/// HTTP(S) credentials for `git push`.
#[derive(Clone)]
pub struct PushCredentials {
    /// User name (`x-access-token` for GitHub tokens).
    pub username: String,
    /// Password or token.
    pub password: Secret,
}

impl fmt::Debug for PushCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PushCredentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// A code host.
///
/// # Contract
/// - Failures map onto [`flow_doctor_core::Error`]: rate limits to
///   `RateLimited`, 5xx and network errors to `Transient`, other 4xx to
///   `Permanent`. Messages never carry the token.
/// - Implementations do not retry on their own beyond what the error kind
///   suggests; the pipeline makes each call once.
#[async_trait]
pub trait Forge: Send + Sync + 'static {
    /// Short, stable name (`"github"`).
    fn name(&self) -> &str;

    /// The repository, `owner/name`.
    fn repo(&self) -> &str;

    /// One issue.
    async fn issue(&self, number: u64) -> Result<ForgeIssue>;

    /// The bodies of an issue's comments, oldest first.
    async fn issue_comments(&self, number: u64) -> Result<Vec<String>>;

    /// The repository's default branch.
    async fn default_branch(&self) -> Result<String>;

    /// Comments on an issue; returns the comment's URL.
    async fn comment(&self, number: u64, body: &str) -> Result<String>;

    /// Opens a pull request.
    async fn open_pull_request(&self, draft: &PullRequestDraft) -> Result<PullRequest>;

    /// Adds labels to a pull request.
    async fn label_pull_request(&self, pr: &PullRequest, labels: &[String]) -> Result<()>;

    /// Credentials for pushing over HTTPS, when the forge has them.
    fn push_credentials(&self) -> Option<PushCredentials>;
}
