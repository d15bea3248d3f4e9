//! `SqliteStore` on real SQLite files: the conformance suite, several
//! processes sharing one file, schema migrations and file handling.

mod conformance;
mod files;
mod multiprocess;
