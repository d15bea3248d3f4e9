//! The offline knowledge base: a free, network-less [`Diagnoser`].
//!
//! Lookup order, first hit wins:
//! 1. a pattern learned for the report's exact signature (from feedback),
//!    read from the [`Store`];
//! 2. user pattern files (`diagnosis.patterns`, YAML or TOML);
//! 3. the built-in library (`src/kb/builtin.yaml`, compiled in).
//!
//! Within 2 and 3 the most confident matching pattern wins (ties: the
//! earlier one). Every hit is counted in the store: learned patterns with
//! [`Store::record_pattern_hit`],
//! user and built-in ones the same way after mirroring them once per process
//! as a [`KnownPattern`] row (origin `user` / `builtin`), so `patterns()`
//! shows hit counts and last-seen times for every kind.
//!
//! ```
//! use flow_doctor_core::{Report, ReportKind, Severity};
//! use flow_doctor_diagnosis::kb::KnowledgeBase;
//!
//! let kb = KnowledgeBase::new()?;
//! let mut report = Report::new("etl", Severity::Error, ReportKind::Error,
//!     "[Errno 28] No space left on device");
//! report.error_type = Some("OSError".into());
//! let hit = kb.match_report(&report).expect("a built-in pattern matches");
//! assert_eq!(hit.diagnosis.category.as_str(), "INFRA");
//! assert_eq!(hit.pattern, "disk-full-typed");
//! # Ok::<(), flow_doctor_core::Error>(())
//! ```

mod pattern;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::path::Path;
use std::sync::{LazyLock, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use flow_doctor_core::config::DiagnosisConfig;
use flow_doctor_core::{
    Category, DiagnoseContext, DiagnoseOutcome, Diagnoser, Diagnosis, DiagnosisSource, Error,
    KnownPattern, PatternOrigin, Report, Result, Store,
};

pub use pattern::{
    CompiledPattern, OneOrMany, PatternSpec, Specificity, TRACEBACK_ONLY_PENALTY,
    load_pattern_file, parse_patterns,
};

/// The built-in library's source text (YAML).
pub const BUILTIN_PATTERNS_YAML: &str = include_str!("builtin.yaml");

static BUILTIN: LazyLock<std::result::Result<Vec<CompiledPattern>, String>> = LazyLock::new(|| {
    parse_patterns(BUILTIN_PATTERNS_YAML, false, "built-in library").map_err(|e| e.to_string())
});

/// The built-in patterns, compiled once per process.
pub fn builtin_patterns() -> Result<&'static [CompiledPattern]> {
    BUILTIN
        .as_ref()
        .map(Vec::as_slice)
        .map_err(|e| Error::config("knowledge_base", e.clone()))
}

/// A knowledge-base match.
#[derive(Clone, Debug, PartialEq)]
pub struct KbMatch {
    /// Name of the pattern that matched.
    pub pattern: String,
    /// Where the pattern came from.
    pub origin: PatternOrigin,
    /// The diagnosis it implies (`source` = knowledge base).
    pub diagnosis: Diagnosis,
}

/// The offline knowledge-base diagnoser (name `knowledge_base`).
#[derive(Debug)]
pub struct KnowledgeBase {
    builtin: &'static [CompiledPattern],
    user: Vec<CompiledPattern>,
    mirrored: Mutex<HashSet<String>>,
}

impl KnowledgeBase {
    /// The diagnoser's name.
    pub const NAME: &'static str = "knowledge_base";

    /// The built-in library only.
    pub fn new() -> Result<Self> {
        Ok(Self {
            builtin: builtin_patterns()?,
            user: Vec::new(),
            mirrored: Mutex::default(),
        })
    }

    /// The built-in library plus the pattern files named by
    /// `diagnosis.patterns`.
    pub fn from_config(cfg: &DiagnosisConfig) -> Result<Self> {
        let mut kb = Self::new()?;
        for path in &cfg.patterns {
            kb = kb.with_pattern_file(path)?;
        }
        Ok(kb)
    }

    /// Adds the patterns of a user file (YAML, or TOML by extension). An
    /// invalid file is an [`Error::Config`] naming the file, the pattern and
    /// the reason.
    pub fn with_pattern_file(self, path: impl AsRef<Path>) -> Result<Self> {
        let patterns = load_pattern_file(path.as_ref())?;
        self.with_patterns(patterns)
    }

    /// Adds compiled user patterns; names must be unique across user files.
    pub fn with_patterns(mut self, patterns: Vec<CompiledPattern>) -> Result<Self> {
        for p in patterns {
            if self.user.iter().any(|u| u.spec.name == p.spec.name) {
                return Err(Error::config(
                    "knowledge_base",
                    format!(
                        "pattern `{}` is defined in more than one pattern file",
                        p.spec.name
                    ),
                ));
            }
            self.user.push(p);
        }
        Ok(self)
    }

    /// How many user patterns are loaded.
    pub fn user_pattern_count(&self) -> usize {
        self.user.len()
    }

    /// Matches a report against the user patterns, then the built-in
    /// library, without touching a store. Pure and offline.
    pub fn match_report(&self, report: &Report) -> Option<KbMatch> {
        let subject = pattern::Subject::new(report);
        [
            (&self.user[..], PatternOrigin::User),
            (self.builtin, PatternOrigin::Builtin),
        ]
        .into_iter()
        .find_map(|(set, origin)| best_match(set, &subject).map(|hit| (hit, origin)))
        .map(|((p, root_cause, confidence), origin)| KbMatch {
            pattern: p.spec.name.clone(),
            origin,
            diagnosis: pattern_diagnosis(p, origin, root_cause, confidence, report),
        })
    }

    /// Counts a hit of a file pattern in the store, mirroring it as a
    /// [`KnownPattern`] row the first time this process sees it.
    async fn record_hit(&self, store: &dyn Store, hit: &KbMatch, at: DateTime<Utc>) -> Result<()> {
        let first = self
            .mirrored
            .lock()
            .map(|mut seen| seen.insert(hit.pattern.clone()))
            .unwrap_or(true);
        if first
            && let Some(p) = self
                .user
                .iter()
                .chain(self.builtin.iter())
                .find(|p| p.spec.name == hit.pattern)
        {
            store.upsert_pattern(&mirror_row(p, hit.origin, at)).await?;
        }
        store.record_pattern_hit(&hit.pattern, at).await
    }
}

#[async_trait]
impl Diagnoser for KnowledgeBase {
    fn name(&self) -> &str {
        Self::NAME
    }

    async fn diagnose(&self, report: &Report, ctx: &DiagnoseContext) -> Result<DiagnoseOutcome> {
        let now = ctx.clock.now();
        if !report.signature.is_empty() {
            match ctx.store.pattern_for_signature(&report.signature).await {
                Ok(Some(learned)) => {
                    if let Err(e) = ctx.store.record_pattern_hit(&learned.name, now).await {
                        tracing::warn!(message = "Could not count a pattern hit.", pattern = %learned.name, error = %e.chain_string());
                    }
                    return Ok(DiagnoseOutcome::Diagnosed(learned_diagnosis(&learned, now)));
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(message = "Could not read learned patterns; using the pattern files only.", error = %e.chain_string());
                }
            }
        }
        let Some(mut hit) = self.match_report(report) else {
            return Ok(DiagnoseOutcome::NoMatch);
        };
        hit.diagnosis.created_at = now;
        if let Err(e) = self.record_hit(ctx.store.as_ref(), &hit, now).await {
            tracing::warn!(message = "Could not count a pattern hit.", pattern = %hit.pattern, error = %e.chain_string());
        }
        Ok(DiagnoseOutcome::Diagnosed(hit.diagnosis))
    }
}

/// The diagnosis a learned (exact-signature) pattern implies.
pub fn learned_diagnosis(p: &KnownPattern, at: DateTime<Utc>) -> Diagnosis {
    let mut d = Diagnosis::new(p.category, p.root_cause.clone(), p.confidence);
    d.remediation = p.remediation.clone();
    d.source = DiagnosisSource::KnowledgeBase;
    d.pattern = Some(p.name.clone());
    d.reasoning = Some(format!(
        "same signature as a diagnosis confirmed before ({} pattern `{}`, {} earlier hits)",
        p.origin.as_str(),
        p.name,
        p.hit_count
    ));
    d.created_at = at;
    d
}

type Hit<'p> = (&'p CompiledPattern, String, f64);

fn best_match<'p>(set: &'p [CompiledPattern], subject: &pattern::Subject<'_>) -> Option<Hit<'p>> {
    let mut best: Option<Hit<'p>> = None;
    for p in set {
        if let Some((root_cause, confidence)) = p.matches(subject)
            && best.as_ref().is_none_or(|(_, _, c)| confidence > *c)
        {
            best = Some((p, root_cause, confidence));
        }
    }
    best
}

fn pattern_diagnosis(
    p: &CompiledPattern,
    origin: PatternOrigin,
    root_cause: String,
    confidence: f64,
    report: &Report,
) -> Diagnosis {
    let mut d = Diagnosis::new(p.spec.category, root_cause, confidence);
    d.remediation = p.spec.remediation.clone();
    d.auto_fixable = p.spec.auto_fixable;
    d.source = DiagnosisSource::KnowledgeBase;
    d.pattern = Some(p.spec.name.clone());
    let mut why = vec![];
    if let Some(t) = &p.spec.error_type {
        why.push(match t {
            OneOrMany::One(t) => format!("error type {t}"),
            OneOrMany::Many(_) => "one of its error types".to_string(),
        });
    }
    if p.spec.message_regex.is_some() {
        why.push("its message pattern".into());
    }
    if p.spec.exit_code.is_some() || p.spec.signal.is_some() {
        why.push("the exit status".into());
    }
    d.reasoning = Some(format!(
        "matched {} pattern `{}` on {}",
        match origin {
            PatternOrigin::Builtin => "built-in",
            PatternOrigin::User => "user",
            PatternOrigin::Feedback => "learned",
        },
        p.spec.name,
        why.join(" and ")
    ));
    if p.spec.category == Category::Code {
        d.affected_files = in_app_files(report);
    }
    d
}

/// Relative in-app frame files, innermost first, at most three.
fn in_app_files(report: &Report) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for f in report.frames.iter().filter(|f| f.in_app) {
        let file = f.file.trim_start_matches("./");
        if file.is_empty()
            || file.starts_with('/')
            || file.starts_with('<')
            || file.contains(":\\")
            || file.split(['/', '\\']).any(|c| c == "..")
        {
            continue;
        }
        if !out.iter().any(|o| o == file) {
            out.push(file.to_string());
        }
        if out.len() == 3 {
            break;
        }
    }
    out
}

fn mirror_row(p: &CompiledPattern, origin: PatternOrigin, at: DateTime<Utc>) -> KnownPattern {
    KnownPattern {
        name: p.spec.name.clone(),
        signature: None,
        error_type: match &p.spec.error_type {
            Some(OneOrMany::One(t)) => Some(t.clone()),
            Some(OneOrMany::Many(ts)) if ts.len() == 1 => ts.first().cloned(),
            _ => None,
        },
        message_regex: p.spec.message_regex.clone(),
        category: p.spec.category,
        root_cause: p.spec.root_cause.clone(),
        remediation: p.spec.remediation.clone(),
        confidence: p.confidence,
        origin,
        hit_count: 0,
        last_seen: None,
        created_at: at,
    }
}
