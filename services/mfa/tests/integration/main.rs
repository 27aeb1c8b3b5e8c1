//! Integration tests of the mfa service, one binary:
//!
//! - [`stores`]: the storage conformance checks against real Redis and
//!   Postgres, Redis outages, and key TTLs;
//! - [`api`]: the gRPC API end to end, with fake auth and notification
//!   services on loopback;
//! - [`admin`]: ResetFactors and ListFactors, the calls auth makes for an
//!   admin, malformed and oversized input included;
//! - [`audit`]: the audit events mfa has auth record, the "this wasn't me"
//!   links in its notices, and sessions that may only enroll;
//! - [`recovery`]: recovery codes through the same API;
//! - [`limits`]: the lockout and the pacing of emailed codes through the
//!   same API.
//!
//! Redis and Postgres come from `COUNTERSIGN_TEST_REDIS_URL` and
//! `COUNTERSIGN_TEST_POSTGRES_URL`, by default the local servers. Each test
//! uses its own Redis key prefix and Postgres schema.

// A test fails by panicking, helpers included.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin;
mod api;
mod audit;
mod fakes;
mod limits;
mod recovery;
mod stores;

use rand::{Rng, rngs::OsRng};

/// Redis for tests.
pub fn redis_url() -> String {
    std::env::var("COUNTERSIGN_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// Postgres for tests.
pub fn postgres_url() -> String {
    std::env::var("COUNTERSIGN_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A name no other test run uses, for schemas and key prefixes.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}_{:012x}", OsRng.r#gen::<u64>() & 0xffff_ffff_ffff)
}
