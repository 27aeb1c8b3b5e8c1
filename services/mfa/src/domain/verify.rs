//! What the auth service asks during a login: which factors a member has,
//! whether a code is right, and to email a code.
//!
//! Each accepted TOTP step is recorded by a conditional write, so a code
//! works once; an emailed code is consumed by the store's atomic check.
//! Both need an active TOTP factor: the emailed code is its fallback, so
//! once MFA is off no outstanding emailed code works either.

use secrecy::SecretString;

use countersign_kit::clock::millis;

use super::{FactorsError, Mfa, SECURITY_TARGET, SendCodeError, VerifyError, manage};
use crate::{
    code::Code,
    model::{EmailAddress, MemberId, Method},
    ports::{OutgoingEmail, Template},
    store::CodeOutcome,
};

impl Mfa {
    /// The methods the member may answer a challenge with.
    #[tracing::instrument(skip_all, fields(member_id = member.as_str()))]
    pub async fn factors(&self, member: &MemberId) -> Result<Vec<Method>, FactorsError> {
        let enabled = self.deps.factors.factor(member).await?.is_some();
        Ok(manage::factor_methods(enabled))
    }

    /// Accepts a right, fresh code or names why not. Limitation: failed
    /// attempts are not counted across factors and never lock the member
    /// out; TOTP guesses are not limited here at all, so the caller must
    /// limit attempts (auth's challenges do).
    #[tracing::instrument(skip_all, fields(member_id = member.as_str(), method = method.name()))]
    pub async fn verify(
        &self,
        member: &MemberId,
        method: Method,
        code: &Code,
    ) -> Result<(), VerifyError> {
        let outcome = match method {
            Method::Totp => self.verify_totp(member, code).await,
            Method::EmailCode => self.verify_email_code(member, code).await,
        };
        match &outcome {
            Ok(()) => tracing::info!(target: SECURITY_TARGET, member_id = member.as_str(),
                method = method.name(), "second factor accepted"),
            Err(error) => tracing::info!(target: SECURITY_TARGET, member_id = member.as_str(),
                method = method.name(), %error, "second factor refused"),
        }
        outcome
    }

    async fn verify_totp(&self, member: &MemberId, code: &Code) -> Result<(), VerifyError> {
        let factor = self.deps.factors.factor(member).await?;
        let factor = factor.ok_or(VerifyError::NoFactor)?;
        // The account name only labels URIs; verification does not use it.
        let totp = self.authenticator(member, member.as_str(), &factor.sealed)?;
        let step = self
            .matching_step(&totp, code)
            .ok_or(VerifyError::WrongCode)?;
        if self.deps.factors.use_step(member, step).await? {
            Ok(())
        } else {
            Err(VerifyError::CodeReused)
        }
    }

    async fn verify_email_code(&self, member: &MemberId, code: &Code) -> Result<(), VerifyError> {
        if self.deps.factors.factor(member).await?.is_none() {
            return Err(VerifyError::NoFactor);
        }
        let digest = self.deps.code_key.digest(member.as_str(), code);
        let max_guesses = self.settings.email_code_max_guesses;
        match self.deps.codes.check(member, &digest, max_guesses).await? {
            CodeOutcome::Accepted => Ok(()),
            CodeOutcome::Wrong => Err(VerifyError::WrongCode),
            CodeOutcome::Missing => Err(VerifyError::CodeMissing),
            CodeOutcome::Exhausted => Err(VerifyError::TooManyGuesses),
        }
    }

    /// Issues a fresh code for the member, replacing any earlier one, and
    /// asks for it to be emailed. Returns when it lapses, ms since the
    /// epoch. The code is stored even if the email cannot be enqueued.
    /// Limitation: there is no resend cooldown or hourly quota per member
    /// yet; the caller must pace requests.
    #[tracing::instrument(skip_all, fields(member_id = member.as_str()))]
    pub async fn send_email_code(
        &self,
        member: &MemberId,
        to: EmailAddress,
    ) -> Result<i64, SendCodeError> {
        let code = Code::random();
        let digest = self.deps.code_key.digest(member.as_str(), &code);
        let ttl = self.settings.email_code_ttl;
        self.deps.codes.issue(member, &digest, ttl).await?;
        let now = self.now_ms();
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
        Ok(now.saturating_add(millis(ttl)))
    }
}

#[cfg(test)]
mod tests {
    use std::{sync::atomic::Ordering, time::Duration};

    use countersign_kit::clock::Clock;

    use super::super::fakes::{Harness, harness, member};
    use super::*;
    use crate::ports::RemoteError;

    async fn enabled() -> (Harness, crate::domain::Enrollment) {
        let h = harness().await;
        let enrollment = h.enable().await;
        h.next_step();
        (h, enrollment)
    }

    fn email() -> EmailAddress {
        EmailAddress::parse("ada@example.com").unwrap()
    }

    /// Sends an email code and returns it as the email carried it.
    async fn send_code(h: &Harness) -> Code {
        h.mfa.send_email_code(&member(), email()).await.unwrap();
        let sent = h.mailer.sent.lock().unwrap();
        Code::parse(&sent.last().unwrap().2["code"]).unwrap()
    }

    #[tokio::test]
    async fn factors_lists_totp_and_email_code_when_enabled() {
        let (h, _) = enabled().await;

        let factors = h.mfa.factors(&member()).await.unwrap();

        assert_eq!(factors, vec![Method::Totp, Method::EmailCode]);
    }

    #[tokio::test]
    async fn verify_totp_accepts_fresh_code_once() {
        let (h, enrollment) = enabled().await;
        let code = h.code(&enrollment, 0);

        let first = h.mfa.verify(&member(), Method::Totp, &code).await;
        let second = h.mfa.verify(&member(), Method::Totp, &code).await;

        assert!(first.is_ok());
        assert!(matches!(second, Err(VerifyError::CodeReused)));
    }

    #[tokio::test]
    async fn verify_totp_refuses_code_that_confirmed_enrollment() {
        let h = harness().await;
        let enrollment = h.enable().await;

        let result = h
            .mfa
            .verify(&member(), Method::Totp, &h.code(&enrollment, 0))
            .await;

        assert!(matches!(result, Err(VerifyError::CodeReused)));
    }

    #[tokio::test]
    async fn verify_totp_accepts_one_of_concurrent_uses() {
        let (h, enrollment) = enabled().await;
        let (code, member) = (h.code(&enrollment, 0), member());

        let (a, b) = tokio::join!(
            h.mfa.verify(&member, Method::Totp, &code),
            h.mfa.verify(&member, Method::Totp, &code),
        );

        assert_eq!(usize::from(a.is_ok()) + usize::from(b.is_ok()), 1);
    }

    #[tokio::test]
    async fn verify_totp_refuses_when_member_has_no_factor() {
        let h = harness().await;

        let result = h.mfa.verify(&member(), Method::Totp, &Code::random()).await;

        assert!(matches!(result, Err(VerifyError::NoFactor)));
    }

    #[tokio::test]
    async fn send_email_code_mails_code_and_lifetime() {
        let (h, _) = enabled().await;

        let expires = h.mfa.send_email_code(&member(), email()).await.unwrap();

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
        let (h, _) = enabled().await;
        let code = send_code(&h).await;

        let first = h.mfa.verify(&member(), Method::EmailCode, &code).await;
        let second = h.mfa.verify(&member(), Method::EmailCode, &code).await;

        assert!(first.is_ok());
        assert!(matches!(second, Err(VerifyError::CodeMissing)));
    }

    #[tokio::test]
    async fn verify_email_code_refuses_right_code_after_five_wrong_guesses() {
        let (h, _) = enabled().await;
        let code = send_code(&h).await;
        let wrong = Code::parse(if code.as_bytes() == b"000000" {
            "111111"
        } else {
            "000000"
        });
        for _ in 0..5 {
            let guess = h
                .mfa
                .verify(&member(), Method::EmailCode, wrong.as_ref().unwrap())
                .await;
            assert!(matches!(guess, Err(VerifyError::WrongCode)));
        }

        let result = h.mfa.verify(&member(), Method::EmailCode, &code).await;

        assert!(matches!(result, Err(VerifyError::TooManyGuesses)));
    }

    #[tokio::test]
    async fn verify_email_code_refuses_code_after_ttl() {
        let (h, _) = enabled().await;
        let code = send_code(&h).await;

        h.clock.advance(Duration::from_secs(600));
        let result = h.mfa.verify(&member(), Method::EmailCode, &code).await;

        assert!(matches!(result, Err(VerifyError::CodeMissing)));
    }

    #[tokio::test]
    async fn verify_email_code_refuses_once_mfa_is_off() {
        let (h, enrollment) = enabled().await;
        let code = send_code(&h).await;
        h.mfa
            .disable(&fakes_token(), &h.code(&enrollment, 0))
            .await
            .unwrap();

        let result = h.mfa.verify(&member(), Method::EmailCode, &code).await;

        assert!(matches!(result, Err(VerifyError::NoFactor)));
    }

    #[tokio::test]
    async fn send_email_code_fails_when_mailer_is_down() {
        let h = harness().await;
        h.mailer.down.store(true, Ordering::SeqCst);

        let result = h.mfa.send_email_code(&member(), email()).await;

        assert!(matches!(
            result,
            Err(SendCodeError::Mail(RemoteError::Unavailable(_)))
        ));
    }

    fn fakes_token() -> crate::model::SessionToken {
        super::super::fakes::token(super::super::fakes::TOKEN)
    }
}
