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
//!
//! # Quickstart
//! ```no_run
//! use std::time::Duration;
//!
//! # #[derive(Debug, thiserror::Error)] #[error("boom")] struct LoadError;
//! # fn load() -> Result<(), LoadError> { Err(LoadError) }
//! let config = flow_doctor::Config::load(None)?; // flow-doctor.yaml, or embedded defaults
//! let fd = flow_doctor::init(&config)?; // SQLite store, notifiers, diagnoser
//! let _flush = fd.flush_guard(Duration::from_secs(10)); // drains on exit
//! flow_doctor::panic::install(&fd);
//! let _scope = flow_doctor::scope().stage("load").run_id("2026-03-02").enter();
//! let _ = fd.guard(load); // an Err is reported and handed back unchanged
//! # Ok::<(), flow_doctor::Error>(())
//! ```
//!
//! # A custom notifier in 20 lines
//! Implement [`Notifier`] against the core types and register it with the
//! builder; routing, dedup, rate limits and retries stay with the engine.
//! ```
//! use flow_doctor::{async_trait, Delivery, Error, Notification, Notifier, Result};
//!
//! /// Sends a one-line syslog message (RFC 5424) over UDP.
//! struct SyslogNotifier {
//!     socket: std::net::UdpSocket,
//!     server: std::net::SocketAddr,
//! }
//!
//! #[async_trait]
//! impl Notifier for SyslogNotifier {
//!     fn name(&self) -> &str {
//!         "syslog"
//!     }
//!     async fn notify(&self, n: &Notification) -> Result<Delivery> {
//!         let line = format!("<11>1 - - flow-doctor - - - {}", n.title());
//!         self.socket
//!             .send_to(line.as_bytes(), self.server)
//!             .map_err(|e| Error::transient("syslog", e))?;
//!         Ok(Delivery::delivered())
//!     }
//! }
//!
//! # fn main() -> Result<()> {
//! let syslog = SyslogNotifier {
//!     socket: std::net::UdpSocket::bind("127.0.0.1:0").unwrap(),
//!     server: "127.0.0.1:514".parse().unwrap(),
//! };
//! let fd = flow_doctor::FlowDoctor::builder("nightly-etl")
//!     .notifier(std::sync::Arc::new(syslog))
//!     .build()?;
//! # Ok(()) }
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

#[doc(inline)]
pub use flow_doctor_core::*;

mod init;
pub use init::{check, init, notifiers, open_store};

/// Capture from `tracing` (feature `tracing`): `flow_doctor::tracing::layer(&fd)`.
#[cfg(feature = "tracing")]
#[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
pub mod tracing {
    pub use flow_doctor_core::tracing_layer::*;
}

/// Capture from `log` (feature `log`): `flow_doctor::log::init(&fd)`.
#[cfg(feature = "log")]
#[cfg_attr(docsrs, doc(cfg(feature = "log")))]
pub mod log {
    pub use flow_doctor_core::log_adapter::*;
}

/// Persistent stores, one cargo feature each.
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use flow_doctor_storage as storage;

/// Diagnosers (feature `diagnosis`).
#[cfg(feature = "diagnosis")]
#[cfg_attr(docsrs, doc(cfg(feature = "diagnosis")))]
pub use flow_doctor_diagnosis as diagnosis;

/// Notifiers: the local ones (console, JSON lines) always, and the network
/// channels of `flow-doctor-notify`, one cargo feature per channel.
pub mod notifiers {
    pub use flow_doctor_core::notifiers::*;
    #[cfg(any(
        feature = "github",
        feature = "slack",
        feature = "email",
        feature = "telegram",
        feature = "webhook"
    ))]
    pub use flow_doctor_notify::*;
}

/// Remediation (feature `remediation`).
#[cfg(feature = "remediation")]
#[cfg_attr(docsrs, doc(cfg(feature = "remediation")))]
pub use flow_doctor_remediation as remediation;

/// Fix pull requests (feature `fix`).
#[cfg(feature = "fix")]
#[cfg_attr(docsrs, doc(cfg(feature = "fix")))]
pub use flow_doctor_fix as fix;
