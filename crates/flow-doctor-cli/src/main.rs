//! The `flow-doctor` binary. The only crate that prints, parses flags or
//! uses `anyhow`.
#![allow(clippy::print_stdout)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod app;
mod config_check;
mod diagnose;
mod digest;
mod feedback;
mod fingerprint;
mod generate_fix;
mod history;
mod init_cmd;
mod playbook;
mod prune;
mod report;
mod run;
mod scrub;
mod status;

/// Pipeline error doctor.
#[derive(Debug, Parser)]
#[command(name = "flow-doctor", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Parse failure text (FILE or stdin) and print its signature.
    Fingerprint(fingerprint::FingerprintArgs),
    /// Run a command and report it if it fails (non-zero exit, signal, timeout).
    Run(run::RunArgs),
    /// Report a failure text from stdin or a file.
    Report(report::ReportArgs),
    /// List recent incidents with counts, decision and diagnosis.
    History(history::HistoryArgs),
    /// Show one incident with its decisions and actions.
    Show(history::ShowArgs),
    /// Today's counts seen / fired / suppressed by reason, per flow.
    Status(status::StatusArgs),
    /// Validate configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Diagnose a failure text (file or stdin) with the knowledge base and the configured LLM.
    Diagnose(diagnose::DiagnoseArgs),
    /// Confirm, correct or reject an incident's diagnosis.
    Feedback(feedback::FeedbackArgs),
    /// Summarize held-back reports; `--send` delivers the digest.
    Digest(digest::DigestArgs),
    /// Test remediation playbooks against a failure text (never runs them).
    Playbook {
        #[command(subcommand)]
        command: playbook::PlaybookCommand,
    },
    /// Remove secrets from a file or standard input; print the result.
    Scrub(scrub::ScrubArgs),
    /// Turn a flow-doctor GitHub issue into a tested fix pull request.
    GenerateFix(generate_fix::GenerateFixArgs),
    /// Write a starter flow-doctor.yaml (and, with --github-workflow, the fix workflow).
    Init(init_cmd::InitArgs),
    /// Remove incidents older than the retention period (and what hangs off them).
    Prune(prune::PruneArgs),
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Validate a configuration file and print it with secrets redacted.
    Check(config_check::CheckArgs),
}

fn main() -> ExitCode {
    quiet_on_closed_stdout();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("flow-doctor: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// `flow-doctor history | head`: when the reader closes the pipe, `println!`
/// panics on the write error. Exit quietly then, with 141 (128 + SIGPIPE)
/// as a program killed by SIGPIPE would, instead of printing a panic.
fn quiet_on_closed_stdout() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        previous(info);
    }));
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Fingerprint(args) => fingerprint::run(args),
        Command::Run(args) => run::run(args),
        Command::Report(args) => report::run(args),
        Command::History(args) => history::history(args),
        Command::Show(args) => history::show(args),
        Command::Status(args) => status::run(args),
        Command::Config {
            command: ConfigCommand::Check(args),
        } => config_check::run(args),
        Command::Diagnose(args) => diagnose::run(args),
        Command::Feedback(args) => feedback::run(args),
        Command::Digest(args) => digest::run(args),
        Command::Playbook { command } => playbook::run(command),
        Command::Scrub(args) => scrub::run(args),
        Command::GenerateFix(args) => generate_fix::run(args),
        Command::Init(args) => init_cmd::run(args),
        Command::Prune(args) => prune::run(args),
    }
}
