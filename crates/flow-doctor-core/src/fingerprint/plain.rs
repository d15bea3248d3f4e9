//! Plain text: log lines and shell errors, when no traceback was found.
//!
//! The message is the last line carrying an error level (`ERROR`, `FATAL`,
//! `CRITICAL`, a leading `error:`, `level=error`, a JSON
//! `"level":"error"`), else the last line that reads like an error
//! (`failed`, `refused`, `command not found`, ...), else the last non-empty
//! line; timestamp, level and logger prefixes are removed. There is no
//! language, and no error type unless the message itself reads
//! `SomeError: …` (a log level is not a type).

use std::sync::LazyLock;

use regex::Regex;

use super::{ParsedFailure, blank, clean_message, re};

static LEVEL: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(?:\b(?:ERROR|FATAL|CRITICAL|CRIT|SEVERE|PANIC|EMERG|ALERT)\b|^(?i:error|fatal)(?:\[\w+\])?:|(?i:\blevel=(?:error|fatal|critical|panic)\b)|(?i:"(?:level|severity)"\s*:\s*"(?:error|fatal|critical|panic)"))"#,
    )
});
static ERRORISH: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(?:error|errors|fatal|exception|failed|failure|fails|refused|denied|not found|unbound variable|no such file|timed out|timeout|killed|segmentation fault|core dumped|cannot|can't|unable to|panic)\b",
    )
});
static TIMESTAMP: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^\[?\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2}| ?UTC)?)?\]?\s*",
    )
});
static SYSLOG: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^[A-Z][a-z]{2}\s+\d{1,2} \d{2}:\d{2}:\d{2} \S+ [\w./-]+(?:\[\d+\])?:\s*")
});
static LEVEL_PREFIX: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(?:\[(?i:error|err|fatal|critical|crit|severe|panic|warn|warning|info|debug)\]|(?i:error|err|fatal|critical|crit|severe|panic|warn|warning)\b(?:\[\w+\])?)(?::[\w.]+:|\s*[:|-]|\s)?\s*",
    )
});
static LOGFMT_MSG: LazyLock<Regex> =
    LazyLock::new(|| re(r#"\b(?:msg|message|error|err)=(?:"(?P<q>(?:[^"\\]|\\.)*)"|(?P<w>\S+))"#));
static TYPED: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^(?P<type>[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt)): (?P<msg>.+)$")
});

/// The plain-text reading of `lines`.
pub(super) fn parse(lines: &[&str]) -> ParsedFailure {
    let pick = lines
        .iter()
        .rposition(|l| LEVEL.is_match(l))
        .or_else(|| lines.iter().rposition(|l| ERRORISH.is_match(l)))
        .or_else(|| lines.iter().rposition(|l| !blank(l)));
    let Some(line) = pick.and_then(|i| lines.get(i)) else {
        return ParsedFailure::default();
    };
    let message = strip_prefixes(line);
    let (error_type, message) = match TYPED.captures(&message) {
        Some(c) => (
            c.name("type").map(|m| m.as_str().to_string()),
            c.name("msg").map_or("", |m| m.as_str()).to_string(),
        ),
        None => (None, message),
    };
    ParsedFailure {
        language: None,
        error_type,
        message: clean_message(&message),
        frames: Vec::new(),
        chain: Vec::new(),
        traceback: None,
    }
}

/// The message of a log line without its timestamp, level and logger.
fn strip_prefixes(line: &str) -> String {
    let trimmed = line.trim();
    if trimmed.starts_with('{')
        && let Ok(serde_json::Value::Object(map)) = serde_json::from_str(trimmed)
    {
        for key in ["msg", "message", "error", "err"] {
            if let Some(serde_json::Value::String(s)) = map.get(key) {
                return s.clone();
            }
        }
    }
    if trimmed.contains('=')
        && let Some(c) = LOGFMT_MSG.captures(trimmed)
    {
        if let Some(q) = c.name("q") {
            return q.as_str().replace("\\\"", "\"");
        }
        if let Some(w) = c.name("w") {
            return w.as_str().to_string();
        }
    }
    let mut s = trimmed;
    for _ in 0..3 {
        let before = s.len();
        for prefix in [&*TIMESTAMP, &*SYSLOG, &*LEVEL_PREFIX] {
            if let Some(m) = prefix.find(s) {
                s = s.get(m.end()..).unwrap_or("");
            }
        }
        if s.len() == before {
            break;
        }
    }
    s.trim().to_string()
}
