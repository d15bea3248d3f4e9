//! `flow-doctor diagnose [--offline] [--json] [--show-prompt] [--config PATH] [FILE]`:
//! diagnoses a failure text (FILE, default stdin).
//!
//! The text is parsed into a report (error type, message, frames), scrubbed,
//! and diagnosed by the knowledge base, then by the configured LLM unless
//! `--offline` (or `diagnosis.provider: none`). With a configuration file
//! the configured store is used (learned patterns, the LLM budget shared
//! with running flows); without one, an in-memory store.
//!
//! - `--json` prints exactly
//!   `{"category", "root_cause", "confidence", "remediation", "source", "pattern"}`,
//!   every value `null` when nothing matched (or the LLM was skipped).
//! - `--show-prompt` prints the exact prompt an LLM would receive (system
//!   and user message, after scrubbing) and sends nothing.

use std::io::{Read as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;
use flow_doctor::config::{ConfigSource, LlmProvider, Loader, StoreKind};
use flow_doctor::diagnosis::{ChainDiagnoser, KnowledgeBase, input::report_from_text};
use flow_doctor::{
    Config, DiagnoseContext, DiagnoseOutcome, Diagnoser, MemoryStore, Scrubber, Store, SystemClock,
};

/// Arguments of `flow-doctor diagnose`.
#[derive(Debug, Args)]
pub(crate) struct DiagnoseArgs {
    /// File holding the failure text (default: stdin).
    file: Option<PathBuf>,
    /// Use the knowledge base only; never call an LLM.
    #[arg(long)]
    offline: bool,
    /// Print `{"category", "root_cause", "confidence", "remediation", "source", "pattern"}`.
    #[arg(long)]
    json: bool,
    /// Print the exact (scrubbed) prompt an LLM would receive; send nothing.
    #[arg(long)]
    show_prompt: bool,
    /// Configuration file (default: $FLOW_DOCTOR_CONFIG, else
    /// flow-doctor.yaml/.yml/.toml in the current directory).
    #[arg(long)]
    config: Option<PathBuf>,
}

/// Runs `diagnose`.
pub(crate) fn run(args: DiagnoseArgs) -> anyhow::Result<ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(diagnose(args))
}

async fn diagnose(args: DiagnoseArgs) -> anyhow::Result<ExitCode> {
    let text = match &args.file {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?,
        None => {
            let mut buf = String::new();
            std::io::stdin()
                .read_to_string(&mut buf)
                .context("cannot read stdin")?;
            buf
        }
    };
    let (cfg, store) = open(args.config.as_deref())?;
    let scrubber =
        Arc::new(Scrubber::from_config(&cfg.scrub).context("invalid `scrub` configuration")?);
    let mut report = report_from_text(&cfg.flow_name, &text);
    report.message = scrubber.scrub(&report.message).into_owned();
    report.traceback = report
        .traceback
        .as_deref()
        .map(|t| scrubber.scrub(t).into_owned());
    report.source_chain = report
        .source_chain
        .iter()
        .map(|c| scrubber.scrub(c).into_owned())
        .collect();
    let ctx = DiagnoseContext {
        store,
        clock: Arc::new(SystemClock),
        scrubber,
    };

    if args.show_prompt {
        let prompt = flow_doctor::diagnosis::prompt_for(&report, &cfg.diagnosis, &ctx).await;
        let mut out = std::io::stdout().lock();
        writeln!(out, "=== system ===\n{}", prompt.system)?;
        writeln!(out, "=== user ===\n{}", prompt.user)?;
        writeln!(
            out,
            "=== about {} tokens (budget {}){} ===",
            prompt.estimated_tokens,
            cfg.diagnosis.max_prompt_tokens,
            if prompt.trimmed.is_empty() {
                String::new()
            } else {
                format!("; dropped {}", prompt.trimmed.join("; "))
            }
        )?;
        return Ok(ExitCode::SUCCESS);
    }

    let kb: Arc<dyn Diagnoser> =
        Arc::new(KnowledgeBase::from_config(&cfg.diagnosis).context("loading pattern files")?);
    let diagnoser: Arc<dyn Diagnoser> =
        if args.offline || cfg.diagnosis.provider == LlmProvider::None {
            kb
        } else {
            let llm = flow_doctor::diagnosis::LlmDiagnoser::from_config(&cfg.diagnosis)
                .context("configuring the LLM (use --offline for the knowledge base only)")?;
            Arc::new(ChainDiagnoser::new(vec![kb, Arc::new(llm)]))
        };
    let outcome = diagnoser
        .diagnose(&report, &ctx)
        .await
        .context("diagnosis failed")?;
    print_outcome(&outcome, args.json)?;
    Ok(ExitCode::SUCCESS)
}

/// The configuration and its store; an in-memory store without a file.
pub(crate) fn open(explicit: Option<&std::path::Path>) -> anyhow::Result<(Config, Arc<dyn Store>)> {
    let loader = Loader::new();
    let source = loader.resolve(explicit)?;
    let cfg = loader.load(explicit)?;
    let store: Arc<dyn Store> = match (&source, cfg.store.kind) {
        (ConfigSource::Defaults, _) | (_, StoreKind::Memory) => Arc::new(MemoryStore::new()),
        (_, StoreKind::Sqlite) => Arc::new(
            flow_doctor::storage::SqliteStore::from_config(&cfg.store)
                .context("opening the store")?,
        ),
    };
    Ok((cfg, store))
}

fn print_outcome(outcome: &DiagnoseOutcome, json: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        let value = match outcome {
            DiagnoseOutcome::Diagnosed(d) => serde_json::json!({
                "category": d.category,
                "root_cause": d.root_cause,
                "confidence": d.confidence,
                "remediation": d.remediation,
                "source": d.source,
                "pattern": d.pattern,
            }),
            _ => serde_json::json!({
                "category": null,
                "root_cause": null,
                "confidence": null,
                "remediation": null,
                "source": null,
                "pattern": null,
            }),
        };
        writeln!(out, "{}", serde_json::to_string(&value)?)?;
        return Ok(());
    }
    match outcome {
        DiagnoseOutcome::Diagnosed(d) => {
            let via = match &d.pattern {
                Some(p) => format!("{} pattern `{p}`", d.source),
                None => match &d.model {
                    Some(m) => format!("{} ({m})", d.source),
                    None => d.source.to_string(),
                },
            };
            writeln!(
                out,
                "{} (confidence {:.2}, {via})",
                d.category, d.confidence
            )?;
            writeln!(out, "root cause: {}", d.root_cause)?;
            if !d.remediation.is_empty() {
                writeln!(out, "remediation: {}", d.remediation)?;
            }
            if let Some(r) = &d.reasoning {
                writeln!(out, "why: {r}")?;
            }
            if let Some(cost) = d.cost_usd {
                writeln!(out, "cost: ${cost:.4}")?;
            }
        }
        DiagnoseOutcome::NoMatch => {
            writeln!(out, "no diagnosis: nothing in the knowledge base matches")?;
        }
        DiagnoseOutcome::Skipped { reason } => {
            writeln!(out, "no diagnosis: LLM skipped: {reason}")?;
        }
    }
    Ok(())
}
