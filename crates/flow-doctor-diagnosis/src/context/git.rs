//! Git context via git2 (feature `git`): branch, HEAD, recent commits
//! touching given files, and files changed since a known-good commit.
//! Local repositories only; commit messages and paths pass through the
//! scrubber; author names and emails are never read.

use std::path::Path;

use chrono::DateTime;
use flow_doctor_core::Scrubber;
use git2::{DiffOptions, Oid, Repository, Sort, Tree};

use super::{ChangedSince, CommitInfo, GitContext, MAX_CHANGED_FILES};

/// Most commits walked back from HEAD looking for ones touching the files.
pub const MAX_COMMITS_SCANNED: usize = 500;
/// Most recent commits reported.
pub const MAX_RECENT_COMMITS: usize = 8;

/// Collects git context for `root` (canonical) and `files` (relative to
/// `root`). `None` when `root` is not inside a git work tree.
pub fn collect(
    root: &Path,
    files: &[String],
    last_good_commit: Option<&str>,
    scrubber: &Scrubber,
) -> Option<GitContext> {
    let repo = Repository::discover(root).ok()?;
    let workdir = repo.workdir()?.canonicalize().ok()?;
    // Paths relative to the work tree (root may be a sub-directory).
    let prefix = root.strip_prefix(&workdir).ok()?;
    let to_repo = |f: &str| {
        let joined = prefix.join(f);
        joined
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/")
    };
    let repo_files: Vec<String> = files.iter().map(|f| to_repo(f)).collect();

    let mut out = GitContext::default();
    let head = repo.head().ok();
    if let Some(h) = &head
        && h.is_branch()
    {
        out.branch = Some(
            scrubber
                .scrub(&String::from_utf8_lossy(h.shorthand_bytes()))
                .into_owned(),
        );
    }
    let head_commit = head.and_then(|h| h.peel_to_commit().ok());
    let Some(head_commit) = head_commit else {
        return Some(out);
    };
    out.head = Some(commit_info(&head_commit, Vec::new(), scrubber));

    if !repo_files.is_empty() {
        out.recent_commits = recent_commits(&repo, &repo_files, scrubber).unwrap_or_default();
    }
    if let Some(good) = last_good_commit
        && let Ok(obj) = repo.revparse_single(good.trim())
        && let Ok(good_commit) = obj.peel_to_commit()
        && let (Ok(old), Ok(new)) = (good_commit.tree(), head_commit.tree())
        && let Some(changed) = changed_files(&repo, &old, &new)
    {
        let total = changed.len();
        out.changed_since_last_good = Some(ChangedSince {
            commit: short(good_commit.id()),
            files: changed
                .into_iter()
                .take(MAX_CHANGED_FILES)
                .map(|f| scrubber.scrub(&f).into_owned())
                .collect(),
            total,
        });
    }
    Some(out)
}

fn recent_commits(
    repo: &Repository,
    files: &[String],
    scrubber: &Scrubber,
) -> Result<Vec<CommitInfo>, git2::Error> {
    let mut walk = repo.revwalk()?;
    walk.push_head()?;
    walk.set_sorting(Sort::TIME)?;
    let mut out = Vec::new();
    for oid in walk.take(MAX_COMMITS_SCANNED) {
        let commit = repo.find_commit(oid?)?;
        let tree = commit.tree()?;
        let parent_tree = match commit.parents().next() {
            Some(p) => Some(p.tree()?),
            None => None,
        };
        let mut opts = DiffOptions::new();
        for f in files {
            opts.pathspec(f);
        }
        opts.disable_pathspec_match(true);
        let diff = repo.diff_tree_to_tree(parent_tree.as_ref(), Some(&tree), Some(&mut opts))?;
        let touched: Vec<String> = diff
            .deltas()
            .filter_map(|d| d.new_file().path().or_else(|| d.old_file().path()))
            .map(|p| scrubber.scrub(&p.to_string_lossy()).into_owned())
            .collect();
        if !touched.is_empty() {
            out.push(commit_info(&commit, touched, scrubber));
            if out.len() >= MAX_RECENT_COMMITS {
                break;
            }
        }
    }
    Ok(out)
}

fn changed_files(repo: &Repository, old: &Tree<'_>, new: &Tree<'_>) -> Option<Vec<String>> {
    let diff = repo.diff_tree_to_tree(Some(old), Some(new), None).ok()?;
    Some(
        diff.deltas()
            .filter_map(|d| d.new_file().path().or_else(|| d.old_file().path()))
            .map(|p| p.to_string_lossy().into_owned())
            .collect(),
    )
}

fn commit_info(c: &git2::Commit<'_>, files: Vec<String>, scrubber: &Scrubber) -> CommitInfo {
    CommitInfo {
        id: short(c.id()),
        date: DateTime::from_timestamp(c.time().seconds(), 0)
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
        summary: scrubber
            .scrub(c.summary().ok().flatten().unwrap_or("").trim())
            .into_owned(),
        files,
    }
}

fn short(id: Oid) -> String {
    let s = id.to_string();
    s.get(..10).unwrap_or(&s).to_string()
}
