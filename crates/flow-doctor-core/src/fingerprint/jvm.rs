//! JVM stack traces (Java, Kotlin, Scala): `Exception in thread "main"
//! a.B: msg`, `\tat a.B.c(B.java:1)` frames, `Caused by:`, `... N more` and
//! `Suppressed:` blocks (whose frames are skipped).

use std::sync::LazyLock;

use regex::{Captures, Regex};

use super::{Exc, Found, blank, frame, re};

static FRAME: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^\s+at (?:(?P<loader>[\w.$-]+)//)?(?:(?P<jmod>[\w.$-]+(?:@[\w.$-]+)?)/)?(?P<method>[\w$.<>-]+)\((?P<loc>[^()\s]+|Native Method|Unknown Source)\)(?:\s*~?\[[^\]]*\])?\s*$",
    )
});
static HEADER: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"^(?P<thread>Exception in thread "[^"]*" )?(?P<type>[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)(?::\s?(?P<msg>.*))?$"#,
    )
});
static CAUSED_BY: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^Caused by: (?P<type>[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)(?::\s?(?P<msg>.*))?$")
});
static MORE: LazyLock<Regex> =
    LazyLock::new(|| re(r"^\s*\.\.\. \d+ (?:more|common frames omitted)\s*$"));

/// Packages whose frames are never the application's.
const LIBRARY_PREFIXES: &[&str] = &[
    "java.",
    "javax.",
    "jdk.",
    "sun.",
    "com.sun.",
    "kotlin.",
    "kotlinx.",
    "scala.",
    "groovy.",
    "org.codehaus.groovy.",
    "org.junit.",
    "junit.",
    "org.springframework.",
    "org.apache.",
    "com.google.",
    "io.netty.",
    "reactor.",
    "akka.",
    "org.gradle.",
];

/// Whether a line is a JVM frame (`\tat a.B.c(B.java:1)`).
pub(super) fn is_frame(line: &str) -> bool {
    line.contains("at ") && line.contains('(') && FRAME.is_match(line)
}

/// The last complete JVM stack trace in `lines`.
pub(super) fn parse(lines: &[&str]) -> Option<Found> {
    let mut best = None;
    let mut floor = 0;
    let mut i = 0;
    while i < lines.len() {
        if lines.get(i).is_some_and(|l| is_frame(l)) {
            if let Some(found) = find_header(lines, i, floor).and_then(|h| trace(lines, h, i)) {
                i = found.end.max(i + 1);
                floor = i;
                best = Some(found);
                continue;
            }
            // Frames without a header: skip the whole run.
            while lines.get(i).is_some_and(|l| is_frame(l)) {
                i += 1;
            }
            floor = i;
            continue;
        }
        i += 1;
    }
    best
}

/// The header line above the first frame at `first`, nearest first, at most
/// 10 lines up and not above `floor`.
fn find_header(lines: &[&str], first: usize, floor: usize) -> Option<usize> {
    let low = floor.max(first.saturating_sub(10));
    (low..first).rev().find(|&k| {
        lines
            .get(k)
            .filter(|l| !l.starts_with([' ', '\t']))
            .and_then(|l| HEADER.captures(l.trim_end()))
            .is_some_and(|c| {
                let ty = c.name("type").map_or("", |m| m.as_str());
                c.name("thread").is_some()
                    || ty.contains('.')
                    || ["Exception", "Error", "Throwable"]
                        .iter()
                        .any(|s| ty.ends_with(s))
            })
    })
}

/// The trace whose header is line `header` and first frame line `first`.
fn trace(lines: &[&str], header: usize, first: usize) -> Option<Found> {
    let c = HEADER.captures(lines.get(header)?.trim_end())?;
    let mut excs = vec![exc(&c)];
    let mut suppressed = false;
    let mut end = first;
    let mut j = first;
    while let Some(line) = lines.get(j) {
        if let Some(f) = FRAME.captures(line) {
            if !suppressed && let Some(e) = excs.last_mut() {
                e.frames.push(jvm_frame(&f));
            }
        } else if MORE.is_match(line) {
            // `... 3 more`: frames shared with the enclosing trace.
        } else if let Some(cb) = CAUSED_BY.captures(line.trim_end()) {
            excs.push(exc(&cb));
            suppressed = false;
            // A multi-line cause message runs until its first frame.
            let next = (j + 1..lines.len().min(j + 11)).find(|&k| {
                lines
                    .get(k)
                    .is_some_and(|l| is_frame(l) || MORE.is_match(l) || blank(l))
            });
            match next {
                Some(k) if lines.get(k).is_some_and(|l| !blank(l)) => j = k - 1,
                _ => {
                    end = j + 1;
                    break;
                }
            }
        } else if line.trim_start().starts_with("Suppressed: ")
            || (suppressed && line.trim_start().starts_with("Caused by: "))
        {
            suppressed = true;
        } else {
            break;
        }
        j += 1;
        end = j;
    }
    let mut iter = excs.into_iter();
    let top = iter.next()?;
    if top.frames.is_empty() {
        return None;
    }
    Some(Found {
        language: "jvm",
        error_type: top.ty,
        message: top.msg,
        frames: top.frames,
        chain: iter.map(|e| e.headline()).collect(),
        start: header,
        end,
    })
}

fn exc(c: &Captures<'_>) -> Exc {
    Exc {
        ty: c.name("type").map(|m| m.as_str().to_string()),
        msg: c.name("msg").map_or("", |m| m.as_str()).trim().to_string(),
        frames: Vec::new(),
    }
}

fn jvm_frame(c: &Captures<'_>) -> crate::model::Frame {
    let method = c.name("method").map_or("", |m| m.as_str());
    let loc = c.name("loc").map_or("", |m| m.as_str());
    let (file, line) = match loc.rsplit_once(':') {
        Some((f, l)) if l.bytes().all(|b| b.is_ascii_digit()) => (f, l.parse().ok()),
        _ if loc == "Native Method" || loc == "Unknown Source" => ("", None),
        _ => (loc, None),
    };
    let class = method.rsplit_once('.').map(|(c, _)| c.to_string());
    let runtime_module = c
        .name("jmod")
        .is_some_and(|m| m.as_str().starts_with("java.") || m.as_str().starts_with("jdk."));
    let in_app = !(runtime_module
        || loc == "Native Method"
        || LIBRARY_PREFIXES.iter().any(|p| method.starts_with(p)));
    frame(file, method, line, class, in_app)
}
