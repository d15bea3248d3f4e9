//! Pattern files: the on-disk format of knowledge-base entries, their
//! validation and matching.

use std::path::Path;

use flow_doctor_core::{Category, Error, Report, Result};
use regex::Regex;
use serde::{Deserialize, Serialize};

/// One entry of a pattern file (the built-in library or a user file).
///
/// At least one matcher (`error_type`, `message_regex`, `exit_code`,
/// `signal`) must be set. Every matcher that is set must match; `exit_code`
/// and `signal` together match when either does.
///
/// ```yaml
/// patterns:
///   - name: warehouse-login-expired
///     error_type: snowflake.connector.errors.DatabaseError
///     message_regex: '(?i)authentication token has expired'
///     category: CONFIG
///     root_cause: The warehouse session token expired.
///     remediation: Rotate the service user's key pair.
///     confidence: 0.9
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatternSpec {
    /// Unique name, reported as the diagnosis' `pattern`.
    pub name: String,
    /// Error types (one or a list). A type matches exactly or as the last
    /// segment of a qualified name (`ConnectionError` matches
    /// `requests.exceptions.ConnectionError`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<OneOrMany<String>>,
    /// Regular expression searched in the message, the cause chain and the
    /// traceback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_regex: Option<String>,
    /// Exit codes of a wrapped process (one or a list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<OneOrMany<i32>>,
    /// Signals that killed a wrapped process (one or a list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<OneOrMany<i32>>,
    /// Languages the pattern applies to (`python`, `rust`, `jvm`, `node`,
    /// `go`, `dotnet`, `ruby`, `shell`); a report of unknown language passes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<OneOrMany<String>>,
    /// Category a match implies.
    pub category: Category,
    /// Root cause a match implies. `${name}` expands a named capture of
    /// `message_regex`.
    pub root_cause: String,
    /// What to do.
    #[serde(default)]
    pub remediation: String,
    /// Confidence of a match; defaults by specificity: 0.85 with an error
    /// type and a message regex, 0.75 with a type only, 0.65 otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// Whether a code change can fix it without a human decision.
    #[serde(default)]
    pub auto_fixable: bool,
}

/// A value written either alone or as a list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    /// One value.
    One(T),
    /// A list of values.
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    fn into_vec(self) -> Vec<T> {
        match self {
            Self::One(v) => vec![v],
            Self::Many(v) => v,
        }
    }
}

/// How specific a pattern is, which bounds its confidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Specificity {
    /// Error type and message regex.
    TypeAndMessage,
    /// Error type only.
    TypeOnly,
    /// Message regex and/or exit status, no type.
    MessageOrExit,
}

impl Specificity {
    /// The confidence range built-in patterns of this specificity must use.
    pub fn band(self) -> std::ops::RangeInclusive<f64> {
        match self {
            Self::TypeAndMessage => 0.8..=0.92,
            Self::TypeOnly => 0.7..=0.85,
            Self::MessageOrExit => 0.6..=0.78,
        }
    }

    fn default_confidence(self) -> f64 {
        match self {
            Self::TypeAndMessage => 0.85,
            Self::TypeOnly => 0.75,
            Self::MessageOrExit => 0.65,
        }
    }
}

/// A validated pattern with its regex compiled.
#[derive(Clone, Debug)]
pub struct CompiledPattern {
    /// The entry as written.
    pub spec: PatternSpec,
    /// Its effective confidence.
    pub confidence: f64,
    error_types: Vec<String>,
    regex: Option<Regex>,
    exit_codes: Vec<i32>,
    signals: Vec<i32>,
    languages: Vec<String>,
}

impl CompiledPattern {
    /// Validates and compiles one entry. `origin` names the file (or
    /// `"built-in library"`) in errors.
    pub fn compile(spec: PatternSpec, origin: &str) -> Result<Self> {
        let fail = |reason: String| {
            Error::config(
                "knowledge_base",
                format!("{origin}: pattern `{}`: {reason}", spec.name),
            )
        };
        if spec.name.trim().is_empty() {
            return Err(Error::config(
                "knowledge_base",
                format!("{origin}: a pattern has an empty `name`"),
            ));
        }
        if spec.root_cause.trim().is_empty() {
            return Err(fail("`root_cause` is empty".into()));
        }
        let regex = match &spec.message_regex {
            Some(re) => Some(Regex::new(re).map_err(|e| {
                fail(format!(
                    "invalid `message_regex` `{re}`: {}",
                    flow_doctor_core::error::regex_gist(&e.to_string())
                ))
            })?),
            None => None,
        };
        let error_types: Vec<String> = spec
            .error_type
            .clone()
            .map(OneOrMany::into_vec)
            .unwrap_or_default();
        if error_types.iter().any(|t| t.trim().is_empty()) {
            return Err(fail("`error_type` has an empty entry".into()));
        }
        let exit_codes = spec
            .exit_code
            .clone()
            .map(OneOrMany::into_vec)
            .unwrap_or_default();
        let signals = spec
            .signal
            .clone()
            .map(OneOrMany::into_vec)
            .unwrap_or_default();
        let languages = spec
            .language
            .clone()
            .map(OneOrMany::into_vec)
            .unwrap_or_default()
            .into_iter()
            .map(|l| l.to_ascii_lowercase())
            .collect();
        if error_types.is_empty() && regex.is_none() && exit_codes.is_empty() && signals.is_empty()
        {
            return Err(fail(
                "no matcher: set at least one of `error_type`, `message_regex`, `exit_code`, `signal`"
                    .into(),
            ));
        }
        let specificity = specificity(!error_types.is_empty(), regex.is_some());
        let confidence = spec
            .confidence
            .unwrap_or_else(|| specificity.default_confidence());
        if !(0.0..=1.0).contains(&confidence) {
            return Err(fail(format!(
                "`confidence` {confidence} is outside 0.0..=1.0"
            )));
        }
        Ok(Self {
            spec,
            confidence,
            error_types,
            regex,
            exit_codes,
            signals,
            languages,
        })
    }

    /// How specific the pattern is.
    pub fn specificity(&self) -> Specificity {
        specificity(!self.error_types.is_empty(), self.regex.is_some())
    }

    /// Whether the pattern matches; on a match, the expanded root cause and
    /// the confidence (lowered by [`TRACEBACK_ONLY_PENALTY`] when the
    /// message regex matched only in the raw traceback).
    pub(crate) fn matches(&self, subject: &Subject<'_>) -> Option<(String, f64)> {
        if let Some(lang) = subject.language
            && !self.languages.is_empty()
            && !self.languages.iter().any(|l| lang.eq_ignore_ascii_case(l))
        {
            return None;
        }
        if !self.exit_codes.is_empty() || !self.signals.is_empty() {
            let code_hit = subject
                .exit_code
                .is_some_and(|c| self.exit_codes.contains(&c));
            let signal_hit = subject.signal.is_some_and(|s| self.signals.contains(&s));
            if !code_hit && !signal_hit {
                return None;
            }
        }
        if !self.error_types.is_empty()
            && !self
                .error_types
                .iter()
                .any(|want| subject.has_type(want.trim()))
        {
            return None;
        }
        let mut root_cause = self.spec.root_cause.clone();
        let mut confidence = self.confidence;
        if let Some(re) = &self.regex {
            let (idx, caps) = subject
                .texts
                .iter()
                .enumerate()
                .find_map(|(i, t)| re.captures(t).map(|c| (i, c)))?;
            if idx >= subject.primary_texts {
                confidence = (confidence - TRACEBACK_ONLY_PENALTY).max(0.0);
            }
            if root_cause.contains("${") {
                let mut out = String::new();
                caps.expand(&root_cause, &mut out);
                root_cause = out;
            }
        }
        Some((root_cause, confidence))
    }
}

/// Confidence removed when a message regex matched only in the raw
/// traceback (which also holds source lines and earlier output), not in the
/// message or the cause chain.
pub const TRACEBACK_ONLY_PENALTY: f64 = 0.05;

fn specificity(has_type: bool, has_regex: bool) -> Specificity {
    match (has_type, has_regex) {
        (true, true) => Specificity::TypeAndMessage,
        (true, false) => Specificity::TypeOnly,
        _ => Specificity::MessageOrExit,
    }
}

/// The parts of a report patterns look at, computed once per report.
#[derive(Debug)]
pub(crate) struct Subject<'a> {
    /// Message, chain entries, traceback, in that order.
    texts: Vec<&'a str>,
    /// How many of `texts` are the message and the chain.
    primary_texts: usize,
    /// Error types seen: the report's, and `Type:` prefixes in the chain
    /// and the traceback.
    types: Vec<String>,
    language: Option<&'a str>,
    exit_code: Option<i32>,
    signal: Option<i32>,
}

impl<'a> Subject<'a> {
    pub(crate) fn new(report: &'a Report) -> Self {
        let mut texts: Vec<&str> = vec![report.message.as_str()];
        texts.extend(report.source_chain.iter().map(String::as_str));
        let primary_texts = texts.len();
        if let Some(tb) = &report.traceback {
            texts.push(tb.as_str());
        }
        let mut types = Vec::new();
        if let Some(t) = &report.error_type {
            types.push(t.trim().to_string());
        }
        if let Some(re) = TYPE_PREFIX.as_ref() {
            for text in &texts {
                for caps in re.captures_iter(text) {
                    if let Some(m) = caps.get(1).or_else(|| caps.get(2)) {
                        let t = m.as_str().to_string();
                        if !types.contains(&t) {
                            types.push(t);
                        }
                    }
                }
            }
        }
        let (exit_code, signal) = match &report.exit {
            Some(e) => (e.code, e.signal),
            None => (None, None),
        };
        Self {
            texts,
            primary_texts,
            types,
            language: report.language.as_deref(),
            exit_code,
            signal,
        }
    }

    fn has_type(&self, want: &str) -> bool {
        self.types.iter().any(|t| type_matches(t, want))
    }
}

/// Error types written in text: `Type: message` at the start of a line
/// (optionally after `Caused by:`, `Unhandled exception.` or `--->`), and
/// Ruby's trailing `(NoMethodError)`. `None` only if the literal were
/// invalid, which `tests::type_regex_compiles` rules out.
static TYPE_PREFIX: std::sync::LazyLock<Option<Regex>> = std::sync::LazyLock::new(|| {
    Regex::new(
        r"(?m)^\s*(?:Caused by:\s*|Unhandled exception\.\s*|---> )?([A-Za-z_$][\w$]*(?:(?:\.|::)[A-Za-z_$][\w$]*)*)(?:: | \(\d+\): |:$)|\(([A-Z][\w:]*(?:Error|Exception))\)\s*$",
    )
    .ok()
});

/// Type names that say nothing on their own.
const GENERIC_TYPE_NAMES: [&str; 6] = ["Error", "Exception", "error", "panic", "Err", "Fatal"];

/// Whether `seen` is the type `want`, exactly or as the last segment of a
/// qualified name (`a.b.Want`, `a::Want`, `Outer$Want`, `pkg/Want`).
fn type_matches(seen: &str, want: &str) -> bool {
    if seen == want {
        return true;
    }
    if want.contains(['.', ':']) {
        // A qualified pattern type also matches its bare last segment
        // (`UnknownHostException` for `java.net.UnknownHostException`),
        // unless that segment is too generic to mean anything alone
        // (`Timeout::Error` must not match every `Error:` line).
        return !seen.contains(['.', ':'])
            && !GENERIC_TYPE_NAMES.contains(&seen)
            && want
                .rsplit(['.', ':'])
                .next()
                .is_some_and(|last| last == seen);
    }
    seen.strip_suffix(want)
        .is_some_and(|rest| rest.ends_with(['.', ':', '$', '/']))
}

/// Parses pattern-file text (`yaml` or `toml`); `origin` names it in errors.
///
/// The file is a list of entries, either at the top level (YAML) or under
/// a `patterns` key (YAML and TOML: `[[patterns]]`).
pub fn parse_patterns(text: &str, is_toml: bool, origin: &str) -> Result<Vec<CompiledPattern>> {
    let bad = |reason: String| Error::config("knowledge_base", format!("{origin}: {reason}"));
    let doc: serde_json::Value = if is_toml {
        toml::from_str(text).map_err(|e| bad(format!("not valid TOML: {}", e.message())))?
    } else {
        serde_saphyr::from_str(text).map_err(|e| bad(format!("not valid YAML: {e}")))?
    };
    let entries = match doc {
        serde_json::Value::Array(list) => list,
        serde_json::Value::Object(mut map) => match map.remove("patterns") {
            Some(serde_json::Value::Array(list)) if map.is_empty() => list,
            _ => {
                return Err(bad(
                    "expected a list of patterns, or a single `patterns` key holding one".into(),
                ));
            }
        },
        serde_json::Value::Null => Vec::new(),
        _ => return Err(bad("expected a list of patterns".into())),
    };
    let mut out: Vec<CompiledPattern> = Vec::with_capacity(entries.len());
    for (i, entry) in entries.into_iter().enumerate() {
        let name = entry
            .get("name")
            .and_then(|n| n.as_str())
            .map(str::to_string)
            .unwrap_or_else(|| format!("#{}", i + 1));
        let spec: PatternSpec =
            serde_json::from_value(entry).map_err(|e| bad(format!("pattern `{name}`: {e}")))?;
        if out.iter().any(|p| p.spec.name == spec.name) {
            return Err(bad(format!("pattern `{}`: duplicate name", spec.name)));
        }
        out.push(CompiledPattern::compile(spec, origin)?);
    }
    Ok(out)
}

/// Loads a user pattern file; the format follows the extension (`.toml`,
/// else YAML).
pub fn load_pattern_file(path: &Path) -> Result<Vec<CompiledPattern>> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::config(
            "knowledge_base",
            format!("{origin}: cannot read pattern file: {e}"),
        )
    })?;
    let is_toml = path.extension().is_some_and(|e| e == "toml");
    parse_patterns(&text, is_toml, &origin)
}

/// Whether the error-type regex compiled (for tests).
#[cfg(test)]
pub(crate) fn type_regex_ok() -> bool {
    TYPE_PREFIX.is_some()
}
