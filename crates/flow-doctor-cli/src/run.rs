//! `flow-doctor run [--flow NAME] [--config PATH] [--timeout DUR] -- CMD [ARGS...]`:
//! runs any command, streams its output through, and reports a non-zero
//! exit, a signal or a timeout with the traceback parsed from its stderr.
//! Exits with the child's code (128 + signal number for signals).

use std::collections::VecDeque;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;
use flow_doctor::config::HumanDuration;
use flow_doctor::{ExitInfo, Outcome, Severity};
use tokio::io::AsyncReadExt as _;

use crate::app;

/// Arguments of `flow-doctor run`.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Flow name (default: `flow_name` from the configuration, else the command's name).
    #[arg(long)]
    flow: Option<String>,
    /// Configuration file.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Kill the command after this long (`90s`, `30m`, `2h`).
    #[arg(long, value_parser = HumanDuration::parse)]
    timeout: Option<HumanDuration>,
    /// Severity of the report when the command fails.
    #[arg(long, default_value = "error", value_parser = parse_severity)]
    severity: Severity,
    /// Bytes of stderr kept for the report.
    #[arg(long, default_value_t = 64 * 1024)]
    tail_bytes: usize,
    /// How long to wait for the report to be stored and delivered.
    #[arg(long, default_value = "60s", value_parser = HumanDuration::parse)]
    report_timeout: HumanDuration,
    /// The command and its arguments.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

pub(crate) fn parse_severity(s: &str) -> Result<Severity, String> {
    s.parse()
}

/// What the child did.
struct ChildResult {
    exit: ExitInfo,
    stderr_tail: String,
}

pub(crate) fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let flow_from_cmd = std::path::Path::new(&args.command[0])
        .file_name()
        .and_then(|n| app::flow_name_from_command(&n.to_string_lossy()));
    let mut cfg = app::load_config(args.config.as_deref(), args.flow.as_deref())?;
    if args.flow.is_none()
        && cfg.flow_name == "default"
        && let Some(name) = flow_from_cmd
    {
        cfg.flow_name = name;
    }
    let fd = app::build_doctor(&cfg)?;
    let rt = app::runtime()?;
    let result = rt.block_on(run_child(&args))?;
    let code = exit_code(&result.exit);
    let failed = code != 0;
    let handle = if failed {
        let mut exit = result.exit;
        exit.command = fd.scrubber().scrub(&exit.command).into_owned();
        let mut report = flow_doctor::Report::new(
            fd.flow(),
            args.severity,
            flow_doctor::ReportKind::ProcessExit,
            String::new(),
        );
        if !result.stderr_tail.trim().is_empty() {
            report.traceback = Some(result.stderr_tail);
        }
        report.exit = Some(exit);
        fd.submit(report)
    } else {
        fd.notify_success(format!("`{}` succeeded", shell_join(&args.command)))
    };
    let outcome = handle.wait(args.report_timeout.get());
    fd.flush(args.report_timeout.get());
    if failed {
        summarize(outcome.as_ref());
    }
    Ok(ExitCode::from(code))
}

fn summarize(outcome: Option<&Outcome>) {
    let mut err = std::io::stderr().lock();
    let _ = match outcome {
        Some(o) => writeln!(
            err,
            "flow-doctor: incident {} [{}] {}",
            o.incident_id.short(),
            o.decision,
            o.reason
        ),
        None => writeln!(
            err,
            "flow-doctor: the report is still being processed; see `flow-doctor history`"
        ),
    };
}

/// The exit code to pass through: the child's, or 128 + signal.
fn exit_code(exit: &ExitInfo) -> u8 {
    if let Some(sig) = exit.signal {
        return u8::try_from(128 + sig).unwrap_or(255);
    }
    match exit.code {
        Some(c) => u8::try_from(c & 0xff).unwrap_or(1),
        None => 1,
    }
}

async fn run_child(args: &RunArgs) -> anyhow::Result<ChildResult> {
    let started = Instant::now();
    let command = shell_join(&args.command);
    let mut child = match tokio::process::Command::new(&args.command[0])
        .args(&args.command[1..])
        .stdin(Stdio::inherit())
        .stdout(Stdio::inherit())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
    {
        Ok(child) => child,
        Err(e) => {
            let code = if e.kind() == std::io::ErrorKind::NotFound {
                127
            } else {
                126
            };
            let message = format!("flow-doctor: cannot start `{}`: {e}", args.command[0]);
            eprintln!("{message}");
            return Ok(ChildResult {
                exit: ExitInfo {
                    command,
                    code: Some(code),
                    signal: None,
                    timed_out: false,
                    duration_ms: 0,
                },
                stderr_tail: message,
            });
        }
    };
    let mut stderr = child.stderr.take().context("no stderr pipe")?;
    let tail_bytes = args.tail_bytes.max(1024);
    let pump = tokio::spawn(async move {
        let mut tail: VecDeque<u8> = VecDeque::with_capacity(tail_bytes);
        let mut buf = [0u8; 8192];
        loop {
            match stderr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let chunk = &buf[..n];
                    let mut out = std::io::stderr().lock();
                    let _ = out.write_all(chunk);
                    let _ = out.flush();
                    drop(out);
                    tail.extend(chunk);
                    while tail.len() > tail_bytes {
                        tail.pop_front();
                    }
                }
            }
        }
        tail
    });

    let pid = child.id();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot listen for SIGTERM")?;
    let mut int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .context("cannot listen for SIGINT")?;
    let deadline = args.timeout.map(|t| tokio::time::Instant::now() + t.get());
    let mut timed_out = false;
    let status = loop {
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            status = child.wait() => break status.context("cannot wait for the command")?,
            _ = sleep, if !timed_out => {
                timed_out = true;
                eprintln!("flow-doctor: `{command}` exceeded its timeout; stopping it");
                terminate(pid, &mut child).await;
            }
            _ = term.recv() => forward(pid, nix::sys::signal::Signal::SIGTERM),
            // The terminal already sent SIGINT to the whole process group;
            // keep waiting so the child's exit is reported.
            _ = int.recv() => {}
        }
    };
    let tail = pump.await.unwrap_or_default();
    let tail: Vec<u8> = tail.into_iter().collect();
    let mut stderr_tail = String::from_utf8_lossy(&tail).into_owned();
    if tail.len() >= tail_bytes
        && let Some(nl) = stderr_tail.find('\n')
    {
        // Start at a line boundary.
        stderr_tail.drain(..=nl);
    }
    use std::os::unix::process::ExitStatusExt as _;
    Ok(ChildResult {
        exit: ExitInfo {
            command,
            code: status.code(),
            signal: status.signal(),
            timed_out,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        },
        stderr_tail,
    })
}

/// SIGTERM, then SIGKILL after a grace period.
async fn terminate(pid: Option<u32>, child: &mut tokio::process::Child) {
    forward(pid, nix::sys::signal::Signal::SIGTERM);
    if tokio::time::timeout(Duration::from_secs(5), child.wait())
        .await
        .is_err()
    {
        let _ = child.start_kill();
    }
}

fn forward(pid: Option<u32>, signal: nix::sys::signal::Signal) {
    if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal);
    }
}

/// Joins arguments for display, quoting those with spaces or quotes.
pub(crate) fn shell_join(args: &[String]) -> String {
    args.iter()
        .map(|a| {
            if a.is_empty()
                || a.chars()
                    .any(|c| c.is_whitespace() || "'\"$`\\".contains(c))
            {
                format!("'{}'", a.replace('\'', "'\\''"))
            } else {
                a.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
