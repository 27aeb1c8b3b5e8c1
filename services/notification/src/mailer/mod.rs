//! Handing a rendered email to the world: the [`Mailer`] trait, the message
//! every mailer sends, and the two mailers, [`SmtpMailer`] for a relay and
//! [`ConsoleMailer`] for a laptop.

use lettre::{
    Message,
    message::{
        Mailbox, MultiPart,
        header::{Header, HeaderName, HeaderValue},
    },
};

use crate::{email::Recipient, store::MessageId, templates::Rendered};

mod console;
mod smtp;

pub use console::ConsoleMailer;
pub use smtp::SmtpMailer;

/// Domain of the `Message-ID` header when the sender's address has none
/// usable.
const MESSAGE_ID_DOMAIN: &str = "countersign.localhost";

/// One email, addressed and ready to send.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The outbox id, carried in the headers.
    pub id: MessageId,
    /// The sender.
    pub from: Mailbox,
    /// The recipient.
    pub to: Recipient,
    /// Subject and bodies.
    pub rendered: Rendered,
}

impl Outgoing {
    /// The MIME message: plain text and HTML alternatives, a `Message-ID`
    /// derived from the outbox id (the same on every retry, so receivers can
    /// drop duplicates), and `X-Countersign-Message-Id`.
    pub fn to_message(&self) -> Result<Message, SendError> {
        let domain = self.from.email.domain();
        Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(None, self.to.address().clone()))
            .subject(self.rendered.subject.clone())
            .message_id(Some(format!("<{}@{}>", self.id, message_id_domain(domain))))
            .header(OutboxIdHeader(self.id.to_string()))
            .multipart(MultiPart::alternative_plain_html(
                self.rendered.text.clone(),
                self.rendered.html.clone(),
            ))
            .map_err(|_| SendError::Compose)
    }
}

fn message_id_domain(domain: &str) -> &str {
    let plain = !domain.is_empty() && domain.bytes().all(|b| b.is_ascii_graphic() && b != b'>');
    if plain { domain } else { MESSAGE_ID_DOMAIN }
}

/// The `X-Countersign-Message-Id` header: the outbox id of the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxIdHeader(pub String);

impl Header for OutboxIdHeader {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("X-Countersign-Message-Id")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.trim().to_string()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// Why an email was not handed over. Messages carry no address and no
/// server text, which may quote the address, so they can be stored and
/// logged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("smtp relay did not finish within the deadline")]
    TimedOut,
    #[error("cannot reach the smtp relay")]
    Unreachable,
    #[error("smtp relay deferred the message ({0})")]
    Deferred(String),
    #[error("smtp relay rejected the message ({0})")]
    Rejected(String),
    #[error("smtp exchange failed")]
    Protocol,
    #[error("cannot compose the message")]
    Compose,
    #[error("cannot write to the console")]
    Console,
}

impl SendError {
    /// Whether trying again cannot help.
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::Rejected(_) | Self::Compose)
    }
}

/// Something that delivers an email.
#[async_trait::async_trait]
pub trait Mailer: Send + Sync + 'static {
    /// Hands `email` over; `Ok` once it is accepted for delivery.
    async fn send(&self, email: &Outgoing) -> Result<(), SendError>;
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::{
        email::{Params, Template},
        templates,
    };

    pub(crate) fn outgoing(code: &str) -> Outgoing {
        let params =
            [("code", code), ("expire_minutes", "10")].map(|(k, v)| (k.to_string(), v.to_string()));
        let params = Params::for_template(Template::EmailCode, params).unwrap();
        Outgoing {
            id: MessageId::new(1_700_000_000_000),
            from: "Countersign <no-reply@countersign.localhost>"
                .parse()
                .unwrap(),
            to: Recipient::parse("ada@example.com").unwrap(),
            rendered: templates::render(Template::EmailCode, &params).unwrap(),
        }
    }

    #[test]
    fn message_carries_outbox_id_in_both_headers() {
        let email = outgoing("012345");

        let raw = String::from_utf8(email.to_message().unwrap().formatted()).unwrap();

        let id = email.id.to_string();
        assert!(raw.contains(&format!("X-Countersign-Message-Id: {id}\r\n")));
        assert!(raw.contains(&format!("Message-ID: <{id}@countersign.localhost>\r\n")));
    }

    #[test]
    fn message_body_shows_code_unencoded_on_its_own_line() {
        let raw = String::from_utf8(outgoing("012345").to_message().unwrap().formatted()).unwrap();

        assert!(raw.contains("\r\n012345\r\n"));
        assert!(raw.contains("text/html"));
        assert!(raw.contains("Subject: Your Countersign verification code\r\n"));
    }

    #[test]
    fn send_error_permanent_only_when_rejected_or_uncomposable() {
        assert!(SendError::Rejected("550".into()).is_permanent());
        assert!(SendError::Compose.is_permanent());
        assert!(!SendError::Deferred("451".into()).is_permanent());
        assert!(!SendError::TimedOut.is_permanent());
    }
}
