//! [`Diagnoser`](flow_doctor_core::Diagnoser) implementations: the offline
//! knowledge base first, then an LLM (Anthropic Messages or any
//! OpenAI-compatible chat-completions endpoint) under a daily budget.

pub mod input;
pub mod kb;
#[cfg(any(feature = "anthropic", feature = "openai"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "anthropic", feature = "openai"))))]
pub mod llm;
