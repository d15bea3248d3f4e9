//! .NET exceptions: `System.X: msg` (optionally after `Unhandled
//! exception.`), `   at Ns.Class.Method() in C:\src\File.cs:line 42` frames,
//! inner exceptions (` ---> `) and `--- End of inner exception stack trace ---`.

use std::sync::LazyLock;

use regex::{Captures, Regex};

use super::{Exc, Found, blank, frame, jvm, num, re};

static HEADER: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(?P<prefix>Unhandled [Ee]xception[.:]\s*|\[ERROR\] FATAL UNHANDLED EXCEPTION: )?(?P<type>[A-Za-z_][\w`+]*(?:\.[A-Za-z_][\w`+]*)*): ?(?P<msg>.*)$",
    )
});
static FRAME: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^\s+at (?P<method>[^()\s]+?)\((?P<params>[^)]*)\)(?: in (?P<file>.+):line (?P<line>\d+))?\s*$",
    )
});
const INNER: &str = " ---> ";
const END_INNER: &str = "--- End of inner exception stack trace ---";

/// Namespaces whose frames are never the application's.
const LIBRARY_PREFIXES: &[&str] = &[
    "System.",
    "Microsoft.",
    "Mono.",
    "Internal.",
    "Interop.",
    "Windows.",
];

/// Whether a line is a .NET frame (and not a JVM frame).
fn is_frame(line: &str) -> bool {
    line.contains("at ") && line.contains('(') && FRAME.is_match(line) && !jvm::is_frame(line)
}

/// The last complete .NET exception in `lines`.
pub(super) fn parse(lines: &[&str]) -> Option<Found> {
    let mut best = None;
    let mut i = 0;
    while i < lines.len() {
        let line = lines.get(i).copied().unwrap_or("");
        let found = if line.contains(": ") && !line.starts_with([' ', '\t']) {
            exception(lines, i)
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

/// The exception whose header is line `start`.
fn exception(lines: &[&str], start: usize) -> Option<Found> {
    let header = lines.get(start)?;
    let mut parts = header.split(INNER);
    let c = HEADER.captures(parts.next()?.trim_end())?;
    let ty = c.name("type").map_or("", |m| m.as_str());
    if c.name("prefix").is_none() && !ty.contains('.') {
        return None;
    }
    let mut excs = vec![exc(&c)];
    for inner in parts {
        excs.push(inner_exc(inner)?);
    }
    // ` ---> Inner: msg` lines and message continuation lines, then frames.
    let mut j = start + 1;
    while let Some(l) = lines.get(j) {
        if is_frame(l) {
            break;
        }
        if blank(l) || j > start + 20 || is_header(l) {
            return None;
        }
        if let Some(rest) = l
            .strip_prefix(INNER.trim_start())
            .or_else(|| l.strip_prefix(INNER))
        {
            for inner in rest.split(INNER) {
                excs.push(inner_exc(inner)?);
            }
        }
        j += 1;
    }
    // Frames before the k-th `End of inner exception` belong to the
    // (n-1-k)-th exception: the innermost prints first.
    let n = excs.len();
    let mut segment = 0usize;
    while let Some(l) = lines.get(j) {
        if let Some(f) = FRAME.captures(l).filter(|_| is_frame(l)) {
            let owner = n.saturating_sub(1).saturating_sub(segment);
            if let Some(e) = excs.get_mut(owner) {
                e.frames.push(dotnet_frame(&f));
            }
        } else if l.trim() == END_INNER {
            segment += 1;
        } else if !l
            .trim_start()
            .starts_with("--- End of stack trace from previous location")
        {
            break;
        }
        j += 1;
    }
    let mut iter = excs.into_iter();
    let mut top = iter.next()?;
    let inners: Vec<Exc> = iter.collect();
    if top.frames.is_empty() {
        top.frames = inners
            .iter()
            .rev()
            .find(|e| !e.frames.is_empty())
            .map(|e| e.frames.clone())
            .unwrap_or_default();
    }
    if top.frames.is_empty() {
        return None;
    }
    Some(Found {
        language: "dotnet",
        error_type: top.ty,
        message: top.msg,
        frames: top.frames,
        chain: inners.iter().map(Exc::headline).collect(),
        start,
        end: j,
    })
}

/// Whether a line opens another exception (a dotted `Type: message`).
fn is_header(line: &str) -> bool {
    !line.starts_with([' ', '\t'])
        && HEADER
            .captures(line.trim_end())
            .is_some_and(|c| c.name("type").is_some_and(|t| t.as_str().contains('.')))
}

fn exc(c: &Captures<'_>) -> Exc {
    Exc {
        ty: c.name("type").map(|m| m.as_str().to_string()),
        msg: c.name("msg").map_or("", |m| m.as_str()).trim().to_string(),
        frames: Vec::new(),
    }
}

fn inner_exc(text: &str) -> Option<Exc> {
    let c = HEADER.captures(text.trim())?;
    Some(exc(&c))
}

fn dotnet_frame(c: &Captures<'_>) -> crate::model::Frame {
    let method = c.name("method").map_or("", |m| m.as_str());
    let file = c.name("file").map_or("", |m| m.as_str());
    // The class is everything before the method name, generic arguments aside.
    let plain = method.split('[').next().unwrap_or(method);
    let class = plain.rsplit_once('.').map(|(c, _)| c.to_string());
    let in_app = !LIBRARY_PREFIXES.iter().any(|p| method.starts_with(p));
    frame(file, method, num(c.name("line")), class, in_app)
}
