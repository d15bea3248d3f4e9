//! Signatures: the grouping key of a report and the text it is hashed from.

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{normalize_message, re};
use crate::model::{Frame, Report, truncate_chars};

/// How many in-app frames, innermost first, make up a signature.
pub const MAX_SIGNATURE_FRAMES: usize = 3;

/// Longest normalized message used by the message fallback, in characters.
const MAX_FALLBACK_CHARS: usize = 300;

static RUST_HASH: LazyLock<Regex> = LazyLock::new(|| re(r"::h[0-9a-f]{16}\b"));
static GENERATED_SUFFIX: LazyLock<Regex> = LazyLock::new(|| re(r"(\$|d__|__)\d+"));

/// A grouping key and the human-readable text it was computed from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Fingerprint {
    /// The grouping key: 32 hex characters (the first 128 bits of the
    /// SHA-256 of `fingerprint`).
    pub signature: String,
    /// The normalized text the signature was computed from, e.g.
    /// `KeyError @ load.py:load < main.py:main` or `panic: index out of
    /// range [<n>]`.
    pub fingerprint: String,
}

/// Computes the fingerprint of a failure.
///
/// - With usable frames: `Type @ file:function < file:function …`, from at
///   most [`MAX_SIGNATURE_FRAMES`] frames, innermost first. A frame is usable
///   when it is `in_app` and has a real function name: placeholders
///   (`<unknown>`, `?`, empty, `note: run with RUST_BACKTRACE=1`) and
///   library frames never count. Files are reduced to their base name and
///   line numbers are left out, so install paths and edits do not split a
///   group; compiler-generated suffixes (`$1`, `d__5`, Rust `::h…` hashes)
///   are dropped. For errors whose message names what is missing
///   (`KeyError`, `AttributeError`, `NoMethodError`, `ReferenceError`,
///   `ClassNotFoundException`, ...) the normalized message joins in:
///   `KeyError: 'user_id' @ load.py:load`, so two missing keys in one
///   function stay two incidents.
/// - Otherwise: `Type: <normalized first line of the message>`; when the
///   innermost in-app frame has a file but no function (a panic location, a
///   Python `SyntaxError`), ` @ basename` is appended.
///
/// The flow name is not part of it: stores scope dedup by flow.
pub fn fingerprint(error_type: Option<&str>, frames: &[Frame], message: &str) -> Fingerprint {
    let ty = error_type.map(str::trim).filter(|t| !t.is_empty());
    let keys: Vec<String> = frames
        .iter()
        .filter(|f| usable(f))
        .take(MAX_SIGNATURE_FRAMES)
        .map(frame_key)
        .collect();
    let text = if keys.is_empty() {
        let first = message.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        let msg = truncate_chars(&normalize_message(first), MAX_FALLBACK_CHARS);
        let mut text = match ty {
            Some(t) if msg.is_empty() => t.to_string(),
            Some(t) => format!("{t}: {msg}"),
            None => msg,
        };
        let location = frames
            .iter()
            .find(|f| f.in_app && f.function.trim().is_empty() && !placeholder(&f.file))
            .map(|f| basename(&f.file));
        if let Some(file) = location.filter(|b| !b.is_empty()) {
            text.push_str(" @ ");
            text.push_str(file);
        }
        text
    } else {
        let frames = keys.join(" < ");
        match ty {
            Some(t) if names_missing_thing(t) => {
                let first = message.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
                let msg = truncate_chars(&normalize_message(first), MAX_FALLBACK_CHARS);
                if msg.is_empty() {
                    format!("{t} @ {frames}")
                } else {
                    format!("{t}: {msg} @ {frames}")
                }
            }
            Some(t) => format!("{t} @ {frames}"),
            None => format!("@ {frames}"),
        }
    };
    Fingerprint {
        signature: hash(&text),
        fingerprint: text,
    }
}

/// The fingerprint of a report: its `custom_fingerprint` when set (as
/// `custom: <value>`), else [`fingerprint`] of its error type, frames and
/// message.
pub fn fingerprint_report(report: &Report) -> Fingerprint {
    if let Some(custom) = report
        .custom_fingerprint
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        let text = format!("custom: {custom}");
        return Fingerprint {
            signature: hash(&text),
            fingerprint: text,
        };
    }
    fingerprint(
        report.error_type.as_deref(),
        &report.frames,
        &report.message,
    )
}

/// Error types whose message names the missing thing (a key, attribute,
/// method, module, column) or is the only description (a panic): two of them raised in one function are two
/// different bugs, so their normalized message joins the frames.
const NAMING_ERRORS: &[&str] = &[
    "KeyError",
    "AttributeError",
    "NameError",
    "UnboundLocalError",
    "ImportError",
    "ModuleNotFoundError",
    "NoMethodError",
    "ReferenceError",
    "NoSuchFieldError",
    "NoSuchMethodError",
    "ClassNotFoundException",
    "NoClassDefFoundError",
    "KeyNotFoundException",
    "MissingMethodException",
    "MissingFieldException",
    "ColumnNotFoundError",
    "UndefinedColumn",
    "UndefinedTable",
    // A Rust or Go panic's message is the only thing telling two panics in
    // one function apart (`expect("config")` vs `expect("db")`).
    "panic",
];

/// Whether an error type (by its last path segment) names what was missing.
fn names_missing_thing(error_type: &str) -> bool {
    let last = error_type.rsplit(['.', ':']).next().unwrap_or(error_type);
    NAMING_ERRORS.contains(&last)
}

/// Whether a frame can stand for the failure in a signature.
fn usable(frame: &Frame) -> bool {
    frame.in_app && !placeholder(&frame.function)
}

/// Names that carry no information: what a missing or stripped backtrace
/// prints instead of a symbol.
fn placeholder(name: &str) -> bool {
    let n = name.trim();
    n.is_empty()
        || matches!(
            n,
            "<unknown>" | "unknown" | "?" | "??" | "<anonymous>" | "<redacted>" | "<missing>"
        )
        || n.starts_with("note:")
        || n.contains("RUST_BACKTRACE")
        || n.starts_with("0x")
}

/// `basename:function` with generated suffixes removed.
fn frame_key(frame: &Frame) -> String {
    let func = RUST_HASH.replace_all(frame.function.trim(), "");
    let func = GENERATED_SUFFIX.replace_all(&func, "$1");
    let file = basename(&frame.file);
    if file.is_empty() || placeholder(file) {
        func.into_owned()
    } else {
        format!("{file}:{func}")
    }
}

/// The last path component of a file (either separator, `file://` URLs too).
fn basename(file: &str) -> &str {
    let f = file.trim();
    f.rsplit(['/', '\\']).next().unwrap_or(f)
}

/// The first 128 bits of SHA-256, as 32 lowercase hex characters.
fn hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    hex::encode(digest.get(..16).unwrap_or(&digest[..]))
}
