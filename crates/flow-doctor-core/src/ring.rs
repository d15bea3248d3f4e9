//! The log ring: recent low-level log lines, attached to the next report.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::model::LogLine;

/// A bounded ring of recent log lines, each with a sequence number so a
/// report can take exactly the lines logged before it was captured.
#[derive(Debug)]
pub struct LogRing {
    capacity: usize,
    next_seq: AtomicU64,
    lines: Mutex<VecDeque<(u64, LogLine)>>,
}

impl LogRing {
    /// A ring keeping the last `capacity` lines (0 keeps none).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            next_seq: AtomicU64::new(0),
            lines: Mutex::new(VecDeque::with_capacity(capacity.min(1024))),
        }
    }

    /// The sequence number the next line will get; lines before it are
    /// "before now".
    pub fn mark(&self) -> u64 {
        self.next_seq.load(Ordering::Acquire)
    }

    /// Appends a line, evicting the oldest when full.
    pub fn push(&self, line: LogLine) {
        if self.capacity == 0 {
            return;
        }
        let mut lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        let seq = self.next_seq.fetch_add(1, Ordering::AcqRel);
        if lines.len() == self.capacity {
            lines.pop_front();
        }
        lines.push_back((seq, line));
    }

    /// The lines logged before `mark`, oldest first.
    pub fn before(&self, mark: u64) -> Vec<LogLine> {
        let lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        lines
            .iter()
            .filter(|(seq, _)| *seq < mark)
            .map(|(_, l)| l.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn line(msg: &str) -> LogLine {
        LogLine {
            at: Utc::now(),
            level: "INFO".into(),
            target: "t".into(),
            message: msg.into(),
        }
    }

    #[test]
    fn keeps_the_last_lines_before_the_mark() {
        let ring = LogRing::new(3);
        for i in 0..5 {
            ring.push(line(&format!("l{i}")));
        }
        let mark = ring.mark();
        ring.push(line("after"));
        let got: Vec<String> = ring.before(mark).into_iter().map(|l| l.message).collect();
        assert_eq!(got, ["l3", "l4"]);
        assert!(LogRing::new(0).before(10).is_empty());
    }
}
