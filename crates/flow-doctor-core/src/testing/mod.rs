//! Test doubles and conformance suites for stage implementations
//! (feature `test-util`).
//!
//! **Not a stable API:** it changes with the contracts it checks.

mod conformance;
mod doubles;

pub use crate::clock::ManualClock;
pub use conformance::*;
pub use doubles::{RecordingNotifier, ScriptedDiagnoser};
