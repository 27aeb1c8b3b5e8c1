//! The service end to end in one process: gRPC in, real SMTP out, to an
//! SMTP server started by the test.

// Helpers outside `#[test]` functions fail their test by unwrapping too.
#![allow(clippy::unwrap_used)]

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use mailin_embedded::{Handler, Response, Server, response};
use tokio::{
    sync::{mpsc, oneshot},
    task::JoinHandle,
};
use tonic::{Code, transport::Channel};
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

use countersign_kit::clock::SystemClock;
use countersign_notification::{Config, Service, config::SmtpConfig};
use countersign_proto::notification::v1::{
    DeliveryState, EmailTemplate, EnqueueEmailRequest, GetDeliveryRequest,
    notification_service_client::NotificationServiceClient,
};

/// Longest a test waits for anything; reached only when the test fails.
const GUARD: Duration = Duration::from_secs(20);

/// Passes each received message, raw, to the test.
#[derive(Clone)]
struct Inbox {
    buffer: Arc<Mutex<Vec<u8>>>,
    received: mpsc::UnboundedSender<String>,
}

impl Handler for Inbox {
    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.buffer.lock().unwrap().extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let raw = std::mem::take(&mut *self.buffer.lock().unwrap());
        let _ = self
            .received
            .send(String::from_utf8_lossy(&raw).into_owned());
        response::OK
    }
}

/// Starts an SMTP server on a free port; it runs until the test ends.
fn smtp_server() -> (String, mpsc::UnboundedReceiver<String>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::unbounded_channel();
    let inbox = Inbox {
        buffer: Arc::default(),
        received: tx,
    };
    let mut server = Server::new(inbox);
    server.with_tcp_listener(listener).with_num_threads(1);
    std::thread::spawn(move || {
        let _ = server.serve();
    });
    (format!("smtp://127.0.0.1:{port}"), rx)
}

struct Running {
    client: NotificationServiceClient<Channel>,
    inbox: mpsc::UnboundedReceiver<String>,
    address: SocketAddr,
    stop: oneshot::Sender<()>,
    served: JoinHandle<Result<(), countersign_notification::StartError>>,
}

impl Running {
    async fn stop(self) {
        self.stop.send(()).unwrap();
        let served = tokio::time::timeout(GUARD, self.served).await.unwrap();
        served.unwrap().unwrap();
    }
}

/// Starts the service, sending to a fresh SMTP server.
async fn start() -> Running {
    let (url, inbox) = smtp_server();
    let config = Config {
        smtp: Some(SmtpConfig::new(&url)),
        ..Config::default()
    };
    let service = Service::build(config, Arc::new(SystemClock)).await.unwrap();
    let (listener, address) = countersign_kit::grpc::bind("127.0.0.1:0").await.unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let served = tokio::spawn(service.serve(listener, async {
        let _ = stopped.await;
    }));
    let channel = countersign_kit::grpc::channel(&format!("http://{address}")).unwrap();
    Running {
        client: NotificationServiceClient::new(channel),
        inbox,
        address,
        stop,
        served,
    }
}

fn email_code(key: &str, code: &str) -> EnqueueEmailRequest {
    EnqueueEmailRequest {
        template: EmailTemplate::EmailCode.into(),
        recipient: "ada@example.com".to_string(),
        params: [("code", code), ("expire_minutes", "10")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into(),
        idempotency_key: key.to_string(),
    }
}

async fn next_mail(inbox: &mut mpsc::UnboundedReceiver<String>) -> String {
    tokio::time::timeout(GUARD, inbox.recv())
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn email_code_arrives_by_smtp_and_delivery_reads_sent() {
    let mut app = start().await;

    let first = app.client.enqueue_email(email_code("c1", "012345")).await;
    let first_id = first.unwrap().into_inner().message_id;
    let mail = next_mail(&mut app.inbox).await;
    // The worker sends one message at a time: once the second arrives, the
    // outcome of the first is recorded.
    app.client
        .enqueue_email(email_code("c2", "543210"))
        .await
        .unwrap();
    next_mail(&mut app.inbox).await;
    let delivery = app
        .client
        .get_delivery(GetDeliveryRequest {
            message_id: first_id.clone(),
        })
        .await;

    assert!(mail.lines().any(|line| line == "012345"), "{mail}");
    assert!(mail.contains(&format!("X-Countersign-Message-Id: {first_id}")));
    assert!(mail.contains("Message-ID: <"));
    let delivery = delivery.unwrap().into_inner().delivery.unwrap();
    assert_eq!(delivery.state(), DeliveryState::Sent);
    assert_eq!(delivery.template(), EmailTemplate::EmailCode);
    assert_eq!(delivery.attempt_count, 1);
    assert!(delivery.deliver_time.is_some());
    app.stop().await;
}

#[tokio::test]
async fn enqueue_email_returns_first_id_when_key_repeats() {
    let mut app = start().await;

    let first = app.client.enqueue_email(email_code("same", "111111")).await;
    let again = app.client.enqueue_email(email_code("same", "222222")).await;

    assert_eq!(
        first.unwrap().into_inner().message_id,
        again.unwrap().into_inner().message_id
    );
    app.stop().await;
}

#[tokio::test]
async fn enqueue_email_invalid_argument_when_recipient_malformed() {
    let mut app = start().await;
    let mut request = email_code("k", "012345");
    request.recipient = "ada at example".to_string();

    let status = app.client.enqueue_email(request).await.unwrap_err();

    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("recipient"));
    app.stop().await;
}

#[tokio::test]
async fn get_delivery_distinguishes_unknown_from_malformed_ids() {
    let mut app = start().await;
    let unknown = GetDeliveryRequest {
        message_id: "01890a5d-ac96-774b-bcce-b302099a8057".to_string(),
    };
    let malformed = GetDeliveryRequest {
        message_id: "42".to_string(),
    };

    let unknown = app.client.get_delivery(unknown).await.unwrap_err();
    let malformed = app.client.get_delivery(malformed).await.unwrap_err();

    assert_eq!(unknown.code(), Code::NotFound);
    assert_eq!(malformed.code(), Code::InvalidArgument);
    app.stop().await;
}

#[tokio::test]
async fn health_reports_notification_service_serving() {
    let app = start().await;
    let channel = countersign_kit::grpc::channel(&format!("http://{}", app.address)).unwrap();

    let reply = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: "countersign.notification.v1.NotificationService".to_string(),
        })
        .await;

    assert_eq!(reply.unwrap().into_inner().status, 1);
    app.stop().await;
}
