//! The JSON-lines notifier: appends one JSON document per notification to
//! a file, for log shippers and scripts.
//!
//! Config: `{type: jsonl, path: ./flow_doctor.jsonl}` plus routing keys.
//! Each line is `{"type": "incident" | "digest" | "remediation" | "success",
//! ...}` with the same fields as the webhook document.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::error::{Error, Result};
use crate::notify::{Delivery, Notification, Notifier};

/// Appends notifications to a file as JSON lines.
#[derive(Clone, Debug)]
pub struct JsonlNotifier {
    path: PathBuf,
    // Serialises appends from concurrent deliveries in this process.
    lock: Arc<Mutex<()>>,
}

impl JsonlNotifier {
    /// A notifier appending to `path` (created on first write).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            lock: Arc::default(),
        }
    }

    /// The file written to.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
}

#[async_trait]
impl Notifier for JsonlNotifier {
    fn name(&self) -> &str {
        "jsonl"
    }

    async fn notify(&self, notification: &Notification) -> Result<Delivery> {
        let mut line =
            serde_json::to_string(notification).map_err(|e| Error::permanent("jsonl", e))?;
        line.push('\n');
        let path = self.path.clone();
        let lock = self.lock.clone();
        let written = tokio::task::spawn_blocking(move || {
            let _guard = lock.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)?;
            file.write_all(line.as_bytes())
        })
        .await
        .map_err(|e| Error::permanent("jsonl", e))?;
        written.map_err(|e| Error::transient("jsonl", e))?;
        Ok(Delivery::delivered().with_detail(format!("appended to {}", self.path.display())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Report, ReportKind, Severity};
    use crate::notify::Incident;

    #[tokio::test]
    async fn appends_one_json_document_per_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/out.jsonl");
        let n = JsonlNotifier::new(&path);
        for msg in ["first", "second"] {
            let report = Report::new("etl", Severity::Error, ReportKind::Error, msg);
            n.notify(&Notification::Incident(Incident {
                report,
                diagnosis: None,
                recurrence: None,
                links: vec![],
            }))
            .await
            .unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let docs: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0]["type"], "incident");
        assert_eq!(docs[1]["report"]["message"], "second");
    }
}
