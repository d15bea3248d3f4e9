//! `flow-doctor config check [PATH] [--json]`: loads the configuration
//! exactly as every other command does (file resolution, `.env`, `${VAR}`,
//! credential fallbacks, validation) and prints the resolved result.
//!
//! - Valid: the resolved configuration goes to stdout as YAML (or JSON with
//!   `--json`), every credential shown as `<redacted>` and the whole text
//!   passed through the scrubber as a safety net; a one-line verdict goes to
//!   stderr; exit 0. Without a file (no PATH, no `FLOW_DOCTOR_CONFIG`, none
//!   in the current directory) it prints the built-in defaults and says so.
//! - Invalid: every problem goes to stderr, one per line, as
//!   `file:line: key: message (fix: ...)`; exit 1.
//! - Then every stage is built as `run` builds it (notifiers, diagnoser,
//!   remediator; no store opened, no network): what only a stage can check
//!   (a playbook's regex, a missing pattern or playbook file, a lockout's
//!   time zone, a webhook header, an LLM key) fails here too, as
//!   `file: component: message`, exit 1. Credentials are not tried.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use flow_doctor::config::{ConfigError, ConfigSource, Loader};

/// Arguments of `flow-doctor config check`.
#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// The file (default: $FLOW_DOCTOR_CONFIG, else flow-doctor.yaml, .yml
    /// or .toml in the current directory).
    path: Option<PathBuf>,
    /// Print the resolved configuration as JSON instead of YAML.
    #[arg(long)]
    json: bool,
}

/// Runs `config check`.
pub(crate) fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let loader = Loader::new();
    let loaded = loader
        .resolve(args.path.as_deref())
        .and_then(|source| Ok((loader.load(args.path.as_deref())?, source)));
    let (config, source) = match loaded {
        Ok(ok) => ok,
        Err(err) => return Ok(report_problems(&err)),
    };
    if let Err(err) = flow_doctor::check(&config) {
        let file = source.path().map_or_else(
            || "built-in defaults".to_owned(),
            |p| p.display().to_string(),
        );
        eprintln!("{file}: {err}");
        return Ok(ExitCode::FAILURE);
    }
    let text = if args.json {
        let mut json = serde_json::to_string_pretty(&config)?;
        json.push('\n');
        json
    } else {
        let from = match source.path() {
            Some(path) => path.display().to_string(),
            None => "built-in defaults".to_owned(),
        };
        format!(
            "# flow-doctor configuration resolved from {from} (secrets redacted)\n{}",
            config.to_yaml()?
        )
    };
    // The configured rules too: a user's own secret shapes.
    let scrubber = flow_doctor::Scrubber::from_config(&config.scrub)
        .unwrap_or_else(|_| flow_doctor::Scrubber::new());
    let text = scrubber.scrub(&text).into_owned();
    std::io::stdout()
        .write_all(text.as_bytes())
        .context("cannot write to stdout")?;
    match &source {
        ConfigSource::Defaults => eprintln!(
            "note: no configuration file (no PATH, no FLOW_DOCTOR_CONFIG, no flow-doctor.yaml, \
             .yml or .toml here); these are the built-in defaults"
        ),
        other => eprintln!(
            "ok: {} is valid",
            other
                .path()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints every problem, one per line, and returns exit code 1.
fn report_problems(err: &ConfigError) -> ExitCode {
    for problem in err.problems() {
        eprintln!("{}", problem.one_line());
    }
    let n = err.problems().count();
    eprintln!(
        "flow-doctor: configuration invalid: {n} problem{}",
        if n == 1 { "" } else { "s" }
    );
    ExitCode::FAILURE
}
