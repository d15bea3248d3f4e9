//! Turning errors, messages, panics and log events into [`Report`]s, on
//! the capturing thread (cheap) or the worker (the rest).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::event::CapturedEvent;
use crate::model::{Report, ReportKind, Severity};
use crate::scope::ScopeData;

/// What a captured job carries.
#[derive(Debug)]
pub(crate) enum Payload {
    /// A report built on the host thread.
    Report(Box<Report>),
    /// A log event to be turned into a report on the worker.
    Event(Box<CapturedEvent>),
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
    r.occurred_at = at;
    r.first_seen = at;
    r.last_seen = at;
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

/// Builds the report for an error, walking its `source()` chain.
pub(crate) fn error_report(
    flow: &str,
    severity: Severity,
    err: &(dyn std::error::Error + 'static),
    type_name: &str,
) -> Report {
    let mut r = Report::new(flow, severity, ReportKind::Error, err.to_string());
    r.error_type = Some(clean_type_name(type_name, err));
    let mut next = err.source();
    let mut seen = 0;
    while let Some(cause) = next {
        let text = cause.to_string();
        if r.source_chain.last() != Some(&text) && text != r.message {
            r.source_chain.push(text);
        }
        next = cause.source();
        seen += 1;
        if seen >= 32 {
            break;
        }
    }
    r
}

/// A readable, stable type name: `std::io::Error` rather than
/// `std::io::error::Error`, and for `dyn Error` the first word of `Debug`.
fn clean_type_name(type_name: &str, err: &(dyn std::error::Error + 'static)) -> String {
    if let Some(io) = err.downcast_ref::<std::io::Error>() {
        return format!("std::io::Error({:?})", io.kind());
    }
    if type_name.starts_with("dyn ") || type_name.starts_with("&dyn ") {
        let debug = format!("{err:?}");
        let word: String = debug
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        return if word.is_empty() {
            "Error".into()
        } else {
            word
        };
    }
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

/// Adds key/values to a report's context.
pub(crate) fn extend_context<K, V>(r: &mut Report, ctx: impl IntoIterator<Item = (K, V)>)
where
    K: Into<String>,
    V: ToString,
{
    let map: &mut BTreeMap<String, String> = &mut r.context;
    for (k, v) in ctx {
        map.insert(k.into(), v.to_string());
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
        let r = error_report(
            "etl",
            Severity::Error,
            &err,
            std::any::type_name::<LoadError>(),
        );
        assert_eq!(r.message, "loading orders failed");
        assert_eq!(r.source_chain, ["orders.csv missing"]);
        assert!(
            r.error_type.as_deref().unwrap().ends_with("LoadError"),
            "{:?}",
            r.error_type
        );
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "nope");
        let r = error_report("etl", Severity::Error, &io, "std::io::error::Error");
        assert_eq!(
            r.error_type.as_deref(),
            Some("std::io::Error(PermissionDenied)")
        );
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
