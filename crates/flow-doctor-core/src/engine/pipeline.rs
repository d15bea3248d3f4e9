//! The per-report pipeline, run on the background worker:
//! scrub → fingerprint → cascade → dedup/store → diagnose → route/notify
//! (+ digest) → remediate, recording exactly one decision per report.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{Counters, Outcome, RetryPolicy};
use crate::clock::{Clock, day_start};
use crate::diagnose::{DiagnoseContext, DiagnoseOutcome, Diagnoser};
use crate::error::Error;
use crate::fingerprint;
use crate::model::{
    Action, ActionKind, ActionStatus, CascadeSource, Decision, DecisionKind, Diagnosis,
    DigestEntry, Id, Report, ReportKind, Severity,
};
use crate::notify::{Incident, Link, Notification, Notifier, Recurrence, RemediationNotice, Route};
use crate::remediate::{RemediationContext, Remediator};
use crate::ring::LogRing;
use crate::scrub::Scrubber;
use crate::store::{Claim, PruneRequest, ReportQuery, Store};

/// Context key marking reports raised by flow-doctor itself (never diagnosed).
pub(crate) const INTERNAL_KEY: &str = "flow_doctor.internal";

/// A notifier with its route.
#[derive(Clone)]
pub(crate) struct Channel {
    pub(crate) notifier: Arc<dyn Notifier>,
    pub(crate) route: Route,
}

impl Channel {
    fn name(&self) -> &str {
        self.route.channel_name(self.notifier.as_ref())
    }
}

/// Everything the worker needs; shared by every job.
pub(crate) struct Pipeline {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) channels: Vec<Channel>,
    pub(crate) diagnoser: Option<Arc<dyn Diagnoser>>,
    pub(crate) remediator: Option<Arc<dyn Remediator>>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) scrubber: Arc<Scrubber>,
    pub(crate) ring: Arc<LogRing>,
    pub(crate) cooldown: Duration,
    pub(crate) dependencies: Vec<String>,
    pub(crate) cascade_window: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) success_pings: bool,
    pub(crate) diagnosis_alert_after: u32,
    pub(crate) host: String,
    pub(crate) counters: Arc<Counters>,
    /// `store.retention_days`; `None` keeps everything.
    pub(crate) retention: Option<Duration>,
    /// UTC day number of the last automatic prune seen by this process.
    pub(crate) pruned_day: std::sync::atomic::AtomicI64,
}

/// Named counter holding the UTC day number (days since 1970-01-01) of the
/// last automatic prune, shared by every process using the store.
pub(crate) const PRUNE_DAY_COUNTER: &str = "flow-doctor.retention.last_prune_day";

/// A report raised by the pipeline itself, to be submitted after the
/// current one (e.g. "diagnosis unavailable").
pub(crate) type FollowUp = Option<Report>;

impl Pipeline {
    /// Retention: prunes what went quiet before `now - retention` at most
    /// once per UTC day per store (the day is recorded in
    /// [`PRUNE_DAY_COUNTER`]; two processes racing at midnight may both
    /// prune, which is harmless). Failures are reported and skipped.
    pub(crate) async fn prune_daily(&self) {
        use std::sync::atomic::Ordering;
        let Some(keep) = self.retention else {
            return;
        };
        let now = self.clock.now();
        let today = now.timestamp().div_euclid(86_400);
        if self.pruned_day.swap(today, Ordering::AcqRel) == today {
            return;
        }
        match self.store.counter_add(PRUNE_DAY_COUNTER, 0).await {
            Ok(last) if last >= today => return,
            Ok(_) => {}
            Err(e) => return stage_failed("retention", &e),
        }
        if let Err(e) = self.store.counter_set(PRUNE_DAY_COUNTER, today).await {
            return stage_failed("retention", &e);
        }
        let Some(before) = chrono::Duration::from_std(keep)
            .ok()
            .and_then(|k| now.checked_sub_signed(k))
        else {
            return;
        };
        if let Err(e) = self.store.prune(&PruneRequest::new(before, now)).await {
            stage_failed("retention", &e);
        }
    }

    /// Runs the whole pipeline for one report.
    pub(crate) async fn process(
        &self,
        mut report: Report,
        ring_mark: Option<u64>,
    ) -> (Outcome, FollowUp) {
        let now = self.clock.now();
        self.prepare(&mut report, ring_mark, now);
        if report.kind == ReportKind::Success {
            return (self.process_success(report).await, None);
        }
        self.check_cascade(&mut report).await;

        let claim = match self.store.claim(&report, self.cooldown).await {
            Ok(c) => c,
            Err(e) => {
                // The store is down: deliver anyway, nothing is lost.
                stage_failed("store", &e);
                report
                    .context
                    .insert("flow_doctor.store_error".into(), e.chain_string());
                Claim::New
            }
        };
        if let Claim::Duplicate {
            incident_id,
            dedup_count,
        } = claim
        {
            let reason = format!(
                "repeat of incident {incident_id} within the {} cooldown; {dedup_count} occurrences so far",
                crate::config::HumanDuration(self.cooldown)
            );
            let decision =
                self.decision(&report, &incident_id, DecisionKind::Deduped, reason, vec![]);
            self.record_decision(&decision).await;
            return (Outcome::from_decision(&decision, None, dedup_count), None);
        }

        if let Some(cascade) = report.cascade_source.clone() {
            let reason = format!(
                "upstream flow `{}` failed at {} (incident {}): {}",
                cascade.flow,
                cascade.at.to_rfc3339(),
                cascade.report_id,
                cascade.summary
            );
            self.enqueue_digest(&report, None, DecisionKind::CascadeSuppressed)
                .await;
            let decision = self.decision(
                &report,
                &report.id,
                DecisionKind::CascadeSuppressed,
                reason,
                vec![],
            );
            self.record_decision(&decision).await;
            return (Outcome::from_decision(&decision, None, 1), None);
        }

        let (diagnosis, follow_up) = self.diagnose(&mut report).await;
        let decision = self.route_and_notify(&report, diagnosis.as_ref()).await;
        self.record_decision(&decision).await;
        if let Some(d) = &diagnosis {
            self.remediate(&report, d).await;
        }
        (Outcome::from_decision(&decision, diagnosis, 1), follow_up)
    }

    /// Scrub, enrich and fingerprint.
    fn prepare(&self, report: &mut Report, ring_mark: Option<u64>, now: DateTime<Utc>) {
        if report.host.is_empty() {
            report.host.clone_from(&self.host);
        }
        if report.logs.is_empty()
            && let Some(mark) = ring_mark
        {
            report.logs = self.ring.before(mark);
        }
        let dropped = self.counters.take_unreported_drops();
        if dropped > 0 {
            report
                .context
                .insert("flow_doctor.dropped_before".into(), dropped.to_string());
        }
        self.scrubber.scrub_report(report);
        if report.frames.is_empty()
            && let Some(tb) = report.traceback.clone()
        {
            let mut parsed = fingerprint::parse(&tb);
            // The parser decodes JSON log lines (`\u003d`, `\/`): what it
            // returns is scrubbed too.
            self.scrubber.scrub_parsed(&mut parsed);
            report.frames = parsed.frames;
            if report.error_type.is_none() {
                report.error_type = parsed.error_type;
            }
            if report.language.is_none() {
                report.language = parsed.language;
            }
            if report.message.is_empty() {
                report.message = parsed.message;
            }
            if report.source_chain.is_empty() {
                report.source_chain = parsed.chain;
            }
            if let Some(block) = parsed.traceback {
                report.traceback = Some(block);
            }
        }
        if report.message.trim().is_empty() {
            report.message = match &report.exit {
                Some(exit) => exit.describe(),
                None => "(no message)".into(),
            };
        }
        let fp = fingerprint::fingerprint_report(report);
        report.signature = fp.signature;
        report.fingerprint = fp.fingerprint;
        if report.occurred_at > now + chrono::Duration::minutes(5) {
            // A wildly wrong clock on the capturing side must not break windows.
            report.occurred_at = now;
        }
        report.first_seen = report.occurred_at;
        report.last_seen = report.occurred_at;
        report.dedup_count = 1;
    }

    async fn check_cascade(&self, report: &mut Report) {
        if self.dependencies.is_empty() || report.severity < Severity::Error {
            return;
        }
        let since = report.occurred_at
            - chrono::Duration::from_std(self.cascade_window).unwrap_or(chrono::Duration::hours(2));
        for upstream in &self.dependencies {
            if *upstream == report.flow {
                continue;
            }
            let query = ReportQuery {
                flow: Some(upstream.clone()),
                since: Some(since),
                limit: Some(1),
                ..ReportQuery::default()
            };
            match self.store.list_reports(&query).await {
                Ok(latest) => {
                    if let Some(up) = latest.into_iter().next()
                        && up.kind != ReportKind::Success
                        && up.severity >= Severity::Error
                    {
                        report.cascade_source = Some(CascadeSource {
                            flow: up.flow.clone(),
                            report_id: up.id.clone(),
                            at: up.last_seen,
                            summary: up.headline(),
                        });
                        return;
                    }
                }
                Err(e) => stage_failed("store", &e),
            }
        }
    }

    async fn diagnose(&self, report: &mut Report) -> (Option<Diagnosis>, FollowUp) {
        let Some(diagnoser) = self.diagnoser.clone() else {
            return (None, None);
        };
        if report.context.contains_key(INTERNAL_KEY) {
            return (None, None);
        }
        let ctx = DiagnoseContext {
            store: self.store.clone(),
            clock: self.clock.clone(),
            scrubber: self.scrubber.clone(),
        };
        let subject = report.clone();
        let joined = tokio::spawn(async move { diagnoser.diagnose(&subject, &ctx).await }).await;
        let result = match joined {
            Ok(r) => r,
            Err(e) => Err(Error::permanent(
                "diagnosis",
                format!("the diagnoser panicked: {e}"),
            )),
        };
        let streak_key = format!("diagnosis.unavailable:{}", report.flow);
        match result {
            Ok(DiagnoseOutcome::Diagnosed(mut d)) => {
                d.confidence = if d.confidence.is_finite() {
                    d.confidence.clamp(0.0, 1.0)
                } else {
                    0.0
                };
                self.scrub_diagnosis(&mut d);
                if let Err(e) = self.store.save_diagnosis(&report.id, &d).await {
                    stage_failed("store", &e);
                }
                if let Err(e) = self.store.counter_set(&streak_key, 0).await {
                    stage_failed("store", &e);
                }
                (Some(d), None)
            }
            Ok(DiagnoseOutcome::NoMatch) => {
                self.note_diagnosis_error(report, "no knowledge-base pattern matched and no LLM is configured or it had no answer")
                    .await;
                (None, None)
            }
            Ok(DiagnoseOutcome::Skipped { reason }) => {
                self.note_diagnosis_error(report, &format!("skipped: {reason}"))
                    .await;
                (None, None)
            }
            Err(e) => {
                let reason = format!("failed: {}", e.chain_string());
                self.note_diagnosis_error(report, &reason).await;
                let streak = self.store.counter_add(&streak_key, 1).await.unwrap_or(0);
                let follow_up = (self.diagnosis_alert_after > 0
                    && streak == i64::from(self.diagnosis_alert_after))
                .then(|| {
                    let mut alert = Report::new(
                        report.flow.clone(),
                        Severity::Critical,
                        ReportKind::Message,
                        format!(
                            "diagnosis unavailable for {streak} consecutive reports; last error: {}",
                            e.chain_string()
                        ),
                    );
                    alert.error_type = Some("DiagnosisUnavailable".into());
                    alert.context.insert(INTERNAL_KEY.into(), "diagnosis_unavailable".into());
                    alert
                });
                (None, follow_up)
            }
        }
    }

    fn scrub_diagnosis(&self, d: &mut Diagnosis) {
        d.root_cause = self.scrubber.scrub(&d.root_cause).into_owned();
        d.remediation = self.scrubber.scrub(&d.remediation).into_owned();
        if let Some(r) = &d.reasoning {
            d.reasoning = Some(self.scrubber.scrub(r).into_owned());
        }
        for h in &mut d.alternative_hypotheses {
            *h = self.scrubber.scrub(h).into_owned();
        }
        for f in &mut d.affected_files {
            self.scrubber.scrub_string(f);
        }
    }

    async fn note_diagnosis_error(&self, report: &mut Report, reason: &str) {
        let reason = self.scrubber.scrub(reason).into_owned();
        if let Err(e) = self
            .store
            .set_diagnosis_error(&report.id, Some(&reason))
            .await
        {
            stage_failed("store", &e);
        }
        report.diagnosis_error = Some(reason);
    }

    async fn route_and_notify(&self, report: &Report, diagnosis: Option<&Diagnosis>) -> Decision {
        if self.channels.is_empty() {
            return self.decision(
                report,
                &report.id,
                DecisionKind::NoNotifiers,
                "no notifiers are configured".into(),
                vec![],
            );
        }
        let by_severity: Vec<&Channel> = self
            .channels
            .iter()
            .filter(|c| c.route.accepts_severity(report.severity))
            .collect();
        if by_severity.is_empty() {
            let accepted: Vec<String> = self
                .channels
                .iter()
                .map(|c| {
                    let sev: Vec<&str> = c.route.notify_on.iter().map(|s| s.as_str()).collect();
                    format!("{}: {}", c.name(), sev.join("/"))
                })
                .collect();
            return self.decision(
                report,
                &report.id,
                DecisionKind::SeverityFiltered,
                format!(
                    "no notifier accepts severity {} ({})",
                    report.severity,
                    accepted.join("; ")
                ),
                vec![],
            );
        }
        let category = diagnosis.map(|d| d.category);
        let eligible: Vec<&Channel> = by_severity
            .into_iter()
            .filter(|c| c.route.accepts_category(category))
            .collect();
        if eligible.is_empty() {
            let what = category.map_or("undiagnosed".to_string(), |c| format!("category {c}"));
            return self.decision(
                report,
                &report.id,
                DecisionKind::CategoryFiltered,
                format!("no notifier accepts {what}"),
                vec![],
            );
        }

        let recurrence = self.recurrence(report).await;
        let mut incident = Incident {
            report: report.clone(),
            diagnosis: diagnosis.cloned(),
            recurrence,
            links: Vec::new(),
        };
        let mut delivered = Vec::new();
        let mut held = Vec::new();
        let mut failed = Vec::new();
        let now = self.clock.now();
        for channel in eligible {
            let Some(slot) = self.take_slot(report, channel, now).await else {
                let limit = channel.route.daily_limit.unwrap_or(0);
                held.push(format!("{} (daily limit {limit} reached)", channel.name()));
                self.enqueue_digest(report, Some(channel.name()), DecisionKind::RateLimited)
                    .await;
                self.record_action(
                    report,
                    channel.name(),
                    ActionStatus::Skipped,
                    format!("held back: daily limit {limit} reached; queued for the digest"),
                    0,
                    None,
                )
                .await;
                continue;
            };
            let notification = Notification::Incident(incident.clone());
            let (result, attempts) = self.deliver(channel, notification).await;
            match result {
                Ok(delivery) => {
                    if let Some(url) = &delivery.url {
                        incident.links.push(Link {
                            channel: channel.name().to_string(),
                            label: link_label(channel.name(), delivery.external_id.as_deref()),
                            url: url.clone(),
                        });
                    }
                    let detail = delivery
                        .detail
                        .clone()
                        .unwrap_or_else(|| "delivered".into());
                    self.record_action(
                        report,
                        channel.name(),
                        ActionStatus::Succeeded,
                        detail,
                        attempts,
                        delivery.url.clone(),
                    )
                    .await;
                    delivered.push(channel.name().to_string());
                }
                Err(e) => {
                    let why = e.chain_string();
                    // Nobody received it: the daily limit counts
                    // notifications, not attempts.
                    if let Some(key) = &slot
                        && let Err(e) = self.store.release(key, day_start(now)).await
                    {
                        stage_failed("store", &e);
                    }
                    self.record_action(
                        report,
                        channel.name(),
                        ActionStatus::Failed,
                        format!("{why}; queued for the digest"),
                        attempts,
                        None,
                    )
                    .await;
                    self.enqueue_digest(report, Some(channel.name()), DecisionKind::DeliveryFailed)
                        .await;
                    failed.push(format!(
                        "{} ({why}, {attempts} attempt{})",
                        channel.name(),
                        plural(attempts)
                    ));
                }
            }
        }

        let mut reason = String::new();
        let kind = if !delivered.is_empty() {
            let _ = write!(reason, "delivered to {}", delivered.join(", "));
            DecisionKind::Fired
        } else if !failed.is_empty() {
            reason.push_str("every attempted delivery failed");
            DecisionKind::DeliveryFailed
        } else {
            reason.push_str("daily limit reached on every eligible channel");
            DecisionKind::RateLimited
        };
        if !held.is_empty() {
            let _ = write!(reason, "; held back from {}", held.join(", "));
        }
        if !failed.is_empty() {
            let _ = write!(reason, "; failed: {}", failed.join(", "));
        }
        let mut channels = delivered;
        if kind != DecisionKind::Fired {
            channels = held
                .iter()
                .chain(failed.iter())
                .map(|s| s.split(' ').next().unwrap_or("").to_string())
                .collect();
        }
        self.decision(report, &report.id, kind, reason, channels)
    }

    async fn recurrence(&self, report: &Report) -> Option<Recurrence> {
        let stats = self
            .store
            .signature_stats(&report.flow, &report.signature)
            .await
            .ok()?;
        if stats.incidents <= 1 {
            return None;
        }
        let query = ReportQuery {
            flow: Some(report.flow.clone()),
            signature: Some(report.signature.clone()),
            limit: Some(2),
            ..ReportQuery::default()
        };
        let previous = self
            .store
            .list_reports(&query)
            .await
            .ok()?
            .into_iter()
            .find(|r| r.id != report.id)?;
        Some(Recurrence {
            previous_incident: previous.id,
            incidents: stats.incidents,
            occurrences: stats.occurrences,
            first_seen: stats.first_seen.unwrap_or(report.first_seen),
        })
    }

    /// Takes one of the channel's daily notifications for the report's
    /// flow: `None` when the daily limit is reached, else the counter key
    /// consumed (none when the channel has no limit or the severity is
    /// exempt), to give back if every delivery fails.
    async fn take_slot(
        &self,
        report: &Report,
        channel: &Channel,
        now: DateTime<Utc>,
    ) -> Option<Option<String>> {
        let Some(limit) = channel.route.daily_limit else {
            return Some(None);
        };
        if channel.route.exempt.contains(&report.severity) {
            return Some(None);
        }
        let key = format!("notify:{}:{}", report.flow, channel.name());
        match self.store.try_consume(&key, day_start(now), limit).await {
            Ok(true) => Some(Some(key)),
            Ok(false) => None,
            Err(e) => {
                // Fail open: an unreadable limit must not silence an incident.
                stage_failed("store", &e);
                Some(None)
            }
        }
    }

    /// Delivers with retries and backoff; returns the result and attempts made.
    pub(crate) async fn deliver(
        &self,
        channel: &Channel,
        notification: Notification,
    ) -> (crate::Result<crate::notify::Delivery>, u32) {
        let notification = Arc::new(notification);
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let notifier = channel.notifier.clone();
            let n = notification.clone();
            let timeout = self.retry.attempt_timeout;
            let call = tokio::spawn(async move {
                match tokio::time::timeout(timeout, notifier.notify(&n)).await {
                    Ok(r) => r,
                    Err(_) => Err(Error::transient(
                        "notify",
                        format!("no answer within {}", crate::config::HumanDuration(timeout)),
                    )),
                }
            });
            let result = match call.await {
                Ok(r) => r,
                Err(e) => Err(Error::permanent(
                    "notify",
                    format!("the notifier panicked: {e}"),
                )),
            };
            match result {
                Ok(d) => return (Ok(d), attempt),
                Err(e) if e.is_retryable() && attempt < self.retry.max_attempts => {
                    let delay = e
                        .retry_after()
                        .map(|d| d.min(self.retry.max_delay))
                        .unwrap_or_else(|| self.retry.backoff(attempt));
                    tokio::time::sleep(delay).await;
                }
                Err(e) => return (Err(e), attempt),
            }
        }
    }

    async fn process_success(&self, report: Report) -> Outcome {
        if let Err(e) = self.store.claim(&report, Duration::ZERO).await {
            stage_failed("store", &e);
        }
        let eligible: Vec<&Channel> = if self.success_pings {
            self.channels.iter().filter(|c| c.route.success).collect()
        } else {
            Vec::new()
        };
        let mut delivered = Vec::new();
        for channel in &eligible {
            let (result, attempts) = self
                .deliver(channel, Notification::Success(report.clone()))
                .await;
            match result {
                Ok(d) => {
                    self.record_action(
                        &report,
                        channel.name(),
                        ActionStatus::Succeeded,
                        d.detail.unwrap_or_else(|| "delivered".into()),
                        attempts,
                        d.url,
                    )
                    .await;
                    delivered.push(channel.name().to_string());
                }
                Err(e) => {
                    self.record_action(
                        &report,
                        channel.name(),
                        ActionStatus::Failed,
                        e.chain_string(),
                        attempts,
                        None,
                    )
                    .await;
                }
            }
        }
        let (kind, reason) = if !delivered.is_empty() {
            (
                DecisionKind::Fired,
                format!("success ping delivered to {}", delivered.join(", ")),
            )
        } else if !self.success_pings {
            (
                DecisionKind::NoNotifiers,
                "success recorded; success pings are off (capture.success_pings)".to_string(),
            )
        } else if eligible.is_empty() {
            (
                DecisionKind::NoNotifiers,
                "success recorded; no channel opts in to success pings".to_string(),
            )
        } else {
            (
                DecisionKind::DeliveryFailed,
                "every success-ping delivery failed".to_string(),
            )
        };
        let decision = self.decision(&report, &report.id, kind, reason, delivered);
        self.record_decision(&decision).await;
        Outcome::from_decision(&decision, None, 1)
    }

    async fn remediate(&self, report: &Report, diagnosis: &Diagnosis) {
        let Some(remediator) = self.remediator.clone() else {
            return;
        };
        let ctx = RemediationContext {
            store: self.store.clone(),
            clock: self.clock.clone(),
        };
        let (subject, diag) = (report.clone(), diagnosis.clone());
        let joined =
            tokio::spawn(async move { remediator.remediate(&subject, &diag, &ctx).await }).await;
        let actions = match joined {
            Ok(Ok(actions)) => actions,
            Ok(Err(e)) => vec![Action::new(
                report,
                ActionKind::Remediate,
                "remediation",
                ActionStatus::Failed,
                e.chain_string(),
            )],
            Err(e) => vec![Action::new(
                report,
                ActionKind::Remediate,
                "remediation",
                ActionStatus::Failed,
                format!("the remediator panicked: {e}"),
            )],
        };
        for mut action in actions {
            action.detail = self.scrubber.scrub(&action.detail).into_owned();
            // Commands, output tails and executor replies: whatever the
            // remediator scrubbed, the configured rules apply here too.
            self.scrubber.scrub_json(&mut action.data);
            if let Err(e) = self.store.record_action(&action).await {
                stage_failed("store", &e);
            }
            let ran = matches!(
                action.status,
                ActionStatus::Succeeded
                    | ActionStatus::Failed
                    | ActionStatus::DryRun
                    | ActionStatus::Pending
            ) && action.kind == ActionKind::Remediate;
            if !ran {
                continue;
            }
            let notice = RemediationNotice {
                report: report.clone(),
                diagnosis: Some(diagnosis.clone()),
                action: action.clone(),
            };
            for channel in self
                .channels
                .iter()
                .filter(|c| c.route.accepts_severity(report.severity))
            {
                let (result, attempts) = self
                    .deliver(channel, Notification::Remediation(notice.clone()))
                    .await;
                let (status, detail) = match result {
                    Ok(_) => (
                        ActionStatus::Succeeded,
                        format!("remediation notice for action {}", action.id),
                    ),
                    Err(e) => (
                        ActionStatus::Failed,
                        format!(
                            "remediation notice for action {}: {}",
                            action.id,
                            e.chain_string()
                        ),
                    ),
                };
                self.record_action(report, channel.name(), status, detail, attempts, None)
                    .await;
            }
        }
    }

    fn decision(
        &self,
        report: &Report,
        incident: &Id,
        kind: DecisionKind,
        reason: String,
        channels: Vec<String>,
    ) -> Decision {
        self.counters.count_decision(kind);
        Decision {
            id: Id::new(),
            report_id: report.id.clone(),
            incident_id: incident.clone(),
            flow: report.flow.clone(),
            signature: report.signature.clone(),
            kind,
            // A delivery failure's reason quotes the remote's answer, which
            // is not ours to trust.
            reason: self.scrubber.scrub(&reason).into_owned(),
            channels,
            at: self.clock.now(),
        }
    }

    async fn record_decision(&self, decision: &Decision) {
        if let Err(e) = self.store.record_decision(decision).await {
            stage_failed("store", &e);
        }
    }

    async fn record_action(
        &self,
        report: &Report,
        target: &str,
        status: ActionStatus,
        detail: String,
        attempts: u32,
        url: Option<String>,
    ) {
        let mut action = Action::new(
            report,
            ActionKind::Notify,
            target,
            status,
            self.scrubber.scrub(&detail),
        );
        action.attempts = attempts;
        action.url = url;
        let now = self.clock.now();
        action.started_at = now;
        action.finished_at = now;
        if let Err(e) = self.store.record_action(&action).await {
            stage_failed("store", &e);
        }
    }

    async fn enqueue_digest(&self, report: &Report, channel: Option<&str>, reason: DecisionKind) {
        let entry = DigestEntry {
            id: Id::new(),
            report_id: report.id.clone(),
            flow: report.flow.clone(),
            signature: report.signature.clone(),
            headline: report.headline(),
            severity: report.severity,
            channel: channel.map(str::to_string),
            reason,
            at: self.clock.now(),
            digested_at: None,
        };
        if let Err(e) = self.store.enqueue_digest(&entry).await {
            stage_failed("store", &e);
        }
    }
}

/// "`cmd` exited with code 3 after 2.1s" and the like.
fn link_label(channel: &str, external_id: Option<&str>) -> String {
    match (channel, external_id) {
        ("github", Some(n)) => format!("GitHub issue #{n}"),
        (c, Some(id)) => format!("{c} {id}"),
        (c, None) => c.to_string(),
    }
}

fn plural(n: u32) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// A stage failed; the pipeline carries on. Written to stderr because the
/// failure of flow-doctor's own plumbing must not feed back into capture.
fn stage_failed(stage: &str, err: &Error) {
    eprintln!("flow-doctor: {stage} failed: {}", err.chain_string());
}
