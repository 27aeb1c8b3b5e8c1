//! Generated code for Countersign's gRPC APIs, one module per protobuf
//! package, and the encoded file descriptor set that server reflection serves.

/// The encoded `FileDescriptorSet` of every Countersign proto file.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/countersign_descriptor.bin"));

/// `countersign.auth.v1`: sign-in, sessions and administration.
pub mod auth {
    #[allow(missing_docs, clippy::all, clippy::pedantic)]
    pub mod v1 {
        tonic::include_proto!("countersign.auth.v1");
    }
}

/// `countersign.mfa.v1`: second factors.
pub mod mfa {
    #[allow(missing_docs, clippy::all, clippy::pedantic)]
    pub mod v1 {
        tonic::include_proto!("countersign.mfa.v1");
    }
}

/// `countersign.notification.v1`: email delivery.
pub mod notification {
    #[allow(missing_docs, clippy::all, clippy::pedantic)]
    pub mod v1 {
        tonic::include_proto!("countersign.notification.v1");
    }
}
