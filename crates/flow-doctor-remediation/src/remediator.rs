//! [`PlaybookRemediator`]: match a playbook, ask the gate, run (or dry-run)
//! the action, and return every decision as an [`Action`].

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use flow_doctor_core::clock::day_start;
use flow_doctor_core::store::ActionQuery;
use flow_doctor_core::{
    Action, ActionKind, ActionStatus, Config, Diagnosis, Error, RemediationContext, Remediator,
    Report, Result, Scrubber, Store,
};
use serde_json::json;

use crate::executor::{Executor, LocalExecutor, Outcome};
use crate::gate::{AttemptCounts, Gate, GateDecision, Route};
use crate::plan::Plan;
use crate::playbook::{ExecutorKind, Playbook, Playbooks};

/// The remediator's name, also the action target when no playbook matched.
pub const NAME: &str = "playbooks";

/// Remediates diagnosed failures with playbooks, behind the decision gate.
///
/// For each diagnosed failure it returns exactly one action of kind
/// remediate:
/// - `dry_run`: the gate chose auto-remediate in dry-run mode; `data.plan`
///   holds what would have run. Nothing ran.
/// - `succeeded`, `failed` or `pending`: the playbook ran (pending: still
///   running at its timeout, e.g. a Step Functions execution). Before running,
///   the action is recorded as pending so that concurrent processes count it.
/// - `skipped`: routed to fix PR, escalated or logged only; `detail` says
///   why (`"escalated: confidence 0.80 below auto-remediate threshold 0.90"`).
///
/// `data` always holds the gate's fields: `route`, `reason`, `playbook`,
/// `category`, `confidence`, thresholds, attempt counts and limits,
/// `lockout`.
pub struct PlaybookRemediator {
    playbooks: Playbooks,
    gate: Gate,
    dry_run: bool,
    local: LocalExecutor,
    poll_interval: Duration,
    scrubber: Scrubber,
    #[cfg(feature = "aws")]
    aws: AwsSource,
}

impl std::fmt::Debug for PlaybookRemediator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlaybookRemediator")
            .field("playbooks", &self.playbooks.len())
            .field("dry_run", &self.dry_run)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "aws")]
#[derive(Default)]
struct AwsSource {
    cfg: flow_doctor_core::config::AwsConfig,
    preset: Option<aws_config::SdkConfig>,
    executors: tokio::sync::OnceCell<(
        crate::executor::SsmExecutor,
        crate::executor::StepFunctionsExecutor,
    )>,
}

impl PlaybookRemediator {
    /// A remediator with these playbooks and gate, in dry run. Fails when a
    /// playbook needs an executor this build lacks (SSM and Step Functions
    /// need the `aws` feature).
    pub fn new(playbooks: Playbooks, gate: Gate) -> Result<Self> {
        if !cfg!(feature = "aws")
            && let Some(p) = playbooks.iter().find(|p| p.action().executor.is_aws())
        {
            return Err(Error::config(
                "remediation",
                format!(
                    "playbook `{}` uses executor {}, which needs flow-doctor built with the `aws` feature",
                    p.name(),
                    p.action().executor
                ),
            ));
        }
        Ok(Self {
            playbooks,
            gate,
            dry_run: true,
            local: LocalExecutor::new(),
            poll_interval: Duration::from_secs(2),
            scrubber: Scrubber::new(),
            #[cfg(feature = "aws")]
            aws: AwsSource::default(),
        })
    }

    /// The remediator described by `remediation:` (playbooks, gate,
    /// `dry_run`, `aws`).
    pub fn from_config(cfg: &Config) -> Result<Self> {
        let playbooks = Playbooks::from_config(&cfg.remediation)?;
        let gate = Gate::from_config(cfg)?;
        let scrubber = Scrubber::from_config(&cfg.scrub)
            .map_err(|e| Error::config("remediation", format!("`scrub`: {e}")))?;
        let me = Self::new(playbooks, gate)?
            .dry_run(cfg.remediation.dry_run)
            .scrubber(scrubber);
        #[cfg(feature = "aws")]
        let me = me.aws_config(cfg.remediation.aws.clone());
        Ok(me)
    }

    /// Dry run (the default): record what would run, run nothing.
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// How often SSM invocations and Step Functions executions are polled
    /// (default 2 s).
    pub fn poll_interval(mut self, every: Duration) -> Self {
        self.poll_interval = every;
        self
    }

    /// Scrubs action details and data (planned commands, output tails)
    /// with `scrubber` (default: the built-in rules).
    pub fn scrubber(mut self, scrubber: Scrubber) -> Self {
        self.scrubber = scrubber;
        self
    }

    /// Replaces the local executor (output tail size).
    pub fn local_executor(mut self, local: LocalExecutor) -> Self {
        self.local = local;
        self
    }

    /// AWS settings used when the first AWS action runs (standard
    /// credential chain).
    #[cfg(feature = "aws")]
    #[cfg_attr(docsrs, doc(cfg(feature = "aws")))]
    pub fn aws_config(mut self, cfg: flow_doctor_core::config::AwsConfig) -> Self {
        self.aws.cfg = cfg;
        self
    }

    /// A prepared SDK configuration (credentials, region, endpoint) used
    /// instead of the standard chain.
    #[cfg(feature = "aws")]
    #[cfg_attr(docsrs, doc(cfg(feature = "aws")))]
    pub fn aws_sdk_config(mut self, sdk: aws_config::SdkConfig) -> Self {
        self.aws.preset = Some(sdk);
        self
    }

    /// The playbooks, in order.
    pub fn playbooks(&self) -> &Playbooks {
        &self.playbooks
    }

    /// The gate.
    pub fn gate(&self) -> &Gate {
        &self.gate
    }

    /// Whether it only records what would run.
    pub fn is_dry_run(&self) -> bool {
        self.dry_run
    }

    /// Runs a plan with the executor it names.
    pub async fn execute(&self, plan: &Plan) -> Outcome {
        match plan.executor {
            ExecutorKind::Local => self.local.execute(plan).await,
            #[cfg(feature = "aws")]
            ExecutorKind::Ssm => self.aws_executors().await.0.execute(plan).await,
            #[cfg(feature = "aws")]
            ExecutorKind::StepFunctions => self.aws_executors().await.1.execute(plan).await,
            #[cfg(not(feature = "aws"))]
            other => Outcome::new(
                ActionStatus::Failed,
                format!("executor {other} needs flow-doctor built with the `aws` feature"),
            ),
        }
    }

    #[cfg(feature = "aws")]
    async fn aws_executors(
        &self,
    ) -> &(
        crate::executor::SsmExecutor,
        crate::executor::StepFunctionsExecutor,
    ) {
        self.aws
            .executors
            .get_or_init(|| async {
                let clients = match &self.aws.preset {
                    Some(sdk) => crate::aws::AwsClients::from_sdk_config(sdk),
                    None => crate::aws::AwsClients::load(&self.aws.cfg).await,
                };
                let console = (!clients.custom_endpoint)
                    .then(|| clients.region.clone())
                    .flatten();
                (
                    crate::executor::SsmExecutor::new(clients.ssm.clone())
                        .poll_interval(self.poll_interval),
                    crate::executor::StepFunctionsExecutor::new(clients.sfn.clone())
                        .poll_interval(self.poll_interval)
                        .console_region(console),
                )
            })
            .await
    }
}

/// The store counters through which attempts are reserved atomically:
/// `(per failure, per day)`, both windowed by UTC day.
pub fn attempt_keys(report: &Report) -> (String, String) {
    (
        format!("remediation:attempts:{}:{}", report.flow, report.signature),
        "remediation:attempts".to_string(),
    )
}

/// Remediation attempts since the start of the UTC day of `now`: actions
/// of kind remediate with status succeeded, failed or pending, in total and
/// for `report`'s flow and signature.
pub async fn count_attempts(
    store: &dyn Store,
    report: &Report,
    now: DateTime<Utc>,
) -> Result<AttemptCounts> {
    let mut counts = AttemptCounts::default();
    for status in [
        ActionStatus::Succeeded,
        ActionStatus::Failed,
        ActionStatus::Pending,
    ] {
        let query = ActionQuery {
            kind: Some(ActionKind::Remediate),
            status: Some(status),
            since: Some(day_start(now)),
            ..ActionQuery::default()
        };
        let actions = store.actions(&query).await?;
        counts.today += actions.len() as u64;
        counts.today_for_failure += actions
            .iter()
            .filter(|a| a.flow == report.flow && a.signature == report.signature)
            .count() as u64;
    }
    Ok(counts)
}

fn scrub_string(scrubber: &Scrubber, s: &mut String) {
    if let std::borrow::Cow::Owned(clean) = scrubber.scrub(s) {
        *s = clean;
    }
}

fn scrub_value(scrubber: &Scrubber, v: &mut serde_json::Value) {
    match v {
        serde_json::Value::String(s) => scrub_string(scrubber, s),
        serde_json::Value::Array(items) => items.iter_mut().for_each(|i| scrub_value(scrubber, i)),
        serde_json::Value::Object(map) => map.values_mut().for_each(|i| scrub_value(scrubber, i)),
        _ => {}
    }
}

fn merge(data: &mut serde_json::Value, extra: serde_json::Value) {
    if let (Some(map), serde_json::Value::Object(extra)) = (data.as_object_mut(), extra) {
        map.extend(extra);
    }
}

fn action_at(
    report: &Report,
    target: &str,
    status: ActionStatus,
    detail: String,
    data: serde_json::Value,
    now: DateTime<Utc>,
) -> Action {
    let mut a = Action::new(report, ActionKind::Remediate, target, status, detail);
    a.data = data;
    a.started_at = now;
    a.finished_at = now;
    a
}

/// Turns a would-be auto-remediation into an escalation for `reason`.
fn escalation(
    report: &Report,
    playbook: Option<&Playbook>,
    decision: &GateDecision,
    reason: String,
    now: DateTime<Utc>,
) -> Action {
    let mut data = decision.data.clone();
    merge(
        &mut data,
        json!({ "route": Route::Escalate.as_str(), "reason": reason }),
    );
    action_at(
        report,
        playbook.map(Playbook::name).unwrap_or(NAME),
        ActionStatus::Skipped,
        format!("{}: {reason}", Route::Escalate.verb()),
        data,
        now,
    )
}

#[async_trait]
impl Remediator for PlaybookRemediator {
    fn name(&self) -> &str {
        NAME
    }

    async fn remediate(
        &self,
        report: &Report,
        diagnosis: &Diagnosis,
        ctx: &RemediationContext,
    ) -> Result<Vec<Action>> {
        let mut actions = self.decide_and_run(report, diagnosis, ctx).await?;
        for a in &mut actions {
            self.scrub(a);
        }
        Ok(actions)
    }
}

impl PlaybookRemediator {
    /// Secrets in planned commands, outputs and error texts never reach the
    /// store or the notifiers.
    fn scrub(&self, action: &mut Action) {
        scrub_string(&self.scrubber, &mut action.detail);
        scrub_value(&self.scrubber, &mut action.data);
    }

    /// Takes one attempt of today's limits in the store, atomically;
    /// `Some(reason)` when a limit is already used up (by another process
    /// that decided at the same moment) or the store cannot say.
    async fn reserve_attempt(
        &self,
        report: &Report,
        ctx: &RemediationContext,
        now: DateTime<Utc>,
    ) -> Option<String> {
        let (per_day, per_failure) = self.gate.attempt_limits();
        let (failure_key, day_key) = attempt_keys(report);
        let window = day_start(now);
        for (key, limit, what) in [
            (&failure_key, per_failure, "max_attempts_per_failure"),
            (&day_key, per_day, "max_attempts_per_day"),
        ] {
            match ctx.store.try_consume(key, window, limit).await {
                Ok(true) => {}
                Ok(false) => {
                    return Some(format!(
                        "`remediation.{what}` ({limit}) was reached by an attempt that started at the same time"
                    ));
                }
                Err(e) => {
                    return Some(format!(
                        "cannot reserve the attempt, so limits cannot hold: {}",
                        e.chain_string()
                    ));
                }
            }
        }
        None
    }

    async fn decide_and_run(
        &self,
        report: &Report,
        diagnosis: &Diagnosis,
        ctx: &RemediationContext,
    ) -> Result<Vec<Action>> {
        let now = ctx.clock.now();
        let playbook = self.playbooks.first_match(report, Some(diagnosis.category));
        let mut count_error = None;
        let counted = self.gate.needs_counts(report, diagnosis, playbook);
        let counts = if counted {
            match count_attempts(&*ctx.store, report, now).await {
                Ok(c) => c,
                Err(e) => {
                    count_error = Some(e.chain_string());
                    AttemptCounts::default()
                }
            }
        } else {
            AttemptCounts::default()
        };
        let mut decision = self.gate.decide(report, diagnosis, playbook, counts, now);
        if !counted {
            // The counts could not change the route, so they were not read.
            merge(
                &mut decision.data,
                json!({ "attempts_today": null, "attempts_today_for_failure": null }),
            );
        }
        let target = playbook.map(Playbook::name).unwrap_or(NAME);

        let (Route::AutoRemediate, Some(playbook)) = (decision.route, playbook) else {
            return Ok(vec![action_at(
                report,
                target,
                ActionStatus::Skipped,
                decision.detail(),
                decision.data.clone(),
                now,
            )]);
        };
        // Auto-remediation was chosen but cannot go ahead safely.
        let escalate = |reason: String| {
            Ok(vec![escalation(
                report,
                Some(playbook),
                &decision,
                reason,
                now,
            )])
        };
        if let Some(e) = count_error {
            let reason = format!("cannot count earlier attempts, so limits cannot hold: {e}");
            return escalate(reason);
        }
        let plan = match Plan::resolve(playbook, report) {
            Ok(p) => p,
            Err(reason) => {
                return escalate(reason);
            }
        };

        let mut data = decision.data.clone();
        merge(
            &mut data,
            json!({ "dry_run": self.dry_run, "executor": plan.executor.as_str(), "plan": plan.to_json() }),
        );
        if self.dry_run {
            return Ok(vec![action_at(
                report,
                target,
                ActionStatus::DryRun,
                format!("dry run: would run {}", plan.summary()),
                data,
                now,
            )]);
        }

        // The counts above may be stale: another process sharing the store
        // may have decided at the same moment. Take the attempt atomically
        // (per failure, then per day) before running anything.
        if let Some(reason) = self.reserve_attempt(report, ctx, now).await {
            return escalate(reason);
        }
        let mut action = action_at(
            report,
            target,
            ActionStatus::Pending,
            format!("running {}", plan.summary()),
            data,
            now,
        );
        let mut pending = action.clone();
        self.scrub(&mut pending);
        if let Err(e) = ctx.store.record_action(&pending).await {
            let reason = format!(
                "cannot record the attempt before running it, so limits cannot hold: {}",
                e.chain_string()
            );
            return escalate(reason);
        }
        let outcome = self.execute(&plan).await;
        action.status = outcome.status;
        action.detail = format!("ran {}: {}", plan.summary(), outcome.summary);
        action.url = outcome.url;
        merge(&mut action.data, json!({ "result": outcome.data }));
        action.finished_at = ctx.clock.now().max(now);
        Ok(vec![action])
    }
}
