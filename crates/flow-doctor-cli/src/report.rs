//! `flow-doctor report [--severity S] [--flow NAME] [--config PATH] [--json] [FILE]`:
//! reports a failure text (a traceback, a log excerpt) from stdin or a file.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use flow_doctor::Severity;
use flow_doctor::config::HumanDuration;

use crate::app;
use crate::run::parse_severity;

/// Arguments of `flow-doctor report`.
#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// Severity of the report.
    #[arg(long, default_value = "error", value_parser = parse_severity)]
    severity: Severity,
    /// Flow name (default: `flow_name` from the configuration).
    #[arg(long)]
    flow: Option<String>,
    /// Configuration file.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Print the outcome as JSON.
    #[arg(long)]
    json: bool,
    /// How long to wait for the report to be stored and delivered.
    #[arg(long, default_value = "60s", value_parser = HumanDuration::parse)]
    timeout: HumanDuration,
    /// File with the failure text (default: stdin).
    file: Option<PathBuf>,
}

pub(crate) fn run(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let text = app::read_input(args.file.as_deref())?;
    if text.trim().is_empty() {
        anyhow::bail!("the failure text is empty");
    }
    let cfg = app::load_config(args.config.as_deref(), args.flow.as_deref())?;
    let fd = app::build_doctor(&cfg)?;
    let outcome = fd.report_text(args.severity, text).wait(args.timeout.get());
    fd.flush(args.timeout.get());
    let Some(o) = outcome else {
        anyhow::bail!("the report was not processed within {}", args.timeout);
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&o)?);
    } else {
        println!(
            "incident {} ({}): {} — {}",
            o.incident_id.short(),
            o.signature.get(..12).unwrap_or(&o.signature),
            o.decision,
            o.reason
        );
        if let Some(d) = &o.diagnosis {
            println!(
                "diagnosis: {} ({:.0}%): {}",
                d.category,
                d.confidence * 100.0,
                d.root_cause
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
