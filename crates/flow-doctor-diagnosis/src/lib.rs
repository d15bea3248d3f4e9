//! [`Diagnoser`] implementations: the offline
//! knowledge base first, then an LLM (Anthropic Messages or any
//! OpenAI-compatible chat-completions endpoint) under a daily budget.
//!
//! | Module | What |
//! |---|---|
//! | [`kb`] | [`KnowledgeBase`]: learned exact-signature patterns, user pattern files, the built-in library |
//! | [`feedback`] | [`apply_feedback`]: confirmed/corrected diagnoses become patterns |
//! | [`context`] | prompt assembly: source excerpts, git context (feature `git`), size budget |
//! | [`answer`] | strict JSON answer parsing and validation |
//! | `llm` | `LlmClient` (features `anthropic`, `openai`), reusable by other crates |
//! | [`ChainDiagnoser`] | knowledge base, then LLM |
//!
//! # Features
//! | Feature | Adds |
//! |---|---|
//! | `anthropic` | Anthropic Messages API client and `LlmDiagnoser` |
//! | `openai` | OpenAI-compatible chat completions (OpenAI, OpenRouter, vLLM, Ollama) |
//! | `git` | git context in prompts (git2, local repositories) |
//!
//! ```
//! let cfg = flow_doctor_core::Config::new("etl");
//! let diagnoser = flow_doctor_diagnosis::from_config(&cfg)?.expect("enabled by default");
//! assert_eq!(diagnoser.name(), "knowledge_base");
//! # Ok::<(), flow_doctor_core::Error>(())
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod answer;
mod chain;
pub mod context;
pub mod feedback;
pub mod input;
pub mod kb;
#[cfg(any(feature = "anthropic", feature = "openai"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "anthropic", feature = "openai"))))]
pub mod llm;
#[cfg(any(feature = "anthropic", feature = "openai"))]
mod llm_diagnoser;

use std::sync::Arc;

pub use chain::ChainDiagnoser;
pub use feedback::apply_feedback;
pub use kb::KnowledgeBase;
#[cfg(any(feature = "anthropic", feature = "openai"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "anthropic", feature = "openai"))))]
pub use llm_diagnoser::{BUDGET_SCOPE, LlmDiagnoser, MAX_ANSWER_TOKENS, prompt_for};

use flow_doctor_core::config::LlmProvider;
use flow_doctor_core::{Config, Diagnoser, Result};

/// The diagnoser `cfg.diagnosis` asks for: `None` when `enabled: false`;
/// the knowledge base alone with `provider: none`; otherwise the knowledge
/// base chained with the LLM. Invalid pattern files, a missing API key or
/// a provider not compiled in are [`flow_doctor_core::Error::Config`].
pub fn from_config(cfg: &Config) -> Result<Option<Arc<dyn Diagnoser>>> {
    let d = &cfg.diagnosis;
    if !d.enabled {
        return Ok(None);
    }
    let kb: Arc<dyn Diagnoser> = Arc::new(KnowledgeBase::from_config(d)?);
    if d.provider == LlmProvider::None {
        return Ok(Some(kb));
    }
    #[cfg(any(feature = "anthropic", feature = "openai"))]
    {
        let llm: Arc<dyn Diagnoser> = Arc::new(LlmDiagnoser::from_config(d)?);
        Ok(Some(Arc::new(ChainDiagnoser::new(vec![kb, llm]))))
    }
    #[cfg(not(any(feature = "anthropic", feature = "openai")))]
    Err(flow_doctor_core::Error::config(
        "diagnosis",
        "an LLM provider is configured but flow-doctor-diagnosis was built without the `anthropic` and `openai` features",
    ))
}
