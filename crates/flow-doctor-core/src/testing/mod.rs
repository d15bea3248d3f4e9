//! Test doubles and conformance suites for stage implementations
//! (feature `test-util`).
//!
//! **Not a stable API:** it changes with the contracts it checks.

mod conformance;
mod doubles;

pub use crate::clock::ManualClock;
pub use conformance::*;
pub use doubles::{RecordingNotifier, ScriptedDiagnoser};

/// An engine for flow `etl` on a fresh in-memory store (unit tests of the
/// engine and the capture integrations).
#[cfg(test)]
pub(crate) fn memory_engine() -> (crate::FlowDoctor, std::sync::Arc<crate::MemoryStore>) {
    let store = std::sync::Arc::new(crate::MemoryStore::new());
    let fd = crate::FlowDoctor::builder("etl")
        .store(store.clone())
        .build()
        .expect("an engine on the in-memory store");
    (fd, store)
}

/// Waits for `fd` to finish its queue and returns what `store` holds,
/// oldest first (unit tests of the capture integrations).
#[cfg(test)]
pub(crate) fn stored_reports(
    fd: &crate::FlowDoctor,
    store: &crate::MemoryStore,
) -> Vec<crate::model::Report> {
    use crate::store::Store as _;
    assert!(
        fd.flush(std::time::Duration::from_secs(10)),
        "the worker drained its queue"
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let mut reports = rt
        .block_on(store.list_reports(&crate::store::ReportQuery::default()))
        .expect("the in-memory store lists");
    reports.sort_by_key(|r| r.occurred_at);
    reports
}
