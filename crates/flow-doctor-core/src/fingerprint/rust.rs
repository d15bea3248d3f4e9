//! Rust panics (`thread 'main' panicked at src/main.rs:10:5:` and the older
//! `panicked at 'msg', src/main.rs:10:5`), their `RUST_BACKTRACE`
//! backtraces, and anyhow's `Error: … Caused by:` output.

use std::sync::LazyLock;

use regex::Regex;

use super::{Found, blank, frame, indented, num, re};

static PANIC_NEW: LazyLock<Regex> = LazyLock::new(|| {
    re(r"thread '[^']*'(?: \(\d+\))? panicked at (?P<file>.+?):(?P<line>\d+):(?P<col>\d+):\s*$")
});
static PANIC_OLD: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"thread '[^']*'(?: \(\d+\))? panicked at '(?P<msg>.*)', (?P<file>.+?):(?P<line>\d+):(?P<col>\d+)\s*$",
    )
});
static PANIC_OLD_OPEN: LazyLock<Regex> =
    LazyLock::new(|| re(r"thread '[^']*'(?: \(\d+\))? panicked at '(?P<msg>.*)$"));
static PANIC_OLD_CLOSE: LazyLock<Regex> =
    LazyLock::new(|| re(r"^.*', (?P<file>.+?):(?P<line>\d+):(?P<col>\d+)\s*$"));
static HASH: LazyLock<Regex> = LazyLock::new(|| re(r"::h[0-9a-f]{16}$"));
static CAUSE_NUMBERED: LazyLock<Regex> = LazyLock::new(|| re(r"^\s+\d+: (?P<msg>.*)$"));

/// Crates whose frames are never the application's.
const LIBRARY_CRATES: &[&str] = &[
    "std",
    "core",
    "alloc",
    "backtrace",
    "anyhow",
    "eyre",
    "color_eyre",
    "tokio",
    "futures",
    "futures_util",
    "futures_executor",
    "rayon",
    "rayon_core",
    "panic_unwind",
    "test",
    "rust_begin_unwind",
    "rust_panic",
];

/// Runtime symbols around `main` and thread starts.
const RUNTIME_SYMBOLS: &[&str] = &[
    "main",
    "_start",
    "start_thread",
    "clone",
    "clone3",
    "__libc_start_main",
    "__libc_start_call_main",
    "BaseThreadInitThunk",
    "RtlUserThreadStart",
    "mainCRTStartup",
    "__scrt_common_main_seh",
];

/// The last Rust panic or anyhow error in `lines`.
pub(super) fn parse(lines: &[&str]) -> Option<Found> {
    let mut best = None;
    let mut i = 0;
    while i < lines.len() {
        let line = lines.get(i).copied().unwrap_or("");
        let found = if line.contains("panicked at ") {
            panic(lines, i)
        } else if line.starts_with("Error: ") || line == "Error:" {
            anyhow(lines, i)
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

/// A panic whose header is line `start`.
fn panic(lines: &[&str], start: usize) -> Option<Found> {
    let header = lines.get(start)?;
    let (message, file, line, mut next) = if let Some(c) = PANIC_NEW.captures(header) {
        // The message follows on its own line(s).
        let mut j = start + 1;
        let mut message = String::new();
        while let Some(l) = lines.get(j) {
            if l.starts_with("note: ")
                || is_bt_header(l)
                || l.contains("panicked at ")
                || j > start + 50
            {
                break;
            }
            if blank(l) && !message.is_empty() {
                break;
            }
            if message.is_empty() {
                message = l.trim().to_string();
            }
            j += 1;
        }
        (message, cap(&c, "file"), num(c.name("line")), j)
    } else if let Some(c) = PANIC_OLD.captures(header) {
        (
            cap(&c, "msg"),
            cap(&c, "file"),
            num(c.name("line")),
            start + 1,
        )
    } else {
        let c = PANIC_OLD_OPEN.captures(header)?;
        // Multi-line message in the old format: find the closing `', file:l:c`.
        let close = (start + 1..lines.len().min(start + 50)).find(|&j| {
            lines
                .get(j)
                .is_some_and(|l| l.contains("', ") && PANIC_OLD_CLOSE.is_match(l))
        })?;
        let cc = PANIC_OLD_CLOSE.captures(lines.get(close)?)?;
        (
            cap(&c, "msg"),
            cap(&cc, "file"),
            num(cc.name("line")),
            close + 1,
        )
    };
    let mut frames = Vec::new();
    // `note: run with RUST_BACKTRACE=1 …` and the backtrace, in either order.
    while let Some(l) = lines.get(next) {
        if l.starts_with("note: ") {
            next += 1;
        } else if is_bt_header(l) {
            let (bt, end) = backtrace(lines, next + 1);
            frames = bt;
            next = end;
        } else {
            break;
        }
    }
    if frames.is_empty() {
        let in_app = location_in_app(&file);
        frames.push(frame(&file, "", line, None, in_app));
    }
    Some(Found {
        language: "rust",
        error_type: Some("panic".to_string()),
        message,
        frames,
        chain: Vec::new(),
        start,
        end: next,
    })
}

/// anyhow's `Error: msg` followed by `Caused by:` and/or `Stack backtrace:`.
fn anyhow(lines: &[&str], start: usize) -> Option<Found> {
    let header = lines.get(start)?;
    let message = header
        .strip_prefix("Error:")
        .unwrap_or("")
        .trim()
        .to_string();
    let mut chain = Vec::new();
    let mut frames = Vec::new();
    let mut seen_section = false;
    let mut end = start + 1;
    let mut j = start + 1;
    while let Some(l) = lines.get(j) {
        let t = l.trim();
        if t == "Caused by:" {
            seen_section = true;
            j += 1;
            let mut numbered = false;
            while let Some(c) = lines.get(j) {
                if blank(c) || !indented(c) {
                    break;
                }
                if let Some(m) = CAUSE_NUMBERED.captures(c) {
                    numbered = true;
                    chain.push(cap(&m, "msg").trim().to_string());
                } else if !numbered && chain.is_empty() {
                    chain.push(c.trim().to_string());
                }
                j += 1;
            }
            end = j;
        } else if is_bt_header(l) {
            seen_section = true;
            let (bt, e) = backtrace(lines, j + 1);
            frames = bt;
            j = e;
            end = e;
        } else if blank(l) {
            j += 1;
        } else {
            break;
        }
        if j > start + 2000 {
            break;
        }
    }
    if !seen_section {
        return None;
    }
    Some(Found {
        language: "rust",
        error_type: None,
        message,
        frames,
        chain,
        start,
        end,
    })
}

fn is_bt_header(line: &str) -> bool {
    matches!(line.trim(), "stack backtrace:" | "Stack backtrace:")
}

/// Backtrace frames from line `from`, and the line after them.
fn backtrace(lines: &[&str], from: usize) -> (Vec<crate::model::Frame>, usize) {
    let mut frames: Vec<crate::model::Frame> = Vec::new();
    let mut j = from;
    while let Some(l) = lines.get(j) {
        if let Some((file, line)) = bt_location(l) {
            if let Some(last) = frames.last_mut().filter(|f| f.file.is_empty()) {
                last.file = file.to_string();
                last.line = line;
                last.in_app = frame_in_app(&last.function, &last.file);
            }
        } else if let Some(func) = bt_symbol(l) {
            let func = HASH.replace(func, "").into_owned();
            let in_app = frame_in_app(&func, "");
            frames.push(frame("", &func, None, module(&func), in_app));
        } else if l.starts_with("note: ") {
            j += 1;
            break;
        } else {
            break;
        }
        j += 1;
    }
    (frames, j)
}

/// The symbol of a `  12: [0x55d5c3a0b1e4 - ]path::to::function` line.
fn bt_symbol(line: &str) -> Option<&str> {
    let t = line.trim_start();
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    let rest = t.get(digits..)?.strip_prefix(':')?;
    if digits == 0 || !rest.starts_with([' ', '\t']) {
        return None;
    }
    let rest = rest.trim();
    let rest = match rest.split_once(" - ") {
        Some((addr, sym)) if addr.starts_with("0x") => sym.trim(),
        _ => rest,
    };
    (!rest.is_empty()).then_some(rest)
}

/// The file and line of a `             at ./src/load.rs:42:9` line.
fn bt_location(line: &str) -> Option<(&str, Option<u32>)> {
    if !line.starts_with([' ', '\t']) {
        return None;
    }
    let rest = line.trim().strip_prefix("at ")?;
    let is_num = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let (head, last) = rest.rsplit_once(':')?;
    if !is_num(last) {
        return None;
    }
    // `file:line:col` or `file:line`.
    match head.rsplit_once(':') {
        Some((file, line)) if is_num(line) => Some((file, line.parse().ok())),
        _ => Some((head, last.parse().ok())),
    }
}

fn cap(c: &regex::Captures<'_>, name: &str) -> String {
    c.name(name).map_or("", |m| m.as_str()).to_string()
}

/// The path of a symbol without its last segment (`myapp::load` for
/// `myapp::load::parse`).
fn module(func: &str) -> Option<String> {
    if func.starts_with('<') {
        return None;
    }
    func.rsplit_once("::").map(|(m, _)| m.to_string())
}

/// Whether a panic location is in the application.
fn location_in_app(file: &str) -> bool {
    let f = file.replace('\\', "/");
    !(f.contains("/rustc/")
        || f.contains(".cargo/registry")
        || f.contains(".cargo/git")
        || f.starts_with("library/")
        || f.contains("/library/std/")
        || f.contains("/library/core/")
        || f.contains("/library/alloc/"))
}

/// Whether a backtrace frame is in the application.
fn frame_in_app(func: &str, file: &str) -> bool {
    if !file.is_empty() && !location_in_app(file) {
        return false;
    }
    let f = func.trim();
    if f.is_empty() || f == "<unknown>" || f.starts_with("__rust") || RUNTIME_SYMBOLS.contains(&f) {
        return false;
    }
    let krate = f.trim_start_matches('<').split("::").next().unwrap_or("");
    !LIBRARY_CRATES.contains(&krate)
}
