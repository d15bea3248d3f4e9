//! The model that writes the diff.
//!
//! [`FixModel`] is the one call the pipeline makes.

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
