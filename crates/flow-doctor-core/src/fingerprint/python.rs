//! Python tracebacks: `Traceback (most recent call last):` blocks, chained
//! exceptions, `SyntaxError` blocks (with or without a traceback header) and
//! exception groups (sub-exceptions go to the chain).

use std::sync::LazyLock;

use regex::Regex;

use super::{Exc, Found, blank, frame, indented, re};

const HEADER: &str = "Traceback (most recent call last):";
const GROUP_HEADER: &str = "Exception Group Traceback (most recent call last):";
const CONTEXT: &str = "During handling of the above exception, another exception occurred:";
const CAUSE: &str = "The above exception was the direct cause of the following exception:";

static EXCEPTION: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(?P<type>[A-Za-z_][\w.]*)(?::(?P<msg>.*))?$"));
static GROUP_LINE: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*\| ?(?P<rest>.*)$"));
static GROUP_NESTED: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*[|+]"));
static STDLIB: LazyLock<Regex> = LazyLock::new(|| re(r"(?:/lib/python\d+(?:\.\d+)?/|/Lib/)"));

/// The last complete Python traceback (with its chain) in `lines`.
pub(super) fn parse(lines: &[&str]) -> Option<Found> {
    let mut best = None;
    let mut i = 0;
    while i < lines.len() {
        match parse_chain(lines, i) {
            Some(found) => {
                i = found.end.max(i + 1);
                best = Some(found);
            }
            None => i += 1,
        }
    }
    best
}

/// A chain of tracebacks starting at line `start`.
fn parse_chain(lines: &[&str], start: usize) -> Option<Found> {
    let (first, mut end) = parse_one(lines, start)?;
    let mut excs = vec![first];
    let mut groups: Vec<String> = Vec::new();
    loop {
        // Sub-exceptions of an exception group follow it as `|`-prefixed lines.
        if excs
            .last()
            .is_some_and(|e| e.ty.as_deref().is_some_and(is_group))
        {
            let (subs, after) = group_members(lines, end);
            groups.extend(subs);
            end = after;
        }
        let Some(next) = skip_blank(lines, end) else {
            break;
        };
        let line = lines.get(next).map(|l| l.trim()).unwrap_or("");
        if line != CONTEXT && line != CAUSE {
            break;
        }
        let Some(tb) = skip_blank(lines, next + 1) else {
            break;
        };
        match parse_one(lines, tb) {
            Some((exc, e)) => {
                excs.push(exc);
                end = e;
            }
            None => break,
        }
    }
    let error = excs.pop()?;
    let mut chain: Vec<String> = excs.iter().rev().map(Exc::headline).collect();
    chain.extend(groups);
    Some(Found {
        language: "python",
        error_type: error.ty,
        message: error.msg,
        frames: error.frames,
        chain,
        start,
        end,
    })
}

/// One traceback starting at `start`: its exception and the end line.
fn parse_one(lines: &[&str], start: usize) -> Option<(Exc, usize)> {
    let line = lines.get(start)?;
    if line.contains(GROUP_HEADER) {
        return parse_body(lines, start + 1, true, false);
    }
    if line.contains(HEADER) {
        return parse_body(lines, start + 1, false, false);
    }
    // A bare `File "x.py", line 3` (no function) opens a SyntaxError report.
    if py_frame(line).is_some_and(|f| f.func.is_none()) {
        return parse_body(lines, start, false, true);
    }
    None
}

/// Frames and the exception line of one traceback body.
fn parse_body(lines: &[&str], from: usize, group: bool, syntax_only: bool) -> Option<(Exc, usize)> {
    let mut frames = Vec::new();
    // A bare SyntaxError block is one frame, the source and caret lines.
    let limit = if syntax_only { from + 6 } else { lines.len() };
    for (j, raw) in lines.iter().enumerate().take(limit).skip(from) {
        let line = if group {
            GROUP_LINE.captures(raw)?.name("rest")?.as_str()
        } else {
            raw
        };
        if let Some(f) = py_frame(line) {
            if syntax_only && !frames.is_empty() {
                return None; // a bare SyntaxError block has exactly one frame
            }
            // A frame without a function is where a module failed to compile.
            let func = f.func.unwrap_or("<module>");
            frames.push(frame(f.file, func, f.line, None, in_app(f.file)));
            continue;
        }
        if blank(line) {
            return None;
        }
        if indented(line) {
            continue; // source line, caret line, `[Previous line repeated N more times]`
        }
        let c = EXCEPTION.captures(line.trim_end())?;
        let ty = c.name("type").map_or("", |m| m.as_str()).to_string();
        if syntax_only && !matches!(ty.as_str(), "SyntaxError" | "IndentationError" | "TabError") {
            return None;
        }
        if frames.is_empty() {
            return None;
        }
        frames.reverse();
        let msg = c.name("msg").map_or("", |m| m.as_str()).trim().to_string();
        return Some((
            Exc {
                ty: Some(ty),
                msg,
                frames,
            },
            j + 1,
        ));
    }
    None
}

/// The parts of a `  File "path", line N, in func` line.
struct PyFrame<'a> {
    file: &'a str,
    line: Option<u32>,
    func: Option<&'a str>,
}

/// Parses a frame line by hand (it is the hottest line format).
fn py_frame(line: &str) -> Option<PyFrame<'_>> {
    let rest = line.trim_start().strip_prefix("File \"")?;
    let (file, rest) = rest.split_once("\", line ")?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let (number, rest) = rest.split_at_checked(digits)?;
    let rest = rest.trim_end();
    let func = match rest.strip_prefix(", in ") {
        Some(f) if !f.trim().is_empty() => Some(f.trim()),
        _ if rest.is_empty() => None,
        _ => return None,
    };
    Some(PyFrame {
        file,
        line: number.parse().ok(),
        func,
    })
}

/// Whether an exception type is an exception group.
fn is_group(ty: &str) -> bool {
    ty.ends_with("ExceptionGroup")
}

/// The `Type: message` lines of an exception group's members, and the line
/// after the group's dump.
fn group_members(lines: &[&str], from: usize) -> (Vec<String>, usize) {
    let mut members = Vec::new();
    let mut end = from;
    for (j, line) in lines.iter().enumerate().skip(from) {
        if !GROUP_NESTED.is_match(line) {
            break;
        }
        end = j + 1;
        let inner = line.trim_start_matches([' ', '\t', '|', '+', '-']);
        if inner.starts_with(' ') || inner.starts_with(HEADER) {
            continue;
        }
        if let Some(c) = EXCEPTION.captures(inner.trim_end()) {
            let ty = c.name("type").map_or("", |m| m.as_str());
            if looks_like_exception(ty) && !is_group(ty) {
                let msg = c.name("msg").map_or("", |m| m.as_str()).trim();
                members.push(if msg.is_empty() {
                    ty.to_string()
                } else {
                    format!("{ty}: {msg}")
                });
            }
        }
    }
    (members, end)
}

fn looks_like_exception(ty: &str) -> bool {
    [
        "Error",
        "Exception",
        "Exit",
        "Interrupt",
        "Warning",
        "Iteration",
    ]
    .iter()
    .any(|s| ty.ends_with(s))
}

/// The next non-blank line at or after `from`.
fn skip_blank(lines: &[&str], from: usize) -> Option<usize> {
    (from..lines.len()).find(|&j| lines.get(j).is_some_and(|l| !blank(l)))
}

/// Whether a Python file belongs to the application.
fn in_app(file: &str) -> bool {
    let f = file.replace('\\', "/");
    !(f.contains("/site-packages/")
        || f.contains("/dist-packages/")
        || f.starts_with("<frozen ")
        || STDLIB.is_match(&f))
}
