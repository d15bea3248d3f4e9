//! Parsing failure text into error type, message and frames, and computing
//! the grouping signature.
