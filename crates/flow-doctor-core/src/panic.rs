//! The panic hook: every panic becomes a critical report, flushed before
//! the process goes on unwinding or aborts.
//!
//! ```no_run
//! let fd = flow_doctor_core::FlowDoctor::builder("nightly-etl").build()?;
//! flow_doctor_core::panic::install(&fd);
//! # Ok::<(), flow_doctor_core::Error>(())
//! ```
//!
//! The hook captures the message, location, thread name and a backtrace,
//! submits the report and waits (up to [`FLUSH_TIMEOUT`]) until the worker
//! has stored and delivered it, because with `panic = "abort"` or a
//! `process::exit` right after, nothing would run later. It then calls the
//! hook that was installed before it (by default, the one printing the
//! panic), so existing behaviour is kept. Panics on the engine's own
//! threads (a panicking notifier) are left to the engine, which records
//! them as that stage's failure.

use std::any::Any;
use std::backtrace::Backtrace;
use std::cell::Cell;
use std::panic::PanicHookInfo;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use crate::engine::FlowDoctor;
use crate::model::{Report, ReportKind, Severity};

/// How long the hook waits for the report to be processed.
pub const FLUSH_TIMEOUT: Duration = Duration::from_secs(3);

static TARGET: OnceLock<Mutex<Option<FlowDoctor>>> = OnceLock::new();

thread_local! {
    static REPORTED_BY_HOOK: Cell<bool> = const { Cell::new(false) };
}

/// Installs the hook (once per process) and makes `fd` its target. A second
/// call only changes the target.
pub fn install(fd: &FlowDoctor) {
    let target = TARGET.get_or_init(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            capture(info);
            previous(info);
        }));
        Mutex::new(None)
    });
    *target.lock().unwrap_or_else(|e| e.into_inner()) = Some(fd.clone());
}

/// Stops reporting panics (the hook stays installed and only chains).
pub fn uninstall() {
    if let Some(target) = TARGET.get() {
        *target.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

fn capture(info: &PanicHookInfo<'_>) {
    let Some(target) = TARGET.get() else { return };
    // A panic on the engine's own threads (a notifier or diagnoser that
    // panicked) is caught and recorded there as that stage's failure.
    // Reporting it here would block the worker on its own flush and feed a
    // panicking notifier its own panic, forever.
    if crate::engine::on_engine_thread() {
        return;
    }
    // Never block or panic inside the hook: skip when the lock is taken.
    let fd = match target.try_lock() {
        Ok(guard) => guard.clone(),
        Err(_) => None,
    };
    let Some(fd) = fd else { return };
    let report = panic_report(fd.flow(), info);
    REPORTED_BY_HOOK.with(|r| r.set(true));
    fd.submit(report);
    fd.flush(FLUSH_TIMEOUT);
}

/// Builds the report for a panic.
pub fn panic_report(flow: &str, info: &PanicHookInfo<'_>) -> Report {
    let message = payload_message(info.payload());
    let thread = std::thread::current();
    let thread_name = thread.name().unwrap_or("<unnamed>").to_string();
    let mut r = Report::new(flow, Severity::Critical, ReportKind::Panic, message.clone());
    r.error_type = Some("panic".into());
    r.language = Some("rust".into());
    let location = info
        .location()
        .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
    if let Some(loc) = &location {
        r.context.insert("location".into(), loc.clone());
    }
    r.context.insert("thread".into(), thread_name.clone());
    let backtrace = Backtrace::force_capture();
    r.traceback = Some(format!(
        "thread '{thread_name}' panicked at {}:\n{message}\nstack backtrace:\n{backtrace}",
        location.as_deref().unwrap_or("<unknown>")
    ));
    r
}

/// The message of a panic payload (`&str` or `String`), or a placeholder.
pub fn payload_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "Box<dyn Any> (non-string panic payload)".into()
    }
}

/// Whether the hook already reported the panic being unwound on this
/// thread (resets the flag). Guards use it to avoid reporting twice.
pub(crate) fn take_reported_by_hook() -> bool {
    REPORTED_BY_HOOK.with(|r| r.replace(false))
}
