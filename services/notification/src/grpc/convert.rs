//! prost messages to domain types and back. A request that cannot become a
//! domain value fails as INVALID_ARGUMENT naming the field.

use tonic::Status;

use countersign_kit::{clock::timestamp, status::invalid_argument};
use countersign_proto::notification::v1 as pb;

use crate::{
    email::{EmailRequest, IdempotencyKey, InvalidField, Params, Recipient, Template},
    store::{Delivery, MessageId, State},
};

impl TryFrom<pb::EnqueueEmailRequest> for EmailRequest {
    type Error = Status;

    fn try_from(request: pb::EnqueueEmailRequest) -> Result<Self, Status> {
        let template = template_from(request.template)?;
        let recipient = Recipient::parse(&request.recipient).map_err(invalid)?;
        let idempotency_key = IdempotencyKey::parse(&request.idempotency_key).map_err(invalid)?;
        let params = Params::for_template(template, request.params).map_err(invalid)?;
        Ok(Self {
            template,
            recipient,
            params,
            idempotency_key,
        })
    }
}

impl TryFrom<pb::GetDeliveryRequest> for MessageId {
    type Error = Status;

    fn try_from(request: pb::GetDeliveryRequest) -> Result<Self, Status> {
        if request.message_id.is_empty() {
            return Err(invalid_argument("message_id", "required"));
        }
        MessageId::parse(&request.message_id)
            .ok_or_else(|| invalid_argument("message_id", "not a message id"))
    }
}

impl From<Delivery> for pb::Delivery {
    fn from(delivery: Delivery) -> Self {
        Self {
            message_id: delivery.id.to_string(),
            template: template_to(delivery.template).into(),
            state: state_to(delivery.state).into(),
            attempt_count: delivery.attempt_count,
            enqueue_time: Some(timestamp(delivery.enqueued_at)),
            deliver_time: delivery.sent_at.map(timestamp),
            last_error: delivery.last_error.unwrap_or_default(),
        }
    }
}

fn invalid(error: InvalidField) -> Status {
    invalid_argument(&error.field, &error.why)
}

fn template_from(value: i32) -> Result<Template, Status> {
    match pb::EmailTemplate::try_from(value) {
        Ok(pb::EmailTemplate::EmailCode) => Ok(Template::EmailCode),
        Ok(pb::EmailTemplate::MfaEnabled) => Ok(Template::MfaEnabled),
        Ok(pb::EmailTemplate::MfaDisabled) => Ok(Template::MfaDisabled),
        Ok(pb::EmailTemplate::MfaLocked) => Ok(Template::MfaLocked),
        Ok(pb::EmailTemplate::RecoveryCodeUsed) => Ok(Template::RecoveryCodeUsed),
        Ok(pb::EmailTemplate::Invitation) => Ok(Template::Invitation),
        Ok(pb::EmailTemplate::MfaReset) => Ok(Template::MfaReset),
        Ok(pb::EmailTemplate::Unspecified) => Err(invalid_argument("template", "required")),
        Err(_) => Err(invalid_argument("template", "unknown template")),
    }
}

fn template_to(template: Template) -> pb::EmailTemplate {
    match template {
        Template::EmailCode => pb::EmailTemplate::EmailCode,
        Template::MfaEnabled => pb::EmailTemplate::MfaEnabled,
        Template::MfaDisabled => pb::EmailTemplate::MfaDisabled,
        Template::MfaLocked => pb::EmailTemplate::MfaLocked,
        Template::RecoveryCodeUsed => pb::EmailTemplate::RecoveryCodeUsed,
        Template::Invitation => pb::EmailTemplate::Invitation,
        Template::MfaReset => pb::EmailTemplate::MfaReset,
    }
}

fn state_to(state: State) -> pb::DeliveryState {
    match state {
        State::Pending => pb::DeliveryState::Pending,
        State::Sent => pb::DeliveryState::Sent,
        State::Failed => pb::DeliveryState::Failed,
    }
}

#[cfg(test)]
mod tests {
    use tonic::Code;

    use super::*;

    fn enqueue_request() -> pb::EnqueueEmailRequest {
        pb::EnqueueEmailRequest {
            template: pb::EmailTemplate::EmailCode.into(),
            recipient: "ada@example.com".to_string(),
            params: [("code", "012345"), ("expire_minutes", "10")]
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .into(),
            idempotency_key: "mfa:code:1".to_string(),
        }
    }

    /// Makes one field of a valid request invalid.
    type Spoil = fn(&mut pb::EnqueueEmailRequest);

    fn violated_field(status: &Status) -> String {
        countersign_kit::status::field_violation(status).unwrap().0
    }

    #[test]
    fn enqueue_request_converts_when_valid() {
        let email = EmailRequest::try_from(enqueue_request()).unwrap();

        assert_eq!(email.template, Template::EmailCode);
        assert_eq!(email.idempotency_key.as_str(), "mfa:code:1");
    }

    #[test]
    fn enqueue_request_names_field_when_invalid() {
        let cases: [(Spoil, &str); 5] = [
            (|r| r.template = 0, "template"),
            (|r| r.template = 99, "template"),
            (|r| r.recipient = "nobody".into(), "recipient"),
            (|r| r.idempotency_key.clear(), "idempotency_key"),
            (
                |r| {
                    r.params.remove("code");
                },
                "params.code",
            ),
        ];
        for (spoil, field) in cases {
            let mut request = enqueue_request();
            spoil(&mut request);

            let status = EmailRequest::try_from(request).unwrap_err();

            assert_eq!(status.code(), Code::InvalidArgument);
            assert_eq!(violated_field(&status), field);
        }
    }

    #[test]
    fn message_id_invalid_argument_when_empty_or_malformed() {
        for text in ["", "not-a-uuid"] {
            let request = pb::GetDeliveryRequest {
                message_id: text.to_string(),
            };

            let status = MessageId::try_from(request).unwrap_err();

            assert_eq!(violated_field(&status), "message_id");
        }
    }

    #[test]
    fn delivery_converts_times_and_missing_error() {
        let delivery = Delivery {
            id: MessageId::new(1_000),
            template: Template::MfaDisabled,
            state: State::Sent,
            attempt_count: 2,
            enqueued_at: 1_500,
            sent_at: Some(2_250),
            last_error: None,
        };

        let pb = pb::Delivery::from(delivery);

        assert_eq!(pb.state(), pb::DeliveryState::Sent);
        assert_eq!(pb.template(), pb::EmailTemplate::MfaDisabled);
        assert_eq!(pb.deliver_time.unwrap().nanos, 250_000_000);
        assert_eq!(pb.last_error, "");
    }
}
