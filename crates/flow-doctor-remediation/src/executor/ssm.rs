//! The SSM executor: `SendCommand` to instance ids or tag targets, then
//! `GetCommandInvocation` per instance until every one is done or the plan's
//! timeout.
//!
//! With tag targets SSM resolves the instances after `SendCommand` returns;
//! until it names them the executor follows the command's own status
//! (`ListCommands`).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_ssm::error::ProvideErrorMetadata;
use aws_sdk_ssm::types::{CommandInvocationStatus, CommandStatus, Target as SsmTarget};
use flow_doctor_core::ActionStatus;
use flow_doctor_core::config::HumanDuration;
use serde_json::json;

use super::{Executor, Outcome, last_line, tail_text};
use crate::aws::error_text;
use crate::plan::{Plan, PlannedTarget};
use crate::playbook::DEFAULT_SSM_DOCUMENT;

/// Output kept per stream, in bytes (SSM itself returns at most 24,000).
const OUTPUT_TAIL: usize = 4096;

/// Runs shell commands through AWS Systems Manager.
#[derive(Clone, Debug)]
pub struct SsmExecutor {
    client: aws_sdk_ssm::Client,
    poll_interval: Duration,
}

impl SsmExecutor {
    /// An executor using `client`, polling every 2 seconds.
    pub fn new(client: aws_sdk_ssm::Client) -> Self {
        Self {
            client,
            poll_interval: Duration::from_secs(2),
        }
    }

    /// Sets how often invocations are polled.
    pub fn poll_interval(mut self, every: Duration) -> Self {
        self.poll_interval = every.max(Duration::from_millis(10));
        self
    }
}

#[derive(Default)]
struct Invocation {
    status: String,
    terminal: bool,
    ok: bool,
    response_code: Option<i32>,
    stdout: String,
    stderr: String,
    error: Option<String>,
}

impl Invocation {
    fn json(&self, instance_id: &str) -> serde_json::Value {
        json!({
            "instance_id": instance_id,
            "status": self.status,
            "response_code": self.response_code,
            "stdout_tail": self.stdout,
            "stderr_tail": self.stderr,
            "error": self.error,
        })
    }
}

fn invocation_terminal(s: &CommandInvocationStatus) -> Option<bool> {
    match s {
        CommandInvocationStatus::Success => Some(true),
        CommandInvocationStatus::Failed
        | CommandInvocationStatus::TimedOut
        | CommandInvocationStatus::Cancelled => Some(false),
        _ => None,
    }
}

fn command_terminal(s: &CommandStatus) -> Option<bool> {
    match s {
        CommandStatus::Success => Some(true),
        CommandStatus::Failed | CommandStatus::TimedOut | CommandStatus::Cancelled => Some(false),
        _ => None,
    }
}

#[async_trait]
impl Executor for SsmExecutor {
    fn name(&self) -> &str {
        "ssm"
    }

    async fn execute(&self, plan: &Plan) -> Outcome {
        let deadline = super::deadline(plan.timeout);
        let document = plan.document.as_deref().unwrap_or(DEFAULT_SSM_DOCUMENT);
        let comment = flow_doctor_core::model::truncate_chars(
            &format!("flow-doctor: {}", plan.playbook),
            100,
        );
        let mut req = self
            .client
            .send_command()
            .document_name(document)
            .comment(comment)
            .parameters("commands", plan.commands.clone());
        if document == DEFAULT_SSM_DOCUMENT {
            let secs = plan.timeout.as_secs().clamp(1, 172_800);
            req = req.parameters("executionTimeout", vec![secs.to_string()]);
        }
        req = match &plan.target {
            PlannedTarget::Instances { instance_ids } => {
                req.set_instance_ids(Some(instance_ids.clone()))
            }
            PlannedTarget::Tags { tags } => req.set_targets(Some(
                tags.iter()
                    .map(|t| {
                        SsmTarget::builder()
                            .key(t.target_key())
                            .set_values(Some(t.values.clone()))
                            .build()
                    })
                    .collect(),
            )),
            other => {
                return Outcome::new(
                    ActionStatus::Failed,
                    format!(
                        "the ssm executor needs instance ids or tags, not {}",
                        other.describe()
                    ),
                );
            }
        };
        let sent = match req.send().await {
            Ok(out) => out,
            Err(e) => {
                let (code, text) = error_text(&e);
                return Outcome::new(ActionStatus::Failed, format!("SendCommand failed: {text}"))
                    .with("aws_error_code", code)
                    .with("document", document);
            }
        };
        let Some(command) = sent.command() else {
            return Outcome::new(ActionStatus::Failed, "SendCommand returned no command");
        };
        let command_id = command.command_id().unwrap_or_default().to_string();
        let mut instances: BTreeMap<String, Invocation> = command
            .instance_ids()
            .iter()
            .map(|id| (id.clone(), Invocation::default()))
            .collect();
        let mut command_status = command
            .status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default();
        let mut command_result: Option<bool> = None;

        loop {
            if instances.is_empty() {
                // Tag targets not yet resolved: follow the command itself.
                match self
                    .client
                    .list_commands()
                    .command_id(&command_id)
                    .send()
                    .await
                {
                    Ok(out) => {
                        if let Some(c) = out.commands().first() {
                            for id in c.instance_ids() {
                                instances.entry(id.clone()).or_default();
                            }
                            if let Some(s) = c.status() {
                                command_status = s.as_str().to_string();
                                if instances.is_empty() {
                                    command_result = command_terminal(s);
                                }
                            }
                        }
                    }
                    Err(e) => {
                        let (code, text) = error_text(&e);
                        return Outcome::new(
                            ActionStatus::Failed,
                            format!("ListCommands failed for command {command_id}: {text}"),
                        )
                        .with("command_id", command_id.clone())
                        .with("aws_error_code", code);
                    }
                }
            }
            for (id, inv) in instances.iter_mut().filter(|(_, i)| !i.terminal) {
                self.poll_invocation(&command_id, id, inv).await;
            }
            let all_done = if instances.is_empty() {
                command_result.is_some()
            } else {
                instances.values().all(|i| i.terminal)
            };
            if all_done || Instant::now() + self.poll_interval > deadline {
                break;
            }
            tokio::time::sleep(self.poll_interval).await;
        }

        let details: Vec<serde_json::Value> =
            instances.iter().map(|(id, inv)| inv.json(id)).collect();
        let failed: Vec<String> = instances
            .iter()
            .filter(|(_, i)| i.terminal && !i.ok)
            .map(|(id, i)| {
                let why = i
                    .error
                    .clone()
                    .or_else(|| last_line(&i.stderr))
                    .map(|w| format!(": {w}"))
                    .unwrap_or_default();
                format!("{id} {}{why}", i.status)
            })
            .collect();
        let running: Vec<&String> = instances
            .iter()
            .filter(|(_, i)| !i.terminal)
            .map(|(id, _)| id)
            .collect();
        let n = instances.len();
        let (status, summary) = if !failed.is_empty() {
            (
                ActionStatus::Failed,
                format!("failed on {}", failed.join("; ")),
            )
        } else if instances.is_empty() {
            match command_result {
                Some(true) => (ActionStatus::Succeeded, format!("command {command_status}")),
                Some(false) => (ActionStatus::Failed, format!("command {command_status}")),
                None => (
                    ActionStatus::Pending,
                    format!(
                        "still {command_status} at the {} timeout (no instance resolved yet)",
                        HumanDuration(plan.timeout)
                    ),
                ),
            }
        } else if !running.is_empty() {
            (
                ActionStatus::Pending,
                format!(
                    "still running on {} at the {} timeout",
                    running
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    HumanDuration(plan.timeout)
                ),
            )
        } else {
            (
                ActionStatus::Succeeded,
                format!("succeeded on {n} instance{}", if n == 1 { "" } else { "s" }),
            )
        };
        Outcome::new(status, format!("{summary} (command {command_id})"))
            .with("command_id", command_id)
            .with("command_status", command_status)
            .with("document", document)
            .with("instances", details)
    }
}

impl SsmExecutor {
    async fn poll_invocation(&self, command_id: &str, instance_id: &str, inv: &mut Invocation) {
        let res = self
            .client
            .get_command_invocation()
            .command_id(command_id)
            .instance_id(instance_id)
            .send()
            .await;
        match res {
            Ok(out) => {
                inv.error = None;
                if let Some(s) = out.status() {
                    inv.status = s.as_str().to_string();
                    if let Some(ok) = invocation_terminal(s) {
                        inv.terminal = true;
                        inv.ok = ok;
                    }
                }
                let code = out.response_code();
                inv.response_code = (code != -1).then_some(code);
                inv.stdout = tail_text(
                    out.standard_output_content().unwrap_or("").as_bytes(),
                    OUTPUT_TAIL,
                );
                inv.stderr = tail_text(
                    out.standard_error_content().unwrap_or("").as_bytes(),
                    OUTPUT_TAIL,
                );
            }
            // Eventual consistency: the invocation shows up shortly after SendCommand.
            Err(e) if e.code() == Some("InvocationDoesNotExist") => {
                let (_, text) = error_text(&e);
                inv.status = "InvocationDoesNotExist".into();
                inv.error = Some(text);
            }
            Err(e) => {
                let (code, text) = error_text(&e);
                inv.status = code.unwrap_or_else(|| "Error".into());
                inv.terminal = true;
                inv.ok = false;
                inv.error = Some(format!("GetCommandInvocation failed: {text}"));
            }
        }
    }
}
