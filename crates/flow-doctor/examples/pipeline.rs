//! A Rust pipeline using flow-doctor as a library: the tracing layer, a
//! guard around each stage, ambient context and the panic hook.
//!
//! ```sh
//! cargo run -p flow-doctor --example pipeline
//! ```
//!
//! It stores incidents in `./flow_doctor.db` and prints them on stderr.

use std::time::Duration;

use flow_doctor::{Config, FlowDoctor};
use tracing_subscriber::prelude::*;

#[derive(Debug, thiserror::Error)]
enum EtlError {
    #[error("row {row} has no column `{column}`")]
    MissingColumn { row: usize, column: &'static str },
}

fn transform(rows: &[&str]) -> Result<Vec<f64>, EtlError> {
    rows.iter()
        .enumerate()
        .map(|(row, line)| {
            let amount = line.split(',').nth(2).ok_or(EtlError::MissingColumn {
                row,
                column: "amount",
            })?;
            tracing::info!(row, amount, "parsed row");
            Ok(amount.parse().unwrap_or(0.0))
        })
        .collect()
}

fn main() -> Result<(), flow_doctor::Error> {
    let config = Config::load(None)?;
    let mut config = config;
    config.flow_name = "nightly-orders".into();
    let fd: FlowDoctor = flow_doctor::init(&config)?;
    let _flush = fd.flush_guard(Duration::from_secs(10));
    flow_doctor::panic::install(&fd);
    tracing_subscriber::registry()
        .with(flow_doctor::tracing::layer(&fd))
        .init();

    let rows = ["1001,alice,12.50", "1002,bob"];
    let result = flow_doctor::scope()
        .stage("transform")
        .run_id("2026-03-02")
        .run(|| fd.guard(|| transform(&rows)));
    if let Err(e) = &result {
        tracing::warn!(error = %e, "transform failed; the run is incomplete");
    }
    Ok(())
}
