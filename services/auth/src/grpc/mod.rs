//! gRPC handlers: each converts the protobuf request into domain values,
//! calls [`Auth`], and wraps the answer. Errors become `Status` in
//! [`status`] only.

mod admin;
mod auth;
mod convert;
mod internal;
mod records;
mod status;

use std::sync::Arc;

use crate::domain::Auth;

/// The three gRPC services of auth, sharing one domain.
#[derive(Clone)]
pub struct AuthApi {
    auth: Arc<Auth>,
}

impl AuthApi {
    /// The API over a domain.
    pub fn new(auth: Arc<Auth>) -> Self {
        Self { auth }
    }
}
