//! Integration tests of the `flow-doctor` binary, one module per verb.

mod config_check;
mod diagnose;
mod digest;
mod fingerprint;
mod generate_fix;
mod history;
mod init_cmd;
mod playbook;
mod prune;
mod run;
mod scrub;

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Runs the binary in `dir` with a clean environment (PATH and `vars`
/// only), `stdin` as its input, and collects its output.
pub(crate) fn run_bin(dir: &Path, args: &[&str], vars: &[(&str, &str)], stdin: &str) -> Output {
    run_bin_with(dir, args, vars, stdin.as_bytes())
}

/// [`run_bin`] with raw bytes on stdin and no extra variables.
pub(crate) fn run_bin_bytes(dir: &Path, args: &[&str], stdin: &[u8]) -> Output {
    run_bin_with(dir, args, &[], stdin)
}

fn run_bin_with(dir: &Path, args: &[&str], vars: &[(&str, &str)], stdin: &[u8]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_flow-doctor"));
    cmd.current_dir(dir)
        .env_clear()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("run flow-doctor");
    let mut input = child.stdin.take().expect("piped stdin");
    // From a thread, so that a child that stops reading cannot block us.
    let bytes = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&bytes);
    });
    let out = child.wait_with_output().expect("wait for flow-doctor");
    let _ = writer.join();
    out
}

/// Output bytes as text.
pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The GitHub REST fake of the notify crate's tests.
#[allow(dead_code)]
#[path = "../../../flow-doctor-notify/tests/it/support/github.rs"]
mod github_fake;

/// The SMTP peer (aiosmtpd) of the notify crate's tests.
#[allow(dead_code)]
#[path = "../../../flow-doctor-notify/tests/it/support/smtp.rs"]
mod smtp_peer;
