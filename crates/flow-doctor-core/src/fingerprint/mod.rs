//! Parsing failure text into error type, message and frames, and computing
//! the grouping signature.
//!
//! [`parse`] takes any text (a process's stderr, a log file, a pasted
//! traceback) and finds the **last complete** traceback in it, ignoring the
//! log noise around it. [`fingerprint`] and [`fingerprint_report`] turn the
//! result into a [`Fingerprint`]: a hex `signature` (the grouping key) and the
//! human-readable text it was hashed from.
//!
//! | Language | Recognized | `error_type` |
//! |---|---|---|
//! | `python` | `Traceback (most recent call last):` blocks, chained with "During handling…" / "The above exception was the direct cause…", `SyntaxError` blocks, exception groups | the exception class (`KeyError`) |
//! | `rust` | `thread '…' panicked at` (1.73+ and older formats), `stack backtrace:`, anyhow's `Error: … Caused by:` | `panic`; none for `Error:` output |
//! | `jvm` | `Exception in thread …`, `\tat a.B.c(B.java:1)`, `Caused by:`, `... N more`, `Suppressed:` | the class (`java.lang.NullPointerException`) |
//! | `node` | `TypeError: …` followed by `    at fn (/app/x.js:1:2)` frames, `async` frames, `[cause]:` | the error name (`TypeError`) |
//! | `go` | `panic:` / `fatal error:` followed by a `goroutine N [running]:` dump | `panic` or `fatal error` |
//! | `dotnet` | `System.X: …` followed by `   at N.C.M() in f.cs:line 4`, inner exceptions ` ---> ` | the class (`System.InvalidOperationException`) |
//! | `ruby` | `app.rb:3:in 'load': msg (NoMethodError)` with `\tfrom` frames (backtick or quote style) | the class (`NoMethodError`) |
//! | none | plain log lines and shell errors (`bash: x: command not found`) | none, unless the line reads `SomeError: …` |
//!
//! Conventions, the same for every language:
//! - `frames` are innermost (where it failed) first; `in_app` is false for
//!   the standard library, runtimes and third-party packages.
//! - The *error* is the outermost exception: the last one Python prints, the
//!   first one the JVM and .NET print. `chain` lists its causes, nearest cause
//!   first, as `Type: message`.
//! - Plain text yields no `language` and no `error_type` (a log level such as
//!   `ERROR` is not a type); the message is the last error-looking line with
//!   its timestamp and level removed.
//! - Only the last 4 MiB of the input are examined; ANSI colour codes are
//!   removed first.
//!
//! Signatures: see [`fingerprint`]. Messages are normalized by
//! [`normalize_message`]; quoted values are kept so `KeyError: 'user_id'`
//! and `KeyError: 'order_id'` stay apart.
//!
//! # Example
//! ```
//! use flow_doctor_core::fingerprint::{fingerprint, parse};
//!
//! let stderr = "INFO starting\nTraceback (most recent call last):\n  \
//!     File \"/opt/app/etl/load.py\", line 42, in load\n    row = rows[key]\n\
//!     KeyError: 'user_id'\n";
//! let failure = parse(stderr);
//! assert_eq!(failure.language.as_deref(), Some("python"));
//! assert_eq!(failure.error_type.as_deref(), Some("KeyError"));
//! let fp = fingerprint(failure.error_type.as_deref(), &failure.frames, &failure.message);
//! assert_eq!(fp.fingerprint, "KeyError: 'user_id' @ load.py:load");
//! ```

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use crate::model::{Frame, truncate_chars};

mod dotnet;
mod go;
mod jvm;
mod node;
mod normalize;
mod plain;
mod python;
mod ruby;
mod rust;
mod signature;
#[cfg(test)]
mod tests;

pub use normalize::normalize_message;
pub use signature::{Fingerprint, MAX_SIGNATURE_FRAMES, fingerprint, fingerprint_report};

/// Result of parsing failure text.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ParsedFailure {
    /// `"python"`, `"rust"`, `"jvm"`, `"node"`, `"go"`, `"dotnet"`, `"ruby"`,
    /// or `None` for plain text.
    pub language: Option<String>,
    /// The error type: `KeyError`, `java.lang.NullPointerException`,
    /// `TypeError`, `panic`, `System.InvalidOperationException`,
    /// `NoMethodError`, ...
    pub error_type: Option<String>,
    /// The error message (its first line), trimmed.
    pub message: String,
    /// Frames, innermost (where it failed) first, `in_app` set.
    pub frames: Vec<Frame>,
    /// Causes of the error, nearest first, as `Type: message`.
    pub chain: Vec<String>,
    /// The traceback block found in the text, without the surrounding noise.
    pub traceback: Option<String>,
}

/// Parses failure text. Never panics, whatever the input.
///
/// When the text holds several tracebacks (retries, several failures), the
/// last complete one wins; with none, the last error-looking line is taken
/// as plain text.
pub fn parse(text: &str) -> ParsedFailure {
    let text = tail(text, MAX_INPUT_BYTES);
    let text = strip_ansi(text);
    let lines: Vec<&str> = text.lines().collect();
    // Each parser runs only when one of its markers occurs in the text.
    let parsers: [(&[&str], LanguageParser); 7] = [
        (
            &["Traceback (most recent call last)", "File \""],
            python::parse,
        ),
        (&["panicked at ", "Error:"], rust::parse),
        (&["at "], jvm::parse),
        (&["at "], node::parse),
        (&["goroutine "], go::parse),
        (&["at "], dotnet::parse),
        (&[":in "], ruby::parse),
    ];
    let mut best: Option<Found> = None;
    for (markers, parser) in parsers {
        if !markers.iter().any(|m| text.contains(m)) {
            continue;
        }
        if let Some(found) = parser(&lines) {
            let better = match &best {
                None => true,
                Some(b) => found.end > b.end || (found.end == b.end && found.start < b.start),
            };
            if better {
                best = Some(found);
            }
        }
    }
    match best {
        Some(found) => found.into_parsed(&lines),
        None => plain::parse(&lines),
    }
}

/// A language parser: the last complete traceback of its language in the lines.
type LanguageParser = fn(&[&str]) -> Option<Found>;

/// How much of the input (its end) [`parse`] looks at.
const MAX_INPUT_BYTES: usize = 4 << 20;

/// Longest message kept, in characters.
const MAX_MESSAGE_CHARS: usize = 2000;

/// A traceback found by one language parser: lines `start..end` of the input.
struct Found {
    language: &'static str,
    error_type: Option<String>,
    message: String,
    frames: Vec<Frame>,
    chain: Vec<String>,
    start: usize,
    end: usize,
}

impl Found {
    fn into_parsed(self, lines: &[&str]) -> ParsedFailure {
        let block = lines
            .get(self.start..self.end.min(lines.len()))
            .map(|b| b.join("\n"))
            .filter(|b| !b.trim().is_empty());
        ParsedFailure {
            language: Some(self.language.to_string()),
            error_type: self.error_type.filter(|t| !t.is_empty()),
            message: clean_message(&self.message),
            frames: self.frames,
            chain: self.chain,
            traceback: block,
        }
    }
}

/// One exception of a chain, while parsing.
#[derive(Default)]
struct Exc {
    ty: Option<String>,
    msg: String,
    frames: Vec<Frame>,
}

impl Exc {
    /// `Type: message`, `Type`, or the message.
    fn headline(&self) -> String {
        let msg = clean_message(&self.msg);
        match (&self.ty, msg.is_empty()) {
            (Some(t), true) => t.clone(),
            (Some(t), false) => format!("{t}: {msg}"),
            (None, _) => msg,
        }
    }
}

/// Compiles a built-in pattern. Every pattern is a constant exercised by the
/// unit tests, so this cannot fail at runtime.
fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("built-in fingerprint pattern is valid")
}

/// Builds a frame.
fn frame(
    file: &str,
    function: &str,
    line: Option<u32>,
    module: Option<String>,
    in_app: bool,
) -> Frame {
    Frame {
        file: file.trim().to_string(),
        function: function.trim().to_string(),
        line,
        module,
        in_app,
    }
}

/// Parses a line number.
fn num(s: Option<regex::Match<'_>>) -> Option<u32> {
    s.and_then(|m| m.as_str().parse().ok())
}

/// The first line of a message, trimmed and bounded.
fn clean_message(msg: &str) -> String {
    let first = msg.lines().next().unwrap_or("").trim();
    truncate_chars(first, MAX_MESSAGE_CHARS)
}

/// Whether a line is empty or whitespace.
fn blank(line: &str) -> bool {
    line.trim().is_empty()
}

/// Whether a line starts with whitespace.
fn indented(line: &str) -> bool {
    line.starts_with([' ', '\t'])
}

/// The last `max` bytes of `text`, starting at a line boundary when possible.
fn tail(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    let rest = &text[start..];
    match rest.find('\n') {
        Some(nl) => &rest[nl + 1..],
        None => rest,
    }
}

static ANSI: LazyLock<Regex> = LazyLock::new(|| re(r"\x1b\[[0-9;?]*[ -/]*[@-~]"));

/// Removes ANSI colour and cursor sequences.
fn strip_ansi(text: &str) -> Cow<'_, str> {
    if text.contains('\x1b') {
        ANSI.replace_all(text, "")
    } else {
        Cow::Borrowed(text)
    }
}
