//! `flow-doctor playbook test [FILE] [--config PATH] [--playbooks FILE]...
//! [--flow NAME] [--category C --confidence X] [--context KEY=VALUE]... [--json]`
//!
//! Parses a failure text (FILE, or stdin when FILE is absent or `-`), shows
//! every playbook's verdict in declared order (the first match wins), the
//! plan of the matched one (executor, target, commands) and, given
//! `--category` and `--confidence`, what the decision gate would route it to.
//! It never executes anything and never reads the store: attempt counts are
//! taken as zero.
//!
//! Playbooks come from the configuration (`--config`, `FLOW_DOCTOR_CONFIG`,
//! or `flow-doctor.yaml` in the current directory); `--playbooks` files
//! replace them. Gate settings (thresholds, deny lists, lockouts, dry run)
//! always come from the configuration, or the defaults.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use flow_doctor::remediation::{AttemptCounts, Gate, Plan, Playbooks, Route};
use flow_doctor::{Category, Config, Diagnosis, Report, ReportKind, Severity};
use serde_json::json;

/// `flow-doctor playbook ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum PlaybookCommand {
    /// Show which playbook a failure text matches and what would run.
    Test(TestArgs),
}

/// Arguments of `flow-doctor playbook test`.
#[derive(Debug, Args)]
pub(crate) struct TestArgs {
    /// Failure text (traceback, log excerpt); stdin when absent or `-`.
    file: Option<PathBuf>,
    /// Configuration file (default: $FLOW_DOCTOR_CONFIG, else
    /// flow-doctor.yaml, .yml or .toml in the current directory).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Playbook file (YAML or TOML) to test instead of the configured
    /// playbooks; repeat for several, in order.
    #[arg(long = "playbooks", value_name = "FILE")]
    playbooks: Vec<PathBuf>,
    /// Flow name of the failure (default: the configuration's flow_name).
    #[arg(long)]
    flow: Option<String>,
    /// Diagnosis category (TRANSIENT, DATA, CODE, CONFIG, EXTERNAL, INFRA);
    /// playbooks' category filters are checked only when given.
    #[arg(long)]
    category: Option<Category>,
    /// Diagnosis confidence, 0.0 to 1.0; with --category shows the gate's
    /// decision.
    #[arg(long)]
    confidence: Option<f64>,
    /// Report context entry (e.g. `execution_arn=arn:aws:states:...`); repeat
    /// for several.
    #[arg(long = "context", value_name = "KEY=VALUE", value_parser = parse_pair)]
    context: Vec<(String, String)>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

fn parse_pair(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("`{s}` is not KEY=VALUE")),
    }
}

/// Runs `playbook test`.
pub(crate) fn run(command: PlaybookCommand) -> anyhow::Result<ExitCode> {
    match command {
        PlaybookCommand::Test(args) => test(args),
    }
}

fn test(args: TestArgs) -> anyhow::Result<ExitCode> {
    if let Some(c) = args.confidence
        && !(0.0..=1.0).contains(&c)
    {
        bail!("--confidence must be between 0.0 and 1.0, not {c}");
    }
    let cfg = Config::load(args.config.as_deref())?;
    let playbooks = if args.playbooks.is_empty() {
        Playbooks::from_config(&cfg.remediation)?
    } else {
        let mut all = Playbooks::new();
        for file in &args.playbooks {
            all.extend(Playbooks::load_file(file)?)?;
        }
        all
    };
    if playbooks.is_empty() {
        bail!(
            "no playbooks to test: pass --playbooks FILE, or --config PATH with \
             remediation.playbooks or remediation.playbook_files"
        );
    }

    let text = match args.file.as_deref() {
        Some(p) if p.as_os_str() != "-" => {
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?
        }
        _ => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("cannot read the failure text from stdin")?;
            s
        }
    };
    if text.trim().is_empty() {
        bail!("the failure text is empty");
    }
    let parsed = flow_doctor::fingerprint::parse(&text);
    let flow = args.flow.clone().unwrap_or_else(|| cfg.flow_name.clone());
    let mut report = Report::new(flow, Severity::Error, ReportKind::Message, parsed.message);
    report.error_type = parsed.error_type;
    report.source_chain = parsed.chain;
    report.frames = parsed.frames;
    report.language = parsed.language;
    report.context.extend(args.context.iter().cloned());

    let verdicts: Vec<(String, Result<(), String>)> = playbooks
        .iter()
        .map(|p| (p.name().to_string(), p.check(&report, args.category)))
        .collect();
    let matched = playbooks.first_match(&report, args.category);
    let plan = matched.map(|p| Plan::resolve(p, &report));

    let decision = match (args.category, args.confidence) {
        (Some(category), Some(confidence)) => {
            let gate = Gate::from_config(&cfg)?;
            let diagnosis = Diagnosis::new(category, "given on the command line", confidence);
            Some(gate.decide(
                &report,
                &diagnosis,
                matched,
                AttemptCounts::default(),
                flow_doctor::Clock::now(&flow_doctor::SystemClock),
            ))
        }
        (None, None) => None,
        _ => bail!("--category and --confidence go together"),
    };
    let would_run = decision
        .as_ref()
        .is_some_and(|d| d.route == Route::AutoRemediate)
        && matches!(plan, Some(Ok(_)));
    let live = cfg.remediation.enabled && !cfg.remediation.dry_run;

    if args.json {
        let out = json!({
            "failure": {
                "flow": report.flow,
                "error_type": report.error_type,
                "message": report.message,
                "language": report.language,
            },
            "playbooks": verdicts.iter().map(|(name, v)| json!({
                "name": name,
                "matches": v.is_ok(),
                "reason": v.as_ref().err(),
            })).collect::<Vec<_>>(),
            "matched": matched.map(|p| p.name()),
            "plan": match &plan {
                Some(Ok(p)) => p.to_json(),
                _ => serde_json::Value::Null,
            },
            "plan_error": match &plan {
                Some(Err(e)) => Some(e.as_str()),
                _ => None,
            },
            "decision": decision.as_ref().map(|d| d.data.clone()),
            "would_run": would_run,
            "remediation_enabled": cfg.remediation.enabled,
            "dry_run": cfg.remediation.dry_run,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }

    let mut out = String::new();
    out.push_str(&format!("failure: {}\n", report.headline()));
    out.push_str(&format!("flow:    {}\n", report.flow));
    if let Some(lang) = &report.language {
        out.push_str(&format!("parsed:  {lang} traceback\n"));
    }
    out.push_str("\nplaybooks (declared order; the first match wins):\n");
    let width = verdicts.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    for (name, v) in &verdicts {
        let mark = if Some(name.as_str()) == matched.map(|p| p.name()) {
            "=>"
        } else {
            "  "
        };
        match v {
            Ok(()) => out.push_str(&format!("{mark} {name:width$}  matches\n")),
            Err(why) => out.push_str(&format!("{mark} {name:width$}  no: {why}\n")),
        }
    }
    match (matched, &plan) {
        (Some(p), Some(Ok(plan))) => {
            out.push_str(&format!("\nmatched: {} ({})\n", p.name(), p.origin()));
            if !p.description().is_empty() {
                out.push_str(&format!("  about:    {}\n", p.description()));
            }
            out.push_str(&format!("  action:   {}", plan.action_type));
            if !plan.description.is_empty() {
                out.push_str(&format!(" ({})", plan.description));
            }
            out.push('\n');
            out.push_str(&format!("  executor: {}\n", plan.executor));
            out.push_str(&format!("  target:   {}\n", plan.target.describe()));
            if let Some(doc) = &plan.document {
                out.push_str(&format!("  document: {doc}\n"));
            }
            if let Some(input) = &plan.input {
                out.push_str(&format!("  input:    {input}\n"));
            }
            if !plan.commands.is_empty() {
                out.push_str("  commands:\n");
                for c in &plan.commands {
                    out.push_str(&format!("    {c}\n"));
                }
            }
            out.push_str(&format!(
                "  timeout:  {}; safe to auto-run: {}\n",
                flow_doctor::config::HumanDuration(plan.timeout),
                if p.action().safe_to_auto_run {
                    "yes"
                } else {
                    "no"
                }
            ));
        }
        (Some(p), Some(Err(e))) => {
            out.push_str(&format!(
                "\nmatched: {} ({})\n  cannot plan: {e}\n",
                p.name(),
                p.origin()
            ));
        }
        _ => out.push_str("\nno playbook matches\n"),
    }
    match &decision {
        Some(d) => {
            out.push_str(&format!(
                "\ngate (attempt counts taken as zero): {}\n  {}\n",
                d.route,
                d.detail()
            ));
            if d.route == Route::AutoRemediate
                && let Some(Err(e)) = &plan
            {
                out.push_str(&format!("  the remediator would escalate instead: {e}\n"));
            }
            if would_run {
                out.push_str(if live {
                    "  would run the action above (remediation is enabled and dry_run is off)\n"
                } else if cfg.remediation.enabled {
                    "  would record the action above as a dry run (remediation.dry_run is on): nothing runs\n"
                } else {
                    "  remediation is disabled (remediation.enabled: false): nothing runs\n"
                });
            }
        }
        None => out.push_str(
            "\ngate: pass --category and --confidence to see what the decision gate would do\n",
        ),
    }
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::parse_pair;

    #[test]
    fn context_pairs_split_at_the_first_equals_sign() {
        assert_eq!(
            parse_pair("execution_arn=arn:a=b").unwrap(),
            ("execution_arn".to_string(), "arn:a=b".to_string())
        );
        assert!(parse_pair("=x").is_err());
        assert!(parse_pair("novalue").is_err());
    }
}
