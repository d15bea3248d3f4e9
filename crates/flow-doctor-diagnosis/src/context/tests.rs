//! Prompt building as data: rendered sections, trimming order, path safety.

use chrono::{TimeZone, Utc};
use flow_doctor_core::{ExitInfo, Frame, LogLine, ReportKind, Severity};

use super::*;

fn report() -> Report {
    let at = Utc.with_ymd_and_hms(2026, 3, 4, 5, 6, 7).unwrap();
    let mut r = Report::new(
        "nightly_etl",
        Severity::Error,
        ReportKind::ProcessExit,
        "'region'",
    );
    r.error_type = Some("KeyError".into());
    r.stage = Some("transform".into());
    r.language = Some("python".into());
    r.occurred_at = at;
    r.first_seen = at;
    r.last_seen = at;
    r.frames = vec![
        Frame {
            file: "etl/transform.py".into(),
            function: "enrich".into(),
            line: Some(3),
            module: None,
            in_app: true,
        },
        Frame {
            file: "/usr/lib/python3.12/site-packages/pandas/core/frame.py".into(),
            function: "__getitem__".into(),
            line: Some(3893),
            module: None,
            in_app: false,
        },
    ];
    r.exit = Some(ExitInfo {
        command: "python -m etl".into(),
        code: Some(1),
        signal: None,
        timed_out: false,
        duration_ms: 12_345,
    });
    r.context.insert("run_date".into(), "2026-03-03".into());
    r.logs = (0..3)
        .map(|i| LogLine {
            at: at - chrono::Duration::seconds(3 - i),
            level: "INFO".into(),
            target: "etl".into(),
            message: format!("step {i} done"),
        })
        .collect();
    r
}

fn extra() -> PromptContext {
    PromptContext {
        excerpts: vec![SourceExcerpt {
            file: "etl/transform.py".into(),
            function: "enrich".into(),
            line: 3,
            first_line: 2,
            lines: vec![
                "def enrich(row):".into(),
                "    return row['region']".into(),
                "".into(),
            ],
        }],
        git: Some(GitContext {
            branch: Some("main".into()),
            head: Some(CommitInfo {
                id: "0a1b2c3d4e".into(),
                date: "2026-03-03".into(),
                summary: "Rename region column".into(),
                files: vec![],
            }),
            recent_commits: vec![
                CommitInfo {
                    id: "0a1b2c3d4e".into(),
                    date: "2026-03-03".into(),
                    summary: "Rename region column".into(),
                    files: vec!["etl/transform.py".into()],
                },
                CommitInfo {
                    id: "9f8e7d6c5b".into(),
                    date: "2026-02-01".into(),
                    summary: "Add enrich step".into(),
                    files: vec!["etl/transform.py".into()],
                },
            ],
            changed_since_last_good: Some(ChangedSince {
                commit: "5555555555".into(),
                files: vec!["etl/transform.py".into(), "etl/schema.sql".into()],
                total: 2,
            }),
        }),
    }
}

const FULL: &str = r#"# Failure
flow: nightly_etl
stage: transform
kind: process_exit, severity: error
language: python
command: python -m etl
exit: exit code 1 after 12.3s

## Error
KeyError: 'region'

## Stack frames (innermost first)
1. etl/transform.py:3 in enrich [app]
2. /usr/lib/python3.12/site-packages/pandas/core/frame.py:3893 in __getitem__ [library]

## Source excerpts
### etl/transform.py:3 (enrich)
```
 2 | def enrich(row):
>3 |     return row['region']
 4 | 
```

## Git
branch main, HEAD 0a1b2c3d4e "Rename region column"
Files changed since the last successful run (5555555555): etl/transform.py, etl/schema.sql
Recent commits touching the frames' files (newest first):
- 0a1b2c3d4e 2026-03-03 "Rename region column" (etl/transform.py)
- 9f8e7d6c5b 2026-02-01 "Add enrich step" (etl/transform.py)

## Context
run_date: 2026-03-03

## Captured logs (oldest first)
05:06:04.000 INFO etl: step 0 done
05:06:05.000 INFO etl: step 1 done
05:06:06.000 INFO etl: step 2 done
"#;

#[test]
fn prompt_renders_every_section() {
    let p = build_prompt(&report(), &extra(), 8000);
    assert_eq!(p.user, FULL);
    assert_eq!(p.system, crate::answer::SYSTEM_PROMPT);
    assert!(p.trimmed.is_empty());
    assert_eq!(
        p.estimated_tokens,
        estimate_tokens(&p.system) + estimate_tokens(FULL)
    );
}

#[test]
fn prompt_without_frames_shows_the_output_tail() {
    let mut r = Report::new("cron", Severity::Error, ReportKind::Message, "disk full");
    r.traceback = Some("line one\nline two: disk full\n".into());
    let p = build_prompt(&r, &PromptContext::default(), 8000);
    assert!(
        p.user
            .contains("## Output (tail)\n```\nline one\nline two: disk full\n```\n"),
        "{}",
        p.user
    );
}

/// Budget that fits the prompt once `drop` bytes are gone.
fn budget_for(user_len: usize) -> usize {
    estimate_tokens(crate::answer::SYSTEM_PROMPT) + user_len.div_ceil(4)
}

#[test]
fn trimming_drops_logs_first_then_commits_then_outer_excerpts() {
    let r = report();
    let mut x = extra();
    x.excerpts.push(SourceExcerpt {
        file: "etl/main.py".into(),
        function: "main".into(),
        line: 10,
        first_line: 10,
        lines: (0..10)
            .map(|i| format!("    rows = [enrich(row) for row in batch_{i}]  # step"))
            .collect(),
    });
    let full = build_prompt(&r, &x, 100_000);
    assert!(full.trimmed.is_empty());

    // A little too small: only log lines go.
    let p = build_prompt(&r, &x, budget_for(full.user.len() - 30));
    assert!(p.trimmed[0].contains("of 3 log lines"), "{:?}", p.trimmed);
    assert!(!p.user.contains("step 0 done"));
    assert!(p.user.contains("Rename region column\" (etl/transform.py)"));
    assert!(p.user.contains("### etl/main.py:10"));
    assert!(
        p.user
            .contains("[trimmed to fit the prompt budget: dropped ")
    );

    // Much smaller: logs, both commits and the outer excerpt go; the
    // innermost excerpt stays.
    let without = {
        let mut r2 = r.clone();
        r2.logs.clear();
        let mut x2 = x.clone();
        x2.excerpts.truncate(1);
        if let Some(g) = x2.git.as_mut() {
            g.recent_commits.clear();
        }
        build_prompt(&r2, &x2, 100_000)
    };
    let p = build_prompt(&r, &x, budget_for(without.user.len() + 150));
    assert_eq!(p.trimmed.len(), 3, "{:?}", p.trimmed);
    assert!(p.trimmed[1].contains("2 of 2 commits"));
    assert!(p.trimmed[2].contains("1 of 2 source excerpts"));
    assert!(p.user.contains("### etl/transform.py:3 (enrich)"));
    assert!(!p.user.contains("### etl/main.py"));
    assert!(p.estimated_tokens <= budget_for(without.user.len() + 150));
}

#[test]
fn a_tiny_budget_cuts_the_text_and_says_so() {
    let p = build_prompt(&report(), &extra(), budget_for(200));
    assert!(
        p.user.ends_with("[prompt cut at the size budget]\n"),
        "{}",
        p.user
    );
    assert!(p.estimated_tokens <= budget_for(200));
}

#[test]
fn excerpts_stay_inside_the_repository() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(repo.join("etl")).unwrap();
    std::fs::write(
        repo.join("etl/job.py"),
        "import os\n\ndef run():\n    key = 'AKIAIOSFODNN7EXAMPLE'\n    return load(key)\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("outside.py"), "secret = 1\n").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(dir.path().join("outside.py"), repo.join("link.py")).unwrap();
    let root = repo.canonicalize().unwrap();

    assert_eq!(
        resolve_in_repo(&root, "etl/job.py").map(|(_, rel)| rel),
        Some("etl/job.py".to_string())
    );
    // A container path maps onto the checkout by its tail.
    assert_eq!(
        resolve_in_repo(&root, "/app/etl/job.py").map(|(_, rel)| rel),
        Some("etl/job.py".to_string())
    );
    assert!(resolve_in_repo(&root, "../outside.py").is_none());
    assert!(resolve_in_repo(&root, dir.path().join("outside.py").to_str().unwrap()).is_none());
    assert!(
        resolve_in_repo(&root, "link.py").is_none(),
        "symlink escaping the repo"
    );
    assert!(resolve_in_repo(&root, "<string>").is_none());

    let frames = vec![
        Frame {
            file: "etl/job.py".into(),
            function: "run".into(),
            line: Some(4),
            module: None,
            in_app: true,
        },
        Frame {
            file: "../outside.py".into(),
            function: "x".into(),
            line: Some(1),
            module: None,
            in_app: true,
        },
    ];
    let found = gather_blocking(&root, &frames, 1, None, &Scrubber::new());
    assert_eq!(found.excerpts.len(), 1);
    let x = &found.excerpts[0];
    assert_eq!((x.first_line, x.line), (3, 4));
    assert_eq!(x.lines.len(), 3);
    assert!(
        !x.lines.join("\n").contains("AKIAIOSFODNN7EXAMPLE"),
        "{:?}",
        x.lines
    );
}
