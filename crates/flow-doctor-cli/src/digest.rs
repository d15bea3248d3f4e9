//! `flow-doctor digest [--since DUR] [--send] [--json] [--config PATH]`:
//! summarizes the reports held back from notification (daily limits,
//! failed deliveries, suppressions) that no digest has covered yet.
//!
//! - Prints the digest per flow: counts by signature and by reason, first
//!   and last time held back, the latest diagnosis (`--json`: the `Digest`
//!   document).
//! - `--send` delivers it to every network channel of `notify:` whose
//!   `digest` key is not `false` (console and JSON-lines channels are
//!   skipped: the digest is already on stdout), retrying a retryable failure
//!   twice, and records one `digest` action per channel and flow listing the
//!   entries it carried. Each channel gets the pending entries it has not
//!   received yet (from those actions), and an entry is marked digested once
//!   every digest channel has it: a channel that failed gets it on the next
//!   run, and the others do not get it twice. Exit 1 when every delivery
//!   failed.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use chrono::Utc;
use clap::Args;
use flow_doctor::config::{ChannelConfig, HumanDuration};
use flow_doctor::digest::build_digest_of;
use flow_doctor::store::ActionQuery;
use flow_doctor::{
    Action, ActionKind, ActionStatus, Config, Digest, DigestEntry, Id, Notification, Notifier,
    Route, Store,
};

use crate::app;

/// Arguments of `flow-doctor digest`.
#[derive(Debug, Args)]
pub(crate) struct DigestArgs {
    /// Only reports held back within this long (`24h`, `7d`); default:
    /// everything pending.
    #[arg(long, value_parser = HumanDuration::parse)]
    since: Option<HumanDuration>,
    /// Deliver the digest to the configured channels and mark it sent.
    #[arg(long)]
    send: bool,
    /// Print the digest as JSON.
    #[arg(long)]
    json: bool,
    /// Configuration file (default: $FLOW_DOCTOR_CONFIG, else
    /// flow-doctor.yaml/.yml/.toml in the current directory).
    #[arg(long)]
    config: Option<PathBuf>,
}

/// Attempts per channel when the failure is retryable.
const ATTEMPTS: u32 = 3;
/// Longest wait between attempts, whatever `Retry-After` says.
const MAX_WAIT: Duration = Duration::from_secs(30);

/// Runs `digest`.
pub(crate) fn run(args: DigestArgs) -> anyhow::Result<ExitCode> {
    let cfg = app::load_config(args.config.as_deref(), None)?;
    app::runtime()?.block_on(digest(args, cfg))
}

async fn digest(args: DigestArgs, cfg: Config) -> anyhow::Result<ExitCode> {
    let store = app::open_store(&cfg)?;
    let now = Utc::now();
    let since = match args.since {
        Some(d) => Some(now - chrono::Duration::from_std(d.get()).context("--since is too long")?),
        None => None,
    };
    // Read once: the printed digest and what is sent cover the same entries.
    let entries = store
        .pending_digest(since)
        .await
        .context("cannot read the digest queue")?;
    let digest = build_digest_of(store.as_ref(), entries.clone(), since, now)
        .await
        .context("cannot read the digest queue")?;
    print(&digest, args.json)?;
    if !args.send {
        return Ok(ExitCode::SUCCESS);
    }
    if digest.is_empty() {
        eprintln!("flow-doctor: nothing held back; nothing to send");
        return Ok(ExitCode::SUCCESS);
    }
    let channels = digest_channels(&cfg)?;
    if channels.is_empty() {
        anyhow::bail!(
            "no network channel receives digests; add one under `notify:` (and leave its `digest` key unset or true)"
        );
    }
    let latest = latest_reports(&entries);
    let oldest = entries.iter().map(|e| e.at).min().unwrap_or(now);
    let mut delivered = 0;
    let mut failed = Vec::new();
    // Per channel, the pending entries it has received (now or before).
    let mut received: Vec<std::collections::HashSet<Id>> = Vec::new();
    for (notifier, route) in &channels {
        let channel = route.channel_name(notifier.as_ref());
        let mut has = sent_before(store.as_ref(), channel, oldest).await?;
        let todo: Vec<DigestEntry> = entries
            .iter()
            .filter(|e| !has.contains(&e.id))
            .cloned()
            .collect();
        if todo.is_empty() {
            eprintln!("flow-doctor: {channel} already has every entry of this digest");
            received.push(has);
            continue;
        }
        let part = build_digest_of(store.as_ref(), todo, since, now)
            .await
            .context("cannot read the digest queue")?;
        let notification = Notification::Digest(part.clone());
        let started = Utc::now();
        let (result, attempts) = deliver(notifier.as_ref(), &notification).await;
        let finished = Utc::now();
        let (status, detail, url) = match &result {
            Ok(d) => {
                delivered += 1;
                (
                    ActionStatus::Succeeded,
                    d.detail.clone().unwrap_or_else(|| "delivered".into()),
                    d.url.clone(),
                )
            }
            Err(e) => (ActionStatus::Failed, e.chain_string(), None),
        };
        match &result {
            Ok(_) => eprintln!(
                "flow-doctor: digest sent to {channel}: {detail}{}",
                url.as_deref()
                    .map(|u| format!(" ({u})"))
                    .unwrap_or_default()
            ),
            Err(_) => {
                eprintln!("flow-doctor: digest to {channel} failed: {detail}");
                failed.push(channel.to_owned());
            }
        }
        if result.is_ok() {
            has.extend(part.entry_ids.iter().cloned());
        }
        received.push(has);
        for f in &part.flows {
            let carried: Vec<&Id> = entries
                .iter()
                .filter(|e| e.flow == f.flow && part.entry_ids.contains(&e.id))
                .map(|e| &e.id)
                .collect();
            let action = Action {
                id: Id::new(),
                report_id: latest.get(&f.flow).cloned().unwrap_or_default(),
                flow: f.flow.clone(),
                signature: String::new(),
                kind: ActionKind::Digest,
                target: channel.to_string(),
                status,
                detail: detail.clone(),
                url: url.clone(),
                attempts,
                data: serde_json::json!({
                    "held_back": f.total,
                    "signatures": f.signatures.len(),
                    "entries": carried.len(),
                    "entry_ids": carried,
                }),
                started_at: started,
                finished_at: finished,
            };
            store
                .record_action(&action)
                .await
                .context("cannot record the digest action")?;
        }
    }
    let everywhere: Vec<Id> = entries
        .iter()
        .filter(|e| received.iter().all(|has| has.contains(&e.id)))
        .map(|e| e.id.clone())
        .collect();
    let marked = store
        .mark_digested(&everywhere, Utc::now())
        .await
        .context("cannot mark the digest entries")?;
    eprintln!("flow-doctor: marked {marked} digest entries as sent");
    if !failed.is_empty() {
        eprintln!(
            "flow-doctor: {} entries stay pending for {}; the next `digest --send` sends them there only",
            entries.len() - everywhere.len(),
            failed.join(", ")
        );
    }
    if delivered == 0 && !failed.is_empty() {
        eprintln!("flow-doctor: no channel took the digest; its entries stay pending");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// The digest entries `channel` received in digests sent since `since`,
/// from the `entry_ids` of its successful digest actions.
async fn sent_before(
    store: &dyn Store,
    channel: &str,
    since: chrono::DateTime<Utc>,
) -> anyhow::Result<std::collections::HashSet<Id>> {
    let actions = store
        .actions(&ActionQuery {
            kind: Some(ActionKind::Digest),
            target: Some(channel.to_owned()),
            status: Some(ActionStatus::Succeeded),
            since: Some(since),
            ..ActionQuery::default()
        })
        .await
        .context("cannot read the earlier digest deliveries")?;
    Ok(actions
        .iter()
        .filter_map(|a| a.data["entry_ids"].as_array())
        .flatten()
        .filter_map(|v| v.as_str().map(Id::from_string))
        .collect())
}

/// One delivery with up to [`ATTEMPTS`] tries on retryable failures.
async fn deliver(
    notifier: &dyn Notifier,
    notification: &Notification,
) -> (flow_doctor::Result<flow_doctor::Delivery>, u32) {
    let mut attempt = 1;
    loop {
        match notifier.notify(notification).await {
            Err(e) if e.is_retryable() && attempt < ATTEMPTS => {
                let wait = e
                    .retry_after()
                    .unwrap_or(Duration::from_secs(u64::from(attempt)))
                    .min(MAX_WAIT);
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
            result => return (result, attempt),
        }
    }
}

/// The network channels that receive digests, in configuration order:
/// the notifiers `flow_doctor::notifiers` builds for `notify:`, minus
/// console and JSON-lines and the channels with `digest: false`.
fn digest_channels(cfg: &Config) -> anyhow::Result<Vec<(Arc<dyn Notifier>, Route)>> {
    let built = flow_doctor::notifiers(cfg).context("cannot build the notifiers")?;
    // `notifiers` answers one entry per `notify:` channel, in order (plus
    // the console when `notify:` is empty, which the zip drops).
    Ok(cfg
        .notify
        .iter()
        .zip(built)
        .filter(|(channel, (_, route))| {
            route.digest && !matches!(channel, ChannelConfig::Console(_) | ChannelConfig::Jsonl(_))
        })
        .map(|(_, channel)| channel)
        .collect())
}

/// The newest held-back report of each flow, for the actions.
fn latest_reports(entries: &[DigestEntry]) -> BTreeMap<String, Id> {
    let mut latest: BTreeMap<String, (chrono::DateTime<Utc>, Id)> = BTreeMap::new();
    for e in entries {
        match latest.get(&e.flow) {
            Some((at, _)) if *at >= e.at => {}
            _ => {
                latest.insert(e.flow.clone(), (e.at, e.report_id.clone()));
            }
        }
    }
    latest.into_iter().map(|(f, (_, id))| (f, id)).collect()
}

fn print(digest: &Digest, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(digest)?);
    } else if digest.is_empty() {
        match digest.since {
            Some(since) => println!(
                "Nothing held back since {}.",
                since.format("%Y-%m-%d %H:%M:%SZ")
            ),
            None => println!("Nothing held back."),
        }
    } else {
        print!("{}", Notification::Digest(digest.clone()).text());
    }
    Ok(())
}
