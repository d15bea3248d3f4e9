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
        written.map_err(|e| self.write_error(e))?;
        Ok(Delivery::delivered().with_detail(format!("appended to {}", self.path.display())))
    }

    /// Fails at start-up when the file can never be written: it is a
    /// directory, or a parent on its path is a file.
    async fn check(&self) -> Result<()> {
        if self.path.is_dir() {
            return Err(Error::config(
                "jsonl",
                format!(
                    "`{}` is a directory; set `path` to a file, e.g. `{}`",
                    self.path.display(),
                    self.path.join("flow_doctor.jsonl").display()
                ),
            ));
        }
        let mut dir = self.path.parent();
        while let Some(d) = dir.filter(|d| !d.as_os_str().is_empty()) {
            if d.exists() {
                if !d.is_dir() {
                    return Err(Error::config(
                        "jsonl",
                        format!(
                            "cannot write `{}`: `{}` is a file, not a directory; set `path` to a file in a directory",
                            self.path.display(),
                            d.display()
                        ),
                    ));
                }
                break;
            }
            dir = d.parent();
        }
        Ok(())
    }
}

impl JsonlNotifier {
    /// A failed append: permanent when retrying cannot help (permissions,
    /// a file where a directory should be, a read-only file system),
    /// transient otherwise (a full disk may be cleaned up).
    fn write_error(&self, e: std::io::Error) -> Error {
        use std::io::ErrorKind as K;
        let message = format!("cannot append to `{}`: {e}", self.path.display());
        match e.kind() {
            K::PermissionDenied
            | K::AlreadyExists
            | K::NotADirectory
            | K::IsADirectory
            | K::ReadOnlyFilesystem
            | K::InvalidInput
            | K::InvalidFilename => Error::permanent("jsonl", message),
            _ => Error::transient("jsonl", message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Report, ReportKind, Severity};
    use crate::notify::Incident;

    fn incident() -> Notification {
        Notification::Incident(Incident {
            report: Report::new("etl", Severity::Error, ReportKind::Error, "boom"),
            diagnosis: None,
            recurrence: None,
            links: vec![],
        })
    }

    /// A file where a directory should be can never be written: the
    /// start-up check fails naming both, and a delivery is a permanent
    /// failure (no retries), not a transient one.
    #[tokio::test]
    async fn a_path_under_a_file_fails_the_check_and_is_permanent() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("afile"), "x").unwrap();
        let n = JsonlNotifier::new(dir.path().join("afile/out.jsonl"));
        let err = n.check().await.unwrap_err().to_string();
        assert!(err.contains("is a file, not a directory"), "{err}");
        assert!(err.contains("afile/out.jsonl"), "{err}");
        let err = n.notify(&incident()).await.unwrap_err();
        assert!(!err.is_retryable(), "{err}");
        assert!(err.chain_string().contains("cannot append to"), "{err}");

        let n = JsonlNotifier::new(dir.path());
        let err = n.check().await.unwrap_err().to_string();
        assert!(err.contains("is a directory"), "{err}");
        // A path whose directories do not exist yet is fine: they are made.
        let n = JsonlNotifier::new(dir.path().join("new/dir/out.jsonl"));
        n.check().await.unwrap();
        n.notify(&incident()).await.unwrap();
    }

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
