//! Unit tests of hunk application and two-phase writes.

use super::*;

fn patch(text: &str) -> Patch {
    Patch::parse(text).unwrap()
}

fn hunks(text: &str) -> Vec<Hunk> {
    patch(text).files.remove(0).hunks
}

#[test]
fn applies_at_the_named_line() {
    let h = hunks("--- a/f\n+++ b/f\n@@ -2,3 +2,3 @@\n b\n-c\n+C\n d\n");
    assert_eq!(
        apply_hunks("f", "a\nb\nc\nd\ne\n", &h).unwrap(),
        "a\nb\nC\nd\ne\n"
    );
}

#[test]
fn applies_when_line_numbers_are_off() {
    // The header says line 40; the context is at line 2.
    let h = hunks("--- a/f\n+++ b/f\n@@ -40,3 +40,3 @@\n b\n-c\n+C\n d\n");
    assert_eq!(
        apply_hunks("f", "a\nb\nc\nd\n", &h).unwrap(),
        "a\nb\nC\nd\n"
    );
}

#[test]
fn picks_the_occurrence_nearest_the_header() {
    let text = "x\nsame\nx\nx\nx\nx\nsame\nx\n";
    let h = hunks("--- a/f\n+++ b/f\n@@ -7 +7 @@\n-same\n+changed\n");
    assert_eq!(
        apply_hunks("f", text, &h).unwrap(),
        "x\nsame\nx\nx\nx\nx\nchanged\nx\n"
    );
}

#[test]
fn several_hunks_shift_later_ones() {
    let h =
        hunks("--- a/f\n+++ b/f\n@@ -1,2 +1,4 @@\n a\n+a1\n+a2\n b\n@@ -5,2 +7,2 @@\n e\n-f\n+F\n");
    assert_eq!(
        apply_hunks("f", "a\nb\nc\nd\ne\nf\n", &h).unwrap(),
        "a\na1\na2\nb\nc\nd\ne\nF\n"
    );
}

#[test]
fn trailing_whitespace_differences_are_tolerated() {
    let h = hunks("--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n def f():\n-    return 1\n+    return 2\n");
    assert_eq!(
        apply_hunks("f", "def f():   \n    return 1\n", &h).unwrap(),
        "def f():\n    return 2\n"
    );
}

#[test]
fn a_hunk_that_does_not_apply_is_shown() {
    let h = hunks("--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n nope\n-x\n+y\n");
    let err = apply_hunks("f", "a\nb\n", &h).unwrap_err();
    let ApplyError::Hunk {
        path, index, hunk, ..
    } = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!((path.as_str(), *index), ("f", 1));
    assert_eq!(hunk, "@@ -1,2 +1,2 @@\n nope\n-x\n+y\n");
    assert!(err.to_string().contains("-x\n+y"), "{err}");
}

#[test]
fn crlf_and_final_newline_are_kept() {
    let h = hunks("--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n-b\n+B\n");
    assert_eq!(apply_hunks("f", "a\r\nb\r\n", &h).unwrap(), "a\r\nB\r\n");
    assert_eq!(apply_hunks("f", "a\nb", &h).unwrap(), "a\nB");
}

#[test]
fn no_newline_markers_change_the_end_of_file() {
    let add_nl = hunks("--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n\\ No newline at end of file\n+a\n");
    assert_eq!(apply_hunks("f", "a", &add_nl).unwrap(), "a\n");
    let drop_nl = hunks("--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+a\n\\ No newline at end of file\n");
    assert_eq!(apply_hunks("f", "a\n", &drop_nl).unwrap(), "a");
}

#[test]
fn insertion_into_an_empty_file() {
    let h = hunks("--- /dev/null\n+++ b/f\n@@ -0,0 +1,2 @@\n+one\n+two\n");
    assert_eq!(apply_hunks("f", "", &h).unwrap(), "one\ntwo\n");
}

#[test]
fn plan_writes_nothing_and_apply_writes_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("a.py"), "x = 1\n").unwrap();
    std::fs::write(root.join("b.py"), "y = 1\n").unwrap();
    // The second file's hunk does not apply: the first must stay unchanged.
    let bad = patch(
        "--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n--- a/b.py\n+++ b/b.py\n@@ -1 +1 @@\n-y = 9\n+y = 2\n",
    );
    assert!(matches!(
        apply(root, &bad),
        Err(ApplyError::Hunk { index: 1, .. })
    ));
    assert_eq!(
        std::fs::read_to_string(root.join("a.py")).unwrap(),
        "x = 1\n"
    );

    let good = patch(
        "--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n--- /dev/null\n+++ b/pkg/new.py\n@@ -0,0 +1 @@\n+z = 3\n--- a/b.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-y = 1\n",
    );
    let planned = plan(root, &good).unwrap();
    assert_eq!(planned.len(), 3);
    assert!(!root.join("pkg").exists());
    let changes = apply(root, &good).unwrap();
    assert_eq!(changes, planned);
    assert_eq!(
        std::fs::read_to_string(root.join("a.py")).unwrap(),
        "x = 2\n"
    );
    assert_eq!(
        std::fs::read_to_string(root.join("pkg/new.py")).unwrap(),
        "z = 3\n"
    );
    assert!(!root.join("b.py").exists());
}

#[test]
fn renames_and_modes() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("old.sh"), "echo hi\n").unwrap();
    let p = patch(
        "diff --git a/old.sh b/bin/new.sh\nold mode 100644\nnew mode 100755\nrename from old.sh\nrename to bin/new.sh\n--- a/old.sh\n+++ b/bin/new.sh\n@@ -1 +1 @@\n-echo hi\n+echo hello\n",
    );
    let changes = apply(root, &p).unwrap();
    assert_eq!(changes[0].old_path.as_deref(), Some("old.sh"));
    assert!(!root.join("old.sh").exists());
    let new = root.join("bin/new.sh");
    assert_eq!(std::fs::read_to_string(&new).unwrap(), "echo hello\n");
    assert_ne!(
        std::fs::metadata(&new).unwrap().permissions().mode() & 0o111,
        0
    );
}

#[test]
fn file_state_mismatches_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("here.txt"), "a\n").unwrap();
    std::fs::write(root.join("bin.dat"), [0xff, 0xfe, 0x00]).unwrap();
    let create_existing = patch("--- /dev/null\n+++ b/here.txt\n@@ -0,0 +1 @@\n+b\n");
    assert!(matches!(
        plan(root, &create_existing),
        Err(ApplyError::File { .. })
    ));
    let change_missing = patch("--- a/gone.txt\n+++ b/gone.txt\n@@ -1 +1 @@\n-a\n+b\n");
    let err = plan(root, &change_missing).unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
    let binary = patch("--- a/bin.dat\n+++ b/bin.dat\n@@ -1 +1 @@\n-a\n+b\n");
    assert!(
        plan(root, &binary)
            .unwrap_err()
            .to_string()
            .contains("not UTF-8")
    );
    let partial_delete = patch("--- a/here.txt\n+++ /dev/null\n@@ -0,0 +0,0 @@\n a\n");
    assert!(matches!(
        plan(root, &partial_delete),
        Err(ApplyError::File { .. })
    ));
}

#[test]
fn symlinks_are_neither_read_nor_written_through() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let sentinel = outside.path().join("sentinel.txt");
    std::fs::write(&sentinel, "untouched\n").unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("link")).unwrap();
    let p = patch(
        "--- a/link/sentinel.txt\n+++ b/link/sentinel.txt\n@@ -1 +1 @@\n-untouched\n+pwned\n",
    );
    let err = apply(dir.path(), &p).unwrap_err();
    assert!(err.to_string().contains("symbolic link"), "{err}");
    assert_eq!(std::fs::read_to_string(&sentinel).unwrap(), "untouched\n");
}

#[test]
fn file_change_renders_a_unified_diff_and_stats() {
    let c = FileChange {
        path: "calc.py".into(),
        old_path: None,
        before: Some("def add(a, b):\n    return a - b\n".into()),
        after: Some("def add(a, b):\n    return a + b\n".into()),
        mode: None,
    };
    let text = c.to_string();
    assert!(
        text.starts_with("--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,2 @@"),
        "{text}"
    );
    assert!(
        text.contains("-    return a - b\n+    return a + b\n"),
        "{text}"
    );
    assert_eq!(c.stats(), (1, 1));
    let created = FileChange {
        before: None,
        ..c.clone()
    };
    assert!(
        created
            .to_string()
            .starts_with("--- /dev/null\n+++ b/calc.py")
    );
}
