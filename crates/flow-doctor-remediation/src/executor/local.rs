//! The local executor: each command through `sh -c`, in order, stopping at
//! the first failure, all within the plan's timeout.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use flow_doctor_core::ActionStatus;
use serde_json::json;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

use super::{Executor, Outcome, last_line, tail_text};
use crate::plan::Plan;

/// Output kept per stream by default (the tail), in bytes.
pub const DEFAULT_OUTPUT_TAIL: usize = 4096;

/// How long output is still read after a command exits (a background
/// process it started may keep the pipes open).
const DRAIN_GRACE: Duration = Duration::from_millis(500);

/// Runs commands on this host with `sh -c`.
///
/// Each command runs in its own process group with stdin closed and the
/// plan's `FLOW_DOCTOR_*` variables in its environment. When the timeout
/// expires the whole group is killed. The last [`DEFAULT_OUTPUT_TAIL`]
/// bytes of stdout and stderr are kept.
#[derive(Clone, Debug)]
pub struct LocalExecutor {
    shell: String,
    output_tail: usize,
}

impl Default for LocalExecutor {
    fn default() -> Self {
        Self {
            shell: "sh".into(),
            output_tail: DEFAULT_OUTPUT_TAIL,
        }
    }
}

impl LocalExecutor {
    /// `sh`, 4 KiB output tails.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps the last `bytes` of each stream.
    pub fn output_tail(mut self, bytes: usize) -> Self {
        self.output_tail = bytes.max(1);
        self
    }
}

struct CommandResult {
    json: serde_json::Value,
    ok: bool,
    summary: String,
}

#[async_trait]
impl Executor for LocalExecutor {
    fn name(&self) -> &str {
        "local"
    }

    async fn execute(&self, plan: &Plan) -> Outcome {
        let deadline = super::deadline(plan.timeout);
        let total = plan.commands.len();
        let mut results = Vec::with_capacity(total);
        let mut failure = None;
        for (i, command) in plan.commands.iter().enumerate() {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let r = self.run_one(command, remaining, plan).await;
            let ok = r.ok;
            let summary = r.summary.clone();
            results.push(r.json);
            if !ok {
                let which = if total > 1 {
                    format!("command {} of {total} `{command}`", i + 1)
                } else {
                    "the command".to_string()
                };
                failure = Some(format!("{which} {summary}"));
                break;
            }
        }
        let (status, summary) = match failure {
            Some(f) => (ActionStatus::Failed, f),
            None => (
                ActionStatus::Succeeded,
                format!(
                    "succeeded ({total} command{})",
                    if total == 1 { "" } else { "s" }
                ),
            ),
        };
        Outcome::new(status, summary).with("commands", results)
    }
}

impl LocalExecutor {
    async fn run_one(&self, command: &str, timeout: Duration, plan: &Plan) -> CommandResult {
        let started = Instant::now();
        let fail = |summary: String| CommandResult {
            json: json!({ "command": command, "error": summary }),
            ok: false,
            summary,
        };
        if timeout.is_zero() {
            return fail("was not started: the action's timeout had expired".into());
        }
        let mut cmd = Command::new(&self.shell);
        cmd.arg("-c")
            .arg(command)
            .envs(plan.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        #[cfg(unix)]
        cmd.process_group(0);
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => return fail(format!("could not start `{}`: {e}", self.shell)),
        };
        let pid = child.id();
        let out = child
            .stdout
            .take()
            .map(|s| spawn_reader(s, self.output_tail));
        let err = child
            .stderr
            .take()
            .map(|s| spawn_reader(s, self.output_tail));

        let mut timed_out = false;
        let status = match tokio::time::timeout(timeout, child.wait()).await {
            Ok(Ok(status)) => Some(status),
            Ok(Err(e)) => return fail(format!("could not be waited for: {e}")),
            Err(_) => {
                timed_out = true;
                kill_group(pid).await;
                let _ = child.kill().await;
                child.wait().await.ok()
            }
        };
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let stdout = collect(out, self.output_tail).await;
        let stderr = collect(err, self.output_tail).await;

        let code = status.and_then(|s| s.code());
        #[cfg(unix)]
        let signal = status.and_then(|s| std::os::unix::process::ExitStatusExt::signal(&s));
        #[cfg(not(unix))]
        let signal: Option<i32> = None;
        let ok = !timed_out && code == Some(0);
        let summary = if timed_out {
            format!(
                "timed out after {} and was killed",
                flow_doctor_core::config::HumanDuration(plan.timeout)
            )
        } else if let Some(c) = code {
            match last_line(&stderr).or_else(|| last_line(&stdout)) {
                Some(line) if c != 0 => format!("exited with status {c}: {line}"),
                _ => format!("exited with status {c}"),
            }
        } else {
            format!("was killed by signal {}", signal.unwrap_or_default())
        };
        CommandResult {
            json: json!({
                "command": command,
                "exit_code": code,
                "signal": signal,
                "timed_out": timed_out,
                "duration_ms": duration_ms,
                "stdout_tail": stdout,
                "stderr_tail": stderr,
            }),
            ok,
            summary,
        }
    }
}

type Tail = Arc<Mutex<Vec<u8>>>;

/// Reads a stream to its end in a task, keeping only the last `max` bytes.
fn spawn_reader(
    mut stream: impl AsyncRead + Unpin + Send + 'static,
    max: usize,
) -> (Tail, tokio::task::JoinHandle<()>) {
    let kept: Tail = Arc::default();
    let sink = Arc::clone(&kept);
    let handle = tokio::spawn(async move {
        let mut buf = [0u8; 8192];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let mut kept = sink.lock().unwrap_or_else(|e| e.into_inner());
                    kept.extend_from_slice(&buf[..n]);
                    if kept.len() > 2 * max + buf.len() {
                        let cut = kept.len() - (max + 4);
                        kept.drain(..cut);
                    }
                }
            }
        }
    });
    (kept, handle)
}

/// Waits briefly for a reader to reach the end of its stream, then returns
/// what it kept.
async fn collect(reader: Option<(Tail, tokio::task::JoinHandle<()>)>, max: usize) -> String {
    let Some((kept, mut handle)) = reader else {
        return String::new();
    };
    if tokio::time::timeout(DRAIN_GRACE, &mut handle)
        .await
        .is_err()
    {
        handle.abort();
    }
    let bytes = kept.lock().unwrap_or_else(|e| e.into_inner());
    tail_text(&bytes, max)
}

/// Kills the process group led by `pid` (the shell and everything it started).
async fn kill_group(pid: Option<u32>) {
    #[cfg(unix)]
    if let Some(pgid) = pid.and_then(|p| i32::try_from(p).ok()) {
        // ESRCH (the group is already gone) is fine.
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pgid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    #[cfg(not(unix))]
    let _ = pid;
}
