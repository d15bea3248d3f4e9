//! Per-call latency distribution of the tracing layer's emit when
//! enqueuing (median, p99, p99.9), which criterion's per-sample means do not
//! show, in bursts drained between (steady state) and in one storm of a
//! million pending events (heap growth included). Each call is timed on its
//! own; the clock read (measured and printed) is included in the figures.
//!
//! `cargo bench -p flow-doctor-core --bench emit_latency --features tracing
//! [-- bursts|storm|floor|parts]` (a word runs only the scenario it names).
#![allow(clippy::print_stdout)]

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crossbeam_queue::ArrayQueue;
use flow_doctor_core::{CapturedEvent, FlowDoctor, MemoryStore, Severity};
use tracing_subscriber::prelude::*;

const CALLS: usize = 1_000_000;

fn percentile(sorted: &[u64], p: f64) -> u64 {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

/// Bursts of this many events, the queue drained between bursts: the
/// steady state of a service that logs errors in bursts (memory reused).
const BURST: usize = 1_000;

fn print(title: &str, samples: &mut [u64], dropped: u64) {
    samples.sort_unstable();
    println!("{title} (dropped: {dropped})");
    println!("  median  {:>6} ns", percentile(samples, 0.5));
    println!("  p90     {:>6} ns", percentile(samples, 0.9));
    println!("  p99     {:>6} ns", percentile(samples, 0.99));
    println!("  p99.9   {:>6} ns", percentile(samples, 0.999));
}

fn engine(capacity: usize) -> FlowDoctor {
    FlowDoctor::builder("bench")
        .store(Arc::new(MemoryStore::new()))
        .queue_capacity(capacity)
        .build()
        .expect("engine")
}

/// Whether the scenario `name` was asked for (all when no word is given).
fn wanted(name: &str) -> bool {
    let words: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    words.is_empty() || words.iter().any(|w| name.contains(w.as_str()))
}

fn main() {
    let mut clock_cost = Vec::with_capacity(10_000);
    for _ in 0..10_000 {
        let t = Instant::now();
        clock_cost.push(t.elapsed().as_nanos() as u64);
    }
    clock_cost.sort_unstable();
    println!(
        "clock read alone: median {} ns (included in every figure below)",
        percentile(&clock_cost, 0.5)
    );

    // 1. Bursts: the worker processes while the burst is emitted and drains
    //    the queue between bursts.
    if wanted("bursts") {
        bursts();
    }
    // 2. One storm of CALLS events into a queue deep enough for all of them:
    //    includes the cost of growing the heap to hold a million pending
    //    events (beyond the inline event slots, events are boxed).
    if wanted("storm") {
        storm();
    }
    // 3. The floor on this machine for any layer that captures to a worker:
    //    the same event through the same registry, a layer that only reads
    //    the clock and copies an event-sized value into a queue slot, and a
    //    consumer thread as busy per item as the real worker.
    if wanted("floor") {
        floor();
    }
    // 4. Where the time goes: the same event through a layer that builds a
    //    `CapturedEvent` (public API) and pushes it into a plain queue,
    //    emptied between bursts on the same thread (no worker), recording
    //    none, some or all of the event's fields.
    if wanted("parts") {
        parts();
    }
}

/// How much of the event the `parts` layer records.
#[derive(Clone, Copy, Debug)]
enum Record {
    /// No field visit at all.
    Nothing,
    /// Visits every field and discards it (tracing's own cost).
    VisitOnly,
    /// Formats the message, discards the other fields.
    Message,
    /// The message and every field, as the real layer does.
    Everything,
}

struct PartsVisitor<'a> {
    event: &'a mut CapturedEvent,
    record: Record,
}

impl tracing::field::Visit for PartsVisitor<'_> {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        match self.record {
            Record::Everything => self.event.push_field_str(field.name(), value),
            _ => {
                std::hint::black_box(value);
            }
        }
    }

    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        match self.record {
            Record::Everything => self.event.push_field_u64(field.name(), value),
            _ => {
                std::hint::black_box(value);
            }
        }
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        match self.record {
            Record::Message | Record::Everything if field.name() == "message" => {
                self.event.push_message_fmt(format_args!("{value:?}"));
            }
            Record::Everything => self
                .event
                .push_field_fmt(field.name(), format_args!("{value:?}")),
            _ => {
                std::hint::black_box(value);
            }
        }
    }
}

struct PartsLayer {
    queue: Arc<ArrayQueue<CapturedEvent>>,
    record: Record,
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for PartsLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let meta = event.metadata();
        let mut captured =
            CapturedEvent::new(Severity::Error, "ERROR", Cow::Borrowed(meta.target()));
        captured.set_location(meta.file().map(Cow::Borrowed), meta.line());
        if !matches!(self.record, Record::Nothing) {
            event.record(&mut PartsVisitor {
                event: &mut captured,
                record: self.record,
            });
        }
        let _ = self.queue.push(captured);
    }
}

fn parts() {
    for record in [
        Record::Nothing,
        Record::VisitOnly,
        Record::Message,
        Record::Everything,
    ] {
        let queue = Arc::new(ArrayQueue::new(BURST));
        let subscriber = tracing_subscriber::registry().with(PartsLayer {
            queue: queue.clone(),
            record,
        });
        let mut samples = tracing::subscriber::with_default(subscriber, || {
            timed_bursts(CALLS / 4, |_| while queue.pop().is_some() {})
        });
        print(
            &format!(
                "parts: clock, CapturedEvent and a queue push, recording {record:?}, {} calls",
                CALLS / 4
            ),
            &mut samples,
            0,
        );
    }
}

/// Emits `calls` benchmark events under the current subscriber in bursts
/// of [`BURST`], timing each call on its own; `drain(burst)` runs untimed
/// after each burst.
fn timed_bursts(calls: usize, mut drain: impl FnMut(usize)) -> Vec<u64> {
    let mut samples = Vec::with_capacity(calls);
    for burst in 0..calls / BURST {
        for i in 0..BURST {
            let t = Instant::now();
            tracing::error!(target: "etl::load", table = "orders", row = burst * BURST + i, "load failed");
            samples.push(t.elapsed().as_nanos() as u64);
        }
        drain(burst);
    }
    samples
}

/// An event-sized value (as `CapturedEvent` plus its queue bookkeeping).
type FloorItem = (usize, std::time::SystemTime, [u64; 44]);

struct FloorLayer {
    queue: Arc<ArrayQueue<FloorItem>>,
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for FloorLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let item = (
            std::ptr::from_ref(event.metadata()) as usize,
            std::time::SystemTime::now(),
            [0; 44],
        );
        let _ = self.queue.push(item);
    }
}

fn floor() {
    let queue: Arc<ArrayQueue<FloorItem>> = Arc::new(ArrayQueue::new(1024));
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let consumer = {
        let (queue, done, stop) = (queue.clone(), done.clone(), stop.clone());
        std::thread::spawn(move || {
            // About 50 µs of memory-touching work per item, as the pipeline.
            let mut scratch = vec![0u64; 1 << 20];
            let len = scratch.len();
            while !stop.load(Ordering::Relaxed) {
                let Some(item) = queue.pop() else {
                    std::thread::sleep(Duration::from_micros(50));
                    continue;
                };
                let started = Instant::now();
                let mut x = item.0;
                while started.elapsed() < Duration::from_micros(50) {
                    for _ in 0..64 {
                        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                        scratch[x % len] += 1;
                    }
                }
                done.fetch_add(1, Ordering::Release);
            }
            scratch[0]
        })
    };
    let subscriber = tracing_subscriber::registry().with(FloorLayer {
        queue: queue.clone(),
    });
    let mut samples = tracing::subscriber::with_default(subscriber, || {
        timed_bursts(CALLS / 4, |burst| {
            while done.load(Ordering::Acquire) < ((burst + 1) * BURST) as u64 {
                std::thread::sleep(Duration::from_millis(1));
            }
        })
    });
    stop.store(true, Ordering::Relaxed);
    let _ = consumer.join();
    print(
        &format!(
            "floor: clock + copy of an event-sized value into a queue, {} calls in bursts of {BURST}",
            CALLS / 4
        ),
        &mut samples,
        0,
    );
}

fn bursts() {
    let fd = engine(BURST * 2);
    let subscriber =
        tracing_subscriber::registry().with(flow_doctor_core::tracing_layer::layer(&fd));
    let mut samples = tracing::subscriber::with_default(subscriber, || {
        timed_bursts(CALLS, |_| {
            fd.flush(Duration::from_secs(600));
        })
    });
    let dropped = fd.stats().dropped;
    print(
        &format!("tracing layer emit, {CALLS} calls in bursts of {BURST}, every event enqueued"),
        &mut samples,
        dropped,
    );
}

fn storm() {
    let fd = engine(CALLS + 16);
    let subscriber =
        tracing_subscriber::registry().with(flow_doctor_core::tracing_layer::layer(&fd));
    let mut samples = Vec::with_capacity(CALLS);
    tracing::subscriber::with_default(subscriber, || {
        for i in 0..CALLS {
            let t = Instant::now();
            tracing::error!(target: "etl::load", table = "orders", row = i, "load failed");
            samples.push(t.elapsed().as_nanos() as u64);
        }
    });
    let dropped = fd.stats().dropped;
    fd.flush(Duration::from_secs(600));
    print(
        &format!("tracing layer emit, one storm of {CALLS} calls, every event enqueued"),
        &mut samples,
        dropped,
    );
}
