//! flow-doctor captures failures of pipelines (errors, panics, `tracing`
//! events, failed processes), scrubs secrets, deduplicates them, asks a
//! [`Diagnoser`] what went wrong, tells people through [`Notifier`]s,
//! remediates what is safe and can open a tested fix PR.
//!
//! # Features
//! | Feature | Default | Adds |
//! |---|---|---|
//! | `sqlite` | ✅ | SQLite store shared by processes |
//! | `tracing` | ✅ | `tracing_subscriber::Layer` capture |
//! | `log` |  | `log::Log` capture |
//! | `diagnosis` |  | knowledge base, Anthropic and OpenAI-compatible diagnosers, git context |
//! | `notify` |  | every channel below |
//! | `github` |  | GitHub issues |
//! | `slack` |  | Slack incoming webhook |
//! | `email` |  | SMTP email |
//! | `telegram` |  | Telegram Bot API |
//! | `webhook` |  | generic JSON webhook |
//! | `remediation` |  | playbooks, decision gate, local executor |
//! | `aws` |  | AWS SSM and Step Functions executors |
//! | `fix` |  | fix pull requests |
//! | `full` |  | all of the above |
//! | `test-util` |  | test doubles from core |
//!
//! Writing your own stage? Depend on `flow-doctor-core` only.
#![cfg_attr(docsrs, feature(doc_cfg))]

#[doc(inline)]
pub use flow_doctor_core::*;

/// Persistent stores, one cargo feature each.
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use flow_doctor_storage as storage;

/// Diagnosers (feature `diagnosis`).
#[cfg(feature = "diagnosis")]
#[cfg_attr(docsrs, doc(cfg(feature = "diagnosis")))]
pub use flow_doctor_diagnosis as diagnosis;

/// Network notifiers, one cargo feature per channel.
#[cfg(any(
    feature = "github",
    feature = "slack",
    feature = "email",
    feature = "telegram",
    feature = "webhook"
))]
pub use flow_doctor_notify as notifiers;

/// Remediation (feature `remediation`).
#[cfg(feature = "remediation")]
#[cfg_attr(docsrs, doc(cfg(feature = "remediation")))]
pub use flow_doctor_remediation as remediation;

/// Fix pull requests (feature `fix`).
#[cfg(feature = "fix")]
#[cfg_attr(docsrs, doc(cfg(feature = "fix")))]
pub use flow_doctor_fix as fix;
