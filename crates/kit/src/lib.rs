//! Scaffolding every Countersign service shares, so each service's own code is
//! only its domain:
//!
//! - [`clock`]: the one place that reads the system clock;
//! - [`config`]: layered, typed configuration (defaults, file, environment);
//! - [`db`]: SQL pools on Postgres or SQLite, with a schema per service;
//! - [`grpc`]: serving with health and reflection, client channels, metadata;
//! - [`seal`]: AES-256-GCM encryption of secrets at rest under a key ring;
//! - [`status`]: `Status` builders that carry structured error details;
//! - [`telemetry`]: logging setup;
//! - [`token`]: random bearer tokens and their stored digests.

pub mod clock;
pub mod config;
pub mod db;
pub mod grpc;
pub mod seal;
pub mod status;
pub mod telemetry;
pub mod token;
