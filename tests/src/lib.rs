//! Helpers for the stack tests: a real SMTP server that keeps what it
//! receives, a TCP proxy that can cut a dependency off, the whole
//! Countersign stack started on free ports against either backend, and the
//! capture of every log line the stack writes.

// Test support: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod logs;
pub mod mail;
pub mod proxy;
pub mod stack;
