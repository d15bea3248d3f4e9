//! [`Remediator`](flow_doctor_core::Remediator) implementation for
//! flow-doctor: playbooks, the decision gate, and executors for local
//! commands, AWS SSM and AWS Step Functions. **Dry run by default.**
//!
//! For each diagnosed failure, [`PlaybookRemediator`]:
//! 1. finds the first [`Playbook`] matching the report and the diagnosis
//!    category ([`playbook`] has the file format);
//! 2. asks the [`Gate`] for a [`Route`] (auto-remediate, fix PR, escalate,
//!    log only), from confidence thresholds, category, the playbook's
//!    `safe_to_auto_run`, attempt limits counted in the store, deny lists and
//!    lockout windows ([`gate`] lists the rules);
//! 3. runs the playbook's action (or, in dry run, records the [`Plan`]) and
//!    returns one [`Action`](flow_doctor_core::Action) whose `detail` and
//!    `data` say what was decided and why.
//!
//! # Configuration (`remediation:`)
//! ```yaml
//! remediation:
//!   enabled: true
//!   dry_run: true                  # default: record what would run, run nothing
//!   auto_remediate_threshold: 0.9
//!   fix_pr_threshold: 0.85
//!   max_attempts_per_day: 10       # across all failures, per UTC day
//!   max_attempts_per_failure: 2    # per flow and signature, per UTC day
//!   deny_flows: [billing-daily]    # exact flow names
//!   deny_repos: ["acme/payments"]
//!   lockouts:
//!     - {name: market hours, days: [mon-fri], start: "09:30", end: "16:00", timezone: America/New_York}
//!   playbook_files: [playbooks.yaml]
//!   playbooks: []                  # inline entries, same shape as in files
//!   aws: {region: us-east-1}       # endpoint_url, profile
//! ```
//!
//! # Features
//! | Feature | Adds |
//! |---|---|
//! | `aws` | `SsmExecutor`, `StepFunctionsExecutor`, the `aws` module (clients, SDK re-exports) |
//!
//! # Example
//! ```
//! use flow_doctor_core::Category;
//! use flow_doctor_core::config::RemediationConfig;
//! use flow_doctor_remediation::{ActionType, Gate, Playbook, PlaybookAction, PlaybookRemediator, Playbooks};
//!
//! let playbooks = Playbooks::new().with(
//!     Playbook::builder("restart-app")
//!         .category(Category::Infra)
//!         .message_regex("Connection refused")?
//!         .action(PlaybookAction::local(ActionType::RestartService, ["systemctl restart app"]).safe_to_auto_run(true))
//!         .build()?,
//! )?;
//! let gate = Gate::new(&RemediationConfig::default(), None)?;
//! let remediator = PlaybookRemediator::new(playbooks, gate)?; // dry run
//! assert!(remediator.is_dry_run());
//! # Ok::<(), flow_doctor_core::Error>(())
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

use std::sync::Arc;

pub mod executor;
pub mod gate;
pub mod lockout;
pub mod plan;
pub mod playbook;
mod remediator;

#[cfg(feature = "aws")]
#[cfg_attr(docsrs, doc(cfg(feature = "aws")))]
pub mod aws;

pub use executor::{Executor, LocalExecutor, Outcome};
pub use gate::{AttemptCounts, Gate, GateDecision, Route};
pub use lockout::Lockout;
pub use plan::{Plan, PlannedTarget};
pub use playbook::{
    ActionType, ExecutionRef, ExecutorKind, Playbook, PlaybookAction, PlaybookBuilder, Playbooks,
    SsmTag, Target,
};
pub use remediator::{NAME, PlaybookRemediator, attempt_keys, count_attempts};

/// The remediator described by `remediation:`, or `None` when
/// `remediation.enabled` is false. Fails on an invalid playbook, lockout,
/// threshold or deny-list entry.
pub fn from_config(
    cfg: &flow_doctor_core::Config,
) -> flow_doctor_core::Result<Option<Arc<dyn flow_doctor_core::Remediator>>> {
    if !cfg.remediation.enabled {
        return Ok(None);
    }
    Ok(Some(Arc::new(PlaybookRemediator::from_config(cfg)?)))
}
