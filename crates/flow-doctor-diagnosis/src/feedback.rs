//! Feedback: a person confirms, corrects or rejects a diagnosis, and
//! confirmed or corrected ones become exact-signature knowledge-base
//! patterns, so the next occurrence is diagnosed offline.

use chrono::Utc;
use flow_doctor_core::{
    Diagnosis, DiagnosisSource, Error, Feedback, Id, KnownPattern, PatternOrigin, ReportId, Result,
    Store, Verdict,
};

/// Confidence of a pattern learned from a person's verdict.
pub const LEARNED_CONFIDENCE: f64 = 0.95;

/// Name of the pattern learned for `signature`.
pub fn learned_pattern_name(signature: &str) -> String {
    format!("learned-{}", signature.get(..12).unwrap_or(signature))
}

/// Records `verdict` on the diagnosis of report `report_id`, and learns from
/// it:
/// - `Confirmed` needs a stored diagnosis; it becomes an exact-signature
///   pattern (origin `feedback`, confidence [`LEARNED_CONFIDENCE`]).
/// - `Corrected` stores the person's diagnosis on the report (source
///   `human`) and learns it the same way.
/// - `Rejected` is recorded only (a learned pattern it contradicts stays
///   until corrected).
///
/// Errors: an unknown report, or `Confirmed` without a diagnosis, is
/// [`Error::Permanent`] with the reason.
pub async fn apply_feedback(
    store: &dyn Store,
    report_id: &ReportId,
    verdict: Verdict,
    note: Option<String>,
) -> Result<Feedback> {
    let report = store
        .get_report(report_id)
        .await?
        .ok_or_else(|| Error::permanent("feedback", format!("no incident with id {report_id}")))?;
    let now = Utc::now();
    let learned = match &verdict {
        Verdict::Confirmed => {
            let d = store.get_diagnosis(report_id).await?.ok_or_else(|| {
                Error::permanent(
                    "feedback",
                    format!(
                        "incident {report_id} has no diagnosis to confirm; give one with --category and --root-cause"
                    ),
                )
            })?;
            Some((d.category, d.root_cause, d.remediation))
        }
        Verdict::Corrected {
            category,
            root_cause,
        } => {
            let mut d = Diagnosis::new(*category, root_cause.clone(), 1.0);
            d.source = DiagnosisSource::Human;
            d.remediation = note.clone().unwrap_or_default();
            d.reasoning = Some("corrected by a person".into());
            d.created_at = now;
            store.save_diagnosis(report_id, &d).await?;
            Some((*category, root_cause.clone(), d.remediation))
        }
        Verdict::Rejected => None,
    };
    let feedback = Feedback {
        id: Id::new(),
        report_id: report_id.clone(),
        signature: report.signature.clone(),
        verdict,
        note,
        author: None,
        at: now,
    };
    store.record_feedback(&feedback).await?;
    if let Some((category, root_cause, remediation)) = learned
        && !report.signature.is_empty()
    {
        store
            .upsert_pattern(&KnownPattern {
                name: learned_pattern_name(&report.signature),
                signature: Some(report.signature.clone()),
                error_type: report.error_type.clone(),
                message_regex: None,
                category,
                root_cause,
                remediation,
                confidence: LEARNED_CONFIDENCE,
                origin: PatternOrigin::Feedback,
                hit_count: 0,
                last_seen: None,
                created_at: now,
            })
            .await?;
    }
    Ok(feedback)
}
