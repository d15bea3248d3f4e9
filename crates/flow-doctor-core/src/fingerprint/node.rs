//! Node.js (and V8-style) errors: `TypeError: x is not a function` followed
//! by `    at fn (/app/src/x.js:10:5)` frames, `at async` frames, and
//! `[cause]:` blocks.

use std::sync::LazyLock;

use regex::Regex;

use super::{Found, blank, frame, re};

static FRAME_CALL: LazyLock<Regex> =
    LazyLock::new(|| re(r"^\s+at (?:async )?(?:new )?(?P<func>.+?) \((?P<loc>.+)\)(?: \{)?\s*$"));
static FRAME_LOC: LazyLock<Regex> =
    LazyLock::new(|| re(r"^\s+at (?:async )?(?P<loc>\S+:\d+:\d+)(?: \{)?\s*$"));
static LOCATION: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+)$"));
static SPECIAL_LOCATION: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(?:native|<anonymous>|index \d+|unknown location)$"));
static HEADER: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^(?:Uncaught )?(?P<type>[A-Za-z_$][\w$.]*)(?: \[(?P<code>[^\]]+)\])?(?::\s?(?P<msg>.*))?$")
});
static CAUSE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^\s+\[cause\]: (?:(?P<type>[A-Za-z_$][\w$.]*)(?: \[[^\]]+\])?: )?(?P<msg>.*?)(?: \{)?\s*$")
});

/// The last complete Node.js error in `lines`.
pub(super) fn parse(lines: &[&str]) -> Option<Found> {
    let mut best = None;
    let mut floor = 0;
    let mut i = 0;
    while i < lines.len() {
        if lines.get(i).is_some_and(|l| at_line(l)) {
            if let Some(found) = find_header(lines, i, floor).and_then(|h| error(lines, h, i)) {
                i = found.end.max(i + 1);
                floor = i;
                best = Some(found);
                continue;
            }
            while lines.get(i).is_some_and(|l| at_line(l)) {
                i += 1;
            }
            floor = i;
            continue;
        }
        i += 1;
    }
    best
}

/// Whether a line starts like a frame (`    at …`); cheap.
fn at_line(line: &str) -> bool {
    line.starts_with([' ', '\t']) && line.trim_start().starts_with("at ")
}

/// The frame on one line, when it is a V8 frame.
fn node_frame(line: &str) -> Option<crate::model::Frame> {
    if !line.contains("at ") {
        return None;
    }
    let (func, loc) = if let Some(c) = FRAME_CALL.captures(line) {
        (
            c.name("func").map_or("", |m| m.as_str()),
            c.name("loc").map_or("", |m| m.as_str()),
        )
    } else {
        let c = FRAME_LOC.captures(line)?;
        ("", c.name("loc").map_or("", |m| m.as_str()))
    };
    if let Some(l) = LOCATION.captures(loc) {
        let file = l.name("file").map_or("", |m| m.as_str());
        let file = file.strip_prefix("file://").unwrap_or(file);
        let line_no = l.name("line").and_then(|m| m.as_str().parse().ok());
        return Some(frame(file, func, line_no, None, in_app(file)));
    }
    if SPECIAL_LOCATION.is_match(loc) {
        return Some(frame("", func, None, None, false));
    }
    None
}

/// The header line above the first frame at `first`.
fn find_header(lines: &[&str], first: usize, floor: usize) -> Option<usize> {
    let low = floor.max(first.saturating_sub(10));
    (low..first).rev().find(|&k| {
        lines
            .get(k)
            .filter(|l| !l.starts_with([' ', '\t']))
            .and_then(|l| HEADER.captures(l.trim_end()))
            .is_some_and(|c| {
                let ty = c.name("type").map_or("", |m| m.as_str());
                c.name("code").is_some()
                    || ty.ends_with("Error")
                    || ty.ends_with("Exception")
                    || ty == "AbortError"
            })
    })
}

/// The error whose header is line `header` and first frame line `first`.
fn error(lines: &[&str], header: usize, first: usize) -> Option<Found> {
    let c = HEADER.captures(lines.get(header)?.trim_end())?;
    let mut frames = Vec::new();
    let mut j = first;
    let mut brace = false;
    while let Some(line) = lines.get(j) {
        let Some(f) = node_frame(line) else { break };
        frames.push(f);
        brace = line.trim_end().ends_with('{');
        j += 1;
    }
    let mut end = j;
    let mut chain = Vec::new();
    if brace {
        // `{ [cause]: …, code: 'X' }` printed after the frames.
        while let Some(line) = lines.get(j) {
            if let Some(cc) = CAUSE.captures(line) {
                let msg = cc.name("msg").map_or("", |m| m.as_str()).trim();
                chain.push(match cc.name("type") {
                    Some(t) if !msg.is_empty() => format!("{}: {msg}", t.as_str()),
                    Some(t) => t.as_str().to_string(),
                    None => msg.to_string(),
                });
            }
            j += 1;
            if line.trim_end() == "}" {
                end = j;
                break;
            }
            if (!line.starts_with(' ') && !blank(line)) || j > first + 2000 {
                break;
            }
        }
    }
    if frames.is_empty() {
        return None;
    }
    Some(Found {
        language: "node",
        error_type: c.name("type").map(|m| m.as_str().to_string()),
        message: c.name("msg").map_or("", |m| m.as_str()).trim().to_string(),
        frames,
        chain,
        start: header,
        end,
    })
}

/// Whether a JavaScript file belongs to the application.
fn in_app(file: &str) -> bool {
    !(file.is_empty()
        || file.starts_with("node:")
        || file.starts_with("internal/")
        || file.contains("node_modules")
        || file.starts_with("<anonymous>")
        || file.ends_with("-wrapper"))
}
