//! Countersign's mfa service: it owns second factors. TOTP secrets are
//! sealed with AES-256-GCM in SQL (and re-sealed under the newest key at
//! start), recovery codes are single-use keyed hashes in SQL, emailed codes
//! are keyed hashes in Redis (or in process), and every accepted TOTP step
//! is recorded so a code works once. It checks sessions with `auth` and
//! sends email through `notification`, both over gRPC.
//!
//! Layout:
//! - [`config`]: the service's settings;
//! - [`service`]: `Service::build` and `Service::serve`;
//! - [`domain`]: the operations, free of gRPC;
//! - [`grpc`]: handlers, prost conversions, clients of the other services,
//!   and the one place that makes `tonic::Status`;
//! - [`store`]: the code and lockout store (Redis, memory) and factor
//!   store (SQL);
//! - [`totp`], [`code`], [`recovery`], [`model`], [`ports`]: the pieces.

pub mod code;
pub mod config;
pub mod domain;
pub mod grpc;
pub mod model;
pub mod ports;
pub mod recovery;
pub mod service;
pub mod store;
pub mod totp;

pub use config::Config;
pub use service::{Service, StartError};
