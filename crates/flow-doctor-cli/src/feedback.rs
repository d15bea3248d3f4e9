//! `flow-doctor feedback ID (--confirm | --reject | --category C --root-cause "...") [--note TEXT] [--config PATH]`:
//! records a verdict on an incident's diagnosis in the configured store.
//! Confirmed and corrected diagnoses become exact-signature knowledge-base
//! patterns, so the next occurrence is diagnosed offline.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use flow_doctor::diagnosis::apply_feedback;
use flow_doctor::diagnosis::feedback::learned_pattern_name;
use flow_doctor::{Category, Id, Verdict};

/// Arguments of `flow-doctor feedback`.
#[derive(Debug, Args)]
#[command(group(
    clap::ArgGroup::new("verdict")
        .required(true)
        .args(["confirm", "reject", "category"])
))]
pub(crate) struct FeedbackArgs {
    /// The incident (report id, as shown by `history`/`show`).
    id: String,
    /// The diagnosis was right.
    #[arg(long)]
    confirm: bool,
    /// The diagnosis was wrong (no better answer).
    #[arg(long)]
    reject: bool,
    /// The right category (TRANSIENT, DATA, CODE, CONFIG, EXTERNAL, INFRA).
    #[arg(long, requires = "root_cause", value_parser = parse_category)]
    category: Option<Category>,
    /// The right root cause (with --category).
    #[arg(long, requires = "category")]
    root_cause: Option<String>,
    /// A note kept with the feedback.
    #[arg(long)]
    note: Option<String>,
    /// Configuration file (default: $FLOW_DOCTOR_CONFIG, else
    /// flow-doctor.yaml/.yml/.toml in the current directory).
    #[arg(long)]
    config: Option<PathBuf>,
}

fn parse_category(s: &str) -> Result<Category, String> {
    s.parse()
}

/// Runs `feedback`.
pub(crate) fn run(args: FeedbackArgs) -> anyhow::Result<ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(feedback(args))
}

async fn feedback(args: FeedbackArgs) -> anyhow::Result<ExitCode> {
    let (cfg, store) = crate::diagnose::open(args.config.as_deref())?;
    // A person's text is stored, learned and quoted in later diagnoses:
    // scrubbed like everything else that is kept.
    let scrubber =
        flow_doctor::Scrubber::from_config(&cfg.scrub).context("invalid `scrub` configuration")?;
    let scrub = |text: String| scrubber.scrub(&text).into_owned();
    let verdict = match (args.confirm, args.reject, args.category, args.root_cause) {
        (true, _, _, _) => Verdict::Confirmed,
        (_, true, _, _) => Verdict::Rejected,
        (_, _, Some(category), Some(root_cause)) => Verdict::Corrected {
            category,
            root_cause: scrub(root_cause),
        },
        _ => anyhow::bail!("give --confirm, --reject, or --category with --root-cause"),
    };
    let id = Id::from_string(args.id.trim());
    let fb = apply_feedback(store.as_ref(), &id, verdict, args.note.map(scrub)).await?;
    let learned = match &fb.verdict {
        Verdict::Rejected => String::new(),
        _ if fb.signature.is_empty() => String::new(),
        _ => format!(
            "; learned pattern `{}` for signature {}",
            learned_pattern_name(&fb.signature),
            fb.signature
        ),
    };
    let verdict = match &fb.verdict {
        Verdict::Confirmed => "confirmed".to_string(),
        Verdict::Rejected => "rejected".to_string(),
        Verdict::Corrected { category, .. } => format!("corrected to {category}"),
    };
    println!("recorded: {verdict} for incident {}{learned}", fb.report_id);
    Ok(ExitCode::SUCCESS)
}
