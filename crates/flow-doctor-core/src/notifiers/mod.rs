//! Notifiers that need no network: the console (stderr) and a JSON-lines
//! file. They make the offline default useful; the network channels live in
//! `flow-doctor-notify`.

mod console;
mod jsonl;

use std::sync::Arc;

pub use console::ConsoleNotifier;
pub use jsonl::JsonlNotifier;

use crate::config::ChannelConfig;
use crate::notify::Notifier;

/// Builds the console or JSON-lines notifier for a channel entry; `None`
/// for network channels.
pub fn local_notifier(channel: &ChannelConfig) -> Option<Arc<dyn Notifier>> {
    match channel {
        ChannelConfig::Console(c) => Some(Arc::new(ConsoleNotifier::new(c.color))),
        ChannelConfig::Jsonl(c) => Some(Arc::new(JsonlNotifier::new(c.path.clone()))),
        _ => None,
    }
}
