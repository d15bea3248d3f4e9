//! The configuration schema: one struct per section of `flow-doctor.yaml` /
//! `flow-doctor.toml`.
//!
//! Every struct rejects unknown keys, so a typo is an error at start-up.
//! Every field's doc comment is the user reference for that key.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::types::{HumanDuration, Secret};
use crate::model::{Category, Severity};

/// The whole configuration.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Config {
    /// Name of the flow (pipeline, job) this process runs. Required.
    pub flow_name: String,
    /// Repository of the flow's code, `owner/name`; used by GitHub issues and
    /// fix PRs when their own `repo` is not set.
    #[serde(default)]
    pub repo: Option<String>,
    /// Where incidents are stored.
    #[serde(default)]
    pub store: StoreConfig,
    /// Deduplication.
    #[serde(default)]
    pub dedup: DedupConfig,
    /// Capture: levels, queue, log ring.
    #[serde(default)]
    pub capture: CaptureConfig,
    /// Notification channels, in delivery order. Empty means the console.
    #[serde(default)]
    pub notify: Vec<ChannelConfig>,
    /// Daily limits per flow and channel.
    #[serde(default)]
    pub rate_limits: RateLimitsConfig,
    /// Upstream flows whose recent failure makes this flow's failure a cascade.
    #[serde(default)]
    pub dependencies: Vec<String>,
    /// How long an upstream failure counts as the cause of a downstream one.
    #[serde(default = "default_cascade_window")]
    pub cascade_window: HumanDuration,
    /// Root-cause diagnosis.
    #[serde(default)]
    pub diagnosis: DiagnosisConfig,
    /// GitHub credentials shared by the issue notifier and `generate-fix`.
    #[serde(default)]
    pub github: GithubConfig,
    /// Remediation playbooks and the decision gate.
    #[serde(default)]
    pub remediation: RemediationConfig,
    /// Fix pull requests.
    #[serde(default)]
    pub auto_fix: AutoFixConfig,
    /// Extra secret patterns and key names.
    #[serde(default)]
    pub scrub: ScrubConfig,
}

fn default_cascade_window() -> HumanDuration {
    HumanDuration::from_mins(120)
}

impl Config {
    /// A configuration with every default and the given flow name.
    pub fn new(flow_name: impl Into<String>) -> Self {
        Self {
            flow_name: flow_name.into(),
            repo: None,
            store: StoreConfig::default(),
            dedup: DedupConfig::default(),
            capture: CaptureConfig::default(),
            notify: Vec::new(),
            rate_limits: RateLimitsConfig::default(),
            dependencies: Vec::new(),
            cascade_window: default_cascade_window(),
            diagnosis: DiagnosisConfig::default(),
            github: GithubConfig::default(),
            remediation: RemediationConfig::default(),
            auto_fix: AutoFixConfig::default(),
            scrub: ScrubConfig::default(),
        }
    }
}

/// `store:` section.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct StoreConfig {
    /// `sqlite` (default) or `memory`.
    #[serde(default, rename = "type")]
    pub kind: StoreKind,
    /// SQLite file (default `./flow_doctor.db`).
    #[serde(default = "default_db_path")]
    pub path: PathBuf,
    /// How long a writer waits for another process's lock.
    #[serde(default = "default_busy_timeout")]
    pub busy_timeout: HumanDuration,
    /// Incidents quiet for this many days are pruned (`flow-doctor prune`,
    /// and once a day by the engine); 0 keeps everything forever.
    #[serde(default = "default_retention_days")]
    pub retention_days: u32,
}

/// Default `store.retention_days`.
pub const DEFAULT_RETENTION_DAYS: u32 = 90;

/// Largest accepted `store.retention_days` (100 years).
pub const MAX_RETENTION_DAYS: u32 = 36_500;

fn default_retention_days() -> u32 {
    DEFAULT_RETENTION_DAYS
}

impl StoreConfig {
    /// How long incidents are kept, or `None` when `retention_days` is 0
    /// (keep forever).
    pub fn retention(&self) -> Option<std::time::Duration> {
        (self.retention_days > 0)
            .then(|| std::time::Duration::from_secs(u64::from(self.retention_days) * 86_400))
    }
}

fn default_db_path() -> PathBuf {
    PathBuf::from("flow_doctor.db")
}

fn default_busy_timeout() -> HumanDuration {
    HumanDuration::from_secs(10)
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            kind: StoreKind::Sqlite,
            path: default_db_path(),
            busy_timeout: default_busy_timeout(),
            retention_days: default_retention_days(),
        }
    }
}

/// Store backends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// A SQLite file shared by every process on the host.
    #[default]
    Sqlite,
    /// In memory; lost at exit.
    Memory,
}

/// `dedup:` section.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct DedupConfig {
    /// A repeat of an incident within this window is counted, not re-notified.
    #[serde(default = "default_cooldown")]
    pub cooldown: HumanDuration,
}

fn default_cooldown() -> HumanDuration {
    HumanDuration::from_mins(60)
}

impl Default for DedupConfig {
    fn default() -> Self {
        Self {
            cooldown: default_cooldown(),
        }
    }
}

/// `capture:` section.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct CaptureConfig {
    /// Log/tracing events at or above this severity become reports.
    #[serde(default = "default_min_level")]
    pub min_level: Severity,
    /// Events at or above this severity (and below `min_level`) are kept in
    /// the log ring and attached to the next report.
    #[serde(default = "default_ring_level")]
    pub ring_level: Severity,
    /// How many recent log lines the ring keeps.
    #[serde(default = "default_ring_size")]
    pub ring_size: usize,
    /// Capacity of the queue between capture and the background worker; a
    /// full queue drops (and counts) instead of blocking.
    #[serde(default = "default_queue_capacity")]
    pub queue_capacity: usize,
    /// Whether `notify_success` pings are sent (to channels that opt in).
    #[serde(default)]
    pub success_pings: bool,
}

fn default_min_level() -> Severity {
    Severity::Warning
}
fn default_ring_level() -> Severity {
    Severity::Info
}
fn default_ring_size() -> usize {
    100
}
fn default_queue_capacity() -> usize {
    65_536
}

impl Default for CaptureConfig {
    fn default() -> Self {
        Self {
            min_level: default_min_level(),
            ring_level: default_ring_level(),
            ring_size: default_ring_size(),
            queue_capacity: default_queue_capacity(),
            success_pings: false,
        }
    }
}

/// Routing keys every channel has.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RouteConfig {
    /// Severities delivered (default: critical, error).
    #[serde(default)]
    pub notify_on: Option<Vec<Severity>>,
    /// Diagnosis categories delivered (default: all).
    #[serde(default)]
    pub notify_on_category: Option<Vec<Category>>,
    /// Whether this channel receives success pings.
    #[serde(default)]
    pub notify_success: bool,
    /// Whether this channel receives the digest (default: yes).
    #[serde(default)]
    pub digest: Option<bool>,
    /// The channel's name in decisions, actions, rate limits and the digest
    /// (default: its type). Needed to tell two channels of one type apart.
    #[serde(default)]
    pub name: Option<String>,
}

/// One entry of `notify:`; `type` selects the channel. Its keys are the
/// channel's own plus the routing keys of [`RouteConfig`], in one mapping:
///
/// ```yaml
/// notify:
///   - type: slack
///     webhook_url: ${SLACK_WEBHOOK_URL}
///     notify_on: [critical, error]
/// ```
///
/// (Serde impls in `channel.rs`: they stream the mapping instead of
/// buffering it, so errors keep their line and unknown keys are rejected.)
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum ChannelConfig {
    /// Human-readable lines on stderr.
    Console(ConsoleConfig),
    /// One JSON document per line in a file.
    Jsonl(JsonlConfig),
    /// GitHub issues.
    Github(GithubChannelConfig),
    /// Slack incoming webhook.
    Slack(SlackConfig),
    /// SMTP email.
    Email(EmailConfig),
    /// Telegram Bot API.
    Telegram(TelegramConfig),
    /// Generic JSON webhook.
    Webhook(WebhookConfig),
}

impl ChannelConfig {
    /// The channel's type name (`"slack"`).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Console(_) => "console",
            Self::Jsonl(_) => "jsonl",
            Self::Github(_) => "github",
            Self::Slack(_) => "slack",
            Self::Email(_) => "email",
            Self::Telegram(_) => "telegram",
            Self::Webhook(_) => "webhook",
        }
    }

    /// The channel's routing keys.
    pub fn route(&self) -> &RouteConfig {
        match self {
            Self::Console(c) => &c.route,
            Self::Jsonl(c) => &c.route,
            Self::Github(c) => &c.route,
            Self::Slack(c) => &c.route,
            Self::Email(c) => &c.route,
            Self::Telegram(c) => &c.route,
            Self::Webhook(c) => &c.route,
        }
    }
}

/// `type: console`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
// Own keys only; `channel.rs` adds `type` and the routing keys.
#[serde(remote = "Self", deny_unknown_fields)]
#[non_exhaustive]
pub struct ConsoleConfig {
    /// Colour: `auto` (when stderr is a terminal), `always` or `never`.
    #[serde(default)]
    pub color: ColorChoice,
    /// Routing: `notify_on`, `notify_on_category`, `notify_success` and
    /// `digest`, written next to the channel's own keys.
    #[serde(skip)]
    pub route: RouteConfig,
}

/// When to colour console output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColorChoice {
    /// When the stream is a terminal and `NO_COLOR` is unset.
    #[default]
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// `type: jsonl`.
#[derive(Clone, Debug, Serialize, Deserialize)]
// Own keys only; `channel.rs` adds `type` and the routing keys.
#[serde(remote = "Self", deny_unknown_fields)]
#[non_exhaustive]
pub struct JsonlConfig {
    /// File to append to (default `./flow_doctor.jsonl`).
    #[serde(default = "default_jsonl_path")]
    pub path: PathBuf,
    /// Routing: `notify_on`, `notify_on_category`, `notify_success` and
    /// `digest`, written next to the channel's own keys.
    #[serde(skip)]
    pub route: RouteConfig,
}

fn default_jsonl_path() -> PathBuf {
    PathBuf::from("flow_doctor.jsonl")
}

/// `type: github`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
// Own keys only; `channel.rs` adds `type` and the routing keys.
#[serde(remote = "Self", deny_unknown_fields)]
#[non_exhaustive]
pub struct GithubChannelConfig {
    /// `owner/name`; defaults to the top-level `repo`.
    #[serde(default)]
    pub repo: Option<String>,
    /// Token; defaults to `github.token`, then `FLOW_DOCTOR_GITHUB_TOKEN`,
    /// `GITHUB_TOKEN`, `GH_TOKEN`.
    #[serde(default)]
    pub token: Option<Secret>,
    /// API base URL; defaults to `github.base_url`.
    #[serde(default)]
    pub base_url: Option<String>,
    /// Labels for new issues (default: `flow-doctor`).
    #[serde(default)]
    pub labels: Option<Vec<String>>,
    /// Apply `fix_label` after filing a diagnosed, auto-fixable issue.
    #[serde(default)]
    pub auto_fix_pr: bool,
    /// The label that triggers `generate-fix` (default `flow-doctor:fix`).
    #[serde(default)]
    pub fix_label: Option<String>,
    /// Users to assign new issues to.
    #[serde(default)]
    pub assignees: Vec<String>,
    /// Request timeout of each GitHub API call (default 30s).
    #[serde(default)]
    pub timeout: Option<HumanDuration>,
    /// Routing: `notify_on`, `notify_on_category`, `notify_success` and
    /// `digest`, written next to the channel's own keys.
    #[serde(skip)]
    pub route: RouteConfig,
}

/// `type: slack`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
// Own keys only; `channel.rs` adds `type` and the routing keys.
#[serde(remote = "Self", deny_unknown_fields)]
#[non_exhaustive]
pub struct SlackConfig {
    /// Incoming-webhook URL; defaults to `FLOW_DOCTOR_SLACK_WEBHOOK_URL`,
    /// `SLACK_WEBHOOK_URL`.
    #[serde(default)]
    pub webhook_url: Option<Secret>,
    /// Request timeout.
    #[serde(default)]
    pub timeout: Option<HumanDuration>,
    /// Routing: `notify_on`, `notify_on_category`, `notify_success` and
    /// `digest`, written next to the channel's own keys.
    #[serde(skip)]
    pub route: RouteConfig,
}

/// `type: email`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
// Own keys only; `channel.rs` adds `type` and the routing keys.
#[serde(remote = "Self", deny_unknown_fields)]
#[non_exhaustive]
pub struct EmailConfig {
    /// SMTP server host.
    pub smtp_host: String,
    /// SMTP port (default: 587 for starttls, 465 for tls, 25 for none).
    #[serde(default)]
    pub smtp_port: Option<u16>,
    /// `starttls` (default), `tls` (implicit) or `none` (local relays only).
    #[serde(default)]
    pub security: SmtpSecurity,
    /// A PEM file of CA certificates trusted for the server's certificate,
    /// in addition to the public roots (a relay with an internal CA).
    #[serde(default)]
    pub tls_ca_file: Option<std::path::PathBuf>,
    /// SMTP user, when the server needs authentication.
    #[serde(default)]
    pub username: Option<String>,
    /// SMTP password; defaults to `FLOW_DOCTOR_SMTP_PASSWORD`, `SMTP_PASSWORD`.
    #[serde(default)]
    pub password: Option<Secret>,
    /// Sender address.
    pub from: String,
    /// Recipient addresses.
    pub to: Vec<String>,
    /// Subject prefix (default `[flow-doctor]`).
    #[serde(default)]
    pub subject_prefix: Option<String>,
    /// Connection timeout.
    #[serde(default)]
    pub timeout: Option<HumanDuration>,
    /// Routing: `notify_on`, `notify_on_category`, `notify_success` and
    /// `digest`, written next to the channel's own keys.
    #[serde(skip)]
    pub route: RouteConfig,
}

/// SMTP transport security.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (required).
    #[default]
    Starttls,
    /// TLS from the first byte.
    Tls,
    /// No encryption; only for a relay on the same host or network.
    None,
}

/// `type: telegram`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
// Own keys only; `channel.rs` adds `type` and the routing keys.
#[serde(remote = "Self", deny_unknown_fields)]
#[non_exhaustive]
pub struct TelegramConfig {
    /// Bot token; defaults to `FLOW_DOCTOR_TELEGRAM_BOT_TOKEN`, `TELEGRAM_BOT_TOKEN`.
    #[serde(default)]
    pub bot_token: Option<Secret>,
    /// Chat id (number or `@channelname`).
    pub chat_id: String,
    /// Forum topic id.
    #[serde(default)]
    pub thread_id: Option<i64>,
    /// API base URL (default `https://api.telegram.org`).
    #[serde(default)]
    pub base_url: Option<String>,
    /// Request timeout (default 30s).
    #[serde(default)]
    pub timeout: Option<HumanDuration>,
    /// Routing: `notify_on`, `notify_on_category`, `notify_success` and
    /// `digest`, written next to the channel's own keys.
    #[serde(skip)]
    pub route: RouteConfig,
}

/// `type: webhook`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
// Own keys only; `channel.rs` adds `type` and the routing keys.
#[serde(remote = "Self", deny_unknown_fields)]
#[non_exhaustive]
pub struct WebhookConfig {
    /// URL to POST to.
    pub url: Secret,
    /// HMAC-SHA256 key for the `X-Flow-Doctor-Signature` header; defaults to
    /// `FLOW_DOCTOR_WEBHOOK_SECRET`.
    #[serde(default)]
    pub secret: Option<Secret>,
    /// Extra request headers.
    #[serde(default)]
    pub headers: BTreeMap<String, Secret>,
    /// Request timeout.
    #[serde(default)]
    pub timeout: Option<HumanDuration>,
    /// Routing: `notify_on`, `notify_on_category`, `notify_success` and
    /// `digest`, written next to the channel's own keys.
    #[serde(skip)]
    pub route: RouteConfig,
}

/// `rate_limits:` section. Limits count per flow, per channel, per UTC day.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RateLimitsConfig {
    /// GitHub issues filed or commented per day.
    #[serde(default = "default_max_issues")]
    pub max_issues_per_day: u64,
    /// Messages per day on every other channel (Slack, email, Telegram,
    /// webhook). Console and JSON-lines are never limited.
    #[serde(default = "default_max_alerts")]
    pub max_alerts_per_day: u64,
    /// Severities that are never held back by these limits (default: critical).
    #[serde(default = "default_exempt")]
    pub exempt: Vec<Severity>,
}

fn default_max_issues() -> u64 {
    5
}
fn default_max_alerts() -> u64 {
    50
}
fn default_exempt() -> Vec<Severity> {
    vec![Severity::Critical]
}

impl Default for RateLimitsConfig {
    fn default() -> Self {
        Self {
            max_issues_per_day: default_max_issues(),
            max_alerts_per_day: default_max_alerts(),
            exempt: default_exempt(),
        }
    }
}

/// `diagnosis:` section.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct DiagnosisConfig {
    /// Whether to diagnose at all (default: yes; the knowledge base is free).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// LLM provider after the knowledge base: `none` (default), `anthropic`
    /// or `openai` (any OpenAI-compatible endpoint).
    #[serde(default)]
    pub provider: LlmProvider,
    /// Model name.
    #[serde(default)]
    pub model: Option<String>,
    /// API key; defaults to `FLOW_DOCTOR_LLM_API_KEY`, then
    /// `ANTHROPIC_API_KEY` or `OPENAI_API_KEY` by provider.
    #[serde(default)]
    pub api_key: Option<Secret>,
    /// API base URL (default: the provider's public endpoint).
    #[serde(default)]
    pub base_url: Option<String>,
    /// Per-request timeout.
    #[serde(default = "default_llm_timeout")]
    pub timeout: HumanDuration,
    /// Retries on 429 and 5xx.
    #[serde(default = "default_llm_retries")]
    pub max_retries: u32,
    /// LLM diagnoses per UTC day, across processes sharing the store.
    #[serde(default = "default_max_diagnosed")]
    pub max_diagnosed_per_day: u64,
    /// LLM spend per UTC day, in US dollars.
    #[serde(default = "default_max_cost")]
    pub max_daily_cost_usd: f64,
    /// Price per million prompt tokens, in US dollars.
    #[serde(default)]
    pub input_price_per_mtok: Option<f64>,
    /// Price per million completion tokens, in US dollars.
    #[serde(default)]
    pub output_price_per_mtok: Option<f64>,
    /// After this many consecutive unavailable diagnoses, raise one CRITICAL report.
    #[serde(default = "default_failure_alert")]
    pub alert_after_failures: u32,
    /// Extra knowledge-base pattern files (YAML or TOML).
    #[serde(default)]
    pub patterns: Vec<PathBuf>,
    /// Prompt size budget, in (estimated) tokens.
    #[serde(default = "default_prompt_tokens")]
    pub max_prompt_tokens: usize,
    /// Source lines shown around each in-app frame.
    #[serde(default = "default_source_lines")]
    pub source_context_lines: usize,
    /// Repository checkout used for source excerpts and git context
    /// (default: the current directory).
    #[serde(default)]
    pub repo_path: Option<PathBuf>,
    /// Ask OpenAI-compatible servers for a JSON object
    /// (`response_format: {"type": "json_object"}`) when a JSON answer is
    /// wanted (default: yes). Turn off for servers that reject the field.
    #[serde(default = "yes")]
    pub json_response_format: bool,
}

fn yes() -> bool {
    true
}
fn default_llm_timeout() -> HumanDuration {
    HumanDuration::from_secs(60)
}
fn default_llm_retries() -> u32 {
    2
}
fn default_max_diagnosed() -> u64 {
    3
}
fn default_max_cost() -> f64 {
    1.0
}
fn default_failure_alert() -> u32 {
    3
}
fn default_prompt_tokens() -> usize {
    8000
}
fn default_source_lines() -> usize {
    5
}

impl Default for DiagnosisConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            provider: LlmProvider::None,
            model: None,
            api_key: None,
            base_url: None,
            timeout: default_llm_timeout(),
            max_retries: default_llm_retries(),
            max_diagnosed_per_day: default_max_diagnosed(),
            max_daily_cost_usd: default_max_cost(),
            input_price_per_mtok: None,
            output_price_per_mtok: None,
            alert_after_failures: default_failure_alert(),
            patterns: Vec::new(),
            max_prompt_tokens: default_prompt_tokens(),
            source_context_lines: default_source_lines(),
            repo_path: None,
            json_response_format: true,
        }
    }
}

/// LLM providers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LlmProvider {
    /// Knowledge base only.
    #[default]
    None,
    /// Anthropic Messages API.
    Anthropic,
    /// OpenAI-compatible chat completions (OpenAI, OpenRouter, vLLM, Ollama).
    Openai,
}

/// `github:` section.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct GithubConfig {
    /// Token; defaults to `FLOW_DOCTOR_GITHUB_TOKEN`, `GITHUB_TOKEN`, `GH_TOKEN`.
    #[serde(default)]
    pub token: Option<Secret>,
    /// API base URL (default `https://api.github.com`).
    #[serde(default)]
    pub base_url: Option<String>,
}

/// `remediation:` section.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RemediationConfig {
    /// Whether the decision gate runs at all.
    #[serde(default)]
    pub enabled: bool,
    /// Record what would run and run nothing (default: yes).
    #[serde(default = "yes")]
    pub dry_run: bool,
    /// Minimum confidence to auto-remediate.
    #[serde(default = "default_auto_threshold")]
    pub auto_remediate_threshold: f64,
    /// Minimum confidence to route to a fix PR.
    #[serde(default = "default_fix_threshold")]
    pub fix_pr_threshold: f64,
    /// Remediations per UTC day, across all failures.
    #[serde(default = "default_attempts_per_day")]
    pub max_attempts_per_day: u64,
    /// Remediations per failure signature per UTC day.
    #[serde(default = "default_attempts_per_failure")]
    pub max_attempts_per_failure: u64,
    /// Flows never remediated automatically.
    #[serde(default)]
    pub deny_flows: Vec<String>,
    /// Repositories never remediated automatically.
    #[serde(default)]
    pub deny_repos: Vec<String>,
    /// Time windows in which nothing runs automatically.
    #[serde(default)]
    pub lockouts: Vec<LockoutConfig>,
    /// Playbook files (YAML or TOML), loaded in order after `playbooks`.
    #[serde(default)]
    pub playbook_files: Vec<PathBuf>,
    /// Inline playbooks, first match wins. Each entry is a playbook pattern
    /// as documented in `flow-doctor-remediation`.
    #[serde(default)]
    pub playbooks: Vec<serde_json::Value>,
    /// AWS client settings for SSM and Step Functions actions.
    #[serde(default)]
    pub aws: AwsConfig,
}

fn default_auto_threshold() -> f64 {
    0.9
}
fn default_fix_threshold() -> f64 {
    0.85
}
fn default_attempts_per_day() -> u64 {
    10
}
fn default_attempts_per_failure() -> u64 {
    2
}

impl Default for RemediationConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            dry_run: true,
            auto_remediate_threshold: default_auto_threshold(),
            fix_pr_threshold: default_fix_threshold(),
            max_attempts_per_day: default_attempts_per_day(),
            max_attempts_per_failure: default_attempts_per_failure(),
            deny_flows: Vec::new(),
            deny_repos: Vec::new(),
            lockouts: Vec::new(),
            playbook_files: Vec::new(),
            playbooks: Vec::new(),
            aws: AwsConfig::default(),
        }
    }
}

/// A lockout window: no automatic remediation on these days between
/// `start` and `end` in `timezone`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct LockoutConfig {
    /// Name, shown in decisions (`"market hours"`).
    #[serde(default)]
    pub name: Option<String>,
    /// Days (`mon`..`sun`); empty means every day.
    #[serde(default)]
    pub days: Vec<String>,
    /// Start, `HH:MM`.
    pub start: String,
    /// End, `HH:MM`.
    pub end: String,
    /// IANA time zone (default `UTC`).
    #[serde(default)]
    pub timezone: Option<String>,
}

/// AWS client settings.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AwsConfig {
    /// Region (default: the standard AWS chain).
    #[serde(default)]
    pub region: Option<String>,
    /// Endpoint override (e.g. a local emulator).
    #[serde(default)]
    pub endpoint_url: Option<String>,
    /// Named profile.
    #[serde(default)]
    pub profile: Option<String>,
}

/// `auto_fix:` section.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AutoFixConfig {
    /// Whether `generate-fix` may run.
    #[serde(default)]
    pub enabled: bool,
    /// Minimum diagnosis confidence.
    #[serde(default = "default_fix_confidence")]
    pub confidence_threshold: f64,
    /// Test command run in the worktree (through `sh -c`).
    #[serde(default)]
    pub test_command: Option<String>,
    /// Timeout of the test command.
    #[serde(default = "default_test_timeout")]
    pub test_timeout: HumanDuration,
    /// Largest accepted diff, in changed lines.
    #[serde(default = "default_max_diff_lines")]
    pub max_diff_lines: usize,
    /// Branch PRs target (default: the repository's default branch).
    #[serde(default)]
    pub base_branch: Option<String>,
    /// Labels put on fix PRs.
    #[serde(default)]
    pub pr_labels: Vec<String>,
    /// Which paths a fix may touch.
    #[serde(default)]
    pub scope: ScopeConfig,
    /// LLM fix generations per UTC day, across processes sharing the store.
    #[serde(default = "default_max_fixes")]
    pub max_fixes_per_day: u64,
    /// LLM spend on fixes per UTC day, in US dollars.
    #[serde(default = "default_max_fix_cost")]
    pub max_daily_cost_usd: f64,
}

fn default_fix_confidence() -> f64 {
    0.9
}
fn default_test_timeout() -> HumanDuration {
    HumanDuration::from_mins(10)
}
fn default_max_diff_lines() -> usize {
    400
}
fn default_max_fixes() -> u64 {
    5
}
fn default_max_fix_cost() -> f64 {
    2.0
}

impl Default for AutoFixConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            confidence_threshold: default_fix_confidence(),
            test_command: None,
            test_timeout: default_test_timeout(),
            max_diff_lines: default_max_diff_lines(),
            base_branch: None,
            pr_labels: Vec::new(),
            scope: ScopeConfig::default(),
            max_fixes_per_day: default_max_fixes(),
            max_daily_cost_usd: default_max_fix_cost(),
        }
    }
}

/// `auto_fix.scope:` allow and deny lists (globs or directory prefixes).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ScopeConfig {
    /// A path must match one of these (default: everything).
    #[serde(default = "default_allow")]
    pub allow: Vec<String>,
    /// A path must match none of these.
    #[serde(default = "default_deny")]
    pub deny: Vec<String>,
}

fn default_allow() -> Vec<String> {
    vec!["**".into()]
}
fn default_deny() -> Vec<String> {
    vec![
        ".github/**".into(),
        ".git/**".into(),
        "**/.env".into(),
        "**/*.pem".into(),
        "**/*.key".into(),
        "flow-doctor.yaml".into(),
        "flow-doctor.toml".into(),
    ]
}

impl Default for ScopeConfig {
    fn default() -> Self {
        Self {
            allow: default_allow(),
            deny: default_deny(),
        }
    }
}

/// `scrub:` section.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ScrubConfig {
    /// Extra regular expressions whose matches are replaced.
    #[serde(default)]
    pub patterns: Vec<ScrubPatternConfig>,
    /// Extra key names whose values are always secret (case-insensitive
    /// substrings, e.g. `session`).
    #[serde(default)]
    pub keys: Vec<String>,
}

/// One user scrub pattern.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ScrubPatternConfig {
    /// Name, shown in the replacement (`[REDACTED:name]`).
    pub name: String,
    /// Regular expression.
    pub regex: String,
}
