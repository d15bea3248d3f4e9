//! Integration tests of the notifiers against real peers: a stateful fake
//! of GitHub's REST API, wiremock servers speaking Slack's, Telegram's and
//! a webhook receiver's wire formats, and a real SMTP server (aiosmtpd).

mod build;
mod email;
mod github;
mod slack;
mod support;
mod telegram;
mod webhook;
