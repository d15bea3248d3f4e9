//! `flow-doctor status [--json]`: today's counts of reports seen, fired and
//! suppressed by reason, per flow.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use flow_doctor::DecisionKind;
use flow_doctor::clock::day_start;
use serde::Serialize;

use crate::app;

/// Arguments of `flow-doctor status`.
#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// Only this flow.
    #[arg(long)]
    flow: Option<String>,
    /// Configuration file (for the store location).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Today's counts of one flow.
#[derive(Debug, Default, Serialize)]
struct FlowStatus {
    seen: u64,
    fired: u64,
    suppressed: BTreeMap<String, u64>,
}

pub(crate) fn run(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let cfg = app::load_config(args.config.as_deref(), None)?;
    let store = app::open_store(&cfg)?;
    let rt = app::runtime()?;
    let since = day_start(chrono::Utc::now());
    let counts = rt.block_on(store.decision_counts(since, args.flow.as_deref()))?;
    let mut flows: BTreeMap<String, FlowStatus> = BTreeMap::new();
    for c in counts {
        let f = flows.entry(c.flow).or_default();
        f.seen += c.count;
        if c.kind == DecisionKind::Fired {
            f.fired += c.count;
        } else {
            *f.suppressed.entry(c.kind.as_str().to_string()).or_default() += c.count;
        }
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "since": since,
                "flows": flows,
            }))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!("since {}", app::time(since));
    if flows.is_empty() {
        println!("nothing seen today");
    }
    for (flow, s) in &flows {
        let suppressed: Vec<String> = s
            .suppressed
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        println!(
            "{flow}: seen {}, fired {}{}",
            s.seen,
            s.fired,
            if suppressed.is_empty() {
                String::new()
            } else {
                format!(", suppressed: {}", suppressed.join(", "))
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}
