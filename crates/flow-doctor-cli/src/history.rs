//! `flow-doctor history [--flow NAME] [--limit N] [--json]` and
//! `flow-doctor show ID [--json]`: incidents with their counts, first/last
//! seen, decision, diagnosis and actions.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use flow_doctor::config::HumanDuration;
use flow_doctor::model::truncate_chars;
use flow_doctor::store::{ActionQuery, DecisionQuery, ReportQuery};
use flow_doctor::{Action, Decision, Diagnosis, Report, ReportKind, Store};
use serde::Serialize;

use crate::app;

/// Arguments of `flow-doctor history`.
#[derive(Debug, Args)]
pub(crate) struct HistoryArgs {
    /// Only this flow.
    #[arg(long)]
    flow: Option<String>,
    /// At most this many incidents, newest first.
    #[arg(long, default_value_t = 20)]
    limit: usize,
    /// Include success pings.
    #[arg(long)]
    all: bool,
    /// Configuration file (for the store location).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `flow-doctor show`.
#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// Incident id (or a unique prefix of at least 4 characters).
    id: String,
    /// Configuration file (for the store location).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// One incident as `history` and `show` print it.
#[derive(Debug, Serialize)]
struct IncidentView {
    report: Report,
    decision: Option<Decision>,
    diagnosis: Option<Diagnosis>,
}

/// One incident with everything recorded about it.
#[derive(Debug, Serialize)]
struct IncidentDetail {
    report: Report,
    diagnosis: Option<Diagnosis>,
    decisions: Vec<Decision>,
    actions: Vec<Action>,
}

pub(crate) fn history(args: HistoryArgs) -> anyhow::Result<ExitCode> {
    let cfg = app::load_config(args.config.as_deref(), None)?;
    let store = app::open_store(&cfg)?;
    let rt = app::runtime()?;
    let views = rt.block_on(async {
        let query = ReportQuery {
            flow: args.flow.clone(),
            exclude_kind: (!args.all).then_some(ReportKind::Success),
            limit: Some(args.limit),
            ..ReportQuery::default()
        };
        let mut views = Vec::new();
        for report in store.list_reports(&query).await? {
            let decision = own_decision(&*store, &report).await?;
            let diagnosis = store.get_diagnosis(&report.id).await?;
            views.push(IncidentView {
                report,
                decision,
                diagnosis,
            });
        }
        anyhow::Ok(views)
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&views)?);
        return Ok(ExitCode::SUCCESS);
    }
    if views.is_empty() {
        println!("no incidents recorded in {}", cfg.store.path.display());
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<8}  {:<20}  {:>5}  {:<16}  {:<18}  {:<9}  ERROR",
        "ID", "LAST SEEN", "COUNT", "FLOW", "DECISION", "CATEGORY"
    );
    for v in &views {
        let r = &v.report;
        println!(
            "{:<8}  {:<20}  {:>5}  {:<16}  {:<18}  {:<9}  {}",
            r.id.short(),
            app::time(r.last_seen),
            r.dedup_count,
            truncate_chars(&r.flow, 16),
            v.decision.as_ref().map_or("-", |d| d.kind.as_str()),
            v.diagnosis.as_ref().map_or("-", |d| d.category.as_str()),
            truncate_chars(&r.headline(), 80)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The decision taken for the incident's own first occurrence.
async fn own_decision(store: &dyn Store, report: &Report) -> anyhow::Result<Option<Decision>> {
    Ok(store
        .decisions(&DecisionQuery {
            report_id: Some(report.id.clone()),
            limit: Some(1),
            ..DecisionQuery::default()
        })
        .await?
        .into_iter()
        .next())
}

pub(crate) fn show(args: ShowArgs) -> anyhow::Result<ExitCode> {
    let cfg = app::load_config(args.config.as_deref(), None)?;
    let store = app::open_store(&cfg)?;
    let rt = app::runtime()?;
    let detail = rt.block_on(async {
        let report = find(&*store, &args.id).await?;
        let diagnosis = store.get_diagnosis(&report.id).await?;
        let decisions = store
            .decisions(&DecisionQuery {
                incident_id: Some(report.id.clone()),
                ..DecisionQuery::default()
            })
            .await?;
        let actions = store
            .actions(&ActionQuery {
                report_id: Some(report.id.clone()),
                ..ActionQuery::default()
            })
            .await?;
        anyhow::Ok(IncidentDetail {
            report,
            diagnosis,
            decisions,
            actions,
        })
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&detail)?);
        return Ok(ExitCode::SUCCESS);
    }
    print_detail(&detail);
    Ok(ExitCode::SUCCESS)
}

async fn find(store: &dyn Store, id: &str) -> anyhow::Result<Report> {
    if let Some(r) = store.get_report(&flow_doctor::Id::from_string(id)).await? {
        return Ok(r);
    }
    if id.len() < 4 {
        anyhow::bail!("no incident {id}; give at least 4 characters of its id");
    }
    let all = store.list_reports(&ReportQuery::default()).await?;
    let mut hits = all.into_iter().filter(|r| r.id.as_str().starts_with(id));
    match (hits.next(), hits.next()) {
        (Some(r), None) => Ok(r),
        (Some(_), Some(_)) => {
            anyhow::bail!("`{id}` matches several incidents; give more of the id")
        }
        (None, _) => anyhow::bail!("no incident with id `{id}` (see `flow-doctor history`)"),
    }
}

fn print_detail(d: &IncidentDetail) {
    let r = &d.report;
    println!("incident   {}", r.id);
    println!(
        "flow       {}{}",
        r.flow,
        r.stage
            .as_ref()
            .map(|s| format!(" / {s}"))
            .unwrap_or_default()
    );
    println!("error      {}", r.headline());
    println!("severity   {}  kind: {}", r.severity, r.kind);
    println!("signature  {}  ({})", r.signature, r.fingerprint);
    println!(
        "seen       {} times, first {}, last {}",
        r.dedup_count,
        app::time(r.first_seen),
        app::time(r.last_seen)
    );
    if let Some(exit) = &r.exit {
        println!("command    {}", exit.command);
        let how = match (exit.code, exit.signal) {
            (_, Some(sig)) => format!("killed by signal {sig}"),
            (Some(code), None) => format!("exit code {code}"),
            (None, None) => "no exit status".to_owned(),
        };
        let timed_out = if exit.timed_out {
            ", stopped at its timeout"
        } else {
            ""
        };
        println!(
            "exit       {how}{timed_out}, after {}",
            HumanDuration(std::time::Duration::from_millis(exit.duration_ms))
        );
    }
    if let Some(c) = &r.cascade_source {
        println!("cascade    from {} ({}) {}", c.flow, c.report_id, c.summary);
    }
    match (&d.diagnosis, &r.diagnosis_error) {
        (Some(diag), _) => {
            println!(
                "diagnosis  {} ({:.0}%, {}): {}",
                diag.category,
                diag.confidence * 100.0,
                diag.source,
                diag.root_cause
            );
            if !diag.remediation.is_empty() {
                println!("remedy     {}", diag.remediation);
            }
        }
        (None, Some(e)) => println!("diagnosis  none: {e}"),
        (None, None) => {}
    }
    if !d.decisions.is_empty() {
        println!("decisions");
        for dec in &d.decisions {
            println!(
                "  {}  {:<18} {}",
                app::time(dec.at),
                dec.kind.as_str(),
                dec.reason
            );
        }
    }
    if !d.actions.is_empty() {
        println!("actions");
        for a in &d.actions {
            println!(
                "  {}  {:<9} {:<12} {:<9} {}{}",
                app::time(a.started_at),
                a.kind.as_str(),
                a.target,
                a.status.as_str(),
                a.detail,
                a.url
                    .as_ref()
                    .map(|u| format!(" <{u}>"))
                    .unwrap_or_default()
            );
        }
    }
    for (k, v) in &r.context {
        println!("context    {k} = {v}");
    }
    if let Some(tb) = &r.traceback {
        println!("\n{}", tb.trim_end());
    }
}
