//! The auth service: organizations, members and their passwords, sessions,
//! and the login state machine that hands a login over to the mfa service
//! when the member has a second factor.
//!
//! Layout:
//! - [`config`]: the service's settings;
//! - [`domain`]: the rules (logins, challenges, sessions, administration),
//!   knowing nothing of gRPC;
//! - [`store`]: the storage trait and its SQL implementation;
//! - [`factors`]: the second-factor port, backed by the mfa service;
//! - [`grpc`]: handlers converting between protobuf and the domain;
//! - [`service`]: wiring, start-up and serving.

pub mod config;
pub mod domain;
pub mod factors;
pub mod grpc;
pub mod notices;
pub mod service;
pub mod store;

pub use config::Config;
pub use service::{Service, StartError};
