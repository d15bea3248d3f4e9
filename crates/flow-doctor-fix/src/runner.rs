//! Running `auto_fix.test_command` in the fix worktree.
//!
//! The command runs through `sh -c` in its own process group, with stdin
//! closed and stdout and stderr captured together (the last
//! [`OUTPUT_KEEP_BYTES`] bytes are kept). On timeout the whole group is
//! killed, so a test runner's children do not outlive it.
//!
//! The command runs code a model wrote, so it does not inherit
//! credentials: environment variables whose names look secret (`TOKEN`,
//! `SECRET`, `PASSWORD`, `API_KEY`, `CREDENTIAL`, ...) and every
//! `FLOW_DOCTOR_*` variable are removed from its environment.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use std::time::Duration;
//! let run = flow_doctor_fix::runner::run_tests("python3 -m unittest -q", ".".as_ref(), Duration::from_secs(600)).await?;
//! println!("{} after {:?}:\n{}", run.status, run.duration, run.tail(40));
//! # Ok(()) }
//! ```

use std::ffi::OsString;
use std::fmt;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;

/// Bytes of output kept (the end of it).
pub const OUTPUT_KEEP_BYTES: usize = 64 * 1024;

/// How the test command ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestStatus {
    /// Exit status 0.
    Passed,
    /// Non-zero exit status.
    Failed(i32),
    /// Killed by a signal (not by us).
    Signalled(i32),
    /// Killed after `auto_fix.test_timeout`.
    TimedOut,
}

impl TestStatus {
    /// Whether the tests passed.
    pub fn passed(self) -> bool {
        self == Self::Passed
    }
}

impl fmt::Display for TestStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Passed => f.write_str("passed"),
            Self::Failed(code) => write!(f, "failed (exit status {code})"),
            Self::Signalled(sig) => write!(f, "killed by signal {sig}"),
            Self::TimedOut => f.write_str("timed out and was killed"),
        }
    }
}

/// One run of the test command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestRun {
    /// The command as configured.
    pub command: String,
    /// How it ended.
    pub status: TestStatus,
    /// Wall-clock time.
    pub duration: Duration,
    /// The end of stdout and stderr, interleaved as they arrived (lossy UTF-8).
    pub output: String,
    /// Whether output was cut to [`OUTPUT_KEEP_BYTES`].
    pub truncated: bool,
}

impl TestRun {
    /// The last `lines` lines of output.
    pub fn tail(&self, lines: usize) -> String {
        let all: Vec<&str> = self.output.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

/// Runs `command` through `sh -c` in `dir`, killing it (and its process
/// group) after `timeout`, with this process's environment minus secrets.
/// `Err` only when the shell cannot be started.
pub async fn run_tests(command: &str, dir: &Path, timeout: Duration) -> std::io::Result<TestRun> {
    run_tests_in_env(command, dir, timeout, std::env::vars_os()).await
}

/// [`run_tests`] with an explicit parent environment (filtered by
/// [`is_secret_env`] all the same).
pub async fn run_tests_in_env(
    command: &str,
    dir: &Path,
    timeout: Duration,
    env: impl IntoIterator<Item = (OsString, OsString)>,
) -> std::io::Result<TestRun> {
    let mut cmd = tokio::process::Command::new("sh");
    cmd.arg("-c")
        .arg(command)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .env_clear();
    for (key, value) in env {
        if !key.to_str().is_some_and(is_secret_env) {
            cmd.env(key, value);
        }
    }
    let started = Instant::now();
    let mut child = cmd.spawn()?;
    let buf = Arc::new(Mutex::new(Tail::default()));
    let mut readers = Vec::new();
    if let Some(out) = child.stdout.take() {
        readers.push(tokio::spawn(pump(out, buf.clone())));
    }
    if let Some(err) = child.stderr.take() {
        readers.push(tokio::spawn(pump(err, buf.clone())));
    }
    let status = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(st)) => {
            use std::os::unix::process::ExitStatusExt;
            match (st.code(), st.signal()) {
                (Some(0), _) => TestStatus::Passed,
                (Some(code), _) => TestStatus::Failed(code),
                (None, Some(sig)) => TestStatus::Signalled(sig),
                (None, None) => TestStatus::Failed(-1),
            }
        }
        Ok(Err(e)) => return Err(e),
        Err(_) => {
            if let Some(pid) = child.id() {
                kill_group(pid);
            }
            let _ = child.kill().await;
            TestStatus::TimedOut
        }
    };
    let duration = started.elapsed();
    // Children that left the group may hold the pipes open; do not wait on them forever.
    for r in readers {
        let _ = tokio::time::timeout(Duration::from_secs(2), r).await;
    }
    let tail = buf
        .lock()
        .map(|t| t.clone())
        .unwrap_or_else(|e| e.into_inner().clone());
    Ok(TestRun {
        command: command.to_string(),
        status,
        duration,
        output: String::from_utf8_lossy(&tail.bytes).into_owned(),
        truncated: tail.truncated,
    })
}

/// Whether an environment variable is withheld from the test command.
pub fn is_secret_env(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    const MARKERS: [&str; 10] = [
        "TOKEN",
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "API_KEY",
        "APIKEY",
        "ACCESS_KEY",
        "PRIVATE_KEY",
        "CREDENTIAL",
        "AUTH",
    ];
    upper.starts_with("FLOW_DOCTOR_") || MARKERS.iter().any(|m| upper.contains(m))
}

#[derive(Clone, Default)]
struct Tail {
    bytes: Vec<u8>,
    truncated: bool,
}

async fn pump(mut stream: impl tokio::io::AsyncRead + Unpin, buf: Arc<Mutex<Tail>>) {
    let mut chunk = [0u8; 8192];
    loop {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let mut t = buf.lock().unwrap_or_else(|e| e.into_inner());
                t.bytes.extend_from_slice(&chunk[..n]);
                if t.bytes.len() > OUTPUT_KEEP_BYTES {
                    let cut = t.bytes.len() - OUTPUT_KEEP_BYTES;
                    t.bytes.drain(..cut);
                    t.truncated = true;
                }
            }
        }
    }
}

/// Kills the process group `pgid` (the shell and everything it started)
/// with SIGKILL; ESRCH (the group is already gone) is fine.
fn kill_group(pgid: u32) {
    if let Ok(pgid) = i32::try_from(pgid) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pgid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

#[cfg(test)]
mod tests;
