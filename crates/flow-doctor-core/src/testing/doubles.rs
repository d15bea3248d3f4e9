//! Test doubles: a notifier that records and a diagnoser that answers from a script.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::diagnose::{DiagnoseContext, DiagnoseOutcome, Diagnoser};
use crate::error::{Error, Result};
use crate::model::{Diagnosis, Report};
use crate::notify::{Delivery, Notification, Notifier};

/// A [`Notifier`] that records what it was asked to send, and can be
/// scripted to fail first.
#[derive(Clone)]
pub struct RecordingNotifier {
    name: String,
    sent: Arc<Mutex<Vec<Notification>>>,
    attempts: Arc<Mutex<u64>>,
    script: Arc<Mutex<VecDeque<Error>>>,
    always_fail: bool,
}

impl Default for RecordingNotifier {
    fn default() -> Self {
        Self::new()
    }
}

impl RecordingNotifier {
    /// A notifier named `recording` that always succeeds.
    pub fn new() -> Self {
        Self::named("recording")
    }

    /// A notifier with the given channel name.
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            sent: Arc::default(),
            attempts: Arc::default(),
            script: Arc::default(),
            always_fail: false,
        }
    }

    /// Fails with these errors, in order, before succeeding.
    pub fn failing_with(self, errors: impl IntoIterator<Item = Error>) -> Self {
        lock(&self.script).extend(errors);
        self
    }

    /// Fails every call with a transient error.
    pub fn always_failing(mut self) -> Self {
        self.always_fail = true;
        self
    }

    /// Takes what was delivered so far.
    pub fn take(&self) -> Vec<Notification> {
        std::mem::take(&mut *lock(&self.sent))
    }

    /// How many deliveries succeeded so far (not reset by `take`).
    pub fn delivered(&self) -> usize {
        lock(&self.sent).len()
    }

    /// How many times `notify` was called, failures included.
    pub fn attempts(&self) -> u64 {
        *lock(&self.attempts)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[async_trait]
impl Notifier for RecordingNotifier {
    fn name(&self) -> &str {
        &self.name
    }

    async fn notify(&self, notification: &Notification) -> Result<Delivery> {
        *lock(&self.attempts) += 1;
        if self.always_fail {
            return Err(Error::transient("recording", "scripted outage"));
        }
        if let Some(err) = lock(&self.script).pop_front() {
            return Err(err);
        }
        lock(&self.sent).push(notification.clone());
        Ok(Delivery::delivered().with_detail("recorded"))
    }
}

/// A [`Diagnoser`] that answers from a script: the same diagnosis every
/// time, or a queue of outcomes.
#[derive(Clone)]
pub struct ScriptedDiagnoser {
    name: String,
    fallback: Option<Diagnosis>,
    script: Arc<Mutex<VecDeque<Result<DiagnoseOutcome>>>>,
    calls: Arc<Mutex<Vec<Report>>>,
}

impl ScriptedDiagnoser {
    /// Always answers with `diagnosis`.
    pub fn answer(diagnosis: Diagnosis) -> Self {
        Self {
            name: "scripted".into(),
            fallback: Some(diagnosis),
            script: Arc::default(),
            calls: Arc::default(),
        }
    }

    /// Answers with these outcomes in order, then `NoMatch`.
    pub fn outcomes(outcomes: impl IntoIterator<Item = Result<DiagnoseOutcome>>) -> Self {
        Self {
            name: "scripted".into(),
            fallback: None,
            script: Arc::new(Mutex::new(outcomes.into_iter().collect())),
            calls: Arc::default(),
        }
    }

    /// The reports it was asked about.
    pub fn calls(&self) -> Vec<Report> {
        lock(&self.calls).clone()
    }
}

#[async_trait]
impl Diagnoser for ScriptedDiagnoser {
    fn name(&self) -> &str {
        &self.name
    }

    async fn diagnose(&self, report: &Report, _ctx: &DiagnoseContext) -> Result<DiagnoseOutcome> {
        lock(&self.calls).push(report.clone());
        if let Some(next) = lock(&self.script).pop_front() {
            return next;
        }
        Ok(match &self.fallback {
            Some(d) => DiagnoseOutcome::Diagnosed(d.clone()),
            None => DiagnoseOutcome::NoMatch,
        })
    }
}
