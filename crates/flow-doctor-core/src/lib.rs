//! The core of flow-doctor: the data model, the four stage traits
//! ([`Store`], [`Notifier`], [`Diagnoser`], [`Remediator`]), secret
//! scrubbing, fingerprinting, configuration and the pipeline engine.
//!
//! Depend on this crate directly only if you write a stage (a custom
//! notifier, store, diagnoser or remediator). Applications depend on the
//! `flow-doctor` facade, which re-exports everything here and adds the
//! bundled stages behind cargo features.
//!
//! **Invariant:** this crate performs no network I/O. Every side effect that
//! leaves the machine goes through a stage trait implemented elsewhere.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod clock;
pub mod config;
pub mod diagnose;
pub mod digest;
pub mod engine;
pub mod error;
pub mod fingerprint;
#[cfg(feature = "log")]
#[cfg_attr(docsrs, doc(cfg(feature = "log")))]
pub mod log_adapter;
pub mod memory;
pub mod metadata;
pub mod model;
pub mod notifiers;
pub mod notify;
pub mod panic;
pub mod remediate;
pub mod ring;
pub mod scope;
pub mod scrub;
pub mod store;
#[cfg(any(test, feature = "test-util"))]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod testing;
#[cfg(feature = "tracing")]
#[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
pub mod tracing_layer;

pub use async_trait::async_trait;

pub use clock::{Clock, SystemClock};
pub use config::{Config, ConfigError};
pub use diagnose::{DiagnoseContext, DiagnoseOutcome, Diagnoser};
pub use engine::{
    Builder, CapturedEvent, FlowDoctor, FlushGuard, Outcome, ReportHandle, RetryPolicy, Stats,
};
pub use error::{BoxError, Error, Result};
pub use memory::MemoryStore;
pub use model::{
    Action, ActionKind, ActionStatus, Category, Decision, DecisionKind, Diagnosis, DiagnosisSource,
    DigestEntry, ExitInfo, Feedback, FixAttempt, FixStatus, Frame, Id, KnownPattern, LogLine,
    PatternOrigin, Report, ReportId, ReportKind, Severity, TokenUsage, Verdict,
};
pub use notify::{Delivery, Digest, Incident, Link, Notification, Notifier, Route};
pub use remediate::{RemediationContext, Remediator};
pub use scope::scope;
pub use scrub::Scrubber;
pub use store::{Claim, Store};
