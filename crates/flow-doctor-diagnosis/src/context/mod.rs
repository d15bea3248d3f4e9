//! Context assembly: the LLM prompt for a report.
//!
//! [`gather`] reads what the report points at: source excerpts around each
//! in-app frame (files inside `diagnosis.repo_path`, default the current
//! directory; paths that resolve outside it, symlinks included, are never
//! read) and, with feature `git`, git context (branch, HEAD, recent commits
//! touching the frames' files, files changed since the flow's last
//! successful run when a success report carried a `git_commit` context key).
//! Everything it reads passes through [`DiagnoseContext::scrubber`].
//!
//! [`build_prompt`] is a pure function of the (already scrubbed) report and
//! that context. The prompt is bounded by `diagnosis.max_prompt_tokens`,
//! estimated at 4 characters per token ([`estimate_tokens`]). When it is too
//! large, parts are dropped in this order until it fits, and the prompt
//! says what was dropped:
//! 1. captured log lines, oldest first;
//! 2. recent commits, oldest first;
//! 3. source excerpts, outermost frame first (the innermost is kept);
//! 4. finally the text is cut at the budget.
//!
//! `flow-doctor diagnose --show-prompt` prints the exact prompt.

#[cfg(feature = "git")]
pub mod git;
#[cfg(test)]
mod tests;

use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

use flow_doctor_core::config::DiagnosisConfig;
use flow_doctor_core::store::ReportQuery;
use flow_doctor_core::{DiagnoseContext, Report, ReportKind, Scrubber};

use crate::answer::SYSTEM_PROMPT;

/// Lines of source around one frame.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceExcerpt {
    /// Repository-relative path.
    pub file: String,
    /// Function of the frame.
    pub function: String,
    /// The frame's line (1-based).
    pub line: u32,
    /// Number of the first line in `lines`.
    pub first_line: u32,
    /// The lines, scrubbed.
    pub lines: Vec<String>,
}

/// One commit, for the prompt.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommitInfo {
    /// Short id.
    pub id: String,
    /// Commit date, `YYYY-MM-DD`.
    pub date: String,
    /// First line of the message, scrubbed.
    pub summary: String,
    /// Files of interest it touched (repository-relative).
    pub files: Vec<String>,
}

/// Files changed between the last successful run and HEAD.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangedSince {
    /// Short id of the last good commit.
    pub commit: String,
    /// Changed files (repository-relative), at most [`MAX_CHANGED_FILES`].
    pub files: Vec<String>,
    /// How many changed in total.
    pub total: usize,
}

/// Most changed files listed.
pub const MAX_CHANGED_FILES: usize = 50;

/// Git state of the repository, for the prompt.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GitContext {
    /// Current branch (`None` when detached).
    pub branch: Option<String>,
    /// HEAD, short id and summary.
    pub head: Option<CommitInfo>,
    /// Recent commits touching the frames' files, newest first.
    pub recent_commits: Vec<CommitInfo>,
    /// Files changed since the last good run, when known.
    pub changed_since_last_good: Option<ChangedSince>,
}

/// What [`gather`] found besides the report.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PromptContext {
    /// Source excerpts, innermost frame first.
    pub excerpts: Vec<SourceExcerpt>,
    /// Git context, when the repository is a git checkout (feature `git`).
    pub git: Option<GitContext>,
}

/// A prompt ready to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prompt {
    /// The system prompt.
    pub system: String,
    /// The user message.
    pub user: String,
    /// Estimated tokens of both.
    pub estimated_tokens: usize,
    /// What was dropped to fit the budget, in words.
    pub trimmed: Vec<String>,
}

/// Estimated tokens of `text`: one per 4 bytes, rounded up.
pub fn estimate_tokens(text: &str) -> usize {
    text.len().div_ceil(4)
}

/// Most frames listed.
const MAX_FRAMES: usize = 40;
/// Most excerpts read.
const MAX_EXCERPTS: usize = 6;
/// Largest source file read for an excerpt.
const MAX_SOURCE_BYTES: u64 = 2 << 20;
/// Longest message kept, in characters.
const MAX_MESSAGE_CHARS: usize = 4000;
/// Longest raw traceback kept (only when no frames were parsed).
const MAX_TRACEBACK_CHARS: usize = 6000;

/// Builds the prompt for `report` with `extra` context within
/// `max_prompt_tokens`. Pure: same input, same prompt.
pub fn build_prompt(report: &Report, extra: &PromptContext, max_prompt_tokens: usize) -> Prompt {
    let system = SYSTEM_PROMPT.to_string();
    let budget = max_prompt_tokens.saturating_sub(estimate_tokens(&system));
    let total_logs = report.logs.len();
    let total_commits = extra.git.as_ref().map_or(0, |g| g.recent_commits.len());
    let total_excerpts = extra.excerpts.len();
    let mut keep = Keep {
        logs_from: 0,
        commits: total_commits,
        excerpts: total_excerpts,
    };
    let notes = |keep: &Keep| {
        let mut out = Vec::new();
        if keep.logs_from > 0 {
            out.push(format!(
                "{} of {total_logs} log lines (oldest)",
                keep.logs_from
            ));
        }
        if keep.commits < total_commits {
            out.push(format!(
                "{} of {total_commits} commits (oldest)",
                total_commits - keep.commits
            ));
        }
        if keep.excerpts < total_excerpts {
            out.push(format!(
                "{} of {total_excerpts} source excerpts (outermost frames)",
                total_excerpts - keep.excerpts
            ));
        }
        out
    };
    let mut trimmed = notes(&keep);
    let mut user = render(report, extra, &keep, &trimmed);
    while estimate_tokens(&user) > budget {
        if keep.logs_from < total_logs {
            // Drop the older half of what is left, then line by line.
            let left = total_logs - keep.logs_from;
            keep.logs_from += (left / 2).max(1);
        } else if keep.commits > 0 {
            keep.commits -= 1;
        } else if keep.excerpts > 1 {
            keep.excerpts -= 1;
        } else {
            break;
        }
        trimmed = notes(&keep);
        user = render(report, extra, &keep, &trimmed);
    }
    if estimate_tokens(&user) > budget {
        let marker = "\n[prompt cut at the size budget]\n";
        let max_bytes = (budget * 4).saturating_sub(marker.len());
        let mut cut = max_bytes.min(user.len());
        while !user.is_char_boundary(cut) {
            cut -= 1;
        }
        user.truncate(cut);
        user.push_str(marker);
        trimmed.push("the end of the prompt (cut at the budget)".into());
    }
    let estimated_tokens = estimate_tokens(&system) + estimate_tokens(&user);
    Prompt {
        system,
        user,
        estimated_tokens,
        trimmed,
    }
}

struct Keep {
    logs_from: usize,
    commits: usize,
    excerpts: usize,
}

fn render(report: &Report, extra: &PromptContext, keep: &Keep, trimmed: &[String]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Failure");
    let _ = writeln!(out, "flow: {}", report.flow);
    if let Some(stage) = &report.stage {
        let _ = writeln!(out, "stage: {stage}");
    }
    let _ = writeln!(out, "kind: {}, severity: {}", report.kind, report.severity);
    if let Some(lang) = &report.language {
        let _ = writeln!(out, "language: {lang}");
    }
    if let Some(exit) = &report.exit {
        let mut status = Vec::new();
        if let Some(c) = exit.code {
            status.push(format!("exit code {c}"));
        }
        if let Some(s) = exit.signal {
            status.push(format!("killed by signal {s}"));
        }
        if exit.timed_out {
            status.push("killed after its timeout".into());
        }
        if !exit.command.is_empty() {
            let _ = writeln!(out, "command: {}", exit.command);
        }
        let _ = writeln!(
            out,
            "exit: {} after {:.1}s",
            if status.is_empty() {
                "unknown".to_string()
            } else {
                status.join(", ")
            },
            exit.duration_ms as f64 / 1000.0
        );
    }
    if report.dedup_count > 1 {
        let _ = writeln!(
            out,
            "occurrences: {} since {}",
            report.dedup_count,
            report.first_seen.format("%Y-%m-%d %H:%M UTC")
        );
    }

    let _ = writeln!(out, "\n## Error");
    let _ = writeln!(out, "{}", report.headline());
    let rest: Vec<&str> = report.message.lines().skip(1).collect();
    if !rest.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            flow_doctor_core::model::truncate_chars(&rest.join("\n"), MAX_MESSAGE_CHARS)
        );
    }
    if !report.source_chain.is_empty() {
        let _ = writeln!(out, "\n## Caused by (outermost first)");
        for cause in &report.source_chain {
            let _ = writeln!(
                out,
                "- {}",
                flow_doctor_core::model::truncate_chars(cause, 1000)
            );
        }
    }

    if !report.frames.is_empty() {
        let _ = writeln!(out, "\n## Stack frames (innermost first)");
        for (i, f) in report.frames.iter().take(MAX_FRAMES).enumerate() {
            let line = f.line.map(|l| format!(":{l}")).unwrap_or_default();
            let _ = writeln!(
                out,
                "{}. {}{} in {} [{}]",
                i + 1,
                f.file,
                line,
                f.function,
                if f.in_app { "app" } else { "library" }
            );
        }
        if report.frames.len() > MAX_FRAMES {
            let _ = writeln!(out, "... {} more frames", report.frames.len() - MAX_FRAMES);
        }
    } else if let Some(tb) = &report.traceback {
        let _ = writeln!(out, "\n## Output (tail)");
        let _ = writeln!(
            out,
            "```\n{}\n```",
            tail_chars(tb.trim_end(), MAX_TRACEBACK_CHARS)
        );
    }

    let excerpts = &extra.excerpts[..keep.excerpts.min(extra.excerpts.len())];
    if !excerpts.is_empty() {
        let _ = writeln!(out, "\n## Source excerpts");
        for x in excerpts {
            let _ = writeln!(out, "### {}:{} ({})", x.file, x.line, x.function);
            let _ = writeln!(out, "```");
            let width = (x.first_line as usize + x.lines.len()).to_string().len();
            for (i, text) in x.lines.iter().enumerate() {
                let n = x.first_line as usize + i;
                let mark = if n == x.line as usize { '>' } else { ' ' };
                let _ = writeln!(out, "{mark}{n:>width$} | {text}");
            }
            let _ = writeln!(out, "```");
        }
    }

    if let Some(git) = &extra.git {
        let _ = writeln!(out, "\n## Git");
        match (&git.branch, &git.head) {
            (Some(b), Some(h)) => {
                let _ = writeln!(out, "branch {b}, HEAD {} \"{}\"", h.id, h.summary);
            }
            (None, Some(h)) => {
                let _ = writeln!(out, "detached HEAD {} \"{}\"", h.id, h.summary);
            }
            (Some(b), None) => {
                let _ = writeln!(out, "branch {b}, no commits");
            }
            (None, None) => {}
        }
        if let Some(changed) = &git.changed_since_last_good {
            if changed.total == 0 {
                let _ = writeln!(
                    out,
                    "No files changed since the last successful run ({}).",
                    changed.commit
                );
            } else {
                let more = changed.total.saturating_sub(changed.files.len());
                let _ = writeln!(
                    out,
                    "Files changed since the last successful run ({}): {}{}",
                    changed.commit,
                    changed.files.join(", "),
                    if more > 0 {
                        format!(" and {more} more")
                    } else {
                        String::new()
                    }
                );
            }
        }
        let commits = &git.recent_commits[..keep.commits.min(git.recent_commits.len())];
        if !commits.is_empty() {
            let _ = writeln!(
                out,
                "Recent commits touching the frames' files (newest first):"
            );
            for c in commits {
                let _ = writeln!(
                    out,
                    "- {} {} \"{}\" ({})",
                    c.id,
                    c.date,
                    c.summary,
                    c.files.join(", ")
                );
            }
        }
    }

    if !report.context.is_empty() {
        let _ = writeln!(out, "\n## Context");
        for (k, v) in &report.context {
            let _ = writeln!(
                out,
                "{k}: {}",
                flow_doctor_core::model::truncate_chars(v, 500)
            );
        }
    }

    let logs = &report.logs[keep.logs_from.min(report.logs.len())..];
    if !logs.is_empty() {
        let _ = writeln!(out, "\n## Captured logs (oldest first)");
        for l in logs {
            let _ = writeln!(
                out,
                "{} {} {}: {}",
                l.at.format("%H:%M:%S%.3f"),
                l.level,
                l.target,
                flow_doctor_core::model::truncate_chars(&l.message, 1000)
            );
        }
    }

    if !trimmed.is_empty() {
        let _ = writeln!(
            out,
            "\n[trimmed to fit the prompt budget: dropped {}]",
            trimmed.join("; ")
        );
    }
    out
}

fn tail_chars(s: &str, max: usize) -> String {
    let count = s.chars().count();
    if count <= max {
        return s.to_string();
    }
    let tail: String = s.chars().skip(count - max + 1).collect();
    format!("…{tail}")
}

/// Reads source excerpts (and git context with feature `git`) for
/// `report`, scrubbed. Runs file and git I/O on the blocking pool.
pub async fn gather(
    report: &Report,
    cfg: &DiagnosisConfig,
    ctx: &DiagnoseContext,
) -> PromptContext {
    let last_good = last_good_commit(report, ctx).await;
    let root = cfg
        .repo_path
        .clone()
        .or_else(|| std::env::current_dir().ok());
    let Some(root) = root else {
        return PromptContext::default();
    };
    let frames = report.frames.clone();
    let lines = cfg.source_context_lines;
    let scrubber = ctx.scrubber.clone();
    let job = move || gather_blocking(&root, &frames, lines, last_good.as_deref(), &scrubber);
    match tokio::task::spawn_blocking(job).await {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!(message = "Reading source context failed.", error = %e);
            PromptContext::default()
        }
    }
}

/// The blocking part of [`gather`]: excerpts, then git.
pub fn gather_blocking(
    root: &Path,
    frames: &[flow_doctor_core::Frame],
    context_lines: usize,
    last_good_commit: Option<&str>,
    scrubber: &Scrubber,
) -> PromptContext {
    let Ok(root) = root.canonicalize() else {
        return PromptContext::default();
    };
    let mut excerpts: Vec<SourceExcerpt> = Vec::new();
    let mut files: Vec<String> = Vec::new();
    for frame in frames.iter().filter(|f| f.in_app) {
        let Some((path, rel)) = resolve_in_repo(&root, &frame.file) else {
            continue;
        };
        if !files.contains(&rel) {
            files.push(rel.clone());
        }
        if excerpts.len() >= MAX_EXCERPTS
            || excerpts
                .iter()
                .any(|x| x.file == rel && Some(x.line) == frame.line)
        {
            continue;
        }
        if let Some(line) = frame.line
            && let Some(x) =
                read_excerpt(&path, &rel, &frame.function, line, context_lines, scrubber)
        {
            excerpts.push(x);
        }
    }
    #[cfg(feature = "git")]
    let git = git::collect(&root, &files, last_good_commit, scrubber);
    #[cfg(not(feature = "git"))]
    let git = {
        let _ = last_good_commit;
        None
    };
    PromptContext { excerpts, git }
}

/// The `git_commit` of the flow's latest success report, if any.
async fn last_good_commit(report: &Report, ctx: &DiagnoseContext) -> Option<String> {
    let query = ReportQuery {
        flow: Some(report.flow.clone()),
        kind: Some(ReportKind::Success),
        limit: Some(20),
        ..ReportQuery::default()
    };
    match ctx.store.list_reports(&query).await {
        Ok(reports) => reports
            .into_iter()
            .find_map(|r| r.context.get("git_commit").cloned())
            .filter(|c| !c.trim().is_empty()),
        Err(e) => {
            tracing::warn!(message = "Could not look up the last successful run.", error = %e.chain_string());
            None
        }
    }
}

/// Resolves a frame's file inside `root` (canonical). Absolute paths from
/// another machine (a container's `/app/...`) are tried with leading
/// components stripped. Returns the canonical path and the
/// repository-relative display path, or `None` when the file is not a
/// regular file inside `root` (symlinks resolved first).
pub fn resolve_in_repo(root: &Path, file: &str) -> Option<(PathBuf, String)> {
    let p = Path::new(file);
    if file.is_empty() || file.starts_with('<') {
        return None;
    }
    let mut candidates: Vec<PathBuf> = Vec::new();
    if p.is_absolute() {
        candidates.push(p.to_path_buf());
        let parts: Vec<&std::ffi::OsStr> = p
            .components()
            .filter_map(|c| match c {
                Component::Normal(s) => Some(s),
                _ => None,
            })
            .collect();
        for skip in 0..parts.len() {
            candidates.push(root.join(parts[skip..].iter().collect::<PathBuf>()));
        }
    } else {
        candidates.push(root.join(p));
    }
    candidates.into_iter().find_map(|c| {
        let canon = c.canonicalize().ok()?;
        let rel = canon.strip_prefix(root).ok()?;
        if !canon.is_file() {
            return None;
        }
        let rel = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        Some((canon, rel))
    })
}

fn read_excerpt(
    path: &Path,
    rel: &str,
    function: &str,
    line: u32,
    context_lines: usize,
    scrubber: &Scrubber,
) -> Option<SourceExcerpt> {
    let meta = std::fs::metadata(path).ok()?;
    if meta.len() > MAX_SOURCE_BYTES {
        return None;
    }
    let bytes = std::fs::read(path).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    let all: Vec<&str> = text.lines().collect();
    let idx = (line as usize).checked_sub(1)?;
    if idx >= all.len() {
        return None;
    }
    let first = idx.saturating_sub(context_lines);
    let last = (idx + context_lines).min(all.len() - 1);
    let window = all[first..=last].join("\n");
    let scrubbed = scrubber.scrub(&window);
    Some(SourceExcerpt {
        file: scrubber.scrub(rel).into_owned(),
        function: function.to_string(),
        line,
        first_line: first as u32 + 1,
        lines: scrubbed.lines().map(str::to_string).collect(),
    })
}
