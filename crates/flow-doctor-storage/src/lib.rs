//! Persistent [`Store`](flow_doctor_core::Store) implementations for
//! flow-doctor.
//!
//! `SqliteStore` (feature `sqlite`, default) keeps incidents, decisions,
//! actions, feedback, patterns, fix attempts, the digest queue and the cost
//! ledger in one SQLite file in WAL mode, shared safely by every process on
//! the host. The in-memory store lives in `flow-doctor-core`.
