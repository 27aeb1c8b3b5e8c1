//! Compiles `proto/` with protox, a protobuf compiler written in Rust, so the
//! build needs no `protoc`.

use std::{env, fs, path::PathBuf};

use prost::Message;

const PROTO_ROOT: &str = "../../proto";
const FILES: &[&str] = &[
    "countersign/auth/v1/auth.proto",
    "countersign/mfa/v1/mfa.proto",
    "countersign/notification/v1/notification.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed={PROTO_ROOT}");
    let descriptors = protox::compile(FILES, [PROTO_ROOT])?;
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(
        out_dir.join("countersign_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptors)?;
    Ok(())
}
