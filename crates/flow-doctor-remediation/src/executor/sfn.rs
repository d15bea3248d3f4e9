//! The Step Functions executor: `StartExecution` (rerun) or
//! `RedriveExecution` (redrive a failed execution), then `DescribeExecution`
//! until the execution ends or the plan's timeout. An execution still running
//! at the timeout is *pending*, with its ARN recorded.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_sfn::primitives::{DateTime, DateTimeFormat};
use aws_sdk_sfn::types::ExecutionStatus;
use flow_doctor_core::ActionStatus;
use flow_doctor_core::config::HumanDuration;

use super::{Executor, Outcome, tail_text};
use crate::aws::error_text;
use crate::plan::{Plan, PlannedTarget};

/// Output of a finished execution kept in the action, in bytes.
const OUTPUT_TAIL: usize = 2048;

/// Starts or redrives AWS Step Functions executions.
#[derive(Clone, Debug)]
pub struct StepFunctionsExecutor {
    client: aws_sdk_sfn::Client,
    poll_interval: Duration,
    console_region: Option<String>,
}

impl StepFunctionsExecutor {
    /// An executor using `client`, polling every 2 seconds.
    pub fn new(client: aws_sdk_sfn::Client) -> Self {
        Self {
            client,
            poll_interval: Duration::from_secs(2),
            console_region: None,
        }
    }

    /// Sets how often the execution is polled.
    pub fn poll_interval(mut self, every: Duration) -> Self {
        self.poll_interval = every.max(Duration::from_millis(10));
        self
    }

    /// Links actions to the AWS console in `region` (leave unset for a
    /// custom endpoint).
    pub fn console_region(mut self, region: Option<String>) -> Self {
        self.console_region = region;
        self
    }

    fn console_url(&self, execution_arn: &str) -> Option<String> {
        self.console_region.as_ref().map(|r| {
            format!(
                "https://{r}.console.aws.amazon.com/states/home?region={r}#/v2/executions/details/{execution_arn}"
            )
        })
    }
}

fn date(d: &DateTime) -> String {
    d.fmt(DateTimeFormat::DateTime).unwrap_or_default()
}

#[async_trait]
impl Executor for StepFunctionsExecutor {
    fn name(&self) -> &str {
        "step_functions"
    }

    async fn execute(&self, plan: &Plan) -> Outcome {
        let deadline = super::deadline(plan.timeout);
        let (execution_arn, started) = match &plan.target {
            PlannedTarget::StateMachine { state_machine_arn } => {
                let res = self
                    .client
                    .start_execution()
                    .state_machine_arn(state_machine_arn)
                    .set_input(plan.input.clone())
                    .send()
                    .await;
                match res {
                    Ok(out) => {
                        let arn = out.execution_arn().to_string();
                        let started = Outcome::new(ActionStatus::Pending, "")
                            .with("operation", "StartExecution")
                            .with("state_machine_arn", state_machine_arn.as_str())
                            .with("start_date", date(out.start_date()));
                        (arn, started)
                    }
                    Err(e) => {
                        let (code, text) = error_text(&e);
                        return Outcome::new(
                            ActionStatus::Failed,
                            format!("StartExecution failed: {text}"),
                        )
                        .with("operation", "StartExecution")
                        .with("state_machine_arn", state_machine_arn.as_str())
                        .with("aws_error_code", code);
                    }
                }
            }
            PlannedTarget::Execution { execution_arn } => {
                let res = self
                    .client
                    .redrive_execution()
                    .execution_arn(execution_arn)
                    .send()
                    .await;
                match res {
                    Ok(out) => {
                        let started = Outcome::new(ActionStatus::Pending, "")
                            .with("operation", "RedriveExecution")
                            .with("redrive_date", date(out.redrive_date()));
                        (execution_arn.clone(), started)
                    }
                    Err(e) => {
                        let (code, text) = error_text(&e);
                        return Outcome::new(
                            ActionStatus::Failed,
                            format!("RedriveExecution failed: {text}"),
                        )
                        .with("operation", "RedriveExecution")
                        .with("execution_arn", execution_arn.as_str())
                        .with("aws_error_code", code);
                    }
                }
            }
            other => {
                return Outcome::new(
                    ActionStatus::Failed,
                    format!(
                        "the step_functions executor needs a state machine or an execution, not {}",
                        other.describe()
                    ),
                );
            }
        };

        let mut out = started.with("execution_arn", execution_arn.as_str());
        out.url = self.console_url(&execution_arn);
        let mut last_status;
        loop {
            let res = self
                .client
                .describe_execution()
                .execution_arn(&execution_arn)
                .send()
                .await;
            let desc = match res {
                Ok(d) => d,
                Err(e) => {
                    let (code, text) = error_text(&e);
                    out.status = ActionStatus::Failed;
                    out.summary = format!("DescribeExecution failed: {text}");
                    return out.with("aws_error_code", code);
                }
            };
            last_status = desc.status().as_str().to_string();
            let ended = match desc.status() {
                ExecutionStatus::Succeeded => Some(ActionStatus::Succeeded),
                ExecutionStatus::Failed | ExecutionStatus::TimedOut | ExecutionStatus::Aborted => {
                    Some(ActionStatus::Failed)
                }
                _ => None,
            };
            if let Some(status) = ended {
                out.status = status;
                let why = [desc.error(), desc.cause()]
                    .into_iter()
                    .flatten()
                    .filter(|s| !s.trim().is_empty())
                    .collect::<Vec<_>>()
                    .join(": ");
                out.summary = if why.is_empty() {
                    format!("execution {last_status}")
                } else {
                    format!(
                        "execution {last_status}: {}",
                        flow_doctor_core::model::truncate_chars(&why, 300)
                    )
                };
                if let Some(stop) = desc.stop_date() {
                    out = out.with("stop_date", date(stop));
                }
                if let Some(o) = desc.output() {
                    out = out.with("output_tail", tail_text(o.as_bytes(), OUTPUT_TAIL));
                }
                return out.with("execution_status", last_status);
            }
            if Instant::now() + self.poll_interval > deadline {
                break;
            }
            tokio::time::sleep(self.poll_interval).await;
        }
        out.status = ActionStatus::Pending;
        out.summary = format!(
            "execution still {last_status} at the {} timeout",
            HumanDuration(plan.timeout)
        );
        out.with("execution_status", last_status)
    }
}
