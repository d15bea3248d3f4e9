//! The [`Notifier`] trait and what it is asked to deliver.
//!
//! A notifier *delivers*; whether a report is delivered at all (severity and
//! category routing, dedup, daily rate limits) is decided by the engine from
//! each notifier's [`Route`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Result;
use crate::model::{Action, Category, Diagnosis, Id, Report, ReportId, Severity, truncate_chars};

/// Something to tell people.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Notification {
    /// A new incident (or a recurrence after the cooldown).
    Incident(Incident),
    /// A summary of what was held back.
    Digest(Digest),
    /// A remediation ran (or would have, in dry run) for an incident.
    Remediation(RemediationNotice),
    /// A flow succeeded (only for notifiers whose route opts in).
    Success(Report),
}

/// An incident to deliver.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Incident {
    /// The stored, scrubbed report.
    pub report: Report,
    /// Its diagnosis, when one was made.
    pub diagnosis: Option<Diagnosis>,
    /// Earlier incidents with the same signature, when this is a recurrence.
    pub recurrence: Option<Recurrence>,
    /// Links produced by notifiers that ran earlier for this incident
    /// (e.g. the GitHub issue URL, for Slack to link to).
    pub links: Vec<Link>,
}

/// The history of a recurring signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recurrence {
    /// The previous incident with this signature.
    pub previous_incident: ReportId,
    /// Incidents with this signature, this one included.
    pub incidents: u64,
    /// Occurrences with this signature across all incidents, this one included.
    pub occurrences: u64,
    /// First occurrence ever.
    pub first_seen: DateTime<Utc>,
}

/// A link produced by a delivery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// The channel that produced it.
    pub channel: String,
    /// What it points at (`"GitHub issue #12"`).
    pub label: String,
    /// The URL.
    pub url: String,
}

/// A remediation outcome to tell people about.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RemediationNotice {
    /// The incident remediated.
    pub report: Report,
    /// Its diagnosis.
    pub diagnosis: Option<Diagnosis>,
    /// What ran and how it ended.
    pub action: Action,
}

/// A summary of held-back reports, per flow.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Digest {
    /// When it was built.
    pub generated_at: DateTime<Utc>,
    /// Start of the period covered, when bounded.
    pub since: Option<DateTime<Utc>>,
    /// One section per flow, by flow name.
    pub flows: Vec<FlowDigest>,
    /// The digest-queue entries it covers (to mark them digested).
    pub entry_ids: Vec<Id>,
}

/// The digest section of one flow.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FlowDigest {
    /// Flow name.
    pub flow: String,
    /// Held-back reports in this flow.
    pub total: u64,
    /// Counts by decision kind (`rate_limited`, `delivery_failed`, ...).
    pub by_decision: BTreeMap<String, u64>,
    /// Per signature, most frequent first.
    pub signatures: Vec<SignatureDigest>,
}

/// The digest line of one signature.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignatureDigest {
    /// Signature.
    pub signature: String,
    /// Headline of the latest report.
    pub headline: String,
    /// Highest severity seen.
    pub severity: Severity,
    /// Held-back reports with this signature.
    pub count: u64,
    /// Counts by decision kind.
    pub by_decision: BTreeMap<String, u64>,
    /// First held back.
    pub first_seen: DateTime<Utc>,
    /// Last held back.
    pub last_seen: DateTime<Utc>,
    /// Category of the latest diagnosis, when there is one.
    pub category: Option<Category>,
    /// Root cause of the latest diagnosis, when there is one.
    pub root_cause: Option<String>,
}

impl SignatureDigest {
    /// Why it was held back, as `kind count` pairs: `rate_limited 2, delivery_failed 1`.
    pub fn reasons(&self) -> String {
        let mut out = String::new();
        for (kind, count) in &self.by_decision {
            if !out.is_empty() {
                out.push_str(", ");
            }
            let _ = write!(out, "{kind} {count}");
        }
        out
    }
}

impl Digest {
    /// Whether there is nothing in it.
    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }

    /// Total held-back reports across flows.
    pub fn total(&self) -> u64 {
        self.flows.iter().map(|f| f.total).sum()
    }
}

impl Notification {
    /// Severity used for routing and display. A digest is `Warning`; a
    /// remediation takes its report's severity.
    pub fn severity(&self) -> Severity {
        match self {
            Self::Incident(i) => i.report.severity,
            Self::Digest(_) => Severity::Warning,
            Self::Remediation(r) => r.report.severity,
            Self::Success(r) => r.severity,
        }
    }

    /// The report this is about, if it is about one.
    pub fn report(&self) -> Option<&Report> {
        match self {
            Self::Incident(i) => Some(&i.report),
            Self::Remediation(r) => Some(&r.report),
            Self::Success(r) => Some(r),
            Self::Digest(_) => None,
        }
    }

    /// One-line title, at most 120 characters.
    pub fn title(&self) -> String {
        match self {
            Self::Incident(i) => {
                let prefix = if i.recurrence.is_some() {
                    "recurring: "
                } else {
                    ""
                };
                truncate_chars(&format!("{prefix}{}", i.report.title()), 120)
            }
            Self::Digest(d) => format!(
                "flow-doctor digest: {} held-back report{} in {} flow{}",
                d.total(),
                if d.total() == 1 { "" } else { "s" },
                d.flows.len(),
                if d.flows.len() == 1 { "" } else { "s" }
            ),
            Self::Remediation(r) => truncate_chars(
                &format!(
                    "[{}] auto-remediation {}: {}",
                    r.report.flow,
                    r.action.status.as_str(),
                    r.action.target
                ),
                120,
            ),
            Self::Success(r) => {
                truncate_chars(&format!("[{}] succeeded: {}", r.flow, r.message), 120)
            }
        }
    }

    /// A plain-text rendering, for channels without rich formatting and as
    /// the fallback body of rich ones.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{}", self.title());
        match self {
            Self::Incident(i) => render_incident(&mut out, i),
            Self::Digest(d) => render_digest(&mut out, d),
            Self::Remediation(r) => {
                let _ = writeln!(out, "incident: {}", r.report.id);
                let _ = writeln!(
                    out,
                    "action: {} ({})",
                    r.action.target,
                    r.action.status.as_str()
                );
                if !r.action.detail.is_empty() {
                    let _ = writeln!(out, "{}", r.action.detail);
                }
            }
            Self::Success(r) => {
                if let Some(run) = &r.run_id {
                    let _ = writeln!(out, "run: {run}");
                }
            }
        }
        out
    }
}

fn render_incident(out: &mut String, i: &Incident) {
    let r = &i.report;
    let _ = writeln!(
        out,
        "flow: {}  severity: {}  kind: {}",
        r.flow, r.severity, r.kind
    );
    if let Some(stage) = &r.stage {
        let _ = writeln!(out, "stage: {stage}");
    }
    let _ = writeln!(out, "incident: {}  signature: {}", r.id, r.signature);
    // A wrapped command's status, unless the message already is it (no
    // traceback was parsed from its stderr).
    if let Some(exit) = &r.exit {
        let described = exit.describe();
        if r.message != described {
            let _ = writeln!(out, "process: {described}");
        }
    }
    if let Some(rec) = &i.recurrence {
        let _ = writeln!(
            out,
            "recurring: {} occurrences in {} incidents since {}",
            rec.occurrences,
            rec.incidents,
            rec.first_seen.to_rfc3339()
        );
    }
    if let Some(c) = &r.cascade_source {
        let _ = writeln!(
            out,
            "cascaded from: {} ({}) {}",
            c.flow, c.report_id, c.summary
        );
    }
    if let Some(d) = &i.diagnosis {
        let _ = writeln!(
            out,
            "diagnosis: {} ({:.0}% confidence, {}): {}",
            d.category,
            d.confidence * 100.0,
            d.source,
            d.root_cause
        );
        if !d.remediation.is_empty() {
            let _ = writeln!(out, "remediation: {}", d.remediation);
        }
        if !d.affected_files.is_empty() {
            let _ = writeln!(out, "affected files: {}", d.affected_files.join(", "));
        }
    } else if let Some(e) = &r.diagnosis_error {
        let _ = writeln!(out, "diagnosis: unavailable ({e})");
    }
    for link in &i.links {
        let _ = writeln!(out, "{}: {}", link.label, link.url);
    }
    if let Some(tb) = &r.traceback {
        let _ = writeln!(out, "\n{}", truncate_chars(tb.trim_end(), 4000));
    }
}

fn render_digest(out: &mut String, d: &Digest) {
    for f in &d.flows {
        let _ = writeln!(out, "\n{} ({} held back)", f.flow, f.total);
        for s in &f.signatures {
            let reasons = s.reasons();
            let _ = writeln!(
                out,
                "  x{} {} [{}] {} .. {}",
                s.count,
                s.headline,
                reasons,
                s.first_seen.format("%Y-%m-%d %H:%M"),
                s.last_seen.format("%Y-%m-%d %H:%M"),
            );
            if let (Some(c), Some(rc)) = (s.category, &s.root_cause) {
                let _ = writeln!(out, "      {c}: {rc}");
            }
        }
    }
}

/// What a successful delivery produced.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// A link to what was created (issue, message), when there is one.
    pub url: Option<String>,
    /// The remote id of what was created or updated (issue number, message id).
    pub external_id: Option<String>,
    /// A short description of what happened (`"commented on #12"`).
    pub detail: Option<String>,
}

impl Delivery {
    /// A delivery with nothing to report.
    pub fn delivered() -> Self {
        Self::default()
    }

    /// Sets the link.
    pub fn with_url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// Sets the remote id.
    pub fn with_external_id(mut self, id: impl Into<String>) -> Self {
        self.external_id = Some(id.into());
        self
    }

    /// Sets the description.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

/// Delivers notifications somewhere a person will see them.
///
/// # Contract
/// - `notify` may be called concurrently and more than once for the same
///   notification (retries); it delivers, it never decides *whether* to
///   notify (routing, dedup and rate limits live in the engine).
/// - Map remote failures onto [`crate::Error`] so the retry policy can act:
///   HTTP 429 → [`crate::Error::RateLimited`] (with `Retry-After` when
///   given), 5xx and timeouts → [`crate::Error::Transient`], other 4xx →
///   [`crate::Error::Permanent`].
/// - Never panic; never log or return a secret (tokens, webhook URLs).
/// - `check` validates credentials at start-up: wrong credentials are an
///   error; an unreachable network is not.
///
/// # Example
/// ```
/// use flow_doctor_core::{async_trait, Delivery, Notification, Notifier, Result};
///
/// /// Collects titles in memory.
/// #[derive(Default)]
/// struct Titles(std::sync::Mutex<Vec<String>>);
///
/// #[async_trait]
/// impl Notifier for Titles {
///     fn name(&self) -> &str {
///         "titles"
///     }
///     async fn notify(&self, n: &Notification) -> Result<Delivery> {
///         self.0.lock().unwrap().push(n.title());
///         Ok(Delivery::delivered())
///     }
/// }
/// ```
#[async_trait]
pub trait Notifier: Send + Sync + 'static {
    /// Short, stable channel name used in decisions, actions, rate-limit keys
    /// and logs (`"github"`, `"slack"`, `"console"`).
    fn name(&self) -> &str;

    /// Delivers one notification.
    async fn notify(&self, notification: &Notification) -> Result<Delivery>;

    /// Checks credentials at start-up. The default accepts.
    async fn check(&self) -> Result<()> {
        Ok(())
    }
}

/// Which notifications a notifier receives, and its daily limit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Route {
    /// Severities delivered (default: critical and error).
    pub notify_on: BTreeSet<Severity>,
    /// Diagnosis categories delivered; `None` delivers every category and
    /// undiagnosed reports.
    pub notify_on_category: Option<BTreeSet<Category>>,
    /// Whether success pings are delivered (default: no).
    pub success: bool,
    /// Whether digests are delivered (default: yes).
    pub digest: bool,
    /// Deliveries per flow per UTC day; `None` is unlimited.
    pub daily_limit: Option<u64>,
    /// Severities never held back by `daily_limit` (default: critical).
    pub exempt: BTreeSet<Severity>,
    /// The channel's name in decisions, actions, rate-limit counters and
    /// the digest; `None` uses the notifier's own name. Two channels of one
    /// kind (two Slack webhooks) need distinct names, or they share one
    /// daily limit.
    #[serde(default)]
    pub name: Option<String>,
}

impl Default for Route {
    fn default() -> Self {
        Self {
            notify_on: [Severity::Error, Severity::Critical].into_iter().collect(),
            notify_on_category: None,
            success: false,
            digest: true,
            daily_limit: None,
            exempt: [Severity::Critical].into_iter().collect(),
            name: None,
        }
    }
}

impl Route {
    /// The default route: critical and error, every category, no limit.
    pub fn new() -> Self {
        Self::default()
    }

    /// Delivers these severities.
    pub fn notify_on(mut self, severities: impl IntoIterator<Item = Severity>) -> Self {
        self.notify_on = severities.into_iter().collect();
        self
    }

    /// Delivers only these diagnosis categories.
    pub fn notify_on_category(mut self, categories: impl IntoIterator<Item = Category>) -> Self {
        self.notify_on_category = Some(categories.into_iter().collect());
        self
    }

    /// Receives success pings.
    pub fn success(mut self, yes: bool) -> Self {
        self.success = yes;
        self
    }

    /// Receives digests.
    pub fn digest(mut self, yes: bool) -> Self {
        self.digest = yes;
        self
    }

    /// Limits deliveries per flow per day.
    pub fn daily_limit(mut self, limit: Option<u64>) -> Self {
        self.daily_limit = limit;
        self
    }

    /// Names the channel (see [`Route::name`]).
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The channel's name: [`Route::name`], else the notifier's.
    pub fn channel_name<'a>(&'a self, notifier: &'a dyn Notifier) -> &'a str {
        self.name.as_deref().unwrap_or_else(|| notifier.name())
    }

    /// Severities exempt from the daily limit.
    pub fn exempt(mut self, severities: impl IntoIterator<Item = Severity>) -> Self {
        self.exempt = severities.into_iter().collect();
        self
    }

    /// Whether this route accepts a report of `severity`.
    pub fn accepts_severity(&self, severity: Severity) -> bool {
        self.notify_on.contains(&severity)
    }

    /// Whether this route accepts a report with this diagnosis category
    /// (`None`: undiagnosed).
    pub fn accepts_category(&self, category: Option<Category>) -> bool {
        match (&self.notify_on_category, category) {
            (None, _) => true,
            (Some(set), Some(c)) => set.contains(&c),
            (Some(_), None) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ReportKind;

    #[test]
    fn default_route_is_error_and_critical() {
        let r = Route::new();
        assert!(r.accepts_severity(Severity::Error));
        assert!(r.accepts_severity(Severity::Critical));
        assert!(!r.accepts_severity(Severity::Warning));
        assert!(r.accepts_category(None));
        let only_code = Route::new().notify_on_category([Category::Code]);
        assert!(only_code.accepts_category(Some(Category::Code)));
        assert!(!only_code.accepts_category(Some(Category::Infra)));
        assert!(!only_code.accepts_category(None));
    }

    /// A wrapped command's incident says how it ended, also when its
    /// message is the parsed error, and only once when it is not.
    #[test]
    fn incident_text_says_how_a_wrapped_command_ended() {
        let exit = crate::model::ExitInfo {
            command: "python3 etl.py".into(),
            code: Some(1),
            signal: None,
            timed_out: false,
            duration_ms: 2500,
        };
        let mut report = Report::new("etl", Severity::Error, ReportKind::ProcessExit, "bad row");
        report.error_type = Some("ValueError".into());
        report.exit = Some(exit.clone());
        let text = |report: &Report| {
            Notification::Incident(Incident {
                report: report.clone(),
                diagnosis: None,
                recurrence: None,
                links: vec![],
            })
            .text()
        };
        let shown = text(&report);
        assert!(
            shown.contains("process: `python3 etl.py` exited with code 1 after 2.5s"),
            "{shown}"
        );
        report.error_type = None;
        report.message = exit.describe();
        let shown = text(&report);
        assert_eq!(shown.matches("exited with code 1").count(), 1, "{shown}");
    }

    #[test]
    fn incident_text_carries_diagnosis_and_links() {
        let mut report = Report::new("etl", Severity::Error, ReportKind::Error, "boom");
        report.error_type = Some("KeyError".into());
        report.traceback = Some("Traceback ...\nKeyError: boom".into());
        let mut d = Diagnosis::new(Category::Data, "column missing", 0.9);
        d.remediation = "fix the input".into();
        let n = Notification::Incident(Incident {
            report,
            diagnosis: Some(d),
            recurrence: None,
            links: vec![Link {
                channel: "github".into(),
                label: "GitHub issue #3".into(),
                url: "http://x/3".into(),
            }],
        });
        let text = n.text();
        assert!(text.starts_with("[etl] KeyError: boom\n"), "{text}");
        assert!(text.contains("DATA (90% confidence, knowledge_base): column missing"));
        assert!(text.contains("GitHub issue #3: http://x/3"));
        assert!(text.contains("Traceback ..."));
        assert_eq!(n.severity(), Severity::Error);
    }
}
