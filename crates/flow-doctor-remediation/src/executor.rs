//! Executors: run a [`Plan`] and say how it ended.
//!
//! - [`LocalExecutor`]: `sh -c` on this host, with a timeout (the process
//!   group is killed when it expires) and the tail of stdout/stderr.
//! - `SsmExecutor` (feature `aws`): `SendCommand` with `AWS-RunShellScript`,
//!   then `GetCommandInvocation` until every instance is done or the timeout.
//! - `StepFunctionsExecutor` (feature `aws`): `StartExecution` or
//!   `RedriveExecution`, then `DescribeExecution` until the execution ends or
//!   the timeout; still running at the timeout is *pending* (with the
//!   execution ARN recorded), not failed.
//!
//! An executor never fails: errors (an AWS error code, a command that could
//! not start) are an [`Outcome`] with status failed.

use async_trait::async_trait;
use flow_doctor_core::ActionStatus;

use crate::plan::Plan;

mod local;
pub use local::{DEFAULT_OUTPUT_TAIL, LocalExecutor};

#[cfg(feature = "aws")]
mod sfn;
#[cfg(feature = "aws")]
mod ssm;
#[cfg(feature = "aws")]
pub use sfn::StepFunctionsExecutor;
#[cfg(feature = "aws")]
pub use ssm::SsmExecutor;

/// How an execution ended.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// Succeeded, failed, or pending (still running at the timeout).
    pub status: ActionStatus,
    /// For people: `"succeeded"`, `"exit status 3: <last stderr line>"`,
    /// `"failed: StateMachineDoesNotExist: ..."`.
    pub summary: String,
    /// Structured result (exit codes, output tails, command id, execution ARN).
    pub data: serde_json::Map<String, serde_json::Value>,
    /// Link to the result, when there is one.
    pub url: Option<String>,
}

impl Outcome {
    /// An outcome with status and summary and no data.
    pub fn new(status: ActionStatus, summary: impl Into<String>) -> Self {
        Self {
            status,
            summary: summary.into(),
            data: serde_json::Map::new(),
            url: None,
        }
    }

    /// Adds a data field.
    pub fn with(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.data.insert(key.to_string(), value.into());
        self
    }
}

/// Runs plans of one executor kind.
#[async_trait]
pub trait Executor: Send + Sync + 'static {
    /// Short, stable name (`"local"`, `"ssm"`, `"step_functions"`).
    fn name(&self) -> &str;

    /// Runs `plan` and waits (up to `plan.timeout`) for it to end.
    async fn execute(&self, plan: &Plan) -> Outcome;
}

/// `now + timeout`, saturating far in the future instead of overflowing.
pub(crate) fn deadline(timeout: std::time::Duration) -> std::time::Instant {
    let now = std::time::Instant::now();
    now.checked_add(timeout)
        .or_else(|| now.checked_add(crate::playbook::MAX_TIMEOUT))
        .unwrap_or(now)
}

/// The last `max` bytes of `bytes` as text (lossy UTF-8), prefixed with `…`
/// when cut.
///
/// The cut moves forward to the start of a line (or, in one long line, of
/// a word): a line cut in the middle could keep `…SSWORD=hunter2` without
/// the key name the scrubber recognises a secret by.
pub(crate) fn tail_text(bytes: &[u8], max: usize) -> String {
    if bytes.len() <= max {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    let cut = bytes.len() - max;
    let kept = &bytes[cut..];
    // `cut` starts a line when the byte before it ends one.
    let start = if bytes[cut - 1] == b'\n' {
        cut
    } else if let Some(i) = kept.iter().position(|&b| b == b'\n')
        && i + 1 < kept.len()
    {
        cut + i + 1
    } else if let Some(i) = kept.iter().position(u8::is_ascii_whitespace)
        && i + 1 < kept.len()
    {
        cut + i + 1
    } else {
        // One unbroken run: drop it whole rather than keep a piece of it.
        bytes.len()
    };
    format!("…{}", String::from_utf8_lossy(&bytes[start..]))
}

/// The last non-empty line of `text`, at most 200 characters.
pub(crate) fn last_line(text: &str) -> Option<String> {
    text.lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(|l| flow_doctor_core::model::truncate_chars(l, 200))
}

#[cfg(test)]
mod tail_tests {
    use super::tail_text;

    #[test]
    fn a_cut_tail_starts_at_a_line_or_word_never_inside_a_secret() {
        let out = b"connecting\nDB_PASSWORD=hunter2secret\nready\n";
        // The cut falls inside the second line: that line goes whole.
        let tail = tail_text(out, 20);
        assert_eq!(tail, "…ready\n");
        // A cut exactly at a line start keeps that line.
        assert_eq!(tail_text(out, 6), "…ready\n");
        // One long line: the cut moves to the next word.
        let line = b"export DB_PASSWORD=hunter2secret REGION=eu-west-1";
        assert_eq!(tail_text(line, 30), "…REGION=eu-west-1");
        // An unbroken run is dropped rather than kept in part.
        assert_eq!(tail_text(b"aGVsbG8gd29ybGQgaGVsbG8", 10), "…");
        // Short output is kept as it is, and UTF-8 stays whole.
        assert_eq!(tail_text(b"ok\n", 10), "ok\n");
        assert_eq!(tail_text("éé\nçà".as_bytes(), 5), "…çà");
    }
}
