//! [`Notifier`](flow_doctor_core::Notifier) implementations that reach
//! people over the network: GitHub issues, Slack, email, Telegram and
//! generic webhooks, one cargo feature each.
