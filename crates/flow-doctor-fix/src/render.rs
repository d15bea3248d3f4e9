//! Markdown for the forge: the pull-request body, issue comments for
//! refusals, failures and successes, and the attempt marker that lets a
//! later run see earlier attempts without a shared store.
//!
//! Callers scrub the finished text before posting it.

use std::fmt::Write as _;

use flow_doctor_core::metadata::IssueMetadata;
use flow_doctor_core::model::FixAttempt;

use crate::apply::FileChange;
use crate::gates::PriorAttempt;
use crate::runner::TestRun;

const MARKER_OPEN: &str = "<!-- flow-doctor:fix-attempt";
const MARKER_CLOSE: &str = "-->";
/// GitHub rejects bodies over 65 536 characters; keep well below.
const MAX_BODY_CHARS: usize = 60_000;
/// Output lines shown in comments and PR bodies.
pub const TAIL_LINES: usize = 60;

/// The machine-readable marker appended to every comment flow-doctor
/// posts about a fix attempt.
pub fn attempt_marker(a: &FixAttempt) -> String {
    let prior = PriorAttempt::from(a);
    let json = serde_json::to_string(&prior)
        .unwrap_or_default()
        .replace("--", "-\\u002d");
    format!("{MARKER_OPEN}\n{json}\n{MARKER_CLOSE}")
}

/// Every attempt marker in the given comment bodies; malformed ones are
/// skipped.
pub fn parse_markers<'a>(comments: impl IntoIterator<Item = &'a str>) -> Vec<PriorAttempt> {
    let mut out = Vec::new();
    for body in comments {
        let mut rest = body;
        while let Some(start) = rest.find(MARKER_OPEN) {
            let after = &rest[start + MARKER_OPEN.len()..];
            let Some(end) = after.find(MARKER_CLOSE) else {
                break;
            };
            if let Ok(p) = serde_json::from_str::<PriorAttempt>(after[..end].trim()) {
                out.push(p);
            }
            rest = &after[end..];
        }
    }
    out
}

/// The comment for a refused request.
pub fn refusal_comment(attempt: &FixAttempt) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "**flow-doctor did not generate a fix:** refused at the `{}` gate.\n",
        attempt.step
    );
    let _ = writeln!(s, "{}\n", attempt.reason);
    s.push_str(&attempt_marker(attempt));
    bounded(s)
}

/// The comment for a failed attempt, with the output tail and the proposed
/// diff when there are.
pub fn failure_comment(attempt: &FixAttempt, tail: Option<&str>, diff: Option<&str>) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "**flow-doctor could not produce a tested fix:** the `{}` step failed.\n",
        attempt.step
    );
    let _ = writeln!(s, "{}\n", attempt.reason);
    if let Some(t) = tail.filter(|t| !t.trim().is_empty()) {
        details(&mut s, "Output (last lines)", "text", t);
    }
    if let Some(d) = diff.filter(|d| !d.trim().is_empty()) {
        details(
            &mut s,
            "Proposed diff (not applied)",
            "diff",
            &cut(d, 20_000),
        );
    }
    let _ = writeln!(
        s,
        "No branch was pushed. flow-doctor will not retry this failure on its own."
    );
    s.push('\n');
    s.push_str(&attempt_marker(attempt));
    bounded(s)
}

/// The comment linking the opened pull request.
pub fn success_comment(attempt: &FixAttempt, pr_url: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "**flow-doctor opened a fix:** {pr_url}\n\nThe tests passed in a fresh worktree. Please review before merging.\n"
    );
    s.push_str(&attempt_marker(attempt));
    s
}

/// Everything the PR body is made of.
#[derive(Clone, Copy, Debug)]
pub struct PrBodyParts<'a> {
    /// Issue number the PR fixes.
    pub issue_number: u64,
    /// The issue's metadata.
    pub meta: &'a IssueMetadata,
    /// The applied changes.
    pub changes: &'a [FileChange],
    /// The test run (it passed).
    pub tests: &'a TestRun,
    /// The model that wrote the diff and what it cost, in words.
    pub model_note: Option<&'a str>,
}

/// The pull-request body: `Fixes #N`, the diagnosis, a per-file summary,
/// the diff (rendered with `similar`) and the test output tail.
pub fn pr_body(p: PrBodyParts<'_>) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Fixes #{}\n", p.issue_number);
    let _ = writeln!(s, "## Diagnosis\n");
    if let Some(c) = p.meta.category {
        let conf = p
            .meta
            .confidence
            .map(|c| format!(", confidence {c:.2}"))
            .unwrap_or_default();
        let _ = writeln!(s, "**{}**{conf}, flow `{}`\n", c.as_str(), p.meta.flow);
    }
    if let Some(r) = &p.meta.root_cause {
        let _ = writeln!(s, "{r}\n");
    }
    let _ = writeln!(s, "## Changes\n\n| File | + | − |\n|---|---:|---:|");
    for c in p.changes {
        let (a, r) = c.stats();
        let name = match (&c.old_path, &c.after) {
            (Some(old), _) => format!("`{old}` → `{}`", c.path),
            (None, None) => format!("`{}` (deleted)", c.path),
            (None, Some(_)) if c.before.is_none() => format!("`{}` (new)", c.path),
            _ => format!("`{}`", c.path),
        };
        let _ = writeln!(s, "| {name} | {a} | {r} |");
    }
    s.push('\n');
    let diff: String = p.changes.iter().map(ToString::to_string).collect();
    details(&mut s, "Diff", "diff", &cut(&diff, 30_000));
    let _ = writeln!(
        s,
        "## Tests\n\n`{}` {} in {:.1}s.\n",
        p.tests.command,
        p.tests.status,
        p.tests.duration.as_secs_f64()
    );
    details(
        &mut s,
        "Test output (last lines)",
        "text",
        &p.tests.tail(TAIL_LINES),
    );
    let _ = writeln!(
        s,
        "---\nGenerated by [flow-doctor](https://github.com/flow-doctor/flow-doctor-rs) for failure `{}`{}. Review it like any other change.",
        p.meta.signature,
        p.model_note.map(|m| format!(" ({m})")).unwrap_or_default()
    );
    bounded(s)
}

fn details(s: &mut String, summary: &str, lang: &str, body: &str) {
    let fence = "`".repeat(longest_backtick_run(body).max(2) + 1);
    let _ = writeln!(
        s,
        "<details><summary>{summary}</summary>\n\n{fence}{lang}\n{}\n{fence}\n\n</details>\n",
        body.trim_end()
    );
}

fn longest_backtick_run(text: &str) -> usize {
    let (mut best, mut run) = (0, 0);
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

fn cut(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    let kept: String = text.chars().take(max_chars).collect();
    format!("{kept}\n[... cut ...]")
}

fn bounded(s: String) -> String {
    if s.chars().count() <= MAX_BODY_CHARS {
        s
    } else {
        cut(&s, MAX_BODY_CHARS)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::Utc;
    use flow_doctor_core::model::{
        Category, Diagnosis, FixStatus, Id, Report, ReportKind, Severity,
    };

    use super::*;
    use crate::runner::TestStatus;

    fn attempt(status: FixStatus, step: &str) -> FixAttempt {
        FixAttempt {
            id: Id::new(),
            signature: "sig-1".into(),
            repo: "o/r".into(),
            issue_number: 7,
            report_id: None,
            status,
            step: step.into(),
            reason: "confidence 0.62 is below 0.90".into(),
            branch: None,
            pr_url: None,
            at: Utc::now(),
        }
    }

    #[test]
    fn markers_round_trip_through_comments() {
        let a = attempt(FixStatus::Failed, "tests");
        let b = attempt(FixStatus::Refused, "confidence");
        let comments = [
            failure_comment(&a, Some("FAILED (failures=1)"), Some("--- a/x\n+++ b/x\n")),
            "a person's comment <!-- flow-doctor:fix-attempt {broken} -->".to_string(),
            refusal_comment(&b),
        ];
        let found = parse_markers(comments.iter().map(String::as_str));
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].status, FixStatus::Failed);
        assert_eq!(found[0].step, "tests");
        assert_eq!(found[0].signature, "sig-1");
        assert_eq!(found[1].status, FixStatus::Refused);
    }

    #[test]
    fn comments_say_the_step_and_reason() {
        let c = refusal_comment(&attempt(FixStatus::Refused, "confidence"));
        assert!(c.contains("refused at the `confidence` gate"));
        assert!(c.contains("confidence 0.62 is below 0.90"));
        let c = failure_comment(
            &attempt(FixStatus::Failed, "tests"),
            Some("E\n```\nboom"),
            None,
        );
        assert!(c.contains("the `tests` step failed"));
        assert!(c.contains("````text\nE\n```\nboom\n````"), "{c}");
        assert!(!c.contains("Proposed diff"));
    }

    #[test]
    fn pr_body_links_the_issue_and_shows_diff_and_tests() {
        let mut r = Report::new("etl", Severity::Error, ReportKind::Error, "boom");
        r.signature = "sig-1".into();
        let d = Diagnosis::new(Category::Code, "add() subtracts", 0.93);
        let meta = IssueMetadata::new(&r, Some(&d));
        let changes = vec![FileChange {
            path: "calc.py".into(),
            old_path: None,
            before: Some("return a - b\n".into()),
            after: Some("return a + b\n".into()),
            mode: None,
        }];
        let tests = TestRun {
            command: "python3 -m unittest".into(),
            status: TestStatus::Passed,
            duration: Duration::from_millis(1500),
            output: "...\nOK".into(),
            truncated: false,
        };
        let body = pr_body(PrBodyParts {
            issue_number: 7,
            meta: &meta,
            changes: &changes,
            tests: &tests,
            model_note: Some("claude-x, $0.0100"),
        });
        assert!(body.starts_with("Fixes #7\n"));
        assert!(body.contains("**CODE**, confidence 0.93, flow `etl`"));
        assert!(body.contains("| `calc.py` | 1 | 1 |"));
        assert!(body.contains("-return a - b\n+return a + b"));
        assert!(body.contains("`python3 -m unittest` passed in 1.5s."));
        assert!(body.contains("failure `sig-1` (claude-x, $0.0100)"));
    }
}
