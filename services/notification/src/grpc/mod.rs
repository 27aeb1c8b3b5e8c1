//! The gRPC face of the service: `countersign.notification.v1.NotificationService`.
//! Handlers convert (in [`convert`]), call the [`Outbox`], and wrap the
//! reply; [`status`] is the one place errors become `Status`.

mod convert;
mod status;

use tonic::{Request, Response, Status};

use countersign_proto::notification::v1::{
    EnqueueEmailRequest, EnqueueEmailResponse, GetDeliveryRequest, GetDeliveryResponse,
    notification_service_server::NotificationService,
};

use crate::{email::EmailRequest, outbox::Outbox, store::MessageId};

/// Serves the notification API over an [`Outbox`].
#[derive(Clone)]
pub struct NotificationApi {
    outbox: Outbox,
}

impl NotificationApi {
    /// The API over `outbox`.
    pub fn new(outbox: Outbox) -> Self {
        Self { outbox }
    }
}

#[tonic::async_trait]
impl NotificationService for NotificationApi {
    async fn enqueue_email(
        &self,
        request: Request<EnqueueEmailRequest>,
    ) -> Result<Response<EnqueueEmailResponse>, Status> {
        let request = request.into_inner();

        let email = EmailRequest::try_from(request)?;

        let id = self.outbox.enqueue(&email).await?;

        Ok(Response::new(EnqueueEmailResponse {
            message_id: id.to_string(),
        }))
    }

    async fn get_delivery(
        &self,
        request: Request<GetDeliveryRequest>,
    ) -> Result<Response<GetDeliveryResponse>, Status> {
        let request = request.into_inner();

        let id = MessageId::try_from(request)?;

        let delivery = self.outbox.delivery(id).await?;

        Ok(Response::new(GetDeliveryResponse {
            delivery: Some(delivery.into()),
        }))
    }
}
