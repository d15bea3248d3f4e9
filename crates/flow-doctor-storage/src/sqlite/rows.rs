//! Conversions between model types and rows.

use chrono::{DateTime, Utc};
use rusqlite::Row;
use rusqlite::types::Type;
use serde::Serialize;
use serde::de::DeserializeOwned;

use flow_doctor_core::model::{
    Action, Decision, Diagnosis, DigestEntry, Feedback, FixAttempt, Id, KnownPattern, Report,
    TokenUsage, Verdict,
};

use super::DbError;

/// Nanoseconds since the Unix epoch; instants outside 1677..2262 are refused.
pub(super) fn ts(t: DateTime<Utc>) -> Result<i64, DbError> {
    t.timestamp_nanos_opt()
        .ok_or_else(|| DbError::Range(format!("timestamp {t} is outside 1677..2262")))
}

pub(super) fn opt_ts(t: Option<DateTime<Utc>>) -> Result<Option<i64>, DbError> {
    t.map(ts).transpose()
}

/// A `u64` as an SQLite integer (saturating at `i64::MAX`).
pub(super) fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A unit enum's serde name (`"critical"`, `"process_exit"`).
pub(super) fn name<T: Serialize>(v: &T) -> Result<String, DbError> {
    match serde_json::to_value(v)? {
        serde_json::Value::String(s) => Ok(s),
        other => Err(DbError::Range(format!("expected a name, got {other}"))),
    }
}

pub(super) fn json<T: Serialize>(v: &T) -> Result<String, DbError> {
    Ok(serde_json::to_string(v)?)
}

pub(super) fn opt_json<T: Serialize>(v: &Option<T>) -> Result<Option<String>, DbError> {
    v.as_ref().map(json).transpose()
}

fn bad(idx: usize, e: impl std::error::Error + Send + Sync + 'static) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, Box::new(e))
}

/// Typed access to a row by column name, decoding names, JSON and times.
pub(super) trait RowExt {
    fn time(&self, col: &str) -> rusqlite::Result<DateTime<Utc>>;
    fn opt_time(&self, col: &str) -> rusqlite::Result<Option<DateTime<Utc>>>;
    fn uint(&self, col: &str) -> rusqlite::Result<u64>;
    fn id(&self, col: &str) -> rusqlite::Result<Id>;
    fn enum_of<T: DeserializeOwned>(&self, col: &str) -> rusqlite::Result<T>;
    fn json_of<T: DeserializeOwned>(&self, col: &str) -> rusqlite::Result<T>;
    fn opt_json_of<T: DeserializeOwned>(&self, col: &str) -> rusqlite::Result<Option<T>>;
}

impl RowExt for Row<'_> {
    fn time(&self, col: &str) -> rusqlite::Result<DateTime<Utc>> {
        Ok(DateTime::from_timestamp_nanos(self.get(col)?))
    }

    fn opt_time(&self, col: &str) -> rusqlite::Result<Option<DateTime<Utc>>> {
        Ok(self
            .get::<_, Option<i64>>(col)?
            .map(DateTime::from_timestamp_nanos))
    }

    fn uint(&self, col: &str) -> rusqlite::Result<u64> {
        Ok(u64::try_from(self.get::<_, i64>(col)?).unwrap_or(0))
    }

    fn id(&self, col: &str) -> rusqlite::Result<Id> {
        Ok(Id::from_string(self.get::<_, String>(col)?))
    }

    fn enum_of<T: DeserializeOwned>(&self, col: &str) -> rusqlite::Result<T> {
        let s: String = self.get(col)?;
        serde_json::from_value(serde_json::Value::String(s))
            .map_err(|e| bad(self.as_ref().column_index(col).unwrap_or(0), e))
    }

    fn json_of<T: DeserializeOwned>(&self, col: &str) -> rusqlite::Result<T> {
        let s: String = self.get(col)?;
        serde_json::from_str(&s).map_err(|e| bad(self.as_ref().column_index(col).unwrap_or(0), e))
    }

    fn opt_json_of<T: DeserializeOwned>(&self, col: &str) -> rusqlite::Result<Option<T>> {
        match self.get::<_, Option<String>>(col)? {
            None => Ok(None),
            Some(s) => serde_json::from_str(&s)
                .map(Some)
                .map_err(|e| bad(self.as_ref().column_index(col).unwrap_or(0), e)),
        }
    }
}

pub(super) const REPORT_COLUMNS: &str = "id, flow, signature, stage, run_id, severity, kind, \
    error_type, message, source_chain, frames, language, traceback, logs, context, exit, host, \
    occurred_at, fingerprint, custom_fingerprint, dedup_count, first_seen, last_seen, \
    cascade_source, diagnosis_error";

pub(super) fn report(r: &Row<'_>) -> rusqlite::Result<Report> {
    Ok(Report {
        id: r.id("id")?,
        flow: r.get("flow")?,
        stage: r.get("stage")?,
        run_id: r.get("run_id")?,
        severity: r.enum_of("severity")?,
        kind: r.enum_of("kind")?,
        error_type: r.get("error_type")?,
        message: r.get("message")?,
        source_chain: r.json_of("source_chain")?,
        frames: r.json_of("frames")?,
        language: r.get("language")?,
        traceback: r.get("traceback")?,
        logs: r.json_of("logs")?,
        context: r.json_of("context")?,
        exit: r.opt_json_of("exit")?,
        host: r.get("host")?,
        occurred_at: r.time("occurred_at")?,
        signature: r.get("signature")?,
        fingerprint: r.get("fingerprint")?,
        custom_fingerprint: r.get("custom_fingerprint")?,
        dedup_count: r.uint("dedup_count")?,
        first_seen: r.time("first_seen")?,
        last_seen: r.time("last_seen")?,
        cascade_source: r.opt_json_of("cascade_source")?,
        diagnosis_error: r.get("diagnosis_error")?,
    })
}

pub(super) const DIAGNOSIS_COLUMNS: &str = "category, root_cause, confidence, affected_files, \
    remediation, auto_fixable, reasoning, alternative_hypotheses, source, pattern, model, \
    input_tokens, output_tokens, cost_usd, created_at";

pub(super) fn diagnosis(r: &Row<'_>) -> rusqlite::Result<Diagnosis> {
    let input: Option<i64> = r.get("input_tokens")?;
    let output: Option<i64> = r.get("output_tokens")?;
    let tokens = match (input, output) {
        (None, None) => None,
        (i, o) => Some(TokenUsage {
            input: u64::try_from(i.unwrap_or(0)).unwrap_or(0),
            output: u64::try_from(o.unwrap_or(0)).unwrap_or(0),
        }),
    };
    Ok(Diagnosis {
        category: r.enum_of("category")?,
        root_cause: r.get("root_cause")?,
        confidence: r.get("confidence")?,
        affected_files: r.json_of("affected_files")?,
        remediation: r.get("remediation")?,
        auto_fixable: r.get("auto_fixable")?,
        reasoning: r.get("reasoning")?,
        alternative_hypotheses: r.json_of("alternative_hypotheses")?,
        source: r.enum_of("source")?,
        pattern: r.get("pattern")?,
        model: r.get("model")?,
        tokens,
        cost_usd: r.get("cost_usd")?,
        created_at: r.time("created_at")?,
    })
}

pub(super) const DECISION_COLUMNS: &str =
    "id, report_id, incident_id, flow, signature, kind, reason, channels, at";

pub(super) fn decision(r: &Row<'_>) -> rusqlite::Result<Decision> {
    Ok(Decision {
        id: r.id("id")?,
        report_id: r.id("report_id")?,
        incident_id: r.id("incident_id")?,
        flow: r.get("flow")?,
        signature: r.get("signature")?,
        kind: r.enum_of("kind")?,
        reason: r.get("reason")?,
        channels: r.json_of("channels")?,
        at: r.time("at")?,
    })
}

pub(super) const ACTION_COLUMNS: &str = "id, report_id, flow, signature, kind, target, status, \
    detail, url, attempts, data, started_at, finished_at";

pub(super) fn action(r: &Row<'_>) -> rusqlite::Result<Action> {
    Ok(Action {
        id: r.id("id")?,
        report_id: r.id("report_id")?,
        flow: r.get("flow")?,
        signature: r.get("signature")?,
        kind: r.enum_of("kind")?,
        target: r.get("target")?,
        status: r.enum_of("status")?,
        detail: r.get("detail")?,
        url: r.get("url")?,
        attempts: u32::try_from(r.get::<_, i64>("attempts")?).unwrap_or(u32::MAX),
        data: r.opt_json_of("data")?.unwrap_or(serde_json::Value::Null),
        started_at: r.time("started_at")?,
        finished_at: r.time("finished_at")?,
    })
}

pub(super) const FEEDBACK_COLUMNS: &str =
    "id, report_id, signature, verdict, category, root_cause, note, author, at";

/// The stored `verdict` column and, for a correction, its category and root cause.
pub(super) fn verdict_columns(
    v: &Verdict,
) -> Result<(&'static str, Option<String>, Option<String>), DbError> {
    Ok(match v {
        Verdict::Confirmed => ("confirmed", None, None),
        Verdict::Rejected => ("rejected", None, None),
        Verdict::Corrected {
            category,
            root_cause,
        } => ("corrected", Some(name(category)?), Some(root_cause.clone())),
    })
}

pub(super) fn feedback(r: &Row<'_>) -> rusqlite::Result<Feedback> {
    let verdict_name: String = r.get("verdict")?;
    let verdict = match verdict_name.as_str() {
        "confirmed" => Verdict::Confirmed,
        "rejected" => Verdict::Rejected,
        "corrected" => Verdict::Corrected {
            category: r.enum_of("category")?,
            root_cause: r
                .get::<_, Option<String>>("root_cause")?
                .unwrap_or_default(),
        },
        other => {
            return Err(bad(
                r.as_ref().column_index("verdict").unwrap_or(0),
                DbError::Range(format!("unknown verdict `{other}`")),
            ));
        }
    };
    Ok(Feedback {
        id: r.id("id")?,
        report_id: r.id("report_id")?,
        signature: r.get("signature")?,
        verdict,
        note: r.get("note")?,
        author: r.get("author")?,
        at: r.time("at")?,
    })
}

pub(super) const PATTERN_COLUMNS: &str = "name, signature, error_type, message_regex, category, \
    root_cause, remediation, confidence, origin, hit_count, last_seen, created_at";

pub(super) fn pattern(r: &Row<'_>) -> rusqlite::Result<KnownPattern> {
    Ok(KnownPattern {
        name: r.get("name")?,
        signature: r.get("signature")?,
        error_type: r.get("error_type")?,
        message_regex: r.get("message_regex")?,
        category: r.enum_of("category")?,
        root_cause: r.get("root_cause")?,
        remediation: r.get("remediation")?,
        confidence: r.get("confidence")?,
        origin: r.enum_of("origin")?,
        hit_count: r.uint("hit_count")?,
        last_seen: r.opt_time("last_seen")?,
        created_at: r.time("created_at")?,
    })
}

pub(super) const FIX_ATTEMPT_COLUMNS: &str =
    "id, signature, repo, issue_number, report_id, status, step, reason, branch, pr_url, at";

pub(super) fn fix_attempt(r: &Row<'_>) -> rusqlite::Result<FixAttempt> {
    Ok(FixAttempt {
        id: r.id("id")?,
        signature: r.get("signature")?,
        repo: r.get("repo")?,
        issue_number: r.uint("issue_number")?,
        report_id: r
            .get::<_, Option<String>>("report_id")?
            .map(Id::from_string),
        status: r.enum_of("status")?,
        step: r.get("step")?,
        reason: r.get("reason")?,
        branch: r.get("branch")?,
        pr_url: r.get("pr_url")?,
        at: r.time("at")?,
    })
}

pub(super) const DIGEST_COLUMNS: &str =
    "id, report_id, flow, signature, headline, severity, channel, reason, at, digested_at";

pub(super) fn digest_entry(r: &Row<'_>) -> rusqlite::Result<DigestEntry> {
    Ok(DigestEntry {
        id: r.id("id")?,
        report_id: r.id("report_id")?,
        flow: r.get("flow")?,
        signature: r.get("signature")?,
        headline: r.get("headline")?,
        severity: r.enum_of("severity")?,
        channel: r.get("channel")?,
        reason: r.enum_of("reason")?,
        at: r.time("at")?,
        digested_at: r.opt_time("digested_at")?,
    })
}
