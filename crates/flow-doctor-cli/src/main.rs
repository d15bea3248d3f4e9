//! The `flow-doctor` binary. The only crate that prints, parses flags or
//! uses `anyhow`.
#![allow(clippy::print_stdout)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Pipeline error doctor.
#[derive(Debug, Parser)]
#[command(name = "flow-doctor", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Validate a configuration file and print it with secrets redacted.
    Check {
        /// The file (default: flow-doctor.yaml/.yml/.toml in the current directory).
        path: Option<std::path::PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("flow-doctor: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Config {
            command: ConfigCommand::Check { path },
        } => {
            let path = match path {
                Some(p) => p,
                None => flow_doctor::Config::discover(".").ok_or_else(|| {
                    anyhow::anyhow!("no flow-doctor.yaml, .yml or .toml in the current directory")
                })?,
            };
            let cfg = flow_doctor::Config::from_path(&path)?;
            println!("{}", serde_json::to_string_pretty(&cfg)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}
