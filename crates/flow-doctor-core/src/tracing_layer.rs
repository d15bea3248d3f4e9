//! Capture from `tracing`: a [`Layer`] turning events at or above a level
//! (default: `capture.min_level`, WARN) into reports, with their fields as
//! context; lower events (down to `capture.ring_level`, INFO) feed the log
//! ring attached to the next report.
//!
//! ```no_run
//! use tracing_subscriber::prelude::*;
//!
//! let fd = flow_doctor_core::FlowDoctor::builder("nightly-etl").build()?;
//! tracing_subscriber::registry()
//!     .with(flow_doctor_core::tracing_layer::layer(&fd))
//!     .init();
//! tracing::error!(table = "orders", "load failed");
//! # Ok::<(), flow_doctor_core::Error>(())
//! ```
//!
//! `on_event` only copies the fields into an inline buffer on the stack and
//! enqueues that; it never blocks, never touches the network, and allocates
//! nothing for a typical event (up to 128 bytes of text and five fields). Events whose target starts with `flow_doctor`
//! are ignored, so flow-doctor's own failures never feed back into capture.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt::Write as _;
use std::sync::Arc;

use ::tracing::field::{Field, Visit};
use ::tracing::{Event, Level, Metadata, Subscriber, span};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use crate::engine::{CapturedEvent, FlowDoctor};
use crate::model::Severity;

type EventFilter = Arc<dyn Fn(&Metadata<'_>) -> bool + Send + Sync>;

/// The layer; see the module docs.
#[derive(Clone)]
pub struct FlowDoctorLayer {
    fd: FlowDoctor,
    min_level: Option<Severity>,
    filter: Option<EventFilter>,
}

impl std::fmt::Debug for FlowDoctorLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlowDoctorLayer")
            .field("flow", &self.fd.flow())
            .field("min_level", &self.min_level)
            .finish_non_exhaustive()
    }
}

/// A layer feeding `fd`.
pub fn layer(fd: &FlowDoctor) -> FlowDoctorLayer {
    FlowDoctorLayer {
        fd: fd.clone(),
        min_level: None,
        filter: None,
    }
}

impl FlowDoctorLayer {
    /// Events at or above this level become reports (default: the
    /// engine's `capture.min_level`).
    pub fn min_level(mut self, level: Level) -> Self {
        self.min_level = Some(severity_of(level));
        self
    }

    /// Only events for which `filter` returns true are captured.
    pub fn event_filter(
        mut self,
        filter: impl Fn(&Metadata<'_>) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.filter = Some(Arc::new(filter));
        self
    }
}

/// Maps a `tracing` level to a severity (ERROR → error, WARN → warning,
/// INFO/DEBUG/TRACE → info).
pub fn severity_of(level: Level) -> Severity {
    match level {
        Level::ERROR => Severity::Error,
        Level::WARN => Severity::Warning,
        _ => Severity::Info,
    }
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::ERROR => "ERROR",
        Level::WARN => "WARN",
        Level::INFO => "INFO",
        Level::DEBUG => "DEBUG",
        Level::TRACE => "TRACE",
    }
}

thread_local! {
    /// Spans entered and not yet exited on this thread, as seen by every
    /// `FlowDoctorLayer` (several layers or subscribers only make it larger,
    /// which costs a lookup, never a missed span).
    static ENTERED: Cell<u32> = const { Cell::new(0) };
}

impl<S> Layer<S> for FlowDoctorLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_enter(&self, _: &span::Id, _: Context<'_, S>) {
        // `try_with`: spans may be exited while the thread is torn down.
        let _ = ENTERED.try_with(|n| n.set(n.get().saturating_add(1)));
    }

    fn on_exit(&self, _: &span::Id, _: Context<'_, S>) {
        let _ = ENTERED.try_with(|n| n.set(n.get().saturating_sub(1)));
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        if meta.target().starts_with("flow_doctor") {
            return;
        }
        let level = *meta.level();
        // DEBUG and TRACE never reach the ring (its floor is INFO).
        if level > Level::INFO {
            return;
        }
        let severity = severity_of(level);
        let report = match self.min_level {
            Some(min) => severity >= min,
            None => self.fd.reports(severity),
        };
        if !report && !self.fd.captures(severity) {
            return;
        }
        if let Some(filter) = &self.filter
            && !filter(meta)
        {
            return;
        }
        let mut captured =
            CapturedEvent::new(severity, level_name(level), Cow::Borrowed(meta.target()));
        captured.set_location(meta.file().map(Cow::Borrowed), meta.line());
        event.record(&mut FieldVisitor(&mut captured));
        // Looking up the current span costs some 30 ns even when there is
        // none; skip it when no span can be current.
        let may_have_span = event.parent().is_some()
            || (event.is_contextual() && ENTERED.try_with(Cell::get).map_or(true, |n| n > 0));
        if report
            && may_have_span
            && let Some(scope) = ctx.event_scope(event)
        {
            let mut spans = scope.from_root().peekable();
            if spans.peek().is_some() {
                let mut w = captured.field_writer("span");
                for (i, span) in spans.enumerate() {
                    if i > 0 {
                        let _ = w.write_str(" > ");
                    }
                    let _ = w.write_str(span.name());
                }
            }
        }
        if report {
            self.fd.report_event(captured);
        } else {
            self.fd.log_event(&captured);
        }
    }
}

/// Writes an event's fields straight into the captured event's inline
/// buffer: no allocation for a typical event.
struct FieldVisitor<'a>(&'a mut CapturedEvent);

impl Visit for FieldVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" && !self.0.has_message() {
            self.0.push_message_str(value);
        } else {
            self.0.push_field_str(field.name(), value);
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.push_field_i64(field.name(), value);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.push_field_u64(field.name(), value);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0
            .push_field_str(field.name(), if value { "true" } else { "false" });
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let text = crate::error::error_chain_string(value);
        self.0.push_field_str(field.name(), &text);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" && !self.0.has_message() {
            self.0.push_message_fmt(format_args!("{value:?}"));
        } else {
            self.0
                .push_field_fmt(field.name(), format_args!("{value:?}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tracing_subscriber::prelude::*;

    use super::*;
    use crate::memory::MemoryStore;
    use crate::model::{Report, ReportKind};
    use crate::testing::{memory_engine, stored_reports};

    /// Runs `emit` under a registry with `layer` and returns the reports.
    fn capture(
        fd: &FlowDoctor,
        store: &MemoryStore,
        layer: FlowDoctorLayer,
        emit: impl FnOnce(),
    ) -> Vec<Report> {
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, emit);
        stored_reports(fd, store)
    }

    fn by_message<'a>(reports: &'a [Report], message: &str) -> &'a Report {
        reports
            .iter()
            .find(|r| r.message == message)
            .unwrap_or_else(|| panic!("no report {message:?} in {reports:#?}"))
    }

    // Events here name a target: this module's own path starts with
    // `flow_doctor`, which the layer ignores (see `level_filter_and_own_targets`).

    #[test]
    fn warnings_and_errors_become_reports_with_their_fields_lower_events_go_to_the_ring() {
        let (fd, store) = memory_engine();
        let reports = capture(&fd, &store, layer(&fd), || {
            tracing::debug!(target: "etl", "never kept");
            tracing::info!(target: "etl", rows = 1200u64, "extracted orders");
            tracing::error!(
                target: "etl::load",
                table = "orders",
                row = 7u64,
                offset = -3i64,
                retried = false,
                elapsed = ?Duration::from_millis(1500),
                "load failed"
            );
            tracing::warn!(target: "etl", file = "orders.csv", "slow input");
        });
        assert_eq!(reports.len(), 2, "{reports:#?}");
        let r = by_message(&reports, "load failed");
        assert_eq!(r.kind, ReportKind::LogEvent);
        assert_eq!(r.severity, Severity::Error);
        for (key, value) in [
            ("table", "orders"),
            ("row", "7"),
            ("offset", "-3"),
            ("retried", "false"),
            ("elapsed", "1.5s"),
            ("logger", "etl::load"),
        ] {
            assert_eq!(r.context.get(key).map(String::as_str), Some(value), "{key}");
        }
        assert!(
            r.context["location"].starts_with("crates/flow-doctor-core/src/tracing_layer.rs:"),
            "{}",
            r.context["location"]
        );
        assert!(!r.context.contains_key("span"), "no span was entered");
        let ring: Vec<(&str, &str)> = r
            .logs
            .iter()
            .map(|l| (l.level.as_str(), l.message.as_str()))
            .collect();
        assert_eq!(
            ring,
            [("INFO", "extracted orders rows=1200")],
            "DEBUG is never kept"
        );
        let w = by_message(&reports, "slow input");
        assert_eq!(w.severity, Severity::Warning);
        assert_eq!(w.context["file"], "orders.csv");
    }

    #[test]
    fn entered_spans_are_named_from_the_root_and_only_while_entered() {
        let (fd, store) = memory_engine();
        let reports = capture(&fd, &store, layer(&fd), || {
            let run = tracing::info_span!("nightly_run");
            {
                let _run = run.enter();
                let _load = tracing::info_span!("load", table = "orders").entered();
                tracing::error!(target: "etl", "inside both");
            }
            tracing::error!(target: "etl", "after both");
            tracing::error!(target: "etl", parent: &run, "explicit parent");
            let _run = run.enter();
            tracing::error!(target: "etl", parent: None, "explicit root");
        });
        assert_eq!(reports.len(), 4, "{reports:#?} {:?}", fd.stats());
        let span = |m| by_message(&reports, m).context.get("span").cloned();
        assert_eq!(span("inside both").as_deref(), Some("nightly_run > load"));
        assert_eq!(span("after both"), None);
        assert_eq!(span("explicit parent").as_deref(), Some("nightly_run"));
        assert_eq!(span("explicit root"), None);
    }

    #[test]
    fn level_filter_and_own_targets() {
        let (fd, store) = memory_engine();
        let layer = layer(&fd)
            .min_level(Level::ERROR)
            .event_filter(|meta| meta.target() != "noisy");
        let reports = capture(&fd, &store, layer, || {
            tracing::warn!(target: "etl", "only a ring line at ERROR");
            tracing::error!(target: "noisy", "filtered out");
            tracing::error!(target: "flow_doctor_notify::slack", "our own failure");
            tracing::error!(target: "etl", "kept");
        });
        assert_eq!(reports.len(), 1, "{reports:#?}");
        let r = &reports[0];
        assert_eq!(r.message, "kept");
        let ring: Vec<&str> = r.logs.iter().map(|l| l.message.as_str()).collect();
        assert_eq!(ring, ["only a ring line at ERROR"]);
        assert_eq!(fd.stats().captured, 1);
    }
}
