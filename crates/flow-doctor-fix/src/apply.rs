//! Applying a [`Patch`] to a directory, in two phases: every file's new
//! content is computed in memory first, and only when every hunk of every
//! file applies is anything written. A hunk that does not apply fails the
//! whole patch with the hunk shown.
//!
//! A hunk is placed where its old lines (context and removed) occur in the
//! file, searching outward from the line its header names (shifted by the
//! hunks before it), first exactly, then ignoring trailing whitespace
//! (models drop it). Files keep their line endings (`\n` or `\r\n`) and
//! their final newline unless a `\ No newline at end of file` marker says
//! otherwise.
//!
//! Callers run the [scope guard](crate::scope) first; this module also
//! refuses to read or write through a symlink, as a second line of defence.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::diff::{ChangeKind, FilePatch, Hunk, Patch};
use crate::scope;

/// One file's change as applied: content before and after.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileChange {
    /// Path after the change (the old path for a deletion), relative to the root.
    pub path: String,
    /// Path before the change when it differs (renames).
    pub old_path: Option<String>,
    /// Content before; `None` for a created file.
    pub before: Option<String>,
    /// Content after; `None` for a deleted file.
    pub after: Option<String>,
    /// Mode to set, when the patch gave one (`0o100755` / `0o100644`).
    pub mode: Option<u32>,
}

/// Why a patch could not be applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApplyError {
    /// A hunk's old lines were not found in the file.
    #[error("hunk {index} of `{path}` does not apply: {reason}\n{hunk}")]
    Hunk {
        /// The file.
        path: String,
        /// 1-based hunk number within the file.
        index: usize,
        /// What did not match.
        reason: String,
        /// The hunk as written in the diff.
        hunk: String,
    },
    /// The file state does not fit the change (creating an existing file,
    /// changing a missing one, a non-UTF-8 file, a symlink).
    #[error("`{path}`: {reason}")]
    File {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// Reading or writing failed.
    #[error("`{path}`: {message}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        message: String,
    },
}

/// Computes the changes of `patch` against the files under `root` without
/// writing anything.
pub fn plan(root: &Path, patch: &Patch) -> Result<Vec<FileChange>, ApplyError> {
    patch.files.iter().map(|f| plan_file(root, f)).collect()
}

/// Computes and then writes the changes of `patch` under `root`. Nothing is
/// written unless every file's change could be computed.
pub fn apply(root: &Path, patch: &Patch) -> Result<Vec<FileChange>, ApplyError> {
    let changes = plan(root, patch)?;
    write(root, &changes)?;
    Ok(changes)
}

/// Applies hunks to text.
pub fn apply_hunks(path: &str, original: &str, hunks: &[Hunk]) -> Result<String, ApplyError> {
    if hunks.is_empty() {
        return Ok(original.to_string());
    }
    let eol = if original.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    let mut ends_with_newline = original.is_empty() || original.ends_with('\n');
    let mut lines: Vec<String> = split_lines(original);
    // Offset between header line numbers and current positions.
    let mut delta: isize = 0;
    // Hunks apply in order and never overlap.
    let mut floor = 0usize;
    for (i, hunk) in hunks.iter().enumerate() {
        let old: Vec<&str> = hunk.old_lines().collect();
        let new: Vec<String> = hunk.new_lines().map(str::to_string).collect();
        let wanted = if old.is_empty() {
            // Pure insertion after line `old_start` (0 = top of file).
            hunk.old_start as isize + delta
        } else {
            hunk.old_start as isize - 1 + delta
        };
        let wanted = wanted.clamp(floor as isize, lines.len() as isize) as usize;
        let at = find(&lines, &old, wanted, floor).ok_or_else(|| ApplyError::Hunk {
            path: path.to_string(),
            index: i + 1,
            reason: if old.is_empty() {
                "nowhere to insert".into()
            } else {
                format!(
                    "its {} context/removed line(s) were not found at or after line {}",
                    old.len(),
                    floor + 1
                )
            },
            hunk: hunk.to_string(),
        })?;
        let end = at + old.len();
        if end == lines.len() {
            if hunk.new_missing_newline {
                ends_with_newline = false;
            } else if hunk.old_missing_newline {
                ends_with_newline = true;
            }
        }
        let added = new.len();
        lines.splice(at..end, new);
        delta += added as isize - old.len() as isize;
        floor = at + added;
    }
    let mut out = lines.join(eol);
    if ends_with_newline && !lines.is_empty() {
        out.push_str(eol);
    }
    Ok(out)
}

fn split_lines(text: &str) -> Vec<String> {
    if text.is_empty() {
        return Vec::new();
    }
    let body = text.strip_suffix('\n').unwrap_or(text);
    body.split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l).to_string())
        .collect()
}

/// The position of `needle` in `lines` nearest to `wanted`, not before
/// `floor`: exact matches first, then ignoring trailing whitespace.
fn find(lines: &[String], needle: &[&str], wanted: usize, floor: usize) -> Option<usize> {
    if needle.is_empty() {
        return Some(wanted.min(lines.len()));
    }
    if needle.len() > lines.len() {
        return None;
    }
    let last = lines.len() - needle.len();
    if floor > last {
        return None;
    }
    let exact = |at: usize| {
        lines[at..at + needle.len()]
            .iter()
            .zip(needle)
            .all(|(a, b)| a == b)
    };
    let loose = |at: usize| {
        lines[at..at + needle.len()]
            .iter()
            .zip(needle)
            .all(|(a, b)| a.trim_end() == b.trim_end())
    };
    let wanted = wanted.clamp(floor, last);
    for pred in [&exact as &dyn Fn(usize) -> bool, &loose] {
        for d in 0..=(last - floor) {
            if wanted + d <= last && pred(wanted + d) {
                return Some(wanted + d);
            }
            if d > 0 && wanted >= floor + d && pred(wanted - d) {
                return Some(wanted - d);
            }
        }
    }
    None
}

fn plan_file(root: &Path, f: &FilePatch) -> Result<FileChange, ApplyError> {
    let path = f.path().to_string();
    let file_err = |p: &str, reason: &str| ApplyError::File {
        path: p.to_string(),
        reason: reason.to_string(),
    };
    let kind = f.kind();
    let before = match (&f.old_path, kind) {
        (Some(old), _) => {
            let text = read_text(root, old)?
                .ok_or_else(|| file_err(old, "the diff changes it but it does not exist"))?;
            Some(text)
        }
        (None, _) => None,
    };
    if matches!(kind, ChangeKind::Add | ChangeKind::Rename)
        && let Some(new) = &f.new_path
        && read_text(root, new)?.is_some()
    {
        return Err(file_err(new, "the diff creates it but it already exists"));
    }
    let after = match kind {
        ChangeKind::Delete => {
            let left = apply_hunks(&path, before.as_deref().unwrap_or_default(), &f.hunks)?;
            if !f.hunks.is_empty() && !left.is_empty() {
                return Err(file_err(
                    &path,
                    "the diff deletes it but does not remove all of its lines",
                ));
            }
            None
        }
        _ => Some(apply_hunks(
            &path,
            before.as_deref().unwrap_or_default(),
            &f.hunks,
        )?),
    };
    Ok(FileChange {
        path: path.clone(),
        old_path: f.old_path.clone().filter(|o| *o != path),
        before,
        after,
        mode: f.new_mode,
    })
}

/// Reads a UTF-8 file under `root`; `None` when missing. Refuses symlinks.
fn read_text(root: &Path, rel: &str) -> Result<Option<String>, ApplyError> {
    let full = safe_path(root, rel)?;
    match std::fs::symlink_metadata(&full) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(rel, e)),
        Ok(m) if !m.is_file() => {
            return Err(ApplyError::File {
                path: rel.to_string(),
                reason: "not a regular file".into(),
            });
        }
        Ok(_) => {}
    }
    let bytes = std::fs::read(&full).map_err(|e| io_err(rel, e))?;
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| ApplyError::File {
            path: rel.to_string(),
            reason: "not UTF-8 text; binary files are never patched".into(),
        })
}

/// `root/rel` after re-checking `rel` lexically and on disk.
fn safe_path(root: &Path, rel: &str) -> Result<PathBuf, ApplyError> {
    let norm = scope::normalize(rel).map_err(|k| ApplyError::File {
        path: rel.to_string(),
        reason: k.to_string(),
    })?;
    scope::check_location(root, &norm).map_err(|k| ApplyError::File {
        path: rel.to_string(),
        reason: k.to_string(),
    })?;
    Ok(root.join(norm))
}

fn io_err(path: &str, e: io::Error) -> ApplyError {
    ApplyError::Io {
        path: path.to_string(),
        message: e.to_string(),
    }
}

/// Writes planned changes under `root`.
pub fn write(root: &Path, changes: &[FileChange]) -> Result<(), ApplyError> {
    for c in changes {
        match &c.after {
            Some(text) => {
                let full = safe_path(root, &c.path)?;
                if let Some(parent) = full.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| io_err(&c.path, e))?;
                }
                // The directories just created may not be links; check again.
                let full = safe_path(root, &c.path)?;
                std::fs::write(&full, text).map_err(|e| io_err(&c.path, e))?;
                if let Some(mode) = c.mode {
                    set_executable(&full, mode & 0o111 != 0).map_err(|e| io_err(&c.path, e))?;
                }
                if let Some(old) = &c.old_path {
                    let old_full = safe_path(root, old)?;
                    std::fs::remove_file(old_full).map_err(|e| io_err(old, e))?;
                }
            }
            None => {
                let full = safe_path(root, &c.path)?;
                std::fs::remove_file(full).map_err(|e| io_err(&c.path, e))?;
            }
        }
    }
    Ok(())
}

fn set_executable(path: &Path, executable: bool) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut perm = std::fs::metadata(path)?.permissions();
    let mode = perm.mode();
    perm.set_mode(if executable {
        mode | ((mode & 0o444) >> 2)
    } else {
        mode & !0o111
    });
    std::fs::set_permissions(path, perm)
}

impl fmt::Display for FileChange {
    /// A unified diff of the change (rendered with `similar`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let before = self.before.as_deref().unwrap_or_default();
        let after = self.after.as_deref().unwrap_or_default();
        let old_name = match (&self.before, &self.old_path) {
            (None, _) => "/dev/null".to_string(),
            (Some(_), Some(old)) => format!("a/{old}"),
            (Some(_), None) => format!("a/{}", self.path),
        };
        let new_name = match &self.after {
            None => "/dev/null".to_string(),
            Some(_) => format!("b/{}", self.path),
        };
        let diff = similar::TextDiff::from_lines(before, after);
        write!(
            f,
            "{}",
            diff.unified_diff()
                .context_radius(3)
                .header(&old_name, &new_name)
        )
    }
}

impl FileChange {
    /// Added and removed lines.
    pub fn stats(&self) -> (usize, usize) {
        let before = self.before.as_deref().unwrap_or_default();
        let after = self.after.as_deref().unwrap_or_default();
        let diff = similar::TextDiff::from_lines(before, after);
        let mut added = 0;
        let mut removed = 0;
        for op in diff.ops() {
            for change in diff.iter_changes(op) {
                match change.tag() {
                    similar::ChangeTag::Insert => added += 1,
                    similar::ChangeTag::Delete => removed += 1,
                    similar::ChangeTag::Equal => {}
                }
            }
        }
        (added, removed)
    }
}

#[cfg(test)]
mod tests;
