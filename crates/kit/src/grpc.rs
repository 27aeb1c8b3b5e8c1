//! Serving and calling gRPC the same way in every service.
//!
//! [`serve`] adds `grpc.health.v1.Health` and server reflection (`v1` and
//! `v1alpha`) beside a service's own routes, honours the caller's deadline
//! within [`MAX_REQUEST_DURATION`], and on shutdown reports NOT_SERVING before
//! letting in-flight requests finish.

use std::{future::Future, net::SocketAddr, time::Duration};

use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{
    metadata::MetadataMap,
    service::Routes,
    transport::{Channel, Endpoint, Server},
};
use tonic_health::ServingStatus;

/// Largest request message a service decodes. Every Countersign request is
/// a few short strings.
pub const MAX_REQUEST_BYTES: usize = 16 * 1024;
/// Longest a request may run, whatever deadline the caller sent.
pub const MAX_REQUEST_DURATION: Duration = Duration::from_secs(10);
/// How long a client waits for a TCP connection to another service.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Deadline of each call from one service to another.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest `x-forwarded-for` value kept.
const MAX_FORWARDED_LEN: usize = 256;

/// Why a server stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot build the reflection service")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("gRPC server failed")]
    Transport(#[from] tonic::transport::Error),
}

/// Binds `addr` and reports the address actually bound (port 0 picks one).
pub async fn bind(addr: &str) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

/// Serves `routes`, whose gRPC service names are `names`, with health and
/// reflection, until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    routes: Routes,
    names: &[&'static str],
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let (reporter, health) = tonic_health::server::health_reporter();
    for name in names {
        reporter
            .set_service_status(*name, ServingStatus::Serving)
            .await;
    }
    let reflection_v1 = reflection().build_v1()?;
    let reflection_v1alpha = reflection().build_v1alpha()?;
    let routes = routes
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha);
    let all_names: Vec<&'static str> = names.iter().copied().chain([""]).collect();
    let shutdown = async move {
        shutdown.await;
        for name in all_names {
            reporter
                .set_service_status(name, ServingStatus::NotServing)
                .await;
        }
        tracing::info!("shutting down, finishing requests in flight");
    };
    Server::builder()
        .timeout(MAX_REQUEST_DURATION)
        .add_routes(routes)
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown)
        .await?;
    Ok(())
}

fn reflection() -> tonic_reflection::server::Builder<'static> {
    tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(countersign_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

/// A channel to another service that connects on first use, so services
/// may start in any order, with a deadline on every call.
pub fn channel(url: &str) -> Result<Channel, tonic::transport::Error> {
    Ok(Endpoint::from_shared(url.to_string())?
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(CALL_TIMEOUT)
        .connect_lazy())
}

/// The bearer token of `authorization` metadata, if any.
pub fn bearer(metadata: &MetadataMap) -> Option<&str> {
    let value = metadata.get("authorization")?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// A client address one service passes on to another in field
/// `client_address`: empty for none, else what [`client_address`] can
/// give (printable ASCII, spaces included, up to 256 bytes); anything else
/// is INVALID_ARGUMENT.
pub fn client_address_field(text: &str) -> Result<Option<String>, tonic::Status> {
    if text.is_empty() {
        return Ok(None);
    }
    let printable = |b: u8| b == b' ' || b.is_ascii_graphic();
    if text.len() > MAX_FORWARDED_LEN || !text.bytes().all(printable) {
        return Err(crate::status::invalid_argument(
            "client_address",
            "is not an address",
        ));
    }
    Ok(Some(text.to_string()))
}

/// The end user's address as the gateway forwarded it, else the peer's.
pub fn client_address<T>(request: &tonic::Request<T>) -> Option<String> {
    let forwarded = request
        .metadata()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= MAX_FORWARDED_LEN);
    match forwarded {
        Some(address) => Some(address.to_string()),
        None => request.remote_addr().map(|a| a.ip().to_string()),
    }
}

#[cfg(test)]
mod tests {
    use tonic::metadata::MetadataValue;

    use super::*;

    #[test]
    fn client_address_field_takes_what_a_forwarded_address_can_be() {
        assert_eq!(client_address_field("").unwrap(), None);
        let v6 = "2001:db8::1";
        assert_eq!(client_address_field(v6).unwrap().as_deref(), Some(v6));
        assert!(client_address_field("unknown host").is_ok());
        assert!(client_address_field(&"a".repeat(MAX_FORWARDED_LEN)).is_ok());
        assert!(client_address_field(&"a".repeat(MAX_FORWARDED_LEN + 1)).is_err());
        assert!(client_address_field("a\u{1}b").is_err());
        assert!(client_address_field("caf\u{e9}").is_err());
    }

    fn metadata(value: &'static str) -> MetadataMap {
        let mut map = MetadataMap::new();
        map.insert("authorization", MetadataValue::from_static(value));
        map
    }

    #[test]
    fn bearer_reads_token_whatever_the_scheme_case() {
        assert_eq!(bearer(&metadata("Bearer abc")), Some("abc"));
        assert_eq!(bearer(&metadata("bearer abc")), Some("abc"));
    }

    #[test]
    fn bearer_refuses_other_schemes_and_absence() {
        assert_eq!(bearer(&metadata("Basic abc")), None);
        assert_eq!(bearer(&metadata("abc")), None);
        assert_eq!(bearer(&MetadataMap::new()), None);
    }

    #[test]
    fn client_address_prefers_first_forwarded_address() {
        let mut request = tonic::Request::new(());
        request.metadata_mut().insert(
            "x-forwarded-for",
            MetadataValue::from_static("203.0.113.9, 10.0.0.1"),
        );

        assert_eq!(client_address(&request).as_deref(), Some("203.0.113.9"));
    }
}
