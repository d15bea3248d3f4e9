//! Peers and plumbing shared by the end-to-end tests.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::TimeZone;
use flow_doctor::clock::ManualClock;
use flow_doctor::config::Format;
use flow_doctor::{Config, FlowDoctor, Outcome, ReportHandle, RetryPolicy};

#[allow(dead_code)]
#[path = "../../../flow-doctor-notify/tests/it/support/github.rs"]
pub(crate) mod github;

#[allow(dead_code)]
#[path = "../../../flow-doctor-notify/tests/it/support/smtp.rs"]
pub(crate) mod smtp;

/// The token the GitHub fake accepts (the configured one, not a planted secret).
pub(crate) const GITHUB_TOKEN: &str = "ghs_e2eInstallationToken0000000000000";

/// A guard against a hung worker, not a timing assertion.
const WAIT: Duration = Duration::from_secs(120);

/// 2026-03-02 10:00 UTC: a fixed instant in the past, so the engine takes
/// the clock's time as each report's time (a capture time ahead of the
/// clock is clamped to it).
pub(crate) fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(
        chrono::Utc
            .with_ymd_and_hms(2026, 3, 2, 10, 0, 0)
            .single()
            .expect("a valid instant"),
    ))
}

/// Retries fast enough that an outage costs milliseconds, not minutes.
pub(crate) fn fast_retry() -> RetryPolicy {
    RetryPolicy::new(3, Duration::from_millis(20))
}

/// Parses YAML configuration text as a user would write it.
pub(crate) fn config(yaml: &str) -> Config {
    Config::from_str_as(yaml, Format::Yaml).expect("a valid configuration")
}

/// The `store:` and `github` channel lines every test uses.
pub(crate) fn github_yaml(db: &Path, github_uri: &str) -> String {
    format!(
        "flow_name: etl\nrepo: acme/etl\nstore:\n  type: sqlite\n  path: {}\n\
         notify:\n  - type: github\n    token: {GITHUB_TOKEN}\n    base_url: {github_uri}\n",
        db.display()
    )
}

/// The engine as `flow_doctor::init` builds it (store and notifiers from the
/// configuration), with a manual clock and a fast retry policy.
pub(crate) fn engine(config: &Config, clock: &Arc<ManualClock>) -> FlowDoctor {
    let mut builder = FlowDoctor::builder(config.flow_name.clone())
        .config(config)
        .store(flow_doctor::open_store(config).expect("the store opens"))
        .clock(clock.clone())
        .retry_policy(fast_retry());
    for (notifier, route) in flow_doctor::notifiers(config).expect("the notifiers build") {
        builder = builder.notifier_with_route(notifier, route);
    }
    builder.build().expect("the engine starts")
}

/// The report's outcome, once the worker decided.
pub(crate) async fn decided(handle: &ReportHandle) -> Outcome {
    tokio::time::timeout(WAIT, handle.outcome())
        .await
        .expect("the engine decides")
}

/// A Python failure as `flow-doctor run` would capture it from stderr.
pub(crate) fn python_failure(error: &str, function: &str, line: u32) -> String {
    format!(
        "Traceback (most recent call last):\n  File \"/srv/etl/main.py\", line 12, in <module>\n    \
         main()\n  File \"/srv/etl/load.py\", line {line}, in {function}\n    \
         rows = read(table)\n{error}\n"
    )
}
