//! End-to-end tests of the facade: configuration → `flow_doctor::notifiers`
//! and `open_store` → the real engine → real notifiers talking to local
//! peers (a GitHub REST fake, wiremock receivers, aiosmtpd) → a real SQLite
//! file; and remediation through the engine.

mod notify_e2e;
#[cfg(all(feature = "remediation", feature = "test-util"))]
mod remediation;
mod support;
