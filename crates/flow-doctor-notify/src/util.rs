//! Helpers shared by the channels: truncation, escaping, `Retry-After`.
#![allow(dead_code)] // each channel uses a different subset

use std::time::Duration;

use chrono::{DateTime, Utc};

/// What a remote service answered when it refused a request, as an error
/// source. Never carries a URL or a credential.
#[derive(Debug, thiserror::Error)]
#[error("{service} answered HTTP {status}: {message}")]
pub(crate) struct RemoteError {
    /// `"Slack"`, `"GitHub API"`, ...
    pub(crate) service: &'static str,
    /// HTTP status code.
    pub(crate) status: u16,
    /// The answer's message, shortened.
    pub(crate) message: String,
}

impl RemoteError {
    pub(crate) fn new(service: &'static str, status: u16, message: impl AsRef<str>) -> Self {
        let message = message.as_ref().trim();
        let message = if message.is_empty() {
            "(empty body)".to_string()
        } else {
            truncate_end(message, 500)
        };
        Self {
            service,
            status,
            message,
        }
    }
}

/// A problem found before or after talking to the remote side.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Problem(pub(crate) String);

/// Truncates to at most `max` characters, ending with `…` when cut.
pub(crate) fn truncate_end(s: &str, max: usize) -> String {
    flow_doctor_core::model::truncate_chars(s, max)
}

/// Keeps the head and the tail of `s` within `max` characters, replacing
/// the middle with a note saying how much was left out. Tracebacks keep both
/// the outermost and the innermost frames this way.
pub(crate) fn truncate_middle(s: &str, max: usize) -> String {
    let total = s.chars().count();
    if total <= max {
        return s.to_string();
    }
    let note_len = 48;
    if max <= note_len + 2 {
        return truncate_end(s, max);
    }
    let keep = max - note_len;
    let head = keep / 3;
    let tail = keep - head;
    let omitted = total - head - tail;
    let head_text: String = s.chars().take(head).collect();
    let tail_text: String = s.chars().skip(total - tail).collect();
    format!("{head_text}\n… {omitted} characters omitted …\n{tail_text}")
}

/// Escapes `&`, `<`, `>` and `"` for HTML text and attribute values.
pub(crate) fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// Parses a `Retry-After` value: delay seconds or an HTTP date.
pub(crate) fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = value.parse::<f64>()
        && secs.is_finite()
        && secs >= 0.0
    {
        return Some(Duration::from_secs_f64(secs));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?;
    Some(
        (at.with_timezone(&Utc) - now)
            .to_std()
            .unwrap_or(Duration::ZERO),
    )
}

/// A one-line rendering of a timestamp for people.
pub(crate) fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn middle_truncation_keeps_both_ends() {
        let text: String = (0..1000).map(|i| format!("line {i}\n")).collect();
        let cut = truncate_middle(&text, 400);
        assert!(cut.chars().count() <= 400, "{}", cut.chars().count());
        assert!(cut.starts_with("line 0\n"));
        assert!(cut.trim_end().ends_with("line 999"));
        assert!(cut.contains("characters omitted"));
        assert_eq!(truncate_middle("short", 400), "short");
    }

    #[test]
    fn html_escaping() {
        assert_eq!(
            escape_html("<a href=\"x\">&</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;"
        );
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        assert_eq!(parse_retry_after("30", now), Some(Duration::from_secs(30)));
        assert_eq!(
            parse_retry_after("Fri, 02 Jan 2026 03:05:05 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn remote_error_is_short() {
        let long = "x".repeat(2000);
        let e = RemoteError::new("Slack", 400, &long);
        assert!(e.to_string().chars().count() < 600);
        assert_eq!(
            RemoteError::new("Slack", 404, "no_service").to_string(),
            "Slack answered HTTP 404: no_service"
        );
    }
}
