//! `flow-doctor fingerprint [--json] [FILE]`: parse failure text (a file, or
//! stdin) and print its error type, message, frames and signature.
//!
//! The text is scrubbed first (built-in rules), as the engine scrubs a
//! report before it parses and fingerprints it: nothing secret is printed,
//! and the signature is the one the engine gives the same text.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use flow_doctor::fingerprint::{ParsedFailure, fingerprint, parse};
use serde_json::json;

/// Arguments of `flow-doctor fingerprint`.
#[derive(Debug, clap::Args)]
pub(crate) struct FingerprintArgs {
    /// Print JSON: signature, fingerprint, error_type, message, frames
    /// (innermost first) and language.
    #[arg(long)]
    json: bool,
    /// The file to read (default: stdin; `-` also means stdin).
    file: Option<PathBuf>,
}

/// Runs the verb.
pub(crate) fn run(args: FingerprintArgs) -> anyhow::Result<ExitCode> {
    let bytes = match args.file.as_deref() {
        Some(path) if path.as_os_str() != "-" => {
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?
        }
        _ => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .context("cannot read stdin")?;
            buf
        }
    };
    let scrubber = flow_doctor::Scrubber::new();
    let text = String::from_utf8_lossy(&bytes);
    let mut failure = parse(&scrubber.scrub(&text));
    // What parsing decodes (JSON escapes) is scrubbed again, as in the
    // engine.
    scrubber.scrub_parsed(&mut failure);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&to_json(&failure))?);
    } else {
        print!("{}", summary(&failure));
    }
    Ok(ExitCode::SUCCESS)
}

/// The `--json` document.
fn to_json(failure: &ParsedFailure) -> serde_json::Value {
    let fp = fingerprint(
        failure.error_type.as_deref(),
        &failure.frames,
        &failure.message,
    );
    let frames: Vec<_> = failure
        .frames
        .iter()
        .map(|f| json!({"file": f.file, "function": f.function, "line": f.line}))
        .collect();
    json!({
        "signature": fp.signature,
        "fingerprint": fp.fingerprint,
        "error_type": failure.error_type,
        "message": failure.message,
        "frames": frames,
        "language": failure.language,
    })
}

/// A short summary for people.
fn summary(failure: &ParsedFailure) -> String {
    let fp = fingerprint(
        failure.error_type.as_deref(),
        &failure.frames,
        &failure.message,
    );
    let headline = match (&failure.error_type, failure.message.is_empty()) {
        (Some(t), true) => t.clone(),
        (Some(t), false) => format!("{t}: {}", failure.message),
        (None, _) => failure.message.clone(),
    };
    let mut out = format!(
        "{headline}\n  language     {}\n  signature    {}\n  fingerprint  {}\n",
        failure.language.as_deref().unwrap_or("plain text"),
        fp.signature,
        fp.fingerprint,
    );
    for cause in &failure.chain {
        out.push_str(&format!("  caused by    {cause}\n"));
    }
    if !failure.frames.is_empty() {
        out.push_str("  frames (innermost first):\n");
        for f in &failure.frames {
            let location = match f.line {
                Some(line) => format!("{}:{line}", f.file),
                None => f.file.clone(),
            };
            let function = if f.function.is_empty() {
                "?"
            } else {
                &f.function
            };
            let library = if f.in_app { "" } else { "  [library]" };
            out.push_str(&format!("    {function}  {location}{library}\n"));
        }
    }
    out
}
