//! SMTP email through lettre.
//!
//! Sends one `multipart/alternative` message (plain text and HTML) per
//! notification to every recipient. The subject is `<prefix> <title>`
//! (prefix `[flow-doctor]` by default); the body carries the flow, the
//! error, the diagnosis (category, confidence, root cause, remediation,
//! affected files), the traceback, captured logs and context. Digests list
//! each flow's held-back failures.
//!
//! Configuration (`type: email`):
//!
//! | key | meaning |
//! |---|---|
//! | `smtp_host` | server host |
//! | `smtp_port` | port (default 587 for `starttls`, 465 for `tls`, 25 for `none`) |
//! | `security` | `starttls` (default, required), `tls` (implicit TLS) or `none` (plain text; local relays only) |
//! | `tls_ca_file` | PEM file of CA certificates trusted besides the public roots (a relay with an internal CA) |
//! | `username`, `password` | SMTP AUTH credentials (password env fallback `FLOW_DOCTOR_SMTP_PASSWORD`, `SMTP_PASSWORD`) |
//! | `from`, `to` | sender and recipients |
//! | `subject_prefix` | default `[flow-doctor]` |
//! | `timeout` | connection and command timeout (default 30s) |
//!
//! Failures: unreachable server, timeouts and 4xx SMTP replies are
//! transient; 5xx replies (rejected recipient, failed authentication) and
//! TLS failures are permanent.
//!
//! ```no_run
//! # fn demo() -> flow_doctor_core::Result<()> {
//! use flow_doctor_core::config::{EmailConfig, SmtpSecurity};
//! use flow_doctor_notify::email::EmailNotifier;
//!
//! let mut cfg = EmailConfig::default();
//! cfg.smtp_host = "localhost".into();
//! cfg.security = SmtpSecurity::None;
//! cfg.from = "flow-doctor@example.com".into();
//! cfg.to = vec!["oncall@example.com".into()];
//! let email = EmailNotifier::new(&cfg)?;
//! # Ok(()) }
//! ```

use std::fmt::{self, Write as _};
use std::time::Duration;

use async_trait::async_trait;
use flow_doctor_core::config::{EmailConfig, SmtpSecurity};
use flow_doctor_core::notify::{Digest, Incident};
use flow_doctor_core::{Delivery, Error, Notification, Notifier, Result};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::util::{Problem, escape_html, truncate_end, truncate_middle, when};

const COMPONENT: &str = "email";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_PREFIX: &str = "[flow-doctor]";

/// Sends notifications by SMTP.
pub struct EmailNotifier {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    host: String,
    port: u16,
    security: SmtpSecurity,
    from: Mailbox,
    to: Vec<Mailbox>,
    prefix: String,
}

impl fmt::Debug for EmailNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailNotifier")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("from", &self.from.to_string())
            .field("to", &self.to.len())
            .finish_non_exhaustive()
    }
}

impl EmailNotifier {
    /// Validates the configuration and prepares the transport (no
    /// connection is made until the first delivery or [`Notifier::check`]).
    pub fn new(cfg: &EmailConfig) -> Result<Self> {
        let host = cfg.smtp_host.trim();
        if host.is_empty() {
            return Err(Error::config(COMPONENT, "`smtp_host` is empty"));
        }
        let from: Mailbox = cfg.from.parse().map_err(|e| {
            Error::config(
                COMPONENT,
                format!("`from` `{}` is not an address: {e}", cfg.from),
            )
        })?;
        if cfg.to.is_empty() {
            return Err(Error::config(
                COMPONENT,
                "`to` is empty; list at least one recipient",
            ));
        }
        let to = cfg
            .to
            .iter()
            .map(|a| {
                a.parse::<Mailbox>().map_err(|e| {
                    Error::config(COMPONENT, format!("`to`: `{a}` is not an address: {e}"))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let port = cfg.smtp_port.unwrap_or(match cfg.security {
            SmtpSecurity::Starttls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::None => 25,
        });
        let plain = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host);
        let builder = match cfg.security {
            SmtpSecurity::None => plain,
            SmtpSecurity::Starttls => plain.tls(Tls::Required(tls_parameters(host, cfg)?)),
            SmtpSecurity::Tls => plain.tls(Tls::Wrapper(tls_parameters(host, cfg)?)),
        };
        let mut builder = builder.port(port).timeout(Some(
            cfg.timeout.map(|t| t.get()).unwrap_or(DEFAULT_TIMEOUT),
        ));
        match (&cfg.username, &cfg.password) {
            (Some(user), Some(password)) => {
                builder = builder.credentials(Credentials::new(
                    user.clone(),
                    password.expose().to_string(),
                ));
            }
            (Some(_), None) => {
                return Err(Error::config(
                    COMPONENT,
                    "`username` is set but no password; set `password` or FLOW_DOCTOR_SMTP_PASSWORD",
                ));
            }
            (None, Some(_)) => {
                return Err(Error::config(
                    COMPONENT,
                    "`password` is set but no `username`",
                ));
            }
            (None, None) => {}
        }
        Ok(Self {
            transport: builder.build(),
            host: host.to_string(),
            port,
            security: cfg.security,
            from,
            to,
            prefix: cfg
                .subject_prefix
                .clone()
                .unwrap_or_else(|| DEFAULT_PREFIX.to_string()),
        })
    }

    /// The message for a notification, as it would be sent.
    pub fn message(&self, n: &Notification) -> Result<Message> {
        let subject = if self.prefix.is_empty() {
            n.title()
        } else {
            format!("{} {}", self.prefix, n.title())
        };
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(subject)
            .message_id(Some(message_id(n)));
        for to in &self.to {
            builder = builder.to(to.clone());
        }
        builder
            .multipart(MultiPart::alternative_plain_html(plain(n), html(n)))
            .map_err(|e| {
                Error::permanent(COMPONENT, Problem(format!("cannot build the message: {e}")))
            })
    }

    /// Sends `message` to each recipient in an envelope of its own, after
    /// the server refused the message for all of them at once: one refused
    /// address (a 550 for someone who left) must not cost the others the
    /// message. Delivered when any recipient took it, the refusals named;
    /// otherwise the last refusal.
    async fn send_each(
        &self,
        message: &Message,
        first: lettre::transport::smtp::Error,
    ) -> Result<Delivery> {
        let raw = message.formatted();
        let from = message.envelope().from().cloned();
        let mut sent = 0usize;
        let mut refused = Vec::new();
        let mut last = first;
        for to in &self.to {
            let envelope = lettre::address::Envelope::new(from.clone(), vec![to.email.clone()])
                .map_err(|e| {
                    Error::permanent(
                        COMPONENT,
                        Problem(format!("cannot build the envelope: {e}")),
                    )
                })?;
            match self.transport.send_raw(&envelope, &raw).await {
                Ok(_) => sent += 1,
                Err(e) => {
                    refused.push(format!(
                        "{}: {}",
                        to.email,
                        truncate_end(&e.to_string(), 200)
                    ));
                    last = e;
                }
            }
        }
        if sent == 0 {
            return Err(map_smtp(last));
        }
        Ok(Delivery::delivered().with_detail(format!(
            "sent to {sent} of {} recipients; refused {}",
            self.to.len(),
            refused.join("; ")
        )))
    }
}

#[async_trait]
impl Notifier for EmailNotifier {
    fn name(&self) -> &str {
        COMPONENT
    }

    async fn notify(&self, notification: &Notification) -> Result<Delivery> {
        let message = self.message(notification)?;
        let response = match self.transport.send(message.clone()).await {
            Ok(response) => response,
            Err(e) if self.to.len() > 1 && e.is_permanent() => {
                return self.send_each(&message, e).await;
            }
            Err(e) => return Err(map_smtp(e)),
        };
        let mut delivery = Delivery::delivered().with_detail(format!(
            "sent to {} recipient{}",
            self.to.len(),
            if self.to.len() == 1 { "" } else { "s" }
        ));
        if let Some(line) = response.first_line() {
            delivery = delivery.with_external_id(truncate_end(line, 200));
        }
        Ok(delivery)
    }

    /// Connects (and authenticates, when configured): a permanent SMTP
    /// answer such as failed authentication fails start-up; an unreachable
    /// server does not.
    async fn check(&self) -> Result<()> {
        match self.transport.test_connection().await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() || is_tls_failure(&e) => Err(Error::config(
                COMPONENT,
                format!(
                    "SMTP server {}:{} refused the connection: {e}",
                    self.host, self.port
                ),
            )),
            Err(e) => {
                tracing::warn!(
                    message = "SMTP server unreachable at start-up; carrying on.",
                    host = %self.host,
                    port = self.port,
                    error = %e
                );
                Ok(())
            }
        }
    }
}

/// 4xx replies, timeouts and network failures are transient; 5xx replies,
/// TLS failures and malformed exchanges are permanent.
fn map_smtp(e: lettre::transport::smtp::Error) -> Error {
    if e.is_permanent() || is_tls_failure(&e) || e.is_client() || e.is_response() {
        Error::permanent(COMPONENT, e)
    } else {
        Error::transient(COMPONENT, e)
    }
}

/// Whether `e` is a TLS failure: lettre's own TLS errors, and a failed
/// handshake (an untrusted or mismatched certificate), which reaches it as
/// a connection error caused by an I/O error of kind `InvalidData` from
/// rustls. Retrying cannot fix either.
fn is_tls_failure(e: &lettre::transport::smtp::Error) -> bool {
    if e.is_tls() {
        return true;
    }
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        if cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::InvalidData)
        {
            return true;
        }
        source = cause.source();
    }
    false
}

fn message_id(n: &Notification) -> String {
    // stable per notification, so a retried delivery is recognisable
    let local = match n {
        Notification::Incident(i) => format!("incident.{}", i.report.id),
        Notification::Remediation(r) => format!("remediation.{}", r.action.id),
        Notification::Success(r) => format!("success.{}", r.id),
        Notification::Digest(d) => format!("digest.{}", d.generated_at.timestamp_millis()),
        _ => format!("other.{}", chrono::Utc::now().timestamp_millis()),
    };
    format!("<{local}@flow-doctor>")
}

/// The plain-text body.
fn plain(n: &Notification) -> String {
    let mut out = n.text();
    if let Notification::Incident(i) = n {
        let r = &i.report;
        if !r.source_chain.is_empty() {
            let _ = writeln!(out, "\nCaused by:");
            for cause in &r.source_chain {
                let _ = writeln!(out, "  {}", truncate_end(cause, 500));
            }
        }
        if !r.logs.is_empty() {
            let _ = writeln!(out, "\nRecent logs:");
            for l in r.logs.iter().rev().take(50).rev() {
                let _ = writeln!(
                    out,
                    "  {} {} {}: {}",
                    l.at.format("%H:%M:%S"),
                    l.level,
                    l.target,
                    truncate_end(&l.message, 500)
                );
            }
        }
        if !r.context.is_empty() {
            let _ = writeln!(out, "\nContext:");
            for (k, v) in r.context.iter().take(100) {
                let _ = writeln!(out, "  {k} = {}", truncate_end(v, 500));
            }
        }
    }
    let _ = writeln!(out, "\n-- \nSent by flow-doctor.");
    out
}

/// The HTML body.
fn html(n: &Notification) -> String {
    let mut out = String::from("<!DOCTYPE html><html><body style=\"font-family:sans-serif\">\n");
    let _ = writeln!(out, "<h2>{}</h2>", escape_html(&n.title()));
    match n {
        Notification::Incident(i) => html_incident(&mut out, i),
        Notification::Digest(d) => html_digest(&mut out, d),
        _ => {
            let _ = writeln!(out, "<pre>{}</pre>", escape_html(&n.text()));
        }
    }
    out.push_str("<p style=\"color:#888\">Sent by flow-doctor.</p>\n</body></html>\n");
    out
}

fn row(out: &mut String, name: &str, value: &str) {
    let _ = writeln!(
        out,
        "<tr><th align=\"left\">{}</th><td>{}</td></tr>",
        escape_html(name),
        escape_html(value)
    );
}

fn html_incident(out: &mut String, i: &Incident) {
    let r = &i.report;
    out.push_str("<table>\n");
    row(out, "Flow", &r.flow);
    row(out, "Severity", r.severity.as_str());
    if let Some(stage) = &r.stage {
        row(out, "Stage", stage);
    }
    if let Some(run) = &r.run_id {
        row(out, "Run", run);
    }
    if !r.host.is_empty() {
        row(out, "Host", &r.host);
    }
    row(out, "Occurred", &when(r.occurred_at));
    row(out, "Incident", r.id.as_str());
    row(out, "Signature", &r.signature);
    if let Some(rec) = &i.recurrence {
        row(
            out,
            "Occurrences",
            &format!(
                "{} in {} incidents since {}",
                rec.occurrences,
                rec.incidents,
                when(rec.first_seen)
            ),
        );
    }
    out.push_str("</table>\n");
    let _ = writeln!(
        out,
        "<h3>Error</h3><pre>{}</pre>",
        escape_html(&truncate_end(&r.headline(), 4000))
    );
    if let Some(c) = &r.cascade_source {
        let _ = writeln!(
            out,
            "<p><b>Cascaded from</b> {} ({}): {}</p>",
            escape_html(&c.flow),
            escape_html(c.report_id.as_str()),
            escape_html(&c.summary)
        );
    }
    if let Some(d) = &i.diagnosis {
        out.push_str("<h3>Diagnosis</h3>\n<table>\n");
        row(
            out,
            "Category",
            &format!(
                "{} ({:.0}% confidence, {})",
                d.category,
                d.confidence * 100.0,
                d.source
            ),
        );
        row(out, "Root cause", &d.root_cause);
        if !d.remediation.is_empty() {
            row(out, "Remediation", &d.remediation);
        }
        out.push_str("</table>\n");
        if !d.affected_files.is_empty() {
            out.push_str("<p><b>Affected files</b></p><ul>\n");
            for f in &d.affected_files {
                let _ = writeln!(out, "<li><code>{}</code></li>", escape_html(f));
            }
            out.push_str("</ul>\n");
        }
    } else if let Some(e) = &r.diagnosis_error {
        let _ = writeln!(
            out,
            "<p><b>Diagnosis unavailable:</b> {}</p>",
            escape_html(e)
        );
    }
    if !i.links.is_empty() {
        out.push_str("<ul>\n");
        for l in &i.links {
            let _ = writeln!(
                out,
                "<li><a href=\"{}\">{}</a></li>",
                escape_html(&l.url),
                escape_html(&l.label)
            );
        }
        out.push_str("</ul>\n");
    }
    if let Some(tb) = &r.traceback {
        let _ = writeln!(
            out,
            "<h3>Traceback</h3><pre>{}</pre>",
            escape_html(&truncate_middle(tb.trim_end(), 20_000))
        );
    }
    if !r.logs.is_empty() {
        out.push_str("<h3>Recent logs</h3><pre>");
        for l in r.logs.iter().rev().take(50).rev() {
            let _ = writeln!(
                out,
                "{} {} {}: {}",
                l.at.format("%H:%M:%S"),
                escape_html(&l.level),
                escape_html(&l.target),
                escape_html(&truncate_end(&l.message, 500))
            );
        }
        out.push_str("</pre>\n");
    }
    if !r.context.is_empty() {
        out.push_str("<h3>Context</h3><table>\n");
        for (k, v) in r.context.iter().take(100) {
            row(out, k, &truncate_end(v, 500));
        }
        out.push_str("</table>\n");
    }
}

fn html_digest(out: &mut String, d: &Digest) {
    for f in &d.flows {
        let _ = writeln!(
            out,
            "<h3>{} ({} held back)</h3>\n<table border=\"1\" cellpadding=\"4\" style=\"border-collapse:collapse\">",
            escape_html(&f.flow),
            f.total
        );
        out.push_str(
            "<tr><th>Count</th><th>Failure</th><th>Why held back</th><th>First seen</th><th>Last seen</th><th>Diagnosis</th></tr>\n",
        );
        for s in &f.signatures {
            let reasons = s.reasons();
            let diagnosis = match (s.category, &s.root_cause) {
                (Some(c), Some(rc)) => format!("{c}: {rc}"),
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                s.count,
                escape_html(&s.headline),
                escape_html(&reasons),
                when(s.first_seen),
                when(s.last_seen),
                escape_html(&diagnosis)
            );
        }
        out.push_str("</table>\n");
    }
}

/// TLS for `host`: the public roots plus, with `tls_ca_file`, the CA
/// certificates in that PEM file.
fn tls_parameters(host: &str, cfg: &EmailConfig) -> Result<TlsParameters> {
    let mut builder = TlsParameters::builder(host.to_string());
    if let Some(path) = &cfg.tls_ca_file {
        let pem = std::fs::read(path).map_err(|e| {
            Error::config(
                COMPONENT,
                format!("`tls_ca_file`: cannot read `{}`: {e}", path.display()),
            )
        })?;
        let certs = Certificate::from_pem(&pem).map_err(|e| {
            Error::config(
                COMPONENT,
                format!(
                    "`tls_ca_file`: `{}` is not PEM certificates: {e}",
                    path.display()
                ),
            )
        })?;
        builder = builder.add_root_certificate(certs);
    }
    builder
        .build_rustls()
        .map_err(|e| Error::config(COMPONENT, format!("cannot set up TLS: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flow_doctor_core::config::Secret;

    fn cfg() -> EmailConfig {
        let mut cfg = EmailConfig::default();
        cfg.smtp_host = "127.0.0.1".into();
        cfg.security = SmtpSecurity::None;
        cfg.from = "Flow Doctor <fd@example.com>".into();
        cfg.to = vec!["oncall@example.com".into()];
        cfg
    }

    #[test]
    fn config_is_validated() {
        let mut c = cfg();
        c.to.clear();
        assert!(matches!(EmailNotifier::new(&c), Err(Error::Config { .. })));
        let mut c = cfg();
        c.from = "not an address".into();
        assert!(matches!(EmailNotifier::new(&c), Err(Error::Config { .. })));
        let mut c = cfg();
        c.username = Some("user".into());
        assert!(matches!(EmailNotifier::new(&c), Err(Error::Config { .. })));
        assert_eq!(EmailNotifier::new(&cfg()).unwrap().port, 25);
    }

    #[test]
    fn debug_hides_the_password() {
        let mut c = cfg();
        c.username = Some("user".into());
        c.password = Some(Secret::new("SEKRIT-pw"));
        let n = EmailNotifier::new(&c).unwrap();
        let dbg = format!("{n:?}");
        assert!(!dbg.contains("SEKRIT"), "{dbg}");
        assert!(dbg.contains("127.0.0.1"));
    }
}
