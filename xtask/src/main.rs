//! Project automation, run as `cargo xtask <command>`.
//!
//! - `ci`: installs the test peers, checks formatting, runs clippy with
//!   `-D warnings`, checks the facade without features, and runs the whole
//!   test suite. `.ci/run` calls exactly this.
//! - `peers`: creates `.peers/venv` with the Python peers the tests start on
//!   loopback (`moto[server]` for AWS SSM and Step Functions, `aiosmtpd` for
//!   SMTP). Idempotent.
#![allow(clippy::print_stdout)]

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// Python packages the tests need, pinned to what was verified here.
const PEER_PACKAGES: &[&str] = &["moto[server]==5.2.5", "aiosmtpd==1.4.6"];

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("peers") => peers().map(|_| ()),
        _ => {
            eprintln!("usage: cargo xtask <ci|peers>");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn ci() -> Result<(), String> {
    let venv = peers()?;
    cargo(&["fmt", "--all", "--check"], None)?;
    cargo(
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--",
            "-D",
            "warnings",
        ],
        None,
    )?;
    // The facade with no stage at all still builds (core only).
    cargo(
        &["check", "-p", "flow-doctor", "--no-default-features"],
        None,
    )?;
    cargo(&["test", "--workspace", "--all-features"], Some(&venv))?;
    Ok(())
}

/// Creates the peers' virtualenv when missing and returns its path.
fn peers() -> Result<PathBuf, String> {
    let root = project_root();
    let venv = root.join(".peers").join("venv");
    let marker = venv.join(".installed");
    let wanted = PEER_PACKAGES.join(" ");
    if std::fs::read_to_string(&marker).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(venv);
    }
    let python = env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    run(Command::new(&python).args(["-m", "venv"]).arg(&venv))?;
    let pip = venv.join("bin").join("pip");
    run(Command::new(&pip)
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .args(PEER_PACKAGES))?;
    std::fs::write(&marker, &wanted)
        .map_err(|e| format!("cannot write {}: {e}", marker.display()))?;
    Ok(venv)
}

fn cargo(args: &[&str], venv: Option<&Path>) -> Result<(), String> {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(&cargo);
    cmd.args(args).current_dir(project_root());
    if let Some(venv) = venv {
        cmd.env("FLOW_DOCTOR_PEERS_VENV", venv);
    }
    run(&mut cmd)
}

fn run(cmd: &mut Command) -> Result<(), String> {
    println!("$ {cmd:?}");
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed with {status}"))
    }
}
