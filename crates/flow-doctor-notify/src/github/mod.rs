//! GitHub issues.
//!
//! An incident becomes an issue titled `[flow] ErrorType: message`, whose
//! body carries the diagnosis (category, confidence, root cause,
//! remediation, affected files), cascade source, traceback (cut in the
//! middle to fit GitHub's 65,536-character limit), captured logs, context,
//! an occurrence-count line and, last, the machine-readable
//! [`IssueMetadata`] block that `flow-doctor generate-fix` parses.
//!
//! # Recurrences
//! Before filing, the notifier looks for an **open** issue of the same flow
//! and signature: first in its in-process memory (signature → issue
//! number, re-checked with `GET /repos/{o}/{r}/issues/{n}`), then through
//! the API: it lists the repository's open issues carrying the first
//! configured label (`GET /repos/{o}/{r}/issues?state=open&labels=…`,
//! oldest first, up to 1,000 issues) and reads each body's metadata block.
//! Listing is used rather than the search API because search has its own
//! low rate limit and indexes new issues with a delay, so an issue filed a
//! minute ago could be missed and filed twice. On a hit it rewrites the
//! body's occurrence line (`PATCH`, metadata block untouched) and comments
//! "Occurred again …" instead of filing a duplicate. A closed issue does not
//! match: a failure that comes back after its issue was closed gets a new
//! issue.
//!
//! Deliveries are idempotent per incident: a retry of a delivery that
//! already filed or commented (same report id) does not comment again.
//!
//! # Other notifications
//! - **Digest**: filed as a new issue titled `flow-doctor digest
//!   YYYY-MM-DD` with the configured labels plus `digest` (set `digest:
//!   false` on the channel to keep digests out of GitHub).
//! - **Remediation**: a comment on the incident's open issue when there is
//!   one; otherwise nothing is posted and the delivery says so.
//! - **Success** pings are never filed.
//!
//! With `auto_fix_pr: true`, an issue whose diagnosis is `auto_fixable` gets
//! the fix label (default `flow-doctor:fix`) in a separate call after
//! creation, so label-triggered automation sees a complete issue.
//!
//! Configuration (`type: github`):
//!
//! | key | meaning |
//! |---|---|
//! | `repo` | `owner/name` (default: top-level `repo`) |
//! | `token` | token (default: `github.token`, then `FLOW_DOCTOR_GITHUB_TOKEN`, `GITHUB_TOKEN`, `GH_TOKEN`) |
//! | `base_url` | API base URL (default: `github.base_url`, then `https://api.github.com`) |
//! | `labels` | labels of new issues (default `[flow-doctor]`) |
//! | `auto_fix_pr`, `fix_label` | see above |
//! | `assignees` | users assigned to new issues |
//! | `timeout` | per-request timeout (default 30s) |
//!
//! Failures: 429, and 403 with `retry-after`, `x-ratelimit-remaining: 0` or
//! a rate-limit message (GitHub's secondary rate limit) → rate limited; 5xx,
//! timeouts and unreachable API → transient; other 4xx → permanent.
//! [`Notifier::check`] calls `GET /user` and `GET /repos/{o}/{r}`: a
//! rejected token (401/403) or an invisible repository fails start-up; an
//! unreachable API does not.
//!
//! ```no_run
//! # fn demo() -> flow_doctor_core::Result<()> {
//! use flow_doctor_core::config::{GithubChannelConfig, GithubConfig, Secret};
//! use flow_doctor_notify::github::GithubNotifier;
//!
//! let mut cfg = GithubChannelConfig::default();
//! cfg.token = Some(Secret::new("ghp_example"));
//! let github = GithubNotifier::new(&cfg, &GithubConfig::default(), Some("acme/etl"))?;
//! # Ok(()) }
//! ```

mod render;

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use flow_doctor_core::config::{GithubChannelConfig, GithubConfig, Secret};
use flow_doctor_core::metadata::IssueMetadata;
use flow_doctor_core::notify::{Digest, Incident, RemediationNotice};
use flow_doctor_core::{Delivery, Error, Notification, Notifier, Report, ReportId, Result};
use octocrab::Octocrab;
use octocrab::service::middleware::retry::RetryConfig;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::util::{Problem, RemoteError, parse_retry_after};

pub use render::{
    BODY_LIMIT, digest_body, issue_body, occurrence_line, parse_occurrences, recurrence_comment,
    remediation_comment, with_occurrences,
};

const COMPONENT: &str = "github";
/// Default API base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.github.com";
/// Default label of new issues.
pub const DEFAULT_LABEL: &str = "flow-doctor";
/// Default label that triggers `generate-fix`.
pub const DEFAULT_FIX_LABEL: &str = "flow-doctor:fix";
/// Extra label of digest issues.
pub const DIGEST_LABEL: &str = "digest";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const PER_PAGE: usize = 100;
const MAX_PAGES: u32 = 10;
const MEMORY_CAP: usize = 4096;

/// Files, comments on and labels GitHub issues.
pub struct GithubNotifier {
    owner: String,
    repo: String,
    token: Secret,
    base_url: String,
    labels: Vec<String>,
    fix_label: String,
    auto_fix_pr: bool,
    assignees: Vec<String>,
    timeout: Duration,
    memory: Mutex<HashMap<(String, String), Memo>>,
}

impl fmt::Debug for GithubNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GithubNotifier")
            .field("repo", &format_args!("{}/{}", self.owner, self.repo))
            .field("base_url", &self.base_url)
            .field("labels", &self.labels)
            .field("auto_fix_pr", &self.auto_fix_pr)
            .finish_non_exhaustive()
    }
}

/// What the notifier remembers of an issue it filed or commented on.
#[derive(Clone, Debug)]
struct Memo {
    number: u64,
    url: String,
    /// The last incident delivered to it.
    report_id: ReportId,
    /// The fix label is wanted but could not be applied yet.
    fix_label_pending: bool,
}

/// The fields of an issue this notifier reads (a subset of GitHub's answer,
/// so GitHub Enterprise versions with fewer fields still parse).
#[derive(Clone, Debug, Deserialize)]
struct ApiIssue {
    number: u64,
    html_url: String,
    state: String,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    labels: Vec<ApiLabel>,
    #[serde(default)]
    pull_request: Option<serde_json::Value>,
}

#[derive(Clone, Debug, Deserialize)]
struct ApiLabel {
    name: String,
}

#[derive(Clone, Debug, Deserialize)]
struct ApiComment {
    html_url: String,
}

#[derive(Serialize)]
struct ListQuery<'a> {
    state: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    labels: Option<&'a str>,
    sort: &'a str,
    direction: &'a str,
    per_page: usize,
    page: u32,
}

impl GithubNotifier {
    /// Validates the configuration. `fallback` is the top-level `github:`
    /// section (token, base URL) and `repo_fallback` the top-level `repo`.
    pub fn new(
        cfg: &GithubChannelConfig,
        fallback: &GithubConfig,
        repo_fallback: Option<&str>,
    ) -> Result<Self> {
        let token = cfg
            .token
            .clone()
            .or_else(|| fallback.token.clone())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                Error::config(
                    COMPONENT,
                    "no GitHub token; set `token` on the channel, `github.token`, or one of \
                     FLOW_DOCTOR_GITHUB_TOKEN, GITHUB_TOKEN, GH_TOKEN",
                )
            })?;
        if !token.expose().chars().all(|c| c.is_ascii_graphic()) {
            return Err(Error::config(
                COMPONENT,
                "the GitHub token contains spaces or non-ASCII characters; check for a stray newline",
            ));
        }
        let repo = cfg
            .repo
            .as_deref()
            .or(repo_fallback)
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .ok_or_else(|| {
                Error::config(
                    COMPONENT,
                    "no repository; set `repo: owner/name` on the channel or at the top level",
                )
            })?;
        let (owner, name) = split_repo(repo)?;
        let base_url = cfg
            .base_url
            .clone()
            .or_else(|| fallback.base_url.clone())
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_string());
        let base_url = base_url.trim().trim_end_matches('/').to_string();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://"))
            || Octocrab::builder().base_uri(base_url.as_str()).is_err()
        {
            return Err(Error::config(
                COMPONENT,
                format!("`base_url` `{base_url}` is not an http(s) URL"),
            ));
        }
        let labels = cfg
            .labels
            .clone()
            .unwrap_or_else(|| vec![DEFAULT_LABEL.to_string()]);
        let fix_label = cfg
            .fix_label
            .clone()
            .filter(|l| !l.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_FIX_LABEL.to_string());
        Ok(Self {
            owner,
            repo: name,
            token,
            base_url,
            labels,
            fix_label,
            auto_fix_pr: cfg.auto_fix_pr,
            assignees: cfg.assignees.clone(),
            timeout: cfg.timeout.map(|t| t.get()).unwrap_or(DEFAULT_TIMEOUT),
            memory: Mutex::new(HashMap::new()),
        })
    }

    /// `owner/name` of the repository issues are filed in.
    pub fn repo(&self) -> String {
        format!("{}/{}", self.owner, self.repo)
    }

    /// A client for one delivery. Octocrab spawns its request worker on the
    /// runtime that builds it, and the engine and the CLI may run
    /// deliveries on different runtimes, so each call builds its own.
    fn api(&self) -> Result<Api> {
        let client = client(&self.base_url, &self.token, self.timeout)?;
        Ok(Api {
            client,
            repo_path: format!("/repos/{}/{}", self.owner, self.repo),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Memo>> {
        self.memory.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn remembered(&self, key: &(String, String)) -> Option<Memo> {
        self.lock().get(key).cloned()
    }

    fn remember(&self, key: (String, String), memo: Memo) {
        let mut memory = self.lock();
        if memory.len() >= MEMORY_CAP && !memory.contains_key(&key) {
            // forget an arbitrary entry; the API lookup still finds its issue
            if let Some(k) = memory.keys().next().cloned() {
                memory.remove(&k);
            }
        }
        memory.insert(key, memo);
    }

    fn forget(&self, key: &(String, String)) {
        self.lock().remove(key);
    }

    fn wants_fix_label(&self, i: &Incident) -> bool {
        self.auto_fix_pr && i.diagnosis.as_ref().is_some_and(|d| d.auto_fixable)
    }

    async fn incident(&self, i: &Incident) -> Result<Delivery> {
        let api = self.api()?;
        let r = &i.report;
        let key = (r.flow.clone(), r.signature.clone());

        if let Some(memo) = self.remembered(&key) {
            if memo.report_id == r.id {
                // a retry of a delivery that already reached the issue
                let mut detail = format!("already delivered to #{}", memo.number);
                if memo.fix_label_pending {
                    detail = self.apply_fix_label(&api, &key, &memo, detail).await?;
                }
                return Ok(delivery(&memo, detail));
            }
            match api.get_issue(memo.number).await {
                Ok(issue) if issue.state == "open" => return self.recur(&api, key, issue, i).await,
                Ok(_) => self.forget(&key),
                Err(e) if matches!(status_of(&e), Some(404 | 410)) => self.forget(&key),
                Err(e) => return Err(map_error(e)),
            }
        }

        if !r.signature.is_empty()
            && let Some(issue) = self.find_open(&api, &r.flow, &r.signature).await?
        {
            return self.recur(&api, key, issue, i).await;
        }
        self.create(&api, key, i).await
    }

    /// The oldest open issue carrying this flow and signature in its metadata.
    async fn find_open(&self, api: &Api, flow: &str, signature: &str) -> Result<Option<ApiIssue>> {
        let label = self.labels.first().map(String::as_str);
        for page in 1..=MAX_PAGES {
            let issues = api.list_open(label, page).await.map_err(map_error)?;
            let full_page = issues.len() >= PER_PAGE;
            let found = issues.into_iter().find(|issue| {
                issue.pull_request.is_none()
                    && issue
                        .body
                        .as_deref()
                        .and_then(|b| IssueMetadata::parse(b).ok())
                        .is_some_and(|m| m.flow == flow && m.signature == signature)
            });
            if found.is_some() {
                return Ok(found);
            }
            if !full_page {
                break;
            }
        }
        Ok(None)
    }

    /// Updates the occurrence line and comments "occurred again".
    async fn recur(
        &self,
        api: &Api,
        key: (String, String),
        issue: ApiIssue,
        i: &Incident,
    ) -> Result<Delivery> {
        let r = &i.report;
        let body = issue.body.clone().unwrap_or_default();
        let filed_for_this = IssueMetadata::parse(&body)
            .map(|m| m.report_id == r.id)
            .unwrap_or(false);
        let mut memo = Memo {
            number: issue.number,
            url: issue.html_url.clone(),
            report_id: r.id.clone(),
            fix_label_pending: false,
        };
        let has_fix_label = issue.labels.iter().any(|l| l.name == self.fix_label);
        if filed_for_this {
            // the issue was filed for this very incident by an earlier attempt
            let mut detail = format!("already filed as #{}", issue.number);
            memo.fix_label_pending = self.wants_fix_label(i) && !has_fix_label;
            self.remember(key.clone(), memo.clone());
            if memo.fix_label_pending {
                detail = self.apply_fix_label(api, &key, &memo, detail).await?;
            }
            return Ok(delivery(&memo, detail));
        }

        let (count, latest) = parse_occurrences(&body).unwrap_or((1, None));
        let total = if latest.as_deref() == Some(r.id.as_str()) {
            count
        } else {
            let added = count + r.dedup_count.max(1);
            i.recurrence
                .as_ref()
                .map_or(added, |rec| rec.occurrences.max(added))
        };
        let updated = with_occurrences(&body, &occurrence_line(total, r));
        if updated != body {
            api.update_body(issue.number, &updated)
                .await
                .map_err(map_error)?;
        }
        api.comment(issue.number, &recurrence_comment(i, total))
            .await
            .map_err(map_error)?;
        let mut detail = format!("commented on #{}", issue.number);
        memo.fix_label_pending = self.wants_fix_label(i) && !has_fix_label;
        self.remember(key.clone(), memo.clone());
        if memo.fix_label_pending {
            detail = self.apply_fix_label(api, &key, &memo, detail).await?;
        }
        Ok(delivery(&memo, detail))
    }

    async fn create(&self, api: &Api, key: (String, String), i: &Incident) -> Result<Delivery> {
        let r = &i.report;
        let occurrences = i
            .recurrence
            .as_ref()
            .map_or(r.dedup_count, |rec| rec.occurrences.max(r.dedup_count))
            .max(1);
        let issue = api
            .create_issue(
                &r.title(),
                &issue_body(i, occurrences),
                &self.labels,
                &self.assignees,
            )
            .await
            .map_err(map_error)?;
        let memo = Memo {
            number: issue.number,
            url: issue.html_url.clone(),
            report_id: r.id.clone(),
            fix_label_pending: self.wants_fix_label(i),
        };
        self.remember(key.clone(), memo.clone());
        let mut detail = format!("filed #{}", issue.number);
        if memo.fix_label_pending {
            detail = self.apply_fix_label(api, &key, &memo, detail).await?;
        }
        Ok(delivery(&memo, detail))
    }

    /// Adds the fix label. A retryable failure is returned (the engine
    /// retries, and the retry only applies the label); a permanent one is
    /// reported in the detail, since the issue itself was delivered.
    async fn apply_fix_label(
        &self,
        api: &Api,
        key: &(String, String),
        memo: &Memo,
        detail: String,
    ) -> Result<String> {
        match api
            .add_labels(memo.number, std::slice::from_ref(&self.fix_label))
            .await
        {
            Ok(()) => {
                let mut done = memo.clone();
                done.fix_label_pending = false;
                self.remember(key.clone(), done);
                Ok(format!("{detail}; labelled {}", self.fix_label))
            }
            Err(e) => {
                let err = map_error(e);
                if err.is_retryable() {
                    return Err(err);
                }
                tracing::warn!(
                    message = "Could not apply the fix label.",
                    issue = memo.number,
                    error = %err.chain_string()
                );
                Ok(format!(
                    "{detail}; could not apply label {}: {}",
                    self.fix_label,
                    err.chain_string()
                ))
            }
        }
    }

    async fn digest(&self, d: &Digest) -> Result<Delivery> {
        let api = self.api()?;
        let mut labels = self.labels.clone();
        if !labels.iter().any(|l| l == DIGEST_LABEL) {
            labels.push(DIGEST_LABEL.to_string());
        }
        let title = format!("flow-doctor digest {}", d.generated_at.format("%Y-%m-%d"));
        let marker = digest_marker(d);
        // A retry after a create that timed out, or a second send of the
        // same entries, finds the issue filed before instead of filing it
        // again.
        if let Some(marker) = &marker {
            for page in 1..=MAX_PAGES {
                let issues = api
                    .list_open(Some(DIGEST_LABEL), page)
                    .await
                    .map_err(map_error)?;
                let full_page = issues.len() >= PER_PAGE;
                if let Some(issue) = issues.into_iter().find(|i| {
                    i.body
                        .as_deref()
                        .is_some_and(|b| b.contains(marker.as_str()))
                }) {
                    return Ok(Delivery::delivered()
                        .with_url(issue.html_url)
                        .with_external_id(issue.number.to_string())
                        .with_detail(format!("already filed as digest #{}", issue.number)));
                }
                if !full_page {
                    break;
                }
            }
        }
        let mut body = digest_body(d);
        if let Some(marker) = &marker {
            body.push_str("\n\n");
            body.push_str(marker);
            body.push('\n');
        }
        let issue = api
            .create_issue(&title, &body, &labels, &[])
            .await
            .map_err(map_error)?;
        Ok(Delivery::delivered()
            .with_url(issue.html_url)
            .with_external_id(issue.number.to_string())
            .with_detail(format!("filed digest #{}", issue.number)))
    }

    async fn remediation(&self, n: &RemediationNotice) -> Result<Delivery> {
        let api = self.api()?;
        let r: &Report = &n.report;
        let key = (r.flow.clone(), r.signature.clone());
        let mut target = None;
        if let Some(memo) = self.remembered(&key) {
            match api.get_issue(memo.number).await {
                Ok(issue) if issue.state == "open" => target = Some(issue),
                Ok(_) => self.forget(&key),
                Err(e) if matches!(status_of(&e), Some(404 | 410)) => self.forget(&key),
                Err(e) => return Err(map_error(e)),
            }
        }
        if target.is_none() && !r.signature.is_empty() {
            target = self.find_open(&api, &r.flow, &r.signature).await?;
        }
        let Some(issue) = target else {
            return Ok(Delivery::delivered()
                .with_detail("no open issue for this failure; nothing to comment on"));
        };
        let comment = api
            .comment(issue.number, &remediation_comment(n))
            .await
            .map_err(map_error)?;
        Ok(Delivery::delivered()
            .with_url(comment.html_url)
            .with_external_id(issue.number.to_string())
            .with_detail(format!("commented on #{}", issue.number)))
    }
}

#[async_trait]
impl Notifier for GithubNotifier {
    fn name(&self) -> &str {
        COMPONENT
    }

    async fn notify(&self, notification: &Notification) -> Result<Delivery> {
        match notification {
            Notification::Incident(i) => self.incident(i).await,
            Notification::Digest(d) => self.digest(d).await,
            Notification::Remediation(r) => self.remediation(r).await,
            Notification::Success(_) => Ok(Delivery::delivered()
                .with_detail("skipped: success pings are not filed as GitHub issues")),
            _ => Ok(Delivery::delivered().with_detail("skipped: not filed as a GitHub issue")),
        }
    }

    /// `GET /user` then `GET /repos/{o}/{r}`: a rejected token (401/403) or
    /// an unknown API path or repository (404) fails start-up; an
    /// unreachable or failing API is logged and does not.
    async fn check(&self) -> Result<()> {
        let api = self.api()?;
        if let Err(e) = api
            .client
            .get::<serde_json::Value, _, ()>("/user", None)
            .await
        {
            let err = map_error(e);
            return match &err {
                Error::Permanent { source, .. } => match source.downcast_ref::<RemoteError>() {
                    Some(remote) if matches!(remote.status, 401 | 403) => Err(Error::config(
                        COMPONENT,
                        format!(
                            "GitHub token rejected: HTTP {}: {}; check the token and its scopes",
                            remote.status, remote.message
                        ),
                    )),
                    Some(remote) if remote.status == 404 => Err(Error::config(
                        COMPONENT,
                        format!(
                            "`{}/user` answered 404; check `base_url` (GitHub Enterprise uses https://HOST/api/v3)",
                            self.base_url
                        ),
                    )),
                    _ => Err(Error::config(
                        COMPONENT,
                        format!("GitHub rejected the token check: {}", err.chain_string()),
                    )),
                },
                _ => {
                    tracing::warn!(
                        message = "GitHub unreachable at start-up; carrying on.",
                        error = %err.chain_string()
                    );
                    Ok(())
                }
            };
        }
        match api
            .client
            .get::<serde_json::Value, _, ()>(&api.repo_path, None)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if status_of(&e) == Some(404) => Err(Error::config(
                COMPONENT,
                format!(
                    "repository {} not found, or the token cannot see it",
                    self.repo()
                ),
            )),
            Err(e) => {
                tracing::warn!(
                    message = "Could not check the GitHub repository at start-up; carrying on.",
                    error = %map_error(e).chain_string()
                );
                Ok(())
            }
        }
    }
}

fn delivery(memo: &Memo, detail: String) -> Delivery {
    Delivery::delivered()
        .with_url(memo.url.clone())
        .with_external_id(memo.number.to_string())
        .with_detail(detail)
}

fn split_repo(repo: &str) -> Result<(String, String)> {
    let ok = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    match repo.split_once('/') {
        Some((owner, name)) if ok(owner) && ok(name) => Ok((owner.to_string(), name.to_string())),
        _ => Err(Error::config(
            COMPONENT,
            format!("`repo` `{repo}` is not of the form owner/name"),
        )),
    }
}

/// The requests this notifier makes, on one client.
struct Api {
    client: Octocrab,
    repo_path: String,
}

type ApiResult<T> = std::result::Result<T, octocrab::Error>;

/// The hidden line identifying a digest by the entries it covers (FNV-1a
/// over their ids: stable across runs and versions), or `None` for a
/// digest built without entries.
fn digest_marker(d: &Digest) -> Option<String> {
    if d.entry_ids.is_empty() {
        return None;
    }
    let mut ids: Vec<&str> = d.entry_ids.iter().map(|id| id.as_str()).collect();
    ids.sort_unstable();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for id in ids {
        for byte in id.bytes().chain(std::iter::once(b'\n')) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    Some(format!("<!-- flow-doctor-digest: {hash:016x} -->"))
}

impl Api {
    async fn get_issue(&self, number: u64) -> ApiResult<ApiIssue> {
        self.client
            .get::<_, _, ()>(format!("{}/issues/{number}", self.repo_path), None)
            .await
    }

    async fn list_open(&self, label: Option<&str>, page: u32) -> ApiResult<Vec<ApiIssue>> {
        let query = ListQuery {
            state: "open",
            labels: label,
            sort: "created",
            direction: "asc",
            per_page: PER_PAGE,
            page,
        };
        self.client
            .get(format!("{}/issues", self.repo_path), Some(&query))
            .await
    }

    async fn create_issue(
        &self,
        title: &str,
        body: &str,
        labels: &[String],
        assignees: &[String],
    ) -> ApiResult<ApiIssue> {
        let mut payload = json!({ "title": title, "body": body, "labels": labels });
        if !assignees.is_empty() {
            payload["assignees"] = json!(assignees);
        }
        self.client
            .post(format!("{}/issues", self.repo_path), Some(&payload))
            .await
    }

    async fn comment(&self, number: u64, body: &str) -> ApiResult<ApiComment> {
        self.client
            .post(
                format!("{}/issues/{number}/comments", self.repo_path),
                Some(&json!({ "body": body })),
            )
            .await
    }

    async fn update_body(&self, number: u64, body: &str) -> ApiResult<ApiIssue> {
        self.client
            .patch(
                format!("{}/issues/{number}", self.repo_path),
                Some(&json!({ "body": body })),
            )
            .await
    }

    async fn add_labels(&self, number: u64, labels: &[String]) -> ApiResult<()> {
        let _: Vec<ApiLabel> = self
            .client
            .post(
                format!("{}/issues/{number}/labels", self.repo_path),
                Some(&json!({ "labels": labels })),
            )
            .await?;
        Ok(())
    }
}

fn status_of(e: &octocrab::Error) -> Option<u16> {
    match e {
        octocrab::Error::GitHub { source, .. } => Some(source.status_code.as_u16()),
        _ => None,
    }
}

/// An octocrab client for `base_url` authenticated with `token`, with
/// `timeout` on connect, read and write and octocrab's own retries off (the
/// caller retries with backoff). Octocrab spawns its request worker on the
/// runtime that builds it, so build one per call when calls may run on
/// different runtimes. Shared with the fix crate's GitHub forge.
pub fn client(base_url: &str, token: &Secret, timeout: Duration) -> Result<Octocrab> {
    Octocrab::builder()
        .personal_token(token.expose().to_string())
        .base_uri(base_url)
        .map_err(|e| Error::config(COMPONENT, format!("invalid `base_url` {base_url}: {e}")))?
        .add_retry_config(RetryConfig::None)
        .set_connect_timeout(Some(timeout))
        .set_read_timeout(Some(timeout))
        .set_write_timeout(Some(timeout))
        .build()
        .map_err(|e| {
            Error::permanent(
                COMPONENT,
                Problem(format!("cannot build the GitHub client: {e}")),
            )
        })
}

/// Maps an octocrab error: 429 and GitHub's rate-limit 403s → rate limited
/// (with `Retry-After` or the rate-limit reset as the wait), 5xx and
/// transport failures → transient, anything else → permanent. The error's
/// component is `github`. Shared with the fix crate's GitHub forge.
pub fn map_error(e: octocrab::Error) -> Error {
    match e {
        octocrab::Error::GitHub { source, .. } => {
            let status = source.status_code.as_u16();
            let header = |name: &str| {
                source
                    .headers
                    .as_ref()
                    .and_then(|h| h.get(name))
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            let now = chrono::Utc::now();
            let retry_after = header("retry-after").and_then(|v| parse_retry_after(&v, now));
            let exhausted = header("x-ratelimit-remaining").as_deref() == Some("0");
            let says_rate_limit = source.message.to_ascii_lowercase().contains("rate limit");
            if status == 429
                || (status == 403 && (retry_after.is_some() || exhausted || says_rate_limit))
            {
                let until_reset = source
                    .rate_limit_reset_at()
                    .and_then(|at| (at - now).to_std().ok());
                return Error::rate_limited(COMPONENT, retry_after.or(until_reset));
            }
            let remote = RemoteError::new("GitHub API", status, &source.message);
            if status >= 500 {
                match retry_after {
                    Some(wait) => Error::transient_after(COMPONENT, remote, wait),
                    None => Error::transient(COMPONENT, remote),
                }
            } else {
                Error::permanent(COMPONENT, remote)
            }
        }
        e @ (octocrab::Error::Hyper { .. }
        | octocrab::Error::Service { .. }
        | octocrab::Error::Http { .. }) => {
            Error::transient(COMPONENT, Problem(format!("GitHub API unreachable: {e}")))
        }
        e => Error::permanent(
            COMPONENT,
            Problem(format!("unexpected answer from the GitHub API: {e}")),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(token: &str) -> GithubChannelConfig {
        let mut c = GithubChannelConfig::default();
        c.token = Some(Secret::new(token));
        c
    }

    #[test]
    fn config_needs_token_and_repo() {
        let none = GithubChannelConfig::default();
        let err = GithubNotifier::new(&none, &GithubConfig::default(), Some("o/r")).unwrap_err();
        assert!(err.to_string().contains("no GitHub token"), "{err}");
        let err = GithubNotifier::new(&cfg("t"), &GithubConfig::default(), None).unwrap_err();
        assert!(err.to_string().contains("no repository"), "{err}");
        let err = GithubNotifier::new(&cfg("t"), &GithubConfig::default(), Some("just-a-name"))
            .unwrap_err();
        assert!(err.to_string().contains("owner/name"), "{err}");
        let err = GithubNotifier::new(&cfg("bad token\n"), &GithubConfig::default(), Some("o/r"))
            .unwrap_err();
        assert!(!err.to_string().contains("bad token"), "{err}");
    }

    #[test]
    fn fallbacks_apply() {
        let mut fallback = GithubConfig::default();
        fallback.token = Some(Secret::new("ghp_fallback"));
        fallback.base_url = Some("https://ghe.example.com/api/v3/".into());
        let n = GithubNotifier::new(&GithubChannelConfig::default(), &fallback, Some("acme/etl"))
            .unwrap();
        assert_eq!(n.repo(), "acme/etl");
        assert_eq!(n.base_url, "https://ghe.example.com/api/v3");
        assert_eq!(n.labels, vec![DEFAULT_LABEL.to_string()]);
        assert_eq!(n.fix_label, DEFAULT_FIX_LABEL);
    }

    #[test]
    fn debug_hides_the_token() {
        let n = GithubNotifier::new(
            &cfg("ghp_SEKRIT0123456789"),
            &GithubConfig::default(),
            Some("o/r"),
        )
        .unwrap();
        let dbg = format!("{n:?}");
        assert!(!dbg.contains("SEKRIT"), "{dbg}");
        assert!(dbg.contains("o/r"), "{dbg}");
    }
}
