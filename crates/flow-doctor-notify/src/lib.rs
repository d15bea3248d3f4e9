//! [`Notifier`](flow_doctor_core::Notifier) implementations that reach
//! people over the network: GitHub issues, Slack, email, Telegram and
//! generic webhooks, one cargo feature each.
//!
//! | Feature | Notifier | Channel `type` |
//! |---|---|---|
//! | `github` | [`github::GithubNotifier`] | `github` |
//! | `slack` | [`slack::SlackNotifier`] | `slack` |
//! | `email` | [`email::EmailNotifier`] | `email` |
//! | `telegram` | [`telegram::TelegramNotifier`] | `telegram` |
//! | `webhook` | [`webhook::WebhookNotifier`] | `webhook` |
//!
//! The console and JSON-lines channels live in `flow-doctor-core`.
//!
//! **Invariant:** a notifier *delivers*, once per call. Routing
//! (`notify_on`, `notify_on_category`), deduplication, daily limits and
//! retries with backoff are the engine's. Each notifier maps remote failures
//! onto [`flow_doctor_core::Error`] so the engine can act: HTTP 429 (and
//! GitHub's secondary rate limit) → `RateLimited` with the delay asked for,
//! 5xx, timeouts and unreachable servers → `Transient`, other 4xx →
//! `Permanent`.
//!
//! **Secrets:** tokens, webhook URLs and passwords never appear in `Debug`
//! output, error messages or logs. Reports arrive already scrubbed by the
//! engine.
//!
//! Build the notifiers of a configuration with [`build`]:
//!
//! ```
//! use flow_doctor_core::config::ChannelConfig;
//!
//! let cfg = flow_doctor_core::Config::new("etl");
//! let console = ChannelConfig::Console(Default::default());
//! // Console and JSON-lines are built by core: `None` here.
//! assert!(flow_doctor_notify::build(&console, &cfg).unwrap().is_none());
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

use std::sync::Arc;

use flow_doctor_core::config::ChannelConfig;
use flow_doctor_core::{Config, Error, Notifier, Result};

mod util;

#[cfg(any(feature = "slack", feature = "telegram", feature = "webhook"))]
mod http;

#[cfg(feature = "email")]
#[cfg_attr(docsrs, doc(cfg(feature = "email")))]
pub mod email;
#[cfg(feature = "github")]
#[cfg_attr(docsrs, doc(cfg(feature = "github")))]
pub mod github;
#[cfg(feature = "slack")]
#[cfg_attr(docsrs, doc(cfg(feature = "slack")))]
pub mod slack;
#[cfg(feature = "telegram")]
#[cfg_attr(docsrs, doc(cfg(feature = "telegram")))]
pub mod telegram;
#[cfg(feature = "webhook")]
#[cfg_attr(docsrs, doc(cfg(feature = "webhook")))]
pub mod webhook;

/// The `User-Agent` sent by every HTTP notifier.
pub const USER_AGENT: &str = concat!("flow-doctor/", env!("CARGO_PKG_VERSION"));

/// Builds the notifier for one `notify:` entry of `cfg`.
///
/// Returns `Ok(None)` for the console and JSON-lines channels, which
/// `flow-doctor-core` builds. A channel whose cargo feature is not compiled
/// in is an [`Error::Config`] naming the feature to enable; so is a channel
/// with missing or invalid settings (no token, bad URL).
pub fn build(channel: &ChannelConfig, cfg: &Config) -> Result<Option<Arc<dyn Notifier>>> {
    let _ = cfg;
    let notifier: Arc<dyn Notifier> = match channel {
        ChannelConfig::Console(_) | ChannelConfig::Jsonl(_) => return Ok(None),
        #[cfg(feature = "github")]
        ChannelConfig::Github(c) => Arc::new(github::GithubNotifier::new(
            c,
            &cfg.github,
            cfg.repo.as_deref(),
        )?),
        #[cfg(feature = "slack")]
        ChannelConfig::Slack(c) => Arc::new(slack::SlackNotifier::new(c)?),
        #[cfg(feature = "email")]
        ChannelConfig::Email(c) => Arc::new(email::EmailNotifier::new(c)?),
        #[cfg(feature = "telegram")]
        ChannelConfig::Telegram(c) => Arc::new(telegram::TelegramNotifier::new(c)?),
        #[cfg(feature = "webhook")]
        ChannelConfig::Webhook(c) => Arc::new(webhook::WebhookNotifier::new(c)?),
        other => return Err(not_compiled(other.kind())),
    };
    Ok(Some(notifier))
}

fn not_compiled(kind: &'static str) -> Error {
    Error::config(
        kind,
        format!(
            "this build does not include the `{kind}` channel; enable cargo feature `{kind}` \
             of flow-doctor (or `notify` for every channel)"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_and_jsonl_are_built_by_core() {
        let cfg = Config::new("etl");
        let console = ChannelConfig::Console(Default::default());
        assert!(build(&console, &cfg).unwrap().is_none());
    }

    #[test]
    fn missing_feature_names_the_feature() {
        let err = not_compiled("telegram");
        let text = err.to_string();
        assert!(text.contains("enable cargo feature `telegram`"), "{text}");
        assert!(matches!(
            err,
            Error::Config {
                component: "telegram",
                ..
            }
        ));
    }
}
