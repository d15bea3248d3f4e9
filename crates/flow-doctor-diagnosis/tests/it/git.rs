//! Git context against a real repository built in a temporary directory.

use std::path::Path;
use std::sync::Arc;

use flow_doctor_core::{
    DiagnoseContext, Frame, MemoryStore, Report, ReportKind, Scrubber, Severity, Store, SystemClock,
};
use flow_doctor_diagnosis::context::{build_prompt, gather, gather_blocking};
use git2::{Repository, Signature};

fn commit(repo: &Repository, files: &[(&str, &str)], message: &str) -> git2::Oid {
    let root = repo.workdir().unwrap().to_path_buf();
    let mut index = repo.index().unwrap();
    for (path, text) in files {
        let full = root.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(&full, text).unwrap();
        index.add_path(Path::new(path)).unwrap();
    }
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let sig = Signature::now("Dev Person", "dev@example.com").unwrap();
    let parents: Vec<git2::Commit<'_>> = repo
        .head()
        .ok()
        .and_then(|h| h.peel_to_commit().ok())
        .into_iter()
        .collect();
    let refs: Vec<&git2::Commit<'_>> = parents.iter().collect();
    repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &refs)
        .unwrap()
}

fn frame(file: &str, line: u32) -> Frame {
    Frame {
        file: file.into(),
        function: "run".into(),
        line: Some(line),
        module: None,
        in_app: true,
    }
}

#[tokio::test]
async fn git_context_names_branch_commits_and_changes_since_last_good_run() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::init(dir.path()).unwrap();
    let good = commit(
        &repo,
        &[
            ("etl/load.py", "def run():\n    return 1\n"),
            ("README.md", "hi\n"),
        ],
        "Initial import",
    );
    commit(&repo, &[("docs/notes.md", "notes\n")], "Write notes");
    commit(
        &repo,
        &[
            ("etl/load.py", "def run():\n    return rows['region']\n"),
            ("etl/schema.sql", "x\n"),
        ],
        "Read region (token ghp_abcdefghijklmnopqrstuvwxyz0123456789)",
    );
    let head_branch = repo.head().unwrap().shorthand().unwrap().to_string();

    // The last successful run recorded its commit.
    let store = Arc::new(MemoryStore::new());
    let mut ok = Report::new("etl", Severity::Info, ReportKind::Success, "ok");
    ok.signature = "success".into();
    ok.context.insert("git_commit".into(), good.to_string());
    store.claim(&ok, std::time::Duration::ZERO).await.unwrap();

    let mut failed = Report::new("etl", Severity::Error, ReportKind::Error, "'region'");
    failed.error_type = Some("KeyError".into());
    failed.frames = vec![frame("etl/load.py", 2)];
    let mut cfg = flow_doctor_core::config::DiagnosisConfig::default();
    cfg.repo_path = Some(dir.path().to_path_buf());
    let ctx = DiagnoseContext {
        store: store.clone() as Arc<dyn Store>,
        clock: Arc::new(SystemClock),
        scrubber: Arc::new(Scrubber::new()),
    };
    let found = gather(&failed, &cfg, &ctx).await;
    let git = found.git.clone().expect("a git work tree");
    assert_eq!(git.branch.as_deref(), Some(head_branch.as_str()));
    let head = git.head.unwrap();
    assert!(head.summary.starts_with("Read region"));
    assert!(
        !head
            .summary
            .contains("ghp_abcdefghijklmnopqrstuvwxyz0123456789"),
        "scrubbed: {}",
        head.summary
    );

    let touching: Vec<&str> = git
        .recent_commits
        .iter()
        .map(|c| c.summary.as_str())
        .collect();
    assert_eq!(touching.len(), 2, "{touching:?}");
    assert!(touching[0].starts_with("Read region"));
    assert_eq!(touching[1], "Initial import");
    assert!(
        git.recent_commits
            .iter()
            .all(|c| c.files == vec!["etl/load.py".to_string()])
    );

    let changed = git.changed_since_last_good.unwrap();
    assert_eq!(changed.commit, good.to_string()[..10]);
    let mut files = changed.files.clone();
    files.sort();
    assert_eq!(
        files,
        vec!["docs/notes.md", "etl/load.py", "etl/schema.sql"]
    );

    let prompt = build_prompt(&failed, &found, 8000);
    assert!(
        prompt
            .user
            .contains("Files changed since the last successful run"),
        "{}",
        prompt.user
    );
    assert!(prompt.user.contains("Initial import\" (etl/load.py)"));
    assert!(prompt.user.contains(">2 |     return rows['region']"));
    assert!(!prompt.user.contains("Dev Person") && !prompt.user.contains("dev@example.com"));
}

#[test]
fn no_repository_means_no_git_context() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("job.py"), "x = 1\n").unwrap();
    let found = gather_blocking(dir.path(), &[frame("job.py", 1)], 2, None, &Scrubber::new());
    assert_eq!(found.excerpts.len(), 1);
    assert!(found.git.is_none());
}
