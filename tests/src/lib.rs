//! Helpers for the stack tests: a real SMTP server that keeps what it
//! receives, a TCP proxy that can cut a dependency off, and the whole
//! Countersign stack started on free ports against either backend.

// Test support: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod mail;
pub mod proxy;
pub mod stack;
