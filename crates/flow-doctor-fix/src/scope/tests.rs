//! Unit tests of the scope guard: one or more per rejection kind.

use std::path::Path;

use super::*;

fn scope(allow: &[&str], deny: &[&str]) -> ScopeConfig {
    let mut s = ScopeConfig::default();
    s.allow = allow.iter().map(|s| s.to_string()).collect();
    s.deny = deny.iter().map(|s| s.to_string()).collect();
    s
}

fn default_guard() -> ScopeGuard {
    ScopeGuard::new(&ScopeConfig::default(), 400).unwrap()
}

fn modify(path: &str) -> Patch {
    Patch::parse(&format!(
        "--- a/{path}\n+++ b/{path}\n@@ -1 +1 @@\n-a\n+b\n"
    ))
    .unwrap()
}

fn kinds(v: &[Violation]) -> Vec<ViolationKind> {
    v.iter().map(|v| v.kind.clone()).collect()
}

#[test]
fn in_scope_paths_pass_and_normalise() {
    let g = default_guard();
    assert_eq!(g.check_path("src/calc.py"), Ok("src/calc.py".into()));
    assert_eq!(g.check_path("./src//calc.py"), Ok("src/calc.py".into()));
    assert!(g.check_patch(&modify("src/calc.py")).is_empty());
}

#[test]
fn empty_and_invalid_characters() {
    let g = default_guard();
    assert_eq!(g.check_path(""), Err(ViolationKind::EmptyPath));
    assert_eq!(g.check_path("./"), Err(ViolationKind::EmptyPath));
    assert_eq!(
        g.check_path("src\\x.py"),
        Err(ViolationKind::InvalidCharacter)
    );
    assert_eq!(
        g.check_path("src/x\u{7}.py"),
        Err(ViolationKind::InvalidCharacter)
    );
}

#[test]
fn absolute_paths() {
    let g = default_guard();
    assert_eq!(g.check_path("/etc/passwd"), Err(ViolationKind::Absolute));
    assert_eq!(g.check_path("C:/Windows/x"), Err(ViolationKind::Absolute));
    assert_eq!(
        g.check_path("\\\\server\\share"),
        Err(ViolationKind::Absolute)
    );
    // `--- a//etc/passwd` strips `a/` and leaves an absolute path.
    let p = Patch::parse("--- a//etc/passwd\n+++ b//etc/passwd\n@@ -1 +1 @@\n-a\n+b\n").unwrap();
    assert_eq!(kinds(&g.check_patch(&p)), vec![ViolationKind::Absolute]);
}

#[test]
fn parent_components() {
    let g = default_guard();
    for p in ["../outside", "src/../../x", "a/b/..", ".."] {
        assert_eq!(g.check_path(p), Err(ViolationKind::ParentDir), "{p}");
    }
    // Both sides of a rename are checked.
    let p = Patch::parse("diff --git a/ok.py b/../up.py\nrename from ok.py\nrename to ../up.py\n")
        .unwrap();
    assert_eq!(
        g.check_patch(&p),
        vec![Violation {
            path: "../up.py".into(),
            kind: ViolationKind::ParentDir
        }]
    );
}

#[test]
fn git_directories_at_any_depth_and_case() {
    let g = ScopeGuard::new(&scope(&["**"], &[]), 400).unwrap();
    for p in [
        ".git/config",
        "sub/.git/hooks/pre-commit",
        ".GIT/HEAD",
        ".git",
    ] {
        assert_eq!(g.check_path(p), Err(ViolationKind::GitDir), "{p}");
    }
    assert!(g.check_path(".gitignore").is_ok());
    assert!(g.check_path("src/.github_notes").is_ok());
}

#[test]
fn allow_globs_and_directory_prefixes() {
    let g = ScopeGuard::new(&scope(&["src/**", "tests", "lib/*.py"], &[]), 400).unwrap();
    assert!(g.allows("src/a/b/c.py"));
    assert!(g.allows("tests/test_calc.py"));
    assert!(g.allows("tests"));
    assert!(g.allows("lib/x.py"));
    // `*` stops at `/`; a prefix needs a `/` boundary; allow is case-sensitive.
    assert_eq!(g.check_path("lib/sub/x.py"), Err(ViolationKind::NotAllowed));
    assert_eq!(
        g.check_path("testsuite/x.py"),
        Err(ViolationKind::NotAllowed)
    );
    assert_eq!(g.check_path("SRC/a.py"), Err(ViolationKind::NotAllowed));
    assert_eq!(g.check_path("setup.py"), Err(ViolationKind::NotAllowed));
    let g = ScopeGuard::new(&scope(&["src/"], &[]), 400).unwrap();
    assert!(g.allows("src/x.py"));
}

#[test]
fn deny_globs_and_prefixes_win_case_insensitively() {
    let g = default_guard();
    let denied = |p: &str| match g.check_path(p) {
        Err(ViolationKind::Denied { pattern }) => pattern,
        other => panic!("{p}: {other:?}"),
    };
    assert_eq!(denied(".github/workflows/ci.yml"), ".github/**");
    assert_eq!(denied(".env"), "**/.env");
    assert_eq!(denied("config/.ENV"), "**/.env");
    assert_eq!(denied("certs/server.pem"), "**/*.pem");
    assert_eq!(denied("deploy/id.key"), "**/*.key");
    assert_eq!(denied("flow-doctor.yaml"), "flow-doctor.yaml");
    assert!(g.allows("sub/flow-doctor.yaml"), "root-only entry");
    let g = ScopeGuard::new(&scope(&["**"], &["vendor", "secrets/"]), 400).unwrap();
    assert!(matches!(
        g.check_path("vendor/lib.py"),
        Err(ViolationKind::Denied { .. })
    ));
    assert!(matches!(
        g.check_path("Secrets/a"),
        Err(ViolationKind::Denied { .. })
    ));
    assert!(g.allows("vendored.py"));
}

#[test]
fn bad_globs_are_config_errors() {
    let err = ScopeGuard::new(&scope(&["src/[a"], &[]), 400).unwrap_err();
    assert!(err.to_string().contains("auto_fix.scope.allow[0]"), "{err}");
    let err = ScopeGuard::new(&scope(&["**"], &[""]), 400).unwrap_err();
    assert!(err.to_string().contains("auto_fix.scope.deny[0]"), "{err}");
}

#[test]
fn binary_patches() {
    let g = default_guard();
    let p = Patch::parse("diff --git a/img.png b/img.png\nGIT binary patch\nliteral 1\nAcmZ\n")
        .unwrap();
    assert_eq!(kinds(&g.check_patch(&p)), vec![ViolationKind::Binary]);
    let p = Patch::parse("Binary files a/x.bin and b/x.bin differ\n").unwrap();
    assert_eq!(kinds(&g.check_patch(&p)), vec![ViolationKind::Binary]);
}

#[test]
fn symlink_and_submodule_modes() {
    let g = default_guard();
    let p = Patch::parse(
        "diff --git a/link b/link\nnew file mode 120000\n--- /dev/null\n+++ b/link\n@@ -0,0 +1 @@\n+../../etc/passwd\n",
    )
    .unwrap();
    assert_eq!(kinds(&g.check_patch(&p)), vec![ViolationKind::SymlinkMode]);
    let p = Patch::parse("diff --git a/f b/f\nold mode 100644\nnew mode 120000\n").unwrap();
    assert_eq!(kinds(&g.check_patch(&p)), vec![ViolationKind::SymlinkMode]);
    let p = Patch::parse(
        "diff --git a/sub b/sub\nnew file mode 160000\n--- /dev/null\n+++ b/sub\n@@ -0,0 +1 @@\n+Subproject commit 0123456789abcdef0123456789abcdef01234567\n",
    )
    .unwrap();
    assert_eq!(kinds(&g.check_patch(&p)), vec![ViolationKind::Submodule]);
}

#[test]
fn size_limit_counts_added_and_removed_lines() {
    let g = ScopeGuard::new(&ScopeConfig::default(), 3).unwrap();
    let ok = Patch::parse("--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n ctx\n-a\n+b\n ctx\n").unwrap();
    assert!(g.check_patch(&ok).is_empty());
    let big = Patch::parse("--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n-a\n-b\n+c\n+d\n").unwrap();
    assert_eq!(
        kinds(&g.check_patch(&big)),
        vec![ViolationKind::TooLarge { lines: 4, max: 3 }]
    );
}

#[test]
fn every_violation_is_reported() {
    let g = default_guard();
    let p = Patch::parse(
        "--- a/../x\n+++ b/../x\n@@ -1 +1 @@\n-a\n+b\n--- a/.env\n+++ b/.env\n@@ -1 +1 @@\n-a\n+b\n--- /dev/null\n+++ b//abs\n@@ -0,0 +1 @@\n+a\n",
    )
    .unwrap();
    let v = g.check_patch(&p);
    assert_eq!(v.len(), 3, "{v:?}");
    let msg = ScopeRejection { violations: v }.to_string();
    assert!(
        msg.contains("`../x`: the path has a `..` component"),
        "{msg}"
    );
    assert!(
        msg.contains("`.env`: matches the `auto_fix.scope.deny` entry `**/.env`"),
        "{msg}"
    );
    assert!(msg.contains("`/abs`: absolute path"), "{msg}");
}

#[test]
fn symlinks_in_the_worktree_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::write(root.join("src/real.py"), "x\n").unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), root.join("src/escape")).unwrap();
    std::os::unix::fs::symlink("real.py", root.join("src/alias.py")).unwrap();
    let g = default_guard();

    assert!(g.check(&modify("src/real.py"), root).is_ok());
    // A new file under an existing directory is fine.
    assert!(g.check(&modify("src/new/deeper.py"), root).is_ok());
    // The link itself.
    let err = g.check(&modify("src/alias.py"), root).unwrap_err();
    assert_eq!(kinds(&err.violations), vec![ViolationKind::Symlink]);
    // A path through a link to a directory outside the repository.
    let err = g.check(&modify("src/escape/pwned.py"), root).unwrap_err();
    assert_eq!(kinds(&err.violations), vec![ViolationKind::Symlink]);
    // check_on_disk wrote nothing.
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
}

#[test]
fn a_root_that_cannot_be_resolved_is_outside() {
    let g = default_guard();
    let v = g.check_on_disk(
        &modify("src/a.py"),
        Path::new("/nonexistent/flow-doctor/root"),
    );
    assert_eq!(kinds(&v), vec![ViolationKind::OutsideRepo]);
}

#[test]
fn lexically_invalid_paths_are_not_looked_up_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let g = default_guard();
    assert!(g.check_on_disk(&modify("../x"), dir.path()).is_empty());
    let err = g.check(&modify("../x"), dir.path()).unwrap_err();
    assert_eq!(kinds(&err.violations), vec![ViolationKind::ParentDir]);
}
