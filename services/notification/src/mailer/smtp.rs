//! Delivery to an SMTP relay through lettre, bounded by a deadline.

use std::time::Duration;

use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor, transport::smtp};
use secrecy::ExposeSecret;

use super::{Mailer, Outgoing, SendError};
use crate::config::SmtpConfig;

/// Sends through the relay of an [`SmtpConfig`], one connection per
/// message.
#[derive(Debug, Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    deadline: Duration,
}

impl SmtpMailer {
    /// A mailer for `config`'s relay; fails if its URL is not one lettre
    /// understands. Connects only when sending.
    pub fn new(config: &SmtpConfig) -> Result<Self, smtp::Error> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(config.url.expose_secret())?
            .timeout(Some(config.timeout))
            .build();
        Ok(Self {
            transport,
            deadline: config.timeout,
        })
    }
}

#[async_trait::async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, email: &Outgoing) -> Result<(), SendError> {
        let message = email.to_message()?;
        // lettre's own timeout covers each step; this one covers the whole
        // exchange, a relay that accepts the connection and never greets
        // included.
        match tokio::time::timeout(self.deadline, self.transport.send(message)).await {
            Err(_elapsed) => Err(SendError::TimedOut),
            Ok(Err(error)) => Err(classify(&error)),
            Ok(Ok(_response)) => Ok(()),
        }
    }
}

/// Keeps of a lettre error only what is safe to store and log: the reply
/// code, never the reply text, which often quotes the recipient.
fn classify(error: &smtp::Error) -> SendError {
    let code = error.status().map(|code| code.to_string());
    if error.is_permanent() {
        SendError::Rejected(code.unwrap_or_default())
    } else if error.is_transient() {
        SendError::Deferred(code.unwrap_or_default())
    } else if error.is_timeout() {
        SendError::TimedOut
    } else if error.is_response() || error.is_client() {
        SendError::Protocol
    } else {
        SendError::Unreachable
    }
}

#[cfg(test)]
mod tests {
    use tokio::net::TcpListener;

    use super::*;
    use crate::mailer::tests::outgoing;

    #[tokio::test]
    async fn send_times_out_when_server_never_greets() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let silent = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        let mut config = SmtpConfig::new(&format!("smtp://127.0.0.1:{port}"));
        config.timeout = Duration::from_millis(300);
        let mailer = SmtpMailer::new(&config).unwrap();

        let result = mailer.send(&outgoing("012345")).await;

        silent.abort();
        assert!(matches!(result, Err(SendError::TimedOut)), "got {result:?}");
    }

    #[tokio::test]
    async fn send_fails_unreachable_when_nothing_listens() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let mailer =
            SmtpMailer::new(&SmtpConfig::new(&format!("smtp://127.0.0.1:{port}"))).unwrap();

        let result = mailer.send(&outgoing("012345")).await;

        assert_eq!(result, Err(SendError::Unreachable));
    }

    #[test]
    fn new_fails_when_url_scheme_unknown() {
        let result = SmtpMailer::new(&SmtpConfig::new("http://relay.example"));

        assert!(result.is_err());
    }
}
