//! The safety gates a fix request passes before anything is generated.
//!
//! In order, each with the `step` name recorded in the [`FixAttempt`] and
//! shown in the refusal comment:
//!
//! | Step | Refuses when |
//! |---|---|
//! | `enabled` | `auto_fix.enabled` is false |
//! | `test_command` | `auto_fix.test_command` is missing or empty (a fix is only proposed after tests pass) |
//! | `category` | the diagnosis has no category, or it is `EXTERNAL` or `INFRA` (a code change cannot fix someone else's outage) |
//! | `confidence` | the confidence is missing or below `auto_fix.confidence_threshold` |
//! | `credentials` | the category is `CONFIG` and the root cause or an affected file is about credentials (tokens, passwords, secrets, API/access/private keys, `.env`, `*.pem`, `*.key`) |
//! | `previous_attempt` | an earlier attempt for the same signature **failed** or **succeeded** (opened a PR) |
//! | `affected_files` | the diagnosis names no file |
//!
//! **Previous attempts.** A failed attempt blocks every later one for the
//! signature (no retry loops: a person looks first, then re-runs with
//! `--retry-failed`). A successful one blocks too (its PR is open). A
//! *refused* attempt does not block: refusals are about the request or the
//! configuration, and once that is fixed (a new diagnosis, `auto_fix`
//! enabled) a new request may go through. Dry runs never block. Earlier
//! attempts come from the store and from the markers flow-doctor leaves in
//! its issue comments, so the gate holds when each run starts with an empty
//! store (a CI runner).

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use flow_doctor_core::config::AutoFixConfig;
use flow_doctor_core::metadata::IssueMetadata;
use flow_doctor_core::model::{Category, FixAttempt, FixStatus};
use regex::Regex;
use serde::{Deserialize, Serialize};

/// Why a request was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The gate (`"confidence"`).
    pub step: &'static str,
    /// Why, in words, with the fix when there is one.
    pub reason: String,
}

impl Refusal {
    /// A refusal at `step`.
    pub fn new(step: &'static str, reason: impl Into<String>) -> Self {
        Self {
            step,
            reason: reason.into(),
        }
    }
}

/// An earlier attempt, from the store or an issue-comment marker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PriorAttempt {
    /// Signature it was for.
    pub signature: String,
    /// How it ended.
    pub status: FixStatus,
    /// Its step.
    pub step: String,
    /// When, if known.
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
    /// Pull request, if one was opened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pr_url: Option<String>,
}

impl From<&FixAttempt> for PriorAttempt {
    fn from(a: &FixAttempt) -> Self {
        Self {
            signature: a.signature.clone(),
            status: a.status,
            step: a.step.clone(),
            at: Some(a.at),
            pr_url: a.pr_url.clone(),
        }
    }
}

/// Runs every gate; `Err` is the first that refuses.
pub fn check(
    meta: &IssueMetadata,
    cfg: &AutoFixConfig,
    prior: &[PriorAttempt],
    retry_failed: bool,
) -> Result<(), Refusal> {
    if !cfg.enabled {
        return Err(Refusal::new(
            "enabled",
            "auto_fix is disabled; set `auto_fix.enabled: true` to let flow-doctor propose fixes",
        ));
    }
    if cfg
        .test_command
        .as_deref()
        .is_none_or(|c| c.trim().is_empty())
    {
        return Err(Refusal::new(
            "test_command",
            "no `auto_fix.test_command` is configured; a fix is only proposed after the tests pass",
        ));
    }
    match meta.category {
        None => {
            return Err(Refusal::new(
                "category",
                "the issue has no diagnosis category; only diagnosed failures are fixed",
            ));
        }
        Some(c @ (Category::External | Category::Infra)) => {
            return Err(Refusal::new(
                "category",
                format!(
                    "category {} is not fixable by a code change (an outside service or the infrastructure failed)",
                    c.as_str()
                ),
            ));
        }
        Some(_) => {}
    }
    match meta.confidence {
        None => {
            return Err(Refusal::new(
                "confidence",
                "the diagnosis has no confidence",
            ));
        }
        Some(c) if c < cfg.confidence_threshold => {
            return Err(Refusal::new(
                "confidence",
                format!(
                    "diagnosis confidence {c:.2} is below `auto_fix.confidence_threshold` {:.2}",
                    cfg.confidence_threshold
                ),
            ));
        }
        Some(_) => {}
    }
    if meta.category == Some(Category::Config)
        && let Some(what) = credential_mention(meta)
    {
        return Err(Refusal::new(
            "credentials",
            format!(
                "a CONFIG failure involving credentials ({what}) is never fixed automatically; rotate or set the secret by hand"
            ),
        ));
    }
    let blocking = prior
        .iter()
        .filter(|p| p.signature == meta.signature)
        .find(|p| {
            p.status == FixStatus::Succeeded || (p.status == FixStatus::Failed && !retry_failed)
        });
    if let Some(p) = blocking {
        let when =
            p.at.map(|t| format!(" on {}", t.format("%Y-%m-%d %H:%M UTC")))
                .unwrap_or_default();
        let reason = match p.status {
            FixStatus::Succeeded => format!(
                "a fix for this failure was already proposed{when}{}",
                p.pr_url
                    .as_deref()
                    .map(|u| format!(" ({u})"))
                    .unwrap_or_default()
            ),
            _ => format!(
                "an earlier fix attempt for this failure failed at `{}`{when}; flow-doctor does not retry on its own (re-run with --retry-failed after a look)",
                p.step
            ),
        };
        return Err(Refusal::new("previous_attempt", reason));
    }
    if meta.affected_files.iter().all(|f| f.trim().is_empty()) {
        return Err(Refusal::new(
            "affected_files",
            "the diagnosis names no affected file to change",
        ));
    }
    Ok(())
}

/// Credential words as prose (`database password`), as environment
/// variable names (`DB_PASSWORD`, `OPENAI_API_KEY`: `_` separates words
/// here, where `\b` would not) and in camelCase (`dbPassword`, `apiKey`).
static CREDENTIAL_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i:(?:^|[^A-Za-z])(credentials?|passwords?|passwd|passphrases?|secrets?|tokens?|(?:api|access|secret|private|ssh|signing|encryption)[ _-]?keys?|keyfiles?|keystores?)(?:$|[^A-Za-z]))|[a-z0-9]((?:Credential|Password|Passwd|Passphrase|Secret|Token|ApiKey|AccessKey|SecretKey|PrivateKey)s?)(?:$|[^a-z])|(?:^|[^A-Za-z0-9_])(\.env)(?:$|[^A-Za-z0-9_])",
    )
    .expect("constant regex compiles")
});

static CREDENTIAL_FILES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(^|/)([^/]*\.env(\.[^/]*)?|\.netrc|\.npmrc|\.pypirc|id_(rsa|ed25519|ecdsa)|[^/]*(secret|credential|password|token)[^/]*|[^/]*\.(pem|key|p12|pfx|jks|keystore))$",
    )
    .expect("constant regex compiles")
});

/// The credential word `text` mentions, if any.
fn credential_word(text: &str) -> Option<&str> {
    let c = CREDENTIAL_WORDS.captures(text)?;
    Some(
        c.get(1)
            .or(c.get(2))
            .or(c.get(3))
            .map_or("secret", |m| m.as_str()),
    )
}

/// What in the metadata is about credentials, if anything.
pub fn credential_mention(meta: &IssueMetadata) -> Option<String> {
    if let Some(word) = meta.root_cause.as_deref().and_then(credential_word) {
        return Some(format!("the root cause mentions `{word}`"));
    }
    meta.affected_files
        .iter()
        .find(|f| CREDENTIAL_FILES.is_match(f.trim()))
        .map(|f| format!("affected file `{f}`"))
}

/// The credentials gate on the issue's title (flow, error type and
/// message, e.g. `[etl] KeyError: 'DB_PASSWORD'`), for what a generic root
/// cause ("a required environment variable is not set") does not say.
pub fn check_title(meta: &IssueMetadata, title: &str) -> Result<(), Refusal> {
    match credential_word(title) {
        Some(word) if meta.category == Some(Category::Config) => Err(Refusal::new(
            "credentials",
            format!(
                "a CONFIG failure involving credentials (the issue title mentions `{word}`) is never fixed automatically; rotate or set the secret by hand"
            ),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests;
