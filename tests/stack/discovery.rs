//! What tools see with no proto files at hand: health and reflection.

use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use tonic_reflection::pb::{v1, v1alpha};

use countersign_tests::stack::{Backend, Stack, channel};

/// Lists services over one version of the reflection protocol; the two
/// versions are the same messages in two packages.
macro_rules! list_services {
    ($version:ident, $addr:expr) => {{
        use $version::{
            ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
            server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
        };
        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut client = ServerReflectionClient::new(channel($addr));
        let mut replies = client
            .server_reflection_info(tokio_stream::iter([request]))
            .await
            .unwrap()
            .into_inner();
        match replies.message().await.unwrap().unwrap().message_response {
            Some(MessageResponse::ListServicesResponse(list)) => {
                list.service.into_iter().map(|s| s.name).collect::<Vec<_>>()
            }
            other => panic!("unexpected reflection answer {other:?}"),
        }
    }};
}

#[tokio::test]
async fn every_service_serves_health_and_both_reflection_versions() {
    let stack = Stack::start(Backend::Embedded).await;

    for (addr, own) in [
        (stack.auth, "countersign.auth.v1.AuthService"),
        (stack.mfa, "countersign.mfa.v1.MfaService"),
        (
            stack.notification,
            "countersign.notification.v1.NotificationService",
        ),
    ] {
        let health = HealthClient::new(channel(addr))
            .check(HealthCheckRequest {
                service: own.to_string(),
            })
            .await
            .unwrap()
            .into_inner();
        let listed_v1 = list_services!(v1, addr);
        let listed_v1alpha = list_services!(v1alpha, addr);

        assert_eq!(health.status, ServingStatus::Serving as i32, "{own}");
        assert!(listed_v1.iter().any(|s| s == own), "{own}: {listed_v1:?}");
        assert!(
            listed_v1alpha.iter().any(|s| s == own),
            "{own}: {listed_v1alpha:?}"
        );
        assert!(listed_v1.iter().any(|s| s == "grpc.health.v1.Health"));
    }
}
