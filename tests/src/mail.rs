//! A real SMTP server, started by the test, that keeps every message it
//! receives so a test can read the emailed code.

use std::{
    net::{SocketAddr, TcpListener},
    sync::{Arc, Mutex},
    time::Duration,
};

use mailin_embedded::{Handler, Response, Server, SslConfig, response};
use tokio::sync::Notify;

/// How long a test waits for an email before failing.
pub const MAIL_WAIT: Duration = Duration::from_secs(20);

/// A received message.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: Vec<String>,
    pub data: String,
}

impl Mail {
    /// The six-digit code on a line of its own, if any.
    pub fn code(&self) -> Option<String> {
        self.data
            .lines()
            .map(str::trim)
            .find(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit()))
            .map(str::to_string)
    }

    /// The token of the first link in the message, as in
    /// `https://app.example/join?token=<token>`, if any. Undoes the
    /// quoted-printable soft line breaks and escapes a body may have.
    pub fn link_token(&self) -> Option<String> {
        let text = self
            .data
            .replace("=\r\n", "")
            .replace("=\n", "")
            .replace("=3D", "=");
        let start = text.find("token=")? + "token=".len();
        let token: String = text[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        (!token.is_empty()).then_some(token)
    }

    /// The `Subject` header.
    pub fn subject(&self) -> &str {
        self.data
            .lines()
            .find_map(|l| l.strip_prefix("Subject: "))
            .unwrap_or("")
    }
}

#[derive(Default)]
struct Inbox {
    mails: Mutex<Vec<Mail>>,
    arrived: Notify,
}

#[derive(Clone)]
struct Collector {
    inbox: Arc<Inbox>,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for Collector {
    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.to = to.to_vec();
        self.data.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let mail = Mail {
            to: std::mem::take(&mut self.to),
            data: String::from_utf8_lossy(&std::mem::take(&mut self.data)).into_owned(),
        };
        self.inbox.mails.lock().unwrap().push(mail);
        self.inbox.arrived.notify_waiters();
        response::OK
    }
}

/// An SMTP server on a free loopback port.
pub struct MailServer {
    addr: SocketAddr,
    inbox: Arc<Inbox>,
}

impl MailServer {
    /// Starts the server on its own threads; it lives as long as the test
    /// process.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let inbox = Arc::new(Inbox::default());
        let collector = Collector {
            inbox: Arc::clone(&inbox),
            to: Vec::new(),
            data: Vec::new(),
        };
        let mut server = Server::new(collector);
        server
            .with_name("mail.test")
            .with_ssl(SslConfig::None)
            .unwrap()
            .with_num_threads(2)
            .with_tcp_listener(listener);
        std::thread::spawn(move || {
            let _ = server.serve();
        });
        Self { addr, inbox }
    }

    /// `smtp://` URL of the server.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// Every message received so far for `recipient`.
    pub fn mails_to(&self, recipient: &str) -> Vec<Mail> {
        let mails = self.inbox.mails.lock().unwrap();
        mails
            .iter()
            .filter(|m| m.to.iter().any(|t| t == recipient))
            .cloned()
            .collect()
    }

    /// Waits for the `n`-th message (counting from 1) to `recipient`.
    pub async fn nth_mail_to(&self, recipient: &str, n: usize) -> Mail {
        let deadline = tokio::time::Instant::now() + MAIL_WAIT;
        loop {
            let arrived = self.inbox.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            if let Some(mail) = self.mails_to(recipient).into_iter().nth(n - 1) {
                return mail;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                panic!("no mail number {n} to {recipient} within {MAIL_WAIT:?}");
            }
        }
    }
}
