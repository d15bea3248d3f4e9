//! [`GithubForge`]: the [`Forge`] for GitHub and GitHub Enterprise, over
//! the REST API with octocrab (feature `github`).
//!
//! Endpoints used: `GET /repos/{o}/{r}` (default branch),
//! `GET /repos/{o}/{r}/issues/{n}`, `GET /repos/{o}/{r}/issues/{n}/comments`,
//! `POST /repos/{o}/{r}/issues/{n}/comments`, `POST /repos/{o}/{r}/pulls`,
//! `POST /repos/{o}/{r}/issues/{pr}/labels`. The token needs
//! `contents: write`, `issues: write` and `pull-requests: write`.
//!
//! Pushes authenticate as user `x-access-token` with the same token.
//!
//! ```no_run
//! # fn demo() -> flow_doctor_core::Result<()> {
//! use flow_doctor_core::config::Secret;
//! use flow_doctor_fix::github::GithubForge;
//! let forge = GithubForge::new("octo/etl", Secret::new("ghp_..."), None)?;
//! # Ok(()) }
//! ```

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use flow_doctor_core::config::Secret;
use flow_doctor_core::{Error, Result};
use flow_doctor_notify::github::map_error;
use octocrab::Octocrab;
use serde::Deserialize;
use serde_json::json;

use crate::forge::{Forge, ForgeIssue, PullRequest, PullRequestDraft, PushCredentials};

const COMPONENT: &str = "github";
/// The public API.
pub const DEFAULT_BASE_URL: &str = "https://api.github.com";
const PER_PAGE: u32 = 100;
/// Comment pages read at most (10 000 comments).
const MAX_PAGES: u32 = 100;

/// GitHub over its REST API.
#[derive(Clone)]
pub struct GithubForge {
    repo: String,
    token: Secret,
    base_url: String,
    timeout: Duration,
}

impl fmt::Debug for GithubForge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GithubForge")
            .field("repo", &self.repo)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl GithubForge {
    /// A forge for `owner/name`; `base_url` defaults to
    /// [`DEFAULT_BASE_URL`]. Fails with [`Error::Config`] on a malformed
    /// repository, an empty token or a bad URL.
    pub fn new(repo: &str, token: Secret, base_url: Option<&str>) -> Result<Self> {
        let valid = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        match repo.split_once('/') {
            Some((o, n)) if valid(o) && valid(n) => {}
            _ => {
                return Err(Error::config(
                    COMPONENT,
                    format!("repository `{repo}` is not of the form owner/name"),
                ));
            }
        }
        if token.expose().trim().is_empty() {
            return Err(Error::config(
                COMPONENT,
                "no GitHub token: pass --token or set github.token, FLOW_DOCTOR_GITHUB_TOKEN or GITHUB_TOKEN",
            ));
        }
        let base_url = base_url
            .unwrap_or(DEFAULT_BASE_URL)
            .trim_end_matches('/')
            .to_string();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://"))
            || Octocrab::builder().base_uri(base_url.as_str()).is_err()
        {
            return Err(Error::config(
                COMPONENT,
                format!("`{base_url}` is not an http(s) URL"),
            ));
        }
        Ok(Self {
            repo: repo.to_string(),
            token,
            base_url,
            timeout: Duration::from_secs(30),
        })
    }

    /// Sets the per-request timeout (default 30 s).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// A client for one call. Octocrab spawns its worker on the runtime
    /// that builds it, so each call builds its own.
    fn client(&self) -> Result<Octocrab> {
        flow_doctor_notify::github::client(&self.base_url, &self.token, self.timeout)
    }

    fn path(&self, rest: &str) -> String {
        format!("/repos/{}{rest}", self.repo)
    }
}

#[derive(Deserialize)]
struct ApiIssue {
    number: u64,
    title: String,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    html_url: String,
    #[serde(default)]
    pull_request: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct ApiComment {
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    html_url: String,
}

#[derive(Deserialize)]
struct ApiRepo {
    default_branch: String,
}

#[derive(Deserialize)]
struct ApiPull {
    number: u64,
    #[serde(default)]
    html_url: String,
}

#[derive(Deserialize)]
struct ApiLabel {}

#[derive(serde::Serialize)]
struct Page {
    per_page: u32,
    page: u32,
}

#[async_trait]
impl Forge for GithubForge {
    fn name(&self) -> &str {
        COMPONENT
    }

    fn repo(&self) -> &str {
        &self.repo
    }

    async fn issue(&self, number: u64) -> Result<ForgeIssue> {
        let i: ApiIssue = self
            .client()?
            .get(self.path(&format!("/issues/{number}")), None::<&()>)
            .await
            .map_err(map_error)?;
        Ok(ForgeIssue {
            number: i.number,
            title: i.title,
            body: i.body.unwrap_or_default(),
            url: i.html_url,
            is_pull_request: i.pull_request.is_some(),
        })
    }

    async fn issue_comments(&self, number: u64) -> Result<Vec<String>> {
        let client = self.client()?;
        let mut out = Vec::new();
        for page in 1..=MAX_PAGES {
            let batch: Vec<ApiComment> = client
                .get(
                    self.path(&format!("/issues/{number}/comments")),
                    Some(&Page {
                        per_page: PER_PAGE,
                        page,
                    }),
                )
                .await
                .map_err(map_error)?;
            let n = batch.len();
            out.extend(batch.into_iter().filter_map(|c| c.body));
            if n < PER_PAGE as usize {
                break;
            }
        }
        Ok(out)
    }

    async fn default_branch(&self) -> Result<String> {
        let r: ApiRepo = self
            .client()?
            .get(self.path(""), None::<&()>)
            .await
            .map_err(map_error)?;
        Ok(r.default_branch)
    }

    async fn comment(&self, number: u64, body: &str) -> Result<String> {
        let c: ApiComment = self
            .client()?
            .post(
                self.path(&format!("/issues/{number}/comments")),
                Some(&json!({ "body": body })),
            )
            .await
            .map_err(map_error)?;
        Ok(c.html_url)
    }

    async fn open_pull_request(&self, draft: &PullRequestDraft) -> Result<PullRequest> {
        let p: ApiPull = self
            .client()?
            .post(
                self.path("/pulls"),
                Some(&json!({
                    "title": draft.title,
                    "head": draft.head,
                    "base": draft.base,
                    "body": draft.body,
                    "maintainer_can_modify": true,
                })),
            )
            .await
            .map_err(map_error)?;
        Ok(PullRequest {
            number: p.number,
            url: p.html_url,
        })
    }

    async fn label_pull_request(&self, pr: &PullRequest, labels: &[String]) -> Result<()> {
        if labels.is_empty() {
            return Ok(());
        }
        let _: Vec<ApiLabel> = self
            .client()?
            .post(
                self.path(&format!("/issues/{}/labels", pr.number)),
                Some(&json!({ "labels": labels })),
            )
            .await
            .map_err(map_error)?;
        Ok(())
    }

    fn push_credentials(&self) -> Option<PushCredentials> {
        Some(PushCredentials {
            username: "x-access-token".into(),
            password: self.token.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_errors_and_debug_without_token() {
        let t = || Secret::new("ghp_0123456789abcdefghijklmnopqrstuvwxyzAB");
        assert!(GithubForge::new("nope", t(), None).is_err());
        assert!(GithubForge::new("a/b/c", t(), None).is_err());
        assert!(GithubForge::new("o/r", Secret::new(" "), None).is_err());
        assert!(GithubForge::new("o/r", t(), Some("ftp://x")).is_err());
        let f = GithubForge::new("o/r", t(), Some("http://127.0.0.1:1/")).unwrap();
        let dbg = format!("{f:?} {:?}", f.push_credentials());
        assert!(!dbg.contains("ghp_"), "{dbg}");
        assert!(dbg.contains("127.0.0.1:1"), "{dbg}");
    }
}
