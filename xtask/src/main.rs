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
    warn_if_disk_is_low();
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

/// A cold build of the workspace with every feature and test writes about
/// 5 GiB. When the target directory's file system has less than that free,
/// say so up front: a full disk otherwise surfaces as a linker "Bus error"
/// far from its cause.
fn warn_if_disk_is_low() {
    const NEEDED_KIB: u64 = 6 * 1024 * 1024;
    let target = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| project_root().join("target"));
    // `df` needs an existing path: walk up to the nearest one.
    let mut probe = target.as_path();
    while !probe.exists() {
        match probe.parent() {
            Some(parent) => probe = parent,
            None => return,
        }
    }
    let Ok(out) = Command::new("df").arg("-Pk").arg(probe).output() else {
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let available = text
        .lines()
        .nth(1)
        .and_then(|line| line.split_whitespace().nth(3))
        .and_then(|kib| kib.parse::<u64>().ok());
    if let Some(kib) = available.filter(|kib| *kib < NEEDED_KIB) {
        println!(
            "xtask: warning: only {} MiB free under {}; a cold build needs about 6 GiB. \
             Free space or point CARGO_TARGET_DIR elsewhere.",
            kib / 1024,
            probe.display()
        );
    }
}

/// Makes sure the `openssl` command is there (the email tests make a
/// throw-away CA with it), installing the Debian package when it is not and
/// apt-get can.
fn openssl() -> Result<(), String> {
    let works = |cmd: &mut Command| {
        cmd.stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if works(Command::new("openssl").arg("version")) {
        return Ok(());
    }
    println!("xtask: the `openssl` command is missing; installing the Debian package");
    if works(Command::new("apt-get").args(["install", "-y", "-qq", "openssl"]))
        && works(Command::new("openssl").arg("version"))
    {
        return Ok(());
    }
    Err(
        "the tests need the `openssl` command: install it (Debian: `apt-get install openssl`)"
            .into(),
    )
}

/// Creates the peers' virtualenv when missing and returns its path.
fn peers() -> Result<PathBuf, String> {
    openssl()?;
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
    // Incremental state is most of a debug target directory's size and buys
    // nothing on a one-shot CI build: without it a cold run writes about
    // 40% less to disk and links no slower.
    if env::var_os("CARGO_INCREMENTAL").is_none() {
        cmd.env("CARGO_INCREMENTAL", "0");
    }
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
