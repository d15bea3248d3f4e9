//! What the model is asked: the system prompt (strict diff format) and the
//! user prompt (issue, diagnosis, traceback, the affected files' contents).
//!
//! Context is bounded ([`ContextLimits`]) and only includes regular files
//! inside the worktree and inside `auto_fix.scope`; symlinks and files
//! outside the repository are skipped with a reason. The caller passes the
//! finished prompt through the [`Scrubber`](flow_doctor_core::Scrubber)
//! before it leaves the process.

use std::fmt::Write as _;
use std::path::Path;

use flow_doctor_core::metadata::IssueMetadata;

use crate::forge::ForgeIssue;
use crate::scope::{self, ScopeGuard};

/// The system prompt: what to output and in which form.
pub const SYSTEM_PROMPT: &str = "\
You are flow-doctor's fix generator. You receive a failure from a data pipeline or batch job \
(its diagnosis and traceback) and the current contents of the files involved. Write the smallest \
change that fixes the root cause.

Output rules (strict):
- Output exactly one fenced code block whose language is `diff`, containing a unified diff. \
At most one short sentence may precede it; nothing may follow it.
- Each file starts with `--- a/<path>` and `+++ b/<path>`, paths relative to the repository root \
exactly as in the file headers you are given. A new file uses `--- /dev/null`; a deleted file \
`+++ /dev/null`.
- Each hunk starts with `@@ -<start>,<count> +<start>,<count> @@` and carries up to 3 lines of \
unchanged context copied exactly (whitespace included) from the file.
- Change only the files shown, unless the fix needs a new file. Do not weaken or delete tests to \
make them pass. Never touch CI configuration, credentials, secrets or environment files.
- No binary content, no symbolic links, no file mode changes, no renames.
- If no safe fix is possible, output an empty ```diff block.";

/// Bounds on the context sent with the prompt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContextLimits {
    /// Files included at most.
    pub max_files: usize,
    /// Bytes of one file included at most (the rest is cut, and said so).
    pub max_file_bytes: usize,
    /// Bytes of all files together.
    pub max_total_bytes: usize,
    /// Characters of the issue body included at most.
    pub max_issue_chars: usize,
}

impl Default for ContextLimits {
    fn default() -> Self {
        Self {
            max_files: 8,
            max_file_bytes: 48 * 1024,
            max_total_bytes: 160 * 1024,
            max_issue_chars: 12_000,
        }
    }
}

/// One file shown to the model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContextFile {
    /// Path relative to the repository root.
    pub path: String,
    /// Its content (possibly cut).
    pub content: String,
    /// Whether the content was cut.
    pub truncated: bool,
}

/// A named file that was not shown, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// The path as named by the diagnosis.
    pub path: String,
    /// Why it was skipped.
    pub reason: String,
}

/// Reads the affected files from `root` within the scope and the limits.
///
/// Paths may be relative or absolute under `root` (tracebacks print
/// absolute paths) and may carry a `:line` suffix.
pub fn gather_context(
    root: &Path,
    affected: &[String],
    guard: &ScopeGuard,
    limits: ContextLimits,
) -> (Vec<ContextFile>, Vec<Skipped>) {
    let mut files: Vec<ContextFile> = Vec::new();
    let mut skipped = Vec::new();
    let mut total = 0usize;
    let root_real = root.canonicalize().ok();
    for raw in affected {
        let named = raw.trim();
        if named.is_empty() {
            continue;
        }
        let skip = |reason: String| Skipped {
            path: named.to_string(),
            reason,
        };
        let Some(rel) = relative_path(named, root, root_real.as_deref()) else {
            skipped.push(skip("absolute path outside the repository".into()));
            continue;
        };
        let norm = match guard.check_path(&rel) {
            Ok(n) => n,
            Err(kind) => {
                skipped.push(skip(kind.to_string()));
                continue;
            }
        };
        if files.iter().any(|f| f.path == norm) {
            continue;
        }
        if files.len() >= limits.max_files {
            skipped.push(skip(format!("more than {} files", limits.max_files)));
            continue;
        }
        if let Err(kind) = scope::check_location(root, &norm) {
            skipped.push(skip(kind.to_string()));
            continue;
        }
        let full = root.join(&norm);
        match std::fs::symlink_metadata(&full) {
            Ok(m) if m.is_file() => {}
            Ok(_) => {
                skipped.push(skip("not a regular file".into()));
                continue;
            }
            Err(_) => {
                skipped.push(skip("does not exist in the repository".into()));
                continue;
            }
        }
        let Ok(bytes) = std::fs::read(&full) else {
            skipped.push(skip("cannot be read".into()));
            continue;
        };
        let Ok(text) = String::from_utf8(bytes) else {
            skipped.push(skip("not UTF-8 text".into()));
            continue;
        };
        let budget = limits
            .max_file_bytes
            .min(limits.max_total_bytes.saturating_sub(total));
        if budget == 0 {
            skipped.push(skip("the context is full".into()));
            continue;
        }
        let (content, truncated) = cut_at_line(&text, budget);
        total += content.len();
        files.push(ContextFile {
            path: norm,
            content,
            truncated,
        });
    }
    (files, skipped)
}

/// The user prompt (unscrubbed; the caller scrubs it).
pub fn build_prompt(
    issue: &ForgeIssue,
    meta: &IssueMetadata,
    files: &[ContextFile],
    limits: ContextLimits,
) -> String {
    let mut p = String::new();
    let _ = writeln!(p, "# Failure: {}\n", issue.title);
    let _ = writeln!(p, "## Diagnosis");
    if let Some(c) = meta.category {
        let _ = writeln!(p, "- category: {}", c.as_str());
    }
    if let Some(c) = meta.confidence {
        let _ = writeln!(p, "- confidence: {c:.2}");
    }
    if let Some(t) = &meta.error_type {
        let _ = writeln!(p, "- error type: {t}");
    }
    let _ = writeln!(p, "- flow: {}", meta.flow);
    if let Some(r) = &meta.root_cause {
        let _ = writeln!(p, "- root cause: {r}");
    }
    if !meta.affected_files.is_empty() {
        let _ = writeln!(p, "- affected files: {}", meta.affected_files.join(", "));
    }
    let body = issue_text(&issue.body, limits.max_issue_chars);
    if !body.trim().is_empty() {
        let _ = writeln!(
            p,
            "\n## Issue report (traceback, logs, diagnosis)\n\n<issue>\n{}\n</issue>",
            body.trim()
        );
    }
    let _ = writeln!(p, "\n## Files (current content at the base branch)");
    for f in files {
        let fence = fence_for(&f.content);
        let _ = write!(p, "\n### {}\n{fence}\n{}", f.path, f.content);
        if !f.content.ends_with('\n') && !f.content.is_empty() {
            p.push('\n');
        }
        let _ = writeln!(p, "{fence}");
        if f.truncated {
            let _ = writeln!(p, "(cut: the file continues beyond this point)");
        }
    }
    let _ = writeln!(
        p,
        "\nWrite the unified diff that fixes the root cause, following the output rules."
    );
    p
}

/// The issue body without flow-doctor's metadata comment, cut to
/// `max_chars` characters.
pub fn issue_text(body: &str, max_chars: usize) -> String {
    let mut text = body.to_string();
    if let Some(start) = text.find("<!-- flow-doctor:") {
        let end = text[start..]
            .find("-->")
            .map(|e| start + e + 3)
            .unwrap_or(text.len());
        text.replace_range(start..end, "");
    }
    if text.chars().count() > max_chars {
        let cut: String = text.chars().take(max_chars).collect();
        format!("{cut}\n[... cut ...]")
    } else {
        text
    }
}

/// A path relative to `root`, from a relative or absolute path with an
/// optional `:line` suffix.
fn relative_path(named: &str, root: &Path, root_real: Option<&Path>) -> Option<String> {
    let mut p = named;
    if let Some((head, tail)) = p.rsplit_once(':')
        && !tail.is_empty()
        && tail.chars().all(|c| c.is_ascii_digit())
    {
        p = head;
    }
    let path = Path::new(p);
    if !path.is_absolute() {
        return Some(p.to_string());
    }
    for base in [Some(root), root_real].into_iter().flatten() {
        if let Ok(rel) = path.strip_prefix(base) {
            return rel.to_str().map(str::to_string);
        }
    }
    None
}

/// Cuts `text` to at most `max` bytes at a line boundary.
fn cut_at_line(text: &str, max: usize) -> (String, bool) {
    if text.len() <= max {
        return (text.to_string(), false);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let end = text[..end].rfind('\n').map(|i| i + 1).unwrap_or(end);
    (text[..end].to_string(), true)
}

/// A backtick fence longer than any run of backticks in `content`.
fn fence_for(content: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in content.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    "`".repeat((longest + 1).max(3))
}

#[cfg(test)]
mod tests;
