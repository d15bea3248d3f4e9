//! The scope guard: which files a generated fix may touch.
//!
//! Every path of a [`Patch`] (old and new side) must
//! - be relative, without `..`, without a `.git` component, without
//!   backslashes or control characters;
//! - match one entry of `auto_fix.scope.allow` and none of
//!   `auto_fix.scope.deny`;
//! - not be, or pass through, a symbolic link in the worktree, and resolve
//!   inside the repository after canonicalisation.
//!
//! The patch must also not be binary, not create or turn a file into a
//! symlink (mode `120000`) or a submodule (mode `160000`), and change at
//! most `auto_fix.max_diff_lines` lines.
//!
//! Scope entries are globs (`src/**`, `**/*.pem`; `*` stops at `/`, `**`
//! crosses directories) or, when an entry has no glob character, a path or
//! directory prefix (`src` and `src/` both cover `src/a/b.py`). The deny list
//! matches case-insensitively, so `.ENV` is denied by `**/.env` on
//! case-insensitive file systems too; the allow list matches exactly.
//!
//! [`ScopeGuard::check_patch`] is pure; [`ScopeGuard::check_on_disk`] looks
//! at the worktree (symlinks, canonical location) and writes nothing. Both
//! run before anything is applied.
//!
//! ```
//! use flow_doctor_core::config::ScopeConfig;
//! use flow_doctor_fix::diff::Patch;
//! use flow_doctor_fix::scope::{ScopeGuard, ViolationKind};
//!
//! let guard = ScopeGuard::new(&ScopeConfig::default(), 400).unwrap();
//! let patch = Patch::parse("--- a/../etc/passwd\n+++ b/../etc/passwd\n@@ -1 +1 @@\n-a\n+b\n").unwrap();
//! let violations = guard.check_patch(&patch);
//! assert_eq!(violations[0].kind, ViolationKind::ParentDir);
//! ```

use std::fmt;
use std::io;
use std::path::{Component, Path, PathBuf};

use flow_doctor_core::config::{AutoFixConfig, ScopeConfig};
use flow_doctor_core::{Error, Result};
use globset::{GlobBuilder, GlobMatcher};

use crate::diff::{MODE_GITLINK, MODE_SYMLINK, Patch};

/// Why a path or a patch is out of scope.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ViolationKind {
    /// The path is empty (or only `.` and `/`).
    EmptyPath,
    /// The path has a backslash, NUL or another control character.
    InvalidCharacter,
    /// The path is absolute (`/etc/passwd`, `C:\x`).
    Absolute,
    /// The path has a `..` component.
    ParentDir,
    /// The path goes through a `.git` directory.
    GitDir,
    /// The path matches no `scope.allow` entry.
    NotAllowed,
    /// The path matches a `scope.deny` entry.
    Denied {
        /// The deny entry it matched.
        pattern: String,
    },
    /// The path is, or passes through, a symbolic link in the worktree.
    Symlink,
    /// The patch makes the path a symbolic link (mode 120000).
    SymlinkMode,
    /// The patch makes the path a submodule (mode 160000).
    Submodule,
    /// The patch is binary.
    Binary,
    /// The path resolves outside the repository.
    OutsideRepo,
    /// The patch changes more lines than allowed.
    TooLarge {
        /// Changed (added plus removed) lines.
        lines: usize,
        /// `auto_fix.max_diff_lines`.
        max: usize,
    },
}

impl fmt::Display for ViolationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EmptyPath => f.write_str("empty path"),
            Self::InvalidCharacter => {
                f.write_str("the path has a backslash or a control character")
            }
            Self::Absolute => f.write_str("absolute path"),
            Self::ParentDir => f.write_str("the path has a `..` component"),
            Self::GitDir => f.write_str("the path goes through `.git`"),
            Self::NotAllowed => f.write_str("matches no `auto_fix.scope.allow` entry"),
            Self::Denied { pattern } => {
                write!(f, "matches the `auto_fix.scope.deny` entry `{pattern}`")
            }
            Self::Symlink => f.write_str("is or passes through a symbolic link"),
            Self::SymlinkMode => f.write_str("the patch makes it a symbolic link (mode 120000)"),
            Self::Submodule => f.write_str("the patch makes it a submodule (mode 160000)"),
            Self::Binary => f.write_str("binary patch"),
            Self::OutsideRepo => f.write_str("resolves outside the repository"),
            Self::TooLarge { lines, max } => write!(
                f,
                "the diff changes {lines} lines, more than `auto_fix.max_diff_lines` ({max})"
            ),
        }
    }
}

/// One rejected path (or the whole patch, with an empty `path`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The path as written in the diff; empty for whole-patch violations.
    pub path: String,
    /// Why.
    pub kind: ViolationKind,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.kind)
        } else {
            write!(f, "`{}`: {}", self.path, self.kind)
        }
    }
}

/// A rejected patch: every violation found.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the diff is out of scope: {}", list(.violations))]
pub struct ScopeRejection {
    /// What was wrong, in diff order.
    pub violations: Vec<Violation>,
}

fn list(v: &[Violation]) -> String {
    v.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Checks paths and patches against `auto_fix.scope` and
/// `auto_fix.max_diff_lines`.
#[derive(Clone, Debug)]
pub struct ScopeGuard {
    allow: Vec<Entry>,
    deny: Vec<Entry>,
    max_diff_lines: usize,
}

#[derive(Clone, Debug)]
struct Entry {
    text: String,
    matcher: Matcher,
}

#[derive(Clone, Debug)]
enum Matcher {
    /// A path or directory prefix, without trailing `/`.
    Prefix(String),
    Glob(GlobMatcher),
}

impl ScopeGuard {
    /// Builds a guard; a glob that does not compile is an [`Error::Config`].
    pub fn new(scope: &ScopeConfig, max_diff_lines: usize) -> Result<Self> {
        let build = |list: &[String], key: &str, case_insensitive: bool| -> Result<Vec<Entry>> {
            list.iter()
                .enumerate()
                .map(|(i, text)| {
                    Ok(Entry {
                        text: text.clone(),
                        matcher: matcher(text, case_insensitive).map_err(|e| {
                            Error::config(
                                "auto_fix",
                                format!("`auto_fix.scope.{key}[{i}]` `{text}`: {e}"),
                            )
                        })?,
                    })
                })
                .collect()
        };
        Ok(Self {
            allow: build(&scope.allow, "allow", false)?,
            deny: build(&scope.deny, "deny", true)?,
            max_diff_lines,
        })
    }

    /// The guard of an `auto_fix:` section.
    pub fn from_config(cfg: &AutoFixConfig) -> Result<Self> {
        Self::new(&cfg.scope, cfg.max_diff_lines)
    }

    /// Checks one path lexically and against the scope lists; returns the
    /// normalised relative path (`./a//b` → `a/b`).
    pub fn check_path(&self, path: &str) -> Result<String, ViolationKind> {
        let norm = normalize(path)?;
        if let Some(e) = self.deny.iter().find(|e| e.matches(&norm, true)) {
            return Err(ViolationKind::Denied {
                pattern: e.text.clone(),
            });
        }
        if !self.allow.iter().any(|e| e.matches(&norm, false)) {
            return Err(ViolationKind::NotAllowed);
        }
        Ok(norm)
    }

    /// Whether a path is in scope (lexically).
    pub fn allows(&self, path: &str) -> bool {
        self.check_path(path).is_ok()
    }

    /// Pure checks of a patch: paths, modes, binary content and size.
    pub fn check_patch(&self, patch: &Patch) -> Vec<Violation> {
        let mut out = Vec::new();
        for file in &patch.files {
            for path in file.paths() {
                if let Err(kind) = self.check_path(path) {
                    out.push(Violation {
                        path: path.to_string(),
                        kind,
                    });
                }
            }
            let path = file.path().to_string();
            if file.binary {
                out.push(Violation {
                    path: path.clone(),
                    kind: ViolationKind::Binary,
                });
            }
            for mode in [file.old_mode, file.new_mode].into_iter().flatten() {
                let kind = match mode & 0o170_000 {
                    m if m == MODE_SYMLINK => ViolationKind::SymlinkMode,
                    m if m == MODE_GITLINK => ViolationKind::Submodule,
                    _ => continue,
                };
                if !out.iter().any(|v| v.path == path && v.kind == kind) {
                    out.push(Violation {
                        path: path.clone(),
                        kind,
                    });
                }
            }
        }
        let lines = patch.changed_lines();
        if lines > self.max_diff_lines {
            out.push(Violation {
                path: String::new(),
                kind: ViolationKind::TooLarge {
                    lines,
                    max: self.max_diff_lines,
                },
            });
        }
        out
    }

    /// Checks a patch's paths against the worktree at `root`: no path may
    /// be or pass through a symlink, and every path must resolve inside
    /// `root`. Paths that fail the lexical checks are skipped here
    /// ([`check_patch`](Self::check_patch) reports them). Reads metadata
    /// only; writes nothing.
    pub fn check_on_disk(&self, patch: &Patch, root: &Path) -> Vec<Violation> {
        let mut out = Vec::new();
        for file in &patch.files {
            for path in file.paths() {
                let Ok(norm) = normalize(path) else { continue };
                if let Err(kind) = check_location(root, &norm) {
                    out.push(Violation {
                        path: path.to_string(),
                        kind,
                    });
                }
            }
        }
        out
    }

    /// Both checks; `Err` lists every violation.
    pub fn check(&self, patch: &Patch, root: &Path) -> Result<(), ScopeRejection> {
        let mut violations = self.check_patch(patch);
        for v in self.check_on_disk(patch, root) {
            if !violations.contains(&v) {
                violations.push(v);
            }
        }
        if violations.is_empty() {
            Ok(())
        } else {
            Err(ScopeRejection { violations })
        }
    }
}

impl Entry {
    fn matches(&self, path: &str, case_insensitive: bool) -> bool {
        match &self.matcher {
            Matcher::Glob(g) => g.is_match(path),
            Matcher::Prefix(p) => {
                let (path, p) = if case_insensitive {
                    (path.to_ascii_lowercase(), p.to_ascii_lowercase())
                } else {
                    (path.to_string(), p.clone())
                };
                p.is_empty()
                    || path == p
                    || path.strip_prefix(&p).is_some_and(|r| r.starts_with('/'))
            }
        }
    }
}

fn matcher(text: &str, case_insensitive: bool) -> Result<Matcher, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty entry".into());
    }
    if t.contains(['*', '?', '[', '{']) {
        let glob = GlobBuilder::new(t.trim_start_matches("./"))
            .literal_separator(true)
            .case_insensitive(case_insensitive)
            .backslash_escape(true)
            .build()
            .map_err(|e| e.kind().to_string())?;
        Ok(Matcher::Glob(glob.compile_matcher()))
    } else {
        let norm = normalize(t.trim_end_matches('/')).map_err(|k| k.to_string())?;
        Ok(Matcher::Prefix(norm))
    }
}

/// Lexical normalisation of a diff path: rejects absolute paths, `..`,
/// `.git`, backslashes and control characters; drops `.` and empty
/// components.
pub fn normalize(path: &str) -> Result<String, ViolationKind> {
    if path.is_empty() {
        return Err(ViolationKind::EmptyPath);
    }
    if path.starts_with('/') || path.starts_with('\\') || has_drive_prefix(path) {
        return Err(ViolationKind::Absolute);
    }
    if path.chars().any(|c| c == '\\' || c.is_control()) {
        return Err(ViolationKind::InvalidCharacter);
    }
    let mut parts = Vec::new();
    for comp in path.split('/') {
        match comp {
            "" | "." => {}
            ".." => return Err(ViolationKind::ParentDir),
            c if c.eq_ignore_ascii_case(".git") => return Err(ViolationKind::GitDir),
            c => parts.push(c),
        }
    }
    if parts.is_empty() {
        return Err(ViolationKind::EmptyPath);
    }
    Ok(parts.join("/"))
}

fn has_drive_prefix(path: &str) -> bool {
    let b = path.as_bytes();
    b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':'
}

/// Checks that `rel` (already normalised) neither is nor passes through a
/// symlink under `root`, and that its deepest existing ancestor resolves
/// inside `root`.
pub(crate) fn check_location(root: &Path, rel: &str) -> Result<(), ViolationKind> {
    let root_real = root
        .canonicalize()
        .map_err(|_| ViolationKind::OutsideRepo)?;
    let mut current = root.to_path_buf();
    let mut deepest_existing = root.to_path_buf();
    for comp in Path::new(rel).components() {
        let Component::Normal(name) = comp else {
            return Err(ViolationKind::OutsideRepo);
        };
        current.push(name);
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => return Err(ViolationKind::Symlink),
            Ok(_) => deepest_existing = current.clone(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => break,
            Err(_) => return Err(ViolationKind::OutsideRepo),
        }
    }
    let real: PathBuf = deepest_existing
        .canonicalize()
        .map_err(|_| ViolationKind::OutsideRepo)?;
    if real.starts_with(&root_real) {
        Ok(())
    } else {
        Err(ViolationKind::OutsideRepo)
    }
}

#[cfg(test)]
mod tests;
