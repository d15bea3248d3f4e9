//! Telegram Bot API (`sendMessage`).
//!
//! Sends `POST {base_url}/bot{token}/sendMessage` with
//! `{chat_id, text, parse_mode: "HTML", disable_web_page_preview: true}` and
//! `message_thread_id` when a forum topic is configured. Every piece of
//! report text is HTML-escaped (`<`, `>`, `&`, `"`); the message is cut to
//! Telegram's 4096-character limit between characters, never inside an
//! entity or a tag, and every opened tag is closed.
//!
//! Configuration (`type: telegram`):
//!
//! | key | meaning |
//! |---|---|
//! | `bot_token` | bot token (secret; env fallback `FLOW_DOCTOR_TELEGRAM_BOT_TOKEN`, `TELEGRAM_BOT_TOKEN`) |
//! | `chat_id` | chat id (number or `@channelname`) |
//! | `thread_id` | forum topic id |
//! | `base_url` | API base URL (default `https://api.telegram.org`) |
//! | `timeout` | request timeout (default 30s) |
//!
//! The token is part of the request URL, so it is stripped from every error
//! (reqwest errors carry the URL) and never logged. Answers: `ok: true` is a
//! delivery (`external_id` is the message id); 429 → rate limited with
//! `parameters.retry_after`; 5xx → transient; other errors (`chat not
//! found`, `bot was blocked`) → permanent.
//!
//! ```no_run
//! # fn demo() -> flow_doctor_core::Result<()> {
//! use flow_doctor_core::config::{Secret, TelegramConfig};
//! use flow_doctor_notify::telegram::TelegramNotifier;
//!
//! let mut cfg = TelegramConfig::default();
//! cfg.bot_token = Some(Secret::new("123456:ABC-DEF"));
//! cfg.chat_id = "-1001234567890".into();
//! let telegram = TelegramNotifier::new(&cfg)?;
//! # Ok(()) }
//! ```

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use flow_doctor_core::config::{Secret, TelegramConfig};
use flow_doctor_core::notify::{Digest, Incident, RemediationNotice};
use flow_doctor_core::{Delivery, Error, Notification, Notifier, Report, Result, Severity};
use serde::Deserialize;
use serde_json::json;

use crate::http;
use crate::util::{Problem, RemoteError, escape_html, truncate_end, truncate_middle};

const COMPONENT: &str = "telegram";
const DEFAULT_BASE_URL: &str = "https://api.telegram.org";
/// Telegram's limit for a message's text.
pub const MESSAGE_LIMIT: usize = 4096;

/// Delivers notifications through a Telegram bot.
pub struct TelegramNotifier {
    token: Secret,
    chat_id: String,
    thread_id: Option<i64>,
    base_url: String,
    client: reqwest::Client,
}

impl fmt::Debug for TelegramNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelegramNotifier")
            .field("chat_id", &self.chat_id)
            .field("thread_id", &self.thread_id)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// The Bot API's answer envelope.
#[derive(Debug, Deserialize)]
struct ApiAnswer {
    ok: bool,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    parameters: Option<ApiParameters>,
    #[serde(default)]
    result: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct ApiParameters {
    #[serde(default)]
    retry_after: Option<u64>,
}

impl TelegramNotifier {
    /// Validates the configuration: token and chat id set, base URL an
    /// `http(s)` URL.
    pub fn new(cfg: &TelegramConfig) -> Result<Self> {
        let token = cfg
            .bot_token
            .clone()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                Error::config(
                    COMPONENT,
                    "no bot token; set `bot_token` or FLOW_DOCTOR_TELEGRAM_BOT_TOKEN",
                )
            })?;
        if token.expose().contains(['/', '?', '#', ' ']) {
            return Err(Error::config(
                COMPONENT,
                "`bot_token` contains characters a bot token never has (`/`, `?`, `#`, space)",
            ));
        }
        if cfg.chat_id.trim().is_empty() {
            return Err(Error::config(
                COMPONENT,
                "`chat_id` is empty; set the chat's numeric id or @channelname",
            ));
        }
        let base_url = cfg
            .base_url
            .clone()
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_string());
        match reqwest::Url::parse(&base_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            _ => {
                return Err(Error::config(
                    COMPONENT,
                    format!("`base_url` `{base_url}` is not an http(s) URL"),
                ));
            }
        }
        let timeout = cfg
            .timeout
            .map(|t| t.get())
            .unwrap_or(http::DEFAULT_TIMEOUT);
        Ok(Self {
            token,
            chat_id: cfg.chat_id.trim().to_string(),
            thread_id: cfg.thread_id,
            base_url: base_url.trim_end_matches('/').to_string(),
            client: http::client(COMPONENT, timeout)?,
        })
    }

    fn method_url(&self, method: &str) -> String {
        format!("{}/bot{}/{method}", self.base_url, self.token.expose())
    }

    fn chat_id_value(&self) -> serde_json::Value {
        match self.chat_id.parse::<i64>() {
            Ok(n) => json!(n),
            Err(_) => json!(self.chat_id),
        }
    }
}

#[async_trait]
impl Notifier for TelegramNotifier {
    fn name(&self) -> &str {
        COMPONENT
    }

    async fn notify(&self, notification: &Notification) -> Result<Delivery> {
        let mut payload = json!({
            "chat_id": self.chat_id_value(),
            "text": message(notification),
            "parse_mode": "HTML",
            "disable_web_page_preview": true,
        });
        if let Some(thread) = self.thread_id {
            payload["message_thread_id"] = json!(thread);
        }
        let answer = http::send(
            COMPONENT,
            self.client
                .post(self.method_url("sendMessage"))
                .json(&payload),
        )
        .await?;
        let api: Option<ApiAnswer> = serde_json::from_str(&answer.body).ok();
        if answer.status.is_success()
            && let Some(api) = &api
            && api.ok
        {
            let mut delivery = Delivery::delivered().with_detail("sent to Telegram");
            if let Some(id) = api
                .result
                .as_ref()
                .and_then(|r| r.get("message_id"))
                .and_then(|v| v.as_i64())
            {
                delivery = delivery.with_external_id(id.to_string());
            }
            return Ok(delivery);
        }
        Err(api_error(&answer, api.as_ref()))
    }

    /// Calls `getMe`: a rejected token (401, 404) fails start-up; an
    /// unreachable API does not.
    async fn check(&self) -> Result<()> {
        let answer = match http::send(COMPONENT, self.client.get(self.method_url("getMe"))).await {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(
                    message = "Telegram unreachable at start-up; carrying on.",
                    error = %e.chain_string()
                );
                return Ok(());
            }
        };
        match answer.status.as_u16() {
            200..=299 => Ok(()),
            401 | 404 => Err(Error::config(
                COMPONENT,
                "Telegram bot token rejected (getMe answered Unauthorized); check `bot_token`",
            )),
            status => {
                tracing::warn!(
                    message = "Telegram getMe failed at start-up; carrying on.",
                    status
                );
                Ok(())
            }
        }
    }
}

fn api_error(answer: &http::Answer, api: Option<&ApiAnswer>) -> Error {
    let status = answer.status.as_u16();
    let description = api
        .and_then(|a| a.description.clone())
        .unwrap_or_else(|| answer.body.clone());
    if status == 429 {
        let retry = api
            .and_then(|a| a.parameters.as_ref())
            .and_then(|p| p.retry_after)
            .map(Duration::from_secs)
            .or_else(|| http::retry_after(&answer.headers));
        return Error::rate_limited(COMPONENT, retry);
    }
    if answer.status.is_success() {
        // 200 without `ok: true`: not the Bot API, or a malformed answer
        return Error::permanent(
            COMPONENT,
            Problem(format!(
                "unexpected answer from the Bot API: {}",
                truncate_end(&description, 200)
            )),
        );
    }
    let source = RemoteError::new("Telegram", status, description);
    if answer.status.is_server_error() {
        Error::transient(COMPONENT, source)
    } else {
        Error::permanent(COMPONENT, source)
    }
}

/// The HTML text of a notification, within [`MESSAGE_LIMIT`].
pub fn message(n: &Notification) -> String {
    let mut m = Html::new(MESSAGE_LIMIT);
    match n {
        Notification::Incident(i) => incident(&mut m, i),
        Notification::Digest(d) => digest(&mut m, d, &n.title()),
        Notification::Remediation(r) => remediation(&mut m, r, &n.title()),
        Notification::Success(r) => success(&mut m, r),
        _ => {
            m.bold(&n.title());
        }
    }
    m.finish()
}

fn emoji(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "🚨",
        Severity::Error => "🔴",
        Severity::Warning => "⚠️",
        Severity::Info => "ℹ️",
    }
}

fn incident(m: &mut Html, i: &Incident) {
    let r = &i.report;
    m.text(emoji(r.severity));
    m.text(" ");
    m.bold(&r.title());
    m.text("\n");
    m.label("Flow", &r.flow);
    m.text(" · ");
    m.label("Severity", r.severity.as_str());
    m.text("\n");
    if let Some(stage) = &r.stage {
        m.label("Stage", stage);
        m.text("\n");
    }
    if let Some(rec) = &i.recurrence {
        m.label(
            "Occurrences",
            &format!("{} in {} incidents", rec.occurrences, rec.incidents),
        );
        m.text("\n");
    }
    if let Some(c) = &r.cascade_source {
        m.label("Cascaded from", &format!("{}: {}", c.flow, c.summary));
        m.text("\n");
    }
    if let Some(d) = &i.diagnosis {
        m.label(
            "Diagnosis",
            &format!(
                "{} ({:.0}%): {}",
                d.category,
                d.confidence * 100.0,
                truncate_end(&d.root_cause, 600)
            ),
        );
        m.text("\n");
        if !d.remediation.is_empty() {
            m.label("Remediation", &truncate_end(&d.remediation, 400));
            m.text("\n");
        }
        if !d.affected_files.is_empty() {
            m.bold("Files:");
            for (k, f) in d.affected_files.iter().take(10).enumerate() {
                m.text(if k == 0 { " " } else { ", " });
                m.code(f);
            }
            m.text("\n");
        }
    } else if let Some(e) = &r.diagnosis_error {
        m.label(
            "Diagnosis",
            &format!("unavailable ({})", truncate_end(e, 300)),
        );
        m.text("\n");
    }
    for l in i.links.iter().filter(|l| l.url.starts_with("http")) {
        m.link(&l.url, &l.label);
        m.text("\n");
    }
    m.text("incident ");
    m.code(r.id.short());
    m.text("\n");
    if let Some(tb) = &r.traceback {
        m.pre(&truncate_middle(tb.trim_end(), 3000));
    }
}

fn digest(m: &mut Html, d: &Digest, title: &str) {
    m.text(emoji(Severity::Warning));
    m.text(" ");
    m.bold(title);
    for f in &d.flows {
        m.text("\n\n");
        m.bold(&f.flow);
        m.text(&format!(" ({} held back)", f.total));
        for s in &f.signatures {
            let reasons = s.reasons();
            m.text(&format!(
                "\n• ×{} {} [{}]",
                s.count,
                truncate_end(&s.headline, 200),
                reasons
            ));
            if let (Some(c), Some(rc)) = (s.category, &s.root_cause) {
                m.text(&format!("\n   {c}: {}", truncate_end(rc, 200)));
            }
        }
    }
}

fn remediation(m: &mut Html, r: &RemediationNotice, title: &str) {
    m.text(emoji(r.report.severity));
    m.text(" ");
    m.bold(title);
    m.text("\n");
    m.label("Incident", r.report.id.short());
    m.text("\n");
    if !r.action.detail.is_empty() {
        m.pre(&truncate_middle(&r.action.detail, 2000));
    }
}

fn success(m: &mut Html, r: &Report) {
    m.text("✅ ");
    m.bold(&format!("{} succeeded", r.flow));
    if let Some(run) = &r.run_id {
        m.text(" (run ");
        m.code(run);
        m.text(")");
    }
    m.text("\n");
    m.text(&truncate_end(&r.message, 1000));
}

/// An HTML message under construction that never exceeds its limit: text is
/// escaped and appended one character at a time, tags are appended whole
/// with room reserved for their closing tags, and once full, nothing more is
/// added except `…` and the closing tags. Lengths are counted in UTF-16
/// code units, as Telegram counts them, on the raw HTML (at least the length
/// Telegram measures after parsing entities).
struct Html {
    out: String,
    used: usize,
    limit: usize,
    closers: Vec<&'static str>,
    reserved: usize,
    full: bool,
}

const ELLIPSIS: char = '…';

fn units(s: &str) -> usize {
    s.encode_utf16().count()
}

impl Html {
    fn new(limit: usize) -> Self {
        Self {
            out: String::new(),
            used: 0,
            limit,
            closers: Vec::new(),
            reserved: 0,
            full: false,
        }
    }

    /// Whether `n` more units fit, keeping room for the closers and `…`.
    fn fits(&self, n: usize) -> bool {
        self.used + n + self.reserved + ELLIPSIS.len_utf16() <= self.limit
    }

    fn push(&mut self, s: &str) {
        self.out.push_str(s);
        self.used += units(s);
    }

    fn text(&mut self, s: &str) {
        if self.full {
            return;
        }
        let mut buf = [0u8; 4];
        for c in s.chars() {
            let escaped: &str = match c {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&quot;",
                c => c.encode_utf8(&mut buf),
            };
            if !self.fits(units(escaped)) {
                self.overflow();
                return;
            }
            self.push(escaped);
        }
    }

    fn overflow(&mut self) {
        if !self.full {
            self.full = true;
            self.out.push(ELLIPSIS);
            self.used += ELLIPSIS.len_utf16();
        }
    }

    fn open(&mut self, open: &str, close: &'static str) -> bool {
        if self.full {
            return false;
        }
        // room for the tags and at least a few characters of content
        if !self.fits(units(open) + units(close) + 4) {
            self.overflow();
            return false;
        }
        self.push(open);
        self.closers.push(close);
        self.reserved += units(close);
        true
    }

    fn close(&mut self) {
        if let Some(close) = self.closers.pop() {
            self.reserved -= units(close);
            self.push(close);
        }
    }

    fn wrapped(&mut self, open: &str, close: &'static str, s: &str) {
        if self.open(open, close) {
            self.text(s);
            self.close();
        }
    }

    fn bold(&mut self, s: &str) {
        self.wrapped("<b>", "</b>", s);
    }

    fn code(&mut self, s: &str) {
        self.wrapped("<code>", "</code>", s);
    }

    fn pre(&mut self, s: &str) {
        self.wrapped("<pre>", "</pre>", s);
    }

    fn label(&mut self, name: &str, value: &str) {
        self.bold(&format!("{name}:"));
        self.text(" ");
        self.text(value);
    }

    fn link(&mut self, url: &str, label: &str) {
        let open = format!("<a href=\"{}\">", escape_html(url));
        self.wrapped(&open, "</a>", label);
    }

    fn finish(mut self) -> String {
        while !self.closers.is_empty() {
            self.close();
        }
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_tags_balanced() {
        let mut m = Html::new(MESSAGE_LIMIT);
        m.bold("a<b & c>");
        m.pre("x > y");
        assert_eq!(m.finish(), "<b>a&lt;b &amp; c&gt;</b><pre>x &gt; y</pre>");
    }

    #[test]
    fn cut_never_splits_an_entity_and_closes_tags() {
        for limit in 20..60 {
            let mut m = Html::new(limit);
            m.text("start ");
            m.pre(&"<&>".repeat(50));
            m.text("never shown");
            let out = m.finish();
            assert!(units(&out) <= limit, "{limit}: {out}");
            assert!(!out.contains("never"), "{out}");
            if out.contains("<pre>") {
                assert!(out.ends_with("</pre>"), "{out}");
                let inner = &out[out.find("<pre>").unwrap() + 5..out.len() - 6];
                // every `&` starts a whole entity
                let no_entities = inner
                    .replace("&lt;", "")
                    .replace("&gt;", "")
                    .replace("&amp;", "");
                assert!(!no_entities.contains(['&', '<', '>']), "{inner}");
            }
        }
    }

    #[test]
    fn token_is_not_in_debug() {
        let mut cfg = TelegramConfig::default();
        cfg.bot_token = Some(Secret::new("123456:SEKRIT-token"));
        cfg.chat_id = "42".into();
        let n = TelegramNotifier::new(&cfg).unwrap();
        let dbg = format!("{n:?}");
        assert!(!dbg.contains("SEKRIT"), "{dbg}");
        assert!(dbg.contains("42"));
    }

    #[test]
    fn config_is_validated() {
        let mut cfg = TelegramConfig::default();
        assert!(matches!(
            TelegramNotifier::new(&cfg),
            Err(Error::Config { .. })
        ));
        cfg.bot_token = Some(Secret::new("1:abc"));
        assert!(matches!(
            TelegramNotifier::new(&cfg),
            Err(Error::Config { .. })
        ));
        cfg.chat_id = "@chan".into();
        cfg.base_url = Some("ftp://x".into());
        assert!(matches!(
            TelegramNotifier::new(&cfg),
            Err(Error::Config { .. })
        ));
    }
}
