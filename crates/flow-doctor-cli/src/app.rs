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
        check_flow_override(&cfg)?;
    }
    Ok(cfg)
}

/// The loaded configuration passed validation; a `--flow` name must too
/// (a valid name, and not one of its own `dependencies`).
fn check_flow_override(cfg: &Config) -> anyhow::Result<()> {
    let Err(problems) = cfg.validate() else {
        return Ok(());
    };
    let lines: Vec<String> = problems
        .into_iter()
        .filter_map(|e| match e.key.as_deref() {
            Some("flow_name") => Some(format!(
                "--flow: {} (fix: pass a name such as `nightly-etl`: letters, digits, `-`, `_`, `.`, `/`, `:`, `@`)",
                e.message
            )),
            Some(k) if k.starts_with("dependencies") => Some(format!(
                "--flow: `{}` is listed in `{k}` of the configuration, and a flow cannot depend on itself (fix: pass another name or remove it from `dependencies`)",
                cfg.flow_name
            )),
            _ => None,
        })
        .collect();
    if lines.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("{}", lines.join("\n"))
    }
}

/// A flow name made from a command's file name: characters a flow name
/// cannot hold become `-`, at most 128 of them; `None` when nothing is left.
pub(crate) fn flow_name_from_command(file_name: &str) -> Option<String> {
    let name: String = file_name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '@') {
                c
            } else {
                '-'
            }
        })
        .take(128)
        .collect();
    let name = name.trim_matches(|c| c == '-' || c == '.');
    (!name.is_empty()).then(|| name.to_owned())
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

/// The most failure text `report` keeps: the end of a longer input (where
/// a traceback ends), as `run` keeps the end of stderr.
pub(crate) const MAX_INPUT: usize = 1024 * 1024;

/// Reads FILE, or stdin when `None` or `-`: the last [`MAX_INPUT`] bytes,
/// in bounded memory, as text (bytes that are not UTF-8 become `�`: one
/// stray byte must not lose the report).
pub(crate) fn read_input(file: Option<&Path>) -> anyhow::Result<String> {
    use std::io::Read;
    let mut input: Box<dyn Read> = match file {
        Some(p) if p != Path::new("-") => Box::new(
            std::fs::File::open(p).with_context(|| format!("cannot read {}", p.display()))?,
        ),
        _ => Box::new(std::io::stdin().lock()),
    };
    let mut kept = std::collections::VecDeque::with_capacity(64 * 1024);
    let mut cut = false;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).context("cannot read the failure text"),
        };
        kept.extend(&buf[..n]);
        if kept.len() > MAX_INPUT {
            kept.drain(..kept.len() - MAX_INPUT);
            cut = true;
        }
    }
    let bytes: Vec<u8> = kept.into_iter().collect();
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    if cut && let Some(nl) = text.find('\n').filter(|nl| nl + 1 < text.len()) {
        // Start at a line.
        text.drain(..=nl);
    }
    Ok(text)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_file_names_become_valid_flow_names() {
        assert_eq!(
            flow_name_from_command("nightly-etl.sh").as_deref(),
            Some("nightly-etl.sh")
        );
        assert_eq!(
            flow_name_from_command("nightly load (v2).sh").as_deref(),
            Some("nightly-load--v2-.sh")
        );
        assert_eq!(flow_name_from_command("   ").as_deref(), None);
        assert_eq!(flow_name_from_command("..").as_deref(), None);
        assert_eq!(
            flow_name_from_command(&"x".repeat(300)).map(|n| n.len()),
            Some(128)
        );
        for name in ["nightly load (v2).sh", "ünïcode job", "a&b|c"] {
            let mut cfg = Config::new(flow_name_from_command(name).unwrap());
            cfg.store.kind = flow_doctor::config::StoreKind::Memory;
            assert!(cfg.validate().is_ok(), "{name} gives a valid flow name");
        }
    }
}
