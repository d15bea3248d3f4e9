//! Message normalization: variable tokens collapse to placeholders so that
//! two occurrences of one failure read the same.

use std::sync::LazyLock;

use regex::{Captures, Regex};

use super::re;

static UUID: LazyLock<Regex> = LazyLock::new(|| {
    re(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")
});
static TEMP_PATH: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(?:(?:/private)?/var/folders/|/var/tmp/|/tmp/|/dev/shm/|[A-Za-z]:\\Users\\[^\\\s]+\\AppData\\Local\\Temp\\|[A-Za-z]:\\Windows\\Temp\\)[^\s'"`:,;()\[\]{}<>]*"#,
    )
});
static TIMESTAMP: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?x)
        \b\d{4}-\d{2}-\d{2}(?:[T\ ]\d{2}:\d{2}(?::\d{2})?(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2}|\ ?UTC)?)?\b Z?
      | \b\d{4}/\d{2}/\d{2}(?:[T\ ]\d{2}:\d{2}(?::\d{2})?)?\b
      | \b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),\ \d{1,2}\ (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\ \d{4}\ \d{2}:\d{2}:\d{2}(?:\ (?:GMT|UTC|[+-]\d{4}))?
      | \b\d{2}:\d{2}:\d{2}(?:[.,]\d+)?\b
    ")
});
static IP: LazyLock<Regex> = LazyLock::new(|| {
    re(r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?\b|\[[0-9a-fA-F:]*:[0-9a-fA-F:]+\](?::\d{1,5})?")
});
static REQUEST_ID: LazyLock<Regex> = LazyLock::new(|| {
    re(r#"(?ix)
        (?P<key>\b(?:x-)?(?:request|req|trace|correlation|span|transaction|txn|job|run|execution|invocation)[\s_-]?id\b["']?\s*[:=]?\s*["']?)
        (?P<val>[A-Za-z0-9][A-Za-z0-9._:-]{3,})
      | \b(?P<pre>req|request|trace|txn|run|job|task|exec)[_-](?P<id>[A-Za-z0-9]{6,})\b
    "#)
});
static ADDRESS: LazyLock<Regex> = LazyLock::new(|| re(r"\b0x[0-9a-fA-F]+\b"));
static HEX: LazyLock<Regex> = LazyLock::new(|| re(r"\b[0-9a-fA-F]{7,}\b"));
static MIXED_ID: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?P<pre>^|[^A-Za-z0-9-])(?P<tok>[A-Za-z0-9-]{16,})"));
static NUMBER: LazyLock<Regex> = LazyLock::new(|| re(r"\d+(?:[.,]\d+)*"));
static SPACES: LazyLock<Regex> = LazyLock::new(|| re(r"\s+"));

/// Collapses the variable tokens of a message, so occurrences of one
/// failure compare equal:
///
/// | Token | Becomes |
/// |---|---|
/// | UUIDs | `<uuid>` |
/// | temp paths (`/tmp/…`, `/var/folders/…`, `C:\Users\…\AppData\Local\Temp\…`) | `<tmp>` |
/// | ISO and RFC 2822 timestamps, dates, times of day | `<ts>` |
/// | IPv4 / bracketed IPv6 addresses, with their port | `<ip>` |
/// | request, trace, job and run ids (`request_id=…`, `req-8f3kz2`) | `<id>` |
/// | `0x` addresses | `<addr>` |
/// | hex ids of 7+ digits with a decimal digit (git SHAs, digests) | `<hex>` |
/// | long mixed ids (16+ letters and digits, 3+ digits) | `<id>` |
/// | numbers not glued to a word (`42`, `3.5s`, `[5]`; not `col2`, `row_7`) | `<n>` |
///
/// Whitespace runs become one space. Quoted values are otherwise kept, so
/// `KeyError: 'user_id'` and `KeyError: 'order_id'` stay different.
///
/// ```
/// use flow_doctor_core::fingerprint::normalize_message;
/// assert_eq!(
///     normalize_message("timeout after 30s for job 550e8400-e29b-41d4-a716-446655440000"),
///     "timeout after <n>s for job <uuid>",
/// );
/// assert_eq!(normalize_message("KeyError: 'user_id'"), "KeyError: 'user_id'");
/// ```
pub fn normalize_message(message: &str) -> String {
    let s = replace(message.to_string(), &UUID, |_| "<uuid>".into());
    let s = replace(s, &TEMP_PATH, |_| "<tmp>".into());
    let s = replace(s, &TIMESTAMP, |_| "<ts>".into());
    let s = replace(s, &IP, |_| "<ip>".into());
    let s = replace(s, &REQUEST_ID, |c| {
        let whole = c.get(0).map_or("", |m| m.as_str());
        let value = c
            .name("val")
            .or_else(|| c.name("id"))
            .map_or("", |m| m.as_str());
        // An id has a digit somewhere: `request id format` is prose.
        if !value.bytes().any(|b| b.is_ascii_digit()) {
            return whole.to_string();
        }
        match (c.name("key"), c.name("pre")) {
            (Some(k), _) => format!("{}<id>", k.as_str()),
            (None, Some(p)) => format!("{}-<id>", p.as_str()),
            _ => "<id>".into(),
        }
    });
    let s = replace(s, &ADDRESS, |_| "<addr>".into());
    let s = replace(s, &HEX, |c| {
        let t = c.get(0).map_or("", |m| m.as_str());
        if t.bytes().all(|b| b.is_ascii_digit()) {
            "<n>".into()
        } else if t.bytes().any(|b| b.is_ascii_digit()) {
            "<hex>".into()
        } else {
            t.to_string()
        }
    });
    let s = replace(s, &MIXED_ID, |c| {
        let pre = c.name("pre").map_or("", |m| m.as_str());
        let t = c.name("tok").map_or("", |m| m.as_str());
        let digits = t.bytes().filter(u8::is_ascii_digit).count();
        let letters = t.bytes().filter(u8::is_ascii_alphabetic).count();
        if digits >= 3 && letters >= 1 {
            format!("{pre}<id>")
        } else {
            format!("{pre}{t}")
        }
    });
    let s = numbers(&s);
    SPACES.replace_all(s.trim(), " ").into_owned()
}

/// Applies one pattern, copying only when it matches.
fn replace(s: String, pattern: &Regex, f: impl Fn(&Captures<'_>) -> String) -> String {
    if pattern.is_match(&s) {
        pattern
            .replace_all(&s, |c: &Captures<'_>| f(c))
            .into_owned()
    } else {
        s
    }
}

/// Replaces numbers that are not glued to a word on their left (`v2`,
/// `row_7` and `python3` stay) with `<n>`.
fn numbers(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for m in NUMBER.find_iter(s) {
        let glued = s
            .get(..m.start())
            .and_then(|before| before.chars().next_back())
            .is_some_and(|c| c.is_alphabetic() || c == '_');
        out.push_str(s.get(last..m.start()).unwrap_or(""));
        out.push_str(if glued { m.as_str() } else { "<n>" });
        last = m.end();
    }
    out.push_str(s.get(last..).unwrap_or(""));
    out
}
