//! Parsing and validating an LLM's diagnosis answer.
//!
//! The model is asked for one strict JSON object; [`parse_answer`] still
//! copes with code fences and prose around it (it takes the first balanced
//! JSON object that parses), then validates every field. An unusable answer
//! is an [`AnswerError`] saying exactly what is wrong; the diagnoser turns it
//! into [`Error::Permanent`](flow_doctor_core::Error::Permanent), which the
//! engine records as the report's `diagnosis_error`.
//!
//! The confidence is used exactly as given: nothing scales it, so every
//! confidence gate downstream is reachable by an LLM diagnosis.

use chrono::Utc;
use flow_doctor_core::{Category, Diagnosis, DiagnosisSource};
use serde_json::{Map, Value};

/// The system prompt: what the model must answer, as strict JSON.
pub const SYSTEM_PROMPT: &str = r#"You are flow-doctor, an on-call engineer diagnosing a failed data pipeline, batch job or service.
Find the most likely root cause of the failure described by the user message, using only the evidence given (error, stack frames, source excerpts, logs, context, git history).

Answer with ONE JSON object and nothing else: no prose, no code fences. Schema:
{
  "category": one of "TRANSIENT", "DATA", "CODE", "CONFIG", "EXTERNAL", "INFRA",
  "root_cause": string, one or two sentences naming the root cause,
  "confidence": number between 0 and 1 (how sure you are; be calibrated),
  "affected_files": array of repository-relative paths a fix would touch (empty if none),
  "remediation": string, what to do now,
  "auto_fixable": boolean, true only if a code change in affected_files fixes it without a human decision,
  "reasoning": string, the evidence that supports the diagnosis,
  "alternative_hypotheses": array of strings, other plausible causes
}

Categories:
- TRANSIENT: passes on retry (timeouts, throttling, 503s, a network blip, lock conflicts).
- DATA: the input data is wrong (schema drift, bad or missing values, malformed files, empty input).
- CODE: a bug in the flow's own code.
- CONFIG: configuration or credentials are wrong, missing or expired.
- EXTERNAL: a third-party service failed or rejected the request (not a credentials problem).
- INFRA: the machine or platform (memory, disk, network, DNS, services being down).
"#;

/// Why an answer was unusable.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("unusable LLM answer: {reason}")]
pub struct AnswerError {
    /// What is wrong, in words.
    pub reason: String,
}

fn fail(reason: impl Into<String>) -> AnswerError {
    AnswerError {
        reason: reason.into(),
    }
}

/// Parses and validates an answer into a [`Diagnosis`] (`source` = LLM; the
/// caller fills model, tokens and cost).
pub fn parse_answer(text: &str) -> Result<Diagnosis, AnswerError> {
    let obj = first_json_object(text).ok_or_else(|| {
        fail(format!(
            "no JSON object found in the answer (starts with {:?})",
            flow_doctor_core::model::truncate_chars(text.trim(), 80)
        ))
    })?;
    let category = match obj.get("category") {
        Some(Value::String(s)) => s.parse::<Category>().map_err(fail)?,
        Some(other) => return Err(fail(format!("`category` is not a string: {other}"))),
        None => return Err(fail("missing field `category`")),
    };
    let root_cause = required_string(&obj, "root_cause")?;
    let confidence = match obj.get("confidence") {
        Some(Value::Number(n)) => n
            .as_f64()
            .ok_or_else(|| fail(format!("`confidence` is not a number: {n}")))?,
        Some(other) => return Err(fail(format!("`confidence` is not a number: {other}"))),
        None => return Err(fail("missing field `confidence`")),
    };
    if !(0.0..=1.0).contains(&confidence) {
        return Err(fail(format!("`confidence` {confidence} is outside 0..1")));
    }
    let remediation = optional_string(&obj, "remediation")?.unwrap_or_default();
    let reasoning = optional_string(&obj, "reasoning")?.filter(|s| !s.trim().is_empty());
    let auto_fixable = match obj.get("auto_fixable") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => return Err(fail(format!("`auto_fixable` is not a boolean: {other}"))),
    };
    let affected_files = string_list(&obj, "affected_files")?
        .into_iter()
        .filter_map(|f| repo_relative(&f))
        .collect();
    let alternative_hypotheses = string_list(&obj, "alternative_hypotheses")?;
    Ok(Diagnosis {
        category,
        root_cause,
        confidence,
        affected_files,
        remediation,
        auto_fixable,
        reasoning,
        alternative_hypotheses,
        source: DiagnosisSource::Llm,
        pattern: None,
        model: None,
        tokens: None,
        cost_usd: None,
        created_at: Utc::now(),
    })
}

fn required_string(obj: &Map<String, Value>, key: &str) -> Result<String, AnswerError> {
    match optional_string(obj, key)? {
        Some(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        Some(_) => Err(fail(format!("`{key}` is empty"))),
        None => Err(fail(format!("missing field `{key}`"))),
    }
}

fn optional_string(obj: &Map<String, Value>, key: &str) -> Result<Option<String>, AnswerError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(fail(format!("`{key}` is not a string: {other}"))),
    }
}

fn string_list(obj: &Map<String, Value>, key: &str) -> Result<Vec<String>, AnswerError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(fail(format!("`{key}` has a non-string entry: {other}"))),
            })
            .collect(),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(other) => Err(fail(format!("`{key}` is not a list: {other}"))),
    }
}

/// A path the model named, made repository-relative; `None` for absolute
/// paths outside any repo or paths escaping it.
fn repo_relative(path: &str) -> Option<String> {
    let p = path.trim().trim_start_matches("./");
    if p.is_empty()
        || p.starts_with('/')
        || p.starts_with('\\')
        || p.contains(":\\")
        || p.split(['/', '\\']).any(|c| c == "..")
    {
        return None;
    }
    Some(p.to_string())
}

/// The first balanced `{...}` in `text` that parses as a JSON object.
fn first_json_object(text: &str) -> Option<Map<String, Value>> {
    let bytes = text.as_bytes();
    let mut start = 0;
    while let Some(off) = text[start..].find('{') {
        let open = start + off;
        if let Some(close) = balanced_end(bytes, open)
            && let Ok(Value::Object(map)) = serde_json::from_str(&text[open..=close])
        {
            return Some(map);
        }
        start = open + 1;
    }
    None
}

/// Index of the `}` closing the `{` at `open`, skipping braces in strings.
fn balanced_end(bytes: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, &b) in bytes.iter().enumerate().skip(open) {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' => depth += 1,
            b'}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"category":"DATA","root_cause":"The feed dropped column `segment`.","confidence":0.92,"affected_files":["./etl/report.py","/etc/passwd","../x.py"],"remediation":"Map the renamed column.","auto_fixable":true,"reasoning":"KeyError on the column in pandas get_loc.","alternative_hypotheses":["Code typo"]}"#;

    #[test]
    fn strict_json_is_taken_as_is() {
        let d = parse_answer(GOOD).unwrap();
        assert_eq!(d.category, Category::Data);
        assert_eq!(d.confidence, 0.92, "confidence is never scaled");
        assert_eq!(d.affected_files, vec!["etl/report.py".to_string()]);
        assert!(d.auto_fixable);
        assert_eq!(d.source, DiagnosisSource::Llm);
        assert_eq!(d.alternative_hypotheses, vec!["Code typo".to_string()]);
    }

    #[test]
    fn fences_and_prose_around_the_object_are_ignored() {
        let text = format!(
            "Sure! Here is my analysis {{of the problem}}:\n```json\n{GOOD}\n```\nHope this helps."
        );
        assert_eq!(parse_answer(&text).unwrap().category, Category::Data);
        let braces_in_strings = r#"{"category":"CODE","root_cause":"uses \"{\" and } in a format string","confidence":1}"#;
        let d = parse_answer(braces_in_strings).unwrap();
        assert_eq!(d.confidence, 1.0);
        assert!(d.root_cause.contains('}'));
    }

    #[test]
    fn unusable_answers_say_why() {
        let cases = [
            ("I think it's the database.", "no JSON object"),
            (
                r#"{"category":"NETWORK","root_cause":"x","confidence":0.5}"#,
                "unknown category `NETWORK`",
            ),
            (
                r#"{"category":"DATA","root_cause":"x","confidence":85}"#,
                "outside 0..1",
            ),
            (
                r#"{"category":"DATA","root_cause":"x","confidence":"high"}"#,
                "`confidence` is not a number",
            ),
            (
                r#"{"category":"DATA","confidence":0.5}"#,
                "missing field `root_cause`",
            ),
            (
                r#"{"root_cause":"x","confidence":0.5}"#,
                "missing field `category`",
            ),
            (
                r#"{"category":"DATA","root_cause":"x"}"#,
                "missing field `confidence`",
            ),
            (
                r#"{"category":"DATA","root_cause":"  ","confidence":0.5}"#,
                "`root_cause` is empty",
            ),
            (
                r#"{"category":"DATA","root_cause":"x","confidence":0.5,"auto_fixable":"yes"}"#,
                "`auto_fixable` is not a boolean",
            ),
            (
                r#"{"category":"DATA","root_cause":"x","confidence":0.5,"affected_files":[1]}"#,
                "non-string entry",
            ),
            (
                r#"{"category":"DATA","root_cause":"x","confidence":-0.1}"#,
                "outside 0..1",
            ),
        ];
        for (text, want) in cases {
            let err = parse_answer(text).unwrap_err();
            assert!(err.to_string().contains(want), "{text}: {err}");
        }
    }
}
