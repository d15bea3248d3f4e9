//! The pipeline engine: [`FlowDoctor`].
//!
//! Capture happens on the host's threads and only enqueues; a background
//! worker thread with its own small async runtime runs the pipeline
//! (scrub → fingerprint → cascade → dedup/store → diagnose → route/notify
//! (+ digest) → remediate). The queue is bounded: when it is full a report is
//! dropped and counted, never blocking the host. Nothing here panics into
//! the host: stage failures are recorded as data.
//!
//! Retention: after the first report of each UTC day (per store, across
//! processes) the worker prunes incidents quiet for longer than
//! `store.retention_days` ([`Store::prune`]); `retention_days: 0` turns it
//! off.
//!
//! ```
//! use std::time::Duration;
//! use flow_doctor_core::{FlowDoctor, Severity};
//!
//! let fd = FlowDoctor::builder("nightly-etl").build().unwrap();
//! let handle = fd.report_message(Severity::Error, "orders.csv is empty");
//! let outcome = handle.wait(Duration::from_secs(5)).unwrap();
//! assert_eq!(outcome.flow, "nightly-etl");
//! fd.flush(Duration::from_secs(5));
//! ```

mod capture;
mod event;
mod pipeline;

use std::collections::BTreeMap;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crossbeam_queue::ArrayQueue;
use serde::{Deserialize, Serialize};

use capture::Captured;
pub(crate) use capture::Payload;
pub use event::{CapturedEvent, Fields, SegmentWriter};
use pipeline::{Channel, Pipeline};

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::diagnose::Diagnoser;
use crate::error::{Error, Result};
use crate::model::{DecisionKind, Diagnosis, ExitInfo, Report, ReportId, ReportKind, Severity};
use crate::notify::{Notifier, Route};
use crate::remediate::Remediator;
use crate::ring::LogRing;
use crate::scope::{self, ScopeData};
use crate::scrub::Scrubber;
use crate::store::Store;

/// What happened to a report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// The occurrence's id.
    pub report_id: ReportId,
    /// The incident it belongs to (its own id unless deduplicated).
    pub incident_id: ReportId,
    /// Flow.
    pub flow: String,
    /// Signature.
    pub signature: String,
    /// The decision.
    pub decision: DecisionKind,
    /// Why.
    pub reason: String,
    /// The diagnosis, when one was made.
    pub diagnosis: Option<Diagnosis>,
    /// Occurrences of the incident so far (for a duplicate: including it).
    pub dedup_count: u64,
}

impl Outcome {
    fn from_decision(
        d: &crate::model::Decision,
        diagnosis: Option<Diagnosis>,
        dedup_count: u64,
    ) -> Self {
        Self {
            report_id: d.report_id.clone(),
            incident_id: d.incident_id.clone(),
            flow: d.flow.clone(),
            signature: d.signature.clone(),
            decision: d.kind,
            reason: d.reason.clone(),
            diagnosis,
            dedup_count,
        }
    }

    fn dropped(id: ReportId, flow: String) -> Self {
        Self {
            report_id: id.clone(),
            incident_id: id,
            flow,
            signature: String::new(),
            decision: DecisionKind::Dropped,
            reason: "the capture queue was full; the report was dropped and counted".into(),
            diagnosis: None,
            dedup_count: 0,
        }
    }
}

/// A handle on a submitted report: its id now, its [`Outcome`] once the
/// worker has processed it.
#[derive(Clone, Debug)]
pub struct ReportHandle {
    id: ReportId,
    slot: Arc<OutcomeSlot>,
}

#[derive(Debug, Default)]
struct OutcomeSlot {
    value: Mutex<Option<Outcome>>,
    ready: Condvar,
    notify: tokio::sync::Notify,
}

impl OutcomeSlot {
    fn fill(&self, outcome: Outcome) {
        *self.value.lock().unwrap_or_else(|e| e.into_inner()) = Some(outcome);
        self.ready.notify_all();
        self.notify.notify_waiters();
    }

    fn get(&self) -> Option<Outcome> {
        self.value.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl ReportHandle {
    /// The report's id.
    pub fn id(&self) -> &ReportId {
        &self.id
    }

    /// The outcome if it is already known.
    pub fn try_outcome(&self) -> Option<Outcome> {
        self.slot.get()
    }

    /// Blocks the current thread up to `timeout` for the outcome. Do not
    /// call from inside an async task; use [`ReportHandle::outcome`].
    pub fn wait(&self, timeout: Duration) -> Option<Outcome> {
        let deadline = Instant::now() + timeout;
        let mut value = self.slot.value.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(o) = value.as_ref() {
                return Some(o.clone());
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            value = self
                .slot
                .ready
                .wait_timeout(value, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Waits asynchronously for the outcome.
    pub async fn outcome(&self) -> Outcome {
        loop {
            let notified = self.slot.notify.notified();
            if let Some(o) = self.slot.get() {
                return o;
            }
            notified.await;
        }
    }
}

/// How deliveries are retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts per delivery, the first included.
    pub max_attempts: u32,
    /// Delay before the second attempt; doubles each time.
    pub base_delay: Duration,
    /// Longest delay between attempts (also caps `Retry-After`).
    pub max_delay: Duration,
    /// Longest a single attempt may take.
    pub attempt_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            attempt_timeout: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// A policy with the given attempts and base delay.
    pub fn new(max_attempts: u32, base_delay: Duration) -> Self {
        Self {
            max_attempts: max_attempts.max(1),
            base_delay,
            ..Self::default()
        }
    }

    /// Sets the per-attempt timeout.
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = timeout;
        self
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32 << attempt.saturating_sub(1).min(16);
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }
}

/// Counters of what the engine saw and did since it started.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Bumped by every capturing thread; on its own cache line so the
    /// worker's counters do not bounce it between cores.
    captured: CachePadded<AtomicU64>,
    dropped: AtomicU64,
    processed: AtomicU64,
    reported_drops: AtomicU64,
    decisions: Mutex<BTreeMap<DecisionKind, u64>>,
}

impl Counters {
    fn count_decision(&self, kind: DecisionKind) {
        *self
            .decisions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(kind)
            .or_default() += 1;
    }

    /// Drops not yet mentioned on a processed report.
    fn take_unreported_drops(&self) -> u64 {
        let dropped = self.dropped.load(Ordering::Acquire);
        let before = self.reported_drops.swap(dropped, Ordering::AcqRel);
        dropped.saturating_sub(before)
    }
}

/// A snapshot of the engine's counters (heartbeat / status).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Reports and events captured (enqueued or dropped).
    pub captured: u64,
    /// Dropped because the queue was full.
    pub dropped: u64,
    /// Fully processed by the worker.
    pub processed: u64,
    /// Waiting in the queue or being processed.
    pub pending: u64,
    /// Decisions taken, by kind.
    pub decisions: BTreeMap<DecisionKind, u64>,
}

struct Job {
    payload: Payload,
    scope: Option<Arc<ScopeData>>,
    ring_mark: u64,
    slot: Option<Arc<OutcomeSlot>>,
}

/// Keeps a hot atomic on a cache line of its own (128 bytes: the adjacent
/// line prefetcher pulls pairs on x86), so that writes by the worker to a
/// neighbour do not slow the capturing threads.
#[derive(Debug, Default)]
#[repr(align(128))]
struct CachePadded<T>(T);

impl<T> std::ops::Deref for CachePadded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// A log event waiting for the worker, carried inline.
struct EventJob {
    event: CapturedEvent,
    scope: Option<Arc<ScopeData>>,
    ring_mark: u64,
}

/// Slots of the inline event queue (about 400 bytes each).
const EVENT_SLOTS: usize = 1024;

struct Inner {
    flow: String,
    queue: ArrayQueue<Job>,
    wake: tokio::sync::Notify,
    /// Set by the worker just before it waits for `wake`; capturing threads
    /// only notify then, so a busy worker costs them no atomic write.
    worker_sleeping: CachePadded<AtomicBool>,
    /// Log events, carried inline (see `event`): capturing one copies it
    /// into a slot here, allocation-free. When full, events go boxed into
    /// `queue`; when that is full too, they are dropped and counted.
    events: ArrayQueue<EventJob>,
    pipeline: Arc<Pipeline>,
    counters: Arc<Counters>,
    ring: Arc<LogRing>,
    ring_level: Severity,
    min_level: Severity,
    scrubber: Arc<Scrubber>,
    pending: CachePadded<AtomicU64>,
    idle_lock: Mutex<()>,
    idle: Condvar,
    shutdown: std::sync::atomic::AtomicBool,
}

/// The pipeline handle. Cheap to clone; every clone feeds the same worker.
///
/// Dropping the last clone stops the worker after it drained the queue (up
/// to the configured flush timeout). Keep it alive for the life of the
/// program, or call [`FlowDoctor::flush`] before exiting.
#[derive(Clone)]
pub struct FlowDoctor {
    inner: Arc<Inner>,
    _lifetime: Arc<Lifetime>,
}

impl std::fmt::Debug for FlowDoctor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlowDoctor")
            .field("flow", &self.inner.flow)
            .field("store", &self.inner.pipeline.store.name())
            .field(
                "notifiers",
                &self
                    .inner
                    .pipeline
                    .channels
                    .iter()
                    .map(|c| c.notifier.name().to_string())
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// Builds a [`FlowDoctor`].
#[must_use = "call .build() to start the engine"]
pub struct Builder {
    config: Config,
    store: Option<Arc<dyn Store>>,
    channels: Vec<Channel>,
    diagnoser: Option<Arc<dyn Diagnoser>>,
    remediator: Option<Arc<dyn Remediator>>,
    clock: Arc<dyn Clock>,
    scrubber: Option<Scrubber>,
    retry: RetryPolicy,
    drop_flush_timeout: Duration,
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("flow", &self.config.flow_name)
            .finish_non_exhaustive()
    }
}

impl Builder {
    /// Takes pipeline settings from a loaded configuration: cooldown,
    /// dependencies and cascade window, capture levels and queue, scrub
    /// patterns, diagnosis alert threshold, retention. Notifiers, store, diagnoser and
    /// remediator are given separately (the facade's `init` builds them from
    /// the same configuration).
    pub fn config(mut self, config: &Config) -> Self {
        self.config = config.clone();
        self
    }

    /// The store (default: an in-memory store).
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// Adds a notifier with the default route (critical and error, no limit).
    pub fn notifier(self, notifier: Arc<dyn Notifier>) -> Self {
        self.notifier_with_route(notifier, Route::default())
    }

    /// Adds a notifier with its route. Notifiers are tried in the order added.
    pub fn notifier_with_route(mut self, notifier: Arc<dyn Notifier>, route: Route) -> Self {
        self.channels.push(Channel { notifier, route });
        self
    }

    /// The diagnoser (default: none).
    pub fn diagnoser(mut self, diagnoser: Arc<dyn Diagnoser>) -> Self {
        self.diagnoser = Some(diagnoser);
        self
    }

    /// The remediator (default: none).
    pub fn remediator(mut self, remediator: Arc<dyn Remediator>) -> Self {
        self.remediator = Some(remediator);
        self
    }

    /// The clock (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The dedup cooldown (default 60 minutes; also settable through config).
    pub fn cooldown(mut self, cooldown: Duration) -> Self {
        self.config.dedup.cooldown = cooldown.into();
        self
    }

    /// Upstream flows for cascade detection.
    pub fn dependencies(mut self, flows: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.config.dependencies = flows.into_iter().map(Into::into).collect();
        self
    }

    /// Capacity of the capture queue.
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.config.capture.queue_capacity = capacity;
        self
    }

    /// Delivery retry policy.
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// A scrubber to use instead of the one built from configuration.
    pub fn scrubber(mut self, scrubber: Scrubber) -> Self {
        self.scrubber = Some(scrubber);
        self
    }

    /// How long dropping the last handle waits for the queue to drain
    /// (default 5 s).
    pub fn drop_flush_timeout(mut self, timeout: Duration) -> Self {
        self.drop_flush_timeout = timeout;
        self
    }

    /// Starts the background worker.
    pub fn build(self) -> Result<FlowDoctor> {
        let cfg = self.config;
        if cfg.flow_name.trim().is_empty() {
            return Err(Error::config(
                "engine",
                "the flow name is empty; give FlowDoctor::builder a name",
            ));
        }
        let capacity = cfg.capture.queue_capacity.max(1);
        let scrubber = match self.scrubber {
            Some(s) => s,
            None => Scrubber::from_config(&cfg.scrub)?,
        };
        let scrubber = Arc::new(scrubber);
        let ring = Arc::new(LogRing::new(cfg.capture.ring_size));
        let counters = Arc::new(Counters::default());
        let store: Arc<dyn Store> = match self.store {
            Some(s) => s,
            None => Arc::new(crate::memory::MemoryStore::new()),
        };
        let host = gethostname::gethostname().to_string_lossy().into_owned();
        let pipeline = Arc::new(Pipeline {
            store,
            channels: self.channels,
            diagnoser: self.diagnoser,
            remediator: self.remediator,
            clock: self.clock,
            scrubber: scrubber.clone(),
            ring: ring.clone(),
            cooldown: cfg.dedup.cooldown.get(),
            dependencies: cfg.dependencies.clone(),
            cascade_window: cfg.cascade_window.get(),
            retry: self.retry,
            success_pings: cfg.capture.success_pings,
            diagnosis_alert_after: cfg.diagnosis.alert_after_failures,
            host,
            counters: counters.clone(),
            retention: cfg.store.retention(),
            pruned_day: AtomicI64::new(i64::MIN),
        });
        let inner = Arc::new(Inner {
            flow: cfg.flow_name.clone(),
            queue: ArrayQueue::new(capacity),
            wake: tokio::sync::Notify::new(),
            worker_sleeping: CachePadded(AtomicBool::new(false)),
            events: ArrayQueue::new(capacity.min(EVENT_SLOTS)),
            pipeline,
            counters,
            ring,
            ring_level: cfg.capture.ring_level,
            min_level: cfg.capture.min_level,
            scrubber,
            pending: CachePadded(AtomicU64::new(0)),
            idle_lock: Mutex::new(()),
            idle: Condvar::new(),
            shutdown: std::sync::atomic::AtomicBool::new(false),
        });
        let worker = inner.clone();
        std::thread::Builder::new()
            .name(WORKER_THREAD.into())
            .spawn(move || run_worker(worker))
            .map_err(|e| Error::permanent("engine", e))?;
        Ok(FlowDoctor {
            _lifetime: Arc::new(Lifetime {
                inner: inner.clone(),
                drop_timeout: self.drop_flush_timeout,
            }),
            inner,
        })
    }
}

/// Flushes and stops the worker when the last [`FlowDoctor`] clone drops.
struct Lifetime {
    inner: Arc<Inner>,
    drop_timeout: Duration,
}

impl Drop for Lifetime {
    fn drop(&mut self) {
        self.inner.flush(self.drop_timeout);
        self.inner.shutdown.store(true, Ordering::Release);
        self.inner.wake.notify_one();
    }
}

/// The worker thread's name (its runtime also runs the pipeline's tasks).
const WORKER_THREAD: &str = "flow-doctor-worker";

/// The name of the worker runtime's blocking threads (SQLite, files).
const BLOCKING_THREAD: &str = "flow-doctor-blocking";

/// Whether the current thread is one of the engine's own: a panic there is
/// a stage's failure the engine catches and records itself.
pub(crate) fn on_engine_thread() -> bool {
    matches!(
        std::thread::current().name(),
        Some(WORKER_THREAD | BLOCKING_THREAD)
    )
}

/// Jobs processed at once by the worker (each may wait on the network).
const MAX_IN_FLIGHT: usize = 16;

fn run_worker(inner: Arc<Inner>) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .thread_name(BLOCKING_THREAD)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!(
                "flow-doctor: cannot start the background worker: {e}; reports will be dropped and counted"
            );
            inner.shutdown.store(true, Ordering::Release);
            return;
        }
    };
    rt.block_on(async {
        let permits = Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT));
        loop {
            // A free slot first, then a job: a job waiting for a slot stays
            // in its queue (counted there, and an inline event keeps its
            // slot rather than being boxed on the worker).
            while let Ok(permit) = permits.clone().acquire_owned().await {
                let Some(job) = inner.next_job() else {
                    break;
                };
                let inner = inner.clone();
                tokio::spawn(async move {
                    inner.run_job(job).await;
                    drop(permit);
                });
            }
            if inner.shutdown.load(Ordering::Acquire)
                && inner.queue.is_empty()
                && inner.events.is_empty()
            {
                let _ = permits.acquire_many(MAX_IN_FLIGHT as u32).await;
                break;
            }
            // Announce the wait, then look again: a job pushed before the
            // announcement is seen here, one pushed after it sees the flag
            // and notifies (both sides use SeqCst; `Notify` keeps a permit
            // if the notification lands before the wait starts).
            inner.worker_sleeping.store(true, Ordering::SeqCst);
            if !inner.queue.is_empty()
                || !inner.events.is_empty()
                || inner.shutdown.load(Ordering::SeqCst)
            {
                inner.worker_sleeping.store(false, Ordering::Relaxed);
                continue;
            }
            inner.wake.notified().await;
            inner.worker_sleeping.store(false, Ordering::Relaxed);
        }
    });
}

impl Inner {
    /// The next job: reports and overflowed events first, then inline
    /// events (turned into reports here, freeing their slot at once).
    fn next_job(&self) -> Option<Job> {
        if let Some(job) = self.queue.pop() {
            return Some(job);
        }
        let EventJob {
            event,
            scope,
            ring_mark,
        } = self.events.pop()?;
        Some(Job {
            payload: Payload::Report(Box::new(capture::event_report(&self.flow, &event))),
            scope,
            ring_mark,
            slot: None,
        })
    }

    async fn run_job(self: &Arc<Self>, job: Job) {
        let Job {
            payload,
            scope,
            ring_mark,
            slot,
        } = job;
        let mut report = match payload {
            Payload::Report(r) => *r,
            Payload::Event(ev) => capture::event_report(&self.flow, &ev),
            Payload::Captured(c) => capture::captured_report(&self.flow, *c),
        };
        capture::apply_scope(&mut report, scope.as_ref());
        let pipeline = self.pipeline.clone();
        let fallback = (report.id.clone(), report.flow.clone());
        let joined =
            tokio::spawn(async move { pipeline.process(report, Some(ring_mark)).await }).await;
        let (outcome, follow_up) = match joined {
            Ok(done) => done,
            Err(e) => {
                eprintln!(
                    "flow-doctor: the pipeline panicked on report {}: {e}",
                    fallback.0
                );
                let mut o = Outcome::dropped(fallback.0, fallback.1);
                o.reason = format!("the pipeline failed on this report: {e}");
                (o, None)
            }
        };
        if let Some(alert) = follow_up {
            self.enqueue(Payload::Report(Box::new(alert)), None, None);
        }
        if let Some(slot) = slot {
            slot.fill(outcome);
        }
        // Before `finish_one`, so that a flush also waits for it.
        self.pipeline.prune_daily().await;
        self.counters.processed.fetch_add(1, Ordering::AcqRel);
        self.finish_one();
    }

    fn finish_one(&self) {
        if self.pending.fetch_sub(1, Ordering::AcqRel) == 1 {
            let _lock = self.idle_lock.lock().unwrap_or_else(|e| e.into_inner());
            self.idle.notify_all();
        }
    }

    /// Enqueues without blocking; a full queue drops and counts.
    fn enqueue(
        &self,
        payload: Payload,
        scope: Option<Arc<ScopeData>>,
        slot: Option<Arc<OutcomeSlot>>,
    ) -> bool {
        if !self.admit() {
            return false;
        }
        let job = Job {
            payload,
            scope,
            ring_mark: self.ring.mark(),
            slot,
        };
        self.push_job(job)
    }

    /// Enqueues a log event inline; when the event queue is full it goes
    /// boxed into the main queue. Never blocks.
    fn enqueue_event(&self, event: CapturedEvent, scope: Option<Arc<ScopeData>>) -> bool {
        if !self.admit() {
            return false;
        }
        let job = EventJob {
            event,
            scope,
            ring_mark: self.ring.mark(),
        };
        match self.events.push(job) {
            Ok(()) => {
                self.wake_worker();
                true
            }
            Err(job) => self.push_job(Job {
                payload: Payload::Event(Box::new(job.event)),
                scope: job.scope,
                ring_mark: job.ring_mark,
                slot: None,
            }),
        }
    }

    /// Counts a capture; false (and counted as dropped) after shutdown.
    fn admit(&self) -> bool {
        self.counters.captured.fetch_add(1, Ordering::Relaxed);
        if self.shutdown.load(Ordering::Acquire) {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        self.pending.fetch_add(1, Ordering::AcqRel);
        true
    }

    fn push_job(&self, job: Job) -> bool {
        match self.queue.push(job) {
            Ok(()) => {
                self.wake_worker();
                true
            }
            Err(_) => {
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                self.finish_one();
                false
            }
        }
    }

    /// Wakes the worker if it is waiting (see `run_worker`).
    fn wake_worker(&self) {
        if self.worker_sleeping.load(Ordering::SeqCst) {
            self.wake.notify_one();
        }
    }

    fn flush(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut lock = self.idle_lock.lock().unwrap_or_else(|e| e.into_inner());
        while self.pending.load(Ordering::Acquire) > 0 {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return false;
            };
            lock = self
                .idle
                .wait_timeout(lock, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }
}

impl FlowDoctor {
    /// Starts building an engine for `flow`.
    pub fn builder(flow: impl Into<String>) -> Builder {
        Builder {
            config: Config::new(flow),
            store: None,
            channels: Vec::new(),
            diagnoser: None,
            remediator: None,
            clock: Arc::new(SystemClock),
            scrubber: None,
            retry: RetryPolicy::default(),
            drop_flush_timeout: Duration::from_secs(5),
        }
    }

    /// The flow name.
    pub fn flow(&self) -> &str {
        &self.inner.flow
    }

    /// The store reports go to.
    pub fn store(&self) -> Arc<dyn Store> {
        self.inner.pipeline.store.clone()
    }

    /// The scrubber in use.
    pub fn scrubber(&self) -> &Scrubber {
        &self.inner.scrubber
    }

    /// Reports an error (walking its `source()` chain) at severity error.
    #[track_caller]
    pub fn report<E: std::error::Error + 'static>(&self, err: &E) -> ReportHandle {
        self.report_with(err, std::iter::empty::<(String, String)>())
    }

    /// Reports an error with extra context key/values.
    #[track_caller]
    pub fn report_with<E, K, V>(
        &self,
        err: &E,
        context: impl IntoIterator<Item = (K, V)>,
    ) -> ReportHandle
    where
        E: std::error::Error + 'static,
        K: Into<String>,
        V: ToString,
    {
        let mut c = Captured::error(
            Severity::Error,
            err,
            std::any::type_name::<E>(),
            std::panic::Location::caller(),
        );
        c.context
            .extend(context.into_iter().map(|(k, v)| (k.into(), v.to_string())));
        self.submit_captured(c)
    }

    /// Reports a `dyn Error` (when the concrete type is not known).
    #[track_caller]
    pub fn report_dyn(&self, err: &(dyn std::error::Error + 'static)) -> ReportHandle {
        self.submit_captured(Captured::error(
            Severity::Error,
            err,
            "dyn Error",
            std::panic::Location::caller(),
        ))
    }

    /// Reports a message at the given severity.
    pub fn report_message(&self, severity: Severity, message: impl Into<String>) -> ReportHandle {
        self.submit_captured(Captured::message(
            severity,
            ReportKind::Message,
            message.into(),
        ))
    }

    /// Reports failure text (a traceback, a log excerpt): error type,
    /// message and frames are parsed out of it on the worker.
    pub fn report_text(&self, severity: Severity, text: impl Into<String>) -> ReportHandle {
        let mut r = Report::new(
            &*self.inner.flow,
            severity,
            ReportKind::Message,
            String::new(),
        );
        r.traceback = Some(text.into());
        self.submit(r)
    }

    /// Reports a wrapped process that failed: its exit details and the tail
    /// of its stderr (parsed for a traceback on the worker).
    pub fn report_exit(&self, exit: ExitInfo, stderr_tail: impl Into<String>) -> ReportHandle {
        let severity = Severity::Error;
        let mut r = Report::new(
            &*self.inner.flow,
            severity,
            ReportKind::ProcessExit,
            String::new(),
        );
        let tail = stderr_tail.into();
        if !tail.trim().is_empty() {
            r.traceback = Some(tail);
        }
        r.exit = Some(exit);
        self.submit(r)
    }

    /// Records a success ping (severity info); delivered only to channels
    /// whose route opts in, when `capture.success_pings` is on. Never diagnosed.
    pub fn notify_success(&self, message: impl Into<String>) -> ReportHandle {
        self.submit_captured(Captured::message(
            Severity::Info,
            ReportKind::Success,
            message.into(),
        ))
    }

    /// Submits a fully built report (its flow, severity and kind as given).
    pub fn submit(&self, report: Report) -> ReportHandle {
        let (id, flow) = (report.id.clone(), report.flow.clone());
        self.submit_payload(id, Some(flow), Payload::Report(Box::new(report)))
    }

    /// Enqueues what a capture method took on the host thread; the worker
    /// builds the report.
    fn submit_captured(&self, captured: Captured) -> ReportHandle {
        let id = captured.id.clone();
        self.submit_payload(id, None, Payload::Captured(Box::new(captured)))
    }

    /// Enqueues `payload` with an outcome slot; a dropped payload's slot is
    /// filled at once (with `flow`, or the engine's when `None`).
    fn submit_payload(&self, id: ReportId, flow: Option<String>, payload: Payload) -> ReportHandle {
        let slot = Arc::new(OutcomeSlot::default());
        if !self
            .inner
            .enqueue(payload, scope::current(), Some(slot.clone()))
        {
            let flow = flow.unwrap_or_else(|| self.inner.flow.clone());
            slot.fill(Outcome::dropped(id.clone(), flow));
        }
        ReportHandle { id, slot }
    }

    /// Captures a log event: at or above `capture.min_level` it becomes a
    /// report; at or above `capture.ring_level` it goes to the log ring.
    /// Never blocks; used by the `tracing` and `log` integrations.
    pub fn capture_event(&self, event: CapturedEvent) {
        if event.severity() >= self.inner.min_level {
            self.report_event(event);
        } else if event.severity() >= self.inner.ring_level {
            self.log_event(&event);
        }
    }

    /// Turns a log event into a report, whatever its severity. Never
    /// blocks, and allocates nothing for an event that fits inline.
    pub fn report_event(&self, event: CapturedEvent) {
        self.inner.enqueue_event(event, scope::current());
    }

    /// Puts a log event in the log ring only.
    pub fn log_event(&self, event: &CapturedEvent) {
        self.inner.ring.push(event.to_log_line());
    }

    /// Whether an event of this severity becomes a report under the
    /// configured `capture.min_level`.
    pub fn reports(&self, severity: Severity) -> bool {
        severity >= self.inner.min_level
    }

    /// Whether an event of this severity would be captured at all (report
    /// or log ring); lets integrations skip formatting.
    pub fn captures(&self, severity: Severity) -> bool {
        severity >= self.inner.ring_level || severity >= self.inner.min_level
    }

    /// Adds a line to the log ring (attached to the next report).
    pub fn capture_log(&self, line: crate::model::LogLine) {
        self.inner.ring.push(line);
    }

    /// Runs `f`; an `Err` is reported and returned unchanged; a panic is
    /// reported and resumed.
    pub fn guard<T, E, F>(&self, f: F) -> std::result::Result<T, E>
    where
        F: FnOnce() -> std::result::Result<T, E>,
        E: std::error::Error + 'static,
    {
        self.settle(catch_unwind(AssertUnwindSafe(f)))
    }

    /// What `guard` and `guard_async` hand back: an `Err` is reported and
    /// returned, a panic is reported and resumed.
    fn settle<T, E: std::error::Error + 'static>(
        &self,
        caught: std::thread::Result<std::result::Result<T, E>>,
    ) -> std::result::Result<T, E> {
        match caught {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                self.report(&e);
                Err(e)
            }
            Err(payload) => {
                self.report_panic_payload(payload.as_ref());
                std::panic::resume_unwind(payload)
            }
        }
    }

    /// Awaits `fut`; an `Err` is reported and returned unchanged; a panic is
    /// reported and resumed.
    pub async fn guard_async<T, E, F>(&self, fut: F) -> std::result::Result<T, E>
    where
        F: Future<Output = std::result::Result<T, E>>,
        E: std::error::Error + 'static,
    {
        let caught = CatchUnwind {
            inner: Box::pin(fut),
        }
        .await;
        self.settle(caught)
    }

    /// Wraps a handler (e.g. a Lambda handler) so every call is guarded.
    pub fn monitor<A, T, E, F>(
        &self,
        f: F,
    ) -> impl Fn(A) -> std::result::Result<T, E> + use<A, T, E, F>
    where
        F: Fn(A) -> std::result::Result<T, E>,
        E: std::error::Error + 'static,
    {
        let fd = self.clone();
        move |arg| fd.guard(|| f(arg))
    }

    fn report_panic_payload(&self, payload: &(dyn std::any::Any + Send)) {
        if crate::panic::take_reported_by_hook() {
            return;
        }
        let message = crate::panic::payload_message(payload);
        let mut r = Report::new(
            &*self.inner.flow,
            Severity::Critical,
            ReportKind::Panic,
            message,
        );
        r.error_type = Some("panic".into());
        if let Some(name) = std::thread::current().name() {
            r.context.insert("thread".into(), name.to_string());
        }
        self.submit(r);
        self.flush(Duration::from_secs(2));
    }

    /// Waits up to `timeout` until every captured report has been fully
    /// processed. Returns whether the queue drained in time.
    pub fn flush(&self, timeout: Duration) -> bool {
        self.inner.flush(timeout)
    }

    /// A guard that flushes (up to `timeout`) when dropped; keep it alive in
    /// `main`.
    pub fn flush_guard(&self, timeout: Duration) -> FlushGuard {
        FlushGuard {
            fd: self.clone(),
            timeout,
        }
    }

    /// The engine's counters.
    pub fn stats(&self) -> Stats {
        let c = &self.inner.counters;
        Stats {
            captured: c.captured.load(Ordering::Acquire),
            dropped: c.dropped.load(Ordering::Acquire),
            processed: c.processed.load(Ordering::Acquire),
            pending: self.inner.pending.load(Ordering::Acquire),
            decisions: c
                .decisions
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        }
    }
}

/// Flushes the engine when dropped.
#[derive(Debug)]
#[must_use = "the guard flushes when dropped; bind it to a variable"]
pub struct FlushGuard {
    fd: FlowDoctor,
    timeout: Duration,
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        self.fd.flush(self.timeout);
    }
}

/// Catches a panic while polling the inner future.
struct CatchUnwind<F> {
    inner: Pin<Box<F>>,
}

impl<F: Future> Future for CatchUnwind<F> {
    type Output = std::result::Result<F::Output, Box<dyn std::any::Any + Send>>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &mut self.inner;
        match catch_unwind(AssertUnwindSafe(|| inner.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(payload) => Poll::Ready(Err(payload)),
        }
    }
}

#[cfg(test)]
mod tests;
