//! The embedded default: emails printed to standard output, so a developer
//! can read them (and their codes) without a mail server.

use std::io::Write;

use super::{Mailer, Outgoing, SendError};

/// Prints each email, between delimiter lines, to standard output.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConsoleMailer;

#[async_trait::async_trait]
impl Mailer for ConsoleMailer {
    async fn send(&self, email: &Outgoing) -> Result<(), SendError> {
        let text = show(email);
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush())
            .map_err(|_| SendError::Console)
    }
}

/// The email as printed: headers, then the plain-text part.
fn show(email: &Outgoing) -> String {
    let rule = "-".repeat(72);
    format!(
        "{rule}\n\
         EMAIL {id}\n\
         From: {from}\n\
         To: {to}\n\
         Subject: {subject}\n\
         X-Countersign-Message-Id: {id}\n\
         \n\
         {text}\
         {rule}\n",
        id = email.id,
        from = email.from,
        to = email.to.as_str(),
        subject = email.rendered.subject,
        text = email.rendered.text,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mailer::tests::outgoing;

    #[test]
    fn show_delimits_email_and_puts_code_on_its_own_line() {
        let email = outgoing("012345");

        let shown = show(&email);

        let lines: Vec<&str> = shown.lines().collect();
        assert_eq!(lines.first(), lines.last());
        assert!(lines[0].starts_with("----"));
        assert!(lines.contains(&"012345"));
        assert!(lines.contains(&"To: ada@example.com"));
        assert!(shown.contains(&email.id.to_string()));
    }
}
