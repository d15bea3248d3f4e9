//! [`ChainDiagnoser`]: ask diagnosers in order until one answers.

use std::sync::Arc;

use async_trait::async_trait;
use flow_doctor_core::{DiagnoseContext, DiagnoseOutcome, Diagnoser, Report, Result};

/// Tries each diagnoser in order. A diagnosis ends the chain (so a
/// knowledge-base hit never reaches the LLM); `NoMatch` and `Skipped` pass
/// on to the next. An error ends the chain too: it is the answer of a
/// diagnoser that tried and failed. With no answer, the last `Skipped`
/// reason wins over `NoMatch`.
#[derive(Clone)]
pub struct ChainDiagnoser {
    links: Vec<Arc<dyn Diagnoser>>,
    name: String,
}

impl std::fmt::Debug for ChainDiagnoser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainDiagnoser")
            .field("name", &self.name)
            .finish()
    }
}

impl ChainDiagnoser {
    /// A chain over `links`, in order.
    pub fn new(links: Vec<Arc<dyn Diagnoser>>) -> Self {
        let name = links
            .iter()
            .map(|d| d.name().to_string())
            .collect::<Vec<_>>()
            .join("+");
        Self { links, name }
    }
}

#[async_trait]
impl Diagnoser for ChainDiagnoser {
    /// The links' names joined by `+` (`knowledge_base+anthropic`).
    fn name(&self) -> &str {
        &self.name
    }

    async fn diagnose(&self, report: &Report, ctx: &DiagnoseContext) -> Result<DiagnoseOutcome> {
        let mut result = DiagnoseOutcome::NoMatch;
        for link in &self.links {
            match link.diagnose(report, ctx).await? {
                DiagnoseOutcome::Diagnosed(d) => return Ok(DiagnoseOutcome::Diagnosed(d)),
                skipped @ DiagnoseOutcome::Skipped { .. } => result = skipped,
                DiagnoseOutcome::NoMatch => {}
            }
        }
        Ok(result)
    }
}
