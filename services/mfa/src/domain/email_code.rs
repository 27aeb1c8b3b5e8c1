//! Emailed codes: sending one to a member, and checking one typed back.
//!
//! Codes are stored only as keyed digests. Several may be outstanding, so
//! the code in the email the member reads keeps working after a resend;
//! the wrong guesses are counted over all of them and survive a resend;
//! sends are paced by a cooldown and an hourly quota per member.

use std::time::Duration;

use secrecy::SecretString;

use countersign_kit::clock::millis;

use super::{Mfa, SECURITY_TARGET, SendCodeError, VerifyError, lockout::wait};
use crate::{
    code::{Code, CodeDigest},
    model::{EmailAddress, MemberId},
    ports::{OutgoingEmail, Template},
    store::{CodeOutcome, Issued, SendLimits},
};

/// The window of the hourly send quota.
pub const EMAIL_CODE_QUOTA_WINDOW: Duration = Duration::from_secs(60 * 60);

impl Mfa {
    /// Issues a fresh code for the member and asks for it to be emailed;
    /// earlier unexpired codes keep working. Returns when it lapses, ms
    /// since the epoch. Refused within the resend cooldown or past the
    /// hourly quota, with the wait. The code is stored, and the send
    /// counted, even if the email cannot be enqueued.
    ///
    /// A member without a factor gets the same answer, but nothing is
    /// stored or sent. Limitation: such a member is never refused for
    /// pacing, so sends repeated within the cooldown tell them apart.
    #[tracing::instrument(skip_all, fields(member_id = member.as_str()))]
    pub async fn send_email_code(
        &self,
        member: &MemberId,
        to: EmailAddress,
    ) -> Result<i64, SendCodeError> {
        let now = self.now_ms();
        if self.deps.factors.factor(member).await?.is_none() {
            tracing::info!(target: SECURITY_TARGET, member_id = member.as_str(),
                "email code not sent, member has no factor");
            return Ok(now.saturating_add(millis(self.settings.email_code_ttl)));
        }
        let code = Code::random();
        let digest = self.deps.code_key.digest(member.as_str(), &code);
        let expires_at_ms = self.issue_code(member, &digest, now).await?;
        let minutes = self.email_code_minutes().to_string();
        let email = OutgoingEmail::new(Template::EmailCode, to, member, now, &digest.to_hex())
            .param("code", code.reveal())
            .param("expire_minutes", SecretString::from(minutes));
        self.deps
            .mailer
            .enqueue(email)
            .await
            .map_err(SendCodeError::Mail)?;
        tracing::info!(target: SECURITY_TARGET, member_id = member.as_str(), "email code sent");
        Ok(expires_at_ms)
    }

    async fn issue_code(
        &self,
        member: &MemberId,
        digest: &CodeDigest,
        now: i64,
    ) -> Result<i64, SendCodeError> {
        let limits = SendLimits {
            ttl: self.settings.email_code_ttl,
            cooldown: self.settings.email_code_cooldown,
            quota: self.settings.email_code_hourly_quota,
            quota_window: EMAIL_CODE_QUOTA_WINDOW,
        };
        let refused = match self.deps.codes.issue(member, digest, &limits, now).await? {
            Issued::Stored { expires_at_ms } => return Ok(expires_at_ms),
            Issued::TooSoon { retry_after_ms } => SendCodeError::TooSoon {
                retry_after: wait(retry_after_ms),
            },
            Issued::QuotaSpent { retry_after_ms } => SendCodeError::QuotaSpent {
                retry_after: wait(retry_after_ms),
            },
        };
        tracing::info!(target: SECURITY_TARGET, member_id = member.as_str(), error = %refused,
            "email code not sent");
        Err(refused)
    }

    /// Consumes the member's emailed codes if `code` is one of them.
    pub(super) async fn verify_email_code(
        &self,
        member: &MemberId,
        code: &Code,
    ) -> Result<(), VerifyError> {
        let digest = self.deps.code_key.digest(member.as_str(), code);
        let max_guesses = self.settings.email_code_max_guesses;
        let now = self.now_ms();
        match self
            .deps
            .codes
            .check(member, &digest, max_guesses, now)
            .await?
        {
            CodeOutcome::Accepted => Ok(()),
            CodeOutcome::Wrong => Err(VerifyError::WrongCode),
            CodeOutcome::Missing => Err(VerifyError::CodeMissing),
            CodeOutcome::Exhausted => Err(VerifyError::TooManyGuesses),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use countersign_kit::clock::Clock;
    use secrecy::ExposeSecret;

    use super::super::{
        Settings,
        fakes::{Harness, harness, harness_with},
    };
    use super::*;
    use crate::ports::RemoteError;

    const MINUTE: Duration = Duration::from_secs(60);

    /// A member with MFA on, under settings `adjust` changed.
    async fn enabled(adjust: impl FnOnce(&mut Settings)) -> Harness {
        let h = harness_with(adjust).await;
        h.enable().await;
        h.next_step();
        h
    }

    /// A member with MFA on and a lockout that never interferes.
    async fn enabled_without_lockout() -> Harness {
        enabled(|s| s.lockout.threshold = 1000).await
    }

    /// A code that is not `code`.
    fn other_than(code: &Code) -> Code {
        let text = code.reveal();
        let digits: String = text
            .expose_secret()
            .chars()
            .map(|c| {
                if c == '9' {
                    '0'
                } else {
                    char::from(c as u8 + 1)
                }
            })
            .collect();
        Code::parse(&digits).unwrap()
    }

    #[tokio::test]
    async fn send_email_code_mails_code_and_lifetime() {
        let h = enabled(|_| {}).await;

        let expires = h.send_code().await.unwrap();

        assert_eq!(expires, h.clock.now_ms() + 600_000);
        let sent = h.mailer.sent.lock().unwrap();
        let (template, to, params) = sent.last().unwrap();
        assert_eq!(
            (*template, to.as_str()),
            (Template::EmailCode, "ada@example.com")
        );
        assert_eq!(params["expire_minutes"], "10");
        assert!(Code::parse(&params["code"]).is_ok());
    }

    #[tokio::test]
    async fn verify_email_code_accepts_sent_code_once() {
        let h = enabled(|_| {}).await;
        let code = h.mail_code().await;

        let first = h.verify_emailed(&code).await;
        let second = h.verify_emailed(&code).await;

        assert!(first.is_ok());
        assert!(matches!(second, Err(VerifyError::CodeMissing)));
    }

    #[tokio::test]
    async fn verify_email_code_refuses_right_code_after_five_wrong_guesses() {
        let h = enabled_without_lockout().await;
        let code = h.mail_code().await;
        for _ in 0..5 {
            let guess = h.verify_emailed(&other_than(&code)).await;
            assert!(matches!(guess, Err(VerifyError::WrongCode)));
        }

        let result = h.verify_emailed(&code).await;

        assert!(matches!(result, Err(VerifyError::TooManyGuesses)));
    }

    #[tokio::test]
    async fn verify_email_code_keeps_guess_count_across_resend() {
        let h = enabled_without_lockout().await;
        let first = h.mail_code().await;
        for _ in 0..3 {
            h.verify_emailed(&other_than(&first)).await.unwrap_err();
        }
        h.clock.advance(MINUTE);
        let resent = h.mail_code().await;
        for _ in 0..2 {
            h.verify_emailed(&other_than(&first)).await.unwrap_err();
        }

        let result = h.verify_emailed(&resent).await;

        assert!(matches!(result, Err(VerifyError::TooManyGuesses)));
    }

    #[tokio::test]
    async fn verify_email_code_accepts_earlier_code_after_resend() {
        let h = enabled(|_| {}).await;
        let first = h.mail_code().await;
        h.clock.advance(MINUTE);
        let resent = h.mail_code().await;

        let earlier = h.verify_emailed(&first).await;
        let later = h.verify_emailed(&resent).await;

        assert!(earlier.is_ok());
        assert!(matches!(later, Err(VerifyError::CodeMissing)));
    }

    #[tokio::test]
    async fn verify_email_code_counts_lifetime_from_each_issue() {
        let h = enabled(|_| {}).await;
        let first = h.mail_code().await;
        h.clock.advance(5 * MINUTE);
        let resent = h.mail_code().await;

        h.clock.advance(5 * MINUTE);
        let lapsed = h.verify_emailed(&first).await;
        let live = h.verify_emailed(&resent).await;

        assert!(matches!(lapsed, Err(VerifyError::WrongCode)));
        assert!(live.is_ok());
    }

    #[tokio::test]
    async fn verify_email_code_refuses_code_after_ttl() {
        let h = enabled(|_| {}).await;
        let code = h.mail_code().await;

        h.clock.advance(10 * MINUTE);
        let result = h.verify_emailed(&code).await;

        assert!(matches!(result, Err(VerifyError::CodeMissing)));
    }

    #[tokio::test]
    async fn verify_email_code_refuses_once_mfa_is_off() {
        let h = harness().await;
        let enrollment = h.enable().await;
        h.next_step();
        let code = h.mail_code().await;
        let token = super::super::fakes::token(super::super::fakes::TOKEN);
        h.mfa
            .disable(&token, &h.code(&enrollment, 0))
            .await
            .unwrap();

        let result = h.verify_emailed(&code).await;

        assert!(matches!(result, Err(VerifyError::NoFactor)));
    }

    #[tokio::test]
    async fn send_email_code_fails_when_mailer_is_down() {
        let h = enabled(|_| {}).await;
        h.mailer.down.store(true, Ordering::SeqCst);

        let result = h.send_code().await;

        assert!(matches!(
            result,
            Err(SendCodeError::Mail(RemoteError::Unavailable(_)))
        ));
    }

    #[tokio::test]
    async fn send_email_code_refuses_resend_within_cooldown_with_wait() {
        let h = enabled(|_| {}).await;
        h.send_code().await.unwrap();
        let mailed = h.mailer.templates().len();

        h.clock.advance(Duration::from_secs(20));
        let too_soon = h.send_code().await;
        h.clock.advance(Duration::from_secs(40));
        let after = h.send_code().await;

        let Err(SendCodeError::TooSoon { retry_after }) = too_soon else {
            panic!("{too_soon:?}")
        };
        assert_eq!(retry_after, Duration::from_secs(40));
        assert!(after.is_ok());
        assert_eq!(h.mailer.templates().len(), mailed + 1);
    }

    #[tokio::test]
    async fn send_email_code_refuses_past_hourly_quota_until_hour_passes() {
        let h = enabled(|_| {}).await;
        for _ in 0..5 {
            h.send_code().await.unwrap();
            h.clock.advance(MINUTE);
        }

        let spent = h.send_code().await;
        h.clock.advance(55 * MINUTE);
        let reopened = h.send_code().await;

        let Err(SendCodeError::QuotaSpent { retry_after }) = spent else {
            panic!("{spent:?}")
        };
        assert_eq!(retry_after, 55 * MINUTE);
        assert!(reopened.is_ok());
    }

    #[tokio::test]
    async fn send_email_code_answers_alike_but_sends_nothing_without_factor() {
        let h = harness().await;

        let first = h.send_code().await.unwrap();
        let again = h.send_code().await.unwrap();

        assert_eq!(first, h.clock.now_ms() + 600_000);
        assert_eq!(again, first);
        assert!(h.mailer.templates().is_empty());
        h.enable().await;
        let Err(VerifyError::CodeMissing) = h.verify_emailed(&Code::random()).await else {
            panic!("a code was stored for a member without a factor")
        };
    }
}
