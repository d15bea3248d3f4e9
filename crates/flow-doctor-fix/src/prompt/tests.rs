//! Unit tests of context gathering and prompt building.

use flow_doctor_core::config::ScopeConfig;
use flow_doctor_core::model::{Category, Diagnosis, Report, ReportKind, Severity};

use super::*;

fn guard() -> ScopeGuard {
    ScopeGuard::new(&ScopeConfig::default(), 400).unwrap()
}

#[test]
fn reads_files_in_scope_and_says_why_others_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::write(
        root.join("src/calc.py"),
        "def add(a, b):\n    return a - b\n",
    )
    .unwrap();
    std::fs::write(root.join(".env"), "TOKEN=x\n").unwrap();
    std::fs::write(root.join("blob.bin"), [0xff, 0x00]).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", root.join("src/link.py")).unwrap();
    let abs = root.join("src/calc.py").to_string_lossy().into_owned();
    let affected: Vec<String> = [
        "src/calc.py:2",
        abs.as_str(),
        ".env",
        "../outside.py",
        "/etc/passwd",
        "src/missing.py",
        "blob.bin",
        "src/link.py",
    ]
    .map(String::from)
    .to_vec();
    let (files, skipped) = gather_context(root, &affected, &guard(), ContextLimits::default());
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0].path, "src/calc.py");
    assert!(!files[0].truncated);
    let why = |p: &str| {
        skipped
            .iter()
            .find(|s| s.path == p)
            .map(|s| s.reason.clone())
            .unwrap_or_else(|| panic!("{p} not skipped: {skipped:?}"))
    };
    assert!(why(".env").contains("deny"));
    assert!(why("../outside.py").contains(".."));
    assert!(why("/etc/passwd").contains("outside the repository"));
    assert!(why("src/missing.py").contains("does not exist"));
    assert!(why("blob.bin").contains("UTF-8"));
    assert!(why("src/link.py").contains("symbolic link"));
}

#[test]
fn limits_cut_files_at_line_boundaries() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let big: String = (0..1000).map(|i| format!("line {i}\n")).collect();
    for n in ["a.py", "b.py", "c.py"] {
        std::fs::write(root.join(n), &big).unwrap();
    }
    let limits = ContextLimits {
        max_files: 2,
        max_file_bytes: 100,
        max_total_bytes: 150,
        max_issue_chars: 10,
    };
    let affected = ["a.py", "b.py", "c.py"].map(String::from).to_vec();
    let (files, skipped) = gather_context(root, &affected, &guard(), limits);
    assert_eq!(files.len(), 2);
    assert!(files[0].truncated && files[0].content.len() <= 100);
    assert!(files[0].content.ends_with('\n'));
    assert!(files[1].content.len() <= 150 - files[0].content.len());
    assert_eq!(skipped[0].path, "c.py");
}

#[test]
fn prompt_carries_diagnosis_issue_text_and_files_without_metadata() {
    let mut r = Report::new("etl", Severity::Error, ReportKind::Error, "boom");
    r.signature = "sig".into();
    r.error_type = Some("AssertionError".into());
    let mut d = Diagnosis::new(Category::Code, "add() subtracts", 0.93);
    d.affected_files = vec!["calc.py".into()];
    let meta = IssueMetadata::new(&r, Some(&d));
    let issue = ForgeIssue {
        number: 7,
        title: "[etl] AssertionError: 1 != 3".into(),
        body: format!(
            "Traceback (most recent call last):\n  File \"calc.py\"\n\n{}",
            meta.render()
        ),
        url: String::new(),
        is_pull_request: false,
    };
    let files = vec![ContextFile {
        path: "calc.py".into(),
        content: "x = '```'\n".into(),
        truncated: true,
    }];
    let p = build_prompt(&issue, &meta, &files, ContextLimits::default());
    assert!(p.contains("# Failure: [etl] AssertionError: 1 != 3"));
    assert!(p.contains("- category: CODE\n- confidence: 0.93\n- error type: AssertionError"));
    assert!(p.contains("- root cause: add() subtracts"));
    assert!(p.contains("Traceback (most recent call last):"));
    assert!(!p.contains("flow-doctor:metadata"));
    assert!(
        p.contains("### calc.py\n````\nx = '```'\n````\n(cut:"),
        "{p}"
    );
}

#[test]
fn issue_text_is_cut_by_characters() {
    assert_eq!(issue_text("héllo wörld", 5), "héllo\n[... cut ...]");
    assert_eq!(
        issue_text("a<!-- flow-doctor:metadata\n{}\n-->b", 100),
        "ab"
    );
}
