//! Shared plumbing for the verbs: configuration, store and engine from the
//! command line's `--config` / `--flow`, and output helpers.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use flow_doctor::{Config, FlowDoctor, Store};

/// Loads the configuration: `--config`, else `FLOW_DOCTOR_CONFIG`, else
/// `flow-doctor.yaml`/`.yml`/`.toml` in the current directory, else the
/// embedded defaults (SQLite `./flow_doctor.db`, console output). `--flow`
/// overrides the flow name.
pub(crate) fn load_config(path: Option<&Path>, flow: Option<&str>) -> anyhow::Result<Config> {
    let mut cfg = Config::load(path)?;
    if let Some(flow) = flow {
        cfg.flow_name = flow.to_string();
    }
    Ok(cfg)
}

/// Opens the configured store.
pub(crate) fn open_store(cfg: &Config) -> anyhow::Result<Arc<dyn Store>> {
    flow_doctor::open_store(cfg).context("cannot open the store")
}

/// Builds the engine from configuration (store, notifiers, diagnoser,
/// remediator), checking notifier credentials.
pub(crate) fn build_doctor(cfg: &Config) -> anyhow::Result<FlowDoctor> {
    flow_doctor::init(cfg).context("cannot start flow-doctor")
}

/// Reads FILE, or stdin when `None` or `-`.
pub(crate) fn read_input(file: Option<&Path>) -> anyhow::Result<String> {
    use std::io::Read as _;
    match file {
        Some(p) if p != Path::new("-") => {
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))
        }
        _ => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("cannot read stdin")?;
            Ok(text)
        }
    }
}

/// A runtime for verbs that talk to the store.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// `2026-03-02 10:00:00Z`.
pub(crate) fn time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%SZ").to_string()
}
