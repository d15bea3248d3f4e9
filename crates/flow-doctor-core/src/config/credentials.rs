//! Credential fallbacks: a credential missing from the file is taken from
//! `FLOW_DOCTOR_*` variables, then from the names other tools use.
//!
//! | Key | Falls back to |
//! |---|---|
//! | `github.token` | `FLOW_DOCTOR_GITHUB_TOKEN`, `GITHUB_TOKEN`, `GH_TOKEN` |
//! | `notify[].token` (github) | `github.token` (and its fallbacks) |
//! | `notify[].repo` (github) | top-level `repo` |
//! | `notify[].base_url` (github) | `github.base_url` |
//! | `notify[].webhook_url` (slack) | `FLOW_DOCTOR_SLACK_WEBHOOK_URL`, `SLACK_WEBHOOK_URL` |
//! | `notify[].password` (email, with `username`) | `FLOW_DOCTOR_SMTP_PASSWORD`, `SMTP_PASSWORD` |
//! | `notify[].bot_token` (telegram) | `FLOW_DOCTOR_TELEGRAM_BOT_TOKEN`, `TELEGRAM_BOT_TOKEN` |
//! | `notify[].secret` (webhook) | `FLOW_DOCTOR_WEBHOOK_SECRET` |
//! | `diagnosis.api_key` | `FLOW_DOCTOR_LLM_API_KEY`, then `ANTHROPIC_API_KEY` or `OPENAI_API_KEY` by provider |
//!
//! A value written in the file always wins; an empty value counts as
//! missing; empty variables are ignored.

use super::env::Env;
use super::schema::{ChannelConfig, Config, LlmProvider};
use super::types::Secret;

/// Variables for a GitHub token, in order.
pub const GITHUB_TOKEN_VARS: [&str; 3] = ["FLOW_DOCTOR_GITHUB_TOKEN", "GITHUB_TOKEN", "GH_TOKEN"];
/// Variables for a Slack webhook URL, in order.
pub const SLACK_WEBHOOK_VARS: [&str; 2] = ["FLOW_DOCTOR_SLACK_WEBHOOK_URL", "SLACK_WEBHOOK_URL"];
/// Variables for an SMTP password, in order.
pub const SMTP_PASSWORD_VARS: [&str; 2] = ["FLOW_DOCTOR_SMTP_PASSWORD", "SMTP_PASSWORD"];
/// Variables for a Telegram bot token, in order.
pub const TELEGRAM_TOKEN_VARS: [&str; 2] = ["FLOW_DOCTOR_TELEGRAM_BOT_TOKEN", "TELEGRAM_BOT_TOKEN"];
/// Variables for a webhook signing secret.
pub const WEBHOOK_SECRET_VARS: [&str; 1] = ["FLOW_DOCTOR_WEBHOOK_SECRET"];

/// Variables for an LLM API key with this provider, in order.
pub fn llm_key_vars(provider: LlmProvider) -> &'static [&'static str] {
    match provider {
        LlmProvider::Anthropic => &["FLOW_DOCTOR_LLM_API_KEY", "ANTHROPIC_API_KEY"],
        LlmProvider::Openai => &["FLOW_DOCTOR_LLM_API_KEY", "OPENAI_API_KEY"],
        LlmProvider::None => &["FLOW_DOCTOR_LLM_API_KEY"],
    }
}

/// Whether a credential is absent or empty.
pub(crate) fn missing(secret: &Option<Secret>) -> bool {
    secret.as_ref().is_none_or(Secret::is_empty)
}

fn fill(slot: &mut Option<Secret>, env: &Env, vars: &[&str]) {
    if missing(slot)
        && let Some((_, value)) = env.first_of(vars)
    {
        *slot = Some(Secret::new(value));
    }
}

impl Config {
    /// Fills missing credentials, repositories and base URLs from the
    /// environment and from the shared `github:` section (see the table in
    /// this module's docs). The loader calls it; call it yourself on a
    /// configuration built in code, before [`Config::validate`].
    pub fn apply_env_fallbacks(&mut self, env: &Env) {
        fill(&mut self.github.token, env, &GITHUB_TOKEN_VARS);
        if self.diagnosis.provider != LlmProvider::None {
            fill(
                &mut self.diagnosis.api_key,
                env,
                llm_key_vars(self.diagnosis.provider),
            );
        }
        for channel in &mut self.notify {
            match channel {
                ChannelConfig::Github(c) => {
                    if missing(&c.token) {
                        c.token = self.github.token.clone();
                    }
                    if c.repo.as_deref().is_none_or(str::is_empty) {
                        c.repo = self.repo.clone();
                    }
                    if c.base_url.is_none() {
                        c.base_url = self.github.base_url.clone();
                    }
                }
                ChannelConfig::Slack(c) => fill(&mut c.webhook_url, env, &SLACK_WEBHOOK_VARS),
                ChannelConfig::Email(c) => {
                    if c.username.is_some() {
                        fill(&mut c.password, env, &SMTP_PASSWORD_VARS);
                    }
                }
                ChannelConfig::Telegram(c) => fill(&mut c.bot_token, env, &TELEGRAM_TOKEN_VARS),
                ChannelConfig::Webhook(c) => fill(&mut c.secret, env, &WEBHOOK_SECRET_VARS),
                ChannelConfig::Console(_) | ChannelConfig::Jsonl(_) => {}
            }
        }
    }
}
