//! The [`Remediator`] trait: act on a diagnosed failure.

use std::sync::Arc;

use async_trait::async_trait;

use crate::Result;
use crate::clock::Clock;
use crate::model::{Action, Diagnosis, Report};
use crate::store::Store;

/// What a remediator may use besides the report.
#[derive(Clone)]
pub struct RemediationContext {
    /// The store (attempt counts, recorded actions).
    pub store: Arc<dyn Store>,
    /// The clock (lockout windows, daily limits).
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for RemediationContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemediationContext")
            .field("store", &self.store.name())
            .finish_non_exhaustive()
    }
}

/// Decides whether and how to remediate a diagnosed failure, and does it.
///
/// # Contract
/// - Every decision is returned as an [`Action`] with `kind` remediate (or
///   fix_pr for a routed fix request) and a `detail` saying why: ran,
///   planned (dry run), escalated or skipped by a gate. The engine stores
///   each returned action and tells the notifiers about those that ran or
///   were planned.
/// - Dry run is the default for implementations that execute anything.
/// - Count attempts through [`RemediationContext::store`] so limits hold
///   across processes.
/// - Never panic; a failed execution is an action with status failed, not an
///   `Err`. `Err` is for the remediator itself being unusable.
#[async_trait]
pub trait Remediator: Send + Sync + 'static {
    /// Short, stable name (`"playbooks"`).
    fn name(&self) -> &str;

    /// Decides and possibly acts for one diagnosed incident.
    async fn remediate(
        &self,
        report: &Report,
        diagnosis: &Diagnosis,
        ctx: &RemediationContext,
    ) -> Result<Vec<Action>>;
}
