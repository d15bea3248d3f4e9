//! The model that writes the diff.
//!
//! [`FixModel`] is the one call the pipeline makes; it is implemented for
//! `flow_doctor_diagnosis::llm::LlmClient` (features `anthropic` /
//! `openai`), the same client, providers and `diagnosis:` settings the
//! diagnoser uses.

use async_trait::async_trait;
use flow_doctor_core::{Result, TokenUsage};

/// One answer.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelAnswer {
    /// The answer's text.
    pub text: String,
    /// The model that answered.
    pub model: String,
    /// Token usage.
    pub usage: TokenUsage,
    /// Cost in US dollars.
    pub cost_usd: f64,
}

/// A chat model asked for one completion.
#[async_trait]
pub trait FixModel: Send + Sync + 'static {
    /// Sends a system and a user message and returns the answer.
    async fn complete(&self, system: &str, user: &str, max_tokens: u32) -> Result<ModelAnswer>;
}

#[cfg(any(feature = "anthropic", feature = "openai"))]
#[async_trait]
impl FixModel for flow_doctor_diagnosis::llm::LlmClient {
    async fn complete(&self, system: &str, user: &str, max_tokens: u32) -> Result<ModelAnswer> {
        let c =
            flow_doctor_diagnosis::llm::LlmClient::complete(self, system, user, max_tokens).await?;
        Ok(ModelAnswer {
            text: c.text,
            model: c.model,
            usage: c.usage,
            cost_usd: c.cost_usd,
        })
    }
}
