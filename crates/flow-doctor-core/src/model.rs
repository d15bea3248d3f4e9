//! The data model: reports, diagnoses, decisions, actions, feedback, known
//! patterns and fix attempts.
//!
//! Every type serializes with stable `snake_case` JSON field names; enums
//! serialize as lowercase strings (`"critical"`, `"process_exit"`), except
//! [`Category`], which uses the upper-case names of the original
//! (`"TRANSIENT"`, `"CODE"`, ...). Stores persist these types and the CLI's
//! `--json` output prints them, so renaming a field is a breaking change.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A time-sortable identifier (UUID v7, hyphenated lowercase).
///
/// Two ids created later compare greater as strings, so ordering by id is
/// ordering by creation time.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Id(String);

impl Id {
    /// A fresh id for the current instant.
    pub fn new() -> Self {
        Self(uuid::Uuid::now_v7().hyphenated().to_string())
    }

    /// Wraps an existing id string (as read back from a store or the CLI).
    pub fn from_string(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 8 characters, for people.
    pub fn short(&self) -> &str {
        self.0.get(..8).unwrap_or(&self.0)
    }
}

impl Default for Id {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.0)
    }
}

/// Identifier of a [`Report`].
pub type ReportId = Id;

/// How bad a report is. Ordered: `Info < Warning < Error < Critical`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Informational (success pings, low-level events).
    Info,
    /// Something looks wrong but the flow carried on.
    Warning,
    /// The flow failed.
    Error,
    /// The flow failed and people must act now.
    Critical,
}

impl Severity {
    /// All severities, lowest first.
    pub const ALL: [Severity; 4] = [Self::Info, Self::Warning, Self::Error, Self::Critical];

    /// Lowercase name, as in configuration and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
            Self::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "info" | "information" => Ok(Self::Info),
            "warning" | "warn" => Ok(Self::Warning),
            "error" | "err" => Ok(Self::Error),
            "critical" | "crit" | "fatal" => Ok(Self::Critical),
            other => Err(format!(
                "unknown severity `{other}`; expected one of: info, warning, error, critical"
            )),
        }
    }
}

/// Where a report came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    /// A `std::error::Error` passed to `report()` or returned from a guard.
    Error,
    /// A `tracing` or `log` event at or above the capture level.
    LogEvent,
    /// A panic caught by the hook or a guard.
    Panic,
    /// A wrapped process that exited non-zero, was signalled or timed out.
    ProcessExit,
    /// A success ping; never diagnosed.
    Success,
    /// A text report (`flow-doctor report`, `report_message`).
    Message,
}

impl ReportKind {
    /// snake_case name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::LogEvent => "log_event",
            Self::Panic => "panic",
            Self::ProcessExit => "process_exit",
            Self::Success => "success",
            Self::Message => "message",
        }
    }
}

impl fmt::Display for ReportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ReportKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "error" => Self::Error,
            "log_event" => Self::LogEvent,
            "panic" => Self::Panic,
            "process_exit" => Self::ProcessExit,
            "success" => Self::Success,
            "message" => Self::Message,
            other => return Err(format!("unknown report kind `{other}`")),
        })
    }
}

/// One stack frame parsed from a traceback or a backtrace.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frame {
    /// Source file as printed (may be absolute).
    pub file: String,
    /// Function, method or symbol name.
    pub function: String,
    /// Line number, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// Module, package or class, when the format names it separately.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    /// Whether the frame belongs to the application (not the standard
    /// library, a runtime or a third-party package).
    #[serde(default = "default_true")]
    pub in_app: bool,
}

fn default_true() -> bool {
    true
}

/// One captured log line attached to a report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    /// When it was logged.
    pub at: DateTime<Utc>,
    /// Level name (`"INFO"`, `"WARN"`, ...).
    pub level: String,
    /// Logger or target.
    pub target: String,
    /// The rendered message, fields included.
    pub message: String,
}

/// Exit details of a wrapped process (`flow-doctor run`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitInfo {
    /// The command line, scrubbed.
    pub command: String,
    /// Exit code, when it exited normally.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i32>,
    /// Signal number, when it was killed by a signal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    /// Whether flow-doctor killed it for exceeding `--timeout`.
    #[serde(default)]
    pub timed_out: bool,
    /// Wall-clock duration in milliseconds.
    pub duration_ms: u64,
}

impl ExitInfo {
    /// One line for people: `` `cmd` exited with code 3 after 1.2s ``.
    pub fn describe(&self) -> String {
        let how = if self.timed_out {
            "timed out and was killed".to_string()
        } else if let Some(sig) = self.signal {
            format!("was killed by signal {sig}")
        } else if let Some(code) = self.code {
            format!("exited with code {code}")
        } else {
            "ended abnormally".to_string()
        };
        format!(
            "`{}` {how} after {:.1}s",
            truncate_chars(&self.command, 80),
            self.duration_ms as f64 / 1000.0
        )
    }
}

/// Which upstream failure a report cascaded from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CascadeSource {
    /// The upstream flow that failed.
    pub flow: String,
    /// The upstream report.
    pub report_id: ReportId,
    /// When the upstream failure happened.
    pub at: DateTime<Utc>,
    /// The upstream error, one line.
    pub summary: String,
}

/// A captured failure (or success ping) on its way through the pipeline.
///
/// Built by capture, then completed by the engine: scrubbed, given a
/// `signature`, checked for cascades and deduplicated. A stored report is an
/// *incident*: `dedup_count` counts every occurrence folded into it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Time-sortable id.
    pub id: ReportId,
    /// The flow (pipeline, job) that failed.
    pub flow: String,
    /// Stage within the flow, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    /// Run identifier, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// How bad it is.
    pub severity: Severity,
    /// Where it came from.
    pub kind: ReportKind,
    /// Error type or class (`KeyError`, `std::io::Error`, `java.io.IOException`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    /// The error message (first line of the failure).
    pub message: String,
    /// Messages of the `source()` chain / `Caused by:` chain, outermost first,
    /// not repeating `message`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_chain: Vec<String>,
    /// Parsed frames, innermost (where it failed) first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub frames: Vec<Frame>,
    /// Language the traceback was written in (`python`, `rust`, `jvm`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Raw traceback or backtrace text, scrubbed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceback: Option<String>,
    /// Recent log lines captured before the failure.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<LogLine>,
    /// Context key/values (ambient scope, per-call, event fields), scrubbed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub context: BTreeMap<String, String>,
    /// Exit details when the report came from a wrapped process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<ExitInfo>,
    /// Host name.
    pub host: String,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// Grouping key (hex); equal signatures within a flow are the same incident.
    pub signature: String,
    /// The normalized text the signature was computed from (error type and
    /// top in-app frames, or the normalized message), so people can see why
    /// two reports were grouped.
    #[serde(default)]
    pub fingerprint: String,
    /// A user-supplied fingerprint that replaces the computed signature input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_fingerprint: Option<String>,
    /// Occurrences folded into this incident, this one included.
    pub dedup_count: u64,
    /// First occurrence of this incident.
    pub first_seen: DateTime<Utc>,
    /// Latest occurrence of this incident.
    pub last_seen: DateTime<Utc>,
    /// The upstream failure this one cascaded from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cascade_source: Option<CascadeSource>,
    /// Why diagnosis did not happen or failed, when it did not produce one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnosis_error: Option<String>,
}

impl Report {
    /// A fresh report for `flow` with the given severity, kind and message;
    /// every other field empty, timestamps now, `dedup_count` 1.
    pub fn new(
        flow: impl Into<String>,
        severity: Severity,
        kind: ReportKind,
        message: impl Into<String>,
    ) -> Self {
        let now = Utc::now();
        Self {
            id: Id::new(),
            flow: flow.into(),
            stage: None,
            run_id: None,
            severity,
            kind,
            error_type: None,
            message: message.into(),
            source_chain: Vec::new(),
            frames: Vec::new(),
            language: None,
            traceback: None,
            logs: Vec::new(),
            context: BTreeMap::new(),
            exit: None,
            host: String::new(),
            occurred_at: now,
            signature: String::new(),
            fingerprint: String::new(),
            custom_fingerprint: None,
            dedup_count: 1,
            first_seen: now,
            last_seen: now,
            cascade_source: None,
            diagnosis_error: None,
        }
    }

    /// `ErrorType: message`, or just the message, on one line.
    pub fn headline(&self) -> String {
        let first = self.message.lines().next().unwrap_or("").trim();
        match &self.error_type {
            Some(t) if !t.is_empty() && !first.starts_with(t.as_str()) => format!("{t}: {first}"),
            _ => first.to_string(),
        }
    }

    /// A short title for notifications: `[flow] ErrorType: message`, at most
    /// 120 characters.
    pub fn title(&self) -> String {
        truncate_chars(&format!("[{}] {}", self.flow, self.headline()), 120)
    }
}

/// Truncates to at most `max` characters, ending with `…` when cut.
pub fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Root-cause category of a diagnosis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Category {
    /// Passes on retry: timeouts, 503s, throttling, a blip.
    Transient,
    /// The input data is wrong: schema drift, bad rows, empty input.
    Data,
    /// A bug in the flow's own code.
    Code,
    /// Configuration or credentials are wrong or missing.
    Config,
    /// A third-party service failed.
    External,
    /// The machine or platform: memory, disk, network, permissions of the host.
    Infra,
}

impl Category {
    /// All categories.
    pub const ALL: [Category; 6] = [
        Self::Transient,
        Self::Data,
        Self::Code,
        Self::Config,
        Self::External,
        Self::Infra,
    ];

    /// Upper-case name, as in JSON and configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Transient => "TRANSIENT",
            Self::Data => "DATA",
            Self::Code => "CODE",
            Self::Config => "CONFIG",
            Self::External => "EXTERNAL",
            Self::Infra => "INFRA",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Category {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "TRANSIENT" => Ok(Self::Transient),
            "DATA" => Ok(Self::Data),
            "CODE" => Ok(Self::Code),
            "CONFIG" => Ok(Self::Config),
            "EXTERNAL" => Ok(Self::External),
            "INFRA" => Ok(Self::Infra),
            other => Err(format!(
                "unknown category `{other}`; expected one of: TRANSIENT, DATA, CODE, CONFIG, EXTERNAL, INFRA"
            )),
        }
    }
}

/// Who produced a diagnosis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiagnosisSource {
    /// The offline knowledge base (built-in library, user patterns, learned signatures).
    KnowledgeBase,
    /// A large language model.
    Llm,
    /// A person, through feedback.
    Human,
}

impl DiagnosisSource {
    /// snake_case name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::KnowledgeBase => "knowledge_base",
            Self::Llm => "llm",
            Self::Human => "human",
        }
    }
}

impl fmt::Display for DiagnosisSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Token usage of one LLM call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    /// Prompt tokens.
    pub input: u64,
    /// Completion tokens.
    pub output: u64,
}

/// What went wrong, according to the knowledge base or an LLM.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Diagnosis {
    /// Root-cause category.
    pub category: Category,
    /// One or two sentences naming the root cause.
    pub root_cause: String,
    /// Confidence in `0.0..=1.0`.
    pub confidence: f64,
    /// Repository-relative files the fix would touch.
    #[serde(default)]
    pub affected_files: Vec<String>,
    /// What to do about it.
    #[serde(default)]
    pub remediation: String,
    /// Whether a code change can fix it without a human decision.
    #[serde(default)]
    pub auto_fixable: bool,
    /// Why the diagnoser thinks so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    /// Other explanations considered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alternative_hypotheses: Vec<String>,
    /// Who produced it.
    pub source: DiagnosisSource,
    /// Knowledge-base pattern name, when `source` is the knowledge base.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// Model name, when `source` is an LLM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Token usage, when `source` is an LLM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<TokenUsage>,
    /// Cost in US dollars, when `source` is an LLM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    /// When it was produced.
    pub created_at: DateTime<Utc>,
}

impl Diagnosis {
    /// A diagnosis with the given category, root cause and confidence; other
    /// fields empty, `source` the knowledge base.
    pub fn new(category: Category, root_cause: impl Into<String>, confidence: f64) -> Self {
        Self {
            category,
            root_cause: root_cause.into(),
            confidence: confidence.clamp(0.0, 1.0),
            affected_files: Vec::new(),
            remediation: String::new(),
            auto_fixable: false,
            reasoning: None,
            alternative_hypotheses: Vec::new(),
            source: DiagnosisSource::KnowledgeBase,
            pattern: None,
            model: None,
            tokens: None,
            cost_usd: None,
            created_at: Utc::now(),
        }
    }
}

/// Why a report was (or was not) sent to people. Exactly one per evaluated
/// report, so "why was it quiet?" always has an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    /// Delivered to at least one notifier.
    Fired,
    /// A repeat within the cooldown window; counted on the original incident.
    Deduped,
    /// Every eligible channel was over its daily limit; queued for the digest.
    RateLimited,
    /// No notifier accepts this severity.
    SeverityFiltered,
    /// No notifier accepts this diagnosis category.
    CategoryFiltered,
    /// An upstream flow failed first; tagged and not escalated separately.
    CascadeSuppressed,
    /// Every attempted delivery failed after retries; queued for the digest.
    DeliveryFailed,
    /// No notifier is configured.
    NoNotifiers,
    /// The capture queue was full; counted but not processed.
    Dropped,
}

impl DecisionKind {
    /// All kinds.
    pub const ALL: [DecisionKind; 9] = [
        Self::Fired,
        Self::Deduped,
        Self::RateLimited,
        Self::SeverityFiltered,
        Self::CategoryFiltered,
        Self::CascadeSuppressed,
        Self::DeliveryFailed,
        Self::NoNotifiers,
        Self::Dropped,
    ];

    /// snake_case name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fired => "fired",
            Self::Deduped => "deduped",
            Self::RateLimited => "rate_limited",
            Self::SeverityFiltered => "severity_filtered",
            Self::CategoryFiltered => "category_filtered",
            Self::CascadeSuppressed => "cascade_suppressed",
            Self::DeliveryFailed => "delivery_failed",
            Self::NoNotifiers => "no_notifiers",
            Self::Dropped => "dropped",
        }
    }
}

impl fmt::Display for DecisionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DecisionKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown decision `{s}`"))
    }
}

/// The routing decision recorded for one evaluated report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Decision id.
    pub id: Id,
    /// The evaluated occurrence (for a duplicate, the id it was given before
    /// it was folded into `incident_id`).
    pub report_id: ReportId,
    /// The stored incident the occurrence belongs to.
    pub incident_id: ReportId,
    /// Flow of the report.
    pub flow: String,
    /// Signature of the report.
    pub signature: String,
    /// What was decided.
    pub kind: DecisionKind,
    /// Why, in words.
    pub reason: String,
    /// Channels the report was delivered to (for `fired`) or held back from.
    #[serde(default)]
    pub channels: Vec<String>,
    /// When it was decided.
    pub at: DateTime<Utc>,
}

/// What kind of side effect an [`Action`] was.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// A delivery to a notifier.
    Notify,
    /// A remediation playbook action.
    Remediate,
    /// A fix pull request attempt.
    FixPr,
    /// A digest delivery.
    Digest,
    /// A diagnosis call (LLM), for the audit trail.
    Diagnose,
}

impl ActionKind {
    /// snake_case name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Notify => "notify",
            Self::Remediate => "remediate",
            Self::FixPr => "fix_pr",
            Self::Digest => "digest",
            Self::Diagnose => "diagnose",
        }
    }
}

impl FromStr for ActionKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "notify" => Self::Notify,
            "remediate" => Self::Remediate,
            "fix_pr" => Self::FixPr,
            "digest" => Self::Digest,
            "diagnose" => Self::Diagnose,
            other => return Err(format!("unknown action kind `{other}`")),
        })
    }
}

/// How an [`Action`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionStatus {
    /// It ran and worked.
    Succeeded,
    /// It ran and failed (after retries).
    Failed,
    /// It was not run (gate, filter, limit); `detail` says why.
    Skipped,
    /// Dry run: recorded what would have run.
    DryRun,
    /// Started and not finished yet (long-running remediation).
    Pending,
}

impl ActionStatus {
    /// snake_case name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
            Self::DryRun => "dry_run",
            Self::Pending => "pending",
        }
    }
}

impl FromStr for ActionStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "succeeded" => Self::Succeeded,
            "failed" => Self::Failed,
            "skipped" => Self::Skipped,
            "dry_run" => Self::DryRun,
            "pending" => Self::Pending,
            other => return Err(format!("unknown action status `{other}`")),
        })
    }
}

/// A side effect flow-doctor performed (or planned) for a report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Action {
    /// Action id.
    pub id: Id,
    /// The report it was for.
    pub report_id: ReportId,
    /// Flow of that report (for per-flow counting).
    pub flow: String,
    /// Signature of that report (for per-failure counting).
    pub signature: String,
    /// What kind of action.
    pub kind: ActionKind,
    /// Channel, executor or playbook name.
    pub target: String,
    /// How it ended.
    pub status: ActionStatus,
    /// What happened, in words (error chain, output tail, reason skipped).
    pub detail: String,
    /// Link to the result (issue, PR, execution), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Attempts made (1 when it worked the first time).
    pub attempts: u32,
    /// Structured extras (planned commands, command id, exit status).
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub data: serde_json::Value,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it finished.
    pub finished_at: DateTime<Utc>,
}

impl Action {
    /// A new action for `report` with the given kind, target and status,
    /// started and finished now.
    pub fn new(
        report: &Report,
        kind: ActionKind,
        target: impl Into<String>,
        status: ActionStatus,
        detail: impl Into<String>,
    ) -> Self {
        let now = Utc::now();
        Self {
            id: Id::new(),
            report_id: report.id.clone(),
            flow: report.flow.clone(),
            signature: report.signature.clone(),
            kind,
            target: target.into(),
            status,
            detail: detail.into(),
            url: None,
            attempts: 1,
            data: serde_json::Value::Null,
            started_at: now,
            finished_at: now,
        }
    }
}

/// A person's verdict on a diagnosis.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// The diagnosis was right.
    Confirmed,
    /// The diagnosis was wrong; this is the right one.
    Corrected {
        /// The right category.
        category: Category,
        /// The right root cause.
        root_cause: String,
    },
    /// The diagnosis was wrong; no better answer given.
    Rejected,
}

/// Feedback on a report's diagnosis.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Feedback {
    /// Feedback id.
    pub id: Id,
    /// The report the feedback is about.
    pub report_id: ReportId,
    /// Its signature (what a learned pattern will match).
    pub signature: String,
    /// The verdict.
    #[serde(flatten)]
    pub verdict: Verdict,
    /// Free-text note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Who gave it, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// Where a [`KnownPattern`] came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PatternOrigin {
    /// Compiled into flow-doctor.
    Builtin,
    /// A user's pattern file or configuration.
    User,
    /// Promoted from a confirmed or corrected diagnosis.
    Feedback,
}

impl PatternOrigin {
    /// snake_case name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Builtin => "builtin",
            Self::User => "user",
            Self::Feedback => "feedback",
        }
    }
}

impl FromStr for PatternOrigin {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "builtin" => Self::Builtin,
            "user" => Self::User,
            "feedback" => Self::Feedback,
            other => return Err(format!("unknown pattern origin `{other}`")),
        })
    }
}

/// A knowledge-base entry: a failure shape and what it means.
///
/// Matches on `signature` exactly when set; otherwise on `error_type` and
/// `message_regex` (both must match when both are set).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KnownPattern {
    /// Unique name (`"python-connection-refused"`, `"learned-3fa2c1"`).
    pub name: String,
    /// Exact signature this pattern is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// Error type to match (exact, case-sensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    /// Regular expression matched against the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_regex: Option<String>,
    /// Category it implies.
    pub category: Category,
    /// Root cause it implies.
    pub root_cause: String,
    /// What to do.
    #[serde(default)]
    pub remediation: String,
    /// Confidence of a match.
    pub confidence: f64,
    /// Where it came from.
    pub origin: PatternOrigin,
    /// How often it matched.
    #[serde(default)]
    pub hit_count: u64,
    /// When it last matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// How a fix attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FixStatus {
    /// A safety gate refused it before anything ran.
    Refused,
    /// A step failed (LLM, scope guard, apply, tests, push).
    Failed,
    /// A pull request was opened.
    Succeeded,
    /// Dry run: the diff and PR were shown, nothing pushed.
    DryRun,
}

impl FixStatus {
    /// snake_case name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Refused => "refused",
            Self::Failed => "failed",
            Self::Succeeded => "succeeded",
            Self::DryRun => "dry_run",
        }
    }
}

impl FromStr for FixStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "refused" => Self::Refused,
            "failed" => Self::Failed,
            "succeeded" => Self::Succeeded,
            "dry_run" => Self::DryRun,
            other => return Err(format!("unknown fix status `{other}`")),
        })
    }
}

/// One run of `flow-doctor generate-fix`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FixAttempt {
    /// Attempt id.
    pub id: Id,
    /// Signature of the failure being fixed.
    pub signature: String,
    /// Repository (`owner/name`).
    pub repo: String,
    /// Issue number.
    pub issue_number: u64,
    /// Report the issue was filed for, when the metadata named it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_id: Option<ReportId>,
    /// How it ended.
    pub status: FixStatus,
    /// The gate or step that decided (`"confidence"`, `"scope_guard"`, `"tests"`, `"pr"`).
    pub step: String,
    /// Why, in words.
    pub reason: String,
    /// Branch pushed, when one was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Pull request URL, when one was opened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pr_url: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// A report held back from a channel (rate limit, failed delivery,
/// suppression), waiting for the daily digest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DigestEntry {
    /// Entry id.
    pub id: Id,
    /// The report held back.
    pub report_id: ReportId,
    /// Its flow.
    pub flow: String,
    /// Its signature.
    pub signature: String,
    /// Its headline, for the summary.
    pub headline: String,
    /// Its severity.
    pub severity: Severity,
    /// The channel it was held back from; `None` when held back from all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Why it was held back.
    pub reason: DecisionKind,
    /// When it was queued.
    pub at: DateTime<Utc>,
    /// When a digest included it; `None` while pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digested_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_creation_time() {
        let a = Id::new();
        let b = Id::new();
        assert!(a < b, "{a} should sort before {b}");
        assert_eq!(a.short().len(), 8);
    }

    #[test]
    fn enums_have_stable_json_names() {
        assert_eq!(
            serde_json::to_string(&Severity::Critical).unwrap(),
            "\"critical\""
        );
        assert_eq!(
            serde_json::to_string(&Category::Infra).unwrap(),
            "\"INFRA\""
        );
        assert_eq!(
            serde_json::to_string(&DecisionKind::CascadeSuppressed).unwrap(),
            "\"cascade_suppressed\""
        );
        assert_eq!(
            serde_json::to_string(&ReportKind::ProcessExit).unwrap(),
            "\"process_exit\""
        );
        for k in DecisionKind::ALL {
            assert_eq!(k.as_str().parse::<DecisionKind>().unwrap(), k);
        }
        for c in Category::ALL {
            assert_eq!(c.as_str().to_lowercase().parse::<Category>().unwrap(), c);
        }
    }

    #[test]
    fn severity_orders_and_parses() {
        assert!(Severity::Info < Severity::Warning);
        assert!(Severity::Error < Severity::Critical);
        assert_eq!("WARN".parse::<Severity>().unwrap(), Severity::Warning);
        assert!(
            "loud"
                .parse::<Severity>()
                .unwrap_err()
                .contains("expected one of")
        );
    }

    #[test]
    fn report_round_trips_through_json() {
        let mut r = Report::new("etl", Severity::Error, ReportKind::Error, "boom");
        r.error_type = Some("KeyError".into());
        r.frames.push(Frame {
            file: "etl.py".into(),
            function: "load".into(),
            line: Some(3),
            module: None,
            in_app: true,
        });
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.contains("\"dedup_count\":1"));
        let back: Report = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r);
        assert_eq!(r.headline(), "KeyError: boom");
        assert_eq!(r.title(), "[etl] KeyError: boom");
    }

    #[test]
    fn feedback_verdict_is_flattened() {
        let f = Feedback {
            id: Id::new(),
            report_id: Id::new(),
            signature: "abc".into(),
            verdict: Verdict::Corrected {
                category: Category::Data,
                root_cause: "bad input".into(),
            },
            note: None,
            author: None,
            at: Utc::now(),
        };
        let v = serde_json::to_value(&f).unwrap();
        assert_eq!(v["verdict"], "corrected");
        assert_eq!(v["category"], "DATA");
    }

    #[test]
    fn truncation_counts_characters() {
        assert_eq!(truncate_chars("héllo", 10), "héllo");
        assert_eq!(truncate_chars("héllo wörld", 6), "héllo…");
    }
}
