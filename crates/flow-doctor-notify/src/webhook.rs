//! Generic JSON webhooks.
//!
//! POSTs one JSON document per notification to any URL, with
//! `Content-Type: application/json` and `User-Agent: flow-doctor/<version>`.
//!
//! # The document (version 1)
//! Every document has:
//!
//! | field | meaning |
//! |---|---|
//! | `version` | `1`; bumped on an incompatible change |
//! | `type` | `"incident"`, `"digest"`, `"remediation"` or `"success"` |
//! | `title` | one-line title |
//! | `text` | plain-text rendering |
//! | `sent_at` | RFC 3339 time of this delivery attempt |
//!
//! and, by type:
//!
//! | type | fields |
//! |---|---|
//! | `incident` | `report`, `diagnosis` (or `null`), `recurrence` (or `null`), `links` |
//! | `digest` | `digest` |
//! | `remediation` | `report`, `diagnosis` (or `null`), `action` |
//! | `success` | `report` |
//!
//! `report`, `diagnosis`, `recurrence`, `links`, `digest` and `action` are
//! the JSON forms of flow-doctor's model types (`snake_case` fields; enums
//! as lowercase strings, categories upper-case).
//!
//! # Signature
//! With a `secret`, each request carries
//! `X-Flow-Doctor-Signature: sha256=<hex HMAC-SHA256 of the raw body>` (the
//! same scheme as GitHub's `X-Hub-Signature-256`) and
//! `X-Flow-Doctor-Timestamp: <unix seconds>`, which equals `sent_at` inside
//! the signed body: receivers verify the HMAC over the exact bytes received,
//! then reject stale timestamps to stop replays. `X-Flow-Doctor-Event`
//! carries the `type`.
//!
//! Configuration (`type: webhook`):
//!
//! | key | meaning |
//! |---|---|
//! | `url` | URL to POST to (secret: it often embeds a token) |
//! | `secret` | HMAC key (env fallback `FLOW_DOCTOR_WEBHOOK_SECRET`) |
//! | `headers` | extra request headers (values are secrets) |
//! | `timeout` | request timeout (default 30s) |
//!
//! Answers: 2xx is a delivery; 429 → rate limited with `Retry-After`; 408
//! and 5xx → transient; anything else (redirects included) → permanent.
//!
//! ```no_run
//! # fn demo() -> flow_doctor_core::Result<()> {
//! use flow_doctor_core::config::{Secret, WebhookConfig};
//! use flow_doctor_notify::webhook::WebhookNotifier;
//!
//! let mut cfg = WebhookConfig::default();
//! cfg.url = Secret::new("https://hooks.example.com/flow-doctor");
//! cfg.secret = Some(Secret::new("shared-key"));
//! let webhook = WebhookNotifier::new(&cfg)?;
//! # Ok(()) }
//! ```

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use flow_doctor_core::config::{Secret, WebhookConfig};
use flow_doctor_core::{Delivery, Error, Notification, Notifier, Result};
use hmac::{Hmac, KeyInit, Mac};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::http;
use crate::util::Problem;

const COMPONENT: &str = "webhook";
/// Header carrying `sha256=<hex HMAC>` of the body.
pub const SIGNATURE_HEADER: &str = "x-flow-doctor-signature";
/// Header carrying the delivery time in unix seconds.
pub const TIMESTAMP_HEADER: &str = "x-flow-doctor-timestamp";
/// Header carrying the document `type`.
pub const EVENT_HEADER: &str = "x-flow-doctor-event";
/// Version of the JSON document.
pub const DOCUMENT_VERSION: u32 = 1;

/// POSTs notifications as JSON documents.
pub struct WebhookNotifier {
    url: Secret,
    secret: Option<Secret>,
    headers: HeaderMap,
    client: reqwest::Client,
}

impl fmt::Debug for WebhookNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.keys().map(|k| k.as_str()).collect();
        f.debug_struct("WebhookNotifier")
            .field("signed", &self.secret.is_some())
            .field("extra_headers", &names)
            .finish_non_exhaustive()
    }
}

impl WebhookNotifier {
    /// Validates the configuration: an `http(s)` URL, valid header names and
    /// values.
    pub fn new(cfg: &WebhookConfig) -> Result<Self> {
        match reqwest::Url::parse(cfg.url.expose()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.has_host() => {}
            // never echo the URL: it may hold a token
            _ => return Err(Error::config(COMPONENT, "`url` is not an http(s) URL")),
        }
        let mut headers = HeaderMap::new();
        for (name, value) in &cfg.headers {
            let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                Error::config(
                    COMPONENT,
                    format!("`headers`: `{name}` is not a header name"),
                )
            })?;
            let mut value = HeaderValue::from_str(value.expose()).map_err(|_| {
                Error::config(
                    COMPONENT,
                    format!("`headers.{name}`: the value is not a valid header value"),
                )
            })?;
            value.set_sensitive(true);
            headers.insert(header, value);
        }
        let timeout = cfg
            .timeout
            .map(|t| t.get())
            .unwrap_or(http::DEFAULT_TIMEOUT);
        Ok(Self {
            url: cfg.url.clone(),
            secret: cfg.secret.clone().filter(|s| !s.is_empty()),
            headers,
            client: http::client(COMPONENT, timeout)?,
        })
    }
}

#[async_trait]
impl Notifier for WebhookNotifier {
    fn name(&self) -> &str {
        COMPONENT
    }

    async fn notify(&self, notification: &Notification) -> Result<Delivery> {
        let now = Utc::now();
        let doc = document(notification, now);
        let body = serde_json::to_vec(&doc).map_err(|e| {
            Error::permanent(
                COMPONENT,
                Problem(format!("cannot encode the document: {e}")),
            )
        })?;
        let mut request = self
            .client
            .post(self.url.expose())
            .headers(self.headers.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(EVENT_HEADER, kind(notification))
            .header(TIMESTAMP_HEADER, now.timestamp().to_string());
        if let Some(secret) = &self.secret {
            request = request.header(SIGNATURE_HEADER, sign(secret.expose().as_bytes(), &body));
        }
        let answer = http::send(COMPONENT, request.body(body)).await?;
        if answer.status.is_success() {
            Ok(Delivery::delivered().with_detail(format!("HTTP {}", answer.status.as_u16())))
        } else {
            Err(http::status_error(COMPONENT, "webhook receiver", &answer))
        }
    }
}

/// `sha256=<hex HMAC-SHA256 of body under key>`.
pub fn sign(key: &[u8], body: &[u8]) -> String {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it
    let mut mac = match <Hmac<Sha256> as KeyInit>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn kind(n: &Notification) -> &'static str {
    match n {
        Notification::Incident(_) => "incident",
        Notification::Digest(_) => "digest",
        Notification::Remediation(_) => "remediation",
        Notification::Success(_) => "success",
        _ => "other",
    }
}

/// The JSON document for a notification (see the module docs).
pub fn document(n: &Notification, sent_at: DateTime<Utc>) -> Value {
    let mut doc = json!({
        "version": DOCUMENT_VERSION,
        "type": kind(n),
        "title": n.title(),
        "text": n.text(),
        "sent_at": sent_at.to_rfc3339_opts(SecondsFormat::Secs, true),
    });
    let fields = match n {
        Notification::Incident(i) => json!({
            "report": i.report,
            "diagnosis": i.diagnosis,
            "recurrence": i.recurrence,
            "links": i.links,
        }),
        Notification::Digest(d) => json!({ "digest": d }),
        Notification::Remediation(r) => json!({
            "report": r.report,
            "diagnosis": r.diagnosis,
            "action": r.action,
        }),
        Notification::Success(r) => json!({ "report": r }),
        _ => json!({}),
    };
    if let (Some(doc), Value::Object(fields)) = (doc.as_object_mut(), fields) {
        doc.extend(fields);
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;
    use flow_doctor_core::model::ReportKind;
    use flow_doctor_core::notify::Incident;
    use flow_doctor_core::{Report, Severity};

    #[test]
    fn document_shape() {
        let report = Report::new("etl", Severity::Error, ReportKind::Error, "boom");
        let n = Notification::Incident(Incident {
            report,
            diagnosis: None,
            recurrence: None,
            links: vec![],
        });
        let doc = document(&n, Utc::now());
        assert_eq!(doc["version"], 1);
        assert_eq!(doc["type"], "incident");
        assert_eq!(doc["report"]["flow"], "etl");
        assert!(doc["diagnosis"].is_null());
        assert!(doc["links"].as_array().unwrap().is_empty());
        assert_eq!(doc["title"], "[etl] boom");
    }

    #[test]
    fn known_hmac_vector() {
        // RFC 4231 test case 2
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn debug_hides_url_secret_and_header_values() {
        let mut cfg = WebhookConfig::default();
        cfg.url = Secret::new("https://example.com/hook?token=SEKRIT1");
        cfg.secret = Some(Secret::new("SEKRIT2"));
        cfg.headers
            .insert("Authorization".into(), Secret::new("Bearer SEKRIT3"));
        let n = WebhookNotifier::new(&cfg).unwrap();
        let dbg = format!("{n:?}");
        assert!(!dbg.contains("SEKRIT"), "{dbg}");
        assert!(dbg.contains("authorization"), "{dbg}");
    }

    #[test]
    fn bad_url_and_header_are_config_errors() {
        let mut cfg = WebhookConfig::default();
        cfg.url = Secret::new("not a url SEKRIT");
        let err = WebhookNotifier::new(&cfg).unwrap_err();
        assert!(!err.to_string().contains("SEKRIT"));
        cfg.url = Secret::new("https://example.com/hook");
        cfg.headers.insert("bad header".into(), Secret::new("x"));
        assert!(matches!(
            WebhookNotifier::new(&cfg),
            Err(Error::Config { .. })
        ));
    }
}
