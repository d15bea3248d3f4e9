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
use std::fmt::Write as _;
use std::sync::Arc;

use ::tracing::field::{Field, Visit};
use ::tracing::{Event, Level, Metadata, Subscriber};
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

impl<S> Layer<S> for FlowDoctorLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
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
        if report && let Some(scope) = ctx.event_scope(event) {
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
