//! The [`Diagnoser`] trait: what went wrong.

use std::sync::Arc;

use async_trait::async_trait;

use crate::Result;
use crate::clock::Clock;
use crate::model::{Diagnosis, Report};
use crate::scrub::Scrubber;
use crate::store::Store;

/// What a diagnoser made of a report.
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum DiagnoseOutcome {
    /// A diagnosis.
    Diagnosed(Diagnosis),
    /// Nothing matched; the next diagnoser in a chain may try.
    NoMatch,
    /// Deliberately not attempted (budget reached, disabled, cascade); the
    /// reason is recorded on the report.
    Skipped {
        /// Why, in words (`"daily LLM budget reached: 3/3 diagnoses"`).
        reason: String,
    },
}

/// What a diagnoser may use besides the report.
#[derive(Clone)]
pub struct DiagnoseContext {
    /// The store (learned patterns, cost ledger, counters).
    pub store: Arc<dyn Store>,
    /// The clock (budget windows).
    pub clock: Arc<dyn Clock>,
    /// The scrubber: anything read besides the report (source files, git
    /// history) passes through it before it leaves the process.
    pub scrubber: Arc<Scrubber>,
}

impl std::fmt::Debug for DiagnoseContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiagnoseContext")
            .field("store", &self.store.name())
            .finish_non_exhaustive()
    }
}

/// Finds the root cause of a failure.
///
/// # Contract
/// - The report is already scrubbed; anything else sent off the machine
///   (source excerpts, git context) must pass through
///   [`DiagnoseContext::scrubber`] first.
/// - Return [`DiagnoseOutcome::NoMatch`] when there is no opinion, so a
///   chain can try the next diagnoser; [`DiagnoseOutcome::Skipped`] when the
///   diagnoser chose not to try (budget); `Err` when it tried and failed
///   (malformed answer, timeout): the engine records the error's chain as
///   the report's `diagnosis_error`.
/// - Confidence is within `0.0..=1.0`.
/// - Never panic; take as long as needed, the engine runs diagnosis off the
///   host's threads.
#[async_trait]
pub trait Diagnoser: Send + Sync + 'static {
    /// Short, stable name (`"knowledge_base"`, `"anthropic"`).
    fn name(&self) -> &str;

    /// Diagnoses one report.
    async fn diagnose(&self, report: &Report, ctx: &DiagnoseContext) -> Result<DiagnoseOutcome>;
}
