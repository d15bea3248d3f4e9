//! Slack incoming webhooks.
//!
//! Posts a Block Kit message: a header with a severity emoji
//! (`:rotating_light:` critical, `:red_circle:` error, `:warning:` warning,
//! `:information_source:` info), the flow and error, a diagnosis snippet, a
//! button linking to the GitHub issue when an earlier channel filed one, and
//! a context line. The top-level `text` fallback (for notifications and old
//! clients) is always set. Digests, remediations and success pings get a
//! header and a summary section.
//!
//! Configuration (`type: slack`):
//!
//! | key | meaning |
//! |---|---|
//! | `webhook_url` | incoming-webhook URL (secret; env fallback `FLOW_DOCTOR_SLACK_WEBHOOK_URL`, `SLACK_WEBHOOK_URL`) |
//! | `timeout` | request timeout (default 30s) |
//!
//! Answers: `200 ok` is a delivery; 429 → rate limited with `Retry-After`;
//! 5xx → transient; other 4xx (`invalid_payload`, `no_service`,
//! `channel_is_archived`, ...) → permanent with Slack's answer as the reason.
//!
//! ```no_run
//! # async fn demo() -> flow_doctor_core::Result<()> {
//! use flow_doctor_core::config::{Secret, SlackConfig};
//! use flow_doctor_notify::slack::SlackNotifier;
//!
//! let mut cfg = SlackConfig::default();
//! cfg.webhook_url = Some(Secret::new("https://hooks.slack.com/services/T000/B000/XXXX"));
//! let slack = SlackNotifier::new(&cfg)?;
//! # Ok(()) }
//! ```

use std::fmt;

use async_trait::async_trait;
use flow_doctor_core::config::{Secret, SlackConfig};
use flow_doctor_core::notify::{Digest, Incident, RemediationNotice};
use flow_doctor_core::{Delivery, Error, Notification, Notifier, Report, Result, Severity};
use serde_json::{Value, json};

use crate::http;
use crate::util::{truncate_end, truncate_middle};

const COMPONENT: &str = "slack";
/// Slack's limit for a header block's text.
const HEADER_MAX: usize = 150;
/// Slack's limit for a section's text.
const SECTION_MAX: usize = 3000;

/// Delivers notifications to a Slack incoming webhook.
pub struct SlackNotifier {
    url: Secret,
    client: reqwest::Client,
}

impl fmt::Debug for SlackNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlackNotifier").finish_non_exhaustive()
    }
}

impl SlackNotifier {
    /// Validates the configuration: the webhook URL must be set and be an
    /// `http(s)` URL.
    pub fn new(cfg: &SlackConfig) -> Result<Self> {
        let url = cfg
            .webhook_url
            .clone()
            .filter(|u| !u.is_empty())
            .ok_or_else(|| {
                Error::config(
                    COMPONENT,
                    "no webhook URL; set `webhook_url` or FLOW_DOCTOR_SLACK_WEBHOOK_URL",
                )
            })?;
        check_url(url.expose())?;
        let timeout = cfg
            .timeout
            .map(|t| t.get())
            .unwrap_or(http::DEFAULT_TIMEOUT);
        Ok(Self {
            url,
            client: http::client(COMPONENT, timeout)?,
        })
    }
}

fn check_url(url: &str) -> Result<()> {
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.has_host() => Ok(()),
        // never echo the URL: it is the credential
        _ => Err(Error::config(
            COMPONENT,
            "`webhook_url` is not an http(s) URL",
        )),
    }
}

#[async_trait]
impl Notifier for SlackNotifier {
    fn name(&self) -> &str {
        COMPONENT
    }

    async fn notify(&self, notification: &Notification) -> Result<Delivery> {
        let payload = message(notification);
        let answer = http::send(
            COMPONENT,
            self.client.post(self.url.expose()).json(&payload),
        )
        .await?;
        if answer.status.is_success() {
            Ok(Delivery::delivered().with_detail("posted to Slack"))
        } else {
            Err(http::status_error(COMPONENT, "Slack", &answer))
        }
    }
}

/// The Block Kit payload for a notification.
pub fn message(n: &Notification) -> Value {
    let blocks = match n {
        Notification::Incident(i) => incident_blocks(i),
        Notification::Digest(d) => digest_blocks(d, &n.title()),
        Notification::Remediation(r) => remediation_blocks(r, &n.title()),
        Notification::Success(r) => success_blocks(r),
        _ => vec![section(&escape(&n.title()))],
    };
    // The fallback text (notifications, screen readers) is mrkdwn too:
    // `<!channel>` or a link in a failure message must stay text.
    json!({ "text": truncate_end(&escape(&n.title()), SECTION_MAX), "blocks": blocks })
}

/// The emoji shown for a severity.
pub fn severity_emoji(s: Severity) -> &'static str {
    match s {
        Severity::Critical => ":rotating_light:",
        Severity::Error => ":red_circle:",
        Severity::Warning => ":warning:",
        Severity::Info => ":information_source:",
    }
}

fn incident_blocks(i: &Incident) -> Vec<Value> {
    let r = &i.report;
    let mut blocks = vec![header(&format!(
        "{} {}",
        severity_emoji(r.severity),
        r.title()
    ))];
    let mut fields = vec![
        field("Flow", &r.flow),
        field("Severity", r.severity.as_str()),
    ];
    if let Some(stage) = &r.stage {
        fields.push(field("Stage", stage));
    }
    if let Some(run) = &r.run_id {
        fields.push(field("Run", run));
    }
    if let Some(rec) = &i.recurrence {
        fields.push(field(
            "Occurrences",
            &format!("{} in {} incidents", rec.occurrences, rec.incidents),
        ));
    } else if r.dedup_count > 1 {
        fields.push(field("Occurrences", &r.dedup_count.to_string()));
    }
    blocks.push(json!({ "type": "section", "fields": fields }));
    blocks.push(section(&format!(
        "*Error*\n```{}```",
        escape(&truncate_end(&r.headline(), 1500))
    )));
    if let Some(c) = &r.cascade_source {
        blocks.push(section(&format!(
            "*Cascaded from* `{}`: {}",
            escape(&c.flow),
            escape(&truncate_end(&c.summary, 500))
        )));
    }
    if let Some(d) = &i.diagnosis {
        let mut text = format!(
            "*Diagnosis* {} ({:.0}% confidence)\n{}",
            d.category,
            d.confidence * 100.0,
            escape(&truncate_end(&d.root_cause, 1200))
        );
        if !d.remediation.is_empty() {
            text.push_str(&format!(
                "\n*Remediation* {}",
                escape(&truncate_end(&d.remediation, 800))
            ));
        }
        if !d.affected_files.is_empty() {
            let files: Vec<String> = d
                .affected_files
                .iter()
                .take(10)
                .map(|f| format!("`{}`", escape(f)))
                .collect();
            text.push_str(&format!("\n*Files* {}", files.join(", ")));
        }
        blocks.push(section(&text));
    } else if let Some(e) = &r.diagnosis_error {
        blocks.push(section(&format!(
            "*Diagnosis* unavailable: {}",
            escape(&truncate_end(e, 500))
        )));
    }
    if let Some(tb) = &r.traceback {
        blocks.push(section(&format!(
            "```{}```",
            escape(&truncate_middle(tb.trim_end(), 2000))
        )));
    }
    let buttons: Vec<Value> = i
        .links
        .iter()
        .filter(|l| l.url.starts_with("http"))
        .take(5)
        .map(|l| {
            json!({
                "type": "button",
                "text": { "type": "plain_text", "text": truncate_end(&l.label, 75), "emoji": true },
                "url": l.url,
            })
        })
        .collect();
    if !buttons.is_empty() {
        blocks.push(json!({ "type": "actions", "elements": buttons }));
    }
    let mut context = format!(
        "incident `{}` · signature `{}`",
        r.id.short(),
        truncate_end(&r.signature, 16)
    );
    if !r.host.is_empty() {
        context.push_str(&format!(" · host `{}`", escape(&r.host)));
    }
    blocks.push(json!({
        "type": "context",
        "elements": [{ "type": "mrkdwn", "text": context }],
    }));
    blocks
}

fn digest_blocks(d: &Digest, title: &str) -> Vec<Value> {
    let mut blocks = vec![header(&format!(
        "{} {title}",
        severity_emoji(Severity::Warning)
    ))];
    // Slack allows 50 blocks per message.
    for f in d.flows.iter().take(45) {
        let mut text = format!("*{}* ({} held back)", escape(&f.flow), f.total);
        for s in f.signatures.iter().take(10) {
            let reasons = s.reasons();
            text.push_str(&format!(
                "\n• ×{} {} _{}_ (last {})",
                s.count,
                escape(&truncate_end(&s.headline, 200)),
                reasons,
                s.last_seen.format("%Y-%m-%d %H:%M")
            ));
            if let (Some(c), Some(rc)) = (s.category, &s.root_cause) {
                text.push_str(&format!("\n    {c}: {}", escape(&truncate_end(rc, 200))));
            }
        }
        if f.signatures.len() > 10 {
            text.push_str(&format!("\n… and {} more", f.signatures.len() - 10));
        }
        blocks.push(section(&text));
    }
    if d.flows.len() > 45 {
        blocks.push(section(&format!("… and {} more flows", d.flows.len() - 45)));
    }
    blocks
}

fn remediation_blocks(r: &RemediationNotice, title: &str) -> Vec<Value> {
    let mut blocks = vec![header(&format!(
        "{} {title}",
        severity_emoji(r.report.severity)
    ))];
    let mut text = format!(
        "*Incident* `{}` in `{}`\n*Action* {} ({})",
        r.report.id.short(),
        escape(&r.report.flow),
        escape(&r.action.target),
        r.action.status.as_str()
    );
    if !r.action.detail.is_empty() {
        text.push_str(&format!(
            "\n```{}```",
            escape(&truncate_middle(&r.action.detail, 1500))
        ));
    }
    blocks.push(section(&text));
    blocks
}

fn success_blocks(r: &Report) -> Vec<Value> {
    let mut text = format!("*{}* succeeded", escape(&r.flow));
    if let Some(run) = &r.run_id {
        text.push_str(&format!(" (run `{}`)", escape(run)));
    }
    text.push_str(&format!("\n{}", escape(&truncate_end(&r.message, 1000))));
    vec![section(&format!(":white_check_mark: {text}"))]
}

fn header(text: &str) -> Value {
    json!({
        "type": "header",
        "text": { "type": "plain_text", "text": truncate_end(text, HEADER_MAX), "emoji": true },
    })
}

fn section(text: &str) -> Value {
    json!({
        "type": "section",
        "text": { "type": "mrkdwn", "text": truncate_end(text, SECTION_MAX) },
    })
}

fn field(name: &str, value: &str) -> Value {
    json!({ "type": "mrkdwn", "text": format!("*{name}*\n{}", escape(&truncate_end(value, 500))) })
}

/// Escapes the three characters Slack's mrkdwn treats as control characters.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use flow_doctor_core::model::ReportKind;
    use flow_doctor_core::notify::Link;
    use flow_doctor_core::{Category, Diagnosis};

    fn incident() -> Incident {
        let mut report = Report::new("etl", Severity::Critical, ReportKind::Error, "a < b & c");
        report.error_type = Some("ValueError".into());
        report.traceback = Some("Traceback\n  File \"x.py\"\nValueError: a < b".into());
        let mut d = Diagnosis::new(Category::Data, "bad <input>", 0.8);
        d.affected_files = vec!["etl/load.py".into()];
        Incident {
            report,
            diagnosis: Some(d),
            recurrence: None,
            links: vec![Link {
                channel: "github".into(),
                label: "GitHub issue #7".into(),
                url: "https://github.com/o/r/issues/7".into(),
            }],
        }
    }

    #[test]
    fn incident_message_has_emoji_fallback_link_and_escapes() {
        let m = message(&Notification::Incident(incident()));
        // The fallback text is mrkdwn too: escaped, so `<!channel>` or a
        // link in a failure message stays text.
        assert_eq!(m["text"], "[etl] ValueError: a &lt; b &amp; c");
        let blocks = m["blocks"].as_array().unwrap();
        assert_eq!(blocks[0]["type"], "header");
        assert!(
            blocks[0]["text"]["text"]
                .as_str()
                .unwrap()
                .starts_with(":rotating_light: [etl]")
        );
        let all = m.to_string();
        assert!(all.contains("a &lt; b &amp; c"), "{all}");
        assert!(all.contains("bad &lt;input&gt;"));
        let actions = blocks.iter().find(|b| b["type"] == "actions").unwrap();
        assert_eq!(
            actions["elements"][0]["url"],
            "https://github.com/o/r/issues/7"
        );
        assert!(all.contains("DATA (80% confidence)"));
    }

    #[test]
    fn emojis_per_severity() {
        assert_eq!(severity_emoji(Severity::Error), ":red_circle:");
        assert_eq!(severity_emoji(Severity::Warning), ":warning:");
        assert_eq!(severity_emoji(Severity::Info), ":information_source:");
    }

    #[test]
    fn missing_or_bad_url_is_a_config_error_without_the_url() {
        let err = SlackNotifier::new(&SlackConfig::default()).unwrap_err();
        assert!(matches!(err, Error::Config { .. }));
        let mut cfg = SlackConfig::default();
        cfg.webhook_url = Some(Secret::new("ftp://hooks/T/B/sekrit"));
        let err = SlackNotifier::new(&cfg).unwrap_err().to_string();
        assert!(!err.contains("sekrit"), "{err}");
    }

    #[test]
    fn debug_hides_the_url() {
        let mut cfg = SlackConfig::default();
        cfg.webhook_url = Some(Secret::new("https://hooks.slack.com/services/T/B/sekrit"));
        let n = SlackNotifier::new(&cfg).unwrap();
        let dbg = format!("{n:?}");
        assert!(!dbg.contains("sekrit") && !dbg.contains("hooks"), "{dbg}");
    }
}
