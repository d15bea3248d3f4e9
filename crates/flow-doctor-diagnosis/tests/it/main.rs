//! Public-API tests of flow-doctor-diagnosis.

mod corpus;
#[cfg(feature = "git")]
mod git;
mod learning;
#[cfg(all(feature = "anthropic", feature = "openai"))]
mod llm;
#[cfg(feature = "anthropic")]
mod shared_store;
