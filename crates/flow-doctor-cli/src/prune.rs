//! `flow-doctor prune [--older-than DUR] [--dry-run] [--json] [--config PATH]`:
//! retention for the store, for cron.
//!
//! - Removes incidents whose last occurrence is older than the cut-off, with
//!   their diagnoses, decisions, actions, feedback, digested digest entries
//!   and fix attempts, plus old budget and rate-limit windows (see
//!   `Store::prune` for the exact contract). Knowledge-base patterns,
//!   counters, unsent digest entries, pending actions (and their incidents)
//!   and today's and yesterday's accounting are kept.
//! - The cut-off is now minus `--older-than`, else now minus
//!   `store.retention_days` (default 90). With `retention_days: 0` and no
//!   `--older-than` nothing is pruned.
//! - `--dry-run` counts what would be removed and removes nothing.
//! - Prints the counts per kind (`--json`: `{before, dry_run, removed}`
//!   with `removed` the `PruneStats` document, `before` null when
//!   retention is off).
//!
//! ```text
//! flow-doctor prune --older-than 30d --dry-run
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::Args;
use flow_doctor::config::HumanDuration;
use flow_doctor::store::{PruneRequest, PruneStats};
use serde::Serialize;

use crate::app;

/// Arguments of `flow-doctor prune`.
#[derive(Debug, Args)]
pub(crate) struct PruneArgs {
    /// Remove incidents quiet for longer than this (`30d`, `12h`); default:
    /// `store.retention_days`.
    #[arg(long, value_parser = HumanDuration::parse)]
    older_than: Option<HumanDuration>,
    /// Count what would be removed; remove nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Configuration file (default: $FLOW_DOCTOR_CONFIG, else
    /// flow-doctor.yaml/.yml/.toml in the current directory).
    #[arg(long)]
    config: Option<PathBuf>,
}

/// What `prune --json` prints.
#[derive(Debug, Serialize)]
struct PruneOutput {
    /// The cut-off, `None` when retention is off.
    before: Option<DateTime<Utc>>,
    dry_run: bool,
    removed: PruneStats,
}

/// Runs `prune`.
pub(crate) fn run(args: PruneArgs) -> anyhow::Result<ExitCode> {
    let cfg = app::load_config(args.config.as_deref(), None)?;
    let now = Utc::now();
    let keep = match args.older_than {
        Some(d) => Some(d.get()),
        None => cfg.store.retention(),
    };
    let Some(keep) = keep else {
        let out = PruneOutput {
            before: None,
            dry_run: args.dry_run,
            removed: PruneStats::default(),
        };
        if args.json {
            println!("{}", serde_json::to_string_pretty(&out)?);
        } else {
            println!(
                "store.retention_days is 0: keeping everything (pass --older-than to prune anyway)"
            );
        }
        return Ok(ExitCode::SUCCESS);
    };
    let before = chrono::Duration::from_std(keep)
        .ok()
        .and_then(|d| now.checked_sub_signed(d))
        .context("--older-than is too long")?;
    if args.older_than.is_some() && keep < cfg.dedup.cooldown.get() {
        eprintln!(
            "flow-doctor: warning: --older-than is shorter than dedup.cooldown; a repeat of a \
             pruned incident will be notified as a new one"
        );
    }
    let mut request = PruneRequest::new(before, now);
    request.dry_run = args.dry_run;
    let store = app::open_store(&cfg)?;
    let removed = app::runtime()?
        .block_on(store.prune(&request))
        .context("cannot prune the store")?;
    let out = PruneOutput {
        before: Some(before),
        dry_run: args.dry_run,
        removed,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print(&out, before);
    }
    Ok(ExitCode::SUCCESS)
}

fn print(out: &PruneOutput, before: DateTime<Utc>) {
    let s = &out.removed;
    let verb = if out.dry_run {
        "would remove"
    } else {
        "removed"
    };
    println!(
        "{verb} {} records last active before {}{}",
        s.total(),
        app::time(before),
        if out.dry_run { " (dry run)" } else { "" }
    );
    for (what, n) in [
        ("incidents", s.incidents),
        ("diagnoses", s.diagnoses),
        ("decisions", s.decisions),
        ("actions", s.actions),
        ("feedback", s.feedback),
        ("digest entries", s.digest_entries),
        ("fix attempts", s.fix_attempts),
        ("budget reservations", s.budget_reservations),
        ("rate-limit windows", s.rate_limit_windows),
    ] {
        println!("  {what:<20} {n:>8}");
    }
    if s.incidents_kept > 0 {
        println!(
            "kept {} older incidents still in flight (a pending action or an unsent digest entry)",
            s.incidents_kept
        );
    }
}
