//! `flow-doctor run [--flow NAME] [--config PATH] [--timeout DUR] -- CMD [ARGS...]`:
//! runs any command, streams its output through, and reports a non-zero
//! exit, a signal or a timeout with the traceback parsed from its stderr.
//! Exits with the child's code (128 + signal number for signals; 124 for a
//! command that exited 0 after its timeout stopped it).
//!
//! Unattended (stdin not a terminal) the command runs in a process group
//! of its own: a timeout, SIGTERM, SIGINT or SIGHUP reaches everything it
//! started. On a terminal it stays in the foreground group (the terminal's
//! own signals reach it). Output a background process keeps writing after
//! the command exited is read for two more seconds, then no longer.

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
    /// The command and its arguments (any bytes: passed on as given, shown
    /// lossily).
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_parser = clap::value_parser!(std::ffi::OsString)
    )]
    command: Vec<std::ffi::OsString>,
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
    let mut code = exit_code(&result.exit);
    // A command stopped at its timeout failed, whatever it exited with;
    // one that still exited 0 exits 124, as `timeout(1)` does.
    if result.exit.timed_out && code == 0 {
        code = 124;
    }
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
        fd.notify_success(format!("`{}` succeeded", shell_join(&shown(&args.command))))
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

/// How long the output is still read after the command exited: a
/// background process it left holding stderr must not hold `run` up.
const DRAIN_AFTER_EXIT: Duration = Duration::from_secs(2);

/// What the stderr pump keeps: the last bytes, and whether more came.
#[derive(Default)]
struct Tail {
    bytes: VecDeque<u8>,
    truncated: bool,
}

async fn run_child(args: &RunArgs) -> anyhow::Result<ChildResult> {
    use std::io::IsTerminal as _;

    let started = Instant::now();
    let command = shell_join(&shown(&args.command));
    // Unattended (stdin not a terminal: cron, CI, a pipeline) the command
    // gets a process group of its own, so a timeout or a forwarded signal
    // reaches everything it started. On a terminal it stays in ours, in
    // the foreground: it can read the terminal, and the terminal's Ctrl-C
    // reaches it directly.
    let own_group = !std::io::stdin().is_terminal();
    let mut child = match spawn(&args.command, own_group) {
        Ok(child) => child,
        Err(e) => {
            let code = if e.kind() == std::io::ErrorKind::NotFound {
                127
            } else {
                126
            };
            let message = format!(
                "flow-doctor: cannot start `{}`: {e}",
                args.command[0].to_string_lossy()
            );
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
    let tail = std::sync::Arc::new(std::sync::Mutex::new(Tail::default()));
    let mut pump = {
        let tail = tail.clone();
        tokio::spawn(async move {
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
                        let mut t = tail.lock().unwrap_or_else(|e| e.into_inner());
                        t.bytes.extend(chunk);
                        while t.bytes.len() > tail_bytes {
                            t.bytes.pop_front();
                            t.truncated = true;
                        }
                    }
                }
            }
        })
    };

    let target = Target {
        pid: child.id().and_then(|p| i32::try_from(p).ok()),
        own_group,
    };
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    let mut hup = signal(SignalKind::hangup()).context("cannot listen for SIGHUP")?;
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
                terminate(target, &mut child).await;
            }
            _ = term.recv() => target.forward(nix::sys::signal::Signal::SIGTERM),
            // On a terminal, the terminal sent SIGINT or SIGHUP to the whole
            // foreground group, the command included: keep waiting so its
            // exit is reported. Otherwise the signal was meant for the job.
            _ = int.recv() => if own_group {
                target.forward(nix::sys::signal::Signal::SIGINT);
            },
            _ = hup.recv() => if own_group {
                target.forward(nix::sys::signal::Signal::SIGHUP);
            },
        }
    };
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    if tokio::time::timeout(DRAIN_AFTER_EXIT, &mut pump)
        .await
        .is_err()
    {
        // Something the command started still holds stderr open.
        pump.abort();
    }
    let (bytes, truncated) = {
        let t = tail.lock().unwrap_or_else(|e| e.into_inner());
        (t.bytes.iter().copied().collect::<Vec<u8>>(), t.truncated)
    };
    let mut stderr_tail = String::from_utf8_lossy(&bytes).into_owned();
    if truncated
        && let Some(nl) = stderr_tail.find('\n')
        && nl + 1 < stderr_tail.len()
    {
        // Start at a line boundary, unless that would leave nothing.
        stderr_tail.drain(..=nl);
    }
    use std::os::unix::process::ExitStatusExt as _;
    Ok(ChildResult {
        exit: ExitInfo {
            command,
            code: status.code(),
            signal: status.signal(),
            timed_out,
            duration_ms,
        },
        stderr_tail,
    })
}

/// Starts the command. A file the kernel cannot execute (a script without
/// a `#!` line) is run by `/bin/sh`, as a shell or `execvp` would.
fn spawn(argv: &[std::ffi::OsString], own_group: bool) -> std::io::Result<tokio::process::Child> {
    let build = |program: &std::ffi::OsStr, args: &[std::ffi::OsString]| {
        let mut cmd = tokio::process::Command::new(program);
        cmd.args(args)
            .stdin(Stdio::inherit())
            .stdout(Stdio::inherit())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if own_group {
            cmd.process_group(0);
        }
        cmd
    };
    match build(&argv[0], &argv[1..]).spawn() {
        Err(e) if e.raw_os_error() == Some(nix::errno::Errno::ENOEXEC as i32) => {
            build(std::ffi::OsStr::new("/bin/sh"), argv).spawn()
        }
        other => other,
    }
}

/// Where signals for the command go: its process group when it has its
/// own, else the command alone.
#[derive(Clone, Copy)]
struct Target {
    pid: Option<i32>,
    own_group: bool,
}

impl Target {
    fn forward(self, signal: nix::sys::signal::Signal) {
        let Some(pid) = self.pid.map(nix::unistd::Pid::from_raw) else {
            return;
        };
        let _ = if self.own_group {
            nix::sys::signal::killpg(pid, signal)
        } else {
            nix::sys::signal::kill(pid, signal)
        };
    }
}

/// SIGTERM, then SIGKILL after a grace period (to the whole group when the
/// command has its own).
async fn terminate(target: Target, child: &mut tokio::process::Child) {
    target.forward(nix::sys::signal::Signal::SIGTERM);
    if tokio::time::timeout(Duration::from_secs(5), child.wait())
        .await
        .is_err()
    {
        target.forward(nix::sys::signal::Signal::SIGKILL);
        let _ = child.start_kill();
    }
}

/// The arguments as text, for display and the report (bytes that are not
/// UTF-8 become `�`; the command itself gets them as they are).
fn shown(argv: &[std::ffi::OsString]) -> Vec<String> {
    argv.iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
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
