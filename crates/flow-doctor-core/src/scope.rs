//! Ambient context: flow, stage, run id and extra keys set once for a
//! scope and picked up by every report captured inside it.
//!
//! ```
//! use flow_doctor_core::scope;
//!
//! let _guard = scope().stage("load").run_id("2024-06-01").set("table", "orders").enter();
//! // every report captured on this thread until `_guard` drops carries these keys
//! ```
//!
//! For async code, [`ScopeBuilder::in_scope`] wraps a future so the scope is
//! active whenever it is polled, on whichever thread polls it.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// The values of one scope.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScopeData {
    /// Overrides the flow name.
    pub flow: Option<String>,
    /// Stage within the flow.
    pub stage: Option<String>,
    /// Run identifier.
    pub run_id: Option<String>,
    /// Extra context keys.
    pub extra: BTreeMap<String, String>,
}

impl ScopeData {
    /// Folds `inner` over `self`: inner values win.
    fn merged(&self, inner: &ScopeData) -> ScopeData {
        let mut out = self.clone();
        if inner.flow.is_some() {
            out.flow.clone_from(&inner.flow);
        }
        if inner.stage.is_some() {
            out.stage.clone_from(&inner.stage);
        }
        if inner.run_id.is_some() {
            out.run_id.clone_from(&inner.run_id);
        }
        out.extra
            .extend(inner.extra.iter().map(|(k, v)| (k.clone(), v.clone())));
        out
    }
}

thread_local! {
    static STACK: RefCell<Vec<Arc<ScopeData>>> = const { RefCell::new(Vec::new()) };
}

/// Starts building a scope.
pub fn scope() -> ScopeBuilder {
    ScopeBuilder::default()
}

/// The scope active on this thread (innermost values win), if any. Cheap:
/// a reference-count increment.
pub fn current() -> Option<Arc<ScopeData>> {
    STACK
        .try_with(|s| s.borrow().last().cloned())
        .ok()
        .flatten()
}

/// Builder for a scope; see the module docs.
#[derive(Clone, Debug, Default)]
#[must_use = "a scope does nothing until entered"]
pub struct ScopeBuilder {
    data: ScopeData,
}

impl ScopeBuilder {
    /// Sets the flow name for reports in this scope.
    pub fn flow(mut self, flow: impl Into<String>) -> Self {
        self.data.flow = Some(flow.into());
        self
    }

    /// Sets the stage.
    pub fn stage(mut self, stage: impl Into<String>) -> Self {
        self.data.stage = Some(stage.into());
        self
    }

    /// Sets the run id.
    pub fn run_id(mut self, run_id: impl Into<String>) -> Self {
        self.data.run_id = Some(run_id.into());
        self
    }

    /// Adds a context key.
    pub fn set(mut self, key: impl Into<String>, value: impl ToString) -> Self {
        self.data.extra.insert(key.into(), value.to_string());
        self
    }

    fn resolved(self) -> Arc<ScopeData> {
        Arc::new(match current() {
            Some(outer) => outer.merged(&self.data),
            None => self.data,
        })
    }

    /// Enters the scope on this thread until the guard drops.
    pub fn enter(self) -> ScopeGuard {
        let data = self.resolved();
        push(data);
        ScopeGuard {
            _not_send: PhantomData,
        }
    }

    /// Runs `f` inside the scope.
    pub fn run<T>(self, f: impl FnOnce() -> T) -> T {
        let _guard = self.enter();
        f()
    }

    /// Wraps a future so the scope is active whenever it is polled.
    pub fn in_scope<F: Future>(self, future: F) -> Scoped<F> {
        Scoped {
            data: self.resolved(),
            future: Box::pin(future),
        }
    }
}

fn push(data: Arc<ScopeData>) {
    let _ = STACK.try_with(|s| s.borrow_mut().push(data));
}

fn pop() {
    let _ = STACK.try_with(|s| s.borrow_mut().pop());
}

/// Leaves the scope when dropped. Not `Send`: a scope belongs to its thread.
#[derive(Debug)]
pub struct ScopeGuard {
    _not_send: PhantomData<*const ()>,
}

impl Drop for ScopeGuard {
    fn drop(&mut self) {
        pop();
    }
}

/// A future with a scope; see [`ScopeBuilder::in_scope`].
pub struct Scoped<F> {
    data: Arc<ScopeData>,
    future: Pin<Box<F>>,
}

impl<F> std::fmt::Debug for Scoped<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scoped")
            .field("data", &self.data)
            .finish_non_exhaustive()
    }
}

impl<F: Future> Future for Scoped<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        push(self.data.clone());
        let out = self.future.as_mut().poll(cx);
        pop();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_scopes_merge_and_unwind() {
        assert!(current().is_none());
        let _outer = scope().stage("extract").set("table", "orders").enter();
        {
            let _inner = scope().run_id("r1").set("table", "users").enter();
            let now = current().unwrap();
            assert_eq!(now.stage.as_deref(), Some("extract"));
            assert_eq!(now.run_id.as_deref(), Some("r1"));
            assert_eq!(now.extra["table"], "users");
        }
        let now = current().unwrap();
        assert_eq!(now.run_id, None);
        assert_eq!(now.extra["table"], "orders");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn futures_carry_their_scope_across_awaits() {
        let seen = scope()
            .flow("async-flow")
            .in_scope(async {
                tokio::task::yield_now().await;
                current().and_then(|s| s.flow.clone())
            })
            .await;
        assert_eq!(seen.as_deref(), Some("async-flow"));
        assert!(current().is_none());
    }
}
