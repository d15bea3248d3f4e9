//! Tests of the worktree, commit and push against real repositories.

use git2::Repository;

use super::*;

/// A repository with one commit on `main` and a bare `origin`.
fn repo_with_origin() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("work");
    let bare = tmp.path().join("origin.git");
    Repository::init_bare(&bare).unwrap();
    let repo = Repository::init(&work).unwrap();
    std::fs::write(work.join("calc.py"), "def add(a, b):\n    return a - b\n").unwrap();
    let mut index = repo.index().unwrap();
    index.add_path(Path::new("calc.py")).unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let sig = Signature::now("t", "t@example.com").unwrap();
    let c = repo.commit(None, &sig, &sig, "init", &tree, &[]).unwrap();
    repo.branch("main", &repo.find_commit(c).unwrap(), true)
        .unwrap();
    repo.set_head("refs/heads/main").unwrap();
    repo.remote("origin", bare.to_str().unwrap()).unwrap();
    (tmp, work, bare)
}

#[test]
fn worktree_commit_push_and_cleanup() {
    let (_tmp, work, bare) = repo_with_origin();
    let wt = FixWorktree::create(&work, "main", "flow-doctor/fix-7-abc12345", None).unwrap();
    let wt_path = wt.path().to_path_buf();
    assert!(wt_path.join("calc.py").is_file());
    assert_ne!(wt_path, work);
    std::fs::write(
        wt_path.join("calc.py"),
        "def add(a, b):\n    return a + b\n",
    )
    .unwrap();
    let id = wt.commit("Fix: add", &["calc.py".into()], &[]).unwrap();

    // The main checkout is untouched.
    assert_eq!(
        std::fs::read_to_string(work.join("calc.py")).unwrap(),
        "def add(a, b):\n    return a - b\n"
    );
    push_branch(&work, "origin", wt.branch(), None).unwrap();
    let remote = Repository::open_bare(&bare).unwrap();
    let pushed = remote
        .find_reference("refs/heads/flow-doctor/fix-7-abc12345")
        .unwrap()
        .peel_to_commit()
        .unwrap();
    assert_eq!(pushed.id().to_string(), id);
    assert_eq!(pushed.author().email().ok(), Some(AUTHOR_EMAIL));
    assert_eq!(pushed.parent_id(0).unwrap().to_string(), wt.base_commit());

    wt.remove(true).unwrap();
    assert!(!wt_path.exists());
    let repo = Repository::open(&work).unwrap();
    assert_eq!(repo.worktrees().unwrap().len(), 0);
    assert!(
        repo.find_branch("flow-doctor/fix-7-abc12345", BranchType::Local)
            .is_ok()
    );
}

#[test]
fn removing_without_keep_deletes_the_branch_and_drop_cleans_up() {
    let (_tmp, work, _bare) = repo_with_origin();
    let wt = FixWorktree::create(&work, "main", "flow-doctor/fix-1-x", None).unwrap();
    wt.remove(false).unwrap();
    let repo = Repository::open(&work).unwrap();
    assert!(
        repo.find_branch("flow-doctor/fix-1-x", BranchType::Local)
            .is_err()
    );

    let path = {
        let wt = FixWorktree::create(&work, "main", "flow-doctor/fix-2-x", None).unwrap();
        wt.path().to_path_buf()
    };
    assert!(!path.exists());
    assert_eq!(repo.worktrees().unwrap().len(), 0);
}

#[test]
fn deletions_are_committed() {
    let (_tmp, work, _bare) = repo_with_origin();
    let wt = FixWorktree::create(&work, "main", "flow-doctor/fix-3-x", None).unwrap();
    std::fs::remove_file(wt.path().join("calc.py")).unwrap();
    std::fs::write(wt.path().join("calc2.py"), "x = 1\n").unwrap();
    let id = wt
        .commit("move", &["calc2.py".into()], &["calc.py".into()])
        .unwrap();
    let repo = Repository::open(&work).unwrap();
    let tree = repo
        .find_commit(git2::Oid::from_str(&id).unwrap())
        .unwrap()
        .tree()
        .unwrap();
    assert!(tree.get_name("calc.py").is_none());
    assert!(tree.get_name("calc2.py").is_some());
}

#[test]
fn a_missing_base_names_the_fix() {
    let (_tmp, work, _bare) = repo_with_origin();
    let err = FixWorktree::create(&work, "develop", "b", None).unwrap_err();
    assert!(err.action.contains("`develop`"), "{err}");
    assert!(err.message.contains("git fetch origin develop"), "{err}");
}

#[test]
fn rejected_pushes_are_errors() {
    let (_tmp, work, bare) = repo_with_origin();
    // The remote already has a different history on the branch.
    let wt = FixWorktree::create(&work, "main", "flow-doctor/fix-4-x", None).unwrap();
    std::fs::write(wt.path().join("a.txt"), "1\n").unwrap();
    wt.commit("one", &["a.txt".into()], &[]).unwrap();
    push_branch(&work, "origin", wt.branch(), None).unwrap();
    wt.remove(false).unwrap();
    let wt = FixWorktree::create(&work, "main", "flow-doctor/fix-4-x", None).unwrap();
    std::fs::write(wt.path().join("b.txt"), "2\n").unwrap();
    wt.commit("two", &["b.txt".into()], &[]).unwrap();
    let err = push_branch(&work, "origin", wt.branch(), None).unwrap_err();
    assert!(err.action.contains("push"), "{err}");
    let remote = Repository::open_bare(&bare).unwrap();
    let tip = remote
        .find_reference("refs/heads/flow-doctor/fix-4-x")
        .unwrap()
        .peel_to_commit()
        .unwrap();
    assert_eq!(tip.message().ok(), Some("one"));
    assert!(push_branch(&work, "upstream", "main", None).is_err());
}
