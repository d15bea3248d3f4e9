//! Unified diffs: pulling the diff out of an LLM answer and parsing it into
//! a [`Patch`].
//!
//! The parser understands what `git diff` writes and what models write in
//! its image: `diff --git` headers (optional), `--- a/path` / `+++ b/path`
//! (with `/dev/null` for created and deleted files), `@@ -l,s +l,s @@`
//! hunks, `\ No newline at end of file`, `old mode` / `new mode` /
//! `new file mode` / `deleted file mode`, `rename from` / `rename to`,
//! `Binary files … differ` and `GIT binary patch`. Binary patches are
//! recorded (so the scope guard can reject them), never decoded.
//!
//! Hunk line counts in `@@` headers are advisory: models miscount them, so
//! a hunk runs until the next header, and the counts only decide whether a
//! `--- ` line is a removed `-- …` line or the next file's header, and
//! whether trailing empty lines belong to the hunk.
//!
//! ```
//! use flow_doctor_fix::diff::{extract_diff, Patch};
//!
//! let answer = "Here you go:\n```diff\n--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,2 @@\n def add(a, b):\n-    return a - b\n+    return a + b\n```\n";
//! let patch = Patch::parse(&extract_diff(answer).unwrap()).unwrap();
//! assert_eq!(patch.files[0].path(), "calc.py");
//! assert_eq!(patch.changed_lines(), 2);
//! ```

use std::fmt;

/// File mode of a symbolic link in a git diff.
pub const MODE_SYMLINK: u32 = 0o120_000;
/// File mode of a submodule (gitlink) in a git diff.
pub const MODE_GITLINK: u32 = 0o160_000;
/// File mode of an executable file.
pub const MODE_EXECUTABLE: u32 = 0o100_755;
/// File mode of a regular file.
pub const MODE_REGULAR: u32 = 0o100_644;

/// A parsed unified diff: one entry per file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Patch {
    /// The files, in diff order.
    pub files: Vec<FilePatch>,
}

/// What a [`FilePatch`] does to its file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    /// Creates a file (`--- /dev/null`).
    Add,
    /// Deletes a file (`+++ /dev/null`).
    Delete,
    /// Moves a file (`rename from` / `rename to`), possibly changing it.
    Rename,
    /// Changes a file in place.
    Modify,
}

/// The changes to one file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FilePatch {
    /// Path before the change, as written in the diff without the `a/`
    /// prefix; `None` for a created file.
    pub old_path: Option<String>,
    /// Path after the change, as written in the diff without the `b/`
    /// prefix; `None` for a deleted file.
    pub new_path: Option<String>,
    /// Mode before (`old mode`, `deleted file mode`), when given.
    pub old_mode: Option<u32>,
    /// Mode after (`new mode`, `new file mode`), when given.
    pub new_mode: Option<u32>,
    /// Whether the file carries a binary patch (or `Binary files … differ`).
    pub binary: bool,
    /// Whether `rename from` / `rename to` headers were present.
    pub renamed: bool,
    /// The hunks, in order.
    pub hunks: Vec<Hunk>,
}

/// One `@@` hunk.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hunk {
    /// 1-based first line in the old file (0 for an insertion into an empty file).
    pub old_start: usize,
    /// 1-based first line in the new file.
    pub new_start: usize,
    /// The body.
    pub lines: Vec<HunkLine>,
    /// The old side's last line has no newline (`\ No newline at end of file`).
    pub old_missing_newline: bool,
    /// The new side's last line has no newline.
    pub new_missing_newline: bool,
}

/// One line of a hunk body, without its leading marker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HunkLine {
    /// Unchanged (` `).
    Context(String),
    /// Added (`+`).
    Add(String),
    /// Removed (`-`).
    Remove(String),
}

/// Why a diff could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DiffError {
    /// The answer has no fenced ```` ```diff ```` block.
    #[error("the answer has no ```diff fenced block")]
    NoDiffBlock,
    /// The diff changes no file.
    #[error("the diff changes no file")]
    Empty,
    /// A header or hunk could not be read.
    #[error("line {line}: {message}")]
    Syntax {
        /// 1-based line in the diff text.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

impl Patch {
    /// Parses unified diff text.
    pub fn parse(text: &str) -> Result<Self, DiffError> {
        Parser::new(text).run()
    }

    /// Added plus removed lines over all files.
    pub fn changed_lines(&self) -> usize {
        self.files.iter().map(FilePatch::changed_lines).sum()
    }
}

impl FilePatch {
    /// What the change does.
    pub fn kind(&self) -> ChangeKind {
        match (&self.old_path, &self.new_path) {
            (None, _) => ChangeKind::Add,
            (_, None) => ChangeKind::Delete,
            (Some(a), Some(b)) if self.renamed || a != b => ChangeKind::Rename,
            _ => ChangeKind::Modify,
        }
    }

    /// The path people know the file by: the new path, or the old one for a
    /// deletion.
    pub fn path(&self) -> &str {
        self.new_path
            .as_deref()
            .or(self.old_path.as_deref())
            .unwrap_or_default()
    }

    /// Every path the change touches (old and new, once each).
    pub fn paths(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::with_capacity(2);
        for p in [self.old_path.as_deref(), self.new_path.as_deref()]
            .into_iter()
            .flatten()
        {
            if !out.contains(&p) {
                out.push(p);
            }
        }
        out
    }

    /// Added plus removed lines.
    pub fn changed_lines(&self) -> usize {
        self.hunks
            .iter()
            .flat_map(|h| &h.lines)
            .filter(|l| !matches!(l, HunkLine::Context(_)))
            .count()
    }
}

impl Hunk {
    /// The lines the old file must contain (context and removed), in order.
    pub fn old_lines(&self) -> impl Iterator<Item = &str> {
        self.lines.iter().filter_map(|l| match l {
            HunkLine::Context(s) | HunkLine::Remove(s) => Some(s.as_str()),
            HunkLine::Add(_) => None,
        })
    }

    /// The lines the new file will contain (context and added), in order.
    pub fn new_lines(&self) -> impl Iterator<Item = &str> {
        self.lines.iter().filter_map(|l| match l {
            HunkLine::Context(s) | HunkLine::Add(s) => Some(s.as_str()),
            HunkLine::Remove(_) => None,
        })
    }
}

impl fmt::Display for Hunk {
    /// The hunk as it appears in a diff (with recomputed counts).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "@@ -{},{} +{},{} @@",
            self.old_start,
            self.old_lines().count(),
            self.new_start,
            self.new_lines().count()
        )?;
        for line in &self.lines {
            match line {
                HunkLine::Context(s) => writeln!(f, " {s}")?,
                HunkLine::Add(s) => writeln!(f, "+{s}")?,
                HunkLine::Remove(s) => writeln!(f, "-{s}")?,
            }
        }
        Ok(())
    }
}

/// The diff inside an LLM answer: the contents of every fenced block opened
/// with ```` ```diff ```` or ```` ```patch ````, joined in order.
///
/// A block ends at a line that is exactly ```` ``` ```` (diff lines always
/// start with a marker, so a fence inside the diff cannot end it early).
pub fn extract_diff(answer: &str) -> Result<String, DiffError> {
    let mut out = String::new();
    let mut inside = false;
    let mut found = false;
    for line in answer.lines() {
        if inside {
            if line.trim_end() == "```" {
                inside = false;
            } else {
                out.push_str(line);
                out.push('\n');
            }
        } else {
            let t = line.trim();
            if let Some(rest) = t.strip_prefix("```") {
                let lang = rest.trim().to_ascii_lowercase();
                if lang == "diff" || lang == "patch" || lang == "udiff" {
                    inside = true;
                    found = true;
                }
            }
        }
    }
    if !found || out.trim().is_empty() {
        return Err(DiffError::NoDiffBlock);
    }
    Ok(out)
}

struct Parser<'a> {
    lines: Vec<&'a str>,
    pos: usize,
    files: Vec<FilePatch>,
    current: Option<FileBuilder>,
}

/// A file being read, with what its headers said so far.
#[derive(Default)]
struct FileBuilder {
    patch: FilePatch,
    /// Paths from `diff --git a/x b/y`, used when no `---`/`+++` follow.
    git_paths: Option<(String, String)>,
    saw_minus_plus: bool,
    created: bool,
    deleted: bool,
    rename_from: Option<String>,
    rename_to: Option<String>,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            lines: text.lines().collect(),
            pos: 0,
            files: Vec::new(),
            current: None,
        }
    }

    fn err(&self, message: impl Into<String>) -> DiffError {
        DiffError::Syntax {
            line: self.pos + 1,
            message: message.into(),
        }
    }

    fn run(mut self) -> Result<Patch, DiffError> {
        while self.pos < self.lines.len() {
            let line = self.lines[self.pos];
            if let Some(rest) = line.strip_prefix("diff --git ") {
                self.finish()?;
                self.current = Some(FileBuilder {
                    git_paths: split_git_header(rest),
                    ..FileBuilder::default()
                });
                self.pos += 1;
            } else if line.starts_with("--- ")
                && self
                    .lines
                    .get(self.pos + 1)
                    .is_some_and(|n| n.starts_with("+++ "))
            {
                let needs_new = self
                    .current
                    .as_ref()
                    .is_none_or(|c| c.saw_minus_plus || !c.patch.hunks.is_empty());
                if needs_new {
                    self.finish()?;
                    self.current = Some(FileBuilder::default());
                }
                let old = parse_path(&line[4..], "a/").map_err(|m| self.err(m))?;
                let new = parse_path(&self.lines[self.pos + 1][4..], "b/").map_err(|m| {
                    DiffError::Syntax {
                        line: self.pos + 2,
                        message: m,
                    }
                })?;
                if let Some(cur) = self.current.as_mut() {
                    cur.saw_minus_plus = true;
                    cur.patch.old_path = old;
                    cur.patch.new_path = new;
                }
                self.pos += 2;
            } else if line.starts_with("@@") {
                if !self.current.as_ref().is_some_and(|c| c.saw_minus_plus) {
                    return Err(self.err("hunk before any `--- a/…` / `+++ b/…` header"));
                }
                let hunk = self.hunk()?;
                if let Some(cur) = self.current.as_mut() {
                    cur.patch.hunks.push(hunk);
                }
            } else if let Some(cur) = self.current.as_mut() {
                let pos = self.pos;
                extended_header(cur, line).map_err(|m| DiffError::Syntax {
                    line: pos + 1,
                    message: m,
                })?;
                self.pos += 1;
                if line.starts_with("GIT binary patch") {
                    // Skip the encoded data up to the next file.
                    while self.pos < self.lines.len()
                        && !self.lines[self.pos].starts_with("diff --git ")
                    {
                        self.pos += 1;
                    }
                }
            } else if line.starts_with("Binary files ") || line.starts_with("GIT binary patch") {
                // A binary change without a `diff --git` header.
                let mut b = FileBuilder::default();
                if let Some((old, new)) = split_binary_line(line) {
                    b.patch.old_path = old;
                    b.patch.new_path = new;
                    b.saw_minus_plus = true;
                }
                b.patch.binary = true;
                self.current = Some(b);
                self.pos += 1;
            } else {
                // Text before the first file header: ignored, as git apply does.
                self.pos += 1;
            }
        }
        self.finish()?;
        if self.files.is_empty() {
            return Err(DiffError::Empty);
        }
        Ok(Patch { files: self.files })
    }

    /// Reads one hunk starting at the `@@` line.
    fn hunk(&mut self) -> Result<Hunk, DiffError> {
        let header = self.lines[self.pos];
        let (old_start, old_count, new_start, new_count) = parse_hunk_header(header)
            .ok_or_else(|| self.err(format!("bad hunk header `{header}`")))?;
        self.pos += 1;
        let mut hunk = Hunk {
            old_start,
            new_start,
            ..Hunk::default()
        };
        let (mut old_seen, mut new_seen) = (0usize, 0usize);
        while self.pos < self.lines.len() {
            let line = self.lines[self.pos];
            let counts_met = old_seen >= old_count && new_seen >= new_count;
            if line.starts_with("@@") || line.starts_with("diff --git ") {
                break;
            }
            if counts_met
                && line.starts_with("--- ")
                && self
                    .lines
                    .get(self.pos + 1)
                    .is_some_and(|n| n.starts_with("+++ "))
            {
                break;
            }
            match line.as_bytes().first() {
                Some(b' ') => {
                    hunk.lines.push(HunkLine::Context(line[1..].to_string()));
                    old_seen += 1;
                    new_seen += 1;
                }
                // Models often strip the single space of an empty context line.
                None => {
                    hunk.lines.push(HunkLine::Context(String::new()));
                    old_seen += 1;
                    new_seen += 1;
                }
                Some(b'+') => {
                    hunk.lines.push(HunkLine::Add(line[1..].to_string()));
                    new_seen += 1;
                }
                Some(b'-') => {
                    hunk.lines.push(HunkLine::Remove(line[1..].to_string()));
                    old_seen += 1;
                }
                Some(b'\\') => match hunk.lines.last() {
                    Some(HunkLine::Context(_)) => {
                        hunk.old_missing_newline = true;
                        hunk.new_missing_newline = true;
                    }
                    Some(HunkLine::Add(_)) => hunk.new_missing_newline = true,
                    Some(HunkLine::Remove(_)) => hunk.old_missing_newline = true,
                    None => return Err(self.err("`\\ No newline` marker before any line")),
                },
                Some(_) => break,
            }
            self.pos += 1;
        }
        // Trailing blank lines past the header's counts are padding, not context.
        while old_seen > old_count
            && new_seen > new_count
            && matches!(hunk.lines.last(), Some(HunkLine::Context(s)) if s.is_empty())
        {
            hunk.lines.pop();
            old_seen -= 1;
            new_seen -= 1;
        }
        if hunk.lines.is_empty() {
            return Err(DiffError::Syntax {
                line: self.pos,
                message: "empty hunk".into(),
            });
        }
        Ok(hunk)
    }

    fn finish(&mut self) -> Result<(), DiffError> {
        let Some(mut b) = self.current.take() else {
            return Ok(());
        };
        if !b.saw_minus_plus {
            // Header-only change (rename, mode change, binary, empty new file).
            let (a, bb) = b.git_paths.clone().unwrap_or_default();
            b.patch.old_path = b.rename_from.clone().or(Some(a).filter(|s| !s.is_empty()));
            b.patch.new_path = b.rename_to.clone().or(Some(bb).filter(|s| !s.is_empty()));
        }
        if b.created {
            b.patch.old_path = None;
        }
        if b.deleted {
            b.patch.new_path = None;
        }
        if let (Some(from), Some(to)) = (&b.rename_from, &b.rename_to) {
            b.patch.renamed = true;
            if b.patch.old_path.is_some() {
                b.patch.old_path = Some(from.clone());
            }
            if b.patch.new_path.is_some() {
                b.patch.new_path = Some(to.clone());
            }
        }
        let p = &b.patch;
        if p.old_path.is_none() && p.new_path.is_none() {
            return Err(self.err("a file section names no path"));
        }
        let changes_something = !p.hunks.is_empty()
            || p.binary
            || p.renamed
            || b.created
            || b.deleted
            || p.new_mode.is_some_and(|m| Some(m) != p.old_mode)
            || p.old_path.is_none()
            || p.new_path.is_none();
        if !changes_something {
            return Err(self.err(format!("the section for `{}` changes nothing", p.path())));
        }
        self.files.push(b.patch);
        Ok(())
    }
}

/// Applies one extended header line (`new file mode`, `rename from`, ...).
/// Unknown lines between headers are ignored, as git apply does.
fn extended_header(b: &mut FileBuilder, line: &str) -> Result<(), String> {
    let mode = |s: &str| {
        u32::from_str_radix(s.trim(), 8).map_err(|_| format!("bad file mode `{}`", s.trim()))
    };
    if let Some(m) = line.strip_prefix("new file mode ") {
        b.created = true;
        b.patch.new_mode = Some(mode(m)?);
    } else if let Some(m) = line.strip_prefix("deleted file mode ") {
        b.deleted = true;
        b.patch.old_mode = Some(mode(m)?);
    } else if let Some(m) = line.strip_prefix("old mode ") {
        b.patch.old_mode = Some(mode(m)?);
    } else if let Some(m) = line.strip_prefix("new mode ") {
        b.patch.new_mode = Some(mode(m)?);
    } else if let Some(p) = line
        .strip_prefix("rename from ")
        .or_else(|| line.strip_prefix("copy from "))
    {
        b.rename_from = Some(unquote(p.trim_end())?);
    } else if let Some(p) = line
        .strip_prefix("rename to ")
        .or_else(|| line.strip_prefix("copy to "))
    {
        b.rename_to = Some(unquote(p.trim_end())?);
    } else if line.starts_with("GIT binary patch")
        || (line.starts_with("Binary files ") && line.trim_end().ends_with(" differ"))
    {
        b.patch.binary = true;
    }
    Ok(())
}

/// Splits `a/x b/y` from a `diff --git` line (unquoted paths only; quoted
/// ones come back from `---`/`+++` or `rename` headers).
fn split_git_header(rest: &str) -> Option<(String, String)> {
    let rest = rest.trim_end();
    let a = rest.strip_prefix("a/")?;
    // With equal old and new paths the split point is the middle.
    let mid = a.find(" b/")?;
    let (old, new) = (&a[..mid], &a[mid + 3..]);
    Some((old.to_string(), new.to_string()))
}

/// Paths of `Binary files a/x and b/y differ`.
fn split_binary_line(line: &str) -> Option<(Option<String>, Option<String>)> {
    let rest = line
        .strip_prefix("Binary files ")?
        .trim_end()
        .strip_suffix(" differ")?;
    let (a, b) = rest.split_once(" and ")?;
    Some((parse_path(a, "a/").ok()?, parse_path(b, "b/").ok()?))
}

/// Parses the path of a `---` / `+++` line: `None` for `/dev/null`.
fn parse_path(raw: &str, prefix: &str) -> Result<Option<String>, String> {
    // `--- a/x\t2024-01-01 ...`: a tab ends the name.
    let raw = raw.split('\t').next().unwrap_or_default().trim_end();
    if raw == "/dev/null" {
        return Ok(None);
    }
    let path = unquote(raw)?;
    let path = path
        .strip_prefix(prefix)
        .map(str::to_string)
        .unwrap_or(path);
    if path.is_empty() {
        return Err("empty path".into());
    }
    Ok(Some(path))
}

/// Removes git's C-style quoting (`"a/t\303\251st"`), if present.
fn unquote(s: &str) -> Result<String, String> {
    let Some(inner) = s.strip_prefix('"').and_then(|r| r.strip_suffix('"')) else {
        return Ok(s.to_string());
    };
    let mut bytes = Vec::with_capacity(inner.len());
    let mut it = inner.bytes().peekable();
    while let Some(c) = it.next() {
        if c != b'\\' {
            bytes.push(c);
            continue;
        }
        let e = it.next().ok_or("dangling backslash in a quoted path")?;
        bytes.push(match e {
            b'n' => b'\n',
            b't' => b'\t',
            b'r' => b'\r',
            b'a' => 0x07,
            b'b' => 0x08,
            b'f' => 0x0c,
            b'v' => 0x0b,
            b'\\' => b'\\',
            b'"' => b'"',
            b'0'..=b'7' => {
                let mut v = u32::from(e - b'0');
                for _ in 0..2 {
                    match it.peek() {
                        Some(d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            it.next();
                        }
                        _ => break,
                    }
                }
                u8::try_from(v).map_err(|_| "bad octal escape in a quoted path")?
            }
            other => {
                return Err(format!(
                    "unknown escape `\\{}` in a quoted path",
                    other as char
                ));
            }
        });
    }
    String::from_utf8(bytes).map_err(|_| "a quoted path is not UTF-8".to_string())
}

/// `@@ -a,b +c,d @@ section` → (a, b, c, d); a missing count is 1.
fn parse_hunk_header(line: &str) -> Option<(usize, usize, usize, usize)> {
    let rest = line.strip_prefix("@@ -")?;
    let end = rest.find(" @@")?;
    let (old, new) = rest[..end].split_once(" +")?;
    let range = |r: &str| -> Option<(usize, usize)> {
        match r.split_once(',') {
            Some((s, c)) => Some((s.parse().ok()?, c.parse().ok()?)),
            None => Some((r.parse().ok()?, 1)),
        }
    };
    let (os, oc) = range(old)?;
    let (ns, nc) = range(new)?;
    Some((os, oc, ns, nc))
}

#[cfg(test)]
mod tests;
