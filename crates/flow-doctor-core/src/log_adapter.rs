//! Capture from the `log` crate: a [`log::Log`] implementation with the
//! same behaviour as the tracing layer (records at or above
//! `capture.min_level` become reports, lower ones down to
//! `capture.ring_level` feed the log ring).
//!
//! ```no_run
//! let fd = flow_doctor_core::FlowDoctor::builder("nightly-etl").build()?;
//! flow_doctor_core::log_adapter::init(&fd).expect("no other logger installed");
//! log::error!("load failed");
//! # Ok::<(), flow_doctor_core::Error>(())
//! ```

use std::borrow::Cow;

use chrono::Utc;

use crate::engine::{CapturedEvent, FlowDoctor};
use crate::model::Severity;

/// The logger; see the module docs.
#[derive(Clone, Debug)]
pub struct Logger {
    fd: FlowDoctor,
}

/// A logger feeding `fd`.
pub fn logger(fd: &FlowDoctor) -> Logger {
    Logger { fd: fd.clone() }
}

/// Installs a logger feeding `fd` as the global `log` logger, with the max
/// level set to INFO.
pub fn init(fd: &FlowDoctor) -> Result<(), log::SetLoggerError> {
    log::set_boxed_logger(Box::new(logger(fd)))?;
    log::set_max_level(log::LevelFilter::Info);
    Ok(())
}

fn severity_of(level: log::Level) -> Option<Severity> {
    match level {
        log::Level::Error => Some(Severity::Error),
        log::Level::Warn => Some(Severity::Warning),
        log::Level::Info => Some(Severity::Info),
        log::Level::Debug | log::Level::Trace => None,
    }
}

impl log::Log for Logger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        !metadata.target().starts_with("flow_doctor")
            && severity_of(metadata.level()).is_some_and(|s| self.fd.captures(s))
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let Some(severity) = severity_of(record.level()) else {
            return;
        };
        let event = CapturedEvent {
            severity,
            level: record.level().as_str(),
            target: Cow::Owned(record.target().to_string()),
            message: record.args().to_string(),
            fields: Vec::new(),
            file: record.file().map(|f| Cow::Owned(f.to_string())),
            line: record.line(),
            at: Utc::now(),
        };
        self.fd.capture_event(event);
    }

    fn flush(&self) {}
}
