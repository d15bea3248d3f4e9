//! The panic hook, in its own test process (the hook is process-wide).
//!
//! One test drives the hook in this process. The other re-runs this test
//! binary as a child whose previously installed hook aborts the process,
//! as `panic = "abort"` would. The report must be on disk before the abort.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use flow_doctor_core::model::{DecisionKind, Report, ReportKind, Severity};
use flow_doctor_core::notifiers::JsonlNotifier;
use flow_doctor_core::store::{ReportQuery, Store};
use flow_doctor_core::{Delivery, FlowDoctor, MemoryStore, Notification, Notifier, RetryPolicy};

/// Set in the child process started by `the_report_is_flushed_before_an_abort`.
const CHILD_ENV: &str = "FLOW_DOCTOR_PANIC_HOOK_CHILD";

#[derive(Debug, thiserror::Error)]
#[error("never returned")]
struct Never;

fn stored(store: &MemoryStore) -> Vec<Report> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(store.list_reports(&ReportQuery::default()))
        .unwrap()
}

#[test]
fn panics_are_reported_with_thread_location_and_backtrace_and_the_previous_hook_still_runs() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    static PREVIOUS_RAN: AtomicUsize = AtomicUsize::new(0);
    std::panic::set_hook(Box::new(|_| {
        PREVIOUS_RAN.fetch_add(1, Ordering::SeqCst);
    }));
    let store = Arc::new(MemoryStore::new());
    let fd = FlowDoctor::builder("etl")
        .store(store.clone())
        .build()
        .unwrap();
    flow_doctor_core::panic::install(&fd);

    let row = 7;
    let joined = std::thread::Builder::new()
        .name("loader".into())
        .spawn(move || panic!("row {row} is corrupt"))
        .unwrap()
        .join();
    assert!(joined.is_err());
    assert_eq!(
        PREVIOUS_RAN.load(Ordering::SeqCst),
        1,
        "chained to the previous hook"
    );
    // No flush here: the hook waited until the report was stored.
    let reports = stored(&store);
    assert_eq!(reports.len(), 1, "{reports:#?}");
    let r = &reports[0];
    assert_eq!(
        (r.kind, r.severity),
        (ReportKind::Panic, Severity::Critical)
    );
    assert_eq!(r.message, "row 7 is corrupt");
    assert_eq!(r.context["thread"], "loader");
    assert!(
        r.context["location"].starts_with("crates/flow-doctor-core/tests/panic_hook.rs:"),
        "{}",
        r.context["location"]
    );
    let traceback = r.traceback.as_deref().unwrap_or_default();
    assert!(
        traceback.starts_with(
            "thread 'loader' panicked at crates/flow-doctor-core/tests/panic_hook.rs:"
        ),
        "{traceback}"
    );
    assert!(
        traceback.contains("row 7 is corrupt\nstack backtrace:\n"),
        "{traceback}"
    );
    assert!(
        traceback.contains("panic_hook"),
        "the backtrace names this test: {traceback}"
    );

    // A guarded panic is reported once (by the hook), not again by the guard.
    let guarded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        fd.guard(|| -> Result<(), Never> { panic!("guarded failure") })
    }));
    assert!(guarded.is_err(), "the guard resumes the panic");
    assert!(fd.flush(Duration::from_secs(10)));
    let guarded: Vec<_> = stored(&store)
        .into_iter()
        .filter(|r| r.message == "guarded failure")
        .collect();
    assert_eq!(guarded.len(), 1, "{guarded:#?}");
    assert_eq!(guarded[0].dedup_count, 1);
    assert_eq!(PREVIOUS_RAN.load(Ordering::SeqCst), 2);

    // A notifier that panics does so on the engine's worker: the engine
    // records the delivery failure, and the hook leaves that panic alone
    // (reporting it would block the worker on its own flush and hand the
    // panicking notifier its own panic, again and again).
    let buggy_store = Arc::new(MemoryStore::new());
    let buggy = FlowDoctor::builder("etl")
        .store(buggy_store.clone())
        .notifier(Arc::new(Panicking))
        .retry_policy(RetryPolicy::new(1, Duration::from_millis(1)))
        .build()
        .unwrap();
    flow_doctor_core::panic::install(&buggy);
    let outcome = buggy
        .report_message(Severity::Error, "load failed")
        .wait(Duration::from_secs(30))
        .expect("the worker answers");
    assert_eq!(
        outcome.decision,
        DecisionKind::DeliveryFailed,
        "{}",
        outcome.reason
    );
    assert!(buggy.flush(Duration::from_secs(10)));
    let reports = stored(&buggy_store);
    assert_eq!(
        reports.len(),
        1,
        "no report of the notifier's panic: {reports:#?}"
    );
    assert_eq!(PREVIOUS_RAN.load(Ordering::SeqCst), 3, "still chained");
    flow_doctor_core::panic::install(&fd);

    // After uninstall the hook only chains.
    flow_doctor_core::panic::uninstall();
    assert!(
        std::thread::spawn(|| panic!("not reported"))
            .join()
            .is_err()
    );
    assert!(fd.flush(Duration::from_secs(10)));
    assert_eq!(stored(&store).len(), 2);
    assert_eq!(PREVIOUS_RAN.load(Ordering::SeqCst), 4);
}

/// A notifier with a bug.
struct Panicking;

#[flow_doctor_core::async_trait]
impl Notifier for Panicking {
    fn name(&self) -> &str {
        "panicking"
    }

    async fn notify(&self, _: &Notification) -> flow_doctor_core::Result<Delivery> {
        panic!("bug in a notifier")
    }
}

#[test]
fn the_report_is_flushed_before_an_abort() {
    if let Some(out) = std::env::var_os(CHILD_ENV) {
        abort_after_a_panic(Path::new(&out));
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("incidents.jsonl");
    let status = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "the_report_is_flushed_before_an_abort",
            "--nocapture",
        ])
        .env(CHILD_ENV, &out)
        // Where a core dump of the abort would land, if the machine keeps one.
        .current_dir(dir.path())
        .status()
        .unwrap();
    use std::os::unix::process::ExitStatusExt as _;
    assert_eq!(status.signal(), Some(6), "the child aborted: {status:?}");
    let text = std::fs::read_to_string(&out).expect("the hook flushed before the abort");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert_eq!(lines[0]["type"], "incident");
    assert_eq!(lines[0]["report"]["kind"], "panic");
    assert_eq!(
        lines[0]["report"]["message"],
        "disk quota exceeded on /data"
    );
}

/// The child: a hook installed before flow-doctor's aborts the process
/// (as `panic = "abort"` does after the hooks ran), and the engine is leaked
/// so that no drop guard can flush on the way out.
fn abort_after_a_panic(out: &Path) -> ! {
    std::panic::set_hook(Box::new(|_| std::process::abort()));
    let fd = FlowDoctor::builder("etl")
        .store(Arc::new(MemoryStore::new()))
        .notifier(Arc::new(JsonlNotifier::new(out)))
        .build()
        .unwrap();
    flow_doctor_core::panic::install(&fd);
    std::mem::forget(fd);
    panic!("disk quota exceeded on /data");
}
