//! Turning raw failure text (a job's stderr, a pasted traceback) into a
//! [`Report`] the diagnosers understand.

use flow_doctor_core::fingerprint;
use flow_doctor_core::{ExitInfo, Report, ReportKind, Severity};

/// A report for `flow` built from failure text with
/// [`fingerprint::parse`]: error type, message, cause chain, frames,
/// language and traceback, plus the signature and fingerprint. When no
/// traceback block is recognised, the traceback keeps the whole text, so
/// knowledge-base patterns still see every line. Not scrubbed: scrub it
/// before it leaves the process.
pub fn report_from_text(flow: &str, text: &str) -> Report {
    let parsed = fingerprint::parse(text);
    let mut report = Report::new(flow, Severity::Error, ReportKind::Message, parsed.message);
    report.error_type = parsed.error_type;
    report.source_chain = parsed.chain;
    report.frames = parsed.frames;
    report.language = parsed.language;
    report.traceback = parsed.traceback.or_else(|| Some(text.to_string()));
    let fp = fingerprint::fingerprint_report(&report);
    report.signature = fp.signature;
    report.fingerprint = fp.fingerprint;
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
