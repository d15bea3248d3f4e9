//! Unit tests of the diff parser.

use super::*;

fn parse(text: &str) -> Patch {
    Patch::parse(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

#[test]
fn modification_with_context_and_counts() {
    let p = parse(
        "--- a/src/calc.py\n+++ b/src/calc.py\n@@ -1,3 +1,3 @@\n def add(a, b):\n-    return a - b\n+    return a + b\n \n",
    );
    assert_eq!(p.files.len(), 1);
    let f = &p.files[0];
    assert_eq!(f.kind(), ChangeKind::Modify);
    assert_eq!(f.path(), "src/calc.py");
    assert_eq!(f.hunks[0].old_start, 1);
    assert_eq!(
        f.hunks[0].lines,
        vec![
            HunkLine::Context("def add(a, b):".into()),
            HunkLine::Remove("    return a - b".into()),
            HunkLine::Add("    return a + b".into()),
            HunkLine::Context(String::new()),
        ]
    );
    assert_eq!(p.changed_lines(), 2);
}

#[test]
fn git_headers_new_and_deleted_files() {
    let p = parse(
        "diff --git a/new.txt b/new.txt\nnew file mode 100644\nindex 0000000..e69de29\n--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1,2 @@\n+one\n+two\ndiff --git a/old.txt b/old.txt\ndeleted file mode 100644\n--- a/old.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-gone\n",
    );
    assert_eq!(p.files.len(), 2);
    assert_eq!(p.files[0].kind(), ChangeKind::Add);
    assert_eq!(p.files[0].old_path, None);
    assert_eq!(p.files[0].new_mode, Some(MODE_REGULAR));
    assert_eq!(p.files[1].kind(), ChangeKind::Delete);
    assert_eq!(p.files[1].path(), "old.txt");
    assert_eq!(p.files[1].old_mode, Some(MODE_REGULAR));
}

#[test]
fn pure_rename_and_rename_with_changes() {
    let p = parse(
        "diff --git a/a.py b/b.py\nsimilarity index 100%\nrename from a.py\nrename to b.py\ndiff --git a/c.py b/lib/c.py\nsimilarity index 90%\nrename from c.py\nrename to lib/c.py\n--- a/c.py\n+++ b/lib/c.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n",
    );
    assert_eq!(p.files.len(), 2);
    assert_eq!(p.files[0].kind(), ChangeKind::Rename);
    assert_eq!(p.files[0].paths(), vec!["a.py", "b.py"]);
    assert!(p.files[0].hunks.is_empty());
    assert_eq!(p.files[1].kind(), ChangeKind::Rename);
    assert_eq!(p.files[1].paths(), vec!["c.py", "lib/c.py"]);
    assert_eq!(p.files[1].hunks.len(), 1);
}

#[test]
fn mode_changes_are_read() {
    let p = parse("diff --git a/run.sh b/run.sh\nold mode 100644\nnew mode 100755\n");
    assert_eq!(p.files[0].old_mode, Some(MODE_REGULAR));
    assert_eq!(p.files[0].new_mode, Some(MODE_EXECUTABLE));
    assert_eq!(p.files[0].kind(), ChangeKind::Modify);
    let p = parse(
        "diff --git a/link b/link\nnew file mode 120000\n--- /dev/null\n+++ b/link\n@@ -0,0 +1 @@\n+/etc/passwd\n\\ No newline at end of file\n",
    );
    assert_eq!(p.files[0].new_mode, Some(MODE_SYMLINK));
    assert!(p.files[0].hunks[0].new_missing_newline);
}

#[test]
fn binary_patches_are_flagged_not_decoded() {
    let p = parse(
        "diff --git a/logo.png b/logo.png\nindex 1234567..89abcde 100644\nGIT binary patch\nliteral 5\nMcmZ?wbhEHbcmOE\n\nliteral 0\nKcmV+b0RR6000031\n\ndiff --git a/x.txt b/x.txt\n--- a/x.txt\n+++ b/x.txt\n@@ -1 +1 @@\n-a\n+b\n",
    );
    assert_eq!(p.files.len(), 2);
    assert!(p.files[0].binary);
    assert_eq!(p.files[0].path(), "logo.png");
    assert!(!p.files[1].binary);
    let p = parse("Binary files a/img.bin and b/img.bin differ\n");
    assert!(p.files[0].binary);
    assert_eq!(p.files[0].path(), "img.bin");
    let p = parse("diff --git a/d.bin b/d.bin\nBinary files a/d.bin and b/d.bin differ\n");
    assert!(p.files[0].binary);
}

#[test]
fn no_newline_markers_attach_to_the_right_side() {
    let p = parse("--- a/f\n+++ b/f\n@@ -1 +1 @@\n-old\n\\ No newline at end of file\n+new\n");
    let h = &p.files[0].hunks[0];
    assert!(h.old_missing_newline);
    assert!(!h.new_missing_newline);
}

#[test]
fn miscounted_hunks_are_read_up_to_the_next_header() {
    // The header claims 1 line each side; the body has more.
    let p = parse(
        "--- a/f.py\n+++ b/f.py\n@@ -1,1 +1,1 @@\n a\n-b\n+c\n d\n--- a/g.py\n+++ b/g.py\n@@ -1 +1 @@\n-x\n+y\n",
    );
    assert_eq!(p.files.len(), 2);
    assert_eq!(p.files[0].hunks[0].lines.len(), 4);
    assert_eq!(p.files[1].path(), "g.py");
}

#[test]
fn removed_sql_comment_is_not_a_file_header() {
    // `-- note` removed and `++ x` added look like `--- `/`+++ ` headers;
    // the hunk's counts say they belong to it.
    let p = parse("--- a/q.sql\n+++ b/q.sql\n@@ -1,2 +1,2 @@\n--- note\n+++ x\n select 1;\n");
    assert_eq!(p.files.len(), 1);
    assert_eq!(
        p.files[0].hunks[0].lines,
        vec![
            HunkLine::Remove("-- note".into()),
            HunkLine::Add("++ x".into()),
            HunkLine::Context("select 1;".into()),
        ]
    );
}

#[test]
fn trailing_blank_padding_is_dropped_but_counted_blank_context_kept() {
    let p = parse("--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n-a\n+b\n\n\n\n");
    assert_eq!(p.files[0].hunks[0].lines.len(), 3);
    assert_eq!(
        p.files[0].hunks[0].lines.last(),
        Some(&HunkLine::Context(String::new()))
    );
}

#[test]
fn timestamps_quotes_and_missing_prefixes() {
    let p = parse(
        "--- \"a/dir/t\\303\\251st.py\"\t2024-01-01 00:00:00\n+++ \"b/dir/t\\303\\251st.py\"\t2024-01-01\n@@ -1 +1 @@\n-a\n+b\n--- plain.txt\n+++ plain.txt\n@@ -1 +1 @@\n-a\n+b\n",
    );
    assert_eq!(p.files[0].path(), "dir/tést.py");
    assert_eq!(p.files[1].path(), "plain.txt");
}

#[test]
fn errors_name_the_line() {
    assert_eq!(Patch::parse("just prose\n"), Err(DiffError::Empty));
    assert!(matches!(
        Patch::parse("@@ -1 +1 @@\n-a\n+b\n"),
        Err(DiffError::Syntax { line: 1, .. })
    ));
    assert!(matches!(
        Patch::parse("--- a/f\n+++ b/f\n@@ nonsense @@\n"),
        Err(DiffError::Syntax { line: 3, .. })
    ));
    assert!(matches!(
        Patch::parse("diff --git a/f b/f\nindex 1..2 100644\n"),
        Err(DiffError::Syntax { .. })
    ));
    assert!(matches!(
        Patch::parse("diff --git a/f b/f\nnew mode 10x644\n"),
        Err(DiffError::Syntax { line: 2, .. })
    ));
}

#[test]
fn extract_joins_fenced_diff_blocks_only() {
    let answer = "Sure.\n```python\nprint('no')\n```\n```diff\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-```\n+~~~\n```\nand\n``` patch\n--- a/y\n+++ b/y\n@@ -1 +1 @@\n-1\n+2\n```\n";
    let d = extract_diff(answer).unwrap();
    assert!(!d.contains("print"));
    let p = parse(&d);
    assert_eq!(p.files.len(), 2);
    assert_eq!(p.files[0].hunks[0].lines[0], HunkLine::Remove("```".into()));
    assert_eq!(
        extract_diff("--- a/x\n+++ b/x\n"),
        Err(DiffError::NoDiffBlock)
    );
    assert_eq!(extract_diff("```diff\n\n```"), Err(DiffError::NoDiffBlock));
}

#[test]
fn hunk_display_recomputes_counts() {
    let p = parse("--- a/f\n+++ b/f\n@@ -3,9 +3,9 @@ fn x\n a\n-b\n+c\n");
    assert_eq!(
        p.files[0].hunks[0].to_string(),
        "@@ -3,2 +3,2 @@\n a\n-b\n+c\n"
    );
}
