//! The fix's git side, with git2: a fresh worktree on a new branch from the
//! base branch, the fix commit, and the push.
//!
//! The worktree lives in a new temporary directory (under the system
//! temporary directory, or a directory the caller names) and is removed,
//! with its `.git/worktrees/<name>` entry, when [`FixWorktree::remove`]
//! runs or the value is dropped. The checkout the command runs in is never
//! modified: only its object database and refs gain the new branch.
//!
//! Pushes go to a named remote (`origin`). Local and `file://` remotes need
//! no credentials; `https://` remotes authenticate with
//! [`PushCredentials`] and need this crate's `https` feature (git2's https
//! transport). A rejected ref update is an error naming the reason.
//!
//! ```no_run
//! # fn demo() -> Result<(), flow_doctor_fix::worktree::GitError> {
//! use flow_doctor_fix::worktree::{FixWorktree, push_branch};
//! let wt = FixWorktree::create(".".as_ref(), "main", "flow-doctor/fix-7-3fa2c1d0", None)?;
//! // ... write files under wt.path(), run the tests ...
//! wt.commit("Fix: KeyError in load", &["src/load.py".into()], &[])?;
//! push_branch(".".as_ref(), "origin", wt.branch(), None)?;
//! wt.remove(true)?;
//! # Ok(()) }
//! ```

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use git2::{
    BranchType, Cred, CredentialType, PushOptions, RemoteCallbacks, Repository, Signature,
    WorktreeAddOptions, WorktreePruneOptions,
};

use crate::forge::PushCredentials;

/// Author and committer of fix commits.
pub const AUTHOR_NAME: &str = "flow-doctor";
/// Author e-mail of fix commits.
pub const AUTHOR_EMAIL: &str = "flow-doctor@users.noreply.github.com";

/// A git operation that failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{action}: {message}")]
pub struct GitError {
    /// What was being done (`"resolve the base branch"`).
    pub action: String,
    /// What went wrong.
    pub message: String,
}

fn git_err(action: impl Into<String>) -> impl FnOnce(git2::Error) -> GitError {
    let action = action.into();
    move |e| GitError {
        action,
        message: e.message().to_string(),
    }
}

fn io_git_err(action: impl Into<String>) -> impl FnOnce(std::io::Error) -> GitError {
    let action = action.into();
    move |e| GitError {
        action,
        message: e.to_string(),
    }
}

/// A fresh worktree checked out on a new branch.
#[derive(Debug)]
pub struct FixWorktree {
    repo_path: PathBuf,
    name: String,
    branch: String,
    base_commit: String,
    path: PathBuf,
    dir: Option<tempfile::TempDir>,
}

impl FixWorktree {
    /// Creates branch `branch` at the tip of `base` (a local branch, else
    /// `origin/<base>`, else any revision) in the repository at
    /// `repo_path`, and checks it out in a new worktree under `parent`
    /// (default: the system temporary directory). An existing branch of
    /// that name is reset to the base.
    pub fn create(
        repo_path: &Path,
        base: &str,
        branch: &str,
        parent: Option<&Path>,
    ) -> Result<Self, GitError> {
        let repo = Repository::discover(repo_path).map_err(git_err("open the repository"))?;
        let repo_path = repo.workdir().unwrap_or_else(|| repo.path()).to_path_buf();
        let commit = resolve_base(&repo, base)?;
        let base_commit = commit.id().to_string();
        let branch_ref = repo
            .branch(branch, &commit, true)
            .map_err(git_err(format!("create branch `{branch}`")))?;
        let stamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let name = format!("flow-doctor-fix-{}-{stamp:x}", std::process::id());
        let mut builder = tempfile::Builder::new();
        builder.prefix("flow-doctor-fix-");
        let dir = match parent {
            Some(p) => builder.tempdir_in(p),
            None => builder.tempdir(),
        }
        .map_err(io_git_err("create the worktree directory"))?;
        let path = dir.path().join("worktree");
        let mut opts = WorktreeAddOptions::new();
        let reference = branch_ref.into_reference();
        opts.reference(Some(&reference));
        repo.worktree(&name, &path, Some(&opts))
            .map_err(git_err("add the worktree"))?;
        Ok(Self {
            repo_path,
            name,
            branch: branch.to_string(),
            base_commit,
            path,
            dir: Some(dir),
        })
    }

    /// The worktree's root directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The new branch.
    pub fn branch(&self) -> &str {
        &self.branch
    }

    /// The base commit id (hex).
    pub fn base_commit(&self) -> &str {
        &self.base_commit
    }

    /// The main repository's working directory.
    pub fn repo_path(&self) -> &Path {
        &self.repo_path
    }

    /// Commits the given paths as they are in the worktree (`changed` are
    /// added, `removed` are deleted from the index) on the branch, as
    /// [`AUTHOR_NAME`] `<`[`AUTHOR_EMAIL`]`>`. Returns the commit id.
    pub fn commit(
        &self,
        message: &str,
        changed: &[String],
        removed: &[String],
    ) -> Result<String, GitError> {
        let repo = Repository::open(&self.path).map_err(git_err("open the worktree"))?;
        let mut index = repo.index().map_err(git_err("read the index"))?;
        for p in changed {
            index
                .add_path(Path::new(p))
                .map_err(git_err(format!("stage `{p}`")))?;
        }
        for p in removed {
            index
                .remove_path(Path::new(p))
                .map_err(git_err(format!("unstage `{p}`")))?;
        }
        index.write().map_err(git_err("write the index"))?;
        let tree_id = index.write_tree().map_err(git_err("write the tree"))?;
        let tree = repo.find_tree(tree_id).map_err(git_err("read the tree"))?;
        let parent = repo
            .head()
            .and_then(|h| h.peel_to_commit())
            .map_err(git_err("read HEAD"))?;
        let sig = Signature::now(AUTHOR_NAME, AUTHOR_EMAIL).map_err(git_err("make a signature"))?;
        let id = repo
            .commit(Some("HEAD"), &sig, &sig, message, &tree, &[&parent])
            .map_err(git_err("commit"))?;
        Ok(id.to_string())
    }

    /// Removes the worktree directory and its `.git/worktrees` entry; also
    /// deletes the branch unless `keep_branch`.
    pub fn remove(mut self, keep_branch: bool) -> Result<(), GitError> {
        self.cleanup(keep_branch)
    }

    fn cleanup(&mut self, keep_branch: bool) -> Result<(), GitError> {
        let Some(dir) = self.dir.take() else {
            return Ok(());
        };
        let removed = dir
            .close()
            .map_err(io_git_err("remove the worktree directory"));
        let repo = Repository::open(&self.repo_path).map_err(git_err("open the repository"))?;
        if let Ok(wt) = repo.find_worktree(&self.name) {
            let mut opts = WorktreePruneOptions::new();
            opts.valid(true).working_tree(true);
            wt.prune(Some(&mut opts))
                .map_err(git_err("prune the worktree"))?;
        }
        if !keep_branch && let Ok(mut b) = repo.find_branch(&self.branch, BranchType::Local) {
            b.delete().map_err(git_err("delete the branch"))?;
        }
        removed
    }
}

impl Drop for FixWorktree {
    fn drop(&mut self) {
        if self.dir.is_some()
            && let Err(e) = self.cleanup(true)
        {
            tracing::warn!(message = "Could not remove the fix worktree.", error = %e);
        }
    }
}

fn resolve_base<'r>(repo: &'r Repository, base: &str) -> Result<git2::Commit<'r>, GitError> {
    for name in [
        format!("refs/heads/{base}"),
        format!("refs/remotes/origin/{base}"),
    ] {
        if let Ok(r) = repo.find_reference(&name) {
            return r
                .peel_to_commit()
                .map_err(git_err(format!("resolve `{name}`")));
        }
    }
    repo.revparse_single(base)
        .and_then(|o| o.peel_to_commit())
        .map_err(|e| GitError {
            action: format!("resolve the base branch `{base}`"),
            message: format!(
                "{} (fetch it first, e.g. `git fetch origin {base}`)",
                e.message()
            ),
        })
}

/// Pushes `refs/heads/<branch>` of the repository at `repo_path` to the
/// same name on `remote` (no force). Blocking; call it from a blocking
/// thread in async code.
pub fn push_branch(
    repo_path: &Path,
    remote: &str,
    branch: &str,
    credentials: Option<&PushCredentials>,
) -> Result<(), GitError> {
    let repo = Repository::discover(repo_path).map_err(git_err("open the repository"))?;
    let mut remote_h = repo
        .find_remote(remote)
        .map_err(git_err(format!("find remote `{remote}`")))?;
    let rejected: RefCell<Vec<String>> = RefCell::new(Vec::new());
    let mut asked = 0u32;
    let mut callbacks = RemoteCallbacks::new();
    callbacks.credentials(|_url, _user, allowed| {
        asked += 1;
        match credentials {
            Some(c) if asked == 1 && allowed.contains(CredentialType::USER_PASS_PLAINTEXT) => {
                Cred::userpass_plaintext(&c.username, c.password.expose())
            }
            Some(_) => Err(git2::Error::from_str("the remote rejected the credentials")),
            None => Err(git2::Error::from_str(
                "the remote asks for credentials and none were given",
            )),
        }
    });
    callbacks.push_update_reference(|refname, status| {
        if let Some(msg) = status {
            rejected.borrow_mut().push(format!("{refname}: {msg}"));
        }
        Ok(())
    });
    let mut opts = PushOptions::new();
    opts.remote_callbacks(callbacks);
    let spec = format!("refs/heads/{branch}:refs/heads/{branch}");
    remote_h
        .push(&[spec.as_str()], Some(&mut opts))
        .map_err(git_err(format!("push `{branch}` to `{remote}`")))?;
    drop(opts);
    let rejected = rejected.into_inner();
    if rejected.is_empty() {
        Ok(())
    } else {
        Err(GitError {
            action: format!("push `{branch}` to `{remote}`"),
            message: format!("rejected: {}", rejected.join("; ")),
        })
    }
}

#[cfg(test)]
mod tests;
