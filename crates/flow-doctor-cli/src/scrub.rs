//! `flow-doctor scrub [FILE] [--config PATH]`: removes secrets from text.
//!
//! Reads FILE (default: standard input), writes the scrubbed text to
//! standard output, exit 0. The built-in rules always apply; the
//! configuration's `scrub.patterns` and `scrub.keys` are added when a
//! configuration is found the usual way (`--config`, else
//! `FLOW_DOCTOR_CONFIG`, else `flow-doctor.yaml` / `.yml` / `.toml` in the
//! current directory). An unreadable file or an invalid configuration is
//! an error on stderr with exit 1, and nothing is written.
//!
//! ```text
//! $ ./job.sh 2>&1 | flow-doctor scrub > job.log
//! ```

use std::io::{self, Read as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use flow_doctor::Scrubber;
use flow_doctor::config::Loader;

/// Arguments of `flow-doctor scrub`.
#[derive(Debug, Args)]
pub(crate) struct ScrubArgs {
    /// The file to scrub (default: standard input).
    file: Option<PathBuf>,
    /// Configuration with extra `scrub.patterns` / `scrub.keys` (default:
    /// $FLOW_DOCTOR_CONFIG, else flow-doctor.yaml, .yml or .toml in the
    /// current directory, else the built-in rules only).
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
}

/// Runs `scrub`.
pub(crate) fn run(args: ScrubArgs) -> anyhow::Result<ExitCode> {
    let config = Loader::new()
        .load(args.config.as_deref())
        .context("invalid configuration")?;
    let scrubber = Scrubber::from_config(&config.scrub).context("invalid `scrub` configuration")?;
    let bytes = match &args.file {
        Some(path) => {
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?
        }
        None => {
            let mut buf = Vec::new();
            io::stdin()
                .lock()
                .read_to_end(&mut buf)
                .context("cannot read standard input")?;
            buf
        }
    };
    // Invalid UTF-8 becomes U+FFFD: the scrubber works on text.
    let text = String::from_utf8_lossy(&bytes);
    let scrubbed = scrubber.scrub(&text);
    match io::stdout().lock().write_all(scrubbed.as_bytes()) {
        // `| head` closing the pipe early is not a failure.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        other => {
            other.context("cannot write to standard output")?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
