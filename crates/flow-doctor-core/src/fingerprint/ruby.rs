//! Ruby errors: `app.rb:3:in 'load': message (NoMethodError)` followed by
//! `\tfrom app.rb:7:in '<main>'` frames, in the backtick style of Ruby < 3.4
//! and the quote style of 3.4+.

use std::sync::LazyLock;

use regex::Regex;

use super::{Found, blank, frame, num, re};

static HEADER: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(?P<file>\S.*?):(?P<line>\d+):in [`'](?P<func>[^'`]*)': (?P<msg>.*)$"));
static FROM: LazyLock<Regex> =
    LazyLock::new(|| re(r"^\s+from (?P<file>.+?):(?P<line>\d+)(?::in [`'](?P<func>[^'`]*)')?\s*$"));
static LEVELS: LazyLock<Regex> = LazyLock::new(|| re(r"^\s+\.\.\. \d+ levels\.\.\.\s*$"));
static TYPED: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(?P<msg>.*?) ?\((?P<type>[A-Z][\w]*(?:::[A-Z][\w]*)*)\)\s*$"));

/// The last complete Ruby error in `lines`.
pub(super) fn parse(lines: &[&str]) -> Option<Found> {
    let mut best = None;
    let mut i = 0;
    while i < lines.len() {
        let line = lines.get(i).copied().unwrap_or("");
        let found = if line.contains(":in ") {
            error(lines, i)
        } else {
            None
        };
        match found {
            Some(f) => {
                i = f.end.max(i + 1);
                best = Some(f);
            }
            None => i += 1,
        }
    }
    best
}

fn error(lines: &[&str], start: usize) -> Option<Found> {
    let c = HEADER.captures(lines.get(start)?.trim_end())?;
    let file = c.name("file").map_or("", |m| m.as_str());
    let func = c.name("func").map_or("", |m| m.as_str());
    let first = frame(file, func, num(c.name("line")), None, in_app(file));
    let header_msg = c.name("msg").map_or("", |m| m.as_str());
    let mut message = header_msg.trim().to_string();
    let mut ty = None;
    let mut j = start + 1;
    if let Some(t) = TYPED.captures(header_msg) {
        message = t.name("msg").map_or("", |m| m.as_str()).trim().to_string();
        ty = t.name("type").map(|m| m.as_str().to_string());
    } else {
        // A multi-line message ends with ` (Type)` before the first frame.
        let mut k = start + 1;
        while let Some(l) = lines.get(k) {
            if is_from(l) || k > start + 20 {
                break;
            }
            let l = l.trim_end();
            if let Some(t) = l.ends_with(')').then(|| TYPED.captures(l)).flatten() {
                ty = t.name("type").map(|m| m.as_str().to_string());
                j = k + 1;
                break;
            }
            k += 1;
        }
    }
    // `Did you mean?` hints may sit between the message and the frames.
    let mut frames = vec![first];
    let mut k = j;
    let mut end = j;
    while let Some(l) = lines.get(k) {
        if let Some(f) = is_from(l).then(|| FROM.captures(l)).flatten() {
            let file = f.name("file").map_or("", |m| m.as_str());
            let func = f.name("func").map_or("", |m| m.as_str());
            frames.push(frame(file, func, num(f.name("line")), None, in_app(file)));
            end = k + 1;
        } else if LEVELS.is_match(l) {
            end = k + 1;
        } else if frames.len() > 1 || blank(l) || k > j + 10 {
            break;
        }
        k += 1;
    }
    if ty.is_none() && frames.len() < 2 {
        return None;
    }
    Some(Found {
        language: "ruby",
        error_type: ty,
        message,
        frames,
        chain: Vec::new(),
        start,
        end: end.max(j),
    })
}

/// Whether a line is a `\tfrom file:line:in 'method'` frame.
fn is_from(line: &str) -> bool {
    line.contains("from ") && FROM.is_match(line)
}

/// Whether a Ruby file belongs to the application.
fn in_app(file: &str) -> bool {
    let f = file.replace('\\', "/");
    !(f.contains("/gems/")
        || f.contains("/lib/ruby/")
        || f.starts_with("<internal:")
        || f.contains("/rubygems/")
        || f.contains("/bundler/"))
}
