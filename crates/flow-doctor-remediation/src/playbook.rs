//! Playbooks: which failures a remediation applies to, and what it runs.
//!
//! A [`Playbook`] pairs a *pattern* (category, message regex, error type,
//! flow filter; every criterion that is set must hold) with a
//! [`PlaybookAction`]. [`Playbooks`] keeps them in declared order and the
//! first match wins.
//!
//! Playbooks come from code ([`Playbook::builder`]), from
//! `remediation.playbooks` (inline entries) and from
//! `remediation.playbook_files` (YAML or TOML). Everything is checked at
//! load: an invalid regex, an unknown action type, executor or key, or a
//! missing target is an error naming the file, the entry, the playbook and
//! the reason.
//!
//! # File format
//! ```yaml
//! playbooks:
//!   - name: restart-app-server
//!     description: The app server stopped accepting connections
//!     category: INFRA                  # optional; TRANSIENT, DATA, CODE, CONFIG, EXTERNAL, INFRA
//!     message_regex: "Connection refused|ECONNREFUSED"   # optional; message or any `Caused by`
//!     error_type: ConnectionRefusedError                 # optional; exact or last path segment
//!     flow: "etl-*"                    # optional; glob or exact flow name
//!     action:
//!       type: restart_service          # restart_service, rerun_job, rerun_execution,
//!                                      # redrive_execution, run_command, clear_cache, scale, custom
//!       description: Restart app-server
//!       executor: ssm                  # local (default for commands), ssm, step_functions
//!       commands: ["systemctl restart app-server"]
//!       target:
//!         tags: [{key: Role, values: [app]}]   # or instance_ids: [i-0123...]
//!       timeout: 5m                    # default 5m
//!       safe_to_auto_run: true         # default false: never runs automatically
//! ```
//! TOML uses the same keys under `[[playbooks]]`. Step Functions actions use
//! `target.state_machine_arn` (with an optional JSON `input`) for
//! `rerun_execution`, and `target.execution_arn` or
//! `target.execution_arn_from_context` (a report context key such as
//! `execution_arn`) for `redrive_execution`.
//!
//! # In code
//! ```
//! use flow_doctor_core::Category;
//! use flow_doctor_remediation::{ActionType, Playbook, PlaybookAction};
//!
//! let playbook = Playbook::builder("restart-app")
//!     .category(Category::Infra)
//!     .message_regex("Connection refused")?
//!     .action(
//!         PlaybookAction::local(ActionType::RestartService, ["systemctl restart app"])
//!             .safe_to_auto_run(true),
//!     )
//!     .build()?;
//! assert_eq!(playbook.name(), "restart-app");
//! # Ok::<(), flow_doctor_core::Error>(())
//! ```

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use flow_doctor_core::config::{ConfigError, Format, HumanDuration, RemediationConfig};
use flow_doctor_core::{Category, Error, Report, Result};
use regex::Regex;
use serde::{Deserialize, Serialize};

/// Timeout of an action that does not set one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// Longest accepted action timeout (48 hours, SSM's own maximum).
pub const MAX_TIMEOUT: Duration = Duration::from_secs(48 * 3600);

/// The SSM document used when an action does not name one.
pub const DEFAULT_SSM_DOCUMENT: &str = "AWS-RunShellScript";

/// What a playbook action does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionType {
    /// Restart a service (commands).
    RestartService,
    /// Rerun a job (commands).
    RerunJob,
    /// Start a new Step Functions execution of a state machine.
    RerunExecution,
    /// Redrive a failed Step Functions execution from where it failed.
    RedriveExecution,
    /// Run a command.
    RunCommand,
    /// Clear a cache (commands).
    ClearCache,
    /// Scale something (commands).
    Scale,
    /// Anything else (commands).
    Custom,
}

impl ActionType {
    /// Every action type.
    pub const ALL: [ActionType; 8] = [
        Self::RestartService,
        Self::RerunJob,
        Self::RerunExecution,
        Self::RedriveExecution,
        Self::RunCommand,
        Self::ClearCache,
        Self::Scale,
        Self::Custom,
    ];

    /// snake_case name, as in playbook files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RestartService => "restart_service",
            Self::RerunJob => "rerun_job",
            Self::RerunExecution => "rerun_execution",
            Self::RedriveExecution => "redrive_execution",
            Self::RunCommand => "run_command",
            Self::ClearCache => "clear_cache",
            Self::Scale => "scale",
            Self::Custom => "custom",
        }
    }

    /// Whether the action runs shell commands (locally or through SSM);
    /// `false` for the two Step Functions actions.
    pub fn runs_commands(self) -> bool {
        !matches!(self, Self::RerunExecution | Self::RedriveExecution)
    }

    fn default_executor(self) -> ExecutorKind {
        if self.runs_commands() {
            ExecutorKind::Local
        } else {
            ExecutorKind::StepFunctions
        }
    }
}

impl fmt::Display for ActionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ActionType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s.trim())
            .ok_or_else(|| {
                format!(
                    "unknown action type `{s}`; expected one of: {}",
                    Self::ALL.map(Self::as_str).join(", ")
                )
            })
    }
}

/// Where an action runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecutorKind {
    /// `sh -c` on this host.
    Local,
    /// AWS Systems Manager `SendCommand` (feature `aws`).
    Ssm,
    /// AWS Step Functions (feature `aws`).
    StepFunctions,
}

impl ExecutorKind {
    /// Every executor.
    pub const ALL: [ExecutorKind; 3] = [Self::Local, Self::Ssm, Self::StepFunctions];

    /// snake_case name, as in playbook files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Ssm => "ssm",
            Self::StepFunctions => "step_functions",
        }
    }

    /// Whether it calls AWS (and so needs the `aws` feature).
    pub fn is_aws(self) -> bool {
        !matches!(self, Self::Local)
    }
}

impl fmt::Display for ExecutorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ExecutorKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s.trim())
            .ok_or_else(|| {
                format!(
                    "unknown executor `{s}`; expected one of: {}",
                    Self::ALL.map(Self::as_str).join(", ")
                )
            })
    }
}

/// An SSM tag target: instances whose tag `key` has one of `values`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SsmTag {
    /// Tag key (`Role`); `tag:` is added when missing.
    #[serde(alias = "Key")]
    pub key: String,
    /// Accepted values.
    #[serde(alias = "Values")]
    pub values: Vec<String>,
}

impl SsmTag {
    /// A tag target.
    pub fn new(
        key: impl Into<String>,
        values: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            key: key.into(),
            values: values.into_iter().map(Into::into).collect(),
        }
    }

    /// The key as SSM's `Targets` wants it (`tag:Role`). Keys that already
    /// name a target kind (`tag:`, `tag-key`, `resource-groups:`,
    /// `InstanceIds`) are kept.
    pub fn target_key(&self) -> String {
        let k = self.key.trim();
        if k.starts_with("tag:")
            || k == "tag-key"
            || k.starts_with("resource-groups:")
            || k == "InstanceIds"
        {
            k.to_string()
        } else {
            format!("tag:{k}")
        }
    }
}

/// Which Step Functions execution a redrive acts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExecutionRef {
    /// A fixed execution ARN.
    Arn(String),
    /// The value of this key in the report's context (e.g. `execution_arn`).
    Context(String),
}

/// What an action acts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// This host (the local executor).
    Host,
    /// SSM managed instances by id.
    Instances(Vec<String>),
    /// SSM managed instances by tag.
    Tags(Vec<SsmTag>),
    /// A Step Functions state machine (for `rerun_execution`).
    StateMachine(String),
    /// A Step Functions execution (for `redrive_execution`).
    Execution(ExecutionRef),
}

impl Target {
    /// SSM instances by id.
    pub fn instances(ids: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self::Instances(ids.into_iter().map(Into::into).collect())
    }

    /// SSM instances by tag.
    pub fn tags(tags: impl IntoIterator<Item = SsmTag>) -> Self {
        Self::Tags(tags.into_iter().collect())
    }
}

/// What a playbook runs, where, and whether it may run automatically.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct PlaybookAction {
    /// What it does.
    pub action_type: ActionType,
    /// For people (`"Restart app-server"`).
    pub description: String,
    /// Where it runs.
    pub executor: ExecutorKind,
    /// Shell commands, run in order (local and SSM executors).
    pub commands: Vec<String>,
    /// What it acts on.
    pub target: Target,
    /// Input JSON of a started execution (`rerun_execution`).
    pub input: Option<String>,
    /// SSM document (default [`DEFAULT_SSM_DOCUMENT`]).
    pub document: Option<String>,
    /// How long to wait for it to finish.
    pub timeout: Duration,
    /// Whether the decision gate may run it without a person. Default `false`.
    pub safe_to_auto_run: bool,
}

impl PlaybookAction {
    fn base(action_type: ActionType, executor: ExecutorKind, target: Target) -> Self {
        Self {
            action_type,
            description: String::new(),
            executor,
            commands: Vec::new(),
            target,
            input: None,
            document: None,
            timeout: DEFAULT_TIMEOUT,
            safe_to_auto_run: false,
        }
    }

    /// Shell commands run on this host through `sh -c`.
    pub fn local(
        action_type: ActionType,
        commands: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        let mut a = Self::base(action_type, ExecutorKind::Local, Target::Host);
        a.commands = commands.into_iter().map(Into::into).collect();
        a
    }

    /// Shell commands run through SSM `SendCommand` on `target`
    /// ([`Target::instances`] or [`Target::tags`]).
    pub fn ssm(
        action_type: ActionType,
        target: Target,
        commands: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        let mut a = Self::base(action_type, ExecutorKind::Ssm, target);
        a.commands = commands.into_iter().map(Into::into).collect();
        a
    }

    /// Starts a new execution of a Step Functions state machine.
    pub fn start_execution(state_machine_arn: impl Into<String>) -> Self {
        Self::base(
            ActionType::RerunExecution,
            ExecutorKind::StepFunctions,
            Target::StateMachine(state_machine_arn.into()),
        )
    }

    /// Redrives a failed Step Functions execution.
    pub fn redrive_execution(execution: ExecutionRef) -> Self {
        Self::base(
            ActionType::RedriveExecution,
            ExecutorKind::StepFunctions,
            Target::Execution(execution),
        )
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// Sets the timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Marks the action safe (or not) to run without a person.
    pub fn safe_to_auto_run(mut self, safe: bool) -> Self {
        self.safe_to_auto_run = safe;
        self
    }

    /// Sets the input JSON of a started execution.
    pub fn input(mut self, input: &serde_json::Value) -> Self {
        self.input = Some(match input {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        self
    }

    /// Sets the SSM document.
    pub fn document(mut self, document: impl Into<String>) -> Self {
        self.document = Some(document.into());
        self
    }

    /// Checks that the action can run: the executor suits the type, the
    /// target suits the executor, commands are present where needed.
    pub fn validate(&self) -> Result<(), String> {
        let t = self.action_type;
        check_executor(t, self.executor)?;
        if t.runs_commands() {
            if self.commands.is_empty() {
                return Err(format!("action type {t} needs at least one command"));
            }
            if self.commands.iter().any(|c| c.trim().is_empty()) {
                return Err("commands must not be empty strings".into());
            }
            if self.input.is_some() {
                return Err("`input` applies only to rerun_execution".into());
            }
        } else if !self.commands.is_empty() {
            return Err(format!("action type {t} takes no commands"));
        }
        if self.document.is_some() && self.executor != ExecutorKind::Ssm {
            return Err("`document` applies only to executor ssm".into());
        }
        if self.timeout.is_zero() {
            return Err("timeout must be greater than zero".into());
        }
        if self.timeout > MAX_TIMEOUT {
            return Err("timeout must be at most 48h".into());
        }
        match (&self.executor, &self.target) {
            (ExecutorKind::Local, Target::Host) => {}
            (ExecutorKind::Local, _) => {
                return Err("executor local runs on this host and takes no target".into());
            }
            (ExecutorKind::Ssm, Target::Instances(ids)) => {
                if ids.is_empty() || ids.iter().any(|i| i.trim().is_empty()) {
                    return Err("target.instance_ids must list at least one instance id".into());
                }
                if ids.len() > 50 {
                    return Err("SSM accepts at most 50 instance ids; use tags".into());
                }
            }
            (ExecutorKind::Ssm, Target::Tags(tags)) => {
                if tags.is_empty() {
                    return Err("target.tags must list at least one tag".into());
                }
                if tags.len() > 5 {
                    return Err("SSM accepts at most 5 tag targets".into());
                }
                for tag in tags {
                    if tag.key.trim().is_empty() || tag.values.is_empty() {
                        return Err("each target tag needs a key and at least one value".into());
                    }
                }
            }
            (ExecutorKind::Ssm, _) => {
                return Err(
                    "missing target: executor ssm needs target.instance_ids or target.tags".into(),
                );
            }
            (ExecutorKind::StepFunctions, Target::StateMachine(arn))
                if t == ActionType::RerunExecution =>
            {
                check_arn(arn, ":stateMachine:", "target.state_machine_arn")?;
            }
            (ExecutorKind::StepFunctions, Target::Execution(ExecutionRef::Arn(arn)))
                if t == ActionType::RedriveExecution =>
            {
                check_arn(arn, ":execution:", "target.execution_arn")?;
            }
            (ExecutorKind::StepFunctions, Target::Execution(ExecutionRef::Context(key)))
                if t == ActionType::RedriveExecution =>
            {
                if key.trim().is_empty() {
                    return Err("target.execution_arn_from_context must name a key".into());
                }
            }
            (ExecutorKind::StepFunctions, _) if t == ActionType::RerunExecution => {
                return Err(
                    "missing target: rerun_execution needs target.state_machine_arn".into(),
                );
            }
            (ExecutorKind::StepFunctions, _) => {
                return Err(
                    "missing target: redrive_execution needs target.execution_arn \
                     or target.execution_arn_from_context"
                        .into(),
                );
            }
        }
        if let Some(input) = &self.input {
            serde_json::from_str::<serde_json::Value>(input)
                .map_err(|e| format!("`input` is not valid JSON: {e}"))?;
        }
        Ok(())
    }
}

/// Whether `executor` can run actions of type `t`.
fn check_executor(t: ActionType, executor: ExecutorKind) -> Result<(), String> {
    match (t.runs_commands(), executor) {
        (true, ExecutorKind::StepFunctions) => Err(format!(
            "action type {t} runs commands; use executor local or ssm, \
             or type rerun_execution / redrive_execution for step_functions"
        )),
        (false, ExecutorKind::Local | ExecutorKind::Ssm) => Err(format!(
            "action type {t} needs executor step_functions, not {executor}"
        )),
        _ => Ok(()),
    }
}

fn check_arn(arn: &str, kind: &str, key: &str) -> Result<(), String> {
    if arn.starts_with("arn:") && arn.contains(kind) {
        Ok(())
    } else {
        Err(format!(
            "{key} `{arn}` is not a Step Functions ARN (arn:aws:states:...{kind}...)"
        ))
    }
}

/// A flow-name filter: a glob (`etl-*`) or an exact name.
#[derive(Clone, Debug)]
pub(crate) struct NameFilter {
    pattern: String,
    matcher: globset::GlobMatcher,
}

impl NameFilter {
    pub(crate) fn new(pattern: &str) -> Result<Self, String> {
        let glob = globset::GlobBuilder::new(pattern.trim())
            .literal_separator(false)
            .build()
            .map_err(|e| format!("invalid glob `{pattern}`: {e}"))?;
        Ok(Self {
            pattern: pattern.trim().to_string(),
            matcher: glob.compile_matcher(),
        })
    }

    pub(crate) fn pattern(&self) -> &str {
        &self.pattern
    }

    pub(crate) fn is_match(&self, name: &str) -> bool {
        name == self.pattern || self.matcher.is_match(name)
    }
}

/// A failure pattern and the action that remediates it.
#[derive(Clone, Debug)]
pub struct Playbook {
    name: String,
    description: String,
    category: Option<Category>,
    message_regex: Option<Regex>,
    error_type: Option<String>,
    flow: Option<NameFilter>,
    action: PlaybookAction,
    origin: String,
}

impl Playbook {
    /// Starts a playbook named `name`.
    pub fn builder(name: impl Into<String>) -> PlaybookBuilder {
        PlaybookBuilder {
            name: name.into(),
            description: String::new(),
            category: None,
            message_regex: None,
            error_type: None,
            flow: None,
            action: None,
            origin: "code".into(),
        }
    }

    /// Unique name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// For people.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Category the diagnosis must have, when set.
    pub fn category(&self) -> Option<Category> {
        self.category
    }

    /// Regex the message (or a `Caused by`) must match, when set.
    pub fn message_regex(&self) -> Option<&str> {
        self.message_regex.as_ref().map(Regex::as_str)
    }

    /// Error type the report must have, when set.
    pub fn error_type(&self) -> Option<&str> {
        self.error_type.as_deref()
    }

    /// Flow filter (glob or exact), when set.
    pub fn flow(&self) -> Option<&str> {
        self.flow.as_ref().map(NameFilter::pattern)
    }

    /// The action.
    pub fn action(&self) -> &PlaybookAction {
        &self.action
    }

    /// Where it was defined (`code`, `remediation.playbooks[0]`,
    /// `playbooks.yaml: playbooks[2]`).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Whether the playbook applies to `report`, diagnosed as `category`
    /// (`None`: do not check the category).
    pub fn matches(&self, report: &Report, category: Option<Category>) -> bool {
        self.check(report, category).is_ok()
    }

    /// Like [`Playbook::matches`], but says which criterion failed.
    pub fn check(&self, report: &Report, category: Option<Category>) -> Result<(), String> {
        if let (Some(want), Some(got)) = (self.category, category)
            && want != got
        {
            return Err(format!("category {got} is not {want}"));
        }
        if let Some(flow) = &self.flow
            && !flow.is_match(&report.flow)
        {
            return Err(format!(
                "flow `{}` does not match `{}`",
                report.flow,
                flow.pattern()
            ));
        }
        if let Some(want) = &self.error_type {
            match report.error_type.as_deref() {
                Some(got) if error_type_matches(want, got) => {}
                Some(got) => return Err(format!("error type `{got}` is not `{want}`")),
                None => return Err(format!("no error type (wants `{want}`)")),
            }
        }
        if let Some(re) = &self.message_regex {
            let hit =
                re.is_match(&report.message) || report.source_chain.iter().any(|m| re.is_match(m));
            if !hit {
                return Err(format!("message does not match /{}/", re.as_str()));
            }
        }
        Ok(())
    }
}

/// `want` equals `got`, or is its last `.`/`::`-separated segment.
fn error_type_matches(want: &str, got: &str) -> bool {
    got == want
        || got
            .strip_suffix(want)
            .is_some_and(|rest| rest.ends_with('.') || rest.ends_with("::"))
}

/// Builds a [`Playbook`] in code; see [`Playbook::builder`].
#[derive(Debug)]
#[must_use = "call .build() to get the playbook"]
pub struct PlaybookBuilder {
    name: String,
    description: String,
    category: Option<Category>,
    message_regex: Option<Regex>,
    error_type: Option<String>,
    flow: Option<NameFilter>,
    action: Option<PlaybookAction>,
    origin: String,
}

impl PlaybookBuilder {
    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// Only diagnoses of this category match.
    pub fn category(mut self, category: Category) -> Self {
        self.category = Some(category);
        self
    }

    /// Only messages matching this regex match. Fails on an invalid regex.
    pub fn message_regex(mut self, regex: &str) -> Result<Self> {
        let re = Regex::new(regex).map_err(|e| {
            Error::config(
                "playbooks",
                format!("playbook `{}`: invalid message_regex: {e}", self.name),
            )
        })?;
        self.message_regex = Some(re);
        Ok(self)
    }

    /// Only reports with this error type (exact or last path segment) match.
    pub fn error_type(mut self, error_type: impl Into<String>) -> Self {
        self.error_type = Some(error_type.into());
        self
    }

    /// Only flows matching this glob or exact name match.
    pub fn flow(mut self, pattern: &str) -> Result<Self> {
        let f = NameFilter::new(pattern).map_err(|e| {
            Error::config("playbooks", format!("playbook `{}`: flow: {e}", self.name))
        })?;
        self.flow = Some(f);
        Ok(self)
    }

    /// Sets the action.
    pub fn action(mut self, action: PlaybookAction) -> Self {
        self.action = Some(action);
        self
    }

    /// Checks and builds the playbook.
    pub fn build(self) -> Result<Playbook> {
        self.finish()
            .map_err(|(name, msg)| Error::config("playbooks", format!("playbook `{name}`: {msg}")))
    }

    fn finish(self) -> Result<Playbook, (String, String)> {
        let name = self.name.trim().to_string();
        if name.is_empty() {
            return Err((name, "name must not be empty".into()));
        }
        let Some(action) = self.action else {
            return Err((name, "missing action".into()));
        };
        if let Err(e) = action.validate() {
            return Err((name, e));
        }
        Ok(Playbook {
            name,
            description: self.description,
            category: self.category,
            message_regex: self.message_regex,
            error_type: self.error_type.filter(|t| !t.trim().is_empty()),
            flow: self.flow,
            action,
            origin: self.origin,
        })
    }
}

/// Playbooks in declared order; the first match wins.
#[derive(Clone, Debug, Default)]
pub struct Playbooks {
    list: Vec<Playbook>,
}

impl Playbooks {
    /// No playbooks.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a playbook; fails when its name is taken.
    pub fn push(&mut self, playbook: Playbook) -> Result<()> {
        if let Some(existing) = self.get(playbook.name()) {
            return Err(Error::config(
                "playbooks",
                format!(
                    "playbook `{}` is defined twice ({} and {})",
                    playbook.name(),
                    existing.origin(),
                    playbook.origin()
                ),
            ));
        }
        self.list.push(playbook);
        Ok(())
    }

    /// Appends a playbook, builder style.
    pub fn with(mut self, playbook: Playbook) -> Result<Self> {
        self.push(playbook)?;
        Ok(self)
    }

    /// Appends every playbook of `other`, in order.
    pub fn extend(&mut self, other: Playbooks) -> Result<()> {
        for p in other.list {
            self.push(p)?;
        }
        Ok(())
    }

    /// The playbook named `name`.
    pub fn get(&self, name: &str) -> Option<&Playbook> {
        self.list.iter().find(|p| p.name == name)
    }

    /// The first playbook matching `report` diagnosed as `category`
    /// (`None`: do not check categories).
    pub fn first_match(&self, report: &Report, category: Option<Category>) -> Option<&Playbook> {
        self.list.iter().find(|p| p.matches(report, category))
    }

    /// In declared order.
    pub fn iter(&self) -> impl Iterator<Item = &Playbook> {
        self.list.iter()
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// `remediation.playbooks` (inline entries), then every file of
    /// `remediation.playbook_files`, in order.
    pub fn from_config(cfg: &RemediationConfig) -> Result<Self> {
        let mut all = Self::from_values(&cfg.playbooks, None, "remediation.playbooks")?;
        for file in &cfg.playbook_files {
            all.extend(Self::load_file(file)?)?;
        }
        Ok(all)
    }

    /// Loads a YAML (`.yaml`, `.yml`) or TOML (`.toml`) playbook file.
    pub fn load_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::new(format!("cannot read the playbook file: {e}"))
                .in_file(path)
                .with_fix("check remediation.playbook_files")
        })?;
        let format = Format::from_path(path).map_err(|_| {
            ConfigError::new("unknown playbook file format")
                .in_file(path)
                .with_fix("name the file *.yaml, *.yml or *.toml")
        })?;
        Self::parse(&text, format, Some(path))
    }

    /// Parses playbook file text; `file` is named in errors.
    pub fn parse(text: &str, format: Format, file: Option<&Path>) -> Result<Self> {
        let with_file = |e: ConfigError| match file {
            Some(f) => e.in_file(f),
            None => e,
        };
        let doc: serde_json::Value = match format {
            Format::Yaml => {
                if text.trim().is_empty() {
                    serde_json::Value::Null
                } else {
                    serde_saphyr::from_str(text)
                        .map_err(|e| with_file(ConfigError::new(e.to_string())))?
                }
            }
            Format::Toml => {
                toml::from_str(text).map_err(|e| with_file(ConfigError::new(e.message())))?
            }
        };
        let entries = match doc {
            serde_json::Value::Null => Vec::new(),
            serde_json::Value::Array(list) => list,
            serde_json::Value::Object(mut map) => {
                if let Some(key) = map.keys().find(|k| k.as_str() != "playbooks") {
                    return Err(with_file(
                        ConfigError::new(format!("unknown key `{key}`"))
                            .at_key(key.clone())
                            .with_fix("a playbook file has one key, `playbooks`, with a list"),
                    )
                    .into());
                }
                match map.remove("playbooks") {
                    Some(serde_json::Value::Array(list)) => list,
                    Some(serde_json::Value::Null) | None => Vec::new(),
                    Some(_) => {
                        return Err(with_file(
                            ConfigError::new("`playbooks` must be a list").at_key("playbooks"),
                        )
                        .into());
                    }
                }
            }
            _ => {
                return Err(with_file(ConfigError::new(
                    "a playbook file must hold `playbooks:` with a list",
                ))
                .into());
            }
        };
        let origin = file.map(|f| f.display().to_string());
        let mut out = Self::new();
        for (i, entry) in entries.iter().enumerate() {
            let key = format!("playbooks[{i}]");
            let playbook = parse_entry(entry, &key, origin.as_deref()).map_err(with_file)?;
            out.push(playbook)
                .map_err(|e| with_file(ConfigError::new(e.to_string()).at_key(key.clone())))?;
        }
        Ok(out)
    }

    /// Parses inline entries (`remediation.playbooks`); `file` is named in
    /// errors when the entries came from one, `prefix` is the key path.
    pub fn from_values(
        values: &[serde_json::Value],
        file: Option<&Path>,
        prefix: &str,
    ) -> Result<Self> {
        let mut out = Self::new();
        for (i, entry) in values.iter().enumerate() {
            let key = format!("{prefix}[{i}]");
            let origin = file.map(|f| f.display().to_string());
            let with_file = |e: ConfigError| match file {
                Some(f) => e.in_file(f),
                None => e,
            };
            let playbook = parse_entry(entry, &key, origin.as_deref()).map_err(with_file)?;
            out.push(playbook)
                .map_err(|e| with_file(ConfigError::new(e.to_string()).at_key(key.clone())))?;
        }
        Ok(out)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlaybookSpec {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    message_regex: Option<String>,
    #[serde(default)]
    error_type: Option<String>,
    #[serde(default)]
    flow: Option<String>,
    action: serde_json::Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionSpec {
    #[serde(rename = "type")]
    action_type: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    executor: Option<String>,
    #[serde(default)]
    commands: Vec<String>,
    #[serde(default)]
    target: Option<serde_json::Value>,
    #[serde(default)]
    input: Option<serde_json::Value>,
    #[serde(default)]
    document: Option<String>,
    #[serde(default)]
    timeout: Option<HumanDuration>,
    #[serde(default)]
    safe_to_auto_run: bool,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetSpec {
    #[serde(default)]
    instance_ids: Vec<String>,
    #[serde(default)]
    tags: Vec<SsmTag>,
    #[serde(default)]
    state_machine_arn: Option<String>,
    #[serde(default)]
    execution_arn: Option<String>,
    #[serde(default)]
    execution_arn_from_context: Option<String>,
}

/// Parses one entry; errors carry the key path and the playbook name.
fn parse_entry(
    entry: &serde_json::Value,
    key: &str,
    file: Option<&str>,
) -> Result<Playbook, ConfigError> {
    let label = entry
        .get("name")
        .and_then(|n| n.as_str())
        .map(|n| format!("playbook `{n}`: "))
        .unwrap_or_default();
    let fail =
        |at: &str, msg: String| ConfigError::new(format!("{label}{msg}")).at_key(at.to_string());
    let spec: PlaybookSpec =
        serde_json::from_value(entry.clone()).map_err(|e| fail(key, e.to_string()))?;
    let action_key = format!("{key}.action");
    let aspec: ActionSpec =
        serde_json::from_value(spec.action).map_err(|e| fail(&action_key, e.to_string()))?;
    let action_type: ActionType = aspec
        .action_type
        .parse()
        .map_err(|e: String| fail(&format!("{action_key}.type"), e))?;
    let executor = match &aspec.executor {
        Some(e) => e
            .parse()
            .map_err(|e: String| fail(&format!("{action_key}.executor"), e))?,
        None => action_type.default_executor(),
    };
    check_executor(action_type, executor)
        .map_err(|e| fail(&format!("{action_key}.executor"), e))?;
    let target_key = format!("{action_key}.target");
    let tspec: TargetSpec = match aspec.target {
        None | Some(serde_json::Value::Null) => TargetSpec::default(),
        Some(v) => serde_json::from_value(v).map_err(|e| fail(&target_key, e.to_string()))?,
    };
    let target = build_target(executor, action_type, tspec).map_err(|e| fail(&target_key, e))?;
    let mut action = PlaybookAction::base(action_type, executor, target);
    action.description = aspec.description;
    action.commands = aspec.commands;
    action.document = aspec.document;
    action.safe_to_auto_run = aspec.safe_to_auto_run;
    if let Some(t) = aspec.timeout {
        action.timeout = t.get();
    }
    if let Some(input) = &aspec.input {
        action = action.input(input);
    }
    action.validate().map_err(|e| fail(&action_key, e))?;

    let mut b = Playbook::builder(spec.name.clone()).description(spec.description);
    b.origin = match file {
        Some(f) => format!("{f}: {key}"),
        None => key.to_string(),
    };
    if let Some(c) = &spec.category {
        let c: Category = c
            .parse()
            .map_err(|e: String| fail(&format!("{key}.category"), e))?;
        b = b.category(c);
    }
    if let Some(re) = &spec.message_regex {
        let compiled = Regex::new(re).map_err(|e| {
            fail(
                &format!("{key}.message_regex"),
                format!(
                    "invalid regex `{re}`: {}",
                    flow_doctor_core::error::regex_gist(&e.to_string())
                ),
            )
        })?;
        b.message_regex = Some(compiled);
    }
    if let Some(t) = spec.error_type {
        b = b.error_type(t);
    }
    if let Some(f) = &spec.flow {
        b.flow = Some(NameFilter::new(f).map_err(|e| fail(&format!("{key}.flow"), e))?);
    }
    b.action(action).finish().map_err(|(_, msg)| fail(key, msg))
}

fn build_target(
    executor: ExecutorKind,
    action_type: ActionType,
    t: TargetSpec,
) -> Result<Target, String> {
    let ssm_set = !t.instance_ids.is_empty() || !t.tags.is_empty();
    let sm_set = t.state_machine_arn.is_some();
    let ex_set = t.execution_arn.is_some() || t.execution_arn_from_context.is_some();
    match executor {
        ExecutorKind::Local => {
            if ssm_set || sm_set || ex_set {
                return Err("executor local runs on this host and takes no target".into());
            }
            Ok(Target::Host)
        }
        ExecutorKind::Ssm => {
            if sm_set || ex_set {
                return Err(
                    "executor ssm takes target.instance_ids or target.tags, not Step Functions ARNs"
                        .into(),
                );
            }
            match (t.instance_ids.is_empty(), t.tags.is_empty()) {
                (false, false) => Err("set target.instance_ids or target.tags, not both".into()),
                (false, true) => Ok(Target::Instances(t.instance_ids)),
                (true, false) => Ok(Target::Tags(t.tags)),
                (true, true) => Err(
                    "missing target: executor ssm needs target.instance_ids or target.tags".into(),
                ),
            }
        }
        ExecutorKind::StepFunctions => {
            if ssm_set {
                return Err("executor step_functions takes no instance_ids or tags".into());
            }
            if action_type == ActionType::RedriveExecution {
                if sm_set {
                    return Err("redrive_execution takes target.execution_arn or \
                         target.execution_arn_from_context, not state_machine_arn"
                        .into());
                }
                match (t.execution_arn, t.execution_arn_from_context) {
                    (Some(_), Some(_)) => Err(
                        "set target.execution_arn or target.execution_arn_from_context, not both"
                            .into(),
                    ),
                    (Some(arn), None) => Ok(Target::Execution(ExecutionRef::Arn(arn))),
                    (None, Some(key)) => Ok(Target::Execution(ExecutionRef::Context(key))),
                    (None, None) => Err("missing target: redrive_execution needs \
                         target.execution_arn or target.execution_arn_from_context"
                        .into()),
                }
            } else {
                if ex_set {
                    return Err(format!(
                        "{action_type} takes target.state_machine_arn, not an execution"
                    ));
                }
                match t.state_machine_arn {
                    Some(arn) => Ok(Target::StateMachine(arn)),
                    None => Err(format!(
                        "missing target: {action_type} needs target.state_machine_arn"
                    )),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
