//! The emails auth sends, through the notification service's durable
//! outbox: invitations and "MFA reset" notices. A port, so the domain knows
//! nothing of gRPC, and [`NotificationClient`], its gRPC implementation.

use std::collections::HashMap;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use tonic::transport::Channel;

use countersign_proto::notification::v1::{
    EmailTemplate, EnqueueEmailRequest, notification_service_client::NotificationServiceClient,
};

/// An email for a member or an invitee. Its links carry one-time tokens,
/// so `Debug` shows none of them.
pub enum Notice {
    /// An invitation to join `organization`, accepted at `url` within
    /// `expire_days`.
    Invitation {
        organization: String,
        url: SecretString,
        expire_days: u64,
    },
    /// An admin reset the member's MFA; `report_url` is the "this wasn't
    /// me" link.
    MfaReset { report_url: SecretString },
}

impl std::fmt::Debug for Notice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Notice::Invitation { expire_days, .. } => f
                .debug_struct("Invitation")
                .field("expire_days", expire_days)
                .finish_non_exhaustive(),
            Notice::MfaReset { .. } => f.debug_struct("MfaReset").finish_non_exhaustive(),
        }
    }
}

/// Why an email could not be handed to the outbox.
#[derive(Debug, thiserror::Error)]
pub enum NoticeError {
    #[error("notification service unavailable")]
    Unavailable,
    #[error("notification service refused the email: {0}")]
    Refused(String),
}

/// What auth needs from the notification service.
#[async_trait]
pub trait Notices: Send + Sync {
    /// Enqueues `notice` for `recipient`; enqueueing twice with one
    /// `idempotency_key` sends once.
    async fn send(
        &self,
        recipient: &str,
        notice: Notice,
        idempotency_key: &str,
    ) -> Result<(), NoticeError>;
}

/// [`Notices`] over the notification service's gRPC API.
#[derive(Clone)]
pub struct NotificationClient {
    client: NotificationServiceClient<Channel>,
}

impl NotificationClient {
    /// A client over a channel to the notification service.
    pub fn new(channel: Channel) -> Self {
        Self {
            client: NotificationServiceClient::new(channel),
        }
    }
}

fn request(recipient: &str, notice: &Notice, idempotency_key: &str) -> EnqueueEmailRequest {
    let (template, params): (_, HashMap<String, String>) = match notice {
        Notice::Invitation {
            organization,
            url,
            expire_days,
        } => (
            EmailTemplate::Invitation,
            HashMap::from([
                ("organization".to_string(), organization.clone()),
                ("invite_url".to_string(), url.expose_secret().to_string()),
                ("expire_days".to_string(), expire_days.to_string()),
            ]),
        ),
        Notice::MfaReset { report_url } => (
            EmailTemplate::MfaReset,
            HashMap::from([(
                "report_url".to_string(),
                report_url.expose_secret().to_string(),
            )]),
        ),
    };
    EnqueueEmailRequest {
        template: template.into(),
        recipient: recipient.to_string(),
        params,
        idempotency_key: idempotency_key.to_string(),
    }
}

#[async_trait]
impl Notices for NotificationClient {
    async fn send(
        &self,
        recipient: &str,
        notice: Notice,
        idempotency_key: &str,
    ) -> Result<(), NoticeError> {
        let request = request(recipient, &notice, idempotency_key);
        match self.client.clone().enqueue_email(request).await {
            Ok(_) => Ok(()),
            Err(status) if countersign_kit::status::is_unavailable(&status) => {
                Err(NoticeError::Unavailable)
            }
            Err(status) => Err(NoticeError::Refused(status.message().to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invitation_request_carries_link_and_days() {
        let notice = Notice::Invitation {
            organization: "Ledger & Co".to_string(),
            url: SecretString::from("https://app.example/join?token=abc"),
            expire_days: 7,
        };

        let request = request("ann@example.com", &notice, "auth:invitation:1");

        assert_eq!(request.template, i32::from(EmailTemplate::Invitation));
        assert_eq!(
            request.params["invite_url"],
            "https://app.example/join?token=abc"
        );
        assert_eq!(request.params["expire_days"], "7");
        assert!(!format!("{notice:?}").contains("token=abc"));
    }
}
