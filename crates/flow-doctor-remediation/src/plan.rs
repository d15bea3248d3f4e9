//! A [`Plan`]: a playbook action made concrete for one report (the execution
//! ARN looked up in its context, the environment of local commands). It is
//! what a dry run records and what an executor runs.

use std::time::Duration;

use flow_doctor_core::Report;
use serde::Serialize;

use crate::playbook::{
    ActionType, DEFAULT_SSM_DOCUMENT, ExecutionRef, ExecutorKind, Playbook, SsmTag, Target,
};

/// What a plan acts on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PlannedTarget {
    /// This host.
    Host,
    /// SSM instances by id.
    Instances {
        /// Instance ids.
        instance_ids: Vec<String>,
    },
    /// SSM instances by tag.
    Tags {
        /// Tag filters.
        tags: Vec<SsmTag>,
    },
    /// A state machine to start.
    StateMachine {
        /// Its ARN.
        state_machine_arn: String,
    },
    /// An execution to redrive.
    Execution {
        /// Its ARN.
        execution_arn: String,
    },
}

impl PlannedTarget {
    /// For people: `this host`, `i-1, i-2`, `tag:Role=app`, an ARN.
    pub fn describe(&self) -> String {
        match self {
            Self::Host => "this host".into(),
            Self::Instances { instance_ids } => instance_ids.join(", "),
            Self::Tags { tags } => tags
                .iter()
                .map(|t| format!("{}={}", t.target_key(), t.values.join("|")))
                .collect::<Vec<_>>()
                .join(", "),
            Self::StateMachine { state_machine_arn } => state_machine_arn.clone(),
            Self::Execution { execution_arn } => execution_arn.clone(),
        }
    }
}

/// A playbook action resolved for one report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Plan {
    /// The playbook.
    pub playbook: String,
    /// What it does.
    pub action_type: ActionType,
    /// For people.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Where it runs.
    pub executor: ExecutorKind,
    /// Shell commands, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<String>,
    /// What it acts on.
    pub target: PlannedTarget,
    /// Input JSON of a started execution.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    /// SSM document.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<String>,
    /// How long to wait.
    #[serde(rename = "timeout_secs", serialize_with = "as_secs")]
    pub timeout: Duration,
    /// Environment of local commands: `FLOW_DOCTOR_FLOW`,
    /// `FLOW_DOCTOR_REPORT_ID`, `FLOW_DOCTOR_SIGNATURE`,
    /// `FLOW_DOCTOR_PLAYBOOK` and, when known, `FLOW_DOCTOR_RUN_ID`.
    #[serde(skip)]
    pub env: Vec<(String, String)>,
}

fn as_secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_secs())
}

impl Plan {
    /// Resolves `playbook`'s action for `report`. Fails (with the reason)
    /// when the action needs a report context key the report lacks, or
    /// whose value is not an execution ARN.
    pub fn resolve(playbook: &Playbook, report: &Report) -> Result<Self, String> {
        let a = playbook.action();
        let target = match &a.target {
            Target::Host => PlannedTarget::Host,
            Target::Instances(ids) => PlannedTarget::Instances {
                instance_ids: ids.clone(),
            },
            Target::Tags(tags) => PlannedTarget::Tags { tags: tags.clone() },
            Target::StateMachine(arn) => PlannedTarget::StateMachine {
                state_machine_arn: arn.clone(),
            },
            Target::Execution(ExecutionRef::Arn(arn)) => PlannedTarget::Execution {
                execution_arn: arn.clone(),
            },
            Target::Execution(ExecutionRef::Context(key)) => {
                let value = report.context.get(key).map(|v| v.trim()).ok_or_else(|| {
                    format!(
                        "playbook `{}` needs the execution ARN in report context key `{key}`, \
                         which the report does not have",
                        playbook.name()
                    )
                })?;
                if !(value.starts_with("arn:") && value.contains(":execution:"))
                    || value.chars().any(char::is_whitespace)
                {
                    return Err(format!(
                        "report context key `{key}` is not a Step Functions execution ARN"
                    ));
                }
                PlannedTarget::Execution {
                    execution_arn: value.to_string(),
                }
            }
        };
        let mut env = vec![
            ("FLOW_DOCTOR_FLOW".to_string(), report.flow.clone()),
            ("FLOW_DOCTOR_REPORT_ID".to_string(), report.id.to_string()),
            (
                "FLOW_DOCTOR_SIGNATURE".to_string(),
                report.signature.clone(),
            ),
            (
                "FLOW_DOCTOR_PLAYBOOK".to_string(),
                playbook.name().to_string(),
            ),
        ];
        if let Some(run) = &report.run_id {
            env.push(("FLOW_DOCTOR_RUN_ID".to_string(), run.clone()));
        }
        Ok(Self {
            playbook: playbook.name().to_string(),
            action_type: a.action_type,
            description: a.description.clone(),
            executor: a.executor,
            commands: a.commands.clone(),
            target,
            input: a.input.clone(),
            document: match a.executor {
                ExecutorKind::Ssm => Some(
                    a.document
                        .clone()
                        .unwrap_or_else(|| DEFAULT_SSM_DOCUMENT.to_string()),
                ),
                _ => None,
            },
            timeout: a.timeout,
            env,
        })
    }

    /// One line for people: ``restart_service "Restart app" via ssm on i-1: `systemctl restart app` ``.
    pub fn summary(&self) -> String {
        let mut s = self.action_type.to_string();
        if !self.description.is_empty() {
            s.push_str(&format!(" \"{}\"", self.description));
        }
        s.push_str(&format!(
            " via {} on {}",
            self.executor,
            self.target.describe()
        ));
        if !self.commands.is_empty() {
            let cmds: Vec<String> = self.commands.iter().map(|c| format!("`{c}`")).collect();
            s.push_str(&format!(": {}", cmds.join("; ")));
        }
        s
    }

    /// The plan as JSON (what a dry run records).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}
