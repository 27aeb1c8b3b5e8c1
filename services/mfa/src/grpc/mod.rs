//! The gRPC edge: handlers that convert prost messages into domain values
//! and back, clients of the other services, and [`status`], the one place
//! that builds `tonic::Status`.
//!
//! Each handler takes the request, converts it, calls the domain with `?`
//! and wraps the reply; nothing else happens here.

use std::sync::Arc;

use tonic::{server::NamedService, service::Routes};

use countersign_kit::grpc::MAX_REQUEST_BYTES;
use countersign_proto::mfa::v1::{
    mfa_internal_service_server::MfaInternalServiceServer, mfa_service_server::MfaServiceServer,
};

use crate::{
    domain::{MAX_LISTED_MEMBERS, Mfa},
    model::MAX_MEMBER_ID_LEN,
};

pub mod clients;
mod convert;
mod internal;
pub mod status;
mod user;

pub use internal::InternalApi;
pub use user::UserApi;

/// The gRPC names of the services mfa serves, for health reporting.
pub const SERVICE_NAMES: [&str; 2] = [
    <MfaServiceServer<UserApi> as NamedService>::NAME,
    <MfaInternalServiceServer<InternalApi> as NamedService>::NAME,
];

/// Largest request message the internal service decodes: room for a
/// ListFactors of [`MAX_LISTED_MEMBERS`] ids of the longest shape, each
/// with its field tag and length, so that one id more is still read and
/// refused as INVALID_ARGUMENT. Uuid ids of 500 members already pass the
/// general limit of `MAX_REQUEST_BYTES`.
pub const MAX_INTERNAL_REQUEST_BYTES: usize =
    (MAX_LISTED_MEMBERS + 1) * (MAX_MEMBER_ID_LEN + 3) + 1024;

/// Both mfa services over one domain, with their request size limits.
pub fn routes(mfa: Arc<Mfa>) -> Routes {
    let user = MfaServiceServer::new(UserApi::new(mfa.clone()))
        .max_decoding_message_size(MAX_REQUEST_BYTES);
    let internal = MfaInternalServiceServer::new(InternalApi::new(mfa))
        .max_decoding_message_size(MAX_INTERNAL_REQUEST_BYTES);
    Routes::new(user).add_service(internal)
}
