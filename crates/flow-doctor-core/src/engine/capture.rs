//! Turning errors, messages, panics and log events into [`Report`]s, on
//! the capturing thread (cheap) or the worker (the rest).

use std::sync::Arc;
use std::time::SystemTime;

use chrono::{DateTime, Utc};

use super::event::CapturedEvent;
use crate::model::{Id, Report, ReportKind, Severity};
use crate::scope::ScopeData;

/// What a captured job carries.
#[derive(Debug)]
pub(crate) enum Payload {
    /// A report built on the host thread.
    Report(Box<Report>),
    /// A log event to be turned into a report on the worker.
    Event(Box<CapturedEvent>),
    /// An error or message to be turned into a report on the worker.
    Captured(Box<Captured>),
}

/// Builds the report for a log event.
pub(crate) fn event_report(flow: &str, ev: &CapturedEvent) -> Report {
    let at = ev.at();
    let mut r = Report::new(
        flow,
        ev.severity(),
        ReportKind::LogEvent,
        ev.message().to_owned(),
    );
    stamp(&mut r, at);
    r.context.insert("logger".into(), ev.target().to_owned());
    if let Some(file) = ev.file() {
        let loc = match ev.line() {
            Some(l) => format!("{file}:{l}"),
            None => file.to_owned(),
        };
        r.context.insert("location".into(), loc);
    }
    for (k, v) in ev.fields() {
        match k {
            "error.type" | "error_type" | "exception.type" => r.error_type = Some(v.to_owned()),
            "error" | "err" | "exception" | "error.message" => {
                if r.message.is_empty() {
                    r.message = v.to_owned();
                }
                r.context.insert(k.to_owned(), v.to_owned());
            }
            "stage" => r.stage = Some(v.to_owned()),
            "run_id" => r.run_id = Some(v.to_owned()),
            "flow" => r.flow = v.to_owned(),
            _ => {
                r.context.insert(k.to_owned(), v.to_owned());
            }
        }
    }
    if r.message.is_empty() {
        r.message = format!("{} event from {}", ev.level(), ev.target());
    }
    r
}

/// An error or message captured on the host thread: only what cannot
/// outlive the call (the error's text) is rendered there, plus an id for
/// the handle; the `Report` itself (timestamps, maps, type-name cleanup) is
/// built on the worker by [`captured_report`].
#[derive(Debug)]
pub(crate) struct Captured {
    pub(crate) id: Id,
    pub(crate) severity: Severity,
    pub(crate) kind: ReportKind,
    pub(crate) message: String,
    pub(crate) source_chain: Vec<String>,
    pub(crate) error_type: ErrorType,
    pub(crate) location: Option<&'static std::panic::Location<'static>>,
    pub(crate) context: Vec<(String, String)>,
    pub(crate) at: SystemTime,
}

/// What the error type will be named, resolved as far as the host thread
/// must (it alone can look at the error).
#[derive(Debug)]
pub(crate) enum ErrorType {
    /// No error (a message, a success ping).
    None,
    /// A Rust type name, cleaned on the worker.
    Named(&'static str),
    /// A `std::io::Error`, named with its kind.
    Io(std::io::ErrorKind),
    /// A `dyn Error`: the first word of its `Debug`, taken on the host.
    Resolved(String),
}

impl Captured {
    /// A message (or success ping) with no error behind it.
    pub(crate) fn message(severity: Severity, kind: ReportKind, message: String) -> Self {
        Self {
            id: Id::new(),
            severity,
            kind,
            message,
            source_chain: Vec::new(),
            error_type: ErrorType::None,
            location: None,
            context: Vec::new(),
            at: SystemTime::now(),
        }
    }

    /// An error: its text and `source()` chain, and what names its type.
    pub(crate) fn error(
        severity: Severity,
        err: &(dyn std::error::Error + 'static),
        type_name: &'static str,
        location: &'static std::panic::Location<'static>,
    ) -> Self {
        let message = err.to_string();
        let mut source_chain = Vec::new();
        let mut next = err.source();
        let mut seen = 0;
        while let Some(cause) = next {
            let text = cause.to_string();
            if source_chain.last() != Some(&text) && text != message {
                source_chain.push(text);
            }
            next = cause.source();
            seen += 1;
            if seen >= 32 {
                break;
            }
        }
        let error_type = if let Some(io) = err.downcast_ref::<std::io::Error>() {
            ErrorType::Io(io.kind())
        } else if type_name.starts_with("dyn ") || type_name.starts_with("&dyn ") {
            ErrorType::Resolved(debug_word(err))
        } else {
            ErrorType::Named(type_name)
        };
        Self {
            id: Id::new(),
            severity,
            kind: ReportKind::Error,
            message,
            source_chain,
            error_type,
            location: Some(location),
            context: Vec::new(),
            at: SystemTime::now(),
        }
    }
}

/// Builds the report for something captured on the host thread.
pub(crate) fn captured_report(flow: &str, c: Captured) -> Report {
    let mut r = Report::new(flow, c.severity, c.kind, c.message);
    r.id = c.id;
    stamp(&mut r, DateTime::<Utc>::from(c.at));
    r.source_chain = c.source_chain;
    r.error_type = match c.error_type {
        ErrorType::None => None,
        ErrorType::Named(name) => Some(clean_type_name(name)),
        ErrorType::Io(kind) => Some(format!("std::io::Error({kind:?})")),
        ErrorType::Resolved(name) => Some(name),
    };
    if let Some(location) = c.location {
        r.context.insert(
            "reported_at".into(),
            format!("{}:{}", location.file(), location.line()),
        );
    }
    r.context.extend(c.context);
    r
}

/// Dates a report to when it was captured on the host thread, not when
/// the worker got to it.
fn stamp(r: &mut Report, at: DateTime<Utc>) {
    r.occurred_at = at;
    r.first_seen = at;
    r.last_seen = at;
}

/// The first word of an error's `Debug` (its variant or type, usually).
fn debug_word(err: &(dyn std::error::Error + 'static)) -> String {
    let debug = format!("{err:?}");
    let word: String = debug
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
        .collect();
    if word.is_empty() {
        "Error".into()
    } else {
        word
    }
}

/// A readable, stable type name: `std::io::Error` rather than
/// `std::io::error::Error`, without generic parameters.
fn clean_type_name(type_name: &str) -> String {
    let base = type_name.split('<').next().unwrap_or(type_name);
    base.replace("::error::", "::")
        .replace("alloc::boxed::", "")
}

/// Applies the ambient scope to a report: flow override, stage, run id,
/// extra keys (explicit per-call values win).
pub(crate) fn apply_scope(r: &mut Report, scope: Option<&Arc<ScopeData>>) {
    let Some(s) = scope else { return };
    if let Some(flow) = &s.flow {
        r.flow.clone_from(flow);
    }
    if r.stage.is_none() {
        r.stage.clone_from(&s.stage);
    }
    if r.run_id.is_none() {
        r.run_id.clone_from(&s.run_id);
    }
    for (k, v) in &s.extra {
        r.context.entry(k.clone()).or_insert_with(|| v.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("loading orders failed")]
    struct LoadError(#[source] std::io::Error);

    #[test]
    fn error_reports_walk_the_source_chain() {
        let err = LoadError(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "orders.csv missing",
        ));
        let here = std::panic::Location::caller();
        let c = Captured::error(
            Severity::Error,
            &err,
            std::any::type_name::<LoadError>(),
            here,
        );
        let id = c.id.clone();
        let r = captured_report("etl", c);
        assert_eq!(r.id, id, "the handle's id is the report's");
        assert_eq!(r.message, "loading orders failed");
        assert_eq!(r.source_chain, ["orders.csv missing"]);
        assert!(
            r.error_type.as_deref().unwrap().ends_with("LoadError"),
            "{:?}",
            r.error_type
        );
        assert!(!r.error_type.as_deref().unwrap().contains("::error::"));
        assert_eq!(
            r.context["reported_at"],
            format!("{}:{}", here.file(), here.line())
        );
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "nope");
        let r = captured_report(
            "etl",
            Captured::error(Severity::Error, &io, "std::io::error::Error", here),
        );
        assert_eq!(
            r.error_type.as_deref(),
            Some("std::io::Error(PermissionDenied)")
        );
        let boxed: Box<dyn std::error::Error> = Box::new(LoadError(io));
        let r = captured_report(
            "etl",
            Captured::error(Severity::Error, boxed.as_ref(), "dyn Error", here),
        );
        assert_eq!(r.error_type.as_deref(), Some("LoadError"));
    }

    #[test]
    fn events_map_well_known_fields() {
        let mut ev = CapturedEvent::new(Severity::Error, "ERROR", "etl::load".into());
        ev.push_message_str("load failed");
        ev.push_field_str("error_type", "Timeout");
        ev.push_field_str("table", "orders");
        ev.push_field_str("stage", "load");
        ev.set_location(Some("src/load.rs".into()), Some(7));
        assert_eq!(
            ev.to_log_line().message,
            "load failed error_type=Timeout table=orders stage=load"
        );
        let r = event_report("etl", &ev);
        assert_eq!(r.error_type.as_deref(), Some("Timeout"));
        assert_eq!(r.stage.as_deref(), Some("load"));
        assert_eq!(r.context["table"], "orders");
        assert_eq!(r.context["location"], "src/load.rs:7");
        assert_eq!(r.kind, ReportKind::LogEvent);
    }
}
