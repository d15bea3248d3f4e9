//! The LLM [`Diagnoser`]: prompt, budget, call, validate.
//!
//! For each report:
//! 1. reserve one unit of the daily budget (`scope = "diagnosis"`, window =
//!    the UTC day, caps `max_diagnosed_per_day` and `max_daily_cost_usd`)
//!    in the store, atomically across processes; refused →
//!    [`DiagnoseOutcome::Skipped`] naming the cap and the day's usage;
//! 2. assemble the prompt ([`crate::context`]) and pass it through the
//!    scrubber once more;
//! 3. call the model for strict JSON, settle the reservation with the real
//!    cost (zero when no answer came back), even when the answer is
//!    unusable;
//! 4. validate the answer ([`crate::answer`]); unusable → `Err`
//!    ([`Error::Permanent`]) with the reason.
//!
//! Errors are returned as they are; the engine counts a flow's consecutive
//! failed diagnoses (for every diagnoser, not only this one) and raises one
//! CRITICAL report when the streak reaches `alert_after_failures`.

use std::sync::Arc;

use async_trait::async_trait;
use flow_doctor_core::clock::day_start;
use flow_doctor_core::config::DiagnosisConfig;
use flow_doctor_core::store::{BudgetGrant, BudgetRequest, BudgetUsage};
use flow_doctor_core::{
    DiagnoseContext, DiagnoseOutcome, Diagnoser, Error, Report, Result, TokenUsage,
};

use crate::answer::parse_answer;
use crate::context::{Prompt, build_prompt, gather};
use crate::llm::LlmClient;

/// Budget scope of LLM diagnoses.
pub const BUDGET_SCOPE: &str = "diagnosis";

/// Most tokens the model may answer with.
pub const MAX_ANSWER_TOKENS: u32 = 1500;

/// Diagnoses with an LLM under the daily budget.
#[derive(Debug, Clone)]
pub struct LlmDiagnoser {
    client: Arc<LlmClient>,
    cfg: DiagnosisConfig,
}

impl LlmDiagnoser {
    /// A diagnoser over `client`, with budget, prompt and alert settings from
    /// `cfg`.
    pub fn new(client: LlmClient, cfg: &DiagnosisConfig) -> Self {
        Self {
            client: Arc::new(client),
            cfg: cfg.clone(),
        }
    }

    /// Builds the client from `cfg` too.
    pub fn from_config(cfg: &DiagnosisConfig) -> Result<Self> {
        Ok(Self::new(LlmClient::from_config(cfg)?, cfg))
    }

    /// The client (shared with whoever else needs one).
    pub fn client(&self) -> &LlmClient {
        &self.client
    }

    /// The exact prompt this diagnoser would send for `report`, scrubbed.
    pub async fn prompt(&self, report: &Report, ctx: &DiagnoseContext) -> Prompt {
        prompt_for(report, &self.cfg, ctx).await
    }

    async fn attempt(&self, report: &Report, ctx: &DiagnoseContext) -> Result<DiagnoseOutcome> {
        let component = self.client.component();
        let request = BudgetRequest {
            scope: BUDGET_SCOPE.into(),
            window_start: day_start(ctx.clock.now()),
            max_count: self.cfg.max_diagnosed_per_day,
            max_cost_usd: self.cfg.max_daily_cost_usd,
        };
        let reservation = match ctx.store.reserve_budget(&request).await? {
            BudgetGrant::Granted(id) => id,
            BudgetGrant::CountExceeded(usage) => {
                return Ok(DiagnoseOutcome::Skipped {
                    reason: format!(
                        "daily LLM diagnosis cap reached: {}/{} diagnoses today (max_diagnosed_per_day), ${:.4} spent",
                        usage.count, self.cfg.max_diagnosed_per_day, usage.cost_usd
                    ),
                });
            }
            BudgetGrant::CostExceeded(usage) => {
                return Ok(DiagnoseOutcome::Skipped {
                    reason: cost_reason(&usage, self.cfg.max_daily_cost_usd),
                });
            }
        };
        let prompt = self.prompt(report, ctx).await;
        let completion = self
            .client
            .complete_json(&prompt.system, &prompt.user, MAX_ANSWER_TOKENS)
            .await;
        let (tokens, cost, model) = match &completion {
            Ok(c) => (c.usage, c.cost_usd, c.model.clone()),
            Err(_) => (TokenUsage::default(), 0.0, self.client.model().to_string()),
        };
        if let Err(e) = ctx
            .store
            .settle_budget(&reservation, tokens, cost, &model)
            .await
        {
            tracing::warn!(message = "Could not settle the LLM budget reservation.", error = %e.chain_string());
        }
        let completion = completion?;
        let mut diagnosis =
            parse_answer(&completion.text).map_err(|e| Error::permanent(component, e))?;
        diagnosis.model = Some(completion.model);
        diagnosis.tokens = Some(completion.usage);
        diagnosis.cost_usd = Some(completion.cost_usd);
        diagnosis.created_at = ctx.clock.now();
        Ok(DiagnoseOutcome::Diagnosed(diagnosis))
    }
}

#[async_trait]
impl Diagnoser for LlmDiagnoser {
    fn name(&self) -> &str {
        self.client.component()
    }

    async fn diagnose(&self, report: &Report, ctx: &DiagnoseContext) -> Result<DiagnoseOutcome> {
        self.attempt(report, ctx).await
    }
}

/// The prompt for `report` under `cfg`: context gathered, built, and the
/// user text scrubbed once more.
pub async fn prompt_for(report: &Report, cfg: &DiagnosisConfig, ctx: &DiagnoseContext) -> Prompt {
    let extra = gather(report, cfg, ctx).await;
    let mut prompt = build_prompt(report, &extra, cfg.max_prompt_tokens);
    prompt.user = ctx.scrubber.scrub(&prompt.user).into_owned();
    prompt
}

fn cost_reason(usage: &BudgetUsage, max: f64) -> String {
    format!(
        "daily LLM cost cap reached: ${:.4} of ${max:.2} spent today (max_daily_cost_usd), {} diagnoses",
        usage.cost_usd, usage.count
    )
}
