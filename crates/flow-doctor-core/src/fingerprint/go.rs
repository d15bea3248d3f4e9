//! Go panics and fatal errors with their goroutine dump: `panic: …` or
//! `fatal error: …`, then `goroutine 1 [running]:` and function/file line
//! pairs. Only the first goroutine (the one that failed) is read.

use std::sync::LazyLock;

use regex::Regex;

use super::{Found, blank, frame, num, re};

static HEADER: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^\t?(?P<kind>panic|fatal error): (?P<msg>.*?)(?: \[recovered(?:, repanicked)?\])?\s*$")
});
static GOROUTINE: LazyLock<Regex> = LazyLock::new(|| re(r"^goroutine \d+ \[[^\]]*\]:\s*$"));
static FUNC: LazyLock<Regex> = LazyLock::new(|| re(r"^(?P<func>\S+)\((?P<args>[^()]*)\)\s*$"));
static CREATED_BY: LazyLock<Regex> =
    LazyLock::new(|| re(r"^created by (?P<func>\S+?)(?: in goroutine \d+)?\s*$"));
static FILE: LazyLock<Regex> =
    LazyLock::new(|| re(r"^\s+(?P<file>.+?):(?P<line>\d+)(?: \+0x[0-9a-fA-F]+)?\s*$"));

/// Standard-library packages (first path element) whose frames are not the
/// application's.
const STD_PACKAGES: &[&str] = &[
    "runtime",
    "sync",
    "net",
    "encoding",
    "io",
    "os",
    "fmt",
    "strings",
    "strconv",
    "bytes",
    "bufio",
    "context",
    "crypto",
    "database",
    "errors",
    "log",
    "math",
    "reflect",
    "sort",
    "syscall",
    "testing",
    "time",
    "unicode",
    "internal",
    "path",
    "regexp",
    "compress",
    "container",
    "html",
    "text",
    "mime",
    "hash",
    "archive",
    "embed",
    "flag",
    "go",
    "image",
    "iter",
    "maps",
    "plugin",
    "slices",
    "unsafe",
    "panic",
];

/// The last Go panic or fatal error (with a goroutine dump) in `lines`.
pub(super) fn parse(lines: &[&str]) -> Option<Found> {
    let mut best = None;
    let mut i = 0;
    while i < lines.len() {
        let line = lines.get(i).copied().unwrap_or("");
        let found = if line.starts_with("panic: ") || line.starts_with("fatal error: ") {
            panic(lines, i)
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

fn panic(lines: &[&str], start: usize) -> Option<Found> {
    // `panic: A [recovered]` then `\tpanic: B`: B happened while handling A.
    let mut panics: Vec<(String, String)> = Vec::new();
    let mut j = start;
    while let Some(c) = lines
        .get(j)
        .filter(|l| j == start || (l.starts_with('\t') && j < start + 20))
        .and_then(|l| HEADER.captures(l))
    {
        let kind = c.name("kind").map_or("panic", |m| m.as_str()).to_string();
        let msg = c.name("msg").map_or("", |m| m.as_str()).trim().to_string();
        panics.push((kind, msg));
        j += 1;
    }
    let goroutine = (j..lines.len().min(j + 60))
        .find(|&k| lines.get(k).is_some_and(|l| GOROUTINE.is_match(l)))?;
    let mut frames = Vec::new();
    let mut k = goroutine + 1;
    while let Some(l) = lines.get(k) {
        if blank(l) {
            break;
        }
        let func = FUNC
            .captures(l)
            .or_else(|| CREATED_BY.captures(l))
            .and_then(|c| c.name("func").map(|m| m.as_str().to_string()));
        if let Some(func) = func {
            let loc = lines.get(k + 1).and_then(|n| FILE.captures(n));
            let (file, line) = match &loc {
                Some(c) => (
                    c.name("file").map_or("", |m| m.as_str()),
                    num(c.name("line")),
                ),
                None => ("", None),
            };
            let in_app = in_app(&func, file);
            frames.push(frame(file, &func, line, package(&func), in_app));
            k += if loc.is_some() { 2 } else { 1 };
        } else if l.trim() == "...additional frames elided..." {
            k += 1;
        } else {
            break;
        }
    }
    let (kind, msg) = panics.pop()?;
    let chain = panics
        .into_iter()
        .rev()
        .map(|(k, m)| format!("{k}: {m}"))
        .collect();
    Some(Found {
        language: "go",
        error_type: Some(kind),
        message: msg,
        frames,
        chain,
        start,
        end: k,
    })
}

/// The package path of a Go function (`net/http` for
/// `net/http.(*conn).serve`).
fn package(func: &str) -> Option<String> {
    let slash = func.rfind('/').map_or(0, |p| p + 1);
    let dot = func.get(slash..)?.find('.')?;
    func.get(..slash + dot).map(str::to_string)
}

/// Whether a Go frame belongs to the application.
fn in_app(func: &str, file: &str) -> bool {
    let f = file.replace('\\', "/");
    if f.contains("/pkg/mod/")
        || f.contains("/usr/local/go/src/")
        || f.contains("/usr/lib/go")
        || f.contains("/Cellar/go/")
        || f.contains("/Program Files/Go/src/")
        || f.contains("/go/src/runtime/")
    {
        return false;
    }
    let first = func.split(['/', '.', '(']).next().unwrap_or("");
    let has_domain = func
        .split('/')
        .next()
        .is_some_and(|seg| seg.contains('.') && func.contains('/'));
    has_domain || !STD_PACKAGES.contains(&first)
}
