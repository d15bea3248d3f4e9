//! The machine-readable block the GitHub notifier writes into an issue body
//! and `flow-doctor generate-fix` reads back.
//!
//! The block is an HTML comment, invisible on GitHub:
//!
//! ```text
//! <!-- flow-doctor:metadata
//! {"version":1,"report_id":"…","flow":"etl","signature":"…","fingerprint":"…",
//!  "category":"CODE","confidence":0.93,"affected_files":["src/load.rs"],"error_type":"KeyError"}
//! -->
//! ```

use serde::{Deserialize, Serialize};

use crate::model::{Category, Diagnosis, Report, ReportId};

const OPEN: &str = "<!-- flow-doctor:metadata";
const CLOSE: &str = "-->";

/// Metadata carried by a flow-doctor GitHub issue.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IssueMetadata {
    /// Format version (currently 1).
    pub version: u32,
    /// The incident the issue was filed for.
    pub report_id: ReportId,
    /// Its flow.
    pub flow: String,
    /// Its signature.
    pub signature: String,
    /// The normalized text the signature was computed from.
    #[serde(default)]
    pub fingerprint: String,
    /// Error type, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    /// Diagnosis category, when diagnosed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
    /// Diagnosis confidence, when diagnosed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// Files the diagnosis points at.
    #[serde(default)]
    pub affected_files: Vec<String>,
    /// Diagnosis root cause, when diagnosed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_cause: Option<String>,
}

/// Why an issue body's metadata could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    /// No `<!-- flow-doctor:metadata` block.
    #[error("the issue body has no flow-doctor metadata block")]
    Missing,
    /// The block is not closed or not valid JSON of the expected shape.
    #[error("the flow-doctor metadata block is malformed: {0}")]
    Malformed(String),
}

impl IssueMetadata {
    /// Metadata for a report and its diagnosis.
    pub fn new(report: &Report, diagnosis: Option<&Diagnosis>) -> Self {
        Self {
            version: 1,
            report_id: report.id.clone(),
            flow: report.flow.clone(),
            signature: report.signature.clone(),
            fingerprint: report.fingerprint.clone(),
            error_type: report.error_type.clone(),
            category: diagnosis.map(|d| d.category),
            confidence: diagnosis.map(|d| d.confidence),
            affected_files: diagnosis
                .map(|d| d.affected_files.clone())
                .unwrap_or_default(),
            root_cause: diagnosis.map(|d| d.root_cause.clone()),
        }
    }

    /// The HTML comment block to append to an issue body.
    pub fn render(&self) -> String {
        // `--` cannot appear inside an HTML comment; JSON escapes keep it out.
        let json = serde_json::to_string(self)
            .unwrap_or_default()
            .replace("--", "-\\u002d");
        format!("{OPEN}\n{json}\n{CLOSE}")
    }

    /// Reads the block back from an issue body.
    pub fn parse(body: &str) -> Result<Self, MetadataError> {
        let start = body.find(OPEN).ok_or(MetadataError::Missing)?;
        let rest = &body[start + OPEN.len()..];
        let end = rest
            .find(CLOSE)
            .ok_or_else(|| MetadataError::Malformed("the comment is not closed with -->".into()))?;
        let meta: Self = serde_json::from_str(rest[..end].trim())
            .map_err(|e| MetadataError::Malformed(e.to_string()))?;
        if meta.version != 1 {
            return Err(MetadataError::Malformed(format!(
                "unsupported version {}",
                meta.version
            )));
        }
        if let Some(c) = meta.confidence
            && !(0.0..=1.0).contains(&c)
        {
            return Err(MetadataError::Malformed(format!(
                "confidence {c} is outside 0..1"
            )));
        }
        Ok(meta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ReportKind, Severity};

    #[test]
    fn renders_and_parses_back() {
        let mut r = Report::new("etl", Severity::Error, ReportKind::Error, "boom -- twice");
        r.signature = "abc123".into();
        r.fingerprint = "KeyError @ load.py:load --".into();
        let mut d = Diagnosis::new(Category::Code, "missing key", 0.93);
        d.affected_files = vec!["src/load.py".into()];
        let meta = IssueMetadata::new(&r, Some(&d));
        let body = format!("## Incident\n\ntext\n\n{}\n", meta.render());
        let inner = &body[body.find(OPEN).unwrap() + OPEN.len()..body.rfind(CLOSE).unwrap()];
        assert!(!inner.contains("--"), "{inner}");
        assert_eq!(IssueMetadata::parse(&body).unwrap(), meta);
    }

    #[test]
    fn missing_and_malformed_blocks_are_distinct_errors() {
        assert_eq!(
            IssueMetadata::parse("no block"),
            Err(MetadataError::Missing)
        );
        assert!(matches!(
            IssueMetadata::parse("<!-- flow-doctor:metadata {\"version\":1"),
            Err(MetadataError::Malformed(_))
        ));
        assert!(matches!(
            IssueMetadata::parse("<!-- flow-doctor:metadata\n{not json}\n-->"),
            Err(MetadataError::Malformed(_))
        ));
    }
}
