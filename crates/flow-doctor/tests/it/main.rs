//! End-to-end tests of the facade: configuration → `flow_doctor::notifiers`
//! and `open_store` → the real engine → real notifiers talking to local
//! peers (a GitHub REST fake, wiremock receivers, aiosmtpd) → a real SQLite
//! file.

mod notify_e2e;
mod support;
