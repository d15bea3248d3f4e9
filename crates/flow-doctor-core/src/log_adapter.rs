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

use crate::engine::{CapturedEvent, FlowDoctor};
use crate::model::Severity;
use std::borrow::Cow;

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
        let mut event = CapturedEvent::new(
            severity,
            record.level().as_str(),
            // The target defaults to the module path, which `log` can give
            // as `&'static str`: borrow it then rather than copy.
            match record.module_path_static() {
                Some(module) if module == record.target() => Cow::Borrowed(module),
                _ => Cow::Owned(record.target().to_owned()),
            },
        );
        event.set_location(
            record
                .file_static()
                .map(Cow::Borrowed)
                .or_else(|| record.file().map(|f| Cow::Owned(f.to_owned()))),
            record.line(),
        );
        match record.args().as_str() {
            Some(text) => event.push_message_str(text),
            None => event.push_message_fmt(*record.args()),
        }
        self.fd.capture_event(event);
    }

    fn flush(&self) {}
}

#[cfg(test)]
mod tests {
    use log::Log as _;

    use super::*;
    use crate::model::ReportKind;
    use crate::testing::{memory_engine, stored_reports};

    fn log(logger: &Logger, level: log::Level, target: &str, args: std::fmt::Arguments<'_>) {
        logger.log(
            &log::Record::builder()
                .level(level)
                .target(target)
                .args(args)
                .build(),
        );
    }

    #[test]
    fn errors_become_reports_info_feeds_the_ring_debug_and_own_targets_are_ignored() {
        let (fd, store) = memory_engine();
        let logger = logger(&fd);
        let rows = 1200;
        log(
            &logger,
            log::Level::Info,
            "etl::extract",
            format_args!("extracted {rows} rows"),
        );
        log(
            &logger,
            log::Level::Debug,
            "etl::extract",
            format_args!("never kept"),
        );
        log(
            &logger,
            log::Level::Error,
            "flow_doctor_notify::slack",
            format_args!("our own failure"),
        );
        logger.log(
            &log::Record::builder()
                .level(log::Level::Error)
                .target("etl::load")
                .module_path_static(Some("etl::load"))
                .file_static(Some("src/load.rs"))
                .line(Some(42))
                .args(format_args!("load failed"))
                .build(),
        );
        let warn_meta = log::Metadata::builder()
            .level(log::Level::Warn)
            .target("etl")
            .build();
        assert!(logger.enabled(&warn_meta));
        let debug_meta = log::Metadata::builder()
            .level(log::Level::Debug)
            .target("etl")
            .build();
        assert!(!logger.enabled(&debug_meta));

        let reports = stored_reports(&fd, &store);
        assert_eq!(reports.len(), 1, "{reports:#?}");
        let r = &reports[0];
        assert_eq!(
            (r.kind, r.severity),
            (ReportKind::LogEvent, Severity::Error)
        );
        assert_eq!(r.message, "load failed");
        assert_eq!(r.context["logger"], "etl::load");
        assert_eq!(r.context["location"], "src/load.rs:42");
        let ring: Vec<(&str, &str, &str)> = r
            .logs
            .iter()
            .map(|l| (l.level.as_str(), l.target.as_str(), l.message.as_str()))
            .collect();
        assert_eq!(ring, [("INFO", "etl::extract", "extracted 1200 rows")]);
        assert_eq!(fd.stats().captured, 1);
    }
}
