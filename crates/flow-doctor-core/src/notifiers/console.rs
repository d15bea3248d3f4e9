//! The console notifier: a human-readable block on stderr per
//! notification, coloured when stderr is a terminal.
//!
//! Config: `{type: console, color: auto|always|never}` plus routing keys.

use std::io::{IsTerminal, Write};

use async_trait::async_trait;

use crate::config::ColorChoice;
use crate::error::Result;
use crate::model::Severity;
use crate::notify::{Delivery, Notification, Notifier};

/// Writes notifications to stderr.
#[derive(Clone, Debug)]
pub struct ConsoleNotifier {
    color: bool,
}

impl ConsoleNotifier {
    /// A console notifier with the given colour choice (`auto`: when stderr
    /// is a terminal and `NO_COLOR` is unset).
    pub fn new(color: ColorChoice) -> Self {
        let color = match color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
        };
        Self { color }
    }

    /// Renders a notification as the console shows it.
    pub fn render(&self, notification: &Notification) -> String {
        let (tag, colour) = match notification.severity() {
            Severity::Critical => ("CRITICAL", "\x1b[1;31m"),
            Severity::Error => ("ERROR", "\x1b[31m"),
            Severity::Warning => ("WARNING", "\x1b[33m"),
            Severity::Info => ("INFO", "\x1b[36m"),
        };
        let text = notification.text();
        let mut lines = text.lines();
        let title = lines.next().unwrap_or_default();
        let mut out = if self.color {
            format!("{colour}flow-doctor {tag}\x1b[0m \x1b[1m{title}\x1b[0m\n")
        } else {
            format!("flow-doctor {tag} {title}\n")
        };
        for line in lines {
            out.push_str("  ");
            out.push_str(line);
            out.push('\n');
        }
        out
    }
}

impl Default for ConsoleNotifier {
    fn default() -> Self {
        Self::new(ColorChoice::Auto)
    }
}

#[async_trait]
impl Notifier for ConsoleNotifier {
    fn name(&self) -> &str {
        "console"
    }

    async fn notify(&self, notification: &Notification) -> Result<Delivery> {
        let text = self.render(notification);
        let mut err = std::io::stderr().lock();
        err.write_all(text.as_bytes())
            .and_then(|()| err.flush())
            .map_err(|e| crate::Error::transient("console", e))?;
        Ok(Delivery::delivered().with_detail("printed to stderr"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Report, ReportKind};
    use crate::notify::Incident;

    #[test]
    fn renders_plain_and_coloured() {
        let report = Report::new("etl", Severity::Error, ReportKind::Error, "boom");
        let n = Notification::Incident(Incident {
            report,
            diagnosis: None,
            recurrence: None,
            links: vec![],
        });
        let plain = ConsoleNotifier::new(ColorChoice::Never).render(&n);
        assert!(
            plain.starts_with("flow-doctor ERROR [etl] boom\n  flow: etl"),
            "{plain}"
        );
        assert!(!plain.contains('\x1b'));
        let coloured = ConsoleNotifier::new(ColorChoice::Always).render(&n);
        assert!(
            coloured.starts_with("\x1b[31mflow-doctor ERROR\x1b[0m"),
            "{coloured:?}"
        );
    }
}
