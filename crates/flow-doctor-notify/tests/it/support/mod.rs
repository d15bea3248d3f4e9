//! Fixtures and real peers shared by the integration tests.

pub(crate) mod github;
mod smtp;

pub(crate) use smtp::{SinkTls, SmtpSink, TestCa, free_port, header, part};

use flow_doctor_core::model::ReportKind;
use flow_doctor_core::notify::{Incident, Recurrence};
use flow_doctor_core::{Category, Diagnosis, Report, Severity};

/// A diagnosed incident of flow `etl` with a traceback, logs and context.
pub(crate) fn incident(signature: &str) -> Incident {
    let mut r = Report::new("etl", Severity::Error, ReportKind::Error, "'customer_id'");
    r.error_type = Some("KeyError".into());
    r.signature = signature.into();
    r.fingerprint = "KeyError @ etl/load.py:load_rows".into();
    r.host = "worker-1".into();
    r.traceback = Some(
        "Traceback (most recent call last):\n  File \"etl/load.py\", line 42, in load_rows\n    \
         row['customer_id']\nKeyError: 'customer_id'"
            .into(),
    );
    r.context.insert("table".into(), "orders".into());
    let mut d = Diagnosis::new(
        Category::Code,
        "The loader reads a column the export dropped.",
        0.93,
    );
    d.affected_files = vec!["etl/load.py".into()];
    d.remediation = "Read the renamed column `cust_id`.".into();
    Incident {
        report: r,
        diagnosis: Some(d),
        recurrence: None,
        links: vec![],
    }
}

/// A later incident of the same failure, as the engine sends it after the
/// cooldown.
pub(crate) fn recurrence_of(first: &Incident, incidents: u64, occurrences: u64) -> Incident {
    let mut next = incident(&first.report.signature);
    next.recurrence = Some(Recurrence {
        previous_incident: first.report.id.clone(),
        incidents,
        occurrences,
        first_seen: first.report.first_seen,
    });
    next
}

/// An error's class and component, for `assert_eq!(class(&err),
/// ("permanent", "email"))`.
pub(crate) fn class(err: &flow_doctor_core::Error) -> (&'static str, &'static str) {
    use flow_doctor_core::Error;
    match err {
        Error::Config { component, .. } => ("config", component),
        Error::RateLimited { component, .. } => ("rate_limited", component),
        Error::Transient { component, .. } => ("transient", component),
        Error::Permanent { component, .. } => ("permanent", component),
        _ => ("other", ""),
    }
}
