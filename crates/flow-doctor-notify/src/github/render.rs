//! Markdown for GitHub issue bodies and comments.

use std::fmt::Write as _;

use flow_doctor_core::metadata::IssueMetadata;
use flow_doctor_core::notify::{Digest, Incident, RemediationNotice};
use flow_doctor_core::{Diagnosis, Report};

use crate::util::{truncate_end, truncate_middle, when};

/// GitHub's limit for an issue or comment body, in characters.
pub const BODY_LIMIT: usize = 65_536;
/// Room left for the occurrence line to grow and for fences and headings.
const SLACK: usize = 1_000;
/// Marks the line a recurrence rewrites.
const OCCURRENCES: &str = "**Occurrences:** ";
const LATEST: &str = "latest incident `";

/// The body of a new issue for an incident: summary, occurrence count,
/// error, cascade source, diagnosis, traceback, logs, context, process
/// exit, and the metadata block `generate-fix` parses, last.
pub fn issue_body(i: &Incident, occurrences: u64) -> String {
    let r = &i.report;
    let meta = IssueMetadata::new(r, i.diagnosis.as_ref()).render();

    let mut head = String::new();
    summary(&mut head, r);
    head.push('\n');
    head.push_str(&occurrence_line(occurrences, r));
    head.push_str("\n\n");
    error_section(&mut head, r);
    if let Some(c) = &r.cascade_source {
        let _ = writeln!(
            head,
            "### Cascade\n\nCascaded from flow {} (incident {}, {}): {}\n",
            code_span(&c.flow),
            code_span(c.report_id.as_str()),
            when(c.at),
            truncate_end(&one_line(&c.summary), 1000)
        );
    }
    match &i.diagnosis {
        Some(d) => diagnosis_section(&mut head, d),
        None => {
            if let Some(e) = &r.diagnosis_error {
                let _ = writeln!(
                    head,
                    "### Diagnosis\n\nNot diagnosed: {}\n",
                    truncate_end(&one_line(e), 1000)
                );
            }
        }
    }

    let mut tail = String::new();
    context_section(&mut tail, r);
    exit_section(&mut tail, r);
    tail.push_str(
        "---\n<sub>Filed by flow-doctor. Later occurrences of this failure are added as \
         comments on this issue, not filed again.</sub>\n\n",
    );
    tail.push_str(&meta);
    tail.push('\n');

    let fixed = chars(&head) + chars(&tail) + SLACK;
    let mut budget = BODY_LIMIT.saturating_sub(fixed);
    let mut middle = String::new();
    if let Some(tb) = &r.traceback {
        let share = if r.logs.is_empty() {
            budget
        } else {
            budget * 3 / 4
        };
        let text = truncate_middle(tb.trim_end(), share.max(200));
        let section = format!("### Traceback\n\n{}\n\n", fence(&text, ""));
        budget = budget.saturating_sub(chars(&section));
        middle.push_str(&section);
    }
    if !r.logs.is_empty() {
        let mut lines: Vec<String> = Vec::new();
        let mut used = 0;
        for l in r.logs.iter().rev() {
            let line = format!(
                "{} {:<5} {}: {}",
                l.at.format("%H:%M:%S%.3f"),
                l.level,
                l.target,
                truncate_end(&one_line(&l.message), 1000)
            );
            used += chars(&line) + 1;
            if used > budget.saturating_sub(100) {
                break;
            }
            lines.push(line);
        }
        if !lines.is_empty() {
            lines.reverse();
            let omitted = r.logs.len() - lines.len();
            let _ = write!(
                middle,
                "### Recent logs\n\n{}\n\n",
                fence(&lines.join("\n"), "")
            );
            if omitted > 0 {
                let _ = writeln!(middle, "_{omitted} earlier log lines left out._\n");
            }
        }
    }

    let mut body = head;
    body.push_str(&middle);
    let room = BODY_LIMIT.saturating_sub(chars(&tail) + 1);
    if chars(&body) > room {
        body = truncate_end(&body, room);
        body.push('\n');
    }
    body.push_str(&tail);
    body
}

/// The comment added when an open issue's failure occurs again.
pub fn recurrence_comment(i: &Incident, occurrences: u64) -> String {
    let r = &i.report;
    let mut out = format!(
        "**Occurred again** at {}: incident {}",
        when(r.occurred_at),
        code_span(r.id.as_str())
    );
    if !r.host.is_empty() {
        let _ = write!(out, " on {}", code_span(&r.host));
    }
    if let Some(run) = &r.run_id {
        let _ = write!(out, ", run {}", code_span(run));
    }
    out.push_str(".\n\n");
    match &i.recurrence {
        Some(rec) => {
            let _ = writeln!(
                out,
                "This failure has now occurred **{occurrences}** times in {} incidents since {}.\n",
                rec.incidents,
                when(rec.first_seen)
            );
        }
        None => {
            let _ = writeln!(
                out,
                "This failure has now occurred **{occurrences}** times.\n"
            );
        }
    }
    let _ = writeln!(
        out,
        "{}\n",
        fence(&truncate_end(&r.headline(), 2000), "text")
    );
    if let Some(d) = &i.diagnosis {
        let _ = writeln!(
            out,
            "**Diagnosis:** {} ({:.0}% confidence): {}\n",
            d.category,
            d.confidence * 100.0,
            truncate_end(&one_line(&d.root_cause), 1000)
        );
    }
    if let Some(tb) = &r.traceback {
        let _ = writeln!(
            out,
            "<details><summary>Traceback</summary>\n\n{}\n\n</details>",
            fence(&truncate_middle(tb.trim_end(), 8000), "")
        );
    }
    out
}

/// The comment telling an issue that a remediation ran.
pub fn remediation_comment(n: &RemediationNotice) -> String {
    let a = &n.action;
    let mut out = format!(
        "**Auto-remediation {}:** {} (incident {}, {}).\n",
        a.status.as_str(),
        code_span(&a.target),
        code_span(n.report.id.as_str()),
        when(a.finished_at)
    );
    if !a.detail.is_empty() {
        let _ = write!(out, "\n{}\n", fence(&truncate_middle(&a.detail, 8000), ""));
    }
    if let Some(url) = &a.url {
        let _ = write!(out, "\n{url}\n");
    }
    out
}

/// The body of a digest issue.
pub fn digest_body(d: &Digest) -> String {
    let mut out = format!(
        "{} held-back report{} in {} flow{}",
        d.total(),
        if d.total() == 1 { "" } else { "s" },
        d.flows.len(),
        if d.flows.len() == 1 { "" } else { "s" }
    );
    if let Some(since) = d.since {
        let _ = write!(out, " since {}", when(since));
    }
    let _ = writeln!(out, " (built {}).\n", when(d.generated_at));
    for f in &d.flows {
        let _ = writeln!(out, "### {} ({} held back)\n", cell(&f.flow), f.total);
        out.push_str("| Count | Failure | Why held back | First seen | Last seen | Diagnosis |\n");
        out.push_str("|---:|---|---|---|---|---|\n");
        for s in &f.signatures {
            let reasons = s.reasons();
            let diagnosis = match (s.category, &s.root_cause) {
                (Some(c), Some(rc)) => format!("{c}: {}", truncate_end(rc, 200)),
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                s.count,
                cell(&truncate_end(&s.headline, 200)),
                reasons,
                when(s.first_seen),
                when(s.last_seen),
                cell(&diagnosis)
            );
        }
        out.push('\n');
    }
    if chars(&out) > BODY_LIMIT {
        out = truncate_end(&out, BODY_LIMIT);
    }
    out
}

/// The occurrence line of an issue body.
pub fn occurrence_line(occurrences: u64, r: &Report) -> String {
    format!(
        "{OCCURRENCES}{occurrences} · last seen {} · {LATEST}{}`",
        when(r.last_seen.max(r.occurred_at)),
        r.id
    )
}

/// Reads the occurrence count and the latest incident id back from a body.
pub fn parse_occurrences(body: &str) -> Option<(u64, Option<String>)> {
    let line = body.lines().find(|l| l.starts_with(OCCURRENCES))?;
    let rest = &line[OCCURRENCES.len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let count = digits.parse().ok()?;
    let latest = line.find(LATEST).and_then(|at| {
        let after = &line[at + LATEST.len()..];
        after.find('`').map(|end| after[..end].to_string())
    });
    Some((count, latest))
}

/// `body` with its occurrence line replaced by `line` (inserted before the
/// metadata block when missing). The metadata block is left untouched.
pub fn with_occurrences(body: &str, line: &str) -> String {
    let start = if body.starts_with(OCCURRENCES) {
        Some(0)
    } else {
        body.find(&format!("\n{OCCURRENCES}")).map(|at| at + 1)
    };
    if let Some(start) = start {
        let end = body[start..]
            .find(['\r', '\n'])
            .map(|e| start + e)
            .unwrap_or(body.len());
        return format!("{}{line}{}", &body[..start], &body[end..]);
    }
    match body.find("<!-- flow-doctor:metadata") {
        Some(at) => format!("{}{line}\n\n{}", &body[..at], &body[at..]),
        None => format!("{body}\n\n{line}\n"),
    }
}

fn summary(out: &mut String, r: &Report) {
    out.push_str("| | |\n|---|---|\n");
    let _ = writeln!(out, "| **Flow** | {} |", code_span(&cell(&r.flow)));
    let _ = writeln!(out, "| **Severity** | {} |", r.severity);
    let _ = writeln!(out, "| **Kind** | {} |", r.kind);
    if let Some(stage) = &r.stage {
        let _ = writeln!(out, "| **Stage** | {} |", code_span(&cell(stage)));
    }
    if let Some(run) = &r.run_id {
        let _ = writeln!(out, "| **Run** | {} |", code_span(&cell(run)));
    }
    if !r.host.is_empty() {
        let _ = writeln!(out, "| **Host** | {} |", code_span(&cell(&r.host)));
    }
    let _ = writeln!(out, "| **First seen** | {} |", when(r.first_seen));
    let _ = writeln!(out, "| **Incident** | {} |", code_span(r.id.as_str()));
    let _ = writeln!(
        out,
        "| **Signature** | {} |",
        code_span(&cell(&r.signature))
    );
    if !r.fingerprint.is_empty() {
        let _ = writeln!(
            out,
            "| **Fingerprint** | {} |",
            code_span(&cell(&truncate_end(&r.fingerprint, 300)))
        );
    }
}

fn error_section(out: &mut String, r: &Report) {
    out.push_str("### Error\n\n");
    let _ = writeln!(
        out,
        "{}\n",
        fence(&truncate_end(r.headline().trim(), 4000), "text")
    );
    if !r.source_chain.is_empty() {
        out.push_str("Caused by:\n");
        for cause in r.source_chain.iter().take(20) {
            let _ = writeln!(out, "- {}", code_span(&truncate_end(&one_line(cause), 500)));
        }
        out.push('\n');
    }
}

fn diagnosis_section(out: &mut String, d: &Diagnosis) {
    out.push_str("### Diagnosis\n\n");
    let _ = write!(
        out,
        "**Category:** {} · **Confidence:** {:.0}% · **Source:** {}",
        d.category,
        d.confidence * 100.0,
        d.source
    );
    if let Some(model) = &d.model {
        let _ = write!(out, " ({})", code_span(model));
    }
    if let Some(pattern) = &d.pattern {
        let _ = write!(out, " (pattern {})", code_span(pattern));
    }
    out.push_str("\n\n");
    let _ = writeln!(
        out,
        "**Root cause:** {}\n",
        truncate_end(d.root_cause.trim(), 4000)
    );
    if !d.remediation.is_empty() {
        let _ = writeln!(
            out,
            "**Remediation:** {}\n",
            truncate_end(d.remediation.trim(), 4000)
        );
    }
    if !d.affected_files.is_empty() {
        out.push_str("**Affected files:**\n");
        for f in d.affected_files.iter().take(50) {
            let _ = writeln!(out, "- {}", code_span(&truncate_end(f, 300)));
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "**Auto-fixable:** {}\n",
        if d.auto_fixable { "yes" } else { "no" }
    );
    if let Some(reasoning) = &d.reasoning {
        let _ = writeln!(
            out,
            "<details><summary>Reasoning</summary>\n\n{}\n\n</details>\n",
            truncate_end(reasoning.trim(), 3000)
        );
    }
    if !d.alternative_hypotheses.is_empty() {
        out.push_str("Other explanations considered:\n");
        for h in d.alternative_hypotheses.iter().take(10) {
            let _ = writeln!(out, "- {}", truncate_end(&one_line(h), 500));
        }
        out.push('\n');
    }
}

fn context_section(out: &mut String, r: &Report) {
    if r.context.is_empty() {
        return;
    }
    let mut section = String::from("### Context\n\n| Key | Value |\n|---|---|\n");
    let mut left_out = 0;
    for (k, v) in &r.context {
        let row = format!(
            "| {} | {} |\n",
            code_span(&cell(&truncate_end(k, 100))),
            code_span(&cell(&truncate_end(v, 300)))
        );
        if chars(&section) + chars(&row) > 8_000 {
            left_out += 1;
            continue;
        }
        section.push_str(&row);
    }
    out.push_str(&section);
    if left_out > 0 {
        let _ = writeln!(out, "\n_{left_out} more context entries left out._");
    }
    out.push('\n');
}

fn exit_section(out: &mut String, r: &Report) {
    let Some(e) = &r.exit else { return };
    out.push_str("### Process\n\n");
    let _ = writeln!(
        out,
        "- command: {}",
        code_span(&truncate_end(&one_line(&e.command), 1000))
    );
    if let Some(code) = e.code {
        let _ = writeln!(out, "- exit code: {code}");
    }
    if let Some(signal) = e.signal {
        let _ = writeln!(out, "- signal: {signal}");
    }
    if e.timed_out {
        out.push_str("- killed after exceeding its timeout\n");
    }
    let _ = writeln!(out, "- duration: {:.1}s\n", e.duration_ms as f64 / 1000.0);
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Escapes a table cell: `|` would end the cell, a newline the row.
fn cell(s: &str) -> String {
    one_line(s).replace('|', "\\|")
}

/// A fenced code block whose fence is longer than any backtick run inside.
fn fence(content: &str, lang: &str) -> String {
    let ticks = "`".repeat((longest_run(content, '`') + 1).max(3));
    format!("{ticks}{lang}\n{content}\n{ticks}")
}

/// An inline code span that survives backticks inside (and keeps
/// `@mentions` and `#refs` from linking).
fn code_span(s: &str) -> String {
    let ticks = "`".repeat(longest_run(s, '`') + 1);
    if s.starts_with('`') || s.ends_with('`') {
        format!("{ticks} {s} {ticks}")
    } else {
        format!("{ticks}{s}{ticks}")
    }
}

fn longest_run(s: &str, c: char) -> usize {
    let mut best = 0;
    let mut run = 0;
    for ch in s.chars() {
        if ch == c {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use flow_doctor_core::model::{LogLine, ReportKind};
    use flow_doctor_core::{Category, Severity};

    fn incident(traceback: String) -> Incident {
        let mut r = Report::new("etl", Severity::Error, ReportKind::Error, "boom | `x`");
        r.error_type = Some("KeyError".into());
        r.signature = "abc123".into();
        r.traceback = Some(traceback);
        r.context.insert("table".into(), "users|orders".into());
        r.logs.push(LogLine {
            at: r.occurred_at,
            level: "INFO".into(),
            target: "etl".into(),
            message: "loading".into(),
        });
        let mut d = Diagnosis::new(Category::Code, "missing key", 0.93);
        d.affected_files = vec!["etl/load.py".into()];
        Incident {
            report: r,
            diagnosis: Some(d),
            recurrence: None,
            links: vec![],
        }
    }

    #[test]
    fn body_carries_everything_and_ends_with_metadata() {
        let i = incident(
            "Traceback (most recent call last):\n  File \"etl/load.py\"\nKeyError: 'id'".into(),
        );
        let body = issue_body(&i, 1);
        for needle in [
            "**Category:** CODE",
            "93%",
            "missing key",
            "`etl/load.py`",
            "### Traceback",
            "KeyError: 'id'",
            "### Recent logs",
            "loading",
            "users\\|orders",
            "**Occurrences:** 1",
        ] {
            assert!(body.contains(needle), "missing {needle}:\n{body}");
        }
        let meta = IssueMetadata::parse(&body).unwrap();
        assert_eq!(meta.signature, "abc123");
        assert_eq!(meta.affected_files, vec!["etl/load.py".to_string()]);
        assert!(body.trim_end().ends_with("-->"));
    }

    #[test]
    fn huge_traceback_is_cut_to_the_limit_keeping_metadata() {
        let tb: String = (0..20_000).map(|n| format!("  frame {n}\n")).collect();
        let body = issue_body(&incident(tb), 1);
        assert!(chars(&body) <= BODY_LIMIT, "{}", chars(&body));
        assert!(body.contains("characters omitted"));
        assert!(
            body.contains("frame 19999"),
            "the innermost frames are kept"
        );
        assert_eq!(IssueMetadata::parse(&body).unwrap().flow, "etl");
    }

    #[test]
    fn occurrence_line_round_trips_and_is_replaced_in_place() {
        let i = incident("tb".into());
        let body = issue_body(&i, 1);
        let (count, latest) = parse_occurrences(&body).unwrap();
        assert_eq!(count, 1);
        assert_eq!(latest.as_deref(), Some(i.report.id.as_str()));
        let updated = with_occurrences(&body, &occurrence_line(7, &i.report));
        assert_eq!(parse_occurrences(&updated).unwrap().0, 7);
        assert_eq!(
            IssueMetadata::parse(&updated).unwrap(),
            IssueMetadata::parse(&body).unwrap()
        );
        assert_eq!(updated.lines().count(), body.lines().count());
        // a body whose line was edited away gets it back before the metadata
        let bare = "text\n\n<!-- flow-doctor:metadata\n{}\n-->";
        let fixed = with_occurrences(bare, "**Occurrences:** 3");
        assert!(
            fixed.starts_with("text\n\n**Occurrences:** 3\n\n<!--"),
            "{fixed}"
        );
    }

    #[test]
    fn fences_survive_backticks() {
        assert_eq!(fence("a ``` b", ""), "````\na ``` b\n````");
        assert_eq!(code_span("a`b"), "``a`b``");
        assert_eq!(code_span("`x"), "`` `x ``");
    }
}
