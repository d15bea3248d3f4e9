//! Persistent [`Store`](flow_doctor_core::Store) implementations for
//! flow-doctor.
//!
//! [`SqliteStore`] (feature `sqlite`, default) keeps incidents, decisions,
//! actions, feedback, patterns, fix attempts, the digest queue, rate-limit
//! windows and the cost ledger in one SQLite file in WAL mode, shared
//! safely by every process on the host: dedup, rate limits and budgets are
//! exact across processes. The in-memory store is
//! [`flow_doctor_core::MemoryStore`].
//!
//! Configuration (`store:` section):
//!
//! ```yaml
//! store:
//!   type: sqlite            # default
//!   path: ./flow_doctor.db  # default
//!   busy_timeout: 10s       # default: how long a writer waits for another process
//! ```
//!
//! ```no_run
//! # #[cfg(feature = "sqlite")]
//! # fn demo() -> flow_doctor_core::Result<()> {
//! use std::sync::Arc;
//! use std::time::Duration;
//! use flow_doctor_core::Store;
//! use flow_doctor_storage::SqliteStore;
//!
//! let store: Arc<dyn Store> =
//!     Arc::new(SqliteStore::open("flow_doctor.db", Duration::from_secs(10))?);
//! # Ok(()) }
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "sqlite")]
mod sqlite;

#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use sqlite::SqliteStore;
